/* Endpoints answered by seam itself in a client's dialect; see native.h. */
#include "http/native.h"
#include "api/anthropic.h"
#include "api/ollama.h"
#include "core/arena.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <string.h>

/* The request body, or NULL after answering 413 with <too_big> (a body in
 * the endpoint's dialect). */
static const char *read_body(seam_worker *w, struct evhttp_request *req, size_t *len,
                             const char *too_big)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    *len = evbuffer_get_length(in);
    if (*len > w->cfg->limits.max_body_bytes) {
        seam_http_reply_json(req, 413, too_big, NULL);
        return NULL;
    }
    const char *body = *len ? (const char *)evbuffer_pullup(in, -1) : "";
    return body ? body : "";
}

static const char oom_ollama[] = "{\"error\":\"out of memory\"}";
static const char oom_anthropic[] =
    "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"out of memory\"}}";

void seam_native_count_tokens(seam_worker *w, struct evhttp_request *req)
{
    size_t len, outlen = 0;
    const char *body = read_body(w, req, &len,
                                 "{\"type\":\"error\",\"error\":{\"type\":\"request_too_large\","
                                 "\"message\":\"request body exceeds the configured limit\"}}");
    if (!body)
        return;
    seam_arena *a = seam_arena_new(8192);
    int status = 500;
    char *out = a ? seam_api_anthropic_count_tokens(a, w->cfg, body, len, &outlen, &status) : NULL;
    seam_http_reply_json(req, out ? status : 500, out ? out : oom_anthropic, NULL);
    seam_arena_free(a);
}

void seam_native_ollama_tags(seam_worker *w, struct evhttp_request *req)
{
    size_t len = 0;
    seam_arena *a = seam_arena_new(8192);
    char *out = a ? seam_api_ollama_tags(w->cfg, a, &len) : NULL;
    seam_http_reply_json(req, out ? 200 : 500, out ? out : oom_ollama, NULL);
    seam_arena_free(a);
}

void seam_native_ollama_show(seam_worker *w, struct evhttp_request *req)
{
    size_t len, outlen = 0;
    const char *body = read_body(w, req, &len, "{\"error\":\"request body too large\"}");
    if (!body)
        return;
    seam_arena *a = seam_arena_new(8192);
    int status = 500;
    char *out = a ? seam_api_ollama_show(w->cfg, body, len, a, &outlen, &status) : NULL;
    seam_http_reply_json(req, out ? status : 500, out ? out : oom_ollama, NULL);
    seam_arena_free(a);
}

void seam_native_ollama_version(seam_worker *w, struct evhttp_request *req)
{
    size_t len = 0;
    seam_arena *a = seam_arena_new(1024);
    char *out = a ? seam_api_ollama_version(a, &len) : NULL;
    seam_http_reply_json(req, out ? 200 : 500, out ? out : oom_ollama, NULL);
    seam_arena_free(a);
}
