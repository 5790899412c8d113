/*
 * Circuit breakers: one per backend, shared by every worker thread.
 *
 * A breaker is closed (traffic flows) until `circuit.failures` failures
 * happen within `circuit.window_ms`; it then opens (no traffic) for
 * `circuit.cooldown_ms`, after which it is half-open: at most
 * `circuit.half_open_max` trial requests go through at once. The first trial
 * that succeeds closes the breaker; a trial that fails opens it again for
 * another cool-down.
 *
 * What counts as a failure is the caller's call, made with the rules of
 * issue 5: HTTP 5xx answers, connect errors, resets and timeouts are
 * failures (seam_breaker_counts_status() says which statuses); a 4xx is the
 * client's doing (a bad request, an unknown model, a rate limit) and is
 * reported as a success, because the backend answered. An attempt that ends
 * with no verdict (the client went away, the transfer was never started) is
 * given back with seam_breaker_release().
 *
 * Each allowed attempt gets a ticket, so that a late report from an attempt
 * started before the breaker last changed state cannot decide the new state:
 * only the trials of the current half-open period close or re-open it, and
 * only failures of the current closed period count towards opening it.
 *
 * The hot path takes no lock: seam_breaker_allow() on a closed breaker is
 * one atomic load, a success report is two atomic stores. Failures and
 * state changes take a per-backend mutex (they are rare by definition).
 *
 * The breakers of a configuration snapshot are built from it and index its
 * backends; a reload builds new ones (a new snapshot may have other
 * backends), and requests in flight keep reporting to the ones they used.
 *
 * Passive health: every report also updates a count of consecutive failures
 * of real traffic per backend (zeroed by a success), for /readyz, metrics
 * and the dashboard.
 */
#ifndef SEAM_UPSTREAM_BREAKER_H
#define SEAM_UPSTREAM_BREAKER_H

#include "config/config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    SEAM_BREAKER_CLOSED = 0,
    SEAM_BREAKER_OPEN = 1,
    SEAM_BREAKER_HALF_OPEN = 2,
} seam_breaker_state;

/* "closed", "open", "half_open". */
const char *seam_breaker_state_name(seam_breaker_state s);

/* What seam_breaker_allow() hands out; pass it back to report or release.
 * A zeroed ticket (valid false) is accepted and counts as an attempt of the
 * current closed period. */
typedef struct seam_breaker_ticket {
    bool valid;
    bool trial;   /* took a half-open trial slot */
    uint32_t gen; /* the breaker's period when allowed */
} seam_breaker_ticket;

typedef struct seam_breakers seam_breakers;

/* One breaker per backend of <cfg>, closed, with each backend's resolved
 * `circuit` settings. NULL when out of memory. Does not keep <cfg>. */
seam_breakers *seam_breakers_new(const seam_config *cfg);
void seam_breakers_free(seam_breakers *br);

/* May an attempt go to <backend> at <now_ns> (a monotonic clock)? Closed:
 * yes. Open: no, until the cool-down has passed, when the breaker turns
 * half-open. Half-open: yes while fewer than half_open_max trials are out,
 * and the attempt then holds a trial slot until it is reported or released.
 * Fills <ticket> (may be NULL when the caller will not report). Any thread,
 * no lock unless the state changes. An index out of range is never allowed. */
bool seam_breaker_allow(seam_breakers *br, size_t backend, uint64_t now_ns,
                        seam_breaker_ticket *ticket);

/* The verdict of an allowed attempt. <success> false counts towards opening
 * a closed breaker and re-opens a half-open one (if the attempt was one of
 * its trials); true closes a half-open breaker (same condition) and ends a
 * run of consecutive failures. Logs each state change. */
void seam_breaker_report(seam_breakers *br, size_t backend, const seam_breaker_ticket *ticket,
                         bool success, uint64_t now_ns);

/* An allowed attempt that ends with no verdict: gives back its trial slot,
 * if it held one. Changes nothing else. */
void seam_breaker_release(seam_breakers *br, size_t backend, const seam_breaker_ticket *ticket);

/* The state at <now_ns>: an open breaker whose cool-down has passed reads
 * half_open (the next allow() makes it so). For /readyz, metrics and the
 * dashboard. */
seam_breaker_state seam_breaker_get(seam_breakers *br, size_t backend, uint64_t now_ns);

/* Passive health and counters of one backend. */
typedef struct seam_breaker_stats {
    seam_breaker_state state;
    uint64_t consecutive_failures; /* reports since the last success */
    uint64_t failures;             /* failure reports in total */
    uint64_t opens;                /* times the breaker opened */
    uint64_t rejected;             /* allow() answers of no */
} seam_breaker_stats;

void seam_breaker_stats_get(seam_breakers *br, size_t backend, uint64_t now_ns,
                            seam_breaker_stats *out);

/* Consecutive failures of real traffic on <backend> (0 after a success). */
uint64_t seam_breaker_consecutive_failures(seam_breakers *br, size_t backend);

/* True for an HTTP status that counts as a backend failure: 5xx. A 4xx is
 * the client's request (or its rate), not the backend's health. */
bool seam_breaker_counts_status(long status);

#endif
