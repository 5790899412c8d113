/*
 * Policy decisions over every combination of kind x sensitivity x complexity
 * x tokens (below, at and above 64000) against the shipped routing table,
 * with the expected route computed independently from the table's meaning;
 * plus model pinning, rerouting and the `when` keys.
 */
#include "testutil.h"

#include "policy/decide.h"
#include "policy/dial.h"
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

/* ---- a rule's set (policy/dial.h) ---- */

/* A request with only the parameters `set` looks at. */
static seam_req dial_req(seam_reasoning r, const char *raw, int64_t budget, int64_t max_tokens)
{
    seam_req q;
    memset(&q, 0, sizeof(q));
    q.params.reasoning = r;
    q.params.reasoning_raw = raw;
    q.params.reasoning_budget = budget;
    q.params.max_tokens = max_tokens;
    return q;
}

static seam_rule_conf dial_rule(seam_reasoning r, bool force, uint64_t cap)
{
    seam_rule_conf rule;
    memset(&rule, 0, sizeof(rule));
    rule.name = "r";
    rule.set.reasoning = r;
    rule.set.force = force;
    rule.set.max_tokens_cap = cap;
    return rule;
}

static void set_reasoning_unless_the_client_chose(void **state)
{
    char applied[64];
    seam_task t;
    seam_task_init(&t, NULL);
    t.prompt_tokens = 10;

    /* Nobody chose: the rule's level, and no more thinking needed. */
    seam_rule_conf off = dial_rule(SEAM_REASONING_OFF, false, 0);
    seam_req q = dial_req(SEAM_REASONING_UNSET, NULL, 0, -1);
    assert_int_equal(seam_policy_apply_set(&off, &q, &t, applied, sizeof(applied)), 13);
    assert_string_equal(applied, "reasoning=off");
    assert_int_equal(q.params.reasoning, SEAM_REASONING_OFF);
    assert_false(t.needs.thinking);

    /* The client chose high: it wins, the request is untouched. */
    q = dial_req(SEAM_REASONING_HIGH, "high", 0, -1);
    assert_int_equal(seam_policy_apply_set(&off, &q, &t, applied, sizeof(applied)), 0);
    assert_string_equal(applied, "");
    assert_int_equal(q.params.reasoning, SEAM_REASONING_HIGH);
    assert_string_equal(q.params.reasoning_raw, "high");
    assert_true(t.needs.thinking);

    /* A bare thinking budget is a choice too. */
    q = dial_req(SEAM_REASONING_UNSET, NULL, 2048, 4096);
    assert_int_equal(seam_policy_apply_set(&off, &q, &t, applied, sizeof(applied)), 0);
    assert_int_equal(q.params.reasoning_budget, 2048);
    assert_true(t.needs.thinking);

    /* force: the rule wins, and the client's spelling and budget go, so
     * every provider encodes the rule's level. */
    seam_rule_conf forced = dial_rule(SEAM_REASONING_OFF, true, 0);
    q = dial_req(SEAM_REASONING_HIGH, "high", 0, -1);
    seam_policy_apply_set(&forced, &q, &t, applied, sizeof(applied));
    assert_string_equal(applied, "reasoning=off");
    assert_int_equal(q.params.reasoning, SEAM_REASONING_OFF);
    assert_null(q.params.reasoning_raw);
    assert_false(t.needs.thinking);
    q = dial_req(SEAM_REASONING_UNSET, NULL, 2048, 4096);
    seam_policy_apply_set(&forced, &q, &t, applied, sizeof(applied));
    assert_int_equal(q.params.reasoning_budget, 0);
    assert_false(t.needs.thinking);

    /* Forcing what the client already chose changes nothing. */
    q = dial_req(SEAM_REASONING_OFF, "none", 0, -1);
    assert_int_equal(seam_policy_apply_set(&forced, &q, &t, applied, sizeof(applied)), 0);
    assert_string_equal(q.params.reasoning_raw, "none");

    /* Turning thinking on makes the backend need it. */
    seam_rule_conf high = dial_rule(SEAM_REASONING_HIGH, false, 0);
    q = dial_req(SEAM_REASONING_UNSET, NULL, 0, -1);
    seam_policy_apply_set(&high, &q, &t, applied, sizeof(applied));
    assert_string_equal(applied, "reasoning=high");
    assert_true(t.needs.thinking);
    seam_rule_conf low = dial_rule(SEAM_REASONING_LOW, true, 0);
    seam_policy_apply_set(&low, &q, &t, applied, sizeof(applied));
    assert_string_equal(applied, "reasoning=low");
    assert_int_equal(q.params.reasoning, SEAM_REASONING_LOW);

    /* No rule, or a rule without set: nothing. */
    q = dial_req(SEAM_REASONING_UNSET, NULL, 0, -1);
    assert_int_equal(seam_policy_apply_set(NULL, &q, &t, applied, sizeof(applied)), 0);
    assert_string_equal(applied, "");
    seam_rule_conf none = dial_rule(SEAM_REASONING_UNSET, false, 0);
    assert_int_equal(seam_policy_apply_set(&none, &q, &t, applied, sizeof(applied)), 0);
    assert_int_equal(q.params.reasoning, SEAM_REASONING_UNSET);
    assert_int_equal(q.params.max_tokens, -1);
}

static void set_caps_max_tokens(void **state)
{
    char applied[64];
    seam_task t;
    seam_task_init(&t, NULL);
    t.prompt_tokens = 100;
    seam_rule_conf cap = dial_rule(SEAM_REASONING_UNSET, false, 512);

    seam_req q = dial_req(SEAM_REASONING_UNSET, NULL, 0, -1); /* none given: the cap */
    seam_policy_apply_set(&cap, &q, &t, applied, sizeof(applied));
    assert_string_equal(applied, "max_tokens<=512");
    assert_int_equal(q.params.max_tokens, 512);
    assert_int_equal(t.output_tokens, 512);
    assert_int_equal(t.tokens, 612);
    assert_int_equal(t.needs.context_tokens, 612);

    q = dial_req(SEAM_REASONING_UNSET, NULL, 0, 100000); /* more: lowered */
    seam_policy_apply_set(&cap, &q, &t, applied, sizeof(applied));
    assert_string_equal(applied, "max_tokens<=512");
    assert_int_equal(q.params.max_tokens, 512);

    q = dial_req(SEAM_REASONING_UNSET, NULL, 0, 300); /* less: kept */
    assert_int_equal(seam_policy_apply_set(&cap, &q, &t, applied, sizeof(applied)), 0);
    assert_int_equal(q.params.max_tokens, 300);
    assert_int_equal(t.needs.context_tokens, 400);
    q = dial_req(SEAM_REASONING_UNSET, NULL, 0, 512); /* equal: kept */
    assert_int_equal(seam_policy_apply_set(&cap, &q, &t, applied, sizeof(applied)), 0);

    /* Both, in a fixed order; a short buffer is cut, never overrun. */
    seam_rule_conf both = dial_rule(SEAM_REASONING_OFF, false, 512);
    q = dial_req(SEAM_REASONING_UNSET, NULL, 0, -1);
    seam_policy_apply_set(&both, &q, &t, applied, sizeof(applied));
    assert_string_equal(applied, "reasoning=off,max_tokens<=512");
    char small[8];
    memset(small, 'x', sizeof(small));
    q = dial_req(SEAM_REASONING_UNSET, NULL, 0, -1);
    size_t n = seam_policy_apply_set(&both, &q, &t, small, sizeof(small));
    assert_true(n < sizeof(small));
    assert_int_equal(strlen(small), n);
    assert_int_equal(strncmp(small, "reasoni", 7), 0);
    assert_int_equal(q.params.max_tokens, 512); /* still applied */
    q = dial_req(SEAM_REASONING_UNSET, NULL, 0, -1);
    assert_int_equal(seam_policy_apply_set(&both, &q, NULL, NULL, 0), 0);
    assert_int_equal(q.params.reasoning, SEAM_REASONING_OFF);
}

/* The rule that matched is the rule whose set applies. */
static void set_of_the_matched_rule(void **state)
{
    seam_config *cfg = load_yaml(
        "backends:\n"
        "  - { name: l, provider: ollama, url: http://127.0.0.1:1, location: local, models: [m] }\n"
        "pools: { local: [l] }\n"
        "policy:\n"
        "  rules:\n"
        "    - { name: quick, when: { kind: [classify] }, route: local,"
        " set: { reasoning: off, max_tokens_cap: 256 } }\n"
        "    - { name: deep, when: { kind: [draft] }, route: local,"
        " set: { reasoning: high, force: true } }\n"
        "  default: local\n");
    seam_task t;
    seam_task_init(&t, cfg);
    seam_route_facts f = {"auto", false, false};
    seam_decision d;
    char applied[64];
    t.kind = SEAM_KIND_CLASSIFY;
    seam_policy_decide(cfg, &t, &f, &d);
    seam_req q = dial_req(SEAM_REASONING_UNSET, NULL, 0, -1);
    seam_policy_apply_set(d.matched, &q, &t, applied, sizeof(applied));
    assert_string_equal(applied, "reasoning=off,max_tokens<=256");
    t.kind = SEAM_KIND_DRAFT;
    seam_policy_decide(cfg, &t, &f, &d);
    q = dial_req(SEAM_REASONING_LOW, "low", 0, -1);
    seam_policy_apply_set(d.matched, &q, &t, applied, sizeof(applied));
    assert_string_equal(applied, "reasoning=high");
    t.kind = SEAM_KIND_CHAT; /* the default has no set */
    seam_policy_decide(cfg, &t, &f, &d);
    assert_null(d.matched);
    q = dial_req(SEAM_REASONING_LOW, "low", 0, -1);
    assert_int_equal(seam_policy_apply_set(d.matched, &q, &t, applied, sizeof(applied)), 0);
    assert_int_equal(q.params.reasoning, SEAM_REASONING_LOW);
    seam_config_free(cfg);
}

static void reasoning_level_names(void **state)
{
    static const char *names[] = {"", "off", "minimal", "low", "medium", "high", "xhigh", "max"};
    for (int r = SEAM_REASONING_UNSET; r <= SEAM_REASONING_MAX; r++)
        assert_string_equal(seam_reasoning_level_name((seam_reasoning)r), names[r]);
}

/* A matched rule's fallback pools travel with the decision; the default,
 * a pin and a reroute have none. */
static void fallbacks_of_the_matched_rule(void **state)
{
    seam_config *cfg = load_yaml("backends:\n"
                                 "  - { name: l, provider: openai, url: http://127.0.0.1:1, "
                                 "location: local, models: [lm] }\n"
                                 "  - { name: c, provider: openai, url: http://127.0.0.1:2, "
                                 "location: cloud, models: [cm] }\n"
                                 "pools:\n"
                                 "  local: [l]\n"
                                 "  cloud: [c]\n"
                                 "  spare: [l]\n"
                                 "policy:\n"
                                 "  rules:\n"
                                 "    - { name: drafting, when: { kind: [draft] }, route: cloud, "
                                 "fallback: [local, spare] }\n"
                                 "    - { name: plain, when: { kind: [code] }, route: cloud }\n"
                                 "  default: local\n");
    seam_route_facts f = {"auto", false, false};
    seam_task t = {.kind = SEAM_KIND_DRAFT, .sensitivity = SEAM_SENS_PUBLIC};
    seam_decision d;
    seam_policy_decide(cfg, &t, &f, &d);
    assert_string_equal(d.rule, "drafting");
    assert_int_equal(d.nfallbacks, 2);
    assert_string_equal(cfg->pools[d.fallbacks[0]].name, "local");
    assert_string_equal(cfg->pools[d.fallbacks[1]].name, "spare");
    t.kind = SEAM_KIND_CODE;
    seam_policy_decide(cfg, &t, &f, &d);
    assert_string_equal(d.rule, "plain");
    assert_int_equal(d.nfallbacks, 0);
    assert_null(d.fallbacks);
    t.kind = SEAM_KIND_CHAT;
    seam_policy_decide(cfg, &t, &f, &d);
    assert_string_equal(d.rule, "default");
    assert_int_equal(d.nfallbacks, 0);
    f.model = "cm";
    t.kind = SEAM_KIND_DRAFT;
    seam_policy_decide(cfg, &t, &f, &d);
    assert_string_equal(d.rule, "pinned");
    assert_int_equal(d.nfallbacks, 0);
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
        cmocka_unit_test(set_reasoning_unless_the_client_chose),
        cmocka_unit_test(set_caps_max_tokens),
        cmocka_unit_test(set_of_the_matched_rule),
        cmocka_unit_test(reasoning_level_names),
        cmocka_unit_test(fallbacks_of_the_matched_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
