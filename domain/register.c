/*
 * The commune register (docs/REGISTER.md): children and cases in their
 * own LMDB environment DIR/register/, separate from the node's store.
 * Only tierctl (and tests) link this file -- library tiersync_register;
 * tiersyncd does not, so it cannot read a record, let alone send one.
 *
 * Databases:
 *   children  id -> struct stored_child   (ts_child + import version/line)
 *   cases     id -> struct stored_case
 *   meta      "version" -> u64 (bumped by every committed change)
 *   periods   period -> ""  (periods computed before: recomputed on change)
 *
 * Import speed (tools/bench register, goal >= 500,000 records/s): the
 * CSV is parsed in place, one pass per line finds the fields and any
 * byte that needs the slow checks (NUL, quote, non-ASCII); error text
 * is formatted only for a bad field.  The good rows are kept in memory
 * and written in id order (sorted first unless they already are), each
 * with one B-tree operation: import appends (MDB_APPEND) when the id
 * sorts after every id held, else a MDB_NOOVERWRITE put, whose
 * MDB_KEYEXIST tells a duplicate; correct finds the id with a cursor
 * and replaces it in place (MDB_CURRENT).  The errors still come out in
 * line order (errors_finish).  One write txn per file.
 */
#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lmdb.h>

#include "tiersync/domain.h"
#include "tiersync/store.h"	/* ts_store_mdb_err: one LMDB error map */
#include "tiersync/util.h"

#define REG_MAPSIZE ((size_t)4 << 30)

#define CHILD_HEADER "id,birth_date,sex,ethnic_minority,disability," \
	"birth_registered,health_insurance,immunisation,measured_on," \
	"underweight,stunted,obese,school,special,special_support,death_date"
#define CASE_HEADER "id,child_id,kind,occurred,detected,intervention," \
	"support,died"
#define CHILD_NF 16
#define CASE_NF 8

struct ts_register {
	MDB_env *env;
	MDB_dbi  children, cases, meta, periods;
	int      rdonly;
};

struct stored_child { uint64_t ver; uint32_t line, pad_; ts_child c; };
struct stored_case  { uint64_t ver; uint32_t line, pad_; ts_case c; };

static const char *const imm_names[] = { "none", "partial", "full8", "full12",
	"full14", NULL };
static const char *const school_names[] = { "none", "nursery", "kindergarten",
	"primary", "lower_secondary", "upper_secondary", "special", NULL };
/* Law on Children 2016, art. 10(1), points a..o (in order). */
static const char *const special_names[] = { "none", "orphan", "abandoned",
	"no_carer", "disabled", "hiv", "offender", "drugs", "dropout_labour",
	"violence_harm", "exploited", "sexual_abuse", "trafficked",
	"serious_illness_poor", "migrant_refugee", NULL };
static const char *const kind_names[] = { "violence", "abuse", "exploitation",
	"injury", "child_marriage", "disaster", NULL };

static int
mdb_err(int rc, char *err, size_t errlen, const char *what)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "register: %s: %s", what, mdb_strerror(rc));
	return ts_store_mdb_err(rc);
}

int
ts_register_open(ts_register **out, const char *dir, int rdonly, char *err,
    size_t errlen)
{
	ts_register *r;
	MDB_txn *txn;
	int rc;

	*out = NULL;
	if (!rdonly && mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "register %s: %s", dir, strerror(errno));
		return TS_ESYS;
	}
	if (rdonly) {
		struct stat sb;
		if (stat(dir, &sb) == -1) {
			snprintf(err, errlen, "register %s: %s (nothing imported yet?)",
			    dir, strerror(errno));
			return TS_ENOTFOUND;
		}
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return TS_ENOMEM;
	r->rdonly = rdonly;
	if ((rc = mdb_env_create(&r->env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(r->env, 8)) != 0 ||
	    (rc = mdb_env_set_mapsize(r->env, REG_MAPSIZE)) != 0 ||
	    (rc = mdb_env_open(r->env, dir, rdonly ? MDB_RDONLY : 0, 0600)) != 0) {
		rc = mdb_err(rc, err, errlen, dir);
		goto fail;
	}
	if ((rc = mdb_txn_begin(r->env, NULL, rdonly ? MDB_RDONLY : 0, &txn)) != 0) {
		rc = mdb_err(rc, err, errlen, "txn");
		goto fail;
	}
	unsigned fl = rdonly ? 0 : MDB_CREATE;
	if ((rc = mdb_dbi_open(txn, "children", fl, &r->children)) != 0 ||
	    (rc = mdb_dbi_open(txn, "cases", fl, &r->cases)) != 0 ||
	    (rc = mdb_dbi_open(txn, "meta", fl, &r->meta)) != 0 ||
	    (rc = mdb_dbi_open(txn, "periods", fl, &r->periods)) != 0 ||
	    (rc = mdb_txn_commit(txn)) != 0) {
		if (rc != 0)
			mdb_txn_abort(txn);
		rc = mdb_err(rc, err, errlen, "open databases");
		goto fail;
	}
	*out = r;
	return 0;
fail:
	if (r->env != NULL)
		mdb_env_close(r->env);
	free(r);
	return rc;
}

void
ts_register_close(ts_register **r)
{
	if (r == NULL || *r == NULL)
		return;
	mdb_env_close((*r)->env);
	free(*r);
	*r = NULL;
}

/* ------------------------------------------------------------------ */
/* CSV                                                                  */
/* ------------------------------------------------------------------ */

/* Errors are kept so that the caller sees them in line order, exactly as
 * a single pass would report them: the rows are checked in file order
 * (lerr: only the first TS_REG_MAX_ERRORS texts are kept, later ones
 * cannot be among the first shown), then the good rows are written in
 * id order (sorted: near-sequential B-tree inserts); a refusal there
 * (duplicate, unknown id) is kept compactly (struct late) and merged in
 * by line at the end (errors_finish). */
struct shown { unsigned line; size_t off, len; };

enum { REF_DUP = -2, REF_ALREADY = -3, REF_UNKNOWN = -4 };

struct late {
	unsigned    line, first;     /* first: line of the id's first row   */
	int         why;             /* REF_*                               */
	const char *id;
};

struct load {
	ts_reg_result *res;
	const char    *file;
	unsigned       line;
	int            row_bad;
	ts_buf         txt;          /* texts of shown[]                    */
	struct shown   shown[TS_REG_MAX_ERRORS];
	unsigned       nshown;
	struct late   *late;
	size_t         nlate, caplate;
};

static void lerr(struct load *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* "FILE:LINE:COL: what\n" (no COL when col is 0) appended to b. */
static void
err_text(ts_buf *b, const char *file, unsigned lineno, int col, const char *what)
{
	char line[700];
	int n;

	if (col > 0)
		n = snprintf(line, sizeof(line), "%s:%u:%d: %s\n", file, lineno, col, what);
	else
		n = snprintf(line, sizeof(line), "%s:%u: %s\n", file, lineno, what);
	if (n > 0)
		(void)ts_buf_append(b, line, (size_t)n < sizeof(line) ? (size_t)n :
		    sizeof(line) - 1);
}

static void
lerr(struct load *l, int col, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	size_t off = l->txt.len;

	l->row_bad = 1;
	l->res->nerr++;
	if (l->nshown >= TS_REG_MAX_ERRORS)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	err_text(&l->txt, l->file, l->line, col, buf);
	l->shown[l->nshown].line = l->line;
	l->shown[l->nshown].off = off;
	l->shown[l->nshown].len = l->txt.len - off;
	l->nshown++;
}

static int
late_cmp(const void *a, const void *b)
{
	const struct late *x = a, *y = b;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* res->errors = the first TS_REG_MAX_ERRORS errors by line (a line's
 * own errors in the order found), then the "too many" line. */
static void
errors_finish(struct load *l, const char *unknown)
{
	ts_buf *out = &l->res->errors;
	size_t i = 0, j = 0, k;
	char buf[512];

	if (l->nlate > 1)
		qsort(l->late, l->nlate, sizeof(*l->late), late_cmp);
	for (k = 0; k < TS_REG_MAX_ERRORS && (i < l->nshown || j < l->nlate); k++) {
		if (j == l->nlate || (i < l->nshown && l->shown[i].line <= l->late[j].line)) {
			(void)ts_buf_append(out, l->txt.buf + l->shown[i].off, l->shown[i].len);
			i++;
			continue;
		}
		const struct late *e = &l->late[j++];
		if (e->why == REF_DUP)
			snprintf(buf, sizeof(buf), "duplicate id '%s' (first at line %u)",
			    e->id, e->first);
		else if (e->why == REF_ALREADY)
			snprintf(buf, sizeof(buf), "duplicate id '%s': already in the "
			    "register (use 'tierctl register correct' to change it)", e->id);
		else
			snprintf(buf, sizeof(buf), "unknown id '%s': not in the register%s",
			    e->id, unknown);
		err_text(out, l->file, e->line, 1, buf);
	}
	if (l->res->nerr > TS_REG_MAX_ERRORS) {
		char line[700];
		int n = snprintf(line, sizeof(line), "%s: too many errors, not showing "
		    "more\n", l->file);
		if (n > 0)
			(void)ts_buf_append(out, line, (size_t)n < sizeof(line) ? (size_t)n :
			    sizeof(line) - 1);
	}
	ts_buf_free(&l->txt);
	free(l->late);
	l->late = NULL;
	l->nlate = l->caplate = 0;
}

struct fld { const char *s; size_t n; };

/* f equals the string w.  f holds no NUL (checked before), so a shorter
 * w differs at its terminator and is never read past it. */
static int
feq(const struct fld *f, const char *w)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (f->s[i] != w[i])
			return 0;
	return w[i] == '\0';
}

static void
fshow(const struct fld *f, char *out, size_t outlen)
{
	size_t n = f->n < 40 ? f->n : 40;
	snprintf(out, outlen, "%.*s%s", (int)n, f->s, f->n > 40 ? "..." : "");
}

static int
f_id(struct load *l, const struct fld *f, int col, const char *what, char *out)
{
	size_t i;

	if (f->n == 0) {
		lerr(l, col, "%s: missing (required field)", what);
		return -1;
	}
	if (f->n > TS_RID_MAX) {
		lerr(l, col, "%s: longer than %d characters", what, TS_RID_MAX);
		return -1;
	}
	for (i = 0; i < f->n; i++) {
		char c = f->s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || c == '_' || c == '-')) {
			char v[64];
			fshow(f, v, sizeof(v));
			lerr(l, col, "%s '%s': want 1 to %d of [0-9A-Za-z_-]", what, v,
			    TS_RID_MAX);
			return -1;
		}
	}
	memcpy(out, f->s, f->n);
	out[f->n] = '\0';
	return 0;
}

/* YYYY-MM-DD, a real date, year 1900..2999; empty allowed if opt. */
static int
f_date(struct load *l, const struct fld *f, int col, const char *what, int opt,
    int32_t *d)
{
	unsigned y, m, dd, i;
	static const unsigned mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	const char *s = f->s;
	char v[64];

	if (f->n == 0) {
		if (opt) {
			*d = TS_DATE_NONE;
			return 0;
		}
		lerr(l, col, "%s: missing (required field)", what);
		return -1;
	}
	if (f->n != 10 || s[4] != '-' || s[7] != '-')
		goto bad;
	for (i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			goto bad;
	y = (unsigned)((s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
	    (s[3] - '0'));
	m = (unsigned)((s[5] - '0') * 10 + (s[6] - '0'));
	dd = (unsigned)((s[8] - '0') * 10 + (s[9] - '0'));
	if (y < 1900 || y > 2999 || m < 1 || m > 12 || dd < 1 || dd > mdays[m - 1] ||
	    (m == 2 && dd == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))) {
		fshow(f, v, sizeof(v));
		lerr(l, col, "%s '%s': not a real date (want YYYY-MM-DD, year 1900-2999)",
		    what, v);
		return -1;
	}
	*d = ts_days_from_civil((int)y, m, dd);
	return 0;
bad:
	fshow(f, v, sizeof(v));
	lerr(l, col, "%s '%s': wrong date format (want YYYY-MM-DD)", what, v);
	return -1;
}

static int
f_code(struct load *l, const struct fld *f, int col, const char *what,
    const char *const *names, uint8_t *out)
{
	char v[64], list[400];
	size_t i, o = 0;

	if (f->n == 0) {
		lerr(l, col, "%s: missing (required field)", what);
		return -1;
	}
	for (i = 0; names[i] != NULL; i++)
		if (feq(f, names[i])) {
			*out = (uint8_t)i;
			return 0;
		}
	list[0] = '\0';
	for (i = 0; names[i] != NULL && o + 32 < sizeof(list); i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "",
		    names[i]);
	fshow(f, v, sizeof(v));
	lerr(l, col, "%s '%s': unknown code (want one of: %s)", what, v, list);
	return -1;
}

static const char *const bool_names[] = { "0", "1", NULL };
static const char *const sex_names[] = { "m", "f", NULL };

/* Split a line at commas into at most max fields; returns the count.
 * *odd is set when the line holds a byte the slow checks must look at
 * (NUL, '"', or a non-ASCII byte), so a plain ASCII line is read once. */
static int
split(const char *s, size_t n, struct fld *f, int max, int *odd)
{
	int k = 0, o = 0;
	size_t start = 0, i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == ',') {
			if (k < max) {
				f[k].s = s + start;
				f[k].n = i - start;
			}
			k++;
			start = i + 1;
		} else if (c >= 0x80 || c == '"' || c == '\0')
			o = 1;
	}
	if (k < max) {
		f[k].s = s + start;
		f[k].n = n - start;
	}
	*odd = o;
	return k + 1;
}

static int
parse_child(struct load *l, struct fld *f, ts_child *c)
{
	int bad = 0;

	memset(c, 0, sizeof(*c));
	bad |= f_id(l, &f[0], 1, "id", c->id);
	bad |= f_date(l, &f[1], 2, "birth_date", 0, &c->birth);
	bad |= f_code(l, &f[2], 3, "sex", sex_names, &c->sex);
	bad |= f_code(l, &f[3], 4, "ethnic_minority", bool_names, &c->eth);
	bad |= f_code(l, &f[4], 5, "disability", bool_names, &c->dis);
	bad |= f_date(l, &f[5], 6, "birth_registered", 1, &c->birth_reg);
	bad |= f_code(l, &f[6], 7, "health_insurance", bool_names, &c->hi);
	bad |= f_code(l, &f[7], 8, "immunisation", imm_names, &c->imm);
	bad |= f_date(l, &f[8], 9, "measured_on", 1, &c->measured);
	if (c->measured == TS_DATE_NONE && !bad) {
		int k;
		for (k = 9; k <= 11; k++)
			if (f[k].n != 0) {
				lerr(l, k + 1, "%s: must be empty when measured_on is empty",
				    k == 9 ? "underweight" : k == 10 ? "stunted" : "obese");
				bad = 1;
			}
	} else if (!bad) {
		bad |= f_code(l, &f[9], 10, "underweight", bool_names, &c->uw);
		bad |= f_code(l, &f[10], 11, "stunted", bool_names, &c->st);
		bad |= f_code(l, &f[11], 12, "obese", bool_names, &c->ob);
	}
	bad |= f_code(l, &f[12], 13, "school", school_names, &c->school);
	bad |= f_code(l, &f[13], 14, "special", special_names, &c->special);
	bad |= f_code(l, &f[14], 15, "special_support", bool_names, &c->special_support);
	bad |= f_date(l, &f[15], 16, "death_date", 1, &c->death);
	if (bad)
		return -1;
	if (c->birth_reg != TS_DATE_NONE && c->birth_reg < c->birth)
		lerr(l, 6, "birth_registered is before birth_date"), bad = 1;
	if (c->measured != TS_DATE_NONE && c->measured < c->birth)
		lerr(l, 9, "measured_on is before birth_date"), bad = 1;
	if (c->death != TS_DATE_NONE && c->death < c->birth)
		lerr(l, 16, "death_date is before birth_date"), bad = 1;
	if (c->special == 0 && c->special_support)
		lerr(l, 15, "special_support is 1 but special is none"), bad = 1;
	return bad ? -1 : 0;
}

static int
parse_case(struct load *l, struct fld *f, ts_case *c)
{
	int bad = 0;

	memset(c, 0, sizeof(*c));
	bad |= f_id(l, &f[0], 1, "id", c->id);
	bad |= f_id(l, &f[1], 2, "child_id", c->child);
	bad |= f_code(l, &f[2], 3, "kind", kind_names, &c->kind);
	bad |= f_date(l, &f[3], 4, "occurred", 0, &c->occurred);
	bad |= f_date(l, &f[4], 5, "detected", 0, &c->detected);
	bad |= f_code(l, &f[5], 6, "intervention", bool_names, &c->intervention);
	bad |= f_code(l, &f[6], 7, "support", bool_names, &c->support);
	bad |= f_code(l, &f[7], 8, "died", bool_names, &c->died);
	if (bad)
		return -1;
	if (c->detected < c->occurred)
		lerr(l, 5, "detected is before occurred"), bad = 1;
	return bad ? -1 : 0;
}

static int
meta_version(MDB_txn *txn, MDB_dbi meta, uint64_t *v)
{
	MDB_val k = { 7, (void *)"version" }, d;
	int rc = mdb_get(txn, meta, &k, &d);

	*v = 0;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (d.mv_size == sizeof(*v))
		memcpy(v, d.mv_data, sizeof(*v));
	return 0;
}

static int
meta_put_version(MDB_txn *txn, MDB_dbi meta, uint64_t v)
{
	MDB_val k = { 7, (void *)"version" }, d = { sizeof(v), &v };
	return mdb_put(txn, meta, &k, &d, 0);
}

/* Both stored records start with this header, then the ts_child or
 * ts_case, whose first member is the id. */
struct stored_hdr { uint64_t ver; uint32_t line, pad_; };
#define REC_ID_OFF offsetof(struct stored_child, c)
_Static_assert(offsetof(struct stored_child, c) == offsetof(struct stored_case, c) &&
    offsetof(struct stored_child, c) == sizeof(struct stored_hdr) &&
    offsetof(ts_child, id) == 0 && offsetof(ts_case, id) == 0,
    "stored records: header, then the record starting with its id");

static const char *
rec_id(const void *rec)
{
	return (const char *)rec + REC_ID_OFF;
}

/* Sort key of a good row: 8 bytes of its id from offset `skip` (the
 * prefix every id of the file shares), big-endian, zero-padded past the
 * id's end, so integer order is LMDB's default order (bytes, then
 * length) on ids, which hold no NUL; equal keys fall back to the whole
 * ids, then the line: equal ids keep file order.  Sorting these small
 * keys rather than the rows keeps most compares in cache. */
struct okey {
	uint64_t k;
	void    *rec;
	uint32_t line, idlen;
};

static void
okey_set(struct okey *o, void *rec, size_t skip)
{
	const char *id = rec_id(rec);
	size_t n = strlen(id), j;
	uint64_t w = 0;
	struct stored_hdr h;

	for (j = 0; j < 8; j++)
		w = w << 8 | (skip + j < n ? (unsigned char)id[skip + j] : 0);
	memcpy(&h, rec, sizeof(h));
	o->k = w;
	o->rec = rec;
	o->line = h.line;
	o->idlen = (uint32_t)n;
}

static int
okey_cmp(const void *a, const void *b)
{
	const struct okey *x = a, *y = b;
	int c;

	if (x->k != y->k)
		return x->k < y->k ? -1 : 1;
	if ((c = strcmp(rec_id(x->rec), rec_id(y->rec))) != 0)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

/*
 * Write one record (rec, reclen bytes) under its id with one B-tree
 * operation on cur.  Returns 0 when written, REF_* when refused (*first:
 * the line of the record held, for REF_DUP), else the LMDB error.
 *   import: MDB_APPEND when the id sorts after every id held (LMDB checks
 *     against its last key, MDB_KEYEXIST otherwise), else MDB_NOOVERWRITE,
 *     which hands back the record held under the id: written from this
 *     file (same version: a duplicate in the file) or before.
 *   correct: the cursor finds the id, the record is replaced in place.
 * LMDB values need not be aligned: the old header is copied, never cast.
 */
static int
put_rec(MDB_cursor *cur, int mode, uint64_t ver, void *rec, size_t idlen,
    size_t reclen, unsigned *first)
{
	MDB_val k = { idlen, (void *)rec_id(rec) }, d = { reclen, rec };
	struct stored_hdr old;
	int rc;

	if (mode == TS_REG_IMPORT) {
		rc = mdb_cursor_put(cur, &k, &d, MDB_APPEND);
		if (rc == MDB_KEYEXIST) {
			d.mv_size = reclen;
			d.mv_data = rec;
			rc = mdb_cursor_put(cur, &k, &d, MDB_NOOVERWRITE);
		}
		if (rc != MDB_KEYEXIST)
			return rc;
	} else {
		rc = mdb_cursor_get(cur, &k, &d, MDB_SET);
		if (rc == MDB_NOTFOUND)
			return REF_UNKNOWN;
		if (rc != 0)
			return rc;
	}
	if (d.mv_size == reclen) {
		memcpy(&old, d.mv_data, sizeof(old));
		if (old.ver == ver) {
			*first = old.line;
			return REF_DUP;
		}
	}
	if (mode == TS_REG_IMPORT)
		return REF_ALREADY;
	d.mv_size = reclen;
	d.mv_data = rec;
	return mdb_cursor_put(cur, &k, &d, MDB_CURRENT);
}

/* The good rows of the file, in file order. */
struct recs {
	char        *buf;
	size_t       n, cap, len;    /* len: bytes of one record           */
	int          unsorted;       /* an id sorts before the one above    */
};

static int
recs_add(struct recs *rs, const void *rec)
{
	if (rs->n > 0 && !rs->unsorted &&
	    strcmp(rec_id(rs->buf + (rs->n - 1) * rs->len), rec_id(rec)) > 0)
		rs->unsorted = 1;
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 1024;
		char *nb = realloc(rs->buf, cap * rs->len);
		if (nb == NULL)
			return TS_ENOMEM;
		rs->buf = nb;
		rs->cap = cap;
	}
	memcpy(rs->buf + rs->n * rs->len, rec, rs->len);
	rs->n++;
	return 0;
}

/* Write the good rows in id order; refusals go to l->late. */
/* Write the good rows in id order (sorted first unless they are);
 * refusals go to l->late. */
static int
recs_write(struct load *l, MDB_txn *txn, MDB_dbi dbi, int mode, uint64_t ver,
    struct recs *rs)
{
	MDB_cursor *cur = NULL;
	struct okey *ord = NULL;
	size_t i;
	int rc = 0;

	if (rs->n == 0)
		return 0;
	if (rs->unsorted) {
		const char *id0 = rec_id(rs->buf);
		size_t skip = strlen(id0);
		if ((ord = malloc(rs->n * sizeof(*ord))) == NULL)
			return TS_ENOMEM;
		for (i = 1; i < rs->n && skip > 0; i++) {
			const char *id = rec_id(rs->buf + i * rs->len);
			size_t j = 0;
			while (j < skip && id[j] == id0[j])
				j++;
			skip = j;
		}
		for (i = 0; i < rs->n; i++)
			okey_set(&ord[i], rs->buf + i * rs->len, skip);
		qsort(ord, rs->n, sizeof(*ord), okey_cmp);
	}
	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
		goto out;
	for (i = 0; i < rs->n; i++) {
		unsigned first = 0;
		void *rec = ord != NULL ? ord[i].rec : rs->buf + i * rs->len;
		size_t idlen = ord != NULL ? ord[i].idlen : strlen(rec_id(rec));
#if defined(__GNUC__)
		/* sorted rows are read in random order: fetch ahead */
		if (ord != NULL && i + 16 < rs->n) {
			__builtin_prefetch(ord[i + 16].rec);
			__builtin_prefetch((char *)ord[i + 16].rec + rs->len - 1);
		}
#endif
		rc = put_rec(cur, mode, ver, rec, idlen, rs->len, &first);
		if (rc == 0) {
			l->res->stored++;
			continue;
		}
		if (rc != REF_DUP && rc != REF_ALREADY && rc != REF_UNKNOWN)
			goto out;
		l->res->nerr++;
		if (l->nlate == l->caplate) {
			size_t cap = l->caplate ? l->caplate * 2 : 64;
			struct late *nl = reallocarray(l->late, cap, sizeof(*nl));
			if (nl == NULL) {
				rc = TS_ENOMEM;
				goto out;
			}
			l->late = nl;
			l->caplate = cap;
		}
		struct stored_hdr h;
		memcpy(&h, rec, sizeof(h));
		l->late[l->nlate].line = h.line;
		l->late[l->nlate].first = first;
		l->late[l->nlate].why = rc;
		l->late[l->nlate].id = rec_id(rec);
		l->nlate++;
		rc = 0;
	}
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	free(ord);
	return rc;
}

void
ts_reg_result_free(ts_reg_result *res)
{
	ts_buf_free(&res->errors);
	memset(res, 0, sizeof(*res));
}

int
ts_register_load_csv(ts_register *r, int kind, int mode, int skip_bad,
    const char *file, const char *buf, size_t len, ts_reg_result *res)
{
	struct load l;
	struct recs rs = { NULL, 0, 0, 0, 0 };
	MDB_txn *txn = NULL;
	const char *p = buf, *end = buf + len;
	uint64_t ver;
	int nf, rc, odd, header = 0;
	struct fld f[CHILD_NF + 1];

	memset(res, 0, sizeof(*res));
	memset(&l, 0, sizeof(l));
	l.res = res;
	l.file = file;
	if (r->rdonly)
		return TS_EINVAL;
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	if ((rc = mdb_txn_begin(r->env, NULL, 0, &txn)) != 0)
		return mdb_err(rc, NULL, 0, "txn");
	if ((rc = meta_version(txn, r->meta, &ver)) != 0)
		goto lmdb;
	ver++;
	/* 1. Every row checked, in file order; the good ones kept. */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		const char *s = p;
		size_t ok;

		p = nl != NULL ? nl + 1 : end;
		l.line++;
		l.row_bad = 0;
		if (n > 0 && s[n - 1] == '\r')
			n--;
		if (!header) {
			header = 1;
			if (n == strlen(CHILD_HEADER) && memcmp(s, CHILD_HEADER, n) == 0 &&
			    kind != TS_REG_CASES)
				res->kind = TS_REG_CHILDREN;
			else if (n == strlen(CASE_HEADER) && memcmp(s, CASE_HEADER, n) == 0 &&
			    kind != TS_REG_CHILDREN)
				res->kind = TS_REG_CASES;
			else {
				lerr(&l, 1, "missing or wrong header: want '%s'",
				    kind == TS_REG_CASES ? CASE_HEADER : kind ==
				    TS_REG_CHILDREN ? CHILD_HEADER : CHILD_HEADER
				    "' (children) or '" CASE_HEADER "' (cases)");
				goto done;
			}
			rs.len = res->kind == TS_REG_CHILDREN ? sizeof(struct stored_child) :
			    sizeof(struct stored_case);
			continue;
		}
		if (n == 0 && p == end)
			break;                  /* final newline */
		res->rows++;
		if (n == 0) {
			lerr(&l, 1, "empty line");
			continue;
		}
		nf = split(s, n, f, CHILD_NF + 1, &odd);
		if (odd) {
			/* The checks a plain ASCII line cannot fail, in this order. */
			if (memchr(s, '\0', n) != NULL) {
				lerr(&l, 1, "NUL byte in line");
				continue;
			}
			if ((ok = ts_utf8_prefix(s, n)) < n) {
				int col = 1, k;
				for (k = 0; k < nf && k <= CHILD_NF; k++)
					if ((size_t)(f[k].s - s) <= ok)
						col = k + 1;
				lerr(&l, col, "invalid UTF-8 encoding (byte 0x%02x at byte %zu "
				    "of the line)", (unsigned char)s[ok], ok + 1);
				continue;
			}
			if (memchr(s, '"', n) != NULL) {
				lerr(&l, 1, "quotes are not allowed (no field contains a comma)");
				continue;
			}
		}
		if (res->kind == TS_REG_CHILDREN) {
			struct stored_child sc;
			if (nf != CHILD_NF) {
				if (nf < CHILD_NF)
					lerr(&l, nf + 1, "missing field: %d fields, want %d",
					    nf, CHILD_NF);
				else
					lerr(&l, CHILD_NF + 1, "too many fields: %d, want %d",
					    nf, CHILD_NF);
				continue;
			}
			if (parse_child(&l, f, &sc.c) != 0)
				continue;
			sc.ver = ver;
			sc.line = l.line;
			sc.pad_ = 0;
			if ((rc = recs_add(&rs, &sc)) != 0)
				goto fail;
		} else {
			struct stored_case sc;
			MDB_val d, ck;
			if (nf != CASE_NF) {
				if (nf < CASE_NF)
					lerr(&l, nf + 1, "missing field: %d fields, want %d",
					    nf, CASE_NF);
				else
					lerr(&l, CASE_NF + 1, "too many fields: %d, want %d",
					    nf, CASE_NF);
				continue;
			}
			if (parse_case(&l, f, &sc.c) != 0)
				continue;
			ck.mv_size = f[1].n;
			ck.mv_data = sc.c.child;
			rc = mdb_get(txn, r->children, &ck, &d);
			if (rc == MDB_NOTFOUND) {
				lerr(&l, 2, "child_id '%s': unknown code, no such child in "
				    "the register (import the children first)", sc.c.child);
				continue;
			}
			if (rc != 0)
				goto lmdb;
			if (d.mv_size == sizeof(struct stored_child)) {
				struct stored_child chv;
				memcpy(&chv, d.mv_data, sizeof(chv));
				if (sc.c.occurred < chv.c.birth) {
					lerr(&l, 4, "occurred is before the child's birth_date");
					continue;
				}
			}
			sc.ver = ver;
			sc.line = l.line;
			sc.pad_ = 0;
			if ((rc = recs_add(&rs, &sc)) != 0)
				goto fail;
		}
	}
	if (!header) {
		l.line = 1;
		lerr(&l, 0, "empty file (no header)");
	}
	else if (res->rows == 0)
		lerr(&l, 0, "no data rows");
	/* 2. The good rows written in id order, also when a bad row will
	 * make us abort: their duplicates and unknown ids are reported too. */
	if (rs.n > 0) {
		rc = recs_write(&l, txn, res->kind == TS_REG_CHILDREN ? r->children :
		    r->cases, mode, ver, &rs);
		if (rc == TS_ENOMEM)
			goto fail;
		if (rc != 0)
			goto lmdb;
	}
done:
	errors_finish(&l, res->kind == TS_REG_CASES ? "" :
	    " (use 'tierctl register import' to add it)");
	if ((res->nerr > 0 && !skip_bad) || res->stored == 0) {
		mdb_txn_abort(txn);
		res->stored = 0;
		free(rs.buf);
		return 0;
	}
	free(rs.buf);
	if ((rc = meta_put_version(txn, r->meta, ver)) != 0)
		goto lmdb;
	if ((rc = mdb_txn_commit(txn)) != 0) {
		res->stored = 0;
		return mdb_err(rc, NULL, 0, "commit");
	}
	return 0;
lmdb:
	rc = mdb_err(rc, NULL, 0, "write");
fail:
	errors_finish(&l, res->kind == TS_REG_CASES ? "" :
	    " (use 'tierctl register import' to add it)");
	free(rs.buf);
	mdb_txn_abort(txn);
	res->stored = 0;
	return rc;
}

int
ts_register_delete(ts_register *r, int kind, char *const *ids, size_t n,
    char *err, size_t errlen)
{
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	MDB_val k, d;
	uint64_t ver;
	size_t i;
	int rc;

	if ((rc = mdb_txn_begin(r->env, NULL, 0, &txn)) != 0)
		return mdb_err(rc, err, errlen, "txn");
	for (i = 0; i < n; i++) {
		int inch, incs;
		k.mv_size = strlen(ids[i]);
		k.mv_data = ids[i];
		if (k.mv_size == 0 || k.mv_size > TS_RID_MAX) {
			snprintf(err, errlen, "id '%s': not a record id", ids[i]);
			rc = TS_EPARSE;
			goto fail;
		}
		rc = kind == TS_REG_CASES ? MDB_NOTFOUND : mdb_get(txn, r->children, &k, &d);
		if (rc != 0 && rc != MDB_NOTFOUND)
			goto lmdb;
		inch = rc == 0;
		rc = kind == TS_REG_CHILDREN ? MDB_NOTFOUND : mdb_get(txn, r->cases, &k, &d);
		if (rc != 0 && rc != MDB_NOTFOUND)
			goto lmdb;
		incs = rc == 0;
		if (inch && incs) {
			snprintf(err, errlen, "id '%s' names both a child and a case: "
			    "give --kind children or --kind cases", ids[i]);
			rc = TS_EPARSE;
			goto fail;
		}
		if (!inch && !incs) {
			snprintf(err, errlen, "id '%s': no such %s in the register", ids[i],
			    kind == TS_REG_CASES ? "case" : kind == TS_REG_CHILDREN ?
			    "child" : "record");
			rc = TS_ENOTFOUND;
			goto fail;
		}
		if ((rc = mdb_del(txn, inch ? r->children : r->cases, &k, NULL)) != 0)
			goto lmdb;
	}
	/* A case must not outlive its child. */
	if ((rc = mdb_cursor_open(txn, r->cases, &cur)) != 0)
		goto lmdb;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		struct stored_case scv;
		const struct stored_case *sc = &scv;
		MDB_val ck;
		if (d.mv_size != sizeof(scv))
			continue;
		memcpy(&scv, d.mv_data, sizeof(scv));
		ck.mv_size = strlen(sc->c.child);
		ck.mv_data = (void *)sc->c.child;
		rc = mdb_get(txn, r->children, &ck, &d);
		if (rc == MDB_NOTFOUND) {
			snprintf(err, errlen, "child '%s' has case '%s': delete the "
			    "case first (or in the same command)", sc->c.child, sc->c.id);
			rc = TS_EINVAL;
			mdb_cursor_close(cur);
			goto fail;
		}
		if (rc != 0) {
			mdb_cursor_close(cur);
			goto lmdb;
		}
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		goto lmdb;
	if ((rc = meta_version(txn, r->meta, &ver)) != 0 ||
	    (rc = meta_put_version(txn, r->meta, ver + 1)) != 0)
		goto lmdb;
	if ((rc = mdb_txn_commit(txn)) != 0)
		return mdb_err(rc, err, errlen, "commit");
	return 0;
lmdb:
	rc = mdb_err(rc, err, errlen, "delete");
fail:
	mdb_txn_abort(txn);
	return rc;
}

int
ts_register_counts(ts_register *r, ts_reg_counts *c)
{
	MDB_txn *txn;
	MDB_stat st;
	int rc;

	memset(c, 0, sizeof(*c));
	if ((rc = mdb_txn_begin(r->env, NULL, MDB_RDONLY, &txn)) != 0)
		return mdb_err(rc, NULL, 0, "txn");
	if ((rc = mdb_stat(txn, r->children, &st)) != 0)
		goto out;
	c->children = st.ms_entries;
	if ((rc = mdb_stat(txn, r->cases, &st)) != 0)
		goto out;
	c->cases = st.ms_entries;
	rc = meta_version(txn, r->meta, &c->version);
out:
	mdb_txn_abort(txn);
	return rc != 0 ? mdb_err(rc, NULL, 0, "stat") : 0;
}

int
ts_register_mark_period(ts_register *r, const char *period)
{
	MDB_txn *txn;
	MDB_val k = { strlen(period), (void *)period }, d = { 0, (void *)"" };
	int rc;

	if ((rc = mdb_txn_begin(r->env, NULL, 0, &txn)) != 0)
		return mdb_err(rc, NULL, 0, "txn");
	if ((rc = mdb_put(txn, r->periods, &k, &d, 0)) != 0) {
		mdb_txn_abort(txn);
		return mdb_err(rc, NULL, 0, "periods");
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return mdb_err(rc, NULL, 0, "commit");
	return 0;
}

int
ts_register_periods(ts_register *r, char (**out)[TS_PERIOD_MAX + 1], size_t *n)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, d;
	MDB_stat st;
	char (*p)[TS_PERIOD_MAX + 1] = NULL;
	size_t i = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = mdb_txn_begin(r->env, NULL, MDB_RDONLY, &txn)) != 0)
		return mdb_err(rc, NULL, 0, "txn");
	if ((rc = mdb_stat(txn, r->periods, &st)) != 0 ||
	    (rc = mdb_cursor_open(txn, r->periods, &cur)) != 0) {
		mdb_txn_abort(txn);
		return mdb_err(rc, NULL, 0, "periods");
	}
	if ((p = calloc(st.ms_entries + 1, sizeof(*p))) == NULL) {
		mdb_cursor_close(cur);
		mdb_txn_abort(txn);
		return TS_ENOMEM;
	}
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0 && i < st.ms_entries;
	    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT))
		if (k.mv_size <= TS_PERIOD_MAX) {
			memcpy(p[i], k.mv_data, k.mv_size);
			p[i++][k.mv_size] = '\0';
		}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		free(p);
		return mdb_err(rc, NULL, 0, "periods");
	}
	*out = p;
	*n = i;
	return 0;
}

int
ts_register_load_all(ts_register *r, ts_child **ch, size_t *nch, ts_case **cs,
    size_t *ncs)
{
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	MDB_val k, d;
	MDB_stat s1, s2;
	int rc;

	*ch = NULL;
	*cs = NULL;
	*nch = *ncs = 0;
	if ((rc = mdb_txn_begin(r->env, NULL, MDB_RDONLY, &txn)) != 0)
		return mdb_err(rc, NULL, 0, "txn");
	if ((rc = mdb_stat(txn, r->children, &s1)) != 0 ||
	    (rc = mdb_stat(txn, r->cases, &s2)) != 0)
		goto lmdb;
	if ((*ch = malloc((s1.ms_entries + 1) * sizeof(**ch))) == NULL ||
	    (*cs = malloc((s2.ms_entries + 1) * sizeof(**cs))) == NULL) {
		rc = TS_ENOMEM;
		goto fail;
	}
	if ((rc = mdb_cursor_open(txn, r->children, &cur)) != 0)
		goto lmdb;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT))
		if (d.mv_size == sizeof(struct stored_child) && *nch < s1.ms_entries)
			memcpy(&(*ch)[(*nch)++], (const char *)d.mv_data +
			    offsetof(struct stored_child, c), sizeof(ts_child));
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		goto lmdb;
	if ((rc = mdb_cursor_open(txn, r->cases, &cur)) != 0)
		goto lmdb;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT))
		if (d.mv_size == sizeof(struct stored_case) && *ncs < s2.ms_entries)
			memcpy(&(*cs)[(*ncs)++], (const char *)d.mv_data +
			    offsetof(struct stored_case, c), sizeof(ts_case));
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		goto lmdb;
	mdb_txn_abort(txn);
	return 0;
lmdb:
	rc = mdb_err(rc, NULL, 0, "read");
fail:
	mdb_txn_abort(txn);
	free(*ch);
	free(*cs);
	*ch = NULL;
	*cs = NULL;
	*nch = *ncs = 0;
	return rc;
}
