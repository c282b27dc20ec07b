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
 * The CSV is parsed by domain/register_csv.c (no LMDB); this file does
 * what needs the register.  Import speed (tools/bench register, goal
 * >= 500,000 records/s): the good rows are kept in memory and written
 * in id order (sorted first unless they already are), each
 * with one B-tree operation: import appends (MDB_APPEND) when the id
 * sorts after every id held, else a MDB_NOOVERWRITE put, whose
 * MDB_KEYEXIST tells a duplicate; correct finds the id with a cursor
 * and replaces it in place (MDB_CURRENT).  The errors still come out in
 * line order (errors_finish).  One write txn per file.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lmdb.h>

#include "tiersync/register.h"
#include "tiersync/store.h"	/* ts_store_mdb_err: one LMDB error map */

#define REG_MAPSIZE ((size_t)4 << 30)

struct ts_register {
	MDB_env *env;
	MDB_dbi  children, cases, meta, periods;
	int      rdonly;
};

struct stored_child { uint64_t ver; uint32_t line, pad_; ts_child c; };
struct stored_case  { uint64_t ver; uint32_t line, pad_; ts_case c; };

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
	    (rc = mdb_dbi_open(txn, "periods", fl, &r->periods)) != 0) {
		mdb_txn_abort(txn);
		rc = mdb_err(rc, err, errlen, "open databases");
		goto fail;
	}
	/* mdb_txn_commit frees the txn whether or not it succeeds. */
	if ((rc = mdb_txn_commit(txn)) != 0) {
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
/* Importing a CSV file                                                 */
/* ------------------------------------------------------------------ */

/* Errors are kept so that the caller sees them in line order, exactly as
 * a single pass would report them: the parser checked the rows in file
 * order (keeping the first TS_REG_MAX_ERRORS texts: later ones cannot
 * be among the first shown), then the good rows are checked against
 * the register and written in id order (sorted: near-sequential B-tree
 * inserts); a refusal there (duplicate, unknown id, unknown child) is
 * kept compactly (struct late) and merged in by line at the end
 * (errors_finish). */
enum { REF_DUP = -2, REF_ALREADY = -3, REF_UNKNOWN = -4, REF_NOCHILD = -5,
	REF_BIRTH = -6 };

struct late {
	unsigned    line, first;     /* first: line of the id's first row   */
	int         why;             /* REF_*                               */
	const char *id;              /* the record's id (child's: NOCHILD)  */
};

struct load {
	ts_reg_result *res;
	const char    *file;
	struct late   *late;
	size_t         nlate, caplate;
};

/* One more refusal of a row the parser accepted. */
static int
late_add(struct load *l, unsigned line, unsigned first, int why, const char *id)
{
	if (l->nlate == l->caplate) {
		size_t cap = l->caplate ? l->caplate * 2 : 64;
		struct late *nl = reallocarray(l->late, cap, sizeof(*nl));
		if (nl == NULL)
			return TS_ENOMEM;
		l->late = nl;
		l->caplate = cap;
	}
	l->late[l->nlate].line = line;
	l->late[l->nlate].first = first;
	l->late[l->nlate].why = why;
	l->late[l->nlate].id = id;
	l->nlate++;
	l->res->nerr++;
	return 0;
}

static int
late_cmp(const void *a, const void *b)
{
	const struct late *x = a, *y = b;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* res->errors = the first TS_REG_MAX_ERRORS errors by line, the
 * parser's (x) and ours merged (a line's own errors in the order
 * found), then the "too many" line. */
static void
errors_finish(struct load *l, const ts_register_csv *x, const char *unknown)
{
	ts_buf *out = &l->res->errors;
	size_t i = 0, j = 0, k;
	char buf[512];
	int col;

	if (l->nlate > 1)
		qsort(l->late, l->nlate, sizeof(*l->late), late_cmp);
	for (k = 0; k < TS_REG_MAX_ERRORS && (i < x->nshown || j < l->nlate); k++) {
		if (j == l->nlate || (i < x->nshown && x->shown[i].line <= l->late[j].line)) {
			(void)ts_buf_append(out, x->text.buf + x->shown[i].off,
			    x->shown[i].len);
			i++;
			continue;
		}
		const struct late *e = &l->late[j++];
		col = 1;
		if (e->why == REF_DUP)
			snprintf(buf, sizeof(buf), "duplicate id '%s' (first at line %u)",
			    e->id, e->first);
		else if (e->why == REF_ALREADY)
			snprintf(buf, sizeof(buf), "duplicate id '%s': already in the "
			    "register (use 'tierctl register correct' to change it)", e->id);
		else if (e->why == REF_NOCHILD) {
			snprintf(buf, sizeof(buf), "child_id '%s': unknown code, no such "
			    "child in the register (import the children first)", e->id);
			col = 2;
		} else if (e->why == REF_BIRTH) {
			snprintf(buf, sizeof(buf), "occurred is before the child's "
			    "birth_date");
			col = 4;
		} else
			snprintf(buf, sizeof(buf), "unknown id '%s': not in the register%s",
			    e->id, unknown);
		ts_register_csv_errtext(out, l->file, e->line, col, buf);
	}
	if (l->res->nerr > TS_REG_MAX_ERRORS) {
		char line[700];
		int n = snprintf(line, sizeof(line), "%s: too many errors, not showing "
		    "more\n", l->file);
		if (n > 0)
			(void)ts_buf_append(out, line, (size_t)n < sizeof(line) ? (size_t)n :
			    sizeof(line) - 1);
	}
	if (ts_buf_reserve(out, 1) == 0)
		out->buf[out->len] = '\0';     /* a C string too, not counted */
	free(l->late);
	l->late = NULL;
	l->nlate = l->caplate = 0;
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
		{
			struct stored_hdr h;
			memcpy(&h, rec, sizeof(h));
			if ((rc = late_add(l, h.line, first, rc, rec_id(rec))) != 0)
				goto out;
		}
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
	ts_register_csv x;
	struct recs rs = { NULL, 0, 0, 0, 0 };
	MDB_txn *txn = NULL;
	const char *unknown;
	uint64_t ver;
	size_t i;
	int rc;

	memset(res, 0, sizeof(*res));
	memset(&l, 0, sizeof(l));
	l.res = res;
	l.file = file;
	if (r->rdonly)
		return TS_EINVAL;
	/* 1. Every row checked on its own, in file order. */
	if ((rc = ts_register_csv_parse(&x, kind, file, buf, len)) != 0) {
		ts_register_csv_free(&x);
		return rc;
	}
	res->kind = x.kind;
	res->rows = x.rows;
	res->nerr = x.nerr;
	unknown = x.kind == TS_REG_CASES ? "" :
	    " (use 'tierctl register import' to add it)";
	if (x.kind == TS_REG_AUTO) {            /* no header: nothing to do */
		errors_finish(&l, &x, unknown);
		ts_register_csv_free(&x);
		return 0;
	}
	if ((rc = mdb_txn_begin(r->env, NULL, 0, &txn)) != 0) {
		ts_register_csv_free(&x);
		return mdb_err(rc, NULL, 0, "txn");
	}
	if ((rc = meta_version(txn, r->meta, &ver)) != 0)
		goto lmdb;
	ver++;
	/* 2. What needs the register: a case's child. */
	rs.len = x.kind == TS_REG_CHILDREN ? sizeof(struct stored_child) :
	    sizeof(struct stored_case);
	for (i = 0; i < x.n; i++) {
		if (x.kind == TS_REG_CHILDREN) {
			struct stored_child sc;
			memset(&sc, 0, sizeof(sc));
			sc.ver = ver;
			sc.line = x.lines[i];
			sc.c = x.children[i];
			if ((rc = recs_add(&rs, &sc)) != 0)
				goto fail;
		} else {
			struct stored_case sc;
			const ts_case *c = &x.cases[i];
			MDB_val d, ck = { strlen(c->child), (void *)c->child };
			rc = mdb_get(txn, r->children, &ck, &d);
			if (rc == MDB_NOTFOUND) {
				if ((rc = late_add(&l, x.lines[i], 0, REF_NOCHILD,
				    c->child)) != 0)
					goto fail;
				continue;
			}
			if (rc != 0)
				goto lmdb;
			if (d.mv_size == sizeof(struct stored_child)) {
				struct stored_child chv;
				memcpy(&chv, d.mv_data, sizeof(chv));
				if (c->occurred < chv.c.birth) {
					if ((rc = late_add(&l, x.lines[i], 0, REF_BIRTH,
					    c->id)) != 0)
						goto fail;
					continue;
				}
			}
			memset(&sc, 0, sizeof(sc));
			sc.ver = ver;
			sc.line = x.lines[i];
			sc.c = *c;
			if ((rc = recs_add(&rs, &sc)) != 0)
				goto fail;
		}
	}
	/* 3. The good rows written in id order, also when a bad row will
	 * make us abort: their duplicates and unknown ids are reported too. */
	if (rs.n > 0) {
		rc = recs_write(&l, txn, x.kind == TS_REG_CHILDREN ? r->children :
		    r->cases, mode, ver, &rs);
		if (rc == TS_ENOMEM)
			goto fail;
		if (rc != 0)
			goto lmdb;
	}
	errors_finish(&l, &x, unknown);
	free(rs.buf);
	ts_register_csv_free(&x);
	if ((res->nerr > 0 && !skip_bad) || res->stored == 0) {
		mdb_txn_abort(txn);
		res->stored = 0;
		return 0;
	}
	if ((rc = meta_put_version(txn, r->meta, ver)) != 0) {
		rc = mdb_err(rc, NULL, 0, "write");
		mdb_txn_abort(txn);
		res->stored = 0;
		return rc;
	}
	if ((rc = mdb_txn_commit(txn)) != 0) {
		res->stored = 0;
		return mdb_err(rc, NULL, 0, "commit");
	}
	return 0;
lmdb:
	rc = mdb_err(rc, NULL, 0, "write");
fail:
	errors_finish(&l, &x, unknown);
	free(rs.buf);
	ts_register_csv_free(&x);
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
