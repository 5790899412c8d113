/*
 * Active health probes: every interval, each backend gets a cheap GET on its
 * provider's probe path (GET /v1/models for OpenAI-compatible servers). The
 * results feed the shared health table behind /readyz and dispatch's
 * preference for backends that answer.
 */
#ifndef SEAM_UPSTREAM_PROBE_H
#define SEAM_UPSTREAM_PROBE_H

#include "config/config.h"
#include "upstream/client.h"
#include "upstream/health.h"

#include <event2/event.h>

typedef struct seam_prober seam_prober;

/* Starts probing now on <base>, then each backend every health.interval_ms
 * (at most every <interval_ms>) at its health.path. */
seam_prober *seam_prober_start(struct event_base *base, seam_upstream *u, const seam_config *cfg,
                               seam_health_table *health, long interval_ms);

/* Stops the timer and cancels probes in flight. */
void seam_prober_stop(seam_prober *p);

#endif
