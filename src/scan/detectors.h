/*
 * The built-in detectors: one row per (pattern, entity type), each naming
 * the Vectorscan pattern that finds candidates, the checker that turns a
 * match into zero or more validated values with their spans, the base score
 * and the context words that raise it. Rows with the same pattern share one
 * expression in the database, so one match is examined by every row that
 * wants it. Internal to src/scan/.
 */
#ifndef SEAM_SCAN_DETECTORS_H
#define SEAM_SCAN_DETECTORS_H

#include "core/canon.h"

#include <stddef.h>
#include <stdint.h>

/* What a checker decided about a value. */
typedef enum {
    SEAM_SCAN__REJECT = 0,  /* not a value of this type */
    SEAM_SCAN__ACCEPT,      /* plausible: the row's base score applies */
    SEAM_SCAN__ACCEPT_WEAK, /* plausible but doubtful: 0.45, context must raise it */
    SEAM_SCAN__CONFIRM,     /* a validator confirmed it: score 1.0 */
} seam_scan__verdict;

/* A value a checker found: its span in the scanned text and the verdict. */
typedef struct seam_scan__hit {
    size_t start, end;
    seam_scan__verdict verdict;
} seam_scan__hit;

#define SEAM_SCAN__MAX_HITS 8

/* Examines the match of the row's pattern that ends at <end> in text <t>
 * (<n> bytes, look-alikes already normalised; patterns are compiled
 * without start-of-match tracking, which costs Vectorscan dearly, so the
 * checker finds the start itself). Writes up to SEAM_SCAN__MAX_HITS values
 * to <out> and returns how many. */
typedef size_t (*seam_scan__check_fn)(const char *t, size_t n, size_t end, seam_scan__hit *out);

typedef struct seam_scan__detector {
    uint32_t type;             /* seam_entity_type */
    const char *pattern;       /* Vectorscan expression */
    unsigned flags;            /* HS_FLAG_* */
    float base;                /* score of an accepted value */
    seam_scan__check_fn check; /* never NULL */
    /* Words (lower case, whole words, any case in the text) that raise the
     * score by <boost> when found shortly before the value. */
    const char *const *context;
    float boost;
    /* Words right before the value that rule it out ("version 10.2.0.1"). */
    const char *const *negative;
} seam_scan__detector;

/* The table and its length. */
extern const seam_scan__detector seam_scan__detectors[];
extern const size_t seam_scan__ndetectors;

/* Type names and default levels of the built-in types, indexed by
 * seam_entity_type. */
extern const char *const seam_scan__type_names[];
extern const seam_sensitivity seam_scan__type_levels[];

/* Bytes before a value searched for context words, and for negative ones;
 * context-led rows look this far after their word for the value. */
#define SEAM_SCAN__CONTEXT_BEFORE  48
#define SEAM_SCAN__NEGATIVE_BEFORE 24

/* True when one of <words> occurs as a whole word inside t[<from>, <to>)
 * of the <n>-byte text <t>. */
int seam_scan__has_word(const char *t, size_t n, size_t from, size_t to, const char *const *words);

#endif
