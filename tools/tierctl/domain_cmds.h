/*
 * tierctl's child-protection commands (docs/TIERCTL.md, docs/REGISTER.md):
 * register, compute (cmd_register.c, cmd_compute.c), completeness
 * (cmd_completeness.c) and the catalogue/plan part of report
 * (cmd_report.c), with the helpers they share (cmd_compute.c).
 */
#ifndef TIERCTL_DOMAIN_CMDS_H
#define TIERCTL_DOMAIN_CMDS_H

#include "tiersync/domain.h"
#include "tiersync/register.h"
#include "util.h"

int cmd_register(struct ctl *, int, char **);
int cmd_compute(struct ctl *, int, char **);
int cmd_completeness(struct ctl *, int, char **);

/* The catalogue named by node.conf's `catalogue` (NULL in *cat when
 * none is configured; an error is printed if it does not load). */
int  dom_load_catalogue(struct ctl *c, ts_catalogue **cat);
/* Plans from DIR (or, when dir is NULL, plans/ beside the catalogue). */
int  dom_load_plans(struct ctl *c, const ts_catalogue *cat, const char *dir,
         ts_plans *ps);
/*
 * What may be entered (put, import, compute; docs/TIERCTL.md "What the
 * catalogue accepts"): an indicator of the node's catalogue, and a
 * disaggregation key it defines for that indicator (ts_catalogue_dis_ok)
 * or that a plan beside the catalogue sets a target for.  Without a
 * catalogue in node.conf everything passes and open warns once.
 */
struct dom_entry {
	ts_catalogue *cat;           /* NULL: node.conf names none        */
	ts_plans      ps;
};
/* 0, or -1 when the catalogue does not load (printed). */
int  dom_entry_open(struct ctl *c, struct dom_entry *e);
/* NULL if (ind, dis) may be entered, else why not, in buf, naming
 * the bad indicator or key and the valid ones. */
const char *dom_entry_why(const struct dom_entry *e, const char *ind,
         const char *dis, char *buf, size_t len);
void dom_entry_close(struct dom_entry *e);
/* <datadir>/register, created when !rdonly. */
int  dom_register_open(struct ctl *c, int rdonly, ts_register **r);
/* Compute each period from the register and send it to the daemon as
 * CTL_REPLACE of the register indicators; remember the period.  JSON
 * entries go to j when not NULL.  0 if every period was stored. */
int  dom_compute_send(struct ctl *c, ts_register *r, char (*periods)[TS_PERIOD_MAX + 1],
         size_t n, struct json *j);

#endif
