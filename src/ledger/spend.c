/*
 * Budget spend counters: what each budgeted tenant spent in the cloud
 * today and this month, shared by every worker thread without a lock.
 *
 * Each (tenant, period) is one atomic 64-bit word that holds the period it
 * counts (a day or month number since 1970, in the high bits) and the
 * amount spent in it (units of 1e-8 USD, in the low bits). Packing both in
 * one word is what makes rollover safe without a lock: an add for a later
 * period replaces the word (the new period starting at this amount) in the
 * same compare-and-swap that any concurrent add for the old period races
 * against, so no add is ever applied to the wrong period and none is lost.
 *
 *   day word:   16 bits day number   | 48 bits amount (max ~2.8M USD)
 *   month word: 12 bits month number | 52 bits amount (max ~45M USD)
 */
#include "ledger/spend.h"
#include "core/alloc.h"
#include "core/log.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define UNITS_PER_USD 1e8
#define DAY_BITS      48 /* amount bits of the day word */
#define MONTH_BITS    52 /* amount bits of the month word */
#define MS_PER_DAY    86400000LL

typedef struct spend_entry {
    char *tenant;
    double day_limit, month_limit; /* < 0: none */
    seam_budget_action action;
    atomic_uint_fast64_t day, month;
} spend_entry;

struct seam_spend {
    size_t n;
    spend_entry *e;
};

/* ---- calendar (proleptic Gregorian, UTC; H. Hinnant's algorithms) ---- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* Floor division: days before 1970 stay on the right side. */
static int64_t day_of(int64_t ts_ms)
{
    return ts_ms >= 0 ? ts_ms / MS_PER_DAY : -((-ts_ms + MS_PER_DAY - 1) / MS_PER_DAY);
}

int64_t seam_spend_day_start_ms(int64_t ts_ms)
{
    return day_of(ts_ms) * MS_PER_DAY;
}

int64_t seam_spend_month_start_ms(int64_t ts_ms)
{
    int64_t y;
    unsigned m;
    civil_from_days(day_of(ts_ms), &y, &m);
    return days_from_civil(y, m, 1) * MS_PER_DAY;
}

/* Period numbers as stored in the words: clamped into their bits, so a
 * timestamp before 1970 counts as the first period and one after the last
 * representable period as the last. */
static uint64_t day_key(int64_t ts_ms)
{
    int64_t d = day_of(ts_ms);
    const int64_t max = (1LL << (64 - DAY_BITS)) - 1;
    return (uint64_t)(d < 0 ? 0 : d > max ? max : d);
}

static uint64_t month_key(int64_t ts_ms)
{
    int64_t y;
    unsigned m;
    civil_from_days(day_of(ts_ms), &y, &m);
    int64_t k = (y - 1970) * 12 + (int64_t)(m - 1);
    const int64_t max = (1LL << (64 - MONTH_BITS)) - 1;
    return (uint64_t)(k < 0 ? 0 : k > max ? max : k);
}

static uint64_t to_units(double usd, unsigned bits)
{
    double max = (double)((1ULL << bits) - 1);
    double u = round(usd * UNITS_PER_USD);
    return u <= 0 ? 0 : u >= max ? (uint64_t)max : (uint64_t)u;
}

/* ---- the words ---- */

static uint64_t amount_mask(unsigned bits)
{
    return (1ULL << bits) - 1;
}

/* Adds <units> to the period <key> of <w>: into it when it is the stored
 * period, as a fresh start when it is later; never into an earlier one. */
static void word_add(atomic_uint_fast64_t *w, unsigned bits, uint64_t key, uint64_t units)
{
    uint64_t mask = amount_mask(bits);
    uint_fast64_t old = atomic_load_explicit(w, memory_order_relaxed);
    for (;;) {
        uint64_t okey = (uint64_t)old >> bits, amt = (uint64_t)old & mask, nw;
        if (key == okey)
            nw = key << bits | (amt > mask - units ? mask : amt + units);
        else if (key > okey)
            nw = key << bits | units;
        else
            return; /* a past period: counted in the ledger, not against the current one */
        if (atomic_compare_exchange_weak_explicit(w, &old, nw, memory_order_relaxed,
                                                  memory_order_relaxed))
            return;
    }
}

/* The amount spent in period <key> (in units): the stored amount when the
 * word is at that period or later (a clock a hair behind another thread's
 * add must not read a fresh day as empty), 0 when the word is older. */
static uint64_t word_get(const atomic_uint_fast64_t *w, unsigned bits, uint64_t key)
{
    uint64_t v = (uint64_t)atomic_load_explicit((atomic_uint_fast64_t *)w, memory_order_relaxed);
    return v >> bits >= key ? v & amount_mask(bits) : 0;
}

/* ---- lookups ---- */

/* Budgets are few (one per tenant that has one): a linear scan of short
 * strings costs less than hashing would. The first budget of a tenant
 * wins, should the configuration list it twice. */
static spend_entry *find(const seam_spend *s, const char *tenant)
{
    if (!s || !tenant)
        return NULL;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->e[i].tenant, tenant) == 0)
            return &s->e[i];
    return NULL;
}

void seam_spend_add(seam_spend *s, const char *tenant, double usd, int64_t ts_ms)
{
    spend_entry *e = find(s, tenant);
    if (!e || !isfinite(usd) || usd <= 0)
        return;
    word_add(&e->day, DAY_BITS, day_key(ts_ms), to_units(usd, DAY_BITS));
    word_add(&e->month, MONTH_BITS, month_key(ts_ms), to_units(usd, MONTH_BITS));
}

/* limit - spent, never below 0; INFINITY without a limit. */
static double remaining(double limit, uint64_t spent_units)
{
    if (limit < 0)
        return INFINITY;
    double r = limit - (double)spent_units / UNITS_PER_USD;
    return r > 0 ? r : 0;
}

seam_budget_state seam_spend_check(const seam_spend *s, const char *tenant, int64_t now_ms,
                                   double *remaining_day, double *remaining_month)
{
    const spend_entry *e = find(s, tenant);
    if (remaining_day)
        *remaining_day = INFINITY;
    if (remaining_month)
        *remaining_month = INFINITY;
    if (!e)
        return SEAM_BUDGET_OK;
    uint64_t day = word_get(&e->day, DAY_BITS, day_key(now_ms));
    uint64_t month = word_get(&e->month, MONTH_BITS, month_key(now_ms));
    if (remaining_day)
        *remaining_day = remaining(e->day_limit, day);
    if (remaining_month)
        *remaining_month = remaining(e->month_limit, month);
    /* Compared in units, as the amounts are kept: a limit of 0 is
     * exhausted from the start. */
    bool out = (e->day_limit >= 0 && day >= to_units(e->day_limit, DAY_BITS)) ||
               (e->month_limit >= 0 && month >= to_units(e->month_limit, MONTH_BITS));
    return out ? SEAM_BUDGET_EXHAUSTED : SEAM_BUDGET_OK;
}

seam_budget_action seam_spend_action(const seam_spend *s, const char *tenant)
{
    const spend_entry *e = find(s, tenant);
    return e ? e->action : SEAM_BUDGET_LOCAL;
}

bool seam_spend_has_budget(const seam_spend *s, const char *tenant)
{
    return find(s, tenant) != NULL;
}

/* ---- lifetime ---- */

void seam_spend_free(seam_spend *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        seam_free(s->e[i].tenant);
    seam_free(s->e);
    seam_free(s);
}

seam_spend *seam_spend__new_at(const seam_config *cfg, seam_ledger *l, int64_t now_ms)
{
    seam_spend *s = seam_calloc(1, sizeof *s);
    if (!s)
        goto nomem;
    size_t n = cfg ? cfg->nbudgets : 0;
    if (n && !(s->e = seam_calloc(n, sizeof *s->e)))
        goto nomem;
    int64_t day0 = seam_spend_day_start_ms(now_ms), month0 = seam_spend_month_start_ms(now_ms);
    for (size_t i = 0; i < n; i++) {
        const seam_budget_conf *b = &cfg->budgets[i];
        spend_entry *e = &s->e[s->n];
        if (!b->tenant)
            continue;
        if (!(e->tenant = seam_strdup(b->tenant)))
            goto nomem;
        s->n++;
        e->day_limit = b->usd_per_day;
        e->month_limit = b->usd_per_month;
        e->action = b->on_exhausted;
        double day = 0, month = 0;
        char err[512];
        if (l && (seam_ledger_cloud_spend(l, e->tenant, day0, &day, err, sizeof err) != 0 ||
                  seam_ledger_cloud_spend(l, e->tenant, month0, &month, err, sizeof err) != 0)) {
            seam_log_json(SEAM_LOG_ERROR, json_pack("{s:s, s:s, s:s}", "msg",
                                                    "cannot read budget spend from the ledger",
                                                    "tenant", e->tenant, "error", err));
            seam_spend_free(s);
            return NULL;
        }
        atomic_init(&e->day, day_key(now_ms) << DAY_BITS | to_units(day, DAY_BITS));
        atomic_init(&e->month, month_key(now_ms) << MONTH_BITS | to_units(month, MONTH_BITS));
    }
    return s;
nomem:
    seam_log_error("budgets: out of memory");
    seam_spend_free(s);
    return NULL;
}

seam_spend *seam_spend_new(const seam_config *cfg, seam_ledger *l)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return seam_spend__new_at(cfg, l, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}
