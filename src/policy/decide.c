/*
 * Rule evaluation. Rules are few and evaluation is a handful of bit tests per
 * rule, so a linear scan in order is both the documented semantics (first
 * match wins) and fast enough for thousands of rules.
 */
#include "policy/decide.h"
#include "upstream/dispatch.h"

#include <stdio.h>
#include <string.h>

static bool in_mask(uint32_t mask, unsigned v)
{
    return mask == 0 || (mask & (1u << v)) != 0;
}

static bool model_listed(char **models, size_t n, const char *model)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(models[i], model) == 0)
            return true;
    return false;
}

bool seam_policy_rule_matches(const seam_rule_conf *r, const seam_task *t,
                              const seam_route_facts *f)
{
    if (!in_mask(r->kinds, t->kind) || !in_mask(r->sensitivities, t->sensitivity) ||
        !in_mask(r->complexities, t->complexity))
        return false;
    if (r->has_tokens_gt && !(t->tokens > r->tokens_gt))
        return false;
    if (r->has_tokens_lte && !(t->tokens <= r->tokens_lte))
        return false;
    if (r->nmodels > 0) {
        const char *m = f && f->model ? f->model : "auto";
        if (!model_listed(r->models, r->nmodels, m))
            return false;
    }
    if (r->has_images >= 0 && (f ? f->has_images : false) != (r->has_images == 1))
        return false;
    if (r->has_tools >= 0 && (f ? f->has_tools : false) != (r->has_tools == 1))
        return false;
    return true;
}

bool seam_policy_model_known(const seam_config *cfg, const char *model)
{
    for (size_t i = 0; i < cfg->nbackends; i++)
        if (model_listed(cfg->backends[i].models, cfg->backends[i].nmodels, model))
            return true;
    return false;
}

/* Appends "name in [a,b]" for the mask to <s>. */
static void describe_mask(char *s, size_t n, const char *label, uint32_t mask, unsigned value,
                          const char *(*name)(unsigned), unsigned count)
{
    if (mask == 0)
        return;
    size_t len = strlen(s);
    snprintf(s + len, n - len, "%s%s %s in [", len ? ", " : "", label, name(value));
    for (unsigned i = 0, first = 1; i < count; i++) {
        if (!(mask & (1u << i)))
            continue;
        len = strlen(s);
        snprintf(s + len, n - len, "%s%s", first ? "" : ",", name(i));
        first = 0;
    }
    len = strlen(s);
    snprintf(s + len, n - len, "]");
}

static const char *kind_n(unsigned v)
{
    return seam_kind_name((seam_kind)v);
}
static const char *sens_n(unsigned v)
{
    return seam_sensitivity_name((seam_sensitivity)v);
}
static const char *cplx_n(unsigned v)
{
    return seam_complexity_name((seam_complexity)v);
}

/* Explains why <r> matched <t>, e.g. "sensitivity internal in [internal,regulated]". */
static void explain_rule(const seam_rule_conf *r, const seam_task *t, char *s, size_t n)
{
    s[0] = '\0';
    describe_mask(s, n, "kind", r->kinds, t->kind, kind_n, SEAM_KIND__COUNT);
    describe_mask(s, n, "sensitivity", r->sensitivities, t->sensitivity, sens_n, SEAM_SENS__COUNT);
    describe_mask(s, n, "complexity", r->complexities, t->complexity, cplx_n, SEAM_CPLX__COUNT);
    size_t len = strlen(s);
    if (r->has_tokens_gt)
        len += (size_t)snprintf(s + len, n > len ? n - len : 0, "%stokens %llu > %llu",
                                len ? ", " : "", (unsigned long long)t->tokens,
                                (unsigned long long)r->tokens_gt);
    if (r->has_tokens_lte && len < n)
        len += (size_t)snprintf(s + len, n - len, "%stokens %llu <= %llu", len ? ", " : "",
                                (unsigned long long)t->tokens, (unsigned long long)r->tokens_lte);
    if (r->nmodels > 0 && len < n)
        len += (size_t)snprintf(s + len, n - len, "%smodel listed", len ? ", " : "");
    if (r->has_images >= 0 && len < n)
        len += (size_t)snprintf(s + len, n - len, "%shas_images %s", len ? ", " : "",
                                r->has_images ? "true" : "false");
    if (r->has_tools >= 0 && len < n)
        len += (size_t)snprintf(s + len, n - len, "%shas_tools %s", len ? ", " : "",
                                r->has_tools ? "true" : "false");
    if (len == 0)
        snprintf(s, n, "no conditions");
}

static const seam_pool_conf *pool_of_backend(const seam_config *cfg, size_t backend)
{
    for (size_t i = 0; i < cfg->npools; i++)
        for (size_t j = 0; j < cfg->pools[i].nbackends; j++)
            if (cfg->pools[i].backends[j] == backend)
                return &cfg->pools[i];
    return NULL;
}

static void decide_by_rules(const seam_config *cfg, const seam_task *t, const seam_route_facts *f,
                            seam_decision *out)
{
    char why[160];
    for (size_t i = 0; i < cfg->nrules; i++) {
        const seam_rule_conf *r = &cfg->rules[i];
        if (!seam_policy_rule_matches(r, t, f))
            continue;
        out->pool = &cfg->pools[r->pool];
        out->rule = r->name;
        out->matched = r;
        out->fallbacks = r->fallbacks;
        out->nfallbacks = r->nfallbacks;
        explain_rule(r, t, why, sizeof(why));
        snprintf(out->reason, sizeof(out->reason), "rule %s matched (%s) -> pool %s", r->name, why,
                 out->pool->name);
        return;
    }
    out->pool = &cfg->pools[cfg->default_pool];
    out->rule = "default";
    snprintf(out->reason, sizeof(out->reason),
             "no rule matched (kind %s, sensitivity %s, complexity %s, tokens %llu) -> default "
             "pool %s",
             seam_kind_name(t->kind), seam_sensitivity_name(t->sensitivity),
             seam_complexity_name(t->complexity), (unsigned long long)t->tokens, out->pool->name);
}

void seam_policy_decide(const seam_config *cfg, const seam_task *t, const seam_route_facts *f,
                        seam_decision *out)
{
    memset(out, 0, sizeof(*out));
    out->rc = SEAM_OK;
    const char *model = f && f->model ? f->model : "auto";

    if (strcmp(model, "auto") == 0 || !seam_policy_model_known(cfg, model)) {
        if (strcmp(model, "auto") != 0 && cfg->unknown_model == SEAM_UNKNOWN_MODEL_REJECT) {
            out->rc = SEAM_ERR_NOT_FOUND;
            out->rule = "none";
            snprintf(out->reason, sizeof(out->reason),
                     "model '%.64s' is not served by any backend (use \"auto\" to let the policy "
                     "choose)",
                     model);
            return;
        }
        decide_by_rules(cfg, t, f, out);
        return;
    }

    /* A model that a backend lists pins the request to the backends listing
     * it, unless none of them may receive data this sensitive. */
    out->rule = "pinned";
    const seam_backend_conf *first = NULL;
    bool cleared = false;
    for (size_t i = 0; i < cfg->nbackends; i++) {
        const seam_backend_conf *b = &cfg->backends[i];
        if (!model_listed(b->models, b->nmodels, model))
            continue;
        if (!first)
            first = b;
        if (seam_clearance_allows(b, t->sensitivity))
            cleared = true;
    }
    if (cleared) {
        out->pinned_model = model;
        out->pool = pool_of_backend(cfg, first->index);
        snprintf(out->reason, sizeof(out->reason), "model %.64s is served by %s -> pinned", model,
                 first->name);
        return;
    }
    if (cfg->on_pinned_violation == SEAM_PINNED_REJECT) {
        out->rc = SEAM_ERR_FORBIDDEN;
        snprintf(out->reason, sizeof(out->reason),
                 "model %.64s is served by %s (clearance %s) but the request is %s; "
                 "policy.on_pinned_violation is reject",
                 model, first->name, seam_sensitivity_name(first->clearance),
                 seam_sensitivity_name(t->sensitivity));
        return;
    }
    int local = seam_config_pool_index(cfg, "local");
    out->rerouted = true;
    out->pool = local >= 0 ? &cfg->pools[local] : NULL;
    snprintf(out->reason, sizeof(out->reason),
             "model %.64s is served by %s (clearance %s) but the request is %s -> rerouted to "
             "pool local",
             model, first->name, seam_sensitivity_name(first->clearance),
             seam_sensitivity_name(t->sensitivity));
}
