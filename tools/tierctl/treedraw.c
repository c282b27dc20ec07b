/*
 * The indented tree of `tierctl tree` and `tierctl topology show`
 * (treedraw.h).
 */
#include <stdio.h>
#include <string.h>

#include "treedraw.h"
#include "util.h"

void
tree_draw_head(const struct tree_draw *d, int u, int depth, int last)
{
	const ts_unit *unit = &d->t->units[u];

	if (depth > 0)
		printf("%s%s", d->prefix, last ? "└── " : "├── ");
	printf("%-8s ", unit->code);
	print_padded(stdout, unit->name, d->wname > 4 * (size_t)depth ?
	    d->wname - 4 * (size_t)depth : 0);
}

static int
walk(struct tree_draw *d, int u, int depth, int last)
{
	const ts_unit *unit = &d->t->units[u];
	size_t plen;
	int k;

	if (d->line(d, u, depth, last) != 0)
		return -1;
	if (unit->nchildren == 0)
		return 0;
	if (depth >= d->maxdepth || depth >= TREE_DEPTH_MAX) {
		if (!d->json)
			printf("%s%s    ... %d children not shown (--depth)\n",
			    d->prefix, depth > 0 ? (last ? "    " : "│   ") : "",
			    unit->nchildren);
		return 0;
	}
	plen = strlen(d->prefix);
	if (depth > 0)
		strcat(d->prefix, last ? "    " : "│   ");
	for (k = unit->first_child; k >= 0; k = d->t->units[k].next_sibling)
		if (walk(d, k, depth + 1, d->t->units[k].next_sibling < 0) != 0)
			return -1;
	d->prefix[plen] = '\0';
	return 0;
}

/* Widest name + indentation in the shown part, for aligned columns. */
static size_t
width(const ts_topo *t, int u, int depth, int maxdepth)
{
	size_t w = utf8_width(t->units[u].name) + 4 * (size_t)depth, x;
	int k;

	if (depth >= maxdepth || depth >= TREE_DEPTH_MAX)
		return w;
	for (k = t->units[u].first_child; k >= 0; k = t->units[k].next_sibling)
		if ((x = width(t, k, depth + 1, maxdepth)) > w)
			w = x;
	return w;
}

static uint64_t
count(const ts_topo *t, int u, int depth, int maxdepth)
{
	uint64_t n = 1;
	int k;

	if (depth >= maxdepth || depth >= TREE_DEPTH_MAX)
		return 1;
	for (k = t->units[u].first_child; k >= 0; k = t->units[k].next_sibling)
		n += count(t, k, depth + 1, maxdepth);
	return n;
}

void
tree_draw_init(struct tree_draw *d, const ts_topo *t, uint64_t maxdepth,
    int json, int (*line)(struct tree_draw *, int, int, int), void *arg)
{
	memset(d, 0, sizeof(*d));
	d->t = t;
	d->maxdepth = maxdepth > TREE_DEPTH_MAX ? TREE_DEPTH_MAX : (int)maxdepth;
	d->json = json;
	d->line = line;
	d->arg = arg;
}

uint64_t
tree_draw_count(const struct tree_draw *d, int root)
{
	return count(d->t, root, 0, d->maxdepth);
}

int
tree_draw_run(struct tree_draw *d, int root)
{
	d->prefix[0] = '\0';
	d->wname = width(d->t, root, 0, d->maxdepth);
	return walk(d, root, 0, 1);
}

void
tree_draw_json_unit(const struct tree_draw *d, struct json *j, int u, int depth)
{
	const ts_unit *unit = &d->t->units[u];

	json_kstr(j, "code", unit->code);
	json_kstr(j, "name", unit->name);
	json_kstr(j, "level", ts_level_name(unit->level));
	json_kstr(j, "parent", unit->parent >= 0 ?
	    d->t->units[unit->parent].code : "");
	json_ku64(j, "depth", (uint64_t)depth);
}
