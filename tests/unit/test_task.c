/* Task metadata parsing and the token estimate. */
#include "testutil.h"

#include "api/openai.h"
#include "policy/task.h"

static void defaults(void **state)
{
    seam_task t;
    seam_task_init(&t, NULL);
    assert_int_equal(t.kind, SEAM_KIND_CHAT);
    assert_int_equal(t.sensitivity, SEAM_SENS_INTERNAL);
    assert_int_equal(t.complexity, SEAM_CPLX_MEDIUM);
    assert_int_equal(t.declared, 0);

    char yaml[4096];
    snprintf(yaml, sizeof(yaml), "%s  default_sensitivity: public\n", reference_yaml);
    seam_config *cfg = load_yaml(yaml);
    seam_task_init(&t, cfg);
    assert_int_equal(t.sensitivity, SEAM_SENS_PUBLIC);
    seam_config_free(cfg);
}

static void declare_each_value(void **state)
{
    static const char *kinds[] = {"summarize", "classify", "draft", "code",
                                  "chat",      "embed",    "other"};
    static const char *sens[] = {"public", "internal", "regulated"};
    static const char *cplx[] = {"low", "medium", "high"};
    char err[256];
    seam_task t;
    for (int i = 0; i < 7; i++) {
        seam_task_init(&t, NULL);
        assert_int_equal(seam_task_declare(&t, "kind", kinds[i], "X-Seam-Kind", err, sizeof(err)),
                         SEAM_OK);
        assert_int_equal(t.kind, i);
    }
    for (int i = 0; i < 3; i++) {
        seam_task_init(&t, NULL);
        assert_int_equal(
            seam_task_declare(&t, "sensitivity", sens[i], "X-Seam-Sensitivity", err, sizeof(err)),
            SEAM_OK);
        assert_int_equal(t.sensitivity, i);
        assert_int_equal(
            seam_task_declare(&t, "complexity", cplx[i], "X-Seam-Complexity", err, sizeof(err)),
            SEAM_OK);
        assert_int_equal(t.complexity, i);
    }
}

static void invalid_values_name_the_field(void **state)
{
    char err[256];
    seam_task t;
    seam_task_init(&t, NULL);
    assert_int_equal(
        seam_task_declare(&t, "sensitivity", "secret", "X-Seam-Sensitivity", err, sizeof(err)),
        SEAM_ERR_INVALID);
    assert_non_null(strstr(err, "X-Seam-Sensitivity"));
    assert_int_equal(t.sensitivity, SEAM_SENS_INTERNAL);
    assert_int_equal(seam_task_declare(&t, "kind", "Draft", "seam.kind", err, sizeof(err)),
                     SEAM_ERR_INVALID);
    assert_non_null(strstr(err, "seam.kind"));
    assert_int_equal(seam_task_declare(&t, "complexity", "", "X-Seam-Complexity", err, sizeof(err)),
                     SEAM_ERR_INVALID);

    json_t *o = json_pack("{s:s, s:i}", "kind", "draft", "sensitivity", 3);
    assert_int_equal(seam_task_declare_json(&t, o, err, sizeof(err)), SEAM_ERR_INVALID);
    assert_non_null(strstr(err, "seam.sensitivity"));
    json_decref(o);
    o = json_pack("{s:s}", "colour", "blue");
    assert_int_equal(seam_task_declare_json(&t, o, err, sizeof(err)), SEAM_ERR_INVALID);
    assert_non_null(strstr(err, "seam.colour"));
    json_decref(o);
    o = json_string("public");
    assert_int_equal(seam_task_declare_json(&t, o, err, sizeof(err)), SEAM_ERR_INVALID);
    json_decref(o);
}

/* Header and body both declare a sensitivity: the higher one wins, so a
 * body cannot talk a header down (or the reverse). */
static void sensitivity_declared_twice_keeps_the_higher(void **state)
{
    char err[256];
    seam_task t;
    seam_task_init(&t, NULL);
    seam_task_declare(&t, "sensitivity", "regulated", "X-Seam-Sensitivity", err, sizeof(err));
    json_t *o = json_pack("{s:s}", "sensitivity", "public");
    assert_int_equal(seam_task_declare_json(&t, o, err, sizeof(err)), SEAM_OK);
    json_decref(o);
    assert_int_equal(t.sensitivity, SEAM_SENS_REGULATED);
    seam_task_raise(&t, SEAM_SENS_PUBLIC);
    assert_int_equal(t.sensitivity, SEAM_SENS_REGULATED);

    seam_task_init(&t, NULL);
    seam_task_declare(&t, "sensitivity", "public", "X-Seam-Sensitivity", err, sizeof(err));
    assert_int_equal(t.sensitivity, SEAM_SENS_PUBLIC);
    seam_task_raise(&t, SEAM_SENS_INTERNAL);
    assert_int_equal(t.sensitivity, SEAM_SENS_INTERNAL);
}

static void token_estimate(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    const char *body =
        "{\"model\":\"auto\",\"max_tokens\":100,\"messages\":["
        "{\"role\":\"system\",\"content\":\"12345678\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"1234\"},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,AA==\"}}]}]}";
    seam_req *r;
    json_t *meta;
    char err[256];
    const char *param;
    assert_int_equal(
        seam_api_openai_decode(a, body, strlen(body), &r, &meta, err, sizeof(err), &param),
        SEAM_OK);
    seam_task t;
    seam_task_init(&t, NULL);
    seam_task_estimate(&t, r);
    assert_int_equal(t.prompt_tokens, 3); /* 12 bytes of text / 4 */
    assert_int_equal(t.output_tokens, 100);
    assert_int_equal(t.tokens, 103);
    assert_true(t.needs.vision);
    assert_false(t.needs.tools);
    assert_false(t.needs.thinking);
    assert_false(t.needs.embeddings);
    assert_int_equal(t.needs.context_tokens, 103);
    seam_arena_free(a);
}

static seam_req *decode(seam_arena *a, const char *body)
{
    seam_req *r;
    json_t *meta;
    char err[256];
    const char *param;
    seam_rc rc = seam_api_openai_decode(a, body, strlen(body), &r, &meta, err, sizeof(err), &param);
    if (rc != SEAM_OK)
        fail_msg("decode: %s", err);
    return r;
}

/* What a request needs from a backend. */
static void needs(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    seam_task t;
    seam_task_init(&t, NULL);
    seam_req *r = decode(a, "{\"model\":\"auto\",\"reasoning_effort\":\"low\",\"tools\":[{"
                            "\"type\":\"function\",\"function\":{\"name\":\"f\"}}],"
                            "\"messages\":[{\"role\":\"user\",\"content\":\"12345678\"}]}");
    seam_task_estimate(&t, r);
    assert_false(t.needs.vision);
    assert_true(t.needs.tools);
    assert_true(t.needs.thinking);
    assert_false(t.needs.embeddings);
    assert_int_equal(t.needs.context_tokens, t.prompt_tokens); /* no max_tokens given */

    /* reasoning off is no need; a tool call in the history without tool
     * definitions is text to the model, not a need for tools. */
    r = decode(a, "{\"model\":\"auto\",\"reasoning_effort\":\"none\",\"max_tokens\":50,"
                  "\"messages\":[{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{"
                  "\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":"
                  "\"{}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"ok\"}]}");
    seam_task_estimate(&t, r);
    assert_false(t.needs.tools);
    assert_false(t.needs.thinking);
    assert_int_equal(t.needs.context_tokens, t.prompt_tokens + 50);

    /* A bare thinking budget (Anthropic's budget_tokens) needs thinking. */
    r->params.reasoning = SEAM_REASONING_UNSET;
    r->params.reasoning_budget = 2048;
    seam_task_update_params(&t, r);
    assert_true(t.needs.thinking);
    r->params.reasoning = SEAM_REASONING_OFF; /* off wins over a budget */
    seam_task_update_params(&t, r);
    assert_false(t.needs.thinking);

    /* An embeddings request needs embeddings. */
    seam_embed e = {.dimensions = -1, .truncate = -1};
    r->embed = &e;
    seam_task_estimate(&t, r);
    assert_true(t.needs.embeddings);
    seam_arena_free(a);
}

/* A change of parameters (a policy set) moves the output and total
 * estimates, not the prompt's. */
static void update_params(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    seam_task t;
    seam_task_init(&t, NULL);
    seam_req *r = decode(a, "{\"model\":\"auto\",\"max_tokens\":1000,\"messages\":[{\"role\":"
                            "\"user\",\"content\":\"1234567812345678\"}]}");
    seam_task_estimate(&t, r);
    assert_int_equal(t.prompt_tokens, 4);
    assert_int_equal(t.tokens, 1004);
    r->params.max_tokens = 10;
    r->params.reasoning = SEAM_REASONING_HIGH;
    seam_task_update_params(&t, r);
    assert_int_equal(t.prompt_tokens, 4);
    assert_int_equal(t.output_tokens, 10);
    assert_int_equal(t.tokens, 14);
    assert_int_equal(t.needs.context_tokens, 14);
    assert_true(t.needs.thinking);
    seam_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),
        cmocka_unit_test(declare_each_value),
        cmocka_unit_test(invalid_values_name_the_field),
        cmocka_unit_test(sensitivity_declared_twice_keeps_the_higher),
        cmocka_unit_test(token_estimate),
        cmocka_unit_test(needs),
        cmocka_unit_test(update_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
