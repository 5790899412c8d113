/*
 * Classification of a whole canonical request: every text it would send
 * upstream is scanned (system prompt, every message, tool results, tool-call
 * arguments, tool descriptions, and string fields passed through unmodelled),
 * the findings raise the request's sensitivity, unreadable content (images,
 * audio, files) sets a floor, and on demand the detected values are replaced
 * by placeholders in the request itself.
 *
 * Fail closed: if scanning fails for any reason, the request counts as
 * regulated.
 */
#ifndef SEAM_SCAN_CLASSIFY_H
#define SEAM_SCAN_CLASSIFY_H

#include "config/config.h"
#include "core/arena.h"
#include "core/canon.h"
#include "scan/redact.h"
#include "scan/scan.h"

#include <stdbool.h>

struct seam_detected_text;

typedef struct seam_detection {
    seam_sensitivity level;        /* everything found, floors included */
    seam_sensitivity unredactable; /* what redaction cannot lower: the floor
                                      for content seam cannot read */
    bool failed;                   /* the scanner failed: counted as regulated */
    uint32_t *counts;              /* per entity type, in the arena */
    size_t ntypes;
    size_t total; /* entities found */
    seam_scan_result res;
    struct seam_detected_text *texts; /* where each finding lives */
    size_t ntexts, captexts;
} seam_detection;

/* Scans <req> with <scanner> (NULL or detection disabled: nothing is found,
 * only the image floor applies). Fills <out>, whose memory lives in <a>.
 * Never fails open: on a scanner error out->failed is set and out->level is
 * regulated; the return value is SEAM_OK unless memory ran out, in which case
 * out->level is regulated too. */
seam_rc seam_classify_request(const seam_scanner *scanner, seam_scan_scratch *scratch,
                              const seam_config *cfg, const seam_req *req, seam_arena *a,
                              seam_detection *out);

/* "CREDIT_CARD=1,EMAIL=2" (types and counts only), in <a>; NULL when nothing
 * was found. */
const char *seam_detection_summary(const seam_scanner *scanner, const seam_detection *d,
                                   seam_arena *a);

/* The summary above read back: {"TYPE":N,...} for "TYPE=N,TYPE=N" (a new
 * reference; NULL when out of memory). Malformed items are skipped (the
 * summary is seam's own, so there should be none). For records that store
 * the counts as JSON (ledger, audit log). */
json_t *seam_detection_summary_json(const char *summary);

/* Replaces every detected value in <req> by its placeholder, in place
 * (texts are swapped for redacted copies in <a>). Returns the redactor that
 * restores the answer, or NULL when out of memory. */
seam_redactor *seam_classify_redact(const seam_scanner *scanner, seam_req *req, seam_detection *d,
                                    seam_arena *a);

/* Releases the scan result (call once the request no longer needs <d>). */
void seam_detection_free(seam_detection *d);

#endif
