/*
 * Rate limits per client key: lock-free token buckets in GCRA form (see
 * ratelimit.h for the arithmetic and why the token bucket is settled).
 *
 * Each bucket is one _Atomic int64_t, its TAT. Taking reads it, computes
 * the new value and publishes it with compare-and-swap; a thread that loses
 * the race recomputes from the value that won. No state is ever split over
 * two words, so no lock is needed and no thread can see half an update.
 *
 * Arithmetic saturates at INT64_MAX rather than wrapping: a settle that
 * charges an absurd number of tokens blocks the key for a very long time
 * instead of handing it a full bucket.
 */
#include "auth/ratelimit.h"
#include "core/alloc.h"

#include <stdatomic.h>
#include <time.h>

#define MINUTE_NS 60000000000LL
#define SECOND_NS 1000000000LL

typedef struct bucket {
    _Atomic int64_t tat; /* when the bucket is full again; at or before now: full */
    uint64_t limit;      /* units per minute; 0: no bucket */
    int64_t unit_ns;     /* seam_rl_unit_ns(limit) */
} bucket;

struct seam_ratelimit {
    size_t nkeys;
    bucket *requests; /* one per key */
    bucket *tokens;   /* one per key */
};

int64_t seam_rl_unit_ns(uint64_t limit)
{
    return limit >= (uint64_t)MINUTE_NS ? 1 : (int64_t)((MINUTE_NS + limit - 1) / limit);
}

static int64_t sat_mul(uint64_t n, int64_t unit)
{
    return n > (uint64_t)(INT64_MAX / unit) ? INT64_MAX : (int64_t)n * unit;
}

static int64_t sat_add(int64_t a, int64_t b)
{
    return b > INT64_MAX - a ? INT64_MAX : a + b;
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

/* Time is handed in as uint64_t; past INT64_MAX (292 years of uptime)
 * it is pinned there. */
static int64_t to_i64(uint64_t now_ns)
{
    return now_ns > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)now_ns;
}

seam_rl_verdict seam_rl_gcra(int64_t tat, int64_t now, uint64_t limit, uint64_t n, int64_t *new_tat,
                             uint32_t *retry_after_s)
{
    if (n > limit) {
        if (retry_after_s)
            *retry_after_s = 0;
        return SEAM_RL_TOO_LARGE;
    }
    int64_t unit = seam_rl_unit_ns(limit);
    int64_t burst = sat_mul(limit, unit); /* the capacity, in nanoseconds */
    int64_t next = sat_add(max64(tat, now), sat_mul(n, unit));
    int64_t ahead = next - now; /* next >= now, so no overflow */
    if (ahead <= burst) {
        *new_tat = next;
        return SEAM_RL_OK;
    }
    if (retry_after_s) {
        int64_t wait = ahead - burst;
        int64_t s = wait / SECOND_NS + (wait % SECOND_NS != 0);
        *retry_after_s = s < 1 ? 1 : s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
    }
    return SEAM_RL_LIMITED;
}

static void bucket_init(bucket *b, uint64_t limit)
{
    atomic_init(&b->tat, 0); /* at or before any monotonic time: full */
    b->limit = limit;
    b->unit_ns = limit ? seam_rl_unit_ns(limit) : 1;
}

seam_ratelimit *seam_rl_new(const seam_config *cfg)
{
    size_t n = cfg->auth.nkeys;
    seam_ratelimit *rl = seam_calloc(1, sizeof *rl);
    if (!rl)
        return NULL;
    rl->nkeys = n;
    if (n) {
        rl->requests = seam_calloc(n, sizeof *rl->requests);
        rl->tokens = seam_calloc(n, sizeof *rl->tokens);
        if (!rl->requests || !rl->tokens) {
            seam_rl_free(rl);
            return NULL;
        }
    }
    for (size_t i = 0; i < n; i++) {
        bucket_init(&rl->requests[i], cfg->auth.keys[i].rpm);
        bucket_init(&rl->tokens[i], cfg->auth.keys[i].tpm);
    }
    return rl;
}

void seam_rl_free(seam_ratelimit *rl)
{
    if (!rl)
        return;
    seam_free(rl->requests);
    seam_free(rl->tokens);
    seam_free(rl);
}

uint64_t seam_rl_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Takes <n> units from <b> at <now>: the CAS loop around seam_rl_gcra. */
static seam_rl_verdict take(bucket *b, uint64_t n, uint64_t now_ns, uint32_t *retry_after_s)
{
    if (!b->limit || !n)
        return SEAM_RL_OK;
    int64_t now = to_i64(now_ns);
    int64_t tat = atomic_load_explicit(&b->tat, memory_order_relaxed);
    for (;;) {
        int64_t next;
        seam_rl_verdict v = seam_rl_gcra(tat, now, b->limit, n, &next, retry_after_s);
        if (v != SEAM_RL_OK)
            return v;
        /* On failure <tat> is reloaded with the winner's value. Relaxed
         * ordering is enough: the TAT is the whole state, nothing else is
         * published with it. */
        if (atomic_compare_exchange_weak_explicit(&b->tat, &tat, next, memory_order_relaxed,
                                                  memory_order_relaxed))
            return SEAM_RL_OK;
    }
}

seam_rl_verdict seam_rl_take_request(seam_ratelimit *rl, size_t key_index, uint64_t now_ns,
                                     uint32_t *retry_after_s)
{
    if (!rl || key_index >= rl->nkeys)
        return SEAM_RL_OK;
    return take(&rl->requests[key_index], 1, now_ns, retry_after_s);
}

seam_rl_verdict seam_rl_take_tokens(seam_ratelimit *rl, size_t key_index, uint64_t tokens,
                                    uint64_t now_ns, uint32_t *retry_after_s)
{
    if (!rl || key_index >= rl->nkeys)
        return SEAM_RL_OK;
    return take(&rl->tokens[key_index], tokens, now_ns, retry_after_s);
}

void seam_rl_settle_tokens(seam_ratelimit *rl, size_t key_index, uint64_t estimated,
                           uint64_t actual, uint64_t now_ns)
{
    if (!rl || key_index >= rl->nkeys || estimated == actual)
        return;
    bucket *b = &rl->tokens[key_index];
    if (!b->limit)
        return;
    int64_t now = to_i64(now_ns);
    int64_t tat = atomic_load_explicit(&b->tat, memory_order_relaxed);
    int64_t next;
    do {
        int64_t base = max64(tat, now);
        if (actual > estimated) {
            /* Charged unconditionally: the tokens were used. */
            next = sat_add(base, sat_mul(actual - estimated, b->unit_ns));
        } else {
            /* Refunded, but a bucket never holds more than it can: the
             * TAT does not go back past now. */
            int64_t back = sat_mul(estimated - actual, b->unit_ns);
            next = back >= base - now ? now : base - back;
        }
    } while (!atomic_compare_exchange_weak_explicit(&b->tat, &tat, next, memory_order_relaxed,
                                                    memory_order_relaxed));
}
