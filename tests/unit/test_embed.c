/*
 * Embeddings: the OpenAI and Ollama ingress decoders (inputs become one user
 * message each, strict on modelled fields, lossless on the rest), their
 * answers (float arrays that round-trip, base64 float32 bytes exactly as
 * OpenAI's SDKs decode them), the egress builds for every provider
 * (Anthropic refused) and the three providers' answer parsers, malformed
 * bodies included; then every allocation failed in turn.
 */
#include "testutil.h"

#include "api/embed.h"
#include "core/alloc.h"
#include "providers/embed.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- fixtures ---- */

static seam_req *decode(const seam_ingress *in, seam_arena *a, const char *body, json_t **meta)
{
    seam_req *r = NULL;
    char err[256] = "";
    const char *param = NULL;
    json_t *m = NULL;
    seam_rc rc = in->decode(a, body, strlen(body), &r, meta ? meta : &m, err, sizeof(err), &param);
    if (rc != SEAM_OK)
        print_error("decode: %s\n", err);
    assert_int_equal(rc, SEAM_OK);
    assert_non_null(r);
    assert_non_null(r->embed);
    return r;
}

static void decode_fail(const seam_ingress *in, const char *body, const char *want_param,
                        const char *want_msg)
{
    seam_arena *a = seam_arena_new(4096);
    seam_req *r = NULL;
    json_t *meta = NULL;
    char err[256] = "";
    const char *param = NULL;
    seam_rc rc = in->decode(a, body, strlen(body), &r, &meta, err, sizeof(err), &param);
    if (rc != SEAM_ERR_INVALID)
        fail_msg("%s: decoding %s gave %s, want invalid", in->name, body, seam_rc_str(rc));
    if (want_param) {
        if (!param || strcmp(param, want_param) != 0)
            fail_msg("%s: param %s, want %s (%s)", in->name, param ? param : "(null)", want_param,
                     body);
    } else {
        assert_null(param);
    }
    if (!strstr(err, want_msg))
        fail_msg("%s: error '%s' lacks '%s'", in->name, err, want_msg);
    seam_arena_free(a);
}

/* Fails with both documents printed unless <got> (a JSON text) equals <want>. */
static void assert_json_text(const char *got, size_t len, const char *want)
{
    json_error_t jerr;
    json_t *g = json_loadb(got, len, 0, &jerr);
    if (!g)
        fail_msg("not JSON (%s): %.*s", jerr.text, (int)len, got);
    json_t *w = json_loads(want, 0, &jerr);
    if (!w)
        fail_msg("bad expected JSON (%s): %s", jerr.text, want);
    if (!json_equal(g, w)) {
        char *gs = json_dumps(g, JSON_COMPACT | JSON_SORT_KEYS);
        char *ws = json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS);
        fprintf(stderr, " got: %s\nwant: %s\n", gs, ws);
        free(gs);
        free(ws);
        fail();
    }
    json_decref(g);
    json_decref(w);
}

static const char *input_text(const seam_req *r, size_t i)
{
    assert_true(i < r->nmsgs);
    assert_int_equal(r->msgs[i].role, SEAM_ROLE_USER);
    assert_int_equal(r->msgs[i].nparts, 1);
    assert_int_equal(r->msgs[i].parts[0].type, SEAM_PART_TEXT);
    return r->msgs[i].parts[0].text;
}

/* ---- decoding ---- */

static void openai_decode_inputs(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    const seam_ingress *in = &seam_ingress_openai_embeddings;
    assert_string_equal(in->path, "/v1/embeddings");
    assert_null(in->writer_new);
    assert_null(in->answer_body);

    seam_req *r = decode(in, a, "{\"model\":\"text-embedding-3-small\",\"input\":\"hello\"}", NULL);
    assert_int_equal(r->ingress, SEAM_API_OPENAI);
    assert_string_equal(r->model, "text-embedding-3-small");
    assert_int_equal(r->nmsgs, 1);
    assert_string_equal(input_text(r, 0), "hello");
    assert_true(r->msgs[0].content_is_string);
    assert_false(r->stream);
    assert_int_equal(r->params.max_tokens, -1);
    assert_int_equal(r->embed->dimensions, -1);
    assert_false(r->embed->base64);
    assert_int_equal(r->embed->truncate, -1);
    assert_true(r->embed->started_ns > 0);
    assert_null(r->passthrough);

    json_t *meta = NULL;
    r = decode(in, a,
               "{\"model\":\"auto\",\"input\":[\"one\",\"twö\",\"three\"],\"dimensions\":256,"
               "\"encoding_format\":\"base64\",\"user\":\"u-42\",\"seam\":{\"sensitivity\":"
               "\"internal\"}}",
               &meta);
    assert_int_equal(r->nmsgs, 3);
    assert_string_equal(input_text(r, 0), "one");
    assert_string_equal(input_text(r, 1), "twö");
    assert_string_equal(input_text(r, 2), "three");
    assert_int_equal(r->embed->dimensions, 256);
    assert_true(r->embed->base64);
    assert_non_null(meta);
    assert_string_equal(json_string_value(json_object_get(meta, "sensitivity")), "internal");
    /* "user" travels on; "seam" and the modelled keys do not. */
    assert_non_null(r->passthrough);
    assert_int_equal(json_object_size(r->passthrough), 1);
    assert_string_equal(json_string_value(json_object_get(r->passthrough, "user")), "u-42");

    r = decode(
        in, a,
        "{\"model\":\"m\",\"input\":\"x\",\"encoding_format\":\"float\",\"dimensions\":null}",
        NULL);
    assert_false(r->embed->base64);
    assert_int_equal(r->embed->dimensions, -1);
    r = decode(in, a, "{\"model\":\"m\",\"input\":\"x\",\"encoding_format\":null}", NULL);
    assert_false(r->embed->base64);
    seam_arena_free(a);
}

static void openai_decode_errors(void **state)
{
    const seam_ingress *in = &seam_ingress_openai_embeddings;
    decode_fail(in, "{", NULL, "not valid JSON");
    decode_fail(in, "[\"x\"]", NULL, "JSON object");
    const char *cases[][3] = {
        {"{\"input\":\"x\"}", "model", "model is required"},
        {"{\"model\":\"\",\"input\":\"x\"}", "model", "model is required"},
        {"{\"model\":\"m\"}", "input", "input is required"},
        {"{\"model\":\"m\",\"input\":null}", "input", "non-empty array of strings"},
        {"{\"model\":\"m\",\"input\":[]}", "input", "non-empty array of strings"},
        {"{\"model\":\"m\",\"input\":\"\"}", "input", "empty strings"},
        {"{\"model\":\"m\",\"input\":[\"a\",\"\"]}", "input", "empty strings"},
        {"{\"model\":\"m\",\"input\":[\"a\",3]}", "input", "array of strings"},
        {"{\"model\":\"m\",\"input\":{\"text\":\"a\"}}", "input", "array of strings"},
        {"{\"model\":\"m\",\"input\":[1,2,3]}", "input", "input as token arrays is not supported"},
        {"{\"model\":\"m\",\"input\":[[1,2],[3]]}", "input",
         "input as token arrays is not supported"},
        {"{\"model\":\"m\",\"input\":\"x\",\"dimensions\":0}", "dimensions", "positive integer"},
        {"{\"model\":\"m\",\"input\":\"x\",\"dimensions\":\"256\"}", "dimensions",
         "positive integer"},
        {"{\"model\":\"m\",\"input\":\"x\",\"encoding_format\":\"int8\"}", "encoding_format",
         "\"float\" or \"base64\""},
        {"{\"model\":\"m\",\"input\":\"x\",\"encoding_format\":1}", "encoding_format",
         "\"float\" or \"base64\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        decode_fail(in, cases[i][0], cases[i][1], cases[i][2]);

    /* OpenAI's own bound: 2048 inputs. */
    size_t n = SEAM_EMBED_MAX_INPUTS_OPENAI + 1;
    char *big = malloc(n * 4 + 64);
    size_t at = (size_t)sprintf(big, "{\"model\":\"m\",\"input\":[");
    for (size_t i = 0; i < n; i++)
        at += (size_t)sprintf(big + at, "%s\"a\"", i ? "," : "");
    strcpy(big + at, "]}");
    decode_fail(in, big, "input", "at most 2048");
    /* One fewer is fine. */
    seam_arena *a = seam_arena_new(4096);
    char *comma = strrchr(big, ',');
    strcpy(comma, "]}");
    seam_req *r = decode(in, a, big, NULL);
    assert_int_equal(r->nmsgs, SEAM_EMBED_MAX_INPUTS_OPENAI);
    seam_arena_free(a);
    free(big);
}

static void ollama_decode_inputs(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    const seam_ingress *in = &seam_ingress_ollama_embed;
    assert_string_equal(in->path, "/api/embed");
    json_t *meta = NULL;
    seam_req *r = decode(in, a,
                         "{\"model\":\"embeddinggemma\",\"input\":[\"why is the sky blue\",\"x\"],"
                         "\"truncate\":false,\"dimensions\":64,\"keep_alive\":\"10m\","
                         "\"options\":{\"num_ctx\":2048},\"seam\":{\"kind\":\"embed\"}}",
                         &meta);
    assert_int_equal(r->ingress, SEAM_API_OLLAMA);
    assert_string_equal(r->model, "embeddinggemma");
    assert_int_equal(r->nmsgs, 2);
    assert_string_equal(input_text(r, 0), "why is the sky blue");
    assert_string_equal(input_text(r, 1), "x");
    assert_int_equal(r->embed->truncate, 0);
    assert_int_equal(r->embed->dimensions, 64);
    assert_false(r->embed->base64);
    assert_non_null(meta);
    assert_int_equal(json_object_size(r->passthrough), 2);
    assert_string_equal(json_string_value(json_object_get(r->passthrough, "keep_alive")), "10m");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(r->passthrough, "options"), "num_ctx")),
        2048);

    r = decode(in, a, "{\"model\":\"m\",\"input\":\"one\",\"truncate\":true}", NULL);
    assert_int_equal(r->nmsgs, 1);
    assert_int_equal(r->embed->truncate, 1);
    assert_null(r->passthrough);
    seam_arena_free(a);

    decode_fail(in, "{\"model\":\"m\"}", "input", "input is required");
    decode_fail(in, "{\"input\":\"x\"}", "model", "model is required");
    decode_fail(in, "{\"model\":\"m\",\"input\":[]}", "input", "non-empty");
    decode_fail(in, "{\"model\":\"m\",\"input\":\"x\",\"truncate\":\"yes\"}", "truncate",
                "boolean");
    decode_fail(in, "{\"model\":\"m\",\"input\":\"x\",\"dimensions\":-3}", "dimensions",
                "positive integer");
    /* Ollama has no token-id input: an array of numbers is just not strings. */
    decode_fail(in, "{\"model\":\"m\",\"input\":[1,2]}", "input", "array of strings");
}

/* ---- errors ---- */

static void error_bodies(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    char *s = seam_ingress_openai_embeddings.error_body(
        a, 400, "input as token arrays is not supported", "invalid_request_error",
        "invalid_request", "input");
    assert_json_text(s, strlen(s),
                     "{\"error\":{\"message\":\"input as token arrays is not supported\","
                     "\"type\":\"invalid_request_error\",\"param\":\"input\","
                     "\"code\":\"invalid_request\"}}");
    s = seam_ingress_ollama_embed.error_body(a, 404, "model 'x' not found", "invalid_request_error",
                                             "model_not_found", "model");
    assert_json_text(s, strlen(s), "{\"error\":\"model 'x' not found\"}");
    seam_arena_free(a);
}

/* ---- rendering ---- */

static void floats_round_trip(void **state)
{
    seam_buf b;
    seam_buf_init(&b, 1 << 20);
    /* Short where short reads back, nine digits where needed. */
    struct {
        float f;
        const char *want;
    } cases[] = {{0.1f, "0.1"},
                 {-0.5f, "-0.5"},
                 {0.0f, "0"},
                 {1e-5f, "1e-05"},
                 {0.123456789f, "0.12345679"},
                 {3.0517578125e-05f, "3.0517578e-05"},
                 {FLT_MAX, "3.4028235e+38"},
                 {16777217.0f, "16777216"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        seam_buf_reset(&b);
        assert_int_equal(seam_api_embed_float(cases[i].f, &b), SEAM_OK);
        assert_string_equal(b.data, cases[i].want);
    }
    /* Every value of a pseudo-random sweep reads back as the same float. */
    uint32_t x = 12345;
    for (int i = 0; i < 20000; i++) {
        x = x * 1664525u + 1013904223u;
        float f;
        uint32_t bits = x;
        memcpy(&f, &bits, sizeof(f));
        if (!isfinite(f))
            continue;
        seam_buf_reset(&b);
        assert_int_equal(seam_api_embed_float(f, &b), SEAM_OK);
        if (strtof(b.data, NULL) != f)
            fail_msg("%s does not read back as %a", b.data, (double)f);
        assert_true(b.len <= 15);
    }
    assert_int_equal(seam_api_embed_float(NAN, &b), SEAM_ERR_INVALID);
    assert_int_equal(seam_api_embed_float(INFINITY, &b), SEAM_ERR_INVALID);
    seam_buf_free(&b);
}

static void base64_bytes(void **state)
{
    seam_buf b;
    seam_buf_init(&b, 1 << 20);
    /* 1.0f = 3f800000, -2.0f = c0000000, 0.5f = 3f000000, little-endian. */
    const float three[] = {1.0f, -2.0f, 0.5f};
    assert_int_equal(seam_api_embed_base64(three, 3, &b), SEAM_OK);
    assert_string_equal(b.data, "AACAPwAAAMAAAAA/");
    seam_buf_reset(&b);
    assert_int_equal(seam_api_embed_base64(three, 1, &b), SEAM_OK);
    assert_string_equal(b.data, "AACAPw==");
    seam_buf_reset(&b);
    const float two[] = {1.0f, 0.1f};
    assert_int_equal(seam_api_embed_base64(two, 2, &b), SEAM_OK);
    assert_string_equal(b.data, "AACAP83MzD0=");
    seam_buf_reset(&b);
    assert_int_equal(seam_api_embed_base64(two, 0, &b), SEAM_OK);
    assert_int_equal(b.len, 0);
    seam_buf_free(&b);
}

static float sample_values[] = {1.0f, -2.0f, 0.5f, 0.1f, 0.25f, -0.125f};

static seam_embeddings sample(const char *model, int64_t tokens)
{
    seam_embeddings e = {
        .count = 2, .dim = 3, .values = sample_values, .input_tokens = tokens, .model = model};
    return e;
}

static void openai_answers(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    const seam_ingress *in = &seam_ingress_openai_embeddings;
    seam_req *r = decode(in, a, "{\"model\":\"auto\",\"input\":[\"a\",\"b\"]}", NULL);
    seam_embeddings e = sample("text-embedding-3-small", 7);
    size_t len = 0;
    char *s = in->embeddings_body(&e, r, a, &len);
    assert_non_null(s);
    assert_int_equal(len, strlen(s));
    assert_string_equal(
        s,
        "{\"object\":\"list\",\"data\":["
        "{\"object\":\"embedding\",\"index\":0,\"embedding\":[1,-2,0.5]},"
        "{\"object\":\"embedding\",\"index\":1,\"embedding\":[0.1,0.25,-0.125]}],"
        "\"model\":\"text-embedding-3-small\",\"usage\":{\"prompt_tokens\":7,\"total_tokens\":7}}");

    /* base64: each row its own float32 little-endian bytes. */
    r = decode(in, a, "{\"model\":\"auto\",\"input\":[\"a\",\"b\"],\"encoding_format\":\"base64\"}",
               NULL);
    s = in->embeddings_body(&e, r, a, &len);
    assert_non_null(s);
    assert_json_text(s, len,
                     "{\"object\":\"list\",\"data\":["
                     "{\"object\":\"embedding\",\"index\":0,\"embedding\":\"AACAPwAAAMAAAAA/\"},"
                     "{\"object\":\"embedding\",\"index\":1,\"embedding\":\"zczMPQAAgD4AAAC+\"}],"
                     "\"model\":\"text-embedding-3-small\",\"usage\":{\"prompt_tokens\":7,"
                     "\"total_tokens\":7}}");

    /* No model and no count from the provider (Gemini): the request's model
     * and seam's estimate. */
    e = sample(NULL, -1);
    r->task.prompt_tokens = 5;
    s = in->embeddings_body(&e, r, a, &len);
    json_t *o = json_loadb(s, len, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(o, "model")), "auto");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(o, "usage"), "prompt_tokens")), 5);
    json_decref(o);

    /* A value JSON cannot carry is refused rather than written. */
    float nan_row[] = {1.0f, NAN, 0.0f};
    seam_embeddings bad = {.count = 1, .dim = 3, .values = nan_row, .input_tokens = 1};
    r = decode(in, a, "{\"model\":\"auto\",\"input\":\"a\"}", NULL);
    assert_null(in->embeddings_body(&bad, r, a, &len));
    seam_arena_free(a);
}

static void ollama_answers(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    const seam_ingress *in = &seam_ingress_ollama_embed;
    seam_req *r = decode(in, a, "{\"model\":\"embeddinggemma\",\"input\":[\"a\",\"b\"]}", NULL);
    r->embed->started_ns -= 2000000; /* decoded 2 ms ago */
    seam_embeddings e = sample(NULL, 9);
    size_t len = 0;
    char *s = in->embeddings_body(&e, r, a, &len);
    assert_non_null(s);
    json_error_t jerr;
    json_t *o = json_loadb(s, len, 0, &jerr);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "model")), "embeddinggemma");
    json_t *want = json_loads("[[1,-2,0.5],[0.1,0.25,-0.125]]", 0, NULL);
    assert_true(json_equal(json_object_get(o, "embeddings"), want));
    json_decref(want);
    assert_int_equal(json_integer_value(json_object_get(o, "prompt_eval_count")), 9);
    assert_int_equal(json_integer_value(json_object_get(o, "load_duration")), 0);
    json_int_t total = json_integer_value(json_object_get(o, "total_duration"));
    assert_true(total >= 2000000 && total < 60000000000LL);
    assert_true(json_object_size(o) == 5);
    json_decref(o);
    assert_true(strncmp(s, "{\"model\":\"embeddinggemma\",\"embeddings\":[[1,-2,0.5],", 50) == 0);

    /* The provider's model wins over the requested name. */
    e.model = "embeddinggemma:300m";
    s = in->embeddings_body(&e, r, a, &len);
    assert_non_null(strstr(s, "\"model\":\"embeddinggemma:300m\""));
    seam_arena_free(a);
}

/* ---- egress builds ---- */

static seam_backend_conf backend(seam_provider_kind k, const char *name, const char *url)
{
    seam_backend_conf b = {0};
    b.name = (char *)name;
    b.provider = k;
    b.url = (char *)url;
    return b;
}

static void assert_headers(const char **h, const char *want0, const char *want1, const char *want2)
{
    assert_non_null(h);
    assert_string_equal(h[0], want0);
    assert_string_equal(h[1], want1);
    if (want2) {
        assert_string_equal(h[2], want2);
        assert_null(h[3]);
    } else {
        assert_null(h[2]);
    }
}

static void build_openai(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    seam_backend_conf b = backend(SEAM_PROVIDER_OPENAI, "frontier", "https://api.openai.com");
    seam_req *r = decode(&seam_ingress_openai_embeddings, a,
                         "{\"model\":\"auto\",\"input\":[\"a\",\"b\"],\"dimensions\":256,"
                         "\"encoding_format\":\"base64\",\"user\":\"u1\",\"seam\":{}}",
                         NULL);
    seam_upstream_call c;
    char err[256] = "";
    assert_int_equal(
        seam_provider_embed_build(r, &b, "text-embedding-3-small", "sk-1", a, &c, err, sizeof(err)),
        SEAM_OK);
    assert_string_equal(c.url, "https://api.openai.com/v1/embeddings");
    assert_headers(c.headers, "Content-Type: application/json", "Accept: application/json",
                   "Authorization: Bearer sk-1");
    /* The upstream is asked for floats whatever the client wants. */
    assert_json_text(c.body.data, c.body.len,
                     "{\"model\":\"text-embedding-3-small\",\"input\":[\"a\",\"b\"],"
                     "\"encoding_format\":\"float\",\"dimensions\":256,\"user\":\"u1\"}");
    seam_buf_free(&c.body);

    /* From an Ollama client: its fields stay home, truncate has no OpenAI
     * equivalent; no key, no Authorization. */
    r = decode(&seam_ingress_ollama_embed, a,
               "{\"model\":\"m\",\"input\":\"x\",\"truncate\":false,\"keep_alive\":0}", NULL);
    assert_int_equal(seam_provider_embed_build(r, &b, "m2", NULL, a, &c, err, sizeof(err)),
                     SEAM_OK);
    assert_headers(c.headers, "Content-Type: application/json", "Accept: application/json", NULL);
    assert_json_text(c.body.data, c.body.len,
                     "{\"model\":\"m2\",\"input\":[\"x\"],\"encoding_format\":\"float\"}");
    seam_buf_free(&c.body);
    seam_arena_free(a);
}

static void build_ollama(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    seam_backend_conf b = backend(SEAM_PROVIDER_OLLAMA, "gemma", "http://127.0.0.1:11434");
    seam_req *r = decode(&seam_ingress_ollama_embed, a,
                         "{\"model\":\"auto\",\"input\":[\"a\",\"b\"],\"truncate\":false,"
                         "\"dimensions\":64,\"keep_alive\":\"5m\",\"options\":{\"num_ctx\":512}}",
                         NULL);
    seam_upstream_call c;
    char err[256] = "";
    assert_int_equal(
        seam_provider_embed_build(r, &b, "embeddinggemma", NULL, a, &c, err, sizeof(err)), SEAM_OK);
    assert_string_equal(c.url, "http://127.0.0.1:11434/api/embed");
    assert_headers(c.headers, "Content-Type: application/json", "Accept: application/json", NULL);
    assert_json_text(c.body.data, c.body.len,
                     "{\"model\":\"embeddinggemma\",\"input\":[\"a\",\"b\"],\"truncate\":false,"
                     "\"dimensions\":64,\"keep_alive\":\"5m\",\"options\":{\"num_ctx\":512}}");
    seam_buf_free(&c.body);

    /* From an OpenAI client: "user" is OpenAI's, not Ollama's. A key is a
     * proxy's bearer token. */
    r = decode(&seam_ingress_openai_embeddings, a,
               "{\"model\":\"auto\",\"input\":\"x\",\"user\":\"u\",\"encoding_format\":\"base64\"}",
               NULL);
    assert_int_equal(seam_provider_embed_build(r, &b, "e", "tok", a, &c, err, sizeof(err)),
                     SEAM_OK);
    assert_headers(c.headers, "Content-Type: application/json", "Accept: application/json",
                   "Authorization: Bearer tok");
    assert_json_text(c.body.data, c.body.len, "{\"model\":\"e\",\"input\":[\"x\"]}");
    seam_buf_free(&c.body);
    seam_arena_free(a);
}

static void build_gemini(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    seam_backend_conf b =
        backend(SEAM_PROVIDER_GEMINI, "gemini", "https://generativelanguage.googleapis.com");
    seam_req *r = decode(&seam_ingress_openai_embeddings, a,
                         "{\"model\":\"auto\",\"input\":[\"a\",\"b\"],\"dimensions\":768,"
                         "\"user\":\"u\"}",
                         NULL);
    seam_upstream_call c;
    char err[256] = "";
    assert_int_equal(seam_provider_embed_build(r, &b, "models/gemini-embedding-001", "AIza", a, &c,
                                               err, sizeof(err)),
                     SEAM_OK);
    assert_string_equal(c.url, "https://generativelanguage.googleapis.com/v1beta/models/"
                               "gemini-embedding-001:batchEmbedContents");
    assert_headers(c.headers, "Content-Type: application/json", "Accept: application/json",
                   "x-goog-api-key: AIza");
    assert_json_text(c.body.data, c.body.len,
                     "{\"requests\":["
                     "{\"model\":\"models/gemini-embedding-001\",\"content\":{\"parts\":[{\"text\":"
                     "\"a\"}]},\"outputDimensionality\":768},"
                     "{\"model\":\"models/gemini-embedding-001\",\"content\":{\"parts\":[{\"text\":"
                     "\"b\"}]},\"outputDimensionality\":768}]}");
    seam_buf_free(&c.body);

    /* More than a batch holds. */
    size_t n = SEAM_GEMINI_EMBED_MAX_BATCH + 1;
    char body[1024];
    size_t at = (size_t)snprintf(body, sizeof(body), "{\"model\":\"m\",\"input\":[");
    for (size_t i = 0; i < n; i++)
        at += (size_t)snprintf(body + at, sizeof(body) - at, "%s\"a\"", i ? "," : "");
    snprintf(body + at, sizeof(body) - at, "]}");
    r = decode(&seam_ingress_openai_embeddings, a, body, NULL);
    assert_int_equal(
        seam_provider_embed_build(r, &b, "gemini-embedding-001", NULL, a, &c, err, sizeof(err)),
        SEAM_ERR_INVALID);
    assert_non_null(strstr(err, "at most 100 inputs"));
    seam_buf_free(&c.body);
    seam_arena_free(a);
}

static void build_anthropic_refused(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    seam_backend_conf b = backend(SEAM_PROVIDER_ANTHROPIC, "claude", "https://api.anthropic.com");
    seam_req *r =
        decode(&seam_ingress_openai_embeddings, a, "{\"model\":\"m\",\"input\":\"x\"}", NULL);
    seam_upstream_call c;
    char err[256] = "";
    assert_int_equal(seam_provider_embed_build(r, &b, "claude", "k", a, &c, err, sizeof(err)),
                     SEAM_ERR_INVALID);
    assert_string_equal(err, "backend claude (anthropic) cannot embed");
    assert_null(c.url);
    seam_buf_free(&c.body);

    seam_embeddings e;
    assert_int_equal(
        seam_provider_embed_parse(SEAM_PROVIDER_ANTHROPIC, "{}", 2, a, &e, err, sizeof(err)),
        SEAM_ERR_INVALID);
    seam_arena_free(a);
}

/* The inputs that leave are the messages' texts as they are now: after
 * redaction, the placeholders. */
static void build_sends_current_text(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    seam_backend_conf b = backend(SEAM_PROVIDER_OPENAI, "frontier", "https://x");
    seam_req *r = decode(&seam_ingress_openai_embeddings, a,
                         "{\"model\":\"m\",\"input\":[\"mail jane@example.org\",\"b\"]}", NULL);
    r->msgs[0].parts[0].text = "mail [EMAIL_1]";
    r->msgs[0].parts[0].text_len = strlen("mail [EMAIL_1]");
    seam_upstream_call c;
    char err[256];
    assert_int_equal(seam_provider_embed_build(r, &b, "m", NULL, a, &c, err, sizeof(err)), SEAM_OK);
    assert_null(strstr(c.body.data, "jane@"));
    assert_non_null(strstr(c.body.data, "[EMAIL_1]"));
    seam_buf_free(&c.body);

    /* A message of several text parts is one input, parts on their lines;
     * non-user messages are not inputs. */
    seam_part parts[2] = {{.type = SEAM_PART_TEXT, .text = "ab", .text_len = 2},
                          {.type = SEAM_PART_TEXT, .text = "cd", .text_len = 2}};
    seam_part sys = {.type = SEAM_PART_TEXT, .text = "sys", .text_len = 3};
    seam_msg msgs[2] = {{.role = SEAM_ROLE_SYSTEM, .parts = &sys, .nparts = 1},
                        {.role = SEAM_ROLE_USER, .parts = parts, .nparts = 2}};
    r->msgs = msgs;
    r->nmsgs = 2;
    seam_embed_input *in;
    size_t n;
    assert_int_equal(seam_provider_embed_inputs(r, a, &in, &n), SEAM_OK);
    assert_int_equal(n, 1);
    assert_int_equal(in[0].len, 5);
    assert_memory_equal(in[0].text, "ab\ncd", 5);
    r->nmsgs = 1;
    assert_int_equal(seam_provider_embed_build(r, &b, "m", NULL, a, &c, err, sizeof(err)),
                     SEAM_ERR_INVALID);
    assert_string_equal(err, "the request has no input to embed");
    seam_buf_free(&c.body);
    seam_arena_free(a);
}

/* ---- answers from providers ---- */

static seam_rc parse(seam_provider_kind k, const char *body, seam_arena *a, seam_embeddings *e,
                     char *err)
{
    err[0] = '\0';
    return seam_provider_embed_parse(k, body, strlen(body), a, e, err, 256);
}

static void assert_values(const seam_embeddings *e, size_t count, size_t dim, const float *want)
{
    assert_int_equal(e->count, count);
    assert_int_equal(e->dim, dim);
    for (size_t i = 0; i < count * dim; i++)
        if (e->values[i] != want[i])
            fail_msg("value %zu: %.9g, want %.9g", i, (double)e->values[i], (double)want[i]);
}

static void parse_answers(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    seam_embeddings e;
    char err[256];
    const float want[] = {0.5f, -1.0f, 0.25f, 0.1f, 2.0f, -0.0078125f};

    /* OpenAI: rows placed by index, usage and model kept. */
    assert_int_equal(
        parse(SEAM_PROVIDER_OPENAI,
              "{\"object\":\"list\",\"data\":["
              "{\"object\":\"embedding\",\"index\":1,\"embedding\":[0.1,2,-0.0078125]},"
              "{\"object\":\"embedding\",\"index\":0,\"embedding\":[0.5,-1,0.25]}],"
              "\"model\":\"text-embedding-3-small\",\"usage\":{\"prompt_tokens\":8,"
              "\"total_tokens\":8}}",
              a, &e, err),
        SEAM_OK);
    assert_values(&e, 2, 3, want);
    assert_int_equal(e.input_tokens, 8);
    assert_string_equal(e.model, "text-embedding-3-small");
    /* Without index (some compatible servers) in order; without usage -1. */
    assert_int_equal(parse(SEAM_PROVIDER_OPENAI,
                           "{\"data\":[{\"embedding\":[0.5,-1,0.25]},{\"embedding\":[0.1,2,"
                           "-0.0078125]}]}",
                           a, &e, err),
                     SEAM_OK);
    assert_values(&e, 2, 3, want);
    assert_int_equal(e.input_tokens, -1);
    assert_null(e.model);

    /* Ollama. */
    assert_int_equal(parse(SEAM_PROVIDER_OLLAMA,
                           "{\"model\":\"embeddinggemma\",\"embeddings\":[[0.5,-1,0.25],[0.1,2,"
                           "-0.0078125]],\"total_duration\":14143917,\"load_duration\":1019500,"
                           "\"prompt_eval_count\":8}",
                           a, &e, err),
                     SEAM_OK);
    assert_values(&e, 2, 3, want);
    assert_int_equal(e.input_tokens, 8);
    assert_string_equal(e.model, "embeddinggemma");

    /* Gemini: no model, no count. */
    assert_int_equal(parse(SEAM_PROVIDER_GEMINI,
                           "{\"embeddings\":[{\"values\":[0.5,-1,0.25]},{\"values\":[0.1,2,"
                           "-0.0078125]}]}",
                           a, &e, err),
                     SEAM_OK);
    assert_values(&e, 2, 3, want);
    assert_int_equal(e.input_tokens, -1);
    assert_null(e.model);

    /* Zero vectors parse; the check against the request catches them. */
    assert_int_equal(parse(SEAM_PROVIDER_OLLAMA, "{\"model\":\"m\",\"embeddings\":[]}", a, &e, err),
                     SEAM_OK);
    assert_int_equal(e.count, 0);
    seam_req *r =
        decode(&seam_ingress_ollama_embed, a, "{\"model\":\"m\",\"input\":[\"a\",\"b\"]}", NULL);
    assert_int_equal(seam_provider_embed_check(r, &e, err, sizeof(err)), SEAM_ERR_UPSTREAM);
    assert_string_equal(err, "the backend returned 0 embeddings for 2 inputs");
    e.count = 2;
    assert_int_equal(seam_provider_embed_check(r, &e, err, sizeof(err)), SEAM_OK);
    seam_arena_free(a);
}

static void parse_malformed(void **state)
{
    struct {
        seam_provider_kind k;
        const char *body, *want;
    } cases[] = {
        {SEAM_PROVIDER_OPENAI, "<<not json>>", "not a JSON object"},
        {SEAM_PROVIDER_OPENAI, "[1,2]", "not a JSON object"},
        {SEAM_PROVIDER_OPENAI, "{\"object\":\"list\"}", "no data array"},
        {SEAM_PROVIDER_OPENAI, "{\"data\":[{\"embedding\":[1,2]},{\"embedding\":[1]}]}",
         "different dimensions"},
        {SEAM_PROVIDER_OPENAI, "{\"data\":[{\"embedding\":[1,\"2\"]}]}", "not a number"},
        {SEAM_PROVIDER_OPENAI, "{\"data\":[{\"embedding\":[1,null]}]}", "not a number"},
        {SEAM_PROVIDER_OPENAI, "{\"data\":[{\"embedding\":\"AACAPw==\"}]}", "empty"},
        {SEAM_PROVIDER_OPENAI,
         "{\"data\":[{\"embedding\":[1],\"index\":0},{\"embedding\":[1],\"index\":0}]}",
         "same index"},
        {SEAM_PROVIDER_OPENAI, "{\"data\":[{\"embedding\":[1],\"index\":1}]}", "out of range"},
        {SEAM_PROVIDER_OPENAI, "{\"data\":[{\"embedding\":[1],\"index\":-1}]}", "out of range"},
        {SEAM_PROVIDER_OPENAI, "{\"data\":[{\"embedding\":[1],\"index\":\"0\"}]}", "out of range"},
        {SEAM_PROVIDER_OPENAI, "{\"data\":[{\"embedding\":[]}]}", "empty"},
        {SEAM_PROVIDER_OPENAI, "{\"data\":[{\"embedding\":[1]},2]}", "not an object"},
        {SEAM_PROVIDER_OPENAI, "{\"data\":[{\"embedding\":[1e39]}]}", "does not fit a float"},
        {SEAM_PROVIDER_OLLAMA, "{\"error\":\"model not found\"}", "no embeddings array"},
        {SEAM_PROVIDER_OLLAMA, "{\"embeddings\":[[1,2],[3]]}", "different dimensions"},
        {SEAM_PROVIDER_OLLAMA, "{\"embeddings\":[[1,2],3]}", "not an array of numbers"},
        {SEAM_PROVIDER_OLLAMA, "{\"embeddings\":[[1,true]]}", "not a number"},
        {SEAM_PROVIDER_OLLAMA, "{\"embeddings\":[[-3.5e38]]}", "does not fit a float"},
        {SEAM_PROVIDER_GEMINI, "{\"embedding\":{\"values\":[1]}}", "no embeddings array"},
        {SEAM_PROVIDER_GEMINI, "{\"embeddings\":[{\"values\":[1,2]},{\"values\":[1,2,3]}]}",
         "different dimensions"},
        {SEAM_PROVIDER_GEMINI, "{\"embeddings\":[{\"values\":[1]},[1]]}", "not an object"},
        {SEAM_PROVIDER_GEMINI, "{\"embeddings\":[{\"value\":[1]}]}", "empty"},
        {SEAM_PROVIDER_GEMINI, "{\"embeddings\":[{\"values\":[1]},{\"values\":{}}]}",
         "not an array"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        seam_arena *a = seam_arena_new(4096);
        seam_embeddings e;
        char err[256];
        seam_rc rc = parse(cases[i].k, cases[i].body, a, &e, err);
        if (rc != SEAM_ERR_UPSTREAM)
            fail_msg("case %zu (%s): %s, want upstream", i, cases[i].body, seam_rc_str(rc));
        if (!strstr(err, cases[i].want))
            fail_msg("case %zu: error '%s' lacks '%s'", i, err, cases[i].want);
        assert_int_equal(e.count, 0);
        assert_null(e.values);
        seam_arena_free(a);
    }
}

/* ---- fault injection ---- */

/* Fails each allocation in turn (seam's and jansson's) across decode,
 * build, parse and render for both dialects: every step either succeeds or
 * reports the failure, nothing leaks (ASan), and with enough allocations
 * the whole path succeeds. */
static void alloc_failures(void **state)
{
    const seam_ingress *dialects[] = {&seam_ingress_openai_embeddings, &seam_ingress_ollama_embed};
    const seam_provider_kind kinds[] = {SEAM_PROVIDER_OPENAI, SEAM_PROVIDER_OLLAMA,
                                        SEAM_PROVIDER_GEMINI};
    const char *answers[] = {
        ("{\"data\":[{\"index\":0,\"embedding\":[0.5,1]},{\"index\":1,\"embedding\":[2,3]}],"
         "\"model\":\"m\",\"usage\":{\"prompt_tokens\":2}}"),
        "{\"model\":\"m\",\"embeddings\":[[0.5,1],[2,3]],\"prompt_eval_count\":2}",
        "{\"embeddings\":[{\"values\":[0.5,1]},{\"values\":[2,3]}]}"};
    const char *request = "{\"model\":\"m\",\"input\":[\"a\",\"b\"],\"dimensions\":2,"
                          "\"encoding_format\":\"base64\",\"user\":\"u\",\"keep_alive\":1}";
    json_set_alloc_funcs(seam_malloc, seam_free);
    for (size_t d = 0; d < 2; d++)
        for (size_t k = 0; k < 3; k++) {
            seam_backend_conf b = backend(kinds[k], "b", "http://h");
            bool succeeded = false;
            for (long n = 0; n < 5000 && !succeeded; n++) {
                seam_arena *a = seam_arena_new(4096);
                if (!a)
                    continue;
                seam_alloc_fail_after(n);
                seam_req *r = NULL;
                json_t *meta = NULL;
                char err[256];
                const char *param;
                seam_rc rc = dialects[d]->decode(a, request, strlen(request), &r, &meta, err,
                                                 sizeof(err), &param);
                seam_upstream_call c;
                seam_embeddings e;
                char *body = NULL;
                size_t len = 0;
                if (rc == SEAM_OK) {
                    rc = seam_provider_embed_build(r, &b, "m", "key", a, &c, err, sizeof(err));
                    seam_buf_free(&c.body);
                }
                if (rc == SEAM_OK)
                    rc = seam_provider_embed_parse(kinds[k], answers[k], strlen(answers[k]), a, &e,
                                                   err, sizeof(err));
                if (rc == SEAM_OK)
                    rc = seam_provider_embed_check(r, &e, err, sizeof(err));
                if (rc == SEAM_OK)
                    body = dialects[d]->embeddings_body(&e, r, a, &len);
                seam_alloc_fail_after(-1);
                succeeded = rc == SEAM_OK && body != NULL;
                seam_arena_free(a);
            }
            if (!succeeded)
                fail_msg("dialect %zu provider %zu never succeeded", d, k);
        }
    json_set_alloc_funcs(malloc, free);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(openai_decode_inputs),
        cmocka_unit_test(openai_decode_errors),
        cmocka_unit_test(ollama_decode_inputs),
        cmocka_unit_test(error_bodies),
        cmocka_unit_test(floats_round_trip),
        cmocka_unit_test(base64_bytes),
        cmocka_unit_test(openai_answers),
        cmocka_unit_test(ollama_answers),
        cmocka_unit_test(build_openai),
        cmocka_unit_test(build_ollama),
        cmocka_unit_test(build_gemini),
        cmocka_unit_test(build_anthropic_refused),
        cmocka_unit_test(build_sends_current_text),
        cmocka_unit_test(parse_answers),
        cmocka_unit_test(parse_malformed),
        cmocka_unit_test(alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
