/*
 * Fuzz target: the reform mapping parser ts_hist_map_parse and its check
 * against two trees, ts_hist_map_bind (include/tiersync/history.h), which
 * tierctl and (later) every node run on a file an operator may have
 * edited.  The trees are fixed and small, so that inputs grown from the
 * seeds can pass every check and reach the indexes.
 *
 * Oracles:
 *  - parse failure => negative code, *m == NULL, for TS_EPARSE a
 *    NUL-terminated "NAME:LINE: what";
 *  - parse success => !from/!to versions and !effective a real date; at
 *    least one link; each link has valid codes, level province..commune,
 *    kind full or partial, lines increasing; no (old, new) pair twice;
 *    per old code exactly one full link or two or more partial ones;
 *  - bind failure => negative code, nothing bound (no tree, no links'
 *    indexes, no successors), message "NAME:LINE: what";
 *  - bind success => each link's indexes name its codes in the trees,
 *    it is listed once among its old unit's successors and its new
 *    unit's predecessors, the lists add up to the links, every old unit
 *    but the root that is a leaf or of a level the new tree has is
 *    mapped, every new unit but the root has a predecessor.
 */
#include <string.h>

#include "fuzz.h"
#include "tiersync/history.h"

#define NAME "fuzz-map.tsv"

static const char OLD_TREE[] =
    "!version\to1\n!effective\t2025-03-01\ncode\tlevel\tparent\tname\n"
    "R\tnational\t-\tRoot\nP1\tprovince\tR\tP1\nP2\tprovince\tR\tP2\n"
    "D1\tdistrict\tP1\tD1\nD2\tdistrict\tP2\tD2\nD3\tdistrict\tP2\tD3\n"
    "C1\tcommune\tD1\tC1\nC2\tcommune\tD1\tC2\nC3\tcommune\tD2\tC3\n";
static const char NEW_TREE[] =
    "!version\tn1\n!effective\t2025-07-01\ncode\tlevel\tparent\tname\n"
    "R\tnational\t-\tRoot\nQ1\tprovince\tR\tQ1\nQ2\tprovince\tR\tQ2\n"
    "N1\tcommune\tQ1\tN1\nN2\tcommune\tQ1\tN2\nN3\tcommune\tQ2\tN3\n";

static ts_topo *ot, *nt;

static void
check_msg(const char *err, size_t errlen)
{
	FUZZ_CHECK(memchr(err, '\0', errlen) != NULL);
	FUZZ_CHECK(strncmp(err, NAME ":", strlen(NAME) + 1) == 0 &&
	    strlen(err) > strlen(NAME) + 2);
}

static void
check_parsed(const ts_hist_map *m)
{
	size_t i, k, nfull, n;

	FUZZ_CHECK(m->nlinks > 0 && m->from[0] != '\0' && m->to[0] != '\0');
	FUZZ_CHECK(strlen(m->effective) == 10 && m->effective[4] == '-' &&
	    m->effective[7] == '-');
	for (i = 0; i < m->nlinks; i++) {
		const ts_hist_link *l = &m->links[i];
		FUZZ_CHECK(ts_valid_code(l->old_code, strlen(l->old_code)) == 0);
		FUZZ_CHECK(ts_valid_code(l->new_code, strlen(l->new_code)) == 0);
		FUZZ_CHECK(l->level >= TS_LVL_PROVINCE && l->level <= TS_LVL_COMMUNE);
		FUZZ_CHECK(l->kind == TS_HIST_FULL || l->kind == TS_HIST_PARTIAL);
		FUZZ_CHECK(i == 0 || l->line > m->links[i - 1].line);
		FUZZ_CHECK(l->old_u == -1 && l->new_u == -1);
		nfull = n = 0;
		for (k = 0; k < m->nlinks; k++) {
			if (strcmp(m->links[k].old_code, l->old_code) != 0)
				continue;
			n++;
			nfull += m->links[k].kind == TS_HIST_FULL;
			FUZZ_CHECK(k == i || strcmp(m->links[k].new_code,
			    l->new_code) != 0);
		}
		FUZZ_CHECK((nfull == 1 && n == 1) || (nfull == 0 && n >= 2));
	}
}

static void
check_bound(const ts_hist_map *m)
{
	int has_level[TS_LVL_COMMUNE + 1] = { 0 };
	const int *s;
	size_t i, k, x, total = 0, found;

	FUZZ_CHECK(m->old_t == ot && m->new_t == nt);
	for (i = 0; i < m->nlinks; i++) {
		const ts_hist_link *l = &m->links[i];
		FUZZ_CHECK(l->old_u >= 0 && (size_t)l->old_u < ot->nunits);
		FUZZ_CHECK(l->new_u >= 0 && (size_t)l->new_u < nt->nunits);
		FUZZ_CHECK(strcmp(ot->units[l->old_u].code, l->old_code) == 0);
		FUZZ_CHECK(strcmp(nt->units[l->new_u].code, l->new_code) == 0);
		FUZZ_CHECK(nt->units[l->new_u].level == l->level);
		k = ts_hist_successors(m, l->old_u, &s);
		for (x = found = 0; x < k; x++)
			found += s[x] == (int)i;
		FUZZ_CHECK(found == 1);
		k = ts_hist_predecessors(m, l->new_u, &s);
		for (x = found = 0; x < k; x++)
			found += s[x] == (int)i;
		FUZZ_CHECK(found == 1);
	}
	for (i = 0; i < nt->nunits; i++)
		has_level[nt->units[i].level] = 1;
	for (i = 0; i < ot->nunits; i++) {
		k = ts_hist_successors(m, (int)i, NULL);
		total += k;
		if ((int)i != ot->root && (ot->units[i].nchildren == 0 ||
		    has_level[ot->units[i].level]))
			FUZZ_CHECK(k > 0);
	}
	FUZZ_CHECK(total == m->nlinks);
	for (i = total = 0; i < nt->nunits; i++) {
		k = ts_hist_predecessors(m, (int)i, NULL);
		total += k;
		FUZZ_CHECK((int)i == nt->root || k > 0);
	}
	FUZZ_CHECK(total == m->nlinks);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ts_hist_map *m = (ts_hist_map *)1;
	char err[512];
	size_t i;
	int rc;

	if (ot == NULL &&
	    (ts_topo_parse(&ot, "o1", OLD_TREE, strlen(OLD_TREE), NULL, 0) != 0 ||
	    ts_topo_parse(&nt, "n1", NEW_TREE, strlen(NEW_TREE), NULL, 0) != 0))
		abort();
	memset(err, 'x', sizeof(err));
	rc = ts_hist_map_parse(&m, NAME, (const char *)data, size, err, sizeof(err));
	if (rc != 0) {
		FUZZ_CHECK(rc < 0 && m == NULL);
		if (rc == TS_EPARSE)
			check_msg(err, sizeof(err));
		return 0;
	}
	FUZZ_CHECK(m != NULL);
	check_parsed(m);
	memset(err, 'x', sizeof(err));
	rc = ts_hist_map_bind(m, ot, nt, err, sizeof(err));
	if (rc != 0) {
		FUZZ_CHECK(rc < 0 && m->old_t == NULL && m->new_t == NULL);
		for (i = 0; i < m->nlinks; i++)
			FUZZ_CHECK(m->links[i].old_u == -1 && m->links[i].new_u == -1);
		FUZZ_CHECK(ts_hist_successors(m, 0, NULL) == 0);
		if (rc == TS_EPARSE)
			check_msg(err, sizeof(err));
	} else
		check_bound(m);
	ts_hist_map_free(&m);
	FUZZ_CHECK(m == NULL);
	return 0;
}
