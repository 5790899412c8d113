/* Liveness, readiness and the model list; see status.h. */
#include "http/status.h"
#include "core/jsonbuf.h"
#include "core/log.h"
#include "upstream/dispatch.h"

#include <stdlib.h>
#include <string.h>

static void reply_owned(struct evhttp_request *req, int status, json_t *o)
{
    char *s = o ? seam_json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    seam_http_reply_json(
        req, status,
        s ? s : "{\"error\":{\"message\":\"out of memory\",\"type\":\"server_error\"}}", NULL);
    free(s);
}

void seam_status_healthz(seam_worker *w, struct evhttp_request *req)
{
    reply_owned(req, 200, json_pack("{s:s, s:i}", "status", "ok", "workers", w->srv->nworkers));
}

/* Ready when at least one backend answered its last probe: seam can serve
 * something. The body says which backends are up and, for the others, why
 * not, so an operator sees a missing API key or a stopped model server. */
void seam_status_readyz(seam_worker *w, struct evhttp_request *req)
{
    const seam_config *cfg = w->cfg;
    json_t *arr = json_array();
    bool any = false;
    for (size_t i = 0; i < cfg->nbackends; i++) {
        const seam_backend_conf *b = &cfg->backends[i];
        seam_health h = seam_health_get(w->gen->health, i);
        char err[256];
        seam_health_error(w->gen->health, i, err, sizeof(err));
        any |= h == SEAM_HEALTH_UP;
        json_t *o = json_pack("{s:s, s:s, s:b, s:s}", "name", b->name, "location",
                              b->location == SEAM_LOC_LOCAL ? "local" : "cloud", "up",
                              h == SEAM_HEALTH_UP, "state",
                              h == SEAM_HEALTH_UP     ? "up"
                              : h == SEAM_HEALTH_DOWN ? "down"
                                                      : "unknown");
        json_object_set_new(o, "error", err[0] ? json_string(err) : json_null());
        /* Passive health: the circuit breaker's view of real traffic. */
        seam_breaker_stats st;
        seam_breaker_stats_get(w->gen->breakers, i, seam_rl_now_ns(), &st);
        json_object_set_new(o, "circuit", json_string(seam_breaker_state_name(st.state)));
        char traffic[256];
        seam_health_traffic_error(w->gen->health, i, traffic, sizeof(traffic));
        json_object_set_new(o, "last_traffic_error",
                            traffic[0] ? json_string(traffic) : json_null());
        /* An open circuit is as much "not ready" as a failed probe: say why. */
        if (st.state != SEAM_BREAKER_CLOSED && !err[0] && traffic[0])
            json_object_set_new(o, "error", json_string(traffic));
        json_object_set_new(o, "consecutive_failures",
                            json_integer((json_int_t)st.consecutive_failures));
        json_object_set_new(o, "in_flight",
                            json_integer((json_int_t)seam_capacity_inflight(w->gen->capacity, i)));
        if (b->max_concurrency)
            json_object_set_new(o, "max_concurrency", json_integer((json_int_t)b->max_concurrency));
        json_array_append_new(arr, o);
    }
    reply_owned(req, any ? 200 : 503, json_pack("{s:b, s:o}", "ready", any, "backends", arr));
}

void seam_status_models(seam_worker *w, struct evhttp_request *req)
{
    const seam_config *cfg = w->cfg;
    json_int_t created = (json_int_t)w->srv->started;
    json_t *data = json_array();
    json_array_append_new(data, json_pack("{s:s, s:s, s:I, s:s}", "id", "auto", "object", "model",
                                          "created", created, "owned_by", "seam"));
    for (size_t i = 0; i < cfg->nbackends; i++) {
        const seam_backend_conf *b = &cfg->backends[i];
        for (size_t j = 0; j < b->nmodels; j++) {
            /* A model listed by two backends appears once. */
            bool seen = false;
            for (size_t k = 0; k < i && !seen; k++)
                for (size_t m = 0; m < cfg->backends[k].nmodels && !seen; m++)
                    seen = strcmp(cfg->backends[k].models[m], b->models[j]) == 0;
            for (size_t m = 0; m < j && !seen; m++)
                seen = strcmp(b->models[m], b->models[j]) == 0;
            if (!seen)
                json_array_append_new(data, json_pack("{s:s, s:s, s:I, s:s}", "id", b->models[j],
                                                      "object", "model", "created", created,
                                                      "owned_by", b->name));
        }
    }
    reply_owned(req, 200, json_pack("{s:s, s:o}", "object", "list", "data", data));
}
