/*
 * The sensitive-data scanner: one Vectorscan database holding every built-in
 * and custom detector, compiled once from the configuration and shared by all
 * workers; per-worker scratch space; candidate matches confirmed by
 * validators, context words, entropy floors and allow-lists, then kept when
 * their score reaches the threshold. Results carry types, byte spans and
 * scores, never copies of the values.
 *
 * Detection can only raise a request's sensitivity. Any failure to scan
 * (out of memory, a scratch error) is reported as an error, and callers treat
 * the request as regulated: the scanner fails closed.
 */
#ifndef SEAM_SCAN_SCAN_H
#define SEAM_SCAN_SCAN_H

#include "config/config.h"
#include "core/canon.h"
#include "core/rc.h"

#include <stddef.h>
#include <stdint.h>

/* Built-in entity types. Custom detectors get type ids from
 * SEAM_ENT__BUILTIN_COUNT upwards, in configuration order. */
typedef enum {
    SEAM_ENT_CREDIT_CARD = 0,
    SEAM_ENT_IBAN,
    SEAM_ENT_US_SSN,
    SEAM_ENT_EMAIL,
    SEAM_ENT_PHONE,
    SEAM_ENT_IP_ADDRESS,
    SEAM_ENT_PRIVATE_KEY,
    SEAM_ENT_AWS_ACCESS_KEY,
    SEAM_ENT_GITHUB_TOKEN,
    SEAM_ENT_OPENAI_KEY,
    SEAM_ENT_ANTHROPIC_KEY,
    SEAM_ENT_GOOGLE_API_KEY,
    SEAM_ENT_SLACK_TOKEN,
    SEAM_ENT_STRIPE_KEY,
    SEAM_ENT_JWT,
    SEAM_ENT_GENERIC_SECRET,
    SEAM_ENT_ABA_ROUTING,
    SEAM_ENT_US_NPI,
    SEAM_ENT_US_DEA,
    SEAM_ENT_UK_NHS,
    SEAM_ENT_MRN,
    SEAM_ENT_DOB,
    SEAM_ENT_GITLAB_TOKEN,
    SEAM_ENT_HUGGINGFACE_TOKEN,
    SEAM_ENT_NPM_TOKEN,
    SEAM_ENT__BUILTIN_COUNT
} seam_entity_type;

typedef struct seam_entity {
    uint32_t type;
    size_t start, end; /* byte offsets into the scanned text, value only */
    float score;
} seam_entity;

/* A growable list of entities, plus what they imply. */
typedef struct seam_scan_result {
    seam_entity *ents; /* seam_malloc'd; freed by seam_scan_result_free */
    size_t n, cap;
    seam_sensitivity level; /* highest level implied by the entities found */
} seam_scan_result;

typedef struct seam_scanner seam_scanner;
typedef struct seam_scan_scratch seam_scan_scratch;

/* Compiles the database for <cfg>'s detect section (built-ins plus custom
 * detectors; <cfg> NULL means the built-in defaults). On failure returns
 * SEAM_ERR_CONFIG with a message naming the detector in <err> (an unknown
 * type in detect.levels, a custom name that is a built-in type, a pattern
 * that does not compile: "FILE:LINE: key '...': ..."), or SEAM_ERR_NOMEM.
 * The scanner copies what it needs, so <cfg> may be freed first. It is
 * immutable and safe to share. detect.enabled is not consulted: callers
 * decide whether to scan. */
seam_rc seam_scanner_new(const seam_config *cfg, seam_scanner **out, char *err, size_t errlen);
void seam_scanner_free(seam_scanner *s);

/* Per-worker scratch; NULL when out of memory. */
seam_scan_scratch *seam_scan_scratch_new(const seam_scanner *s);
void seam_scan_scratch_free(seam_scan_scratch *sc);

/* Bytes held by the compiled database (shared) and by one scratch (per
 * worker, constant: scans allocate nothing but the caller's result). */
size_t seam_scanner_db_size(const seam_scanner *s);

/* For the build (tools/scan_prebuild.c): compiles the built-in patterns
 * and serialises the database into <*bytes> (<*len> bytes, allocated with
 * the scanner's allocator: free with seam_free), with <*key>, the
 * fingerprint seam_scanner_new compares before it uses them. */
seam_rc seam_scanner_prebuild(char **bytes, size_t *len, uint64_t *key, char *err, size_t errlen);
size_t seam_scan_scratch_size(const seam_scan_scratch *sc);

/* Scans <len> bytes of <text> (UTF-8, already JSON-unescaped) and appends the
 * entities found to <res>, raising res->level. Look-alike characters (Unicode
 * spaces and dashes, full-width digits) are matched as their ASCII forms,
 * with spans still pointing into <text>. The entities one call appends are
 * sorted by start and do not overlap. Returns SEAM_OK or an error, after
 * which the caller must treat the text as regulated (the call then appends
 * nothing and sets res->level to regulated). Allocates nothing but the
 * growth of res->ents. */
seam_rc seam_scan_text(const seam_scanner *s, seam_scan_scratch *sc, const char *text, size_t len,
                       seam_scan_result *res);

void seam_scan_result_init(seam_scan_result *res);
void seam_scan_result_free(seam_scan_result *res);

/* The type's name ("CREDIT_CARD", or a custom detector's name) and the
 * sensitivity it implies under the configuration. */
const char *seam_scan_type_name(const seam_scanner *s, uint32_t type);
seam_sensitivity seam_scan_type_level(const seam_scanner *s, uint32_t type);
size_t seam_scan_type_count(const seam_scanner *s);

#endif
