/*
 * Ollama ingress: the client-facing side of Ollama's native API, so that an
 * application written for Ollama (the official `ollama` npm client, or raw
 * HTTP) works unchanged against seam on port 11434.
 *
 * The streaming endpoints are the ingress tables of api/ingress.h:
 * seam_ingress_ollama_chat (POST /api/chat) and seam_ingress_ollama_generate
 * (POST /api/generate). The catalogue endpoints are answered from the
 * configuration, without a backend, by the functions below.
 */
#ifndef SEAM_API_OLLAMA_H
#define SEAM_API_OLLAMA_H

#include "api/ingress.h"
#include "config/config.h"
#include "core/arena.h"

#include <stddef.h>

/* The Ollama version seam reports on GET /api/version. Clients compare it
 * against the minimum they need for a feature (thinking, tool calls with
 * ids, structured output): seam implements the API of this release. */
#define SEAM_OLLAMA_API_VERSION "0.12.6"

/* GET /api/tags: {"models":[...]} listing "auto" (seam's policy routing)
 * and then every model of every backend once, in configuration order, with
 * the fields the ollama client types require. Returns a string in <a> with
 * its length in <*len>, or NULL when out of memory. */
char *seam_api_ollama_tags(const seam_config *cfg, seam_arena *a, size_t *len);

/* POST /api/show <body> = {"model": NAME} (or the older {"name": NAME}):
 * the model's details, model_info with "<arch>.context_length" when the
 * backend has a context_window, and capabilities from the backend's
 * SEAM_CAP_* bits. Sets <*status> to 200, 400 (a malformed body) or 404
 * (no backend serves the model); the body is then {"error": "..."}. Returns
 * a string in <a> with its length in <*outlen>, or NULL when out of memory. */
char *seam_api_ollama_show(const seam_config *cfg, const char *body, size_t len, seam_arena *a,
                           size_t *outlen, int *status);

/* GET /api/version: {"version": SEAM_OLLAMA_API_VERSION}, a string in <a>
 * with its length in <*len>, or NULL when out of memory. */
char *seam_api_ollama_version(seam_arena *a, size_t *len);

#endif
