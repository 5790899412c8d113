/*
 * Redaction and restore (see redact.h). A redactor belongs to one request and
 * keeps, in the request's arena, every distinct value it replaced: a hash
 * table from value to entry for redaction (the same bytes always get the same
 * placeholder) and, per placeholder label, an array of entries indexed by
 * number for restore.
 *
 * A placeholder is "[" LABEL "_" N "]": LABEL is the type name with every
 * byte outside [A-Za-z0-9_] replaced by '_' (at most RD_LABEL_MAX bytes), N
 * is a decimal number without leading zeros, counted per label from 1 in
 * order of first appearance. Because a placeholder holds no '[' or ']'
 * between its brackets, none is a prefix of another, and a candidate in the
 * answer is found by taking the bytes from a '[' to the next ']' and parsing
 * them: split at the last '_', look the label up, index by N. Restore is
 * literal matching only; values are copied to the output and never scanned
 * again, so a value may hold any bytes, '[' included.
 *
 * Two types whose names map to the same label share one counter, so a
 * placeholder always names exactly one value.
 */
#include "scan/redact.h"
#include "core/alloc.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RD_LABEL_MAX 64
/* "[" label "_" up to 10 digits "]" */
#define RD_PH_MAX   (1 + RD_LABEL_MAX + 1 + 10 + 1)
#define RD_HELD_MAX 4096

struct rd_entry {
    const char *val; /* the original bytes, NUL-terminated copy */
    size_t vlen;
    uint64_t hash;
    const char *ph; /* "[LABEL_N]" */
    size_t phlen;
};

struct rd_label {
    char name[RD_LABEL_MAX];
    size_t len;
    uint32_t count, cap;
    struct rd_entry **vals; /* vals[k - 1] is [NAME_k] */
};

struct seam_redactor {
    seam_arena *a;
    const seam_scanner *s;
    struct rd_entry **slots; /* open addressing on value hash; nslots is a power of 2 */
    size_t nslots, nentries;
    struct rd_label **labels;
    size_t nlabels, labels_cap;
    size_t maxph; /* longest placeholder issued; 0 while none */
};

/* Built-in type names, for a redactor without a scanner (tests, tools). A
 * type missing here is named ENTITY, which is still a valid placeholder. */
static const char *const builtin_names[SEAM_ENT__BUILTIN_COUNT] = {
    [SEAM_ENT_CREDIT_CARD] = "CREDIT_CARD",
    [SEAM_ENT_IBAN] = "IBAN",
    [SEAM_ENT_US_SSN] = "US_SSN",
    [SEAM_ENT_EMAIL] = "EMAIL",
    [SEAM_ENT_PHONE] = "PHONE",
    [SEAM_ENT_IP_ADDRESS] = "IP_ADDRESS",
    [SEAM_ENT_PRIVATE_KEY] = "PRIVATE_KEY",
    [SEAM_ENT_AWS_ACCESS_KEY] = "AWS_ACCESS_KEY",
    [SEAM_ENT_GITHUB_TOKEN] = "GITHUB_TOKEN",
    [SEAM_ENT_OPENAI_KEY] = "OPENAI_KEY",
    [SEAM_ENT_ANTHROPIC_KEY] = "ANTHROPIC_KEY",
    [SEAM_ENT_GOOGLE_API_KEY] = "GOOGLE_API_KEY",
    [SEAM_ENT_SLACK_TOKEN] = "SLACK_TOKEN",
    [SEAM_ENT_STRIPE_KEY] = "STRIPE_KEY",
    [SEAM_ENT_JWT] = "JWT",
    [SEAM_ENT_GENERIC_SECRET] = "GENERIC_SECRET",
    [SEAM_ENT_ABA_ROUTING] = "ABA_ROUTING",
    [SEAM_ENT_US_NPI] = "US_NPI",
    [SEAM_ENT_US_DEA] = "US_DEA",
    [SEAM_ENT_UK_NHS] = "UK_NHS",
    [SEAM_ENT_MRN] = "MRN",
    [SEAM_ENT_DOB] = "DOB",
    [SEAM_ENT_GITLAB_TOKEN] = "GITLAB_TOKEN",
    [SEAM_ENT_HUGGINGFACE_TOKEN] = "HUGGINGFACE_TOKEN",
    [SEAM_ENT_NPM_TOKEN] = "NPM_TOKEN",
};

static const char *type_name(const seam_redactor *r, uint32_t type)
{
    const char *name = NULL;
    if (r->s)
        name = seam_scan_type_name(r->s, type);
    else if (type < SEAM_ENT__BUILTIN_COUNT)
        name = builtin_names[type];
    return name && *name ? name : "ENTITY";
}

static bool is_label_byte(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ull;
    }
    return h;
}

seam_redactor *seam_redactor_new(seam_arena *a, const seam_scanner *s)
{
    seam_redactor *r = seam_arena_calloc(a, sizeof(*r));
    if (r) {
        r->a = a;
        r->s = s;
    }
    return r;
}

size_t seam_redactor_count(const seam_redactor *r)
{
    return r ? r->nentries : 0;
}

/* ---- the map ---- */

static struct rd_entry *find_value(const seam_redactor *r, const char *v, size_t n, uint64_t h)
{
    if (!r->nslots)
        return NULL;
    size_t mask = r->nslots - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        struct rd_entry *e = r->slots[i];
        if (!e)
            return NULL;
        if (e->hash == h && e->vlen == n && memcmp(e->val, v, n) == 0)
            return e;
    }
}

static void slot_put(struct rd_entry **slots, size_t nslots, struct rd_entry *e)
{
    size_t mask = nslots - 1, i = (size_t)e->hash & mask;
    while (slots[i])
        i = (i + 1) & mask;
    slots[i] = e;
}

/* Makes room for one more entry, keeping the load at most one half. The old
 * table stays in the arena: the waste is bounded by the final table's size. */
static int slots_reserve(seam_redactor *r)
{
    if ((r->nentries + 1) * 2 <= r->nslots)
        return 0;
    size_t n = r->nslots ? r->nslots * 2 : 16;
    if (n > SIZE_MAX / sizeof(*r->slots))
        return -1;
    struct rd_entry **slots = seam_arena_calloc(r->a, n * sizeof(*slots));
    if (!slots)
        return -1;
    for (size_t i = 0; i < r->nslots; i++)
        if (r->slots[i])
            slot_put(slots, n, r->slots[i]);
    r->slots = slots;
    r->nslots = n;
    return 0;
}

static struct rd_label *find_label(const seam_redactor *r, const char *name, size_t len)
{
    for (size_t i = 0; i < r->nlabels; i++) {
        struct rd_label *l = r->labels[i];
        if (l->len == len && memcmp(l->name, name, len) == 0)
            return l;
    }
    return NULL;
}

/* The label for <type>, created empty on first use; NULL when out of memory. */
static struct rd_label *get_label(seam_redactor *r, uint32_t type)
{
    const char *name = type_name(r, type);
    char buf[RD_LABEL_MAX];
    size_t len = 0;
    for (; name[len] && len < RD_LABEL_MAX; len++)
        buf[len] = is_label_byte((unsigned char)name[len]) ? name[len] : '_';
    struct rd_label *l = find_label(r, buf, len);
    if (l)
        return l;
    if (r->nlabels == r->labels_cap) {
        size_t cap = r->labels_cap ? r->labels_cap * 2 : 8;
        struct rd_label **labels = seam_arena_alloc(r->a, cap * sizeof(*labels));
        if (!labels)
            return NULL;
        if (r->nlabels)
            memcpy(labels, r->labels, r->nlabels * sizeof(*labels));
        r->labels = labels;
        r->labels_cap = cap;
    }
    l = seam_arena_calloc(r->a, sizeof(*l));
    if (!l)
        return NULL;
    memcpy(l->name, buf, len);
    l->len = len;
    r->labels[r->nlabels++] = l;
    return l;
}

/* Returns the entry for value <v> of <type>, issuing the next placeholder of
 * the type's label when the value is new. A value keeps the placeholder it
 * got first, whatever type it is later detected as. NULL when out of memory;
 * the map is then unchanged except for spare capacity. */
static const struct rd_entry *issue(seam_redactor *r, uint32_t type, const char *v, size_t n)
{
    uint64_t h = hash_bytes(v, n);
    struct rd_entry *e = find_value(r, v, n, h);
    if (e)
        return e;
    if (slots_reserve(r) < 0)
        return NULL;
    struct rd_label *l = get_label(r, type);
    if (!l || l->count == UINT32_MAX)
        return NULL;
    if (l->count == l->cap) {
        uint32_t cap = l->cap ? (l->cap > UINT32_MAX / 2 ? UINT32_MAX : l->cap * 2) : 4;
        struct rd_entry **vals = seam_arena_alloc(r->a, (size_t)cap * sizeof(*vals));
        if (!vals)
            return NULL;
        if (l->count)
            memcpy(vals, l->vals, (size_t)l->count * sizeof(*vals));
        l->vals = vals;
        l->cap = cap;
    }
    char ph[RD_PH_MAX + 1];
    int phlen =
        snprintf(ph, sizeof(ph), "[%.*s_%u]", (int)l->len, l->name, (unsigned)(l->count + 1));
    e = seam_arena_alloc(r->a, sizeof(*e));
    char *val = seam_arena_strndup(r->a, v, n);
    char *phc = phlen > 0 ? seam_arena_strndup(r->a, ph, (size_t)phlen) : NULL;
    if (!e || !val || !phc)
        return NULL;
    e->val = val;
    e->vlen = n;
    e->hash = h;
    e->ph = phc;
    e->phlen = (size_t)phlen;
    /* This is the only place that adds to the map. */
    l->vals[l->count++] = e;
    slot_put(r->slots, r->nslots, e);
    r->nentries++;
    if (e->phlen > r->maxph)
        r->maxph = e->phlen;
    return e;
}

/* ---- redaction ---- */

struct span {
    size_t start, end;
    uint32_t type;
    float score;
    const struct rd_entry *e;
};

static int cmp_start(const void *pa, const void *pb)
{
    const struct span *a = pa, *b = pb;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    if (a->end != b->end)
        return a->end > b->end ? -1 : 1;
    return 0;
}

static float score_key(float s)
{
    return isnan(s) ? -INFINITY : s;
}

/* Who wins an overlap: the longer span, then the higher score, the earlier
 * start and the lower type id, so the outcome never depends on input order. */
static int cmp_priority(const void *pa, const void *pb)
{
    const struct span *a = pa, *b = pb;
    size_t la = a->end - a->start, lb = b->end - b->start;
    if (la != lb)
        return la > lb ? -1 : 1;
    float sa = score_key(a->score), sb = score_key(b->score);
    if (sa != sb)
        return sa > sb ? -1 : 1;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    if (a->type != b->type)
        return a->type < b->type ? -1 : 1;
    return 0;
}

/* Resolves overlaps among sp[0..m), sorted by start, keeping the longer span
 * of each conflict; returns how many spans are kept, moved to the front and
 * sorted by start. Only clusters of mutually overlapping spans are sorted by
 * priority and compared pairwise, so disjoint spans cost O(m log m). */
static size_t resolve_overlaps(struct span *sp, size_t m)
{
    size_t kept = 0;
    for (size_t i = 0; i < m;) {
        size_t j = i + 1, maxend = sp[i].end;
        while (j < m && sp[j].start < maxend) {
            if (sp[j].end > maxend)
                maxend = sp[j].end;
            j++;
        }
        if (j - i > 1) {
            qsort(sp + i, j - i, sizeof(*sp), cmp_priority);
            size_t acc = i; /* accepted spans of the cluster are sp[i..acc) */
            for (size_t k = i; k < j; k++) {
                bool clash = false;
                for (size_t q = i; q < acc && !clash; q++)
                    clash = sp[k].start < sp[q].end && sp[q].start < sp[k].end;
                if (!clash)
                    sp[acc++] = sp[k];
            }
            for (size_t k = i; k < acc; k++)
                sp[kept++] = sp[k];
        } else {
            sp[kept++] = sp[i];
        }
        i = j;
    }
    if (kept > 1)
        qsort(sp, kept, sizeof(*sp), cmp_start);
    return kept;
}

char *seam_redact_text(seam_redactor *r, const char *text, size_t len, const seam_entity *ents,
                       size_t n, size_t *outlen)
{
    char *res = NULL;
    struct span *sp = NULL;
    size_t m = 0;

    if (n) {
        if (n > SIZE_MAX / sizeof(*sp))
            goto out;
        sp = seam_malloc(n * sizeof(*sp));
        if (!sp)
            goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (ents[i].start > ents[i].end || ents[i].end > len)
            goto out; /* offsets into some other text: fail closed */
        if (ents[i].start == ents[i].end)
            continue;
        sp[m++] = (struct span){ents[i].start, ents[i].end, ents[i].type, ents[i].score, NULL};
    }
    if (m > 1)
        qsort(sp, m, sizeof(*sp), cmp_start);
    m = resolve_overlaps(sp, m);

    /* Placeholders are issued left to right, so numbers follow first
     * appearance; the copy is then built front to back from the original,
     * which keeps every span's offsets valid without moving text around. */
    size_t total = len;
    for (size_t i = 0; i < m; i++) {
        sp[i].e = issue(r, sp[i].type, text + sp[i].start, sp[i].end - sp[i].start);
        if (!sp[i].e)
            goto out;
        total -= sp[i].end - sp[i].start;
        if (total > SIZE_MAX - 1 - sp[i].e->phlen)
            goto out;
        total += sp[i].e->phlen;
    }
    char *d = seam_arena_alloc(r->a, total + 1);
    if (!d)
        goto out;
    size_t at = 0, w = 0;
    for (size_t i = 0; i < m; i++) {
        memcpy(d + w, text + at, sp[i].start - at);
        w += sp[i].start - at;
        memcpy(d + w, sp[i].e->ph, sp[i].e->phlen);
        w += sp[i].e->phlen;
        at = sp[i].end;
    }
    if (len > at)
        memcpy(d + w, text + at, len - at);
    w += len - at;
    d[w] = '\0';
    if (outlen)
        *outlen = w;
    res = d;
out:
    seam_free(sp);
    return res;
}

/* ---- restore ---- */

/* The entry whose placeholder is exactly <s>[0..<n>) ("[...]"), or NULL. */
static const struct rd_entry *lookup(const seam_redactor *r, const char *s, size_t n)
{
    if (n < 4 || n > r->maxph)
        return NULL;
    const char *in = s + 1;
    size_t ilen = n - 2, u = ilen;
    while (u > 0 && in[u - 1] != '_')
        u--;
    if (u == 0)
        return NULL;
    size_t nd = ilen - u; /* digits after the last '_' */
    if (nd == 0 || nd > 10 || in[u] == '0')
        return NULL;
    uint64_t num = 0;
    for (size_t i = u; i < ilen; i++) {
        if (in[i] < '0' || in[i] > '9')
            return NULL;
        num = num * 10 + (uint64_t)(in[i] - '0');
    }
    const struct rd_label *l = find_label(r, in, u - 1);
    if (!l || num > l->count)
        return NULL;
    return l->vals[num - 1];
}

/* Whether <s>[0..<m>), a '[' followed by label bytes only, is a proper prefix
 * of an issued placeholder: a prefix of some "[LABEL_", or "[LABEL_" and
 * digits d without a leading zero where d <= the label's count (then [LABEL_d]
 * itself was issued). */
static bool is_proper_prefix(const seam_redactor *r, const char *s, size_t m)
{
    const char *rest = s + 1;
    size_t rl = m - 1;
    for (size_t i = 0; i < r->nlabels; i++) {
        const struct rd_label *l = r->labels[i];
        if (!l->count)
            continue;
        if (rl <= l->len) {
            if (memcmp(rest, l->name, rl) == 0)
                return true;
            continue;
        }
        if (memcmp(rest, l->name, l->len) != 0 || rest[l->len] != '_')
            continue;
        const char *dg = rest + l->len + 1;
        size_t nd = rl - l->len - 1;
        if (nd == 0)
            return true;
        if (nd > 10 || dg[0] == '0')
            continue;
        uint64_t num = 0;
        bool digits = true;
        for (size_t k = 0; k < nd && digits; k++) {
            digits = dg[k] >= '0' && dg[k] <= '9';
            num = num * 10 + (uint64_t)(dg[k] - '0');
        }
        if (digits && num <= l->count)
            return true;
    }
    return false;
}

typedef enum { M_NO, M_YES, M_MORE } match_kind;

/* Decides whether an issued placeholder starts at <s> ('['), given <avail>
 * bytes. M_MORE: the bytes so far are a proper prefix of one and the
 * decision needs more input. Looks at most r->maxph bytes. */
static match_kind match_at(const seam_redactor *r, const char *s, size_t avail,
                           const struct rd_entry **e)
{
    size_t lim = avail < r->maxph ? avail : r->maxph;
    for (size_t k = 1; k < lim; k++) {
        if (s[k] == ']') {
            *e = lookup(r, s, k + 1);
            return *e ? M_YES : M_NO;
        }
        if (!is_label_byte((unsigned char)s[k]))
            return M_NO;
    }
    if (avail >= r->maxph)
        return M_NO;
    return is_proper_prefix(r, s, avail) ? M_MORE : M_NO;
}

/* JSON mode: follows string boundaries over bytes that pass through. */
static void json_track(seam_restore_stream *st, const char *p, size_t n)
{
    bool in = st->in_string, esc = st->escaped;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!in)
            in = c == '"';
        else if (esc)
            esc = false;
        else if (c == '\\')
            esc = true;
        else if (c == '"')
            in = false;
    }
    st->in_string = in;
    st->escaped = esc;
}

static seam_rc emit_literal(seam_restore_stream *st, const char *p, size_t n, seam_buf *out)
{
    if (st->json)
        json_track(st, p, n);
    return seam_buf_append(out, p, n);
}

/* Appends <v> as the contents of a JSON string (RFC 8259 section 7). */
static seam_rc json_escape(const char *v, size_t n, seam_buf *out)
{
    seam_rc rc = SEAM_OK;
    size_t run = 0;
    for (size_t i = 0; i < n && rc == SEAM_OK; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        char esc[8];
        const char *rep = NULL;
        switch (c) {
        case '"':
            rep = "\\\"";
            break;
        case '\\':
            rep = "\\\\";
            break;
        case '\n':
            rep = "\\n";
            break;
        case '\r':
            rep = "\\r";
            break;
        case '\t':
            rep = "\\t";
            break;
        case '\b':
            rep = "\\b";
            break;
        case '\f':
            rep = "\\f";
            break;
        default:
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            rep = esc;
        }
        rc = seam_buf_append(out, v + run, i - run);
        if (rc == SEAM_OK)
            rc = seam_buf_puts(out, rep);
        run = i + 1;
    }
    if (rc == SEAM_OK)
        rc = seam_buf_append(out, v + run, n - run);
    return rc;
}

/* Writes the value of <e>. Placeholder bytes never change the JSON state. */
static seam_rc emit_value(const seam_restore_stream *st, const struct rd_entry *e, seam_buf *out)
{
    if (!st->json)
        return seam_buf_append(out, e->val, e->vlen);
    /* Inside a string the value must not end it or start an escape; outside
     * any string (the model wrote invalid JSON such as {"to": [EMAIL_1]}) it
     * becomes a string of its own, so the arguments stay parseable. */
    seam_rc rc = st->in_string ? SEAM_OK : seam_buf_append(out, "\"", 1);
    if (rc == SEAM_OK)
        rc = json_escape(e->val, e->vlen, out);
    if (rc == SEAM_OK && !st->in_string)
        rc = seam_buf_append(out, "\"", 1);
    return rc;
}

/* Restores <p>[0..<n>) into <out>. Unless <final>, a trailing proper prefix of
 * a placeholder is not consumed: its length goes to <*rest> and the caller
 * holds it. Costs O(n) plus O(maxph) per '['. */
static seam_rc restore_run(seam_restore_stream *st, const char *p, size_t n, bool final,
                           seam_buf *out, size_t *rest)
{
    const seam_redactor *r = st->r;
    size_t i = 0, lit = 0, tracked = 0;
    seam_rc rc;
    *rest = 0;
    if (!n)
        return SEAM_OK;
    if (!r || !r->maxph)
        return emit_literal(st, p, n, out);
    while (i < n) {
        const char *b = memchr(p + i, '[', n - i);
        if (!b)
            break;
        size_t at = (size_t)(b - p);
        if (st->json) {
            json_track(st, p + tracked, at - tracked);
            tracked = at;
            if (st->escaped) { /* "\[" : not a placeholder */
                i = at + 1;
                continue;
            }
        }
        const struct rd_entry *e = NULL;
        match_kind mk = match_at(r, p + at, n - at, &e);
        if (mk == M_MORE && final)
            mk = M_NO;
        if (mk == M_NO) {
            i = at + 1;
            continue;
        }
        rc = seam_buf_append(out, p + lit, at - lit);
        if (rc != SEAM_OK)
            return rc;
        if (mk == M_MORE) {
            *rest = n - at;
            return SEAM_OK;
        }
        rc = emit_value(st, e, out);
        if (rc != SEAM_OK)
            return rc;
        i = lit = tracked = at + e->phlen;
    }
    if (st->json)
        json_track(st, p + tracked, n - tracked);
    return seam_buf_append(out, p + lit, n - lit);
}

static seam_rc restore_whole(const seam_redactor *r, bool json, const char *text, size_t len,
                             seam_buf *out)
{
    seam_restore_stream st = {.r = r, .json = json};
    size_t rest;
    return restore_run(&st, text, len, true, out, &rest);
}

seam_rc seam_restore_text(const seam_redactor *r, const char *text, size_t len, seam_buf *out)
{
    return restore_whole(r, false, text, len, out);
}

seam_rc seam_restore_json(const seam_redactor *r, const char *text, size_t len, seam_buf *out)
{
    return restore_whole(r, true, text, len, out);
}

void seam_restore_stream_init(seam_restore_stream *st, const seam_redactor *r)
{
    st->r = r;
    seam_buf_init(&st->held, RD_HELD_MAX);
    st->json = st->in_string = st->escaped = false;
}

void seam_restore_json_stream_init(seam_restore_stream *st, const seam_redactor *r)
{
    seam_restore_stream_init(st, r);
    st->json = true;
}

/* The held bytes are '[' and label bytes only, fewer than maxph. With the
 * first bytes of <p> appended they decide the match at the held '[': on a
 * placeholder its value goes out, otherwise the held bytes go out as they
 * are (they contain no other '['), and <p> continues after what was used. */
seam_rc seam_restore_stream_feed(seam_restore_stream *st, const char *p, size_t n, seam_buf *out)
{
    seam_rc rc;
    size_t rest;
    if (st->held.len) {
        const seam_redactor *r = st->r;
        char w[2 * RD_PH_MAX];
        size_t hl = st->held.len;
        if (hl >= RD_PH_MAX || !r)
            return SEAM_ERR_INVALID;
        size_t q = n < RD_PH_MAX ? n : RD_PH_MAX;
        memcpy(w, st->held.data, hl);
        if (q)
            memcpy(w + hl, p, q);
        const struct rd_entry *e = NULL;
        match_kind mk = match_at(r, w, hl + q, &e);
        if (mk == M_MORE && q == n) {
            /* Still undecided: everything of <p> joins the held bytes. */
            return seam_buf_append(&st->held, p, n);
        }
        if (mk == M_YES) {
            rc = emit_value(st, e, out);
            p += e->phlen - hl;
            n -= e->phlen - hl;
        } else {
            rc = emit_literal(st, w, hl, out);
        }
        seam_buf_reset(&st->held);
        if (rc != SEAM_OK)
            return rc;
    }
    rc = restore_run(st, p, n, false, out, &rest);
    if (rc == SEAM_OK && rest)
        rc = seam_buf_append(&st->held, p + n - rest, rest);
    return rc;
}

seam_rc seam_restore_stream_flush(seam_restore_stream *st, seam_buf *out)
{
    seam_rc rc = SEAM_OK;
    if (st->held.len)
        rc = emit_literal(st, st->held.data, st->held.len, out);
    seam_buf_reset(&st->held);
    return rc;
}

void seam_restore_stream_free(seam_restore_stream *st)
{
    seam_buf_free(&st->held);
}
