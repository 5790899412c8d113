/*
 * Embeddings ingress: OpenAI's POST /v1/embeddings and Ollama's POST
 * /api/embed, decoded into the canonical model and answered in each
 * dialect's shape.
 *
 * An embeddings request becomes a seam_req whose messages are its inputs,
 * one user message with one text part per input, so the scanner, redaction
 * and the policy see them exactly as they see a prompt: an input carrying an
 * SSN is regulated and stays local, whatever the model asked for. What only
 * embeddings have (dimensions, the answer's encoding, Ollama's truncate)
 * hangs off req->embed.
 *
 * Answers are written straight into a buffer rather than through a jansson
 * tree: a batch of 2048 inputs at 3072 dimensions is six million numbers,
 * and a JSON value per number would cost far more than the bytes themselves.
 */
#include "api/embed.h"
#include "api/openai.h"
#include "core/jsonbuf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- decoding ---- */

struct decoder {
    seam_arena *a;
    char *err;
    size_t errlen;
    const char **param;
    seam_api api;
};

static seam_rc fail(struct decoder *d, const char *param, const char *msg)
{
    snprintf(d->err, d->errlen, "%s", msg);
    *d->param = param;
    return SEAM_ERR_INVALID;
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Makes input <s> the text of user message <m>. */
static seam_rc add_input(struct decoder *d, const json_t *s, seam_msg *m)
{
    if (json_string_length(s) == 0)
        return fail(d, "input", "input must not contain empty strings");
    m->role = SEAM_ROLE_USER;
    m->content_is_string = true;
    m->parts = seam_arena_calloc(d->a, sizeof(seam_part));
    if (!m->parts)
        return SEAM_ERR_NOMEM;
    m->nparts = 1;
    m->parts[0].type = SEAM_PART_TEXT;
    m->parts[0].text = json_string_value(s);
    m->parts[0].text_len = json_string_length(s);
    return SEAM_OK;
}

/* The inputs: a string or a non-empty array of strings. OpenAI also takes
 * token ids (an array of integers, or an array of such arrays); seam cannot
 * scan token ids, and a gateway that cannot see what it forwards cannot keep
 * regulated data local, so they are refused. */
static seam_rc decode_input(struct decoder *d, const json_t *input, size_t max, seam_req *r)
{
    const char *shape = "input must be a string or a non-empty array of strings";
    if (json_is_string(input)) {
        r->msgs = seam_arena_calloc(d->a, sizeof(seam_msg));
        if (!r->msgs)
            return SEAM_ERR_NOMEM;
        r->nmsgs = 1;
        return add_input(d, input, &r->msgs[0]);
    }
    if (!json_is_array(input) || json_array_size(input) == 0)
        return fail(d, "input", input ? shape : "input is required");
    size_t n = json_array_size(input);
    const json_t *first = json_array_get(input, 0);
    if (d->api == SEAM_API_OPENAI && (json_is_integer(first) || json_is_array(first)))
        return fail(d, "input", "input as token arrays is not supported; send the text");
    if (n > max) {
        snprintf(d->err, d->errlen, "input must have at most %zu items", max);
        *d->param = "input";
        return SEAM_ERR_INVALID;
    }
    r->msgs = seam_arena_calloc(d->a, n * sizeof(seam_msg));
    if (!r->msgs)
        return SEAM_ERR_NOMEM;
    r->nmsgs = n;
    for (size_t i = 0; i < n; i++) {
        const json_t *s = json_array_get(input, i);
        if (!json_is_string(s))
            return fail(d, "input", shape);
        seam_rc rc = add_input(d, s, &r->msgs[i]);
        if (rc != SEAM_OK)
            return rc;
    }
    return SEAM_OK;
}

static seam_rc decode_dimensions(struct decoder *d, const json_t *v, seam_embed *e)
{
    if (!v || json_is_null(v))
        return SEAM_OK;
    if (!json_is_integer(v) || json_integer_value(v) < 1)
        return fail(d, "dimensions", "dimensions must be a positive integer");
    e->dimensions = json_integer_value(v);
    return SEAM_OK;
}

/* The part both dialects share: the JSON object, the model, the input, the
 * dimensions, the "seam" metadata and the passthrough of every key not in
 * <modelled>. The dialect's own keys are read by the caller from <*root>. */
static seam_rc decode_common(struct decoder *d, const char *body, size_t len, size_t max,
                             const char *const *modelled, seam_req **out, json_t **meta,
                             json_t **rootp)
{
    json_error_t jerr;
    *d->param = NULL;
    *meta = NULL;
    json_t *root = seam_arena_json(d->a, json_loadb(body, len, 0, &jerr));
    if (!root) {
        /* jansson's message names the position; the body is never echoed. */
        snprintf(d->err, d->errlen, "request body is not valid JSON: %s (at byte %d)", jerr.text,
                 jerr.position);
        return SEAM_ERR_INVALID;
    }
    if (!json_is_object(root))
        return fail(d, NULL, "request body must be a JSON object");
    seam_req *r = seam_arena_calloc(d->a, sizeof(*r));
    seam_embed *e = seam_arena_calloc(d->a, sizeof(*e));
    if (!r || !e)
        return SEAM_ERR_NOMEM;
    r->arena = d->a;
    r->ingress = d->api;
    r->params.max_tokens = -1;
    r->stream = false;
    r->embed = e;
    e->dimensions = -1;
    e->truncate = -1;
    e->started_ns = now_ns();

    const json_t *model = json_object_get(root, "model");
    if (!json_is_string(model) || json_string_length(model) == 0)
        return fail(d, "model", "model is required (a model name or \"auto\")");
    r->model = json_string_value(model);

    seam_rc rc = decode_input(d, json_object_get(root, "input"), max, r);
    if (rc == SEAM_OK)
        rc = decode_dimensions(d, json_object_get(root, "dimensions"), e);
    if (rc != SEAM_OK)
        return rc;

    json_t *seam = json_object_get(root, "seam");
    if (seam)
        *meta = seam;
    json_t *pass = seam_arena_json(d->a, json_object());
    if (!pass)
        return SEAM_ERR_NOMEM;
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v)
    {
        bool known = false;
        for (const char *const *m = modelled; *m && !known; m++)
            known = strcmp(*m, k) == 0;
        if (!known && json_object_set(pass, k, v) != 0)
            return SEAM_ERR_NOMEM;
    }
    r->passthrough = json_object_size(pass) ? pass : NULL;
    *rootp = root;
    *out = r;
    return SEAM_OK;
}

/* OpenAI: {model, input, dimensions?, encoding_format?, user?}. "user" and
 * anything newer travel on to OpenAI-compatible backends untouched. */
static seam_rc openai_decode(seam_arena *a, const char *body, size_t len, seam_req **out,
                             json_t **meta, char *err, size_t errlen, const char **param)
{
    static const char *const modelled[] = {"model",           "input", "dimensions",
                                           "encoding_format", "seam",  NULL};
    struct decoder d = {a, err, errlen, param, SEAM_API_OPENAI};
    json_t *root = NULL;
    seam_req *r = NULL;
    seam_rc rc =
        decode_common(&d, body, len, SEAM_EMBED_MAX_INPUTS_OPENAI, modelled, &r, meta, &root);
    if (rc != SEAM_OK)
        return rc;
    const json_t *enc = json_object_get(root, "encoding_format");
    if (json_is_string(enc) && strcmp(json_string_value(enc), "base64") == 0)
        r->embed->base64 = true;
    else if (enc && !json_is_null(enc) &&
             !(json_is_string(enc) && strcmp(json_string_value(enc), "float") == 0))
        return fail(&d, "encoding_format", "encoding_format must be \"float\" or \"base64\"");
    *out = r;
    return SEAM_OK;
}

/* Ollama: {model, input, truncate?, dimensions?, keep_alive?, options?};
 * keep_alive, options and anything else only reach an Ollama backend. */
static seam_rc ollama_decode(seam_arena *a, const char *body, size_t len, seam_req **out,
                             json_t **meta, char *err, size_t errlen, const char **param)
{
    static const char *const modelled[] = {"model",    "input", "dimensions",
                                           "truncate", "seam",  NULL};
    struct decoder d = {a, err, errlen, param, SEAM_API_OLLAMA};
    json_t *root = NULL;
    seam_req *r = NULL;
    seam_rc rc =
        decode_common(&d, body, len, SEAM_EMBED_MAX_INPUTS_OLLAMA, modelled, &r, meta, &root);
    if (rc != SEAM_OK)
        return rc;
    const json_t *t = json_object_get(root, "truncate");
    if (json_is_boolean(t))
        r->embed->truncate = json_is_true(t);
    else if (t && !json_is_null(t))
        return fail(&d, "truncate", "truncate must be a boolean");
    *out = r;
    return SEAM_OK;
}

/* ---- errors ---- */

static char *openai_error_body(seam_arena *a, int status, const char *message, const char *type,
                               const char *code, const char *param)
{
    return seam_api_openai_error(a, message, type, param, code);
}

/* Ollama's errors are {"error":"<message>"}; the HTTP status says the rest,
 * and its clients (the ollama packages) read nothing else. */
static char *ollama_error_body(seam_arena *a, int status, const char *message, const char *type,
                               const char *code, const char *param)
{
    json_t *o = json_pack("{s:s}", "error", message ? message : "error");
    char *s = o ? seam_json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    char *r = s ? seam_arena_strdup(a, s) : NULL;
    free(s);
    return r ? r : "{\"error\":\"internal error\"}";
}

/* ---- rendering ---- */

seam_rc seam_api_embed_float(float f, seam_buf *out)
{
    if (!isfinite(f))
        return SEAM_ERR_INVALID; /* JSON has no NaN or infinity */
    char s[32];
    /* %.9g always reads back as the same float; fewer digits usually do
     * too and make the answer smaller (0.1f is "0.1", not "0.100000001"). */
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(s, sizeof(s), "%.*g", prec, (double)f);
        if (prec == 9 || strtof(s, NULL) == f)
            break;
    }
    return seam_buf_puts(out, s);
}

seam_rc seam_api_embed_base64(const float *v, size_t n, seam_buf *out)
{
    /* None of seam's libraries exports a base64 encoder (libevent, libcurl
     * and jansson keep theirs private), so the few lines are here. */
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char bytes[3];
    size_t have = 0;
    char quad[4];
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], sizeof(u));
        for (int k = 0; k < 4; k++) {
            /* Little-endian whatever the host: the low byte first. */
            bytes[have++] = (unsigned char)(u >> (8 * k));
            if (have == 3) {
                quad[0] = alphabet[bytes[0] >> 2];
                quad[1] = alphabet[((bytes[0] & 3) << 4) | (bytes[1] >> 4)];
                quad[2] = alphabet[((bytes[1] & 15) << 2) | (bytes[2] >> 6)];
                quad[3] = alphabet[bytes[2] & 63];
                seam_rc rc = seam_buf_append(out, quad, 4);
                if (rc != SEAM_OK)
                    return rc;
                have = 0;
            }
        }
    }
    if (have == 0)
        return SEAM_OK;
    if (have == 1)
        bytes[1] = 0;
    quad[0] = alphabet[bytes[0] >> 2];
    quad[1] = alphabet[((bytes[0] & 3) << 4) | (bytes[1] >> 4)];
    quad[2] = have == 2 ? alphabet[(bytes[1] & 15) << 2] : '=';
    quad[3] = '=';
    return seam_buf_append(out, quad, 4);
}

/* One vector as a JSON array of numbers. */
static seam_rc put_vector(const float *v, size_t dim, seam_buf *out)
{
    seam_rc rc = seam_buf_append(out, "[", 1);
    for (size_t j = 0; j < dim && rc == SEAM_OK; j++) {
        if (j > 0)
            rc = seam_buf_append(out, ",", 1);
        if (rc == SEAM_OK)
            rc = seam_api_embed_float(v[j], out);
    }
    return rc == SEAM_OK ? seam_buf_append(out, "]", 1) : rc;
}

static void release_buf(void *p)
{
    seam_buf_free(p);
}

/* A buffer whose bytes live until <a> is freed, so the rendered answer is
 * handed out without a copy. NULL when out of memory. */
static seam_buf *arena_buf(seam_arena *a)
{
    seam_buf *b = seam_arena_alloc(a, sizeof(*b));
    if (!b)
        return NULL;
    seam_buf_init(b, (size_t)-1);
    if (seam_arena_on_free(a, release_buf, b) != 0)
        return NULL;
    return b;
}

/* The model to report: the provider's, else what the client asked for. */
static const char *answer_model(const seam_embeddings *e, const seam_req *req)
{
    if (e->model && e->model[0])
        return e->model;
    return req->model ? req->model : "";
}

/* The input tokens to report: the provider's count, else seam's own
 * estimate (Gemini reports none; clients still expect a number). */
static long long answer_tokens(const seam_embeddings *e, const seam_req *req)
{
    if (e->input_tokens >= 0)
        return (long long)e->input_tokens;
    return (long long)req->task.prompt_tokens;
}

static char *finish(seam_buf *b, seam_rc rc, size_t *len)
{
    if (rc != SEAM_OK || !b->data)
        return NULL;
    *len = b->len;
    return b->data;
}

/* {"object":"list","data":[{"object":"embedding","index":i,"embedding":..}],
 *  "model":M,"usage":{"prompt_tokens":N,"total_tokens":N}}: the embedding
 * is an array of numbers, or a base64 string when the client asked for
 * encoding_format "base64" (the official SDKs do by default). */
static char *openai_body(const seam_embeddings *e, const seam_req *req, seam_arena *a, size_t *len)
{
    seam_buf *b = arena_buf(a);
    if (!b)
        return NULL;
    bool b64 = req->embed && req->embed->base64;
    seam_rc rc = seam_buf_puts(b, "{\"object\":\"list\",\"data\":[");
    for (size_t i = 0; i < e->count && rc == SEAM_OK; i++) {
        rc = seam_buf_printf(
            b, "%s{\"object\":\"embedding\",\"index\":%zu,\"embedding\":", i ? "," : "", i);
        const float *v = e->values + i * e->dim;
        if (rc == SEAM_OK && b64) {
            rc = seam_buf_append(b, "\"", 1);
            if (rc == SEAM_OK)
                rc = seam_api_embed_base64(v, e->dim, b);
            if (rc == SEAM_OK)
                rc = seam_buf_append(b, "\"", 1);
        } else if (rc == SEAM_OK) {
            rc = put_vector(v, e->dim, b);
        }
        if (rc == SEAM_OK)
            rc = seam_buf_append(b, "}", 1);
    }
    const char *model = answer_model(e, req);
    long long tokens = answer_tokens(e, req);
    if (rc == SEAM_OK)
        rc = seam_buf_puts(b, "],\"model\":");
    if (rc == SEAM_OK)
        rc = seam_buf_add_json_string(b, model, strlen(model));
    if (rc == SEAM_OK)
        rc = seam_buf_printf(b, ",\"usage\":{\"prompt_tokens\":%lld,\"total_tokens\":%lld}}",
                             tokens, tokens);
    return finish(b, rc, len);
}

/* {"model":M,"embeddings":[[..],..],"total_duration":ns,"load_duration":0,
 *  "prompt_eval_count":N}. total_duration runs from decoding to now; seam
 * loads no model, and the backend's own load time is not the client's
 * business through a gateway, so load_duration is 0. */
static char *ollama_body(const seam_embeddings *e, const seam_req *req, seam_arena *a, size_t *len)
{
    seam_buf *b = arena_buf(a);
    if (!b)
        return NULL;
    const char *model = answer_model(e, req);
    seam_rc rc = seam_buf_puts(b, "{\"model\":");
    if (rc == SEAM_OK)
        rc = seam_buf_add_json_string(b, model, strlen(model));
    if (rc == SEAM_OK)
        rc = seam_buf_puts(b, ",\"embeddings\":[");
    for (size_t i = 0; i < e->count && rc == SEAM_OK; i++) {
        if (i > 0)
            rc = seam_buf_append(b, ",", 1);
        if (rc == SEAM_OK)
            rc = put_vector(e->values + i * e->dim, e->dim, b);
    }
    long long total = 0;
    if (req->embed && req->embed->started_ns > 0) {
        total = now_ns() - req->embed->started_ns;
        if (total < 0)
            total = 0;
    }
    if (rc == SEAM_OK)
        rc = seam_buf_printf(
            b, "],\"total_duration\":%lld,\"load_duration\":0,\"prompt_eval_count\":%lld}", total,
            answer_tokens(e, req));
    return finish(b, rc, len);
}

const seam_ingress seam_ingress_openai_embeddings = {
    .api = SEAM_API_OPENAI,
    .name = "openai-embeddings",
    .path = "/v1/embeddings",
    .stream_content_type = NULL,
    .decode = openai_decode,
    .error_body = openai_error_body,
    .embeddings_body = openai_body,
};

const seam_ingress seam_ingress_ollama_embed = {
    .api = SEAM_API_OLLAMA,
    .name = "ollama-embed",
    .path = "/api/embed",
    .stream_content_type = NULL,
    .decode = ollama_decode,
    .error_body = ollama_error_body,
    .embeddings_body = ollama_body,
};
