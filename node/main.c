/* tiersyncd: thin main.  Parse argv, load config, hand over to daemon.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tiersync/config.h"
#include "tiersync/log.h"
#include "node.h"
#include "transport.h"

static void
usage(void)
{
	fprintf(stderr, "usage: tiersyncd [-v] [-n] -c node.conf\n"
	    "       tiersyncd --help-config\n"
	    "  -c FILE  configuration file (required)\n"
	    "  -n       check the configuration, keys and store, then exit\n"
	    "  -v       more verbose logging (repeat for debug)\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	static struct node n;
	char err[1024];
	const char *conf = NULL;
	int ch, verbose = 0, checkonly = 0;

	if (argc == 2 && strcmp(argv[1], "--help-config") == 0) {
		ts_config_describe(stdout);
		return 0;
	}
	while ((ch = getopt(argc, argv, "c:nv")) != -1) {
		switch (ch) {
		case 'c': conf = optarg; break;
		case 'n': checkonly = 1; break;
		case 'v': verbose++; break;
		default: usage();
		}
	}
	if (conf == NULL || optind != argc)
		usage();

	log_init("tiersyncd", 0, verbose);
	if (ts_config_load(&n.cfg, conf, err, sizeof(err)) != 0) {
		fprintf(stderr, "tiersyncd: %s\n", err);
		return 1;
	}
	if (verbose > n.cfg.verbose)
		n.cfg.verbose = verbose;
	log_init("tiersyncd", strcmp(n.cfg.log, "syslog") == 0, n.cfg.verbose);
	snprintf(n.confpath, sizeof(n.confpath), "%s", conf);
	return daemon_run(&n, checkonly) == 0 ? 0 : 1;
}
