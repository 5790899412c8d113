/*
 * Ollama egress: canonical request -> POST /api/chat, and /api/chat answers
 * (one JSON object, or NDJSON lines when streaming) -> canonical events.
 *
 * Request rules enforced here (Ollama API docs, /api/chat): `stream` defaults
 * to true, so it is always sent; `think` is always sent (see below); images
 * are raw base64 without a data: prefix, and Ollama cannot fetch URLs;
 * tool-call arguments are objects; a tool result names its function in
 * `tool_name`; the output limit is options.num_predict.
 *
 * Thinking: when the client (or a policy rule) chose a reasoning effort,
 * none sends think:false and the levels are sent as Ollama's own /v1 layer
 * maps them (minimal -> "low", xhigh -> "max"). When nobody chose, seam sends
 * think:false: Ollama would otherwise turn thinking on for every model that
 * can think (Gemma 4 included), which multiplies latency and output tokens
 * for clients that never asked for reasoning, and think:true cannot be the
 * default because it is a 400 for models that cannot think. An Ollama
 * client's own think value is sent as it was (true stays true).
 *
 * Ollama clients: what they sent that seam does not model (keep_alive,
 * options such as num_ctx, ...) is forwarded only to this provider, merged
 * under seam's own fields.
 *
 * Answers: thinking arrives first (message.thinking), then content; tool
 * calls arrive whole, often without ids, so ids `call_<n>` are synthesised;
 * the final object has done:true, done_reason and the token counts; a
 * mid-stream failure is a last line {"error": "..."}.
 */
#include "providers/ollama.h"
#include "core/jsonbuf.h"
#include "providers/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- request ---- */

struct enc {
    const seam_req *req;
    seam_arena *a;
    char *err;
    size_t errlen;
};

static seam_rc invalid(struct enc *e, const char *fmt, const char *what)
{
    snprintf(e->err, e->errlen, fmt, what);
    return SEAM_ERR_INVALID;
}

static const char *role_name(seam_role r)
{
    switch (r) {
    case SEAM_ROLE_SYSTEM:
    case SEAM_ROLE_DEVELOPER:
        return "system";
    case SEAM_ROLE_USER:
        return "user";
    case SEAM_ROLE_ASSISTANT:
        return "assistant";
    case SEAM_ROLE_TOOL:
        return "tool";
    }
    return "user";
}

/* The think value an Ollama client sent, when the reasoning it decoded to
 * is still the request's (a policy rule may have changed it): sent back
 * verbatim, so that think:true stays true rather than becoming "medium". */
static json_t *client_think(const seam_req *req)
{
    const json_t *t = req->ingress == SEAM_API_OLLAMA && req->passthrough
                          ? json_object_get(req->passthrough, "think")
                          : NULL;
    seam_reasoning r = req->params.reasoning;
    if (json_is_boolean(t) && r == (json_is_true(t) ? SEAM_REASONING_MEDIUM : SEAM_REASONING_OFF))
        return json_incref((json_t *)t);
    return NULL;
}

/* The think value for the request: see the comment at the top. */
static json_t *think_value(const seam_req *req)
{
    json_t *client = client_think(req);
    if (client)
        return client;
    switch (req->params.reasoning) {
    case SEAM_REASONING_UNSET:
    case SEAM_REASONING_OFF:
        return json_false();
    case SEAM_REASONING_MINIMAL:
    case SEAM_REASONING_LOW:
        return json_string("low");
    case SEAM_REASONING_MEDIUM:
        return json_string("medium");
    case SEAM_REASONING_HIGH:
        return json_string("high");
    case SEAM_REASONING_XHIGH:
    case SEAM_REASONING_MAX:
        return json_string("max");
    }
    return json_false();
}

/* Appends <p>'s text to <text>, parts separated by a newline: Ollama's
 * content is one string. */
static seam_rc add_text(seam_buf *text, const seam_part *p)
{
    seam_rc rc = SEAM_OK;
    if (p->text_len == 0)
        return SEAM_OK;
    if (text->len > 0)
        rc = seam_buf_append(text, "\n", 1);
    return rc == SEAM_OK ? seam_buf_append(text, p->text, p->text_len) : rc;
}

/* Collects <m>'s parts: text and thinking into buffers, images and tool
 * calls into new arrays (<*images>, <*calls>, NULL when there are none). */
static seam_rc encode_parts(struct enc *e, const seam_msg *m, seam_buf *text, seam_buf *thinking,
                            json_t **images, json_t **calls)
{
    seam_rc rc = SEAM_OK;
    for (size_t i = 0; i < m->nparts && rc == SEAM_OK; i++) {
        const seam_part *p = &m->parts[i];
        switch (p->type) {
        case SEAM_PART_TEXT:
        case SEAM_PART_REFUSAL:
            rc = add_text(text, p);
            break;
        case SEAM_PART_THINKING:
            rc = add_text(thinking, p);
            break;
        case SEAM_PART_TOOL_RESULT:
            break; /* a tool message's content: see encode_message */
        case SEAM_PART_IMAGE: {
            const char *mime, *data;
            if (seam_provider__data_url(p->image_url, e->a, &mime, &data) != 0)
                return invalid(e, "%s",
                               seam_provider__remote_url(p->image_url)
                                   ? "remote image URLs are not fetched: send the image as a "
                                     "base64 data URL"
                                   : "an image must be a base64 data URL");
            if (!*images && !(*images = json_array()))
                return SEAM_ERR_NOMEM;
            rc = json_array_append_new(*images, json_string(data)) ? SEAM_ERR_NOMEM : SEAM_OK;
            break;
        }
        case SEAM_PART_TOOL_CALL: {
            json_t *args = seam_provider__args_object(p, e->err, e->errlen);
            if (!args)
                return SEAM_ERR_INVALID;
            if (!*calls && !(*calls = json_array())) {
                json_decref(args);
                return SEAM_ERR_NOMEM;
            }
            json_t *fn = json_pack("{s:I, s:s, s:o}", "index", (json_int_t)json_array_size(*calls),
                                   "name", p->name ? p->name : "", "arguments", args);
            json_t *c = fn ? json_object() : NULL;
            if (!c) {
                json_decref(fn);
                return SEAM_ERR_NOMEM;
            }
            if (p->call_id && json_object_set_new(c, "id", json_string(p->call_id))) {
                json_decref(fn);
                json_decref(c);
                return SEAM_ERR_NOMEM;
            }
            if (json_object_set_new(c, "function", fn)) {
                json_decref(c);
                return SEAM_ERR_NOMEM;
            }
            if (json_array_append_new(*calls, c))
                return SEAM_ERR_NOMEM;
            break;
        }
        case SEAM_PART_OPAQUE: {
            const json_t *t = json_object_get(p->opaque, "type");
            return invalid(e, "content parts of type '%s' cannot be sent to an Ollama backend",
                           json_is_string(t) ? json_string_value(t) : "unknown");
        }
        }
    }
    return rc;
}

/* One message, keys in the order Ollama documents them. */
static json_t *encode_message(struct enc *e, size_t mi, seam_rc *rc)
{
    const seam_msg *m = &e->req->msgs[mi];
    json_t *o = json_pack("{s:s}", "role", role_name(m->role));
    json_t *images = NULL, *calls = NULL;
    seam_buf text, thinking;
    seam_buf_init(&text, (size_t)-1);
    seam_buf_init(&thinking, (size_t)-1);
    *rc = o ? encode_parts(e, m, &text, &thinking, &images, &calls) : SEAM_ERR_NOMEM;
    const char *id = NULL, *content = text.data ? text.data : "";
    size_t len = text.len;
    if (*rc == SEAM_OK && m->role == SEAM_ROLE_TOOL) {
        content = seam_provider__result_text(m, e->a, &len);
        for (size_t i = 0; i < m->nparts && !id; i++)
            id = m->parts[i].call_id;
        if (!content)
            *rc = SEAM_ERR_NOMEM;
    }
    if (*rc == SEAM_OK) {
        json_object_set_new(o, "content", json_stringn(content, len));
        if (thinking.len > 0)
            json_object_set_new(o, "thinking", json_stringn(thinking.data, thinking.len));
        if (images)
            json_object_set(o, "images", images);
        if (calls)
            json_object_set(o, "tool_calls", calls);
        /* Ollama matches a result to its call by function name; the id goes
         * along for servers that also match by id. When no earlier call has
         * the id, the name the client gave with the result (an Ollama
         * client's tool_name) is used. */
        const char *name = seam_provider__call_name(e->req, mi, id);
        for (size_t i = 0; i < m->nparts && !name && m->role == SEAM_ROLE_TOOL; i++)
            if (m->parts[i].type == SEAM_PART_TOOL_RESULT)
                name = m->parts[i].name;
        if (name)
            json_object_set_new(o, "tool_name", json_string(name));
        if (id)
            json_object_set_new(o, "tool_call_id", json_string(id));
    }
    json_decref(images);
    json_decref(calls);
    seam_buf_free(&text);
    seam_buf_free(&thinking);
    if (*rc != SEAM_OK) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *encode_tools(const seam_req *req)
{
    json_t *tools = json_array();
    for (size_t i = 0; tools && i < req->ntools; i++) {
        const seam_tool *t = &req->tools[i];
        json_t *fn = json_pack("{s:s}", "name", t->name);
        if (fn && t->description)
            json_object_set_new(fn, "description", json_string(t->description));
        if (fn && t->parameters)
            json_object_set(fn, "parameters", t->parameters);
        json_array_append_new(tools, json_pack("{s:s, s:o}", "type", "function", "function", fn));
    }
    return tools;
}

/* response_format -> format: "json" for json_object, the schema itself for
 * json_schema. */
static json_t *encode_format(const json_t *rf)
{
    const char *t = json_string_value(json_object_get(rf, "type"));
    if (!t)
        return NULL;
    if (strcmp(t, "json_object") == 0)
        return json_string("json");
    if (strcmp(t, "json_schema") == 0) {
        json_t *schema = json_object_get(json_object_get(rf, "json_schema"), "schema");
        return json_is_object(schema) ? json_incref(schema) : json_string("json");
    }
    return NULL;
}

json_t *seam_ollama_encode_request(const seam_req *req, const char *model, seam_arena *a,
                                   seam_rc *rcp, char *err, size_t errlen)
{
    struct enc e = {req, a, err, errlen};
    seam_rc rc = SEAM_ERR_NOMEM;
    json_t *body = json_pack("{s:s}", "model", model);
    json_t *msgs = json_array();
    json_t *opts = json_object();
    if (!body || !msgs || !opts)
        goto out;
    for (size_t i = 0; i < req->nmsgs; i++) {
        json_t *m = encode_message(&e, i, &rc);
        if (!m)
            goto out;
        json_array_append_new(msgs, m);
    }
    json_object_set(body, "messages", msgs);
    /* Ollama has no tool_choice: "none" is honoured by not offering the
     * tools; "required" and a named function cannot be expressed. */
    const json_t *tc = req->params.tool_choice;
    bool no_tools = json_is_string(tc) && strcmp(json_string_value(tc), "none") == 0;
    if (req->ntools > 0 && !no_tools)
        json_object_set_new(body, "tools", encode_tools(req));
    json_t *format = encode_format(req->params.response_format);
    if (format)
        json_object_set_new(body, "format", format);
    const seam_params *p = &req->params;
    if (p->max_tokens >= 0)
        json_object_set_new(opts, "num_predict", json_integer(p->max_tokens));
    if (p->has_temperature)
        json_object_set_new(opts, "temperature", json_real(p->temperature));
    if (p->has_top_p)
        json_object_set_new(opts, "top_p", json_real(p->top_p));
    if (p->has_seed)
        json_object_set_new(opts, "seed", json_integer(p->seed));
    if (p->nstop > 0) {
        json_t *stop = json_array();
        for (size_t i = 0; i < p->nstop; i++)
            json_array_append_new(stop, json_string(p->stop[i]));
        json_object_set_new(opts, "stop", stop);
    }
    /* What an Ollama client sent that seam does not model (keep_alive,
     * options such as num_ctx or top_k, ...) travels on only to Ollama;
     * seam's own values win. */
    const json_t *pass = req->ingress == SEAM_API_OLLAMA ? req->passthrough : NULL;
    const json_t *popts = json_object_get(pass, "options");
    rc = SEAM_ERR_NOMEM;
    if (json_is_object(popts) && json_object_update_missing(opts, (json_t *)popts) != 0)
        goto out;
    if (json_object_size(opts) > 0)
        json_object_set(body, "options", opts);
    json_object_set_new(body, "think", think_value(req));
    /* Explicit both ways: Ollama streams unless told not to. */
    json_object_set_new(body, "stream", json_boolean(req->stream));
    if (pass && json_object_update_missing(body, (json_t *)pass) != 0)
        goto out;
    rc = SEAM_OK;
out:
    json_decref(msgs);
    json_decref(opts);
    if (rc != SEAM_OK) {
        if (rc == SEAM_ERR_NOMEM)
            snprintf(err, errlen, "out of memory");
        json_decref(body);
        body = NULL;
    }
    *rcp = rc;
    return body;
}

static seam_rc ollama_build(const seam_req *req, const seam_backend_conf *b, const char *model,
                            const char *api_key, seam_arena *a, seam_upstream_call *out, char *err,
                            size_t errlen)
{
    seam_rc rc;
    json_t *body = seam_ollama_encode_request(req, model, a, &rc, err, errlen);
    seam_buf_init(&out->body, (size_t)-1);
    if (!body)
        return rc;
    if ((rc = seam_provider__dump(body, out)) != SEAM_OK)
        return rc;
    out->url = seam_arena_printf(a, "%s/api/chat", b->url);
    const char **h = seam_arena_calloc(a, 4 * sizeof(char *));
    if (!out->url || !h)
        return SEAM_ERR_NOMEM;
    size_t k = 0;
    h[k++] = "Content-Type: application/json";
    h[k++] = req->stream ? "Accept: application/x-ndjson" : "Accept: application/json";
    /* Ollama itself takes no key; one configured is for a proxy in front
     * of it (or Ollama's cloud), which expects a bearer token. */
    if (api_key && api_key[0] &&
        !(h[k++] = seam_arena_printf(a, "Authorization: Bearer %s", api_key)))
        return SEAM_ERR_NOMEM;
    out->headers = h;
    return SEAM_OK;
}

/* ---- answers to events ---- */

struct answer {
    bool started, finished;
    int ncalls;
};

static int64_t get_int(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

static int emit_json_text(const seam_event_sink *sink, seam_event_type t, const json_t *v)
{
    return seam_provider__emit_text(sink, t, json_string_value(v), json_string_length(v));
}

/* One answer object (a whole answer, or one NDJSON line). Returns 0, -1 when
 * the sink stopped, or 1 with a message in <err> when the object is not
 * what Ollama sends. */
static int on_object(struct answer *st, const json_t *o, const seam_event_sink *sink, char *err,
                     size_t errlen)
{
    const json_t *e = json_object_get(o, "error");
    if (e) {
        st->finished = true;
        const json_t *m = json_is_object(e) ? json_object_get(e, "message") : e;
        return seam_provider__emit_error(sink, json_string_value(m), NULL) ? -1 : 0;
    }
    const json_t *msg = json_object_get(o, "message");
    const json_t *done = json_object_get(o, "done");
    if (!json_is_object(msg) && !json_is_true(done)) {
        snprintf(err, errlen, "upstream answer has no message");
        return 1;
    }
    if (!st->started) {
        st->started = true;
        const json_t *model = json_object_get(o, "model");
        seam_event ev = {.type = SEAM_EV_START, .name = json_string_value(model)};
        if (seam_emit(sink, &ev))
            return -1;
    }
    if (emit_json_text(sink, SEAM_EV_THINKING_DELTA, json_object_get(msg, "thinking")) ||
        emit_json_text(sink, SEAM_EV_TEXT_DELTA, json_object_get(msg, "content")))
        return -1;
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(msg, "tool_calls"), i, c)
    {
        const json_t *fn = json_object_get(c, "function");
        const json_t *name = json_object_get(fn, "name"), *args = json_object_get(fn, "arguments");
        const json_t *id = json_object_get(c, "id");
        if (!json_is_string(name)) {
            snprintf(err, errlen, "upstream tool call has no function name");
            return 1;
        }
        if (st->ncalls >= SEAM_PROVIDER_MAX_CALLS) {
            snprintf(err, errlen, "upstream sent too many tool calls");
            return 1;
        }
        char synth[32], *dumped = NULL;
        snprintf(synth, sizeof(synth), "call_%d", st->ncalls);
        const char *a = "{}";
        if (json_is_object(args))
            a = dumped = seam_json_dumps(args, JSON_COMPACT);
        else if (json_is_string(args)) /* some servers send a JSON string */
            a = json_string_value(args);
        int r = a ? seam_provider__emit_call(sink, st->ncalls++,
                                             json_is_string(id) && json_string_length(id)
                                                 ? json_string_value(id)
                                                 : synth,
                                             json_string_value(name), a, strlen(a))
                  : -1;
        free(dumped);
        if (r)
            return -1;
    }
    if (!json_is_true(done))
        return 0;
    st->finished = true;
    seam_event u = {.type = SEAM_EV_USAGE};
    u.usage.input = get_int(o, "prompt_eval_count");
    u.usage.output = get_int(o, "eval_count");
    u.usage.reasoning = -1;
    u.usage.cached = -1;
    if ((u.usage.input >= 0 || u.usage.output >= 0) && seam_emit(sink, &u))
        return -1;
    const char *why = json_string_value(json_object_get(o, "done_reason"));
    seam_event fin = {.type = SEAM_EV_FINISH, .finish = SEAM_FINISH_STOP};
    if (why && strcmp(why, "length") == 0)
        fin.finish = SEAM_FINISH_LENGTH;
    else if (st->ncalls > 0) /* Ollama says "stop" after tool calls */
        fin.finish = SEAM_FINISH_TOOL_CALLS;
    return seam_emit(sink, &fin) ? -1 : 0;
}

static seam_rc ollama_parse_response(const char *body, size_t len, seam_arena *a,
                                     const seam_event_sink *sink, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = seam_arena_json(a, json_loadb(body, len, 0, &jerr));
    if (!json_is_object(root)) {
        snprintf(err, errlen, "upstream sent a body that is not a JSON object");
        return SEAM_ERR_UPSTREAM;
    }
    struct answer st = {0};
    int r = on_object(&st, root, sink, err, errlen);
    if (r < 0)
        return SEAM_ERR_CANCELLED;
    if (r > 0)
        return SEAM_ERR_UPSTREAM;
    if (!st.finished) {
        snprintf(err, errlen, "upstream answer is not done");
        return SEAM_ERR_UPSTREAM;
    }
    return SEAM_OK;
}

/* ---- NDJSON streams ---- */

struct seam_provider_stream {
    seam_buf line; /* the current, incomplete line */
    struct answer st;
};

static void stream_release(void *p)
{
    seam_buf_free(&((seam_provider_stream *)p)->line);
}

static seam_provider_stream *ollama_stream_new(seam_arena *a)
{
    seam_provider_stream *s = seam_arena_calloc(a, sizeof(*s));
    if (!s)
        return NULL;
    seam_buf_init(&s->line, SEAM_PROVIDER_MAX_EVENT);
    if (seam_arena_on_free(a, stream_release, s) != 0)
        return NULL;
    return s;
}

static seam_rc on_line(seam_provider_stream *s, const char *p, size_t n,
                       const seam_event_sink *sink, char *err, size_t errlen)
{
    while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    if (n == 0 || s->st.finished)
        return SEAM_OK; /* blank lines, and whatever follows the end */
    json_error_t jerr;
    json_t *o = json_loadb(p, n, 0, &jerr);
    if (!json_is_object(o)) {
        json_decref(o);
        snprintf(err, errlen, "upstream sent a stream line that is not a JSON object");
        return SEAM_ERR_UPSTREAM;
    }
    int r = on_object(&s->st, o, sink, err, errlen);
    json_decref(o);
    return r < 0 ? SEAM_ERR_CANCELLED : r > 0 ? SEAM_ERR_UPSTREAM : SEAM_OK;
}

static seam_rc ollama_stream_feed(seam_provider_stream *s, const char *p, size_t n,
                                  const seam_event_sink *sink, char *err, size_t errlen)
{
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        seam_rc rc;
        if (!nl) {
            rc = seam_buf_append(&s->line, p, n);
            if (rc == SEAM_ERR_TOO_BIG)
                snprintf(err, errlen, "upstream stream line exceeds %u bytes",
                         SEAM_PROVIDER_MAX_EVENT);
            return rc == SEAM_ERR_TOO_BIG ? SEAM_ERR_UPSTREAM : rc;
        }
        size_t k = (size_t)(nl - p);
        if (s->line.len > 0) {
            if ((rc = seam_buf_append(&s->line, p, k)) != SEAM_OK) {
                snprintf(err, errlen, "upstream stream line exceeds %u bytes",
                         SEAM_PROVIDER_MAX_EVENT);
                return rc == SEAM_ERR_TOO_BIG ? SEAM_ERR_UPSTREAM : rc;
            }
            rc = on_line(s, s->line.data, s->line.len, sink, err, errlen);
            seam_buf_reset(&s->line);
        } else {
            rc = on_line(s, p, k, sink, err, errlen);
        }
        if (rc != SEAM_OK)
            return rc;
        p += k + 1;
        n -= k + 1;
    }
    return SEAM_OK;
}

static seam_rc ollama_stream_end(seam_provider_stream *s, const seam_event_sink *sink, char *err,
                                 size_t errlen)
{
    seam_rc rc = SEAM_OK;
    if (s->line.len > 0) /* a last line without its newline */
        rc = on_line(s, s->line.data, s->line.len, sink, err, errlen);
    seam_buf_reset(&s->line);
    if (rc != SEAM_OK)
        return rc;
    if (!s->st.finished) {
        snprintf(err, errlen, "upstream stream ended before the done object");
        return SEAM_ERR_UPSTREAM;
    }
    return SEAM_OK;
}

const seam_provider seam_provider_ollama = {
    .name = "ollama",
    .build = ollama_build,
    .parse_response = ollama_parse_response,
    .stream_new = ollama_stream_new,
    .stream_feed = ollama_stream_feed,
    .stream_end = ollama_stream_end,
    .error_message = seam_provider__error_message,
    .probe_path = "/api/tags",
};
