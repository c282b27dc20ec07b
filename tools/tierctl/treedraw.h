/*
 * Drawing a subtree of a unit tree as indented text, shared by
 * `tierctl tree` (replication state per unit) and `tierctl topology
 * show` (the tree of a version):
 *
 *   109      Huyện Phong Thổ
 *   ├── 03391    Xã Lả Nhì Thàng        <what the command adds>
 *   └── 03592    Xã Sin Suối Hồ
 *
 * The walker visits units in pre-order and calls the command's line
 * function for each; tree_draw_head prints the branch, code and name
 * padded so that what follows lines up.  Recursion is bounded by
 * TREE_DEPTH_MAX (deeper units are summarised, like --depth).
 */
#ifndef TIERCTL_TREEDRAW_H
#define TIERCTL_TREEDRAW_H

#include <stddef.h>
#include <stdint.h>

#include "tiersync/topology.h"

#define TREE_DEPTH_MAX 256

struct tree_draw {
	const ts_topo *t;
	int      maxdepth;        /* children below this depth not shown   */
	int      json;            /* no "... not shown" lines              */
	/* One unit: return 0, or -1 to stop the walk (error printed). */
	int    (*line)(struct tree_draw *d, int u, int depth, int last);
	void    *arg;             /* the command's own state               */
	/* private */
	size_t   wname;
	char     prefix[TREE_DEPTH_MAX * 4 + 8];
};

/* Set d up for tree t, showing maxdepth levels below the root (capped
 * at TREE_DEPTH_MAX), JSON or text, calling line(d, ...) with d->arg =
 * arg for each unit. */
void     tree_draw_init(struct tree_draw *d, const ts_topo *t, uint64_t maxdepth,
             int json, int (*line)(struct tree_draw *, int, int, int), void *arg);
/* Number of units the walk from root will show (for progress). */
uint64_t tree_draw_count(const struct tree_draw *d, int root);
/* Walk the subtree of root: 0, or -1 if a line function failed. */
int      tree_draw_run(struct tree_draw *d, int root);
/* Print the start of unit u's line: branch, code, padded name. */
void     tree_draw_head(const struct tree_draw *d, int u, int depth, int last);

/* The JSON members every drawn unit has: "code", "name", "level",
 * "parent" ("" for the root) and "depth", inside an object the caller
 * opened (struct json: tools/tierctl/util.h). */
struct json;
void     tree_draw_json_unit(const struct tree_draw *d, struct json *j, int u,
             int depth);

#endif
