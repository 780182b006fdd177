/*
 * The libuv transport. Each connection goes through three phases:
 *   HANDSHAKE  fixed-size messages of replication/handshake.h, in the clear
 *              (they are authenticated and reveal nothing without the
 *              network key);
 *   SYNC       encrypted frames (frame.h) carrying sync messages (sync.h);
 *   CLOSING    waiting for libuv's close callback, which alone frees it.
 * A 200 ms timer notices commits by other processes (the store's change
 * mark), ticks the sessions (keepalive, silence bound) and times out stalled
 * handshakes.
 *
 * What a peer can make this process hold is bounded (common/limits.h): all
 * connections (DK_NET_CONNECTIONS_MAX), those still in the handshake
 * (DK_NET_HANDSHAKES_MAX, DK_NET_HANDSHAKE_TIMEOUT_MS), sessions per key
 * (DK_NET_SESSIONS_PER_KEY_MAX), and a session's silence
 * (DK_SYNC_SILENCE_MS_MAX). A peer refused after it proved its key gets a
 * REFUSED message with the reason; a stranger gets nothing.
 *
 * Repeated conditions (refusals, an unreachable parent) are logged through
 * common/ratelog.h: the first occurrences, then a periodic count.
 */
#include "replication/transport.h"

#include <arpa/inet.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "common/error.h"
#include "common/fault.h"
#include "common/ratelog.h"
#include "common/utf8.h"
#include "replication/frame.h"
#include "replication/handshake.h"
#include "node/ingest/index.h"
#include "replication/node_store.h"

#define TIMER_MS 200
#define REDIAL_MS_MIN 500
#define REDIAL_MS_MAX 30000
#define READ_BUF_BYTES (64 * 1024)
#define DIALS_MAX 16

/* PH_REFUSING: the handshake is done but the peer is refused; the REFUSED
 * frame is being written, then the connection is shut down and closed. */
enum phase { PH_HANDSHAKE = 1, PH_SYNC, PH_REFUSING, PH_CLOSING };

struct net;
struct dial;

struct conn {
  struct net *net;
  uv_tcp_t tcp;
  uv_connect_t connect_req;
  uv_shutdown_t shutdown_req;
  int outbound;
  enum phase phase;
  struct dk_peer peer; /* pinned record; known after authorize (inbound) */
  int peer_known;
  struct dk_hs hs;
  uint8_t hsbuf[DK_HS_MESSAGE_BYTES_MAX];
  size_t hsgot;
  struct dk_frame_encoder enc;
  struct dk_frame_decoder dec;
  struct dk_sync *sync;
  uint64_t stored_seen;  /* entries_stored already announced to others */
  uint64_t stored_logged; /* entries_stored already written to the log */
  uint64_t received_logged;
  int caught_up;          /* both directions caught up, as last seen */
  int caught_up_logged;
  int authorized;         /* inbound: authorize() let its key in */
  uint64_t refusal;       /* inbound: refuse after the handshake, with this code */
  uint64_t started_ms;
  int error;             /* why it closed */
  struct dial *dial;     /* outbound in serve mode: the redial state */
  size_t key_try;        /* outbound: which usable network key it dials with */
  size_t keys_usable;    /* outbound: how many there were */
  int rotated;           /* a network key rotation is held (log which key a link uses) */
  int replaced;          /* once mode: a new dial took over (fall_back); not the result */
  struct conn *next;
  uint8_t readbuf[READ_BUF_BYTES];
};

struct dial {
  struct net *net;
  struct dk_peer peer;
  uv_timer_t timer;
  int attempts;
  struct conn *conn;
  struct dk_ratelog unreachable; /* "cannot reach" once, then a count */
  size_t key_try;   /* the network key the next dial uses (0: the newest) */
  int new_key_ok;   /* a link with the newest key worked: never fall back */
};

struct net {
  uv_loop_t loop;
  dk_node *n;
  const struct dk_net_options *opt;
  struct dk_sync_store store;
  struct dk_netkeys *keys; /* sodium_malloc; reloaded for every connection */
  size_t once_key_try;      /* once mode: the network key the dial uses */
  uint64_t redial_ms_max;   /* serve mode: the backoff's cap (sync_interval) */
  uv_tcp_t listener;
  int listening;
  uv_timer_t timer;
  uv_signal_t sigint, sigterm;
  struct conn *conns;
  struct dial dials[DIALS_MAX];
  size_t ndials;
  int stopping;
  int once_result; /* once mode: 1 when set */
  int result;
  struct dk_sync_status last;
  uint64_t wire_bytes_sent, wire_bytes_received; /* all connections */
  size_t conns_count;
  struct dk_ratelog refused_log; /* peers refused, strangers' handshakes failed */
  struct dk_ratelog limit_log;   /* connections over the limits */
  /* The node's indexer, run between bursts (index_kick). */
  uv_idle_t index_idle;
  int index_active;        /* index_idle started */
  int index_holding;       /* held back by a burst since index_held_ms */
  uint64_t index_held_ms;  /* loop time */
  uint64_t index_run_lag;  /* entries behind when the current run began; 0: none */
  uint64_t index_run_t0;   /* uv_hrtime() then */
  int index_failed;        /* a step failed: not tried again in this run */
};

struct wreq {
  uv_write_t req;
  struct conn *c;
  int close_after;
  size_t len;
  uint8_t data[];
};

static uint64_t now_ms(struct net *net) { return dk_node_now(net->n); }

/* "09:00", or "2026-12-01 09:00" when not today: when a repeated run began. */
static void since_text(struct net *net, uint64_t ms, char *out, size_t cap) {
  time_t t = (time_t)(ms / 1000), now = (time_t)(now_ms(net) / 1000);
  struct tm tm, tn;
  localtime_r(&t, &tm);
  localtime_r(&now, &tn);
  if (tm.tm_year == tn.tm_year && tm.tm_yday == tn.tm_yday)
    strftime(out, cap, "%H:%M", &tm);
  else
    strftime(out, cap, "%Y-%m-%d %H:%M", &tm);
}

/* Refused connections and strangers' failed handshakes: the first few in
 * full, then a count per interval (an attacker once wrote 19 600 lines in
 * 2.5 minutes). Formats only what is written. */
__attribute__((format(printf, 3, 4))) static void log_repeated(struct net *net,
                                                               struct dk_ratelog *r,
                                                               const char *fmt, ...) {
  enum dk_ratelog_verdict v = dk_ratelog_hit(r, now_ms(net));
  if (v == DK_RATELOG_QUIET)
    return;
  char msg[512], since[32];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (v == DK_RATELOG_FULL) {
    dk_node_logf(net->n, DK_LOG_WARN, "%s", msg);
    return;
  }
  since_text(net, dk_ratelog_since_ms(r), since, sizeof(since));
  dk_node_logf(net->n, DK_LOG_WARN, "%s (%llu connections refused since %s; only a count is "
               "logged now)", msg, (unsigned long long)dk_ratelog_count(r), since);
}

#define log_refused(net, ...) log_repeated((net), &(net)->refused_log, __VA_ARGS__)

/* Records the last failure of the link with a pinned peer in its record
 * (struct dk_peer.last_error), when it says something new. */
__attribute__((format(printf, 2, 3))) static void peer_error(struct conn *c, const char *fmt,
                                                             ...) {
  if (!c->peer_known || c->peer.name[0] == 0)
    return;
  struct dk_peer p;
  if (dk_node_peer_get(c->net->n, c->peer.name, &p) != 0 ||
      memcmp(p.key, c->peer.key, DK_PK_BYTES) != 0)
    return; /* a certified peer this node has not pinned */
  char raw[DK_PEER_ERROR_BYTES * 2], msg[DK_PEER_ERROR_BYTES];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(raw, sizeof(raw), fmt, ap);
  va_end(ap);
  /* A peer's refusal text is the peer's: stored as one line of UTF-8, cut
   * on a character boundary, as every text in the store must be. */
  dk_text_sanitize(msg, sizeof(msg), raw, strlen(raw), 0, DK_SANITIZE_TERMINAL, NULL);
  if (strcmp(msg, p.last_error) == 0)
    return; /* one write per new condition, not per attempt */
  memcpy(p.last_error, msg, sizeof(p.last_error));
  p.last_error_ms = now_ms(c->net);
  dk_node_peer_update(c->net->n, &p);
}

/* Reloads the network keys: a rotation may have arrived since the last
 * connection. */
static int keys_load(struct net *net) { return dk_node_network_keys(net->n, net->keys); }

static void date_text(uint64_t ms, char *out, size_t cap) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, cap, "%Y-%m-%d %H:%M UTC", &tm);
}

/* A dial that failed before its session began: "cannot reach" once, then a
 * summary per interval (an unreachable parent once wrote 2 900 lines a
 * day), and the reason in the peer record. Once mode logs as before. */
static void dial_failed(struct conn *c, const char *why) {
  struct net *net = c->net;
  struct dial *d = c->dial;
  peer_error(c, "cannot reach %s at %s: %s", c->peer.office, c->peer.addr, why);
  if (d == NULL) {
    dk_node_logf(net->n, DK_LOG_INFO, "cannot reach %s at %s: %s", c->peer.name, c->peer.addr,
                 why);
    return;
  }
  enum dk_ratelog_verdict v = dk_ratelog_hit(&d->unreachable, now_ms(net));
  if (v == DK_RATELOG_FULL) {
    dk_node_logf(net->n, DK_LOG_WARN, "cannot reach %s at %s: %s (retrying; repeats are "
                 "summarised)", c->peer.name, c->peer.addr, why);
  } else if (v == DK_RATELOG_SUMMARY) {
    char since[32];
    since_text(net, dk_ratelog_since_ms(&d->unreachable), since, sizeof(since));
    dk_node_logf(net->n, DK_LOG_WARN, "still cannot reach %s: %llu attempts since %s (last: %s)",
                 c->peer.name, (unsigned long long)dk_ratelog_count(&d->unreachable), since,
                 why);
  }
}

static void net_stop(struct net *net);
static void conn_close(struct conn *c, int error);
static void dial_start(struct dial *d);
static void on_redial(uv_timer_t *t) { dial_start(t->data); }
static void index_kick(struct net *net);

/* ---- writing ------------------------------------------------------------- */

static void on_write(uv_write_t *req, int status) {
  struct wreq *w = (struct wreq *)req;
  struct conn *c = w->c;
  int close_after = w->close_after;
  free(w);
  if (status < 0 && c->phase != PH_CLOSING) {
    dk_node_logf(c->net->n, DK_LOG_INFO, "write to %s failed: %s",
                 c->peer_known ? c->peer.name : "peer", uv_strerror(status));
    conn_close(c, DK_ECONN);
    return;
  }
  if (close_after && c->phase != PH_CLOSING)
    conn_close(c, 0);
}

static int conn_write(struct conn *c, const uint8_t *p, size_t len, int close_after) {
  if (c->phase == PH_CLOSING)
    return DK_ECONN;
  struct wreq *w = malloc(sizeof(*w) + len);
  if (w == NULL)
    return DK_ENOMEM;
  w->c = c;
  w->close_after = close_after;
  w->len = len;
  memcpy(w->data, p, len);
  uv_buf_t buf = uv_buf_init((char *)w->data, (unsigned)len);
  int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, on_write);
  if (rc != 0) {
    free(w);
    return DK_ECONN;
  }
  c->net->wire_bytes_sent += len;
  return 0;
}

/* The sync session's send callback: one message, one encrypted frame. */
static int sync_send(void *ctx, const uint8_t *msg, size_t len) {
  struct conn *c = ctx;
  struct dk_buf out;
  dk_buf_init(&out);
  int rc = dk_frame_encode(&c->enc, msg, len, &out);
  if (rc == 0)
    rc = conn_write(c, out.data, out.len, 0);
  dk_buf_release(&out);
  return rc;
}

/* ---- closing ------------------------------------------------------------- */

static void conn_unlink(struct conn *c) {
  struct conn **pp = &c->net->conns;
  while (*pp && *pp != c)
    pp = &(*pp)->next;
  if (*pp)
    *pp = c->next;
}

static void on_conn_closed(uv_handle_t *h) {
  struct conn *c = h->data;
  struct net *net = c->net;
  conn_unlink(c);
  net->conns_count--;
  dk_hs_release(&c->hs);
  dk_frame_encoder_release(&c->enc);
  dk_frame_decoder_release(&c->dec);
  dk_sync_free(c->sync);
  struct dial *d = c->dial;
  if (d)
    d->conn = NULL;
  free(c);
  if (d && !net->stopping) {
    /* Capped exponential backoff with jitter, so that many offices coming
     * back online at once do not redial in step. */
    uint64_t cap = net->redial_ms_max;
    uint64_t base = (uint64_t)REDIAL_MS_MIN << (d->attempts < 20 ? d->attempts : 20);
    if (base > cap)
      base = cap;
    uint64_t delay = base / 2 + randombytes_uniform((uint32_t)base);
    d->attempts++;
    uv_timer_start(&d->timer, on_redial, delay, 0);
  }
}

static void conn_close(struct conn *c, int error) {
  if (c->phase == PH_CLOSING)
    return;
  struct net *net = c->net;
  int was_sync = c->phase == PH_SYNC;
  if (c->sync) {
    struct dk_sync_status st;
    dk_sync_status(c->sync, &st);
    if (st.stats.entries_stored > c->stored_logged)
      dk_node_logf(net->n, DK_LOG_INFO, "stored %llu new entries from %s before the link closed",
                   (unsigned long long)(st.stats.entries_stored - c->stored_logged), c->peer.name);
    c->stored_logged = st.stats.entries_stored;
  }
  c->phase = PH_CLOSING;
  c->error = error;
  if (was_sync && net->opt->on_link)
    net->opt->on_link(net->opt->ctx, &c->peer, 0, error);
  if (net->opt->peer && !c->replaced && !net->once_result) {
    net->once_result = 1;
    net->result = error ? error : DK_ECONN;
    if (c->sync)
      dk_sync_status(c->sync, &net->last);
  }
  uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
  if (net->opt->peer && !c->replaced)
    net_stop(net);
}

/* ---- sync phase ---------------------------------------------------------- */

static void announce_to_others(struct conn *from) {
  for (struct conn *c = from->net->conns; c; c = c->next) {
    if (c == from || c->phase != PH_SYNC)
      continue;
    int rc = dk_sync_local_change(c->sync);
    if (rc != 0)
      conn_close(c, rc);
  }
}

static int peer_in_scope(void *ctx, const char *log_office) {
  struct conn *c = ctx;
  return dk_scope_sends(dk_node_config(c->net->n)->office, c->peer.office, log_office);
}

static void record_peer_sync(struct conn *c, const struct dk_sync_status *st) {
  if (!c->peer_known)
    return;
  if (st->send_caught_up)
    dk_node_peer_cursors_save(c->net->n, c->peer.key, peer_in_scope, c);
  struct dk_peer p;
  if (dk_node_peer_get(c->net->n, c->peer.name, &p) != 0)
    return;
  if (st->send_caught_up && st->recv_caught_up) {
    p.last_sync_ms = now_ms(c->net);
    p.last_error[0] = 0;
    p.last_error_ms = 0;
  }
  p.they_lack = st->stats.peer_lacks_entries;
  p.we_lack = st->stats.local_lacks_entries;
  dk_node_peer_update(c->net->n, &p);
}

/* After every call into the session: errors, progress, forwarding, the end. */
static void after_sync_call(struct conn *c, int rc) {
  struct net *net = c->net;
  index_kick(net);
  struct dk_sync_status st;
  dk_sync_status(c->sync, &st);
  if (rc != 0 || st.error != 0) {
    int err = rc ? rc : st.error;
    if (st.refusal_code) {
      /* A dialler is refused again at every redial: once, then a count. */
      enum dk_ratelog_verdict v =
          c->dial ? dk_ratelog_hit(&c->dial->unreachable, now_ms(net)) : DK_RATELOG_FULL;
      if (v == DK_RATELOG_FULL) {
        dk_node_logf(net->n, DK_LOG_ERROR, "%s (%s) refused this node: %s", c->peer.name,
                     c->peer.office, st.refusal_text);
      } else if (v == DK_RATELOG_SUMMARY) {
        char since[32];
        since_text(net, dk_ratelog_since_ms(&c->dial->unreachable), since, sizeof(since));
        dk_node_logf(net->n, DK_LOG_ERROR, "still refused by %s: %llu attempts since %s (%s)",
                     c->peer.name, (unsigned long long)dk_ratelog_count(&c->dial->unreachable),
                     since, st.refusal_text);
      }
      peer_error(c, "%s refused this node: %s", c->peer.office, st.refusal_text);
    } else if (err == DK_ETIMEDOUT && st.silent_ms >= DK_SYNC_SILENCE_MS_MAX) {
      dk_node_logf(net->n, DK_LOG_WARN, "no word from %s for %llu s: closing the link%s",
                   c->peer.name, (unsigned long long)(st.silent_ms / 1000),
                   c->dial ? " and redialling" : "");
      peer_error(c, "the link to %s fell silent and was closed", c->peer.office);
    } else {
      dk_node_logf(net->n, DK_LOG_WARN, "sync with %s failed: %s", c->peer.name,
                   dk_strerror(err));
      peer_error(c, "sync with %s failed: %s", c->peer.office, dk_strerror(err));
    }
    record_peer_sync(c, &st);
    conn_close(c, err);
    return;
  }
  if (st.stats.entries_stored > c->stored_seen) {
    c->stored_seen = st.stats.entries_stored;
    announce_to_others(c); /* store and forward */
    /* Ingest may have written here too (grants to a newly known office
     * above, witness entries): offer them to this peer in this session. */
    int lrc = dk_sync_local_change(c->sync);
    if (lrc != 0) {
      conn_close(c, lrc);
      return;
    }
    dk_sync_status(c->sync, &st);
  }
  /* One line per catch-up round with its totals, not one per batch (a
   * sync once wrote 265 "stored N new entries" lines). */
  int caught_up = st.send_caught_up && st.recv_caught_up;
  if (caught_up && !c->caught_up) {
    uint64_t stored = st.stats.entries_stored - c->stored_logged;
    uint64_t received = st.stats.entries_received - c->received_logged;
    if (!c->caught_up_logged)
      dk_node_logf(net->n, DK_LOG_INFO, "caught up with %s (%s): stored %llu new entries of %llu "
                   "received, sent %llu", c->peer.name,
                   st.idle ? "nothing to exchange" : "exchanged", (unsigned long long)stored,
                   (unsigned long long)received, (unsigned long long)st.stats.entries_sent);
    else if (received > 0)
      dk_node_logf(net->n, DK_LOG_INFO, "stored %llu new entries from %s (%llu received)",
                   (unsigned long long)stored, c->peer.name, (unsigned long long)received);
    if (!c->caught_up_logged && c->dial) {
      /* The link works: the backoff starts again from its shortest, and a
       * run of failures ends with one line. Not earlier: a peer that
       * refuses us after the handshake must not be redialled at once. */
      c->dial->attempts = 0;
      struct dk_ratelog *u = &c->dial->unreachable;
      if (dk_ratelog_count(u) > 1) {
        char since[32];
        since_text(net, dk_ratelog_since_ms(u), since, sizeof(since));
        dk_node_logf(net->n, DK_LOG_INFO, "reached %s again after %llu failed attempts since %s",
                     c->peer.name, (unsigned long long)dk_ratelog_count(u), since);
      }
      dk_ratelog_clear(u);
    }
    c->caught_up_logged = 1;
    c->stored_logged = st.stats.entries_stored;
    c->received_logged = st.stats.entries_received;
    record_peer_sync(c, &st);
  }
  c->caught_up = caught_up;
  if (net->opt->peer) {
    net->last = st;
    if (net->opt->progress)
      net->opt->progress(net->opt->ctx, &st);
    if (st.done && !net->once_result) {
      net->once_result = 1;
      net->result = 0;
      record_peer_sync(c, &st);
      struct dk_buf out;
      dk_buf_init(&out);
      if (dk_frame_encode_end(&c->enc, &out) != 0 || conn_write(c, out.data, out.len, 1) != 0)
        conn_close(c, 0);
      dk_buf_release(&out);
    }
  }
}

static int on_frame(void *ctx, const uint8_t *msg, size_t len) {
  struct conn *c = ctx;
  int rc = dk_sync_receive(c->sync, msg, len);
  after_sync_call(c, rc);
  return c->phase == PH_CLOSING ? DK_ECANCELED : 0;
}

/* With a root configured (docs/TRUST.md), a peer is served only with a
 * certificate valid now and not revoked; the certificate's office and role
 * decide scope, and a pinned record must name the same office. Without a
 * root, only pinned peers, as pinned. One exception, for the client only:
 * an office above this one that is pinned and about which this node holds
 * no certificate nor revocation yet is trusted as pinned, because its
 * certificate reaches this node through it (a fresh office's first sync).
 * On success c->peer holds the peer as certified. On refusal *code gets the
 * reason (enum dk_sync_refusal) and why a sentence for this side's log;
 * nothing is logged here. */
static int cert_check(struct conn *c, const uint8_t pk[DK_PK_BYTES], int pinned, uint64_t *code,
                      char *why, size_t why_cap) {
  dk_node *n = c->net->n;
  uint8_t root[DK_PK_BYTES];
  *code = 0;
  why[0] = 0;
  if (dk_node_root_pk(n, root) != 0) {
    if (pinned)
      return 0;
    *code = DK_SYNC_REFUSED_UNKNOWN;
    snprintf(why, why_cap, "a node this office does not know");
    return DK_EREFUSED;
  }
  char hex[17];
  dk_hex(pk, 8, hex);
  char office[DK_NAME_BYTES_MAX];
  enum dk_office_role role;
  int rc = dk_node_cert_valid(n, pk, now_ms(c->net), office, &role);
  if (rc == DK_ECERT && c->outbound && pinned && !dk_node_trust_knows(n, pk)) {
    dk_node_logf(n, DK_LOG_INFO, "no certificate of %s (key %s...) is known here yet: trusting "
                 "the pinned record to fetch the district's statements", c->peer.name, hex);
    return 0;
  }
  if (rc != 0) {
    *code = DK_SYNC_REFUSED_NO_CERT;
    snprintf(why, why_cap, "%s", dk_strerror(DK_ECERT));
    return DK_ECERT;
  }
  if (pinned && strcmp(c->peer.office, office) != 0) {
    *code = DK_SYNC_REFUSED_OFFICE;
    snprintf(why, why_cap, "pinned as %.100s but certified for %.100s", c->peer.office, office);
    return DK_ECERT;
  }
  if (!pinned) {
    memset(&c->peer, 0, sizeof(c->peer));
    snprintf(c->peer.name, sizeof(c->peer.name), "cert-%s", hex);
    memcpy(c->peer.key, pk, DK_PK_BYTES);
  }
  memcpy(c->peer.office, office, sizeof(office));
  c->peer.role = role;
  return 0;
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  (void)status;
  struct conn *c = req->data;
  (void)c; /* the peer's EOF, or the handshake timeout, closes it */
}

/* Tells the peer, which proved its key, why it is refused (a REFUSED frame,
 * then the clean end), then shuts the connection down and waits for the
 * peer to close, so that the reason is not lost to a reset. */
static void send_refusal(struct conn *c, uint64_t code, int error) {
  struct dk_buf out, msg;
  dk_buf_init(&out);
  dk_buf_init(&msg);
  int rc = dk_frame_encoder_init(&c->enc, dk_hs_send_key(&c->hs), &out);
  if (rc == 0)
    rc = dk_sync_encode_refusal(code, dk_sync_refusal_text(code), &msg);
  if (rc == 0)
    rc = dk_frame_encode(&c->enc, msg.data, msg.len, &out);
  if (rc == 0)
    rc = dk_frame_encode_end(&c->enc, &out);
  if (rc == 0)
    rc = conn_write(c, out.data, out.len, 0);
  dk_buf_release(&out);
  dk_buf_release(&msg);
  c->error = error;
  c->started_ms = now_ms(c->net); /* the handshake timeout bounds the wait */
  c->phase = PH_REFUSING;
  c->shutdown_req.data = c;
  if (rc != 0 || uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown) != 0)
    conn_close(c, error);
}

static void become_sync(struct conn *c) {
  struct net *net = c->net;
  const uint8_t *peer_pk = dk_hs_peer_pk(&c->hs);
  if (c->refusal) {
    send_refusal(c, c->refusal, DK_EREFUSED);
    return;
  }
  if (!c->peer_known && dk_node_peer_by_key(net->n, peer_pk, &c->peer) == 0)
    c->peer_known = 1;
  if (!c->peer_known) {
    conn_close(c, DK_EREFUSED);
    return;
  }
  if (c->outbound) {
    uint64_t code;
    char why[DK_PEER_ERROR_BYTES];
    int crc = cert_check(c, peer_pk, 1, &code, why, sizeof(why));
    if (crc != 0) {
      dk_node_logf(net->n, DK_LOG_ERROR, "refused %s: %s", c->peer.name, why);
      peer_error(c, "this node refused %s: %s", c->peer.office, why);
      if (net->opt->peer && !net->once_result) {
        net->once_result = 1;
        net->result = crc;
      }
      send_refusal(c, code, crc); /* the other side learns why too */
      return;
    }
  }
  struct dk_buf out;
  dk_buf_init(&out);
  int rc = dk_frame_encoder_init(&c->enc, dk_hs_send_key(&c->hs), &out);
  if (rc == 0)
    rc = dk_frame_decoder_init(&c->dec, dk_hs_recv_key(&c->hs));
  if (rc == 0)
    rc = conn_write(c, out.data, out.len, 0);
  dk_buf_release(&out);
  if (rc != 0) {
    conn_close(c, rc);
    return;
  }
  struct dk_sync_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  memcpy(cfg.my_pk, dk_node_pk(net->n), DK_PK_BYTES);
  cfg.my_office = dk_node_config(net->n)->office;
  memcpy(cfg.peer_pk, c->peer.key, DK_PK_BYTES);
  cfg.peer_office = c->peer.office;
  cfg.mode = net->opt->peer ? DK_SYNC_ONCE : DK_SYNC_LIVE;
  cfg.timeout_ms = net->opt->peer ? net->opt->timeout_ms : 0;
  cfg.keepalive_ms = DK_SYNC_KEEPALIVE_MS;
  cfg.silence_ms = DK_SYNC_SILENCE_MS_MAX;
  /* Auditors: the subtree the root granted the peer, and on an auditor
   * node whatever the server chooses to send within the deployment (it
   * sends only what it finds granted; what this node cannot read stays
   * sealed). */
  char peer_reads[DK_NAME_BYTES_MAX] = "", my_reads[DK_NAME_BYTES_MAX] = "";
  if (c->peer.role == DK_OFFICE_AUDITOR &&
      dk_node_auditor_subtree(net->n, c->peer.key, now_ms(net), peer_reads) != 0)
    peer_reads[0] = 0;
  if (dk_node_config(net->n)->role == DK_OFFICE_AUDITOR) {
    const char *mine = dk_node_config(net->n)->office;
    size_t top = strcspn(mine, "/");
    memcpy(my_reads, mine, top);
    my_reads[top] = 0;
  }
  cfg.peer_reads = peer_reads;
  cfg.my_reads = my_reads;
  rc = dk_sync_new(&c->sync, &cfg, &net->store, sync_send, c);
  if (rc != 0) {
    conn_close(c, rc);
    return;
  }
  c->phase = PH_SYNC;
  dk_node_logf(net->n, DK_LOG_INFO, "connected to %s (%s, %s)", c->peer.name, c->peer.office,
               c->outbound ? "dialled" : "accepted");
  if (c->rotated) {
    int old = c->outbound ? c->key_try > 0 : dk_hs_key_index(&c->hs) > 0;
    dk_node_logf(net->n, DK_LOG_INFO, "the link with %s uses the %s network key", c->peer.name,
                 old ? "old" : "new");
    if (c->dial) {
      c->dial->new_key_ok |= !old;
      c->dial->key_try = 0; /* next time the new key first again */
    }
  }
  if (net->opt->on_link)
    net->opt->on_link(net->opt->ctx, &c->peer, 1, 0);
  rc = dk_sync_start(c->sync, now_ms(net));
  after_sync_call(c, rc);
}

/* ---- handshake phase ---------------------------------------------------- */

/* Sessions open with key pk (inbound, authorised), and all of them. */
static size_t sessions_count(struct net *net, const uint8_t pk[DK_PK_BYTES], size_t *all) {
  size_t n = 0;
  *all = 0;
  for (struct conn *o = net->conns; o; o = o->next) {
    if (o->outbound || !o->authorized || o->phase == PH_CLOSING || o->phase == PH_REFUSING)
      continue;
    (*all)++;
    if (memcmp(o->peer.key, pk, DK_PK_BYTES) == 0)
      n++;
  }
  return n;
}

/* The client proved its key. A peer refused here still completes the
 * handshake, so that it can be told why (become_sync sends REFUSED): it
 * holds the network key and proved who it is, and learns only the reason
 * about itself. */
static int authorize(void *ctx, const uint8_t client_pk[DK_PK_BYTES]) {
  struct conn *c = ctx;
  struct net *net = c->net;
  char hex[17], why[DK_PEER_ERROR_BYTES];
  dk_hex(client_pk, 8, hex);
  int pinned = dk_node_peer_by_key(net->n, client_pk, &c->peer) == 0;
  uint64_t code = 0;
  int rc = cert_check(c, client_pk, pinned, &code, why, sizeof(why));
  const char *who = pinned ? c->peer.name : "a node";
  if (rc == 0) {
    size_t all;
    size_t mine = sessions_count(net, client_pk, &all);
    if (mine >= DK_NET_SESSIONS_PER_KEY_MAX) {
      code = DK_SYNC_REFUSED_SESSIONS;
      snprintf(why, sizeof(why), "%zu sessions already open with this key (the limit)", mine);
    } else if (all >= DK_NET_CONNECTIONS_MAX - DK_NET_HANDSHAKES_MAX) {
      code = DK_SYNC_REFUSED_BUSY;
      snprintf(why, sizeof(why), "%zu sessions open (the limit)", all);
    }
  }
  c->peer_known = pinned || rc == 0;
  if (code != 0) {
    if (!pinned && code == DK_SYNC_REFUSED_UNKNOWN)
      log_refused(net, "refused a node this office does not know (key %s...)", hex);
    else
      log_refused(net, "refused %s (key %s...): %s", who, hex, why);
    if (pinned)
      peer_error(c, "refused by this office: %s", why);
    c->refusal = code;
    return 0;
  }
  c->authorized = 1;
  return 0;
}

/* Feeds handshake bytes; returns how many of data were consumed. */
static size_t handshake_feed(struct conn *c, const uint8_t *data, size_t len) {
  size_t used = 0;
  while (used < len && c->phase == PH_HANDSHAKE) {
    size_t need = dk_hs_expect_bytes(&c->hs);
    if (need == 0 || need > sizeof(c->hsbuf)) {
      conn_close(c, DK_EPROTO);
      break;
    }
    size_t take = need - c->hsgot;
    if (take > len - used)
      take = len - used;
    memcpy(c->hsbuf + c->hsgot, data + used, take);
    c->hsgot += take;
    used += take;
    if (c->hsgot < need)
      break;
    uint8_t out[DK_HS_MESSAGE_BYTES_MAX];
    size_t out_len = 0;
    int rc = dk_hs_next(&c->hs, c->hsbuf, c->hsgot, out, sizeof(out), &out_len);
    c->hsgot = 0;
    if (out_len > 0 && conn_write(c, out, out_len, rc != 0) != 0) {
      conn_close(c, DK_ECONN);
      break;
    }
    if (rc != 0) {
      const char *what = rc == DK_EAUTH ? "wrong network key or not the pinned node"
                                        : dk_strerror(rc);
      if (c->outbound) {
        char why[128];
        snprintf(why, sizeof(why), "handshake failed: %s", what);
        dial_failed(c, why);
      } else if (dk_hs_retired_key_used(&c->hs)) {
        char date[40];
        date_text(c->net->keys->old_until_ms, date, sizeof(date));
        log_refused(c->net, "refused a node that still uses the old network key, which stopped "
                    "working after %s: that office missed the rotation and needs the new key "
                    "(see 'docket network-key' and the operations guide)", date);
      } else {
        log_refused(c->net, "handshake with a peer failed: %s", what);
      }
      if (out_len == 0)
        conn_close(c, rc);
      else
        c->error = rc; /* closes after the write */
      if (c->net->opt->peer && !c->net->once_result) {
        c->net->once_result = 1;
        c->net->result = rc;
      }
      break;
    }
    if (dk_hs_done(&c->hs))
      become_sync(c);
  }
  return used;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  struct conn *c = h->data;
  buf->base = (char *)c->readbuf;
  buf->len = sizeof(c->readbuf);
}

static int dial_peer(struct net *net, const struct dk_peer *peer, struct dial *d);

/* The peer hung up on our client hello, before its own: it does not take
 * the key we dialled with. During a rotation that is a peer that has not
 * received the new key yet: dial again with the old one, while it is in
 * force, unless a link with the new key already worked here (then a peer
 * that refuses it is not one to fall back for: that would let whoever cuts
 * connections choose the key). 1 when a new dial was arranged. */
static int fall_back(struct conn *c) {
  struct net *net = c->net;
  if (dk_hs_expect_bytes(&c->hs) != DK_HS_HELLO_BYTES || c->key_try + 1 >= c->keys_usable ||
      (c->dial && c->dial->new_key_ok))
    return 0;
  dk_node_logf(net->n, DK_LOG_INFO, "%s does not take the new network key yet; dialling "
               "again with the old one", c->peer.name);
  if (c->dial) {
    c->dial->key_try = c->key_try + 1; /* the redial after the close uses it */
    return 1;
  }
  net->once_key_try = c->key_try + 1;
  c->replaced = 1;
  if (dial_peer(net, &c->peer, NULL) == 0)
    return 1;
  c->replaced = 0; /* dial_peer closed the new one: this one reports */
  return 0;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  struct conn *c = s->data;
  if (nread == 0 || c->phase == PH_CLOSING)
    return;
  if (c->phase == PH_REFUSING) {
    if (nread < 0)
      conn_close(c, c->error); /* the refused peer read the reason and left */
    return; /* what a refused peer sends is not read */
  }
  if (nread < 0) {
    int err = DK_ECONN;
    if (c->phase == PH_SYNC && dk_frame_decoder_finish(&c->dec) == 0)
      err = 0; /* a clean end */
    else if (c->phase == PH_HANDSHAKE && c->outbound)
      err = DK_EREFUSED; /* the server hung up: it does not know us */
    if (err && c->phase == PH_HANDSHAKE && c->outbound && fall_back(c)) {
      conn_close(c, err);
      return;
    }
    if (err && c->phase == PH_HANDSHAKE && c->outbound)
      dial_failed(c, "the peer closed the handshake (a different network key: after a network "
                     "key rotation, an office that missed the new key is refused once the old "
                     "one stops working; or its connection limit, or an older node that does "
                     "not know this one)");
    else if (err && c->phase == PH_HANDSHAKE)
      log_refused(c->net, "a peer left during the handshake");
    else if (err)
      dk_node_logf(c->net->n, DK_LOG_INFO, "connection to %s lost",
                   c->peer_known ? c->peer.name : "peer");
    conn_close(c, err);
    return;
  }
  const uint8_t *p = (const uint8_t *)buf->base;
  size_t len = (size_t)nread;
  c->net->wire_bytes_received += len;
  if (c->phase == PH_HANDSHAKE) {
    size_t used = handshake_feed(c, p, len);
    p += used;
    len -= used;
  }
  if (len > 0 && c->phase == PH_SYNC) {
    int rc = dk_frame_feed(&c->dec, p, len, on_frame, c);
    if (rc != 0 && c->phase != PH_CLOSING) {
      dk_node_logf(c->net->n, DK_LOG_WARN, "bad frame from %s: %s", c->peer.name,
                   dk_strerror(rc));
      conn_close(c, rc);
    }
  }
}

static struct conn *conn_new(struct net *net, int outbound) {
  struct conn *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return NULL;
  c->net = net;
  c->outbound = outbound;
  c->phase = PH_HANDSHAKE;
  c->started_ms = now_ms(net);
  if (uv_tcp_init(&net->loop, &c->tcp) != 0) {
    free(c);
    return NULL;
  }
  c->tcp.data = c;
  c->next = net->conns;
  net->conns = c;
  net->conns_count++;
  return c;
}

static void on_connect(uv_connect_t *req, int status) {
  struct conn *c = req->data;
  if (c->phase == PH_CLOSING)
    return;
  if (status < 0) {
    dial_failed(c, uv_strerror(status));
    conn_close(c, DK_ECONN);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  uv_tcp_keepalive(&c->tcp, 1, 30);
  int rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  uint8_t out[DK_HS_MESSAGE_BYTES_MAX];
  size_t out_len = 0;
  if (rc == 0)
    rc = dk_hs_next(&c->hs, NULL, 0, out, sizeof(out), &out_len);
  if (rc == 0)
    rc = conn_write(c, out, out_len, 0);
  if (rc != 0)
    conn_close(c, rc < 0 ? rc : DK_ECONN);
}

static int dial_peer(struct net *net, const struct dk_peer *peer, struct dial *d) {
  struct sockaddr_storage addr;
  if (dk_net_parse_addr(peer->addr, &addr) != 0)
    return DK_EINVAL;
  struct conn *c = conn_new(net, 1);
  if (c == NULL)
    return DK_ENOMEM;
  c->peer = *peer;
  c->peer_known = 1;
  c->dial = d;
  if (d)
    d->conn = c;
  /* The newest key first; the one before it while it is in force, when the
   * peer hung up on the newest (it has not received it yet). */
  const uint8_t *usable[2];
  int rc = keys_load(net);
  size_t nu = rc == 0 ? dk_netkeys_usable(net->keys, now_ms(net), usable) : 0;
  size_t try = d ? d->key_try : net->once_key_try;
  if (try >= nu)
    try = 0;
  c->key_try = try;
  c->keys_usable = nu;
  c->rotated = rc == 0 && net->keys->has_new;
  if (rc == 0)
    rc = dk_hs_init_client(&c->hs, usable[try], dk_node_identity(net->n), peer->key);
  c->connect_req.data = c;
  if (rc == 0 &&
      uv_tcp_connect(&c->connect_req, &c->tcp, (const struct sockaddr *)&addr, on_connect) != 0)
    rc = DK_ECONN;
  if (rc != 0)
    conn_close(c, rc);
  return rc;
}

static void dial_start(struct dial *d) {
  if (d->net->stopping || d->conn)
    return;
  if (dial_peer(d->net, &d->peer, d) == DK_EINVAL)
    dk_node_logf(d->net->n, DK_LOG_ERROR, "peer %s has a bad address '%s'", d->peer.name,
                 d->peer.addr);
}

static void on_incoming(uv_stream_t *server, int status) {
  struct net *net = server->data;
  if (status < 0 || net->stopping)
    return;
  size_t handshakes = 0;
  for (struct conn *o = net->conns; o; o = o->next)
    handshakes += !o->outbound && o->phase == PH_HANDSHAKE;
  int over = net->conns_count >= DK_NET_CONNECTIONS_MAX || handshakes >= DK_NET_HANDSHAKES_MAX;
  struct conn *c = conn_new(net, 0);
  if (c == NULL)
    return;
  if (over) {
    /* Taken off the backlog and closed at once: before the handshake
     * nothing is said to a peer that may be a stranger. */
    if (uv_accept(server, (uv_stream_t *)&c->tcp) == 0)
      log_repeated(net, &net->limit_log,
                   "refused a connection: %zu open, %zu in the handshake (limits %d, %d)",
                   net->conns_count - 1, handshakes, DK_NET_CONNECTIONS_MAX,
                   DK_NET_HANDSHAKES_MAX);
    conn_close(c, DK_ELIMIT);
    return;
  }
  /* Every key in force is accepted; a key retired by a rotation is only
   * recognised, to log why such a node is refused. */
  const uint8_t *keys[DK_HS_NETWORK_KEYS_MAX];
  size_t accepted = 0, count = 0;
  if (keys_load(net) == 0) {
    accepted = count = dk_netkeys_usable(net->keys, now_ms(net), keys);
    if (net->keys->has_new && accepted == 1)
      keys[count++] = net->keys->old_key;
    c->rotated = net->keys->has_new;
  }
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 || accepted == 0 ||
      dk_hs_init_server_keys(&c->hs, keys, count, accepted, dk_node_identity(net->n), authorize,
                             c) != 0) {
    conn_close(c, DK_ECONN);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  uv_tcp_keepalive(&c->tcp, 1, 30);
  if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
    conn_close(c, DK_ECONN);
}

/* ---- the loop -------------------------------------------------------------- */

/* ---- the indexer, between bursts ------------------------------------------ */

/* A burst (a peer's batches until its CAUGHT_UP) is only appended to the
 * log and acknowledged; the case tables follow here, on the node's own
 * time, one step (DK_INDEX_BATCH_ENTRIES entries) per loop iteration, so
 * that the peer never waits for them and the loop answers other peers
 * between steps. A session in the middle of a burst holds the indexer back,
 * so that each case of the burst is folded once rather than once per batch;
 * a peer that never finishes its burst holds it back INDEX_HOLD_MS_MAX at
 * most before each step. Readers do not see the lag: a command that opens
 * the node unlocked indexes what is left first (dk_node_open). */
#define INDEX_HOLD_MS_MAX 30000

static int burst_in_progress(struct net *net) {
  for (struct conn *c = net->conns; c; c = c->next) {
    if (c->phase != PH_SYNC || c->sync == NULL)
      continue;
    struct dk_sync_status st;
    dk_sync_status(c->sync, &st);
    if (st.hello_received && !st.recv_caught_up && !st.done && st.error == 0)
      return 1;
  }
  return 0;
}

static void on_index_idle(uv_idle_t *h) {
  struct net *net = h->data;
  dk_node *n = net->n;
  if (burst_in_progress(net)) {
    uint64_t now = uv_now(&net->loop);
    if (!net->index_holding) {
      net->index_holding = 1;
      net->index_held_ms = now;
    }
    if (now - net->index_held_ms < INDEX_HOLD_MS_MAX) {
      /* The next frame, or the timer, looks again. */
      uv_idle_stop(h);
      net->index_active = 0;
      return;
    }
  }
  net->index_holding = 0;
  int rc = 0;
  if (net->index_run_lag == 0) {
    uint64_t lag = 0;
    rc = dk_node_index_lag(n, &lag);
    if (rc == 0 && lag == 0) {
      uv_idle_stop(h);
      net->index_active = 0;
      return;
    }
    net->index_run_lag = lag;
    net->index_run_t0 = uv_hrtime();
  }
  uint64_t t0 = uv_hrtime();
  int more = 0;
  if (rc == 0)
    rc = dk_node_index_step(n, &more);
  uint64_t busy = (uv_hrtime() - t0) / 1000000;
  uv_update_time(&net->loop);
  for (struct conn *c = net->conns; c; c = c->next)
    if (c->phase == PH_SYNC && c->sync)
      dk_sync_busy(c->sync, busy);
  if (rc != 0 || !more) {
    uv_idle_stop(h);
    net->index_active = 0;
    double secs = (double)(uv_hrtime() - net->index_run_t0) / 1e9;
    if (rc != 0) {
      /* Kept for the next open of the node, which indexes what is left. */
      net->index_failed = 1;
      dk_node_logf(n, DK_LOG_ERROR, "could not bring the case tables up to date: %s",
                   dk_strerror(rc));
    } else {
      dk_node_logf(n, DK_LOG_INFO, "case tables up to date: %llu entries indexed in %.1f s",
                   (unsigned long long)net->index_run_lag, secs);
    }
    net->index_run_lag = 0;
  }
}

/* Something may have been stored: the indexer looks, unless stopping or
 * failed. */
static int index_held(void) { return dk_fault_index_hold != 0 && dk_fault_index_hold(); }

static void index_kick(struct net *net) {
  if (net->stopping || net->index_active || net->index_failed || index_held())
    return;
  if (uv_idle_start(&net->index_idle, on_index_idle) == 0)
    net->index_active = 1;
}

static void on_timer(uv_timer_t *t) {
  struct net *net = t->data;
  uint64_t now = now_ms(net);
  if (net->opt->on_tick && !net->opt->peer)
    net->opt->on_tick(net->opt->ctx);
  struct dk_ratelog *logs[] = {&net->refused_log, &net->limit_log};
  for (size_t i = 0; i < 2; i++) {
    if (dk_ratelog_due(logs[i], now)) {
      char since[32];
      since_text(net, dk_ratelog_since_ms(logs[i]), since, sizeof(since));
      dk_node_logf(net->n, DK_LOG_WARN, "%llu connections refused since %s%s",
                   (unsigned long long)dk_ratelog_count(logs[i]), since,
                   i ? " (connection limits)" : "");
    }
  }
  /* Each session compares the mark with the one its last look at the
   * heads saw (dk_sync_poll): the meta page's mark can be ahead of what a
   * reader sees for a moment after another process commits, and a change
   * taken as seen then would wait for the next write to be sent. */
  uint64_t mark = dk_node_change_mark(net->n);
  index_kick(net);
  struct conn *next;
  for (struct conn *c = net->conns; c; c = next) {
    next = c->next;
    if ((c->phase == PH_HANDSHAKE || c->phase == PH_REFUSING) &&
        now - c->started_ms > DK_NET_HANDSHAKE_TIMEOUT_MS) {
      if (c->phase == PH_REFUSING)
        ; /* the refused peer did not leave: closed without more words */
      else if (c->outbound)
        dial_failed(c, "no answer to the handshake");
      else
        log_refused(net, "a handshake timed out");
      conn_close(c, c->phase == PH_REFUSING ? c->error : DK_ETIMEDOUT);
      continue;
    }
    if (c->phase != PH_SYNC)
      continue;
    int rc = dk_sync_poll(c->sync, mark);
    if (rc == 0)
      rc = dk_sync_tick(c->sync, now);
    after_sync_call(c, rc);
  }
}

static void on_handle_closed(uv_handle_t *h) { (void)h; }

static void net_stop(struct net *net) {
  if (net->stopping)
    return;
  net->stopping = 1;
  if (net->listening)
    uv_close((uv_handle_t *)&net->listener, on_handle_closed);
  uv_close((uv_handle_t *)&net->timer, on_handle_closed);
  uv_close((uv_handle_t *)&net->index_idle, on_handle_closed);
  net->index_active = 0;
  uv_close((uv_handle_t *)&net->sigint, on_handle_closed);
  uv_close((uv_handle_t *)&net->sigterm, on_handle_closed);
  for (size_t i = 0; i < net->ndials; i++)
    uv_close((uv_handle_t *)&net->dials[i].timer, on_handle_closed);
  struct conn *next;
  for (struct conn *c = net->conns; c; c = next) {
    next = c->next;
    if (c->phase == PH_SYNC && !net->opt->peer) {
      /* A clean end for the peer. */
      struct dk_buf out;
      dk_buf_init(&out);
      if (dk_frame_encode_end(&c->enc, &out) == 0)
        conn_write(c, out.data, out.len, 0);
      dk_buf_release(&out);
    }
    conn_close(c, c->error);
  }
}

static void on_signal(uv_signal_t *s, int signum) {
  struct net *net = s->data;
  dk_node_logf(net->n, DK_LOG_INFO, "signal %d: shutting down", signum);
  net_stop(net);
}

int dk_net_parse_addr(const char *hostport, struct sockaddr_storage *out) {
  char host[DK_NAME_BYTES_MAX];
  const char *colon = strrchr(hostport, ':');
  if (colon == NULL || colon == hostport || (size_t)(colon - hostport) >= sizeof(host))
    return DK_EINVAL;
  memcpy(host, hostport, (size_t)(colon - hostport));
  host[colon - hostport] = 0;
  char *end;
  long port = strtol(colon + 1, &end, 10);
  if (*end != 0 || port <= 0 || port > 65535)
    return DK_EINVAL;
  memset(out, 0, sizeof(*out));
  if (strcmp(host, "localhost") == 0)
    strcpy(host, "127.0.0.1");
  size_t hl = strlen(host);
  if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
    host[hl - 1] = 0;
    return uv_ip6_addr(host + 1, (int)port, (struct sockaddr_in6 *)out) == 0 ? 0 : DK_EINVAL;
  }
  return uv_ip4_addr(host, (int)port, (struct sockaddr_in *)out) == 0 ? 0 : DK_EINVAL;
}

struct dial_collect {
  struct net *net;
};

static int collect_dial(void *ctx, const struct dk_peer *p) {
  struct net *net = ctx;
  const char *mine = dk_node_config(net->n)->office;
  size_t pl = strlen(p->office);
  int above = strncmp(p->office, mine, pl) == 0 && mine[pl] == '/';
  if (!above || p->addr[0] == 0 || net->ndials == DIALS_MAX)
    return 0;
  struct dial *d = &net->dials[net->ndials++];
  memset(d, 0, sizeof(*d));
  d->net = net;
  d->peer = *p;
  dk_ratelog_init(&d->unreachable, 1, DK_LOG_SUMMARY_INTERVAL_MS);
  return 0;
}

int dk_net_run(dk_node *n, const struct dk_net_options *opt, struct dk_net_result *out) {
  struct net *net = calloc(1, sizeof(*net));
  if (net == NULL)
    return DK_ENOMEM;
  int rc = 0;
  net->n = n;
  net->opt = opt;
  memset(out, 0, sizeof(*out));
  dk_node_store_init(&net->store, n);
  net->keys = sodium_malloc(sizeof(*net->keys));
  if (net->keys == NULL || dk_node_identity(n) == NULL) {
    rc = net->keys ? DK_ENOKEY : DK_ENOMEM;
    goto free_net;
  }
  rc = keys_load(net);
  if (rc != 0)
    goto free_net;
  if (uv_loop_init(&net->loop) != 0) {
    rc = DK_ECONN;
    goto free_net;
  }
  uv_timer_init(&net->loop, &net->timer);
  net->timer.data = net;
  uv_signal_init(&net->loop, &net->sigint);
  uv_signal_init(&net->loop, &net->sigterm);
  net->sigint.data = net->sigterm.data = net;
  uv_signal_start(&net->sigint, on_signal, SIGINT);
  uv_signal_start(&net->sigterm, on_signal, SIGTERM);
  dk_ratelog_init(&net->refused_log, DK_LOG_REPEAT_BURST, DK_LOG_FLOOD_INTERVAL_MS);
  dk_ratelog_init(&net->limit_log, DK_LOG_REPEAT_BURST, DK_LOG_FLOOD_INTERVAL_MS);
  uv_timer_start(&net->timer, on_timer, TIMER_MS, TIMER_MS);
  uv_idle_init(&net->loop, &net->index_idle);
  net->index_idle.data = net;

  net->redial_ms_max = opt->redial_ms_max ? opt->redial_ms_max : REDIAL_MS_MAX;
  if (opt->peer) {
    rc = dial_peer(net, opt->peer, NULL);
  } else {
    /* Said once at start, from the value the backoff uses, so that an
     * administrator (and a test) can see what sync_interval set. */
    dk_node_logf(n, DK_LOG_INFO, "an office above that cannot be reached is redialled at least "
                 "every %llu s (sync_interval)",
                 (unsigned long long)(net->redial_ms_max / 1000));
    if (opt->listen && opt->listen[0]) {
      struct sockaddr_storage addr;
      rc = dk_net_parse_addr(opt->listen, &addr);
      if (rc == 0) {
        uv_tcp_init(&net->loop, &net->listener);
        net->listener.data = net;
        net->listening = 1;
        int urc = uv_tcp_bind(&net->listener, (const struct sockaddr *)&addr, 0);
        if (urc == 0)
          urc = uv_listen((uv_stream_t *)&net->listener, 64, on_incoming);
        if (urc != 0) {
          dk_node_logf(n, DK_LOG_ERROR, "cannot listen on %s: %s", opt->listen,
                       uv_strerror(urc));
          rc = DK_ECONN;
        } else {
          dk_node_logf(n, DK_LOG_INFO, "listening on %s", opt->listen);
        }
      }
    }
    if (rc == 0)
      rc = dk_node_peer_list(n, collect_dial, net);
    for (size_t i = 0; rc == 0 && i < net->ndials; i++) {
      uv_timer_init(&net->loop, &net->dials[i].timer);
      net->dials[i].timer.data = &net->dials[i];
      dial_start(&net->dials[i]);
    }
    if (rc == 0 && opt->on_ready)
      opt->on_ready(opt->ctx);
  }
  if (rc != 0)
    net_stop(net);
  uv_run(&net->loop, UV_RUN_DEFAULT);
  uv_loop_close(&net->loop);
  if (opt->peer && !net->index_failed && !index_held()) {
    /* A once sync: what it received and the loop had no time to index is
     * indexed now, after the link has closed, so that the peer did not wait
     * for it. A failure here does not undo the sync (the entries are
     * stored); the next open of the node tries again. */
    int irc = dk_node_index_run(n);
    if (irc != 0)
      dk_node_logf(n, DK_LOG_ERROR, "could not bring the case tables up to date: %s",
                   dk_strerror(irc));
  }
  if (rc == 0 && opt->peer) {
    rc = net->once_result ? net->result : DK_ECONN;
    out->status = net->last;
  }
  out->wire_bytes_sent = net->wire_bytes_sent;
  out->wire_bytes_received = net->wire_bytes_received;
free_net:
  sodium_free(net->keys);
  free(net);
  return rc;
}
