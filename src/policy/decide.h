/*
 * The routing decision: ordered rules, first match wins, then the default;
 * model pinning; the reroute of a pinned model that may not receive the
 * request's data. A decision is a value with the reason in words. It names
 * the candidates; dispatch (src/upstream/dispatch.h) then picks a backend and
 * enforces the clearance invariant again, whatever the decision says.
 */
#ifndef SEAM_POLICY_DECIDE_H
#define SEAM_POLICY_DECIDE_H

#include "config/config.h"
#include "core/canon.h"
#include "core/rc.h"

#include <stdbool.h>

/* What the rules look at besides the task. */
typedef struct seam_route_facts {
    const char *model; /* requested model name; NULL or "auto" for policy choice */
    bool has_images, has_tools;
} seam_route_facts;

typedef struct seam_decision {
    /* SEAM_OK; SEAM_ERR_NOT_FOUND for an unknown model (404);
     * SEAM_ERR_FORBIDDEN for a pinned model the data may not reach when
     * policy.on_pinned_violation is reject (403). */
    seam_rc rc;
    const seam_pool_conf *pool;    /* target pool; NULL when pinned outside any pool */
    const char *pinned_model;      /* set: candidates are the backends listing it */
    const char *rule;              /* rule name, "default" or "pinned" */
    const seam_rule_conf *matched; /* the rule, when one matched */
    /* Pools to try, in order, when <pool> cannot serve (the matched rule's
     * `fallback`; indexes into cfg->pools). Dispatch applies the clearance
     * invariant to every one of them again. */
    const size_t *fallbacks;
    size_t nfallbacks;
    bool rerouted;    /* a pinned model was rerouted for clearance */
    char reason[256]; /* one line, ASCII, for headers and logs */
} seam_decision;

/* Decides for <task> and <facts> under <cfg>. Never fails for lack of memory
 * (it allocates nothing); the result refers into <cfg>. */
void seam_policy_decide(const seam_config *cfg, const seam_task *task,
                        const seam_route_facts *facts, seam_decision *out);

/* True when <rule>'s conditions all hold. */
bool seam_policy_rule_matches(const seam_rule_conf *rule, const seam_task *task,
                              const seam_route_facts *facts);

/* True when some backend lists <model>. */
bool seam_policy_model_known(const seam_config *cfg, const char *model);

#endif
