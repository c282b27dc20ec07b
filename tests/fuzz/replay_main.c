/*
 * Replay driver: feeds every regular file of the directories (or the
 * files) named on the command line to LLVMFuzzerTestOneInput, in sorted
 * order, once each -- the corpus and crash regressions of a fuzz target
 * as a plain test, without libFuzzer (SQLite's fuzzcheck does the same).
 * Dot files (.keep) are skipped.  Exit 0 if every input ran; a failing
 * input aborts (oracle, sanitizer) and its path is printed first by the
 * signal handler.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

static char current[4096];

static void
on_fatal(int sig)
{
	static const char pre[] = "\nreplay: crashed on input ";
	size_t n = strlen(current);

	/* Only async-signal-safe calls here. */
	if (write(STDERR_FILENO, pre, sizeof(pre) - 1) < 0 ||
	    write(STDERR_FILENO, current, n) < 0 ||
	    write(STDERR_FILENO, "\n", 1) < 0) {
		/* nothing more we can do */
	}
	raise(sig);     /* SA_RESETHAND: the default action now */
}

static int
run_file(const char *path)
{
	FILE *f;
	uint8_t *buf;
	long size;
	size_t got;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "replay: %s: cannot size: %s\n", path,
		    strerror(errno));
		fclose(f);
		return -1;
	}
	/* An exactly-sized heap copy, so ASan sees reads past the end. */
	if ((buf = malloc(size > 0 ? (size_t)size : 1)) == NULL) {
		fprintf(stderr, "replay: %s: out of memory\n", path);
		fclose(f);
		return -1;
	}
	got = fread(buf, 1, (size_t)size, f);
	if (got != (size_t)size || ferror(f)) {
		fprintf(stderr, "replay: %s: short read\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	snprintf(current, sizeof(current), "%s", path);
	LLVMFuzzerTestOneInput(buf, (size_t)size);
	free(buf);
	return 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every file of dir; returns the count, or -1 on an error. */
static long
run_dir(const char *dir)
{
	DIR *d;
	struct dirent *e;
	char **names = NULL, path[4096];
	size_t n = 0, cap = 0, i;
	long count = 0;
	struct stat sb;

	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **p;
			cap = cap ? cap * 2 : 64;
			if ((p = realloc(names, cap * sizeof(*p))) == NULL)
				goto oom;
			names = p;
		}
		if ((names[n] = strdup(e->d_name)) == NULL)
			goto oom;
		n++;
	}
	closedir(d);
	if (n > 0)      /* qsort(NULL, 0, ...) is still undefined */
		qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
			continue;
		if (run_file(path) != 0)
			count = -1;
		else if (count >= 0)
			count++;
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return count;
oom:
	fprintf(stderr, "replay: %s: out of memory\n", dir);
	closedir(d);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return -1;
}

int
main(int argc, char **argv)
{
	static const int sigs[] = { SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL };
	struct stat sb;
	long total = 0, k;
	int i, failed = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
		return 2;
	}
	/* Name the input on a crash -- but leave alone any handler a
	 * sanitizer installed (its report is worth more); ASan ends with
	 * abort() under abort_on_error=1, which still reaches us. */
	for (i = 0; i < (int)(sizeof(sigs) / sizeof(sigs[0])); i++) {
		struct sigaction old, sa;
		if (sigaction(sigs[i], NULL, &old) != 0 ||
		    (old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL)
			continue;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_fatal;
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = SA_RESETHAND;
		if (sigaction(sigs[i], &sa, NULL) != 0)
			perror("replay: sigaction");
	}
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &sb) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			failed = 1;
			continue;
		}
		if (S_ISDIR(sb.st_mode)) {
			k = run_dir(argv[i]);
		} else {
			k = run_file(argv[i]) == 0 ? 1 : -1;
		}
		if (k < 0) {
			failed = 1;
			continue;
		}
		printf("replay: %s: %ld input%s ok\n", argv[i], k, k == 1 ? "" : "s");
		total += k;
	}
	printf("replay: %ld inputs, %s\n", total, failed ? "FAILED" : "all ok");
	return failed ? 1 : 0;
}
