/*
 * `seam check --probe`: asks each backend's server what it actually serves
 * and compares that with the configuration. OpenAI-compatible servers and
 * Anthropic list model ids (GET /v1/models); Ollama lists its models
 * (GET /api/tags) and describes each configured one (POST /api/show:
 * capabilities, and the context length in model_info
 * "<arch>.context_length"); Gemini lists its models with their
 * inputTokenLimit and whether they think (GET /v1beta/models).
 *
 * This is a command-line tool, not the gateway: calls are synchronous
 * (libcurl's easy interface), one at a time, each bounded by a timeout.
 * API keys come from the backend's api_key_env and are never printed: a
 * key value found in a server's message is masked.
 */
#ifndef SEAM_UPSTREAM_INSPECT_H
#define SEAM_UPSTREAM_INSPECT_H

#include "config/config.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

/* Probes <b> with <timeout_ms> per HTTP call and returns a new JSON object:
 *   backend, provider, url      from the configuration
 *   probed                      false when the backend was not asked (its
 *                               API key variable is unset); absent otherwise
 *   reachable                   the server answered HTTP at all
 *   error                       (when something failed) one line
 *   models                      the model ids the server lists
 *   configured: [{model, found, capabilities?, context_length?}]
 *                               what the server says about each configured
 *                               model; capabilities only where the server
 *                               reports them (Ollama; Gemini's thinking)
 *   warnings: [..]              where configuration and server disagree: a
 *                               configured model the server lacks, a declared
 *                               capability the server does not report, a
 *                               context_window above the server's
 *   notes: [..]                 hints that are not disagreements
 * Returns NULL only when out of memory. */
json_t *seam_inspect_backend(const seam_backend_conf *b, long timeout_ms);

/* True when <report> (from seam_inspect_backend) shows a problem: the
 * server unreachable, an error, or a warning. */
bool seam_inspect_has_problem(const json_t *report);

/* Writes <report> for a person: one header line per backend, then the
 * server's models, what it says about each configured model, and one
 * "WARN" line per disagreement. */
void seam_inspect_print(const json_t *report, FILE *out);

#endif
