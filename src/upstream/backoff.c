/*
 * Retry timing; see backoff.h. HTTP-dates are parsed by libcurl's
 * curl_getdate (it knows RFC 1123, RFC 850 and asctime forms); only the
 * delta-seconds form is read here, because it is a bare number.
 */
#include "upstream/backoff.h"

#include <curl/curl.h>
#include <stddef.h>
#include <string.h>

uint64_t seam_rand_next(uint64_t *state)
{
    uint64_t x = *state ? *state : UINT64_C(0x9e3779b97f4a7c15);
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * UINT64_C(0x2545f4914f6cdd1d);
}

uint64_t seam_backoff_ms(unsigned attempt, uint64_t base_ms, uint64_t cap_ms, uint64_t *rng)
{
    /* base * 2^attempt, saturating at cap without overflowing. */
    uint64_t ceiling = base_ms;
    for (unsigned i = 0; i < attempt && ceiling < cap_ms; i++)
        ceiling = ceiling > UINT64_MAX / 2 ? UINT64_MAX : ceiling * 2;
    if (ceiling > cap_ms)
        ceiling = cap_ms;
    if (ceiling == 0)
        return 0;
    uint64_t r = seam_rand_next(rng);
    /* Inclusive range [0, ceiling]; the modulo bias is below 2^-40 for any
     * realistic ceiling and irrelevant to jitter. */
    return ceiling == UINT64_MAX ? r : r % (ceiling + 1);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

bool seam_retry_after_ms(const char *header, int64_t now_s, uint64_t *ms)
{
    if (!header)
        return false;
    const char *s = header, *e = header + strlen(header);
    while (s < e && is_space(*s))
        s++;
    while (e > s && is_space(e[-1]))
        e--;
    if (s == e)
        return false;
    if (*s >= '0' && *s <= '9') {
        uint64_t v = 0;
        for (const char *p = s; p < e; p++) {
            if (*p < '0' || *p > '9')
                return false;
            if (v <= SEAM_RETRY_AFTER_MAX_S)
                v = v * 10 + (uint64_t)(*p - '0');
        }
        if (v > SEAM_RETRY_AFTER_MAX_S)
            v = SEAM_RETRY_AFTER_MAX_S;
        *ms = v * 1000;
        return true;
    }
    char date[64];
    size_t len = (size_t)(e - s);
    if (len >= sizeof(date))
        return false;
    memcpy(date, s, len);
    date[len] = '\0';
    time_t when = curl_getdate(date, NULL);
    if (when == (time_t)-1)
        return false;
    int64_t delta = (int64_t)when - now_s;
    if (delta < 0)
        delta = 0;
    if (delta > SEAM_RETRY_AFTER_MAX_S)
        delta = SEAM_RETRY_AFTER_MAX_S;
    *ms = (uint64_t)delta * 1000;
    return true;
}

bool seam_retryable_status(long status)
{
    return status == 429 || status == 502 || status == 503 || status == 504;
}
