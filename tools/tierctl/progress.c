/*
 * Progress for long work (export, full verify, import) on a terminal:
 * one line on stderr, rewritten at most ten times a second, erased at
 * the end.  Nothing at all when stderr is not a terminal, so pipes,
 * logs and tests see clean output.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ops.h"

void
progress_start(struct progress *p, const char *what, uint64_t total)
{
	memset(p, 0, sizeof(*p));
	p->what = what;
	p->total = total;
	p->on = isatty(STDERR_FILENO);
}

static void
progress_draw(struct progress *p)
{
	if (p->total > 0)
		fprintf(stderr, "\r%s: %" PRIu64 "/%" PRIu64 " (%" PRIu64 "%%)\033[K",
		    p->what, p->done, p->total, p->done * 100 / p->total);
	else
		fprintf(stderr, "\r%s: %" PRIu64 "\033[K", p->what, p->done);
	fflush(stderr);
}

void
progress_step(struct progress *p, uint64_t n)
{
	uint64_t now;

	p->done += n;
	if (!p->on)
		return;
	now = ts_mono_ms();
	if (p->last_ms != 0 && now - p->last_ms < 100)
		return;
	p->last_ms = now;
	progress_draw(p);
}

void
progress_end(struct progress *p)
{
	if (!p->on)
		return;
	if (p->last_ms != 0) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
	p->on = 0;
}
