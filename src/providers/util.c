/* Helpers shared by the egress providers; see util.h. */
#include "providers/util.h"
#include "core/jsonbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

seam_rc seam_provider__dump(json_t *body, seam_upstream_call *out)
{
    seam_buf_init(&out->body, (size_t)-1);
    if (!body)
        return SEAM_ERR_NOMEM;
    seam_rc rc = seam_buf_add_json(&out->body, body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(body);
    return rc;
}

int seam_provider__data_url(const char *url, seam_arena *a, const char **mime, const char **data)
{
    if (!url || strncmp(url, "data:", 5) != 0)
        return -1;
    const char *m = url + 5;
    const char *comma = strchr(m, ',');
    if (!comma)
        return -1;
    /* The media type ends at the first parameter; ";base64" must be the
     * last one before the comma. */
    size_t mlen = strcspn(m, ";,");
    if (comma - m < 7 || memcmp(comma - 7, ";base64", 7) != 0 || mlen == 0)
        return -1;
    *mime = seam_arena_strndup(a, m, mlen);
    *data = comma + 1;
    return *mime ? 0 : -1;
}

bool seam_provider__remote_url(const char *url)
{
    return url && (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0);
}

int64_t seam_provider__budget(seam_reasoning r)
{
    switch (r) {
    case SEAM_REASONING_MINIMAL:
    case SEAM_REASONING_LOW:
        return 1024;
    case SEAM_REASONING_MEDIUM:
        return 8192;
    case SEAM_REASONING_HIGH:
        return 16384;
    case SEAM_REASONING_XHIGH:
        return 24576;
    case SEAM_REASONING_MAX:
        return 32768;
    case SEAM_REASONING_UNSET:
    case SEAM_REASONING_OFF:
        break;
    }
    return 0;
}

const seam_part *seam_provider__find_call(const seam_req *req, size_t before, const char *id,
                                          size_t *msg)
{
    if (!id)
        return NULL;
    for (size_t i = before; i-- > 0;) {
        const seam_msg *m = &req->msgs[i];
        if (m->role != SEAM_ROLE_ASSISTANT)
            continue;
        for (size_t j = 0; j < m->nparts; j++) {
            const seam_part *p = &m->parts[j];
            if (p->type == SEAM_PART_TOOL_CALL && p->call_id && strcmp(p->call_id, id) == 0) {
                if (msg)
                    *msg = i;
                return p;
            }
        }
    }
    return NULL;
}

const char *seam_provider__call_name(const seam_req *req, size_t before, const char *id)
{
    const seam_part *p = seam_provider__find_call(req, before, id, NULL);
    return p ? p->name : NULL;
}

json_t *seam_provider__args_object(const seam_part *p, char *err, size_t errlen)
{
    const char *s = p->args ? p->args : "";
    size_t n = strspn(s, " \t\r\n");
    if (s[n] == '\0')
        return json_object();
    json_error_t jerr;
    json_t *o = json_loads(s, 0, &jerr);
    if (!json_is_object(o)) {
        json_decref(o);
        snprintf(err, errlen,
                 "the arguments of tool call '%s'%s%s%s are not a JSON object; this backend "
                 "takes arguments as objects",
                 p->name ? p->name : "", p->call_id ? " (" : "", p->call_id ? p->call_id : "",
                 p->call_id ? ")" : "");
        return NULL;
    }
    return o;
}

const char *seam_provider__result_text(const seam_msg *m, seam_arena *a, size_t *len)
{
    size_t total = 0, count = 0;
    const seam_part *one = NULL;
    for (size_t i = 0; i < m->nparts; i++)
        if (m->parts[i].type == SEAM_PART_TOOL_RESULT) {
            total += m->parts[i].text_len;
            count++;
            one = &m->parts[i];
        }
    *len = total;
    if (count == 0)
        return "";
    if (count == 1)
        return one->text ? one->text : "";
    char *s = seam_arena_alloc(a, total + 1);
    if (!s)
        return NULL;
    size_t at = 0;
    for (size_t i = 0; i < m->nparts; i++)
        if (m->parts[i].type == SEAM_PART_TOOL_RESULT && m->parts[i].text_len) {
            memcpy(s + at, m->parts[i].text, m->parts[i].text_len);
            at += m->parts[i].text_len;
        }
    s[at] = '\0';
    return s;
}

int seam_provider__emit_text(const seam_event_sink *sink, seam_event_type type, const char *text,
                             size_t len)
{
    if (!text || len == 0)
        return 0;
    seam_event ev = {.type = type, .text = text, .text_len = len};
    return seam_emit(sink, &ev);
}

int seam_provider__emit_call(const seam_event_sink *sink, int index, const char *id,
                             const char *name, const char *args, size_t args_len)
{
    seam_event b = {.type = SEAM_EV_TOOL_CALL_BEGIN, .index = index, .id = id, .name = name};
    seam_event d = {
        .type = SEAM_EV_TOOL_CALL_ARGS_DELTA, .index = index, .text = args, .text_len = args_len};
    seam_event e = {.type = SEAM_EV_TOOL_CALL_END, .index = index};
    return seam_emit(sink, &b) || seam_emit(sink, &d) || seam_emit(sink, &e);
}

int seam_provider__emit_error(const seam_event_sink *sink, const char *msg, const char *type)
{
    seam_event ev = {.type = SEAM_EV_ERROR, .status = 502, .err_type = type};
    ev.text = msg && msg[0] ? msg : "upstream reported an error";
    ev.text_len = strlen(ev.text);
    return seam_emit(sink, &ev);
}

void seam_provider__error_message(const char *body, size_t len, char *out, size_t n)
{
    json_error_t jerr;
    out[0] = '\0';
    json_t *root = json_loadb(body, len, 0, &jerr);
    const json_t *o = json_is_array(root) ? json_array_get(root, 0) : root;
    const json_t *e = json_object_get(o, "error");
    const json_t *m = json_is_object(e) ? json_object_get(e, "message") : e;
    if (json_is_string(m))
        snprintf(out, n, "%s", json_string_value(m));
    json_decref(root);
}
