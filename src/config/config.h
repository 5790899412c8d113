/*
 * Configuration: the YAML file parsed (libfyaml) into an immutable snapshot.
 * Workers read a snapshot and never change it; a reload builds a new one.
 * Every error names the file, the line and the key.
 */
#ifndef SEAM_CONFIG_CONFIG_H
#define SEAM_CONFIG_CONFIG_H

#include "core/canon.h"
#include "core/rc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    SEAM_PROVIDER_OPENAI = 0,
    SEAM_PROVIDER_ANTHROPIC,
    SEAM_PROVIDER_OLLAMA,
    SEAM_PROVIDER_GEMINI,
    SEAM_PROVIDER__COUNT
} seam_provider_kind;
typedef enum { SEAM_LOC_LOCAL = 0, SEAM_LOC_CLOUD } seam_location;

/* Backend capabilities (seam_backend_conf.capabilities). */
#define SEAM_CAP_VISION     (1u << 0)
#define SEAM_CAP_TOOLS      (1u << 1)
#define SEAM_CAP_THINKING   (1u << 2)
#define SEAM_CAP_EMBEDDINGS (1u << 3)
#define SEAM_CAP_ALL        (SEAM_CAP_VISION | SEAM_CAP_TOOLS | SEAM_CAP_THINKING | SEAM_CAP_EMBEDDINGS)
#define SEAM_CAP__COUNT     4

/* The configuration name of one SEAM_CAP_* bit ("vision", "tools",
 * "thinking", "embeddings"), or "?" for anything else. */
const char *seam_capability_name(unsigned cap);

/* price: what a backend charges, in USD per million tokens. */
typedef struct seam_price {
    bool set;
    double input_per_mtok, output_per_mtok;
    bool has_cached;
    double cached_input_per_mtok; /* cached input tokens, when has_cached */
} seam_price;

/* hardware: what a local backend's machine costs, from which seam derives
 * an hourly cost (amortised capex plus energy). */
typedef struct seam_hardware {
    bool set;
    double capex_usd, amortize_months, watts, usd_per_kwh;
} seam_hardware;

/* Upstream transfer timeouts in milliseconds (issue 5). Resolved at load:
 * a backend's `timeouts` override the top-level ones key by key, and those
 * default to connect 10000, first_byte 60000, idle 30000 and total =
 * limits.request_timeout_ms, so every field of a backend's copy is set. */
typedef struct seam_timeouts {
    uint64_t connect_ms;    /* TCP (and TLS) connect */
    uint64_t first_byte_ms; /* request sent to first response byte */
    uint64_t idle_ms;       /* longest gap between two received chunks */
    uint64_t total_ms;      /* the whole transfer */
} seam_timeouts;

/* The circuit breaker of a backend (src/upstream/breaker.h): open after
 * <failures> failures within <window_ms>, half-open <cooldown_ms> later
 * with at most <half_open_max> trial requests. Resolved like timeouts: a
 * backend's `circuit` overrides the top-level one key by key; defaults 5,
 * 10000, 5000, 1. */
typedef struct seam_circuit_conf {
    uint64_t failures, window_ms, cooldown_ms, half_open_max;
} seam_circuit_conf;

typedef struct seam_backend_conf {
    size_t index; /* position in seam_config.backends */
    char *name;
    seam_provider_kind provider;
    char *url; /* base URL without trailing slash */
    seam_location location;
    seam_sensitivity clearance; /* default: regulated for local, public for cloud */
    char **models;
    size_t nmodels;
    uint64_t context_window; /* 0 when not given */
    /* SEAM_CAP_* bits the backend offers; when the file gives no
     * `capabilities` list, every bit is set (nothing is assumed missing). */
    unsigned capabilities;
    bool capabilities_given; /* the file had a `capabilities` list */
    char *api_key_env;       /* NULL or "" when none */
    /* max_tokens sent when the client gives none (Anthropic requires it);
     * default 4096. */
    uint64_t max_tokens_default;
    seam_price price;          /* price: {...}; set == false when absent */
    seam_hardware hardware;    /* hardware: {...} (local backends) */
    seam_timeouts timeouts;    /* resolved: every field set */
    seam_circuit_conf circuit; /* resolved: every field set */
    uint64_t max_concurrency;  /* requests in flight at once; 0 = unlimited (default) */
    struct {
        char *path;           /* probe path; default: the provider's ("/v1/models", ...) */
        uint64_t interval_ms; /* between probes; default 10000 */
    } health;
    int line; /* where it was declared */
} seam_backend_conf;

typedef enum {
    SEAM_STRATEGY_LEAST_OUTSTANDING = 0, /* default */
    SEAM_STRATEGY_ROUND_ROBIN,
    SEAM_STRATEGY_WEIGHTED,
    SEAM_STRATEGY__COUNT
} seam_pool_strategy;

/* The configuration name of a strategy ("least_outstanding", ...). */
const char *seam_strategy_name(seam_pool_strategy s);

typedef struct seam_pool_conf {
    size_t index; /* position in seam_config.pools */
    char *name;
    size_t *backends; /* indexes into seam_config.backends */
    size_t nbackends;
    /* The long form {backends: [...], strategy: ..., ...}; the short form
     * (a list of backends) gets the defaults below. */
    seam_pool_strategy strategy;
    uint64_t *weights; /* strategy weighted: one per backend, same order; else NULL */
    uint64_t retries;  /* further attempts in this pool after a retryable failure; default 2 */
    struct {
        uint64_t max;        /* requests waiting for a slot; 0 (default) = no queue */
        uint64_t timeout_ms; /* longest wait; default 30000 */
    } queue;
    bool has_spill;
    size_t spill;       /* index into seam_config.pools: where to overflow when saturated */
    bool stream_resume; /* continue a broken stream on another backend; default false */
    int line;
} seam_pool_conf;

/* A rule's `set`: request parameters the policy dials for the requests it
 * matches (src/policy/dial.h applies them). */
typedef struct seam_rule_set {
    /* SEAM_REASONING_UNSET when the rule does not set reasoning; otherwise
     * OFF, LOW, MEDIUM or HIGH. The client's explicit choice wins unless
     * <force>. */
    seam_reasoning reasoning;
    bool force;
    uint64_t max_tokens_cap; /* 0 when not given */
} seam_rule_set;

typedef struct seam_rule_conf {
    char *name;
    /* Bit masks over the enum values; 0 means "any". */
    uint32_t kinds, sensitivities, complexities;
    bool has_tokens_gt, has_tokens_lte;
    uint64_t tokens_gt, tokens_lte;
    char **models; /* requested model names; NULL/0 means any */
    size_t nmodels;
    int has_images; /* -1 any, 0 must not, 1 must */
    int has_tools;  /* -1 any, 0 must not, 1 must */
    size_t pool;    /* index into seam_config.pools */
    /* fallback: pools tried in order after <pool> fails (indexes into
     * seam_config.pools; never <pool> itself, no repeats). */
    size_t *fallbacks;
    size_t nfallbacks;
    bool redact; /* replace detected values with placeholders, restore in the answer */
    seam_rule_set set;
    int line;
} seam_rule_conf;

/* A detector from detect.custom: a regular expression or a list of literal
 * words (inline or from a file, one per line), and the level it implies. */
typedef struct seam_custom_detector {
    char *name;    /* its type name, e.g. PROJECT_CODENAME */
    char *pattern; /* a regular expression (Vectorscan syntax), or NULL */
    char **words;  /* literal words, matched case-insensitively on word boundaries */
    size_t nwords;
    seam_sensitivity level;
    int line;
} seam_custom_detector;

/* detect.levels: the level a built-in type implies, overriding its default. */
typedef struct seam_detect_level {
    char *type; /* a built-in type name, checked when the scanner is built */
    seam_sensitivity level;
    int line;
} seam_detect_level;

typedef struct seam_detect_conf {
    bool enabled;                       /* default true */
    double threshold;                   /* score needed to report an entity; default 0.5 */
    seam_sensitivity image_sensitivity; /* floor for requests with images; default internal */
    bool allow_redact_header;           /* honour X-Seam-Redact: true; default false */
    seam_detect_level *levels;
    size_t nlevels;
    seam_custom_detector *custom;
    size_t ncustom;
} seam_detect_conf;

/* auth.keys: one client key. The key itself is never kept: only its
 * SHA-256, given in the file (key_sha256) or computed at load from the
 * environment variable key_env. */
typedef struct seam_key_conf {
    char *name;
    unsigned char sha256[32];
    char *key_env;            /* NULL when key_sha256 was given */
    bool key_present;         /* key_env was set when the config was loaded */
    char *tenant;             /* default: the key's name */
    bool has_max_sensitivity; /* max_sensitivity_to_cloud given */
    seam_sensitivity max_sensitivity_to_cloud;
    uint64_t rpm, tpm; /* requests / tokens per minute; 0 = unlimited */
    int line;
} seam_key_conf;

typedef enum { SEAM_BUDGET_LOCAL = 0, SEAM_BUDGET_REJECT } seam_budget_action;

/* budgets: spending limits per tenant, in USD. */
typedef struct seam_budget_conf {
    char *tenant;
    double usd_per_day, usd_per_month; /* < 0 when not given */
    seam_budget_action on_exhausted;   /* default local */
    int line;
} seam_budget_conf;

typedef enum { SEAM_UNKNOWN_MODEL_REJECT = 0, SEAM_UNKNOWN_MODEL_ROUTE } seam_unknown_model;
typedef enum { SEAM_PINNED_REROUTE = 0, SEAM_PINNED_REJECT } seam_pinned_violation;

typedef struct seam_config {
    char *path; /* the file it came from, for messages */
    char *listen_host;
    int listen_port; /* 0: pick an ephemeral port */
    int workers;     /* 0 in the file means: number of cores */
    struct {
        uint64_t max_body_bytes;     /* default 33554432 */
        uint64_t request_timeout_ms; /* default 600000 */
        uint64_t shutdown_grace_ms;  /* default 30000 */
    } limits;
    seam_timeouts timeouts;    /* top-level defaults; backends hold the resolved ones */
    seam_circuit_conf circuit; /* top-level defaults; backends hold the resolved ones */
    seam_backend_conf *backends;
    size_t nbackends;
    seam_pool_conf *pools;
    size_t npools;
    seam_rule_conf *rules;
    size_t nrules;
    size_t default_pool;                       /* index into pools */
    seam_sensitivity default_sensitivity;      /* default internal */
    seam_unknown_model unknown_model;          /* default reject */
    seam_pinned_violation on_pinned_violation; /* default reroute */
    seam_detect_conf detect;
    /* audit: the hash-chained audit log (src/obs/audit.h). Off unless
     * audit.dir is given: a default directory would put files wherever
     * seam happens to be started. */
    struct {
        char *dir;          /* NULL or "": no audit log */
        uint64_t max_bytes; /* rotate past this size; default 67108864 */
    } audit;
    struct {
        char *admin_key_env;     /* NULL: admin endpoints are refused */
        bool metrics_need_admin; /* auth.protect_metrics; default false */
        seam_key_conf *keys;     /* none: every client is anonymous */
        size_t nkeys;
    } auth;
    seam_budget_conf *budgets;
    size_t nbudgets;
    struct {
        char *sqlite;              /* ledger file; default "./seam.db"; "" disables the ledger */
        char *redis;               /* "" or NULL: single-process state */
        uint64_t batch_ms;         /* ledger batch window; default 200 */
        bool rate_limit_fail_open; /* Redis down: allow (default true) */
        bool budget_fail_open;     /* Redis down: allow (default false) */
    } state;
    struct {
        bool has_reference;
        size_t reference_backend; /* report.reference_backend: index into backends */
    } report;
} seam_config;

/* Loads and validates <path>. On success returns SEAM_OK and sets <*out>
 * (caller frees with seam_config_free). On failure returns SEAM_ERR_CONFIG or
 * SEAM_ERR_IO and writes "FILE:LINE: key 'K': problem" into <err>. */
seam_rc seam_config_load(const char *path, seam_config **out, char *err, size_t errlen);

/* As seam_config_load, from memory; <name> is used in messages. */
seam_rc seam_config_parse(const char *text, size_t len, const char *name, seam_config **out,
                          char *err, size_t errlen);

void seam_config_free(seam_config *cfg);

/* Finders; return NULL / -1 when absent. */
const seam_backend_conf *seam_config_backend(const seam_config *cfg, const char *name);
int seam_config_pool_index(const seam_config *cfg, const char *name);

/* Prints the resolved backends, pools and rules (for `seam check`). Never
 * prints API key values, only the names of their environment variables and
 * whether they are set. */
void seam_config_print(const seam_config *cfg, FILE *out);

#endif
