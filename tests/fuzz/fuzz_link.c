/*
 * Fuzz target: link message decoder ts_msg_decode (docs/PROTOCOL.md
 * section 4), what a node reads from any peer -- children, its parent,
 * tierctl on the control socket.
 *
 * Oracles:
 *  - decode fails => negative code, message zeroed, nothing owned;
 *  - decode succeeds => the fields obey the documented limits, and the
 *    encoder of that type accepts the decoded message and reproduces
 *    the input byte for byte (canonical form: one message, one
 *    encoding; and nothing the decoder lets in is refused by the
 *    encoder, or the other way round);
 *  - every PUSH envelope is handed to ts_env_split (as the parent does).
 */
#include <string.h>

#include "fuzz.h"
#include "tiersync/proto.h"

static void
check_values(const ts_value *v, size_t n)
{
	size_t i;

	FUZZ_CHECK(n <= TS_VALUES_MAX);
	FUZZ_CHECK(n == 0 || v != NULL);
	for (i = 0; i < n; i++) {
		FUZZ_CHECK(ts_valid_indicator(v[i].ind, strlen(v[i].ind)) == 0);
		FUZZ_CHECK(ts_valid_dis(v[i].dis, strlen(v[i].dis)) == 0);
	}
}

/* Re-encode m with the encoder of its type into out; the encoder's rc. */
static int
encode(const ts_msg *m, ts_buf *out)
{
	const char **inds;
	size_t i;
	int rc;

	switch (m->type) {
	case TS_MSG_HELLO:
		return ts_msg_hello(out, m->unit, m->topo);
	case TS_MSG_WELCOME:
		return ts_msg_welcome(out, m->unit, m->held, m->nheld);
	case TS_MSG_PUSH:
		return ts_msg_push(out, m->batch, m->envs, m->nenvs);
	case TS_MSG_ACK:
		return ts_msg_ack(out, m->batch, m->status, m->nstatus);
	case TS_MSG_ERR:
		return ts_msg_err(out, m->code, m->reason, m->origin, m->seq);
	case TS_MSG_PING:
	case TS_MSG_PONG:
		return ts_msg_ping(out, m->type, m->time_ms);
	case TS_MSG_CTL_PUT:
		return ts_msg_ctl_put(out, m->period, m->values, m->nvalues);
	case TS_MSG_CTL_REPLY:
		return ts_msg_ctl_reply(out, m->code, m->reason);
	case TS_MSG_CTL_REPLACE:
		inds = calloc(m->ninds ? m->ninds : 1, sizeof(*inds));
		FUZZ_CHECK(inds != NULL);
		for (i = 0; i < m->ninds; i++)
			inds[i] = m->inds[i];
		rc = ts_msg_ctl_replace(out, m->period, inds, m->ninds,
		    m->values, m->nvalues);
		free(inds);
		return rc;
	case TS_MSG_CTL_RELOAD:
		return ts_msg_ctl_reload(out);
	default:
		FUZZ_CHECK(!"decoded an unknown message type");
		return -1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const ts_msg zero_msg;
	ts_msg m;
	ts_buf out = { NULL, 0, 0 };
	ts_env_view v;
	size_t i;
	int rc;

	rc = ts_msg_decode(data, size, &m);
	if (rc != 0) {
		FUZZ_CHECK(rc < 0);
		FUZZ_CHECK(memcmp(&m, &zero_msg, sizeof(m)) == 0);
		return 0;
	}
	/* Field limits, whatever the type. */
	FUZZ_CHECK(strlen(m.reason) <= TS_REASON_MAX);
	FUZZ_CHECK(m.code >= 0);
	FUZZ_CHECK(m.nheld <= TS_WELCOME_MAX && m.nenvs <= TS_BATCH_MAX &&
	    m.nstatus <= TS_BATCH_MAX);
	for (i = 0; i < m.nstatus; i++)
		FUZZ_CHECK(m.status[i] <= TS_ST_MAX_);
	for (i = 0; i < m.nheld; i++)
		FUZZ_CHECK(ts_valid_code(m.held[i].origin,
		    strlen(m.held[i].origin)) == 0);
	check_values(m.values, m.nvalues);
	if (m.type == TS_MSG_ERR)
		FUZZ_CHECK(m.code <= TS_ST_MAX_);
	if (m.type == TS_MSG_CTL_PUT || m.type == TS_MSG_CTL_REPLACE)
		FUZZ_CHECK(ts_valid_period(m.period, strlen(m.period)) == 0);
	for (i = 0; i < m.nenvs; i++) {
		FUZZ_CHECK(m.envs[i].len <= TS_ENV_MAX);
		FUZZ_CHECK(m.envs[i].len == 0 || (m.envs[i].p >= data &&
		    m.envs[i].p + m.envs[i].len <= data + size));
		(void)ts_env_split(m.envs[i].p, m.envs[i].len, &v);
	}

	rc = encode(&m, &out);
	if (rc != 0)
		fprintf(stderr, "re-encoding type %d: %s\n", m.type,
		    ts_strerror(rc));
	FUZZ_CHECK(rc == 0);
	FUZZ_CHECK(out.len == size && memcmp(out.buf, data, size) == 0);
	ts_buf_free(&out);
	ts_msg_clear(&m);
	FUZZ_CHECK(memcmp(&m, &zero_msg, sizeof(m)) == 0);
	return 0;
}
