/*
 * The request lifecycle for completions: decode the client's request into
 * the canonical model, classify it, decide, dispatch under the clearance
 * invariant, forward through the backend's provider, stream the answer back
 * in the client's dialect, and record what happened.
 */
#ifndef SEAM_HTTP_PROXY_H
#define SEAM_HTTP_PROXY_H

#include "http/server.h"

#include <event2/http.h>

/* Handles POST /v1/chat/completions on worker <w>. */
void seam_proxy_chat(seam_worker *w, struct evhttp_request *req);

/* Ends every exchange still in flight on <w> (shutdown after the grace
 * period): cancels upstream transfers and releases memory. */
void seam_proxy_abort_all(seam_worker *w);

#endif
