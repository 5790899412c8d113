/*
 * Ollama egress: /api/chat request encoding from canonical requests (decoded
 * from OpenAI bodies, and from Ollama clients' bodies with their passthrough),
 * the think default, the call, whole answers, and
 * recorded NDJSON streams at every split, truncated, failing and garbage.
 */
#include "provtest.h"

#include "api/ingress.h"
#include "providers/ollama.h"

static seam_backend_conf backend = {.name = "gemma", .url = "http://127.0.0.1:11434"};

static json_t *encode(seam_arena *a, const char *body, seam_rc want, const char *want_err)
{
    seam_req *r = decode_ok(a, body);
    char err[256] = "";
    seam_rc rc;
    json_t *o = seam_ollama_encode_request(r, "gemma4:31b", a, &rc, err, sizeof(err));
    if (rc != want)
        fail_msg("encode: %s (%s), wanted %s", seam_rc_str(rc), err, seam_rc_str(want));
    if (want_err && !strstr(err, want_err))
        fail_msg("error '%s' lacks '%s'", err, want_err);
    return o;
}

static const char full_request[] =
    "{\"model\":\"auto\",\"stream\":true,\"max_tokens\":256,\"temperature\":0.25,\"top_p\":0.75,"
    "\"seed\":42,\"stop\":\"END\",\"reasoning_effort\":\"high\","
    "\"response_format\":{\"type\":\"json_object\"},"
    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":"
    "\"Weather\",\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":"
    "\"string\"}}}}}],"
    "\"messages\":["
    "{\"role\":\"developer\",\"content\":\"be brief\"},"
    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"what is this?\"},"
    "{\"type\":\"text\",\"text\":\"and weather\"},"
    "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/jpeg;base64,/9j/4AAQ\"}}]},"
    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
    "{\"id\":\"call_0\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
    "\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\"}\"}},"
    "{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_time\","
    "\"arguments\":\"{}\"}}]},"
    "{\"role\":\"tool\",\"tool_call_id\":\"call_0\",\"content\":\"-3C\"},"
    "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"noon\"},"
    "{\"role\":\"assistant\",\"content\":\"It is -3C at noon.\"},"
    "{\"role\":\"user\",\"content\":\"again\"},"
    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
    "{\"id\":\"call_0\",\"type\":\"function\",\"function\":{\"name\":\"get_time\","
    "\"arguments\":\"{}\"}}]},"
    "{\"role\":\"tool\",\"tool_call_id\":\"call_0\",\"content\":\"1pm\"}]}";

static const char full_expected[] =
    "{\"model\":\"gemma4:31b\",\"messages\":["
    "{\"role\":\"system\",\"content\":\"be brief\"},"
    "{\"role\":\"user\",\"content\":\"what is this?\\nand weather\",\"images\":[\"/9j/4AAQ\"]},"
    "{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":["
    "{\"id\":\"call_0\",\"function\":{\"index\":0,\"name\":\"get_weather\",\"arguments\":{"
    "\"city\":\"Oslo\"}}},"
    "{\"id\":\"call_1\",\"function\":{\"index\":1,\"name\":\"get_time\",\"arguments\":{}}}]},"
    "{\"role\":\"tool\",\"content\":\"-3C\",\"tool_name\":\"get_weather\",\"tool_call_id\":"
    "\"call_0\"},"
    "{\"role\":\"tool\",\"content\":\"noon\",\"tool_name\":\"get_time\",\"tool_call_id\":"
    "\"call_1\"},"
    "{\"role\":\"assistant\",\"content\":\"It is -3C at noon.\"},"
    "{\"role\":\"user\",\"content\":\"again\"},"
    "{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":["
    "{\"id\":\"call_0\",\"function\":{\"index\":0,\"name\":\"get_time\",\"arguments\":{}}}]},"
    "{\"role\":\"tool\",\"content\":\"1pm\",\"tool_name\":\"get_time\",\"tool_call_id\":"
    "\"call_0\"}],"
    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":"
    "\"Weather\",\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":"
    "\"string\"}}}}}],"
    "\"format\":\"json\","
    "\"options\":{\"num_predict\":256,\"temperature\":0.25,\"top_p\":0.75,\"seed\":42,\"stop\":["
    "\"END\"]},"
    "\"think\":\"high\",\"stream\":true}";

static void encode_full_request(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    json_t *o = encode(a, full_request, SEAM_OK, NULL);
    assert_json_eq(o, full_expected);
    json_decref(o);
    seam_arena_free(a);
}

#define USER_HI "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]"

static void encode_think_and_stream(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    /* Nobody chose: seam's documented default is think:false; stream is
     * explicit false. */
    json_t *o = encode(a, "{\"model\":\"auto\"," USER_HI "}", SEAM_OK, NULL);
    assert_json_eq(o, "{\"model\":\"gemma4:31b\",\"messages\":[{\"role\":\"user\",\"content\":"
                      "\"hi\"}],\"think\":false,\"stream\":false}");
    json_decref(o);
    const char *map[][2] = {{"none", "false"},        {"minimal", "\"low\""}, {"low", "\"low\""},
                            {"medium", "\"medium\""}, {"high", "\"high\""},   {"xhigh", "\"max\""},
                            {"max", "\"max\""}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        char body[256];
        snprintf(body, sizeof(body), "{\"model\":\"auto\",\"reasoning_effort\":\"%s\"," USER_HI "}",
                 map[i][0]);
        o = encode(a, body, SEAM_OK, NULL);
        json_error_t jerr;
        json_t *want = json_loads(map[i][1], JSON_DECODE_ANY, &jerr);
        if (!json_equal(json_object_get(o, "think"), want))
            fail_msg("reasoning_effort %s: think is not %s", map[i][0], map[i][1]);
        json_decref(want);
        json_decref(o);
    }
    /* A JSON schema is the format; tool_choice none offers no tools. */
    o = encode(a,
               "{\"model\":\"auto\",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{"
               "\"name\":\"x\",\"schema\":{\"type\":\"object\"}}},\"tool_choice\":\"none\","
               "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]," USER_HI "}",
               SEAM_OK, NULL);
    assert_json_eq(json_object_get(o, "format"), "{\"type\":\"object\"}");
    assert_null(json_object_get(o, "tools"));
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
           "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":"
           "\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"[1,2]\"}}]}]}",
           SEAM_ERR_INVALID, "not a JSON object");
    encode(a,
           "{\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
           "\"file\",\"file\":{\"file_id\":\"f\"}}]}]}",
           SEAM_ERR_INVALID, "'file'");
    seam_arena_free(a);
}

/* Requests from Ollama clients: their unmodelled fields and options travel
 * on (under seam's own values), think is echoed, results keep tool_name. */
static void encode_from_ollama_clients(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    const char *body =
        "{\"model\":\"gemma4:31b\",\"keep_alive\":-1,\"think\":true,\"stream\":false,"
        "\"options\":{\"temperature\":0.25,\"num_ctx\":4096},"
        "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
        "{\"role\":\"assistant\",\"tool_calls\":[{\"function\":{\"name\":\"f\","
        "\"arguments\":{\"x\":1}}}]},"
        "{\"role\":\"tool\",\"content\":\"ok\"},"
        "{\"role\":\"tool\",\"tool_name\":\"g\",\"content\":\"late\"}]}";
    seam_req *r = NULL;
    json_t *meta;
    char err[256] = "";
    const char *param;
    assert_int_equal(
        seam_ingress_ollama_chat.decode(a, body, strlen(body), &r, &meta, err, sizeof(err), &param),
        SEAM_OK);
    /* A client option never overrides seam's value for the same field. */
    json_object_set_new(json_object_get(r->passthrough, "options"), "temperature", json_real(9.0));
    json_object_set_new(r->passthrough, "stream", json_true());
    seam_rc rc;
    json_t *o = seam_ollama_encode_request(r, "gemma4:31b", a, &rc, err, sizeof(err));
    assert_int_equal(rc, SEAM_OK);
    assert_json_eq(o,
                   "{\"model\":\"gemma4:31b\",\"messages\":["
                   "{\"role\":\"user\",\"content\":\"hi\"},"
                   "{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"id\":\"call_1_0\","
                   "\"function\":{\"index\":0,\"name\":\"f\",\"arguments\":{\"x\":1}}}]},"
                   "{\"role\":\"tool\",\"content\":\"ok\",\"tool_name\":\"f\",\"tool_call_id\":"
                   "\"call_1_0\"},"
                   "{\"role\":\"tool\",\"content\":\"late\",\"tool_name\":\"g\",\"tool_call_id\":"
                   "\"call_3\"}],"
                   "\"options\":{\"temperature\":0.25,\"num_ctx\":4096},\"think\":true,"
                   "\"stream\":false,\"keep_alive\":-1}");
    json_decref(o);
    /* The same fields from an OpenAI client stay with OpenAI backends. */
    r = decode_ok(a, "{\"model\":\"auto\",\"keep_alive\":-1,\"options\":{\"num_ctx\":1},"
                     "\"think\":true," USER_HI "}");
    o = seam_ollama_encode_request(r, "gemma4:31b", a, &rc, err, sizeof(err));
    assert_json_eq(o, "{\"model\":\"gemma4:31b\",\"messages\":[{\"role\":\"user\","
                      "\"content\":\"hi\"}],\"think\":false,\"stream\":false}");
    json_decref(o);
    seam_arena_free(a);
}

static void build_call(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    seam_req *r = decode_ok(a, "{\"model\":\"auto\",\"stream\":true," USER_HI "}");
    seam_upstream_call c = {0};
    char err[256];
    assert_int_equal(
        seam_provider_ollama.build(r, &backend, "gemma4:31b", NULL, a, &c, err, sizeof(err)),
        SEAM_OK);
    assert_string_equal(c.url, "http://127.0.0.1:11434/api/chat");
    assert_string_equal(find_header(&c, "Accept:"), "Accept: application/x-ndjson");
    assert_null(find_header(&c, "Authorization:"));
    seam_buf_free(&c.body);
    assert_int_equal(
        seam_provider_ollama.build(r, &backend, "gemma4:31b", "tok", a, &c, err, sizeof(err)),
        SEAM_OK);
    assert_string_equal(find_header(&c, "Authorization:"), "Authorization: Bearer tok");
    seam_buf_free(&c.body);
    assert_string_equal(seam_provider_ollama.probe_path, "/api/tags");
    seam_arena_free(a);
}

/* ---- answers ---- */

#define LINE(msg, rest)                                                                            \
    "{\"model\":\"gemma4:31b\",\"created_at\":\"2026-05-01T00:00:00.000Z\",\"message\":{"          \
    "\"role\":\"assistant\"," msg "}," rest "}\n"

static const char recorded_stream[] =
    LINE("\"content\":\"\",\"thinking\":\"Let me\"", "\"done\":false")
        LINE("\"content\":\"\",\"thinking\":\" think\"", "\"done\":false") "\r\n" LINE(
            "\"content\":\"Hel\"",
            "\"done\":false") "{\"model\":\"gemma4:31b\",\"created_at\":\"x\",\"message\":{"
                              "\"role\":\"assistant\",\"content\":\"lo\"},\"done\":false}\r\n" LINE(
                                  "\"content\":\"\",\"tool_calls\":[{\"function\":{\"index\":0,"
                                  "\"name\":\"get_"
                                  "weather\",\"arguments\":{\"city\":\"Oslo\"}}},{\"id\":\"call_"
                                  "xyz\",\"function\":"
                                  "{\"index\":1,\"name\":\"get_time\",\"arguments\":{}}}]",
                                  "\"done\":false")
                                  LINE("\"content\":\"\"", "\"done\":true,\"done_reason\":\"stop\","
                                                           "\"total_duration\":123,\"load_"
                                                           "duration\":1,\"prompt_eval_count\":26,"
                                                           "\"prompt_eval_duration\":2,\"eval_"
                                                           "count\":9,\"eval_duration\":3");

static const char recorded_events[] =
    "start(,gemma4:31b)think(Let me)think( think)text(Hel)text(lo)call0(call_0,get_weather)args0({"
    "\"city\":\"Oslo\"})end0call1(call_xyz,get_time)args1({})end1usage(26,9,r-1,c-1)finish(tool_"
    "calls)";

static void stream_at_every_split(void **state)
{
    assert_stream_every_split(&seam_provider_ollama, recorded_stream, recorded_events);
    /* The same without the last newline: the connection just closed. */
    char copy[sizeof(recorded_stream)];
    memcpy(copy, recorded_stream, sizeof(copy));
    copy[strlen(copy) - 1] = '\0';
    assert_stream_every_split(&seam_provider_ollama, copy, recorded_events);
}

static void stream_failures(void **state)
{
    struct evlog l;
    char err[256];
    const seam_provider *p = &seam_provider_ollama;
    const char *done = strstr(recorded_stream, "\"done\":true");
    while (done > recorded_stream && done[-1] != '\n')
        done--;
    assert_int_equal(
        run_stream(p, recorded_stream, (size_t)(done - recorded_stream), 3, &l, err, sizeof(err)),
        SEAM_ERR_UPSTREAM);
    assert_non_null(strstr(err, "done"));
    /* A mid-stream error line after status 200. */
    const char *mid = LINE("\"content\":\"par\"", "\"done\":false") "{\"error\":\"model runner "
                                                                    "crashed\"}\n";
    assert_int_equal(run_stream(p, mid, strlen(mid), 9, &l, err, sizeof(err)), SEAM_OK);
    assert_string_equal(l.text, "start(,gemma4:31b)text(par)error(model runner crashed|)");
    /* Length, lines after done ignored. */
    const char *len =
        LINE("\"content\":\"a\"", "\"done\":true,\"done_reason\":\"length\","
                                  "\"prompt_eval_count\":1,\"eval_count\":2") "not json at all\n";
    assert_int_equal(run_stream(p, len, strlen(len), 0, &l, err, sizeof(err)), SEAM_OK);
    assert_string_equal(l.text, "start(,gemma4:31b)text(a)usage(1,2,r-1,c-1)finish(length)");
    const char *bad[] = {
        "<html>\n", "[1,2]\n", "{\"model\":\"m\"}\n",
        LINE("\"content\":\"\",\"tool_calls\":[{\"function\":{}}]", "\"done\":false"), ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(
            run_stream(p, bad[i], strlen(bad[i]), 1 % (strlen(bad[i]) + 1), &l, err, sizeof(err)),
            SEAM_ERR_UPSTREAM);
}

static void whole_answers(void **state)
{
    struct evlog l;
    char err[256];
    const seam_provider *p = &seam_provider_ollama;
    assert_int_equal(
        run_whole(p,
                  "{\"model\":\"gemma4:31b\",\"created_at\":\"x\",\"message\":{\"role\":"
                  "\"assistant\",\"content\":\"Hi\",\"thinking\":\"hm\"},\"done\":true,"
                  "\"done_reason\":\"stop\",\"prompt_eval_count\":3,\"eval_count\":4}",
                  &l, err, sizeof(err)),
        SEAM_OK);
    assert_string_equal(l.text,
                        "start(,gemma4:31b)think(hm)text(Hi)usage(3,4,r-1,c-1)finish(stop)");
    assert_int_equal(run_whole(p,
                               "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":"
                               "\"\",\"tool_calls\":[{\"function\":{\"name\":\"f\",\"arguments\":"
                               "{\"a\":[1]}}}]},\"done\":true,\"done_reason\":\"stop\"}",
                               &l, err, sizeof(err)),
                     SEAM_OK);
    assert_string_equal(l.text, "start(,m)call0(call_0,f)args0({\"a\":[1]})end0finish(tool_calls)");
    assert_int_equal(run_whole(p, "{\"error\":\"model 'x' not found\"}", &l, err, sizeof(err)),
                     SEAM_OK);
    assert_string_equal(l.text, "error(model 'x' not found|)");
    assert_int_equal(run_whole(p, "nope", &l, err, sizeof(err)), SEAM_ERR_UPSTREAM);
    assert_int_equal(run_whole(p,
                               "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":"
                               "\"x\"},\"done\":false}",
                               &l, err, sizeof(err)),
                     SEAM_ERR_UPSTREAM);
}

static void error_bodies(void **state)
{
    char out[128];
    const char *b = "{\"error\":\"model \\\"nope\\\" not found, try pulling it first\"}";
    seam_provider_ollama.error_message(b, strlen(b), out, sizeof(out));
    assert_string_equal(out, "model \"nope\" not found, try pulling it first");
    seam_provider_ollama.error_message("", 0, out, sizeof(out));
    assert_string_equal(out, "");
}

#define WHOLE_OK                                                                                   \
    "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"Hi\",\"tool_calls\":[{"    \
    "\"function\":{\"name\":\"f\",\"arguments\":{\"a\":1}}}]},\"done\":true,\"done_reason\":"      \
    "\"stop\",\"prompt_eval_count\":3,\"eval_count\":4}"

static void alloc_failures(void **state)
{
    exercise_alloc_failures(&seam_provider_ollama, &backend, full_request, WHOLE_OK,
                            recorded_stream);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encode_full_request), cmocka_unit_test(encode_think_and_stream),
        cmocka_unit_test(encode_errors),       cmocka_unit_test(encode_from_ollama_clients),
        cmocka_unit_test(build_call),          cmocka_unit_test(stream_at_every_split),
        cmocka_unit_test(stream_failures),     cmocka_unit_test(whole_answers),
        cmocka_unit_test(error_bodies),        cmocka_unit_test(alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
