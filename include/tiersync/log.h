/*
 * Tiny log module, after OpenBSD's log.c.
 * log_warn* append strerror(errno); log_warnx* do not.
 * fatal/fatalx log and exit(1).  Output goes to stderr (with a
 * timestamp) or syslog(3) after log_init(..., 1, ...).
 */
#ifndef TIERSYNC_LOG_H
#define TIERSYNC_LOG_H

#include <stdint.h>

#include <stdarg.h>

void log_init(const char *ident, int to_syslog, int verbose);
void log_setverbose(int v);
/* Tag every later line with tag (a unit code; NULL or "" = none), and
 * stamp it by wall_ms(ctx) instead of the system clock (NULL = system
 * clock).  The simulator sets both before each node's event. */
void log_set_tag(const char *tag);
void log_set_clock(uint64_t (*wall_ms)(void *ctx), void *ctx);
int  log_getverbose(void);
void log_warn(const char *fmt, ...)  __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...)  __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...)  __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
