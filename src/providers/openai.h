/*
 * The OpenAI Chat Completions provider (also Ollama's /v1, llama.cpp's
 * server, vLLM and every other OpenAI-compatible server).
 */
#ifndef SEAM_PROVIDERS_OPENAI_H
#define SEAM_PROVIDERS_OPENAI_H

#include "providers/provider.h"

extern const seam_provider seam_provider_openai;

/* Encodes <req> as an OpenAI Chat Completions body asking for <model>, into a
 * new jansson object (caller owns it). Also used by tests. */
json_t *seam_openai_encode_request(const seam_req *req, const char *model);

#endif
