/*
 * tierctl register: the commune's records (docs/REGISTER.md).
 *
 *   register import FILE.csv [--kind children|cases] [--skip-bad]
 *   register correct FILE.csv [--kind children|cases] [--skip-bad]
 *   register delete ID... [--kind children|cases]
 *   register show [--records]
 *
 * Records live in <datadir>/register (LMDB), written only here; the
 * daemon never opens it.  After a change the periods computed before
 * are recomputed and sent as CTL_REPLACE (a new report version), so
 * only aggregates ever reach the daemon.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "domain_cmds.h"

#define REG_FILE_MAX ((size_t)2 << 30)

static int
parse_kind(const char *k, int *kind)
{
	if (k == NULL)
		*kind = TS_REG_AUTO;
	else if (strcmp(k, "children") == 0)
		*kind = TS_REG_CHILDREN;
	else if (strcmp(k, "cases") == 0)
		*kind = TS_REG_CASES;
	else {
		ctl_errx("--kind '%s': want children or cases", k);
		return -1;
	}
	return 0;
}

/* Recompute the periods computed before (their figures changed). */
static int
recompute(struct ctl *c, ts_register *r, struct json *j)
{
	char (*periods)[TS_PERIOD_MAX + 1];
	size_t n;
	int rc;

	if ((rc = ts_register_periods(r, &periods, &n)) != 0) {
		ctl_errx("register: %s", ts_strerror(rc));
		return -1;
	}
	if (j != NULL) {
		json_key(j, "computed");
		json_arr_begin(j);
	}
	rc = dom_compute_send(c, r, periods, n, j);
	if (j != NULL)
		json_arr_end(j);
	if (rc != 0)
		ctl_errx("the records are stored, but the new figures did not reach "
		    "tiersyncd: run 'tierctl compute PERIOD' when it runs");
	free(periods);
	return rc;
}

/* <datadir>/register, and whether it exists yet. */
static int
reg_path(struct ctl *c, char *path, size_t len, int *exists)
{
	struct stat sb;

	if (ctl_load_config(c) != 0)
		return -1;
	snprintf(path, len, "%s/register", c->cfg.datadir);
	*exists = lstat(path, &sb) == 0;
	return 0;
}

/* Remove a register this run created and stored nothing in, so a failed
 * first import leaves the node as it was (no empty register behind). */
static void
reg_unmake(const char *path)
{
	char p[TS_PATH_MAX + 32];

	snprintf(p, sizeof(p), "%s/data.mdb", path);
	if (unlink(p) == -1 && errno != ENOENT)
		ctl_warnx("%s: %s", p, strerror(errno));
	snprintf(p, sizeof(p), "%s/lock.mdb", path);
	if (unlink(p) == -1 && errno != ENOENT)
		ctl_warnx("%s: %s", p, strerror(errno));
	if (rmdir(path) == -1)
		ctl_warnx("%s: cannot remove the empty register: %s", path,
		    strerror(errno));
}

static int
reg_load(struct ctl *c, int argc, char **argv, int mode)
{
	const char *kstr = NULL;
	int skip_bad = 0, aon = 0, nocomp = 0, kind, npos, rc, status = EXIT_OK;
	struct opt opts[] = { { "--kind", &kstr, NULL }, { "--skip-bad", NULL, &skip_bad },
	    { "--all-or-nothing", NULL, &aon }, { "--no-compute", NULL, &nocomp },
	    { NULL, NULL, NULL } };
	char *pos[1], *buf = NULL, err[TS_PATH_MAX + 128];
	char rpath[TS_PATH_MAX + 16];
	size_t len;
	int existed;
	ts_register *r = NULL;
	ts_reg_result res;
	ts_reg_counts cnt;
	struct json j;

	if ((rc = opt_parse(c, argc, argv, opts, pos, 1, 1, &npos)) != 0)
		return rc < 0 ? EXIT_OK : rc;
	if (skip_bad && aon)
		return ctl_usage("--skip-bad and --all-or-nothing exclude each other");
	if (parse_kind(kstr, &kind) != 0)
		return EXIT_FAIL;
	if (ts_file_read(pos[0], REG_FILE_MAX, &buf, &len, err, sizeof(err)) != 0) {
		ctl_errx("%s", err);
		return EXIT_FAIL;
	}
	if (reg_path(c, rpath, sizeof(rpath), &existed) != 0 ||
	    dom_register_open(c, 0, &r) != 0) {
		free(buf);
		return EXIT_FAIL;
	}
	rc = ts_register_load_csv(r, kind, mode, skip_bad, pos[0], buf, len, &res);
	free(buf);
	if (rc != 0 || res.stored == 0) {
		if (rc != 0)
			ctl_errx("%s: register: %s; nothing was stored", pos[0],
			    ts_strerror(rc));
		if (!existed) {
			ts_register_close(&r);
			reg_unmake(rpath);
		}
		if (rc != 0) {
			ts_reg_result_free(&res);
			ts_register_close(&r);
			return EXIT_FAIL;
		}
	}
	if (res.errors.len > 0)
		fwrite(res.errors.buf, 1, res.errors.len, stderr);
	if (res.nerr > 0) {
		if (res.stored == 0)
			ctl_errx("%s: %u error%s; nothing was stored", pos[0], res.nerr,
			    res.nerr == 1 ? "" : "s");
		else
			ctl_errx("%s: %u error%s; %zu good rows stored (--skip-bad)",
			    pos[0], res.nerr, res.nerr == 1 ? "" : "s", res.stored);
		status = EXIT_FAIL;
	}
	memset(&cnt, 0, sizeof(cnt));
	if (r != NULL)
		(void)ts_register_counts(r, &cnt);
	if (c->json) {
		json_init(&j, stdout);
		json_obj_begin(&j);
		json_kstr(&j, "file", pos[0]);
		json_kstr(&j, "kind", res.kind == TS_REG_CASES ? "cases" :
		    res.kind == TS_REG_CHILDREN ? "children" : "");
		json_ku64(&j, "rows", res.rows);
		json_ku64(&j, "stored", res.stored);
		json_ku64(&j, "errors", res.nerr);
		json_ku64(&j, "version", cnt.version);
	} else if (res.stored > 0)
		printf("%s %zu %s from %s (register version %" PRIu64 ": %" PRIu64
		    " children, %" PRIu64 " cases)\n", mode == TS_REG_IMPORT ?
		    "imported" : "corrected", res.stored, res.kind == TS_REG_CASES ?
		    "cases" : "children", pos[0], cnt.version, cnt.children, cnt.cases);
	if (res.stored > 0 && !nocomp && recompute(c, r, c->json ? &j : NULL) != 0)
		status = EXIT_FAIL;
	if (c->json) {
		json_kbool(&j, "ok", status == EXIT_OK);
		json_obj_end(&j);
		json_end(&j);
	}
	ts_reg_result_free(&res);
	ts_register_close(&r);
	return status;
}

static int
reg_delete(struct ctl *c, int argc, char **argv)
{
	const char *kstr = NULL;
	int nocomp = 0, kind, npos, rc, status = EXIT_OK;
	struct opt opts[] = { { "--kind", &kstr, NULL }, { "--no-compute", NULL, &nocomp },
	    { NULL, NULL, NULL } };
	char *pos[1024], err[512];
	ts_register *r = NULL;
	struct json j;

	if ((rc = opt_parse(c, argc, argv, opts, pos, 1, 1024, &npos)) != 0)
		return rc < 0 ? EXIT_OK : rc;
	if (parse_kind(kstr, &kind) != 0 || dom_register_open(c, 0, &r) != 0)
		return EXIT_FAIL;
	if ((rc = ts_register_delete(r, kind, pos, (size_t)npos, err, sizeof(err))) != 0) {
		ctl_errx("%s; nothing was deleted", err);
		ts_register_close(&r);
		return EXIT_FAIL;
	}
	if (c->json) {
		json_init(&j, stdout);
		json_obj_begin(&j);
		json_ku64(&j, "deleted", (uint64_t)npos);
	} else
		printf("deleted %d record%s\n", npos, npos == 1 ? "" : "s");
	if (!nocomp && recompute(c, r, c->json ? &j : NULL) != 0)
		status = EXIT_FAIL;
	if (c->json) {
		json_kbool(&j, "ok", status == EXIT_OK);
		json_obj_end(&j);
		json_end(&j);
	}
	ts_register_close(&r);
	return status;
}

static void
pdate(int32_t d)
{
	int y;
	unsigned m, dd;

	if (d == TS_DATE_NONE)
		return;
	ts_period_to_civil(d, &y, &m, &dd);
	printf("%04d-%02u-%02u", y, m, dd);
}

static int
reg_show(struct ctl *c, int argc, char **argv)
{
	static const char *const imm[] = { "none", "partial", "full8", "full12", "full14" };
	static const char *const sch[] = { "none", "nursery", "kindergarten", "primary",
	    "lower_secondary", "upper_secondary", "special" };
	static const char *const spc[] = { "none", "orphan", "abandoned", "no_carer",
	    "disabled", "hiv", "offender", "drugs", "dropout_labour", "violence_harm",
	    "exploited", "sexual_abuse", "trafficked", "serious_illness_poor",
	    "migrant_refugee" };
	static const char *const knd[] = { "violence", "abuse", "exploitation",
	    "injury", "child_marriage", "disaster" };
	int records = 0, npos, rc;
	struct opt opts[] = { { "--records", NULL, &records }, { NULL, NULL, NULL } };
	char *pos[1], (*periods)[TS_PERIOD_MAX + 1] = NULL;
	size_t np = 0, i;
	ts_register *r = NULL;
	ts_reg_counts cnt;

	if ((rc = opt_parse(c, argc, argv, opts, pos, 0, 0, &npos)) != 0)
		return rc < 0 ? EXIT_OK : rc;
	if (dom_register_open(c, 1, &r) != 0)
		return EXIT_FAIL;
	if ((rc = ts_register_counts(r, &cnt)) != 0 ||
	    (rc = ts_register_periods(r, &periods, &np)) != 0) {
		ctl_errx("register: %s", ts_strerror(rc));
		ts_register_close(&r);
		return EXIT_FAIL;
	}
	if (records) {
		/* Local output only: the operator asked for the records. */
		ts_child *ch;
		ts_case *cs;
		size_t nch, ncs;
		if ((rc = ts_register_load_all(r, &ch, &nch, &cs, &ncs)) != 0) {
			ctl_errx("register: %s", ts_strerror(rc));
			free(periods);
			ts_register_close(&r);
			return EXIT_FAIL;
		}
		printf("id,birth_date,sex,ethnic_minority,disability,birth_registered,"
		    "health_insurance,immunisation,measured_on,underweight,stunted,"
		    "obese,school,special,special_support,death_date\n");
		for (i = 0; i < nch; i++) {
			const ts_child *x = &ch[i];
			printf("%s,", x->id);
			pdate(x->birth);
			printf(",%s,%u,%u,", x->sex ? "f" : "m", x->eth, x->dis);
			pdate(x->birth_reg);
			printf(",%u,%s,", x->hi, imm[x->imm % 5]);
			pdate(x->measured);
			if (x->measured != TS_DATE_NONE)
				printf(",%u,%u,%u,", x->uw, x->st, x->ob);
			else
				printf(",,,,");
			printf("%s,%s,%u,", sch[x->school % 7], spc[x->special % 15],
			    x->special_support);
			pdate(x->death);
			printf("\n");
		}
		printf("\nid,child_id,kind,occurred,detected,intervention,support,died\n");
		for (i = 0; i < ncs; i++) {
			printf("%s,%s,%s,", cs[i].id, cs[i].child, knd[cs[i].kind % 6]);
			pdate(cs[i].occurred);
			printf(",");
			pdate(cs[i].detected);
			printf(",%u,%u,%u\n", cs[i].intervention, cs[i].support, cs[i].died);
		}
		free(ch);
		free(cs);
	} else if (c->json) {
		struct json j;
		json_init(&j, stdout);
		json_obj_begin(&j);
		json_ku64(&j, "children", cnt.children);
		json_ku64(&j, "cases", cnt.cases);
		json_ku64(&j, "version", cnt.version);
		json_key(&j, "periods");
		json_arr_begin(&j);
		for (i = 0; i < np; i++)
			json_str(&j, periods[i]);
		json_arr_end(&j);
		json_obj_end(&j);
		json_end(&j);
	} else {
		printf("%-10s%" PRIu64 "\n%-10s%" PRIu64 "\n%-10s%" PRIu64 "\n",
		    "children", cnt.children, "cases", cnt.cases, "version", cnt.version);
		printf("%-10s", "computed");
		for (i = 0; i < np; i++)
			printf("%s%s", i ? " " : "", periods[i]);
		printf("%s\n", np == 0 ? "(none yet)" : "");
	}
	free(periods);
	ts_register_close(&r);
	return EXIT_OK;
}

int
cmd_register(struct ctl *c, int argc, char **argv)
{
	if (argc < 2)
		return ctl_usage("missing SUBCOMMAND (import, correct, delete or show)");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		cmd_print_help(stdout, ctl_cur);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "import") == 0)
		return reg_load(c, argc - 1, argv + 1, TS_REG_IMPORT);
	if (strcmp(argv[1], "correct") == 0)
		return reg_load(c, argc - 1, argv + 1, TS_REG_CORRECT);
	if (strcmp(argv[1], "delete") == 0)
		return reg_delete(c, argc - 1, argv + 1);
	if (strcmp(argv[1], "show") == 0)
		return reg_show(c, argc - 1, argv + 1);
	return ctl_usage("unknown subcommand '%s' (want import, correct, delete "
	    "or show)", argv[1]);
}
