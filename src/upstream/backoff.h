/*
 * Retry timing: exponential backoff with full jitter, the Retry-After
 * header, and which upstream answers are worth another attempt.
 *
 * Full jitter (the "AWS" schedule, Brooker 2015): the wait before retry
 * <attempt> is uniform in [0, min(cap, base * 2^attempt)]. Spreading retries
 * over the whole interval keeps clients that failed together from retrying
 * together.
 *
 * Retryable: HTTP 429, 502, 503 and 504, and the transport failures after
 * which nothing of the answer reached the caller (a connect error, a reset
 * before any body byte, a connect or first-byte timeout): the upstream
 * client classifies those, see seam_transfer_failure_retryable() in
 * upstream/client.h. Everything else (other 4xx, 500, a stream that broke
 * after bytes were delivered) goes back to the client as it is.
 */
#ifndef SEAM_UPSTREAM_BACKOFF_H
#define SEAM_UPSTREAM_BACKOFF_H

#include <stdbool.h>
#include <stdint.h>

/* Milliseconds to wait before retry <attempt> (0 for the first retry, then
 * 1, ...): uniform in [0, min(<cap_ms>, <base_ms> * 2^<attempt>)], drawn from
 * the xorshift state <*rng> (advanced; any value, 0 included, is a valid
 * seed). Never overflows, whatever the attempt. */
uint64_t seam_backoff_ms(unsigned attempt, uint64_t base_ms, uint64_t cap_ms, uint64_t *rng);

/* Parses a Retry-After header value (RFC 9110 section 10.2.3): a number of
 * seconds, or an HTTP-date (any of the three formats of section 5.6.7,
 * parsed by libcurl's curl_getdate) read against <now_s> (Unix seconds).
 * Sets <*ms> to the wait in milliseconds (0 for a date in the past) and
 * returns true; false for NULL, an empty or a malformed value. Seconds are
 * capped at one day: a larger value is a misconfigured upstream, not a
 * reason to hold a request for a week. */
bool seam_retry_after_ms(const char *header, int64_t now_s, uint64_t *ms);

/* The longest Retry-After honoured, in seconds. */
#define SEAM_RETRY_AFTER_MAX_S 86400

/* True for the statuses worth another attempt: 429, 502, 503, 504. */
bool seam_retryable_status(long status);

/* One step of xorshift64*: a fast generator for jitter and weighted picks,
 * not for anything secret. Advances <*state> (0 is replaced by a fixed
 * non-zero seed) and returns the next value. */
uint64_t seam_rand_next(uint64_t *state);

#endif
