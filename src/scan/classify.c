/*
 * Request classification; see classify.h. Each scanned text is registered
 * with where it lives in the canonical request, so redaction can swap it for
 * a copy with placeholders without re-scanning.
 */
#include "scan/classify.h"
#include "core/jsonbuf.h"
#include "core/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>

enum text_home {
    HOME_PART_TEXT, /* seam_part.text */
    HOME_PART_ARGS, /* seam_part.args, when they are not valid JSON */
    HOME_TOOL_DESC, /* seam_tool.description */
    HOME_JSON,      /* a jansson string node: passthrough fields, schemas,
                       opaque parts and parsed tool-call arguments */
};

struct seam_detected_text {
    enum text_home home;
    void *owner; /* seam_part or seam_tool */
    const char *text;
    size_t len;
    size_t first, count; /* slice of seam_detection.res.ents */
};

static void raise(seam_sensitivity *s, seam_sensitivity to)
{
    if (to > *s)
        *s = to;
}

static int add_text(seam_detection *d, seam_arena *a, enum text_home home, void *owner,
                    const char *text, size_t len, size_t first)
{
    if (d->ntexts == d->captexts) {
        size_t cap = d->captexts ? d->captexts * 2 : 16;
        struct seam_detected_text *t = seam_arena_alloc(a, cap * sizeof(*t));
        if (!t)
            return -1;
        if (d->ntexts)
            memcpy(t, d->texts, d->ntexts * sizeof(*t));
        d->texts = t;
        d->captexts = cap;
    }
    d->texts[d->ntexts++] =
        (struct seam_detected_text){home, owner, text, len, first, d->res.n - first};
    return 0;
}

/* Scans one text and records where its findings live. Returns -1 when the
 * scanner failed (the caller fails closed). */
static int scan_one(const seam_scanner *s, seam_scan_scratch *sc, seam_detection *d, seam_arena *a,
                    enum text_home home, void *owner, const char *text, size_t len)
{
    if (!text || len == 0)
        return 0;
    size_t first = d->res.n;
    if (seam_scan_text(s, sc, text, len, &d->res) != SEAM_OK)
        return -1;
    if (d->res.n > first && add_text(d, a, home, owner, text, len, first) != 0)
        return -1;
    return 0;
}

/* Walks a JSON value and scans its strings, unescaped, in place. */
static int scan_json(const seam_scanner *s, seam_scan_scratch *sc, seam_detection *d, seam_arena *a,
                     const json_t *v)
{
    if (json_is_string(v))
        return scan_one(s, sc, d, a, HOME_JSON, (void *)v, json_string_value(v),
                        json_string_length(v));
    if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) if (scan_json(s, sc, d, a, x)) return -1;
    } else if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) if (scan_json(s, sc, d, a, x)) return -1;
    }
    return 0;
}

/* Tool-call arguments are a JSON text inside a JSON string: scanning the
 * parsed values sees through escapes (\u00a0, \") that would hide a value
 * in the raw text. The parsed tree is kept so redaction can rewrite it. */
struct parsed_args {
    seam_part *part;
    json_t *root;
};

static int scan_args(const seam_scanner *s, seam_scan_scratch *sc, seam_detection *d, seam_arena *a,
                     seam_part *p)
{
    if (!p->args)
        return 0;
    json_error_t jerr;
    json_t *root = seam_arena_json(a, json_loads(p->args, JSON_DECODE_ANY, &jerr));
    if (!root)
        return scan_one(s, sc, d, a, HOME_PART_ARGS, p, p->args, strlen(p->args));
    size_t before = d->res.n;
    if (scan_json(s, sc, d, a, root))
        return -1;
    if (d->res.n > before) {
        struct parsed_args *pa = seam_arena_alloc(a, sizeof(*pa));
        if (!pa)
            return -1;
        *pa = (struct parsed_args){p, root};
        /* Recorded as a zero-finding entry so redaction re-serialises the
         * arguments after their strings were rewritten. */
        if (add_text(d, a, HOME_PART_ARGS, pa, NULL, 0, d->res.n) != 0)
            return -1;
    }
    return 0;
}

static void fail_closed(seam_detection *d)
{
    d->failed = true;
    d->level = d->unredactable = SEAM_SENS_REGULATED;
}

seam_rc seam_classify_request(const seam_scanner *s, seam_scan_scratch *sc, const seam_config *cfg,
                              const seam_req *req, seam_arena *a, seam_detection *d)
{
    memset(d, 0, sizeof(*d));
    seam_scan_result_init(&d->res);
    d->level = d->unredactable = SEAM_SENS_PUBLIC;
    const seam_detect_conf *dc = &cfg->detect;

    /* Content seam cannot read (images, audio, files) gets the floor. */
    for (size_t i = 0; i < req->nmsgs; i++)
        for (size_t j = 0; j < req->msgs[i].nparts; j++) {
            seam_part_type t = req->msgs[i].parts[j].type;
            if (t == SEAM_PART_IMAGE || t == SEAM_PART_OPAQUE)
                raise(&d->unredactable, dc->image_sensitivity);
        }
    if (!s || !dc->enabled) {
        d->level = d->unredactable;
        return SEAM_OK;
    }
    if (!sc) {
        fail_closed(d);
        return SEAM_OK;
    }
    int bad = 0;
    for (size_t i = 0; i < req->nmsgs && !bad; i++) {
        const seam_msg *m = &req->msgs[i];
        for (size_t j = 0; j < m->nparts && !bad; j++) {
            seam_part *p = &m->parts[j];
            switch (p->type) {
            case SEAM_PART_TEXT:
            case SEAM_PART_THINKING:
            case SEAM_PART_REFUSAL:
            case SEAM_PART_TOOL_RESULT:
                bad = scan_one(s, sc, d, a, HOME_PART_TEXT, p, p->text, p->text_len);
                break;
            case SEAM_PART_TOOL_CALL:
                bad = scan_args(s, sc, d, a, p);
                break;
            case SEAM_PART_OPAQUE:
                bad = scan_json(s, sc, d, a, p->opaque);
                break;
            case SEAM_PART_IMAGE:
                break;
            }
        }
    }
    for (size_t i = 0; i < req->ntools && !bad; i++) {
        seam_tool *t = &req->tools[i];
        bad = scan_one(s, sc, d, a, HOME_TOOL_DESC, t, t->description,
                       t->description ? strlen(t->description) : 0);
        /* Schemas can carry descriptions and examples too. */
        if (!bad && t->parameters)
            bad = scan_json(s, sc, d, a, t->parameters);
    }
    if (!bad && req->passthrough)
        bad = scan_json(s, sc, d, a, req->passthrough);
    if (bad) {
        fail_closed(d);
        return SEAM_OK;
    }
    d->ntypes = seam_scan_type_count(s);
    d->counts = seam_arena_calloc(a, (d->ntypes + 1) * sizeof(uint32_t));
    if (!d->counts) {
        fail_closed(d);
        return SEAM_ERR_NOMEM;
    }
    for (size_t i = 0; i < d->res.n; i++) {
        uint32_t t = d->res.ents[i].type;
        if (t < d->ntypes)
            d->counts[t]++;
        raise(&d->level, seam_scan_type_level(s, t));
    }
    d->total = d->res.n;
    raise(&d->level, d->unredactable);
    return SEAM_OK;
}

const char *seam_detection_summary(const seam_scanner *s, const seam_detection *d, seam_arena *a)
{
    if (d->failed)
        return "SCAN_FAILED=1";
    if (d->total == 0 || !d->counts)
        return NULL;
    size_t cap = 32, len = 0;
    for (size_t t = 0; t < d->ntypes; t++)
        if (d->counts[t])
            cap += strlen(seam_scan_type_name(s, (uint32_t)t)) + 12;
    char *out = seam_arena_alloc(a, cap);
    if (!out)
        return NULL;
    out[0] = '\0';
    for (size_t t = 0; t < d->ntypes; t++) {
        if (!d->counts[t])
            continue;
        len += (size_t)snprintf(out + len, cap - len, "%s%s=%u", len ? "," : "",
                                seam_scan_type_name(s, (uint32_t)t), d->counts[t]);
    }
    return out;
}

seam_redactor *seam_classify_redact(const seam_scanner *s, seam_req *req, seam_detection *d,
                                    seam_arena *a)
{
    seam_redactor *r = seam_redactor_new(a, s);
    if (!r)
        return NULL;
    for (size_t i = 0; i < d->ntexts; i++) {
        struct seam_detected_text *t = &d->texts[i];
        if (t->home == HOME_PART_ARGS && !t->text) {
            /* Parsed arguments whose strings were rewritten above. */
            struct parsed_args *pa = t->owner;
            char *s2 = seam_json_dumps(pa->root, JSON_COMPACT | JSON_ENCODE_ANY);
            char *copy = s2 ? seam_arena_strdup(a, s2) : NULL;
            free(s2);
            if (!copy)
                return NULL;
            pa->part->args = copy;
            continue;
        }
        size_t n = 0;
        char *red = seam_redact_text(r, t->text, t->len, d->res.ents + t->first, t->count, &n);
        if (!red)
            return NULL;
        switch (t->home) {
        case HOME_PART_TEXT:
            ((seam_part *)t->owner)->text = red;
            ((seam_part *)t->owner)->text_len = n;
            /* A signature covers the thinking as issued: once its text
             * changes, Anthropic would reject it, so the block goes unsigned
             * (and is dropped on the way out rather than refused). */
            ((seam_part *)t->owner)->signature = NULL;
            break;
        case HOME_PART_ARGS:
            ((seam_part *)t->owner)->args = red;
            break;
        case HOME_TOOL_DESC:
            ((seam_tool *)t->owner)->description = red;
            break;
        case HOME_JSON:
            if (json_string_setn((json_t *)t->owner, red, n) != 0)
                return NULL;
            break;
        }
    }
    return r;
}

void seam_detection_free(seam_detection *d)
{
    seam_scan_result_free(&d->res);
}

json_t *seam_detection_summary_json(const char *s)
{
    json_t *o = json_object();
    while (o && s && *s) {
        const char *end = strchr(s, ',');
        size_t n = end ? (size_t)(end - s) : strlen(s);
        const char *eq = memchr(s, '=', n);
        if (eq && eq > s && (size_t)(eq - s) < n - 1) {
            long long count = 0;
            bool ok = true;
            for (const char *q = eq + 1; q < s + n; q++) {
                if (*q < '0' || *q > '9' || count > (LLONG_MAX - 9) / 10) {
                    ok = false;
                    break;
                }
                count = count * 10 + (*q - '0');
            }
            if (ok)
                json_object_setn_new(o, s, (size_t)(eq - s), json_integer(count));
        }
        s += n;
        if (*s == ',')
            s++;
    }
    return o;
}
