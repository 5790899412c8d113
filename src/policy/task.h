/*
 * The task: what a request is for (kind), how sensitive it is, how hard it is
 * and how big. Clients declare it in X-Seam-* headers or a top-level "seam"
 * body object; what they do not declare gets the configured defaults. This
 * module is the one place that parses and validates those declarations.
 */
#ifndef SEAM_POLICY_TASK_H
#define SEAM_POLICY_TASK_H

#include "config/config.h"
#include "core/canon.h"
#include "core/rc.h"

#include <jansson.h>

/* Sets the defaults: kind chat, sensitivity cfg->default_sensitivity (internal
 * when <cfg> is NULL), complexity medium, nothing declared, zero tokens. */
void seam_task_init(seam_task *t, const seam_config *cfg);

/* Applies one declared field. <key> is "kind", "sensitivity" or "complexity";
 * <field> is how the client spelled it ("X-Seam-Kind", "seam.kind"), used in
 * the error message. A declared sensitivity replaces the default; declaring it
 * twice keeps the higher of the two. Returns SEAM_ERR_INVALID with a message
 * naming <field> when the key or value is unknown. */
seam_rc seam_task_declare(seam_task *t, const char *key, const char *value, const char *field,
                          char *err, size_t errlen);

/* Applies a "seam" body object: {kind?, sensitivity?, complexity?}, values
 * strings. Anything else is SEAM_ERR_INVALID naming the offending field. */
seam_rc seam_task_declare_json(seam_task *t, const json_t *obj, char *err, size_t errlen);

/* Raises the effective sensitivity to at least <s> (detectors use this; it
 * can never lower it). */
void seam_task_raise(seam_task *t, seam_sensitivity s);

/* Fills the token estimate from the request: prompt tokens are the bytes of
 * text, tool arguments and tool schemas divided by four (rounded up) until a
 * tokenizer lands; output tokens are the requested maximum. Also sets what
 * the request needs from a backend:
 *   vision      an image part in any message;
 *   tools       tool definitions sent (a history with tool calls but no
 *               definitions is plain text to the model);
 *   thinking    a reasoning level other than off, or a thinking budget;
 *   embeddings  an embeddings request (req->embed);
 *   context_tokens  prompt + requested output tokens. */
void seam_task_estimate(seam_task *t, const seam_req *req);

/* Recomputes what depends on the request's parameters (output tokens, the
 * total, needs.thinking, needs.context_tokens) after something changed them,
 * as a policy `set` does; the prompt estimate is kept. */
void seam_task_update_params(seam_task *t, const seam_req *req);

#endif
