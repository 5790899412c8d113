/*
 * Rate limits per client key (issue 6): requests per minute (rpm) and
 * tokens per minute (tpm), each a token bucket holding one minute's worth
 * and refilling continuously. One seam_ratelimit is shared by every worker
 * thread of the process; taking from a bucket is a compare-and-swap on one
 * 64-bit word, never a lock.
 *
 * The bucket is kept in GCRA form (the generic cell rate algorithm, ITU-T
 * I.371; as redis-cell and Stripe do): instead of a level and a timestamp,
 * one number, the "theoretical arrival time" TAT, the instant at which the
 * bucket will be full again. With T = ceil(60 s / limit) nanoseconds per
 * unit and a capacity of limit units (a burst tolerance of limit × T):
 *
 *   take n:  base = max(TAT, now); new = base + n × T
 *            admitted when new − now <= limit × T, then TAT = new;
 *            otherwise Retry-After = ceil((new − now − limit × T) / 1 s), >= 1
 *   n > limit: never admitted (more than a whole minute's allowance)
 *
 * A Redis-shared limiter (state.redis, several replicas) stores the same TAT
 * per key and runs the same arithmetic in a script: seam_rl_gcra below is
 * that arithmetic, usable on any TAT.
 *
 * Tokens are known only at the end of a request, so the token bucket is
 * charged twice: seam_rl_take_tokens with an estimate (prompt tokens plus the
 * most the answer may produce) before dispatch, and seam_rl_settle_tokens
 * with the measured usage at the end, which refunds the difference or
 * charges the excess. An excess is charged even past the bucket's bottom:
 * the bucket then owes tokens ("goes negative"), and later requests of that
 * key wait until it has refilled past zero, so usage over any long window
 * stays within the limit.
 */
#ifndef SEAM_AUTH_RATELIMIT_H
#define SEAM_AUTH_RATELIMIT_H

#include "config/config.h"

#include <stddef.h>
#include <stdint.h>

typedef struct seam_ratelimit seam_ratelimit;

typedef enum {
    SEAM_RL_OK = 0,    /* admitted (and taken from the bucket) */
    SEAM_RL_LIMITED,   /* over the limit for now: 429 with Retry-After */
    SEAM_RL_TOO_LARGE, /* more than the whole per-minute limit: waiting never helps */
} seam_rl_verdict;

/* Builds the buckets for every key of cfg->auth.keys: key i gets a request
 * bucket when keys[i].rpm > 0 and a token bucket when keys[i].tpm > 0; a
 * zero limit means none. Buckets start full. Returns NULL when out of
 * memory. <cfg> is read now and not kept. */
seam_ratelimit *seam_rl_new(const seam_config *cfg);

void seam_rl_free(seam_ratelimit *rl);

/* The clock the functions below expect: CLOCK_MONOTONIC in nanoseconds. */
uint64_t seam_rl_now_ns(void);

/* Takes one request from key <key_index>'s request bucket at <now_ns>.
 * SEAM_RL_OK when admitted (or the key has no rpm, or <key_index> is out of
 * range); SEAM_RL_LIMITED otherwise, with <*retry_after_s> (may be NULL) set
 * to the whole seconds until one request fits, at least 1. Thread-safe. */
seam_rl_verdict seam_rl_take_request(seam_ratelimit *rl, size_t key_index, uint64_t now_ns,
                                     uint32_t *retry_after_s);

/* Takes <tokens> from key <key_index>'s token bucket at <now_ns>: the
 * estimate of the request (prompt plus maximum output). As
 * seam_rl_take_request, plus SEAM_RL_TOO_LARGE when <tokens> exceeds the
 * key's tpm, which no wait can satisfy (<*retry_after_s> is then 0). Nothing
 * is taken unless the verdict is SEAM_RL_OK. Thread-safe. */
seam_rl_verdict seam_rl_take_tokens(seam_ratelimit *rl, size_t key_index, uint64_t tokens,
                                    uint64_t now_ns, uint32_t *retry_after_s);

/* Corrects a successful seam_rl_take_tokens of <estimated> tokens by the
 * <actual> usage measured at the end of the request (input plus output
 * tokens, also for failed or cancelled requests that consumed some):
 * refunds estimated − actual (never above a full bucket) or charges
 * actual − estimated (possibly below empty: see the top of this file).
 * Call exactly once per admitted estimate. Thread-safe. */
void seam_rl_settle_tokens(seam_ratelimit *rl, size_t key_index, uint64_t estimated,
                           uint64_t actual, uint64_t now_ns);

/* The GCRA step on a bare TAT, for limiters that keep TAT elsewhere
 * (Redis): decides whether <n> units fit a bucket of <limit> per minute
 * whose TAT is <tat> at <now> (nanoseconds on one clock). On SEAM_RL_OK sets
 * <*new_tat>; on SEAM_RL_LIMITED sets <*retry_after_s>. <limit> must be > 0. */
seam_rl_verdict seam_rl_gcra(int64_t tat, int64_t now, uint64_t limit, uint64_t n, int64_t *new_tat,
                             uint32_t *retry_after_s);

/* Nanoseconds one unit costs in a bucket of <limit> per minute:
 * ceil(60e9 / limit). Rounding up keeps the rate at or below the limit. */
int64_t seam_rl_unit_ns(uint64_t limit);

#endif
