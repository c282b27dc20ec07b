/*
 * natsbench — a minimal NATS client for the JetStream chain (tools/bench,
 * docs/BENCHMARKS.md).  Plain POSIX sockets, the text protocol only.
 *
 *   natsbench req --port P --subject S --data JSON
 *       One request (e.g. $JS.API.STREAM.CREATE.X); prints the reply.
 *   natsbench run --pub-port P --sub-port S --stream N --count C
 *             [--size B] [--rate R] [--window W] [--idle-ms MS] [--timeout S]
 *       Creates a push consumer (ack none) on stream N at the sub server,
 *       then publishes C messages of B bytes to subject bench.x at the pub
 *       server as JetStream publishes (each waits for its PubAck; at most W
 *       outstanding), and counts what the consumer delivers: losses,
 *       duplicates, latency.  Same end rules as mqttbench.  One JSON line.
 */
#define _GNU_SOURCE 1   /* memmem */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static const char *
opt(int argc, char **argv, const char *name, const char *def)
{
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return def;
}

struct conn {
	int    fd;
	char  *in;
	size_t len, cap;
	char  *out;
	size_t olen, ocap;
};

static void
fail(const char *what)
{
	fprintf(stderr, "natsbench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
out_add(struct conn *c, const void *p, size_t n)
{
	if (c->olen + n > c->ocap) {
		size_t cap = c->ocap ? c->ocap : 65536;
		while (cap < c->olen + n)
			cap *= 2;
		if ((c->out = realloc(c->out, cap)) == NULL)
			fail("oom");
		c->ocap = cap;
	}
	memcpy(c->out + c->olen, p, n);
	c->olen += n;
}

static void
out_flush(struct conn *c, int block)
{
	size_t off = 0;
	while (off < c->olen) {
		ssize_t w = send(c->fd, c->out + off, c->olen - off, block ? 0 : MSG_DONTWAIT);
		if (w < 0) {
			if (!block && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			if (errno == EINTR)
				continue;
			fail("send");
		}
		off += (size_t)w;
	}
	memmove(c->out, c->out + off, c->olen - off);
	c->olen -= off;
}

static int
fill(struct conn *c, int wait_ms)
{
	struct pollfd pf = { c->fd, POLLIN, 0 };
	if (poll(&pf, 1, wait_ms) <= 0)
		return 0;
	if (c->len + 65536 > c->cap) {
		c->cap = c->cap ? c->cap * 2 : 262144;
		if ((c->in = realloc(c->in, c->cap)) == NULL)
			fail("oom");
	}
	ssize_t r = recv(c->fd, c->in + c->len, c->cap - c->len, 0);
	if (r <= 0)
		fail("recv (server closed?)");
	c->len += (size_t)r;
	return 1;
}

struct nmsg {
	char subj[256], reply[256];
	const char *payload;
	size_t plen;
	size_t total;           /* bytes consumed */
};

/* Parse one protocol item at the start of c->in.  Returns 1 with a
 * message in m, 2 for a handled control line, 0 if more input needed. */
static int
parse_one(struct conn *c, struct nmsg *m)
{
	char *eol = memmem(c->in, c->len, "\r\n", 2);
	if (eol == NULL)
		return 0;
	size_t ll = (size_t)(eol - c->in);
	char line[1024];
	if (ll >= sizeof(line))
		fail("line too long");
	memcpy(line, c->in, ll);
	line[ll] = 0;
	if (strncmp(line, "MSG ", 4) == 0 || strncmp(line, "HMSG ", 5) == 0) {
		char *f[8] = { 0 };
		int nf = 0;
		int h = line[0] == 'H';
		for (char *s = strtok(line, " "); s && nf < 8; s = strtok(NULL, " "))
			f[nf++] = s;
		if (nf < 4)
			fail("bad MSG line");
		size_t hdr = 0, tot;
		int hasreply = h ? nf == 6 : nf == 5;
		snprintf(m->subj, sizeof(m->subj), "%s", f[1]);
		snprintf(m->reply, sizeof(m->reply), "%s", hasreply ? f[3] : "");
		if (h) {
			hdr = strtoul(f[nf - 2], NULL, 10);
			tot = strtoul(f[nf - 1], NULL, 10);
		} else
			tot = strtoul(f[nf - 1], NULL, 10);
		if (c->len < ll + 2 + tot + 2)
			return 0;
		m->payload = c->in + ll + 2 + hdr;
		m->plen = tot - hdr;
		m->total = ll + 2 + tot + 2;
		return 1;
	}
	m->total = ll + 2;
	if (strcmp(line, "PING") == 0)
		out_add(c, "PONG\r\n", 6);
	else if (strncmp(line, "-ERR", 4) == 0)
		fprintf(stderr, "natsbench: server: %s\n", line);
	return 2;
}

static void
consume(struct conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->len - n);
	c->len -= n;
}

static void
nats_connect(struct conn *c, int port)
{
	struct sockaddr_in a;
	int one = 1;
	memset(c, 0, sizeof(*c));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((c->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		fail("connect");
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	const char *hello = "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,"
	    "\"no_responders\":true,\"lang\":\"c\",\"version\":\"0\"}\r\nPING\r\n";
	out_add(c, hello, strlen(hello));
	out_flush(c, 1);
	for (;;) {
		struct nmsg m;
		int r;
		while ((r = parse_one(c, &m)) != 0) {
			char first = c->in[0], second = c->in[1];
			consume(c, m.total);
			if (r == 2 && first == 'P' && second == 'O')
				return;     /* PONG */
		}
		if (!fill(c, 10000))
			fail("no PONG");
	}
}

/* Request/reply on c; prints and returns the reply payload (static). */
static const char *
request(struct conn *c, const char *subject, const char *data, double timeout)
{
	static char reply[65536];
	char hdr[512];
	static int sid = 100;
	int my = ++sid;
	snprintf(hdr, sizeof(hdr), "SUB _INBOX.req%d %d\r\nPUB %s _INBOX.req%d %zu\r\n", my, my,
	    subject, my, strlen(data));
	out_add(c, hdr, strlen(hdr));
	out_add(c, data, strlen(data));
	out_add(c, "\r\n", 2);
	out_flush(c, 1);
	double t0 = now_s();
	for (;;) {
		struct nmsg m;
		int r;
		while ((r = parse_one(c, &m)) != 0) {
			if (r == 1) {
				snprintf(reply, sizeof(reply), "%.*s", (int)m.plen, m.payload);
				int mine = strncmp(m.subj, "_INBOX.req", 10) == 0 &&
				    atoi(m.subj + 10) == my;
				consume(c, m.total);
				if (mine) {
					snprintf(hdr, sizeof(hdr), "UNSUB %d\r\n", my);
					out_add(c, hdr, strlen(hdr));
					out_flush(c, 1);
					return reply;
				}
			} else
				consume(c, m.total);
		}
		out_flush(c, 1);
		if (now_s() - t0 > timeout)
			return NULL;
		fill(c, 100);
	}
}

static int
cmd_req(int argc, char **argv)
{
	struct conn c;
	nats_connect(&c, atoi(opt(argc, argv, "--port", "0")));
	const char *r = request(&c, opt(argc, argv, "--subject", ""), opt(argc, argv, "--data", ""),
	    atof(opt(argc, argv, "--timeout", "10")));
	if (r == NULL) {
		fprintf(stderr, "natsbench: no reply\n");
		return 1;
	}
	printf("%s\n", r);
	return strstr(r, "\"error\"") ? 1 : 0;
}

static int
cmd_run(int argc, char **argv)
{
	int pport = atoi(opt(argc, argv, "--pub-port", "0"));
	int sport = atoi(opt(argc, argv, "--sub-port", "0"));
	const char *stream = opt(argc, argv, "--stream", "N");
	long count = atol(opt(argc, argv, "--count", "20000"));
	int size = atoi(opt(argc, argv, "--size", "1500"));
	double rate = atof(opt(argc, argv, "--rate", "0"));
	long window = atol(opt(argc, argv, "--window", "256"));
	double idle = atof(opt(argc, argv, "--idle-ms", "5000")) / 1000;
	double timeout = atof(opt(argc, argv, "--timeout", "300"));
	struct conn pc, sc;
	char buf[512];
	long i, next = 0, acked = 0, uniq = 0, dups = 0, nlat = 0;
	unsigned char *seen = calloc((size_t)count, 1);
	double *lat = calloc((size_t)count, sizeof(double));
	char *payload = malloc((size_t)size);
	double t0, last_rx = 0, first_tx = 0, end;

	if (!seen || !lat || !payload || count <= 0 || size < 16)
		return 2;
	for (i = 16; i < size; i++)
		payload[i] = (char)('a' + i % 26);
	nats_connect(&sc, sport);
	nats_connect(&pc, pport);
	/* consumer: push, ack none, everything in the stream */
	out_add(&sc, "SUB out.bench 1\r\n", 17);
	snprintf(buf, sizeof(buf), "$JS.API.CONSUMER.CREATE.%s", stream);
	const char *r = request(&sc, buf, "{\"stream_name\":\"N\",\"config\":{\"deliver_subject\":"
	    "\"out.bench\",\"ack_policy\":\"none\",\"deliver_policy\":\"all\","
	    "\"max_ack_pending\":-1}}", 10);
	if (r == NULL || strstr(r, "\"error\"")) {
		fprintf(stderr, "natsbench: consumer create: %s\n", r ? r : "no reply");
		return 1;
	}
	out_add(&pc, "SUB _INBOX.ack.* 1\r\n", 20);
	out_flush(&pc, 1);
	first_tx = t0 = now_s();
	for (;;) {
		double now = now_s();
		/* publish */
		while (next < count && next - acked < window) {
			if (rate > 0 && now < t0 + (double)next / rate)
				break;
			uint64_t s = (uint64_t)next;
			memcpy(payload, &s, 8);
			memcpy(payload + 8, &now, 8);
			snprintf(buf, sizeof(buf), "PUB bench.x _INBOX.ack.%ld %d\r\n", next, size);
			out_add(&pc, buf, strlen(buf));
			out_add(&pc, payload, (size_t)size);
			out_add(&pc, "\r\n", 2);
			next++;
		}
		out_flush(&pc, 0);
		out_flush(&sc, 0);
		/* read both */
		struct pollfd pf[2] = { { pc.fd, POLLIN, 0 }, { sc.fd, POLLIN, 0 } };
		int wait = rate > 0 ? 0 : 5;
		if (poll(pf, 2, wait) > 0) {
			if (pf[0].revents & POLLIN)
				fill(&pc, 0);
			if (pf[1].revents & POLLIN)
				fill(&sc, 0);
		}
		struct nmsg m;
		int k;
		while ((k = parse_one(&pc, &m)) != 0) {
			if (k == 1 && strncmp(m.subj, "_INBOX.ack.", 11) == 0) {
				if (memmem(m.payload, m.plen, "\"error\"", 7))
					fprintf(stderr, "natsbench: puback error: %.*s\n", (int)m.plen,
					    m.payload);
				else
					acked++;
			}
			consume(&pc, m.total);
		}
		while ((k = parse_one(&sc, &m)) != 0) {
			if (k == 1 && m.plen >= 16 && strncmp(m.subj, "_INBOX.", 7) != 0) {
				/* a delivery keeps its original subject (bench.x) */
				uint64_t s;
				double sent;
				memcpy(&s, m.payload, 8);
				memcpy(&sent, m.payload + 8, 8);
				if (s < (uint64_t)count) {
					if (seen[s]++)
						dups++;
					else {
						uniq++;
						lat[nlat++] = (now_s() - sent) * 1000;
					}
					last_rx = now_s();
				}
			}
			consume(&sc, m.total);
		}
		now = now_s();
		if (uniq == count)
			break;
		if (acked >= count && now - (last_rx > first_tx ? last_rx : first_tx) > idle)
			break;
		if (now - t0 > timeout)
			break;
		if (rate > 0) {
			struct timespec ts = { 0, 50000 };
			nanosleep(&ts, NULL);
		}
	}
	end = now_s();
	qsort(lat, (size_t)nlat, sizeof(double), cmp_double);
	double p50 = nlat ? lat[(size_t)(0.5 * (double)(nlat - 1) + 0.5)] : 0;
	double p99 = nlat ? lat[(size_t)(0.99 * (double)(nlat - 1) + 0.5)] : 0;
	double dur = (uniq == count ? last_rx : end) - first_tx;
	printf("{\"test\":\"nats\",\"count\":%ld,\"size\":%d,\"received\":%ld,\"lost\":%ld,"
	    "\"dups\":%ld,\"pubacks\":%ld,\"seconds\":%.4f,\"msg_per_s\":%.0f,"
	    "\"lat_p50_ms\":%.3f,\"lat_p99_ms\":%.3f}\n", count, size, uniq, count - uniq, dups,
	    acked, dur, (double)uniq / dur, p50, p99);
	return uniq == count ? 0 : 3;
}

int
main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && strcmp(argv[1], "req") == 0)
		return cmd_req(argc, argv);
	if (argc > 1 && strcmp(argv[1], "run") == 0)
		return cmd_run(argc, argv);
	fprintf(stderr, "usage: natsbench req|run ...\n");
	return 2;
}
