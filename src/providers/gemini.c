/*
 * Google Gemini egress: canonical request -> generateContent /
 * streamGenerateContent?alt=sse, and GenerateContentResponse objects (one,
 * or one per SSE event) -> canonical events.
 *
 * Request rules enforced here (Gemini API reference, "Generating content"):
 * roles are user and model, and turns of one role are merged; system
 * messages go to systemInstruction; images are inlineData (Gemini does not
 * fetch arbitrary URLs); function calls carry args objects; a
 * functionResponse names its function and its response must be an object,
 * so a result that is not a JSON object travels as {"output": "<text>"};
 * the responses to parallel calls form one turn, first in it.
 *
 * Answers: parts with thought:true are thinking; function calls come whole
 * and may have no id, so ids `call_<n>` are synthesised; there is no
 * tool-call finish reason (a call ends with STOP); usageMetadata may repeat
 * and the last one counts; candidatesTokenCount excludes thoughts. A stream
 * has no terminator: it is complete when it closes after an event that
 * carried a finishReason, which is why the finish is emitted at stream_end.
 */
#include "providers/gemini.h"
#include "core/jsonbuf.h"
#include "http/sse.h"
#include "providers/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- request ---- */

struct turn {
    bool user;
    json_t *results, *parts;
};

struct enc {
    const seam_req *req;
    seam_arena *a;
    struct turn *turns;
    size_t nturns;
    json_t *system;
    char *err;
    size_t errlen;
};

static seam_rc invalid(struct enc *e, const char *fmt, const char *what)
{
    snprintf(e->err, e->errlen, fmt, what);
    return SEAM_ERR_INVALID;
}

/* Adds <part> (stolen) to the last turn when it has the same role, else to
 * a new turn: consecutive same-role messages merge here. */
static seam_rc add_part(struct enc *e, bool user, json_t *part, bool result)
{
    if (!part)
        return SEAM_ERR_NOMEM;
    struct turn *t = e->nturns ? &e->turns[e->nturns - 1] : NULL;
    if (!t || t->user != user) {
        t = &e->turns[e->nturns++];
        t->user = user;
        t->results = json_array();
        t->parts = json_array();
        if (!t->results || !t->parts) {
            json_decref(part);
            return SEAM_ERR_NOMEM;
        }
    }
    return json_array_append_new(result ? t->results : t->parts, part) == 0 ? SEAM_OK
                                                                            : SEAM_ERR_NOMEM;
}

static json_t *text_part(const seam_part *p)
{
    return json_pack("{s:s%}", "text", p->text ? p->text : "", p->text_len);
}

static seam_rc unsupported_part(struct enc *e, const seam_part *p)
{
    const json_t *t = p->opaque ? json_object_get(p->opaque, "type") : NULL;
    return invalid(e, "content parts of type '%s' cannot be sent to a Gemini backend",
                   json_is_string(t) ? json_string_value(t) : "unknown");
}

static seam_rc image_part(struct enc *e, const seam_part *p, json_t **out)
{
    const char *mime, *data;
    if (seam_provider__data_url(p->image_url, e->a, &mime, &data) != 0)
        return invalid(e, "%s",
                       seam_provider__remote_url(p->image_url)
                           ? "remote image URLs are not fetched: send the image as a base64 "
                             "data URL"
                           : "an image must be a base64 data URL");
    *out = json_pack("{s:{s:s, s:s}}", "inlineData", "mimeType", mime, "data", data);
    return *out ? SEAM_OK : SEAM_ERR_NOMEM;
}

static seam_rc encode_system(struct enc *e, const seam_msg *m)
{
    for (size_t i = 0; i < m->nparts; i++) {
        const seam_part *p = &m->parts[i];
        if (p->type == SEAM_PART_TEXT && p->text_len > 0) {
            if (json_array_append_new(e->system, text_part(p)) != 0)
                return SEAM_ERR_NOMEM;
        } else if (p->type == SEAM_PART_IMAGE) {
            return invalid(e, "%s", "system messages cannot carry images");
        } else if (p->type == SEAM_PART_OPAQUE) {
            return unsupported_part(e, p);
        }
    }
    return SEAM_OK;
}

static seam_rc encode_user(struct enc *e, const seam_msg *m)
{
    seam_rc rc = SEAM_OK;
    for (size_t i = 0; i < m->nparts && rc == SEAM_OK; i++) {
        const seam_part *p = &m->parts[i];
        json_t *o;
        switch (p->type) {
        case SEAM_PART_TEXT:
        case SEAM_PART_REFUSAL:
            if (p->text_len > 0)
                rc = add_part(e, true, text_part(p), false);
            break;
        case SEAM_PART_IMAGE:
            if ((rc = image_part(e, p, &o)) == SEAM_OK)
                rc = add_part(e, true, o, false);
            break;
        case SEAM_PART_OPAQUE:
            return unsupported_part(e, p);
        case SEAM_PART_TOOL_CALL:
        case SEAM_PART_TOOL_RESULT:
        case SEAM_PART_THINKING:
            break;
        }
    }
    return rc;
}

/* A tool message -> a functionResponse part. Gemini matches responses to
 * calls by name (and order), so the name comes from the call the message
 * answers. */
static seam_rc encode_tool(struct enc *e, const seam_msg *m, size_t mi)
{
    const char *id = NULL;
    for (size_t i = 0; i < m->nparts; i++) {
        if (!id && m->parts[i].call_id)
            id = m->parts[i].call_id;
        if (m->parts[i].type == SEAM_PART_IMAGE)
            return invalid(e, "%s", "tool results with images cannot be sent to a Gemini backend");
        if (m->parts[i].type == SEAM_PART_OPAQUE)
            return unsupported_part(e, &m->parts[i]);
    }
    const char *name = seam_provider__call_name(e->req, mi, id);
    if (!name)
        return invalid(e,
                       "the tool result for call '%s' answers no earlier tool call; Gemini needs "
                       "the function's name",
                       id ? id : "");
    size_t len;
    const char *text = seam_provider__result_text(m, e->a, &len);
    if (!text)
        return SEAM_ERR_NOMEM;
    json_error_t jerr;
    json_t *resp = json_loadb(text, len, 0, &jerr);
    if (!json_is_object(resp)) {
        json_decref(resp);
        resp = json_pack("{s:s%}", "output", text, len);
    }
    return add_part(e, true,
                    json_pack("{s:{s:s, s:o}}", "functionResponse", "name", name, "response", resp),
                    true);
}

static seam_rc encode_assistant(struct enc *e, const seam_msg *m)
{
    seam_rc rc = SEAM_OK;
    for (size_t i = 0; i < m->nparts && rc == SEAM_OK; i++) {
        const seam_part *p = &m->parts[i];
        switch (p->type) {
        case SEAM_PART_TEXT:
        case SEAM_PART_REFUSAL:
            if (p->text_len > 0)
                rc = add_part(e, false, text_part(p), false);
            break;
        case SEAM_PART_TOOL_CALL: {
            json_t *args = seam_provider__args_object(p, e->err, e->errlen);
            if (!args)
                return SEAM_ERR_INVALID;
            rc = add_part(e, false,
                          json_pack("{s:{s:s, s:o}}", "functionCall", "name",
                                    p->name ? p->name : "", "args", args),
                          false);
            break;
        }
        case SEAM_PART_IMAGE:
            return invalid(e, "%s", "assistant messages cannot carry images");
        case SEAM_PART_OPAQUE:
            return unsupported_part(e, p);
        case SEAM_PART_THINKING:
            /* Thought summaries are not sent back; signatures, which Gemini
             * does want back, are not part of the canonical model. */
        case SEAM_PART_TOOL_RESULT:
            break;
        }
    }
    return rc;
}

static json_t *encode_tools(const seam_req *req)
{
    json_t *decls = json_array();
    for (size_t i = 0; decls && i < req->ntools; i++) {
        const seam_tool *t = &req->tools[i];
        json_t *d = json_pack("{s:s}", "name", t->name);
        if (d && t->description)
            json_object_set_new(d, "description", json_string(t->description));
        /* parametersJsonSchema takes JSON Schema as is; `parameters` takes
         * only Gemini's OpenAPI subset. */
        if (d && t->parameters)
            json_object_set(d, "parametersJsonSchema", t->parameters);
        json_array_append_new(decls, d);
    }
    return json_pack("[{s:o}]", "functionDeclarations", decls);
}

static seam_rc encode_tool_config(struct enc *e, json_t *body)
{
    const json_t *tc = e->req->params.tool_choice;
    if (e->req->ntools == 0 || !tc)
        return SEAM_OK;
    json_t *fcc;
    const char *s = json_string_value(tc);
    if (s && strcmp(s, "none") == 0)
        fcc = json_pack("{s:s}", "mode", "NONE");
    else if (s && strcmp(s, "auto") == 0)
        fcc = json_pack("{s:s}", "mode", "AUTO");
    else if (s && strcmp(s, "required") == 0)
        fcc = json_pack("{s:s}", "mode", "ANY");
    else {
        const json_t *name = json_object_get(json_object_get(tc, "function"), "name");
        if (!json_is_string(name))
            return invalid(e, "%s",
                           "tool_choice must be none, auto, required or "
                           "{\"type\":\"function\",\"function\":{\"name\":...}}");
        fcc = json_pack("{s:s, s:[O]}", "mode", "ANY", "allowedFunctionNames", name);
    }
    if (!fcc)
        return SEAM_ERR_NOMEM;
    json_object_set_new(body, "toolConfig", json_pack("{s:o}", "functionCallingConfig", fcc));
    return SEAM_OK;
}

static json_t *encode_generation(const seam_req *req)
{
    const seam_params *p = &req->params;
    json_t *g = json_object();
    if (!g)
        return NULL;
    if (p->max_tokens >= 0)
        json_object_set_new(g, "maxOutputTokens", json_integer(p->max_tokens));
    if (p->has_temperature)
        json_object_set_new(g, "temperature", json_real(p->temperature));
    if (p->has_top_p)
        json_object_set_new(g, "topP", json_real(p->top_p));
    if (p->nstop > 0) {
        json_t *stop = json_array();
        for (size_t i = 0; i < p->nstop; i++)
            json_array_append_new(stop, json_string(p->stop[i]));
        json_object_set_new(g, "stopSequences", stop);
    }
    if (p->has_seed)
        json_object_set_new(g, "seed", json_integer(p->seed));
    const char *rft = json_string_value(json_object_get(p->response_format, "type"));
    if (rft && (strcmp(rft, "json_object") == 0 || strcmp(rft, "json_schema") == 0)) {
        json_object_set_new(g, "responseMimeType", json_string("application/json"));
        json_t *schema =
            json_object_get(json_object_get(p->response_format, "json_schema"), "schema");
        if (json_is_object(schema))
            json_object_set(g, "responseJsonSchema", schema);
    }
    /* thinkingBudget (Gemini 2.5; accepted by Gemini 3 for compatibility):
     * off is 0, an effort the client's explicit budget or else the level's
     * by the convention of util.h, with the thoughts included so that
     * clients can see them. Unset leaves the model's default. */
    if (p->reasoning == SEAM_REASONING_OFF)
        json_object_set_new(g, "thinkingConfig", json_pack("{s:i}", "thinkingBudget", 0));
    else if (p->reasoning != SEAM_REASONING_UNSET)
        json_object_set_new(
            g, "thinkingConfig",
            json_pack("{s:b, s:I}", "includeThoughts", 1, "thinkingBudget",
                      (json_int_t)(p->reasoning_budget > 0 ? p->reasoning_budget
                                                           : seam_provider__budget(p->reasoning))));
    return g;
}

static seam_rc encode_messages(struct enc *e)
{
    seam_rc rc = SEAM_OK;
    for (size_t i = 0; i < e->req->nmsgs && rc == SEAM_OK; i++) {
        const seam_msg *m = &e->req->msgs[i];
        switch (m->role) {
        case SEAM_ROLE_SYSTEM:
        case SEAM_ROLE_DEVELOPER:
            rc = encode_system(e, m);
            break;
        case SEAM_ROLE_USER:
            rc = encode_user(e, m);
            break;
        case SEAM_ROLE_TOOL:
            rc = encode_tool(e, m, i);
            break;
        case SEAM_ROLE_ASSISTANT:
            rc = encode_assistant(e, m);
            break;
        }
    }
    return rc;
}

json_t *seam_gemini_encode_request(const seam_req *req, seam_arena *a, seam_rc *rcp, char *err,
                                   size_t errlen)
{
    struct enc e = {.req = req, .a = a, .err = err, .errlen = errlen};
    json_t *body = json_object();
    json_t *contents = json_array();
    e.system = json_array();
    e.turns = seam_arena_calloc(a, (req->nmsgs + 1) * sizeof(struct turn));
    seam_rc rc = SEAM_ERR_NOMEM;
    if (!body || !contents || !e.system || !e.turns)
        goto out;
    if ((rc = encode_messages(&e)) != SEAM_OK)
        goto out;
    rc = SEAM_ERR_NOMEM;
    for (size_t i = 0; i < e.nturns; i++) {
        json_t *parts = e.turns[i].results;
        if (json_array_extend(parts, e.turns[i].parts) != 0 ||
            json_array_append_new(contents, json_pack("{s:s, s:O}", "role",
                                                      e.turns[i].user ? "user" : "model", "parts",
                                                      parts)) != 0)
            goto out;
    }
    if (json_array_size(contents) == 0) {
        snprintf(err, errlen, "the request has no non-empty user or assistant message to send");
        rc = SEAM_ERR_INVALID;
        goto out;
    }
    json_object_set(body, "contents", contents);
    if (json_array_size(e.system) > 0)
        json_object_set_new(body, "systemInstruction", json_pack("{s:O}", "parts", e.system));
    if (req->ntools > 0)
        json_object_set_new(body, "tools", encode_tools(req));
    if ((rc = encode_tool_config(&e, body)) != SEAM_OK)
        goto out;
    json_t *g = encode_generation(req);
    if (!g) {
        rc = SEAM_ERR_NOMEM;
        goto out;
    }
    if (json_object_size(g) > 0)
        json_object_set_new(body, "generationConfig", g);
    else
        json_decref(g);
    rc = SEAM_OK;
out:
    for (size_t i = 0; i < e.nturns; i++) {
        json_decref(e.turns[i].results);
        json_decref(e.turns[i].parts);
    }
    json_decref(e.system);
    json_decref(contents);
    if (rc != SEAM_OK) {
        if (rc == SEAM_ERR_NOMEM)
            snprintf(err, errlen, "out of memory");
        json_decref(body);
        body = NULL;
    }
    *rcp = rc;
    return body;
}

static seam_rc gemini_build(const seam_req *req, const seam_backend_conf *b, const char *model,
                            const char *api_key, seam_arena *a, seam_upstream_call *out, char *err,
                            size_t errlen)
{
    seam_rc rc;
    json_t *body = seam_gemini_encode_request(req, a, &rc, err, errlen);
    seam_buf_init(&out->body, (size_t)-1);
    if (!body)
        return rc;
    if ((rc = seam_provider__dump(body, out)) != SEAM_OK)
        return rc;
    /* Gemini's own model names are "models/<id>"; the path adds "models/". */
    if (strncmp(model, "models/", 7) == 0)
        model += 7;
    out->url = seam_arena_printf(a, "%s/v1beta/models/%s:%s", b->url, model,
                                 req->stream ? "streamGenerateContent?alt=sse" : "generateContent");
    const char **h = seam_arena_calloc(a, 4 * sizeof(char *));
    if (!out->url || !h)
        return SEAM_ERR_NOMEM;
    size_t k = 0;
    h[k++] = "Content-Type: application/json";
    h[k++] = req->stream ? "Accept: text/event-stream" : "Accept: application/json";
    if (api_key && api_key[0] && !(h[k++] = seam_arena_printf(a, "x-goog-api-key: %s", api_key)))
        return SEAM_ERR_NOMEM;
    out->headers = h;
    return SEAM_OK;
}

static const char **gemini_probe_headers(const char *api_key, seam_arena *a)
{
    const char **h = seam_arena_calloc(a, 2 * sizeof(char *));
    if (h && api_key && api_key[0] && !(h[0] = seam_arena_printf(a, "x-goog-api-key: %s", api_key)))
        return NULL;
    return h;
}

/* ---- answers to events ---- */

/* What one answer has shown so far, whole or streamed. */
struct answer {
    bool started, finish_seen, failed;
    int ncalls;
    char finish[40];
    int64_t prompt, candidates, thoughts, cached; /* -1 when not reported */
};

static void answer_init(struct answer *st)
{
    memset(st, 0, sizeof(*st));
    st->prompt = st->candidates = st->thoughts = st->cached = -1;
}

static int64_t get_int(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

static seam_finish parse_finish(const char *s, bool calls)
{
    static const char *const filtered[] = {"SAFETY",
                                           "RECITATION",
                                           "BLOCKLIST",
                                           "PROHIBITED_CONTENT",
                                           "SPII",
                                           "IMAGE_SAFETY",
                                           "LANGUAGE",
                                           "IMAGE_PROHIBITED_CONTENT",
                                           "IMAGE_RECITATION"};
    if (strcmp(s, "MAX_TOKENS") == 0)
        return SEAM_FINISH_LENGTH;
    for (size_t i = 0; i < sizeof(filtered) / sizeof(filtered[0]); i++)
        if (strcmp(s, filtered[i]) == 0)
            return SEAM_FINISH_CONTENT_FILTER;
    if (strcmp(s, "MALFORMED_FUNCTION_CALL") == 0 || strcmp(s, "UNEXPECTED_TOOL_CALL") == 0)
        return SEAM_FINISH_ERROR;
    /* STOP, OTHER and reasons newer than this code: a call ends with STOP. */
    return calls ? SEAM_FINISH_TOOL_CALLS : SEAM_FINISH_STOP;
}

static int emit_parts(struct answer *st, const json_t *parts, const seam_event_sink *sink,
                      char *err, size_t errlen)
{
    size_t i;
    const json_t *p;
    json_array_foreach(parts, i, p)
    {
        const json_t *fc = json_object_get(p, "functionCall");
        const json_t *text = json_object_get(p, "text");
        if (json_is_object(fc)) {
            const json_t *name = json_object_get(fc, "name"), *args = json_object_get(fc, "args");
            const json_t *id = json_object_get(fc, "id");
            if (!json_is_string(name)) {
                snprintf(err, errlen, "upstream functionCall has no name");
                return 1;
            }
            if (st->ncalls >= SEAM_PROVIDER_MAX_CALLS) {
                snprintf(err, errlen, "upstream sent too many function calls");
                return 1;
            }
            char synth[32];
            snprintf(synth, sizeof(synth), "call_%d", st->ncalls);
            char *dumped = json_is_object(args) ? seam_json_dumps(args, JSON_COMPACT) : NULL;
            const char *a = dumped ? dumped : "{}";
            int r = seam_provider__emit_call(
                sink, st->ncalls++,
                json_is_string(id) && json_string_length(id) ? json_string_value(id) : synth,
                json_string_value(name), a, strlen(a));
            free(dumped);
            if (r)
                return -1;
        } else if (json_is_string(text)) {
            seam_event_type t = json_is_true(json_object_get(p, "thought")) ? SEAM_EV_THINKING_DELTA
                                                                            : SEAM_EV_TEXT_DELTA;
            if (seam_provider__emit_text(sink, t, json_string_value(text),
                                         json_string_length(text)))
                return -1;
        }
        /* inlineData, executableCode, ...: nothing the canonical answer
         * carries. */
    }
    return 0;
}

/* One GenerateContentResponse (a whole answer or one stream event).
 * Returns 0, -1 when the sink stopped, 1 with <err> when it is garbage. */
static int on_response(struct answer *st, const json_t *o, const seam_event_sink *sink, char *err,
                       size_t errlen)
{
    const json_t *e = json_object_get(o, "error");
    if (json_is_object(e)) {
        st->failed = true;
        const json_t *status = json_object_get(e, "status");
        return seam_provider__emit_error(sink, json_string_value(json_object_get(e, "message")),
                                         json_string_value(status))
                   ? -1
                   : 0;
    }
    const json_t *cands = json_object_get(o, "candidates");
    const json_t *usage = json_object_get(o, "usageMetadata");
    const json_t *fb = json_object_get(o, "promptFeedback");
    if (!json_is_array(cands) && !json_is_object(usage) && !json_is_object(fb)) {
        snprintf(err, errlen, "upstream answer has no candidates");
        return 1;
    }
    if (!st->started) {
        st->started = true;
        seam_event ev = {.type = SEAM_EV_START,
                         .id = json_string_value(json_object_get(o, "responseId")),
                         .name = json_string_value(json_object_get(o, "modelVersion"))};
        if (seam_emit(sink, &ev))
            return -1;
    }
    const json_t *c0 = json_array_get(cands, 0);
    int r =
        emit_parts(st, json_object_get(json_object_get(c0, "content"), "parts"), sink, err, errlen);
    if (r)
        return r;
    const json_t *fr = json_object_get(c0, "finishReason");
    if (json_is_string(fr)) {
        snprintf(st->finish, sizeof(st->finish), "%s", json_string_value(fr));
        st->finish_seen = true;
    } else if (json_is_string(json_object_get(fb, "blockReason")) && !c0) {
        snprintf(st->finish, sizeof(st->finish), "%s", "SAFETY"); /* the prompt was blocked */
        st->finish_seen = true;
    }
    if (json_is_object(usage)) { /* it may repeat: the last one counts */
        st->prompt = get_int(usage, "promptTokenCount");
        st->candidates = get_int(usage, "candidatesTokenCount");
        st->thoughts = get_int(usage, "thoughtsTokenCount");
        st->cached = get_int(usage, "cachedContentTokenCount");
    }
    return 0;
}

/* The end of an answer: usage (completion = candidates + thoughts), then
 * the finish. */
static int finish_answer(struct answer *st, const seam_event_sink *sink)
{
    if (st->prompt >= 0 || st->candidates >= 0 || st->thoughts >= 0) {
        seam_event u = {.type = SEAM_EV_USAGE};
        u.usage.input = st->prompt;
        u.usage.output =
            (st->candidates > 0 ? st->candidates : 0) + (st->thoughts > 0 ? st->thoughts : 0);
        u.usage.reasoning = st->thoughts;
        u.usage.cached = st->cached;
        if (seam_emit(sink, &u))
            return -1;
    }
    seam_event fin = {.type = SEAM_EV_FINISH,
                      .finish =
                          parse_finish(st->finish_seen ? st->finish : "STOP", st->ncalls > 0)};
    return seam_emit(sink, &fin);
}

static seam_rc gemini_parse_response(const char *body, size_t len, seam_arena *a,
                                     const seam_event_sink *sink, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = seam_arena_json(a, json_loadb(body, len, 0, &jerr));
    if (json_is_array(root)) /* streamGenerateContent without alt=sse */
        root = json_array_get(root, 0);
    if (!json_is_object(root)) {
        snprintf(err, errlen, "upstream sent a body that is not a JSON object");
        return SEAM_ERR_UPSTREAM;
    }
    struct answer st;
    answer_init(&st);
    int r = on_response(&st, root, sink, err, errlen);
    if (r)
        return r < 0 ? SEAM_ERR_CANCELLED : SEAM_ERR_UPSTREAM;
    if (st.failed)
        return SEAM_OK;
    return finish_answer(&st, sink) ? SEAM_ERR_CANCELLED : SEAM_OK;
}

/* ---- streams ---- */

struct seam_provider_stream {
    seam_sse_parser sse;
    struct answer st;
    const seam_event_sink *sink;
    seam_rc rc;
    char *err;
    size_t errlen;
};

static void stream_release(void *p)
{
    seam_sse_free(&((seam_provider_stream *)p)->sse);
}

static seam_provider_stream *gemini_stream_new(seam_arena *a)
{
    seam_provider_stream *s = seam_arena_calloc(a, sizeof(*s));
    if (!s)
        return NULL;
    seam_sse_init(&s->sse, SEAM_PROVIDER_MAX_EVENT);
    answer_init(&s->st);
    if (seam_arena_on_free(a, stream_release, s) != 0)
        return NULL;
    return s;
}

static int on_sse(void *ctx, const char *event, const char *data, size_t len)
{
    seam_provider_stream *s = ctx;
    if (s->st.failed)
        return 0; /* nothing counts after an error */
    if (len == 6 && memcmp(data, "[DONE]", 6) == 0)
        return 0; /* Gemini sends none, but an OpenAI-minded proxy in between might */
    json_error_t jerr;
    json_t *o = json_loadb(data, len, 0, &jerr);
    if (!json_is_object(o)) {
        json_decref(o);
        snprintf(s->err, s->errlen, "upstream sent a stream event that is not a JSON object");
        s->rc = SEAM_ERR_UPSTREAM;
        return -1;
    }
    int r = on_response(&s->st, o, s->sink, s->err, s->errlen);
    json_decref(o);
    if (r > 0)
        s->rc = SEAM_ERR_UPSTREAM;
    return r;
}

static seam_rc gemini_stream_feed(seam_provider_stream *s, const char *p, size_t n,
                                  const seam_event_sink *sink, char *err, size_t errlen)
{
    s->sink = sink;
    s->err = err;
    s->errlen = errlen;
    s->rc = SEAM_OK;
    seam_rc rc = seam_sse_feed(&s->sse, p, n, on_sse, s);
    if (rc == SEAM_ERR_TOO_BIG)
        snprintf(err, errlen, "upstream stream event exceeds %u bytes", SEAM_PROVIDER_MAX_EVENT);
    if (rc == SEAM_ERR_CANCELLED)
        return s->rc != SEAM_OK ? s->rc : SEAM_ERR_CANCELLED;
    return rc == SEAM_ERR_TOO_BIG ? SEAM_ERR_UPSTREAM : rc;
}

static seam_rc gemini_stream_end(seam_provider_stream *s, const seam_event_sink *sink, char *err,
                                 size_t errlen)
{
    s->sink = sink;
    s->err = err;
    s->errlen = errlen;
    s->rc = SEAM_OK;
    /* The last event may lack its blank line: the stream just closes. */
    seam_rc rc = seam_sse_finish(&s->sse, on_sse, s);
    if (rc == SEAM_ERR_CANCELLED)
        return s->rc != SEAM_OK ? s->rc : SEAM_ERR_CANCELLED;
    if (rc != SEAM_OK || s->st.failed)
        return rc;
    if (!s->st.finish_seen) {
        snprintf(err, errlen, "upstream stream ended before a finishReason");
        return SEAM_ERR_UPSTREAM;
    }
    return finish_answer(&s->st, sink) ? SEAM_ERR_CANCELLED : SEAM_OK;
}

const seam_provider seam_provider_gemini = {
    .name = "gemini",
    .build = gemini_build,
    .parse_response = gemini_parse_response,
    .stream_new = gemini_stream_new,
    .stream_feed = gemini_stream_feed,
    .stream_end = gemini_stream_end,
    .error_message = seam_provider__error_message,
    .probe_path = "/v1beta/models",
    .probe_headers = gemini_probe_headers,
};
