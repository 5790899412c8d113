/*
 * Per-tenant cloud spend for budgets (cfg->budgets), in one process.
 *
 * Every worker thread adds what a cloud-served request cost and checks a
 * tenant's budget before routing to the cloud; both are lock-free (one
 * atomic 64-bit word per tenant and period, updated by compare-and-swap).
 * The tenants are those of cfg->budgets, fixed at startup; at startup the
 * spend of the current UTC day and month is read back from the ledger, so a
 * restart does not reset a budget.
 *
 * Periods are UTC calendar days and months of the request's arrival time
 * (seam_request_record.ts_ms), the same timestamp the ledger stores, so the
 * counters always equal what the ledger sums for the same period. A cost
 * added with a timestamp of a period that has already rolled over (a request
 * that arrived at 23:59:59.999 and finished after another arrived at
 * 00:00:00.000) counts for its own, past, period only.
 *
 * Overshoot: the check happens before a request is sent and its cost is
 * known only when it ends, so every request in flight when a budget runs
 * out can overshoot it by its own cost. Nothing is reserved up front.
 *
 * Amounts are kept in units of 1e-8 USD (rounded to nearest per request)
 * and saturate at about 2.8 million USD per day and 45 million USD per
 * month per tenant. Dates work until the year 2149.
 *
 * With several seam replicas, the Redis-shared budget (state.redis, helper
 * h10's module) replaces this one: each process here only sees its own
 * spend.
 */
#ifndef SEAM_LEDGER_SPEND_H
#define SEAM_LEDGER_SPEND_H

#include "config/config.h"
#include "ledger/ledger.h"

#include <stdint.h>

typedef enum { SEAM_BUDGET_OK = 0, SEAM_BUDGET_EXHAUSTED } seam_budget_state;

typedef struct seam_spend seam_spend;

/* Spend counters for the tenants of <cfg>->budgets (<cfg> is not kept:
 * names and limits are copied). With a ledger <l>, today's and this
 * month's cloud spend of each tenant is read from it (rows with
 * location = 'cloud' since the start of the UTC day / month); with NULL,
 * everything starts at zero. Returns NULL (and logs why) when the ledger
 * cannot be read or memory runs out. */
seam_spend *seam_spend_new(const seam_config *cfg, seam_ledger *l);

/* As seam_spend_new() with <now_ms> as the current time (tests). */
seam_spend *seam_spend__new_at(const seam_config *cfg, seam_ledger *l, int64_t now_ms);

/* Adds <usd> spent by <tenant> on a request that arrived at <ts_ms>. Call it
 * for requests served by a cloud backend only: budgets count cloud cost.
 * A tenant without a budget, a NULL <s> or <tenant>, and a negative or
 * non-finite amount are ignored. Safe from any thread, lock-free. */
void seam_spend_add(seam_spend *s, const char *tenant, double usd, int64_t ts_ms);

/* Whether <tenant> may still spend at <now_ms>: SEAM_BUDGET_EXHAUSTED when
 * its spend of the current UTC day has reached usd_per_day or that of the
 * current month usd_per_month (spend >= limit), else SEAM_BUDGET_OK. A
 * tenant without a budget (or NULL) is always OK. <remaining_day> and
 * <remaining_month> (either may be NULL) receive limit - spend, never below
 * 0, or INFINITY when that period has no limit. Safe from any thread. */
seam_budget_state seam_spend_check(const seam_spend *s, const char *tenant, int64_t now_ms,
                                   double *remaining_day, double *remaining_month);

/* The budget's on_exhausted action for <tenant> (SEAM_BUDGET_LOCAL for a
 * tenant without a budget). */
seam_budget_action seam_spend_action(const seam_spend *s, const char *tenant);

/* Whether <tenant> has a budget. */
bool seam_spend_has_budget(const seam_spend *s, const char *tenant);

/* Start of the UTC day and of the UTC month that contain <ts_ms>, in ms
 * since the epoch. */
int64_t seam_spend_day_start_ms(int64_t ts_ms);
int64_t seam_spend_month_start_ms(int64_t ts_ms);

void seam_spend_free(seam_spend *s);

#endif
