#include <string.h>

#include "replication/sync_store.h"

int dk_office_covers(const char *a, const char *b) {
  size_t n = strlen(a);
  if (strncmp(a, b, n) != 0)
    return 0;
  return b[n] == 0 || b[n] == '/';
}

int dk_scope_sends(const char *my_office, const char *peer_office, const char *log_office) {
  int peer_above = dk_office_covers(peer_office, my_office) && strcmp(peer_office, my_office) != 0;
  int peer_below = dk_office_covers(my_office, peer_office) && strcmp(peer_office, my_office) != 0;
  if (peer_above)
    return dk_office_covers(my_office, log_office);
  if (peer_below)
    return dk_office_covers(log_office, peer_office) && strcmp(log_office, peer_office) != 0;
  return 0;
}
