/*
 * mqttbench — publisher + subscriber for the Mosquitto bridge chain
 * (tools/bench, docs/BENCHMARKS.md).
 *
 *   mqttbench --pub-port P --sub-port S --count N [--size B] [--rate R]
 *             [--inflight I] [--idle-ms MS] [--timeout S]
 *
 * Subscribes to bench/# (QoS 1) on the last broker of the chain, then
 * publishes N messages of B bytes (QoS 1) to the first.  Each payload
 * carries its sequence number and the send time (CLOCK_MONOTONIC), so
 * the subscriber counts losses and duplicates and measures end-to-end
 * latency.  Ends when every message arrived, or (after every PUBACK) when
 * nothing new arrived for --idle-ms, or at --timeout.  One JSON line.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mosquitto.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long count, uniq, dups, pubacks, connected_sub, subacked;
static unsigned char *seen;
static double *lat;
static long nlat;
static double last_rx, first_tx;

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	nanosleep(&ts, NULL);
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

static void
on_message(struct mosquitto *m, void *o, const struct mosquitto_message *msg)
{
	uint64_t seq;
	double sent;
	(void)m; (void)o;
	if (msg->payloadlen < 16)
		return;
	memcpy(&seq, msg->payload, 8);
	memcpy(&sent, (const char *)msg->payload + 8, 8);
	pthread_mutex_lock(&mu);
	if (seq < (uint64_t)count) {
		if (seen[seq]++)
			dups++;
		else {
			uniq++;
			lat[nlat++] = (now_s() - sent) * 1000;
		}
		last_rx = now_s();
	}
	pthread_mutex_unlock(&mu);
}

static void
on_publish(struct mosquitto *m, void *o, int mid)
{
	(void)m; (void)o; (void)mid;
	pthread_mutex_lock(&mu);
	pubacks++;
	pthread_mutex_unlock(&mu);
}

static void
on_subscribe(struct mosquitto *m, void *o, int mid, int n, const int *q)
{
	(void)m; (void)o; (void)mid; (void)n; (void)q;
	pthread_mutex_lock(&mu);
	subacked = 1;
	pthread_mutex_unlock(&mu);
}

static void
on_connect_sub(struct mosquitto *m, void *o, int rc)
{
	(void)o;
	if (rc == 0) {
		mosquitto_subscribe(m, NULL, "bench/#", 1);
		pthread_mutex_lock(&mu);
		connected_sub = 1;
		pthread_mutex_unlock(&mu);
	}
}

int
main(int argc, char **argv)
{
	int pport = atoi(opt(argc, argv, "--pub-port", "0"));
	int sport = atoi(opt(argc, argv, "--sub-port", "0"));
	int size = atoi(opt(argc, argv, "--size", "1500"));
	double rate = atof(opt(argc, argv, "--rate", "0"));
	int inflight = atoi(opt(argc, argv, "--inflight", "20"));
	double idle = atof(opt(argc, argv, "--idle-ms", "5000")) / 1000;
	double timeout = atof(opt(argc, argv, "--timeout", "300"));
	struct mosquitto *pub, *sub;
	unsigned char *payload;
	long i;
	double t0, end;

	count = atol(opt(argc, argv, "--count", "20000"));
	if (pport <= 0 || sport <= 0 || count <= 0 || size < 16) {
		fprintf(stderr, "usage: mqttbench --pub-port P --sub-port S --count N\n");
		return 2;
	}
	seen = calloc((size_t)count, 1);
	lat = calloc((size_t)count, sizeof(double));
	payload = calloc((size_t)size, 1);
	if (!seen || !lat || !payload)
		return 1;
	for (i = 16; i < size; i++)
		payload[i] = (unsigned char)('a' + i % 26);
	mosquitto_lib_init();
	sub = mosquitto_new("bench-sub", false, NULL);
	pub = mosquitto_new("bench-pub", true, NULL);
	if (!sub || !pub)
		return 1;
	mosquitto_message_callback_set(sub, on_message);
	mosquitto_subscribe_callback_set(sub, on_subscribe);
	mosquitto_connect_callback_set(sub, on_connect_sub);
	mosquitto_publish_callback_set(pub, on_publish);
	mosquitto_max_inflight_messages_set(pub, (unsigned)inflight);
	if (mosquitto_connect(sub, "127.0.0.1", sport, 60) != MOSQ_ERR_SUCCESS ||
	    mosquitto_loop_start(sub) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "mqttbench: cannot connect to 127.0.0.1:%d\n", sport);
		return 1;
	}
	t0 = now_s();
	for (;;) {
		pthread_mutex_lock(&mu);
		long ok = subacked;
		pthread_mutex_unlock(&mu);
		if (ok)
			break;
		if (now_s() - t0 > 30) {
			fprintf(stderr, "mqttbench: no SUBACK\n");
			return 1;
		}
		sleep_us(1000);
	}
	if (mosquitto_connect(pub, "127.0.0.1", pport, 60) != MOSQ_ERR_SUCCESS ||
	    mosquitto_loop_start(pub) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "mqttbench: cannot connect to 127.0.0.1:%d\n", pport);
		return 1;
	}
	sleep_us(200000);       /* let the CONNACK arrive */
	first_tx = t0 = now_s();
	for (i = 0; i < count; i++) {
		uint64_t s = (uint64_t)i;
		double now;
		if (rate > 0) {
			double due = t0 + (double)i / rate;
			while ((now = now_s()) < due)
				sleep_us(50);
		}
		now = now_s();
		memcpy(payload, &s, 8);
		memcpy(payload + 8, &now, 8);
		int rc;
		while ((rc = mosquitto_publish(pub, NULL, "bench/x", size, payload, 1, false)) ==
		    MOSQ_ERR_NOMEM)
			sleep_us(1000);
		if (rc != MOSQ_ERR_SUCCESS) {
			fprintf(stderr, "mqttbench: publish: %s\n", mosquitto_strerror(rc));
			sleep_us(10000);
			i--;
		}
	}
	for (;;) {
		double now = now_s();
		pthread_mutex_lock(&mu);
		long u = uniq, pa = pubacks;
		double lr = last_rx;
		pthread_mutex_unlock(&mu);
		if (u == count)
			break;
		if (pa >= count && now - (lr > first_tx ? lr : first_tx) > idle)
			break;
		if (now - t0 > timeout)
			break;
		sleep_us(1000);
	}
	end = now_s();
	pthread_mutex_lock(&mu);
	qsort(lat, (size_t)nlat, sizeof(double), cmp_double);
	double p50 = nlat ? lat[(size_t)(0.5 * (double)(nlat - 1) + 0.5)] : 0;
	double p99 = nlat ? lat[(size_t)(0.99 * (double)(nlat - 1) + 0.5)] : 0;
	double dur = (uniq == count ? last_rx : end) - first_tx;
	printf("{\"test\":\"mqtt\",\"count\":%ld,\"size\":%d,\"received\":%ld,\"lost\":%ld,"
	    "\"dups\":%ld,\"pubacks\":%ld,\"seconds\":%.4f,\"msg_per_s\":%.0f,"
	    "\"lat_p50_ms\":%.3f,\"lat_p99_ms\":%.3f}\n", count, size, uniq, count - uniq, dups,
	    pubacks, dur, (double)uniq / dur, p50, p99);
	pthread_mutex_unlock(&mu);
	fflush(stdout);
	mosquitto_disconnect(pub);
	mosquitto_disconnect(sub);
	mosquitto_loop_stop(pub, true);
	mosquitto_loop_stop(sub, true);
	mosquitto_destroy(pub);
	mosquitto_destroy(sub);
	mosquitto_lib_cleanup();
	return uniq == count ? 0 : 3;
}
