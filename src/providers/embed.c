/*
 * Embeddings egress: canonical embeddings requests to OpenAI-compatible
 * servers (/v1/embeddings), Ollama (/api/embed) and Gemini
 * (:batchEmbedContents), and their answers back to seam_embeddings.
 *
 * Embeddings are not a stream of events like chat, so they have no provider
 * table of their own: one build and one parse switch on the provider kind.
 * Upstreams are always asked for plain float arrays (OpenAI's default
 * encoding_format), whatever the client wants: seam re-encodes for the
 * client, and arrays of numbers are the one shape every OpenAI-compatible
 * server returns.
 */
#include "providers/embed.h"
#include "providers/util.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const char *const provider_names[] = {"openai", "anthropic", "ollama", "gemini"};

static const char *provider_name(seam_provider_kind k)
{
    return (unsigned)k < SEAM_PROVIDER__COUNT ? provider_names[k] : "unknown";
}

/* ---- inputs ---- */

seam_rc seam_provider_embed_inputs(const seam_req *req, seam_arena *a, seam_embed_input **out,
                                   size_t *n)
{
    size_t count = 0;
    for (size_t i = 0; i < req->nmsgs; i++)
        count += req->msgs[i].role == SEAM_ROLE_USER;
    if (count == 0)
        return SEAM_ERR_INVALID;
    seam_embed_input *in = seam_arena_calloc(a, count * sizeof(*in));
    if (!in)
        return SEAM_ERR_NOMEM;
    size_t k = 0;
    for (size_t i = 0; i < req->nmsgs; i++) {
        const seam_msg *m = &req->msgs[i];
        if (m->role != SEAM_ROLE_USER)
            continue;
        size_t ntext = 0, total = 0;
        const seam_part *only = NULL;
        for (size_t j = 0; j < m->nparts; j++)
            if (m->parts[j].type == SEAM_PART_TEXT) {
                only = &m->parts[j];
                ntext++;
                total += m->parts[j].text_len + 1;
            }
        if (ntext <= 1) {
            in[k].text = only ? only->text : "";
            in[k].len = only ? only->text_len : 0;
        } else {
            /* Several text parts (a decoder never makes them, but a message
             * is a message): one input, the parts on their own lines. */
            char *s = seam_arena_alloc(a, total);
            if (!s)
                return SEAM_ERR_NOMEM;
            size_t at = 0;
            for (size_t j = 0; j < m->nparts; j++) {
                const seam_part *p = &m->parts[j];
                if (p->type != SEAM_PART_TEXT)
                    continue;
                if (at > 0)
                    s[at++] = '\n';
                memcpy(s + at, p->text, p->text_len);
                at += p->text_len;
            }
            s[at] = '\0';
            in[k].text = s;
            in[k].len = at;
        }
        k++;
    }
    *out = in;
    *n = count;
    return SEAM_OK;
}

/* ---- requests ---- */

/* A JSON array of the input texts, or NULL (<*rc> set). */
static json_t *input_array(const seam_embed_input *in, size_t n, seam_rc *rc, char *err,
                           size_t errlen)
{
    json_t *arr = json_array();
    if (!arr) {
        *rc = SEAM_ERR_NOMEM;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_stringn(in[i].text, in[i].len);
        if (!s || json_array_append_new(arr, s) != 0) {
            /* jansson refuses invalid UTF-8; decoders only produce valid
             * text, so this is memory in practice. */
            snprintf(err, errlen, "an input could not be encoded");
            json_decref(arr);
            *rc = SEAM_ERR_NOMEM;
            return NULL;
        }
    }
    return arr;
}

/* {"model","input":[..],"encoding_format":"float","dimensions"?}; OpenAI
 * clients' other fields ("user", ...) follow. Ollama's truncate has no
 * OpenAI counterpart (the API rejects inputs over the model's context) and
 * is not sent; Gemini's request has none either. */
static json_t *openai_body(const seam_req *req, const char *model, json_t *inputs)
{
    json_t *body =
        json_pack("{s:s, s:o, s:s}", "model", model, "input", inputs, "encoding_format", "float");
    if (body && req->embed && req->embed->dimensions > 0)
        json_object_set_new(body, "dimensions", json_integer(req->embed->dimensions));
    if (body && req->passthrough && req->ingress == SEAM_API_OPENAI)
        json_object_update_missing(body, req->passthrough);
    return body;
}

/* {"model","input":[..],"truncate"?,"dimensions"?}; Ollama clients' other
 * fields (keep_alive, options, ...) follow. */
static json_t *ollama_body(const seam_req *req, const char *model, json_t *inputs)
{
    json_t *body = json_pack("{s:s, s:o}", "model", model, "input", inputs);
    if (body && req->embed && req->embed->truncate >= 0)
        json_object_set_new(body, "truncate", json_boolean(req->embed->truncate));
    if (body && req->embed && req->embed->dimensions > 0)
        json_object_set_new(body, "dimensions", json_integer(req->embed->dimensions));
    if (body && req->passthrough && req->ingress == SEAM_API_OLLAMA)
        json_object_update_missing(body, req->passthrough);
    return body;
}

/* {"requests":[{"model":"models/<m>","content":{"parts":[{"text"}]},
 * "outputDimensionality"?}]}: every request of a batch must name the same
 * model as the URL, with the "models/" prefix. */
static json_t *gemini_body(const seam_req *req, const char *model, const seam_embed_input *in,
                           size_t n, seam_arena *a)
{
    const char *full = seam_arena_printf(a, "models/%s", model);
    json_t *reqs = json_array();
    json_t *body = full ? json_pack("{s:o}", "requests", reqs) : (json_decref(reqs), NULL);
    if (!body)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_pack("{s:s, s:{s:[{s:s%}]}}", "model", full, "content", "parts", "text",
                              in[i].text, in[i].len);
        if (r && req->embed && req->embed->dimensions > 0)
            json_object_set_new(r, "outputDimensionality", json_integer(req->embed->dimensions));
        if (!r || json_array_append_new(reqs, r) != 0) {
            json_decref(body);
            return NULL;
        }
    }
    return body;
}

seam_rc seam_provider_embed_build(const seam_req *req, const seam_backend_conf *b,
                                  const char *model, const char *api_key, seam_arena *a,
                                  seam_upstream_call *out, char *err, size_t errlen)
{
    seam_buf_init(&out->body, (size_t)-1);
    out->url = NULL;
    out->headers = NULL;
    if (b->provider == SEAM_PROVIDER_ANTHROPIC || (unsigned)b->provider >= SEAM_PROVIDER__COUNT) {
        snprintf(err, errlen, "backend %s (%s) cannot embed", b->name, provider_name(b->provider));
        return SEAM_ERR_INVALID;
    }
    seam_embed_input *in = NULL;
    size_t n = 0;
    seam_rc rc = seam_provider_embed_inputs(req, a, &in, &n);
    if (rc == SEAM_ERR_INVALID)
        snprintf(err, errlen, "the request has no input to embed");
    if (rc != SEAM_OK)
        return rc;
    /* Gemini's model names are "models/<id>"; the path adds "models/". */
    if (b->provider == SEAM_PROVIDER_GEMINI && strncmp(model, "models/", 7) == 0)
        model += 7;
    if (b->provider == SEAM_PROVIDER_GEMINI && n > SEAM_GEMINI_EMBED_MAX_BATCH) {
        snprintf(err, errlen, "backend %s (gemini) embeds at most %d inputs per request, got %zu",
                 b->name, SEAM_GEMINI_EMBED_MAX_BATCH, n);
        return SEAM_ERR_INVALID;
    }

    json_t *body = NULL;
    const char *auth = NULL;
    switch (b->provider) {
    case SEAM_PROVIDER_OPENAI: {
        json_t *inputs = input_array(in, n, &rc, err, errlen);
        if (!inputs)
            return rc;
        body = openai_body(req, model, inputs);
        out->url = seam_arena_printf(a, "%s/v1/embeddings", b->url);
        auth = "Authorization: Bearer %s";
        break;
    }
    case SEAM_PROVIDER_OLLAMA: {
        json_t *inputs = input_array(in, n, &rc, err, errlen);
        if (!inputs)
            return rc;
        body = ollama_body(req, model, inputs);
        out->url = seam_arena_printf(a, "%s/api/embed", b->url);
        /* Ollama takes no key; one configured is for a proxy in front of
         * it, which expects a bearer token (as for /api/chat). */
        auth = "Authorization: Bearer %s";
        break;
    }
    case SEAM_PROVIDER_GEMINI:
        body = gemini_body(req, model, in, n, a);
        out->url = seam_arena_printf(a, "%s/v1beta/models/%s:batchEmbedContents", b->url, model);
        auth = "x-goog-api-key: %s";
        break;
    case SEAM_PROVIDER_ANTHROPIC:
    case SEAM_PROVIDER__COUNT:
        break;
    }
    if ((rc = seam_provider__dump(body, out)) != SEAM_OK)
        return rc;
    const char **h = seam_arena_calloc(a, 4 * sizeof(char *));
    if (!out->url || !h)
        return SEAM_ERR_NOMEM;
    size_t k = 0;
    h[k++] = "Content-Type: application/json";
    h[k++] = "Accept: application/json";
    if (api_key && api_key[0] && !(h[k++] = seam_arena_printf(a, auth, api_key)))
        return SEAM_ERR_NOMEM;
    out->headers = h;
    return SEAM_OK;
}

/* ---- answers ---- */

static seam_rc bad(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "%s", what);
    return SEAM_ERR_UPSTREAM;
}

/* Sizes <out> for <count> vectors of <dim> values. */
static seam_rc alloc_rows(seam_embeddings *out, size_t count, size_t dim, seam_arena *a, char *err,
                          size_t errlen)
{
    out->count = count;
    out->dim = dim;
    if (count == 0)
        return SEAM_OK;
    if (dim == 0)
        return bad(err, errlen, "an embedding is empty");
    if (dim > SIZE_MAX / sizeof(float) / count)
        return bad(err, errlen, "embeddings too large");
    out->values = seam_arena_alloc(a, count * dim * sizeof(float));
    return out->values ? SEAM_OK : SEAM_ERR_NOMEM;
}

/* Reads the numbers of <arr> into row <row> of <out>. */
static seam_rc read_row(const json_t *arr, seam_embeddings *out, size_t row, char *err,
                        size_t errlen)
{
    if (!json_is_array(arr))
        return bad(err, errlen, "an embedding is not an array of numbers");
    if (json_array_size(arr) != out->dim)
        return bad(err, errlen, "embeddings have different dimensions");
    float *dst = out->values + row * out->dim;
    for (size_t j = 0; j < out->dim; j++) {
        const json_t *v = json_array_get(arr, j);
        if (!json_is_number(v))
            return bad(err, errlen, "an embedding value is not a number");
        double x = json_number_value(v);
        /* Converting a double outside float's range is undefined in C. */
        if (!(fabs(x) <= FLT_MAX))
            return bad(err, errlen, "an embedding value does not fit a float");
        dst[j] = (float)x;
    }
    return SEAM_OK;
}

/* The size of the first vector of <rows>, each picked by <vec>. */
static size_t first_dim(const json_t *rows, const json_t *(*vec)(const json_t *))
{
    const json_t *v = json_array_size(rows) ? vec(json_array_get(rows, 0)) : NULL;
    return json_is_array(v) ? json_array_size(v) : 0;
}

static const json_t *openai_vec(const json_t *item)
{
    return json_object_get(item, "embedding");
}

static const json_t *ollama_vec(const json_t *item)
{
    return item;
}

static const json_t *gemini_vec(const json_t *item)
{
    return json_object_get(item, "values");
}

/* {"data":[{"index","embedding":[..]}],"model","usage":{"prompt_tokens"}}.
 * Vectors go where their index says (the API keeps input order, but the
 * index is what it promises). */
static seam_rc parse_openai(const json_t *root, seam_arena *a, seam_embeddings *out, char *err,
                            size_t errlen)
{
    const json_t *data = json_object_get(root, "data");
    if (!json_is_array(data))
        return bad(err, errlen, "embeddings response has no data array");
    size_t n = json_array_size(data);
    seam_rc rc = alloc_rows(out, n, first_dim(data, openai_vec), a, err, errlen);
    if (rc != SEAM_OK)
        return rc;
    bool *seen = n ? seam_arena_calloc(a, n) : NULL;
    if (n && !seen)
        return SEAM_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const json_t *item = json_array_get(data, i);
        if (!json_is_object(item))
            return bad(err, errlen, "an embeddings data item is not an object");
        const json_t *index = json_object_get(item, "index");
        size_t row = i;
        if (index) {
            if (!json_is_integer(index) || json_integer_value(index) < 0 ||
                (uint64_t)json_integer_value(index) >= n)
                return bad(err, errlen, "an embedding index is out of range");
            row = (size_t)json_integer_value(index);
        }
        if (seen[row])
            return bad(err, errlen, "two embeddings have the same index");
        seen[row] = true;
        if ((rc = read_row(openai_vec(item), out, row, err, errlen)) != SEAM_OK)
            return rc;
    }
    const json_t *pt = json_object_get(json_object_get(root, "usage"), "prompt_tokens");
    out->input_tokens =
        json_is_integer(pt) && json_integer_value(pt) >= 0 ? json_integer_value(pt) : -1;
    const json_t *model = json_object_get(root, "model");
    if (json_is_string(model) && !(out->model = seam_arena_strdup(a, json_string_value(model))))
        return SEAM_ERR_NOMEM;
    return SEAM_OK;
}

/* {"model","embeddings":[[..],..],"prompt_eval_count"}. */
static seam_rc parse_ollama(const json_t *root, seam_arena *a, seam_embeddings *out, char *err,
                            size_t errlen)
{
    const json_t *rows = json_object_get(root, "embeddings");
    if (!json_is_array(rows))
        return bad(err, errlen, "embeddings response has no embeddings array");
    size_t n = json_array_size(rows);
    seam_rc rc = alloc_rows(out, n, first_dim(rows, ollama_vec), a, err, errlen);
    for (size_t i = 0; i < n && rc == SEAM_OK; i++)
        rc = read_row(json_array_get(rows, i), out, i, err, errlen);
    if (rc != SEAM_OK)
        return rc;
    const json_t *pc = json_object_get(root, "prompt_eval_count");
    out->input_tokens =
        json_is_integer(pc) && json_integer_value(pc) >= 0 ? json_integer_value(pc) : -1;
    const json_t *model = json_object_get(root, "model");
    if (json_is_string(model) && !(out->model = seam_arena_strdup(a, json_string_value(model))))
        return SEAM_ERR_NOMEM;
    return SEAM_OK;
}

/* {"embeddings":[{"values":[..]},..]}: no model and, documented, no token
 * count; a usageMetadata.promptTokenCount is read if one appears. */
static seam_rc parse_gemini(const json_t *root, seam_arena *a, seam_embeddings *out, char *err,
                            size_t errlen)
{
    const json_t *rows = json_object_get(root, "embeddings");
    if (!json_is_array(rows))
        return bad(err, errlen, "embeddings response has no embeddings array");
    size_t n = json_array_size(rows);
    seam_rc rc = alloc_rows(out, n, first_dim(rows, gemini_vec), a, err, errlen);
    for (size_t i = 0; i < n && rc == SEAM_OK; i++) {
        const json_t *item = json_array_get(rows, i);
        if (!json_is_object(item))
            return bad(err, errlen, "an embedding is not an object with values");
        rc = read_row(gemini_vec(item), out, i, err, errlen);
    }
    if (rc != SEAM_OK)
        return rc;
    const json_t *pt = json_object_get(json_object_get(root, "usageMetadata"), "promptTokenCount");
    out->input_tokens =
        json_is_integer(pt) && json_integer_value(pt) >= 0 ? json_integer_value(pt) : -1;
    return SEAM_OK;
}

seam_rc seam_provider_embed_parse(seam_provider_kind kind, const char *body, size_t len,
                                  seam_arena *a, seam_embeddings *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->input_tokens = -1;
    if (kind != SEAM_PROVIDER_OPENAI && kind != SEAM_PROVIDER_OLLAMA &&
        kind != SEAM_PROVIDER_GEMINI) {
        snprintf(err, errlen, "provider %s has no embeddings", provider_name(kind));
        return SEAM_ERR_INVALID;
    }
    json_error_t jerr;
    json_t *root = json_loadb(body, len, 0, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        return bad(err, errlen, "embeddings response is not a JSON object");
    }
    seam_rc rc = kind == SEAM_PROVIDER_OPENAI   ? parse_openai(root, a, out, err, errlen)
                 : kind == SEAM_PROVIDER_OLLAMA ? parse_ollama(root, a, out, err, errlen)
                                                : parse_gemini(root, a, out, err, errlen);
    json_decref(root);
    if (rc != SEAM_OK) {
        out->count = out->dim = 0;
        out->values = NULL;
    }
    return rc;
}

seam_rc seam_provider_embed_check(const seam_req *req, const seam_embeddings *e, char *err,
                                  size_t errlen)
{
    size_t want = 0;
    for (size_t i = 0; i < req->nmsgs; i++)
        want += req->msgs[i].role == SEAM_ROLE_USER;
    if (e->count != want) {
        snprintf(err, errlen, "the backend returned %zu embeddings for %zu inputs", e->count, want);
        return SEAM_ERR_UPSTREAM;
    }
    return SEAM_OK;
}
