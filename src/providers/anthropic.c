/*
 * Anthropic Messages egress: canonical request -> POST /v1/messages, and
 * Anthropic messages and named-event SSE streams -> canonical events.
 *
 * Request rules enforced here (Anthropic Messages API reference): max_tokens
 * is required, so the backend's max_tokens_default is sent when the client
 * gave none; there is no system role in messages, so system and developer
 * messages are hoisted into `system`; roles alternate, so consecutive turns
 * of one role are merged; after a tool_use the next user turn must begin with
 * the tool_result blocks, so each user turn is built as its results followed
 * by its other blocks; empty text blocks are a 400, so they are dropped;
 * tool_use input is an object; input_schema must be {type: object}; a
 * thinking budget is at least 1024 tokens and below max_tokens; thinking
 * blocks go back unmodified with their signature, ahead of the rest of
 * their assistant turn (those without a signature cannot go back at all).
 *
 * What only an Anthropic client can have sent (req->ingress is
 * SEAM_API_ANTHROPIC) goes back only then: opaque parts (documents,
 * redacted thinking, ...), unmodelled top-level keys (req->passthrough:
 * top_k, metadata, ...) and the client's own server tools, tool_choice
 * flags, adaptive thinking and output_config, which api/anthropic.c keeps
 * in passthrough. Another dialect's passthrough never reaches Anthropic.
 *
 * Stream rules: events are message_start, content_block_start/delta/stop,
 * message_delta (usage cumulative), message_stop, ping and error; unknown
 * events are ignored; a tool_use block streams its input as partial_json
 * fragments, the first of which may be "", relayed as they come; a thinking
 * block's signature (signature_delta, or the block's signature member in a
 * whole message) becomes SEAM_EV_THINKING_SIGNATURE.
 */
#include "providers/anthropic.h"
#include "core/jsonbuf.h"
#include "http/sse.h"
#include "providers/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ANTHROPIC_VERSION    "2023-06-01"
#define ANTHROPIC_MAX_BLOCKS 512
#define ANTHROPIC_MIN_BUDGET 1024
#define DEFAULT_MAX_TOKENS   4096

/* ---- request ---- */

/* A turn being built: the blocks that must lead it (a user turn's tool
 * results, an assistant turn's thinking) and its other blocks. */
struct turn {
    bool user;
    json_t *results, *blocks;
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

/* Adds <block> (stolen) to the last turn when it has the same role, else to
 * a new turn: this is where consecutive same-role messages merge. */
static seam_rc add_block(struct enc *e, bool user, json_t *block, bool result)
{
    if (!block)
        return SEAM_ERR_NOMEM;
    struct turn *t = e->nturns ? &e->turns[e->nturns - 1] : NULL;
    if (!t || t->user != user) {
        t = &e->turns[e->nturns++];
        t->user = user;
        t->results = json_array();
        t->blocks = json_array();
        if (!t->results || !t->blocks) {
            json_decref(block);
            return SEAM_ERR_NOMEM;
        }
    }
    return json_array_append_new(result ? t->results : t->blocks, block) == 0 ? SEAM_OK
                                                                              : SEAM_ERR_NOMEM;
}

static json_t *text_block(const seam_part *p)
{
    return json_pack("{s:s, s:s%}", "type", "text", "text", p->text ? p->text : "", p->text_len);
}

/* Images: a base64 data URL becomes a base64 source with its media type; an
 * http(s) URL a url source (Anthropic fetches it itself). */
static seam_rc image_block(struct enc *e, const seam_part *p, json_t **out)
{
    const char *mime, *data;
    if (seam_provider__data_url(p->image_url, e->a, &mime, &data) == 0)
        *out = json_pack("{s:s, s:{s:s, s:s, s:s}}", "type", "image", "source", "type", "base64",
                         "media_type", mime, "data", data);
    else if (seam_provider__remote_url(p->image_url))
        *out = json_pack("{s:s, s:{s:s, s:s}}", "type", "image", "source", "type", "url", "url",
                         p->image_url);
    else
        return invalid(e, "%s", "an image must be an https URL or a base64 data URL");
    return *out ? SEAM_OK : SEAM_ERR_NOMEM;
}

/* True when the request came from an Anthropic client: what it sent in
 * Anthropic's own terms may go back verbatim. */
static bool same_dialect(const seam_req *req)
{
    return req->ingress == SEAM_API_ANTHROPIC;
}

/* The client's own value of top-level <key> kept in passthrough (Anthropic
 * clients only), or NULL. */
static json_t *echo(const seam_req *req, const char *key)
{
    return same_dialect(req) && req->passthrough ? json_object_get(req->passthrough, key) : NULL;
}

static seam_rc unsupported_part(struct enc *e, const seam_part *p)
{
    const json_t *t = p->opaque ? json_object_get(p->opaque, "type") : NULL;
    return invalid(e, "content parts of type '%s' cannot be sent to an Anthropic backend",
                   json_is_string(t) ? json_string_value(t) : "unknown");
}

static seam_rc encode_system(struct enc *e, const seam_msg *m)
{
    for (size_t i = 0; i < m->nparts; i++) {
        const seam_part *p = &m->parts[i];
        if (p->type == SEAM_PART_TEXT && p->text_len > 0) {
            if (json_array_append_new(e->system, text_block(p)) != 0)
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
        json_t *b = NULL;
        switch (p->type) {
        case SEAM_PART_TEXT:
        case SEAM_PART_REFUSAL:
        case SEAM_PART_TOOL_RESULT:
            if (p->text_len > 0)
                rc = add_block(e, true, text_block(p), false);
            break;
        case SEAM_PART_IMAGE:
            if ((rc = image_block(e, p, &b)) == SEAM_OK)
                rc = add_block(e, true, b, false);
            break;
        case SEAM_PART_OPAQUE:
            rc = same_dialect(e->req) ? add_block(e, true, json_incref(p->opaque), false)
                                      : unsupported_part(e, p);
            break;
        case SEAM_PART_TOOL_CALL:
        case SEAM_PART_THINKING:
            break;
        }
    }
    return rc;
}

/* The id sent for a tool call that message <mi> made with the client's id
 * <id>. Synthesised ids (Ollama's and Gemini's call_0, call_1, ...) repeat on
 * every turn, and Anthropic requires tool_use ids to be unique in a
 * conversation, so a repeated one gets its message index appended; results
 * are mapped to the same name by wire_result_id. */
static const char *wire_id(struct enc *e, size_t mi, const char *id)
{
    if (!seam_provider__find_call(e->req, mi, id, NULL))
        return id;
    return seam_arena_printf(e->a, "%s_m%zu", id, mi);
}

/* The wire id of the call that tool message <mi> answers with <id>. */
static const char *wire_result_id(struct enc *e, size_t mi, const char *id)
{
    size_t cm;
    if (!id || !seam_provider__find_call(e->req, mi, id, &cm))
        return id;
    return wire_id(e, cm, id);
}

/* One tool message -> one tool_result block for the next user turn. Text
 * only: the content is a string; with images: text and image blocks. */
static seam_rc encode_tool(struct enc *e, const seam_msg *m, size_t mi)
{
    const char *id = NULL;
    size_t nimages = 0;
    for (size_t i = 0; i < m->nparts; i++) {
        if (!id && m->parts[i].call_id)
            id = m->parts[i].call_id;
        if (m->parts[i].type == SEAM_PART_IMAGE)
            nimages++;
        if (m->parts[i].type == SEAM_PART_OPAQUE && !same_dialect(e->req))
            return unsupported_part(e, &m->parts[i]);
        if (m->parts[i].type == SEAM_PART_OPAQUE)
            nimages++; /* a block of the content array, as images are */
    }
    size_t len;
    const char *text = seam_provider__result_text(m, e->a, &len);
    id = wire_result_id(e, mi, id);
    json_t *r = json_pack("{s:s, s:s}", "type", "tool_result", "tool_use_id", id ? id : "");
    if (!text || !r) {
        json_decref(r);
        return SEAM_ERR_NOMEM;
    }
    if (nimages == 0) {
        if (len > 0)
            json_object_set_new(r, "content", json_stringn(text, len));
    } else {
        json_t *content = json_array();
        json_object_set_new(r, "content", content);
        if (len > 0)
            json_array_append_new(content,
                                  json_pack("{s:s, s:s%}", "type", "text", "text", text, len));
        for (size_t i = 0; i < m->nparts; i++) {
            json_t *b;
            seam_rc rc;
            if (m->parts[i].type == SEAM_PART_OPAQUE) {
                json_array_append(content, m->parts[i].opaque);
                continue;
            }
            if (m->parts[i].type != SEAM_PART_IMAGE)
                continue;
            if ((rc = image_block(e, &m->parts[i], &b)) != SEAM_OK) {
                json_decref(r);
                return rc;
            }
            json_array_append_new(content, b);
        }
    }
    return add_block(e, true, r, true);
}

static seam_rc encode_assistant(struct enc *e, const seam_msg *m, size_t mi)
{
    seam_rc rc = SEAM_OK;
    for (size_t i = 0; i < m->nparts && rc == SEAM_OK; i++) {
        const seam_part *p = &m->parts[i];
        switch (p->type) {
        case SEAM_PART_TEXT:
        case SEAM_PART_REFUSAL:
            if (p->text_len > 0)
                rc = add_block(e, false, text_block(p), false);
            break;
        case SEAM_PART_TOOL_CALL: {
            json_t *input = seam_provider__args_object(p, e->err, e->errlen);
            if (!input)
                return SEAM_ERR_INVALID;
            /* Anthropic requires an id; a client that gave none gets one
             * that is unique within the request. */
            const char *id = p->call_id ? wire_id(e, mi, p->call_id)
                                        : seam_arena_printf(e->a, "call_%zu_%zu", mi, i);
            rc = add_block(e, false,
                           json_pack("{s:s, s:s, s:s, s:o}", "type", "tool_use", "id", id ? id : "",
                                     "name", p->name ? p->name : "", "input", input),
                           false);
            break;
        }
        case SEAM_PART_IMAGE:
            return invalid(e, "%s", "assistant messages cannot carry images");
        case SEAM_PART_OPAQUE:
            if (!same_dialect(e->req))
                return unsupported_part(e, p);
            rc = add_block(e, false, json_incref(p->opaque), false);
            break;
        case SEAM_PART_THINKING:
            /* Anthropic only accepts thinking blocks with the signature it
             * issued (or redacted_thinking as it sent it), unmodified and
             * ahead of the turn's other blocks; thinking without one (from
             * another backend) is dropped. */
            if (p->opaque && same_dialect(e->req))
                rc = add_block(e, false, json_incref(p->opaque), true);
            else if (p->signature && !p->opaque)
                rc = add_block(e, false,
                               json_pack("{s:s, s:s%, s:s}", "type", "thinking", "thinking",
                                         p->text ? p->text : "", p->text_len, "signature",
                                         p->signature),
                               true);
            break;
        case SEAM_PART_TOOL_RESULT:
            break;
        }
    }
    return rc;
}

/* Custom tools, then an Anthropic client's server tools as it sent them. */
static json_t *encode_tools(const seam_req *req)
{
    json_t *tools = json_array();
    json_t *server = echo(req, "tools");
    for (size_t i = 0; tools && i < req->ntools; i++) {
        const seam_tool *t = &req->tools[i];
        json_t *schema;
        /* input_schema must be an object schema: an absent schema is an
         * object without properties, and one without a type gets it. */
        if (t->parameters) {
            schema = json_deep_copy(t->parameters);
            if (schema && !json_object_get(schema, "type"))
                json_object_set_new(schema, "type", json_string("object"));
        } else {
            schema = json_pack("{s:s, s:{}}", "type", "object", "properties");
        }
        json_t *o = json_pack("{s:s}", "name", t->name);
        if (o && t->description)
            json_object_set_new(o, "description", json_string(t->description));
        if (o)
            json_object_set_new(o, "input_schema", schema);
        else
            json_decref(schema);
        json_array_append_new(tools, o);
    }
    if (tools && json_is_array(server))
        json_array_extend(tools, server);
    return tools;
}

static bool has_tools(const seam_req *req)
{
    return req->ntools > 0 || json_array_size(echo(req, "tools")) > 0;
}

/* OpenAI's tool_choice -> Anthropic's: none, auto, required -> any, a
 * function -> tool. parallel_tool_calls false (OpenAI clients) or the
 * client's own disable_parallel_tool_use (Anthropic clients) ->
 * disable_parallel_tool_use. */
static seam_rc encode_tool_choice(struct enc *e, json_t *body)
{
    const seam_req *req = e->req;
    const json_t *tc = req->params.tool_choice;
    const json_t *par = req->ingress == SEAM_API_OPENAI && req->passthrough
                            ? json_object_get(req->passthrough, "parallel_tool_calls")
                            : NULL;
    bool serial = json_is_false(par) || json_is_true(json_object_get(echo(req, "tool_choice"),
                                                                     "disable_parallel_tool_use"));
    if (!has_tools(req) || (!tc && !serial))
        return SEAM_OK;
    json_t *o = NULL;
    if (!tc || (json_is_string(tc) && strcmp(json_string_value(tc), "auto") == 0)) {
        o = json_pack("{s:s}", "type", "auto");
    } else if (json_is_string(tc) && strcmp(json_string_value(tc), "none") == 0) {
        o = json_pack("{s:s}", "type", "none");
        serial = false;
    } else if (json_is_string(tc) && strcmp(json_string_value(tc), "required") == 0) {
        o = json_pack("{s:s}", "type", "any");
    } else {
        const json_t *name = json_object_get(json_object_get(tc, "function"), "name");
        if (!json_is_string(name))
            return invalid(e, "%s",
                           "tool_choice must be none, auto, required or "
                           "{\"type\":\"function\",\"function\":{\"name\":...}}");
        o = json_pack("{s:s, s:O}", "type", "tool", "name", name);
    }
    if (!o)
        return SEAM_ERR_NOMEM;
    if (serial)
        json_object_set_new(o, "disable_parallel_tool_use", json_true());
    json_object_set_new(body, "tool_choice", o);
    return SEAM_OK;
}

/* max_tokens and thinking. The budget is the client's own (an Anthropic
 * budget_tokens, params.reasoning_budget) or else follows the effort
 * convention of util.h; an Anthropic client's adaptive thinking goes back as
 * it sent it (with passthrough) and needs no budget. The budget
 * must be >= 1024 and < max_tokens: with the configured default,
 * max_tokens grows to make room for it; with the client's own max_tokens,
 * the budget shrinks, and a max_tokens too small for any budget is an
 * error rather than a silent loss of the reasoning the client asked for. */
static seam_rc encode_limits(struct enc *e, const seam_backend_conf *b, json_t *body)
{
    const seam_params *p = &e->req->params;
    int64_t def = b && b->max_tokens_default ? (int64_t)b->max_tokens_default : DEFAULT_MAX_TOKENS;
    int64_t max = p->max_tokens >= 0 ? p->max_tokens : def;
    int64_t budget = seam_provider__budget(p->reasoning);
    if (budget > 0 && p->reasoning_budget > 0)
        budget = p->reasoning_budget;
    if (echo(e->req, "thinking"))
        budget = 0;
    if (budget > 0) {
        if (p->max_tokens < 0 && budget >= max)
            max = budget + def;
        else if (budget >= max)
            budget = max - 1;
        if (budget < ANTHROPIC_MIN_BUDGET) {
            snprintf(e->err, e->errlen,
                     "reasoning on an Anthropic backend needs max_tokens above %d (the thinking "
                     "budget is at least %d tokens and below max_tokens); got %lld",
                     ANTHROPIC_MIN_BUDGET, ANTHROPIC_MIN_BUDGET, (long long)max);
            return SEAM_ERR_INVALID;
        }
    }
    json_object_set_new(body, "max_tokens", json_integer(max));
    if (budget > 0)
        json_object_set_new(
            body, "thinking",
            json_pack("{s:s, s:I}", "type", "enabled", "budget_tokens", (json_int_t)budget));
    return SEAM_OK;
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
            rc = encode_assistant(e, m, i);
            break;
        }
    }
    return rc;
}

static void free_turns(struct enc *e)
{
    for (size_t i = 0; i < e->nturns; i++) {
        json_decref(e->turns[i].results);
        json_decref(e->turns[i].blocks);
    }
    e->nturns = 0;
}

json_t *seam_anthropic_encode_request(const seam_req *req, const seam_backend_conf *b,
                                      const char *model, seam_arena *a, seam_rc *rcp, char *err,
                                      size_t errlen)
{
    struct enc e = {.req = req, .a = a, .err = err, .errlen = errlen};
    json_t *body = json_pack("{s:s}", "model", model);
    json_t *msgs = json_array();
    e.system = json_array();
    e.turns = seam_arena_calloc(a, (req->nmsgs + 1) * sizeof(struct turn));
    seam_rc rc = SEAM_ERR_NOMEM;
    if (!body || !msgs || !e.system || !e.turns)
        goto out;
    if ((rc = encode_limits(&e, b, body)) != SEAM_OK || (rc = encode_messages(&e)) != SEAM_OK)
        goto out;
    if (json_array_size(e.system) == 1)
        json_object_set(body, "system", json_object_get(json_array_get(e.system, 0), "text"));
    else if (json_array_size(e.system) > 1)
        json_object_set(body, "system", e.system);
    for (size_t i = 0; i < e.nturns; i++) {
        json_t *content = e.turns[i].results;
        json_array_extend(content, e.turns[i].blocks);
        json_array_append_new(msgs, json_pack("{s:s, s:O}", "role",
                                              e.turns[i].user ? "user" : "assistant", "content",
                                              content));
    }
    if (json_array_size(msgs) == 0) {
        snprintf(err, errlen, "the request has no non-empty user or assistant message to send");
        rc = SEAM_ERR_INVALID;
        goto out;
    }
    json_object_set(body, "messages", msgs);
    if (has_tools(req))
        json_object_set_new(body, "tools", encode_tools(req));
    if ((rc = encode_tool_choice(&e, body)) != SEAM_OK)
        goto out;
    const seam_params *p = &req->params;
    if (p->nstop > 0) {
        json_t *stop = json_array();
        for (size_t i = 0; i < p->nstop; i++)
            json_array_append_new(stop, json_string(p->stop[i]));
        json_object_set_new(body, "stop_sequences", stop);
    }
    if (p->has_temperature)
        json_object_set_new(body, "temperature", json_real(p->temperature));
    if (p->has_top_p)
        json_object_set_new(body, "top_p", json_real(p->top_p));
    /* JSON output: a schema maps to output_config.format; Anthropic has no
     * schemaless JSON mode, so json_object is left to the prompt. An
     * Anthropic client's own output_config goes back whole instead. */
    const json_t *rf = echo(req, "output_config") ? NULL : p->response_format;
    const json_t *rft = json_object_get(rf, "type");
    if (json_is_string(rft) && strcmp(json_string_value(rft), "json_schema") == 0) {
        const json_t *schema = json_object_get(json_object_get(rf, "json_schema"), "schema");
        if (json_is_object(schema))
            json_object_set_new(
                body, "output_config",
                json_pack("{s:{s:s, s:O}}", "format", "type", "json_schema", "schema", schema));
    }
    if (req->stream)
        json_object_set_new(body, "stream", json_true());
    /* An Anthropic client's unmodelled keys, under what seam set itself;
     * tools and tool_choice were merged above, and its adaptive thinking
     * stays home when a policy turned reasoning off. */
    const char *k;
    json_t *v;
    if (same_dialect(req) && req->passthrough)
        json_object_foreach(req->passthrough, k, v)
        {
            bool skip = strcmp(k, "tools") == 0 || strcmp(k, "tool_choice") == 0 ||
                        (strcmp(k, "thinking") == 0 && (p->reasoning == SEAM_REASONING_OFF ||
                                                        p->reasoning == SEAM_REASONING_UNSET));
            if (!skip && !json_object_get(body, k) && json_object_set(body, k, v) != 0) {
                rc = SEAM_ERR_NOMEM;
                goto out;
            }
        }
    rc = SEAM_OK;
out:
    free_turns(&e);
    json_decref(e.system);
    json_decref(msgs);
    if (rc != SEAM_OK) {
        if (rc == SEAM_ERR_NOMEM)
            snprintf(err, errlen, "out of memory");
        json_decref(body);
        body = NULL;
    }
    *rcp = rc;
    return body;
}

static seam_rc anthropic_build(const seam_req *req, const seam_backend_conf *b, const char *model,
                               const char *api_key, seam_arena *a, seam_upstream_call *out,
                               char *err, size_t errlen)
{
    seam_rc rc;
    json_t *body = seam_anthropic_encode_request(req, b, model, a, &rc, err, errlen);
    seam_buf_init(&out->body, (size_t)-1);
    if (!body)
        return rc;
    if ((rc = seam_provider__dump(body, out)) != SEAM_OK)
        return rc;
    out->url = seam_arena_printf(a, "%s/v1/messages", b->url);
    const char **h = seam_arena_calloc(a, 5 * sizeof(char *));
    if (!out->url || !h)
        return SEAM_ERR_NOMEM;
    size_t k = 0;
    h[k++] = "Content-Type: application/json";
    h[k++] = req->stream ? "Accept: text/event-stream" : "Accept: application/json";
    h[k++] = "anthropic-version: " ANTHROPIC_VERSION;
    if (api_key && api_key[0] && !(h[k++] = seam_arena_printf(a, "x-api-key: %s", api_key)))
        return SEAM_ERR_NOMEM;
    out->headers = h;
    return SEAM_OK;
}

static const char **anthropic_probe_headers(const char *api_key, seam_arena *a)
{
    const char **h = seam_arena_calloc(a, 3 * sizeof(char *));
    if (!h)
        return NULL;
    h[0] = "anthropic-version: " ANTHROPIC_VERSION;
    if (api_key && api_key[0] && !(h[1] = seam_arena_printf(a, "x-api-key: %s", api_key)))
        return NULL;
    return h;
}

/* ---- responses to events ---- */

static int64_t get_int(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

static const char *get_str(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static seam_finish parse_stop(const char *s)
{
    if (!s)
        return SEAM_FINISH_STOP;
    if (strcmp(s, "max_tokens") == 0 || strcmp(s, "model_context_window_exceeded") == 0)
        return SEAM_FINISH_LENGTH;
    if (strcmp(s, "tool_use") == 0)
        return SEAM_FINISH_TOOL_CALLS;
    if (strcmp(s, "refusal") == 0)
        return SEAM_FINISH_CONTENT_FILTER;
    return SEAM_FINISH_STOP; /* end_turn, stop_sequence, pause_turn */
}

/* Usage counters as Anthropic reports them; -1 when not seen. */
struct usage {
    int64_t input, cache_write, cache_read, output;
};

static void usage_update(struct usage *u, const json_t *o)
{
    int64_t v;
    if (!json_is_object(o))
        return;
    if ((v = get_int(o, "input_tokens")) >= 0)
        u->input = v;
    if ((v = get_int(o, "cache_creation_input_tokens")) >= 0)
        u->cache_write = v;
    if ((v = get_int(o, "cache_read_input_tokens")) >= 0)
        u->cache_read = v;
    if ((v = get_int(o, "output_tokens")) >= 0)
        u->output = v;
}

/* Total input is input + cache_creation + cache_read (the three are
 * disjoint); output_tokens already includes thinking. */
static int emit_usage(const struct usage *u, const seam_event_sink *sink)
{
    if (u->input < 0 && u->output < 0)
        return 0;
    seam_event ev = {.type = SEAM_EV_USAGE};
    ev.usage.input = u->input < 0 ? -1
                                  : u->input + (u->cache_write > 0 ? u->cache_write : 0) +
                                        (u->cache_read > 0 ? u->cache_read : 0);
    ev.usage.output = u->output;
    ev.usage.reasoning = -1;
    ev.usage.cached = u->cache_read;
    return seam_emit(sink, &ev);
}

static int emit_error_obj(const json_t *root, const seam_event_sink *sink)
{
    const json_t *e = json_object_get(root, "error");
    return seam_provider__emit_error(sink, get_str(e, "message"), get_str(e, "type"));
}

static seam_rc anthropic_parse_response(const char *body, size_t len, seam_arena *a,
                                        const seam_event_sink *sink, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = seam_arena_json(a, json_loadb(body, len, 0, &jerr));
    if (!json_is_object(root)) {
        snprintf(err, errlen, "upstream sent a body that is not a JSON object");
        return SEAM_ERR_UPSTREAM;
    }
    const char *type = get_str(root, "type");
    if (type && strcmp(type, "error") == 0)
        return emit_error_obj(root, sink) ? SEAM_ERR_CANCELLED : SEAM_OK;
    const json_t *content = json_object_get(root, "content");
    if (!json_is_array(content)) {
        snprintf(err, errlen, "upstream message has no content array");
        return SEAM_ERR_UPSTREAM;
    }
    seam_event start = {
        .type = SEAM_EV_START, .id = get_str(root, "id"), .name = get_str(root, "model")};
    if (seam_emit(sink, &start))
        return SEAM_ERR_CANCELLED;
    int ncalls = 0;
    size_t i;
    const json_t *blk;
    json_array_foreach(content, i, blk)
    {
        const char *bt = get_str(blk, "type");
        const char *text;
        int r = 0;
        if (!bt)
            continue;
        if (strcmp(bt, "text") == 0 && (text = get_str(blk, "text"))) {
            r = seam_provider__emit_text(sink, SEAM_EV_TEXT_DELTA, text,
                                         json_string_length(json_object_get(blk, "text")));
        } else if (strcmp(bt, "thinking") == 0 && (text = get_str(blk, "thinking"))) {
            const json_t *sig = json_object_get(blk, "signature");
            r = seam_provider__emit_text(sink, SEAM_EV_THINKING_DELTA, text,
                                         json_string_length(json_object_get(blk, "thinking"))) ||
                seam_provider__emit_text(sink, SEAM_EV_THINKING_SIGNATURE, json_string_value(sig),
                                         json_string_length(sig));
        } else if (strcmp(bt, "tool_use") == 0) {
            const char *name = get_str(blk, "name");
            const json_t *input = json_object_get(blk, "input");
            if (!name) {
                snprintf(err, errlen, "upstream tool_use block has no name");
                return SEAM_ERR_UPSTREAM;
            }
            char *args = json_is_object(input) ? seam_json_dumps(input, JSON_COMPACT) : NULL;
            const char *s = args ? args : "{}";
            r = seam_provider__emit_call(sink, ncalls++, get_str(blk, "id"), name, s, strlen(s));
            free(args);
        }
        if (r)
            return SEAM_ERR_CANCELLED;
    }
    struct usage u = {-1, -1, -1, -1};
    usage_update(&u, json_object_get(root, "usage"));
    if (emit_usage(&u, sink))
        return SEAM_ERR_CANCELLED;
    seam_event fin = {.type = SEAM_EV_FINISH, .finish = parse_stop(get_str(root, "stop_reason"))};
    if (fin.finish == SEAM_FINISH_STOP && ncalls > 0)
        fin.finish = SEAM_FINISH_TOOL_CALLS;
    return seam_emit(sink, &fin) ? SEAM_ERR_CANCELLED : SEAM_OK;
}

/* ---- streams ---- */

enum block_kind { BLK_NONE = 0, BLK_TEXT, BLK_THINKING, BLK_TOOL, BLK_OTHER };

struct block {
    unsigned char kind;
    bool open, args_sent;
    int call;           /* canonical tool call index */
    const char *input0; /* the input object of content_block_start, as JSON */
};

struct seam_provider_stream {
    seam_sse_parser sse;
    seam_arena *arena;
    const seam_event_sink *sink;
    seam_rc rc;
    char *err;
    size_t errlen;
    bool started, finished;
    int ncalls;
    char stop[48];
    struct usage usage;
    struct block blocks[ANTHROPIC_MAX_BLOCKS];
};

static void stream_release(void *p)
{
    seam_sse_free(&((seam_provider_stream *)p)->sse);
}

static seam_provider_stream *anthropic_stream_new(seam_arena *a)
{
    seam_provider_stream *s = seam_arena_calloc(a, sizeof(*s));
    if (!s)
        return NULL;
    seam_sse_init(&s->sse, SEAM_PROVIDER_MAX_EVENT);
    s->arena = a;
    s->usage = (struct usage){-1, -1, -1, -1};
    if (seam_arena_on_free(a, stream_release, s) != 0)
        return NULL;
    return s;
}

static int stream_fail(seam_provider_stream *s, const char *msg)
{
    snprintf(s->err, s->errlen, "%s", msg);
    s->rc = SEAM_ERR_UPSTREAM;
    return -1;
}

static struct block *block_at(seam_provider_stream *s, const json_t *ev)
{
    const json_t *ix = json_object_get(ev, "index");
    json_int_t i = json_is_integer(ix) ? json_integer_value(ix) : -1;
    if (i < 0 || i >= ANTHROPIC_MAX_BLOCKS) {
        stream_fail(s, "upstream content block index out of range");
        return NULL;
    }
    return &s->blocks[i];
}

static int close_block(seam_provider_stream *s, struct block *b)
{
    if (!b->open)
        return 0;
    b->open = false;
    if (b->kind != BLK_TOOL)
        return 0;
    /* No input_json_delta at all: the start block's input is the input. */
    if (!b->args_sent) {
        const char *in = b->input0 ? b->input0 : "{}";
        seam_event d = {.type = SEAM_EV_TOOL_CALL_ARGS_DELTA,
                        .index = b->call,
                        .text = in,
                        .text_len = strlen(in)};
        if (seam_emit(s->sink, &d))
            return -1;
    }
    seam_event e = {.type = SEAM_EV_TOOL_CALL_END, .index = b->call};
    return seam_emit(s->sink, &e);
}

static int on_block_start(seam_provider_stream *s, const json_t *ev)
{
    struct block *b = block_at(s, ev);
    if (!b || close_block(s, b))
        return -1;
    const json_t *cb = json_object_get(ev, "content_block");
    const char *t = get_str(cb, "type");
    memset(b, 0, sizeof(*b));
    b->open = true;
    if (!t) {
        b->kind = BLK_OTHER;
    } else if (strcmp(t, "text") == 0) {
        b->kind = BLK_TEXT;
        const json_t *text = json_object_get(cb, "text");
        return seam_provider__emit_text(s->sink, SEAM_EV_TEXT_DELTA, json_string_value(text),
                                        json_string_length(text));
    } else if (strcmp(t, "thinking") == 0) {
        b->kind = BLK_THINKING;
        const json_t *text = json_object_get(cb, "thinking");
        return seam_provider__emit_text(s->sink, SEAM_EV_THINKING_DELTA, json_string_value(text),
                                        json_string_length(text));
    } else if (strcmp(t, "tool_use") == 0) {
        const char *name = get_str(cb, "name");
        if (!name)
            return stream_fail(s, "upstream tool_use block has no name");
        if (s->ncalls >= SEAM_PROVIDER_MAX_CALLS)
            return stream_fail(s, "upstream sent too many tool calls");
        b->kind = BLK_TOOL;
        b->call = s->ncalls++;
        const json_t *input = json_object_get(cb, "input");
        if (json_is_object(input) && json_object_size(input) > 0) {
            char *in = seam_json_dumps(input, JSON_COMPACT);
            b->input0 = in ? seam_arena_strdup(s->arena, in) : NULL;
            free(in);
            if (!b->input0)
                return stream_fail(s, "out of memory");
        }
        seam_event begin = {.type = SEAM_EV_TOOL_CALL_BEGIN,
                            .index = b->call,
                            .id = get_str(cb, "id"),
                            .name = name};
        return seam_emit(s->sink, &begin);
    } else {
        b->kind = BLK_OTHER; /* redacted_thinking, server tools, ... */
    }
    return 0;
}

static int on_block_delta(seam_provider_stream *s, const json_t *ev)
{
    struct block *b = block_at(s, ev);
    if (!b)
        return -1;
    const json_t *d = json_object_get(ev, "delta");
    const char *t = get_str(d, "type");
    if (!t || !b->open)
        return 0;
    const json_t *v;
    if (strcmp(t, "text_delta") == 0 && b->kind == BLK_TEXT) {
        v = json_object_get(d, "text");
        return seam_provider__emit_text(s->sink, SEAM_EV_TEXT_DELTA, json_string_value(v),
                                        json_string_length(v));
    }
    if (strcmp(t, "thinking_delta") == 0 && b->kind == BLK_THINKING) {
        v = json_object_get(d, "thinking");
        return seam_provider__emit_text(s->sink, SEAM_EV_THINKING_DELTA, json_string_value(v),
                                        json_string_length(v));
    }
    if (strcmp(t, "input_json_delta") == 0 && b->kind == BLK_TOOL) {
        v = json_object_get(d, "partial_json");
        if (!json_is_string(v) || json_string_length(v) == 0)
            return 0; /* the first fragment is often "" */
        b->args_sent = true;
        seam_event a = {.type = SEAM_EV_TOOL_CALL_ARGS_DELTA,
                        .index = b->call,
                        .text = json_string_value(v),
                        .text_len = json_string_length(v)};
        return seam_emit(s->sink, &a);
    }
    if (strcmp(t, "signature_delta") == 0 && b->kind == BLK_THINKING) {
        v = json_object_get(d, "signature");
        return seam_provider__emit_text(s->sink, SEAM_EV_THINKING_SIGNATURE, json_string_value(v),
                                        json_string_length(v));
    }
    return 0; /* citations_delta, ... */
}

static int on_message_stop(seam_provider_stream *s)
{
    for (int i = 0; i < ANTHROPIC_MAX_BLOCKS; i++)
        if (close_block(s, &s->blocks[i]))
            return -1;
    s->finished = true;
    if (emit_usage(&s->usage, s->sink))
        return -1;
    seam_event fin = {.type = SEAM_EV_FINISH, .finish = parse_stop(s->stop[0] ? s->stop : NULL)};
    if (fin.finish == SEAM_FINISH_STOP && s->ncalls > 0)
        fin.finish = SEAM_FINISH_TOOL_CALLS;
    return seam_emit(s->sink, &fin);
}

static int on_event(seam_provider_stream *s, const json_t *ev)
{
    const char *t = get_str(ev, "type");
    if (!t)
        return stream_fail(s, "upstream stream event has no type");
    if (strcmp(t, "error") == 0) {
        s->finished = true;
        return emit_error_obj(ev, s->sink);
    }
    if (strcmp(t, "message_start") == 0) {
        const json_t *m = json_object_get(ev, "message");
        usage_update(&s->usage, json_object_get(m, "usage"));
        if (s->started)
            return 0;
        s->started = true;
        seam_event st = {
            .type = SEAM_EV_START, .id = get_str(m, "id"), .name = get_str(m, "model")};
        return seam_emit(s->sink, &st);
    }
    if (!s->started) {
        if (strcmp(t, "ping") == 0)
            return 0;
        return stream_fail(s, "upstream stream did not begin with message_start");
    }
    if (strcmp(t, "content_block_start") == 0)
        return on_block_start(s, ev);
    if (strcmp(t, "content_block_delta") == 0)
        return on_block_delta(s, ev);
    if (strcmp(t, "content_block_stop") == 0) {
        struct block *b = block_at(s, ev);
        return b ? close_block(s, b) : -1;
    }
    if (strcmp(t, "message_delta") == 0) {
        const char *sr = get_str(json_object_get(ev, "delta"), "stop_reason");
        if (sr)
            snprintf(s->stop, sizeof(s->stop), "%s", sr);
        usage_update(&s->usage, json_object_get(ev, "usage"));
        return 0;
    }
    if (strcmp(t, "message_stop") == 0)
        return on_message_stop(s);
    return 0; /* ping and event types newer than this code */
}

static int on_sse(void *ctx, const char *event, const char *data, size_t len)
{
    seam_provider_stream *s = ctx;
    if (s->finished)
        return 0; /* nothing counts after message_stop or an error */
    json_error_t jerr;
    json_t *ev = json_loadb(data, len, 0, &jerr);
    if (!json_is_object(ev)) {
        json_decref(ev);
        return stream_fail(s, "upstream sent a stream event that is not a JSON object");
    }
    int r = on_event(s, ev);
    json_decref(ev);
    return r;
}

static seam_rc anthropic_stream_feed(seam_provider_stream *s, const char *p, size_t n,
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

static seam_rc anthropic_stream_end(seam_provider_stream *s, const seam_event_sink *sink, char *err,
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
        snprintf(err, errlen, "upstream stream ended before message_stop");
        return SEAM_ERR_UPSTREAM;
    }
    return rc;
}

const seam_provider seam_provider_anthropic = {
    .name = "anthropic",
    .build = anthropic_build,
    .parse_response = anthropic_parse_response,
    .stream_new = anthropic_stream_new,
    .stream_feed = anthropic_stream_feed,
    .stream_end = anthropic_stream_end,
    .error_message = seam_provider__error_message,
    .probe_path = "/v1/models",
    .probe_headers = anthropic_probe_headers,
};
