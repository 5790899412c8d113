/*
 * The clearance invariant, tested apart from the rules: whatever a decision
 * names (a rule, a pin, a misconfigured pool), dispatch never picks a backend
 * whose clearance is below the request's sensitivity, and the upstream
 * client refuses to send such a request even if asked directly.
 */
#include "testutil.h"

#include "policy/decide.h"
#include "upstream/client.h"
#include "upstream/dispatch.h"
#include "core/log.h"

#include <event2/event.h>
#include <stdlib.h>

static const char mixed_yaml[] =
    "backends:\n"
    "  - { name: c-pub, provider: openai, url: http://127.0.0.1:1, location: cloud, models: [a] }\n"
    "  - { name: c-int, provider: openai, url: http://127.0.0.1:2, location: cloud, clearance: "
    "internal, models: [b] }\n"
    "  - { name: l-int, provider: openai, url: http://127.0.0.1:3, location: local, clearance: "
    "internal, models: [c] }\n"
    "  - { name: l-reg, provider: openai, url: http://127.0.0.1:4, location: local, models: [d] }\n"
    "pools:\n"
    "  local: [l-int, l-reg]\n"
    "  cloud: [c-pub, c-int]\n"
    "  everything: [c-pub, c-int, l-int, l-reg]\n"
    "  cloudonly: [c-pub]\n"
    "policy:\n"
    "  rules:\n"
    "    - { name: misrouted, when: { sensitivity: [regulated] }, route: cloudonly }\n"
    "  default: everything\n";

static void clearance_table(void **state)
{
    seam_backend_conf b = {0};
    for (int c = 0; c < SEAM_SENS__COUNT; c++)
        for (int s = 0; s < SEAM_SENS__COUNT; s++) {
            b.clearance = (seam_sensitivity)c;
            assert_int_equal(seam_clearance_allows(&b, (seam_sensitivity)s), s <= c);
        }
    assert_false(seam_clearance_allows(NULL, SEAM_SENS_PUBLIC));
}

static void defaults_by_location(void **state)
{
    seam_config *cfg = load_yaml(reference_yaml);
    assert_int_equal(cfg->backends[0].clearance, SEAM_SENS_REGULATED);
    assert_int_equal(cfg->backends[1].clearance, SEAM_SENS_PUBLIC);
    seam_config_free(cfg);
}

/* Every pool x sensitivity x health pattern: a pick is always cleared. */
static void invariant_holds_everywhere(void **state)
{
    seam_config *cfg = load_yaml(mixed_yaml);
    seam_health_table *h = seam_health_new(cfg->nbackends);
    int picks = 0, refusals = 0;
    for (unsigned pattern = 0; pattern < (1u << cfg->nbackends); pattern++) {
        for (size_t i = 0; i < cfg->nbackends; i++)
            seam_health_set(h, i, cfg->backends[i].name,
                            (pattern & (1u << i)) ? SEAM_HEALTH_DOWN : SEAM_HEALTH_UP,
                            (pattern & (1u << i)) ? "down" : NULL);
        for (size_t p = 0; p < cfg->npools; p++)
            for (int s = 0; s < SEAM_SENS__COUNT; s++) {
                seam_decision d = {.rc = SEAM_OK, .pool = &cfg->pools[p], .rule = "x"};
                const seam_backend_conf *b = NULL;
                char why[400];
                seam_rc rc = seam_dispatch_pick(cfg, &d, (seam_sensitivity)s, h,
                                                SEAM_PICK_IGNORE_KEYS, &b, why, sizeof(why));
                if (rc == SEAM_OK) {
                    assert_non_null(b);
                    assert_true(seam_clearance_allows(b, (seam_sensitivity)s));
                    picks++;
                } else {
                    assert_int_equal(rc, SEAM_ERR_NO_BACKEND);
                    assert_null(b);
                    assert_non_null(strstr(why, "clearance"));
                    refusals++;
                }
            }
    }
    assert_true(picks > 0);
    assert_true(refusals > 0);
    seam_health_free(h);
    seam_config_free(cfg);
}

/* Backends that differ in clearance, capabilities and context window, for
 * the property below; the pools mix them. */
static const char caps_yaml[] =
    "backends:\n"
    "  - { name: c-big, provider: openai, url: http://127.0.0.1:1, location: cloud, models: [a],"
    " context_window: 100000 }\n"
    "  - { name: c-text, provider: openai, url: http://127.0.0.1:2, location: cloud, clearance: "
    "internal, models: [b], capabilities: [], context_window: 200000 }\n"
    "  - { name: l-vision, provider: ollama, url: http://127.0.0.1:3, location: local, models: [c],"
    " capabilities: [vision, thinking], context_window: 8000 }\n"
    "  - { name: l-tools, provider: ollama, url: http://127.0.0.1:4, location: local, clearance: "
    "internal, models: [d], capabilities: [tools, embeddings], context_window: 32000 }\n"
    "  - { name: l-any, provider: openai, url: http://127.0.0.1:5, location: local, models: [e] }\n"
    "pools:\n"
    "  local: [l-vision, l-tools]\n"
    "  cloud: [c-big, c-text]\n"
    "  everything: [c-text, c-big, l-tools, l-vision, l-any]\n"
    "  mixed: [c-text, l-vision]\n"
    "  unbounded: [l-any]\n";

/* The needs of a task from 4 bits. */
static void set_needs(seam_task *t, unsigned bits, uint64_t tokens)
{
    t->needs.vision = bits & 1u;
    t->needs.tools = bits & 2u;
    t->needs.thinking = bits & 4u;
    t->needs.embeddings = bits & 8u;
    t->needs.context_tokens = tokens;
}

/* The invariant holds as strongly with capabilities and context windows in
 * play, whatever the health: a pick is cleared, capable and large enough;
 * a backend that is all three is always found; the refusal says why, as
 * the right code, computed here independently of dispatch. */
static void invariant_holds_with_needs(void **state)
{
    seam_config *cfg = load_yaml(caps_yaml);
    seam_health_table *h = seam_health_new(cfg->nbackends);
    const uint64_t sizes[] = {0, 7999, 8000, 8001, 50000, 150000, 250000};
    int picks = 0, too_large = 0, no_backend = 0;
    for (unsigned pattern = 0; pattern < (1u << cfg->nbackends); pattern++) {
        for (size_t i = 0; i < cfg->nbackends; i++)
            seam_health_set(h, i, cfg->backends[i].name,
                            (pattern & (1u << i)) ? SEAM_HEALTH_DOWN : SEAM_HEALTH_UP,
                            (pattern & (1u << i)) ? "down" : NULL);
        for (size_t p = 0; p < cfg->npools; p++)
            for (int s = 0; s < SEAM_SENS__COUNT; s++)
                for (unsigned needs = 0; needs < 16; needs++)
                    for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
                        seam_task t = {.sensitivity = (seam_sensitivity)s};
                        set_needs(&t, needs, sizes[z]);
                        unsigned need = seam_dispatch_needed_caps(&t);
                        bool eligible = false, capable = false;
                        for (size_t k = 0; k < cfg->pools[p].nbackends; k++) {
                            const seam_backend_conf *c = &cfg->backends[cfg->pools[p].backends[k]];
                            if (!seam_clearance_allows(c, t.sensitivity) ||
                                (c->capabilities & need) != need)
                                continue;
                            capable = true;
                            if (!c->context_window || sizes[z] <= c->context_window)
                                eligible = true;
                        }
                        seam_decision d = {.rc = SEAM_OK, .pool = &cfg->pools[p], .rule = "x"};
                        const seam_backend_conf *b = NULL;
                        char why[600];
                        seam_rc rc = seam_dispatch_pick_task(cfg, &d, &t, h, SEAM_PICK_IGNORE_KEYS,
                                                             &b, why, sizeof(why));
                        if (rc == SEAM_OK) {
                            assert_non_null(b);
                            assert_true(seam_clearance_allows(b, t.sensitivity));
                            assert_int_equal(b->capabilities & need, need);
                            assert_true(!b->context_window || sizes[z] <= b->context_window);
                            assert_true(seam_backend_fits(b, &t));
                            assert_true(eligible);
                            picks++;
                            continue;
                        }
                        assert_null(b);
                        assert_false(eligible);
                        if (capable) {
                            assert_int_equal(rc, SEAM_ERR_TOO_LARGE);
                            assert_non_null(strstr(why, "largest context window"));
                            too_large++;
                        } else {
                            assert_int_equal(rc, SEAM_ERR_NO_BACKEND);
                            assert_true(strstr(why, "clearance") ||
                                        strstr(why, "lacks capability"));
                            no_backend++;
                        }
                    }
    }
    assert_true(picks > 0);
    assert_true(too_large > 0);
    assert_true(no_backend > 0);
    seam_health_free(h);
    seam_config_free(cfg);
}

static void capability_skips_and_names_what_is_missing(void **state)
{
    seam_config *cfg = load_yaml(caps_yaml);
    seam_decision d = {.pool = &cfg->pools[seam_config_pool_index(cfg, "mixed")], .rule = "x"};
    const seam_backend_conf *b;
    char why[400];
    seam_task t = {.sensitivity = SEAM_SENS_PUBLIC};
    /* No needs: the first backend. */
    assert_int_equal(seam_dispatch_pick_task(cfg, &d, &t, NULL, 0, &b, why, sizeof(why)), SEAM_OK);
    assert_string_equal(b->name, "c-text");
    /* An image skips the text-only backend. */
    t.needs.vision = true;
    assert_int_equal(seam_dispatch_pick_task(cfg, &d, &t, NULL, 0, &b, why, sizeof(why)), SEAM_OK);
    assert_string_equal(b->name, "l-vision");
    /* Tools too: nobody has both. */
    t.needs.tools = true;
    assert_int_equal(seam_dispatch_pick_task(cfg, &d, &t, NULL, 0, &b, why, sizeof(why)),
                     SEAM_ERR_NO_BACKEND);
    assert_null(b);
    assert_non_null(strstr(why, "c-text: lacks capability vision, tools"));
    assert_non_null(strstr(why, "l-vision: lacks capability tools"));
    /* Undeclared capabilities are never held against a backend. */
    seam_decision u = {.pool = &cfg->pools[seam_config_pool_index(cfg, "unbounded")], .rule = "x"};
    set_needs(&t, 15, 10000000);
    assert_int_equal(seam_dispatch_pick_task(cfg, &u, &t, NULL, 0, &b, why, sizeof(why)), SEAM_OK);
    assert_string_equal(b->name, "l-any");
    seam_config_free(cfg);
}

static void context_window_skips_and_reports_the_largest(void **state)
{
    seam_config *cfg = load_yaml(caps_yaml);
    seam_decision d = {.pool = &cfg->pools[seam_config_pool_index(cfg, "local")], .rule = "x"};
    const seam_backend_conf *b;
    char why[400];
    seam_task t = {.sensitivity = SEAM_SENS_PUBLIC};
    t.needs.context_tokens = 8000; /* exactly l-vision's window: it fits */
    assert_int_equal(seam_dispatch_pick_task(cfg, &d, &t, NULL, 0, &b, why, sizeof(why)), SEAM_OK);
    assert_string_equal(b->name, "l-vision");
    t.needs.context_tokens = 8001;
    assert_int_equal(seam_dispatch_pick_task(cfg, &d, &t, NULL, 0, &b, why, sizeof(why)), SEAM_OK);
    assert_string_equal(b->name, "l-tools");
    t.needs.context_tokens = 40000;
    assert_int_equal(seam_dispatch_pick_task(cfg, &d, &t, NULL, 0, &b, why, sizeof(why)),
                     SEAM_ERR_TOO_LARGE);
    assert_null(b);
    assert_string_equal(why, "request needs ~40000 tokens; the largest context window among "
                             "allowed backends is 32000 (l-tools)");
    /* Only backends the request may reach count: regulated data cannot go to
     * l-tools (internal), so the largest allowed window is l-vision's. */
    t.sensitivity = SEAM_SENS_REGULATED;
    assert_int_equal(seam_dispatch_pick_task(cfg, &d, &t, NULL, 0, &b, why, sizeof(why)),
                     SEAM_ERR_TOO_LARGE);
    assert_non_null(strstr(why, "is 8000 (l-vision)"));
    /* ... and so do only backends with what it needs: a capability refusal
     * is not a size problem. */
    t.sensitivity = SEAM_SENS_PUBLIC;
    t.needs.embeddings = true;
    t.needs.vision = true;
    assert_int_equal(seam_dispatch_pick_task(cfg, &d, &t, NULL, 0, &b, why, sizeof(why)),
                     SEAM_ERR_NO_BACKEND);
    /* A down backend that fits beats a refusal. */
    seam_health_table *h = seam_health_new(cfg->nbackends);
    seam_health_set(h, 3, "l-tools", SEAM_HEALTH_DOWN, "refused");
    memset(&t.needs, 0, sizeof(t.needs));
    t.needs.context_tokens = 20000;
    assert_int_equal(seam_dispatch_pick_task(cfg, &d, &t, h, 0, &b, why, sizeof(why)), SEAM_OK);
    assert_string_equal(b->name, "l-tools");
    seam_health_free(h);
    /* The old entry point asks for nothing but clearance. */
    assert_int_equal(
        seam_dispatch_pick(cfg, &d, SEAM_SENS_REGULATED, NULL, 0, &b, why, sizeof(why)), SEAM_OK);
    assert_string_equal(b->name, "l-vision");
    seam_config_free(cfg);
}

static void needed_caps_follow_the_task(void **state)
{
    seam_task t = {0};
    assert_int_equal(seam_dispatch_needed_caps(&t), 0);
    for (unsigned bits = 0; bits < 16; bits++) {
        set_needs(&t, bits, 0);
        unsigned want = ((bits & 1u) ? SEAM_CAP_VISION : 0) | ((bits & 2u) ? SEAM_CAP_TOOLS : 0) |
                        ((bits & 4u) ? SEAM_CAP_THINKING : 0) |
                        ((bits & 8u) ? SEAM_CAP_EMBEDDINGS : 0);
        assert_int_equal(seam_dispatch_needed_caps(&t), want);
    }
}

static void misrouted_rule_fails_closed(void **state)
{
    seam_config *cfg = load_yaml(mixed_yaml);
    seam_task t = {.sensitivity = SEAM_SENS_REGULATED};
    seam_route_facts f = {"auto", false, false};
    seam_decision d;
    seam_policy_decide(cfg, &t, &f, &d);
    assert_string_equal(d.rule, "misrouted");
    const seam_backend_conf *b = NULL;
    char why[400];
    assert_int_equal(seam_dispatch_pick(cfg, &d, t.sensitivity, NULL, 0, &b, why, sizeof(why)),
                     SEAM_ERR_NO_BACKEND);
    assert_null(b);
    assert_non_null(strstr(why, "c-pub"));
    seam_config_free(cfg);
}

static void prefers_cleared_backends_in_order(void **state)
{
    seam_config *cfg = load_yaml(mixed_yaml);
    int everything = seam_config_pool_index(cfg, "everything");
    seam_decision d = {.pool = &cfg->pools[everything], .rule = "x"};
    const seam_backend_conf *b;
    char why[400];
    assert_int_equal(seam_dispatch_pick(cfg, &d, SEAM_SENS_PUBLIC, NULL, 0, &b, why, sizeof(why)),
                     SEAM_OK);
    assert_string_equal(b->name, "c-pub");
    assert_int_equal(seam_dispatch_pick(cfg, &d, SEAM_SENS_INTERNAL, NULL, 0, &b, why, sizeof(why)),
                     SEAM_OK);
    assert_string_equal(b->name, "c-int");
    assert_int_equal(
        seam_dispatch_pick(cfg, &d, SEAM_SENS_REGULATED, NULL, 0, &b, why, sizeof(why)), SEAM_OK);
    assert_string_equal(b->name, "l-reg");
    seam_config_free(cfg);
}

static void down_backend_is_avoided_but_not_fatal(void **state)
{
    seam_config *cfg = load_yaml(mixed_yaml);
    seam_health_table *h = seam_health_new(cfg->nbackends);
    int local = seam_config_pool_index(cfg, "local");
    seam_decision d = {.pool = &cfg->pools[local], .rule = "x"};
    const seam_backend_conf *b;
    char why[400];
    seam_health_set(h, 2, "l-int", SEAM_HEALTH_DOWN, "refused");
    assert_int_equal(seam_dispatch_pick(cfg, &d, SEAM_SENS_PUBLIC, h, 0, &b, why, sizeof(why)),
                     SEAM_OK);
    assert_string_equal(b->name, "l-reg");
    seam_health_set(h, 3, "l-reg", SEAM_HEALTH_DOWN, "refused");
    assert_int_equal(seam_dispatch_pick(cfg, &d, SEAM_SENS_PUBLIC, h, 0, &b, why, sizeof(why)),
                     SEAM_OK);
    assert_string_equal(b->name, "l-int");
    seam_health_free(h);
    seam_config_free(cfg);
}

static void missing_api_key_makes_backend_unusable(void **state)
{
    seam_config *cfg = load_yaml(reference_yaml);
    unsetenv("SEAM_UNIT_TEST_KEY");
    seam_decision d = {.pool = &cfg->pools[seam_config_pool_index(cfg, "cloud")], .rule = "x"};
    const seam_backend_conf *b;
    char why[400];
    assert_int_equal(seam_dispatch_pick(cfg, &d, SEAM_SENS_PUBLIC, NULL, 0, &b, why, sizeof(why)),
                     SEAM_ERR_NO_BACKEND);
    assert_non_null(strstr(why, "SEAM_UNIT_TEST_KEY"));
    assert_int_equal(seam_dispatch_pick(cfg, &d, SEAM_SENS_PUBLIC, NULL, SEAM_PICK_IGNORE_KEYS, &b,
                                        why, sizeof(why)),
                     SEAM_OK);
    setenv("SEAM_UNIT_TEST_KEY", "sk-test", 1);
    assert_int_equal(seam_dispatch_pick(cfg, &d, SEAM_SENS_PUBLIC, NULL, 0, &b, why, sizeof(why)),
                     SEAM_OK);
    assert_string_equal(b->name, "frontier");
    seam_config_free(cfg);
}

static int never_data(void *ctx, seam_transfer *t, const char *p, size_t n)
{
    fail_msg("no byte may flow");
    return -1;
}

static void never_done(void *ctx, seam_transfer *t, seam_rc rc, const char *e)
{
    fail_msg("a refused transfer must not call back");
}

/* The last gate: the client itself refuses, whatever its caller decided. */
static void client_refuses_uncleared_transfer(void **state)
{
    seam_config *cfg = load_yaml(reference_yaml);
    struct event_base *base = event_base_new();
    seam_upstream *u = seam_upstream_new(base);
    const seam_backend_conf *cloud = seam_config_backend(cfg, "frontier");
    char *body = strdup("{}");
    seam_transfer_opts o = {.url = "http://127.0.0.1:9/v1/chat/completions",
                            .method = "POST",
                            .body = body,
                            .body_len = 2,
                            .timeout_ms = 1000,
                            .connect_timeout_ms = 1000,
                            .backend = cloud,
                            .sensitivity = SEAM_SENS_INTERNAL};
    seam_transfer_cbs cbs = {never_data, never_done};
    seam_rc rc = SEAM_OK;
    assert_null(seam_upstream_start(u, &o, &cbs, NULL, &rc));
    assert_int_equal(rc, SEAM_ERR_FORBIDDEN);
    assert_int_equal(seam_upstream_active(u), 0);
    event_base_loop(base, EVLOOP_NONBLOCK);
    seam_upstream_free(u);
    event_base_free(base);
    seam_config_free(cfg);
}

/* ---- the attempt plan (issue 5) ------------------------------------------ */

#include "core/alloc.h"
#include "upstream/backoff.h"
#include "upstream/breaker.h"

/* Four backends, one per (location, clearance) that matters, and pools that
 * mix them; circuits open on the first failure and stay open. */
static const char chain_yaml[] =
    "circuit: { failures: 1, cooldown_ms: 3600000 }\n"
    "backends:\n"
    "  - { name: l-reg, provider: openai, url: http://127.0.0.1:1, location: local, models: [m] }\n"
    "  - { name: l-int, provider: openai, url: http://127.0.0.1:2, location: local, clearance: "
    "internal, models: [m] }\n"
    "  - { name: c-int, provider: openai, url: http://127.0.0.1:3, location: cloud, clearance: "
    "internal, models: [m] }\n"
    "  - { name: c-pub, provider: openai, url: http://127.0.0.1:4, location: cloud, models: [m] }\n"
    "pools:\n"
    "  local: [l-reg, l-int]\n"
    "  cloud: { backends: [c-pub, c-int], strategy: round_robin, retries: 1 }\n"
    "  pub: { backends: [c-pub], retries: 0 }\n"
    "  reg: [l-reg]\n"
    "  mixed: { backends: [c-pub, l-reg], strategy: weighted, weights: [1, 1] }\n";

enum { ST_UP, ST_DOWN, ST_OPEN, ST__COUNT };

static bool in_chain(const seam_config *cfg, const seam_decision *d, size_t backend)
{
    for (size_t s = 0; s <= d->nfallbacks; s++) {
        const seam_pool_conf *p = s == 0 ? d->pool : &cfg->pools[d->fallbacks[s - 1]];
        for (size_t k = 0; k < p->nbackends; k++)
            if (p->backends[k] == backend)
                return true;
    }
    return false;
}

/* The first stage of the chain holding a backend that is cleared for <s>
 * and up with a closed breaker, or -1. */
static int first_usable_stage(const seam_config *cfg, const seam_decision *d, seam_sensitivity s,
                              const int *states)
{
    for (size_t st = 0; st <= d->nfallbacks; st++) {
        const seam_pool_conf *p = st == 0 ? d->pool : &cfg->pools[d->fallbacks[st - 1]];
        for (size_t k = 0; k < p->nbackends; k++) {
            const seam_backend_conf *b = &cfg->backends[p->backends[k]];
            if (seam_clearance_allows(b, s) && states[b->index] == ST_UP)
                return (int)st;
        }
    }
    return -1;
}

/* Every sensitivity x every chain shape (a primary pool and up to two
 * distinct fallbacks) x every state of every backend (up, down by probe,
 * breaker open): every attempt of every plan goes to a backend cleared for
 * the request, up, closed and in the chain; the first attempt comes from
 * the first stage that has one; a plan that finds nothing answers
 * "no backend", never a lower clearance. */
static void invariant_across_fallback_chains(void **state)
{
    seam_config *cfg = load_yaml(chain_yaml);
    const size_t P = cfg->npools, NB = cfg->nbackends;
    long plans = 0, attempts = 0, refusals = 0;
    int states[8];
    size_t combos = 1;
    for (size_t i = 0; i < NB; i++)
        combos *= ST__COUNT;
    for (size_t combo = 0; combo < combos; combo++) {
        seam_health_table *h = seam_health_new(NB);
        seam_breakers *br = seam_breakers_new(cfg);
        seam_balancer *bal = seam_balancer_new(cfg);
        size_t c = combo;
        for (size_t i = 0; i < NB; i++, c /= ST__COUNT) {
            states[i] = (int)(c % ST__COUNT);
            seam_health_set(h, i, cfg->backends[i].name,
                            states[i] == ST_DOWN ? SEAM_HEALTH_DOWN : SEAM_HEALTH_UP,
                            states[i] == ST_DOWN ? "down" : NULL);
            if (states[i] == ST_OPEN)
                seam_breaker_report(br, i, NULL, false, 1);
        }
        seam_dispatch_env env = {.health = h,
                                 .breakers = br,
                                 .balancer = bal,
                                 .now_ns = 2,
                                 .flags = SEAM_PICK_IGNORE_KEYS};
        for (size_t primary = 0; primary < P; primary++)
            for (size_t f1 = 0; f1 <= P; f1++)       /* f1 == P: no fallback */
                for (size_t f2 = 0; f2 <= P; f2++) { /* f2 == P: one fallback */
                    size_t fb[2];
                    size_t nfb = 0;
                    if (f1 < P) {
                        if (f1 == primary)
                            continue;
                        fb[nfb++] = f1;
                        if (f2 < P) {
                            if (f2 == primary || f2 == f1)
                                continue;
                            fb[nfb++] = f2;
                        }
                    } else if (f2 < P) {
                        continue;
                    }
                    for (int s = 0; s < SEAM_SENS__COUNT; s++) {
                        seam_decision d = {.rc = SEAM_OK,
                                           .pool = &cfg->pools[primary],
                                           .rule = "x",
                                           .fallbacks = fb,
                                           .nfallbacks = nfb};
                        seam_task t = {.sensitivity = (seam_sensitivity)s};
                        seam_plan plan;
                        seam_pick pick;
                        char why[1024];
                        seam_plan_init(&plan, cfg, &d, &t);
                        int expect = first_usable_stage(cfg, &d, t.sensitivity, states);
                        plans++;
                        seam_rc rc;
                        unsigned n = 0;
                        while ((rc = seam_plan_next(&plan, &env, &pick, why, sizeof(why))) ==
                               SEAM_OK) {
                            const seam_backend_conf *b = pick.backend;
                            assert_non_null(b);
                            assert_true(seam_clearance_allows(b, t.sensitivity));
                            assert_int_equal(states[b->index], ST_UP);
                            assert_true(in_chain(cfg, &d, b->index));
                            assert_int_equal(pick.attempt, ++n);
                            if (n == 1) {
                                assert_int_equal(plan.stage, (size_t)expect);
                                assert_int_equal(pick.fallback, expect > 0);
                            }
                            assert_false(pick.spilled);
                            seam_breaker_release(br, b->index, &pick.ticket);
                            attempts++;
                        }
                        assert_int_equal(rc, SEAM_ERR_NO_BACKEND);
                        assert_null(pick.backend);
                        assert_false(pick.saturated);
                        if (n == 0) {
                            assert_int_equal(expect, -1);
                            refusals++;
                        }
                    }
                }
        seam_balancer_free(bal);
        seam_breakers_free(br);
        seam_health_free(h);
    }
    assert_true(plans > 10000);
    assert_true(attempts > plans);
    assert_true(refusals > 0);
    seam_config_free(cfg);
}

static const char fallback_yaml[] =
    "backends:\n"
    "  - { name: gemma-a, provider: openai, url: http://127.0.0.1:1, location: local, models: [g] "
    "}\n"
    "  - { name: gemma-b, provider: openai, url: http://127.0.0.1:2, location: local, models: [g] "
    "}\n"
    "  - { name: frontier, provider: openai, url: http://127.0.0.1:3, location: cloud, models: [f] "
    "}\n"
    "pools:\n"
    "  local: { backends: [gemma-a, gemma-b], retries: 2, spill: cloud }\n"
    "  cloud: [frontier]\n"
    "  solo: { backends: [gemma-a], retries: 2 }\n"
    "  once: { backends: [gemma-a, gemma-b], retries: 0 }\n"
    "policy:\n"
    "  rules:\n"
    "    - { name: local-first, when: { kind: [chat] }, route: local, fallback: [cloud] }\n"
    "    - { name: solo-first, when: { kind: [code] }, route: solo, fallback: [cloud] }\n"
    "    - { name: once-first, when: { kind: [draft] }, route: once, fallback: [cloud] }\n"
    "  default: local\n";

/* The headline case: regulated data whose local pool is down gets
 * no backend at all; public data with the same decision falls back. */
static void regulated_never_falls_back_to_cloud(void **state)
{
    seam_config *cfg = load_yaml(fallback_yaml);
    seam_health_table *h = seam_health_new(cfg->nbackends);
    seam_health_set(h, 0, "gemma-a", SEAM_HEALTH_DOWN, "refused");
    seam_health_set(h, 1, "gemma-b", SEAM_HEALTH_DOWN, "refused");
    seam_dispatch_env env = {.health = h, .flags = SEAM_PICK_IGNORE_KEYS};
    seam_route_facts f = {"auto", false, false};
    seam_task t = {.kind = SEAM_KIND_CHAT, .sensitivity = SEAM_SENS_REGULATED};
    seam_decision d;
    seam_policy_decide(cfg, &t, &f, &d);
    assert_string_equal(d.rule, "local-first");
    assert_int_equal(d.nfallbacks, 1);
    seam_plan plan;
    seam_pick pick;
    char why[600];
    seam_plan_init(&plan, cfg, &d, &t);
    assert_int_equal(seam_plan_next(&plan, &env, &pick, why, sizeof(why)), SEAM_ERR_NO_BACKEND);
    assert_null(pick.backend);
    assert_non_null(strstr(why, "gemma-a: down"));
    assert_non_null(strstr(why, "frontier: clearance public is below"));
    /* Public: the fallback serves, and says so. */
    t.sensitivity = SEAM_SENS_PUBLIC;
    seam_plan_init(&plan, cfg, &d, &t);
    assert_int_equal(seam_plan_next(&plan, &env, &pick, why, sizeof(why)), SEAM_OK);
    assert_string_equal(pick.backend->name, "frontier");
    assert_true(pick.fallback);
    assert_string_equal(pick.pool->name, "cloud");
    seam_health_free(h);
    seam_config_free(cfg);
}

/* Attempts stay in the pool for 1 + retries, preferring backends not yet
 * tried, then move to the fallback. */
static void retries_then_fallback(void **state)
{
    seam_config *cfg = load_yaml(fallback_yaml);
    seam_dispatch_env env = {.flags = SEAM_PICK_IGNORE_KEYS};
    seam_route_facts f = {"auto", false, false};
    seam_task t = {.kind = SEAM_KIND_CHAT, .sensitivity = SEAM_SENS_PUBLIC};
    seam_decision d;
    seam_plan plan;
    seam_pick pick;
    char why[600];
    const char *seen[8];
    seam_policy_decide(cfg, &t, &f, &d);
    seam_plan_init(&plan, cfg, &d, &t);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(seam_plan_next(&plan, &env, &pick, why, sizeof(why)), SEAM_OK);
        seen[i] = pick.backend->name;
        assert_int_equal(pick.attempt, i + 1);
        assert_int_equal(pick.fallback, i == 3);
    }
    assert_string_not_equal(seen[0], seen[1]); /* the untried one second */
    assert_string_equal(seen[3], "frontier");
    /* The fallback pool has its own retries (the short form's default 2). */
    for (int i = 4; i < 6; i++) {
        assert_int_equal(seam_plan_next(&plan, &env, &pick, why, sizeof(why)), SEAM_OK);
        assert_string_equal(pick.backend->name, "frontier");
    }
    assert_int_equal(seam_plan_next(&plan, &env, &pick, why, sizeof(why)), SEAM_ERR_NO_BACKEND);
    assert_int_equal(plan.attempts, 6);
    assert_int_equal(plan.ntried, 6);

    /* One backend: its retries go to it again. */
    t.kind = SEAM_KIND_CODE;
    seam_policy_decide(cfg, &t, &f, &d);
    seam_plan_init(&plan, cfg, &d, &t);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(seam_plan_next(&plan, &env, &pick, why, sizeof(why)), SEAM_OK);
        assert_string_equal(pick.backend->name, "gemma-a");
    }
    assert_int_equal(seam_plan_next(&plan, &env, &pick, why, sizeof(why)), SEAM_OK);
    assert_string_equal(pick.backend->name, "frontier");

    /* retries: 0 moves on after the first failure. */
    t.kind = SEAM_KIND_DRAFT;
    seam_policy_decide(cfg, &t, &f, &d);
    seam_plan_init(&plan, cfg, &d, &t);
    assert_int_equal(seam_plan_next(&plan, &env, &pick, why, sizeof(why)), SEAM_OK);
    assert_false(pick.fallback);
    assert_int_equal(seam_plan_next(&plan, &env, &pick, why, sizeof(why)), SEAM_OK);
    assert_string_equal(pick.backend->name, "frontier");
    seam_config_free(cfg);
}

static bool no_room_local(const void *ctx, size_t backend)
{
    const seam_config *cfg = ctx;
    return cfg->backends[backend].location != SEAM_LOC_LOCAL;
}

/* A saturated pool spills where the data may go, and otherwise reports
 * itself saturated (queue or 429): never a spill below clearance. */
static void saturation_spills_or_queues(void **state)
{
    seam_config *cfg = load_yaml(fallback_yaml);
    seam_dispatch_env env = {
        .has_room = no_room_local, .room_ctx = cfg, .flags = SEAM_PICK_IGNORE_KEYS};
    int local = seam_config_pool_index(cfg, "local");
    seam_decision d = {.pool = &cfg->pools[local], .rule = "default"};
    seam_task t = {.sensitivity = SEAM_SENS_PUBLIC};
    seam_plan plan;
    seam_pick pick;
    char why[600];
    seam_plan_init(&plan, cfg, &d, &t);
    assert_int_equal(seam_plan_next(&plan, &env, &pick, why, sizeof(why)), SEAM_OK);
    assert_string_equal(pick.backend->name, "frontier");
    assert_true(pick.spilled);
    assert_false(pick.fallback);
    assert_string_equal(pick.pool->name, "cloud");

    t.sensitivity = SEAM_SENS_INTERNAL;
    seam_plan_init(&plan, cfg, &d, &t);
    assert_int_equal(seam_plan_next(&plan, &env, &pick, why, sizeof(why)), SEAM_ERR_NO_BACKEND);
    assert_true(pick.saturated);
    assert_ptr_equal(pick.pool, &cfg->pools[local]);
    assert_null(pick.backend);
    assert_non_null(strstr(why, "at max_concurrency"));
    assert_non_null(strstr(why, "frontier: clearance"));

    /* The queue granted gemma-b: take it, with the checks done again. */
    assert_int_equal(seam_plan_take(&plan, &env, pick.pool, 1, &pick, why, sizeof(why)), SEAM_OK);
    assert_string_equal(pick.backend->name, "gemma-b");
    assert_int_equal(pick.attempt, 1);
    /* Taking a backend the data may not reach is refused. */
    assert_int_equal(seam_plan_take(&plan, &env, pick.pool, 2, &pick, why, sizeof(why)),
                     SEAM_ERR_NO_BACKEND);
    assert_null(pick.backend);
    assert_non_null(strstr(why, "clearance"));
    assert_int_equal(plan.attempts, 1);
    seam_config_free(cfg);
}

static const char strategy_yaml[] =
    "backends:\n"
    "  - { name: a, provider: openai, url: http://127.0.0.1:1, location: local, models: [m] }\n"
    "  - { name: b, provider: openai, url: http://127.0.0.1:2, location: local, models: [m] }\n"
    "  - { name: c, provider: openai, url: http://127.0.0.1:3, location: local, models: [m] }\n"
    "pools:\n"
    "  local: [a, b, c]\n"
    "  rr: { backends: [a, b, c], strategy: round_robin }\n"
    "  w: { backends: [a, b, c], strategy: weighted, weights: [1, 3, 6] }\n";

static size_t first_pick(seam_config *cfg, const char *pool, seam_dispatch_env *env)
{
    seam_decision d = {.pool = &cfg->pools[seam_config_pool_index(cfg, pool)], .rule = "x"};
    seam_task t = {.sensitivity = SEAM_SENS_PUBLIC};
    seam_plan plan;
    seam_pick pick;
    char why[200];
    seam_plan_init(&plan, cfg, &d, &t);
    assert_int_equal(seam_plan_next(&plan, env, &pick, why, sizeof(why)), SEAM_OK);
    return pick.backend->index;
}

static void strategies_balance(void **state)
{
    seam_config *cfg = load_yaml(strategy_yaml);
    seam_balancer *bal = seam_balancer_new(cfg);
    uint64_t rng = 1;
    seam_dispatch_env env = {.balancer = bal, .rng = &rng};
    unsigned count[3] = {0};

    /* round_robin: each in turn. */
    size_t prev = first_pick(cfg, "rr", &env);
    for (int i = 0; i < 300; i++) {
        size_t b = first_pick(cfg, "rr", &env);
        assert_int_equal(b, (prev + 1) % 3);
        prev = b;
        count[b]++;
    }
    assert_int_equal(count[0], 100);

    /* least_outstanding: the least busy; ties shared. */
    seam_balancer_begin(bal, 0);
    seam_balancer_begin(bal, 0);
    seam_balancer_begin(bal, 1);
    assert_int_equal(seam_balancer_outstanding(bal, 0), 2);
    for (int i = 0; i < 10; i++)
        assert_int_equal(first_pick(cfg, "local", &env), 2);
    seam_balancer_begin(bal, 2);
    unsigned ties[3] = {0};
    for (int i = 0; i < 10; i++)
        ties[first_pick(cfg, "local", &env)]++;
    assert_int_equal(ties[0], 0);
    assert_int_equal(ties[1], 5); /* b and c share the tie */
    seam_balancer_end(bal, 0);
    seam_balancer_end(bal, 0);
    seam_balancer_end(bal, 0); /* one too many: stays at 0 */
    assert_int_equal(seam_balancer_outstanding(bal, 0), 0);
    seam_balancer_end(bal, 1);
    seam_balancer_end(bal, 2);
    memset(count, 0, sizeof(count));
    for (int i = 0; i < 300; i++)
        count[first_pick(cfg, "local", &env)]++;
    assert_int_equal(count[0], 100); /* all idle: the rotation spreads them */
    assert_int_equal(count[1], 100);

    /* weighted: in proportion to 1:3:6. */
    memset(count, 0, sizeof(count));
    for (int i = 0; i < 10000; i++)
        count[first_pick(cfg, "w", &env)]++;
    assert_true(count[0] > 800 && count[0] < 1200);
    assert_true(count[1] > 2700 && count[1] < 3300);
    assert_true(count[2] > 5600 && count[2] < 6400);

    /* Without a balancer or rng, still a valid pick. */
    seam_dispatch_env bare = {0};
    assert_true(first_pick(cfg, "w", &bare) < 3);
    assert_int_equal(first_pick(cfg, "local", &bare), 0);
    assert_int_equal(seam_balancer_outstanding(NULL, 0), 0);
    seam_balancer_begin(NULL, 0);
    seam_balancer_begin(bal, 99); /* out of range: ignored */
    seam_balancer_free(bal);
    seam_config_free(cfg);
}

/* A half-open breaker lends its one trial to one request; the next goes to
 * another backend; a failed trial closes the door again. */
static void half_open_trial_is_taken_once(void **state)
{
    seam_config *cfg = load_yaml(chain_yaml);
    seam_breakers *br = seam_breakers_new(cfg);
    seam_dispatch_env env = {.breakers = br, .now_ns = 1, .flags = SEAM_PICK_IGNORE_KEYS};
    int local = seam_config_pool_index(cfg, "local");
    seam_decision d = {.pool = &cfg->pools[local], .rule = "x"};
    seam_task t = {.sensitivity = SEAM_SENS_INTERNAL};
    seam_plan plan;
    seam_pick pick;
    char why[400];
    seam_breaker_report(br, 0, NULL, false, 1);
    seam_breaker_report(br, 1, NULL, false, 1);
    seam_plan_init(&plan, cfg, &d, &t);
    assert_int_equal(seam_plan_next(&plan, &env, &pick, why, sizeof(why)), SEAM_ERR_NO_BACKEND);
    assert_non_null(strstr(why, "l-reg: circuit open"));
    env.now_ns = 1 + 3600000ull * 1000000ull; /* cool-down over */
    seam_plan_init(&plan, cfg, &d, &t);
    assert_int_equal(seam_plan_next(&plan, &env, &pick, why, sizeof(why)), SEAM_OK);
    assert_true(pick.ticket.trial);
    size_t first = pick.backend->index;
    seam_plan plan2;
    seam_pick pick2;
    seam_plan_init(&plan2, cfg, &d, &t);
    assert_int_equal(seam_plan_next(&plan2, &env, &pick2, why, sizeof(why)), SEAM_OK);
    assert_int_not_equal(pick2.backend->index, first);
    seam_plan plan3;
    seam_plan_init(&plan3, cfg, &d, &t);
    assert_int_equal(seam_plan_next(&plan3, &env, &pick2, why, sizeof(why)), SEAM_ERR_NO_BACKEND);
    assert_non_null(strstr(why, "trial requests already out"));
    seam_breaker_report(br, first, &pick.ticket, true, env.now_ns);
    assert_int_equal(seam_breaker_get(br, first, env.now_ns), SEAM_BREAKER_CLOSED);
    seam_breakers_free(br);
    seam_config_free(cfg);
}

/* Too large only when every backend that could serve is too small; one that
 * fits but is down makes it a 503. Pinned decisions plan over the
 * backends listing the model. */
static void too_large_and_pinned(void **state)
{
    seam_config *cfg = load_yaml(caps_yaml);
    seam_health_table *h = seam_health_new(cfg->nbackends);
    seam_dispatch_env env = {.health = h, .flags = SEAM_PICK_IGNORE_KEYS};
    seam_decision d = {.pool = &cfg->pools[seam_config_pool_index(cfg, "local")], .rule = "x"};
    seam_task t = {.sensitivity = SEAM_SENS_PUBLIC};
    seam_plan plan;
    seam_pick pick;
    char why[600];
    t.needs.context_tokens = 40000;
    seam_plan_init(&plan, cfg, &d, &t);
    assert_int_equal(seam_plan_next(&plan, &env, &pick, why, sizeof(why)), SEAM_ERR_TOO_LARGE);
    assert_string_equal(why, "request needs ~40000 tokens; the largest context window among "
                             "allowed backends is 32000 (l-tools)");
    t.needs.context_tokens = 20000;
    seam_health_set(h, 3, "l-tools", SEAM_HEALTH_DOWN, "refused");
    seam_plan_init(&plan, cfg, &d, &t);
    assert_int_equal(seam_plan_next(&plan, &env, &pick, why, sizeof(why)), SEAM_ERR_NO_BACKEND);
    assert_non_null(strstr(why, "l-tools: down"));

    seam_decision pin = {.pool = NULL, .pinned_model = "e", .rule = "pinned"};
    t.needs.context_tokens = 0;
    t.sensitivity = SEAM_SENS_REGULATED;
    seam_plan_init(&plan, cfg, &pin, &t);
    assert_int_equal(seam_plan_next(&plan, &env, &pick, why, sizeof(why)), SEAM_OK);
    assert_string_equal(pick.backend->name, "l-any");
    assert_null(pick.pool);
    /* Three attempts for a pin outside any pool (the default retries). */
    assert_int_equal(seam_plan_next(&plan, &env, &pick, why, sizeof(why)), SEAM_OK);
    assert_int_equal(seam_plan_next(&plan, &env, &pick, why, sizeof(why)), SEAM_OK);
    assert_int_equal(seam_plan_next(&plan, &env, &pick, why, sizeof(why)), SEAM_ERR_NO_BACKEND);
    seam_decision pin_a = {.pinned_model = "a", .rule = "pinned"};
    seam_plan_init(&plan, cfg, &pin_a, &t);
    assert_int_equal(seam_plan_next(&plan, &env, &pick, why, sizeof(why)), SEAM_ERR_NO_BACKEND);
    assert_non_null(strstr(why, "c-big: clearance"));
    seam_decision none = {.rule = "x"};
    seam_plan_init(&plan, cfg, &none, &t);
    assert_int_equal(seam_plan_next(&plan, &env, &pick, why, sizeof(why)), SEAM_ERR_NO_BACKEND);
    assert_string_equal(why, "no pool to route to");
    seam_health_free(h);
    seam_config_free(cfg);
}

static void unset_key_skips_in_plans(void **state)
{
    seam_config *cfg = load_yaml(reference_yaml);
    unsetenv("SEAM_UNIT_TEST_KEY");
    seam_dispatch_env env = {0};
    seam_decision d = {.pool = &cfg->pools[seam_config_pool_index(cfg, "cloud")], .rule = "x"};
    seam_task t = {.sensitivity = SEAM_SENS_PUBLIC};
    seam_plan plan;
    seam_pick pick;
    char why[400];
    seam_plan_init(&plan, cfg, &d, &t);
    assert_int_equal(seam_plan_next(&plan, &env, &pick, why, sizeof(why)), SEAM_ERR_NO_BACKEND);
    assert_non_null(strstr(why, "SEAM_UNIT_TEST_KEY"));
    seam_plan_init(&plan, cfg, &d, &t);
    assert_int_equal(seam_plan_next(&plan, NULL, &pick, why, sizeof(why)), SEAM_ERR_NO_BACKEND);
    setenv("SEAM_UNIT_TEST_KEY", "sk-test", 1);
    seam_plan_init(&plan, cfg, &d, &t);
    assert_int_equal(seam_plan_next(&plan, NULL, &pick, why, sizeof(why)), SEAM_OK);
    unsetenv("SEAM_UNIT_TEST_KEY");
    seam_config_free(cfg);
}

static void balancer_allocation_failures(void **state)
{
    seam_config *cfg = load_yaml(strategy_yaml);
    long n;
    for (n = 0; n < 10; n++) {
        seam_alloc_fail_after(n);
        seam_balancer *bal = seam_balancer_new(cfg);
        seam_alloc_fail_after(-1);
        if (bal) {
            seam_balancer_free(bal);
            break;
        }
    }
    assert_int_equal(n, 3);
    seam_config_free(cfg);
}

int main(void)
{
    seam_log_set_level(SEAM_LOG_ERROR); /* health changes log; keep test output short */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clearance_table),
        cmocka_unit_test(defaults_by_location),
        cmocka_unit_test(invariant_holds_everywhere),
        cmocka_unit_test(invariant_holds_with_needs),
        cmocka_unit_test(capability_skips_and_names_what_is_missing),
        cmocka_unit_test(context_window_skips_and_reports_the_largest),
        cmocka_unit_test(needed_caps_follow_the_task),
        cmocka_unit_test(misrouted_rule_fails_closed),
        cmocka_unit_test(prefers_cleared_backends_in_order),
        cmocka_unit_test(down_backend_is_avoided_but_not_fatal),
        cmocka_unit_test(missing_api_key_makes_backend_unusable),
        cmocka_unit_test(client_refuses_uncleared_transfer),
        cmocka_unit_test(invariant_across_fallback_chains),
        cmocka_unit_test(regulated_never_falls_back_to_cloud),
        cmocka_unit_test(retries_then_fallback),
        cmocka_unit_test(saturation_spills_or_queues),
        cmocka_unit_test(strategies_balance),
        cmocka_unit_test(half_open_trial_is_taken_once),
        cmocka_unit_test(too_large_and_pinned),
        cmocka_unit_test(unset_key_skips_in_plans),
        cmocka_unit_test(balancer_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
