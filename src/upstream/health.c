/* Shared backend health table; see health.h. */
#include "upstream/health.h"
#include "core/alloc.h"
#include "core/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

struct health_slot {
    atomic_int state;
    pthread_mutex_t mu;
    char error[256];   /* the last probe's */
    char traffic[256]; /* the last failure of real traffic */
};

struct seam_health_table {
    size_t n;
    struct health_slot slots[];
};

seam_health_table *seam_health_new(size_t n)
{
    seam_health_table *h = seam_calloc(1, sizeof(*h) + n * sizeof(struct health_slot));
    if (!h)
        return NULL;
    h->n = n;
    for (size_t i = 0; i < n; i++) {
        atomic_init(&h->slots[i].state, SEAM_HEALTH_UNKNOWN);
        pthread_mutex_init(&h->slots[i].mu, NULL);
    }
    return h;
}

void seam_health_free(seam_health_table *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n; i++)
        pthread_mutex_destroy(&h->slots[i].mu);
    seam_free(h);
}

void seam_health_set(seam_health_table *h, size_t i, const char *name, seam_health state,
                     const char *error)
{
    if (!h || i >= h->n)
        return;
    struct health_slot *s = &h->slots[i];
    pthread_mutex_lock(&s->mu);
    int old = atomic_exchange(&s->state, (int)state);
    bool changed = old != (int)state || (error && strcmp(error, s->error) != 0);
    snprintf(s->error, sizeof(s->error), "%s", error ? error : "");
    pthread_mutex_unlock(&s->mu);
    if (!changed)
        return;
    if (state == SEAM_HEALTH_UP)
        seam_log_json(SEAM_LOG_INFO, json_pack("{s:s, s:s, s:s}", "msg", "backend up", "backend",
                                               name, "state", "up"));
    else
        seam_log_json(SEAM_LOG_WARN,
                      json_pack("{s:s, s:s, s:s, s:s}", "msg", "backend down", "backend", name,
                                "state", "down", "error", error ? error : "unknown"));
}

seam_health seam_health_get(const seam_health_table *h, size_t i)
{
    if (!h || i >= h->n)
        return SEAM_HEALTH_UNKNOWN;
    return (seam_health)atomic_load(&((seam_health_table *)h)->slots[i].state);
}

void seam_health_error(seam_health_table *h, size_t i, char *out, size_t n)
{
    if (!h || i >= h->n) {
        if (n)
            out[0] = '\0';
        return;
    }
    pthread_mutex_lock(&h->slots[i].mu);
    snprintf(out, n, "%s", h->slots[i].error);
    pthread_mutex_unlock(&h->slots[i].mu);
}

void seam_health_note_failure(seam_health_table *h, size_t i, const char *error)
{
    if (!h || i >= h->n)
        return;
    pthread_mutex_lock(&h->slots[i].mu);
    snprintf(h->slots[i].traffic, sizeof(h->slots[i].traffic), "%s", error ? error : "");
    pthread_mutex_unlock(&h->slots[i].mu);
}

void seam_health_traffic_error(seam_health_table *h, size_t i, char *out, size_t n)
{
    if (!h || i >= h->n) {
        if (n)
            out[0] = '\0';
        return;
    }
    pthread_mutex_lock(&h->slots[i].mu);
    snprintf(out, n, "%s", h->slots[i].traffic);
    pthread_mutex_unlock(&h->slots[i].mu);
}
