/*
 * Dispatch: from a decision to one backend. This is where the clearance
 * invariant lives: a request whose effective sensitivity is above a
 * backend's clearance is never sent to it, whatever rule, pin, fallback or
 * retry chose it. seam_clearance_allows() is the single test; dispatch
 * applies it when picking, and the upstream client applies it again right
 * before the bytes leave.
 */
#ifndef SEAM_UPSTREAM_DISPATCH_H
#define SEAM_UPSTREAM_DISPATCH_H

#include "config/config.h"
#include "core/canon.h"
#include "core/rc.h"
#include "upstream/breaker.h"
#include "upstream/health.h"

#include <stdbool.h>
#include <stdint.h>

struct seam_decision;

/* The invariant: may backend <b> receive data of sensitivity <s>? */
bool seam_clearance_allows(const seam_backend_conf *b, seam_sensitivity s);

/* Why <b> cannot be used at all right now (its API key variable is named but
 * unset), or NULL when it can. Never includes the key. */
const char *seam_backend_unusable(const seam_backend_conf *b, char *buf, size_t n);

/* Picks the backend for decision <d> and sensitivity <s>: the candidates (the
 * pool's backends, or the backends listing the pinned model) in order,
 * skipping every one the invariant forbids and every unusable one, and
 * preferring backends not known to be down. <health> may be NULL.
 * Returns SEAM_OK with <*out> set, or SEAM_ERR_NO_BACKEND with <why> saying
 * which backends were skipped and why. */
#define SEAM_PICK_IGNORE_KEYS 1u /* `seam route`: plan without API keys in the environment */

seam_rc seam_dispatch_pick(const seam_config *cfg, const struct seam_decision *d,
                           seam_sensitivity s, const seam_health_table *health, unsigned flags,
                           const seam_backend_conf **out, char *why, size_t whylen);

/* As seam_dispatch_pick for <task> (its sensitivity and needs): a candidate
 * must also offer every capability the task needs (seam_backend_conf
 * .capabilities) and, when its context_window is given, have room for
 * task->needs.context_tokens. Returns
 *   SEAM_OK             <*out> set;
 *   SEAM_ERR_TOO_LARGE  some backend was cleared, capable and usable but
 *                       every such one is too small; <why> says "request
 *                       needs ~N tokens; the largest context window among
 *                       allowed backends is M (name)" (HTTP 400
 *                       context_length_exceeded);
 *   SEAM_ERR_NO_BACKEND otherwise, <why> naming each skipped backend and its
 *                       reason (clearance, "lacks capability vision, ...",
 *                       an unset key) (HTTP 503). */
seam_rc seam_dispatch_pick_task(const seam_config *cfg, const struct seam_decision *d,
                                const seam_task *task, const seam_health_table *health,
                                unsigned flags, const seam_backend_conf **out, char *why,
                                size_t whylen);

/* The SEAM_CAP_* bits <t>'s needs call for. */
unsigned seam_dispatch_needed_caps(const seam_task *t);

/* True when <b> offers every capability <t> needs and its context window
 * (when given) holds t->needs.context_tokens; clearance is not part of it
 * (seam_clearance_allows is). For fallbacks and retries that choose a
 * backend outside seam_dispatch_pick_task. */
bool seam_backend_fits(const seam_backend_conf *b, const seam_task *t);

/* ---- balancing and the attempt plan (issue 5) ----------------------------
 *
 * seam_dispatch_pick_task above is a first fit, kept for `seam route` and
 * `seam check`, which plan without traffic. Serving uses the attempt plan
 * below: pool strategies, circuit breakers, health, capacity, retries in the
 * same pool and then the rule's fallback pools, with the invariant applied
 * to every candidate of every attempt. */

/* Process-wide load counters: requests in flight per backend (for
 * least_outstanding) and a rotation counter per pool (for round_robin and
 * tie-breaking). All atomics; any thread. Built from, and indexed like, one
 * configuration snapshot. */
typedef struct seam_balancer seam_balancer;

seam_balancer *seam_balancer_new(const seam_config *cfg);
void seam_balancer_free(seam_balancer *bal);

/* The proxy calls begin right before starting a transfer to <backend> and
 * end exactly once when that transfer is over (done, failed or cancelled). */
void seam_balancer_begin(seam_balancer *bal, size_t backend);
void seam_balancer_end(seam_balancer *bal, size_t backend);
uint64_t seam_balancer_outstanding(const seam_balancer *bal, size_t backend);

/* What the plan consults. Every member may be NULL / 0: no health table
 * means nothing is known down, no breakers means all closed, no balancer
 * means pool order, no has_room means capacity is unlimited. */
typedef struct seam_dispatch_env {
    const seam_health_table *health;
    seam_breakers *breakers;
    seam_balancer *balancer;
    /* False when <backend> has no free concurrency slot (wire it to
     * seam_capacity_has_room). Only a check: the caller takes the slot. */
    bool (*has_room)(const void *room_ctx, size_t backend);
    const void *room_ctx;
    uint64_t now_ns; /* monotonic, for the breakers */
    uint64_t *rng;   /* xorshift state for `weighted` (backoff.h); NULL: a per-thread one */
    unsigned flags;  /* SEAM_PICK_IGNORE_KEYS */
} seam_dispatch_env;

/* At most this many attempts per request, whatever retries and fallbacks
 * add up to. */
#define SEAM_PLAN_MAX_ATTEMPTS 32

/* Where a request stands in its chain of attempts: the decision's pool (or
 * its pinned model's backends) is stage 0, fallback pool i is stage i + 1.
 * Caller-owned (it fits in the request's state); refers to <cfg>, <d> and
 * <task>, which must outlive it. */
typedef struct seam_plan {
    const seam_config *cfg;
    const struct seam_decision *d;
    const seam_task *task;
    size_t stage;            /* current stage */
    unsigned stage_attempts; /* attempts made in the current stage */
    unsigned attempts;       /* attempts made in total */
    size_t ntried;
    size_t tried[SEAM_PLAN_MAX_ATTEMPTS]; /* backends attempted, in order */
} seam_plan;

/* One chosen attempt. */
typedef struct seam_pick {
    const seam_backend_conf *backend; /* NULL when nothing was picked */
    const seam_pool_conf *pool;       /* where it came from; NULL for a pin outside any pool */
    unsigned attempt;                 /* 1 for the first attempt of the request */
    bool fallback;                    /* from a fallback pool: X-Seam-Fallback-From */
    bool spilled;                     /* from <pool>'s spill pool (reason spill:capacity) */
    /* On SEAM_ERR_NO_BACKEND: the stage's pool had a backend for the
     * request, but every such one was saturated and there was no spill to
     * go to. <pool> is the saturated pool: queue there (seam_capacity) and
     * then seam_plan_take the backend granted, or answer 429. */
    bool saturated;
    seam_breaker_ticket ticket; /* report to env->breakers when the attempt ends */
} seam_pick;

void seam_plan_init(seam_plan *p, const seam_config *cfg, const struct seam_decision *d,
                    const seam_task *task);

/* Picks the next attempt. Call it once for the first attempt, then again
 * only after an attempt failed in a retryable way (backoff.h; the caller
 * waits the backoff first). Stays in the current stage while it has
 * attempts left (1 + the pool's `retries`) and a usable backend, preferring
 * backends not tried yet; then moves down the fallback chain. A candidate
 * is usable when the invariant allows it (seam_clearance_allows, checked
 * first, for every candidate of every attempt), it offers what the task
 * needs (seam_backend_fits), its API key is set (unless
 * SEAM_PICK_IGNORE_KEYS), health does not say down, capacity has room, and
 * its breaker allows (the last check: it may take a half-open trial slot,
 * held by <out->ticket>). Among usable ones the pool's strategy chooses.
 * When a stage's pool is saturated, its `spill` pool is tried (the same
 * checks; out->spilled) before giving up with out->saturated.
 *
 * Returns SEAM_OK with <out> filled; SEAM_ERR_TOO_LARGE on the first
 * attempt when every cleared, capable backend is too small (<why> as
 * seam_dispatch_pick_task); otherwise SEAM_ERR_NO_BACKEND with <why> naming
 * each candidate skipped and why: a 503 (or, with out->saturated, a queue or
 * a 429). A regulated request whose pools hold no usable regulated backend
 * gets SEAM_ERR_NO_BACKEND, never a backend of lower clearance. */
seam_rc seam_plan_next(seam_plan *p, const seam_dispatch_env *env, seam_pick *out, char *why,
                       size_t whylen);

/* Records an attempt on <backend>, which a capacity wait granted after
 * seam_plan_next answered saturated for <pool>: checks the invariant, the
 * task's needs and the breaker again (time has passed) and fills <out> as
 * seam_plan_next would. SEAM_ERR_NO_BACKEND (with <why>) when the backend
 * may no longer be used; the caller then gives the slot back. */
seam_rc seam_plan_take(seam_plan *p, const seam_dispatch_env *env, const seam_pool_conf *pool,
                       size_t backend, seam_pick *out, char *why, size_t whylen);

#endif
