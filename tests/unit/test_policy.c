/*
 * Policy decisions over every combination of kind x sensitivity x complexity
 * x tokens (below, at and above 64000) against the shipped routing table,
 * with the expected route computed independently from the table's meaning;
 * plus model pinning, rerouting and the `when` keys.
 */
#include "testutil.h"

#include "policy/decide.h"
#include "policy/task.h"

/* The table in words: sensitive stays local; more than 64k tokens stays
 * local; high-complexity drafting goes to the cloud; the rest stays local. */
static void expected(seam_kind k, seam_sensitivity s, seam_complexity c, uint64_t tokens,
                     const char **pool, const char **rule)
{
    if (s == SEAM_SENS_INTERNAL || s == SEAM_SENS_REGULATED) {
        *pool = "local";
        *rule = "sensitive-stays-local";
    } else if (tokens > 64000) {
        *pool = "local";
        *rule = "high-volume-stays-local";
    } else if (k == SEAM_KIND_DRAFT && c == SEAM_CPLX_HIGH) {
        *pool = "cloud";
        *rule = "frontier-drafting";
    } else {
        *pool = "local";
        *rule = "default";
    }
}

static void every_combination(void **state)
{
    seam_config *cfg = load_yaml(reference_yaml);
    const uint64_t tokens[] = {0, 63999, 64000, 64001, 1000000};
    int n = 0, cloud = 0;
    for (int k = 0; k < SEAM_KIND__COUNT; k++)
        for (int s = 0; s < SEAM_SENS__COUNT; s++)
            for (int c = 0; c < SEAM_CPLX__COUNT; c++)
                for (size_t ti = 0; ti < sizeof(tokens) / sizeof(tokens[0]); ti++) {
                    seam_task t;
                    seam_task_init(&t, cfg);
                    t.kind = (seam_kind)k;
                    t.sensitivity = (seam_sensitivity)s;
                    t.complexity = (seam_complexity)c;
                    t.tokens = tokens[ti];
                    seam_route_facts f = {"auto", false, false};
                    seam_decision d;
                    seam_policy_decide(cfg, &t, &f, &d);
                    const char *pool, *rule;
                    expected(t.kind, t.sensitivity, t.complexity, t.tokens, &pool, &rule);
                    assert_int_equal(d.rc, SEAM_OK);
                    assert_non_null(d.pool);
                    assert_string_equal(d.pool->name, pool);
                    assert_string_equal(d.rule, rule);
                    assert_false(d.rerouted);
                    assert_non_null(strstr(d.reason, pool));
                    cloud += strcmp(pool, "cloud") == 0;
                    n++;
                }
    /* 7 kinds x 3 x 3 x 5 token counts; only public high-complexity drafts
     * of at most 64000 tokens (3 of the token counts) reach the cloud. */
    assert_int_equal(n, 7 * 3 * 3 * 5);
    assert_int_equal(cloud, 3);
    seam_config_free(cfg);
}

static void decide(const seam_config *cfg, seam_sensitivity s, const char *model, seam_decision *d)
{
    seam_task t;
    seam_task_init(&t, cfg);
    t.sensitivity = s;
    seam_route_facts f = {model, false, false};
    seam_policy_decide(cfg, &t, &f, d);
}

static void pinned_model(void **state)
{
    seam_config *cfg = load_yaml(reference_yaml);
    seam_decision d;
    decide(cfg, SEAM_SENS_PUBLIC, "gpt-5.1", &d);
    assert_int_equal(d.rc, SEAM_OK);
    assert_string_equal(d.rule, "pinned");
    assert_string_equal(d.pinned_model, "gpt-5.1");
    assert_string_equal(d.pool->name, "cloud");
    assert_false(d.rerouted);

    decide(cfg, SEAM_SENS_PUBLIC, "gemma4:31b", &d);
    assert_string_equal(d.pool->name, "local");
    assert_string_equal(d.rule, "pinned");
    seam_config_free(cfg);
}

static void pinned_cloud_model_with_sensitive_data_is_rerouted(void **state)
{
    seam_config *cfg = load_yaml(reference_yaml);
    seam_decision d;
    decide(cfg, SEAM_SENS_INTERNAL, "gpt-5.1", &d);
    assert_int_equal(d.rc, SEAM_OK);
    assert_true(d.rerouted);
    assert_null(d.pinned_model);
    assert_string_equal(d.pool->name, "local");
    assert_non_null(strstr(d.reason, "rerouted"));
    decide(cfg, SEAM_SENS_REGULATED, "gpt-5.1", &d);
    assert_true(d.rerouted);
    seam_config_free(cfg);
}

static void pinned_violation_reject(void **state)
{
    char yaml[4096];
    snprintf(yaml, sizeof(yaml), "%s  on_pinned_violation: reject\n", reference_yaml);
    seam_config *cfg = load_yaml(yaml);
    seam_decision d;
    decide(cfg, SEAM_SENS_INTERNAL, "gpt-5.1", &d);
    assert_int_equal(d.rc, SEAM_ERR_FORBIDDEN);
    decide(cfg, SEAM_SENS_PUBLIC, "gpt-5.1", &d);
    assert_int_equal(d.rc, SEAM_OK);
    seam_config_free(cfg);
}

static void unknown_model(void **state)
{
    seam_config *cfg = load_yaml(reference_yaml);
    seam_decision d;
    decide(cfg, SEAM_SENS_PUBLIC, "llama-9000", &d);
    assert_int_equal(d.rc, SEAM_ERR_NOT_FOUND);
    seam_config_free(cfg);

    char yaml[4096];
    snprintf(yaml, sizeof(yaml), "%s  unknown_model: route\n", reference_yaml);
    cfg = load_yaml(yaml);
    decide(cfg, SEAM_SENS_PUBLIC, "llama-9000", &d);
    assert_int_equal(d.rc, SEAM_OK);
    assert_string_equal(d.rule, "default");
    seam_config_free(cfg);
}

static void when_keys(void **state)
{
    const char *yaml =
        "backends:\n"
        "  - { name: l, provider: openai, url: http://127.0.0.1:1, location: local, models: [m] }\n"
        "pools: { local: [l], vision: [l], tools: [l], small: [l], named: [l] }\n"
        "policy:\n"
        "  rules:\n"
        "    - { name: img, when: { has_images: true }, route: vision }\n"
        "    - { name: tls, when: { has_tools: true, tokens_lte: 100 }, route: tools }\n"
        "    - { name: sml, when: { tokens_lte: 10 }, route: small }\n"
        "    - { name: nm, when: { model: [auto, custom] }, route: named }\n"
        "  default: local\n"
        "  unknown_model: route\n";
    seam_config *cfg = load_yaml(yaml);
    seam_task t;
    seam_task_init(&t, cfg);
    seam_decision d;
    t.tokens = 50;
    seam_route_facts f = {"auto", true, true};
    seam_policy_decide(cfg, &t, &f, &d);
    assert_string_equal(d.rule, "img");
    f.has_images = false;
    seam_policy_decide(cfg, &t, &f, &d);
    assert_string_equal(d.rule, "tls");
    t.tokens = 101;
    seam_policy_decide(cfg, &t, &f, &d);
    assert_string_equal(d.rule, "nm");
    t.tokens = 10;
    f.has_tools = false;
    seam_policy_decide(cfg, &t, &f, &d);
    assert_string_equal(d.rule, "sml");
    t.tokens = 11;
    f.model = "other";
    seam_policy_decide(cfg, &t, &f, &d);
    assert_string_equal(d.rule, "default");
    f.model = "custom";
    seam_policy_decide(cfg, &t, &f, &d);
    assert_string_equal(d.rule, "nm");
    seam_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_combination),
        cmocka_unit_test(pinned_model),
        cmocka_unit_test(pinned_cloud_model_with_sensitive_data_is_rerouted),
        cmocka_unit_test(pinned_violation_reject),
        cmocka_unit_test(unknown_model),
        cmocka_unit_test(when_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
