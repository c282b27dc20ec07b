/*
 * The node core, node-wide parts: recording which unit a store serves,
 * start and stop, keys reload, and the timers the driver (the daemon's
 * poll loop or the simulator) calls through node_tick / node_idle.
 * Nothing here knows about sockets: effects leave through n->io.
 */
#include <stdio.h>
#include <string.h>

#include "tiersync/log.h"
#include "node.h"

#define PREALLOC_SLACK	((size_t)1 << 20)
#define PREALLOC_STEP	((size_t)128 << 10)
#define ACK_HOLD_MAX_MS	5	/* longest an ACK waits for a lazy commit */
/* A reader killed inside a read txn (tierctl -9) leaves a slot that pins
 * every page freed after its snapshot: data.mdb would grow with every
 * write until something clears it.  tierctl clears dead slots when it
 * opens the store; the daemon, open for months, checks this often (a
 * scan of the reader table, cheap). */
#define READER_CHECK_MS	1000

/* The deadline rule lives with its config keys (common/config.c). */
uint64_t
node_deadline_ms(const struct node *n, const char *period, int child_level)
{
	return ts_config_deadline_ms(&n->cfg, period, child_level);
}

struct meta_link { const char *state; uint64_t now; };

static int
meta_link_fn(ts_txn *t, void *arg)
{
	struct meta_link *ml = arg;
	int rc;

	if ((rc = ts_meta_put(t, "link", ml->state, strlen(ml->state))) != 0)
		return rc;
	return ts_meta_put_u64(t, "link_ms", ml->now);
}

/* Record the uplink state for tierctl status; a failure only loses
 * status information, never data, so it is logged and ignored. */
void
node_meta_link(struct node *n, const char *state)
{
	struct meta_link ml = { state, node_wall(n) };
	int rc;

	if ((rc = ts_store_write(n->st, meta_link_fn, &ml)) != 0)
		log_warnx("store: recording link state: %s", ts_strerror(rc));
}

int
node_meta_add(ts_txn *t, const char *name, uint64_t delta)
{
	uint64_t v;
	int rc;

	if (delta == 0)
		return 0;
	if ((rc = ts_meta_get_u64(t, name, &v)) != 0)
		return rc;
	return ts_meta_put_u64(t, name, v + delta);
}

static int
meta_ident_fn(ts_txn *t, void *arg)
{
	const struct node *n = arg;
	const char *code = n->topo->units[n->self].code;
	ts_bytes have;
	int rc;

	rc = ts_meta_get(t, "unit", &have);
	if (rc == 0 && (have.len != strlen(code) || memcmp(have.p, code, have.len)))
		return TS_EINVAL;       /* the store belongs to another unit */
	if (rc != 0 && rc != TS_ENOTFOUND)
		return rc;
	if ((rc = ts_meta_put(t, "unit", code, strlen(code))) != 0)
		return rc;
	return ts_meta_put(t, "topo", n->topo->version, strlen(n->topo->version));
}

const ts_key *
node_parent_key(const struct node *n, uint64_t now_s)
{
	int parent = n->topo->units[n->self].parent;

	if (parent < 0)
		return NULL;
	return ts_keys_newest_for(n->keys, n->topo->units[parent].code, now_s);
}

int
node_start(struct node *n)
{
	int rc;

	/* Record which unit and topology this store serves; refuse a store
	 * that belongs to another unit (a mixed-up data directory). */
	if ((rc = ts_store_write(n->st, meta_ident_fn, n)) != 0) {
		if (rc == TS_EINVAL)
			log_warnx("store of %s belongs to another unit", n->cfg.unit);
		else
			log_warnx("store of %s: %s", n->cfg.unit, ts_strerror(rc));
		return -1;
	}
	if (rollup_recover(n) != 0)
		return -1;
	n->next_reader_check = 0;
	if (n->has_parent)
		return uplink_init(n);
	node_meta_link(n, "none");
	return 0;
}

void
node_stop(struct node *n)
{
	uplink_close(n);
	downlink_close(n);
	rollup_free(n);
	ts_buf_free(&n->tx);
}

void
node_reload_keys(struct node *n)
{
	ts_keys *k = NULL;
	const ts_key *pk;
	char err[1024];

	n->reload = 0;
	if (ts_keys_load(&k, n->cfg.keys, err, sizeof(err)) != 0) {
		log_warnx("SIGHUP: keeping the old keys: %s", err);
		return;
	}
	ts_keys_free(&n->keys);
	n->keys = k;
	n->keys_gen++;
	log_info("SIGHUP: reloaded %zu keys from %s", k->nkeys, n->cfg.keys);
	/* The parent rotated its key: the next connection uses the newest
	 * valid line (the current one stays up until it breaks). */
	if (n->has_parent) {
		if ((pk = node_parent_key(n, node_wall(n) / 1000)) != NULL)
			memcpy(n->parent_curve, pk->curve_bin, 32);
		else
			log_warnx("SIGHUP: no valid key for the parent in %s; "
			    "keeping the one in use", n->cfg.keys);
	}
}

uint64_t
node_next_timer(const struct node *n, uint64_t now)
{
	uint64_t t = now + 100, x;

	if (n->has_parent && (x = uplink_next_timer(n, now)) != 0 && x < t)
		t = x;
	if ((x = rollup_next_timer(n, now)) != 0 && x < t)
		t = x;
	if (n->nheld_acks > 0 && n->held_since + ACK_HOLD_MAX_MS < t)
		t = n->held_since + ACK_HOLD_MAX_MS;
	return t;
}

void
node_tick(struct node *n, uint64_t now)
{
	/* A node never idle (a stream of other messages) must not hold
	 * ACKs for ever: bound the wait. */
	if (downlink_acks_overdue(n, now, ACK_HOLD_MAX_MS))
		downlink_acks_sync(n);
	rollup_tick(n, now);
	if (n->has_parent)
		uplink_tick(n, now);
	downlink_tick(n, now);
	if (now >= n->next_reader_check) {
		(void)ts_store_reader_check(n->st, NULL);
		n->next_reader_check = now + READER_CHECK_MS;
	}
}

int
node_idle(struct node *n)
{
	int rc;

	/* ACKs held for a lazy commit (downlink.c): nothing else is ready,
	 * so make the store durable and send them now; under load the next
	 * group's commit does it for free. */
	if (downlink_acks_waiting(n)) {
		downlink_acks_sync(n);
		return 1;
	}
	/* Write a little of the store's file ahead of LMDB
	 * (ts_store_prealloc), so commits that extend it flush data only,
	 * not the filesystem journal.  Never under load, where the extra
	 * writes would compete with the commits. */
	rc = ts_store_prealloc(n->st, PREALLOC_SLACK, PREALLOC_STEP, NULL);
	if (rc != 0 && rc != TS_ENOSPC)
		log_debug("store: prealloc: %s", ts_strerror(rc));
	return 0;
}
