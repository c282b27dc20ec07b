/*
 * tiersyncd: start-up checks, the poll loop, timers and signals.
 *
 * The loop is single-threaded: each readable socket is drained by its
 * module (downlink, zap, uplink, control), then timers run (uplink
 * heartbeats/reconnects, rollup debounce).  Every write to the store is
 * one LMDB txn that commits before anything is sent about it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>
#include <zmq.h>

#include "tiersync/domain.h"
#include "tiersync/log.h"
#include "node.h"

static struct node *sig_node;

static void
on_signal(int sig)
{
	if (sig_node == NULL)
		return;
	if (sig == SIGHUP)
		sig_node->reload = 1;
	else
		sig_node->stop = 1;
}

static int
install_signals(struct node *n)
{
	struct sigaction sa;

	sig_node = n;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: zmq_poll must return EINTR so the loop sees stop. */
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigaction(SIGHUP, &sa, NULL) == -1)
		return -1;
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) == -1)
		return -1;
	return 0;
}

/* The deadline rule lives with its config keys (common/config.c). */
uint64_t
node_deadline_ms(const struct node *n, const char *period, int child_level)
{
	return ts_config_deadline_ms(&n->cfg, period, child_level);
}

static uint64_t real_wall(void *ctx) { (void)ctx; return ts_now_ms(); }
static uint64_t real_mono(void *ctx) { (void)ctx; return ts_mono_ms(); }

void
node_io_zmq(struct node *n)
{
	n->io.ctx = n;
	n->io.wall_ms = real_wall;
	n->io.mono_ms = real_mono;
	n->io.up_open = uplink_zmq_open;
	n->io.up_close = uplink_zmq_close;
	n->io.up_send = uplink_zmq_send;
	n->io.down_send = downlink_zmq_send;
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

struct meta_ident { const struct node *n; };

static int
meta_ident_fn(ts_txn *t, void *arg)
{
	const struct node *n = ((struct meta_ident *)arg)->n;
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

/* Record which unit and topology this store serves; refuse a store
 * that belongs to another unit (a mixed-up data directory). */
int
node_store_ident(struct node *n)
{
	struct meta_ident mi = { n };
	int rc;

	if ((rc = ts_store_write(n->st, meta_ident_fn, &mi)) != 0) {
		if (rc == TS_EINVAL)
			log_warnx("store of %s belongs to another unit", n->cfg.unit);
		else
			log_warnx("store of %s: %s", n->cfg.unit, ts_strerror(rc));
		return -1;
	}
	return 0;
}

static int
node_setup(struct node *n)
{
	char err[1024], path[TS_PATH_MAX + 16];
	int rc, parent;

	if (sodium_init() < 0) {
		log_warnx("libsodium failed to initialise");
		return -1;
	}
	node_io_zmq(n);
	if (ts_topo_load(&n->topo, n->cfg.topology, err, sizeof(err)) != 0) {
		log_warnx("%s", err);
		return -1;
	}
	if ((n->self = ts_topo_find(n->topo, n->cfg.unit)) < 0) {
		log_warnx("%s: unit '%s' is not in topology %s (%s)", n->confpath,
		    n->cfg.unit, n->topo->version, n->cfg.topology);
		return -1;
	}
	if (ts_keys_load(&n->keys, n->cfg.keys, err, sizeof(err)) != 0) {
		log_warnx("%s", err);
		return -1;
	}
	/* The catalogue's id goes into every report; the daemon reads
	 * nothing else of the domain (the register is tierctl's alone). */
	if (n->cfg.catalogue[0] != '\0' && ts_catalogue_version(n->cfg.catalogue,
	    n->catalogue_id, err, sizeof(err)) != 0) {
		log_warnx("key 'catalogue': %s", err);
		return -1;
	}
	if (n->cfg.wire_dump[0] != '\0') {
		if ((n->wire_dump = fopen(n->cfg.wire_dump, "ab")) == NULL) {
			log_warn("key 'wire_dump': %s", n->cfg.wire_dump);
			return -1;
		}
		log_warnx("wire_dump: every frame sent is written to %s (tests only)",
		    n->cfg.wire_dump);
	}
	if (ts_identity_load(&n->id, n->cfg.sign_key, n->cfg.curve_key,
	    err, sizeof(err)) != 0) {
		log_warnx("%s", err);
		return -1;
	}
	parent = n->topo->units[n->self].parent;
	n->has_parent = n->cfg.parent[0] != '\0';
	if (parent < 0 && n->has_parent) {
		log_warnx("%s: key 'parent': unit %s is the root of topology %s and "
		    "has no parent", n->confpath, n->cfg.unit, n->topo->version);
		return -1;
	}
	if (parent >= 0 && !n->has_parent)
		log_warnx("no 'parent' configured: reports of %s stay here",
		    n->cfg.unit);
	if (n->has_parent) {
		const ts_key *pk[4];
		size_t np = ts_keys_sign_for(n->keys, n->topo->units[parent].code,
		    (uint64_t)time(NULL), pk, 4);
		if (np == 0) {
			log_warnx("%s: no valid key for parent unit %s",
			    n->cfg.keys, n->topo->units[parent].code);
			return -1;
		}
		/* The newest line wins during a rotation overlap. */
		memcpy(n->parent_curve, pk[np > 4 ? 3 : np - 1]->curve_bin, 32);
	}
	snprintf(path, sizeof(path), "%s/store", n->cfg.datadir);
	if ((rc = ts_store_open(&n->st, path, 0,
	    (size_t)n->cfg.mapsize_mb << 20, (size_t)n->cfg.mapsize_max_mb << 20)) != 0) {
		log_warnx("store %s: %s", path, ts_strerror(rc));
		return -1;
	}
	return node_store_ident(n);
}

static void
node_teardown(struct node *n)
{
	uplink_close(n);
	downlink_close(n);
	zap_close(n);
	control_close(n);
	if (n->zctx != NULL && zmq_ctx_term(n->zctx) == -1)
		log_warn("zmq_ctx_term");
	n->zctx = NULL;
	ts_store_close(&n->st);
	ts_keys_free(&n->keys);
	ts_topo_free(&n->topo);
	ts_identity_wipe(&n->id);
	ts_buf_free(&n->tx);
	if (n->wire_dump != NULL && fclose(n->wire_dump) == EOF)
		log_warn("wire_dump: close");
	n->wire_dump = NULL;
}

/*
 * Tests only (config key wire_dump): append a frame this node sends on
 * a link, as plaintext before CURVE, as 4-byte big-endian length +
 * bytes, so a test can scan everything that left the node.
 */
void
node_wire_dump(struct node *n, const uint8_t *p, size_t len)
{
	uint8_t hdr[4] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16),
	    (uint8_t)(len >> 8), (uint8_t)len };

	if (n->wire_dump == NULL)
		return;
	if (fwrite(hdr, 1, 4, n->wire_dump) != 4 ||
	    fwrite(p, 1, len, n->wire_dump) != len || fflush(n->wire_dump) == EOF)
		log_warn("wire_dump: write");
}

static void
reload_keys(struct node *n)
{
	ts_keys *k = NULL;
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
		const ts_key *pk[4];
		size_t np = ts_keys_sign_for(n->keys,
		    n->topo->units[n->topo->units[n->self].parent].code,
		    node_wall(n) / 1000, pk, 4);
		if (np > 0)
			memcpy(n->parent_curve, pk[np > 4 ? 3 : np - 1]->curve_bin, 32);
		else
			log_warnx("SIGHUP: no valid key for the parent in %s; "
			    "keeping the one in use", n->cfg.keys);
	}
}

#define PREALLOC_SLACK	((size_t)1 << 20)
#define PREALLOC_STEP	((size_t)128 << 10)
#define ACK_HOLD_MAX_MS	5	/* longest an ACK waits for a lazy commit */

static long
min_timeout(struct node *n, uint64_t now)
{
	uint64_t t = now + 100, x;

	if ((x = uplink_next_timer(n, now)) != 0 && x < t)
		t = x;
	if ((x = rollup_next_timer(n, now)) != 0 && x < t)
		t = x;
	return t > now ? (long)(t - now) : 0;
}

int
daemon_run(struct node *n)
{
	int rc = -1;

	if (node_setup(n) != 0)
		goto out;
	if (n->checkonly) {
		log_info("configuration %s is valid (unit %s, topology %s)",
		    n->confpath, n->cfg.unit, n->topo->version);
		rc = 0;
		goto out;
	}
	if (install_signals(n) == -1) {
		log_warn("sigaction");
		goto out;
	}
	if ((n->zctx = zmq_ctx_new()) == NULL) {
		log_warn("zmq_ctx_new");
		goto out;
	}
	/* The ZAP handler must exist before the CURVE server binds: without
	 * one libzmq admits any client key. */
	if (n->cfg.listen[0] != '\0' && (zap_init(n) != 0 || downlink_init(n) != 0))
		goto out;
	if (control_init(n) != 0)
		goto out;
	if (n->has_parent) {
		if (uplink_init(n) != 0)
			goto out;
	} else
		node_meta_link(n, "none");
	if (rollup_recover(n) != 0)
		goto out;

	log_info("unit %s (%s, %s) up: listen %s, parent %s, topology %s",
	    n->cfg.unit, n->topo->units[n->self].name,
	    ts_level_name(n->topo->units[n->self].level),
	    n->cfg.listen[0] ? n->cfg.listen : "-",
	    n->cfg.parent[0] ? n->cfg.parent : "-", n->topo->version);

	/* A reader killed inside a read txn (tierctl -9) leaves a slot that
	 * pins every page freed after its snapshot: data.mdb would grow with
	 * every write until something clears it.  tierctl clears dead slots
	 * when it opens the store; the daemon, open for months, checks every
	 * READER_CHECK_MS (a scan of the reader table, cheap). */
	uint64_t next_reader_check = 0;
#define READER_CHECK_MS 1000
	while (!n->stop) {
		zmq_pollitem_t items[4];
		int ni = 0, izap = -1, irt = -1, idl = -1, ictl = -1, r;
		uint64_t now = node_mono(n);

		if (n->reload)
			reload_keys(n);
		if (n->zap) { izap = ni; items[ni++] = (zmq_pollitem_t){ n->zap, 0, ZMQ_POLLIN, 0 }; }
		if (n->router) { irt = ni; items[ni++] = (zmq_pollitem_t){ n->router, 0, ZMQ_POLLIN, 0 }; }
		if (n->dealer) { idl = ni; items[ni++] = (zmq_pollitem_t){ n->dealer, 0, ZMQ_POLLIN, 0 }; }
		if (n->ctl) { ictl = ni; items[ni++] = (zmq_pollitem_t){ n->ctl, 0, ZMQ_POLLIN, 0 }; }

		/* ACKs held for a lazy commit (downlink.c): if nothing else is
		 * ready, make the store durable and send them now; under load
		 * the next group's commit does it for free. */
		r = zmq_poll(items, ni, downlink_acks_waiting(n) ? 0 :
		    min_timeout(n, now));
		if (r == -1) {
			if (zmq_errno() == EINTR)
				continue;
			log_warnx("zmq_poll: %s", zmq_strerror(zmq_errno()));
			goto out;
		}
		if (r == 0 && downlink_acks_waiting(n)) {
			downlink_acks_sync(n);
			continue;
		}
		/* Idle: write a little of the store's file ahead of LMDB
		 * (ts_store_prealloc), so commits that extend it flush data
		 * only, not the filesystem journal.  Never under load, where
		 * the extra writes would compete with the commits. */
		if (r == 0) {
			int rc2 = ts_store_prealloc(n->st, PREALLOC_SLACK, PREALLOC_STEP, NULL);
			if (rc2 != 0 && rc2 != TS_ENOSPC)
				log_debug("store: prealloc: %s", ts_strerror(rc2));
		}
		if (izap >= 0 && (items[izap].revents & ZMQ_POLLIN))
			zap_on_readable(n);
		if (irt >= 0 && (items[irt].revents & ZMQ_POLLIN))
			downlink_on_readable(n);
		if (idl >= 0 && (items[idl].revents & ZMQ_POLLIN))
			uplink_on_readable(n);
		if (ictl >= 0 && (items[ictl].revents & ZMQ_POLLIN))
			control_on_readable(n);
		now = node_mono(n);
		/* A node never idle (a stream of other messages) must not
		 * hold ACKs for ever: bound the wait. */
		if (downlink_acks_overdue(n, now, ACK_HOLD_MAX_MS))
			downlink_acks_sync(n);
		rollup_tick(n, now);
		if (n->has_parent)
			uplink_tick(n, now);
		if (n->router)
			downlink_tick(n, now);
		if (now >= next_reader_check) {
			(void)ts_store_reader_check(n->st, NULL);
			next_reader_check = now + READER_CHECK_MS;
		}
	}
	log_info("unit %s stopping (signal)", n->cfg.unit);
	rc = 0;
out:
	node_teardown(n);
	return rc;
}
