/*
 * Ollama ingress: POST /api/chat and /api/generate decoded into the
 * canonical model and answered as Ollama's NDJSON stream or whole object,
 * plus the catalogue endpoints (/api/tags, /api/show, /api/version) answered
 * from the configuration. The judge of every shape is the official `ollama`
 * client (and Ollama's own server, api/types.go), so that an application
 * written for Ollama works unchanged against seam.
 *
 * Decisions where Ollama and the canonical model do not meet:
 *
 * - `stream` defaults to true when absent, as in Ollama.
 * - `think`: true -> medium effort, false -> off, "low" | "medium" | "high" |
 *   "max" -> that level. The client's value is also kept in the passthrough
 *   so that an Ollama backend receives it verbatim (true stays true) while
 *   other backends get the level.
 * - `format`: "json" -> response_format json_object; a JSON Schema object
 *   -> json_schema named "response".
 * - `options`: temperature, top_p, seed, stop and num_predict (a negative
 *   num_predict means "no limit" in Ollama) are modelled; every other option
 *   (num_ctx, top_k, ...) and every unknown top-level key (keep_alive, ...)
 *   goes to the passthrough, which only an Ollama backend receives.
 * - Images are raw base64; seam sniffs PNG, JPEG, GIF and WebP from the
 *   magic bytes to build the data URL other backends need, and refuses
 *   anything else with a 400. A data URL is accepted as given.
 * - Tool calls in the history carry no ids from Ollama clients: seam gives
 *   call j of message i the id "call_<i>_<j>" and links each tool message to
 *   a call of the latest assistant message with tool calls, by tool_name,
 *   then by order (an explicit tool_call_id wins), so Anthropic and OpenAI
 *   backends see matching ids.
 * - A request with nothing to say (chat without messages, generate with an
 *   empty prompt and no system or images) is how Ollama clients load a
 *   model; it decodes to a request with no messages, which an Ollama backend
 *   answers at once and other backends reject (their error is returned).
 * - /api/generate: `suffix` (fill-in-the-middle) and `raw: true` need the
 *   backend's own prompt template and are refused with a 400, as is a
 *   non-empty `context` (token ids of an earlier answer, deprecated by
 *   Ollama); an empty one is ignored. Answers carry no `context`: Go's
 *   omitempty drops an empty one too.
 * - Answers: tool calls are written whole, one line per call once its
 *   arguments are complete, with a function.index and the call id; done_reason
 *   is "length" for a length stop and "stop" otherwise (also after tool
 *   calls, as Ollama). Durations are nanoseconds measured by seam: total from
 *   the writer's creation, prompt_eval up to the first token, eval the rest,
 *   load 0; counts come from the usage (0 when unknown).
 */
#include "api/ollama.h"
#include "core/jsonbuf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define OLLAMA_STREAM_TYPE "application/x-ndjson"

/* ---- decoding ---- */

struct decoder {
    seam_arena *a;
    char *err;
    size_t errlen;
    const char **param;
    /* The latest assistant message with tool calls, and which of its parts
     * a tool message has already answered. */
    const seam_msg *calls_msg;
    bool *claimed;
};

__attribute__((format(printf, 3, 4))) static seam_rc fail(struct decoder *d, const char *param,
                                                          const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->err, d->errlen, fmt, ap);
    va_end(ap);
    *d->param = param;
    return SEAM_ERR_INVALID;
}

/* True when <v> is absent or JSON null: Ollama's Go structs treat both as
 * the zero value. */
static bool absent(const json_t *v)
{
    return v == NULL || json_is_null(v);
}

static int parse_role(const char *s, seam_role *r)
{
    static const struct {
        const char *name;
        seam_role role;
    } roles[] = {{"system", SEAM_ROLE_SYSTEM},
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

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Checks that <s> (<n> bytes) is padded standard base64, the encoding Go
 * gives a []byte, and decodes up to <max> of its first bytes into <out>.
 * Returns the number decoded, or -1 when <s> is not base64. */
static long b64_head(const char *s, size_t n, unsigned char *out, size_t max)
{
    if (n == 0 || n % 4 != 0)
        return -1;
    size_t got = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)s[i + k];
            if (c == '=') {
                /* Padding: only the last one or two characters. */
                if (i + 4 != n || k < 2)
                    return -1;
                v[k] = -2;
            } else if ((k == 3 && v[2] == -2) || (v[k] = b64_value(c)) < 0) {
                return -1;
            }
        }
        unsigned char b[3] = {
            (unsigned char)(v[0] << 2 | v[1] >> 4),
            (unsigned char)((v[1] & 15) << 4 | (v[2] >= 0 ? v[2] >> 2 : 0)),
            (unsigned char)((v[2] >= 0 ? (v[2] & 3) << 6 : 0) | (v[3] >= 0 ? v[3] : 0))};
        int nb = v[2] == -2 ? 1 : v[3] == -2 ? 2 : 3;
        for (int k = 0; k < nb && got < max; k++)
            out[got++] = b[k];
    }
    return (long)got;
}

/* The MIME type of an image from its first bytes, or NULL when it is not
 * one the backends take. */
static const char *sniff_image(const unsigned char *h, size_t n)
{
    if (n >= 8 && memcmp(h, "\x89PNG\r\n\x1a\n", 8) == 0)
        return "image/png";
    if (n >= 3 && h[0] == 0xFF && h[1] == 0xD8 && h[2] == 0xFF)
        return "image/jpeg";
    if (n >= 6 && (memcmp(h, "GIF87a", 6) == 0 || memcmp(h, "GIF89a", 6) == 0))
        return "image/gif";
    if (n >= 12 && memcmp(h, "RIFF", 4) == 0 && memcmp(h + 8, "WEBP", 4) == 0)
        return "image/webp";
    return NULL;
}

/* Ollama's raw base64 image -> an image part with a data URL. <where>
 * names the image in messages. */
static seam_rc decode_image(struct decoder *d, const json_t *img, const char *param,
                            const char *where, seam_part *p)
{
    if (!json_is_string(img))
        return fail(d, param, "%s must be a base64 string", where);
    const char *s = json_string_value(img);
    size_t n = json_string_length(img);
    p->type = SEAM_PART_IMAGE;
    if (strncmp(s, "data:", 5) == 0) {
        p->image_url = s;
        return SEAM_OK;
    }
    /* Go's base64 decoder skips line breaks; the data URL cannot keep them. */
    if (memchr(s, '\n', n) || memchr(s, '\r', n)) {
        char *c = seam_arena_alloc(d->a, n + 1);
        if (!c)
            return SEAM_ERR_NOMEM;
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (s[i] != '\n' && s[i] != '\r')
                c[k++] = s[i];
        c[k] = '\0';
        s = c;
        n = k;
    }
    unsigned char head[12];
    long got = b64_head(s, n, head, sizeof(head));
    if (got < 0)
        return fail(d, param, "%s is not valid base64", where);
    const char *mime = sniff_image(head, (size_t)got);
    if (!mime)
        return fail(d, param, "%s is not a PNG, JPEG, GIF or WebP image", where);
    size_t ml = strlen(mime);
    char *url = seam_arena_alloc(d->a, 5 + ml + 8 + n + 1);
    if (!url)
        return SEAM_ERR_NOMEM;
    memcpy(url, "data:", 5);
    memcpy(url + 5, mime, ml);
    memcpy(url + 5 + ml, ";base64,", 8);
    memcpy(url + 13 + ml, s, n + 1);
    p->image_url = url;
    return SEAM_OK;
}

/* Appends one image part per element of <images> (absent or null: none). */
static seam_rc decode_images(struct decoder *d, const json_t *images, const char *param, size_t mi,
                             seam_msg *m, bool *has_images)
{
    size_t i;
    json_t *img;
    json_array_foreach(images, i, img)
    {
        char where[64];
        if (mi == SIZE_MAX)
            snprintf(where, sizeof(where), "images[%zu]", i);
        else
            snprintf(where, sizeof(where), "messages[%zu].images[%zu]", mi, i);
        seam_rc rc = decode_image(d, img, param, where, &m->parts[m->nparts]);
        if (rc != SEAM_OK)
            return rc;
        m->nparts++;
        *has_images = true;
    }
    return SEAM_OK;
}

/* Arguments object -> compact JSON text in the arena. */
static const char *args_text(struct decoder *d, const json_t *args)
{
    if (absent(args))
        return "{}";
    char *s = seam_json_dumps(args, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char *r = s ? seam_arena_strdup(d->a, s) : NULL;
    free(s);
    return r;
}

static seam_rc decode_calls(struct decoder *d, const json_t *calls, size_t mi, seam_msg *m)
{
    size_t i;
    json_t *call;
    json_array_foreach(calls, i, call)
    {
        const json_t *fn = json_object_get(call, "function");
        const json_t *name = json_object_get(fn, "name"), *args = json_object_get(fn, "arguments");
        const json_t *id = json_object_get(call, "id");
        if (!json_is_string(name) || json_string_length(name) == 0)
            return fail(d, "messages", "messages[%zu].tool_calls[%zu] needs function.name", mi, i);
        if (!absent(args) && !json_is_object(args))
            return fail(d, "messages",
                        "messages[%zu].tool_calls[%zu].function.arguments must be "
                        "an object",
                        mi, i);
        seam_part *p = &m->parts[m->nparts++];
        p->type = SEAM_PART_TOOL_CALL;
        p->name = json_string_value(name);
        p->call_id = json_is_string(id) && json_string_length(id) > 0
                         ? json_string_value(id)
                         : seam_arena_printf(d->a, "call_%zu_%zu", mi, i);
        p->args = args_text(d, args);
        if (!p->call_id || !p->args)
            return SEAM_ERR_NOMEM;
    }
    return SEAM_OK;
}

/* Links tool message <mi> to the call it answers: the call with
 * <tool_call_id> when given, else the first unanswered call of the latest
 * assistant message named <tool_name>, else its first unanswered call.
 * Sets the result part's call_id (synthesised when nothing matches) and its
 * name (the client's tool_name, else the call's function name). */
static seam_rc link_result(struct decoder *d, size_t mi, const char *tool_call_id,
                           const char *tool_name, seam_part *p)
{
    const seam_msg *cm = d->calls_msg;
    size_t pick = SIZE_MAX;
    for (int pass = 0; cm && pass < 3 && pick == SIZE_MAX; pass++)
        for (size_t j = 0; j < cm->nparts && pick == SIZE_MAX; j++) {
            const seam_part *c = &cm->parts[j];
            if (c->type != SEAM_PART_TOOL_CALL)
                continue;
            if (pass == 0   ? tool_call_id && strcmp(c->call_id, tool_call_id) == 0
                : pass == 1 ? !tool_call_id && tool_name && !d->claimed[j] &&
                                  strcmp(c->name, tool_name) == 0
                            : !tool_call_id && !d->claimed[j])
                pick = j;
        }
    if (pick != SIZE_MAX) {
        d->claimed[pick] = true;
        p->call_id = cm->parts[pick].call_id;
        p->name = tool_name ? tool_name : cm->parts[pick].name;
    } else {
        p->call_id = tool_call_id ? tool_call_id : seam_arena_printf(d->a, "call_%zu", mi);
        p->name = tool_name;
    }
    return p->call_id ? SEAM_OK : SEAM_ERR_NOMEM;
}

static seam_rc decode_message(struct decoder *d, const json_t *o, size_t mi, seam_msg *m,
                              bool *has_images)
{
    if (!json_is_object(o))
        return fail(d, "messages", "messages[%zu] must be an object", mi);
    const json_t *role = json_object_get(o, "role");
    if (!json_is_string(role) || parse_role(json_string_value(role), &m->role) != 0)
        return fail(d, "messages", "messages[%zu] needs a role: system, user, assistant or tool",
                    mi);
    const json_t *content = json_object_get(o, "content");
    const json_t *thinking = json_object_get(o, "thinking");
    const json_t *images = json_object_get(o, "images");
    const json_t *calls = json_object_get(o, "tool_calls");
    const json_t *tool_name = json_object_get(o, "tool_name");
    const json_t *tool_call_id = json_object_get(o, "tool_call_id");
    if (!absent(content) && !json_is_string(content))
        return fail(d, "messages", "messages[%zu].content must be a string", mi);
    if (!absent(thinking) && !json_is_string(thinking))
        return fail(d, "messages", "messages[%zu].thinking must be a string", mi);
    if (!absent(images) && !json_is_array(images))
        return fail(d, "messages", "messages[%zu].images must be an array of base64 strings", mi);
    if (!absent(calls) && !json_is_array(calls))
        return fail(d, "messages", "messages[%zu].tool_calls must be an array", mi);
    if (!absent(tool_name) && !json_is_string(tool_name))
        return fail(d, "messages", "messages[%zu].tool_name must be a string", mi);
    if (!absent(tool_call_id) && !json_is_string(tool_call_id))
        return fail(d, "messages", "messages[%zu].tool_call_id must be a string", mi);
    size_t nimg = json_array_size(images), ncalls = json_array_size(calls);
    if (ncalls > 0 && m->role != SEAM_ROLE_ASSISTANT)
        return fail(d, "messages", "messages[%zu]: only assistant messages carry tool_calls", mi);

    m->parts = seam_arena_calloc(d->a, (2 + nimg + ncalls) * sizeof(seam_part));
    if (!m->parts)
        return SEAM_ERR_NOMEM;
    /* Thinking only means something in the assistant's own turns. */
    if (m->role == SEAM_ROLE_ASSISTANT && json_string_length(thinking) > 0) {
        seam_part *p = &m->parts[m->nparts++];
        p->type = SEAM_PART_THINKING;
        p->text = json_string_value(thinking);
        p->text_len = json_string_length(thinking);
    }
    const char *text = json_is_string(content) ? json_string_value(content) : "";
    size_t tlen = json_string_length(content);
    if (m->role == SEAM_ROLE_TOOL) {
        seam_part *p = &m->parts[m->nparts++];
        p->type = SEAM_PART_TOOL_RESULT;
        p->text = text;
        p->text_len = tlen;
        seam_rc rc = link_result(
            d, mi, json_string_length(tool_call_id) ? json_string_value(tool_call_id) : NULL,
            json_string_length(tool_name) ? json_string_value(tool_name) : NULL, p);
        if (rc != SEAM_OK)
            return rc;
    } else if (tlen > 0 || (nimg == 0 && ncalls == 0 && m->nparts == 0)) {
        seam_part *p = &m->parts[m->nparts++];
        p->type = SEAM_PART_TEXT;
        p->text = text;
        p->text_len = tlen;
    }
    m->content_is_string = nimg == 0;
    m->content_null = m->role == SEAM_ROLE_ASSISTANT && tlen == 0 && ncalls > 0;
    seam_rc rc = decode_images(d, images, "messages", mi, m, has_images);
    if (rc == SEAM_OK)
        rc = decode_calls(d, calls, mi, m);
    if (rc == SEAM_OK && ncalls > 0) {
        d->calls_msg = m;
        d->claimed = seam_arena_calloc(d->a, m->nparts * sizeof(bool));
        if (!d->claimed)
            return SEAM_ERR_NOMEM;
    }
    return rc;
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
        if (!json_is_object(t) ||
            !(absent(type) ||
              (json_is_string(type) && strcmp(json_string_value(type), "function") == 0)) ||
            !json_is_object(fn))
            return fail(d, "tools", "tools[%zu] must be {\"type\":\"function\",\"function\":{...}}",
                        i);
        const json_t *name = json_object_get(fn, "name"),
                     *desc = json_object_get(fn, "description"),
                     *params = json_object_get(fn, "parameters");
        if (!json_is_string(name) || json_string_length(name) == 0)
            return fail(d, "tools", "tools[%zu].function needs a string name", i);
        if (!absent(params) && !json_is_object(params))
            return fail(d, "tools", "tools[%zu].function.parameters must be a JSON Schema object",
                        i);
        seam_tool *tl = &r->tools[i];
        tl->name = json_string_value(name);
        tl->description = json_is_string(desc) ? json_string_value(desc) : NULL;
        tl->parameters = absent(params) ? NULL : (json_t *)params;
        tl->strict = -1;
    }
    return SEAM_OK;
}

/* An integer option; Go decodes options into a map of float64, so 42.0 is
 * an integer too. */
static bool get_integer(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return true;
    }
    double x = json_number_value(v);
    if (json_is_real(v) && x >= -9.0e18 && x <= 9.0e18 && x == (double)(int64_t)x) {
        *out = (int64_t)x;
        return true;
    }
    return false;
}

static seam_rc decode_stop(struct decoder *d, const json_t *stop, seam_params *p)
{
    bool one = json_is_string(stop);
    if (!one && !json_is_array(stop))
        return fail(d, "options", "%s", "options.stop must be an array of strings");
    p->nstop = one ? 1 : json_array_size(stop);
    p->stop = seam_arena_calloc(d->a, (p->nstop + 1) * sizeof(char *));
    if (!p->stop)
        return SEAM_ERR_NOMEM;
    for (size_t i = 0; i < p->nstop; i++) {
        const json_t *s = one ? stop : json_array_get(stop, i);
        if (!json_is_string(s))
            return fail(d, "options", "%s", "options.stop must be an array of strings");
        p->stop[i] = json_string_value(s);
    }
    return SEAM_OK;
}

/* options: the modelled sampling fields into <r>->params, the rest into
 * <pass>.options for an Ollama backend. */
static seam_rc decode_options(struct decoder *d, const json_t *opts, seam_req *r, json_t *pass)
{
    if (absent(opts))
        return SEAM_OK;
    if (!json_is_object(opts))
        return fail(d, "options", "%s", "options must be an object");
    seam_params *p = &r->params;
    json_t *rest = json_object();
    if (!rest)
        return SEAM_ERR_NOMEM;
    seam_rc rc = SEAM_OK;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)opts, k, v)
    {
        if (absent(v) &&
            (strcmp(k, "temperature") == 0 || strcmp(k, "top_p") == 0 || strcmp(k, "seed") == 0 ||
             strcmp(k, "stop") == 0 || strcmp(k, "num_predict") == 0))
            continue;
        if (strcmp(k, "temperature") == 0 || strcmp(k, "top_p") == 0) {
            if (!json_is_number(v)) {
                rc = fail(d, "options", "options.%s must be a number", k);
                break;
            }
            if (k[0] == 't' && k[1] == 'e') {
                p->has_temperature = true;
                p->temperature = json_number_value(v);
            } else {
                p->has_top_p = true;
                p->top_p = json_number_value(v);
            }
        } else if (strcmp(k, "seed") == 0) {
            if (!get_integer(v, &p->seed)) {
                rc = fail(d, "options", "%s", "options.seed must be an integer");
                break;
            }
            p->has_seed = true;
        } else if (strcmp(k, "num_predict") == 0) {
            int64_t n;
            if (!get_integer(v, &n)) {
                rc = fail(d, "options", "%s", "options.num_predict must be an integer");
                break;
            }
            /* -1 (infinite) and -2 (fill the context) both mean: no limit. */
            p->max_tokens = n >= 0 ? n : -1;
        } else if (strcmp(k, "stop") == 0) {
            if ((rc = decode_stop(d, v, p)) != SEAM_OK)
                break;
        } else if (json_object_set(rest, k, v) != 0) {
            rc = SEAM_ERR_NOMEM;
            break;
        }
    }
    if (rc == SEAM_OK && json_object_size(rest) > 0 && json_object_set(pass, "options", rest) != 0)
        rc = SEAM_ERR_NOMEM;
    json_decref(rest);
    return rc;
}

/* format: "json" or a JSON Schema, into OpenAI's response_format (the
 * canonical shape the providers read). */
static seam_rc decode_format(struct decoder *d, const json_t *f, seam_params *p)
{
    if (absent(f) || (json_is_string(f) && json_string_length(f) == 0))
        return SEAM_OK;
    json_t *rf;
    if (json_is_string(f) && strcmp(json_string_value(f), "json") == 0)
        rf = json_pack("{s:s}", "type", "json_object");
    else if (json_is_object(f))
        rf = json_pack("{s:s, s:{s:s, s:O}}", "type", "json_schema", "json_schema", "name",
                       "response", "schema", f);
    else
        return fail(d, "format", "%s", "format must be \"json\" or a JSON Schema object");
    if (!(p->response_format = seam_arena_json(d->a, rf)))
        return SEAM_ERR_NOMEM;
    return SEAM_OK;
}

static seam_rc decode_think(struct decoder *d, const json_t *t, seam_params *p)
{
    static const struct {
        const char *name;
        seam_reasoning level;
    } levels[] = {{"low", SEAM_REASONING_LOW},
                  {"medium", SEAM_REASONING_MEDIUM},
                  {"high", SEAM_REASONING_HIGH},
                  {"max", SEAM_REASONING_MAX}};
    if (absent(t))
        return SEAM_OK;
    if (json_is_boolean(t)) {
        p->reasoning = json_is_true(t) ? SEAM_REASONING_MEDIUM : SEAM_REASONING_OFF;
        return SEAM_OK;
    }
    for (size_t i = 0; json_is_string(t) && i < sizeof(levels) / sizeof(levels[0]); i++)
        if (strcmp(json_string_value(t), levels[i].name) == 0) {
            p->reasoning = levels[i].level;
            return SEAM_OK;
        }
    return fail(d, "think", "%s",
                "think must be true, false, \"low\", \"medium\", \"high\" or \"max\"");
}

/* The fields both endpoints share. */
static seam_rc decode_common(struct decoder *d, json_t *root, seam_req *r, json_t *pass)
{
    seam_rc rc;
    const json_t *v;
    r->params.max_tokens = -1;
    r->stream = true;
    r->include_usage = true;
    if ((v = json_object_get(root, "stream")) && !json_is_null(v)) {
        if (!json_is_boolean(v))
            return fail(d, "stream", "%s", "stream must be a boolean");
        r->stream = json_is_true(v);
    }
    if ((rc = decode_format(d, json_object_get(root, "format"), &r->params)) != SEAM_OK)
        return rc;
    if ((rc = decode_options(d, json_object_get(root, "options"), r, pass)) != SEAM_OK)
        return rc;
    v = json_object_get(root, "think");
    if ((rc = decode_think(d, v, &r->params)) != SEAM_OK)
        return rc;
    /* Kept for an Ollama backend, which then receives it verbatim. */
    if (!absent(v) && json_object_set(pass, "think", (json_t *)v) != 0)
        return SEAM_ERR_NOMEM;
    return SEAM_OK;
}

static bool in_list(const char *const *list, const char *k)
{
    for (; *list; list++)
        if (strcmp(*list, k) == 0)
            return true;
    return false;
}

static const char *const chat_keys[] = {"model",  "messages", "tools", "format", "options",
                                        "stream", "think",    "seam",  NULL};
static const char *const generate_keys[] = {"model",   "prompt",  "suffix", "system", "images",
                                            "format",  "options", "stream", "think",  "raw",
                                            "context", "seam",    NULL};

typedef seam_rc (*body_fn)(struct decoder *d, json_t *root, seam_req *r);

/* Parses <body> and runs <fn> for the endpoint's own fields; see
 * seam_ingress.decode. */
static seam_rc decode(seam_arena *a, const char *body, size_t len, seam_req **out, json_t **meta,
                      char *err, size_t errlen, const char **param, body_fn fn,
                      const char *const *modelled)
{
    struct decoder d = {a, err, errlen, param, NULL, NULL};
    json_error_t jerr;
    *param = NULL;
    *meta = NULL;
    json_t *root = seam_arena_json(a, json_loadb(body, len, 0, &jerr));
    if (!root) {
        snprintf(err, errlen, "request body is not valid JSON: %s (at byte %d)", jerr.text,
                 jerr.position);
        return SEAM_ERR_INVALID;
    }
    if (!json_is_object(root))
        return fail(&d, NULL, "%s", "request body must be a JSON object");
    seam_req *r = seam_arena_calloc(a, sizeof(*r));
    json_t *pass = seam_arena_json(a, json_object());
    if (!r || !pass)
        return SEAM_ERR_NOMEM;
    r->arena = a;
    r->ingress = SEAM_API_OLLAMA;
    const json_t *model = json_object_get(root, "model");
    if (!json_is_string(model) || json_string_length(model) == 0)
        return fail(&d, "model", "%s", "model is required");
    r->model = json_string_value(model);
    seam_rc rc = decode_common(&d, root, r, pass);
    if (rc == SEAM_OK)
        rc = fn(&d, root, r);
    if (rc != SEAM_OK)
        return rc;

    json_t *seam = json_object_get(root, "seam");
    if (seam)
        *meta = seam;
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v)
    {
        if (!in_list(modelled, k) && json_object_set(pass, k, v) != 0)
            return SEAM_ERR_NOMEM;
    }
    r->passthrough = json_object_size(pass) ? pass : NULL;
    *out = r;
    return SEAM_OK;
}

static seam_rc chat_body(struct decoder *d, json_t *root, seam_req *r)
{
    const json_t *msgs = json_object_get(root, "messages");
    if (!absent(msgs) && !json_is_array(msgs))
        return fail(d, "messages", "%s", "messages must be an array");
    r->nmsgs = json_array_size(msgs);
    r->msgs = seam_arena_calloc(d->a, (r->nmsgs + 1) * sizeof(seam_msg));
    if (!r->msgs)
        return SEAM_ERR_NOMEM;
    seam_rc rc;
    for (size_t i = 0; i < r->nmsgs; i++)
        if ((rc = decode_message(d, json_array_get(msgs, i), i, &r->msgs[i], &r->has_images)) !=
            SEAM_OK)
            return rc;
    const json_t *tools = json_object_get(root, "tools");
    if (!absent(tools) && (rc = decode_tools(d, tools, r)) != SEAM_OK)
        return rc;
    return SEAM_OK;
}

static seam_rc generate_body(struct decoder *d, json_t *root, seam_req *r)
{
    const json_t *prompt = json_object_get(root, "prompt");
    const json_t *system = json_object_get(root, "system");
    const json_t *images = json_object_get(root, "images");
    const json_t *suffix = json_object_get(root, "suffix");
    const json_t *raw = json_object_get(root, "raw");
    const json_t *context = json_object_get(root, "context");
    if (!absent(prompt) && !json_is_string(prompt))
        return fail(d, "prompt", "%s", "prompt must be a string");
    if (!absent(system) && !json_is_string(system))
        return fail(d, "system", "%s", "system must be a string");
    if (!absent(images) && !json_is_array(images))
        return fail(d, "images", "%s", "images must be an array of base64 strings");
    if (!absent(suffix) && !(json_is_string(suffix) && json_string_length(suffix) == 0))
        return fail(d, "suffix", "%s",
                    "suffix (fill-in-the-middle) is not supported: seam sends prompts through "
                    "the backend's chat template");
    if (!absent(raw) && !json_is_boolean(raw))
        return fail(d, "raw", "%s", "raw must be a boolean");
    if (json_is_true(raw))
        return fail(d, "raw", "%s",
                    "raw prompts are not supported: seam sends prompts through the backend's "
                    "chat template");
    if (!absent(context) && !(json_is_array(context) && json_array_size(context) == 0))
        return fail(d, "context", "%s",
                    "context (the token ids of an earlier answer) is not supported: send the "
                    "conversation as messages to /api/chat");
    size_t nimg = json_array_size(images);
    bool has_system = json_string_length(system) > 0;
    bool has_user = json_string_length(prompt) > 0 || nimg > 0;
    r->msgs = seam_arena_calloc(d->a, 2 * sizeof(seam_msg));
    if (!r->msgs)
        return SEAM_ERR_NOMEM;
    if (has_system) {
        seam_msg *m = &r->msgs[r->nmsgs++];
        m->role = SEAM_ROLE_SYSTEM;
        m->content_is_string = true;
        if (!(m->parts = seam_arena_calloc(d->a, sizeof(seam_part))))
            return SEAM_ERR_NOMEM;
        m->parts[0].type = SEAM_PART_TEXT;
        m->parts[0].text = json_string_value(system);
        m->parts[0].text_len = json_string_length(system);
        m->nparts = 1;
    }
    if (has_user) {
        seam_msg *m = &r->msgs[r->nmsgs++];
        m->role = SEAM_ROLE_USER;
        m->content_is_string = nimg == 0;
        if (!(m->parts = seam_arena_calloc(d->a, (1 + nimg) * sizeof(seam_part))))
            return SEAM_ERR_NOMEM;
        m->parts[0].type = SEAM_PART_TEXT;
        m->parts[0].text = json_is_string(prompt) ? json_string_value(prompt) : "";
        m->parts[0].text_len = json_string_length(prompt);
        m->nparts = 1;
        return decode_images(d, images, "images", SIZE_MAX, m, &r->has_images);
    }
    return SEAM_OK;
}

static seam_rc chat_decode(seam_arena *a, const char *body, size_t len, seam_req **out,
                           json_t **meta, char *err, size_t errlen, const char **param)
{
    return decode(a, body, len, out, meta, err, errlen, param, chat_body, chat_keys);
}

static seam_rc generate_decode(seam_arena *a, const char *body, size_t len, seam_req **out,
                               json_t **meta, char *err, size_t errlen, const char **param)
{
    return decode(a, body, len, out, meta, err, errlen, param, generate_body, generate_keys);
}

/* ---- errors ---- */

/* A compact dump of <o> (released) into <a>, its length in <*len>. */
static char *dump(json_t *o, seam_arena *a, size_t *len)
{
    char *s = o ? seam_json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    char *r = s ? seam_arena_strdup(a, s) : NULL;
    free(s);
    if (r && len)
        *len = strlen(r);
    return r;
}

static json_t *error_json(const char *message)
{
    return json_pack("{s:s}", "error", message && message[0] ? message : "unknown error");
}

/* Ollama's error body is {"error": "<message>"}; the status carries the
 * kind, so <type>, <code> and <param> have no place in it. */
static char *error_body(seam_arena *a, int status, const char *message, const char *type,
                        const char *code, const char *param)
{
    return dump(error_json(message), a, NULL);
}

/* ---- timing ---- */

static long long ns_between(const struct timespec *from, const struct timespec *to)
{
    return (long long)(to->tv_sec - from->tv_sec) * 1000000000LL + (to->tv_nsec - from->tv_nsec);
}

/* The current UTC time as Go marshals a time.Time (RFC 3339 with
 * nanoseconds, trailing zeros of the fraction dropped), into <buf>. */
static void format_now(char *buf, size_t n)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    time_t t = ts.tv_sec;
    gmtime_r(&t, &tm);
    size_t k = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
    if (ts.tv_nsec > 0 && k + 11 < n) {
        k += (size_t)snprintf(buf + k, n - k, ".%09ld", (long)ts.tv_nsec);
        while (buf[k - 1] == '0')
            buf[--k] = '\0';
    }
    snprintf(buf + k, n - k, "Z");
}

struct metrics {
    const char *done_reason;
    long long total, prompt_eval, eval;
    long long prompt_count, eval_count;
};

static void metrics_set(struct metrics *mt, seam_finish finish, bool have_usage,
                        const seam_usage *u, long long total, long long first)
{
    mt->done_reason = finish == SEAM_FINISH_LENGTH ? "length" : "stop";
    mt->total = total > 0 ? total : 0;
    mt->prompt_eval = first > 0 && first <= mt->total ? first : mt->total;
    mt->eval = mt->total - mt->prompt_eval;
    mt->prompt_count = have_usage && u->input > 0 ? u->input : 0;
    mt->eval_count = have_usage && u->output > 0 ? u->output : 0;
}

/* ---- stream writer ----
 *
 * Lines are written from a cached prefix ({"model":..,"created_at":") plus
 * the few bytes that change, with jansson escaping only the strings. */

struct held_call {
    const char *id, *name;
    seam_buf args;
    bool done; /* written */
};

typedef struct ollama_writer {
    seam_arena *a;
    bool generate;
    const char *model;
    seam_buf prefix;
    struct timespec started, first;
    bool have_first, have_usage, failed;
    seam_usage usage;
    seam_finish finish;
    struct held_call calls[SEAM_ANSWER_MAX_CALLS];
    int ncalls;
} ollama_writer;

static void writer_release(void *p)
{
    ollama_writer *w = p;
    seam_buf_free(&w->prefix);
    for (int i = 0; i < w->ncalls; i++)
        seam_buf_free(&w->calls[i].args);
}

static void *writer_new_common(seam_arena *a, const char *model, bool generate)
{
    ollama_writer *w = seam_arena_calloc(a, sizeof(*w));
    if (!w)
        return NULL;
    w->a = a;
    w->generate = generate;
    w->model = model ? model : "";
    w->finish = SEAM_FINISH_STOP;
    seam_buf_init(&w->prefix, 1u << 16);
    clock_gettime(CLOCK_MONOTONIC, &w->started);
    if (seam_arena_on_free(a, writer_release, w) != 0)
        return NULL;
    return w;
}

static void *chat_writer_new(seam_arena *a, const seam_req *req, const char *id, const char *model)
{
    return writer_new_common(a, model, false);
}

static void *generate_writer_new(seam_arena *a, const seam_req *req, const char *id,
                                 const char *model)
{
    return writer_new_common(a, model, true);
}

/* Appends {"model":..,"created_at":"<now>", building the prefix once. */
static seam_rc line_open(ollama_writer *w, seam_buf *out)
{
    seam_buf *p = &w->prefix;
    seam_rc rc = SEAM_OK;
    if (p->len == 0) {
        rc = seam_buf_puts(p, "{\"model\":");
        if (rc == SEAM_OK)
            rc = seam_buf_add_json_string(p, w->model, strlen(w->model));
        if (rc == SEAM_OK)
            rc = seam_buf_puts(p, ",\"created_at\":\"");
        if (rc != SEAM_OK) {
            seam_buf_reset(p);
            return rc;
        }
    }
    char ts[48];
    format_now(ts, sizeof(ts));
    rc = seam_buf_append(out, p->data, p->len);
    if (rc == SEAM_OK)
        rc = seam_buf_puts(out, ts);
    return rc == SEAM_OK ? seam_buf_puts(out, "\",") : rc;
}

static void mark_first(ollama_writer *w)
{
    if (!w->have_first) {
        clock_gettime(CLOCK_MONOTONIC, &w->first);
        w->have_first = true;
    }
}

/* A line with one delta: content or thinking (chat), response or thinking
 * (generate). */
static seam_rc write_delta(ollama_writer *w, bool thinking, const seam_event *ev, seam_buf *out)
{
    const char *s = ev->text ? ev->text : "";
    seam_rc rc = line_open(w, out);
    if (rc == SEAM_OK)
        rc = seam_buf_puts(
            out, w->generate ? (thinking ? "\"response\":\"\",\"thinking\":" : "\"response\":")
                             : (thinking ? "\"message\":{\"role\":\"assistant\","
                                           "\"content\":\"\",\"thinking\":"
                                         : "\"message\":{\"role\":\"assistant\","
                                           "\"content\":"));
    if (rc == SEAM_OK)
        rc = seam_buf_add_json_string(out, s, ev->text ? ev->text_len : 0);
    if (rc == SEAM_OK && !w->generate)
        rc = seam_buf_puts(out, "}");
    return rc == SEAM_OK ? seam_buf_puts(out, ",\"done\":false}\n") : rc;
}

/* A tool call as Ollama writes it: {"id","function":{"index","name",
 * "arguments":{...}}}. NULL with a message in <err> when the arguments are
 * not a JSON object, or when out of memory (<err> empty). */
static json_t *call_json(int index, const char *id, const char *name, const char *args, size_t len,
                         char *err, size_t errlen)
{
    err[0] = '\0';
    size_t skip = 0;
    while (skip < len &&
           (args[skip] == ' ' || args[skip] == '\t' || args[skip] == '\r' || args[skip] == '\n'))
        skip++;
    json_t *obj;
    if (skip == len) {
        obj = json_object();
    } else {
        json_error_t jerr;
        obj = json_loadb(args, len, 0, &jerr);
        if (!json_is_object(obj)) {
            json_decref(obj);
            snprintf(err, errlen,
                     "the model called tool '%s' with arguments that are not a JSON object", name);
            return NULL;
        }
    }
    /* json_object_set_new consumes its value even when it fails. */
    json_t *fn = json_object(), *call = json_object();
    bool bad = !fn || !call;
    bad |= json_object_set_new(fn, "index", json_integer(index)) != 0;
    bad |= json_object_set_new(fn, "name", json_string(name)) != 0;
    bad |= json_object_set_new(fn, "arguments", obj) != 0;
    bad |= json_object_set_new(call, "id", json_string(id)) != 0;
    bad |= json_object_set_new(call, "function", fn) != 0;
    if (bad) {
        json_decref(call);
        return NULL;
    }
    return call;
}

static seam_rc write_error_line(ollama_writer *w, const char *message, seam_buf *out)
{
    w->failed = true;
    json_t *o = error_json(message);
    if (!o)
        return SEAM_ERR_NOMEM;
    seam_rc rc = seam_buf_add_json(out, o, JSON_COMPACT);
    json_decref(o);
    return rc == SEAM_OK ? seam_buf_puts(out, "\n") : rc;
}

/* Writes call <i> whole, once. Arguments that are not an object end the
 * stream with an error line: Ollama clients take arguments as objects. */
static seam_rc flush_call(ollama_writer *w, int i, seam_buf *out)
{
    struct held_call *c = &w->calls[i];
    if (c->done)
        return SEAM_OK;
    c->done = true;
    char err[256];
    json_t *call = call_json(i, c->id, c->name, c->args.data ? c->args.data : "", c->args.len, err,
                             sizeof(err));
    if (!call)
        return err[0] ? write_error_line(w, err, out) : SEAM_ERR_NOMEM;
    seam_rc rc = line_open(w, out);
    if (rc == SEAM_OK)
        rc = seam_buf_puts(out, w->generate ? "\"response\":\"\",\"done\":false,\"tool_calls\":["
                                            : "\"message\":{\"role\":\"assistant\",\"content\":"
                                              "\"\",\"tool_calls\":[");
    if (rc == SEAM_OK)
        rc = seam_buf_add_json(out, call, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(call);
    if (rc == SEAM_OK)
        rc = seam_buf_puts(out, w->generate ? "]}\n" : "]},\"done\":false}\n");
    seam_buf_free(&c->args);
    return rc;
}

static seam_rc flush_calls(ollama_writer *w, seam_buf *out)
{
    seam_rc rc = SEAM_OK;
    for (int i = 0; i < w->ncalls && rc == SEAM_OK && !w->failed; i++)
        rc = flush_call(w, i, out);
    return rc;
}

static seam_rc writer_error(void *wp, int status, const char *message, const char *type,
                            const char *code, seam_buf *out)
{
    ollama_writer *w = wp;
    if (w->failed)
        return SEAM_OK;
    return write_error_line(w, message, out);
}

static seam_rc writer_event(void *wp, const seam_event *ev, seam_buf *out)
{
    ollama_writer *w = wp;
    if (w->failed)
        return SEAM_OK; /* the error line ended the stream for the client */
    switch (ev->type) {
    case SEAM_EV_START:
        if (ev->name && ev->name[0]) {
            if (!(w->model = seam_arena_strdup(w->a, ev->name)))
                return SEAM_ERR_NOMEM;
            seam_buf_reset(&w->prefix);
        }
        return SEAM_OK;
    case SEAM_EV_TEXT_DELTA:
    case SEAM_EV_REFUSAL_DELTA: /* Ollama has no refusal: it is the answer */
    case SEAM_EV_THINKING_DELTA:
        if (ev->text_len == 0)
            return SEAM_OK;
        mark_first(w);
        return write_delta(w, ev->type == SEAM_EV_THINKING_DELTA, ev, out);
    case SEAM_EV_THINKING_SIGNATURE:
        return SEAM_OK; /* Anthropic's, meaningless to Ollama clients */
    case SEAM_EV_TOOL_CALL_BEGIN: {
        mark_first(w);
        if (ev->index != w->ncalls || w->ncalls >= SEAM_ANSWER_MAX_CALLS || !ev->name)
            return SEAM_ERR_INVALID;
        struct held_call *c = &w->calls[w->ncalls];
        c->id = ev->id && ev->id[0] ? seam_arena_strdup(w->a, ev->id)
                                    : seam_arena_printf(w->a, "call_%d", ev->index);
        c->name = seam_arena_strdup(w->a, ev->name);
        if (!c->id || !c->name)
            return SEAM_ERR_NOMEM;
        seam_buf_init(&c->args, SEAM_ANSWER_MAX_BYTES);
        w->ncalls++;
        return SEAM_OK;
    }
    case SEAM_EV_TOOL_CALL_ARGS_DELTA:
        if (ev->index < 0 || ev->index >= w->ncalls || w->calls[ev->index].done)
            return SEAM_ERR_INVALID;
        return seam_buf_append(&w->calls[ev->index].args, ev->text, ev->text_len);
    case SEAM_EV_TOOL_CALL_END:
        if (ev->index < 0 || ev->index >= w->ncalls)
            return SEAM_ERR_INVALID;
        return flush_call(w, ev->index, out);
    case SEAM_EV_USAGE:
        w->usage = ev->usage;
        w->have_usage = true;
        return SEAM_OK;
    case SEAM_EV_FINISH:
        w->finish = ev->finish;
        return flush_calls(w, out);
    case SEAM_EV_ERROR:
        return write_error_line(w, ev->text_len ? ev->text : "upstream reported an error", out);
    }
    return SEAM_OK;
}

static seam_rc writer_end(void *wp, seam_buf *out)
{
    ollama_writer *w = wp;
    seam_rc rc = w->failed ? SEAM_OK : flush_calls(w, out);
    if (rc != SEAM_OK || w->failed)
        return rc;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    struct metrics mt;
    metrics_set(&mt, w->finish, w->have_usage, &w->usage, ns_between(&w->started, &now),
                w->have_first ? ns_between(&w->started, &w->first) : -1);
    rc = line_open(w, out);
    if (rc == SEAM_OK)
        rc = seam_buf_puts(out, w->generate ? "\"response\":\"\""
                                            : "\"message\":{\"role\":\"assistant\","
                                              "\"content\":\"\"}");
    if (rc == SEAM_OK)
        rc = seam_buf_printf(out,
                             ",\"done\":true,\"done_reason\":\"%s\",\"total_duration\":%lld,"
                             "\"load_duration\":0,\"prompt_eval_count\":%lld,"
                             "\"prompt_eval_duration\":%lld,\"eval_count\":%lld,"
                             "\"eval_duration\":%lld}\n",
                             mt.done_reason, mt.total, mt.prompt_count, mt.prompt_eval,
                             mt.eval_count, mt.eval);
    return rc;
}

/* ---- whole answers ---- */

static char *answer_body_common(const seam_answer *ans, seam_arena *a, size_t *len, bool generate)
{
    json_t *calls = NULL;
    char err[256];
    for (int i = 0; i < ans->ncalls; i++) {
        const seam_answer_call *c = &ans->calls[i];
        json_t *call = call_json(i, c->id, c->name, c->args.data ? c->args.data : "", c->args.len,
                                 err, sizeof(err));
        if (!call) {
            json_decref(calls);
            return err[0] ? dump(error_json(err), a, len) : NULL;
        }
        if (!calls && !(calls = json_array())) {
            json_decref(call);
            return NULL;
        }
        if (json_array_append_new(calls, call) != 0) { /* consumes <call> */
            json_decref(calls);
            return NULL;
        }
    }
    /* A refusal is the answer, to an Ollama client. */
    seam_buf text;
    seam_buf_init(&text, (size_t)-1);
    if (seam_buf_append(&text, ans->text.data, ans->text.len) != SEAM_OK ||
        seam_buf_append(&text, ans->refusal.data, ans->refusal.len) != SEAM_OK) {
        seam_buf_free(&text);
        json_decref(calls);
        return NULL;
    }
    json_t *content = json_stringn(text.data ? text.data : "", text.len);
    seam_buf_free(&text);
    json_t *thinking =
        ans->thinking.len ? json_stringn(ans->thinking.data, ans->thinking.len) : NULL;
    bool bad = !content || (ans->thinking.len && !thinking);
    char ts[48];
    format_now(ts, sizeof(ts));
    struct metrics mt;
    metrics_set(&mt, ans->finish, ans->have_usage, &ans->usage, seam_answer_elapsed_ns(ans),
                ans->have_first ? seam_answer_first_ns(ans) : -1);

    /* json_object_set_new consumes its value even when it fails. */
    json_t *o = json_object();
    bad |= json_object_set_new(o, "model", json_string(ans->model ? ans->model : "")) != 0;
    bad |= json_object_set_new(o, "created_at", json_string(ts)) != 0;
    if (generate) {
        bad |= json_object_set_new(o, "response", content) != 0;
        if (thinking)
            bad |= json_object_set_new(o, "thinking", thinking) != 0;
    } else {
        json_t *msg = json_object();
        bad |= json_object_set_new(msg, "role", json_string("assistant")) != 0;
        bad |= json_object_set_new(msg, "content", content) != 0;
        if (thinking)
            bad |= json_object_set_new(msg, "thinking", thinking) != 0;
        if (calls)
            bad |= json_object_set_new(msg, "tool_calls", calls) != 0;
        calls = NULL;
        bad |= json_object_set_new(o, "message", msg) != 0;
    }
    bad |= json_object_set_new(o, "done", json_true()) != 0;
    bad |= json_object_set_new(o, "done_reason", json_string(mt.done_reason)) != 0;
    bad |= json_object_set_new(o, "total_duration", json_integer(mt.total)) != 0;
    bad |= json_object_set_new(o, "load_duration", json_integer(0)) != 0;
    bad |= json_object_set_new(o, "prompt_eval_count", json_integer(mt.prompt_count)) != 0;
    bad |= json_object_set_new(o, "prompt_eval_duration", json_integer(mt.prompt_eval)) != 0;
    bad |= json_object_set_new(o, "eval_count", json_integer(mt.eval_count)) != 0;
    bad |= json_object_set_new(o, "eval_duration", json_integer(mt.eval)) != 0;
    /* GenerateResponse carries tool calls at the top level, after the metrics. */
    if (calls)
        bad |= json_object_set_new(o, "tool_calls", calls) != 0;
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return dump(o, a, len);
}

static char *chat_answer_body(const seam_answer *ans, const seam_req *req, seam_arena *a,
                              size_t *len)
{
    return answer_body_common(ans, a, len, false);
}

static char *generate_answer_body(const seam_answer *ans, const seam_req *req, seam_arena *a,
                                  size_t *len)
{
    return answer_body_common(ans, a, len, true);
}

const seam_ingress seam_ingress_ollama_chat = {
    .api = SEAM_API_OLLAMA,
    .name = "ollama-chat",
    .path = "/api/chat",
    .stream_content_type = OLLAMA_STREAM_TYPE,
    .decode = chat_decode,
    .error_body = error_body,
    .writer_new = chat_writer_new,
    .writer_event = writer_event,
    .writer_end = writer_end,
    .writer_error = writer_error,
    .answer_body = chat_answer_body,
    .embeddings_body = NULL,
};

const seam_ingress seam_ingress_ollama_generate = {
    .api = SEAM_API_OLLAMA,
    .name = "ollama-generate",
    .path = "/api/generate",
    .stream_content_type = OLLAMA_STREAM_TYPE,
    .decode = generate_decode,
    .error_body = error_body,
    .writer_new = generate_writer_new,
    .writer_event = writer_event,
    .writer_end = writer_end,
    .writer_error = writer_error,
    .answer_body = generate_answer_body,
    .embeddings_body = NULL,
};

/* ---- the catalogue: /api/tags, /api/show, /api/version ---- */

/* The name without a ":latest" tag, which Ollama treats as implied. */
static size_t base_len(const char *name)
{
    size_t n = strlen(name);
    return n > 7 && strcmp(name + n - 7, ":latest") == 0 ? n - 7 : n;
}

static bool same_model(const char *a, const char *b)
{
    size_t n = base_len(a);
    return n == base_len(b) && strncmp(a, b, n) == 0;
}

/* The family of a model name: its base name (after any namespace, before
 * the tag), the closest seam can come to Ollama's architecture name
 * without the weights ("gemma4:31b" -> "gemma4"). */
static char *family_of(seam_arena *a, const char *name)
{
    const char *s = strrchr(name, '/');
    s = s ? s + 1 : name;
    return seam_arena_strndup(a, s, strcspn(s, ":"));
}

/* The parameter size a tag states ("31b", "26b-a4b", "0.6B" -> "31B",
 * "26B", "0.6B"), or "" when it states none. */
static char *parameter_size(seam_arena *a, const char *name)
{
    const char *t = strchr(name, ':');
    if (!t)
        return "";
    t++;
    size_t n = strspn(t, "0123456789.");
    char unit = t[n], next = unit ? t[n + 1] : '\0';
    if (n == 0 || !unit || !strchr("bBmM", unit) || (next && !strchr("-_:", next)))
        return "";
    char *s = seam_arena_printf(a, "%.*s%c", (int)n, t, unit == 'b' || unit == 'B' ? 'B' : 'M');
    return s ? s : "";
}

/* A stable 64-hex identity for a model (FNV-1a, four lanes): Ollama's
 * digest is a content hash, which a remote model has none of; clients only
 * compare it. */
static void digest_of(const char *backend, const char *model, char out[65])
{
    for (int lane = 0; lane < 4; lane++) {
        uint64_t h = 14695981039346656037ULL ^ (uint64_t)(lane * 0x9E3779B97F4A7C15ULL);
        for (const char *s = backend; *s; s++)
            h = (h ^ (unsigned char)*s) * 1099511628211ULL;
        h = (h ^ 0xFF) * 1099511628211ULL;
        for (const char *s = model; *s; s++)
            h = (h ^ (unsigned char)*s) * 1099511628211ULL;
        snprintf(out + lane * 16, 17, "%016llx", (unsigned long long)h);
    }
}

/* The configuration file's modification time in RFC 3339 (now when it
 * cannot be read): when the catalogue last changed. */
static void modified_at(const seam_config *cfg, char *buf, size_t n)
{
    struct stat st;
    if (cfg->path && stat(cfg->path, &st) == 0) {
        struct tm tm;
        time_t t = st.st_mtime;
        gmtime_r(&t, &tm);
        strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
        return;
    }
    format_now(buf, n);
}

static json_t *details_json(seam_arena *a, const char *name)
{
    const char *family = strcmp(name, "auto") == 0 ? "seam" : family_of(a, name);
    if (!family)
        return NULL;
    return json_pack("{s:s, s:s, s:s, s:[s], s:s, s:s}", "parent_model", "", "format", "", "family",
                     family, "families", family, "parameter_size", parameter_size(a, name),
                     "quantization_level", "");
}

static json_t *tag_json(seam_arena *a, const char *backend, const char *name, const char *when)
{
    char digest[65];
    digest_of(backend, name, digest);
    json_t *details = details_json(a, name);
    if (!details)
        return NULL;
    return json_pack("{s:s, s:s, s:s, s:i, s:s, s:o}", "name", name, "model", name, "modified_at",
                     when, "size", 0, "digest", digest, "details", details);
}

char *seam_api_ollama_tags(const seam_config *cfg, seam_arena *a, size_t *len)
{
    char when[48];
    modified_at(cfg, when, sizeof(when));
    json_t *models = json_array();
    json_t *o = models ? json_pack("{s:o}", "models", models) : NULL;
    if (!o)
        return NULL;
    json_t *m = tag_json(a, "seam", "auto", when);
    if (!m || json_array_append_new(models, m) != 0)
        goto oom;
    for (size_t i = 0; i < cfg->nbackends; i++) {
        const seam_backend_conf *b = &cfg->backends[i];
        for (size_t j = 0; j < b->nmodels; j++) {
            /* A model listed by two backends (or as "auto") appears once. */
            bool seen = strcmp(b->models[j], "auto") == 0;
            for (size_t k = 0; k <= i && !seen; k++)
                for (size_t l = 0; l < (k < i ? cfg->backends[k].nmodels : j) && !seen; l++)
                    seen = strcmp(cfg->backends[k].models[l], b->models[j]) == 0;
            if (seen)
                continue;
            if (!(m = tag_json(a, b->name, b->models[j], when)) ||
                json_array_append_new(models, m) != 0)
                goto oom;
        }
    }
    return dump(o, a, len);
oom:
    json_decref(o);
    return NULL;
}

static const char *provider_name(seam_provider_kind k)
{
    static const char *names[] = {"openai", "anthropic", "ollama", "gemini"};
    return (size_t)k < sizeof(names) / sizeof(names[0]) ? names[k] : "unknown";
}

static char *show_error(seam_arena *a, int code, int *status, size_t *outlen, const char *fmt,
                        const char *what)
{
    char msg[512];
    snprintf(msg, sizeof(msg), fmt, what);
    *status = code;
    return dump(error_json(msg), a, outlen);
}

char *seam_api_ollama_show(const seam_config *cfg, const char *body, size_t len, seam_arena *a,
                           size_t *outlen, int *status)
{
    json_error_t jerr;
    json_t *req = seam_arena_json(a, json_loadb(body ? body : "", len, 0, &jerr));
    if (!json_is_object(req))
        return show_error(a, 400, status, outlen, "%s",
                          "request body must be a JSON object with a model");
    const json_t *mv = json_object_get(req, "model");
    if (!json_is_string(mv) || json_string_length(mv) == 0)
        mv = json_object_get(req, "name"); /* the field's older name */
    if (!json_is_string(mv) || json_string_length(mv) == 0)
        return show_error(a, 400, status, outlen, "%s", "model is required");
    const char *name = json_string_value(mv);

    /* "auto" may be routed to any backend: it can do what any of them can,
     * with the largest context any of them has. */
    bool is_auto = same_model(name, "auto");
    const seam_backend_conf *found = NULL;
    unsigned caps = 0;
    uint64_t ctx = 0;
    for (size_t i = 0; i < cfg->nbackends && !found; i++) {
        const seam_backend_conf *b = &cfg->backends[i];
        if (is_auto) {
            caps |= b->capabilities;
            ctx = b->context_window > ctx ? b->context_window : ctx;
            continue;
        }
        for (size_t j = 0; j < b->nmodels && !found; j++)
            if (same_model(name, b->models[j])) {
                found = b;
                name = b->models[j];
            }
    }
    if (!found && !is_auto)
        return show_error(a, 404, status, outlen, "model '%s' not found", name);
    if (found) {
        caps = found->capabilities;
        ctx = found->context_window;
    } else {
        name = "auto";
    }

    char when[48];
    modified_at(cfg, when, sizeof(when));
    const char *arch = is_auto ? "seam" : family_of(a, name);
    char *modelfile =
        is_auto ? seam_arena_printf(a, "# Served by seam: \"auto\" is routed by policy to one of "
                                       "its backends.\nFROM auto\n")
                : seam_arena_printf(a, "# Served by seam from backend %s (%s).\nFROM %s\n",
                                    found->name, provider_name(found->provider), name);
    char *ctx_key = arch ? seam_arena_printf(a, "%s.context_length", arch) : NULL;
    json_t *details = details_json(a, name);
    json_t *info = json_pack("{s:s}", "general.architecture", arch ? arch : "");
    json_t *capv = json_pack("[s]", "completion");
    if (!modelfile || !ctx_key || !details || !info || !capv) {
        json_decref(details);
        json_decref(info);
        json_decref(capv);
        return NULL;
    }
    if (ctx > 0)
        json_object_set_new(info, ctx_key, json_integer((json_int_t)ctx));
    static const struct {
        unsigned bit;
        const char *name;
    } cap_names[] = {{SEAM_CAP_TOOLS, "tools"},
                     {SEAM_CAP_VISION, "vision"},
                     {SEAM_CAP_THINKING, "thinking"},
                     {SEAM_CAP_EMBEDDINGS, "embedding"}};
    for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
        if (caps & cap_names[i].bit)
            json_array_append_new(capv, json_string(cap_names[i].name));
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:s}", "license", "", "modelfile",
                  modelfile, "parameters", "", "template", "", "system", "", "details", details,
                  "model_info", info, "capabilities", capv, "modified_at", when);
    *status = 200;
    return dump(o, a, outlen);
}

char *seam_api_ollama_version(seam_arena *a, size_t *len)
{
    return dump(json_pack("{s:s}", "version", SEAM_OLLAMA_API_VERSION), a, len);
}
