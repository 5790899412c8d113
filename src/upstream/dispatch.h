/*
 * Dispatch: from a decision to one backend. This is where the clearance
 * invariant lives: a request whose effective sensitivity is above a
 * backend's clearance is never sent to it, whatever rule, pin, fallback or
 * retry chose it. seam_clearance_allows() is the single test; dispatch
 * applies it when picking, and the upstream client applies it again right
 * before the bytes leave.
 */
#ifndef SEAM_UPSTREAM_DISPATCH_H
#define SEAM_UPSTREAM_DISPATCH_H

#include "config/config.h"
#include "core/canon.h"
#include "core/rc.h"
#include "upstream/health.h"

#include <stdbool.h>

struct seam_decision;

/* The invariant: may backend <b> receive data of sensitivity <s>? */
bool seam_clearance_allows(const seam_backend_conf *b, seam_sensitivity s);

/* Why <b> cannot be used at all right now (its API key variable is named but
 * unset), or NULL when it can. Never includes the key. */
const char *seam_backend_unusable(const seam_backend_conf *b, char *buf, size_t n);

/* Picks the backend for decision <d> and sensitivity <s>: the candidates (the
 * pool's backends, or the backends listing the pinned model) in order,
 * skipping every one the invariant forbids and every unusable one, and
 * preferring backends not known to be down. <health> may be NULL.
 * Returns SEAM_OK with <*out> set, or SEAM_ERR_NO_BACKEND with <why> saying
 * which backends were skipped and why. */
#define SEAM_PICK_IGNORE_KEYS 1u /* `seam route`: plan without API keys in the environment */

seam_rc seam_dispatch_pick(const seam_config *cfg, const struct seam_decision *d,
                           seam_sensitivity s, const seam_health_table *health, unsigned flags,
                           const seam_backend_conf **out, char *why, size_t whylen);

#endif
