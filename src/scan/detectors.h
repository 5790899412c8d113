/*
 * The built-in detectors: one row per Vectorscan pattern, each naming the
 * entity type it finds, its base score, the checker that confirms, adjusts
 * or rejects a candidate, and the context words that raise its score. Rows
 * are compiled into the scanner's database with their index as pattern id.
 * Internal to src/scan/.
 */
#ifndef SEAM_SCAN_DETECTORS_H
#define SEAM_SCAN_DETECTORS_H

#include "core/canon.h"

#include <stddef.h>
#include <stdint.h>

/* What a checker decided about a candidate. */
typedef enum {
    SEAM_SCAN__REJECT = 0, /* not a value of this type */
    SEAM_SCAN__ACCEPT,     /* plausible: the row's base score applies */
    SEAM_SCAN__ACCEPT_WEAK, /* plausible but doubtful: 0.45, context must raise it */
    SEAM_SCAN__CONFIRM,    /* a validator confirmed it: score 1.0 */
} seam_scan__verdict;

/* Decides about the candidate [<*s>, <*e>) of text <t> (<n> bytes, ASCII
 * look-alikes already normalised). May move the span: token rows extend the
 * end over the token's alphabet, label rows replace the span (which covers
 * the label) by the value that follows it. */
typedef seam_scan__verdict (*seam_scan__check_fn)(const char *t, size_t n, size_t *s, size_t *e);

typedef struct seam_scan__detector {
    uint32_t type;             /* seam_entity_type */
    const char *pattern;       /* Vectorscan expression */
    unsigned flags;            /* HS_FLAG_* */
    float base;                /* score of an accepted candidate */
    seam_scan__check_fn check; /* NULL: accept */
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

/* Bytes before a value searched for context words, and for negative ones. */
#define SEAM_SCAN__CONTEXT_BEFORE  48
#define SEAM_SCAN__NEGATIVE_BEFORE 24

/* True when one of <words> occurs as a whole word inside t[<from>, <to>)
 * of the <n>-byte text <t>. */
int seam_scan__has_word(const char *t, size_t n, size_t from, size_t to,
                        const char *const *words);

#endif
