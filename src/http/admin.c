/* Operator endpoints; see admin.h. */
#include "http/admin.h"
#include "core/buf.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* The exposition grows with the configuration (series per backend, pool
 * and rule), not with traffic; this is far above any real one. */
#define METRICS_MAX_BYTES (64u * 1024 * 1024)

static void reply_error(struct evhttp_request *req, int status, const char *type, const char *code,
                        const char *msg)
{
    json_t *o = json_pack("{s:{s:s, s:s, s:n, s:s}}", "error", "message", msg, "type", type,
                          "param", "code", code);
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "application/json");
    struct evbuffer *b = evbuffer_new();
    if (b && s)
        evbuffer_add(b, s, strlen(s));
    evhttp_send_reply(req, status, NULL, b);
    if (b)
        evbuffer_free(b);
    free(s);
}

void seam_admin_metrics_reply(struct evhttp_request *req, const seam_config *cfg,
                              const seam_auth_state *auth, seam_metrics *m)
{
    if (cfg->auth.metrics_need_admin) {
        struct evkeyvalq *in = evhttp_request_get_input_headers(req);
        if (!auth || !auth->admin_set) {
            reply_error(req, 403, "permission_error", "admin_disabled",
                        "/metrics needs the admin key, and none is set (auth.admin_key_env)");
            return;
        }
        if (!seam_auth_admin(auth, evhttp_find_header(in, "Authorization"),
                             evhttp_find_header(in, "x-api-key"))) {
            evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                              "Bearer realm=\"seam admin\"");
            reply_error(req, 401, "authentication_error", "invalid_api_key",
                        "/metrics needs the admin key");
            return;
        }
    }
    if (!m) {
        reply_error(req, 503, "server_error", "metrics_unavailable", "metrics are not available");
        return;
    }
    seam_buf text;
    seam_buf_init(&text, METRICS_MAX_BYTES);
    seam_rc rc = seam_metrics_render(m, &text);
    struct evbuffer *b = rc == SEAM_OK ? evbuffer_new() : NULL;
    if (!b || evbuffer_add(b, text.data, text.len) != 0) {
        if (b)
            evbuffer_free(b);
        seam_buf_free(&text);
        reply_error(req, 500, "server_error", "out_of_memory", "cannot render the metrics");
        return;
    }
    seam_buf_free(&text);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", SEAM_METRICS_CONTENT_TYPE);
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_send_reply(req, 200, NULL, b);
    evbuffer_free(b);
}

void seam_admin_metrics(seam_worker *w, struct evhttp_request *req)
{
    seam_admin_metrics_reply(req, w->cfg, &w->srv->auth, w->srv->metrics);
}
