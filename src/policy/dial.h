/*
 * Dialling a request: a matched rule's `set` changes the request's reasoning
 * level and caps its output, so that (for example) classification on the
 * local box runs without thinking while high-complexity drafting keeps it.
 * What changed is reported in one short line for the X-Seam-Set header and
 * the audit log.
 */
#ifndef SEAM_POLICY_DIAL_H
#define SEAM_POLICY_DIAL_H

#include "config/config.h"
#include "core/canon.h"

#include <stddef.h>

/* Applies <rule>'s set (NULL rule: nothing) to <req>:
 *   reasoning       becomes the rule's level, unless the client chose one
 *                   itself (a level or a thinking budget) and the rule does
 *                   not say force: the client's explicit choice wins.
 *                   When the rule's level is applied, the client's own
 *                   spelling and budget are dropped so that every provider
 *                   encodes the rule's level;
 *   max_tokens      set to max_tokens_cap when the client gave none, lowered
 *                   to it when the client asked for more.
 * Then recomputes <task>'s parameter-dependent fields (output tokens,
 * needs.thinking, needs.context_tokens); <task> may be &req->task.
 * Writes what changed as "reasoning=off,max_tokens<=512" into <applied> ("" when
 * nothing changed) and returns its length. */
size_t seam_policy_apply_set(const seam_rule_conf *rule, seam_req *req, seam_task *task,
                             char *applied, size_t n);

/* The name a rule's reasoning level is written with: off, low, medium,
 * high (and the other canonical levels: minimal, xhigh, max), "" for unset. */
const char *seam_reasoning_level_name(seam_reasoning r);

#endif
