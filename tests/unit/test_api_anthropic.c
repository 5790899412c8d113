/*
 * Anthropic Messages ingress: decoding every block type, system form,
 * tool_choice and thinking setting into the canonical model, errors worded
 * as Anthropic's, count_tokens, the named-event stream writer over event
 * sequences (exact bytes), whole answers, and allocation failures.
 */
#include "testutil.h"

#include "api/anthropic.h"
#include "core/alloc.h"
#include "providers/gemini.h"

#include <stdio.h>
#include <stdlib.h>

static seam_req *decode_ok(seam_arena *a, const char *body, json_t **meta)
{
    seam_req *r = NULL;
    json_t *m = NULL;
    char err[256] = "";
    const char *param;
    seam_rc rc = seam_ingress_anthropic.decode(a, body, strlen(body), &r, meta ? meta : &m, err,
                                               sizeof(err), &param);
    if (rc != SEAM_OK)
        fail_msg("decode: %s", err);
    return r;
}

static void decode_fail(const char *body, const char *want_param, const char *want_msg)
{
    seam_arena *a = seam_arena_new(4096);
    seam_req *r = NULL;
    json_t *meta;
    char err[256] = "";
    const char *param = NULL;
    seam_rc rc =
        seam_ingress_anthropic.decode(a, body, strlen(body), &r, &meta, err, sizeof(err), &param);
    if (rc != SEAM_ERR_INVALID)
        fail_msg("decoding %s gave %s", body, seam_rc_str(rc));
    if (want_param && (!param || strcmp(param, want_param) != 0))
        fail_msg("param '%s', wanted '%s' (%s)", param ? param : "(null)", want_param, err);
    if (!want_param && param)
        fail_msg("param '%s', wanted none", param);
    if (strcmp(err, want_msg) != 0)
        fail_msg("error '%s', wanted '%s'", err, want_msg);
    seam_arena_free(a);
}

static void assert_text(const seam_part *p, seam_part_type type, const char *text)
{
    assert_int_equal(p->type, type);
    assert_int_equal(p->text_len, strlen(text));
    assert_memory_equal(p->text, text, p->text_len);
}

/* ---- decoding ---- */

static const char full_request[] =
    "{\"model\":\"claude-sonnet\",\"max_tokens\":1024,\"stream\":true,\"temperature\":0.5,"
    "\"top_p\":0.9,\"top_k\":40,\"metadata\":{\"user_id\":\"u\"},\"stop_sequences\":[\"END\"],"
    "\"seam\":{\"kind\":\"code\"},"
    "\"system\":[{\"type\":\"text\",\"text\":\"be brief\",\"cache_control\":{\"type\":"
    "\"ephemeral\"}},{\"type\":\"text\",\"text\":\"use metric\"}],"
    "\"tools\":[{\"name\":\"get_weather\",\"description\":\"Weather\",\"input_schema\":{"
    "\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}],"
    "\"messages\":["
    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"what is this?\"},"
    "{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/png\","
    "\"data\":\"iVBORw0KGgo=\"}},"
    "{\"type\":\"image\",\"source\":{\"type\":\"url\",\"url\":\"https://x.test/a.jpg\"}},"
    "{\"type\":\"document\",\"source\":{\"type\":\"text\",\"media_type\":\"text/plain\","
    "\"data\":\"doc\"}}]},"
    "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"hmm\","
    "\"signature\":\"SIG\"},{\"type\":\"redacted_thinking\",\"data\":\"ENC\"},"
    "{\"type\":\"text\",\"text\":\"Checking.\"},"
    "{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get_weather\",\"input\":{\"city\":"
    "\"Oslo\"}},{\"type\":\"tool_use\",\"id\":\"toolu_2\",\"name\":\"get_weather\","
    "\"input\":{}}]},"
    "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_1\","
    "\"content\":\"-3C\"},"
    "{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_2\",\"is_error\":true,\"content\":["
    "{\"type\":\"text\",\"text\":\"no such\"},{\"type\":\"text\",\"text\":\" city\"},"
    "{\"type\":\"image\",\"source\":{\"type\":\"url\",\"url\":\"https://x.test/e.png\"}}]},"
    "{\"type\":\"text\",\"text\":\"thanks\"}]},"
    "{\"role\":\"assistant\",\"content\":\"You're welcome\"}]}";

static void decode_every_block(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    json_t *meta = NULL;
    seam_req *r = decode_ok(a, full_request, &meta);
    assert_int_equal(r->ingress, SEAM_API_ANTHROPIC);
    assert_string_equal(r->model, "claude-sonnet");
    assert_int_equal(r->params.max_tokens, 1024);
    assert_true(r->stream);
    assert_true(r->include_usage);
    assert_true(r->has_images);
    assert_true(r->params.has_temperature && r->params.has_top_p);
    assert_true(r->params.temperature == 0.5 && r->params.top_p == 0.9);
    assert_int_equal(r->params.nstop, 1);
    assert_string_equal(r->params.stop[0], "END");
    assert_string_equal(json_string_value(json_object_get(meta, "kind")), "code");
    /* Unmodelled keys pass through; the seam key never does. */
    assert_int_equal(json_object_size(r->passthrough), 2);
    assert_int_equal(json_integer_value(json_object_get(r->passthrough, "top_k")), 40);
    assert_non_null(json_object_get(r->passthrough, "metadata"));

    assert_int_equal(r->ntools, 1);
    assert_string_equal(r->tools[0].name, "get_weather");
    assert_string_equal(r->tools[0].description, "Weather");
    assert_non_null(json_object_get(r->tools[0].parameters, "properties"));
    assert_int_equal(r->tools[0].strict, -1);

    /* system, user, assistant, tool, tool, user, assistant */
    assert_int_equal(r->nmsgs, 7);
    const seam_msg *m = &r->msgs[0];
    assert_int_equal(m->role, SEAM_ROLE_SYSTEM);
    assert_int_equal(m->nparts, 2);
    assert_text(&m->parts[0], SEAM_PART_TEXT, "be brief");
    assert_text(&m->parts[1], SEAM_PART_TEXT, "use metric");

    m = &r->msgs[1];
    assert_int_equal(m->role, SEAM_ROLE_USER);
    assert_int_equal(m->nparts, 4);
    assert_text(&m->parts[0], SEAM_PART_TEXT, "what is this?");
    assert_int_equal(m->parts[1].type, SEAM_PART_IMAGE);
    assert_string_equal(m->parts[1].image_url, "data:image/png;base64,iVBORw0KGgo=");
    assert_int_equal(m->parts[2].type, SEAM_PART_IMAGE);
    assert_string_equal(m->parts[2].image_url, "https://x.test/a.jpg");
    assert_int_equal(m->parts[3].type, SEAM_PART_OPAQUE);
    assert_string_equal(json_string_value(json_object_get(m->parts[3].opaque, "type")), "document");

    m = &r->msgs[2];
    assert_int_equal(m->role, SEAM_ROLE_ASSISTANT);
    assert_int_equal(m->nparts, 5);
    assert_text(&m->parts[0], SEAM_PART_THINKING, "hmm");
    assert_string_equal(m->parts[0].signature, "SIG");
    assert_null(m->parts[0].opaque);
    /* Redacted thinking: a thinking part other providers drop, carrying the
     * block for an Anthropic backend. */
    assert_text(&m->parts[1], SEAM_PART_THINKING, "");
    assert_null(m->parts[1].signature);
    assert_string_equal(json_string_value(json_object_get(m->parts[1].opaque, "data")), "ENC");
    assert_text(&m->parts[2], SEAM_PART_TEXT, "Checking.");
    assert_int_equal(m->parts[3].type, SEAM_PART_TOOL_CALL);
    assert_string_equal(m->parts[3].call_id, "toolu_1");
    assert_string_equal(m->parts[3].name, "get_weather");
    assert_string_equal(m->parts[3].args, "{\"city\":\"Oslo\"}");
    assert_string_equal(m->parts[4].args, "{}");

    /* The user turn's results become tool messages in order; its text
     * follows as a user message. */
    m = &r->msgs[3];
    assert_int_equal(m->role, SEAM_ROLE_TOOL);
    assert_int_equal(m->nparts, 1);
    assert_text(&m->parts[0], SEAM_PART_TOOL_RESULT, "-3C");
    assert_string_equal(m->parts[0].call_id, "toolu_1");
    assert_true(m->content_is_string);

    m = &r->msgs[4];
    assert_int_equal(m->role, SEAM_ROLE_TOOL);
    assert_int_equal(m->nparts, 4);
    assert_text(&m->parts[0], SEAM_PART_TOOL_RESULT, "Error: ");
    assert_text(&m->parts[1], SEAM_PART_TOOL_RESULT, "no such");
    assert_text(&m->parts[2], SEAM_PART_TOOL_RESULT, " city");
    assert_int_equal(m->parts[3].type, SEAM_PART_IMAGE);
    assert_string_equal(m->parts[3].image_url, "https://x.test/e.png");
    for (size_t i = 0; i < m->nparts; i++)
        assert_string_equal(m->parts[i].call_id, "toolu_2");

    m = &r->msgs[5];
    assert_int_equal(m->role, SEAM_ROLE_USER);
    assert_int_equal(m->nparts, 1);
    assert_text(&m->parts[0], SEAM_PART_TEXT, "thanks");

    m = &r->msgs[6];
    assert_int_equal(m->role, SEAM_ROLE_ASSISTANT);
    assert_true(m->content_is_string);
    assert_text(&m->parts[0], SEAM_PART_TEXT, "You're welcome");
    seam_arena_free(a);
}

#define USER_HI    "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]"
#define REQ(extra) "{\"model\":\"m\",\"max_tokens\":100," extra USER_HI "}"

static void decode_system_and_results(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    /* A string system is one system message; an empty one none. */
    seam_req *r = decode_ok(a, REQ("\"system\":\"S\","), NULL);
    assert_int_equal(r->nmsgs, 2);
    assert_int_equal(r->msgs[0].role, SEAM_ROLE_SYSTEM);
    assert_true(r->msgs[0].content_is_string);
    assert_text(&r->msgs[0].parts[0], SEAM_PART_TEXT, "S");
    r = decode_ok(a, REQ("\"system\":\"\","), NULL);
    assert_int_equal(r->nmsgs, 1);
    r = decode_ok(a, REQ("\"system\":[],"), NULL);
    assert_int_equal(r->nmsgs, 1);
    r = decode_ok(a, REQ("\"system\":null,"), NULL);
    assert_int_equal(r->nmsgs, 1);
    assert_null(r->passthrough);
    /* A turn of results only gives tool messages only; an empty result and
     * an empty error result still carry their ids. */
    r = decode_ok(a,
                  "{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":"
                  "[{\"type\":\"tool_result\",\"tool_use_id\":\"a\"},{\"type\":\"tool_result\","
                  "\"tool_use_id\":\"b\",\"is_error\":true,\"content\":[]}]}]}",
                  NULL);
    assert_int_equal(r->nmsgs, 2);
    assert_int_equal(r->msgs[0].role, SEAM_ROLE_TOOL);
    assert_text(&r->msgs[0].parts[0], SEAM_PART_TOOL_RESULT, "");
    assert_string_equal(r->msgs[0].parts[0].call_id, "a");
    assert_text(&r->msgs[1].parts[0], SEAM_PART_TOOL_RESULT, "Error");
    assert_string_equal(r->msgs[1].parts[0].call_id, "b");
    /* An empty content array is an empty message; a base64 image in a
     * result sets has_images; unknown result blocks are opaque. */
    r = decode_ok(a,
                  "{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":"
                  "[]},{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":"
                  "\"a\",\"content\":[{\"type\":\"image\",\"source\":{\"type\":\"base64\","
                  "\"media_type\":\"image/gif\",\"data\":\"R0lG\"}},{\"type\":\"search_result\"}]}"
                  "]}]}",
                  NULL);
    assert_int_equal(r->nmsgs, 2);
    assert_int_equal(r->msgs[0].nparts, 0);
    assert_true(r->has_images);
    assert_string_equal(r->msgs[1].parts[0].image_url, "data:image/gif;base64,R0lG");
    assert_int_equal(r->msgs[1].parts[1].type, SEAM_PART_OPAQUE);
    /* A file source is kept opaque and is not an image seam can read. */
    r = decode_ok(a,
                  "{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":"
                  "[{\"type\":\"image\",\"source\":{\"type\":\"file\",\"file_id\":\"f\"}}]}]}",
                  NULL);
    assert_int_equal(r->msgs[0].parts[0].type, SEAM_PART_OPAQUE);
    assert_false(r->has_images);
    seam_arena_free(a);
}

static void assert_choice(seam_arena *a, const char *tc, const char *want)
{
    char body[512];
    snprintf(body, sizeof(body),
             REQ("\"tools\":[{\"name\":\"f\",\"input_schema\":{\"type\":\"object\"}}],"
                 "\"tool_choice\":%s,"),
             tc);
    seam_req *r = decode_ok(a, body, NULL);
    json_error_t jerr;
    json_t *w = json_loads(want, JSON_DECODE_ANY, &jerr);
    if (!json_equal(r->params.tool_choice, w)) {
        char *g = json_dumps(r->params.tool_choice, JSON_ENCODE_ANY);
        fail_msg("tool_choice %s gave %s, wanted %s", tc, g, want);
    }
    json_decref(w);
    /* The client's object stays for an Anthropic backend. */
    json_t *orig = json_loads(tc, 0, &jerr);
    assert_true(json_equal(json_object_get(r->passthrough, "tool_choice"), orig));
    json_decref(orig);
}

static void decode_tools_and_choice(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    assert_choice(a, "{\"type\":\"auto\"}", "\"auto\"");
    assert_choice(a, "{\"type\":\"any\",\"disable_parallel_tool_use\":true}", "\"required\"");
    assert_choice(a, "{\"type\":\"none\"}", "\"none\"");
    assert_choice(a, "{\"type\":\"tool\",\"name\":\"f\"}",
                  "{\"type\":\"function\",\"function\":{\"name\":\"f\"}}");
    /* Server tools stay apart, for an Anthropic backend only; custom tools
     * (typed or not) are canonical. */
    seam_req *r = decode_ok(
        a,
        REQ("\"tools\":[{\"type\":\"custom\",\"name\":\"f\",\"input_schema\":{\"type\":\"object\"},"
            "\"strict\":true},{\"type\":\"web_search_20250305\",\"name\":\"web_search\"},"
            "{\"name\":\"g\",\"input_schema\":{\"type\":\"object\"}}],"),
        NULL);
    assert_int_equal(r->ntools, 2);
    assert_string_equal(r->tools[0].name, "f");
    assert_int_equal(r->tools[0].strict, 1);
    assert_null(r->tools[0].description);
    assert_string_equal(r->tools[1].name, "g");
    json_t *server = json_object_get(r->passthrough, "tools");
    assert_int_equal(json_array_size(server), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(server, 0), "name")),
                        "web_search");
    /* Structured output maps to the canonical response_format. */
    r = decode_ok(a,
                  REQ("\"output_config\":{\"format\":{\"type\":\"json_schema\",\"schema\":{"
                      "\"type\":\"object\"}}},"),
                  NULL);
    json_error_t jerr;
    json_t *want = json_loads("{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"output\","
                              "\"schema\":{\"type\":\"object\"}}}",
                              0, &jerr);
    assert_true(json_equal(r->params.response_format, want));
    json_decref(want);
    assert_non_null(json_object_get(r->passthrough, "output_config"));
    seam_arena_free(a);
}

static void assert_thinking(seam_arena *a, const char *thinking, seam_reasoning level,
                            int64_t budget)
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"model\":\"m\",\"max_tokens\":64000,\"thinking\":%s," USER_HI "}", thinking);
    seam_req *r = decode_ok(a, body, NULL);
    if (r->params.reasoning != level || r->params.reasoning_budget != budget)
        fail_msg("%s gave level %d budget %lld, wanted %d and %lld", thinking,
                 (int)r->params.reasoning, (long long)r->params.reasoning_budget, (int)level,
                 (long long)budget);
}

static void decode_thinking(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    /* The budget -> level table of budget_level(). */
    const struct {
        int64_t budget;
        seam_reasoning level;
    } table[] = {{1024, SEAM_REASONING_LOW},    {4608, SEAM_REASONING_LOW},
                 {4609, SEAM_REASONING_MEDIUM}, {12288, SEAM_REASONING_MEDIUM},
                 {12289, SEAM_REASONING_HIGH},  {20480, SEAM_REASONING_HIGH},
                 {20481, SEAM_REASONING_XHIGH}, {28672, SEAM_REASONING_XHIGH},
                 {28673, SEAM_REASONING_MAX},   {60000, SEAM_REASONING_MAX}};
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        char th[128];
        snprintf(th, sizeof(th), "{\"type\":\"enabled\",\"budget_tokens\":%lld}",
                 (long long)table[i].budget);
        assert_thinking(a, th, table[i].level, table[i].budget);
    }
    assert_thinking(a, "{\"type\":\"disabled\"}", SEAM_REASONING_OFF, 0);
    assert_thinking(a, "{\"type\":\"adaptive\"}", SEAM_REASONING_HIGH, 0);
    seam_req *r = decode_ok(
        a, REQ("\"thinking\":{\"type\":\"adaptive\"},\"output_config\":{\"effort\":\"low\"},"),
        NULL);
    assert_int_equal(r->params.reasoning, SEAM_REASONING_LOW);
    assert_non_null(json_object_get(r->passthrough, "thinking"));
    r = decode_ok(a, REQ(""), NULL);
    assert_int_equal(r->params.reasoning, SEAM_REASONING_UNSET);
    assert_null(r->passthrough);
    /* Gemini takes the exact budget. */
    r = decode_ok(a, REQ("\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":3000},"), NULL);
    char err[256];
    seam_rc rc;
    json_t *g = seam_gemini_encode_request(r, a, &rc, err, sizeof(err));
    assert_int_equal(rc, SEAM_OK);
    json_t *tc = json_object_get(json_object_get(g, "generationConfig"), "thinkingConfig");
    assert_int_equal(json_integer_value(json_object_get(tc, "thinkingBudget")), 3000);
    json_decref(g);
    seam_arena_free(a);
}

static void decode_errors(void **state)
{
    decode_fail("{", NULL,
                "request body is not valid JSON: string or '}' expected near end of file (at "
                "byte 1)");
    decode_fail("[]", NULL, "request body must be a JSON object");
    const char *cases[][3] = {
        {"{\"max_tokens\":1," USER_HI "}", "model", "model: Field required"},
        {"{\"model\":\"m\"," USER_HI "}", "max_tokens", "max_tokens: Field required"},
        {"{\"model\":\"m\",\"max_tokens\":0," USER_HI "}", "max_tokens",
         "max_tokens: Input should be greater than or equal to 1"},
        {"{\"model\":\"m\",\"max_tokens\":\"9\"," USER_HI "}", "max_tokens",
         "max_tokens: Input should be a valid integer"},
        {"{\"model\":\"m\",\"max_tokens\":1}", "messages", "messages: Field required"},
        {"{\"model\":\"m\",\"max_tokens\":1,\"messages\":[]}", "messages",
         "messages: at least one message is required"},
        {"{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":\"system\",\"content\":\"x\"}"
         "]}",
         "messages.0.role", "messages.0.role: Input should be 'user' or 'assistant'"},
        {"{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\"}]}",
         "messages.0.content", "messages.0.content: Field required"},
        {"{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\",\"content\":7}]}",
         "messages.0.content", "messages.0.content: Input should be a valid string or list"},
        {"{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\",\"content\":[{"
         "\"text\":\"x\"}]}]}",
         "messages.0.content.0.type", "messages.0.content.0.type: Field required"},
        {"{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\",\"content\":\"a\"},"
         "{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}]}",
         "messages.1.content.0.text", "messages.1.content.0.text: Field required"},
        {"{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\",\"content\":[{"
         "\"type\":\"image\",\"source\":{\"type\":\"base64\",\"data\":\"x\"}}]}]}",
         "messages.0.content.0.source.media_type",
         "messages.0.content.0.source.media_type: Field required"},
        {"{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\",\"content\":[{"
         "\"type\":\"tool_use\",\"id\":\"a\",\"name\":\"f\",\"input\":{}}]}]}",
         "messages.0.content.0",
         "messages.0.content.0: tool_use blocks may only appear in assistant turns"},
        {"{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":\"assistant\",\"content\":[{"
         "\"type\":\"tool_result\",\"tool_use_id\":\"a\"}]}]}",
         "messages.0.content.0",
         "messages.0.content.0: tool_result blocks may only appear in user turns"},
        {"{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":\"assistant\",\"content\":[{"
         "\"type\":\"tool_use\",\"id\":\"a\",\"name\":\"f\",\"input\":[]}]}]}",
         "messages.0.content.0.input",
         "messages.0.content.0.input: Input should be a valid dictionary"},
        {"{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\",\"content\":[{"
         "\"type\":\"tool_result\"}]}]}",
         "messages.0.content.0.tool_use_id", "messages.0.content.0.tool_use_id: Field required"},
        {"{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\",\"content\":[{"
         "\"type\":\"tool_result\",\"tool_use_id\":\"a\",\"content\":[{\"type\":\"text\","
         "\"text\":1}]}]}]}",
         "messages.0.content.0.content.0.text",
         "messages.0.content.0.content.0.text: Input should be a valid string"},
        {"{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":\"assistant\",\"content\":[{"
         "\"type\":\"thinking\",\"signature\":\"s\"}]}]}",
         "messages.0.content.0.thinking", "messages.0.content.0.thinking: Field required"},
        {REQ("\"system\":[{\"type\":\"image\"}],"), "system.0.type",
         "system.0.type: Input should be 'text'"},
        {REQ("\"system\":5,"), "system", "system: Input should be a valid string or list"},
        {REQ("\"tools\":[{\"name\":\"f\"}],"), "tools.0.input_schema",
         "tools.0.input_schema: Field required"},
        {REQ("\"tools\":[{\"input_schema\":{}}],"), "tools.0.name", "tools.0.name: Field required"},
        {REQ("\"tools\":{},"), "tools", "tools: Input should be a valid list"},
        {REQ("\"tool_choice\":{\"type\":\"tool\"},"), "tool_choice.tool.name",
         "tool_choice.tool.name: Field required"},
        {REQ("\"tool_choice\":{\"type\":\"required\"},"), "tool_choice.type",
         "tool_choice.type: Input tag 'required' found using 'type' does not match any of the "
         "expected tags: 'auto', 'any', 'tool', 'none'"},
        {REQ("\"tool_choice\":\"auto\","), "tool_choice",
         "tool_choice: Input should be a valid dictionary"},
        {REQ("\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":1000},"),
         "thinking.enabled.budget_tokens",
         "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"},
        {REQ("\"thinking\":{\"type\":\"enabled\"},"), "thinking.enabled.budget_tokens",
         "thinking.enabled.budget_tokens: Field required"},
        {REQ("\"thinking\":{\"type\":\"on\"},"), "thinking.type",
         "thinking.type: Input tag 'on' found using 'type' does not match any of the expected "
         "tags: 'enabled', 'disabled', 'adaptive'"},
        {REQ("\"stop_sequences\":\"END\","), "stop_sequences",
         "stop_sequences: Input should be a valid list"},
        {REQ("\"stop_sequences\":[1],"), "stop_sequences.0",
         "stop_sequences.0: Input should be a valid string"},
        {REQ("\"temperature\":\"hot\","), "temperature",
         "temperature: Input should be a valid number"},
        {REQ("\"stream\":1,"), "stream", "stream: Input should be a valid boolean"},
        {REQ("\"output_config\":{\"format\":{\"type\":\"json\"}},"), "output_config.format",
         "output_config.format: format must be {\"type\":\"json_schema\",\"schema\":{...}}"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        decode_fail(cases[i][0], cases[i][1], cases[i][2]);
}

static void count_tokens(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    size_t len = 0;
    int status = 0;
    /* No max_tokens needed; 12 bytes of text -> 3 tokens. */
    const char *body = "{\"model\":\"m\",\"system\":\"abcd\",\"messages\":[{\"role\":\"user\","
                       "\"content\":\"efghijkl\"}]}";
    char *out = seam_api_anthropic_count_tokens(a, NULL, body, strlen(body), &len, &status);
    assert_int_equal(status, 200);
    assert_string_equal(out, "{\"input_tokens\":3}");
    assert_int_equal(len, strlen(out));
    out = seam_api_anthropic_count_tokens(a, NULL, "{\"model\":\"m\"}", 13, &len, &status);
    assert_int_equal(status, 400);
    assert_string_equal(out, "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\","
                             "\"message\":\"messages: Field required\"}}");
    seam_arena_free(a);
}

static void error_bodies(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    const struct {
        int status;
        const char *type;
    } cases[] = {{400, "invalid_request_error"},
                 {401, "authentication_error"},
                 {403, "permission_error"},
                 {404, "not_found_error"},
                 {413, "request_too_large"},
                 {422, "invalid_request_error"},
                 {429, "rate_limit_error"},
                 {500, "api_error"},
                 {502, "api_error"},
                 {503, "overloaded_error"},
                 {504, "timeout_error"},
                 {529, "overloaded_error"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char want[256];
        snprintf(want, sizeof(want),
                 "{\"type\":\"error\",\"error\":{\"type\":\"%s\",\"message\":\"m \\\"q\\\"\"}}",
                 cases[i].type);
        char *b = seam_ingress_anthropic.error_body(a, cases[i].status, "m \"q\"", "upstream_error",
                                                    "code", "param");
        assert_string_equal(b, want);
    }
    assert_string_equal(seam_ingress_anthropic.path, "/v1/messages");
    assert_string_equal(seam_ingress_anthropic.stream_content_type, "text/event-stream");
    assert_int_equal(seam_ingress_anthropic.api, SEAM_API_ANTHROPIC);
    assert_null(seam_ingress_anthropic.embeddings_body);
    seam_arena_free(a);
}

/* ---- the stream writer ---- */

#define EV(name, data) "event: " name "\ndata: " data "\n\n"
#define START_MSG(id, model)                                                                       \
    EV("message_start",                                                                            \
       "{\"type\":\"message_start\",\"message\":{\"id\":\"" id "\",\"type\":\"message\","          \
       "\"role\":\"assistant\",\"model\":\"" model "\",\"content\":[],\"stop_reason\":null,"       \
       "\"stop_sequence\":null,\"usage\":{\"input_tokens\":0,\"cache_creation_input_tokens\":0,"   \
       "\"cache_read_input_tokens\":0,\"output_tokens\":0}}}")                                     \
    EV("ping", "{\"type\":\"ping\"}")
#define BLOCK_START(i, block)                                                                      \
    EV("content_block_start",                                                                      \
       "{\"type\":\"content_block_start\",\"index\":" #i ",\"content_block\":" block "}")
#define DELTA(i, delta)                                                                            \
    EV("content_block_delta",                                                                      \
       "{\"type\":\"content_block_delta\",\"index\":" #i ",\"delta\":" delta "}")
#define BLOCK_STOP(i) EV("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":" #i "}")
#define MESSAGE_END(stop, usage)                                                                   \
    EV("message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"" stop           \
                        "\",\"stop_sequence\":null},\"usage\":" usage "}")                         \
    EV("message_stop", "{\"type\":\"message_stop\"}")

static seam_event ev_text(seam_event_type t, const char *s)
{
    return (seam_event){.type = t, .text = s, .text_len = strlen(s)};
}

static seam_event ev_call(seam_event_type t, int index, const char *s)
{
    seam_event e = {.type = t, .index = index};
    if (t == SEAM_EV_TOOL_CALL_BEGIN) {
        e.id = s;
        e.name = "get_weather";
    } else if (s) {
        e.text = s;
        e.text_len = strlen(s);
    }
    return e;
}

/* Writes <evs> then the end (unless <no_end>) and compares the bytes. */
static void assert_stream(const seam_event *evs, size_t n, bool end, const char *want)
{
    seam_arena *a = seam_arena_new(4096);
    seam_req req = {.model = "auto"};
    void *w = seam_ingress_anthropic.writer_new(a, &req, "msg_fb", "fallback-model");
    seam_buf out;
    seam_buf_init(&out, 1u << 20);
    for (size_t i = 0; i < n; i++) {
        seam_rc rc = seam_ingress_anthropic.writer_event(w, &evs[i], &out);
        if (rc != SEAM_OK)
            fail_msg("event %zu: %s", i, seam_rc_str(rc));
    }
    if (end)
        assert_int_equal(seam_ingress_anthropic.writer_end(w, &out), SEAM_OK);
    if (strcmp(out.data ? out.data : "", want) != 0)
        fail_msg("stream:\n%s\nwanted:\n%s", out.data ? out.data : "", want);
    seam_buf_free(&out);
    seam_arena_free(a);
}

static void writer_text(void **state)
{
    seam_event evs[] = {
        {.type = SEAM_EV_START, .id = "msg_1", .name = "claude-x"},
        ev_text(SEAM_EV_TEXT_DELTA, "Hel"),
        ev_text(SEAM_EV_TEXT_DELTA, ""),
        ev_text(SEAM_EV_TEXT_DELTA, "lo \"q\"\n"),
        {.type = SEAM_EV_FINISH, .finish = SEAM_FINISH_LENGTH},
        /* Usage after the finish still reaches message_delta; input
         * includes cache reads canonically, Anthropic's excludes them. */
        {.type = SEAM_EV_USAGE, .usage = {.input = 10, .output = 5, .reasoning = -1, .cached = 3}},
    };
    assert_stream(evs, sizeof(evs) / sizeof(evs[0]), true,
                  START_MSG("msg_1", "claude-x") BLOCK_START(0, "{\"type\":\"text\",\"text\":\"\"}")
                      DELTA(0, "{\"type\":\"text_delta\",\"text\":\"Hel\"}") DELTA(
                          0, "{\"type\":\"text_delta\",\"text\":\"lo \\\"q\\\"\\n\"}") BLOCK_STOP(0)
                          MESSAGE_END("max_tokens",
                                      "{\"input_tokens\":7,\"cache_creation_input_tokens\":0,"
                                      "\"cache_read_input_tokens\":3,\"output_tokens\":5}"));
    /* No start event and no usage: the fallbacks and zeros. */
    seam_event bare[] = {ev_text(SEAM_EV_REFUSAL_DELTA, "no"),
                         {.type = SEAM_EV_FINISH, .finish = SEAM_FINISH_CONTENT_FILTER}};
    assert_stream(bare, 2, true,
                  START_MSG("msg_fb", "fallback-model")
                      BLOCK_START(0, "{\"type\":\"text\",\"text\":\"\"}")
                          DELTA(0, "{\"type\":\"text_delta\",\"text\":\"no\"}") BLOCK_STOP(0)
                              MESSAGE_END("refusal", "{\"output_tokens\":0}"));
    /* An empty answer is still a whole message. */
    assert_stream(NULL, 0, true,
                  START_MSG("msg_fb", "fallback-model")
                      MESSAGE_END("end_turn", "{\"output_tokens\":0}"));
}

static void writer_thinking(void **state)
{
    seam_event evs[] = {
        {.type = SEAM_EV_START, .id = "msg_1", .name = "claude-x"},
        ev_text(SEAM_EV_THINKING_DELTA, "let me"),
        ev_text(SEAM_EV_THINKING_DELTA, " think"),
        ev_text(SEAM_EV_THINKING_SIGNATURE, "c2ln"),
        /* A signature ends its block: more thinking is a new block. */
        ev_text(SEAM_EV_THINKING_DELTA, "more"),
        ev_text(SEAM_EV_TEXT_DELTA, "Answer"),
        {.type = SEAM_EV_FINISH, .finish = SEAM_FINISH_STOP},
    };
    assert_stream(
        evs, sizeof(evs) / sizeof(evs[0]), true,
        START_MSG("msg_1", "claude-x")
            BLOCK_START(0, "{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}") DELTA(
                0, "{\"type\":\"thinking_delta\",\"thinking\":\"let me\"}")
                DELTA(0, "{\"type\":\"thinking_delta\",\"thinking\":\" think\"}") DELTA(
                    0, "{\"type\":\"signature_delta\",\"signature\":\"c2ln\"}") BLOCK_STOP(0)
                    BLOCK_START(1, "{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}")
                        DELTA(1, "{\"type\":\"thinking_delta\",\"thinking\":\"more\"}")
                            BLOCK_STOP(1) BLOCK_START(2, "{\"type\":\"text\",\"text\":\"\"}")
                                DELTA(2, "{\"type\":\"text_delta\",\"text\":"
                                         "\"Answer\"}") BLOCK_STOP(2)
                                    MESSAGE_END("end_turn", "{\"output_tokens\":0}"));
}

#define TOOL_START(i, id)                                                                          \
    BLOCK_START(i, "{\"type\":\"tool_use\",\"id\":\"" id "\",\"name\":\"get_weather\","            \
                   "\"input\":{}}")                                                                \
    DELTA(i, "{\"type\":\"input_json_delta\",\"partial_json\":\"\"}")
#define JSON_DELTA(i, s) DELTA(i, "{\"type\":\"input_json_delta\",\"partial_json\":\"" s "\"}")

/* Two parallel calls streamed interleaved (as OpenAI-compatible upstreams
 * may): the second is held back until the first ends, then written in
 * order; blocks never overlap. */
static void writer_interleaved_calls(void **state)
{
    seam_event evs[] = {
        {.type = SEAM_EV_START, .id = "msg_1", .name = "claude-x"},
        ev_text(SEAM_EV_TEXT_DELTA, "Checking."),
        ev_call(SEAM_EV_TOOL_CALL_BEGIN, 0, "call_a"),
        ev_call(SEAM_EV_TOOL_CALL_ARGS_DELTA, 0, "[1,"),
        ev_call(SEAM_EV_TOOL_CALL_BEGIN, 1, NULL),
        ev_call(SEAM_EV_TOOL_CALL_ARGS_DELTA, 1, "[3,"),
        ev_call(SEAM_EV_TOOL_CALL_ARGS_DELTA, 0, "2]"),
        ev_call(SEAM_EV_TOOL_CALL_ARGS_DELTA, 1, "4]"),
        ev_call(SEAM_EV_TOOL_CALL_END, 0, NULL),
        ev_call(SEAM_EV_TOOL_CALL_END, 1, NULL),
        {.type = SEAM_EV_USAGE, .usage = {.input = 20, .output = 9, .reasoning = -1, .cached = -1}},
        {.type = SEAM_EV_FINISH, .finish = SEAM_FINISH_STOP},
    };
    assert_stream(evs, sizeof(evs) / sizeof(evs[0]), true,
                  START_MSG("msg_1", "claude-x") BLOCK_START(0, "{\"type\":\"text\",\"text\":\"\"}")
                      DELTA(0, "{\"type\":\"text_delta\",\"text\":\"Checking.\"}") BLOCK_STOP(
                          0) TOOL_START(1, "call_a") JSON_DELTA(1, "[1,") JSON_DELTA(1, "2]")
                          BLOCK_STOP(1) TOOL_START(2, "call_1") JSON_DELTA(2, "[3,4]") BLOCK_STOP(2)
                              MESSAGE_END("tool_use",
                                          "{\"input_tokens\":20,\"cache_creation_input_tokens\":0,"
                                          "\"cache_read_input_tokens\":0,\"output_tokens\":9}"));
    /* Calls that never end are closed at the finish, in order. */
    seam_event open[] = {
        ev_call(SEAM_EV_TOOL_CALL_BEGIN, 0, "a"),
        ev_call(SEAM_EV_TOOL_CALL_BEGIN, 1, "b"),
        ev_call(SEAM_EV_TOOL_CALL_ARGS_DELTA, 1, "{}"),
        {.type = SEAM_EV_FINISH, .finish = SEAM_FINISH_TOOL_CALLS},
    };
    assert_stream(open, 4, true,
                  START_MSG("msg_fb", "fallback-model") TOOL_START(0, "a") BLOCK_STOP(0)
                      TOOL_START(1, "b") JSON_DELTA(1, "{}") BLOCK_STOP(1)
                          MESSAGE_END("tool_use", "{\"output_tokens\":0}"));
}

static void writer_malformed(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    seam_buf out;
    seam_buf_init(&out, 1u << 20);
    void *w = seam_ingress_anthropic.writer_new(a, NULL, NULL, NULL);
    seam_event args = ev_call(SEAM_EV_TOOL_CALL_ARGS_DELTA, 0, "{}");
    seam_event end = ev_call(SEAM_EV_TOOL_CALL_END, 3, NULL);
    seam_event big = ev_call(SEAM_EV_TOOL_CALL_BEGIN, 128, "x");
    seam_event begin = ev_call(SEAM_EV_TOOL_CALL_BEGIN, 0, "x");
    seam_event text = ev_text(SEAM_EV_TEXT_DELTA, "t");
    /* Fragments of calls never begun, out of range, begun twice, or after
     * text closed their block. */
    assert_int_equal(seam_ingress_anthropic.writer_event(w, &args, &out), SEAM_ERR_INVALID);
    assert_int_equal(seam_ingress_anthropic.writer_event(w, &end, &out), SEAM_ERR_INVALID);
    assert_int_equal(seam_ingress_anthropic.writer_event(w, &big, &out), SEAM_ERR_INVALID);
    assert_int_equal(seam_ingress_anthropic.writer_event(w, &begin, &out), SEAM_OK);
    assert_int_equal(seam_ingress_anthropic.writer_event(w, &begin, &out), SEAM_ERR_INVALID);
    assert_int_equal(seam_ingress_anthropic.writer_event(w, &text, &out), SEAM_OK);
    assert_int_equal(seam_ingress_anthropic.writer_event(w, &args, &out), SEAM_ERR_INVALID);
    seam_buf_free(&out);
    seam_arena_free(a);
}

static void writer_errors(void **state)
{
    /* An upstream error event mid-stream: Anthropic's own type is kept,
     * and the end writes nothing more. */
    seam_event evs[] = {
        {.type = SEAM_EV_START, .id = "msg_1", .name = "claude-x"},
        ev_text(SEAM_EV_TEXT_DELTA, "par"),
        {.type = SEAM_EV_ERROR,
         .text = "Overloaded",
         .text_len = 10,
         .status = 502,
         .err_type = "overloaded_error"},
        ev_text(SEAM_EV_TEXT_DELTA, "ignored"),
    };
    assert_stream(evs, sizeof(evs) / sizeof(evs[0]), true,
                  START_MSG("msg_1", "claude-x") BLOCK_START(0, "{\"type\":\"text\",\"text\":\"\"}")
                      DELTA(0, "{\"type\":\"text_delta\",\"text\":\"par\"}") EV(
                          "error", "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
                                   "\"message\":\"Overloaded\"}}"));
    /* A foreign type: the status decides. */
    seam_event other = {.type = SEAM_EV_ERROR,
                        .text = "boom",
                        .text_len = 4,
                        .status = 502,
                        .err_type = "server_error"};
    assert_stream(&other, 1, true,
                  EV("error", "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":"
                              "\"boom\"}}"));
    /* seam's own failure after the stream began, then the end. */
    seam_arena *a = seam_arena_new(4096);
    void *w = seam_ingress_anthropic.writer_new(a, NULL, "m", "c");
    seam_buf out;
    seam_buf_init(&out, 1u << 20);
    assert_int_equal(seam_ingress_anthropic.writer_error(w, 504, "timed out", "timeout",
                                                         "upstream_timeout", &out),
                     SEAM_OK);
    assert_int_equal(seam_ingress_anthropic.writer_error(w, 500, "again", NULL, NULL, &out),
                     SEAM_OK);
    assert_int_equal(seam_ingress_anthropic.writer_end(w, &out), SEAM_OK);
    assert_string_equal(out.data, EV("error", "{\"type\":\"error\",\"error\":{\"type\":"
                                              "\"timeout_error\",\"message\":\"timed out\"}}"));
    seam_buf_free(&out);
    seam_arena_free(a);
}

/* ---- whole answers ---- */

static char *answer(seam_arena *a, const seam_event *evs, size_t n)
{
    seam_answer *ans = seam_answer_new(a, "msg_fb", "fallback-model");
    for (size_t i = 0; i < n; i++)
        assert_int_equal(seam_answer_event(ans, &evs[i]), 0);
    size_t len = 0;
    char *body = seam_ingress_anthropic.answer_body(ans, NULL, a, &len);
    assert_non_null(body);
    assert_int_equal(len, strlen(body));
    return body;
}

static void answer_bodies(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    seam_event text[] = {
        {.type = SEAM_EV_START, .id = "msg_1", .name = "claude-x"},
        ev_text(SEAM_EV_TEXT_DELTA, "Hi"),
        {.type = SEAM_EV_USAGE, .usage = {.input = 10, .output = 2, .reasoning = -1, .cached = 4}},
        {.type = SEAM_EV_FINISH, .finish = SEAM_FINISH_STOP},
    };
    assert_string_equal(answer(a, text, 4),
                        "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":"
                        "\"claude-x\",\"content\":[{\"type\":\"text\",\"text\":\"Hi\"}],"
                        "\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\"usage\":{"
                        "\"input_tokens\":6,\"cache_creation_input_tokens\":0,"
                        "\"cache_read_input_tokens\":4,\"output_tokens\":2}}");
    /* Thinking first, no empty text block beside tool calls, arguments as
     * objects (empty -> {}, malformed -> wrapped), tool_use whatever the
     * finish said. */
    seam_event calls[] = {
        ev_text(SEAM_EV_THINKING_DELTA, "hmm"),
        ev_text(SEAM_EV_THINKING_SIGNATURE, "SIG"),
        ev_call(SEAM_EV_TOOL_CALL_BEGIN, 0, "toolu_1"),
        ev_call(SEAM_EV_TOOL_CALL_ARGS_DELTA, 0, "{\"city\":"),
        ev_call(SEAM_EV_TOOL_CALL_ARGS_DELTA, 0, "\"Oslo\"}"),
        ev_call(SEAM_EV_TOOL_CALL_BEGIN, 1, NULL),
        ev_call(SEAM_EV_TOOL_CALL_BEGIN, 2, "toolu_3"),
        ev_call(SEAM_EV_TOOL_CALL_ARGS_DELTA, 2, "[1,"),
        {.type = SEAM_EV_FINISH, .finish = SEAM_FINISH_STOP},
    };
    assert_string_equal(
        answer(a, calls, sizeof(calls) / sizeof(calls[0])),
        "{\"id\":\"msg_fb\",\"type\":\"message\",\"role\":\"assistant\",\"model\":"
        "\"fallback-model\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"hmm\","
        "\"signature\":\"SIG\"},{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":"
        "\"get_weather\",\"input\":{\"city\":\"Oslo\"}},{\"type\":\"tool_use\",\"id\":\"call_1\","
        "\"name\":\"get_weather\",\"input\":{}},{\"type\":\"tool_use\",\"id\":\"toolu_3\","
        "\"name\":\"get_weather\",\"input\":{\"_raw_arguments\":\"[1,\"}}],"
        "\"stop_reason\":\"tool_use\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":0,"
        "\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":0}}");
    /* An empty answer has one empty text block; a refusal is text. */
    seam_event empty[] = {{.type = SEAM_EV_FINISH, .finish = SEAM_FINISH_LENGTH}};
    char *b = answer(a, empty, 1);
    assert_non_null(strstr(b, "\"content\":[{\"type\":\"text\",\"text\":\"\"}]"));
    assert_non_null(strstr(b, "\"stop_reason\":\"max_tokens\""));
    seam_event refusal[] = {ev_text(SEAM_EV_REFUSAL_DELTA, "No."),
                            {.type = SEAM_EV_FINISH, .finish = SEAM_FINISH_CONTENT_FILTER}};
    b = answer(a, refusal, 2);
    assert_non_null(strstr(b, "\"content\":[{\"type\":\"text\",\"text\":\"No.\"}]"));
    assert_non_null(strstr(b, "\"stop_reason\":\"refusal\""));
    seam_arena_free(a);
}

/* Fault injection: every allocation in turn fails across decoding,
 * count_tokens, the writer and the answer; each fails cleanly (ASan and
 * LSan check the rest) until the allocations run out of failures. */
static void alloc_failures(void **state)
{
    bool succeeded = false;
    json_set_alloc_funcs(seam_malloc, seam_free);
    for (long n = 0; n < 20000 && !succeeded; n++) {
        seam_arena *a = seam_arena_new(4096);
        if (!a)
            continue;
        seam_alloc_fail_after(n);
        seam_req *r = NULL;
        json_t *meta;
        const char *param;
        char err[256];
        size_t len;
        int status;
        seam_rc rc = seam_ingress_anthropic.decode(a, full_request, strlen(full_request), &r, &meta,
                                                   err, sizeof(err), &param);
        /* jansson reports some allocation failures as syntax errors. */
        if (rc != SEAM_OK && rc != SEAM_ERR_NOMEM && rc != SEAM_ERR_INVALID)
            fail_msg("decode at %ld: %s (%s)", n, seam_rc_str(rc), err);
        char *ct = seam_api_anthropic_count_tokens(a, NULL, full_request, strlen(full_request),
                                                   &len, &status);
        void *w = seam_ingress_anthropic.writer_new(a, r, "m", "c");
        seam_rc wrc = SEAM_ERR_NOMEM;
        seam_buf out;
        seam_buf_init(&out, 1u << 20);
        seam_event evs[] = {
            {.type = SEAM_EV_START, .id = "msg_1", .name = "claude-x"},
            ev_text(SEAM_EV_THINKING_DELTA, "hmm"),
            ev_text(SEAM_EV_THINKING_SIGNATURE, "SIG"),
            ev_text(SEAM_EV_TEXT_DELTA, "Hi"),
            ev_call(SEAM_EV_TOOL_CALL_BEGIN, 0, "a"),
            ev_call(SEAM_EV_TOOL_CALL_BEGIN, 1, "b"),
            ev_call(SEAM_EV_TOOL_CALL_ARGS_DELTA, 1, "{}"),
            ev_call(SEAM_EV_TOOL_CALL_ARGS_DELTA, 0, "{}"),
            ev_call(SEAM_EV_TOOL_CALL_END, 0, NULL),
            {.type = SEAM_EV_USAGE, .usage = {.input = 1, .output = 1, .cached = -1}},
            {.type = SEAM_EV_FINISH, .finish = SEAM_FINISH_STOP},
        };
        if (w) {
            wrc = SEAM_OK;
            for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]) && wrc == SEAM_OK; i++)
                wrc = seam_ingress_anthropic.writer_event(w, &evs[i], &out);
            if (wrc == SEAM_OK)
                wrc = seam_ingress_anthropic.writer_end(w, &out);
        }
        seam_buf_free(&out);
        seam_answer *ans = seam_answer_new(a, "m", "c");
        char *body = NULL;
        if (ans) {
            bool ok = true;
            for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]) && ok; i++)
                ok = seam_answer_event(ans, &evs[i]) == 0;
            body = ok ? seam_ingress_anthropic.answer_body(ans, r, a, &len) : NULL;
        }
        seam_alloc_fail_after(-1);
        seam_arena_free(a);
        succeeded = rc == SEAM_OK && ct && wrc == SEAM_OK && body;
    }
    json_set_alloc_funcs(malloc, free);
    assert_true(succeeded);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decode_every_block),
        cmocka_unit_test(decode_system_and_results),
        cmocka_unit_test(decode_tools_and_choice),
        cmocka_unit_test(decode_thinking),
        cmocka_unit_test(decode_errors),
        cmocka_unit_test(count_tokens),
        cmocka_unit_test(error_bodies),
        cmocka_unit_test(writer_text),
        cmocka_unit_test(writer_thinking),
        cmocka_unit_test(writer_interleaved_calls),
        cmocka_unit_test(writer_malformed),
        cmocka_unit_test(writer_errors),
        cmocka_unit_test(answer_bodies),
        cmocka_unit_test(alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
