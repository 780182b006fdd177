/* The words for docket's code values in the interface language: what the
 * offices call a dispute, a joint consultation, a mediator. The codes
 * themselves (JSON, options, ledgers) never change. */
#include <string.h>

#include "cli/cli.h"

/* Marked for xgettext; looked up by cli_label as "GROUP:code". */
static const char *const LABELS[] = {
    N_("kind:dispute"), N_("kind:hazard"), N_("kind:task"), N_("kind:service"),
    N_("kind:consultation"), N_("kind:legal_aid"), N_("kind:advice"), N_("kind:meeting"),
    N_("class:clinic"), N_("class:emergency"), N_("class:joint"),
    N_("role:legal-advisor"), N_("role:chief-advisor"), N_("role:mediator"),
    N_("role:grid-worker"),
    N_("level:community"), N_("level:street"), N_("level:district"), N_("level:auditor"),
    N_("referral:legal-aid"), N_("referral:litigation"), N_("referral:arbitration"),
    N_("status:open"), N_("status:triaged"), N_("status:mediating"), N_("status:resolved"),
    N_("status:failed"), N_("status:closed"),
    N_("outcome:agreed"), N_("outcome:failed"),
    N_("event:open"), N_("event:triage"), N_("event:assign"), N_("event:session"),
    N_("event:escalate"), N_("event:resolve"), N_("event:fail"), N_("event:close"),
    N_("event:reopen"), N_("event:revisit"), N_("event:note"),
};

const char *cli_label(const char *group, const char *code) {
  if (code == NULL || code[0] == 0)
    return "-";
  char key[64];
  int n = snprintf(key, sizeof(key), "%s:%s", group, code);
  if (n < 0 || (size_t)n >= sizeof(key))
    return code;
  const char *t = gettext(key);
  if (t == key || strcmp(t, key) == 0)
    return code; /* English: the code is the word */
  (void)LABELS;
  return t;
}
