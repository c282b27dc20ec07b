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
	    "       tiersyncd --help-config | --version\n"
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
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("tiersyncd %s\n", TS_VERSION_STRING);
		return 0;
	}
	/* getopt's own message for a bad option names it only for short
	 * options; a long one ("--bogus") it would report as "-- '-'". */
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strncmp(argv[i], "--", 2) == 0) {
			fprintf(stderr, "tiersyncd: unknown option '%s'\n", argv[i]);
			usage();
		}
	while ((ch = getopt(argc, argv, "c:nv")) != -1) {
		switch (ch) {
		case 'c': conf = optarg; break;
		case 'n': checkonly = 1; break;
		case 'v': verbose++; break;
		default: usage();
		}
	}
	if (optind != argc) {
		fprintf(stderr, "tiersyncd: unexpected argument '%s'\n", argv[optind]);
		usage();
	}
	if (conf == NULL) {
		fprintf(stderr, "tiersyncd: -c node.conf is required\n");
		usage();
	}

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
