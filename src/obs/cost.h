/*
 * What a request costs, in USD, from the prices and hardware declared in the
 * configuration. One definition used by everything that speaks of money: the
 * ledger's cost_usd and counterfactual_usd columns, budgets, metrics and
 * `seam report`.
 *
 *   price (cloud):  (input - cached) x input_per_mtok / 1e6
 *                   + cached x (cached_input_per_mtok, else input_per_mtok) / 1e6
 *                   + output x output_per_mtok / 1e6
 *                   (reasoning tokens are part of output, as OpenAI counts them)
 *   hardware (local): hourly cost x ms_total / 3.6e6, where the hourly cost is
 *                   capex_usd / (amortize_months x 730) + watts / 1000 x usd_per_kwh.
 *                   This per-request figure is an upper bound: it charges the
 *                   whole box to this one request for its wall time, as if
 *                   nothing ran beside it. `seam report` uses the fixed-cost
 *                   view instead (hourly cost x hours in the window).
 *   neither:        0.
 *
 * Token counts of -1 (unknown) count as 0; cached tokens are part of input
 * and are clamped to it.
 */
#ifndef SEAM_OBS_COST_H
#define SEAM_OBS_COST_H

#include "config/config.h"

#include <stdint.h>

/* Hours in a month for amortisation: 365 x 24 / 12. */
#define SEAM_COST_HOURS_PER_MONTH 730.0

/* USD per hour of <h>'s machine (amortised capex plus energy); 0 when <h> is
 * NULL or not set. A non-positive amortize_months contributes no capex. */
double seam_cost_hourly(const seam_hardware *h);

/* The energy part of seam_cost_hourly alone: watts / 1000 x usd_per_kwh. */
double seam_cost_energy_hourly(const seam_hardware *h);

/* <p>'s price for the given tokens (see above); 0 when <p> is not set. */
double seam_cost_tokens(const seam_price *p, int64_t input, int64_t output, int64_t cached);

/* cost_usd of one request served by backend <b>: its price when it has one,
 * else its hardware's hourly cost for <ms_total> when it is local, else 0.
 * <b> may be NULL (no backend served the request): 0. */
double seam_cost_request(const seam_backend_conf *b, int64_t input, int64_t output, int64_t cached,
                         double ms_total);

/* counterfactual_usd: what report.reference_backend would have charged for
 * the same tokens; -1 when <cfg> has no reference backend or it has no
 * price. */
double seam_cost_counterfactual(const seam_config *cfg, int64_t input, int64_t output,
                                int64_t cached);

#endif
