/* docket case ...: open, the workflow steps, show and list. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/error.h"
#include "common/limits.h"

enum {
  O_KIND = 1, O_CATEGORY, O_SUMMARY, O_PARTY, O_NUMBER, O_CLASS, O_TO, O_ROLE, O_NOTE,
  O_MINUTES, O_BY, O_LEVEL, O_AGREEMENT, O_ITEMS, O_REASON, O_REFER, O_SATISFACTION, O_TEXT,
  O_AT, O_STATUS, O_OVERDUE, O_COUNT
};

/* Every option of the case subcommands, once: each subcommand's table is
 * built from the ones it allows. */
struct opt_desc {
  const char *name, *arg, *help;
  int flag;
};
static const struct opt_desc OPTS[O_COUNT] = {
    [O_KIND] = {"kind", "KIND",
                N_("dispute, hazard, task, service, consultation, legal_aid, advice or meeting"), 0},
    [O_CATEGORY] = {"category", "CATEGORY", N_("the category within the kind"), 0},
    [O_SUMMARY] = {"summary", "TEXT", N_("what the case is about"), 0},
    [O_PARTY] = {"party", "NAME", N_("a party to the case"), 0},
    [O_NUMBER] = {"number", "NUMBER", N_("keep the number from a paper ledger"), 0},
    [O_CLASS] = {"class", "clinic|emergency|joint", N_("triage class: clinic, emergency or joint"), 0},
    [O_TO] = {"to", "NAME", N_("the person who takes the role"), 0},
    [O_ROLE] = {"role", "legal-advisor|chief-advisor|mediator|grid-worker", N_("the role"), 0},
    [O_NOTE] = {"note", "TEXT", N_("what happened"), 0},
    [O_MINUTES] = {"minutes", "N", N_("how long it took, 0 to 1440 minutes"), 0},
    [O_BY] = {"by", "NAME", N_("who did it (default: nobody named)"), 0},
    [O_LEVEL] = {"level", "street|district", N_("the office it goes up to"), 0},
    [O_AGREEMENT] = {"agreement", "TEXT", N_("what the parties agreed"), 0},
    [O_ITEMS] = {"items", "N", N_("items decided (meetings), 0 to 1000"), 0},
    [O_REASON] = {"reason", "TEXT", N_("why"), 0},
    [O_REFER] = {"refer", "legal-aid|litigation|arbitration", N_("where the case was referred"), 0},
    [O_SATISFACTION] = {"satisfaction", "1-5", N_("the party's satisfaction, 1 to 5"), 0},
    [O_TEXT] = {"text", "TEXT", N_("the note"), 0},
    [O_AT] = {"at", "TIME", N_("when it happened, if not now (YYYY-MM-DD[THH:MM])"), 0},
    [O_STATUS] = {"status", "STATUS",
                  N_("only cases in this status: open, triaged, mediating, resolved, failed, "
                     "closed"),
                  0},
    [O_OVERDUE] = {"overdue", NULL, N_("only cases past their deadline"), 1},
};

struct sub {
  const char *name;
  enum dk_event_type type; /* DK_EVENT_TYPE_COUNT for read commands */
  int takes_case;
  const char *help;
  int allowed[8];  /* options besides --at and --by (steps), --json and --help */
  int required[3];
};

static const struct sub SUBS[] = {
    {"open", DK_EVENT_OPEN, 0,
     N_("Opens a case and prints its number. --number keeps a number from a paper\n"
        "ledger; otherwise the next CODE-YEAR-NNNN is assigned."),
     {O_KIND, O_CATEGORY, O_SUMMARY, O_PARTY, O_NUMBER},
     {O_KIND, O_SUMMARY}},
    {"triage", DK_EVENT_TRIAGE, 1,
     N_("Classifies a case; the class sets its deadline (see 'docket config')."),
     {O_CLASS},
     {O_CLASS}},
    {"assign", DK_EVENT_ASSIGN, 1, N_("Names the person who holds a role on the case."),
     {O_TO, O_ROLE},
     {O_TO, O_ROLE}},
    {"session", DK_EVENT_SESSION, 1, N_("Logs a mediation session (one contact, one person)."),
     {O_NOTE, O_MINUTES},
     {O_NOTE}},
    {"escalate", DK_EVENT_ESCALATE, 1, N_("Escalates a case to the street or district office."),
     {O_LEVEL, O_NOTE},
     {O_LEVEL}},
    {"resolve", DK_EVENT_RESOLVE, 1,
     N_("Records that the case ended in agreement (for meetings: --items decided)."),
     {O_AGREEMENT, O_ITEMS},
     {O_AGREEMENT}},
    {"fail", DK_EVENT_FAIL, 1, N_("Records that mediation failed, and where the case was referred."),
     {O_REASON, O_REFER},
     {O_REASON}},
    {"close", DK_EVENT_CLOSE, 1, N_("Closes a case (a dispute must be resolved or failed first)."),
     {0},
     {0}},
    {"reopen", DK_EVENT_REOPEN, 1, N_("Reopens a closed case."), {O_REASON}, {O_REASON}},
    {"revisit", DK_EVENT_REVISIT, 1,
     N_("Records a return visit and the party's satisfaction (1 to 5)."),
     {O_SATISFACTION, O_NOTE},
     {O_SATISFACTION}},
    {"note", DK_EVENT_NOTE, 1, N_("Adds a note to a case."), {O_TEXT}, {O_TEXT}},
    {"show", DK_EVENT_TYPE_COUNT, 1, N_("Shows a case: its state, its history and its work log."),
     {0},
     {0}},
    {"list", DK_EVENT_TYPE_COUNT, 0, N_("Lists cases, oldest first."),
     {O_STATUS, O_KIND, O_OVERDUE},
     {0}},
};

static const char CASE_ABOUT[] =
    N_("CASE is a case number (LX-2026-0042, in any letter case), an id, or a unique\n"
       "prefix of an id. Every step takes --at TIME (YYYY-MM-DD[THH:MM]) for when it\n"
       "happened if not now, and --by NAME for who did it.");

static int is_required(const struct sub *s, int opt) {
  for (int i = 0; i < 3; i++)
    if (s->required[i] == opt)
      return 1;
  return 0;
}

/* The subcommand's option table, pointing at val[] (strings), parties and
 * overdue. Returns the number of entries before the end marker. */
static size_t build_opts(const struct sub *s, struct cli_opt *opts, const char **val,
                         struct cli_list *parties, int *overdue) {
  size_t n = 0;
  int list[12], count = 0;
  for (int i = 0; i < 8 && s->allowed[i]; i++)
    list[count++] = s->allowed[i];
  if (s->type != DK_EVENT_TYPE_COUNT) {
    list[count++] = O_AT;
    list[count++] = O_BY;
  }
  for (int i = 0; i < count; i++) {
    const struct opt_desc *d = &OPTS[list[i]];
    struct cli_opt o = {CLI_OPT_STRING, d->name, d->arg, d->help, &val[list[i]], 0};
    if (d->flag)
      o.kind = CLI_OPT_FLAG, o.value = overdue;
    else if (list[i] == O_PARTY)
      o.kind = CLI_OPT_LIST, o.value = parties;
    if (is_required(s, list[i]))
      o.flags = CLI_OPT_REQUIRED;
    opts[n++] = o;
  }
  opts[n] = (struct cli_opt)CLI_END;
  return n;
}

/* ---- JSON and text rendering ------------------------------------------- */

json_t *cli_case_json(const struct dk_case_state *s, uint64_t now_ms, int full) {
  char hex[DK_CASE_ID_BYTES * 2 + 1];
  dk_hex(s->id, DK_CASE_ID_BYTES, hex);
  json_t *o = json_object();
  json_object_set_new(o, "id", json_string(hex));
  int bad = 0; /* text stored unchecked by an older node, repaired */
  json_object_set_new(o, "number", cli_json_text(s->number, &bad));
  json_object_set_new(o, "kind", json_string(dk_kind_name(s->kind)));
  json_object_set_new(o, "category", cli_json_text(s->category, &bad));
  json_object_set_new(o, "office", cli_json_text(s->office, &bad));
  json_object_set_new(o, "summary", cli_json_text(s->summary, &bad));
  json_object_set_new(o, "status", json_string(dk_status_name(s->status)));
  json_object_set_new(o, "class", s->triage == DK_TRIAGE_NONE
                                      ? json_null()
                                      : json_string(dk_triage_name(s->triage)));
  json_object_set_new(o, "opened_at", cli_json_time(s->opened_at_ms));
  json_object_set_new(o, "deadline", cli_json_time(s->deadline_ms));
  json_object_set_new(o, "overdue", json_boolean(dk_case_overdue(s, now_ms)));
  json_object_set_new(o, "closed_at", cli_json_time(s->closed_at_ms));
  json_object_set_new(o, "outcome", s->outcome == DK_OUTCOME_NONE
                                        ? json_null()
                                        : json_string(dk_outcome_name(s->outcome)));
  json_object_set_new(o, "escalated_to",
                      s->level == DK_LEVEL_NONE ? json_null() : json_string(dk_level_name(s->level)));
  json_object_set_new(o, "erased",
                      s->erased_at_ms == 0
                          ? json_null()
                          : json_pack("{s:o, s:o, s:o}", "at", cli_json_time(s->erased_at_ms),
                                      "by", cli_json_text(s->erased_by, &bad), "reason",
                                      cli_json_text(s->erase_reason, &bad)));
  if (!full) {
    json_object_set_new(o, "text_repaired", json_boolean(bad));
    return o;
  }
  json_t *parties = json_array();
  for (size_t i = 0; i < s->parties_count; i++)
    json_array_append_new(parties, cli_json_text(s->parties[i], &bad));
  json_object_set_new(o, "parties", parties);
  json_object_set_new(o, "outcome_text", s->outcome_text ? cli_json_text(s->outcome_text, &bad) : json_null());
  json_object_set_new(o, "outcome_at", cli_json_time(s->outcome_at_ms));
  json_object_set_new(o, "referral", s->referral == 0
                                         ? json_null()
                                         : json_string(dk_referral_name(s->referral)));
  json_object_set_new(o, "items_decided", json_integer((json_int_t)s->items));
  json_t *as = json_object();
  for (int r = 0; r < DK_ROLE_COUNT; r++)
    if (s->assignees[r].name)
      json_object_set_new(as, dk_role_name((enum dk_role)r), cli_json_text(s->assignees[r].name, &bad));
  json_object_set_new(o, "assignees", as);
  json_object_set_new(o, "sessions", json_integer((json_int_t)s->sessions_count));
  json_object_set_new(o, "minutes", json_integer((json_int_t)s->minutes_total));
  json_t *rv = json_array();
  for (size_t i = 0; i < s->revisits_count; i++)
    json_array_append_new(rv, json_pack("{s:o, s:i}", "at", cli_json_time(s->revisits[i].at_ms),
                                         "satisfaction", (int)s->revisits[i].satisfaction));
  json_object_set_new(o, "revisits", rv);
  json_t *wl = json_array();
  for (size_t i = 0; i < s->contacts_count; i++)
    json_array_append_new(
        wl, json_pack("{s:o, s:o, s:s, s:I}", "at", cli_json_time(s->contacts[i].at_ms), "person",
                      cli_json_text(s->contacts[i].person, &bad), "type",
                      dk_event_type_name(s->contacts[i].type), "minutes",
                      (json_int_t)s->contacts[i].minutes));
  json_object_set_new(o, "work_log", wl);
  json_t *cf = json_array();
  for (size_t i = 0; i < s->conflicts_count; i++) {
    char eh[DK_CASE_ID_BYTES * 2 + 1];
    dk_hex(s->conflicts[i].event_id, DK_CASE_ID_BYTES, eh);
    json_array_append_new(cf, json_pack("{s:s, s:o}", "event", eh, "text",
                                        cli_json_text(s->conflicts[i].text, &bad)));
  }
  json_object_set_new(o, "conflicts", cf);
  json_object_set_new(o, "events", json_integer((json_int_t)s->events_count));
  json_object_set_new(o, "reopened", json_integer((json_int_t)s->reopen_count));
  json_object_set_new(o, "text_repaired", json_boolean(bad));
  return o;
}

/* One line of an event. human: in the interface language, for the terminal;
 * otherwise the codes, for --json, whose values never change with the
 * locale. */
static const char *event_detail(const struct dk_event *ev, char *buf, size_t cap, int human) {
  const char *text = ev->text ? ev->text : "";
  switch (ev->type) {
  case DK_EVENT_OPEN:
    snprintf(buf, cap, "%s%s%s: %s",
             human ? cli_label("kind", dk_kind_name(ev->kind)) : dk_kind_name(ev->kind),
             ev->category && *ev->category ? "/" : "", ev->category ? ev->category : "", text);
    break;
  case DK_EVENT_TRIAGE:
    if (human)
      snprintf(buf, cap, _("class %s"), cli_label("class", dk_triage_name(ev->triage)));
    else
      snprintf(buf, cap, "class %s", dk_triage_name(ev->triage));
    break;
  case DK_EVENT_ASSIGN:
    if (human)
      snprintf(buf, cap, _("%s as %s"), ev->to, cli_label("role", dk_role_name(ev->role)));
    else
      snprintf(buf, cap, "%s as %s", ev->to, dk_role_name(ev->role));
    break;
  case DK_EVENT_SESSION:
    snprintf(buf, cap, human ? _("%llu min: %s") : "%llu min: %s",
             (unsigned long long)ev->minutes, text);
    break;
  case DK_EVENT_ESCALATE: {
    char to[128];
    if (human)
      snprintf(to, sizeof(to), _("to %s"), cli_label("level", dk_level_name(ev->level)));
    else
      snprintf(to, sizeof(to), "to %s", dk_level_name(ev->level));
    snprintf(buf, cap, "%s%s%s", to, *text ? ": " : "", text);
    break;
  }
  case DK_EVENT_FAIL: {
    char ref[128] = "";
    if (ev->refer && human)
      snprintf(ref, sizeof(ref), _("; referred to %s"),
               cli_label("referral", dk_referral_name(ev->refer)));
    else if (ev->refer)
      snprintf(ref, sizeof(ref), "; referred to %s", dk_referral_name(ev->refer));
    snprintf(buf, cap, "%s%s", text, ref);
    break;
  }
  case DK_EVENT_REVISIT: {
    char sat[64];
    snprintf(sat, sizeof(sat), human ? _("satisfaction %u") : "satisfaction %u", ev->satisfaction);
    snprintf(buf, cap, "%s%s%s", sat, *text ? ": " : "", text);
    break;
  }
  default:
    snprintf(buf, cap, "%s", text);
  }
  return buf;
}

struct show_ctx {
  json_t *events;
  int repaired;
  char tty[(DK_TEXT_BYTES_MAX + 512) * 3]; /* a detail made safe for a terminal */
};

static int show_event(void *arg, const struct dk_event *ev) {
  struct show_ctx *c = arg;
  char detail[DK_TEXT_BYTES_MAX + 512];
  event_detail(ev, detail, sizeof(detail), c->events == NULL);
  if (c->events) {
    char id[DK_CASE_ID_BYTES * 2 + 1], author[DK_PK_BYTES * 2 + 1];
    dk_hex(ev->id, DK_CASE_ID_BYTES, id);
    dk_hex(ev->author, DK_PK_BYTES, author);
    json_array_append_new(c->events,
                          json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:s, s:I}", "id", id, "type",
                                    dk_event_type_name(ev->type), "at", cli_json_time(ev->at_ms),
                                    "recorded_at", cli_json_time(ev->ts_ms), "by",
                                    cli_json_text(ev->by, &c->repaired), "detail",
                                    cli_json_text(detail, &c->repaired), "author", author,
                                    "seq", (json_int_t)ev->seq));
  } else {
    char at[32];
    cli_format_time(ev->at_ms, 0, at, sizeof(at));
    char by[DK_NAME_BYTES_MAX * 3];
    printf("  %s  ", at);
    cli_cell(cli_label("event", dk_event_type_name(ev->type)), 9);
    fputc(' ', stdout);
    cli_cell(ev->by && *ev->by ? cli_term_text(ev->by, 0, by, sizeof(by)) : "-", 14);
    printf(" %s\n", cli_term_text(detail, 0, c->tty, sizeof(c->tty)));
  }
  return 0;
}

/* A name made safe for the terminal, in t[i]. */
#define T(str, i) cli_term_text((str), 0, t[i], sizeof(t[i]))

static int show(dk_node *n, const uint8_t *case_id, int json) {
  struct dk_case_state s;
  dk_case_state_init(&s);
  int rc = dk_node_case_get(n, case_id, &s);
  if (rc != 0) {
    dk_case_state_release(&s);
    return cli_fail(rc, _("cannot read the case"));
  }
  uint64_t now = dk_node_now(n);
  struct show_ctx *sc = calloc(1, sizeof(*sc));
  if (sc == NULL) {
    dk_case_state_release(&s);
    return cli_error("out of memory");
  }
  int out = 0;
  if (s.erased_at_ms != 0) {
    /* A tombstone: no history to read, its bodies and key are gone. */
    if (json) {
      json_t *o = cli_case_json(&s, now, 1);
      json_object_set_new(o, "history", json_array());
      out = cli_print_json(o);
    } else {
      char hex[DK_CASE_ID_BYTES * 2 + 1], t1[32];
      dk_hex(s.id, DK_CASE_ID_BYTES, hex);
      cli_format_time(s.erased_at_ms, 0, t1, sizeof(t1));
      char t[4][DK_NAME_BYTES_MAX * 3];
      printf(_("%s  %s  [ERASED]\nid:        %s\noffice:    %s\nerased:    %s by %s\n"
               "reason:    %s\n"),
             T(s.number, 0), cli_label("kind", dk_kind_name(s.kind)), hex, T(s.office, 1), t1,
             T(s.erased_by, 2), T(s.erase_reason, 3));
    }
    free(sc);
    dk_case_state_release(&s);
    return out;
  }
  if (json) {
    json_t *o = cli_case_json(&s, now, 1);
    sc->events = json_array();
    rc = dk_node_case_events(n, case_id, show_event, sc);
    json_object_set_new(o, "history", sc->events);
    if (sc->repaired)
      json_object_set_new(o, "text_repaired", json_true());
    if (rc != 0) {
      json_decref(o);
      out = cli_fail(rc, _("cannot read the case history"));
    } else {
      out = cli_print_json(o);
    }
  } else {
    char hex[DK_CASE_ID_BYTES * 2 + 1], t1[32], t2[32];
    dk_hex(s.id, DK_CASE_ID_BYTES, hex);
    char t[4][DK_NAME_BYTES_MAX * 3];
    printf("%s  %s%s%s  [%s]%s%s\n", T(s.number, 0), cli_label("kind", dk_kind_name(s.kind)),
           *s.category ? "/" : "", T(s.category, 1),
           cli_label("status", dk_status_name(s.status)), dk_case_overdue(&s, now) ? "  " : "",
           dk_case_overdue(&s, now) ? _("OVERDUE") : "");
    printf(_("id:        %s\noffice:    %s\nsummary:   %s\n"), hex, T(s.office, 2),
           cli_term_text(s.summary, 0, sc->tty, sizeof(sc->tty)));
    printf(_("parties:   "));
    for (size_t i = 0; i < s.parties_count; i++)
      printf("%s%s", i ? ", " : "", T(s.parties[i], 0));
    printf("%s\n", s.parties_count ? "" : "-");
    cli_format_time(s.opened_at_ms, 0, t1, sizeof(t1));
    cli_format_time(s.deadline_ms, 0, t2, sizeof(t2));
    printf(_("opened:    %s\nclass:     %s   deadline: %s\n"), t1,
           s.triage == DK_TRIAGE_NONE ? "-" : cli_label("class", dk_triage_name(s.triage)), t2);
    for (int r = 0; r < DK_ROLE_COUNT; r++)
      if (s.assignees[r].name)
      {
        cli_cell(cli_label("role", dk_role_name((enum dk_role)r)), 10);
        printf(" %s\n", T(s.assignees[r].name, 0));
      }
    if (s.level != DK_LEVEL_NONE)
      printf(_("escalated: to %s\n"), cli_label("level", dk_level_name(s.level)));
    if (s.outcome != DK_OUTCOME_NONE)
      printf(_("outcome:   %s: %s%s%s%s\n"), cli_label("outcome", dk_outcome_name(s.outcome)),
             cli_term_text(s.outcome_text, 0, sc->tty, sizeof(sc->tty)),
             s.referral ? _(" (referred to ") : "",
             s.referral ? cli_label("referral", dk_referral_name(s.referral)) : "",
             s.referral ? ")" : "");
    if (s.closed_at_ms) {
      cli_format_time(s.closed_at_ms, 0, t1, sizeof(t1));
      printf(_("closed:    %s\n"), t1);
    }
    printf(_("sessions:  %llu (%llu minutes)   return visits: %zu\n"),
           (unsigned long long)s.sessions_count, (unsigned long long)s.minutes_total,
           s.revisits_count);
    for (size_t i = 0; i < s.conflicts_count; i++)
      printf(_("CONFLICT:  %s\n"), cli_term_text(s.conflicts[i].text, 0, sc->tty, sizeof(sc->tty)));
    printf(_("history:\n"));
    rc = dk_node_case_events(n, case_id, show_event, sc);
    if (rc != 0)
      out = cli_fail(rc, _("cannot read the case history"));
  }
  free(sc);
  dk_case_state_release(&s);
  return out;
}

struct list_ctx {
  int status, kind, overdue;
  uint64_t now;
  json_t *arr;
  size_t count;
};

static int list_one(void *arg, const struct dk_case_state *s) {
  struct list_ctx *c = arg;
  if (c->status >= 0 && (int)s->status != c->status)
    return 0;
  if (c->kind >= 0 && (int)s->kind != c->kind)
    return 0;
  int overdue = dk_case_overdue(s, c->now);
  if (c->overdue && !overdue)
    return 0;
  c->count++;
  if (c->arr) {
    json_array_append_new(c->arr, cli_case_json(s, c->now, 0));
    return 0;
  }
  char opened[32], deadline[32];
  cli_format_time(s->opened_at_ms, 1, opened, sizeof(opened));
  cli_format_time(s->deadline_ms, 1, deadline, sizeof(deadline));
  /* The summary without anything that could move the cursor or break the
   * line, then cut to 40 display columns on a character boundary. */
  char clean[DK_TEXT_BYTES_MAX * 3 + 4], summary[40 * 4 + 4], number[DK_CASE_NUMBER_BYTES * 3];
  cli_term_text(s->summary, 0, clean, sizeof(clean));
  cli_cut(clean, 40, 1, summary, sizeof(summary));
  cli_term_text(s->number, 0, number, sizeof(number));
  cli_cell(number[0] ? number : "-", 14);
  fputc(' ', stdout);
  cli_cell(cli_label("kind", dk_kind_name(s->kind)), 12);
  fputc(' ', stdout);
  cli_cell(s->erased_at_ms ? _("ERASED") : cli_label("status", dk_status_name(s->status)), 10);
  printf(" %-10s %-10s ", opened, deadline);
  cli_cell(overdue ? _("OVERDUE") : "", 7);
  printf(" %s\n", summary);
  return 0;
}

static int list(dk_node *n, int status, int kind, int overdue, int json) {
  struct list_ctx c = {status, kind, overdue, dk_node_now(n), json ? json_array() : NULL, 0};
  if (!json) {
    const char *heads[] = {_("NUMBER"), _("KIND"), _("STATUS"), _("OPENED"), _("DEADLINE"), ""};
    const size_t cols[] = {14, 12, 10, 10, 10, 7};
    for (int i = 0; i < 6; i++) {
      cli_cell(heads[i], cols[i]);
      fputc(' ', stdout);
    }
    printf("%s\n", _("SUMMARY"));
  }
  int rc = dk_node_case_foreach(n, list_one, &c);
  if (rc != 0) {
    json_decref(c.arr);
    return cli_fail(rc, _("cannot list cases"));
  }
  if (json)
    return cli_print_json(c.arr);
  printf(ngettext("(%zu case)\n", "(%zu cases)\n", c.count), c.count);
  return 0;
}

/* ---- the command ----------------------------------------------------------- */

#define PARTIES_CAP DK_PARTIES_MAX

static int case_sub(struct cli *c, int argc, char **argv);

static const struct cli_sub CASE_SUBS[] = {
    {"open", case_sub, N_("open a case")},
    {"triage", case_sub, N_("classify a case: clinic, emergency or joint")},
    {"assign", case_sub, N_("name who holds a role on a case")},
    {"session", case_sub, N_("log a mediation session")},
    {"escalate", case_sub, N_("pass a case up to the street or district")},
    {"resolve", case_sub, N_("record an agreement")},
    {"fail", case_sub, N_("record that mediation failed, and the referral")},
    {"close", case_sub, N_("close a case")},
    {"reopen", case_sub, N_("reopen a closed case")},
    {"revisit", case_sub, N_("record a return visit and satisfaction")},
    {"note", case_sub, N_("add a note")},
    {"show", case_sub, N_("show a case and its history")},
    {"list", case_sub, N_("list cases")},
    {"import", cmd_case_import, N_("import a ledger (CSV or XLSX)")},
    {"export", cmd_case_export, N_("export the ledger (CSV or XLSX)")},
    {"erase", cmd_case_erase, N_("erase a case's personal data for good")},
    {NULL, NULL, NULL}};

int cmd_case(struct cli *c, int argc, char **argv) {
  return cli_dispatch(c, "docket case", CASE_ABOUT, CASE_SUBS, argc, argv);
}

static int case_sub(struct cli *c, int argc, char **argv) {
  const struct sub *s = NULL;
  for (size_t i = 0; i < sizeof(SUBS) / sizeof(SUBS[0]); i++)
    if (strcmp(argv[0], SUBS[i].name) == 0)
      s = &SUBS[i];
  if (s == NULL)
    return 1; /* cannot happen: CASE_SUBS and SUBS name the same */
  const char *val[O_COUNT] = {0};
  const char *parties[PARTIES_CAP];
  struct cli_list party_list = {parties, 0, PARTIES_CAP};
  int overdue = 0;
  struct cli_opt opts[16];
  build_opts(s, opts, val, &party_list, &overdue);
  char path[32];
  snprintf(path, sizeof(path), "case %s", s->name);
  const char *elsewhere[O_COUNT];
  size_t ne = 0;
  for (int i = 1; i < O_COUNT; i++)
    if (OPTS[i].name)
      elsewhere[ne++] = OPTS[i].name;
  elsewhere[ne] = NULL;
  struct cli_command cmd = {path, s->takes_case ? "CASE" : NULL, (size_t)s->takes_case,
                            (size_t)s->takes_case, s->help, elsewhere};
  const char *case_ref = NULL;
  size_t nargs = 0;
  int prc = cli_parse(c, &cmd, opts, argc, argv, &case_ref, &nargs);
  if (prc != 0)
    return CLI_EXIT(prc);
  int json = c->json;
  size_t parties_count = party_list.count;

  /* Build the event from the options before unlocking anything, so usage
   * errors cost nothing. */
  struct dk_event ev;
  dk_event_init(&ev);
  ev.type = s->type;
  int kind = -1, status = -1;
  if (val[O_KIND]) {
    enum dk_kind k;
    if (dk_kind_parse(val[O_KIND], &k) != 0)
      return cli_command_usage_error(&cmd, opts, _("unknown kind '%s' (dispute, hazard, task, service, "
                             "consultation, legal_aid, advice, meeting)"), val[O_KIND]);
    kind = (int)k;
    ev.kind = k;
  }
  if (val[O_STATUS]) {
    enum dk_status st;
    if (dk_status_parse(val[O_STATUS], &st) != 0)
      return cli_command_usage_error(&cmd, opts, _("unknown status '%s'"), val[O_STATUS]);
    status = (int)st;
  }
  if (val[O_CATEGORY] && dk_category_valid(ev.kind, val[O_CATEGORY]) != 0)
    return cli_command_usage_error(&cmd, opts, _("'%s' is not a category of %s (one of: %s)"),
                           val[O_CATEGORY], dk_kind_name(ev.kind), dk_category_names(ev.kind));
  if (val[O_CLASS] && dk_triage_parse(val[O_CLASS], &ev.triage) != 0)
    return cli_command_usage_error(&cmd, opts, _("unknown class '%s'"), val[O_CLASS]);
  if (val[O_ROLE] && dk_role_parse(val[O_ROLE], &ev.role) != 0)
    return cli_command_usage_error(&cmd, opts, _("unknown role '%s'"), val[O_ROLE]);
  if (val[O_LEVEL] && dk_level_parse(val[O_LEVEL], &ev.level) != 0)
    return cli_command_usage_error(&cmd, opts, _("unknown level '%s' (street or district)"), val[O_LEVEL]);
  if (val[O_REFER] && (dk_referral_parse(val[O_REFER], &ev.refer) != 0 || ev.refer == 0))
    return cli_command_usage_error(&cmd, opts, _("unknown referral '%s'"), val[O_REFER]);
  uint64_t u;
  if (val[O_MINUTES]) {
    if (cli_parse_u64(val[O_MINUTES], 0, 24 * 60, &u) != 0)
      return cli_command_usage_error(&cmd, opts, _("--minutes must be 0 to 1440"));
    ev.minutes = u;
  }
  if (val[O_ITEMS]) {
    if (cli_parse_u64(val[O_ITEMS], 0, 1000, &u) != 0)
      return cli_command_usage_error(&cmd, opts, _("--items must be 0 to 1000"));
    ev.items = u;
  }
  if (val[O_SATISFACTION]) {
    if (cli_parse_u64(val[O_SATISFACTION], 1, 5, &u) != 0)
      return cli_command_usage_error(&cmd, opts, _("--satisfaction must be 1 to 5"));
    ev.satisfaction = (uint32_t)u;
  }
  uint64_t at = 0;
  if (val[O_AT] && cli_parse_time(val[O_AT], &at) != 0)
    return cli_command_usage_error(&cmd, opts, _("--at '%s' is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM)"),
                           val[O_AT]);
  const char *text = val[O_SUMMARY] ? val[O_SUMMARY]
                     : val[O_NOTE]  ? val[O_NOTE]
                     : val[O_AGREEMENT] ? val[O_AGREEMENT]
                     : val[O_REASON]    ? val[O_REASON]
                                        : val[O_TEXT];
  ev.text = (char *)text;
  ev.by = (char *)val[O_BY];
  ev.to = (char *)val[O_TO];
  ev.category = (char *)val[O_CATEGORY];
  ev.number = (char *)val[O_NUMBER];
  ev.parties = (char **)parties;
  ev.parties_count = parties_count;
  /* A required text must say something: "" and blanks are refused. */
  for (int i = 0; i < 3 && s->required[i]; i++) {
    const char *v = val[s->required[i]];
    if (v && OPTS[s->required[i]].arg && strcmp(OPTS[s->required[i]].arg, "TEXT") == 0 &&
        v[strspn(v, " \t\r\n")] == 0)
      return cli_command_usage_error(&cmd, opts, _("--%s may not be empty"),
                                     OPTS[s->required[i]].name);
  }
  if (text && strlen(text) > DK_TEXT_BYTES_MAX)
    return cli_command_usage_error(&cmd, opts, _("text longer than %d bytes"), DK_TEXT_BYTES_MAX);

  dk_node *n = cli_open(c, 1);
  if (n == NULL)
    return 1;
  uint64_t now = dk_node_now(n);
  if (at > now + 3600000u) {
    dk_node_close(n);
    return cli_command_usage_error(&cmd, opts, _("--at is in the future"));
  }
  ev.at_ms = at ? at : now;
  int out = 0, rc;
  uint8_t case_id[DK_CASE_ID_BYTES];
  char hex[DK_CASE_ID_BYTES * 2 + 1];

  if (s->type == DK_EVENT_TYPE_COUNT && case_ref == NULL) {
    out = list(n, status, kind, overdue, json);
    goto done;
  }
  if (s->type == DK_EVENT_OPEN) {
    char number[DK_CASE_NUMBER_BYTES];
    rc = dk_node_case_open(n, &ev, case_id, number);
    if (rc == DK_EEXIST) {
      out = cli_error_code(rc, _("case number %s is already in use"), val[O_NUMBER]);
      goto done;
    }
    if (rc == DK_EINVAL || rc == DK_ELIMIT) {
      out = cli_command_usage_error(&cmd, opts, _("the case is not valid: %s (empty party name, or "
                            "something too long?)"), dk_strerror(rc));
      goto done;
    }
    if (rc != 0) {
      out = cli_fail(rc, _("cannot open the case"));
      goto done;
    }
    dk_hex(case_id, DK_CASE_ID_BYTES, hex);
    if (json)
      out = cli_print_json(json_pack("{s:s, s:s, s:s}", "number", number, "id", hex, "status",
                                     "open"));
    else
      printf(_("opened %s  (id %.16s)\n"), number, hex);
    goto done;
  }

  if (cli_case_find(n, case_ref, case_id) != 0) {
    out = 1;
    goto done;
  }
  if (s->type == DK_EVENT_TYPE_COUNT) {
    out = show(n, case_id, json);
    goto done;
  }
  rc = dk_node_case_append(n, case_id, &ev);
  if (rc == DK_ENOKEY) {
    struct dk_case_state st;
    dk_case_state_init(&st);
    if (dk_node_case_get(n, case_id, &st) == 0 && st.erased_at_ms != 0) {
      out = cli_error_code(DK_ENOKEY, _("cannot %s case %s: it is erased"), s->name, case_ref);
      dk_case_state_release(&st);
      goto done;
    }
    dk_case_state_release(&st);
  }
  if (rc == DK_ETRANSITION) {
    struct dk_case_state st;
    dk_case_state_init(&st);
    const char *cur = "?";
    if (dk_node_case_get(n, case_id, &st) == 0)
      cur = dk_status_name(st.status);
    out = cli_error_code(DK_ETRANSITION, _("cannot %s case %s: it is %s%s"), s->name, case_ref, cur,
                    s->type == DK_EVENT_CLOSE && st.kind == DK_KIND_DISPUTE
                        ? " (a dispute is resolved or failed before it is closed)"
                        : "");
    dk_case_state_release(&st);
    goto done;
  }
  if (rc == DK_EINVAL || rc == DK_ELIMIT) {
    out = cli_command_usage_error(&cmd, opts, _("the step is not valid: %s"), dk_strerror(rc));
    goto done;
  }
  if (rc != 0) {
    out = cli_fail(rc, _("cannot record the step"));
    goto done;
  }
  struct dk_case_state st;
  dk_case_state_init(&st);
  rc = dk_node_case_get(n, case_id, &st);
  if (rc != 0) {
    dk_case_state_release(&st);
    out = cli_fail(rc, _("recorded, but cannot read the case back"));
    goto done;
  }
  dk_hex(ev.id, DK_CASE_ID_BYTES, hex);
  if (json) {
    char case_hex[DK_CASE_ID_BYTES * 2 + 1];
    dk_hex(case_id, DK_CASE_ID_BYTES, case_hex);
    out = cli_print_json(json_pack("{s:s, s:o, s:s, s:s, s:s}", "id", case_hex, "number",
                                   cli_json_str(st.number), "event", hex, "type", s->name,
                                   "status", dk_status_name(st.status)));
  } else {
    printf(_("%s: %s recorded; status %s\n"), st.number, cli_label("event", s->name),
           cli_label("status", dk_status_name(st.status)));
  }
  dk_case_state_release(&st);
done:
  /* ev points at argv strings: only what the node allocated is freed. */
  free(ev.deps);
  dk_node_close(n);
  return out;
}
