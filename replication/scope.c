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

static int proper_ancestor(const char *a, const char *b) {
  return dk_office_covers(a, b) && strcmp(a, b) != 0;
}

/* One direction, before the one-way rule. */
static int raw_sends(const char *from_office, const uint8_t *from_pk, const char *to_office,
                     const uint8_t *to_pk, const uint8_t *log, const char *log_office) {
  (void)from_pk;
  if (dk_scope_sends(from_office, to_office, log_office))
    return 1;
  return proper_ancestor(from_office, to_office) && strcmp(log_office, to_office) == 0 &&
         memcmp(log, to_pk, DK_PK_BYTES) != 0;
}

int dk_scope_sends_log(const char *my_office, const uint8_t my_pk[DK_PK_BYTES],
                       const char *peer_office, const uint8_t peer_pk[DK_PK_BYTES],
                       const uint8_t log[DK_PK_BYTES], const char *log_office) {
  int send = raw_sends(my_office, my_pk, peer_office, peer_pk, log, log_office);
  int recv = raw_sends(peer_office, peer_pk, my_office, my_pk, log, log_office);
  if (!send || !recv)
    return send;
  if (proper_ancestor(my_office, peer_office)) /* the peer is the lower node */
    return memcmp(log, peer_pk, DK_PK_BYTES) != 0;
  if (proper_ancestor(peer_office, my_office)) /* I am */
    return memcmp(log, my_pk, DK_PK_BYTES) == 0;
  return strcmp(log_office, my_office) == 0;
}
