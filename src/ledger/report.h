/*
 * `seam report`: requests, tokens, local share, cost and savings against the
 * all-cloud counterfactual, from the ledger (the SQLite `requests` table the
 * ledger writer fills), and for each local backend with `hardware` its fixed
 * cost over the window, effective price per million tokens and break-even
 * date. Reads the ledger read-only; may run while seam writes it.
 *
 * Which cost view is used where:
 *   - cloud backends (and any backend with a `price`): the ledger's per-row
 *     cost_usd, summed;
 *   - local backends with `hardware` (and no price): the fixed-cost view,
 *     hourly cost x hours in the window, idle hours included. The ledger
 *     rows of such a backend carry a per-request upper bound (hourly cost x
 *     the request's wall time) that the report ignores. The fixed cost is
 *     shared among groups in proportion to the tokens (input + output) the
 *     backend served for each; the fixed cost of a backend that served no
 *     tokens in the window is "unallocated" (only in the total), except
 *     with --by backend, where it is that backend's own row.
 *   - counterfactual: the ledger's counterfactual_usd; rows written without
 *     one (no reference then) are priced at the configuration's current
 *     report.reference_backend.
 *   savings = counterfactual - cloud cost - local cost.
 */
#ifndef SEAM_LEDGER_REPORT_H
#define SEAM_LEDGER_REPORT_H

#include "config/config.h"
#include "core/rc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    SEAM_REPORT_BY_BACKEND = 0, /* the default */
    SEAM_REPORT_BY_TENANT,
    SEAM_REPORT_BY_RULE,
    SEAM_REPORT_BY_DAY, /* UTC calendar day of the request's arrival */
} seam_report_by;

typedef enum { SEAM_REPORT_TABLE = 0, SEAM_REPORT_JSON, SEAM_REPORT_CSV } seam_report_format;

/* "backend", "tenant", "rule", "day". */
const char *seam_report_by_name(seam_report_by by);

/* What to report on. */
typedef struct seam_report_query {
    int64_t since_ms; /* INT64_MIN: from the ledger's first row (inclusive) */
    int64_t until_ms; /* INT64_MAX: until <now_ms> (exclusive) */
    int64_t now_ms;   /* wall clock, unix ms */
    seam_report_by by;
} seam_report_query;

/* Sets no bounds, by backend, now = the current time. */
void seam_report_query_init(seam_report_query *q);

/* One group's numbers (or the total). Token counts are what the ledger
 * recorded; unknown counts (NULL or -1) count as 0. */
typedef struct seam_report_group {
    char *name; /* tenant ("(anonymous)"), backend or rule ("(none)"), day YYYY-MM-DD */
    uint64_t requests;
    uint64_t errors; /* status >= 400 or an error code */
    uint64_t input_tokens, output_tokens;
    uint64_t local_requests; /* served by a backend at location local */
    uint64_t local_tokens;   /* their input + output tokens */
    double cloud_cost_usd;   /* ledger cost of requests served by cloud backends */
    double local_cost_usd;   /* fixed-cost share of hardware + ledger cost of other locals */
    double counterfactual_usd;
    /* Derived (seam_report_build fills them): */
    double local_share_requests; /* local_requests / requests; 0 when none */
    double local_share_tokens;   /* local_tokens / (input + output); 0 when none */
    double cost_usd;             /* cloud + local */
    double savings_usd;          /* counterfactual - cost */
} seam_report_group;

/* One local backend with `hardware`, over the window. */
typedef struct seam_report_hardware {
    char *backend;
    double capex_usd;
    double hourly_usd;        /* amortised capex + energy (obs/cost.h) */
    double energy_hourly_usd; /* energy alone */
    double fixed_cost_usd;    /* hourly x window hours */
    double energy_cost_usd;   /* energy hourly x window hours */
    uint64_t requests;
    uint64_t tokens;           /* input + output it served in the window */
    double counterfactual_usd; /* what the reference would have charged for them */
    bool has_effective;
    double effective_usd_per_mtok; /* fixed cost / tokens x 1e6, when tokens > 0 */
    /* (counterfactual - energy cost) / window days: what local serving saves
     * per day before paying back capex. */
    double daily_savings_usd;
    bool has_first;
    int64_t first_ms; /* the backend's first ledger row ever */
    /* first_ms + capex / daily savings, when daily savings > 0 and there is
     * a first row; otherwise "never at this volume". */
    bool breaks_even;
    double break_even_ms;
} seam_report_hardware;

typedef struct seam_report {
    seam_report_by by;
    int64_t since_ms, until_ms; /* the window actually used */
    double hours;               /* (until - since) in hours, >= 0 */
    char *reference;            /* reference backend name, NULL when none */
    seam_report_group *groups;  /* sorted by name (days: chronological) */
    size_t ngroups;
    seam_report_group total;  /* name "TOTAL"; includes unallocated_usd in local cost */
    double unallocated_usd;   /* fixed cost of hardware that served no tokens (see above) */
    seam_report_hardware *hw; /* one per local backend with hardware, config order */
    size_t nhw;
} seam_report;

/* Builds the report of ledger file <db_path> for <q>. <cfg> supplies the
 * hardware, prices and reference backend; it may be NULL (no hardware
 * section, no counterfactual fallback). On success fills <out> (free with
 * seam_report_free) and returns SEAM_OK; on failure returns SEAM_ERR_IO
 * (the file cannot be opened or is not a ledger), SEAM_ERR_INVALID (an
 * empty window) or SEAM_ERR_NOMEM, with a message in <err>. */
seam_rc seam_report_build(const seam_config *cfg, const char *db_path, const seam_report_query *q,
                          seam_report *out, char *err, size_t errlen);

void seam_report_free(seam_report *r);

/* Writes <r> to <out> as an aligned table, JSON (one document) or CSV (a
 * header row, then one row per group, the total, one per hardware backend,
 * with a first column saying which). Returns 0, or -1 on a write error. */
int seam_report_write(const seam_report *r, seam_report_format format, FILE *out);

/* Formats unix ms <ms> as RFC 3339 UTC with milliseconds into <buf>. */
void seam_report_time(int64_t ms, char *buf, size_t n);

/* `seam report [-c FILE] [--db FILE] [--since T] [--until T]
 * [--by tenant|backend|rule|day] [--format table|json|csv]`. Returns the
 * exit status: 0, or 2 on usage and I/O errors. */
int seam_report_cli(int argc, char **argv, FILE *out, FILE *err);

#endif
