/*
 * The control-socket client (ctlclient.h): tierctl -> its own tiersyncd.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <zmq.h>

#include "tiersync/proto.h"
#include "ctlclient.h"

static int
zfail(const struct ctlclient *k, const char *what)
{
	ctl_errx("%s: %s: %s", k->ep, what, zmq_strerror(zmq_errno()));
	return -1;
}

static int
absent(const struct ctlclient *k, const char *why)
{
	if (!k->quiet)
		ctl_errx("no answer from tiersyncd on %s (is it running?): %s",
		    k->ep, why);
	return CTLCLIENT_ABSENT;
}

void
ctlclient_close(struct ctlclient *k)
{
	if (k->sock != NULL && zmq_close(k->sock) == -1)
		ctl_warnx("%s: zmq_close: %s", k->ep, zmq_strerror(zmq_errno()));
	k->sock = NULL;
	if (k->ctx != NULL) {
		while (zmq_ctx_term(k->ctx) == -1) {
			if (zmq_errno() != EINTR) {
				ctl_warnx("%s: zmq_ctx_term: %s", k->ep,
				    zmq_strerror(zmq_errno()));
				break;
			}
		}
	}
	k->ctx = NULL;
}

int
ctlclient_open(struct ctlclient *k, const struct ctl *c, int quiet)
{
	char dir[TS_PATH_MAX], path[TS_PATH_MAX + 16];
	int linger = 0, rcvto = CTLCLIENT_RCV_TIMEOUT_MS;
	int sndto = CTLCLIENT_SND_TIMEOUT_MS, immediate = 1;
	int64_t maxmsg = TS_MSG_MAX;
	struct stat sb;

	memset(k, 0, sizeof(*k));
	k->quiet = quiet;
	ctl_datadir_abs(c, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/control.sock", dir);
	snprintf(k->ep, sizeof(k->ep), "ipc://%s", path);
	/* No socket file: the daemon is not running; do not wait 3 s. */
	if (stat(path, &sb) == -1)
		return absent(k, errno == ENOENT ? "no socket file" :
		    strerror(errno));
	if ((k->ctx = zmq_ctx_new()) == NULL)
		return zfail(k, "zmq_ctx_new");
	if ((k->sock = zmq_socket(k->ctx, ZMQ_REQ)) == NULL) {
		zfail(k, "zmq_socket");
		goto fail;
	}
	if (zmq_setsockopt(k->sock, ZMQ_LINGER, &linger, sizeof(linger)) == -1 ||
	    zmq_setsockopt(k->sock, ZMQ_RCVTIMEO, &rcvto, sizeof(rcvto)) == -1 ||
	    zmq_setsockopt(k->sock, ZMQ_SNDTIMEO, &sndto, sizeof(sndto)) == -1 ||
	    zmq_setsockopt(k->sock, ZMQ_IMMEDIATE, &immediate,
	    sizeof(immediate)) == -1 ||
	    zmq_setsockopt(k->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) == -1) {
		zfail(k, "zmq_setsockopt");
		goto fail;
	}
	if (zmq_connect(k->sock, k->ep) == -1) {
		zfail(k, "zmq_connect");
		goto fail;
	}
	return 0;
fail:
	ctlclient_close(k);
	return -1;
}

int
ctlclient_call(struct ctlclient *k, const ts_buf *req, int *code, char *reason,
    size_t rlen)
{
	zmq_msg_t msg;
	ts_msg m;
	int rc, more;

	if (k->sock == NULL) {
		ctl_errx("%s: control socket not open", k->ep);
		return -1;
	}
	if (zmq_send(k->sock, req->buf, req->len, 0) == -1) {
		if (zmq_errno() == EAGAIN) {
			char why[64];
			snprintf(why, sizeof(why), "could not connect within %d s",
			    CTLCLIENT_SND_TIMEOUT_MS / 1000);
			return absent(k, why);
		}
		return zfail(k, "zmq_send");
	}
	if (zmq_msg_init(&msg) == -1)
		return zfail(k, "zmq_msg_init");
	if (zmq_msg_recv(&msg, k->sock, 0) == -1) {
		if (zmq_errno() == EAGAIN) {
			char why[64];
			snprintf(why, sizeof(why), "no reply within %d s",
			    CTLCLIENT_RCV_TIMEOUT_MS / 1000);
			rc = absent(k, why);
		} else
			rc = zfail(k, "zmq_msg_recv");
		if (zmq_msg_close(&msg) == -1)
			zfail(k, "zmq_msg_close");
		return rc;
	}
	more = zmq_msg_more(&msg);
	memset(&m, 0, sizeof(m));
	rc = more ? TS_EMALFORMED :
	    ts_msg_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &m);
	if (zmq_msg_close(&msg) == -1) {
		ts_msg_clear(&m);
		return zfail(k, "zmq_msg_close");
	}
	if (rc != 0) {
		ctl_errx("%s: bad reply from tiersyncd: %s", k->ep,
		    more ? "more than one frame" : ts_strerror(rc));
		return -1;
	}
	if (m.type != TS_MSG_CTL_REPLY) {
		ctl_errx("%s: bad reply from tiersyncd: message type %d, "
		    "expected CTL_REPLY", k->ep, m.type);
		ts_msg_clear(&m);
		return -1;
	}
	*code = m.code;
	snprintf(reason, rlen, "%s", m.reason);
	ts_msg_clear(&m);
	return 0;
}
