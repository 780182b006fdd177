/*
 * The case model: case events, their canonical msgpack encoding, and the
 * deterministic fold of a case's events into its current state.
 *
 * Pure code: no I/O, no clock, no globals. Time comes in through the events
 * (at_ms, ts_ms) and through explicit arguments. docs/protocol-events.md is
 * the byte-exact specification of the event encoding and of the fold rules;
 * the tests check its known-answer vector.
 *
 * Thread-safety: functions touch only their arguments; distinct structs may
 * be used from distinct threads. The name tables are static and read-only.
 *
 * Ownership: struct dk_event and struct dk_case_state own every pointer they
 * hold (heap memory from malloc). Release them with dk_event_release() and
 * dk_case_state_release(); both are safe on a zeroed or initialised struct
 * and leave it initialised and empty. Strings returned by the *_name()
 * functions are static.
 *
 * Times are milliseconds since the Unix epoch. In a case state, a time of 0
 * means "never"; events therefore carry at_ms >= 1.
 */
#ifndef DK_CASE_H
#define DK_CASE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* Size of an entry id (BLAKE2b-256), which is also a case id. */
#define DK_CASE_ID_BYTES 32

/* ---- enumerations ------------------------------------------------------ */

/* Event types, with their wire names. */
enum dk_event_type {
  DK_EVENT_OPEN,     /* "open" */
  DK_EVENT_TRIAGE,   /* "triage" */
  DK_EVENT_ASSIGN,   /* "assign" */
  DK_EVENT_SESSION,  /* "session" */
  DK_EVENT_ESCALATE, /* "escalate" */
  DK_EVENT_RESOLVE,  /* "resolve" */
  DK_EVENT_FAIL,     /* "fail" */
  DK_EVENT_CLOSE,    /* "close" */
  DK_EVENT_REOPEN,   /* "reopen" */
  DK_EVENT_REVISIT,  /* "revisit" */
  DK_EVENT_NOTE,     /* "note" */
  DK_EVENT_TYPE_COUNT
};

/* What a case is: the four ledgers and the services around them. */
enum dk_kind {
  DK_KIND_DISPUTE,      /* "dispute" */
  DK_KIND_HAZARD,       /* "hazard" */
  DK_KIND_TASK,         /* "task" */
  DK_KIND_SERVICE,      /* "service" */
  DK_KIND_CONSULTATION, /* "consultation" */
  DK_KIND_LEGAL_AID,    /* "legal_aid" */
  DK_KIND_ADVICE,       /* "advice" */
  DK_KIND_MEETING,      /* "meeting" */
  DK_KIND_COUNT
};

/* Triage classes. The first DK_TRIAGE_CLASSES values index
 * struct dk_case_config; DK_TRIAGE_NONE marks a case not yet triaged and has
 * no wire name. */
enum dk_triage {
  DK_TRIAGE_CLINIC,    /* "clinic": routine, one owner */
  DK_TRIAGE_EMERGENCY, /* "emergency": urgent, the chief advisor coordinates */
  DK_TRIAGE_JOINT,     /* "joint": major and complex, several departments */
  DK_TRIAGE_NONE
};
#define DK_TRIAGE_CLASSES 3

/* Roles a person can be assigned to on a case. */
enum dk_role {
  DK_ROLE_LEGAL_ADVISOR, /* "legal-advisor" */
  DK_ROLE_CHIEF_ADVISOR, /* "chief-advisor" */
  DK_ROLE_MEDIATOR,      /* "mediator" */
  DK_ROLE_GRID_WORKER,   /* "grid-worker" */
  DK_ROLE_COUNT
};

/* Escalation levels, ordered: a higher value is a higher office. */
enum dk_level {
  DK_LEVEL_NONE,     /* "" (never on the wire) */
  DK_LEVEL_STREET,   /* "street" */
  DK_LEVEL_DISTRICT, /* "district" */
  DK_LEVEL_COUNT
};

/* Where a failed case was referred. */
enum dk_referral {
  DK_REFERRAL_NONE,        /* "" */
  DK_REFERRAL_LEGAL_AID,   /* "legal-aid" */
  DK_REFERRAL_LITIGATION,  /* "litigation" */
  DK_REFERRAL_ARBITRATION, /* "arbitration" */
  DK_REFERRAL_COUNT
};

enum dk_status {
  DK_STATUS_OPEN,      /* "open" */
  DK_STATUS_TRIAGED,   /* "triaged" */
  DK_STATUS_MEDIATING, /* "mediating" */
  DK_STATUS_RESOLVED,  /* "resolved" */
  DK_STATUS_FAILED,    /* "failed" */
  DK_STATUS_CLOSED,    /* "closed" */
  DK_STATUS_COUNT
};

/* How the latest resolve or fail ended a case. */
enum dk_outcome {
  DK_OUTCOME_NONE,   /* "" */
  DK_OUTCOME_AGREED, /* "agreed" */
  DK_OUTCOME_FAILED, /* "failed" */
  DK_OUTCOME_COUNT
};

/* Name <-> enum. *_parse() returns 0 and sets *out, or DK_EINVAL for a name
 * that is not in the table (names are case-sensitive, as on the wire).
 * dk_referral_parse("") gives DK_REFERRAL_NONE; the other parsers refuse "".
 * *_name() returns the static wire name, "" for a NONE value, and "?" for a
 * value outside the enum. */
int dk_event_type_parse(const char *name, enum dk_event_type *out);
const char *dk_event_type_name(enum dk_event_type type);
int dk_kind_parse(const char *name, enum dk_kind *out);
const char *dk_kind_name(enum dk_kind kind);
int dk_triage_parse(const char *name, enum dk_triage *out);
const char *dk_triage_name(enum dk_triage triage);
int dk_role_parse(const char *name, enum dk_role *out);
const char *dk_role_name(enum dk_role role);
int dk_level_parse(const char *name, enum dk_level *out);
const char *dk_level_name(enum dk_level level);
int dk_referral_parse(const char *name, enum dk_referral *out);
const char *dk_referral_name(enum dk_referral referral);
int dk_status_parse(const char *name, enum dk_status *out);
const char *dk_status_name(enum dk_status status);
const char *dk_outcome_name(enum dk_outcome outcome);

/* Categories are strings from a per-kind table; every kind accepts "other"
 * and "" (no category). Returns 0 when category is valid for kind, else
 * DK_EINVAL (also for a kind outside the enum). */
int dk_category_valid(enum dk_kind kind, const char *category);
/* The static, NULL-terminated list of kind's category names (without "").
 * *count, when not NULL, receives the number of names. NULL for a kind
 * outside the enum. */
const char *const *dk_category_list(enum dk_kind kind, size_t *count);
/* The same list as one static string, "neighbour, family, ..., other", for
 * error messages. "" for a kind outside the enum. */
const char *dk_category_names(enum dk_kind kind);

/* ---- events ------------------------------------------------------------ */

/*
 * One case event: the plaintext of an encrypted entry body, plus the fields
 * the store copies from the signed entry header.
 *
 * Every char * is a NUL-terminated heap string owned by the event, and so
 * are deps and parties. After dk_event_decode(), the string fields the type
 * uses (see the list below) are non-NULL, possibly ""; the others are NULL
 * and the unused numbers are 0 or NONE. dk_event_encode() reads NULL strings
 * as "", so a writer may leave empty fields NULL. A writer that points fields
 * at strings it owns must not call dk_event_release() on that event.
 *
 * Fields by type (beyond type, at_ms, deps and by, which every event has):
 *   open      kind, category, number, office, text (summary), parties
 *   triage    triage
 *   assign    to (non-empty), role
 *   session   minutes (<= DK_SESSION_MINUTES_MAX), text
 *   escalate  level (street or district), text
 *   resolve   text (the agreement), items (<= DK_MEETING_ITEMS_MAX)
 *   fail      text (the reason), refer (may be NONE)
 *   close     -
 *   reopen    text
 *   revisit   satisfaction (1..5), text
 *   note      text
 */
struct dk_event {
  /* From the signed entry header, filled by the store; never encoded. */
  uint8_t id[DK_CASE_ID_BYTES];     /* entry id */
  uint8_t author[DK_CASE_ID_BYTES]; /* log key of the author */
  uint64_t seq;                     /* position in the author's log */
  uint64_t ts_ms;                   /* author timestamp of the entry */

  /* Body. */
  enum dk_event_type type;
  uint64_t at_ms; /* when it happened, >= 1; may be long before ts_ms */
  /* Ids of the case events the author had seen (the case frontier), in
   * strictly ascending byte order, at most DK_DEPS_MAX; none for open. */
  uint8_t (*deps)[DK_CASE_ID_BYTES];
  size_t deps_count;
  char *by; /* the person acting; may be "" */

  enum dk_kind kind;
  char *category;
  char *number; /* human case number, "LX-2020-0042" */
  char *office; /* office path, "zhanhe/beidu/lanxin" */
  char *text;   /* summary, minutes text, agreement, reason or note */
  char **parties;
  size_t parties_count;
  enum dk_triage triage;
  char *to;
  enum dk_role role;
  uint64_t minutes;
  enum dk_level level;
  uint64_t items;
  enum dk_referral refer;
  uint32_t satisfaction;
};

/* Zeroes ev and sets its enums to their NONE or first values. */
void dk_event_init(struct dk_event *ev);
/* Frees what ev owns and re-initialises it. */
void dk_event_release(struct dk_event *ev);

/* Checks ev against the rules above, as a writer must before encoding.
 * Returns 0, DK_EINVAL (an enum value out of range, a category the kind does
 * not have, an empty assignee or party, deps on an open, deps not strictly
 * ascending, satisfaction outside 1..5, at_ms of 0) or DK_ELIMIT (a string,
 * list or number past its limit). */
int dk_event_validate(const struct dk_event *ev);

/* The stricter checks for an event this node writes now, on top of
 * dk_event_validate(): every text is well-formed UTF-8 without control
 * characters (tabs and line breaks are allowed in free text, not in names,
 * numbers or categories), and a case number fits DK_CASE_NUMBER_BYTES.
 * Events read back are not held to these (older nodes did not check; their
 * text is repaired where it is shown). Returns 0, DK_ETEXT or DK_ELIMIT. */
int dk_event_check_new(const struct dk_event *ev);

/* Appends the canonical encoding of ev's body to out (docs/protocol-events.md).
 * Validates first; on any error out is left as it was. Returns 0, the codes
 * of dk_event_validate(), or DK_ENOMEM. Whatever decodes re-encodes to the
 * same bytes, so dk_event_check_new() is not applied here but where a node
 * makes a new event (node/cases/tables.c, node/ingest/bulk.c). */
int dk_event_encode(const struct dk_event *ev, struct dk_buf *out);

/* Decodes an untrusted body. ev must be initialised (or zeroed); on success
 * it holds the body's fields and the header fields are zero for the store
 * to fill. Accepts exactly the bytes dk_event_encode() writes: any other
 * encoding, type, key, key order or value gives DK_EFORMAT, a length or
 * count past a limit DK_ELIMIT; allocation failure DK_ENOMEM. On error ev is
 * left initialised and empty. Nothing is allocated before it is bounded. */
int dk_event_decode(const uint8_t *data, size_t len, struct dk_event *ev);

/* ---- case state -------------------------------------------------------- */

/* The person in each role, the latest assign per role winning. */
struct dk_assignee {
  char *name; /* NULL when nobody holds the role */
  uint64_t at_ms;
};

struct dk_revisit {
  uint64_t at_ms;
  uint32_t satisfaction; /* 1..5 */
};

/* One line of the work log: an event with a non-empty "by". */
struct dk_contact {
  uint64_t at_ms;
  char *person;
  enum dk_event_type type;
  uint64_t minutes; /* session minutes, else 0 */
};

/* An event that was not a legal step in the state it was folded into. */
struct dk_conflict {
  uint8_t event_id[DK_CASE_ID_BYTES];
  char *text; /* "fail by Li Wei conflicts: case already resolved" */
};

struct dk_case_state {
  uint8_t id[DK_CASE_ID_BYTES]; /* the opening event's id */
  int opened;                   /* 1 once an open event was applied */

  /* From the open event (strings "" rather than NULL once opened). */
  char *number;
  enum dk_kind kind;
  char *category;
  char *office;
  char *summary;
  char **parties;
  size_t parties_count;

  enum dk_status status;
  enum dk_triage triage;  /* latest triage; DK_TRIAGE_NONE before one */
  uint64_t deadline_ms;   /* latest triage's at + its class's time; 0 none */
  uint64_t opened_at_ms;
  uint64_t triaged_at_ms; /* latest triage */
  uint64_t outcome_at_ms; /* latest resolve or fail */
  uint64_t closed_at_ms;  /* latest close */
  uint64_t escalated_at_ms; /* first escalation */
  enum dk_level level;      /* highest level escalated to */

  /* The latest resolve or fail. Kept when a case is reopened (it is
   * history), replaced by the next resolve or fail. */
  enum dk_outcome outcome;
  char *outcome_text; /* agreement or reason; NULL when no outcome */
  enum dk_referral referral;
  uint64_t items; /* items decided, from the latest resolve */

  struct dk_assignee assignees[DK_ROLE_COUNT];
  uint64_t sessions_count;
  uint64_t minutes_total;

  /* Lists in fold order, each at most DK_CASE_LIST_MAX long; what did not
   * fit is counted in dropped_count. */
  struct dk_revisit *revisits;
  size_t revisits_count;
  struct dk_contact *contacts; /* the work log */
  size_t contacts_count;
  struct dk_conflict *conflicts;
  size_t conflicts_count;
  uint64_t dropped_count;

  /* Ids of the applied events no applied event depends on, ascending. */
  uint8_t (*frontier)[DK_CASE_ID_BYTES];
  size_t frontier_count;

  uint64_t events_count; /* events applied, conflicting ones included */
  uint64_t reopen_count;
  uint64_t updated_at_ms; /* greatest at_ms applied */

  /* Erasure (entry type 9): 0 while the case is not erased. An erased case
   * keeps only a tombstone: number, office, kind, status and dates; every
   * text, name and list is gone. erased_by is the office that erased it. */
  uint64_t erased_at_ms;
  char *erased_by;
  char *erase_reason;
};

/* Time allowed per triage class, counted from the triage event's at_ms. */
struct dk_case_config {
  uint64_t deadline_ms[DK_TRIAGE_CLASSES];
};

/* Clinic 15 days, emergency 3 days, joint 30 days. */
struct dk_case_config dk_case_config_default(void);

void dk_case_state_init(struct dk_case_state *s);
void dk_case_state_release(struct dk_case_state *s);

/*
 * The status machine (docs/protocol-events.md has the table):
 *   open      only on a case not yet opened; a second open is never legal
 *   triage    open, triaged, mediating; open -> triaged, else unchanged
 *   assign    any status but closed; unchanged
 *   escalate  any status but closed; unchanged
 *   session   open, triaged, mediating -> mediating
 *   resolve   open, triaged, mediating -> resolved
 *   fail      open, triaged, mediating -> failed
 *   close     resolved, failed -> closed; for kinds other than dispute also
 *             open, triaged, mediating -> closed
 *   reopen    closed -> open (deadline cleared; outcome kept as history)
 *   revisit   resolved, failed, closed; unchanged
 *   note      any status; unchanged
 * Every step but open needs an opened case.
 *
 * dk_case_check() returns 0 when ev is a legal next step of s, else
 * DK_ETRANSITION. Local writes use it to refuse impossible steps.
 */
int dk_case_check(const struct dk_case_state *s, const struct dk_event *ev);

/*
 * Applies ev to s. A step that is not legal in s (concurrent changes merged
 * by replication) is not dropped: it is recorded in s->conflicts and leaves
 * the status and case fields unchanged. Either way ev counts in events_count,
 * updated_at_ms and the frontier (ev's deps leave it, ev's id joins it), and
 * an event with a non-empty "by" is added to the work log.
 * Returns 0, or DK_ENOMEM (s is then consistent but may lack ev's effects;
 * fold again). ev must be valid (decoded or validated).
 */
int dk_case_apply(struct dk_case_state *s, const struct dk_case_config *cfg,
                  const struct dk_event *ev);

/*
 * Folds n events of one case into out: the open event first (the earliest by
 * (at_ms, ts_ms, id) if there are several), then the others in topological
 * order of deps, ties broken by the least (at_ms, ts_ms, id bytes). A dep not
 * among the events is ignored, so such an event is folded after its known
 * deps, never dropped; duplicate ids are folded once. The same set of events
 * gives the same state whatever their order in the array. events is only
 * read. out must be initialised; its previous content is released. Returns
 * 0, DK_ELIMIT when n > DK_CASE_EVENTS_MAX, or DK_ENOMEM; on error out is
 * empty.
 */
int dk_case_fold(const struct dk_event *events, size_t n, const struct dk_case_config *cfg,
                 struct dk_case_state *out);

/* Returns 1 when ev's deps are exactly s's frontier (so every event folded
 * into s precedes ev and dk_case_apply(s, ev) gives what a full fold would),
 * else 0. */
int dk_case_deps_match_frontier(const struct dk_case_state *s, const struct dk_event *ev);

/* Returns 1 when s has a deadline, now_ms is past it and s is not resolved,
 * failed or closed; else 0. */
int dk_case_overdue(const struct dk_case_state *s, uint64_t now_ms);

/* Appends the encoding of the whole state to out (for the store, which
 * encrypts it). Returns 0 or DK_ENOMEM; on error out is left as it was. */
int dk_case_state_encode(const struct dk_case_state *s, struct dk_buf *out);

/* Decodes what dk_case_state_encode() wrote, defensively: every list and
 * string is bounded before allocation. s must be initialised; its previous
 * content is released. Returns 0, DK_EFORMAT, DK_ELIMIT, DK_EVERSION (an
 * encoding from a later version) or DK_ENOMEM; on error s is empty. */
int dk_case_state_decode(const uint8_t *data, size_t len, struct dk_case_state *s);

/* The report row of a case: only what dk_report_add() and the report's
 * monthly trend read (id, opened, kind, category, office, status, triage,
 * outcome, referral, items, the deadline and the times, revisits and the
 * work log), in a compact binary form, so that a report reads one small
 * row per case instead of the whole state. The store keeps it beside the
 * state, encrypted like it (node/cases/tables.c). Appends to out; returns 0,
 * DK_ELIMIT (a string or list too long for the format) or DK_ENOMEM; on
 * error out is left as it was. */
int dk_case_report_encode(const struct dk_case_state *s, struct dk_buf *out);

/* Decodes a report row into s (initialised; its previous content is
 * released): the fields above are set, every other field is empty. Every
 * length and count is checked against the input before it is used.
 * Returns 0, DK_EFORMAT, DK_EVERSION or DK_ENOMEM; on error s is empty. */
int dk_case_report_decode(const uint8_t *data, size_t len, struct dk_case_state *s);

#endif
