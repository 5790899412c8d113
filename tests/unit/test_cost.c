/*
 * Request costs (obs/cost.h): token prices with and without a cached-input
 * price, hardware hourly cost and its per-request upper bound, the
 * counterfactual at the reference backend, unknown counts. Every expected
 * value is worked out by hand in the comment beside it.
 */
#include "testutil.h"

#include "obs/cost.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define EPS 1e-12

/* This cmocka has no assert_double_equal: compare with a tolerance and
 * print both values on failure. */
#define assert_double_equal(a, b, eps) assert_near((a), (b), (eps), __FILE__, __LINE__)

static void assert_near(double got, double want, double eps, const char *file, int line)
{
    if (fabs(got - want) > eps) {
        print_error("%s:%d: got %.15g, want %.15g\n", file, line, got, want);
        fail();
    }
}

static seam_backend_conf cloud_backend(bool with_cached)
{
    seam_backend_conf b = {0};
    b.name = "frontier";
    b.location = SEAM_LOC_CLOUD;
    b.price.set = true;
    b.price.input_per_mtok = 1.25;
    b.price.output_per_mtok = 10.0;
    b.price.has_cached = with_cached;
    b.price.cached_input_per_mtok = 0.125;
    return b;
}

static seam_backend_conf local_backend(void)
{
    seam_backend_conf b = {0};
    b.name = "gemma-local";
    b.location = SEAM_LOC_LOCAL;
    b.hardware.set = true;
    b.hardware.capex_usd = 6000;
    b.hardware.amortize_months = 36;
    b.hardware.watts = 350;
    b.hardware.usd_per_kwh = 0.15;
    return b;
}

static void test_price_tokens(void **state)
{
    (void)state;
    seam_backend_conf b = cloud_backend(true);
    /* 1000 in (200 cached), 500 out:
     * 800 x 1.25 = 1000, 200 x 0.125 = 25, 500 x 10 = 5000 -> 6025 / 1e6 */
    assert_double_equal(seam_cost_request(&b, 1000, 500, 200, 1234.0), 0.006025, EPS);
    /* No cached price: cached tokens at the input price.
     * 800 x 1.25 + 200 x 1.25 + 5000 = 6250 -> 0.00625 */
    seam_backend_conf nc = cloud_backend(false);
    assert_double_equal(seam_cost_request(&nc, 1000, 500, 200, 1234.0), 0.00625, EPS);
    /* One million of each: 1.25 + 10 */
    assert_double_equal(seam_cost_request(&b, 1000000, 1000000, 0, 0), 11.25, EPS);
    /* Wall time does not matter for a priced backend. */
    assert_double_equal(seam_cost_request(&b, 1000, 500, 200, 9e9), 0.006025, EPS);
}

static void test_unknown_counts(void **state)
{
    (void)state;
    seam_backend_conf b = cloud_backend(true);
    /* Unknown cached: all input at the input price. 1000 x 1.25 + 5000 */
    assert_double_equal(seam_cost_request(&b, 1000, 500, -1, 0), 0.00625, EPS);
    /* Unknown output: input only. */
    assert_double_equal(seam_cost_request(&b, 1000, -1, -1, 0), 0.00125, EPS);
    /* All unknown: nothing. */
    assert_double_equal(seam_cost_request(&b, -1, -1, -1, 0), 0.0, EPS);
    /* Cached above input is clamped: 100 cached of 100 -> 100 x 0.125 */
    assert_double_equal(seam_cost_request(&b, 100, 0, 400, 0), 0.0000125, EPS);
    /* No backend, no price. */
    assert_double_equal(seam_cost_request(NULL, 1000, 500, 0, 10), 0.0, EPS);
    seam_backend_conf none = {0};
    assert_double_equal(seam_cost_request(&none, 1000, 500, 0, 10), 0.0, EPS);
}

static void test_hardware(void **state)
{
    (void)state;
    seam_backend_conf b = local_backend();
    /* capex 6000 / (36 x 730 = 26280 h) = 0.228310502... ; energy 0.35 kW x 0.15 = 0.0525 */
    double capex_h = 6000.0 / 26280.0;
    assert_double_equal(seam_cost_energy_hourly(&b.hardware), 0.0525, EPS);
    assert_double_equal(seam_cost_hourly(&b.hardware), capex_h + 0.0525, EPS);
    assert_double_equal(seam_cost_hourly(&b.hardware), 0.280810502283105, 1e-12);
    /* A request of 1800 ms: hourly x 0.0005 h, whatever its tokens. */
    assert_double_equal(seam_cost_request(&b, 1000, 500, 0, 1800.0), (capex_h + 0.0525) * 0.0005,
                        EPS);
    assert_double_equal(seam_cost_request(&b, -1, -1, -1, 3.6e6), capex_h + 0.0525, EPS);
    /* Unknown or zero wall time costs nothing. */
    assert_double_equal(seam_cost_request(&b, 10, 10, 0, 0), 0.0, EPS);
    assert_double_equal(seam_cost_request(&b, 10, 10, 0, -1), 0.0, EPS);
    /* Energy only (nothing to amortise). */
    seam_hardware h = {
        .set = true, .capex_usd = 0, .amortize_months = 0, .watts = 1000, .usd_per_kwh = 0.2};
    assert_double_equal(seam_cost_hourly(&h), 0.2, EPS);
    /* Not set: nothing. */
    seam_hardware off = {0};
    assert_double_equal(seam_cost_hourly(&off), 0.0, EPS);
    assert_double_equal(seam_cost_hourly(NULL), 0.0, EPS);
    /* hardware on a cloud backend is not a local box: no cost. */
    b.location = SEAM_LOC_CLOUD;
    assert_double_equal(seam_cost_request(&b, 10, 10, 0, 3.6e6), 0.0, EPS);
    /* A local backend with a price is charged by its price, not by time. */
    b.location = SEAM_LOC_LOCAL;
    b.price.set = true;
    b.price.input_per_mtok = 0.1;
    b.price.output_per_mtok = 0.4;
    /* 1000 x 0.1 + 2000 x 0.4 = 900 -> 0.0009 */
    assert_double_equal(seam_cost_request(&b, 1000, 2000, 0, 3.6e6), 0.0009, EPS);
}

static void test_counterfactual(void **state)
{
    (void)state;
    seam_backend_conf backends[2] = {local_backend(), cloud_backend(true)};
    backends[0].index = 0;
    backends[1].index = 1;
    seam_config cfg = {0};
    cfg.backends = backends;
    cfg.nbackends = 2;
    /* No reference: -1. */
    assert_double_equal(seam_cost_counterfactual(&cfg, 1000, 500, 200), -1.0, EPS);
    assert_double_equal(seam_cost_counterfactual(NULL, 1000, 500, 200), -1.0, EPS);
    cfg.report.has_reference = true;
    cfg.report.reference_backend = 1;
    /* Same tokens at the reference's price, cached at its cached price. */
    assert_double_equal(seam_cost_counterfactual(&cfg, 1000, 500, 200), 0.006025, EPS);
    assert_double_equal(seam_cost_counterfactual(&cfg, 1000, 500, -1), 0.00625, EPS);
    assert_double_equal(seam_cost_counterfactual(&cfg, -1, -1, -1), 0.0, EPS);
    /* A reference without a price prices nothing. */
    cfg.report.reference_backend = 0;
    assert_double_equal(seam_cost_counterfactual(&cfg, 1000, 500, 200), -1.0, EPS);
    /* Out of range: none. */
    cfg.report.reference_backend = 7;
    assert_double_equal(seam_cost_counterfactual(&cfg, 1000, 500, 200), -1.0, EPS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_price_tokens),
        cmocka_unit_test(test_unknown_counts),
        cmocka_unit_test(test_hardware),
        cmocka_unit_test(test_counterfactual),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
