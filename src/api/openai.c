/*
 * OpenAI Chat Completions ingress. Decoding is strict about the fields seam
 * acts on (types are checked and errors name the parameter, as OpenAI's own
 * API does) and lossless about the rest: unmodelled top-level fields travel
 * on to OpenAI-compatible backends untouched.
 */
#include "api/openai.h"
#include "core/jsonbuf.h"

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
};

static seam_rc fail(struct decoder *d, const char *param, const char *fmt, const char *what)
{
    snprintf(d->err, d->errlen, fmt, what);
    *d->param = param;
    return SEAM_ERR_INVALID;
}

static int parse_role(const char *s, seam_role *r)
{
    static const struct {
        const char *name;
        seam_role role;
    } roles[] = {{"system", SEAM_ROLE_SYSTEM},
                 {"developer", SEAM_ROLE_DEVELOPER},
                 {"user", SEAM_ROLE_USER},
                 {"assistant", SEAM_ROLE_ASSISTANT},
                 {"tool", SEAM_ROLE_TOOL}};
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
        if (strcmp(s, roles[i].name) == 0) {
            *r = roles[i].role;
            return 0;
        }
    return -1;
}

static int parse_effort(const char *s, seam_reasoning *r)
{
    static const char *names[] = {"none", "minimal", "low", "medium", "high", "xhigh", "max"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(s, names[i]) == 0) {
            *r = (seam_reasoning)(SEAM_REASONING_OFF + i);
            return 0;
        }
    return -1;
}

static void set_text(seam_part *p, const json_t *s)
{
    p->text = json_string_value(s);
    p->text_len = json_string_length(s);
}

/* Content parts: text and images are modelled; audio, files and anything
 * newer are kept as opaque JSON for OpenAI-compatible backends. */
static seam_rc decode_part(struct decoder *d, const json_t *o, seam_part *p, bool *image)
{
    const json_t *type = json_object_get(o, "type");
    if (!json_is_object(o) || !json_is_string(type))
        return fail(d, "messages", "%s", "each content part must be an object with a type");
    const char *t = json_string_value(type);
    if (strcmp(t, "text") == 0) {
        const json_t *text = json_object_get(o, "text");
        if (!json_is_string(text))
            return fail(d, "messages", "%s", "a text content part needs a string 'text'");
        p->type = SEAM_PART_TEXT;
        set_text(p, text);
    } else if (strcmp(t, "refusal") == 0) {
        const json_t *text = json_object_get(o, "refusal");
        if (!json_is_string(text))
            return fail(d, "messages", "%s", "a refusal content part needs a string 'refusal'");
        p->type = SEAM_PART_REFUSAL;
        set_text(p, text);
    } else if (strcmp(t, "image_url") == 0) {
        const json_t *iu = json_object_get(o, "image_url");
        const json_t *url = json_object_get(iu, "url");
        if (!json_is_string(url))
            return fail(d, "messages", "%s", "an image_url content part needs image_url.url");
        const json_t *detail = json_object_get(iu, "detail");
        p->type = SEAM_PART_IMAGE;
        p->image_url = json_string_value(url);
        p->image_detail = json_is_string(detail) ? json_string_value(detail) : NULL;
        *image = true;
    } else {
        p->type = SEAM_PART_OPAQUE;
        p->opaque = (json_t *)o;
    }
    return SEAM_OK;
}

static seam_rc decode_message(struct decoder *d, const json_t *o, seam_msg *m, bool *image)
{
    if (!json_is_object(o))
        return fail(d, "messages", "%s", "each message must be an object");
    const json_t *role = json_object_get(o, "role");
    if (!json_is_string(role) || parse_role(json_string_value(role), &m->role) != 0)
        return fail(d, "messages", "%s",
                    "each message needs a role: system, developer, user, assistant or tool");
    const json_t *name = json_object_get(o, "name");
    if (json_is_string(name))
        m->name = json_string_value(name);

    const json_t *content = json_object_get(o, "content");
    const json_t *calls = json_object_get(o, "tool_calls");
    if (calls && !json_is_array(calls) && !json_is_null(calls))
        return fail(d, "messages", "%s", "tool_calls must be an array");
    size_t ncalls = json_is_array(calls) ? json_array_size(calls) : 0;
    size_t ncontent = json_is_array(content) ? json_array_size(content) : 1;
    m->parts = seam_arena_calloc(d->a, (ncontent + ncalls + 1) * sizeof(seam_part));
    if (!m->parts)
        return SEAM_ERR_NOMEM;

    bool is_tool = m->role == SEAM_ROLE_TOOL;
    if (json_is_string(content)) {
        seam_part *p = &m->parts[m->nparts++];
        p->type = is_tool ? SEAM_PART_TOOL_RESULT : SEAM_PART_TEXT;
        set_text(p, content);
        m->content_is_string = true;
    } else if (json_is_array(content)) {
        size_t i;
        json_t *part;
        json_array_foreach(content, i, part)
        {
            seam_part *p = &m->parts[m->nparts++];
            seam_rc rc = decode_part(d, part, p, image);
            if (rc != SEAM_OK)
                return rc;
            if (is_tool && p->type == SEAM_PART_TEXT)
                p->type = SEAM_PART_TOOL_RESULT;
        }
    } else if (content == NULL || json_is_null(content)) {
        if (m->role != SEAM_ROLE_ASSISTANT)
            return fail(d, "messages", "a %s message needs content", json_string_value(role));
        m->content_null = true;
    } else {
        return fail(d, "messages", "%s", "message content must be a string, an array or null");
    }

    if (is_tool) {
        const json_t *id = json_object_get(o, "tool_call_id");
        if (!json_is_string(id))
            return fail(d, "messages", "%s", "a tool message needs a string tool_call_id");
        /* The id goes on the first result part; a message with empty array
         * content still needs a part to carry it. */
        if (m->nparts == 0) {
            seam_part *p = &m->parts[m->nparts++];
            p->type = SEAM_PART_TOOL_RESULT;
            p->text = "";
        }
        for (size_t i = 0; i < m->nparts; i++)
            m->parts[i].call_id = json_string_value(id);
    }
    size_t i;
    json_t *call;
    json_array_foreach(calls, i, call)
    {
        const json_t *fn = json_object_get(call, "function");
        const json_t *fname = json_object_get(fn, "name"), *args = json_object_get(fn, "arguments");
        const json_t *id = json_object_get(call, "id");
        if (m->role != SEAM_ROLE_ASSISTANT)
            return fail(d, "messages", "%s", "only assistant messages carry tool_calls");
        if (!json_is_string(fname))
            return fail(d, "messages", "%s", "each tool call needs function.name");
        if (args && !json_is_string(args))
            return fail(d, "messages", "%s", "tool call function.arguments must be a JSON string");
        seam_part *p = &m->parts[m->nparts++];
        p->type = SEAM_PART_TOOL_CALL;
        p->call_id = json_is_string(id) ? json_string_value(id) : NULL;
        p->name = json_string_value(fname);
        p->args = args ? json_string_value(args) : "{}";
    }
    return SEAM_OK;
}

static seam_rc decode_tools(struct decoder *d, const json_t *tools, seam_req *r)
{
    if (!json_is_array(tools))
        return fail(d, "tools", "%s", "tools must be an array");
    r->ntools = json_array_size(tools);
    r->tools = seam_arena_calloc(d->a, (r->ntools + 1) * sizeof(seam_tool));
    if (!r->tools)
        return SEAM_ERR_NOMEM;
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t)
    {
        const json_t *type = json_object_get(t, "type");
        const json_t *fn = json_object_get(t, "function");
        if (!json_is_string(type) || strcmp(json_string_value(type), "function") != 0 ||
            !json_is_object(fn))
            return fail(d, "tools", "%s",
                        "each tool must be {\"type\":\"function\",\"function\":{...}}");
        const json_t *name = json_object_get(fn, "name"),
                     *desc = json_object_get(fn, "description");
        const json_t *params = json_object_get(fn, "parameters"),
                     *strict = json_object_get(fn, "strict");
        if (!json_is_string(name))
            return fail(d, "tools", "%s", "each tool function needs a string name");
        if (params && !json_is_object(params))
            return fail(d, "tools", "%s", "tool function parameters must be a JSON Schema object");
        seam_tool *tl = &r->tools[i];
        tl->name = json_string_value(name);
        tl->description = json_is_string(desc) ? json_string_value(desc) : NULL;
        tl->parameters = (json_t *)params;
        tl->strict = json_is_boolean(strict) ? json_is_true(strict) : -1;
    }
    return SEAM_OK;
}

static seam_rc decode_stop(struct decoder *d, const json_t *stop, seam_params *p)
{
    if (json_is_null(stop))
        return SEAM_OK;
    if (json_is_string(stop)) {
        p->stop = seam_arena_alloc(d->a, sizeof(char *));
        if (!p->stop)
            return SEAM_ERR_NOMEM;
        p->stop[0] = json_string_value(stop);
        p->nstop = 1;
        return SEAM_OK;
    }
    if (!json_is_array(stop))
        return fail(d, "stop", "%s", "stop must be a string or an array of strings");
    p->nstop = json_array_size(stop);
    p->stop = seam_arena_calloc(d->a, (p->nstop + 1) * sizeof(char *));
    if (!p->stop)
        return SEAM_ERR_NOMEM;
    size_t i;
    json_t *s;
    json_array_foreach(stop, i, s)
    {
        if (!json_is_string(s))
            return fail(d, "stop", "%s", "stop must be a string or an array of strings");
        p->stop[i] = json_string_value(s);
    }
    return SEAM_OK;
}

static seam_rc get_nonneg_int(struct decoder *d, const json_t *v, const char *name, int64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return fail(d, name, "%s must be a non-negative integer", name);
    *out = json_integer_value(v);
    return SEAM_OK;
}

/* Modelled top-level keys; everything else is passthrough. */
static const char *const modelled[] = {"model",
                                       "messages",
                                       "tools",
                                       "tool_choice",
                                       "response_format",
                                       "max_tokens",
                                       "max_completion_tokens",
                                       "temperature",
                                       "top_p",
                                       "seed",
                                       "stop",
                                       "reasoning_effort",
                                       "stream",
                                       "stream_options",
                                       "seam",
                                       NULL};

static bool is_modelled(const char *k)
{
    for (const char *const *m = modelled; *m; m++)
        if (strcmp(*m, k) == 0)
            return true;
    return false;
}

static seam_rc decode_params(struct decoder *d, json_t *root, seam_req *r)
{
    seam_params *p = &r->params;
    seam_rc rc;
    json_t *v;
    p->max_tokens = -1;
    if ((v = json_object_get(root, "max_completion_tokens")) && !json_is_null(v)) {
        if ((rc = get_nonneg_int(d, v, "max_completion_tokens", &p->max_tokens)) != SEAM_OK)
            return rc;
    } else if ((v = json_object_get(root, "max_tokens")) && !json_is_null(v)) {
        if ((rc = get_nonneg_int(d, v, "max_tokens", &p->max_tokens)) != SEAM_OK)
            return rc;
        p->max_tokens_legacy = true;
    }
    if ((v = json_object_get(root, "temperature")) && !json_is_null(v)) {
        if (!json_is_number(v))
            return fail(d, "temperature", "%s", "temperature must be a number");
        p->has_temperature = true;
        p->temperature = json_number_value(v);
    }
    if ((v = json_object_get(root, "top_p")) && !json_is_null(v)) {
        if (!json_is_number(v))
            return fail(d, "top_p", "%s", "top_p must be a number");
        p->has_top_p = true;
        p->top_p = json_number_value(v);
    }
    if ((v = json_object_get(root, "seed")) && !json_is_null(v)) {
        if (!json_is_integer(v))
            return fail(d, "seed", "%s", "seed must be an integer");
        p->has_seed = true;
        p->seed = json_integer_value(v);
    }
    if ((v = json_object_get(root, "stop")) && (rc = decode_stop(d, v, p)) != SEAM_OK)
        return rc;
    if ((v = json_object_get(root, "reasoning_effort")) && !json_is_null(v)) {
        if (!json_is_string(v) || parse_effort(json_string_value(v), &p->reasoning) != 0)
            return fail(d, "reasoning_effort", "%s",
                        "reasoning_effort must be one of none, minimal, low, medium, high, "
                        "xhigh, max");
        p->reasoning_raw = json_string_value(v);
    }
    if ((v = json_object_get(root, "tool_choice")) && !json_is_null(v))
        p->tool_choice = v;
    if ((v = json_object_get(root, "response_format")) && !json_is_null(v)) {
        if (!json_is_object(v))
            return fail(d, "response_format", "%s", "response_format must be an object");
        p->response_format = v;
    }
    if ((v = json_object_get(root, "stream")) && !json_is_null(v)) {
        if (!json_is_boolean(v))
            return fail(d, "stream", "%s", "stream must be a boolean");
        r->stream = json_is_true(v);
    }
    if ((v = json_object_get(root, "stream_options")) && !json_is_null(v)) {
        json_t *iu = json_object_get(v, "include_usage");
        if (!json_is_object(v) || (iu && !json_is_boolean(iu)))
            return fail(d, "stream_options", "%s",
                        "stream_options must be an object with a boolean include_usage");
        r->include_usage = json_is_true(iu);
    }
    if ((v = json_object_get(root, "n")) && !json_is_null(v) &&
        !(json_is_integer(v) && json_integer_value(v) == 1))
        return fail(d, "n", "%s", "only n = 1 is supported");
    return SEAM_OK;
}

seam_rc seam_api_openai_decode(seam_arena *a, const char *body, size_t len, seam_req **out,
                               json_t **meta, char *err, size_t errlen, const char **param)
{
    struct decoder d = {a, err, errlen, param};
    json_error_t jerr;
    *param = NULL;
    *meta = NULL;
    json_t *root = seam_arena_json(a, json_loadb(body, len, 0, &jerr));
    if (!root) {
        /* jansson reports invalid UTF-8 and syntax errors with a position;
         * the text of the body is never echoed. */
        snprintf(err, errlen, "request body is not valid JSON: %s (at byte %d)", jerr.text,
                 jerr.position);
        return SEAM_ERR_INVALID;
    }
    if (!json_is_object(root))
        return fail(&d, NULL, "%s", "request body must be a JSON object");
    seam_req *r = seam_arena_calloc(a, sizeof(*r));
    if (!r)
        return SEAM_ERR_NOMEM;
    r->arena = a;
    r->ingress = SEAM_API_OPENAI;

    const json_t *model = json_object_get(root, "model");
    if (!json_is_string(model) || json_string_length(model) == 0)
        return fail(&d, "model", "%s", "model is required (a model name or \"auto\")");
    r->model = json_string_value(model);

    const json_t *msgs = json_object_get(root, "messages");
    if (!json_is_array(msgs) || json_array_size(msgs) == 0)
        return fail(&d, "messages", "%s", "messages must be a non-empty array");
    r->nmsgs = json_array_size(msgs);
    r->msgs = seam_arena_calloc(a, r->nmsgs * sizeof(seam_msg));
    if (!r->msgs)
        return SEAM_ERR_NOMEM;
    seam_rc rc;
    for (size_t i = 0; i < r->nmsgs; i++)
        if ((rc = decode_message(&d, json_array_get(msgs, i), &r->msgs[i], &r->has_images)) !=
            SEAM_OK)
            return rc;

    const json_t *tools = json_object_get(root, "tools");
    if (tools && !json_is_null(tools) && (rc = decode_tools(&d, tools, r)) != SEAM_OK)
        return rc;
    if ((rc = decode_params(&d, root, r)) != SEAM_OK)
        return rc;

    json_t *seam = json_object_get(root, "seam");
    if (seam)
        *meta = seam;

    json_t *pass = seam_arena_json(a, json_object());
    if (!pass)
        return SEAM_ERR_NOMEM;
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v) if (!is_modelled(k)) json_object_set(pass, k, v);
    r->passthrough = json_object_size(pass) ? pass : NULL;
    *out = r;
    return SEAM_OK;
}

char *seam_api_openai_error(seam_arena *a, const char *message, const char *type, const char *param,
                            const char *code)
{
    json_t *o = json_pack("{s:{s:s, s:s, s:s?, s:s?}}", "error", "message", message, "type",
                          type ? type : "invalid_request_error", "param", param, "code", code);
    char *s = o ? seam_json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    char *r = s ? seam_arena_strdup(a, s) : NULL;
    free(s);
    return r ? r : "{\"error\":{\"message\":\"internal error\",\"type\":\"server_error\"}}";
}

/* ---- stream writer ----
 *
 * Chunks are written from a cached prefix plus the few bytes that change,
 * with jansson escaping only the strings: building a jansson object per
 * token costs several times more than the token's own bytes. */

static void writer_release(void *p)
{
    seam_openai_writer_free(p);
}

void seam_openai_writer_init(seam_openai_writer *w, seam_arena *a, const char *fallback_id,
                             const char *fallback_model, bool include_usage)
{
    memset(w, 0, sizeof(*w));
    w->arena = a;
    w->id = fallback_id;
    w->model = fallback_model;
    w->include_usage = include_usage;
    w->created = (long long)time(NULL);
    seam_buf_init(&w->prefix, 1u << 16);
    seam_arena_on_free(a, writer_release, w);
}

void seam_openai_writer_free(seam_openai_writer *w)
{
    seam_buf_free(&w->prefix);
}

static seam_rc write_data(seam_buf *out, json_t *o)
{
    if (!o)
        return SEAM_ERR_NOMEM;
    seam_rc rc = seam_buf_append(out, "data: ", 6);
    if (rc == SEAM_OK)
        rc = seam_buf_add_json(out, o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return rc == SEAM_OK ? seam_buf_append(out, "\n\n", 2) : rc;
}

/* Appends the chunk prefix, building it once per stream. */
static seam_rc chunk_open(seam_openai_writer *w, seam_buf *out)
{
    seam_buf *p = &w->prefix;
    if (p->len == 0) {
        seam_rc rc = seam_buf_puts(p, "data: {\"id\":");
        if (rc == SEAM_OK)
            rc = seam_buf_add_json_string(p, w->id, strlen(w->id));
        if (rc == SEAM_OK)
            rc = seam_buf_printf(
                p, ",\"object\":\"chat.completion.chunk\",\"created\":%lld,\"model\":", w->created);
        if (rc == SEAM_OK)
            rc = seam_buf_add_json_string(p, w->model, strlen(w->model));
        if (rc != SEAM_OK) {
            seam_buf_reset(p);
            return rc;
        }
    }
    return seam_buf_append(out, p->data, p->len);
}

/* Opens a chunk with one choice whose delta follows. */
static seam_rc delta_open(seam_openai_writer *w, seam_buf *out)
{
    seam_rc rc = chunk_open(w, out);
    if (rc == SEAM_OK && w->include_usage)
        rc = seam_buf_puts(out, ",\"usage\":null");
    return rc == SEAM_OK ? seam_buf_puts(out, ",\"choices\":[{\"index\":0,\"delta\":") : rc;
}

static seam_rc delta_close(seam_buf *out, const char *finish)
{
    seam_rc rc = seam_buf_puts(out, ",\"logprobs\":null,\"finish_reason\":");
    if (rc == SEAM_OK)
        rc = finish ? seam_buf_printf(out, "\"%s\"", finish) : seam_buf_puts(out, "null");
    return rc == SEAM_OK ? seam_buf_puts(out, "}]}\n\n") : rc;
}

/* A chunk whose delta is {"<key>": "<text>"}. */
static seam_rc write_text(seam_openai_writer *w, const char *key, const seam_event *ev,
                          seam_buf *out)
{
    seam_rc rc = delta_open(w, out);
    if (rc == SEAM_OK)
        rc = seam_buf_printf(out, "{\"%s\":", key);
    if (rc == SEAM_OK)
        rc = seam_buf_add_json_string(out, ev->text, ev->text_len);
    if (rc == SEAM_OK)
        rc = seam_buf_puts(out, "}");
    return rc == SEAM_OK ? delta_close(out, NULL) : rc;
}

/* `"key":{"inner":v}`, one of usage's detail objects. */
static seam_rc put_detail(seam_buf *b, const char *key, const char *inner, long long v)
{
    seam_rc rc = seam_json_member_key(b, key);
    if (rc == SEAM_OK)
        rc = seam_buf_append(b, "{", 1);
    if (rc == SEAM_OK)
        rc = seam_json_member_int(b, inner, v);
    return rc == SEAM_OK ? seam_buf_append(b, "}", 1) : rc;
}

/* The usage object, written into <b>; the same for streams and whole
 * answers. */
static seam_rc put_usage(seam_buf *b, const seam_usage *u)
{
    long long in = u->input > 0 ? u->input : 0, outp = u->output > 0 ? u->output : 0;
    seam_rc rc = seam_buf_append(b, "{", 1);
    if (rc == SEAM_OK)
        rc = seam_json_member_int(b, "prompt_tokens", in);
    if (rc == SEAM_OK)
        rc = seam_json_member_int(b, "completion_tokens", outp);
    if (rc == SEAM_OK)
        rc = seam_json_member_int(b, "total_tokens", in + outp);
    if (rc == SEAM_OK && u->cached >= 0)
        rc = put_detail(b, "prompt_tokens_details", "cached_tokens", u->cached);
    if (rc == SEAM_OK && u->reasoning >= 0)
        rc = put_detail(b, "completion_tokens_details", "reasoning_tokens", u->reasoning);
    return rc == SEAM_OK ? seam_buf_append(b, "}", 1) : rc;
}

static seam_rc write_usage(seam_openai_writer *w, seam_buf *out)
{
    w->usage_sent = true;
    seam_rc rc = chunk_open(w, out);
    if (rc == SEAM_OK)
        rc = seam_buf_puts(out, ",\"choices\":[],\"usage\":");
    if (rc == SEAM_OK)
        rc = put_usage(out, &w->usage);
    return rc == SEAM_OK ? seam_buf_puts(out, "}\n\n") : rc;
}

seam_rc seam_openai_writer_event(seam_openai_writer *w, const seam_event *ev, seam_buf *out)
{
    seam_rc rc;
    switch (ev->type) {
    case SEAM_EV_START:
        if (ev->id)
            w->id = seam_arena_strdup(w->arena, ev->id);
        if (ev->name)
            w->model = seam_arena_strdup(w->arena, ev->name);
        if (!w->id || !w->model)
            return SEAM_ERR_NOMEM;
        seam_buf_reset(&w->prefix);
        rc = delta_open(w, out);
        if (rc == SEAM_OK)
            rc = seam_buf_puts(out, "{\"role\":\"assistant\",\"content\":\"\"}");
        return rc == SEAM_OK ? delta_close(out, NULL) : rc;
    case SEAM_EV_TEXT_DELTA:
        return write_text(w, "content", ev, out);
    case SEAM_EV_THINKING_DELTA:
        return write_text(w, "reasoning_content", ev, out);
    case SEAM_EV_THINKING_SIGNATURE:
        return SEAM_OK; /* Anthropic-bound; OpenAI clients have no place for it */
    case SEAM_EV_REFUSAL_DELTA:
        return write_text(w, "refusal", ev, out);
    case SEAM_EV_TOOL_CALL_BEGIN:
        w->had_tool_calls = true;
        rc = delta_open(w, out);
        if (rc == SEAM_OK)
            rc = seam_buf_printf(out, "{\"tool_calls\":[{\"index\":%d,\"id\":", ev->index);
        if (rc == SEAM_OK)
            rc = seam_buf_add_json_string(out, ev->id ? ev->id : "", ev->id ? strlen(ev->id) : 0);
        if (rc == SEAM_OK)
            rc = seam_buf_puts(out, ",\"type\":\"function\",\"function\":{\"name\":");
        if (rc == SEAM_OK)
            rc = seam_buf_add_json_string(out, ev->name, strlen(ev->name));
        if (rc == SEAM_OK)
            rc = seam_buf_puts(out, ",\"arguments\":\"\"}}]}");
        return rc == SEAM_OK ? delta_close(out, NULL) : rc;
    case SEAM_EV_TOOL_CALL_ARGS_DELTA:
        rc = delta_open(w, out);
        if (rc == SEAM_OK)
            rc = seam_buf_printf(
                out, "{\"tool_calls\":[{\"index\":%d,\"function\":{\"arguments\":", ev->index);
        if (rc == SEAM_OK)
            rc = seam_buf_add_json_string(out, ev->text, ev->text_len);
        if (rc == SEAM_OK)
            rc = seam_buf_puts(out, "}}]}");
        return rc == SEAM_OK ? delta_close(out, NULL) : rc;
    case SEAM_EV_TOOL_CALL_END:
        return SEAM_OK;
    case SEAM_EV_USAGE:
        w->usage = ev->usage;
        w->have_usage = true;
        if (w->finished && w->include_usage && !w->usage_sent)
            return write_usage(w, out);
        return SEAM_OK;
    case SEAM_EV_FINISH:
        w->finished = true;
        rc = delta_open(w, out);
        if (rc == SEAM_OK)
            rc = seam_buf_puts(out, "{}");
        if (rc == SEAM_OK)
            rc = delta_close(
                out, seam_finish_name_openai(w->had_tool_calls && ev->finish == SEAM_FINISH_STOP
                                                 ? SEAM_FINISH_TOOL_CALLS
                                                 : ev->finish));
        if (rc == SEAM_OK && w->have_usage && w->include_usage && !w->usage_sent)
            rc = write_usage(w, out);
        return rc;
    case SEAM_EV_ERROR:
        return seam_openai_writer_error(w, ev->text, ev->err_type ? ev->err_type : "upstream_error",
                                        "upstream_error", out);
    }
    return SEAM_OK;
}

seam_rc seam_openai_writer_end(seam_openai_writer *w, seam_buf *out)
{
    return seam_buf_puts(out, "data: [DONE]\n\n");
}

seam_rc seam_openai_writer_error(seam_openai_writer *w, const char *message, const char *type,
                                 const char *code, seam_buf *out)
{
    json_t *o = json_pack("{s:{s:s, s:s, s:n, s:s?}}", "error", "message", message, "type", type,
                          "param", "code", code);
    return write_data(out, o);
}

/* ---- whole answers ---- */

char *seam_api_openai_answer_body(const seam_answer *ans, const seam_req *req, seam_arena *a,
                                  size_t *len)
{
    /* Written member by member: the body is on the way to the client, and
     * building a jansson object only to serialise it cost twice as much. */
    seam_buf b;
    seam_buf_init(&b, (size_t)-1);
    /* A provider that ends a tool-calling turn with "stop" still answered
     * with tool calls; OpenAI clients loop on finish_reason. */
    seam_finish finish =
        ans->ncalls > 0 && ans->finish == SEAM_FINISH_STOP ? SEAM_FINISH_TOOL_CALLS : ans->finish;
    seam_rc rc = seam_buf_append(&b, "{", 1);
    if (rc == SEAM_OK)
        rc = seam_json_member_str(&b, "id", ans->id);
    if (rc == SEAM_OK)
        rc = seam_json_member_str(&b, "object", "chat.completion");
    if (rc == SEAM_OK)
        rc = seam_json_member_int(&b, "created", (long long)time(NULL));
    if (rc == SEAM_OK)
        rc = seam_json_member_str(&b, "model", ans->model);
    if (rc == SEAM_OK)
        rc = seam_json_member_key(&b, "choices");
    if (rc == SEAM_OK)
        rc = seam_buf_puts(&b, "[{\"index\":0,\"message\":{\"role\":\"assistant\"");
    if (rc == SEAM_OK)
        rc = ans->text.len > 0 || ans->ncalls == 0
                 ? seam_json_member_strn(&b, "content", ans->text.data ? ans->text.data : "",
                                         ans->text.len)
                 : seam_json_member_null(&b, "content");
    if (rc == SEAM_OK)
        rc = ans->refusal.len
                 ? seam_json_member_strn(&b, "refusal", ans->refusal.data, ans->refusal.len)
                 : seam_json_member_null(&b, "refusal");
    if (rc == SEAM_OK && ans->thinking.len)
        rc = seam_json_member_strn(&b, "reasoning_content", ans->thinking.data, ans->thinking.len);
    if (rc == SEAM_OK && ans->ncalls > 0) {
        rc = seam_json_member_key(&b, "tool_calls");
        if (rc == SEAM_OK)
            rc = seam_buf_append(&b, "[", 1);
        for (int i = 0; rc == SEAM_OK && i < ans->ncalls; i++) {
            const seam_answer_call *c = &ans->calls[i];
            if (i)
                rc = seam_buf_append(&b, ",", 1);
            if (rc == SEAM_OK)
                rc = seam_buf_append(&b, "{", 1);
            if (rc == SEAM_OK)
                rc = seam_json_member_str(&b, "id", c->id);
            if (rc == SEAM_OK)
                rc = seam_json_member_str(&b, "type", "function");
            if (rc == SEAM_OK)
                rc = seam_json_member_key(&b, "function");
            if (rc == SEAM_OK)
                rc = seam_buf_append(&b, "{", 1);
            if (rc == SEAM_OK)
                rc = seam_json_member_str(&b, "name", c->name);
            if (rc == SEAM_OK)
                rc = seam_json_member_strn(&b, "arguments", c->args.data ? c->args.data : "",
                                           c->args.len);
            if (rc == SEAM_OK)
                rc = seam_buf_append(&b, "}}", 2);
        }
        if (rc == SEAM_OK)
            rc = seam_buf_append(&b, "]", 1);
    }
    if (rc == SEAM_OK)
        rc = seam_buf_append(&b, "}", 1); /* message */
    if (rc == SEAM_OK)
        rc = seam_json_member_null(&b, "logprobs");
    if (rc == SEAM_OK)
        rc = seam_json_member_str(&b, "finish_reason", seam_finish_name_openai(finish));
    if (rc == SEAM_OK)
        rc = seam_buf_append(&b, "}]", 2);
    if (rc == SEAM_OK && ans->have_usage) {
        rc = seam_json_member_key(&b, "usage");
        if (rc == SEAM_OK)
            rc = put_usage(&b, &ans->usage);
    }
    if (rc == SEAM_OK)
        rc = seam_buf_append(&b, "}", 1);
    char *r = rc == SEAM_OK ? seam_arena_alloc(a, b.len + 1) : NULL;
    if (r) {
        memcpy(r, b.data, b.len + 1);
        *len = b.len;
    }
    seam_buf_free(&b);
    return r;
}

/* ---- the ingress table ---- */

static void *ingress_writer_new(seam_arena *a, const seam_req *req, const char *id,
                                const char *model)
{
    seam_openai_writer *w = seam_arena_calloc(a, sizeof(*w));
    if (w)
        seam_openai_writer_init(w, a, id, model, req->include_usage);
    return w;
}

static seam_rc ingress_writer_event(void *w, const seam_event *ev, seam_buf *out)
{
    return seam_openai_writer_event(w, ev, out);
}

static seam_rc ingress_writer_end(void *w, seam_buf *out)
{
    return seam_openai_writer_end(w, out);
}

static seam_rc ingress_writer_error(void *w, int status, const char *message, const char *type,
                                    const char *code, seam_buf *out)
{
    return seam_openai_writer_error(w, message, type, code, out);
}

static char *ingress_error_body(seam_arena *a, int status, const char *message, const char *type,
                                const char *code, const char *param)
{
    return seam_api_openai_error(a, message, type, param, code);
}

const seam_ingress seam_ingress_openai = {
    .api = SEAM_API_OPENAI,
    .name = "openai",
    .path = "/v1/chat/completions",
    .stream_content_type = "text/event-stream",
    .decode = seam_api_openai_decode,
    .error_body = ingress_error_body,
    .writer_new = ingress_writer_new,
    .writer_event = ingress_writer_event,
    .writer_end = ingress_writer_end,
    .writer_error = ingress_writer_error,
    .answer_body = seam_api_openai_answer_body,
};
