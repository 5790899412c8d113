/*
 * OpenAI Chat Completions egress: canonical request -> OpenAI JSON, and
 * OpenAI responses and SSE streams -> canonical events.
 *
 * Stream rules implemented here (OpenAI API reference, "chat.completion.chunk"):
 * tool-call fragments carry an `index`; the first fragment of a call carries
 * its id and name and later ones only argument pieces; a new id at a seen
 * index starts a new call; the stream ends with `data: [DONE]`; usage comes
 * in a last chunk with empty `choices` when `stream_options.include_usage`
 * is set, which seam always asks for so that it can meter.
 */
#include "providers/openai.h"
#include "providers/util.h"
#include "core/jsonbuf.h"
#include "http/sse.h"

#include <stdio.h>
#include <string.h>

/* Bound on one SSE event from an upstream (a whole chunk). */
#define OPENAI_MAX_EVENT      (16u << 20)
#define OPENAI_MAX_TOOL_CALLS 128

static const char *role_name(seam_role r)
{
    switch (r) {
    case SEAM_ROLE_SYSTEM:
        return "system";
    case SEAM_ROLE_DEVELOPER:
        return "developer";
    case SEAM_ROLE_USER:
        return "user";
    case SEAM_ROLE_ASSISTANT:
        return "assistant";
    case SEAM_ROLE_TOOL:
        return "tool";
    }
    return "user";
}

static const char *effort_name(seam_reasoning r)
{
    switch (r) {
    case SEAM_REASONING_OFF:
        return "none";
    case SEAM_REASONING_MINIMAL:
        return "minimal";
    case SEAM_REASONING_LOW:
        return "low";
    case SEAM_REASONING_MEDIUM:
        return "medium";
    case SEAM_REASONING_HIGH:
        return "high";
    case SEAM_REASONING_XHIGH:
        return "xhigh";
    case SEAM_REASONING_MAX:
        return "max";
    case SEAM_REASONING_UNSET:
        break;
    }
    return NULL;
}

static json_t *encode_content(const seam_msg *m)
{
    size_t ncontent = 0;
    for (size_t i = 0; i < m->nparts; i++) {
        seam_part_type t = m->parts[i].type;
        if (t != SEAM_PART_TOOL_CALL && t != SEAM_PART_TOOL_RESULT && t != SEAM_PART_THINKING)
            ncontent++;
    }
    if (m->content_is_string && ncontent <= 1) {
        for (size_t i = 0; i < m->nparts; i++)
            if (m->parts[i].type == SEAM_PART_TEXT || m->parts[i].type == SEAM_PART_TOOL_RESULT)
                return json_stringn(m->parts[i].text, m->parts[i].text_len);
        return m->content_null ? json_null() : json_string("");
    }
    if (ncontent == 0 && m->content_null)
        return json_null();
    json_t *arr = json_array();
    for (size_t i = 0; i < m->nparts; i++) {
        const seam_part *p = &m->parts[i];
        json_t *o = NULL;
        switch (p->type) {
        case SEAM_PART_TEXT:
            o = json_pack("{s:s, s:s%}", "type", "text", "text", p->text, p->text_len);
            break;
        case SEAM_PART_REFUSAL:
            o = json_pack("{s:s, s:s%}", "type", "refusal", "refusal", p->text, p->text_len);
            break;
        case SEAM_PART_IMAGE:
            o = json_pack("{s:s, s:{s:s}}", "type", "image_url", "image_url", "url", p->image_url);
            if (o && p->image_detail)
                json_object_set_new(json_object_get(o, "image_url"), "detail",
                                    json_string(p->image_detail));
            break;
        case SEAM_PART_OPAQUE:
            o = json_incref(p->opaque);
            break;
        case SEAM_PART_TOOL_RESULT:
            if (m->role == SEAM_ROLE_TOOL)
                o = json_pack("{s:s, s:s%}", "type", "text", "text", p->text, p->text_len);
            break;
        case SEAM_PART_TOOL_CALL:
        case SEAM_PART_THINKING:
            break;
        }
        if (o)
            json_array_append_new(arr, o);
    }
    return arr;
}

static json_t *encode_message(const seam_msg *m)
{
    json_t *o = json_pack("{s:s}", "role", role_name(m->role));
    if (!o)
        return NULL;
    if (m->name)
        json_object_set_new(o, "name", json_string(m->name));
    json_t *calls = NULL;
    for (size_t i = 0; i < m->nparts; i++) {
        const seam_part *p = &m->parts[i];
        if (p->type == SEAM_PART_TOOL_CALL) {
            if (!calls)
                calls = json_array();
            json_array_append_new(calls, json_pack("{s:s, s:s, s:{s:s, s:s}}", "id",
                                                   p->call_id ? p->call_id : "", "type", "function",
                                                   "function", "name", p->name, "arguments",
                                                   p->args ? p->args : "{}"));
        } else if (p->type == SEAM_PART_TOOL_RESULT && p->call_id &&
                   !json_object_get(o, "tool_call_id")) {
            json_object_set_new(o, "tool_call_id", json_string(p->call_id));
        }
    }
    json_object_set_new(o, "content", encode_content(m));
    if (calls)
        json_object_set_new(o, "tool_calls", calls);
    return o;
}

json_t *seam_openai_encode_request(const seam_req *req, const char *model)
{
    json_t *body = json_object();
    if (!body)
        return NULL;
    json_object_set_new(body, "model", json_string(model));
    json_t *msgs = json_array();
    for (size_t i = 0; i < req->nmsgs; i++)
        json_array_append_new(msgs, encode_message(&req->msgs[i]));
    json_object_set_new(body, "messages", msgs);

    if (req->ntools > 0) {
        json_t *tools = json_array();
        for (size_t i = 0; i < req->ntools; i++) {
            const seam_tool *t = &req->tools[i];
            json_t *fn = json_pack("{s:s}", "name", t->name);
            if (t->description)
                json_object_set_new(fn, "description", json_string(t->description));
            if (t->parameters)
                json_object_set(fn, "parameters", t->parameters);
            if (t->strict >= 0)
                json_object_set_new(fn, "strict", json_boolean(t->strict));
            json_array_append_new(tools,
                                  json_pack("{s:s, s:o}", "type", "function", "function", fn));
        }
        json_object_set_new(body, "tools", tools);
    }
    const seam_params *p = &req->params;
    if (p->tool_choice)
        json_object_set(body, "tool_choice", p->tool_choice);
    if (p->response_format)
        json_object_set(body, "response_format", p->response_format);
    if (p->max_tokens >= 0)
        json_object_set_new(body, p->max_tokens_legacy ? "max_tokens" : "max_completion_tokens",
                            json_integer(p->max_tokens));
    if (p->has_temperature)
        json_object_set_new(body, "temperature", json_real(p->temperature));
    if (p->has_top_p)
        json_object_set_new(body, "top_p", json_real(p->top_p));
    if (p->has_seed)
        json_object_set_new(body, "seed", json_integer(p->seed));
    if (p->nstop > 0) {
        json_t *stop = json_array();
        for (size_t i = 0; i < p->nstop; i++)
            json_array_append_new(stop, json_string(p->stop[i]));
        json_object_set_new(body, "stop", stop);
    }
    /* The client's own spelling only travels between OpenAI dialects. */
    const char *effort = p->reasoning_raw && req->ingress == SEAM_API_OPENAI
                             ? p->reasoning_raw
                             : effort_name(p->reasoning);
    if (effort)
        json_object_set_new(body, "reasoning_effort", json_string(effort));
    if (req->stream) {
        json_object_set_new(body, "stream", json_true());
        /* Always ask for usage so the gateway can meter; the client only sees
         * the usage chunk if it asked for it. */
        json_object_set_new(body, "stream_options", json_pack("{s:b}", "include_usage", 1));
    }
    /* Fields seam does not model travel only between OpenAI dialects. */
    if (req->passthrough && req->ingress == SEAM_API_OPENAI)
        json_object_update_missing(body, req->passthrough);
    return body;
}

static seam_rc openai_build(const seam_req *req, const seam_backend_conf *b, const char *model,
                            const char *api_key, seam_arena *a, seam_upstream_call *out, char *err,
                            size_t errlen)
{
    /* Parts seam does not model travel only between OpenAI dialects; another
     * dialect's (an Anthropic document, say) would only earn an upstream 400,
     * so say plainly what cannot be sent. */
    for (size_t i = 0; req->ingress != SEAM_API_OPENAI && i < req->nmsgs; i++)
        for (size_t j = 0; j < req->msgs[i].nparts; j++) {
            const seam_part *p = &req->msgs[i].parts[j];
            if (p->type != SEAM_PART_OPAQUE)
                continue;
            const json_t *t = p->opaque ? json_object_get(p->opaque, "type") : NULL;
            snprintf(err, errlen,
                     "content parts of type '%s' cannot be sent to an OpenAI-compatible backend",
                     json_is_string(t) ? json_string_value(t) : "unknown");
            return SEAM_ERR_INVALID;
        }
    json_t *body = seam_openai_encode_request(req, model);
    if (!body) {
        snprintf(err, errlen, "out of memory");
        return SEAM_ERR_NOMEM;
    }
    seam_buf_init(&out->body, (size_t)-1);
    seam_rc rc = seam_buf_add_json(&out->body, body, JSON_COMPACT);
    json_decref(body);
    if (rc != SEAM_OK)
        return rc;
    out->url = seam_arena_printf(a, "%s/v1/chat/completions", b->url);
    const char **h = seam_arena_calloc(a, 4 * sizeof(char *));
    if (!out->url || !h)
        return SEAM_ERR_NOMEM;
    size_t k = 0;
    h[k++] = "Content-Type: application/json";
    h[k++] = req->stream ? "Accept: text/event-stream" : "Accept: application/json";
    if (api_key && api_key[0])
        h[k++] = seam_arena_printf(a, "Authorization: Bearer %s", api_key);
    out->headers = h;
    return SEAM_OK;
}

/* ---- responses to events ---- */

static int64_t get_int(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

static seam_finish parse_finish(const char *s)
{
    if (!s)
        return SEAM_FINISH_STOP;
    if (strcmp(s, "length") == 0)
        return SEAM_FINISH_LENGTH;
    if (strcmp(s, "tool_calls") == 0 || strcmp(s, "function_call") == 0)
        return SEAM_FINISH_TOOL_CALLS;
    if (strcmp(s, "content_filter") == 0)
        return SEAM_FINISH_CONTENT_FILTER;
    return SEAM_FINISH_STOP;
}

static int emit_usage(const json_t *u, const seam_event_sink *sink)
{
    if (!json_is_object(u))
        return 0;
    seam_event ev = {.type = SEAM_EV_USAGE};
    ev.usage.input = get_int(u, "prompt_tokens");
    ev.usage.output = get_int(u, "completion_tokens");
    ev.usage.reasoning =
        get_int(json_object_get(u, "completion_tokens_details"), "reasoning_tokens");
    ev.usage.cached = get_int(json_object_get(u, "prompt_tokens_details"), "cached_tokens");
    return seam_emit(sink, &ev);
}

static int emit_text(seam_event_type type, const json_t *v, const seam_event_sink *sink)
{
    if (!json_is_string(v) || json_string_length(v) == 0)
        return 0;
    seam_event ev = {.type = type, .text = json_string_value(v), .text_len = json_string_length(v)};
    return seam_emit(sink, &ev);
}

/* Reasoning text: vLLM and Ollama say "reasoning", llama.cpp and DeepSeek
 * "reasoning_content"; accept both. */
static const json_t *reasoning_of(const json_t *o)
{
    const json_t *r = json_object_get(o, "reasoning_content");
    return r ? r : json_object_get(o, "reasoning");
}

static int emit_error_obj(const json_t *err, const seam_event_sink *sink)
{
    const json_t *m = json_object_get(err, "message");
    seam_event ev = {.type = SEAM_EV_ERROR, .status = 502};
    ev.text = json_is_string(m) ? json_string_value(m) : "upstream reported an error";
    ev.text_len = strlen(ev.text);
    const json_t *t = json_object_get(err, "type");
    ev.err_type = json_is_string(t) ? json_string_value(t) : NULL;
    return seam_emit(sink, &ev);
}

static seam_rc openai_parse_response(const char *body, size_t len, seam_arena *a,
                                     const seam_event_sink *sink, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = seam_arena_json(a, json_loadb(body, len, 0, &jerr));
    if (!json_is_object(root)) {
        snprintf(err, errlen, "upstream sent a body that is not a JSON object");
        return SEAM_ERR_UPSTREAM;
    }
    if (json_is_object(json_object_get(root, "error"))) {
        emit_error_obj(json_object_get(root, "error"), sink);
        return SEAM_OK;
    }
    json_t *choices = json_object_get(root, "choices");
    json_t *c0 = json_array_get(choices, 0);
    json_t *msg = json_object_get(c0, "message");
    if (!json_is_object(msg)) {
        snprintf(err, errlen, "upstream response has no choices[0].message");
        return SEAM_ERR_UPSTREAM;
    }
    const json_t *id = json_object_get(root, "id"), *model = json_object_get(root, "model");
    seam_event start = {.type = SEAM_EV_START,
                        .id = json_is_string(id) ? json_string_value(id) : NULL,
                        .name = json_is_string(model) ? json_string_value(model) : NULL};
    if (seam_emit(sink, &start) || emit_text(SEAM_EV_THINKING_DELTA, reasoning_of(msg), sink) ||
        emit_text(SEAM_EV_TEXT_DELTA, json_object_get(msg, "content"), sink) ||
        emit_text(SEAM_EV_REFUSAL_DELTA, json_object_get(msg, "refusal"), sink))
        return SEAM_ERR_CANCELLED;
    json_t *calls = json_object_get(msg, "tool_calls");
    size_t i;
    json_t *call;
    json_array_foreach(calls, i, call)
    {
        json_t *fn = json_object_get(call, "function");
        const json_t *cid = json_object_get(call, "id"), *name = json_object_get(fn, "name");
        const json_t *args = json_object_get(fn, "arguments");
        if (!json_is_string(name)) {
            snprintf(err, errlen, "upstream tool call %zu has no function name", i);
            return SEAM_ERR_UPSTREAM;
        }
        seam_event b = {.type = SEAM_EV_TOOL_CALL_BEGIN,
                        .index = (int)i,
                        .id = json_is_string(cid) ? json_string_value(cid) : NULL,
                        .name = json_string_value(name)};
        seam_event d = {.type = SEAM_EV_TOOL_CALL_ARGS_DELTA, .index = (int)i};
        if (json_is_string(args)) {
            d.text = json_string_value(args);
            d.text_len = json_string_length(args);
        } else {
            d.text = "{}";
            d.text_len = 2;
        }
        seam_event e = {.type = SEAM_EV_TOOL_CALL_END, .index = (int)i};
        if (seam_emit(sink, &b) || seam_emit(sink, &d) || seam_emit(sink, &e))
            return SEAM_ERR_CANCELLED;
    }
    if (emit_usage(json_object_get(root, "usage"), sink))
        return SEAM_ERR_CANCELLED;
    const json_t *fr = json_object_get(c0, "finish_reason");
    seam_event fin = {.type = SEAM_EV_FINISH,
                      .finish = parse_finish(json_is_string(fr) ? json_string_value(fr) : NULL)};
    if (fin.finish == SEAM_FINISH_STOP && json_array_size(calls) > 0)
        fin.finish = SEAM_FINISH_TOOL_CALLS;
    return seam_emit(sink, &fin) ? SEAM_ERR_CANCELLED : SEAM_OK;
}

/* ---- streams ---- */

struct seam_provider_stream {
    seam_sse_parser sse;
    seam_arena *arena;
    const seam_event_sink *sink;
    bool started, finished, done;
    seam_rc rc;
    char *err;
    size_t errlen;
    /* Open tool calls by upstream index: their ids, to notice a new call. */
    struct {
        bool open;
        char id[96];
    } calls[OPENAI_MAX_TOOL_CALLS];
};

static void stream_release(void *p)
{
    seam_sse_free(&((seam_provider_stream *)p)->sse);
}

static seam_provider_stream *openai_stream_new(seam_arena *a)
{
    seam_provider_stream *s = seam_arena_calloc(a, sizeof(*s));
    if (!s)
        return NULL;
    seam_sse_init(&s->sse, OPENAI_MAX_EVENT);
    s->arena = a;
    if (seam_arena_on_free(a, stream_release, s) != 0)
        return NULL;
    return s;
}

static int close_calls(seam_provider_stream *s)
{
    for (int i = 0; i < OPENAI_MAX_TOOL_CALLS; i++) {
        if (!s->calls[i].open)
            continue;
        s->calls[i].open = false;
        seam_event e = {.type = SEAM_EV_TOOL_CALL_END, .index = i};
        if (seam_emit(s->sink, &e))
            return -1;
    }
    return 0;
}

static int stream_fail(seam_provider_stream *s, const char *msg)
{
    snprintf(s->err, s->errlen, "%s", msg);
    s->rc = SEAM_ERR_UPSTREAM;
    return -1;
}

static int on_tool_delta(seam_provider_stream *s, const json_t *tc)
{
    const json_t *ix = json_object_get(tc, "index");
    const json_t *fn = json_object_get(tc, "function");
    const json_t *id = json_object_get(tc, "id");
    const json_t *name = json_object_get(fn, "name");
    const json_t *args = json_object_get(fn, "arguments");
    json_int_t i = json_is_integer(ix) ? json_integer_value(ix) : 0;
    if (i < 0 || i >= OPENAI_MAX_TOOL_CALLS)
        return stream_fail(s, "upstream tool call index out of range");
    bool new_id = json_is_string(id) && strcmp(s->calls[i].id, json_string_value(id)) != 0;
    if (new_id && s->calls[i].open) {
        /* A new id at a seen index is a new call. */
        seam_event e = {.type = SEAM_EV_TOOL_CALL_END, .index = (int)i};
        if (seam_emit(s->sink, &e))
            return -1;
        s->calls[i].open = false;
    }
    if (!s->calls[i].open) {
        if (!json_is_string(name))
            return stream_fail(s, "upstream tool call started without a function name");
        snprintf(s->calls[i].id, sizeof(s->calls[i].id), "%s",
                 json_is_string(id) ? json_string_value(id) : "");
        s->calls[i].open = true;
        seam_event b = {.type = SEAM_EV_TOOL_CALL_BEGIN,
                        .index = (int)i,
                        .id = json_is_string(id) ? json_string_value(id) : NULL,
                        .name = json_string_value(name)};
        if (seam_emit(s->sink, &b))
            return -1;
    }
    if (json_is_string(args) && json_string_length(args) > 0) {
        seam_event d = {.type = SEAM_EV_TOOL_CALL_ARGS_DELTA,
                        .index = (int)i,
                        .text = json_string_value(args),
                        .text_len = json_string_length(args)};
        if (seam_emit(s->sink, &d))
            return -1;
    }
    return 0;
}

static int on_chunk(seam_provider_stream *s, json_t *chunk)
{
    if (json_is_object(json_object_get(chunk, "error"))) {
        s->finished = true;
        return emit_error_obj(json_object_get(chunk, "error"), s->sink) ? -1 : 0;
    }
    if (!s->started) {
        const json_t *id = json_object_get(chunk, "id"), *model = json_object_get(chunk, "model");
        seam_event ev = {.type = SEAM_EV_START,
                         .id = json_is_string(id) ? json_string_value(id) : NULL,
                         .name = json_is_string(model) ? json_string_value(model) : NULL};
        s->started = true;
        if (seam_emit(s->sink, &ev))
            return -1;
    }
    json_t *c0 = json_array_get(json_object_get(chunk, "choices"), 0);
    if (c0) {
        json_t *delta = json_object_get(c0, "delta");
        if (emit_text(SEAM_EV_THINKING_DELTA, reasoning_of(delta), s->sink) ||
            emit_text(SEAM_EV_TEXT_DELTA, json_object_get(delta, "content"), s->sink) ||
            emit_text(SEAM_EV_REFUSAL_DELTA, json_object_get(delta, "refusal"), s->sink))
            return -1;
        size_t i;
        json_t *tc;
        json_array_foreach(json_object_get(delta, "tool_calls"), i,
                           tc) if (on_tool_delta(s, tc)) return -1;
        const json_t *fr = json_object_get(c0, "finish_reason");
        if (json_is_string(fr) && !s->finished) {
            bool had_calls = false;
            for (int k = 0; k < OPENAI_MAX_TOOL_CALLS; k++)
                had_calls |= s->calls[k].open;
            if (close_calls(s))
                return -1;
            seam_event fin = {.type = SEAM_EV_FINISH,
                              .finish = parse_finish(json_string_value(fr))};
            if (fin.finish == SEAM_FINISH_STOP && had_calls)
                fin.finish = SEAM_FINISH_TOOL_CALLS;
            s->finished = true;
            if (seam_emit(s->sink, &fin))
                return -1;
        }
    }
    return emit_usage(json_object_get(chunk, "usage"), s->sink);
}

static int on_sse(void *ctx, const char *event, const char *data, size_t len)
{
    seam_provider_stream *s = ctx;
    if (s->done)
        return 0; /* bytes after [DONE] are ignored */
    if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
        s->done = true;
        return 0;
    }
    json_error_t jerr;
    json_t *chunk = json_loadb(data, len, 0, &jerr);
    if (!json_is_object(chunk)) {
        json_decref(chunk);
        return stream_fail(s, "upstream sent a stream event that is not a JSON object");
    }
    int r = on_chunk(s, chunk);
    json_decref(chunk);
    return r;
}

static seam_rc openai_stream_feed(seam_provider_stream *s, const char *p, size_t n,
                                  const seam_event_sink *sink, char *err, size_t errlen)
{
    s->sink = sink;
    s->err = err;
    s->errlen = errlen;
    s->rc = SEAM_OK;
    seam_rc rc = seam_sse_feed(&s->sse, p, n, on_sse, s);
    if (rc == SEAM_ERR_TOO_BIG)
        snprintf(err, errlen, "upstream stream event exceeds %u bytes", OPENAI_MAX_EVENT);
    if (rc == SEAM_ERR_CANCELLED)
        return s->rc != SEAM_OK ? s->rc : SEAM_ERR_CANCELLED;
    return rc == SEAM_ERR_TOO_BIG ? SEAM_ERR_UPSTREAM : rc;
}

static seam_rc openai_stream_end(seam_provider_stream *s, const seam_event_sink *sink, char *err,
                                 size_t errlen)
{
    s->sink = sink;
    s->err = err;
    s->errlen = errlen;
    s->rc = SEAM_OK;
    seam_rc rc = seam_sse_finish(&s->sse, on_sse, s);
    if (rc == SEAM_ERR_CANCELLED)
        return s->rc != SEAM_OK ? s->rc : SEAM_ERR_CANCELLED;
    if (!s->finished) {
        snprintf(err, errlen, "upstream stream ended before the answer was complete");
        return SEAM_ERR_UPSTREAM;
    }
    return rc;
}

const seam_provider seam_provider_openai = {
    .name = "openai",
    .build = openai_build,
    .parse_response = openai_parse_response,
    .stream_new = openai_stream_new,
    .stream_feed = openai_stream_feed,
    .stream_end = openai_stream_end,
    .error_message = seam_provider__error_message,
    .probe_path = "/v1/models",
};
