/*
 * What seam knows about one finished request, handed to everything that
 * records it (ledger, budgets, metrics). Names, levels, counts, times and
 * money; never prompt or completion text, never a key. Strings point into
 * the request's arena and are only valid during the call that receives the
 * record: a consumer that keeps anything copies it.
 */
#ifndef SEAM_OBS_RECORD_H
#define SEAM_OBS_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct seam_request_record {
    int64_t ts_ms;      /* arrival, wall clock, ms since the epoch */
    const char *id;     /* request id */
    const char *tenant; /* NULL when anonymous */
    const char *key_name;
    const char *ingress;     /* "openai", "anthropic", "ollama-chat", ... */
    const char *kind;        /* task kind name */
    const char *complexity;  /* task complexity name */
    int64_t tokens_est;      /* seam's estimate of prompt + requested output, -1 none */
    const char *set_applied; /* what the rule's set changed ("reasoning=off"), or NULL */
    const char *declared;    /* declared sensitivity name, NULL when not declared */
    const char *sensitivity; /* effective sensitivity name */
    const char *detected;    /* "TYPE=N,TYPE=N" or NULL */
    const char *rule;        /* matched rule, NULL when no decision was made */
    const char *reason;      /* short routing reason tag: "rule", "default", "clearance",
                                "budget", ...; NULL when none */
    const char *pool;
    const char *backend;  /* NULL when no backend was chosen */
    int backend_index;    /* index into cfg->backends, -1 when none */
    const char *location; /* "local" | "cloud" | NULL */
    const char *model;    /* model sent upstream */
    const char *fallback_from;
    const char *error; /* seam's error code, NULL on success */
    int status;        /* HTTP status answered */
    int attempts;      /* upstream attempts, 0 when none */
    bool stream;
    int64_t input_tokens, output_tokens, reasoning_tokens, cached_tokens; /* -1 unknown */
    double cost_usd;           /* what this request cost (see obs/cost.h) */
    double counterfactual_usd; /* what report.reference_backend would have charged; -1 none */
    double ms_total;           /* arrival to last byte */
    double ms_ttft;            /* arrival to the upstream's first byte; -1 none */
    double ms_gateway;         /* seam's own time: total minus upstream time */
} seam_request_record;

#endif
