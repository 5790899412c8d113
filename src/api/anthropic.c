/*
 * Anthropic Messages ingress (POST /v1/messages): decodes a Messages request
 * into the canonical model and writes answers, named-event streams and
 * errors back in Anthropic's shapes, so the official SDKs work unchanged.
 *
 * Decoding is strict where seam acts on a field (errors name it the way
 * Anthropic does: "messages.0.content.1.source: Field required") and
 * lossless toward an Anthropic backend for the rest: unmodelled top-level
 * keys (top_k, metadata, service_tier, output_config, ...) go to
 * req->passthrough, which providers forward only to a backend of this
 * dialect. Mapping choices that lose something on the way to other
 * dialects:
 *
 *  - A user turn's tool_result blocks become canonical tool messages, in
 *    order, and the turn's other blocks follow as one user message (what
 *    Anthropic requires anyway: results first). A result's text blocks stay
 *    separate tool-result parts, its images image parts, anything else
 *    opaque parts. is_error has no canonical field: the result text is
 *    prefixed with "Error: " (or is "Error" when empty), which every
 *    model reads; an Anthropic backend then gets that text without the
 *    flag.
 *  - thinking blocks become thinking parts with their signature;
 *    redacted_thinking becomes a thinking part with no text whose opaque
 *    member holds the block, so that providers which drop thinking drop it
 *    too and only an Anthropic backend receives it back. document and
 *    blocks newer than this code are opaque parts (Anthropic only).
 *  - Server tools (a tool with a "type" other than "custom": web_search,
 *    code_execution, ...) run inside Anthropic's API: they are kept in
 *    passthrough "tools" for an Anthropic backend and are absent for any
 *    other. The client's tool_choice object (for disable_parallel_tool_use),
 *    an adaptive thinking object and output_config also stay in passthrough
 *    for the same-dialect echo.
 *  - cache_control and citations have no canonical form and are dropped.
 */
#include "api/anthropic.h"
#include "core/jsonbuf.h"
#include "policy/task.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- decoding ---- */

struct decoder {
    seam_arena *a;
    char *err;
    size_t errlen;
    const char **param;
    seam_req *r;
    json_t *pass; /* passthrough being built */
};

/* Fails with "<path>: <message>" and <path> as the parameter, as Anthropic
 * words validation errors. */
__attribute__((format(printf, 3, 4))) static seam_rc fail(struct decoder *d, const char *path,
                                                          const char *fmt, ...)
{
    char msg[192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (path) {
        snprintf(d->err, d->errlen, "%s: %s", path, msg);
        *d->param = seam_arena_strdup(d->a, path);
    } else {
        snprintf(d->err, d->errlen, "%s", msg);
    }
    return SEAM_ERR_INVALID;
}

static void set_text(seam_part *p, const json_t *s)
{
    p->text = json_string_value(s);
    p->text_len = json_string_length(s);
}

static const char *get_str(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* A required string member <k> of <o>, else an error at <path>.<k>. */
static seam_rc need_str(struct decoder *d, const json_t *o, const char *k, const char *path,
                        const json_t **out)
{
    const json_t *v = json_object_get(o, k);
    if (!v)
        return fail(d, seam_arena_printf(d->a, "%s.%s", path, k), "Field required");
    if (!json_is_string(v))
        return fail(d, seam_arena_printf(d->a, "%s.%s", path, k), "Input should be a valid string");
    *out = v;
    return SEAM_OK;
}

/* An image block: a base64 source becomes a data URL, a url source the URL
 * itself; other sources (Files API ids) are kept opaque. */
static seam_rc decode_image(struct decoder *d, const json_t *b, const char *path, seam_part *p)
{
    const json_t *src = json_object_get(b, "source");
    const char *spath = seam_arena_printf(d->a, "%s.source", path);
    if (!spath)
        return SEAM_ERR_NOMEM;
    if (!src)
        return fail(d, spath, "Field required");
    if (!json_is_object(src))
        return fail(d, spath, "Input should be a valid dictionary");
    const char *st = get_str(src, "type");
    const json_t *v, *mime;
    seam_rc rc;
    if (st && strcmp(st, "base64") == 0) {
        if ((rc = need_str(d, src, "media_type", spath, &mime)) != SEAM_OK ||
            (rc = need_str(d, src, "data", spath, &v)) != SEAM_OK)
            return rc;
        p->type = SEAM_PART_IMAGE;
        p->image_url = seam_arena_printf(d->a, "data:%s;base64,%s", json_string_value(mime),
                                         json_string_value(v));
        if (!p->image_url)
            return SEAM_ERR_NOMEM;
    } else if (st && strcmp(st, "url") == 0) {
        if ((rc = need_str(d, src, "url", spath, &v)) != SEAM_OK)
            return rc;
        p->type = SEAM_PART_IMAGE;
        p->image_url = json_string_value(v);
    } else {
        p->type = SEAM_PART_OPAQUE;
        p->opaque = (json_t *)b;
        return SEAM_OK;
    }
    d->r->has_images = true;
    return SEAM_OK;
}

/* A text block of a user, assistant or system turn. */
static seam_rc decode_text(struct decoder *d, const json_t *b, const char *path, seam_part *p)
{
    const json_t *t;
    seam_rc rc = need_str(d, b, "text", path, &t);
    if (rc == SEAM_OK) {
        p->type = SEAM_PART_TEXT;
        set_text(p, t);
    }
    return rc;
}

/* Checks that <b> is a block with a string type and returns the type. */
static seam_rc block_type(struct decoder *d, const json_t *b, const char *path, const char **t)
{
    if (!json_is_object(b))
        return fail(d, path, "Input should be a valid dictionary");
    const json_t *v = json_object_get(b, "type");
    if (!v)
        return fail(d, seam_arena_printf(d->a, "%s.type", path), "Field required");
    if (!json_is_string(v))
        return fail(d, seam_arena_printf(d->a, "%s.type", path), "Input should be a valid string");
    *t = json_string_value(v);
    return SEAM_OK;
}

static seam_msg *new_msg(struct decoder *d, seam_role role, size_t nparts)
{
    seam_msg *m = &d->r->msgs[d->r->nmsgs++];
    m->role = role;
    m->parts = seam_arena_calloc(d->a, (nparts + 1) * sizeof(seam_part));
    return m->parts ? m : NULL;
}

/* One tool_result block -> one canonical tool message. */
static seam_rc decode_tool_result(struct decoder *d, const json_t *b, const char *path)
{
    const json_t *id, *content = json_object_get(b, "content");
    const json_t *is_error = json_object_get(b, "is_error");
    seam_rc rc = need_str(d, b, "tool_use_id", path, &id);
    if (rc != SEAM_OK)
        return rc;
    if (is_error && !json_is_boolean(is_error))
        return fail(d, seam_arena_printf(d->a, "%s.is_error", path),
                    "Input should be a valid boolean");
    if (content && !json_is_null(content) && !json_is_string(content) && !json_is_array(content))
        return fail(d, seam_arena_printf(d->a, "%s.content", path),
                    "Input should be a valid string or list");
    size_t n = json_is_array(content) ? json_array_size(content) : 1;
    seam_msg *m = new_msg(d, SEAM_ROLE_TOOL, n + 1);
    if (!m)
        return SEAM_ERR_NOMEM;
    bool err = json_is_true(is_error);
    size_t ntext = 0;
    if (err)
        m->parts[m->nparts++].type = SEAM_PART_TOOL_RESULT; /* text set below */
    if (json_is_string(content)) {
        seam_part *p = &m->parts[m->nparts++];
        p->type = SEAM_PART_TOOL_RESULT;
        set_text(p, content);
        m->content_is_string = !err;
        ntext += p->text_len > 0;
    } else if (json_is_array(content)) {
        size_t i;
        json_t *c;
        json_array_foreach(content, i, c)
        {
            const char *cpath = seam_arena_printf(d->a, "%s.content.%zu", path, i);
            const char *t;
            if (!cpath)
                return SEAM_ERR_NOMEM;
            if ((rc = block_type(d, c, cpath, &t)) != SEAM_OK)
                return rc;
            seam_part *p = &m->parts[m->nparts++];
            if (strcmp(t, "text") == 0) {
                if ((rc = decode_text(d, c, cpath, p)) != SEAM_OK)
                    return rc;
                p->type = SEAM_PART_TOOL_RESULT;
                ntext += p->text_len > 0;
            } else if (strcmp(t, "image") == 0) {
                if ((rc = decode_image(d, c, cpath, p)) != SEAM_OK)
                    return rc;
            } else {
                p->type = SEAM_PART_OPAQUE; /* document, search_result, ... */
                p->opaque = c;
            }
        }
    }
    if (err) {
        m->parts[0].text = ntext ? "Error: " : "Error";
        m->parts[0].text_len = strlen(m->parts[0].text);
    }
    /* A result with no content still needs a part to carry its id. */
    if (m->nparts == 0) {
        m->parts[m->nparts].type = SEAM_PART_TOOL_RESULT;
        m->parts[m->nparts++].text = "";
    }
    for (size_t i = 0; i < m->nparts; i++)
        m->parts[i].call_id = json_string_value(id);
    return SEAM_OK;
}

static seam_rc decode_tool_use(struct decoder *d, const json_t *b, const char *path, seam_part *p)
{
    const json_t *id, *name, *input = json_object_get(b, "input");
    seam_rc rc;
    if ((rc = need_str(d, b, "id", path, &id)) != SEAM_OK ||
        (rc = need_str(d, b, "name", path, &name)) != SEAM_OK)
        return rc;
    if (!input)
        return fail(d, seam_arena_printf(d->a, "%s.input", path), "Field required");
    if (!json_is_object(input))
        return fail(d, seam_arena_printf(d->a, "%s.input", path),
                    "Input should be a valid dictionary");
    char *args = seam_json_dumps(input, JSON_COMPACT | JSON_PRESERVE_ORDER);
    p->args = args ? seam_arena_strdup(d->a, args) : NULL;
    free(args);
    if (!p->args)
        return SEAM_ERR_NOMEM;
    p->type = SEAM_PART_TOOL_CALL;
    p->call_id = json_string_value(id);
    p->name = json_string_value(name);
    return SEAM_OK;
}

static seam_rc decode_thinking(struct decoder *d, const json_t *b, const char *path, seam_part *p)
{
    const json_t *t, *sig = json_object_get(b, "signature");
    seam_rc rc = need_str(d, b, "thinking", path, &t);
    if (rc != SEAM_OK)
        return rc;
    if (sig && !json_is_string(sig))
        return fail(d, seam_arena_printf(d->a, "%s.signature", path),
                    "Input should be a valid string");
    p->type = SEAM_PART_THINKING;
    set_text(p, t);
    /* An empty signature (thinking a non-Anthropic backend produced, echoed
     * back by the client) is no signature. */
    p->signature = json_string_length(sig) > 0 ? json_string_value(sig) : NULL;
    return SEAM_OK;
}

/* One block of a user or assistant turn into <p>. tool_result blocks are
 * handled by the caller. */
static seam_rc decode_block(struct decoder *d, const json_t *b, const char *t, const char *path,
                            bool user, seam_part *p)
{
    if (strcmp(t, "text") == 0)
        return decode_text(d, b, path, p);
    if (strcmp(t, "image") == 0)
        return decode_image(d, b, path, p);
    bool tool_use = strcmp(t, "tool_use") == 0, thinking = strcmp(t, "thinking") == 0;
    bool redacted = strcmp(t, "redacted_thinking") == 0;
    if ((tool_use || thinking || redacted) && user)
        return fail(d, path, "%s blocks may only appear in assistant turns", t);
    if (tool_use)
        return decode_tool_use(d, b, path, p);
    if (thinking)
        return decode_thinking(d, b, path, p);
    if (redacted) {
        p->type = SEAM_PART_THINKING;
        p->text = "";
        p->opaque = (json_t *)b;
        return SEAM_OK;
    }
    p->type = SEAM_PART_OPAQUE; /* document, server tool blocks, newer types */
    p->opaque = (json_t *)b;
    return SEAM_OK;
}

static seam_rc decode_message(struct decoder *d, const json_t *o, size_t mi)
{
    char path[64];
    snprintf(path, sizeof(path), "messages.%zu", mi);
    if (!json_is_object(o))
        return fail(d, path, "Input should be a valid dictionary");
    const json_t *role = json_object_get(o, "role"), *content = json_object_get(o, "content");
    const char *rs = json_string_value(role);
    if (!role)
        return fail(d, seam_arena_printf(d->a, "%s.role", path), "Field required");
    if (!rs || (strcmp(rs, "user") != 0 && strcmp(rs, "assistant") != 0))
        return fail(d, seam_arena_printf(d->a, "%s.role", path),
                    "Input should be 'user' or 'assistant'");
    bool user = rs[0] == 'u';
    seam_role r = user ? SEAM_ROLE_USER : SEAM_ROLE_ASSISTANT;
    if (!content)
        return fail(d, seam_arena_printf(d->a, "%s.content", path), "Field required");
    if (json_is_string(content)) {
        seam_msg *m = new_msg(d, r, 1);
        if (!m)
            return SEAM_ERR_NOMEM;
        m->parts[0].type = SEAM_PART_TEXT;
        set_text(&m->parts[0], content);
        m->nparts = 1;
        m->content_is_string = true;
        return SEAM_OK;
    }
    if (!json_is_array(content))
        return fail(d, seam_arena_printf(d->a, "%s.content", path),
                    "Input should be a valid string or list");
    /* Tool messages are appended as their blocks come; the turn's other
     * blocks gather in <m>, which is placed after them. */
    seam_msg m = {.role = r};
    m.parts = seam_arena_calloc(d->a, (json_array_size(content) + 1) * sizeof(seam_part));
    if (!m.parts)
        return SEAM_ERR_NOMEM;
    size_t nresults = 0, i;
    json_t *b;
    json_array_foreach(content, i, b)
    {
        const char *bpath = seam_arena_printf(d->a, "%s.content.%zu", path, i);
        const char *t;
        seam_rc rc;
        if (!bpath)
            return SEAM_ERR_NOMEM;
        if ((rc = block_type(d, b, bpath, &t)) != SEAM_OK)
            return rc;
        if (strcmp(t, "tool_result") == 0) {
            if (!user)
                return fail(d, bpath, "tool_result blocks may only appear in user turns");
            if ((rc = decode_tool_result(d, b, bpath)) != SEAM_OK)
                return rc;
            nresults++;
        } else if ((rc = decode_block(d, b, t, bpath, user, &m.parts[m.nparts++])) != SEAM_OK) {
            return rc;
        }
    }
    if (m.nparts > 0 || nresults == 0)
        d->r->msgs[d->r->nmsgs++] = m;
    return SEAM_OK;
}

static seam_rc decode_system(struct decoder *d, const json_t *sys)
{
    if (json_is_string(sys)) {
        if (json_string_length(sys) == 0)
            return SEAM_OK;
        seam_msg *m = new_msg(d, SEAM_ROLE_SYSTEM, 1);
        if (!m)
            return SEAM_ERR_NOMEM;
        m->parts[0].type = SEAM_PART_TEXT;
        set_text(&m->parts[0], sys);
        m->nparts = 1;
        m->content_is_string = true;
        return SEAM_OK;
    }
    if (!json_is_array(sys))
        return fail(d, "system", "Input should be a valid string or list");
    if (json_array_size(sys) == 0)
        return SEAM_OK;
    seam_msg *m = new_msg(d, SEAM_ROLE_SYSTEM, json_array_size(sys));
    if (!m)
        return SEAM_ERR_NOMEM;
    size_t i;
    json_t *b;
    json_array_foreach(sys, i, b)
    {
        const char *path = seam_arena_printf(d->a, "system.%zu", i), *t;
        seam_rc rc;
        if (!path)
            return SEAM_ERR_NOMEM;
        if ((rc = block_type(d, b, path, &t)) != SEAM_OK)
            return rc;
        if (strcmp(t, "text") != 0)
            return fail(d, seam_arena_printf(d->a, "%s.type", path), "Input should be 'text'");
        if ((rc = decode_text(d, b, path, &m->parts[m->nparts++])) != SEAM_OK)
            return rc;
    }
    return SEAM_OK;
}

/* Custom tools become canonical tools; server tools stay for an Anthropic
 * backend in passthrough "tools". */
static seam_rc decode_tools(struct decoder *d, const json_t *tools)
{
    seam_req *r = d->r;
    if (!json_is_array(tools))
        return fail(d, "tools", "Input should be a valid list");
    r->tools = seam_arena_calloc(d->a, (json_array_size(tools) + 1) * sizeof(seam_tool));
    json_t *server = json_array();
    if (!r->tools || !server) {
        json_decref(server);
        return SEAM_ERR_NOMEM;
    }
    seam_rc rc = SEAM_OK;
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t)
    {
        char path[32];
        snprintf(path, sizeof(path), "tools.%zu", i);
        if (!json_is_object(t)) {
            rc = fail(d, path, "Input should be a valid dictionary");
            break;
        }
        const json_t *tv = json_object_get(t, "type");
        const char *type = json_string_value(tv);
        if (tv && !type) {
            rc =
                fail(d, seam_arena_printf(d->a, "%s.type", path), "Input should be a valid string");
            break;
        }
        if (type && strcmp(type, "custom") != 0) {
            json_array_append(server, t);
            continue;
        }
        const json_t *name, *desc = json_object_get(t, "description");
        const json_t *schema = json_object_get(t, "input_schema"),
                     *strict = json_object_get(t, "strict");
        if ((rc = need_str(d, t, "name", path, &name)) != SEAM_OK)
            break;
        if (desc && !json_is_string(desc)) {
            rc = fail(d, seam_arena_printf(d->a, "%s.description", path),
                      "Input should be a valid string");
            break;
        }
        if (!schema || !json_is_object(schema)) {
            rc = fail(d, seam_arena_printf(d->a, "%s.input_schema", path),
                      schema ? "Input should be a valid dictionary" : "Field required");
            break;
        }
        seam_tool *tl = &r->tools[r->ntools++];
        tl->name = json_string_value(name);
        tl->description = json_string_value(desc);
        tl->parameters = (json_t *)schema;
        tl->strict = json_is_boolean(strict) ? json_is_true(strict) : -1;
    }
    if (rc == SEAM_OK && json_array_size(server) > 0)
        rc = json_object_set(d->pass, "tools", server) == 0 ? SEAM_OK : SEAM_ERR_NOMEM;
    json_decref(server);
    return rc;
}

/* Anthropic's tool_choice -> the canonical (OpenAI's) shape: auto -> "auto",
 * any -> "required", none -> "none", tool -> {"type":"function",...}. The
 * client's object also stays in passthrough so that an Anthropic backend
 * gets disable_parallel_tool_use back. */
static seam_rc decode_tool_choice(struct decoder *d, json_t *tc)
{
    if (!json_is_object(tc))
        return fail(d, "tool_choice", "Input should be a valid dictionary");
    const char *t = get_str(tc, "type");
    const json_t *dp = json_object_get(tc, "disable_parallel_tool_use");
    if (dp && !json_is_boolean(dp))
        return fail(d, "tool_choice.disable_parallel_tool_use", "Input should be a valid boolean");
    json_t *c = NULL;
    if (!t) {
        return fail(d, "tool_choice.type", "Field required");
    } else if (strcmp(t, "auto") == 0) {
        c = json_string("auto");
    } else if (strcmp(t, "any") == 0) {
        c = json_string("required");
    } else if (strcmp(t, "none") == 0) {
        c = json_string("none");
    } else if (strcmp(t, "tool") == 0) {
        const json_t *name = json_object_get(tc, "name");
        if (!json_is_string(name))
            return fail(d, "tool_choice.tool.name",
                        name ? "Input should be a valid string" : "Field required");
        c = json_pack("{s:s, s:{s:O}}", "type", "function", "function", "name", name);
    } else {
        return fail(d, "tool_choice.type",
                    "Input tag '%.40s' found using 'type' does not match any of the expected tags: "
                    "'auto', 'any', 'tool', 'none'",
                    t);
    }
    if (!(d->r->params.tool_choice = seam_arena_json(d->a, c)))
        return SEAM_ERR_NOMEM;
    return json_object_set(d->pass, "tool_choice", tc) == 0 ? SEAM_OK : SEAM_ERR_NOMEM;
}

/* budget_tokens -> the effort level whose conventional budget
 * (seam_provider__budget: low 1024, medium 8192, high 16384, xhigh 24576,
 * max 32768) is nearest, ties going to the lower level:
 *
 *      budget_tokens      level
 *          .. 4608        low
 *     4609 .. 12288       medium
 *    12289 .. 20480       high
 *    20481 .. 28672       xhigh
 *    28673 ..             max
 *
 * Providers with a budget control use the exact budget
 * (params.reasoning_budget); the level serves those with only levels. */
static seam_reasoning budget_level(int64_t b)
{
    if (b <= 4608)
        return SEAM_REASONING_LOW;
    if (b <= 12288)
        return SEAM_REASONING_MEDIUM;
    if (b <= 20480)
        return SEAM_REASONING_HIGH;
    if (b <= 28672)
        return SEAM_REASONING_XHIGH;
    return SEAM_REASONING_MAX;
}

static int parse_effort(const char *s, seam_reasoning *r)
{
    static const char *names[] = {"low", "medium", "high", "xhigh", "max"};
    for (size_t i = 0; s && i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(s, names[i]) == 0) {
            *r = (seam_reasoning)(SEAM_REASONING_LOW + i);
            return 0;
        }
    return -1;
}

/* thinking: enabled -> its budget and the nearest level; disabled -> off;
 * adaptive -> the level of output_config.effort (Anthropic's default effort
 * is high), the object itself kept in passthrough for an Anthropic
 * backend. */
static seam_rc decode_thinking_conf(struct decoder *d, json_t *root, json_t *th)
{
    seam_params *p = &d->r->params;
    if (!json_is_object(th))
        return fail(d, "thinking", "Input should be a valid dictionary");
    const char *t = get_str(th, "type");
    if (!t)
        return fail(d, "thinking.type", "Field required");
    if (strcmp(t, "enabled") == 0) {
        const json_t *b = json_object_get(th, "budget_tokens");
        if (!b)
            return fail(d, "thinking.enabled.budget_tokens", "Field required");
        if (!json_is_integer(b))
            return fail(d, "thinking.enabled.budget_tokens", "Input should be a valid integer");
        if (json_integer_value(b) < 1024)
            return fail(d, "thinking.enabled.budget_tokens",
                        "Input should be greater than or equal to 1024");
        p->reasoning_budget = json_integer_value(b);
        p->reasoning = budget_level(p->reasoning_budget);
    } else if (strcmp(t, "disabled") == 0) {
        p->reasoning = SEAM_REASONING_OFF;
    } else if (strcmp(t, "adaptive") == 0) {
        const json_t *oc = json_object_get(root, "output_config");
        if (parse_effort(get_str(oc, "effort"), &p->reasoning) != 0)
            p->reasoning = SEAM_REASONING_HIGH;
        if (json_object_set(d->pass, "thinking", th) != 0)
            return SEAM_ERR_NOMEM;
    } else {
        return fail(d, "thinking.type",
                    "Input tag '%.40s' found using 'type' does not match any of the expected tags: "
                    "'enabled', 'disabled', 'adaptive'",
                    t);
    }
    return SEAM_OK;
}

/* output_config.format (structured output) -> the canonical
 * response_format, OpenAI's json_schema shape, for other backends. The
 * whole object stays in passthrough for an Anthropic backend. */
static seam_rc decode_output_config(struct decoder *d, json_t *oc)
{
    if (!json_is_object(oc))
        return fail(d, "output_config", "Input should be a valid dictionary");
    const json_t *f = json_object_get(oc, "format");
    if (!f || json_is_null(f))
        return SEAM_OK;
    const json_t *schema = json_object_get(f, "schema");
    const char *t = get_str(f, "type");
    if (!t || strcmp(t, "json_schema") != 0 || !json_is_object(schema))
        return fail(d, "output_config.format",
                    "format must be {\"type\":\"json_schema\",\"schema\":{...}}");
    json_t *rf = json_pack("{s:s, s:{s:s, s:O}}", "type", "json_schema", "json_schema", "name",
                           "output", "schema", schema);
    return (d->r->params.response_format = seam_arena_json(d->a, rf)) ? SEAM_OK : SEAM_ERR_NOMEM;
}

static seam_rc decode_stop(struct decoder *d, const json_t *stop)
{
    seam_params *p = &d->r->params;
    if (!json_is_array(stop))
        return fail(d, "stop_sequences", "Input should be a valid list");
    p->nstop = json_array_size(stop);
    p->stop = seam_arena_calloc(d->a, (p->nstop + 1) * sizeof(char *));
    if (!p->stop)
        return SEAM_ERR_NOMEM;
    size_t i;
    json_t *s;
    json_array_foreach(stop, i, s)
    {
        if (!json_is_string(s))
            return fail(d, seam_arena_printf(d->a, "stop_sequences.%zu", i),
                        "Input should be a valid string");
        p->stop[i] = json_string_value(s);
    }
    return SEAM_OK;
}

static seam_rc get_number(struct decoder *d, json_t *root, const char *k, bool *has, double *out)
{
    const json_t *v = json_object_get(root, k);
    if (!v || json_is_null(v))
        return SEAM_OK;
    if (!json_is_number(v))
        return fail(d, k, "Input should be a valid number");
    *has = true;
    *out = json_number_value(v);
    return SEAM_OK;
}

/* Top-level keys with a canonical form; everything else is passthrough.
 * tools, tool_choice, thinking and output_config add to passthrough
 * themselves where an Anthropic backend needs the original. */
static const char *const modelled[] = {
    "model",          "messages",    "system", "max_tokens", "tools", "tool_choice", "thinking",
    "stop_sequences", "temperature", "top_p",  "stream",     "seam",  NULL};

static bool is_modelled(const char *k)
{
    for (const char *const *m = modelled; *m; m++)
        if (strcmp(*m, k) == 0)
            return true;
    return false;
}

static seam_rc decode_params(struct decoder *d, json_t *root, bool need_max)
{
    seam_req *r = d->r;
    seam_params *p = &r->params;
    json_t *v;
    seam_rc rc;
    p->max_tokens = -1;
    if ((v = json_object_get(root, "max_tokens")) && !json_is_null(v)) {
        if (!json_is_integer(v))
            return fail(d, "max_tokens", "Input should be a valid integer");
        if (json_integer_value(v) < 1)
            return fail(d, "max_tokens", "Input should be greater than or equal to 1");
        p->max_tokens = json_integer_value(v);
    } else if (need_max) {
        return fail(d, "max_tokens", "Field required");
    }
    if ((rc = get_number(d, root, "temperature", &p->has_temperature, &p->temperature)) !=
            SEAM_OK ||
        (rc = get_number(d, root, "top_p", &p->has_top_p, &p->top_p)) != SEAM_OK)
        return rc;
    if ((v = json_object_get(root, "stop_sequences")) && !json_is_null(v) &&
        (rc = decode_stop(d, v)) != SEAM_OK)
        return rc;
    if ((v = json_object_get(root, "tools")) && !json_is_null(v) &&
        (rc = decode_tools(d, v)) != SEAM_OK)
        return rc;
    if ((v = json_object_get(root, "tool_choice")) && !json_is_null(v) &&
        (rc = decode_tool_choice(d, v)) != SEAM_OK)
        return rc;
    if ((v = json_object_get(root, "thinking")) && !json_is_null(v) &&
        (rc = decode_thinking_conf(d, root, v)) != SEAM_OK)
        return rc;
    if ((v = json_object_get(root, "output_config")) && !json_is_null(v) &&
        (rc = decode_output_config(d, v)) != SEAM_OK)
        return rc;
    if ((v = json_object_get(root, "stream")) && !json_is_null(v)) {
        if (!json_is_boolean(v))
            return fail(d, "stream", "Input should be a valid boolean");
        r->stream = json_is_true(v);
    }
    /* Anthropic reports usage on every answer, streamed or not. */
    r->include_usage = true;
    return SEAM_OK;
}

static seam_rc decode(seam_arena *a, const char *body, size_t len, seam_req **out, json_t **meta,
                      char *err, size_t errlen, const char **param, bool need_max)
{
    struct decoder d = {.a = a, .err = err, .errlen = errlen, .param = param};
    json_error_t jerr;
    *param = NULL;
    *meta = NULL;
    err[0] = '\0';
    json_t *root = seam_arena_json(a, json_loadb(body, len, 0, &jerr));
    /* Out of memory is not the client's fault (jansson says so, or leaves
     * the error empty when it could not even set up its lexer). */
    if (!root && (json_error_code(&jerr) == json_error_out_of_memory || jerr.text[0] == '\0'))
        return SEAM_ERR_NOMEM;
    if (!root) {
        /* jansson reports invalid UTF-8 and syntax errors with a position;
         * the text of the body is never echoed. */
        snprintf(err, errlen, "request body is not valid JSON: %s (at byte %d)", jerr.text,
                 jerr.position);
        return SEAM_ERR_INVALID;
    }
    if (!json_is_object(root))
        return fail(&d, NULL, "request body must be a JSON object");
    seam_req *r = d.r = seam_arena_calloc(a, sizeof(*r));
    d.pass = seam_arena_json(a, json_object());
    if (!r || !d.pass)
        return SEAM_ERR_NOMEM;
    r->arena = a;
    r->ingress = SEAM_API_ANTHROPIC;

    const json_t *model = json_object_get(root, "model");
    if (!model)
        return fail(&d, "model", "Field required");
    if (!json_is_string(model) || json_string_length(model) == 0)
        return fail(&d, "model", "Input should be a non-empty string (a model name or \"auto\")");
    r->model = json_string_value(model);

    const json_t *msgs = json_object_get(root, "messages"), *sys = json_object_get(root, "system");
    if (!msgs)
        return fail(&d, "messages", "Field required");
    if (!json_is_array(msgs))
        return fail(&d, "messages", "Input should be a valid list");
    if (json_array_size(msgs) == 0)
        return fail(&d, "messages", "at least one message is required");
    /* Capacity: the system message, and per turn its blocks (each may be a
     * tool message) plus the turn's own message. */
    size_t cap = 1, i;
    json_t *m;
    json_array_foreach(msgs, i, m)
    {
        const json_t *c = json_object_get(m, "content");
        cap += 1 + (json_is_array(c) ? json_array_size(c) : 0);
    }
    r->msgs = seam_arena_calloc(a, cap * sizeof(seam_msg));
    if (!r->msgs)
        return SEAM_ERR_NOMEM;
    seam_rc rc;
    if (sys && !json_is_null(sys) && (rc = decode_system(&d, sys)) != SEAM_OK)
        return rc;
    json_array_foreach(msgs, i, m)
    {
        if ((rc = decode_message(&d, m, i)) != SEAM_OK)
            return rc;
    }
    if ((rc = decode_params(&d, root, need_max)) != SEAM_OK)
        return rc;

    json_t *seam = json_object_get(root, "seam");
    if (seam)
        *meta = seam;
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v)
    {
        if (!is_modelled(k) && json_object_set(d.pass, k, v) != 0)
            return SEAM_ERR_NOMEM;
    }
    r->passthrough = json_object_size(d.pass) ? d.pass : NULL;
    *out = r;
    return SEAM_OK;
}

static seam_rc anthropic_decode(seam_arena *a, const char *body, size_t len, seam_req **out,
                                json_t **meta, char *err, size_t errlen, const char **param)
{
    return decode(a, body, len, out, meta, err, errlen, param, true);
}

/* ---- errors ---- */

const char *seam_api_anthropic_error_type(int status)
{
    switch (status) {
    case 400:
        return "invalid_request_error";
    case 401:
        return "authentication_error";
    case 403:
        return "permission_error";
    case 404:
        return "not_found_error";
    case 413:
        return "request_too_large";
    case 429:
        return "rate_limit_error";
    case 503: /* no backend can take the request now: retry later */
    case 529:
        return "overloaded_error";
    case 504:
        return "timeout_error";
    default:
        return status >= 400 && status < 500 ? "invalid_request_error" : "api_error";
    }
}

/* The error types Anthropic's API itself uses. */
static bool anthropic_type(const char *t)
{
    static const char *const types[] = {
        "invalid_request_error", "authentication_error", "permission_error", "not_found_error",
        "request_too_large",     "rate_limit_error",     "api_error",        "overloaded_error",
        "timeout_error",         "billing_error"};
    for (size_t i = 0; t && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(t, types[i]) == 0)
            return true;
    return false;
}

static json_t *error_json(const char *type, const char *message)
{
    return json_pack("{s:s, s:{s:s, s:s}}", "type", "error", "error", "type", type, "message",
                     message ? message : "error");
}

/* The SDK picks its error class from the HTTP status, so the status decides
 * the type; seam's own type and code have no place in Anthropic's shape. */
static char *anthropic_error_body(seam_arena *a, int status, const char *message, const char *type,
                                  const char *code, const char *param)
{
    json_t *o = error_json(seam_api_anthropic_error_type(status), message);
    char *s = o ? seam_json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    char *r = s ? seam_arena_strdup(a, s) : NULL;
    free(s);
    return r;
}

/* ---- usage ---- */

/* Canonical usage counts input as OpenAI does, cache reads included (the
 * Anthropic provider folds cache writes and reads into it); Anthropic's
 * input_tokens excludes cache reads, reported apart. Cache writes cannot be
 * told apart any more and stay in input_tokens, so the three input fields
 * still add up to the total. */
static json_t *usage_json(const seam_usage *u, bool known)
{
    json_int_t cached = known && u->cached > 0 ? u->cached : 0;
    json_int_t in = known && u->input > 0 ? u->input : 0;
    json_int_t outp = known && u->output > 0 ? u->output : 0;
    if (cached > in)
        cached = in;
    return json_pack("{s:I, s:I, s:I, s:I}", "input_tokens", in - cached,
                     "cache_creation_input_tokens", (json_int_t)0, "cache_read_input_tokens",
                     cached, "output_tokens", outp);
}

static const char *stop_reason(seam_finish f, bool calls)
{
    if (calls)
        return "tool_use";
    switch (f) {
    case SEAM_FINISH_LENGTH:
        return "max_tokens";
    case SEAM_FINISH_TOOL_CALLS:
        return "tool_use";
    case SEAM_FINISH_CONTENT_FILTER:
        return "refusal";
    case SEAM_FINISH_STOP:
    case SEAM_FINISH_ERROR:
        break;
    }
    return "end_turn";
}

/* ---- stream writer ----
 *
 * Anthropic streams content as blocks, strictly one open at a time and
 * indexed from 0 up; canonical events interleave text, thinking and several
 * tool calls freely. The writer keeps one block open and switches when the
 * kind changes. Fragments of a tool call that is not the open block (a
 * parallel call streamed interleaved) are held back and written when its
 * turn comes: calls are written in the order they began, each once the one
 * before it ended. A signature ends its thinking block. */

#define MAX_CALLS 128 /* as SEAM_ANSWER_MAX_CALLS */
#define MAX_HELD  (64u << 20)

enum blk { BLK_NONE = 0, BLK_TEXT, BLK_THINKING, BLK_TOOL };

struct wcall {
    bool begun, ended, written; /* written: its block has been opened */
    const char *id, *name;
    seam_buf held; /* fragments received before its block opened */
};

typedef struct anthropic_writer {
    seam_arena *arena;
    const char *id, *model;
    bool started, errored, ended, finished, had_calls, have_usage;
    enum blk open;
    int open_call;                      /* the call of an open BLK_TOOL block */
    int index;                          /* of the open block, or of the next one */
    int order[MAX_CALLS], norder, next; /* calls in begin order; next to write */
    struct wcall calls[MAX_CALLS];
    seam_usage usage;
    seam_finish finish;
} anthropic_writer;

static void writer_release(void *p)
{
    anthropic_writer *w = p;
    for (int i = 0; i < MAX_CALLS; i++)
        seam_buf_free(&w->calls[i].held);
}

static void *anthropic_writer_new(seam_arena *a, const seam_req *req, const char *id,
                                  const char *model)
{
    anthropic_writer *w = seam_arena_calloc(a, sizeof(*w));
    if (!w)
        return NULL;
    w->arena = a;
    w->id = id ? id : "msg_seam";
    w->model = model ? model : (req && req->model ? req->model : "");
    for (int i = 0; i < MAX_CALLS; i++)
        seam_buf_init(&w->calls[i].held, MAX_HELD);
    if (seam_arena_on_free(a, writer_release, w) != 0)
        return NULL;
    return w;
}

/* "event: <name>\ndata: <o>\n\n"; releases <o>. */
static seam_rc write_event(seam_buf *out, const char *name, json_t *o)
{
    if (!o)
        return SEAM_ERR_NOMEM;
    seam_rc rc = seam_buf_printf(out, "event: %s\ndata: ", name);
    if (rc == SEAM_OK)
        rc = seam_buf_add_json(out, o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return rc == SEAM_OK ? seam_buf_puts(out, "\n\n") : rc;
}

static seam_rc ensure_started(anthropic_writer *w, seam_buf *out)
{
    if (w->started)
        return SEAM_OK;
    w->started = true;
    json_t *msg =
        json_pack("{s:s, s:s, s:s, s:s, s:[], s:n, s:n, s:o}", "id", w->id, "type", "message",
                  "role", "assistant", "model", w->model, "content", "stop_reason", "stop_sequence",
                  "usage", usage_json(&w->usage, w->have_usage));
    seam_rc rc =
        write_event(out, "message_start",
                    msg ? json_pack("{s:s, s:o}", "type", "message_start", "message", msg) : NULL);
    return rc == SEAM_OK ? seam_buf_puts(out, "event: ping\ndata: {\"type\":\"ping\"}\n\n") : rc;
}

/* A content_block_delta whose delta is {"type":<type>,<key>:<text>},
 * written without building a jansson object per token. */
static seam_rc write_delta(anthropic_writer *w, const char *type, const char *key, const char *text,
                           size_t len, seam_buf *out)
{
    seam_rc rc = seam_buf_printf(out,
                                 "event: content_block_delta\ndata: "
                                 "{\"type\":\"content_block_delta\",\"index\":%d,\"delta\":"
                                 "{\"type\":\"%s\",\"%s\":",
                                 w->index, type, key);
    if (rc == SEAM_OK)
        rc = seam_buf_add_json_string(out, text ? text : "", text ? len : 0);
    return rc == SEAM_OK ? seam_buf_puts(out, "}}\n\n") : rc;
}

static seam_rc close_block(anthropic_writer *w, seam_buf *out)
{
    if (w->open == BLK_NONE)
        return SEAM_OK;
    if (w->open == BLK_TOOL)
        w->calls[w->open_call].ended = true; /* nothing more can join it */
    w->open = BLK_NONE;
    return seam_buf_printf(
        out, "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":%d}\n\n",
        w->index++);
}

/* Opens a text or thinking block (closing any other). */
static seam_rc open_block(anthropic_writer *w, enum blk kind, seam_buf *out)
{
    if (w->open == kind)
        return SEAM_OK;
    seam_rc rc = close_block(w, out);
    if (rc != SEAM_OK)
        return rc;
    w->open = kind;
    json_t *b = kind == BLK_TEXT ? json_pack("{s:s, s:s}", "type", "text", "text", "")
                                 : json_pack("{s:s, s:s, s:s}", "type", "thinking", "thinking", "",
                                             "signature", "");
    return write_event(out, "content_block_start",
                       b ? json_pack("{s:s, s:i, s:o}", "type", "content_block_start", "index",
                                     w->index, "content_block", b)
                         : NULL);
}

/* Opens the block of call <k>: its start, the empty first fragment a real
 * Anthropic stream sends, and what was held back for it. */
static seam_rc open_call(anthropic_writer *w, int k, seam_buf *out)
{
    struct wcall *c = &w->calls[k];
    seam_rc rc = close_block(w, out);
    if (rc != SEAM_OK)
        return rc;
    w->open = BLK_TOOL;
    w->open_call = k;
    c->written = true;
    json_t *b = json_pack("{s:s, s:s, s:s, s:{}}", "type", "tool_use", "id", c->id, "name", c->name,
                          "input");
    rc = write_event(out, "content_block_start",
                     b ? json_pack("{s:s, s:i, s:o}", "type", "content_block_start", "index",
                                   w->index, "content_block", b)
                       : NULL);
    if (rc == SEAM_OK)
        rc = write_delta(w, "input_json_delta", "partial_json", "", 0, out);
    if (rc == SEAM_OK && c->held.len > 0)
        rc = write_delta(w, "input_json_delta", "partial_json", c->held.data, c->held.len, out);
    seam_buf_free(&c->held);
    return rc;
}

/* Writes waiting calls in order while no call block is open: each one that
 * already ended is closed at once; one still running stays open. With
 * <all>, calls still running are closed too (the answer is over). */
static seam_rc pump_calls(anthropic_writer *w, bool all, seam_buf *out)
{
    seam_rc rc = SEAM_OK;
    while (rc == SEAM_OK) {
        if (w->open == BLK_TOOL && (all || w->calls[w->open_call].ended))
            rc = close_block(w, out);
        else if (w->open == BLK_TOOL)
            break;
        else if (w->next < w->norder)
            rc = open_call(w, w->order[w->next++], out);
        else
            break;
    }
    return rc;
}

static struct wcall *call_at(anthropic_writer *w, int index)
{
    return index >= 0 && index < MAX_CALLS && w->calls[index].begun ? &w->calls[index] : NULL;
}

static seam_rc on_begin(anthropic_writer *w, const seam_event *ev, seam_buf *out)
{
    if (ev->index < 0 || ev->index >= MAX_CALLS || w->calls[ev->index].begun || !ev->name)
        return SEAM_ERR_INVALID;
    struct wcall *c = &w->calls[ev->index];
    c->begun = true;
    c->id = ev->id && ev->id[0] ? seam_arena_strdup(w->arena, ev->id)
                                : seam_arena_printf(w->arena, "call_%d", ev->index);
    c->name = seam_arena_strdup(w->arena, ev->name);
    if (!c->id || !c->name)
        return SEAM_ERR_NOMEM;
    w->order[w->norder++] = ev->index;
    w->had_calls = true;
    if (w->open != BLK_TOOL) {
        seam_rc rc = close_block(w, out);
        if (rc != SEAM_OK)
            return rc;
    }
    return pump_calls(w, false, out);
}

static seam_rc on_args(anthropic_writer *w, const seam_event *ev, seam_buf *out)
{
    struct wcall *c = call_at(w, ev->index);
    if (!c)
        return SEAM_ERR_INVALID;
    if (w->open == BLK_TOOL && w->open_call == ev->index)
        return ev->text_len
                   ? write_delta(w, "input_json_delta", "partial_json", ev->text, ev->text_len, out)
                   : SEAM_OK;
    /* A fragment for a call whose block was closed (by text that came in
     * between) can no longer be delivered: a malformed sequence. */
    if (c->written)
        return SEAM_ERR_INVALID;
    return seam_buf_append(&c->held, ev->text, ev->text_len);
}

static seam_rc on_end(anthropic_writer *w, const seam_event *ev, seam_buf *out)
{
    struct wcall *c = call_at(w, ev->index);
    if (!c)
        return SEAM_ERR_INVALID;
    c->ended = true;
    return w->open == BLK_TOOL && w->open_call == ev->index ? pump_calls(w, false, out) : SEAM_OK;
}

/* Writes the mid-stream error event: the status picks the type unless the
 * upstream already used one of Anthropic's (overloaded_error, ...). */
static seam_rc anthropic_writer_error(void *wp, int status, const char *message, const char *type,
                                      const char *code, seam_buf *out)
{
    anthropic_writer *w = wp;
    if (w->errored || w->ended)
        return SEAM_OK;
    w->errored = true;
    const char *t = anthropic_type(type) ? type : seam_api_anthropic_error_type(status);
    return write_event(out, "error", error_json(t, message));
}

static seam_rc anthropic_writer_event(void *wp, const seam_event *ev, seam_buf *out)
{
    anthropic_writer *w = wp;
    seam_rc rc;
    if (w->errored || w->ended)
        return SEAM_OK;
    if (ev->type == SEAM_EV_START) {
        if (w->started)
            return SEAM_OK;
        if (ev->id && !(w->id = seam_arena_strdup(w->arena, ev->id)))
            return SEAM_ERR_NOMEM;
        if (ev->name && !(w->model = seam_arena_strdup(w->arena, ev->name)))
            return SEAM_ERR_NOMEM;
        return ensure_started(w, out);
    }
    if (ev->type == SEAM_EV_USAGE) {
        w->usage = ev->usage;
        w->have_usage = true;
        return SEAM_OK;
    }
    if (ev->type == SEAM_EV_ERROR)
        return anthropic_writer_error(w, ev->status ? ev->status : 502, ev->text, ev->err_type,
                                      NULL, out);
    if ((rc = ensure_started(w, out)) != SEAM_OK)
        return rc;
    switch (ev->type) {
    case SEAM_EV_TEXT_DELTA:
    case SEAM_EV_REFUSAL_DELTA: /* Anthropic has no refusal text: it is text */
        if (ev->text_len == 0)
            return SEAM_OK;
        if ((rc = open_block(w, BLK_TEXT, out)) != SEAM_OK)
            return rc;
        return write_delta(w, "text_delta", "text", ev->text, ev->text_len, out);
    case SEAM_EV_THINKING_DELTA:
        if (ev->text_len == 0)
            return SEAM_OK;
        if ((rc = open_block(w, BLK_THINKING, out)) != SEAM_OK)
            return rc;
        return write_delta(w, "thinking_delta", "thinking", ev->text, ev->text_len, out);
    case SEAM_EV_THINKING_SIGNATURE:
        if ((rc = open_block(w, BLK_THINKING, out)) != SEAM_OK ||
            (rc = write_delta(w, "signature_delta", "signature", ev->text, ev->text_len, out)) !=
                SEAM_OK)
            return rc;
        return close_block(w, out);
    case SEAM_EV_TOOL_CALL_BEGIN:
        return on_begin(w, ev, out);
    case SEAM_EV_TOOL_CALL_ARGS_DELTA:
        return on_args(w, ev, out);
    case SEAM_EV_TOOL_CALL_END:
        return on_end(w, ev, out);
    case SEAM_EV_FINISH:
        /* Every block closes now; message_delta waits for writer_end, as
         * usage may still follow. */
        w->finished = true;
        w->finish = ev->finish;
        if ((rc = pump_calls(w, true, out)) != SEAM_OK)
            return rc;
        return close_block(w, out);
    case SEAM_EV_START:
    case SEAM_EV_USAGE:
    case SEAM_EV_ERROR:
        break;
    }
    return SEAM_OK;
}

static seam_rc anthropic_writer_end(void *wp, seam_buf *out)
{
    anthropic_writer *w = wp;
    seam_rc rc;
    if (w->errored || w->ended)
        return SEAM_OK;
    w->ended = true;
    if ((rc = ensure_started(w, out)) != SEAM_OK || (rc = pump_calls(w, true, out)) != SEAM_OK ||
        (rc = close_block(w, out)) != SEAM_OK)
        return rc;
    json_t *u =
        w->have_usage ? usage_json(&w->usage, true) : json_pack("{s:i}", "output_tokens", 0);
    json_t *o =
        u ? json_pack("{s:s, s:{s:s, s:n}, s:o}", "type", "message_delta", "delta", "stop_reason",
                      stop_reason(w->finish, w->had_calls), "stop_sequence", "usage", u)
          : NULL;
    if ((rc = write_event(out, "message_delta", o)) != SEAM_OK)
        return rc;
    return seam_buf_puts(out, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
}

/* ---- whole answers ---- */

/* Tool arguments as the input object. Arguments that are not a JSON object
 * (a model's malformed output) cannot be an input as they are; rather than
 * failing the whole answer they are delivered as {"_raw_arguments": text},
 * which the client's tool code can recognise. */
static json_t *call_input(const seam_answer_call *c)
{
    const char *s = c->args.data ? c->args.data : "";
    size_t n = strspn(s, " \t\r\n");
    if (n == c->args.len)
        return json_object();
    json_error_t jerr;
    json_t *o = json_loadb(s, c->args.len, 0, &jerr);
    if (json_is_object(o))
        return o;
    json_decref(o);
    return json_pack("{s:s%}", "_raw_arguments", s, c->args.len);
}

/* Appends <b> (stolen) to <arr>; false when either failed. */
static bool add(json_t *arr, json_t *b)
{
    return b && json_array_append_new(arr, b) == 0;
}

static char *anthropic_answer_body(const seam_answer *ans, const seam_req *req, seam_arena *a,
                                   size_t *len)
{
    const seam_buf *th = &ans->thinking, *sig = &ans->signature, *text = &ans->text;
    json_t *content = json_array();
    bool ok = content != NULL;
    if (ok && (th->len > 0 || sig->len > 0))
        ok = add(content, json_pack("{s:s, s:s%, s:s%}", "type", "thinking", "thinking",
                                    th->data ? th->data : "", th->len, "signature",
                                    sig->data ? sig->data : "", sig->len));
    if (ok && (text->len > 0 || (ans->ncalls == 0 && ans->refusal.len == 0)))
        ok = add(content, json_pack("{s:s, s:s%}", "type", "text", "text",
                                    text->data ? text->data : "", text->len));
    if (ok && ans->refusal.len > 0)
        ok = add(content, json_pack("{s:s, s:s%}", "type", "text", "text", ans->refusal.data,
                                    ans->refusal.len));
    for (int i = 0; ok && i < ans->ncalls; i++) {
        json_t *input = call_input(&ans->calls[i]);
        ok = input &&
             add(content, json_pack("{s:s, s:s, s:s, s:o}", "type", "tool_use", "id",
                                    ans->calls[i].id, "name", ans->calls[i].name, "input", input));
    }
    json_t *usage = ok ? usage_json(&ans->usage, ans->have_usage) : NULL;
    json_t *o = NULL;
    if (usage)
        o = json_pack("{s:s, s:s, s:s, s:s, s:O, s:s, s:n, s:o}", "id", ans->id ? ans->id : "",
                      "type", "message", "role", "assistant", "model", ans->model ? ans->model : "",
                      "content", content, "stop_reason", stop_reason(ans->finish, ans->ncalls > 0),
                      "stop_sequence", "usage", usage);
    json_decref(content);
    char *s = o ? seam_json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    char *r = s ? seam_arena_strdup(a, s) : NULL;
    free(s);
    if (r)
        *len = strlen(r);
    return r;
}

/* ---- count_tokens ---- */

char *seam_api_anthropic_count_tokens(seam_arena *a, const seam_config *cfg, const char *body,
                                      size_t len, size_t *outlen, int *status)
{
    seam_req *req = NULL;
    json_t *meta;
    const char *param;
    char err[256];
    seam_rc rc = decode(a, body, len, &req, &meta, err, sizeof(err), &param, false);
    char *out;
    if (rc == SEAM_OK) {
        seam_task t;
        seam_task_init(&t, cfg);
        seam_task_estimate(&t, req);
        *status = 200;
        out = seam_arena_printf(a, "{\"input_tokens\":%llu}", (unsigned long long)t.prompt_tokens);
    } else {
        *status = rc == SEAM_ERR_INVALID ? 400 : 500;
        out = anthropic_error_body(a, *status, rc == SEAM_ERR_INVALID ? err : "out of memory", NULL,
                                   NULL, NULL);
    }
    if (out)
        *outlen = strlen(out);
    return out;
}

const seam_ingress seam_ingress_anthropic = {
    .api = SEAM_API_ANTHROPIC,
    .name = "anthropic",
    .path = "/v1/messages",
    .stream_content_type = "text/event-stream",
    .decode = anthropic_decode,
    .error_body = anthropic_error_body,
    .writer_new = anthropic_writer_new,
    .writer_event = anthropic_writer_event,
    .writer_end = anthropic_writer_end,
    .writer_error = anthropic_writer_error,
    .answer_body = anthropic_answer_body,
    .embeddings_body = NULL,
};
