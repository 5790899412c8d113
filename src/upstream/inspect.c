/*
 * `seam check --probe`; see inspect.h. Each provider has one function that
 * asks its server and fills the report's models and per-model facts; the
 * comparison with the configuration is common to all of them.
 */
#include "upstream/inspect.h"
#include "core/jsonbuf.h"
#include "core/buf.h"
#include "providers/provider.h"
#include "upstream/dispatch.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* A model list or description bigger than this is not one. */
#define INSPECT_MAX_BODY (16u << 20)

/* One finished HTTP call: the status and body when the server answered,
 * else the transport error. */
typedef struct http_answer {
    bool answered;
    long status;
    seam_buf body;
    char error[CURL_ERROR_SIZE];
} http_answer;

/* The probe of one backend in progress. */
typedef struct probe {
    const seam_backend_conf *b;
    const char *key;      /* the API key, or NULL */
    const char **headers; /* the provider's auth headers, NULL-terminated */
    long timeout_ms;
    json_t *report, *models, *configured, *warnings, *notes;
} probe;

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    return seam_buf_append(ctx, p, size * n) == SEAM_OK ? size * n : 0;
}

/* Replaces every occurrence of <key> in <s> with "***", in place: a server
 * that echoes the key in an error must not make seam print it. */
static void mask_key(char *s, const char *key)
{
    size_t klen = key ? strlen(key) : 0;
    if (klen < 4)
        return;
    char *at;
    while ((at = strstr(s, key))) {
        memcpy(at, "***", 3);
        memmove(at + 3, at + klen, strlen(at + klen) + 1);
    }
}

/* GET <path> (or POST <post> as JSON when not NULL) on the backend's URL. */
static void http_call(probe *pr, const char *path, const char *post, http_answer *a)
{
    memset(a, 0, sizeof(*a));
    seam_buf_init(&a->body, INSPECT_MAX_BODY);
    char url[2048];
    snprintf(url, sizeof(url), "%s%s", pr->b->url, path);
    CURL *e = curl_easy_init();
    struct curl_slist *h = NULL, *t;
    for (size_t i = 0; pr->headers && pr->headers[i]; i++) {
        if (!(t = curl_slist_append(h, pr->headers[i])))
            goto oom;
        h = t;
    }
    if (post) {
        if (!(t = curl_slist_append(h, "Content-Type: application/json")))
            goto oom;
        h = t;
    }
    if (!e)
        goto oom;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &a->body);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, a->error);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, pr->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, pr->timeout_ms);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_USERAGENT, "seam-check");
    if (post) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, post);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(post));
    }
    CURLcode rc = curl_easy_perform(e);
    if (rc == CURLE_OK) {
        a->answered = true;
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &a->status);
    } else if (!a->error[0]) {
        snprintf(a->error, sizeof(a->error), "%s", curl_easy_strerror(rc));
    }
    mask_key(a->error, pr->key);
    curl_easy_cleanup(e);
    curl_slist_free_all(h);
    return;
oom:
    snprintf(a->error, sizeof(a->error), "out of memory");
    curl_easy_cleanup(e);
    curl_slist_free_all(h);
}

static void add_line(json_t *list, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_line(json_t *list, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    json_array_append_new(list, json_string(line));
}

/* Records a failed call as the backend's error: "GET /v1/models answered
 * HTTP 401: invalid x-api-key", or the transport error. Sets reachable. */
static void set_error(probe *pr, const char *what, const http_answer *a)
{
    char msg[300] = "", line[512];
    if (a->answered) {
        seam_provider_get(pr->b->provider)
            ->error_message(a->body.data ? a->body.data : "", a->body.len, msg, sizeof(msg));
        mask_key(msg, pr->key);
        snprintf(line, sizeof(line), "%s answered HTTP %ld%s%s", what, a->status,
                 msg[0] ? ": " : "", msg);
    } else {
        snprintf(line, sizeof(line), "%s failed: %s", what, a->error);
    }
    if (!json_object_get(pr->report, "error"))
        json_object_set_new(pr->report, "error", json_string(line));
}

static json_t *parse_body(const http_answer *a)
{
    return a->body.data ? json_loadb(a->body.data, a->body.len, 0, NULL) : NULL;
}

/* The per-model entry of configured model <i>. */
static json_t *configured_entry(probe *pr, size_t i)
{
    return json_array_get(pr->configured, i);
}

/* True when the server's <id> names configured <model>: the same, or
 * (Ollama) the model's ":latest" tag when the configuration gives none. */
static bool same_model(const char *id, const char *model, bool latest_tag)
{
    if (strcmp(id, model) == 0)
        return true;
    size_t n = strlen(model);
    return latest_tag && !strchr(model, ':') && strncmp(id, model, n) == 0 &&
           strcmp(id + n, ":latest") == 0;
}

/* Marks which configured models appear in pr->models. */
static void mark_found(probe *pr, bool latest_tag)
{
    for (size_t i = 0; i < pr->b->nmodels; i++) {
        bool found = false;
        size_t j;
        json_t *id;
        json_array_foreach(pr->models, j,
                           id) if (same_model(json_string_value(id), pr->b->models[i], latest_tag))
            found = true;
        json_object_set_new(configured_entry(pr, i), "found", json_boolean(found));
    }
}

/* OpenAI-compatible and Anthropic: GET /v1/models, {data:[{id, ...}]}.
 * vLLM adds max_model_len to each entry: the context length. */
static void probe_model_list(probe *pr, const char *path)
{
    http_answer a;
    http_call(pr, path, NULL, &a);
    json_object_set_new(pr->report, "reachable", json_boolean(a.answered));
    if (!a.answered || a.status / 100 != 2) {
        set_error(pr, "GET /v1/models", &a);
        seam_buf_free(&a.body);
        return;
    }
    json_t *root = parse_body(&a);
    json_t *data = json_object_get(root, "data");
    if (!json_is_array(data)) {
        json_object_set_new(pr->report, "error",
                            json_string("GET /v1/models: the answer has no data list"));
    } else {
        size_t i;
        json_t *m;
        json_array_foreach(data, i, m)
        {
            const char *id = json_string_value(json_object_get(m, "id"));
            if (!id)
                continue;
            json_array_append_new(pr->models, json_string(id));
            json_t *ctx = json_object_get(m, "max_model_len");
            for (size_t k = 0; json_is_integer(ctx) && k < pr->b->nmodels; k++)
                if (strcmp(id, pr->b->models[k]) == 0)
                    json_object_set(configured_entry(pr, k), "context_length", ctx);
        }
        mark_found(pr, false);
    }
    json_decref(root);
    seam_buf_free(&a.body);
}

/* Ollama's capability names as seam's: "embedding" is embeddings, and
 * "completion" or "insert" have no counterpart. */
static const char *ollama_cap(const char *s)
{
    if (!strcmp(s, "vision") || !strcmp(s, "tools") || !strcmp(s, "thinking"))
        return s;
    return !strcmp(s, "embedding") ? "embeddings" : NULL;
}

/* Ollama: GET /api/tags lists the models; POST /api/show describes each
 * configured one that is there. */
static void probe_ollama(probe *pr)
{
    http_answer a;
    http_call(pr, "/api/tags", NULL, &a);
    json_object_set_new(pr->report, "reachable", json_boolean(a.answered));
    if (!a.answered || a.status / 100 != 2) {
        set_error(pr, "GET /api/tags", &a);
        seam_buf_free(&a.body);
        return;
    }
    json_t *root = parse_body(&a);
    seam_buf_free(&a.body);
    json_t *list = json_object_get(root, "models");
    if (!json_is_array(list)) {
        json_object_set_new(pr->report, "error",
                            json_string("GET /api/tags: the answer has no models list"));
        json_decref(root);
        return;
    }
    size_t i;
    json_t *m;
    json_array_foreach(list, i, m)
    {
        json_t *name = json_object_get(m, "name");
        if (!json_is_string(name))
            name = json_object_get(m, "model");
        if (json_is_string(name))
            json_array_append(pr->models, name);
    }
    json_decref(root);
    mark_found(pr, true);

    for (i = 0; i < pr->b->nmodels; i++) {
        json_t *entry = configured_entry(pr, i);
        if (!json_is_true(json_object_get(entry, "found")))
            continue;
        json_t *req = json_pack("{s:s}", "model", pr->b->models[i]);
        char *body = req ? seam_json_dumps(req, JSON_COMPACT) : NULL;
        json_decref(req);
        if (!body)
            return;
        http_call(pr, "/api/show", body, &a);
        free(body);
        if (!a.answered || a.status / 100 != 2) {
            char what[300];
            snprintf(what, sizeof(what), "POST /api/show for %.200s", pr->b->models[i]);
            set_error(pr, what, &a);
            seam_buf_free(&a.body);
            continue;
        }
        root = parse_body(&a);
        seam_buf_free(&a.body);
        json_t *caps = json_object_get(root, "capabilities");
        if (json_is_array(caps)) {
            json_t *mine = json_array();
            size_t k;
            json_t *c;
            json_array_foreach(caps, k, c)
            {
                const char *n = json_is_string(c) ? ollama_cap(json_string_value(c)) : NULL;
                if (n)
                    json_array_append_new(mine, json_string(n));
            }
            json_object_set_new(entry, "capabilities", mine);
        }
        /* model_info keys are prefixed by the architecture:
         * "gemma3.context_length", "llama.context_length". */
        const char *key;
        json_t *v;
        json_object_foreach(json_object_get(root, "model_info"), key, v)
        {
            size_t kl = strlen(key);
            if (kl > 15 && !strcmp(key + kl - 15, ".context_length") && json_is_integer(v))
                json_object_set(entry, "context_length", v);
        }
        json_decref(root);
    }
}

/* Gemini: GET /v1beta/models lists Model resources, {models:[{name:
 * "models/<id>", inputTokenLimit, thinking?, ...}], nextPageToken?}: the
 * context length and whether the model can think. Followed for a few pages
 * (Google serves well under a thousand models to a key). */
static void probe_gemini(probe *pr)
{
    char path[512] = "/v1beta/models?pageSize=1000";
    for (int page = 0; page < 8 && path[0]; page++) {
        http_answer a;
        http_call(pr, path, NULL, &a);
        if (page == 0)
            json_object_set_new(pr->report, "reachable", json_boolean(a.answered));
        if (!a.answered || a.status / 100 != 2) {
            set_error(pr, "GET /v1beta/models", &a);
            seam_buf_free(&a.body);
            return;
        }
        json_t *root = parse_body(&a);
        seam_buf_free(&a.body);
        json_t *list = json_object_get(root, "models");
        if (!json_is_array(list)) {
            json_object_set_new(pr->report, "error",
                                json_string("GET /v1beta/models: the answer has no models list"));
            json_decref(root);
            return;
        }
        size_t i;
        json_t *m;
        json_array_foreach(list, i, m)
        {
            const char *name = json_string_value(json_object_get(m, "name"));
            if (!name)
                continue;
            if (!strncmp(name, "models/", 7))
                name += 7;
            json_array_append_new(pr->models, json_string(name));
            for (size_t k = 0; k < pr->b->nmodels; k++) {
                if (strcmp(name, pr->b->models[k]) != 0)
                    continue;
                json_t *entry = configured_entry(pr, k);
                json_t *limit = json_object_get(m, "inputTokenLimit");
                if (json_is_integer(limit))
                    json_object_set(entry, "context_length", limit);
                /* Only thinking is described; the other capabilities are
                 * not part of a Model resource. */
                json_t *thinks = json_object_get(m, "thinking");
                if (json_is_boolean(thinks)) {
                    json_object_set_new(entry, "capabilities_known", json_pack("[s]", "thinking"));
                    json_object_set_new(entry, "capabilities",
                                        json_is_true(thinks) ? json_pack("[s]", "thinking")
                                                             : json_array());
                }
            }
        }
        const char *next = json_string_value(json_object_get(root, "nextPageToken"));
        char *esc = next && next[0] ? curl_escape(next, 0) : NULL;
        if (esc)
            snprintf(path, sizeof(path), "/v1beta/models?pageSize=1000&pageToken=%s", esc);
        else
            path[0] = '\0';
        curl_free(esc);
        json_decref(root);
    }
    mark_found(pr, false);
}

/* Where the configuration and the server disagree. */
static void compare(probe *pr)
{
    const seam_backend_conf *b = pr->b;
    for (size_t i = 0; i < b->nmodels; i++) {
        json_t *entry = configured_entry(pr, i);
        json_t *found = json_object_get(entry, "found");
        if (json_is_false(found)) {
            add_line(pr->warnings, "model %s is configured but the server does not have it",
                     b->models[i]);
            continue;
        }
        json_t *caps = json_object_get(entry, "capabilities");
        if (json_is_array(caps)) {
            /* Gemini only describes some capabilities; Ollama all of them. */
            json_t *known = json_object_get(entry, "capabilities_known");
            char have[128] = "";
            for (unsigned bit = 1; bit & SEAM_CAP_ALL; bit <<= 1) {
                const char *name = seam_capability_name(bit);
                bool described = !known, reported = false;
                size_t k;
                json_t *c;
                json_array_foreach(known, k, c) if (!strcmp(json_string_value(c), name)) described =
                    true;
                json_array_foreach(caps, k, c) if (!strcmp(json_string_value(c), name)) reported =
                    true;
                if (reported) {
                    size_t l = strlen(have);
                    snprintf(have + l, sizeof(have) - l, "%s%s", l ? ", " : "", name);
                }
                if (b->capabilities_given && (b->capabilities & bit) && described && !reported)
                    add_line(pr->warnings,
                             "capabilities lists %s but the server does not report it for "
                             "model %s",
                             name, b->models[i]);
            }
            if (!b->capabilities_given)
                add_line(pr->notes,
                         "capabilities not declared (none assumed missing); the server reports "
                         "[%s] for model %s",
                         have, b->models[i]);
        }
        json_t *ctx = json_object_get(entry, "context_length");
        if (json_is_integer(ctx) && b->context_window &&
            b->context_window > (uint64_t)json_integer_value(ctx))
            add_line(pr->warnings,
                     "context_window %" PRIu64 " is larger than the context length the server "
                     "reports for model %s (%" JSON_INTEGER_FORMAT ")",
                     b->context_window, b->models[i], json_integer_value(ctx));
    }
}

json_t *seam_inspect_backend(const seam_backend_conf *b, long timeout_ms)
{
    static const char *const kinds[] = {"openai", "anthropic", "ollama", "gemini"};
    probe pr = {.b = b, .timeout_ms = timeout_ms};
    pr.report = json_pack("{s:s, s:s, s:s, s:b, s:[], s:[], s:[], s:[]}", "backend", b->name,
                          "provider", (unsigned)b->provider < 4 ? kinds[b->provider] : "?", "url",
                          b->url, "reachable", 0, "models", "configured", "warnings", "notes");
    if (!pr.report)
        return NULL;
    pr.models = json_object_get(pr.report, "models");
    pr.configured = json_object_get(pr.report, "configured");
    pr.warnings = json_object_get(pr.report, "warnings");
    pr.notes = json_object_get(pr.report, "notes");
    for (size_t i = 0; i < b->nmodels; i++)
        json_array_append_new(pr.configured, json_pack("{s:s}", "model", b->models[i]));

    char why[200];
    if (seam_backend_unusable(b, why, sizeof(why))) {
        json_object_set_new(pr.report, "probed", json_false());
        json_object_set_new(pr.report, "error", json_string(why));
        return pr.report;
    }
    pr.key = b->api_key_env && b->api_key_env[0] ? getenv(b->api_key_env) : NULL;
    seam_arena *a = seam_arena_new(512);
    const seam_provider *prov = seam_provider_get(b->provider);
    if (!a)
        goto oom;
    if (prov->probe_headers) {
        if (!(pr.headers = prov->probe_headers(pr.key, a)))
            goto oom;
    } else if (pr.key) {
        const char **h = seam_arena_calloc(a, 2 * sizeof(char *));
        if (!h || !(h[0] = seam_arena_printf(a, "Authorization: Bearer %s", pr.key)))
            goto oom;
        pr.headers = h;
    }
    switch (b->provider) {
    case SEAM_PROVIDER_OLLAMA:
        probe_ollama(&pr);
        break;
    case SEAM_PROVIDER_GEMINI:
        probe_gemini(&pr);
        break;
    case SEAM_PROVIDER_ANTHROPIC:
        /* Anthropic pages its list (20 by default, at most 1000). */
        probe_model_list(&pr, "/v1/models?limit=1000");
        break;
    case SEAM_PROVIDER_OPENAI:
    default:
        probe_model_list(&pr, "/v1/models");
        break;
    }
    compare(&pr);
    /* The per-model list of described capabilities is an internal detail. */
    size_t i;
    json_t *entry;
    json_array_foreach(pr.configured, i, entry) json_object_del(entry, "capabilities_known");
    seam_arena_free(a);
    return pr.report;
oom:
    seam_arena_free(a);
    json_decref(pr.report);
    return NULL;
}

bool seam_inspect_has_problem(const json_t *r)
{
    return !json_is_true(json_object_get(r, "reachable")) || json_object_get(r, "error") ||
           json_array_size(json_object_get(r, "warnings")) > 0;
}

void seam_inspect_print(const json_t *r, FILE *out)
{
    const char *err = json_string_value(json_object_get(r, "error"));
    bool reachable = json_is_true(json_object_get(r, "reachable"));
    const char *state = json_is_false(json_object_get(r, "probed")) ? "NOT PROBED"
                        : !reachable                                ? "UNREACHABLE"
                        : err                                       ? "reachable, ERROR"
                                                                    : "reachable";
    fprintf(out, "backend %s (%s, %s): %s%s%s\n", json_string_value(json_object_get(r, "backend")),
            json_string_value(json_object_get(r, "provider")),
            json_string_value(json_object_get(r, "url")), state, err ? ": " : "", err ? err : "");
    json_t *models = json_object_get(r, "models");
    size_t i;
    json_t *v;
    if (reachable && (!err || json_array_size(models))) {
        fprintf(out, "  server models: %s", json_array_size(models) ? "" : "none");
        json_array_foreach(models, i, v) fprintf(out, "%s%s", i ? ", " : "", json_string_value(v));
        fputc('\n', out);
    }
    json_array_foreach(json_object_get(r, "configured"), i, v)
    {
        json_t *found = json_object_get(v, "found");
        if (!found)
            continue;
        fprintf(out, "  %s: %s", json_string_value(json_object_get(v, "model")),
                json_is_true(found) ? "served" : "not on the server");
        json_t *caps = json_object_get(v, "capabilities");
        if (json_is_array(caps)) {
            size_t k;
            json_t *c;
            fprintf(out, "; capabilities [");
            json_array_foreach(caps, k, c)
                fprintf(out, "%s%s", k ? ", " : "", json_string_value(c));
            fputc(']', out);
        }
        json_t *ctx = json_object_get(v, "context_length");
        if (json_is_integer(ctx))
            fprintf(out, "; context length %" JSON_INTEGER_FORMAT, json_integer_value(ctx));
        fputc('\n', out);
    }
    json_array_foreach(json_object_get(r, "notes"), i, v)
        fprintf(out, "  note: %s\n", json_string_value(v));
    json_array_foreach(json_object_get(r, "warnings"), i, v)
        fprintf(out, "  WARN %s: %s\n", json_string_value(json_object_get(r, "backend")),
                json_string_value(v));
}
