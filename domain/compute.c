/*
 * Indicators computed from the register (docs/REGISTER.md "Computation"
 * is the normative description; tools/genregister implements it again,
 * independently, as the tests' oracle).  Library tiersync_register:
 * never linked by the daemon.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tiersync/domain.h"
#include "tiersync/register.h"

#define ALL (TS_DIM_SEX | TS_DIM_ETH | TS_DIM_DIS | TS_DIM_AGE)
#define SED (TS_DIM_SEX | TS_DIM_ETH | TS_DIM_DIS)
#define SE  (TS_DIM_SEX | TS_DIM_ETH)

enum { I3, I4, I5, I6, I7, I8, I9, I10, I13, I14, I15, I15B, I16, I17, I18,
	I19, I21, I25B, NIND };

static const ts_compute_ind inds[NIND] = {
	{ "3", SE }, { "4", SE }, { "5", SE }, { "6", SED }, { "7", SED },
	{ "8", SED }, { "9", SED }, { "10", SED }, { "13", ALL }, { "14", ALL },
	{ "15", ALL }, { "15b", ALL }, { "16", ALL }, { "17", ALL }, { "18", SE },
	{ "19", SED }, { "21", SED }, { "25b", TS_DIM_SEX | TS_DIM_ETH | TS_DIM_AGE },
};

/* Slots: total, sex=m, sex=f, eth=0, eth=1, dis=0, dis=1, age bands. */
enum { S_TOT, S_SEXM, S_SEXF, S_ETH0, S_ETH1, S_DIS0, S_DIS1, S_AGE0, S_AGE5,
	S_AGE11, NSLOT };
static const char *const slot_dis[NSLOT] = { "", "sex=m", "sex=f", "eth=0",
	"eth=1", "dis=0", "dis=1", "age=0-4", "age=5-10", "age=11-15" };

struct cell { uint64_t num, den; };

const ts_compute_ind *
ts_compute_indicators(size_t *n)
{
	*n = NIND;
	return inds;
}

int
ts_compute_ids(const ts_compute_ind *ci, size_t n, const char ***ids)
{
	const char **a;
	size_t i;

	if (ids == NULL)
		return TS_EINVAL;
	*ids = NULL;
	if (ci == NULL && n > 0)
		return TS_EINVAL;
	if (n == 0)
		return 0;
	if ((a = calloc(n, sizeof(*a))) == NULL)
		return TS_ENOMEM;
	for (i = 0; i < n; i++)
		a[i] = ci[i].id;
	*ids = a;
	return 0;
}

/* Age in full years on day `on` of someone born on `birth`. */
static int
age_on(int32_t birth, int32_t on)
{
	int by, oy;
	unsigned bm, bd, om, od;
	int a;

	ts_period_to_civil(birth, &by, &bm, &bd);
	ts_period_to_civil(on, &oy, &om, &od);
	a = oy - by;
	if (om < bm || (om == bm && od < bd))
		a--;
	return a;
}

static int
age_slot(int age)
{
	return age <= 4 ? S_AGE0 : age <= 10 ? S_AGE5 : S_AGE11;
}

/* Add (num, den) for one person to an indicator's cells. */
static void
add(struct cell (*acc)[NSLOT], int ind, const ts_child *c, int age, int num,
    int den)
{
	unsigned dims = inds[ind].dims;
	struct cell *a = acc[ind];
	int s[5], k = 0, i;

	s[k++] = S_TOT;
	if (dims & TS_DIM_SEX)
		s[k++] = c->sex ? S_SEXF : S_SEXM;
	if (dims & TS_DIM_ETH)
		s[k++] = c->eth ? S_ETH1 : S_ETH0;
	if (dims & TS_DIM_DIS)
		s[k++] = c->dis ? S_DIS1 : S_DIS0;
	if ((dims & TS_DIM_AGE) && age >= 0 && age <= 15)
		s[k++] = age_slot(age);
	for (i = 0; i < k; i++) {
		a[s[i]].num += (uint64_t)num;
		a[s[i]].den += (uint64_t)den;
	}
}

static int
idp_cmp(const void *a, const void *b)
{
	return strcmp((*(const ts_child *const *)a)->id, (*(const ts_child *const *)b)->id);
}

static const ts_child *
find_child(const ts_child *const *idx, size_t n, const char *id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(idx[mid]->id, id);
		if (c == 0)
			return idx[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int
value_cmp(const void *a, const void *b)
{
	const ts_value *x = a, *y = b;
	int c = strcmp(x->ind, y->ind);
	return c != 0 ? c : strcmp(x->dis, y->dis);
}

int
ts_compute_period(const ts_child *ch, size_t nch, const ts_case *cs, size_t ncs,
    const char *period, ts_value **vals, size_t *nvals)
{
	struct cell acc[NIND][NSLOT];
	const ts_child **idx = NULL;
	ts_value *v;
	int32_t S, E;
	size_t i, n = 0;
	int k, s;

	*vals = NULL;
	*nvals = 0;
	if (ts_period_days(period, &S, &E) != 0)
		return TS_EINVAL;
	memset(acc, 0, sizeof(acc));
	for (i = 0; i < nch; i++) {
		const ts_child *c = &ch[i];
		int alive, age;

		if (c->birth >= S && c->birth <= E) {
			add(acc, I3, c, -1, 0, 1);
			add(acc, I4, c, -1, 0, 1);
			add(acc, I5, c, -1, 0, 1);
		}
		if (c->death != TS_DATE_NONE && c->death >= S && c->death <= E) {
			int ad = age_on(c->birth, c->death);
			if (c->death - c->birth < 28)
				add(acc, I3, c, -1, 1, 0);
			if (ad < 1)
				add(acc, I4, c, -1, 1, 0);
			if (ad < 5)
				add(acc, I5, c, -1, 1, 0);
		}
		alive = c->birth <= E && (c->death == TS_DATE_NONE || c->death > E);
		if (!alive)
			continue;
		age = age_on(c->birth, E);
		if (age < 5 && c->measured != TS_DATE_NONE && c->measured <= E &&
		    c->measured >= E - 364) {
			add(acc, I6, c, age, c->uw, 1);
			add(acc, I7, c, age, c->st, 1);
			add(acc, I8, c, age, c->ob, 1);
		}
		if (age < 1)
			add(acc, I9, c, age, c->imm >= TS_IMM_FULL8, 1);
		if (age < 5) {
			add(acc, I10, c, age, c->imm >= TS_IMM_FULL12, 1);
			add(acc, I19, c, age, c->birth_reg != TS_DATE_NONE &&
			    c->birth_reg <= E, 1);
		}
		if (age == 5)
			add(acc, I21, c, age, c->school == TS_SCH_KINDERGARTEN, 1);
		if (c->dis && age >= 6 && age <= 15)
			add(acc, I25B, c, age, c->school != TS_SCH_NONE, 1);
		if (age < 16) {
			add(acc, I13, c, age, c->special != 0, 1);
			if (c->special != 0)
				add(acc, I14, c, age, c->special_support, 1);
			add(acc, I15, c, age, 0, 1);
			add(acc, I15B, c, age, 0, 1);
		}
	}
	if (ncs > 0) {
		if ((idx = malloc(nch * sizeof(*idx) + 1)) == NULL)
			return TS_ENOMEM;
		for (i = 0; i < nch; i++)
			idx[i] = &ch[i];
		qsort(idx, nch, sizeof(*idx), idp_cmp);
	}
	for (i = 0; i < ncs; i++) {
		const ts_case *x = &cs[i];
		const ts_child *c = find_child(idx, nch, x->child);
		int age, occ_in = x->occurred >= S && x->occurred <= E;

		if (c == NULL)
			continue;         /* cannot happen: import checks */
		age = age_on(c->birth, x->occurred);
		if (x->kind == TS_CASE_CHILD_MARRIAGE) {
			if (occ_in)
				add(acc, I18, c, -1, 1, 0);
			continue;
		}
		if (age < 0 || age > 15)
			continue;
		switch (x->kind) {
		case TS_CASE_INJURY:
			if (occ_in) {
				add(acc, I15, c, age, 1, 0);
				if (x->died)
					add(acc, I15B, c, age, 1, 0);
			}
			break;
		case TS_CASE_VIOLENCE:
		case TS_CASE_ABUSE:
		case TS_CASE_EXPLOITATION:
			if (x->detected >= S && x->detected <= E)
				add(acc, I16, c, age, x->intervention, 1);
			break;
		case TS_CASE_DISASTER:
			if (occ_in)
				add(acc, I17, c, age, x->support, 1);
			break;
		}
	}
	free(idx);
	if ((v = calloc((size_t)NIND * NSLOT, sizeof(*v))) == NULL)
		return TS_ENOMEM;
	for (k = 0; k < NIND; k++)
		for (s = 0; s < NSLOT; s++) {
			if (s != S_TOT && acc[k][s].num == 0 && acc[k][s].den == 0)
				continue;
			snprintf(v[n].ind, sizeof(v[n].ind), "%s", inds[k].id);
			snprintf(v[n].dis, sizeof(v[n].dis), "%s", slot_dis[s]);
			v[n].num = acc[k][s].num;
			v[n].den = acc[k][s].den;
			n++;
		}
	qsort(v, n, sizeof(*v), value_cmp);
	*vals = v;
	*nvals = n;
	return 0;
}
