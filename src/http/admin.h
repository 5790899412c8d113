/*
 * Endpoints for operators rather than clients. For now: GET /metrics, the
 * Prometheus exposition of src/obs/metrics.h, open to anyone unless
 * auth.protect_metrics (cfg->auth.metrics_need_admin) asks for the admin
 * key.
 */
#ifndef SEAM_HTTP_ADMIN_H
#define SEAM_HTTP_ADMIN_H

#include "auth/keys.h"
#include "config/config.h"
#include "http/server.h"
#include "obs/metrics.h"

#include <event2/http.h>

/* Answers <req> with the exposition of <m> (200, text/plain version
 * 0.0.4). When cfg->auth.metrics_need_admin, the request must carry the
 * admin key of <auth> (Authorization: Bearer or x-api-key): otherwise 401
 * (with WWW-Authenticate), or 403 when no admin key is set, since then
 * nobody could ever be let in. A NULL <m> answers 503. Errors are JSON in
 * the OpenAI shape, like every other path seam does not proxy. */
void seam_admin_metrics_reply(struct evhttp_request *req, const seam_config *cfg,
                              const seam_auth_state *auth, seam_metrics *m);

/* GET /metrics on worker <w>: the server's registry. */
void seam_admin_metrics(seam_worker *w, struct evhttp_request *req);

#endif
