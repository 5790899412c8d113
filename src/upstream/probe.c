/* Health probes on one worker's loop; see probe.h. */
#include "upstream/probe.h"
#include "core/alloc.h"
#include "providers/provider.h"
#include "upstream/dispatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROBE_TIMEOUT_MS 5000L

struct probe_slot {
    seam_prober *p;
    size_t backend;
    seam_transfer *t;
    uint64_t due_ms; /* next probe, on the prober's clock */
};

struct seam_prober {
    struct event *timer;
    seam_upstream *u;
    const seam_config *cfg;
    seam_health_table *health;
    long interval_ms; /* the tick: the shortest of the backends' health.interval_ms */
    uint64_t now_ms;  /* advanced by a tick */
    struct probe_slot *slots;
};

static int probe_data(void *ctx, seam_transfer *t, const char *p, size_t n)
{
    return 0; /* the status is all a probe needs */
}

static void probe_done(void *ctx, seam_transfer *t, seam_rc rc, const char *error)
{
    struct probe_slot *s = ctx;
    const seam_backend_conf *b = &s->p->cfg->backends[s->backend];
    s->t = NULL;
    long status = seam_transfer_status(t);
    char msg[256];
    if (rc == SEAM_OK && status >= 200 && status < 300) {
        seam_health_set(s->p->health, s->backend, b->name, SEAM_HEALTH_UP, NULL);
        return;
    }
    if (rc == SEAM_OK)
        snprintf(msg, sizeof(msg), "probe GET %s answered HTTP %ld", b->health.path, status);
    else if (rc == SEAM_ERR_TIMEOUT)
        snprintf(msg, sizeof(msg), "probe timed out after %ld ms", PROBE_TIMEOUT_MS);
    else
        snprintf(msg, sizeof(msg), "%s", error ? error : seam_rc_str(rc));
    seam_health_set(s->p->health, s->backend, b->name, SEAM_HEALTH_DOWN, msg);
}

static void probe_one(struct probe_slot *s)
{
    const seam_backend_conf *b = &s->p->cfg->backends[s->backend];
    char why[200];
    if (seam_backend_unusable(b, why, sizeof(why))) {
        seam_health_set(s->p->health, s->backend, b->name, SEAM_HEALTH_DOWN, why);
        return;
    }
    const char *key = b->api_key_env && b->api_key_env[0] ? getenv(b->api_key_env) : NULL;
    const seam_provider *prov = seam_provider_get(b->provider);
    char url[1024];
    snprintf(url, sizeof(url), "%s%s", b->url, b->health.path);
    /* Each provider authenticates its own way (x-api-key, x-goog-api-key,
     * a bearer token); the headers live only until curl has copied them. */
    seam_arena *a = seam_arena_new(1024);
    if (!a)
        return;
    const char **headers = NULL;
    if (prov->probe_headers) {
        headers = prov->probe_headers(key, a);
    } else if (key && (headers = seam_arena_calloc(a, 2 * sizeof(char *)))) {
        headers[0] = seam_arena_printf(a, "Authorization: Bearer %s", key);
        if (!headers[0])
            headers = NULL;
    }
    if (!headers && (key || prov->probe_headers)) {
        seam_arena_free(a);
        return;
    }
    seam_transfer_opts o = {.url = url,
                            .method = "GET",
                            .headers = headers,
                            .timeout_ms = PROBE_TIMEOUT_MS,
                            .connect_timeout_ms = PROBE_TIMEOUT_MS};
    static const seam_transfer_cbs cbs = {probe_data, probe_done};
    seam_rc rc;
    s->t = seam_upstream_start(s->p->u, &o, &cbs, s, &rc);
    seam_arena_free(a); /* curl copied the headers */
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    seam_prober *p = arg;
    for (size_t i = 0; i < p->cfg->nbackends; i++) {
        struct probe_slot *s = &p->slots[i];
        if (s->t || s->due_ms > p->now_ms)
            continue;
        s->due_ms = p->now_ms + p->cfg->backends[i].health.interval_ms;
        probe_one(s);
    }
    p->now_ms += (uint64_t)p->interval_ms;
    struct timeval tv = {p->interval_ms / 1000, (p->interval_ms % 1000) * 1000};
    evtimer_add(p->timer, &tv);
}

seam_prober *seam_prober_start(struct event_base *base, seam_upstream *u, const seam_config *cfg,
                               seam_health_table *health, long interval_ms)
{
    seam_prober *p = seam_calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->u = u;
    p->cfg = cfg;
    p->health = health;
    /* One timer ticks at the shortest interval any backend asks for; each
     * backend is probed when its own interval is due. */
    p->interval_ms = interval_ms;
    for (size_t i = 0; i < cfg->nbackends; i++)
        if (cfg->backends[i].health.interval_ms &&
            (long)cfg->backends[i].health.interval_ms < p->interval_ms)
            p->interval_ms = (long)cfg->backends[i].health.interval_ms;
    p->slots = seam_calloc(cfg->nbackends, sizeof(*p->slots));
    p->timer = evtimer_new(base, on_tick, p);
    if (!p->slots || !p->timer) {
        seam_prober_stop(p);
        return NULL;
    }
    for (size_t i = 0; i < cfg->nbackends; i++) {
        p->slots[i].p = p;
        p->slots[i].backend = i;
    }
    struct timeval now = {0, 0};
    evtimer_add(p->timer, &now);
    return p;
}

void seam_prober_stop(seam_prober *p)
{
    if (!p)
        return;
    for (size_t i = 0; p->slots && i < p->cfg->nbackends; i++)
        if (p->slots[i].t)
            seam_transfer_cancel(p->slots[i].t);
    if (p->timer)
        event_free(p->timer);
    seam_free(p->slots);
    seam_free(p);
}
