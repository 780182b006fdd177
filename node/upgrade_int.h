/* Private to the top of node/: the store upgrade node/upgrade.c defines, for node.c. */
#ifndef DK_UPGRADE_INT_H
#define DK_UPGRADE_INT_H

#include "node/node.h"

/* upgrade.c: moves a format-1 store to the current format. */
int dk__store_upgrade(dk_node *n);

#endif
