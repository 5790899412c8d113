/*
 * Request costs from configured prices and hardware (see obs/cost.h for the
 * formulas). Pure arithmetic on the configuration snapshot: no state, no
 * locks, safe on any thread.
 */
#include "obs/cost.h"

/* Unknown counts (-1) and anything negative count as nothing. */
static double known(int64_t n)
{
    return n > 0 ? (double)n : 0.0;
}

double seam_cost_energy_hourly(const seam_hardware *h)
{
    if (!h || !h->set)
        return 0.0;
    return h->watts / 1000.0 * h->usd_per_kwh;
}

double seam_cost_hourly(const seam_hardware *h)
{
    if (!h || !h->set)
        return 0.0;
    double capex = h->amortize_months > 0
                       ? h->capex_usd / (h->amortize_months * SEAM_COST_HOURS_PER_MONTH)
                       : 0.0;
    return capex + seam_cost_energy_hourly(h);
}

double seam_cost_tokens(const seam_price *p, int64_t input, int64_t output, int64_t cached)
{
    if (!p || !p->set)
        return 0.0;
    double in = known(input), out = known(output), hit = known(cached);
    /* Cached tokens are a part of the input tokens; a provider that reports
     * more of them than input cannot make the uncached part negative. */
    if (hit > in)
        hit = in;
    double cached_price = p->has_cached ? p->cached_input_per_mtok : p->input_per_mtok;
    return ((in - hit) * p->input_per_mtok + hit * cached_price + out * p->output_per_mtok) / 1e6;
}

double seam_cost_request(const seam_backend_conf *b, int64_t input, int64_t output, int64_t cached,
                         double ms_total)
{
    if (!b)
        return 0.0;
    if (b->price.set)
        return seam_cost_tokens(&b->price, input, output, cached);
    if (b->hardware.set && b->location == SEAM_LOC_LOCAL && ms_total > 0)
        return seam_cost_hourly(&b->hardware) * ms_total / 3.6e6;
    return 0.0;
}

double seam_cost_counterfactual(const seam_config *cfg, int64_t input, int64_t output,
                                int64_t cached)
{
    if (!cfg || !cfg->report.has_reference || cfg->report.reference_backend >= cfg->nbackends)
        return -1.0;
    const seam_backend_conf *ref = &cfg->backends[cfg->report.reference_backend];
    if (!ref->price.set)
        return -1.0;
    return seam_cost_tokens(&ref->price, input, output, cached);
}
