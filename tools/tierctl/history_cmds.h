/*
 * tierctl commands on the unit tree's history (include/tiersync/history.h):
 * topology check|show|diff (cmd_topology.c, docs/TIERCTL.md).
 */
#ifndef TIERCTL_HISTORY_CMDS_H
#define TIERCTL_HISTORY_CMDS_H

#include "util.h"

int cmd_topology(struct ctl *, int, char **);

#endif
