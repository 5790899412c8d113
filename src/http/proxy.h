/*
 * The request lifecycle for completions: decode the client's request into
 * the canonical model, classify it, decide, dispatch under the clearance
 * invariant, forward through the backend's provider, stream the answer back
 * in the client's dialect, and record what happened.
 */
#ifndef SEAM_HTTP_PROXY_H
#define SEAM_HTTP_PROXY_H

#include "api/ingress.h"
#include "http/server.h"

#include <event2/http.h>

/* Handles one completion or embeddings request on worker <w>, arriving in
 * the dialect of <ing> (POST /v1/chat/completions, /v1/messages, /api/chat,
 * /api/generate, /v1/embeddings, /api/embed). */
void seam_proxy_handle(seam_worker *w, struct evhttp_request *req, const seam_ingress *ing);

/* Ends every exchange still in flight on <w> (shutdown after the grace
 * period): cancels upstream transfers and releases memory. */
void seam_proxy_abort_all(seam_worker *w);

#endif
