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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
