/*
 * Per-backend circuit breakers; see breaker.h for the contract.
 *
 * The state of a breaker is one 64-bit atomic word: the state in the low 2
 * bits, the number of half-open trial slots taken in the next 30, and a
 * period number ("generation") in the high 32 that every state change
 * increments. Taking a trial slot is a compare-and-swap on the whole word,
 * so it can never outrun half_open_max, and it fails if the period changed
 * meanwhile. State changes happen only under the breaker's mutex (after a
 * failure, at the end of the cool-down, on a trial's verdict); inside it the
 * word is still changed by compare-and-swap, because lock-free trial-slot
 * takers may change the trial count at the same time.
 *
 * "N failures within the window" is exact: the mutex guards a ring of the
 * times of the last N failures of the current closed period, and the
 * breaker opens when the oldest of them is less than window_ms old.
 */
#include "upstream/breaker.h"
#include "core/alloc.h"
#include "core/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define ST_MASK     UINT64_C(0x3)
#define TRIAL_SHIFT 2
#define TRIAL_MASK  UINT64_C(0x3fffffff)
#define GEN_SHIFT   32
#define NS_PER_MS   UINT64_C(1000000)

static seam_breaker_state w_state(uint64_t w)
{
    return (seam_breaker_state)(w & ST_MASK);
}

static uint64_t w_trials(uint64_t w)
{
    return (w >> TRIAL_SHIFT) & TRIAL_MASK;
}

static uint32_t w_gen(uint64_t w)
{
    return (uint32_t)(w >> GEN_SHIFT);
}

/* A word in state <s> of the period after <w>'s, with no trials taken. */
static uint64_t w_next(uint64_t w, seam_breaker_state s)
{
    return ((uint64_t)(uint32_t)(w_gen(w) + 1) << GEN_SHIFT) | (uint64_t)s;
}

struct breaker {
    _Atomic uint64_t word;
    _Atomic uint64_t opened_at; /* ns; written under mu before the word says open */
    _Atomic uint64_t consecutive, failures, opens, rejected;
    pthread_mutex_t mu;
    /* Under mu: times of the last <n> failures of this closed period. */
    uint64_t *ring;
    size_t pos, count;
    /* Settings, fixed at creation. */
    uint64_t n, window_ns, cooldown_ns, half_open_max;
    char *name;
};

struct seam_breakers {
    size_t n;
    struct breaker b[];
};

const char *seam_breaker_state_name(seam_breaker_state s)
{
    switch (s) {
    case SEAM_BREAKER_CLOSED:
        return "closed";
    case SEAM_BREAKER_OPEN:
        return "open";
    case SEAM_BREAKER_HALF_OPEN:
        return "half_open";
    }
    return "?";
}

bool seam_breaker_counts_status(long status)
{
    return status >= 500 && status <= 599;
}

seam_breakers *seam_breakers_new(const seam_config *cfg)
{
    seam_breakers *br = seam_calloc(1, sizeof(*br) + cfg->nbackends * sizeof(struct breaker));
    if (!br)
        return NULL;
    for (size_t i = 0; i < cfg->nbackends; i++) {
        const seam_circuit_conf *k = &cfg->backends[i].circuit;
        struct breaker *b = &br->b[i];
        atomic_init(&b->word, 0);
        atomic_init(&b->opened_at, 0);
        atomic_init(&b->consecutive, 0);
        atomic_init(&b->failures, 0);
        atomic_init(&b->opens, 0);
        atomic_init(&b->rejected, 0);
        /* A hand-built config may leave the settings zero: fall back to the
         * documented defaults rather than divide the window by nothing. */
        b->n = k->failures ? k->failures : 5;
        b->window_ns = (k->window_ms ? k->window_ms : 10000) * NS_PER_MS;
        b->cooldown_ns = (k->cooldown_ms ? k->cooldown_ms : 5000) * NS_PER_MS;
        b->half_open_max = k->half_open_max ? k->half_open_max : 1;
        if (b->half_open_max > TRIAL_MASK)
            b->half_open_max = TRIAL_MASK;
        b->ring = seam_calloc(b->n, sizeof(*b->ring));
        b->name = seam_strdup(cfg->backends[i].name ? cfg->backends[i].name : "?");
        pthread_mutex_init(&b->mu, NULL);
        br->n = i + 1; /* what seam_breakers_free must undo */
        if (!b->ring || !b->name) {
            seam_breakers_free(br);
            return NULL;
        }
    }
    return br;
}

void seam_breakers_free(seam_breakers *br)
{
    if (!br)
        return;
    for (size_t i = 0; i < br->n; i++) {
        pthread_mutex_destroy(&br->b[i].mu);
        seam_free(br->b[i].ring);
        seam_free(br->b[i].name);
    }
    seam_free(br);
}

static void log_change(const struct breaker *b, seam_breaker_state to, const char *why)
{
    seam_log_json(to == SEAM_BREAKER_CLOSED ? SEAM_LOG_INFO : SEAM_LOG_WARN,
                  json_pack("{s:s, s:s, s:s, s:s}", "msg", "circuit breaker", "backend", b->name,
                            "state", seam_breaker_state_name(to), "why", why));
}

/* Under b->mu: moves the breaker from the state and period of <expect> to
 * <to>, keeping whatever trial count concurrent takers left. Returns false
 * when the state or period is no longer <expect>'s (someone else moved it). */
static bool transition(struct breaker *b, uint64_t expect, seam_breaker_state to, uint64_t now_ns)
{
    uint64_t w = atomic_load(&b->word);
    while (w_state(w) == w_state(expect) && w_gen(w) == w_gen(expect)) {
        if (to == SEAM_BREAKER_OPEN)
            atomic_store(&b->opened_at, now_ns);
        if (atomic_compare_exchange_weak(&b->word, &w, w_next(w, to))) {
            b->count = 0;
            b->pos = 0;
            if (to == SEAM_BREAKER_OPEN)
                atomic_fetch_add(&b->opens, 1);
            return true;
        }
    }
    return false;
}

static bool cooled_down(const struct breaker *b, uint64_t now_ns)
{
    uint64_t at = atomic_load(&((struct breaker *)b)->opened_at);
    return now_ns >= at && now_ns - at >= b->cooldown_ns;
}

bool seam_breaker_allow(seam_breakers *br, size_t backend, uint64_t now_ns,
                        seam_breaker_ticket *ticket)
{
    if (ticket)
        memset(ticket, 0, sizeof(*ticket));
    if (!br || backend >= br->n)
        return false;
    struct breaker *b = &br->b[backend];
    uint64_t w = atomic_load(&b->word);
    for (;;) {
        switch (w_state(w)) {
        case SEAM_BREAKER_CLOSED:
            if (ticket)
                *ticket = (seam_breaker_ticket){.valid = true, .trial = false, .gen = w_gen(w)};
            return true;
        case SEAM_BREAKER_OPEN:
            if (!cooled_down(b, now_ns)) {
                atomic_fetch_add(&b->rejected, 1);
                return false;
            }
            pthread_mutex_lock(&b->mu);
            if (transition(b, w, SEAM_BREAKER_HALF_OPEN, now_ns))
                log_change(b, SEAM_BREAKER_HALF_OPEN, "cool-down over");
            pthread_mutex_unlock(&b->mu);
            w = atomic_load(&b->word);
            break;
        case SEAM_BREAKER_HALF_OPEN:
            if (w_trials(w) >= b->half_open_max) {
                atomic_fetch_add(&b->rejected, 1);
                return false;
            }
            /* On failure <w> is reloaded and the state checked again: the
             * trial may have ended the period meanwhile. */
            if (atomic_compare_exchange_weak(&b->word, &w, w + (UINT64_C(1) << TRIAL_SHIFT))) {
                if (ticket)
                    *ticket = (seam_breaker_ticket){.valid = true, .trial = true, .gen = w_gen(w)};
                return true;
            }
            break;
        default:
            return false;
        }
    }
}

/* True when <t> is a trial of the half-open period <w> is in. */
static bool is_current_trial(uint64_t w, const seam_breaker_ticket *t)
{
    return t && t->valid && t->trial && w_state(w) == SEAM_BREAKER_HALF_OPEN && t->gen == w_gen(w);
}

/* True when <t> (or no ticket) belongs to the closed period <w> is in. */
static bool is_current_closed(uint64_t w, const seam_breaker_ticket *t)
{
    return w_state(w) == SEAM_BREAKER_CLOSED &&
           (!t || !t->valid || (!t->trial && t->gen == w_gen(w)));
}

void seam_breaker_report(seam_breakers *br, size_t backend, const seam_breaker_ticket *ticket,
                         bool success, uint64_t now_ns)
{
    if (!br || backend >= br->n)
        return;
    struct breaker *b = &br->b[backend];
    uint64_t w = atomic_load(&b->word);
    if (success) {
        atomic_store(&b->consecutive, 0);
        if (!is_current_trial(w, ticket))
            return;
        pthread_mutex_lock(&b->mu);
        if (transition(b, w, SEAM_BREAKER_CLOSED, now_ns))
            log_change(b, SEAM_BREAKER_CLOSED, "trial request succeeded");
        pthread_mutex_unlock(&b->mu);
        return;
    }

    atomic_fetch_add(&b->consecutive, 1);
    atomic_fetch_add(&b->failures, 1);
    if (is_current_trial(w, ticket)) {
        pthread_mutex_lock(&b->mu);
        if (transition(b, w, SEAM_BREAKER_OPEN, now_ns))
            log_change(b, SEAM_BREAKER_OPEN, "trial request failed");
        pthread_mutex_unlock(&b->mu);
        return;
    }
    if (!is_current_closed(w, ticket))
        return; /* a late report from an earlier period */
    pthread_mutex_lock(&b->mu);
    w = atomic_load(&b->word);
    if (is_current_closed(w, ticket)) {
        b->ring[b->pos] = now_ns;
        b->pos = (b->pos + 1) % b->n;
        if (b->count < b->n)
            b->count++;
        /* With the ring full, <pos> is the oldest of the last n failures. */
        uint64_t oldest = b->ring[b->count == b->n ? b->pos : 0];
        if (b->count == b->n && (now_ns < oldest || now_ns - oldest < b->window_ns) &&
            transition(b, w, SEAM_BREAKER_OPEN, now_ns))
            log_change(b, SEAM_BREAKER_OPEN, "too many failures within the window");
    }
    pthread_mutex_unlock(&b->mu);
}

void seam_breaker_release(seam_breakers *br, size_t backend, const seam_breaker_ticket *ticket)
{
    if (!br || backend >= br->n || !ticket || !ticket->valid || !ticket->trial)
        return;
    struct breaker *b = &br->b[backend];
    uint64_t w = atomic_load(&b->word);
    while (is_current_trial(w, ticket) && w_trials(w) > 0)
        if (atomic_compare_exchange_weak(&b->word, &w, w - (UINT64_C(1) << TRIAL_SHIFT)))
            return;
}

seam_breaker_state seam_breaker_get(seam_breakers *br, size_t backend, uint64_t now_ns)
{
    if (!br || backend >= br->n)
        return SEAM_BREAKER_CLOSED;
    struct breaker *b = &br->b[backend];
    seam_breaker_state s = w_state(atomic_load(&b->word));
    if (s == SEAM_BREAKER_OPEN && cooled_down(b, now_ns))
        return SEAM_BREAKER_HALF_OPEN;
    return s;
}

void seam_breaker_stats_get(seam_breakers *br, size_t backend, uint64_t now_ns,
                            seam_breaker_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!br || backend >= br->n)
        return;
    struct breaker *b = &br->b[backend];
    out->state = seam_breaker_get(br, backend, now_ns);
    out->consecutive_failures = atomic_load(&b->consecutive);
    out->failures = atomic_load(&b->failures);
    out->opens = atomic_load(&b->opens);
    out->rejected = atomic_load(&b->rejected);
}

uint64_t seam_breaker_consecutive_failures(seam_breakers *br, size_t backend)
{
    if (!br || backend >= br->n)
        return 0;
    return atomic_load(&br->b[backend].consecutive);
}
