/*
 * tiersyncd: start-up checks (configuration, topology, keys, identity,
 * store), signals, and the order of things: transport (transport.c),
 * then the node core (core.c), then the poll loop until a signal.
 * Every write to the store is one LMDB txn that commits before anything
 * is sent about it (the core's rule; docs/ARCHITECTURE.md).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "tiersync/domain.h"
#include "tiersync/log.h"
#include "node.h"
#include "transport.h"

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

static int
node_setup(struct node *n)
{
	char err[1024], path[TS_PATH_MAX + 16];
	int rc, parent;

	if (sodium_init() < 0) {
		log_warnx("libsodium failed to initialise");
		return -1;
	}
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
		/* The newest line wins during a rotation overlap. */
		const ts_key *pk = node_parent_key(n, ts_now_ms() / 1000);
		if (pk == NULL) {
			log_warnx("%s: no valid key for parent unit %s",
			    n->cfg.keys, n->topo->units[parent].code);
			return -1;
		}
		memcpy(n->parent_curve, pk->curve_bin, 32);
	}
	snprintf(path, sizeof(path), "%s/store", n->cfg.datadir);
	if ((rc = ts_store_open(&n->st, path, 0,
	    (size_t)n->cfg.mapsize_mb << 20, (size_t)n->cfg.mapsize_max_mb << 20)) != 0) {
		log_warnx("store %s: %s", path, ts_strerror(rc));
		return -1;
	}
	return 0;
}

static void
node_teardown(struct node *n)
{
	node_stop(n);
	ts_store_close(&n->st);
	ts_keys_free(&n->keys);
	ts_topo_free(&n->topo);
	ts_identity_wipe(&n->id);
}

int
daemon_run(struct node *n, int checkonly)
{
	struct transport *tp = NULL;
	int rc = -1;

	if (node_setup(n) != 0)
		goto out;
	if (checkonly) {
		log_info("configuration %s is valid (unit %s, topology %s)",
		    n->confpath, n->cfg.unit, n->topo->version);
		rc = 0;
		goto out;
	}
	if (install_signals(n) == -1) {
		log_warn("sigaction");
		goto out;
	}
	log_set_tag(n->cfg.unit);
	if (transport_open(&tp, n) != 0)
		goto out;
	if (node_start(n) != 0)
		goto out;
	log_info("unit %s (%s, %s) up: listen %s, parent %s, topology %s",
	    n->cfg.unit, n->topo->units[n->self].name,
	    ts_level_name(n->topo->units[n->self].level),
	    n->cfg.listen[0] ? n->cfg.listen : "-",
	    n->cfg.parent[0] ? n->cfg.parent : "-", n->topo->version);
	rc = transport_run(tp);
	if (rc == 0)
		log_info("unit %s stopping (signal)", n->cfg.unit);
out:
	/* The core first: it may still close the uplink through n->io. */
	node_teardown(n);
	transport_close(&tp);
	return rc;
}
