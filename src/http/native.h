/*
 * Dialect endpoints that answer from seam itself rather than through a
 * backend: Anthropic's token counting and Ollama's model catalogue
 * (/api/tags, /api/show, /api/version), so that clients which call them
 * before chatting work unchanged against seam.
 */
#ifndef SEAM_HTTP_NATIVE_H
#define SEAM_HTTP_NATIVE_H

#include "http/server.h"

#include <event2/http.h>

void seam_native_count_tokens(seam_worker *w, struct evhttp_request *req);
void seam_native_ollama_tags(seam_worker *w, struct evhttp_request *req);
void seam_native_ollama_show(seam_worker *w, struct evhttp_request *req);
void seam_native_ollama_version(seam_worker *w, struct evhttp_request *req);

#endif
