/* Tiny log module after OpenBSD's log.c: see include/tiersync/log.h. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "tiersync/log.h"

static int log_syslog;
static int log_verbose;
static const char *log_ident = "tiersync";
/* Which node speaks (its unit code), and by whose clock: the simulator
 * runs many nodes in one process on a virtual clock. */
static char log_tag[32];
static uint64_t (*log_clock)(void *);
static void *log_clock_ctx;

void
log_set_tag(const char *tag)
{
	snprintf(log_tag, sizeof(log_tag), "%s", tag != NULL ? tag : "");
}

void
log_set_clock(uint64_t (*wall_ms)(void *ctx), void *ctx)
{
	log_clock = wall_ms;
	log_clock_ctx = ctx;
}

void
log_init(const char *ident, int to_syslog, int verbose)
{
	log_ident = ident;
	log_syslog = to_syslog;
	log_verbose = verbose;
	if (log_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_setverbose(int v) { log_verbose = v; }
int  log_getverbose(void) { return log_verbose; }

static void vlog(int, const char *, va_list, int) __attribute__((format(printf, 2, 0)));

/*
 * Control characters in a line (a child's ERR reason, a HELLO topology
 * name: whatever a peer sends may end up here) are written as \xNN, so
 * no one can forge a line of this log; the line is bounded too.
 */
static void
escape_controls(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (; *in != '\0' && o + 5 < outlen; in++) {
		unsigned char c = (unsigned char)*in;
		if (c < 0x20 || c == 0x7f) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else
			out[o++] = (char)c;
	}
	out[o] = '\0';
}

static void
vlog(int pri, const char *fmt, va_list ap, int with_errno)
{
	char raw[2048], msg[2048];
	int saved = errno;

	vsnprintf(raw, sizeof(raw), fmt, ap);
	if (with_errno) {
		size_t n = strlen(raw);
		snprintf(raw + n, sizeof(raw) - n, ": %s", strerror(saved));
	}
	escape_controls(raw, msg, sizeof(msg));
	if (log_syslog) {
		syslog(pri, "%s", msg);
	} else {
		struct timespec ts;
		struct tm tm;
		char when[32];
		if (log_clock != NULL) {
			uint64_t ms = log_clock(log_clock_ctx);
			ts.tv_sec = (time_t)(ms / 1000);
			ts.tv_nsec = (long)(ms % 1000) * 1000000L;
		} else
			clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ldZ %s%s%s[%s]: %s\n", when, ts.tv_nsec / 1000000,
		    log_ident, log_tag[0] ? " " : "", log_tag,
		    pri == LOG_ERR ? "error" : pri == LOG_WARNING ? "warn" :
		    pri == LOG_INFO ? "info" : "debug", msg);
	}
	errno = saved;
}

#define LOGFN(name, pri, err, min) \
void name(const char *fmt, ...) { va_list ap; \
	if (log_verbose < (min)) return; \
	va_start(ap, fmt); vlog(pri, fmt, ap, err); va_end(ap); }

LOGFN(log_warn,  LOG_WARNING, 1, 0)
LOGFN(log_warnx, LOG_WARNING, 0, 0)
LOGFN(log_info,  LOG_INFO,    0, 0)
LOGFN(log_debug, LOG_DEBUG,   0, 1)

void
fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt); vlog(LOG_ERR, fmt, ap, 1); va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt); vlog(LOG_ERR, fmt, ap, 0); va_end(ap);
	exit(1);
}
