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

/* As seam_dispatch_pick for <task> (its sensitivity and needs): a candidate
 * must also offer every capability the task needs (seam_backend_conf
 * .capabilities) and, when its context_window is given, have room for
 * task->needs.context_tokens. Returns
 *   SEAM_OK             <*out> set;
 *   SEAM_ERR_TOO_LARGE  some backend was cleared, capable and usable but
 *                       every such one is too small; <why> says "request
 *                       needs ~N tokens; the largest context window among
 *                       allowed backends is M (name)" (HTTP 400
 *                       context_length_exceeded);
 *   SEAM_ERR_NO_BACKEND otherwise, <why> naming each skipped backend and its
 *                       reason (clearance, "lacks capability vision, ...",
 *                       an unset key) (HTTP 503). */
seam_rc seam_dispatch_pick_task(const seam_config *cfg, const struct seam_decision *d,
                                const seam_task *task, const seam_health_table *health,
                                unsigned flags, const seam_backend_conf **out, char *why,
                                size_t whylen);

/* The SEAM_CAP_* bits <t>'s needs call for. */
unsigned seam_dispatch_needed_caps(const seam_task *t);

/* True when <b> offers every capability <t> needs and its context window
 * (when given) holds t->needs.context_tokens; clearance is not part of it
 * (seam_clearance_allows is). For fallbacks and retries that choose a
 * backend outside seam_dispatch_pick_task. */
bool seam_backend_fits(const seam_backend_conf *b, const seam_task *t);

#endif
