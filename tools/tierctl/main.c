/*
 * tierctl: operator tool for a tiersync node (docs/TIERCTL.md).
 * Thin main: global options, then dispatch through the command table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "tiersync/log.h"
#include "util.h"
#include "domain_cmds.h"
#include "ops.h"
#include "history_cmds.h"

static int cmd_help(struct ctl *, int, char **);

static const struct cmd cmds[] = {
	{ "init", cmd_init,
	  "DIR --unit CODE --topology FILE --keys FILE [--listen EP] [--parent EP]"
	  " [--catalogue FILE | --no-catalogue]",
	  "Create a node directory DIR (mode 0700, its parent must exist) with\n"
	  "fresh keys (sign.key, curve.key, mode 0600), node.conf and an empty\n"
	  "store.  node.conf names the shipped indicator catalogue unless\n"
	  "--catalogue FILE (another) or --no-catalogue (none) is given.\n"
	  "Refuses to touch a directory that already holds node.conf or keys.\n"
	  "Prints the node's keys-file line: CODE<TAB>sign_pk<TAB>curve_pk." },
	{ "put", cmd_put,
	  "PERIOD IND NUM [DEN] [--dis KEY]",
	  "Enter one value of this node's own data through the running daemon\n"
	  "(control socket).  DEN defaults to 0 (a plain count); KEY defaults to\n"
	  "\"\" (the total).  With a catalogue in node.conf, IND and KEY must\n"
	  "be ones it defines." },
	{ "import", cmd_import,
	  "FILE.csv",
	  "Enter many values from a CSV file with the header\n"
	  "period,indicator,disaggregation,numerator,denominator.\n"
	  "Everything is checked first; on any error nothing is sent.  Each\n"
	  "period is applied atomically by the daemon." },
	{ "status", cmd_status,
	  "",
	  "Show the node's identity, link, outbox, alerts and children seen.\n"
	  "Reads the store; works without the daemon." },
	{ "report", cmd_report,
	  "PERIOD [--unit CODE] [--indicator ID] [--plan CODE] [--plans DIR]",
	  "Show the newest report of a unit (default: this node) for PERIOD:\n"
	  "signature, completeness, values and a drill-down of its children.\n"
	  "With a catalogue configured: every indicator's value against the\n"
	  "target of the unit's plan (or the nearest ancestor's; --plan: that\n"
	  "unit's), met or not; --indicator: its disaggregations and children." },
	{ "log", cmd_log,
	  "ORIGIN",
	  "List every envelope held from ORIGIN with its chain and signature\n"
	  "checks.  --json adds the envelope bytes in hex." },
	{ "verify", cmd_verify,
	  "[--all]",
	  "Check every stored envelope (signature, chain) and every newest\n"
	  "report's rollup against the child reports its provenance names\n"
	  "(--all: the rollup of every report held, superseded ones too).\n"
	  "Each failure names its origin and seq.  Exit 1 if anything fails." },
	{ "children", cmd_children,
	  "[--unit CODE] [--period P]",
	  "One line per direct child of this node (or of --unit): newest seq\n"
	  "and hash held, when it was last seen, replication lag (received -\n"
	  "created), the periods held, and its state for period P (default: the\n"
	  "current year): reported, late, or missing (MISSING once overdue)." },
	{ "outbox", cmd_outbox,
	  "",
	  "What waits to go up to the parent, oldest first: origin, seq,\n"
	  "period, age and size; and the count of dead letters." },
	{ "tree", cmd_tree,
	  "PERIOD [--unit CODE] [--depth N]",
	  "The subtree below this node's unit (or --unit) as a tree, each unit\n"
	  "with its replication state for PERIOD as seen here: reported, late\n"
	  "(first arrived after its deadline) or missing." },
	{ "topology", cmd_topology,
	  "check FILE [--old TREE --new TREE] | show [--unit CODE] [--period P | --version V] [--depth N] | diff OLD NEW [--unit CODE]; show, diff: [--history FILE]",
	  "check: parse and check a tree, a reform mapping (against its trees\n"
	  "with --old/--new) or a history, and count what it holds.  show: the\n"
	  "tree a period is reported in (default: in force today), indented.\n"
	  "diff: what merged, split, moved, was renamed or retired from version\n"
	  "OLD to the next version NEW (of --unit's subtree).  show and diff read\n"
	  "--history FILE, else history.tsv beside node.conf's topology file." },
	{ "keys", cmd_keys,
	  "show | rotate [--overlap DUR] [--force] | revoke CODE [--key K] [--remove] [--no-reload] | reload",
	  "show: this node's public keys and the keys-file lines of its unit,\n"
	  "parent and children.  rotate: new key pair (old kept as *.old), the\n"
	  "old key stays valid in the keys file for DUR (default 7d; Ns, Nm, Nh,\n"
	  "Nd); prints the new keys-file line for the parent.  revoke: expire\n"
	  "(or --remove) the keys-file lines of unit CODE (or only key K, sign or\n"
	  "CURVE) and make the daemon re-read them: refused at the next\n"
	  "handshake, open sessions dropped.  reload: make the daemon re-read\n"
	  "the keys file.  See docs/OPERATIONS.md." },
	{ "export", cmd_export,
	  "--format csv|dhis2|adx|html PERIOD [--unit CODE] [--depth N] [-o FILE] [--dataset CODE] [--prefix P]",
	  "Export the reports held for PERIOD of a unit (default: this node's)\n"
	  "and the units below it (--depth 1: its direct children only): CSV\n"
	  "(one row per value), DHIS2 dataValueSets JSON, IHE ADX XML, or one\n"
	  "self-contained HTML page with a chart per indicator and the\n"
	  "completeness table.  Code mapping: docs/EXPORT.md." },
	{ "metrics", cmd_metrics,
	  "",
	  "The node's counters and gauges in Prometheus text format (for\n"
	  "node_exporter's textfile collector), read from the store." },
	{ "register", cmd_register,
	  "import|correct FILE.csv [--kind children|cases] [--skip-bad] | "
	  "delete ID... [--kind K] | show [--records]",
	  "The commune's register of children and cases (docs/REGISTER.md), in\n"
	  "<datadir>/register; records never leave it.  import/correct check\n"
	  "every row (FILE:LINE:COL: reason) and store nothing if any is bad;\n"
	  "after a change the periods computed before are recomputed and sent\n"
	  "to tiersyncd (a new report version).  show prints counts only,\n"
	  "unless --records." },
	{ "compute", cmd_compute,
	  "PERIOD... [--print]",
	  "Compute the register's indicators for each PERIOD and send them to\n"
	  "tiersyncd as CTL_REPLACE (aggregates only).  --print shows the values\n"
	  "and sends nothing." },
	{ "completeness", cmd_completeness,
	  "PERIOD [--unit CODE]",
	  "Who below the unit (default: this node) has not reported PERIOD, or\n"
	  "reported late, by name and code down to the communes.  Reads the store." },
	{ "help", cmd_help,
	  "[COMMAND]",
	  "Show the commands, or one command's help." },
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static void
usage_all(FILE *f)
{
	size_t i;

	fprintf(f, "usage: tierctl [-d DIR] [--json] COMMAND [ARGS]\n"
	    "  -d DIR   node directory holding node.conf (default $TIERSYNC_DIR or .)\n"
	    "  --json   machine-readable output (one JSON document on stdout)\n"
	    "commands:\n");
	for (i = 0; i < NCMDS; i++)
		fprintf(f, "  %-7s %s\n", cmds[i].name, cmds[i].usage);
	fprintf(f, "'tierctl COMMAND --help' shows a command's help.\n");
}

static const struct cmd *
cmd_find(const char *name)
{
	size_t i;

	for (i = 0; i < NCMDS; i++)
		if (strcmp(cmds[i].name, name) == 0)
			return &cmds[i];
	return NULL;
}

static int
cmd_help(struct ctl *c, int argc, char **argv)
{
	const struct cmd *cmd;
	char *pos[1];
	int npos, rc;

	if ((rc = opt_parse(c, argc, argv, NULL, pos, 0, 1, &npos)) != 0)
		return rc < 0 ? EXIT_OK : rc;
	if (npos == 0) {
		usage_all(stdout);
		return EXIT_OK;
	}
	if ((cmd = cmd_find(pos[0])) == NULL)
		return ctl_usage("help: unknown command '%s'", pos[0]);
	cmd_print_help(stdout, cmd);
	return EXIT_OK;
}

int
main(int argc, char *argv[])
{
	struct ctl c;
	const struct cmd *cmd;
	const char *env;
	int i, rc;

	memset(&c, 0, sizeof(c));
	/* The core library logs LMDB trouble through log.c: to stderr. */
	log_init("tierctl", 0, 0);
	/* libsodium wants this before any other call (keys, signatures). */
	if (sodium_init() < 0) {
		fprintf(stderr, "tierctl: libsodium failed to initialise\n");
		return EXIT_FAIL;
	}
	env = getenv("TIERSYNC_DIR");
	c.dir = env != NULL && *env != '\0' ? env : ".";
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-d") == 0 || strcmp(argv[i], "--dir") == 0) {
			if (i + 1 == argc) {
				fprintf(stderr, "tierctl: %s needs a directory\n", argv[i]);
				return EXIT_USAGE;
			}
			c.dir = argv[++i];
		} else if (strncmp(argv[i], "-d", 2) == 0) {
			c.dir = argv[i] + 2;
		} else if (strcmp(argv[i], "--json") == 0) {
			c.json = 1;
		} else if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			usage_all(stdout);
			return EXIT_OK;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("tierctl %s\n", TS_VERSION_STRING);
			return EXIT_OK;
		} else {
			fprintf(stderr, "tierctl: unknown option '%s'\n", argv[i]);
			usage_all(stderr);
			return EXIT_USAGE;
		}
	}
	if (i == argc) {
		usage_all(stderr);
		return EXIT_USAGE;
	}
	if ((cmd = cmd_find(argv[i])) == NULL) {
		fprintf(stderr, "tierctl: unknown command '%s'\n", argv[i]);
		usage_all(stderr);
		return EXIT_USAGE;
	}
	ctl_cur = cmd;
	rc = cmd->fn(&c, argc - i, argv + i);
	ctl_free(&c);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		/* A full disk or closed pipe must not look like success. */
		fprintf(stderr, "tierctl: error writing output\n");
		return EXIT_FAIL;
	}
	return rc;
}
