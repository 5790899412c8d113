/*
 * The scanner: Vectorscan block-mode databases built from the built-in
 * detector table (detectors.c) and from the configuration's custom
 * detectors (see "Start-up"), and one scratch area per worker.
 *
 * A scan runs the databases over the text once each. Every match of a built-in
 * pattern goes to the rows of the detector table that share the pattern;
 * each row's checker finds the values in it (validated, with their spans),
 * context words nearby raise their scores, negative words rule them out,
 * and a value is kept when its score reaches the configured threshold.
 * Values that overlap are then settled: the higher score wins, then the
 * longer span. Custom regular expressions and word lists score 1.0: the
 * operator wrote them. Built-in patterns are compiled without
 * start-of-match tracking (their checkers know where values start); custom
 * expressions, which can be anything, with it. Word lists are compiled as
 * literal patterns (one per word, caseless) into the custom database;
 * Vectorscan's literal matcher makes ten thousand words cost about what ten
 * do, and word boundaries are checked on the match.
 *
 * Text that contains Unicode look-alikes (normalize.h) is normalised first
 * and scanned in windows of WIN bytes that overlap by OVERLAP, so a
 * worker's memory stays constant whatever the size of the text: the
 * normalised copy and its offset map live in the scratch, allocated once.
 * An entity close to an interior window edge is left to the neighbouring
 * window, which sees it whole; OVERLAP bounds the length of an entity (with
 * its label and context) that windowing can find, at 16 KiB. Text without
 * look-alikes, the common case, is scanned in place in one call.
 *
 * Start-up: compiling the built-in patterns takes Vectorscan about 100 ms
 * of CPU and touches megabytes of its compiler. The build therefore
 * compiles them once (tools/scan_prebuild.c) and links the serialised
 * database into the binary, deserialised at start-up in well under a
 * millisecond. The configuration's own patterns and words go into a second
 * database compiled at start-up (milliseconds for a few words), and a scan
 * runs both. A fingerprint of the compiler's inputs and version guards the
 * prebuilt database against a stale or foreign one; any mismatch, or a CPU
 * that lacks what it was compiled for, falls back to compiling.
 *
 * Memory: the database and the per-type tables belong to the scanner; the
 * scratch holds Vectorscan's scratch and the normalisation buffers. The
 * only allocation a scan makes is growing the caller's result array.
 */
#include "scan/scan.h"
#include "core/alloc.h"
#include "scan/detectors.h"
#include "scan/normalize.h"

#include <hs.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WIN     (64u << 10) /* bytes of input per normalised window */
#define OVERLAP (16u << 10) /* bytes shared by neighbouring windows */
#define EDGE    256u        /* margin at interior window edges */

typedef struct word_info {
    uint32_t type;
    uint32_t len;
} word_info;

/* Built-in rows that share a pattern share its expression: at most this
 * many patterns, and this many rows per pattern. */
#define MAX_BUILTIN_PATTERNS 64
#define MAX_ROWS_PER_PATTERN 4

struct seam_scanner {
    hs_database_t *db;        /* the built-in patterns: prebuilt, or compiled */
    hs_database_t *db_custom; /* the configuration's patterns and words, or NULL */
    hs_scratch_t *proto;      /* cloned for each worker */
    float threshold;
    size_t ntypes;
    char **names; /* [ntypes]: built-in names are static, custom ones owned */
    seam_sensitivity *levels;
    /* Pattern id p < nbuiltin_pat -> the rows of seam_scan__detectors
     * that examine its matches. */
    size_t nbuiltin_pat;
    unsigned char nrows[MAX_BUILTIN_PATTERNS];
    unsigned char rows[MAX_BUILTIN_PATTERNS][MAX_ROWS_PER_PATTERN];
    size_t ncustom_pat;
    uint32_t *custom_pat_type; /* pattern id nbuiltin_pat + k -> type */
    uint32_t word_base;        /* pattern id of the first word */
    size_t nwords;
    word_info *words;
};

/* The prebuilt database (build/<flavour>/gen/scan_prebuilt.c). Weak, so
 * that binaries linked without it (fuzz harnesses, the generator itself)
 * link and compile at start-up. */
extern const unsigned char seam_scan_prebuilt_db[] __attribute__((weak));
extern const size_t seam_scan_prebuilt_len __attribute__((weak));
extern const uint64_t seam_scan_prebuilt_key __attribute__((weak));

/* FNV-1a over the compiler's inputs and Vectorscan's version. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

static uint64_t compile_key(const char *const *exprs, const unsigned *flags, const unsigned *ids,
                            size_t n)
{
    const char *v = hs_version();
    uint64_t h = fnv(0xcbf29ce484222325ULL, v, strlen(v) + 1);
    h = fnv(h, &n, sizeof n);
    for (size_t i = 0; i < n; i++) {
        h = fnv(h, exprs[i], strlen(exprs[i]) + 1);
        h = fnv(h, &flags[i], sizeof flags[i]);
        h = fnv(h, &ids[i], sizeof ids[i]);
    }
    return h;
}

/* The prebuilt database when it was compiled from exactly these inputs. */
static hs_database_t *prebuilt_db(uint64_t key)
{
    if (!seam_scan_prebuilt_db || !&seam_scan_prebuilt_len || !&seam_scan_prebuilt_key ||
        seam_scan_prebuilt_len == 0 || seam_scan_prebuilt_key != key)
        return NULL;
    hs_database_t *db = NULL;
    if (hs_deserialize_database((const char *)seam_scan_prebuilt_db, seam_scan_prebuilt_len, &db) !=
        HS_SUCCESS)
        return NULL;
    return db;
}

struct seam_scan_scratch {
    hs_scratch_t *hs;
    seam_scan__norm nm;
};

/* ---- Vectorscan allocations go through seam_malloc --------------------- */

static pthread_once_t alloc_once = PTHREAD_ONCE_INIT;

static void *hs_alloc_cb(size_t n)
{
    return seam_malloc(n);
}

static void hs_free_cb(void *p)
{
    seam_free(p);
}

/* Set once, before the first database exists, so that every database and
 * scratch is freed by the allocator that made it; tests can then fail
 * Vectorscan's allocations like any other. */
static void set_allocator(void)
{
    hs_set_allocator(hs_alloc_cb, hs_free_cb);
}

/* ---- building ----------------------------------------------------------- */

static seam_rc scan_err(char *err, size_t errlen, seam_rc rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static seam_rc scan_err(char *err, size_t errlen, seam_rc rc, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static int find_builtin(const char *name)
{
    for (int i = 0; i < SEAM_ENT__BUILTIN_COUNT; i++)
        if (!strcmp(seam_scan__type_names[i], name))
            return i;
    return -1;
}

/* Writes <w> as a pattern matching it literally: letters and digits as
 * they are, every other byte as \xHH. Returns the end of what it wrote. */
static char *escape_literal(char *o, const char *w)
{
    static const char hex[] = "0123456789abcdef";
    for (const unsigned char *p = (const unsigned char *)w; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')) {
            *o++ = (char)*p;
        } else {
            *o++ = '\\';
            *o++ = 'x';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o++ = '\0';
    return o;
}

void seam_scanner_free(seam_scanner *s)
{
    if (!s)
        return;
    if (s->proto)
        hs_free_scratch(s->proto);
    if (s->db)
        hs_free_database(s->db);
    if (s->db_custom)
        hs_free_database(s->db_custom);
    for (size_t i = SEAM_ENT__BUILTIN_COUNT; s->names && i < s->ntypes; i++)
        seam_free(s->names[i]);
    seam_free(s->names);
    seam_free(s->levels);
    seam_free(s->custom_pat_type);
    seam_free(s->words);
    seam_free(s);
}

/* Resolves types, names and levels from <d> into <s>. */
static seam_rc build_types(seam_scanner *s, const seam_detect_conf *d, const char *file, char *err,
                           size_t errlen)
{
    s->ntypes = SEAM_ENT__BUILTIN_COUNT + d->ncustom;
    s->names = seam_calloc(s->ntypes, sizeof *s->names);
    s->levels = seam_calloc(s->ntypes, sizeof *s->levels);
    if (!s->names || !s->levels)
        return scan_err(err, errlen, SEAM_ERR_NOMEM, "%s: out of memory", file);
    for (size_t i = 0; i < SEAM_ENT__BUILTIN_COUNT; i++) {
        s->names[i] = (char *)seam_scan__type_names[i];
        s->levels[i] = seam_scan__type_levels[i];
    }
    for (size_t i = 0; i < d->nlevels; i++) {
        const seam_detect_level *l = &d->levels[i];
        int t = l->type ? find_builtin(l->type) : -1;
        if (t < 0)
            return scan_err(err, errlen, SEAM_ERR_CONFIG,
                            "%s:%d: key 'detect.levels.%s': unknown entity type '%s' (custom "
                            "detectors set their level with their own 'level' key)",
                            file, l->line, l->type ? l->type : "", l->type ? l->type : "");
        s->levels[t] = l->level;
    }
    for (size_t i = 0; i < d->ncustom; i++) {
        const seam_custom_detector *c = &d->custom[i];
        size_t t = SEAM_ENT__BUILTIN_COUNT + i;
        if (!c->name || find_builtin(c->name) >= 0)
            return scan_err(err, errlen, SEAM_ERR_CONFIG,
                            "%s:%d: key 'detect.custom[%zu].name': '%s' is a built-in type", file,
                            c->line, i, c->name ? c->name : "");
        for (size_t j = 0; j < i; j++)
            if (!strcmp(d->custom[j].name, c->name))
                return scan_err(err, errlen, SEAM_ERR_CONFIG,
                                "%s:%d: key 'detect.custom[%zu].name': duplicate detector "
                                "name '%s' (first at line %d)",
                                file, c->line, i, c->name, d->custom[j].line);
        s->names[t] = seam_strdup(c->name);
        if (!s->names[t])
            return scan_err(err, errlen, SEAM_ERR_NOMEM, "%s: out of memory", file);
        s->levels[t] = c->level;
        if (c->pattern)
            s->ncustom_pat++;
        s->nwords += c->nwords;
    }
    return SEAM_OK;
}

static seam_rc scanner_new(const seam_config *cfg, bool use_prebuilt, uint64_t *key_out,
                           seam_scanner **out, char *err, size_t errlen)
{
    static const seam_detect_conf defaults = {.enabled = true, .threshold = 0.5};
    const seam_detect_conf *d = cfg ? &cfg->detect : &defaults;
    const char *file = cfg && cfg->path ? cfg->path : "<config>";
    seam_scanner *s = NULL;
    const char **exprs = NULL;
    unsigned *flags = NULL, *ids = NULL;
    char *lits = NULL;
    hs_compile_error_t *cerr = NULL;
    seam_rc rc;

    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    pthread_once(&alloc_once, set_allocator);

    s = seam_calloc(1, sizeof *s);
    if (!s)
        return scan_err(err, errlen, SEAM_ERR_NOMEM, "%s: out of memory", file);
    s->threshold = d->threshold > 0 && d->threshold <= 1 ? (float)d->threshold : 0.5f;
    rc = build_types(s, d, file, err, errlen);
    if (rc != SEAM_OK)
        goto out;

    size_t nb = 0, total = seam_scan__ndetectors + s->ncustom_pat + s->nwords, litbytes = 0;
    if (total > UINT_MAX / 2) {
        rc =
            scan_err(err, errlen, SEAM_ERR_CONFIG, "%s: key 'detect.custom': too many words", file);
        goto out;
    }
    for (size_t i = 0; i < d->ncustom; i++)
        for (size_t j = 0; j < d->custom[i].nwords; j++)
            litbytes += 4 * strlen(d->custom[i].words[j]) + 1;
    exprs = seam_calloc(total, sizeof *exprs);
    flags = seam_calloc(total, sizeof *flags);
    ids = seam_calloc(total, sizeof *ids);
    lits = seam_malloc(litbytes + 1);
    s->custom_pat_type = seam_calloc(s->ncustom_pat + 1, sizeof *s->custom_pat_type);
    s->words = seam_calloc(s->nwords + 1, sizeof *s->words);
    if (!exprs || !flags || !ids || !lits || !s->custom_pat_type || !s->words) {
        rc = scan_err(err, errlen, SEAM_ERR_NOMEM, "%s: out of memory", file);
        goto out;
    }

    size_t k = 0, np = 0, nw = 0;
    for (size_t i = 0; i < seam_scan__ndetectors; i++) {
        const seam_scan__detector *row = &seam_scan__detectors[i];
        size_t p = 0;
        while (p < nb && !(strcmp(exprs[p], row->pattern) == 0 && flags[p] == row->flags))
            p++;
        if (p == nb) {
            if (nb == MAX_BUILTIN_PATTERNS) {
                rc = scan_err(err, errlen, SEAM_ERR_CONFIG, "too many built-in patterns");
                goto out;
            }
            exprs[k] = row->pattern;
            flags[k] = row->flags;
            ids[k] = (unsigned)p;
            k++;
            nb++;
        }
        if (s->nrows[p] == MAX_ROWS_PER_PATTERN) {
            rc = scan_err(err, errlen, SEAM_ERR_CONFIG, "too many rows for one pattern");
            goto out;
        }
        s->rows[p][s->nrows[p]++] = (unsigned char)i;
    }
    s->nbuiltin_pat = nb;
    for (size_t i = 0; i < d->ncustom; i++) {
        if (!d->custom[i].pattern)
            continue;
        exprs[k] = d->custom[i].pattern;
        flags[k] = HS_FLAG_SOM_LEFTMOST;
        ids[k] = (unsigned)(nb + np);
        s->custom_pat_type[np++] = (uint32_t)(SEAM_ENT__BUILTIN_COUNT + i);
        k++;
    }
    s->word_base = (uint32_t)(nb + np);
    char *o = lits;
    for (size_t i = 0; i < d->ncustom; i++) {
        for (size_t j = 0; j < d->custom[i].nwords; j++) {
            const char *w = d->custom[i].words[j];
            if (!w[0])
                continue;
            exprs[k] = o;
            o = escape_literal(o, w);
            flags[k] = HS_FLAG_CASELESS;
            ids[k] = s->word_base + (unsigned)nw;
            s->words[nw].type = (uint32_t)(SEAM_ENT__BUILTIN_COUNT + i);
            s->words[nw].len = (uint32_t)strlen(w);
            nw++;
            k++;
        }
    }
    s->nwords = nw;

    /* Two databases: the built-in patterns (the same in every
     * configuration, so prebuilt) and the configuration's own, compiled
     * here; a scan runs both. */
    uint64_t key = compile_key(exprs, flags, ids, nb);
    if (key_out)
        *key_out = key;
    if (use_prebuilt)
        s->db = prebuilt_db(key);
    bool compiled = !s->db || k > nb;
    hs_error_t he = s->db ? HS_SUCCESS
                          : hs_compile_multi(exprs, flags, ids, (unsigned)nb, HS_MODE_BLOCK, NULL,
                                             &s->db, &cerr);
    size_t at_base = 0;
    if (he == HS_SUCCESS && k > nb) {
        at_base = nb;
        he = hs_compile_multi(exprs + nb, flags + nb, ids + nb, (unsigned)(k - nb), HS_MODE_BLOCK,
                              NULL, &s->db_custom, &cerr);
    }
    if (he != HS_SUCCESS) {
        int at = cerr && cerr->expression >= 0 ? (int)at_base + cerr->expression : -1;
        const char *msg = cerr && cerr->message ? cerr->message : "cannot compile";
        /* Vectorscan reports a failed allocation of the database as a
         * compile error on the first expression. */
        if (he == HS_NOMEM || strstr(msg, "allocate memory")) {
            rc = scan_err(err, errlen, SEAM_ERR_NOMEM, "%s: out of memory", file);
        } else if (at >= 0 && (size_t)at >= nb && (size_t)at < nb + np) {
            /* A custom pattern: name the detector and its line. */
            uint32_t t = s->custom_pat_type[(size_t)at - nb];
            size_t ci = t - SEAM_ENT__BUILTIN_COUNT;
            rc = scan_err(err, errlen, SEAM_ERR_CONFIG,
                          "%s:%d: key 'detect.custom[%zu].pattern': detector %s: %s", file,
                          d->custom[ci].line, ci, d->custom[ci].name, msg);
        } else if (at >= 0 && (size_t)at < nb) {
            rc =
                scan_err(err, errlen, SEAM_ERR_CONFIG, "built-in detector %zu (%s): %s", (size_t)at,
                         seam_scan__type_names[seam_scan__detectors[s->rows[at][0]].type], msg);
        } else {
            rc = scan_err(err, errlen, SEAM_ERR_CONFIG, "%s: key 'detect.custom': %s", file, msg);
        }
        goto out;
    }
    /* The compiler's working memory (hundreds of megabytes for a word list
     * of 100,000) is free again but still held by malloc: give it back. */
    if (compiled)
        malloc_trim(0);
    /* One scratch sized for both databases. */
    if (hs_alloc_scratch(s->db, &s->proto) != HS_SUCCESS ||
        (s->db_custom && hs_alloc_scratch(s->db_custom, &s->proto) != HS_SUCCESS)) {
        rc = scan_err(err, errlen, SEAM_ERR_NOMEM, "%s: out of memory (scanner scratch)", file);
        goto out;
    }
    rc = SEAM_OK;
out:
    if (cerr)
        hs_free_compile_error(cerr);
    seam_free(exprs);
    seam_free(flags);
    seam_free(ids);
    seam_free(lits);
    if (rc == SEAM_OK)
        *out = s;
    else
        seam_scanner_free(s);
    return rc;
}

seam_rc seam_scanner_new(const seam_config *cfg, seam_scanner **out, char *err, size_t errlen)
{
    return scanner_new(cfg, true, NULL, out, err, errlen);
}

seam_rc seam_scanner_prebuild(char **bytes, size_t *len, uint64_t *key, char *err, size_t errlen)
{
    seam_scanner *s = NULL;
    seam_rc rc = scanner_new(NULL, false, key, &s, err, errlen);
    if (rc != SEAM_OK)
        return rc;
    if (hs_serialize_database(s->db, bytes, len) != HS_SUCCESS)
        rc = scan_err(err, errlen, SEAM_ERR_NOMEM, "cannot serialise the database");
    seam_scanner_free(s);
    return rc;
}

/* ---- scratch ------------------------------------------------------------ */

seam_scan_scratch *seam_scan_scratch_new(const seam_scanner *s)
{
    seam_scan_scratch *sc = seam_calloc(1, sizeof *sc);
    if (!sc)
        return NULL;
    if (hs_clone_scratch(s->proto, &sc->hs) != HS_SUCCESS) {
        sc->hs = NULL;
        goto fail;
    }
    /* Every look-alike is at least two bytes long, so a window of WIN input
     * bytes needs at most WIN output bytes and WIN / 2 map entries. */
    sc->nm.cap = WIN;
    sc->nm.mcap = WIN / 2 + 2;
    sc->nm.buf = seam_malloc(sc->nm.cap);
    sc->nm.mpos = seam_malloc(sc->nm.mcap * sizeof *sc->nm.mpos);
    sc->nm.mdelta = seam_malloc(sc->nm.mcap * sizeof *sc->nm.mdelta);
    if (!sc->nm.buf || !sc->nm.mpos || !sc->nm.mdelta)
        goto fail;
    return sc;
fail:
    seam_scan_scratch_free(sc);
    return NULL;
}

void seam_scan_scratch_free(seam_scan_scratch *sc)
{
    if (!sc)
        return;
    if (sc->hs)
        hs_free_scratch(sc->hs);
    seam_free(sc->nm.buf);
    seam_free(sc->nm.mpos);
    seam_free(sc->nm.mdelta);
    seam_free(sc);
}

size_t seam_scanner_db_size(const seam_scanner *s)
{
    size_t n = 0, c = 0;
    if (!s || hs_database_size(s->db, &n) != HS_SUCCESS)
        return 0;
    if (s->db_custom && hs_database_size(s->db_custom, &c) != HS_SUCCESS)
        return 0;
    return n + c;
}

size_t seam_scan_scratch_size(const seam_scan_scratch *sc)
{
    size_t n = 0;
    if (!sc || hs_scratch_size(sc->hs, &n) != HS_SUCCESS)
        return 0;
    return n + sc->nm.cap + sc->nm.mcap * 2 * sizeof(uint32_t) + sizeof *sc;
}

/* ---- results ------------------------------------------------------------ */

void seam_scan_result_init(seam_scan_result *res)
{
    memset(res, 0, sizeof *res);
    res->level = SEAM_SENS_PUBLIC;
}

void seam_scan_result_free(seam_scan_result *res)
{
    if (!res)
        return;
    seam_free(res->ents);
    seam_scan_result_init(res);
}

/* This is the only place a scan allocates: the caller's array grows. */
static int push(seam_scan_result *res, uint32_t type, size_t s, size_t e, float score)
{
    if (res->n == res->cap) {
        size_t cap = res->cap ? res->cap * 2 : 16;
        seam_entity *v = seam_realloc(res->ents, cap * sizeof *v);
        if (!v)
            return -1;
        res->ents = v;
        res->cap = cap;
    }
    res->ents[res->n++] = (seam_entity){.type = type, .start = s, .end = e, .score = score};
    return 0;
}

static int by_start(const void *a, const void *b)
{
    const seam_entity *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return x->type < y->type ? -1 : x->type > y->type;
}

/* Higher score first, then longer, then earlier, then lower type id. */
static int by_priority(const void *a, const void *b)
{
    const seam_entity *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    size_t lx = x->end - x->start, ly = y->end - y->start;
    if (lx != ly)
        return lx > ly ? -1 : 1;
    return by_start(a, b);
}

/* Settles overlapping entities of <v>: within each group of entities that
 * overlap one another, the best is kept, then the best of those that do
 * not overlap it, and so on. Returns how many remain, sorted by start. */
static size_t resolve(seam_entity *v, size_t n)
{
    size_t out = 0, i = 0;
    if (n < 2)
        return n;
    qsort(v, n, sizeof *v, by_start);
    while (i < n) {
        size_t j = i + 1, cend = v[i].end;
        while (j < n && v[j].start < cend) {
            if (v[j].end > cend)
                cend = v[j].end;
            j++;
        }
        size_t kept = 0;
        if (j - i > 1)
            qsort(v + i, j - i, sizeof *v, by_priority);
        for (size_t k = i; k < j; k++) {
            bool clash = false;
            for (size_t q = i; q < i + kept && !clash; q++)
                clash = v[k].start < v[q].end && v[q].start < v[k].end;
            if (!clash)
                v[i + kept++] = v[k];
        }
        if (kept > 1)
            qsort(v + i, kept, sizeof *v, by_start);
        memmove(v + out, v + i, kept * sizeof *v);
        out += kept;
        i = j;
    }
    return out;
}

/* ---- scanning ----------------------------------------------------------- */

typedef struct match_ctx {
    const seam_scanner *s;
    const char *t; /* the bytes Vectorscan scans */
    size_t n;
    const seam_scan__norm *nm; /* NULL when <t> is the caller's text */
    const char *src;           /* the caller's text for this window */
    size_t base;               /* offset of <src> in the caller's text */
    size_t keep_lo, keep_hi;   /* entities must lie inside, in caller offsets */
    seam_scan_result *res;
    size_t n0; /* entities already in res before this scan */
    seam_rc rc;
} match_ctx;

static int is_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Appends the value [<st>, <en>) of the scanned text, as an entity of
 * <type> with <score>, when the score reaches the threshold and the value
 * lies inside the window's share of the text. With <merge>, a value that
 * starts where the last entity of this scan starts, with the same type,
 * replaces it (a longer match of the same expression). Returns -1 when the
 * result cannot grow. */
static int keep(match_ctx *x, uint32_t type, size_t st, size_t en, float score, bool merge)
{
    size_t S, E;
    if (score < x->s->threshold || en <= st)
        return 0;
    if (x->nm) {
        S = x->base + seam_scan__norm_start(x->nm, st);
        E = x->base + seam_scan__norm_end(x->nm, x->src, en);
    } else {
        S = x->base + st;
        E = x->base + en;
    }
    if (S < x->keep_lo || E > x->keep_hi)
        return 0;
    seam_scan_result *res = x->res;
    if (merge && res->n > x->n0 && res->ents[res->n - 1].type == type &&
        res->ents[res->n - 1].start == S) {
        res->ents[res->n - 1].end = E;
        return 0;
    }
    return push(res, type, S, E, score);
}

static float score_hit(const match_ctx *x, const seam_scan__detector *d, const seam_scan__hit *h)
{
    float score = h->verdict == SEAM_SCAN__CONFIRM       ? 1.0f
                  : h->verdict == SEAM_SCAN__ACCEPT_WEAK ? 0.45f
                                                         : d->base;
    size_t st = h->start;
    if (d->negative &&
        seam_scan__has_word(x->t, x->n,
                            st > SEAM_SCAN__NEGATIVE_BEFORE ? st - SEAM_SCAN__NEGATIVE_BEFORE : 0,
                            st, d->negative))
        return 0;
    if (score < 1.0f && d->context &&
        seam_scan__has_word(x->t, x->n,
                            st > SEAM_SCAN__CONTEXT_BEFORE ? st - SEAM_SCAN__CONTEXT_BEFORE : 0, st,
                            d->context)) {
        score += d->boost;
        if (score > 1.0f)
            score = 1.0f;
    }
    return score;
}

static int on_match(unsigned int id, unsigned long long from, unsigned long long to,
                    unsigned int flags, void *ctx)
{
    match_ctx *x = ctx;
    const seam_scanner *s = x->s;
    size_t en = (size_t)to;

    if (id < s->nbuiltin_pat) {
        for (unsigned r = 0; r < s->nrows[id]; r++) {
            const seam_scan__detector *d = &seam_scan__detectors[s->rows[id][r]];
            seam_scan__hit hits[SEAM_SCAN__MAX_HITS];
            size_t nh = d->check(x->t, x->n, en, hits);
            for (size_t h = 0; h < nh; h++) {
                if (hits[h].verdict == SEAM_SCAN__REJECT)
                    continue;
                float score = score_hit(x, d, &hits[h]);
                if (keep(x, d->type, hits[h].start, hits[h].end, score, false) != 0)
                    goto nomem;
            }
        }
        return 0;
    }
    if (id < s->word_base) {
        /* Custom patterns are compiled with start-of-match tracking: the
         * operator's expression may be anything. Vectorscan reports every
         * end of a match; a longer one from the same start replaces the
         * shorter, so that "[a-z]+" over a long word is one entity, not one
         * per letter. */
        if (keep(x, s->custom_pat_type[id - s->nbuiltin_pat], (size_t)from, en, 1.0f, true) != 0)
            goto nomem;
        return 0;
    }
    const word_info *w = &s->words[id - s->word_base];
    if (w->len > en)
        return 0;
    size_t st = en - w->len;
    /* Whole words only, where the word itself starts or ends with a word
     * character. */
    const unsigned char *t = (const unsigned char *)x->t;
    if (st > 0 && is_word_byte(t[st]) && is_word_byte(t[st - 1]))
        return 0;
    if (en < x->n && is_word_byte(t[en - 1]) && is_word_byte(t[en]))
        return 0;
    if (keep(x, w->type, st, en, 1.0f, false) != 0)
        goto nomem;
    return 0;
nomem:
    x->rc = SEAM_ERR_NOMEM;
    return 1;
}

static seam_rc scan_block(const seam_scanner *s, seam_scan_scratch *sc, match_ctx *x)
{
    if (x->n == 0)
        return SEAM_OK;
    hs_error_t he = hs_scan(s->db, x->t, (unsigned)x->n, 0, sc->hs, on_match, x);
    if (x->rc != SEAM_OK)
        return x->rc;
    if (he == HS_SUCCESS && s->db_custom) {
        he = hs_scan(s->db_custom, x->t, (unsigned)x->n, 0, sc->hs, on_match, x);
        if (x->rc != SEAM_OK)
            return x->rc;
    }
    if (he == HS_SUCCESS)
        return SEAM_OK;
    return he == HS_NOMEM ? SEAM_ERR_NOMEM : SEAM_ERR_INVALID;
}

/* Moves <i> back to the start of the UTF-8 character it falls in. */
static size_t char_start(const char *t, size_t i)
{
    for (int k = 0; k < 3 && i > 0 && ((unsigned char)t[i] & 0xc0) == 0x80; k++)
        i--;
    return i;
}

static seam_rc scan_windows(const seam_scanner *s, seam_scan_scratch *sc, const char *text,
                            size_t len, seam_scan_result *res, size_t n0)
{
    size_t ws = 0;
    for (;;) {
        size_t we = len - ws > WIN ? char_start(text, ws + WIN) : len;
        size_t used = seam_scan__normalize(&sc->nm, text + ws, we - ws);
        if (used == 0)
            return SEAM_ERR_INVALID;
        we = ws + used;
        match_ctx x = {
            .s = s,
            .t = sc->nm.buf,
            .n = sc->nm.len,
            .nm = &sc->nm,
            .src = text + ws,
            .base = ws,
            .keep_lo = ws == 0 ? 0 : ws + EDGE,
            .keep_hi = we == len ? len : we - EDGE,
            .res = res,
            .n0 = n0,
            .rc = SEAM_OK,
        };
        seam_rc rc = scan_block(s, sc, &x);
        if (rc != SEAM_OK)
            return rc;
        if (we == len)
            return SEAM_OK;
        size_t next = we - ws > OVERLAP + EDGE ? char_start(text, we - OVERLAP) : we;
        ws = next > ws ? next : we;
    }
}

seam_rc seam_scan_text(const seam_scanner *s, seam_scan_scratch *sc, const char *text, size_t len,
                       seam_scan_result *res)
{
    seam_rc rc;
    size_t n0;

    if (!res)
        return SEAM_ERR_INVALID;
    n0 = res->n;
    if (!s || !sc || (!text && len)) {
        rc = SEAM_ERR_INVALID;
        goto fail;
    }
    if (len == 0)
        return SEAM_OK;
    if (seam_scan__lookalike_find(text, len) == len && len <= UINT_MAX) {
        match_ctx x = {.s = s,
                       .t = text,
                       .n = len,
                       .src = text,
                       .keep_hi = len,
                       .res = res,
                       .n0 = n0,
                       .rc = SEAM_OK};
        rc = scan_block(s, sc, &x);
    } else {
        rc = scan_windows(s, sc, text, len, res, n0);
    }
    if (rc != SEAM_OK)
        goto fail;
    if (res->n > n0)
        res->n = n0 + resolve(res->ents + n0, res->n - n0);
    for (size_t i = n0; i < res->n; i++) {
        seam_sensitivity l = s->levels[res->ents[i].type];
        if (l > res->level)
            res->level = l;
    }
    return SEAM_OK;
fail:
    /* Fail closed: no partial answer, and the text counts as regulated. */
    res->n = n0;
    res->level = SEAM_SENS_REGULATED;
    return rc;
}

/* ---- types -------------------------------------------------------------- */

const char *seam_scan_type_name(const seam_scanner *s, uint32_t type)
{
    if (s && type < s->ntypes)
        return s->names[type];
    if (type < SEAM_ENT__BUILTIN_COUNT)
        return seam_scan__type_names[type];
    return "UNKNOWN";
}

seam_sensitivity seam_scan_type_level(const seam_scanner *s, uint32_t type)
{
    if (s && type < s->ntypes)
        return s->levels[type];
    /* An unknown type is treated as the most sensitive. */
    return SEAM_SENS_REGULATED;
}

size_t seam_scan_type_count(const seam_scanner *s)
{
    return s ? s->ntypes : SEAM_ENT__BUILTIN_COUNT;
}
