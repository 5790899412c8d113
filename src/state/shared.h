/*
 * Shared state for several replicas: per-key rate limits and per-tenant
 * budgets kept in Redis (state.redis), so that every seam process behind a
 * load balancer enforces the same limits. The ledger and the audit log stay
 * per replica; only these counters are shared.
 *
 * One seam_shared per worker: it owns one asynchronous hiredis connection
 * attached to that worker's libevent loop, reconnects with backoff when the
 * connection drops and never blocks the loop (host names are resolved with
 * evdns). Every decision is one atomic Lua script run by Redis with Redis's
 * own clock (TIME), so replicas with skewed clocks agree.
 *
 * Callbacks. Every call that takes a callback calls it exactly once, on the
 * worker's loop, never from inside the call itself: with Redis's answer, or
 * "degraded" when Redis could not answer in time (not connected, timed out,
 * error, instance freed). A degraded decision follows the fail-open rules
 * set with seam_shared_set_fail_open() and is counted (seam_shared_stats).
 * The one exception: when memory runs out the callback is called before the
 * call returns, as degraded.
 *
 * Threads: an instance is used only by the thread running its loop. The
 * counters behind seam_shared_stats_read() are process-wide atomics.
 */
#ifndef SEAM_STATE_SHARED_H
#define SEAM_STATE_SHARED_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct seam_shared seam_shared;

/* How long a decision waits for Redis before the fail-open rule decides. */
#define SEAM_SHARED_TIMEOUT_MS_DEFAULT 50

/* <allowed>: the request may go ahead. When not allowed, <retry_after_s> is
 * the whole seconds until it would be (>= 1, for Retry-After), or 0 when it
 * asks for more tokens than a whole minute's allowance, which no wait
 * satisfies (SEAM_RL_TOO_LARGE of src/auth/ratelimit.h). <degraded>: Redis
 * did not decide; <allowed> is the fail-open rule's answer. */
typedef void (*seam_shared_rate_cb)(void *arg, bool allowed, unsigned retry_after_s, bool degraded);

/* <exhausted>: the tenant's day or month budget is spent, so cloud backends
 * are out. <degraded>: Redis did not decide; <exhausted> is the
 * fail-closed (or fail-open) rule's answer. */
typedef void (*seam_shared_budget_cb)(void *arg, bool exhausted, bool degraded);

/* Checks that <redis_url> is one seam can use: "redis://[[user]:password@]
 * host[:port][/db]" (port 6379 and db 0 by default, host an IPv4 address,
 * a [bracketed] IPv6 address or a name) or "unix:///path/to/socket". Returns
 * false with a reason in <err> otherwise (for configuration checks). */
bool seam_shared_url_valid(const char *redis_url, char *err, size_t errlen);

/* Creates the instance for the loop <base> and starts connecting to
 * <redis_url>. Every key it touches starts with <prefix> (e.g. "seam:"; NULL
 * means "seam:"), so several deployments can share one Redis. Returns NULL
 * with a reason in <err> when the URL is invalid or memory runs out; a Redis
 * that cannot be reached is not an error (decisions are degraded until it
 * can). Defaults: rate limits fail open, budgets fail closed, timeout
 * SEAM_SHARED_TIMEOUT_MS_DEFAULT. */
seam_shared *seam_shared_new(struct event_base *base, const char *redis_url, const char *prefix,
                             char *err, size_t errlen);

/* What a degraded decision answers: <rate_fail_open> allows the request
 * (cfg->state.rate_limit_fail_open), <budget_fail_open> treats the budget as
 * not exhausted (cfg->state.budget_fail_open). */
void seam_shared_set_fail_open(seam_shared *s, bool rate_fail_open, bool budget_fail_open);

/* How long each decision waits for Redis, in milliseconds (>= 1). */
void seam_shared_set_timeout_ms(seam_shared *s, unsigned timeout_ms);

/* True while the connection to Redis is up (for /readyz and tests). */
bool seam_shared_connected(const seam_shared *s);

/* Closes the connection and frees <s>. Fire-and-forget writes already sent
 * are given up to 250 ms to be acknowledged (so the last request's spend is
 * not lost at shutdown); then every callback still owed is called, degraded.
 * Call it on the loop's thread before freeing the loop. Safe to call from
 * inside a seam_shared callback; <s> must not be used afterwards. */
void seam_shared_free(seam_shared *s);

/* Rate limit for client key <key_name>: two token buckets, one of
 * <requests_per_min> requests and one of <tokens_per_min> tokens (0: that
 * one is unlimited), with the arithmetic of the in-process limiter
 * (src/auth/ratelimit.h, GCRA): each holds one minute's allowance and
 * refills continuously. The request is admitted when one request and
 * <tokens> (the estimate: prompt plus maximum output) both fit; admitting
 * takes them from both buckets, a refusal takes nothing and says when both
 * would fit. The buckets are independent: passing 0 for one limit leaves it
 * untouched, so the request bucket can be checked as soon as the key is
 * known (rpm, 0, 0) and the token bucket before dispatch (0, tpm, estimate),
 * as the in-process limiter does. */
void seam_shared_rate(seam_shared *s, const char *key_name, uint64_t requests_per_min,
                      uint64_t tokens_per_min, uint64_t tokens, seam_shared_rate_cb cb, void *arg);

/* Corrects <key_name>'s token bucket (of <tokens_per_min>) at the end of an
 * admitted request by <delta_tokens> = tokens actually used minus the
 * <tokens> its seam_shared_rate() took: a positive delta is charged, even
 * past the bottom of the bucket (the key then owes tokens and waits), a
 * negative one is refunded up to a full bucket. Fire and forget; dropped
 * (and counted in writes_lost) when not connected. */
void seam_shared_settle_tokens(seam_shared *s, const char *key_name, uint64_t tokens_per_min,
                               int64_t delta_tokens);

/* Whether <tenant> has spent its budget: the day's total (UTC day) reached
 * <usd_per_day>, or the month's (UTC month) reached <usd_per_month>; a
 * negative limit is none. */
void seam_shared_budget_check(seam_shared *s, const char *tenant, double usd_per_day,
                              double usd_per_month, seam_shared_budget_cb cb, void *arg);

/* Adds <usd> (cloud spend of one request; <= 0 is ignored) to <tenant>'s
 * day and month totals in one script. The day and month are those of
 * Redis's clock when the script runs (a request that ends just after
 * midnight UTC counts for the new day; the in-process src/ledger/spend.h
 * uses the arrival time instead). Fire and forget; while Redis is
 * unreachable the amounts are kept (per tenant, bounded) and sent when the
 * connection is back. */
void seam_shared_budget_add(seam_shared *s, const char *tenant, double usd);

/* Process-wide counters, for metrics. */
typedef struct seam_shared_stats {
    uint64_t degraded_rate;   /* rate decisions made by the fail-open rule */
    uint64_t degraded_budget; /* budget decisions made by the fail-open rule */
    uint64_t timeouts;        /* decisions that hit the timeout (part of the two above) */
    uint64_t writes_lost;     /* settle/spend writes dropped or not acknowledged */
    uint64_t connects;        /* successful connections, first ones included */
} seam_shared_stats;

void seam_shared_stats_read(seam_shared_stats *out);

/* degraded_rate + degraded_budget. */
uint64_t seam_shared_degraded_total(void);

#endif
