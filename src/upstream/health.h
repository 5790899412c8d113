/*
 * Backend health as last observed: one slot per configured backend, shared
 * by all workers. The state is an atomic so the hot path reads it without a
 * lock; the last error text is guarded by a mutex because only /readyz and
 * logs read it.
 */
#ifndef SEAM_UPSTREAM_HEALTH_H
#define SEAM_UPSTREAM_HEALTH_H

#include "config/config.h"

#include <stddef.h>

typedef enum {
    SEAM_HEALTH_UNKNOWN = 0, /* not probed yet */
    SEAM_HEALTH_UP = 1,
    SEAM_HEALTH_DOWN = 2,
} seam_health;

typedef struct seam_health_table seam_health_table;

seam_health_table *seam_health_new(size_t nbackends);
void seam_health_free(seam_health_table *h);

/* Records a probe result for backend <i>; <error> is NULL when up. Logs a line
 * when the state changes (the error text never contains keys or payloads). */
void seam_health_set(seam_health_table *h, size_t i, const char *name, seam_health state,
                     const char *error);
seam_health seam_health_get(const seam_health_table *h, size_t i);

/* Copies the last error of backend <i> into <out> ("" when none). */
void seam_health_error(seam_health_table *h, size_t i, char *out, size_t n);

/* Passive health: the last failure of real traffic on backend <i>, kept
 * beside the probe's verdict (only failures take the lock). */
void seam_health_note_failure(seam_health_table *h, size_t i, const char *error);
void seam_health_traffic_error(seam_health_table *h, size_t i, char *out, size_t n);

#endif
