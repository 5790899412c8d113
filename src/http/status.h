/*
 * Endpoints that describe seam itself rather than proxy anything:
 * GET /healthz (liveness), GET /readyz (backends as last probed) and
 * GET /v1/models (every configured model plus "auto").
 */
#ifndef SEAM_HTTP_STATUS_H
#define SEAM_HTTP_STATUS_H

#include "http/server.h"

void seam_status_healthz(seam_worker *w, struct evhttp_request *req);
void seam_status_readyz(seam_worker *w, struct evhttp_request *req);
void seam_status_models(seam_worker *w, struct evhttp_request *req);

#endif
