/*
 * Gemini egress: generateContent request encoding from canonical requests
 * (decoded from OpenAI bodies), the call's URL and key header, whole
 * answers, and recorded CRLF SSE streams without a terminator at every
 * split, truncated, failing and garbage.
 */
#include "provtest.h"

#include "providers/gemini.h"

static seam_backend_conf backend = {.name = "gemini",
                                    .url = "https://generativelanguage.googleapis.test"};

static json_t *encode(seam_arena *a, const char *body, seam_rc want, const char *want_err)
{
    seam_req *r = decode_ok(a, body);
    char err[256] = "";
    seam_rc rc;
    json_t *o = seam_gemini_encode_request(r, a, &rc, err, sizeof(err));
    if (rc != want)
        fail_msg("encode: %s (%s), wanted %s", seam_rc_str(rc), err, seam_rc_str(want));
    if (want_err && !strstr(err, want_err))
        fail_msg("error '%s' lacks '%s'", err, want_err);
    return o;
}

static const char full_request[] =
    "{\"model\":\"auto\",\"stream\":true,\"max_completion_tokens\":300,\"temperature\":0.5,"
    "\"top_p\":0.75,\"seed\":7,\"stop\":[\"END\",\"STOP\"],\"reasoning_effort\":\"low\","
    "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}},"
    "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"w\",\"schema\":{"
    "\"type\":\"object\",\"properties\":{\"t\":{\"type\":\"number\"}}}}},"
    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":"
    "\"Weather\",\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":"
    "\"string\"}}}}},{\"type\":\"function\",\"function\":{\"name\":\"get_time\"}}],"
    "\"messages\":["
    "{\"role\":\"system\",\"content\":\"be brief\"},"
    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"look\"},"
    "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/webp;base64,UklGR\"}}]},"
    "{\"role\":\"user\",\"content\":\"weather and time?\"},"
    "{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":["
    "{\"id\":\"call_0\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
    "\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\"}\"}},"
    "{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_time\","
    "\"arguments\":\"{}\"}}]},"
    "{\"role\":\"tool\",\"tool_call_id\":\"call_0\",\"content\":\"{\\\"temp\\\":-3}\"},"
    "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"noon\"},"
    "{\"role\":\"user\",\"content\":\"thanks\"}]}";

static const char full_expected[] =
    "{\"contents\":["
    "{\"role\":\"user\",\"parts\":[{\"text\":\"look\"},{\"inlineData\":{\"mimeType\":\"image/"
    "webp\",\"data\":\"UklGR\"}},{\"text\":\"weather and time?\"}]},"
    "{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"get_weather\",\"args\":{"
    "\"city\":\"Oslo\"}}},{\"functionCall\":{\"name\":\"get_time\",\"args\":{}}}]},"
    "{\"role\":\"user\",\"parts\":[{\"functionResponse\":{\"name\":\"get_weather\",\"response\":{"
    "\"temp\":-3}}},{\"functionResponse\":{\"name\":\"get_time\",\"response\":{\"output\":"
    "\"noon\"}}},{\"text\":\"thanks\"}]}],"
    "\"systemInstruction\":{\"parts\":[{\"text\":\"be brief\"}]},"
    "\"tools\":[{\"functionDeclarations\":[{\"name\":\"get_weather\",\"description\":\"Weather\","
    "\"parametersJsonSchema\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":"
    "\"string\"}}}},{\"name\":\"get_time\"}]}],"
    "\"toolConfig\":{\"functionCallingConfig\":{\"mode\":\"ANY\",\"allowedFunctionNames\":["
    "\"get_weather\"]}},"
    "\"generationConfig\":{\"maxOutputTokens\":300,\"temperature\":0.5,\"topP\":0.75,"
    "\"stopSequences\":[\"END\",\"STOP\"],\"seed\":7,\"responseMimeType\":\"application/json\","
    "\"responseJsonSchema\":{\"type\":\"object\",\"properties\":{\"t\":{\"type\":\"number\"}}},"
    "\"thinkingConfig\":{\"includeThoughts\":true,\"thinkingBudget\":1024}}}";

static void encode_full_request(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    json_t *o = encode(a, full_request, SEAM_OK, NULL);
    assert_json_eq(o, full_expected);
    json_decref(o);
    seam_arena_free(a);
}

#define USER_HI "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]"

static void encode_thinking_and_choice(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    json_t *o = encode(a, "{\"model\":\"auto\"," USER_HI "}", SEAM_OK, NULL);
    assert_json_eq(o, "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}");
    json_decref(o);
    o = encode(a, "{\"model\":\"auto\",\"reasoning_effort\":\"none\"," USER_HI "}", SEAM_OK, NULL);
    assert_json_eq(json_object_get(o, "generationConfig"),
                   "{\"thinkingConfig\":{\"thinkingBudget\":0}}");
    json_decref(o);
    o = encode(a, "{\"model\":\"auto\",\"reasoning_effort\":\"high\"," USER_HI "}", SEAM_OK, NULL);
    assert_json_eq(json_object_get(o, "generationConfig"),
                   "{\"thinkingConfig\":{\"includeThoughts\":true,\"thinkingBudget\":16384}}");
    json_decref(o);
    const char *choices[][2] = {
        {"\"none\"", "NONE"}, {"\"auto\"", "AUTO"}, {"\"required\"", "ANY"}};
    for (size_t i = 0; i < 3; i++) {
        char body[512], want[128];
        snprintf(body, sizeof(body),
                 "{\"model\":\"auto\",\"tool_choice\":%s,\"tools\":[{\"type\":\"function\","
                 "\"function\":{\"name\":\"f\"}}]," USER_HI "}",
                 choices[i][0]);
        snprintf(want, sizeof(want), "{\"functionCallingConfig\":{\"mode\":\"%s\"}}",
                 choices[i][1]);
        o = encode(a, body, SEAM_OK, NULL);
        assert_json_eq(json_object_get(o, "toolConfig"), want);
        json_decref(o);
    }
    o = encode(a, "{\"model\":\"auto\",\"response_format\":{\"type\":\"json_object\"}," USER_HI "}",
               SEAM_OK, NULL);
    assert_json_eq(json_object_get(o, "generationConfig"),
                   "{\"responseMimeType\":\"application/json\"}");
    json_decref(o);
    seam_arena_free(a);
}

static void encode_errors(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    encode(a,
           "{\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
           "\"image_url\",\"image_url\":{\"url\":\"https://example.com/cat.png\"}}]}]}",
           SEAM_ERR_INVALID, "remote image URLs are not fetched");
    encode(a,
           "{\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"},"
           "{\"role\":\"tool\",\"tool_call_id\":\"call_9\",\"content\":\"r\"}]}",
           SEAM_ERR_INVALID, "answers no earlier tool call");
    encode(a,
           "{\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"},"
           "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":"
           "\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"\\\"s\\\"\"}}]}]}",
           SEAM_ERR_INVALID, "not a JSON object");
    seam_arena_free(a);
}

static void build_call(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    seam_req *r = decode_ok(a, "{\"model\":\"auto\",\"stream\":true," USER_HI "}");
    seam_upstream_call c = {0};
    char err[256];
    assert_int_equal(seam_provider_gemini.build(r, &backend, "models/gemini-2.5-flash", "AIza-k", a,
                                                &c, err, sizeof(err)),
                     SEAM_OK);
    assert_string_equal(c.url, "https://generativelanguage.googleapis.test/v1beta/models/"
                               "gemini-2.5-flash:streamGenerateContent?alt=sse");
    assert_string_equal(find_header(&c, "x-goog-api-key:"), "x-goog-api-key: AIza-k");
    assert_null(find_header(&c, "Authorization:"));
    seam_buf_free(&c.body);
    r->stream = false;
    assert_int_equal(
        seam_provider_gemini.build(r, &backend, "gemini-2.5-flash", NULL, a, &c, err, sizeof(err)),
        SEAM_OK);
    assert_string_equal(c.url, "https://generativelanguage.googleapis.test/v1beta/models/"
                               "gemini-2.5-flash:generateContent");
    assert_null(find_header(&c, "x-goog-api-key:"));
    seam_buf_free(&c.body);
    const char **ph = seam_provider_gemini.probe_headers("k", a);
    assert_string_equal(ph[0], "x-goog-api-key: k");
    assert_null(ph[1]);
    assert_string_equal(seam_provider_gemini.probe_path, "/v1beta/models");
    seam_arena_free(a);
}

/* ---- answers ---- */

#define CHUNK(parts, extra)                                                                        \
    "data: {\"candidates\":[{\"content\":{\"parts\":[" parts "],\"role\":\"model\"}" extra         \
    ",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":12,\"totalTokenCount\":12},"           \
    "\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"resp-1\"}\r\n\r\n"

static const char recorded_stream[] =
    CHUNK("{\"text\":\"Thinking about it\",\"thought\":true}", "") CHUNK("{\"text\":\"Hel\"}", "")
        CHUNK("{\"text\":\"lo\"}", "") "data: "
                                       "{\"candidates\":[{\"content\":{\"parts\":[{"
                                       "\"functionCall\":{\"name\":\"get_weather\",\"args\":{"
                                       "\"city\":\"Oslo\"}},\"thoughtSignature\":\"c2ln\"},{"
                                       "\"functionCall\":{\"id\":\"fc-9\",\"name\":\"get_time\","
                                       "\"args\":{}}}],\"role\":\"model\"},\"finishReason\":"
                                       "\"STOP\",\"index\":0}],\"usageMetadata\":{"
                                       "\"promptTokenCount\":12,\"candidatesTokenCount\":20,"
                                       "\"thoughtsTokenCount\":30,\"cachedContentTokenCount\":4,"
                                       "\"totalTokenCount\":62},\"modelVersion\":\"gemini-2.5-"
                                       "flash\",\"responseId\":\"resp-1\"}\r\n\r\n";

static const char recorded_events[] =
    "start(resp-1,gemini-2.5-flash)think(Thinking about it)text(Hel)text(lo)call0(call_0,get_"
    "weather)args0({\"city\":\"Oslo\"})end0call1(fc-9,get_time)args1({})end1usage(12,50,r30,c4)"
    "finish(tool_calls)";

static void stream_at_every_split(void **state)
{
    assert_stream_every_split(&seam_provider_gemini, recorded_stream, recorded_events);
    /* A [DONE] added by a proxy in between changes nothing. */
    char done[sizeof(recorded_stream) + 16];
    snprintf(done, sizeof(done), "%sdata: [DONE]\r\n\r\n", recorded_stream);
    assert_stream_every_split(&seam_provider_gemini, done, recorded_events);
    /* The connection may close right after the last event's data line. */
    char copy[sizeof(recorded_stream)];
    memcpy(copy, recorded_stream, sizeof(copy));
    copy[strlen(copy) - 4] = '\0';
    assert_stream_every_split(&seam_provider_gemini, copy, recorded_events);
}

static void stream_failures(void **state)
{
    struct evlog l;
    char err[256];
    const seam_provider *p = &seam_provider_gemini;
    /* Closed before any event carried a finishReason: incomplete. */
    const char *last = strstr(recorded_stream, "data: {\"candidates\":[{\"content\":{\"parts\":[{"
                                               "\"functionCall\"");
    assert_int_equal(
        run_stream(p, recorded_stream, (size_t)(last - recorded_stream), 5, &l, err, sizeof(err)),
        SEAM_ERR_UPSTREAM);
    assert_non_null(strstr(err, "finishReason"));
    const char *mid = CHUNK("{\"text\":\"par\"}", "") "data: {\"error\":{\"code\":500,\"message\":"
                                                      "\"Internal error\",\"status\":\"INTERNAL\"}}"
                                                      "\r\n\r\n";
    assert_int_equal(run_stream(p, mid, strlen(mid), 40, &l, err, sizeof(err)), SEAM_OK);
    assert_string_equal(l.text,
                        "start(resp-1,gemini-2.5-flash)text(par)error(Internal error|INTERNAL)");
    const char *reasons[][2] = {{"MAX_TOKENS", "length"},
                                {"SAFETY", "content_filter"},
                                {"RECITATION", "content_filter"},
                                {"PROHIBITED_CONTENT", "content_filter"},
                                {"MALFORMED_FUNCTION_CALL", "error"},
                                {"OTHER", "stop"}};
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
        char s[512], want[160];
        snprintf(s, sizeof(s),
                 "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"x\"}]},"
                 "\"finishReason\":\"%s\"}],\"usageMetadata\":{\"promptTokenCount\":1,"
                 "\"candidatesTokenCount\":2}}\r\n\r\n",
                 reasons[i][0]);
        snprintf(want, sizeof(want), "start(,)text(x)usage(1,2,r-1,c-1)finish(%s)", reasons[i][1]);
        assert_int_equal(run_stream(p, s, strlen(s), 3, &l, err, sizeof(err)), SEAM_OK);
        assert_string_equal(l.text, want);
    }
    const char *bad[] = {"data: <html>\r\n\r\n", "data: {\"nothing\":1}\r\n\r\n",
                         ("data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{}}]}}"
                          "]}\r\n\r\n"),
                         ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(run_stream(p, bad[i], strlen(bad[i]), 0, &l, err, sizeof(err)),
                         SEAM_ERR_UPSTREAM);
}

static void whole_answers(void **state)
{
    struct evlog l;
    char err[256];
    const seam_provider *p = &seam_provider_gemini;
    assert_int_equal(
        run_whole(p,
                  "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"hm\",\"thought\":true},{"
                  "\"text\":\"Hi\"}],\"role\":\"model\"},\"finishReason\":\"STOP\",\"index\":0}],"
                  "\"usageMetadata\":{\"promptTokenCount\":3,\"candidatesTokenCount\":4,"
                  "\"totalTokenCount\":7},\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":"
                  "\"r\"}",
                  &l, err, sizeof(err)),
        SEAM_OK);
    assert_string_equal(l.text, "start(r,gemini-2.5-flash)think(hm)text(Hi)usage(3,4,r-1,c-1)"
                                "finish(stop)");
    /* A blocked prompt has no candidates. */
    assert_int_equal(run_whole(p,
                               "{\"promptFeedback\":{\"blockReason\":\"SAFETY\"},"
                               "\"usageMetadata\":{\"promptTokenCount\":3}}",
                               &l, err, sizeof(err)),
                     SEAM_OK);
    assert_string_equal(l.text, "start(,)usage(3,0,r-1,c-1)finish(content_filter)");
    assert_int_equal(run_whole(p,
                               "{\"error\":{\"code\":400,\"message\":\"bad\",\"status\":"
                               "\"INVALID_ARGUMENT\"}}",
                               &l, err, sizeof(err)),
                     SEAM_OK);
    assert_string_equal(l.text, "error(bad|INVALID_ARGUMENT)");
    assert_int_equal(run_whole(p, "]", &l, err, sizeof(err)), SEAM_ERR_UPSTREAM);
    assert_int_equal(run_whole(p, "{\"x\":1}", &l, err, sizeof(err)), SEAM_ERR_UPSTREAM);
}

static void error_bodies(void **state)
{
    char out[128];
    const char *b = "{\"error\":{\"code\":429,\"message\":\"Resource has been exhausted\","
                    "\"status\":\"RESOURCE_EXHAUSTED\"}}";
    seam_provider_gemini.error_message(b, strlen(b), out, sizeof(out));
    assert_string_equal(out, "Resource has been exhausted");
    const char *arr = "[{\"error\":{\"code\":400,\"message\":\"API key not valid\"}}]";
    seam_provider_gemini.error_message(arr, strlen(arr), out, sizeof(out));
    assert_string_equal(out, "API key not valid");
}

#define WHOLE_OK                                                                                   \
    "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"},{\"functionCall\":{\"name\":"     \
    "\"f\",\"args\":{\"a\":1}}}]},\"finishReason\":\"STOP\"}],\"usageMetadata\":{"                 \
    "\"promptTokenCount\":3,\"candidatesTokenCount\":4}}"

static void alloc_failures(void **state)
{
    exercise_alloc_failures(&seam_provider_gemini, &backend, full_request, WHOLE_OK,
                            recorded_stream);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encode_full_request),   cmocka_unit_test(encode_thinking_and_choice),
        cmocka_unit_test(encode_errors),         cmocka_unit_test(build_call),
        cmocka_unit_test(stream_at_every_split), cmocka_unit_test(stream_failures),
        cmocka_unit_test(whole_answers),         cmocka_unit_test(error_bodies),
        cmocka_unit_test(alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
