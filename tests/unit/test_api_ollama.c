/*
 * Ollama ingress: /api/chat and /api/generate decoding (messages, images
 * sniffed from their magic bytes, think and format forms, options, tool-call
 * ids synthesised and linked to results), the NDJSON writers over event
 * sequences (exact lines, timestamps and durations checked for shape),
 * whole answers, errors, the catalogue endpoints, and the Ollama egress fed
 * by this ingress (passthrough, think, tool_name).
 */
#include "provtest.h"

#include "api/answer.h"
#include "api/ingress.h"
#include "api/ollama.h"
#include "core/alloc.h"
#include "providers/ollama.h"
#include "providers/openai.h"

#include <ctype.h>

#define PNG  "iVBORw0KGgoAAAANSUhEUg=="
#define JPEG "/9j/4AAQSkZJRgAB"
#define GIF  "R0lGODlhAQABAIAA"
#define WEBP "UklGRiQAAABXRUJQVlA4IA=="

/* Fails with both documents printed unless <got> equals the JSON <want>
 * (any JSON value). */
static void assert_jeq(const json_t *got, const char *want)
{
    json_error_t jerr;
    json_t *w = json_loads(want, JSON_DECODE_ANY, &jerr);
    if (!w)
        fail_msg("bad expected JSON at %d: %s\n%s", jerr.position, jerr.text, want);
    if (!json_equal(got, w)) {
        char *g = got ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
        char *x = json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        fprintf(stderr, " got: %s\nwant: %s\n", g ? g : "(null)", x);
        free(g);
        free(x);
        json_decref(w);
        fail();
    }
    json_decref(w);
}

static seam_req *ollama_ok(const seam_ingress *ing, seam_arena *a, const char *body, json_t **meta)
{
    seam_req *r = NULL;
    json_t *m = NULL;
    char err[256] = "";
    const char *param = NULL;
    seam_rc rc = ing->decode(a, body, strlen(body), &r, &m, err, sizeof(err), &param);
    if (rc != SEAM_OK)
        print_error("decode: %s\n", err);
    assert_int_equal(rc, SEAM_OK);
    assert_int_equal(r->ingress, SEAM_API_OLLAMA);
    if (meta)
        *meta = m;
    return r;
}

static void ollama_fail(const seam_ingress *ing, const char *body, const char *want_param,
                        const char *want_msg)
{
    seam_arena *a = seam_arena_new(4096);
    seam_req *r = NULL;
    json_t *meta = NULL;
    char err[256] = "";
    const char *param = NULL;
    seam_rc rc = ing->decode(a, body, strlen(body), &r, &meta, err, sizeof(err), &param);
    if (rc != SEAM_ERR_INVALID)
        fail_msg("%s: decoded (%s), wanted an error with '%s'", body, seam_rc_str(rc), want_msg);
    if (want_param && (!param || strcmp(param, want_param) != 0))
        fail_msg("%s: param %s, wanted %s", body, param ? param : "(null)", want_param);
    if (!strstr(err, want_msg))
        fail_msg("error '%s' lacks '%s'", err, want_msg);
    seam_arena_free(a);
}

static const seam_ingress *chat = &seam_ingress_ollama_chat;
static const seam_ingress *gen = &seam_ingress_ollama_generate;

/* ---- decoding ---- */

static const char full_chat[] =
    "{\"model\":\"gemma4:31b\",\"keep_alive\":\"10m\",\"think\":\"high\",\"format\":\"json\","
    "\"seam\":{\"kind\":\"chat\"},"
    "\"options\":{\"temperature\":0.25,\"top_p\":0.5,\"seed\":42.0,\"stop\":[\"END\"],"
    "\"num_predict\":128,\"num_ctx\":8192,\"top_k\":20},"
    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":"
    "\"Weather\",\"parameters\":{\"type\":\"object\"}}},{\"function\":{\"name\":\"get_time\"}}],"
    "\"messages\":["
    "{\"role\":\"system\",\"content\":\"be brief\"},"
    "{\"role\":\"user\",\"content\":\"what is this?\",\"images\":[\"" PNG "\"]},"
    "{\"role\":\"assistant\",\"content\":\"\",\"thinking\":\"need tools\",\"tool_calls\":["
    "{\"function\":{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Oslo\",\"days\":2}}},"
    "{\"function\":{\"index\":1,\"name\":\"get_time\",\"arguments\":{}}},"
    "{\"function\":{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Bergen\"}}}]},"
    "{\"role\":\"tool\",\"tool_name\":\"get_time\",\"content\":\"noon\"},"
    "{\"role\":\"tool\",\"tool_name\":\"get_weather\",\"content\":\"-3C\"},"
    "{\"role\":\"tool\",\"content\":\"4C\"},"
    "{\"role\":\"assistant\",\"content\":\"Cold.\"},"
    "{\"role\":\"user\",\"content\":\"again\"},"
    "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"call_abc\",\"function\":{\"name\":"
    "\"get_time\"}}]},"
    "{\"role\":\"tool\",\"tool_name\":\"get_time\",\"content\":\"1pm\"}]}";

static void decode_chat_full(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    json_t *meta = NULL;
    seam_req *r = ollama_ok(chat, a, full_chat, &meta);
    assert_string_equal(r->model, "gemma4:31b");
    assert_true(r->stream); /* Ollama's default */
    assert_true(r->include_usage);
    assert_true(r->has_images);
    assert_jeq(meta, "{\"kind\":\"chat\"}");
    const seam_params *p = &r->params;
    assert_true(p->has_temperature && p->temperature == 0.25);
    assert_true(p->has_top_p && p->top_p == 0.5);
    assert_true(p->has_seed && p->seed == 42);
    assert_int_equal(p->max_tokens, 128);
    assert_int_equal(p->nstop, 1);
    assert_string_equal(p->stop[0], "END");
    assert_int_equal(p->reasoning, SEAM_REASONING_HIGH);
    assert_jeq(p->response_format, "{\"type\":\"json_object\"}");
    assert_null(p->tool_choice);
    /* Unmodelled fields and options stay for an Ollama backend. */
    assert_jeq(r->passthrough, "{\"keep_alive\":\"10m\",\"think\":\"high\",\"options\":{"
                               "\"num_ctx\":8192,\"top_k\":20}}");
    assert_int_equal(r->ntools, 2);
    assert_string_equal(r->tools[1].name, "get_time");
    assert_null(r->tools[1].parameters);

    assert_int_equal(r->nmsgs, 10);
    const seam_msg *u = &r->msgs[1];
    assert_int_equal(u->nparts, 2);
    assert_false(u->content_is_string);
    assert_string_equal(u->parts[1].image_url, "data:image/png;base64," PNG);
    const seam_msg *as = &r->msgs[2];
    assert_int_equal(as->role, SEAM_ROLE_ASSISTANT);
    assert_true(as->content_null);
    assert_int_equal(as->nparts, 4);
    assert_int_equal(as->parts[0].type, SEAM_PART_THINKING);
    assert_string_equal(as->parts[1].call_id, "call_2_0");
    assert_string_equal(as->parts[1].args, "{\"city\":\"Oslo\",\"days\":2}");
    assert_string_equal(as->parts[2].call_id, "call_2_1");
    assert_string_equal(as->parts[2].args, "{}");
    assert_string_equal(as->parts[3].call_id, "call_2_2");
    /* Results linked by tool_name, then by order. */
    assert_string_equal(r->msgs[3].parts[0].call_id, "call_2_1");
    assert_string_equal(r->msgs[3].parts[0].name, "get_time");
    assert_string_equal(r->msgs[4].parts[0].call_id, "call_2_0");
    assert_string_equal(r->msgs[5].parts[0].call_id, "call_2_2");
    assert_string_equal(r->msgs[5].parts[0].name, "get_weather");
    assert_int_equal(r->msgs[5].parts[0].type, SEAM_PART_TOOL_RESULT);
    assert_int_equal(r->msgs[8].nparts, 1);
    assert_string_equal(r->msgs[8].parts[0].call_id, "call_abc");
    assert_string_equal(r->msgs[9].parts[0].call_id, "call_abc");

    /* An OpenAI backend sees matching ids and nothing Ollama-only. */
    json_t *o = seam_openai_encode_request(r, "gpt-5.1");
    json_t *msgs = json_object_get(o, "messages");
    assert_jeq(json_object_get(json_array_get(msgs, 2), "tool_calls"),
               "[{\"id\":\"call_2_0\",\"type\":\"function\",\"function\":{\"name\":"
               "\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\",\\\"days\\\":2}\"}},"
               "{\"id\":\"call_2_1\",\"type\":\"function\",\"function\":{\"name\":"
               "\"get_time\",\"arguments\":\"{}\"}},"
               "{\"id\":\"call_2_2\",\"type\":\"function\",\"function\":{\"name\":"
               "\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Bergen\\\"}\"}}]");
    assert_jeq(json_array_get(msgs, 3),
               "{\"role\":\"tool\",\"tool_call_id\":\"call_2_1\",\"content\":\"noon\"}");
    assert_null(json_object_get(o, "keep_alive"));
    assert_null(json_object_get(o, "options"));
    assert_jeq(json_object_get(o, "reasoning_effort"), "\"high\"");
    json_decref(o);
    seam_arena_free(a);
}

/* The Ollama egress gets the client's extras, its think value and the
 * tool names back. */
static void chat_through_ollama_egress(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    seam_req *r = ollama_ok(chat, a, full_chat, NULL);
    char err[256] = "";
    seam_rc rc;
    json_t *o = seam_ollama_encode_request(r, "gemma4:31b", a, &rc, err, sizeof(err));
    assert_int_equal(rc, SEAM_OK);
    assert_jeq(json_object_get(o, "options"),
               "{\"num_predict\":128,\"temperature\":0.25,\"top_p\":0.5,\"seed\":42,\"stop\":"
               "[\"END\"],\"num_ctx\":8192,\"top_k\":20}");
    assert_jeq(json_object_get(o, "keep_alive"), "\"10m\"");
    assert_jeq(json_object_get(o, "think"), "\"high\"");
    assert_jeq(json_object_get(o, "format"), "\"json\"");
    json_t *msgs = json_object_get(o, "messages");
    assert_jeq(json_array_get(msgs, 1),
               "{\"role\":\"user\",\"content\":\"what is this?\",\"images\":[\"" PNG "\"]}");
    assert_jeq(json_array_get(msgs, 3), "{\"role\":\"tool\",\"content\":\"noon\",\"tool_name\":"
                                        "\"get_time\",\"tool_call_id\":\"call_2_1\"}");
    assert_jeq(json_array_get(msgs, 5), "{\"role\":\"tool\",\"content\":\"4C\",\"tool_name\":"
                                        "\"get_weather\",\"tool_call_id\":\"call_2_2\"}");
    json_decref(o);

    /* think:true stays true for Ollama (and is "medium" elsewhere). */
    r = ollama_ok(chat, a,
                  "{\"model\":\"m\",\"think\":true,\"messages\":[{\"role\":\"user\",\"content\":"
                  "\"hi\"}]}",
                  NULL);
    o = seam_ollama_encode_request(r, "m", a, &rc, err, sizeof(err));
    assert_jeq(json_object_get(o, "think"), "true");
    assert_jeq(json_object_get(o, "stream"), "true");
    json_decref(o);
    /* ...unless a policy changed the level. */
    r->params.reasoning = SEAM_REASONING_LOW;
    o = seam_ollama_encode_request(r, "m", a, &rc, err, sizeof(err));
    assert_jeq(json_object_get(o, "think"), "\"low\"");
    json_decref(o);
    /* A result without an earlier call keeps the client's tool_name. */
    r = ollama_ok(chat, a,
                  "{\"model\":\"m\",\"stream\":false,\"messages\":[{\"role\":\"tool\","
                  "\"tool_name\":\"f\",\"content\":\"1\"}]}",
                  NULL);
    assert_string_equal(r->msgs[0].parts[0].call_id, "call_0");
    o = seam_ollama_encode_request(r, "m", a, &rc, err, sizeof(err));
    assert_jeq(o, "{\"model\":\"m\",\"messages\":[{\"role\":\"tool\",\"content\":\"1\","
                  "\"tool_name\":\"f\",\"tool_call_id\":\"call_0\"}],\"think\":false,"
                  "\"stream\":false}");
    json_decref(o);
    seam_arena_free(a);
}

static void decode_images(void **state)
{
    const char *ok[][2] = {
        {PNG, "image/png"}, {JPEG, "image/jpeg"}, {GIF, "image/gif"}, {WEBP, "image/webp"}};
    seam_arena *a = seam_arena_new(4096);
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char body[512], want[256];
        snprintf(body, sizeof(body),
                 "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"images\":[\"%s\"]}]}",
                 ok[i][0]);
        seam_req *r = ollama_ok(chat, a, body, NULL);
        snprintf(want, sizeof(want), "data:%s;base64,%s", ok[i][1], ok[i][0]);
        assert_int_equal(r->msgs[0].nparts, 1); /* no empty text part */
        assert_string_equal(r->msgs[0].parts[0].image_url, want);
    }
    /* Line breaks (Go's decoder skips them) are dropped; data URLs pass. */
    seam_req *r = ollama_ok(chat, a,
                            "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\","
                            "\"images\":[\"/9j/\\r\\n4AAQ\\nSkZJRgAB\","
                            "\"data:image/png;base64,AAAA\"]}]}",
                            NULL);
    assert_string_equal(r->msgs[0].parts[1].image_url, "data:image/jpeg;base64," JPEG);
    assert_string_equal(r->msgs[0].parts[2].image_url, "data:image/png;base64,AAAA");
    /* generate's images go on the user message. */
    r = ollama_ok(gen, a, "{\"model\":\"m\",\"prompt\":\"p\",\"images\":[\"" GIF "\"]}", NULL);
    assert_true(r->has_images);
    assert_int_equal(r->nmsgs, 1);
    assert_string_equal(r->msgs[0].parts[1].image_url, "data:image/gif;base64," GIF);
    seam_arena_free(a);

    ollama_fail(chat,
                "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"images\":[\"aGVsbG8gd29ybGQh"
                "\"]}]}",
                "messages", "messages[0].images[0] is not a PNG, JPEG, GIF or WebP image");
    ollama_fail(chat, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"images\":[\"iVBO\"]}]}",
                "messages", "not a PNG, JPEG");
    ollama_fail(chat,
                "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"images\":[\"not base64!\"]}]}",
                "messages", "not valid base64");
    ollama_fail(chat,
                "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"images\":[\"/9j=/4AA\"]}]}",
                "messages", "not valid base64");
    ollama_fail(chat, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"images\":[7]}]}",
                "messages", "base64 string");
    ollama_fail(gen, "{\"model\":\"m\",\"prompt\":\"p\",\"images\":[\"aGVsbG8gd29ybGQh\"]}",
                "images", "images[0] is not a PNG");
}

static void decode_think_and_format(void **state)
{
    const struct {
        const char *think;
        seam_reasoning want;
    } forms[] = {{"true", SEAM_REASONING_MEDIUM},   {"false", SEAM_REASONING_OFF},
                 {"\"low\"", SEAM_REASONING_LOW},   {"\"medium\"", SEAM_REASONING_MEDIUM},
                 {"\"high\"", SEAM_REASONING_HIGH}, {"\"max\"", SEAM_REASONING_MAX},
                 {"null", SEAM_REASONING_UNSET}};
    seam_arena *a = seam_arena_new(4096);
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        char body[256];
        snprintf(body, sizeof(body),
                 "{\"model\":\"m\",\"think\":%s,\"messages\":[{\"role\":\"user\",\"content\":"
                 "\"x\"}]}",
                 forms[i].think);
        seam_req *r = ollama_ok(chat, a, body, NULL);
        assert_int_equal(r->params.reasoning, forms[i].want);
        assert_null(r->params.reasoning_raw); /* never echoed to other dialects */
        snprintf(body, sizeof(body), "{\"model\":\"m\",\"think\":%s,\"prompt\":\"x\"}",
                 forms[i].think);
        r = ollama_ok(gen, a, body, NULL);
        assert_int_equal(r->params.reasoning, forms[i].want);
    }
    seam_req *r = ollama_ok(gen, a, "{\"model\":\"m\",\"prompt\":\"x\"}", NULL);
    assert_int_equal(r->params.reasoning, SEAM_REASONING_UNSET);
    assert_null(r->params.response_format);
    assert_null(r->passthrough);
    r = ollama_ok(gen, a,
                  "{\"model\":\"m\",\"prompt\":\"x\",\"format\":{\"type\":\"object\","
                  "\"properties\":{\"a\":{\"type\":\"string\"}}}}",
                  NULL);
    assert_jeq(r->params.response_format,
               "{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"response\",\"schema\":"
               "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}}}}}");
    r = ollama_ok(chat, a, "{\"model\":\"m\",\"format\":\"\",\"messages\":[]}", NULL);
    assert_null(r->params.response_format);
    seam_arena_free(a);
    ollama_fail(chat, "{\"model\":\"m\",\"think\":\"huge\",\"messages\":[]}", "think",
                "think must be true, false");
    ollama_fail(gen, "{\"model\":\"m\",\"think\":1}", "think", "think must be");
    ollama_fail(chat, "{\"model\":\"m\",\"format\":\"xml\",\"messages\":[]}", "format",
                "format must be \"json\" or a JSON Schema");
    ollama_fail(gen, "{\"model\":\"m\",\"format\":[1]}", "format", "format must be");
}

static void decode_generate(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    json_t *meta = NULL;
    seam_req *r = ollama_ok(gen, a,
                            "{\"model\":\"gemma4:31b\",\"prompt\":\"Why is the sky blue?\","
                            "\"system\":\"be brief\",\"stream\":false,\"raw\":false,\"context\":[],"
                            "\"suffix\":\"\",\"keep_alive\":0,\"template\":\"{{ .Prompt }}\","
                            "\"options\":{\"num_predict\":-1,\"mirostat\":1},\"seam\":{}}",
                            &meta);
    assert_false(r->stream);
    assert_true(r->include_usage);
    assert_non_null(meta);
    assert_int_equal(r->params.max_tokens, -1); /* -1: no limit */
    assert_int_equal(r->nmsgs, 2);
    assert_int_equal(r->msgs[0].role, SEAM_ROLE_SYSTEM);
    assert_string_equal(r->msgs[0].parts[0].text, "be brief");
    assert_int_equal(r->msgs[1].role, SEAM_ROLE_USER);
    assert_true(r->msgs[1].content_is_string);
    assert_int_equal(r->msgs[1].nparts, 1);
    assert_string_equal(r->msgs[1].parts[0].text, "Why is the sky blue?");
    assert_jeq(r->passthrough, "{\"keep_alive\":0,\"template\":\"{{ .Prompt }}\",\"options\":"
                               "{\"mirostat\":1}}");
    /* Loading a model: nothing to say, no messages. */
    r = ollama_ok(gen, a, "{\"model\":\"m\"}", NULL);
    assert_int_equal(r->nmsgs, 0);
    assert_true(r->stream);
    r = ollama_ok(gen, a, "{\"model\":\"m\",\"prompt\":\"\",\"system\":\"s\"}", NULL);
    assert_int_equal(r->nmsgs, 1);
    r = ollama_ok(chat, a, "{\"model\":\"m\"}", NULL);
    assert_int_equal(r->nmsgs, 0);
    r = ollama_ok(chat, a, "{\"model\":\"m\",\"messages\":null}", NULL);
    assert_int_equal(r->nmsgs, 0);
    seam_arena_free(a);

    ollama_fail(gen, "{\"model\":\"m\",\"prompt\":\"p\",\"context\":[1,2,3]}", "context",
                "send the conversation as messages to /api/chat");
    ollama_fail(gen, "{\"model\":\"m\",\"prompt\":\"p\",\"context\":\"x\"}", "context",
                "not supported");
    ollama_fail(gen, "{\"model\":\"m\",\"prompt\":\"def f(\",\"suffix\":\"return x\"}", "suffix",
                "fill-in-the-middle");
    ollama_fail(gen, "{\"model\":\"m\",\"prompt\":\"p\",\"raw\":true}", "raw", "raw prompts");
    ollama_fail(gen, "{\"model\":\"m\",\"prompt\":\"p\",\"raw\":\"yes\"}", "raw", "boolean");
    ollama_fail(gen, "{\"model\":\"m\",\"prompt\":5}", "prompt", "prompt must be a string");
    ollama_fail(gen, "{\"model\":\"m\",\"system\":[]}", "system", "system must be a string");
    ollama_fail(gen, "{\"prompt\":\"p\"}", "model", "model is required");
}

static void decode_errors(void **state)
{
    ollama_fail(chat, "{", NULL, "not valid JSON");
    ollama_fail(chat, "[1]", NULL, "JSON object");
    const char *cases[][3] = {
        {"{\"messages\":[]}", "model", "model is required"},
        {"{\"model\":\"\",\"messages\":[]}", "model", "model is required"},
        {"{\"model\":\"m\",\"messages\":{}}", "messages", "messages must be an array"},
        {"{\"model\":\"m\",\"messages\":[1]}", "messages", "messages[0] must be an object"},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"developer\",\"content\":\"x\"}]}", "messages",
         "system, user, assistant or tool"},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[]}]}", "messages",
         "content must be a string"},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"thinking\":1}]}", "messages",
         "thinking must be a string"},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"images\":\"x\"}]}", "messages",
         "images must be an array"},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"tool_calls\":[{\"function\":{"
         "\"name\":\"f\"}}]}]}",
         "messages", "only assistant messages carry tool_calls"},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"tool_calls\":{}}]}", "messages",
         "tool_calls must be an array"},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"function\":{"
         "}}]}]}",
         "messages", "messages[0].tool_calls[0] needs function.name"},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"function\":{"
         "\"name\":\"f\",\"arguments\":\"{}\"}}]}]}",
         "messages", "arguments must be an object"},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"tool\",\"tool_name\":3}]}", "messages",
         "tool_name must be a string"},
        {"{\"model\":\"m\",\"messages\":[],\"tools\":{}}", "tools", "tools must be an array"},
        {"{\"model\":\"m\",\"messages\":[],\"tools\":[{\"type\":\"web\",\"function\":{}}]}",
         "tools", "tools[0] must be"},
        {"{\"model\":\"m\",\"messages\":[],\"tools\":[{\"type\":\"function\",\"function\":{}}]}",
         "tools", "needs a string name"},
        {"{\"model\":\"m\",\"messages\":[],\"tools\":[{\"function\":{\"name\":\"f\","
         "\"parameters\":[]}}]}",
         "tools", "JSON Schema object"},
        {"{\"model\":\"m\",\"messages\":[],\"stream\":\"yes\"}", "stream", "boolean"},
        {"{\"model\":\"m\",\"messages\":[],\"options\":[]}", "options",
         "options must be an object"},
        {"{\"model\":\"m\",\"messages\":[],\"options\":{\"temperature\":\"hot\"}}", "options",
         "options.temperature must be a number"},
        {"{\"model\":\"m\",\"messages\":[],\"options\":{\"top_p\":true}}", "options",
         "options.top_p must be a number"},
        {"{\"model\":\"m\",\"messages\":[],\"options\":{\"seed\":1.5}}", "options",
         "options.seed must be an integer"},
        {"{\"model\":\"m\",\"messages\":[],\"options\":{\"num_predict\":\"9\"}}", "options",
         "num_predict must be an integer"},
        {"{\"model\":\"m\",\"messages\":[],\"options\":{\"stop\":[1]}}", "options",
         "options.stop must be an array of strings"},
        {"{\"model\":\"m\",\"messages\":[],\"options\":{\"stop\":7}}", "options",
         "options.stop must be"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ollama_fail(chat, cases[i][0], cases[i][1], cases[i][2]);
}

static void decode_options_forms(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    seam_req *r = ollama_ok(chat, a,
                            "{\"model\":\"m\",\"messages\":[],\"options\":{\"stop\":\"\\n\","
                            "\"temperature\":null,\"num_predict\":0,\"seed\":-3}}",
                            NULL);
    assert_int_equal(r->params.nstop, 1);
    assert_string_equal(r->params.stop[0], "\n");
    assert_false(r->params.has_temperature);
    assert_int_equal(r->params.max_tokens, 0);
    assert_int_equal(r->params.seed, -3);
    assert_null(r->passthrough); /* nothing left over */
    r = ollama_ok(chat, a, "{\"model\":\"m\",\"messages\":[],\"options\":{\"num_predict\":-2}}",
                  NULL);
    assert_int_equal(r->params.max_tokens, -1);
    seam_arena_free(a);
}

/* ---- writers ---- */

/* Checks the shape of a Go time.Time in RFC 3339 with nanoseconds. */
static void check_timestamp(const char *s, size_t n)
{
    const char *shape = "dddd-dd-ddTdd:dd:dd";
    size_t k = strlen(shape);
    if (n < k + 1)
        fail_msg("timestamp '%.*s' too short", (int)n, s);
    for (size_t i = 0; i < k; i++)
        if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
            fail_msg("timestamp '%.*s' malformed at %zu", (int)n, s, i);
    if (s[n - 1] != 'Z')
        fail_msg("timestamp '%.*s' is not UTC", (int)n, s);
    if (n > k + 1) {
        if (s[k] != '.' || n - k - 2 < 1 || n - k - 2 > 9 || s[n - 2] == '0')
            fail_msg("timestamp '%.*s' has a bad fraction", (int)n, s);
        for (size_t i = k + 1; i < n - 1; i++)
            assert_true(isdigit((unsigned char)s[i]));
    }
}

/* Replaces each created_at value by "T" and each duration by N after
 * checking their shapes, and checks total = prompt_eval + eval on done
 * lines. */
static void normalise(const char *in, char *out, size_t n)
{
    size_t k = 0;
    while (*in && k + 1 < n) {
        if (strncmp(in, "\"created_at\":\"", 14) == 0) {
            const char *v = in + 14, *e = strchr(v, '"');
            assert_non_null(e);
            check_timestamp(v, (size_t)(e - v));
            k += (size_t)snprintf(out + k, n - k, "\"created_at\":\"T\"");
            in = e + 1;
            continue;
        }
        if (strncmp(in, "\"load_duration\":", 16) == 0) { /* always 0: kept */
            memcpy(out + k, in, 16);
            k += 16;
            in += 16;
            continue;
        }
        if (strncmp(in, "_duration\":", 11) == 0) {
            k += (size_t)snprintf(out + k, n - k, "_duration\":N");
            in += 11;
            assert_true(isdigit((unsigned char)*in));
            while (isdigit((unsigned char)*in))
                in++;
            continue;
        }
        out[k++] = *in++;
    }
    out[k] = '\0';
}

static void check_durations(const char *line)
{
    json_error_t jerr;
    json_t *o = json_loads(line, 0, &jerr);
    assert_non_null(o);
    json_int_t total = json_integer_value(json_object_get(o, "total_duration"));
    json_int_t pe = json_integer_value(json_object_get(o, "prompt_eval_duration"));
    json_int_t ev = json_integer_value(json_object_get(o, "eval_duration"));
    assert_true(total >= 0 && pe >= 0 && ev >= 0);
    assert_int_equal(total, pe + ev);
    json_decref(o);
}

struct run {
    char raw[8192];
    char text[8192];
};

/* Feeds <evs> to a writer of <ing>, then ends it; the NDJSON goes to <r>. */
static void run_writer(const seam_ingress *ing, const seam_event *evs, size_t n, bool error_after,
                       struct run *r)
{
    seam_arena *a = seam_arena_new(4096);
    seam_req req = {.arena = a, .ingress = SEAM_API_OLLAMA, .model = "auto", .stream = true};
    void *w = ing->writer_new(a, &req, "chatcmpl-x", "fallback:1b");
    assert_non_null(w);
    seam_buf out;
    seam_buf_init(&out, 1u << 20);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ing->writer_event(w, &evs[i], &out), SEAM_OK);
    if (error_after)
        assert_int_equal(ing->writer_error(w, 502, "backend went away", "upstream_error",
                                           "upstream_error", &out),
                         SEAM_OK);
    assert_int_equal(ing->writer_end(w, &out), SEAM_OK);
    snprintf(r->raw, sizeof(r->raw), "%s", out.data ? out.data : "");
    normalise(r->raw, r->text, sizeof(r->text));
    /* Every line parses; done lines add up. */
    for (char *l = r->raw; *l;) {
        char *nl = strchr(l, '\n');
        assert_non_null(nl);
        *nl = '\0';
        json_error_t jerr;
        json_t *o = json_loads(l, 0, &jerr);
        if (!json_is_object(o))
            fail_msg("line is not a JSON object: %s", l);
        if (json_is_true(json_object_get(o, "done")))
            check_durations(l);
        json_decref(o);
        *nl = '\n';
        l = nl + 1;
    }
    seam_buf_free(&out);
    seam_arena_free(a);
}

#define TXT(t)                                                                                     \
    {                                                                                              \
        .type = SEAM_EV_TEXT_DELTA, .text = t, .text_len = sizeof(t) - 1                           \
    }
#define THK(t)                                                                                     \
    {                                                                                              \
        .type = SEAM_EV_THINKING_DELTA, .text = t, .text_len = sizeof(t) - 1                       \
    }
#define ARGS(i, t)                                                                                 \
    {                                                                                              \
        .type = SEAM_EV_TOOL_CALL_ARGS_DELTA, .index = i, .text = t, .text_len = sizeof(t) - 1     \
    }
#define USAGE(i, o)                                                                                \
    {                                                                                              \
        .type = SEAM_EV_USAGE, .usage = { i, o, -1, -1 }                                           \
    }
#define FIN(f)                                                                                     \
    {                                                                                              \
        .type = SEAM_EV_FINISH, .finish = f                                                        \
    }

#define CHAT_LINE(msg, rest)                                                                       \
    "{\"model\":\"gemma4:31b\",\"created_at\":\"T\",\"message\":{\"role\":\"assistant\"," msg      \
    "}," rest "}\n"
#define DONE_METRICS(reason, in, out)                                                              \
    "\"done\":true,\"done_reason\":\"" reason "\",\"total_duration\":N,\"load_duration\":0,"       \
    "\"prompt_eval_count\":" #in ",\"prompt_eval_duration\":N,\"eval_count\":" #out                \
    ",\"eval_duration\":N"

static void writer_chat_text(void **state)
{
    const seam_event evs[] = {
        {.type = SEAM_EV_START, .id = "x", .name = "gemma4:31b"},
        THK("Let me"),
        THK(" think"),
        {.type = SEAM_EV_THINKING_SIGNATURE, .text = "sig", .text_len = 3},
        TXT("Hel"),
        {.type = SEAM_EV_TEXT_DELTA, .text = "", .text_len = 0},
        TXT("lo \"you\"\n"),
        {.type = SEAM_EV_REFUSAL_DELTA, .text = "!", .text_len = 1},
        USAGE(26, 9),
        FIN(SEAM_FINISH_STOP),
    };
    struct run r;
    run_writer(chat, evs, sizeof(evs) / sizeof(evs[0]), false, &r);
    assert_string_equal(
        r.text, CHAT_LINE("\"content\":\"\",\"thinking\":\"Let me\"", "\"done\":false")
                    CHAT_LINE("\"content\":\"\",\"thinking\":\" think\"", "\"done\":false")
                        CHAT_LINE("\"content\":\"Hel\"", "\"done\":false")
                            CHAT_LINE("\"content\":\"lo \\\"you\\\"\\n\"", "\"done\":false")
                                CHAT_LINE("\"content\":\"!\"", "\"done\":false")
                                    CHAT_LINE("\"content\":\"\"", DONE_METRICS("stop", 26, 9)));
    /* Length; no usage known: counts are 0, the model is the fallback. */
    const seam_event len[] = {TXT("a"), FIN(SEAM_FINISH_LENGTH)};
    run_writer(chat, len, 2, false, &r);
    assert_string_equal(
        r.text, "{\"model\":\"fallback:1b\",\"created_at\":\"T\",\"message\":{"
                "\"role\":\"assistant\",\"content\":\"a\"},\"done\":false}\n"
                "{\"model\":\"fallback:1b\",\"created_at\":\"T\",\"message\":{"
                "\"role\":\"assistant\",\"content\":\"\"}," DONE_METRICS("length", 0, 0) "}\n");
}

static void writer_chat_tool_calls(void **state)
{
    /* Two calls in fragments; the second ends only with the finish. */
    const seam_event evs[] = {
        {.type = SEAM_EV_START, .name = "gemma4:31b"},
        TXT("Checking."),
        {.type = SEAM_EV_TOOL_CALL_BEGIN, .index = 0, .id = "call_a", .name = "get_weather"},
        ARGS(0, "{\"ci"),
        ARGS(0, "ty\":\"Os"),
        {.type = SEAM_EV_TOOL_CALL_BEGIN, .index = 1, .id = NULL, .name = "get_time"},
        ARGS(0, "lo\"}"),
        {.type = SEAM_EV_TOOL_CALL_END, .index = 0},
        ARGS(1, " "),
        USAGE(10, 20),
        FIN(SEAM_FINISH_TOOL_CALLS),
        {.type = SEAM_EV_TOOL_CALL_END, .index = 1}, /* late: already written */
    };
    struct run r;
    run_writer(chat, evs, sizeof(evs) / sizeof(evs[0]), false, &r);
    assert_string_equal(
        r.text,
        CHAT_LINE("\"content\":\"Checking.\"", "\"done\":false")
            CHAT_LINE("\"content\":\"\",\"tool_calls\":[{\"id\":\"call_a\",\"function\":{\"index\":"
                      "0,\"name\":\"get_weather\",\"arguments\":{\"city\":\"Oslo\"}}}]",
                      "\"done\":false")
                CHAT_LINE("\"content\":\"\",\"tool_calls\":[{\"id\":\"call_1\",\"function\":{"
                          "\"index\":1,\"name\":\"get_time\",\"arguments\":{}}}]",
                          "\"done\":false")
                    CHAT_LINE("\"content\":\"\"", DONE_METRICS("stop", 10, 20)));
    /* Arguments that are not an object end the stream with an error line. */
    const seam_event bad[] = {
        {.type = SEAM_EV_TOOL_CALL_BEGIN, .index = 0, .id = "c", .name = "f"},
        ARGS(0, "[1,2]"),
        {.type = SEAM_EV_TOOL_CALL_END, .index = 0},
        TXT("ignored"),
        FIN(SEAM_FINISH_TOOL_CALLS),
    };
    run_writer(chat, bad, sizeof(bad) / sizeof(bad[0]), true, &r);
    assert_string_equal(r.text,
                        "{\"error\":\"the model called tool 'f' with arguments that are not a JSON "
                        "object\"}\n");
}

static void writer_chat_errors(void **state)
{
    /* An upstream error mid-stream: one error line, nothing after it. */
    const seam_event evs[] = {
        {.type = SEAM_EV_START, .name = "gemma4:31b"},
        TXT("par"),
        {.type = SEAM_EV_ERROR, .text = "model runner crashed", .text_len = 20, .status = 502},
        TXT("more"),
        FIN(SEAM_FINISH_STOP),
    };
    struct run r;
    run_writer(chat, evs, sizeof(evs) / sizeof(evs[0]), true, &r);
    assert_string_equal(r.text,
                        CHAT_LINE("\"content\":\"par\"",
                                  "\"done\":false") "{\"error\":\"model runner crashed\"}\n");
    /* seam's own error (a timeout) after some text. */
    run_writer(chat, evs, 2, true, &r);
    assert_string_equal(r.text, CHAT_LINE("\"content\":\"par\"",
                                          "\"done\":false") "{\"error\":\"backend went away\"}\n");
    /* Protocol violations are refused. */
    seam_arena *a = seam_arena_new(4096);
    seam_req req = {.arena = a, .ingress = SEAM_API_OLLAMA};
    void *w = chat->writer_new(a, &req, "id", "m");
    seam_buf out;
    seam_buf_init(&out, 1u << 20);
    seam_event ev = {.type = SEAM_EV_TOOL_CALL_BEGIN, .index = 1, .name = "f"};
    assert_int_equal(chat->writer_event(w, &ev, &out), SEAM_ERR_INVALID);
    ev = (seam_event){.type = SEAM_EV_TOOL_CALL_ARGS_DELTA, .index = 0, .text = "x", .text_len = 1};
    assert_int_equal(chat->writer_event(w, &ev, &out), SEAM_ERR_INVALID);
    ev = (seam_event){.type = SEAM_EV_TOOL_CALL_END, .index = 3};
    assert_int_equal(chat->writer_event(w, &ev, &out), SEAM_ERR_INVALID);
    assert_int_equal(out.len, 0);
    seam_buf_free(&out);
    seam_arena_free(a);
}

#define GEN_LINE(rest) "{\"model\":\"gemma4:31b\",\"created_at\":\"T\"," rest "}\n"

static void writer_generate(void **state)
{
    const seam_event evs[] = {
        {.type = SEAM_EV_START, .name = "gemma4:31b"},
        THK("hm"),
        TXT("Blue"),
        TXT("."),
        {.type = SEAM_EV_TOOL_CALL_BEGIN, .index = 0, .id = "k", .name = "f"},
        ARGS(0, "{\"a\":1}"),
        {.type = SEAM_EV_TOOL_CALL_END, .index = 0},
        USAGE(3, 4),
        FIN(SEAM_FINISH_LENGTH),
    };
    struct run r;
    run_writer(gen, evs, sizeof(evs) / sizeof(evs[0]), false, &r);
    assert_string_equal(
        r.text,
        GEN_LINE("\"response\":\"\",\"thinking\":\"hm\",\"done\":false") GEN_LINE(
            "\"response\":\"Blue\",\"done\":false") GEN_LINE("\"response\":\".\",\"done\":false")
            GEN_LINE("\"response\":\"\",\"done\":false,\"tool_calls\":[{\"id\":\"k\","
                     "\"function\":{\"index\":0,\"name\":\"f\",\"arguments\":{"
                     "\"a\":1}}}]") GEN_LINE("\"response\":\"\"," DONE_METRICS("length", 3, 4)));
    const seam_event err[] = {{.type = SEAM_EV_ERROR, .text = "boom", .text_len = 4}};
    run_writer(gen, err, 1, false, &r);
    assert_string_equal(r.text, "{\"error\":\"boom\"}\n");
}

/* ---- whole answers and errors ---- */

static seam_answer *collect(seam_arena *a, const seam_event *evs, size_t n)
{
    seam_answer *ans = seam_answer_new(a, "id", "fallback:1b");
    assert_non_null(ans);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(seam_answer_event(ans, &evs[i]), 0);
    return ans;
}

/* Parses <body>, checks and removes created_at and the durations, and
 * compares the rest with <want>. */
static void assert_answer(const char *body, size_t len, const char *want)
{
    assert_int_equal(strlen(body), len);
    json_error_t jerr;
    json_t *o = json_loads(body, 0, &jerr);
    assert_non_null(o);
    const char *ts = json_string_value(json_object_get(o, "created_at"));
    assert_non_null(ts);
    check_timestamp(ts, strlen(ts));
    json_object_del(o, "created_at");
    json_int_t total = json_integer_value(json_object_get(o, "total_duration"));
    json_int_t pe = json_integer_value(json_object_get(o, "prompt_eval_duration"));
    json_int_t ev = json_integer_value(json_object_get(o, "eval_duration"));
    assert_true(total >= 0 && pe >= 0 && ev >= 0 && total == pe + ev);
    json_object_del(o, "total_duration");
    json_object_del(o, "prompt_eval_duration");
    json_object_del(o, "eval_duration");
    assert_jeq(o, want);
    json_decref(o);
}

static void answer_bodies(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    seam_req req = {.arena = a, .ingress = SEAM_API_OLLAMA};
    const seam_event evs[] = {
        {.type = SEAM_EV_START, .name = "gemma4:31b"},
        THK("hm"),
        TXT("Hi"),
        {.type = SEAM_EV_TOOL_CALL_BEGIN, .index = 0, .id = "call_a", .name = "f"},
        ARGS(0, "{\"a\":"),
        ARGS(0, "[1]}"),
        {.type = SEAM_EV_TOOL_CALL_END, .index = 0},
        {.type = SEAM_EV_TOOL_CALL_BEGIN, .index = 1, .name = "g"},
        {.type = SEAM_EV_TOOL_CALL_END, .index = 1},
        USAGE(3, 4),
        FIN(SEAM_FINISH_TOOL_CALLS),
    };
    seam_answer *ans = collect(a, evs, sizeof(evs) / sizeof(evs[0]));
    size_t len = 0;
    char *body = chat->answer_body(ans, &req, a, &len);
    assert_non_null(body);
    assert_answer(
        body, len,
        "{\"model\":\"gemma4:31b\",\"message\":{\"role\":\"assistant\",\"content\":\"Hi\","
        "\"thinking\":\"hm\",\"tool_calls\":[{\"id\":\"call_a\",\"function\":{\"index\":"
        "0,\"name\":\"f\",\"arguments\":{\"a\":[1]}}},{\"id\":\"call_1\",\"function\":{"
        "\"index\":1,\"name\":\"g\",\"arguments\":{}}}]},\"done\":true,\"done_reason\":"
        "\"stop\",\"load_duration\":0,\"prompt_eval_count\":3,\"eval_count\":4}");
    /* Key order as Ollama writes it. */
    assert_true(strncmp(body, "{\"model\":\"gemma4:31b\",\"created_at\":\"", 36) == 0);
    body = gen->answer_body(ans, &req, a, &len);
    assert_answer(body, len,
                  "{\"model\":\"gemma4:31b\",\"response\":\"Hi\",\"thinking\":\"hm\",\"done\":true,"
                  "\"done_reason\":\"stop\",\"load_duration\":0,\"prompt_eval_count\":3,"
                  "\"eval_count\":4,\"tool_calls\":[{\"id\":\"call_a\",\"function\":{\"index\":0,"
                  "\"name\":\"f\",\"arguments\":{\"a\":[1]}}},{\"id\":\"call_1\",\"function\":{"
                  "\"index\":1,\"name\":\"g\",\"arguments\":{}}}]}");

    /* No usage, a length stop, a refusal as the text. */
    const seam_event short_evs[] = {
        {.type = SEAM_EV_REFUSAL_DELTA, .text = "No.", .text_len = 3},
        FIN(SEAM_FINISH_LENGTH),
    };
    ans = collect(a, short_evs, 2);
    body = chat->answer_body(ans, &req, a, &len);
    assert_answer(body, len,
                  "{\"model\":\"fallback:1b\",\"message\":{\"role\":\"assistant\",\"content\":"
                  "\"No.\"},\"done\":true,\"done_reason\":\"length\",\"load_duration\":0,"
                  "\"prompt_eval_count\":0,\"eval_count\":0}");
    body = gen->answer_body(ans, &req, a, &len);
    assert_answer(body, len,
                  "{\"model\":\"fallback:1b\",\"response\":\"No.\",\"done\":true,\"done_reason\":"
                  "\"length\",\"load_duration\":0,\"prompt_eval_count\":0,\"eval_count\":0}");

    /* Arguments that are not an object: an Ollama error body. */
    const seam_event bad[] = {
        {.type = SEAM_EV_TOOL_CALL_BEGIN, .index = 0, .id = "c", .name = "f"},
        ARGS(0, "{\"a\":"),
        FIN(SEAM_FINISH_TOOL_CALLS),
    };
    ans = collect(a, bad, 3);
    body = chat->answer_body(ans, &req, a, &len);
    assert_string_equal(
        body,
        "{\"error\":\"the model called tool 'f' with arguments that are not a JSON object\"}");
    assert_int_equal(len, strlen(body));
    seam_arena_free(a);
}

static void error_bodies_and_tables(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    assert_string_equal(chat->error_body(a, 404, "model 'x' not found", "invalid_request_error",
                                         "model_not_found", "model"),
                        "{\"error\":\"model 'x' not found\"}");
    assert_string_equal(gen->error_body(a, 429, "slow \"down\"", NULL, NULL, NULL),
                        "{\"error\":\"slow \\\"down\\\"\"}");
    assert_string_equal(chat->error_body(a, 500, "", NULL, NULL, NULL),
                        "{\"error\":\"unknown error\"}");
    seam_arena_free(a);
    assert_int_equal(chat->api, SEAM_API_OLLAMA);
    assert_int_equal(gen->api, SEAM_API_OLLAMA);
    assert_string_equal(chat->path, "/api/chat");
    assert_string_equal(gen->path, "/api/generate");
    assert_string_equal(chat->stream_content_type, "application/x-ndjson");
    assert_string_equal(gen->stream_content_type, "application/x-ndjson");
    assert_null(chat->embeddings_body);
    assert_null(gen->embeddings_body);
}

/* ---- catalogue ---- */

static const char catalogue_yaml[] = "listen: 127.0.0.1:0\n"
                                     "backends:\n"
                                     "  - name: local\n"
                                     "    provider: ollama\n"
                                     "    url: http://127.0.0.1:11434\n"
                                     "    location: local\n"
                                     "    models: [gemma4:31b, qwen3:0.6b, gemma4:31b]\n"
                                     "    context_window: 131072\n"
                                     "    capabilities: [vision, tools, thinking]\n"
                                     "  - name: cloud\n"
                                     "    provider: openai\n"
                                     "    url: https://api.openai.com\n"
                                     "    location: cloud\n"
                                     "    models: [gpt-5.1, gemma4:31b, text-embed, tiny:3]\n"
                                     "    capabilities: [embeddings]\n"
                                     "pools:\n"
                                     "  all: [local, cloud]\n"
                                     "policy:\n"
                                     "  default: all\n";

static void tags(void **state)
{
    seam_config *cfg = load_yaml(catalogue_yaml);
    seam_arena *a = seam_arena_new(4096);
    size_t len = 0;
    char *s = seam_api_ollama_tags(cfg, a, &len);
    assert_non_null(s);
    assert_int_equal(strlen(s), len);
    json_error_t jerr;
    json_t *o = json_loads(s, 0, &jerr);
    json_t *models = json_object_get(o, "models");
    const char *names[] = {"auto", "gemma4:31b", "qwen3:0.6b", "gpt-5.1", "text-embed", "tiny:3"};
    assert_int_equal(json_array_size(models), 6);
    for (size_t i = 0; i < 6; i++) {
        json_t *m = json_array_get(models, i);
        assert_string_equal(json_string_value(json_object_get(m, "name")), names[i]);
        assert_string_equal(json_string_value(json_object_get(m, "model")), names[i]);
        const char *when = json_string_value(json_object_get(m, "modified_at"));
        check_timestamp(when, strlen(when));
        assert_true(json_is_integer(json_object_get(m, "size")));
        const char *digest = json_string_value(json_object_get(m, "digest"));
        assert_int_equal(strlen(digest), 64);
        assert_int_equal(strspn(digest, "0123456789abcdef"), 64);
        /* Every field of the client's ModelDetails. */
        json_t *d = json_object_get(m, "details");
        const char *keys[] = {"parent_model", "format", "family", "parameter_size",
                              "quantization_level"};
        for (size_t k = 0; k < 5; k++)
            assert_true(json_is_string(json_object_get(d, keys[k])));
        assert_true(json_is_array(json_object_get(d, "families")));
    }
    assert_jeq(json_object_get(json_array_get(models, 1), "details"),
               "{\"parent_model\":\"\",\"format\":\"\",\"family\":\"gemma4\",\"families\":["
               "\"gemma4\"],\"parameter_size\":\"31B\",\"quantization_level\":\"\"}");
    assert_jeq(
        json_object_get(json_object_get(json_array_get(models, 2), "details"), "parameter_size"),
        "\"0.6B\"");
    assert_jeq(
        json_object_get(json_object_get(json_array_get(models, 3), "details"), "parameter_size"),
        "\"\"");
    assert_jeq(
        json_object_get(json_object_get(json_array_get(models, 5), "details"), "parameter_size"),
        "\"\"");
    /* Digests differ between models and are stable. */
    assert_string_not_equal(
        json_string_value(json_object_get(json_array_get(models, 1), "digest")),
        json_string_value(json_object_get(json_array_get(models, 2), "digest")));
    char *again = seam_api_ollama_tags(cfg, a, &len);
    json_t *o2 = json_loads(again, 0, &jerr);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(o2, "models"), 3), "digest")),
                        json_string_value(json_object_get(json_array_get(models, 3), "digest")));
    json_decref(o2);
    json_decref(o);
    seam_arena_free(a);
    seam_config_free(cfg);
}

static json_t *show(const seam_config *cfg, seam_arena *a, const char *body, int want_status)
{
    size_t len = 0;
    int status = 0;
    char *s = seam_api_ollama_show(cfg, body, strlen(body), a, &len, &status);
    assert_non_null(s);
    assert_int_equal(strlen(s), len);
    assert_int_equal(status, want_status);
    json_error_t jerr;
    json_t *o = json_loads(s, 0, &jerr);
    assert_non_null(o);
    return o;
}

static void show_and_version(void **state)
{
    seam_config *cfg = load_yaml(catalogue_yaml);
    seam_arena *a = seam_arena_new(4096);
    json_t *o = show(cfg, a, "{\"model\":\"gemma4:31b\"}", 200);
    assert_jeq(json_object_get(o, "capabilities"),
               "[\"completion\",\"tools\",\"vision\",\"thinking\"]");
    assert_jeq(json_object_get(o, "model_info"),
               "{\"general.architecture\":\"gemma4\",\"gemma4.context_length\":131072}");
    assert_string_equal(json_string_value(json_object_get(o, "modelfile")),
                        "# Served by seam from backend local (ollama).\nFROM gemma4:31b\n");
    const char *keys[] = {"license", "parameters", "template", "system", "modified_at"};
    for (size_t k = 0; k < 5; k++)
        assert_true(json_is_string(json_object_get(o, keys[k])));
    assert_jeq(json_object_get(json_object_get(o, "details"), "family"), "\"gemma4\"");
    json_decref(o);
    /* ":latest" is implied; the older "name" field works; no context window. */
    o = show(cfg, a, "{\"name\":\"text-embed:latest\"}", 200);
    assert_jeq(json_object_get(o, "capabilities"), "[\"completion\",\"embedding\"]");
    assert_jeq(json_object_get(o, "model_info"), "{\"general.architecture\":\"text-embed\"}");
    json_decref(o);
    /* "auto": what any backend can do, the largest context. */
    o = show(cfg, a, "{\"model\":\"auto\"}", 200);
    assert_jeq(json_object_get(o, "capabilities"),
               "[\"completion\",\"tools\",\"vision\",\"thinking\",\"embedding\"]");
    assert_jeq(json_object_get(o, "model_info"),
               "{\"general.architecture\":\"seam\",\"seam.context_length\":131072}");
    json_decref(o);
    o = show(cfg, a, "{\"model\":\"llama9\"}", 404);
    assert_jeq(o, "{\"error\":\"model 'llama9' not found\"}");
    json_decref(o);
    o = show(cfg, a, "{}", 400);
    assert_jeq(o, "{\"error\":\"model is required\"}");
    json_decref(o);
    o = show(cfg, a, "nope", 400);
    assert_non_null(json_object_get(o, "error"));
    json_decref(o);
    size_t len;
    int status;
    char *s = seam_api_ollama_show(cfg, NULL, 0, a, &len, &status);
    assert_int_equal(status, 400);
    assert_non_null(s);

    s = seam_api_ollama_version(a, &len);
    assert_string_equal(s, "{\"version\":\"" SEAM_OLLAMA_API_VERSION "\"}");
    assert_int_equal(len, strlen(s));
    seam_arena_free(a);
    seam_config_free(cfg);
}

/* Every allocation failing in turn over decoding, a stream, a whole answer
 * and the catalogue: no crash, no leak (under ASan), and a clean run at
 * the end. */
static void alloc_failures(void **state)
{
    seam_config *cfg = load_yaml(catalogue_yaml);
    const char gen_body[] = "{\"model\":\"m\",\"prompt\":\"p\",\"system\":\"s\",\"images\":"
                            "[\"" WEBP "\"],\"options\":{\"top_k\":3},\"keep_alive\":1}";
    const seam_event evs[] = {
        {.type = SEAM_EV_START, .name = "gemma4:31b"},
        THK("hm"),
        TXT("Hi"),
        {.type = SEAM_EV_TOOL_CALL_BEGIN, .index = 0, .id = "call_a", .name = "f"},
        ARGS(0, "{\"a\":1}"),
        {.type = SEAM_EV_TOOL_CALL_END, .index = 0},
        {.type = SEAM_EV_TOOL_CALL_BEGIN, .index = 1, .name = "g"},
        USAGE(3, 4),
        FIN(SEAM_FINISH_TOOL_CALLS),
    };
    const size_t nevs = sizeof(evs) / sizeof(evs[0]);
    bool succeeded = false;
    json_set_alloc_funcs(seam_malloc, seam_free);
    for (long n = 0; n < 100000 && !succeeded; n++) {
        seam_arena *a = seam_arena_new(4096);
        if (!a)
            continue;
        seam_alloc_fail_after(n);
        seam_req *r = NULL;
        json_t *meta;
        char err[256];
        const char *param;
        bool ok = chat->decode(a, full_chat, strlen(full_chat), &r, &meta, err, sizeof(err),
                               &param) == SEAM_OK;
        if (ok) {
            seam_rc rc;
            json_t *o = seam_ollama_encode_request(r, "m", a, &rc, err, sizeof(err));
            ok = o != NULL;
            json_decref(o);
        }
        ok &= gen->decode(a, gen_body, strlen(gen_body), &r, &meta, err, sizeof(err), &param) ==
              SEAM_OK;
        for (int g = 0; g < 2; g++) {
            const seam_ingress *ing = g ? gen : chat;
            seam_req req = {.arena = a, .ingress = SEAM_API_OLLAMA};
            void *w = ing->writer_new(a, &req, "id", "m");
            seam_buf out;
            seam_buf_init(&out, 1u << 20);
            seam_rc rc = w ? SEAM_OK : SEAM_ERR_NOMEM;
            for (size_t i = 0; i < nevs && rc == SEAM_OK; i++)
                rc = ing->writer_event(w, &evs[i], &out);
            if (rc == SEAM_OK)
                rc = ing->writer_end(w, &out);
            seam_buf_free(&out);
            ok &= rc == SEAM_OK;
            seam_answer *ans = seam_answer_new(a, "id", "m");
            for (size_t i = 0; ans && i < nevs; i++)
                ok &= seam_answer_event(ans, &evs[i]) == 0;
            size_t len;
            ok &= ans && ing->answer_body(ans, &req, a, &len) != NULL;
            ok &= ing->error_body(a, 400, "bad", NULL, NULL, NULL) != NULL;
        }
        size_t len;
        int status;
        ok &= seam_api_ollama_tags(cfg, a, &len) != NULL;
        ok &= seam_api_ollama_show(cfg, "{\"model\":\"gemma4:31b\"}", 22, a, &len, &status) != NULL;
        ok &= seam_api_ollama_show(cfg, "{\"model\":\"auto\"}", 16, a, &len, &status) != NULL;
        ok &= seam_api_ollama_version(a, &len) != NULL;
        seam_alloc_fail_after(-1);
        seam_arena_free(a);
        succeeded = ok;
    }
    json_set_alloc_funcs(malloc, free);
    seam_config_free(cfg);
    assert_true(succeeded);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decode_chat_full),        cmocka_unit_test(chat_through_ollama_egress),
        cmocka_unit_test(decode_images),           cmocka_unit_test(decode_think_and_format),
        cmocka_unit_test(decode_generate),         cmocka_unit_test(decode_errors),
        cmocka_unit_test(decode_options_forms),    cmocka_unit_test(writer_chat_text),
        cmocka_unit_test(writer_chat_tool_calls),  cmocka_unit_test(writer_chat_errors),
        cmocka_unit_test(writer_generate),         cmocka_unit_test(answer_bodies),
        cmocka_unit_test(error_bodies_and_tables), cmocka_unit_test(tags),
        cmocka_unit_test(show_and_version),        cmocka_unit_test(alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
