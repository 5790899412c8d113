/*
 * Anthropic egress: request encoding from canonical requests (decoded from
 * OpenAI bodies), the call's URL and headers, whole messages, and recorded
 * named-event streams at every split, truncated, failing and garbage.
 */
#include "provtest.h"

#include "api/anthropic.h"
#include "providers/anthropic.h"

static seam_backend_conf backend = {
    .name = "claude", .url = "https://api.anthropic.test", .max_tokens_default = 4096};

static json_t *encode(seam_arena *a, const char *body, seam_rc want, const char *want_err)
{
    seam_req *r = decode_ok(a, body);
    char err[256] = "";
    seam_rc rc;
    json_t *o = seam_anthropic_encode_request(r, &backend, "claude-x", a, &rc, err, sizeof(err));
    if (rc != want)
        fail_msg("encode: %s (%s), wanted %s", seam_rc_str(rc), err, seam_rc_str(want));
    if (want_err && !strstr(err, want_err))
        fail_msg("error '%s' lacks '%s'", err, want_err);
    return o;
}

static const char full_request[] =
    "{\"model\":\"auto\",\"stream\":true,\"temperature\":0.5,\"top_p\":0.9,\"stop\":[\"END\"],"
    "\"reasoning_effort\":\"medium\",\"tool_choice\":\"required\",\"parallel_tool_calls\":false,"
    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":"
    "\"Weather\",\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":"
    "\"string\"}},\"required\":[\"city\"]}}},{\"type\":\"function\",\"function\":{\"name\":"
    "\"now\"}}],"
    "\"messages\":["
    "{\"role\":\"system\",\"content\":\"be brief\"},"
    "{\"role\":\"developer\",\"content\":[{\"type\":\"text\",\"text\":\"use metric\"}]},"
    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"weather here?\"},"
    "{\"type\":\"text\",\"text\":\"\"},"
    "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,iVBORw0KGgo=\"}},"
    "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://example.com/a.jpg\"}}]},"
    "{\"role\":\"user\",\"content\":\"and the time?\"},"
    "{\"role\":\"assistant\",\"content\":\"Checking.\",\"tool_calls\":["
    "{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
    "\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\"}\"}},"
    "{\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":\"now\",\"arguments\":\"\"}}"
    "]},"
    "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"-3C\"},"
    "{\"role\":\"tool\",\"tool_call_id\":\"call_2\",\"content\":[{\"type\":\"text\",\"text\":"
    "\"12:\"},{\"type\":\"text\",\"text\":\"00\"}]},"
    "{\"role\":\"user\",\"content\":\"thanks\"}]}";

static const char full_expected[] =
    "{\"model\":\"claude-x\",\"max_tokens\":12288,"
    "\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":8192},"
    "\"system\":[{\"type\":\"text\",\"text\":\"be brief\"},{\"type\":\"text\",\"text\":\"use "
    "metric\"}],"
    "\"messages\":["
    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"weather here?\"},"
    "{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/png\",\"data\":"
    "\"iVBORw0KGgo=\"}},"
    "{\"type\":\"image\",\"source\":{\"type\":\"url\",\"url\":\"https://example.com/a.jpg\"}},"
    "{\"type\":\"text\",\"text\":\"and the time?\"}]},"
    "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"Checking.\"},"
    "{\"type\":\"tool_use\",\"id\":\"call_1\",\"name\":\"get_weather\",\"input\":{\"city\":"
    "\"Oslo\"}},"
    "{\"type\":\"tool_use\",\"id\":\"call_2\",\"name\":\"now\",\"input\":{}}]},"
    "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"call_1\","
    "\"content\":\"-3C\"},"
    "{\"type\":\"tool_result\",\"tool_use_id\":\"call_2\",\"content\":\"12:00\"},"
    "{\"type\":\"text\",\"text\":\"thanks\"}]}],"
    "\"tools\":[{\"name\":\"get_weather\",\"description\":\"Weather\",\"input_schema\":{"
    "\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":["
    "\"city\"]}},"
    "{\"name\":\"now\",\"input_schema\":{\"type\":\"object\",\"properties\":{}}}],"
    "\"tool_choice\":{\"type\":\"any\",\"disable_parallel_tool_use\":true},"
    "\"stop_sequences\":[\"END\"],\"temperature\":0.5,\"top_p\":0.9,\"stream\":true}";

static void encode_full_request(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    json_t *o = encode(a, full_request, SEAM_OK, NULL);
    assert_json_eq(o, full_expected);
    json_decref(o);
    seam_arena_free(a);
}

#define USER_HI "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]"

static void encode_limits_and_thinking(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    /* No reasoning: the backend's default max_tokens, no thinking. */
    backend.max_tokens_default = 1234;
    json_t *o = encode(a, "{\"model\":\"auto\"," USER_HI "}", SEAM_OK, NULL);
    assert_json_eq(o, "{\"model\":\"claude-x\",\"max_tokens\":1234,\"messages\":[{\"role\":"
                      "\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]}]}");
    json_decref(o);
    backend.max_tokens_default = 4096;
    /* "none" is off: no thinking block at all. */
    o = encode(a,
               "{\"model\":\"auto\",\"reasoning_effort\":\"none\",\"max_tokens\":50," USER_HI "}",
               SEAM_OK, NULL);
    assert_null(json_object_get(o, "thinking"));
    assert_int_equal(json_integer_value(json_object_get(o, "max_tokens")), 50);
    json_decref(o);
    /* The client's max_tokens stays; the budget shrinks below it. */
    o = encode(
        a,
        "{\"model\":\"auto\",\"reasoning_effort\":\"high\",\"max_completion_tokens\":2000," USER_HI
        "}",
        SEAM_OK, NULL);
    assert_int_equal(json_integer_value(json_object_get(o, "max_tokens")), 2000);
    assert_json_eq(json_object_get(o, "thinking"), "{\"type\":\"enabled\",\"budget_tokens\":1999}");
    json_decref(o);
    /* A budget that fits is kept as is. */
    o = encode(a,
               "{\"model\":\"auto\",\"reasoning_effort\":\"low\",\"max_tokens\":20000," USER_HI "}",
               SEAM_OK, NULL);
    assert_json_eq(json_object_get(o, "thinking"), "{\"type\":\"enabled\",\"budget_tokens\":1024}");
    json_decref(o);
    /* Too small for any budget: a clear error, not silently no thinking. */
    o = encode(a,
               "{\"model\":\"auto\",\"reasoning_effort\":\"low\",\"max_tokens\":1000," USER_HI "}",
               SEAM_ERR_INVALID, "max_tokens above 1024");
    assert_null(o);
    seam_arena_free(a);
}

static void encode_tool_choice_and_roles(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    const char *tools = "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\","
                        "\"parameters\":{\"properties\":{}}}}],";
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"model\":\"auto\",%s\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":"
             "\"f\"}}," USER_HI "}",
             tools);
    json_t *o = encode(a, body, SEAM_OK, NULL);
    assert_json_eq(json_object_get(o, "tool_choice"), "{\"type\":\"tool\",\"name\":\"f\"}");
    /* A schema without a type becomes an object schema. */
    assert_json_eq(json_object_get(o, "tools"),
                   "[{\"name\":\"f\",\"input_schema\":{\"properties\":{},\"type\":\"object\"}}]");
    json_decref(o);
    snprintf(body, sizeof(body), "{\"model\":\"auto\",%s\"tool_choice\":\"none\"," USER_HI "}",
             tools);
    o = encode(a, body, SEAM_OK, NULL);
    assert_json_eq(json_object_get(o, "tool_choice"), "{\"type\":\"none\"}");
    json_decref(o);
    snprintf(body, sizeof(body), "{\"model\":\"auto\",%s" USER_HI "}", tools);
    o = encode(a, body, SEAM_OK, NULL);
    assert_null(json_object_get(o, "tool_choice"));
    json_decref(o);
    /* A final assistant turn (a prefill) stays; a message of only empty
     * text disappears and its neighbours merge; a lone system string is a
     * string. */
    o = encode(a,
               "{\"model\":\"auto\",\"messages\":[{\"role\":\"system\",\"content\":\"S\"},"
               "{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":\"\"},"
               "{\"role\":\"user\",\"content\":\"b\"},{\"role\":\"assistant\",\"content\":\"{\"}]}",
               SEAM_OK, NULL);
    assert_json_eq(o,
                   "{\"model\":\"claude-x\",\"max_tokens\":4096,\"system\":\"S\",\"messages\":["
                   "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},{"
                   "\"type\":\"text\",\"text\":\"b\"}]},"
                   "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"{\"}]}]}");
    json_decref(o);
    seam_arena_free(a);
}

/* Ollama and Gemini answers number their calls call_0, call_1, ... on every
 * turn; Anthropic wants unique tool_use ids, and each result must follow its
 * own call. */
static void encode_repeated_call_ids(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    json_t *o = encode(
        a,
        "{\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"},"
        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_0\",\"type\":"
        "\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"call_0\",\"content\":\"r1\"},"
        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_0\",\"type\":"
        "\"function\",\"function\":{\"name\":\"g\",\"arguments\":\"{}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"call_0\",\"content\":\"r2\"}]}",
        SEAM_OK, NULL);
    assert_json_eq(
        json_object_get(o, "messages"),
        "[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"}]},"
        "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"call_0\",\"name\":"
        "\"f\",\"input\":{}}]},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"call_0\","
        "\"content\":\"r1\"}]},"
        "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"call_0_m3\","
        "\"name\":\"g\",\"input\":{}}]},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":"
        "\"call_0_m3\",\"content\":\"r2\"}]}]");
    json_decref(o);
    seam_arena_free(a);
}

static void encode_errors(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    encode(a,
           "{\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"},"
           "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":"
           "\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{broken\"}}]}]}",
           SEAM_ERR_INVALID, "not a JSON object");
    encode(a,
           "{\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
           "\"input_audio\",\"input_audio\":{\"data\":\"UklG\",\"format\":\"wav\"}}]}]}",
           SEAM_ERR_INVALID, "input_audio");
    encode(a,
           "{\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
           "\"image_url\",\"image_url\":{\"url\":\"ftp://x/y.png\"}}]}]}",
           SEAM_ERR_INVALID, "image");
    encode(a, "{\"model\":\"auto\",\"messages\":[{\"role\":\"system\",\"content\":\"only\"}]}",
           SEAM_ERR_INVALID, "no non-empty");
    seam_arena_free(a);
}

/* A request from an Anthropic client (api/anthropic.c), encoded. */
static json_t *encode_native(seam_arena *a, const char *body)
{
    seam_req *r = NULL;
    json_t *meta;
    const char *param;
    char err[256] = "";
    seam_rc rc =
        seam_ingress_anthropic.decode(a, body, strlen(body), &r, &meta, err, sizeof(err), &param);
    if (rc != SEAM_OK)
        fail_msg("decode: %s", err);
    json_t *o = seam_anthropic_encode_request(r, &backend, "claude-x", a, &rc, err, sizeof(err));
    if (rc != SEAM_OK)
        fail_msg("encode: %s", err);
    return o;
}

/* What an Anthropic client sent in Anthropic's own terms goes back to an
 * Anthropic backend verbatim: signed and redacted thinking (ahead of their
 * turn), documents, server tools, disable_parallel_tool_use, unmodelled keys,
 * the exact thinking budget; the seam key never. */
static void encode_same_dialect(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    json_t *o = encode_native(
        a, "{\"model\":\"auto\",\"max_tokens\":5000,\"seam\":{\"kind\":\"code\"},\"top_k\":5,"
           "\"metadata\":{\"user_id\":\"u\"},\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":"
           "3000},\"system\":\"S\","
           "\"tools\":[{\"name\":\"f\",\"input_schema\":{\"type\":\"object\"}},"
           "{\"type\":\"web_search_20250305\",\"name\":\"web_search\",\"max_uses\":2}],"
           "\"tool_choice\":{\"type\":\"auto\",\"disable_parallel_tool_use\":true},"
           "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"document\",\"source\":{"
           "\"type\":\"text\",\"media_type\":\"text/plain\",\"data\":\"doc\"}},{\"type\":\"text\","
           "\"text\":\"q\"}]},"
           "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"calling\"},"
           "{\"type\":\"thinking\",\"thinking\":\"plan\",\"signature\":\"SIG\"},"
           "{\"type\":\"redacted_thinking\",\"data\":\"ENC\"},"
           "{\"type\":\"thinking\",\"thinking\":\"unsigned\",\"signature\":\"\"},"
           "{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"f\",\"input\":{\"x\":1}}]},"
           "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_1\","
           "\"content\":[{\"type\":\"text\",\"text\":\"r\"},{\"type\":\"search_result\",\"source\":"
           "\"s\",\"title\":\"t\",\"content\":[]}]},{\"type\":\"text\",\"text\":\"go on\"}]}]}");
    assert_json_eq(
        o, "{\"model\":\"claude-x\",\"max_tokens\":5000,"
           "\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":3000},\"system\":\"S\","
           "\"messages\":["
           "{\"role\":\"user\",\"content\":[{\"type\":\"document\",\"source\":{\"type\":\"text\","
           "\"media_type\":\"text/plain\",\"data\":\"doc\"}},{\"type\":\"text\",\"text\":\"q\"}]},"
           "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"plan\","
           "\"signature\":\"SIG\"},{\"type\":\"redacted_thinking\",\"data\":\"ENC\"},"
           "{\"type\":\"text\",\"text\":\"calling\"},"
           "{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"f\",\"input\":{\"x\":1}}]},"
           "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_1\","
           "\"content\":[{\"type\":\"text\",\"text\":\"r\"},{\"type\":\"search_result\","
           "\"source\":\"s\",\"title\":\"t\",\"content\":[]}]},{\"type\":\"text\",\"text\":"
           "\"go on\"}]}],"
           "\"tools\":[{\"name\":\"f\",\"input_schema\":{\"type\":\"object\"}},"
           "{\"type\":\"web_search_20250305\",\"name\":\"web_search\",\"max_uses\":2}],"
           "\"tool_choice\":{\"type\":\"auto\",\"disable_parallel_tool_use\":true},"
           "\"top_k\":5,\"metadata\":{\"user_id\":\"u\"}}");
    json_decref(o);
    /* Adaptive thinking and output_config go back as sent, with no budget;
     * a budget above the client's max_tokens shrinks below it. */
    o = encode_native(a,
                      "{\"model\":\"auto\",\"max_tokens\":900,\"thinking\":{\"type\":"
                      "\"adaptive\"},\"output_config\":{\"effort\":\"low\",\"format\":{"
                      "\"type\":\"json_schema\",\"schema\":{\"type\":\"object\"}}}," USER_HI "}");
    assert_json_eq(o, "{\"model\":\"claude-x\",\"max_tokens\":900,\"thinking\":{\"type\":"
                      "\"adaptive\"},\"output_config\":{\"effort\":\"low\",\"format\":{\"type\":"
                      "\"json_schema\",\"schema\":{\"type\":\"object\"}}},\"messages\":[{\"role\":"
                      "\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]}]}");
    json_decref(o);
    /* A policy that turns reasoning off keeps adaptive thinking home. */
    seam_req *r = NULL;
    json_t *meta;
    const char *param;
    char err[256];
    seam_rc rc;
    const char *adaptive =
        "{\"model\":\"auto\",\"max_tokens\":900,\"thinking\":{\"type\":\"adaptive\"}," USER_HI "}";
    assert_int_equal(seam_ingress_anthropic.decode(a, adaptive, strlen(adaptive), &r, &meta, err,
                                                   sizeof(err), &param),
                     SEAM_OK);
    r->params.reasoning = SEAM_REASONING_OFF;
    o = seam_anthropic_encode_request(r, &backend, "claude-x", a, &rc, err, sizeof(err));
    assert_null(json_object_get(o, "thinking"));
    json_decref(o);
    o = encode_native(a, "{\"model\":\"auto\",\"max_tokens\":2000,\"thinking\":{\"type\":"
                         "\"enabled\",\"budget_tokens\":4000}," USER_HI "}");
    assert_json_eq(json_object_get(o, "thinking"), "{\"type\":\"enabled\",\"budget_tokens\":1999}");
    json_decref(o);
    seam_arena_free(a);
}

/* Another dialect's unmodelled keys never reach Anthropic, and thinking
 * without a signature (another backend's) is dropped. */
static void encode_foreign_dialect(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    json_t *o = encode(a,
                       "{\"model\":\"auto\",\"user\":\"u1\",\"top_k\":3,\"metadata\":{\"a\":1},"
                       "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],"
                       "\"tool_choice\":\"auto\"," USER_HI "}",
                       SEAM_OK, NULL);
    assert_null(json_object_get(o, "user"));
    assert_null(json_object_get(o, "top_k"));
    assert_null(json_object_get(o, "metadata"));
    assert_json_eq(json_object_get(o, "tool_choice"), "{\"type\":\"auto\"}");
    json_decref(o);
    seam_req *r = decode_ok(a, "{\"model\":\"auto\"," USER_HI "}");
    seam_part parts[] = {{.type = SEAM_PART_THINKING, .text = "t", .text_len = 1},
                         {.type = SEAM_PART_TEXT, .text = "a", .text_len = 1}};
    seam_msg msgs[] = {r->msgs[0], {.role = SEAM_ROLE_ASSISTANT, .parts = parts, .nparts = 2}};
    r->msgs = msgs;
    r->nmsgs = 2;
    char err[256];
    seam_rc rc;
    o = seam_anthropic_encode_request(r, &backend, "claude-x", a, &rc, err, sizeof(err));
    assert_json_eq(json_object_get(o, "messages"),
                   "[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]},"
                   "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"a\"}]}]");
    json_decref(o);
    seam_arena_free(a);
}

static void build_call(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    seam_req *r = decode_ok(a, "{\"model\":\"auto\",\"stream\":true," USER_HI "}");
    seam_upstream_call c = {0};
    char err[256];
    assert_int_equal(seam_provider_anthropic.build(r, &backend, "claude-x", "sk-ant-secret", a, &c,
                                                   err, sizeof(err)),
                     SEAM_OK);
    assert_string_equal(c.url, "https://api.anthropic.test/v1/messages");
    assert_string_equal(find_header(&c, "x-api-key:"), "x-api-key: sk-ant-secret");
    assert_string_equal(find_header(&c, "anthropic-version:"), "anthropic-version: 2023-06-01");
    assert_string_equal(find_header(&c, "Accept:"), "Accept: text/event-stream");
    assert_null(find_header(&c, "Authorization:"));
    json_error_t jerr;
    json_t *o = json_loadb(c.body.data, c.body.len, 0, &jerr);
    assert_true(json_is_true(json_object_get(o, "stream")));
    json_decref(o);
    seam_buf_free(&c.body);
    memset(&c, 0, sizeof(c));
    assert_int_equal(
        seam_provider_anthropic.build(r, &backend, "claude-x", NULL, a, &c, err, sizeof(err)),
        SEAM_OK);
    assert_null(find_header(&c, "x-api-key:"));
    seam_buf_free(&c.body);
    const char **ph = seam_provider_anthropic.probe_headers("k", a);
    assert_string_equal(ph[0], "anthropic-version: 2023-06-01");
    assert_string_equal(ph[1], "x-api-key: k");
    assert_null(ph[2]);
    assert_string_equal(seam_provider_anthropic.probe_path, "/v1/models");
    seam_arena_free(a);
}

/* ---- answers ---- */

static void whole_messages(void **state)
{
    struct evlog l;
    char err[256];
    assert_int_equal(
        run_whole(&seam_provider_anthropic,
                  "{\"id\":\"msg_2\",\"type\":\"message\",\"role\":\"assistant\",\"model\":"
                  "\"claude-x\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"t\","
                  "\"signature\":\"s\"},{\"type\":\"redacted_thinking\",\"data\":\"x\"},"
                  "{\"type\":\"text\",\"text\":\"Hi\"},{\"type\":\"tool_use\",\"id\":\"toolu_1\","
                  "\"name\":\"f\",\"input\":{\"a\":1}}],\"stop_reason\":\"tool_use\","
                  "\"stop_sequence\":null,\"usage\":{\"input_tokens\":5,\"output_tokens\":7,"
                  "\"cache_creation_input_tokens\":1,\"cache_read_input_tokens\":2}}",
                  &l, err, sizeof(err)),
        SEAM_OK);
    assert_string_equal(l.text, "start(msg_2,claude-x)think(t)sig(s)text(Hi)call0(toolu_1,f)args0({"
                                "\"a\":1})end0usage(8,7,r-1,c2)finish(tool_calls)");
    const char *stops[][2] = {{"end_turn", "stop"},
                              {"max_tokens", "length"},
                              {"stop_sequence", "stop"},
                              {"refusal", "content_filter"},
                              {"model_context_window_exceeded", "length"},
                              {"pause_turn", "stop"}};
    for (size_t i = 0; i < sizeof(stops) / sizeof(stops[0]); i++) {
        char body[512], want[128];
        snprintf(body, sizeof(body),
                 "{\"id\":\"m\",\"type\":\"message\",\"model\":\"c\",\"content\":[{\"type\":"
                 "\"text\",\"text\":\"x\"}],\"stop_reason\":\"%s\",\"usage\":{\"input_tokens\":1,"
                 "\"output_tokens\":2}}",
                 stops[i][0]);
        snprintf(want, sizeof(want), "start(m,c)text(x)usage(1,2,r-1,c-1)finish(%s)", stops[i][1]);
        assert_int_equal(run_whole(&seam_provider_anthropic, body, &l, err, sizeof(err)), SEAM_OK);
        assert_string_equal(l.text, want);
    }
    /* An error object, and bodies that are not messages. */
    assert_int_equal(run_whole(&seam_provider_anthropic,
                               "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
                               "\"message\":\"Overloaded\"}}",
                               &l, err, sizeof(err)),
                     SEAM_OK);
    assert_string_equal(l.text, "error(Overloaded|overloaded_error)");
    assert_int_equal(run_whole(&seam_provider_anthropic, "<html>", &l, err, sizeof(err)),
                     SEAM_ERR_UPSTREAM);
    assert_int_equal(
        run_whole(&seam_provider_anthropic, "{\"type\":\"message\"}", &l, err, sizeof(err)),
        SEAM_ERR_UPSTREAM);
}

#define EV(name, data) "event: " name "\ndata: " data "\n\n"

/* A recorded stream: thinking with its signature, text, two tool calls (the
 * first input fragment ""), pings, a comment and CRLF lines. */
static const char recorded_stream[] =
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"ms"
    "g_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-x\",\"conte"
    "nt\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":"
    "10,\"cache_creation_input_tokens\":2,\"cache_read_input_tokens\":3,\"output_toke"
    "ns\":1}}}\n\n"
    "event: ping\ndata: {\"type\":\"ping\"}\n\n"
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
    "\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
    "\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hmm\"}}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
    "\"delta\":{\"type\":\"signature_delta\",\"signature\":\"c2ln\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n"
    "\n"
    ": a comment line\r\nevent: content_block_start\r\ndata: {\"type\":\"content_bloc"
    "k_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\r\n\r"
    "\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,"
    "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,"
    "\"delta\":{\"type\":\"text_delta\",\"text\":\"lo\"}}\n\n"
    "event: ping\ndata: {\"type\":\"ping\"}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n"
    "\n"
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":2,"
    "\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_a\",\"name\":\"get_weath"
    "er\",\"input\":{}}}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":2,"
    "\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":2,"
    "\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"city\\\":\"}}\n"
    "\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":2,"
    "\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\" \\\"Oslo\\\"}\"}}\n"
    "\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}\n"
    "\n"
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":3,"
    "\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_b\",\"name\":\"now\",\"i"
    "nput\":{}}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":3}\n"
    "\n"
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason"
    "\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":42}}\n\n"
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

static const char recorded_events[] =
    "start(msg_1,claude-x)think(hmm)sig(c2ln)text(Hel)text(lo)call0(toolu_a,get_weather)args0({"
    "\"city\":)"
    "args0( \"Oslo\"})end0call1(toolu_b,now)args1({})end1usage(15,42,r-1,c3)finish(tool_calls)";

static void stream_at_every_split(void **state)
{
    assert_stream_every_split(&seam_provider_anthropic, recorded_stream, recorded_events);
}

static void stream_failures(void **state)
{
    struct evlog l;
    char err[256];
    const seam_provider *p = &seam_provider_anthropic;
    /* Cut before message_stop: incomplete. */
    const char *stop = strstr(recorded_stream, "event: message_stop");
    assert_int_equal(
        run_stream(p, recorded_stream, (size_t)(stop - recorded_stream), 7, &l, err, sizeof(err)),
        SEAM_ERR_UPSTREAM);
    assert_non_null(strstr(err, "message_stop"));
    /* A mid-stream error event ends the stream with an error event. */
    const char *midway =
        EV("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":"
                            "\"c\",\"usage\":{\"input_tokens\":1}}}")
            EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,"
                                      "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}")
                EV("content_block_delta",
                   "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
                   "\"text_delta\",\"text\":\"par\"}}")
                    EV("error", "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
                                "\"message\":\"Overloaded\"}}");
    assert_int_equal(run_stream(p, midway, strlen(midway), 11, &l, err, sizeof(err)), SEAM_OK);
    assert_string_equal(l.text, "start(m,c)text(par)error(Overloaded|overloaded_error)");
    /* Garbage, events before message_start, a bad block index. */
    const char *bad[] = {
        "event: message_start\ndata: <html>\n\n",
        EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,"
                                  "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}"),
        EV("message_start", "{\"type\":\"message_start\",\"message\":{}}")
            EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":9999,"
                                      "\"content_block\":{\"type\":\"text\"}}"),
        EV("message_start", "{\"type\":\"message_start\",\"message\":{}}")
            EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,"
                                      "\"content_block\":{\"type\":\"tool_use\"}}"),
        "data: {\"no\":\"type\"}\n\n",
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(run_stream(p, bad[i], strlen(bad[i]), 0, &l, err, sizeof(err)),
                         SEAM_ERR_UPSTREAM);
    /* Unknown events and bytes after message_stop are ignored. */
    const char *extra =
        EV("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"m\"}}")
            EV("brand_new", "{\"type\":\"brand_new\"}")
                EV("message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
                                    "\"max_tokens\"},\"usage\":{\"output_tokens\":3}}")
                    EV("message_stop", "{\"type\":\"message_stop\"}") "data: garbage\n\n";
    assert_int_equal(run_stream(p, extra, strlen(extra), 5, &l, err, sizeof(err)), SEAM_OK);
    assert_string_equal(l.text, "start(m,)usage(-1,3,r-1,c-1)finish(length)");
}

static void error_bodies(void **state)
{
    char out[128];
    const char *b = "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":"
                    "\"slow down\"}}";
    seam_provider_anthropic.error_message(b, strlen(b), out, sizeof(out));
    assert_string_equal(out, "slow down");
    seam_provider_anthropic.error_message("nope", 4, out, sizeof(out));
    assert_string_equal(out, "");
}

#define WHOLE_OK                                                                                   \
    "{\"id\":\"msg_2\",\"type\":\"message\",\"model\":\"c\",\"content\":[{\"type\":\"text\","      \
    "\"text\":\"Hi\"},{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{\"a\":1}}],"   \
    "\"stop_reason\":\"tool_use\",\"usage\":{\"input_tokens\":5,\"output_tokens\":7}}"

static void alloc_failures(void **state)
{
    exercise_alloc_failures(&seam_provider_anthropic, &backend, full_request, WHOLE_OK,
                            recorded_stream);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encode_full_request),
        cmocka_unit_test(encode_limits_and_thinking),
        cmocka_unit_test(encode_tool_choice_and_roles),
        cmocka_unit_test(encode_repeated_call_ids),
        cmocka_unit_test(encode_errors),
        cmocka_unit_test(encode_same_dialect),
        cmocka_unit_test(encode_foreign_dialect),
        cmocka_unit_test(build_call),
        cmocka_unit_test(whole_messages),
        cmocka_unit_test(stream_at_every_split),
        cmocka_unit_test(stream_failures),
        cmocka_unit_test(error_bodies),
        cmocka_unit_test(alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
