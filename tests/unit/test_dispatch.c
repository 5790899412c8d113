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
        cmocka_unit_test(misrouted_rule_fails_closed),
        cmocka_unit_test(prefers_cleared_backends_in_order),
        cmocka_unit_test(down_backend_is_avoided_but_not_fatal),
        cmocka_unit_test(missing_api_key_makes_backend_unusable),
        cmocka_unit_test(client_refuses_uncleared_transfer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
