/*
 * Local capacity: how many requests each backend serves at once
 * (`max_concurrency`) and the bounded queue of each pool
 * (`queue: {max, timeout_ms}`) where requests wait for a slot when every
 * backend of the pool is busy.
 *
 * One object per process, shared by every worker. Slots are atomics: taking
 * and giving back a slot of a backend that is not full takes no lock. The
 * queue is behind one mutex, touched only when a pool is saturated (a
 * request enqueues, a slot is given back while someone waits, a wait ends).
 *
 * A waiter belongs to the worker that enqueued it: its outcome is delivered
 * by an event on that worker's own event_base. A slot given back on any
 * worker is handed to a waiter at once: the releasing thread acquires the
 * slot on the waiter's behalf and activates the waiter's event
 * (event_active from another thread, which libevent allows because
 * main.c calls evthread_use_pthreads() before any base is created). The
 * waiter's loop wakes and runs its callback with the slot already held.
 *
 * Order: waiters of a pool are served oldest first, skipping a waiter none
 * of whose eligible backends has a free slot (so one waiter that may only
 * use a busy backend does not block the others). When a backend belongs to
 * several pools, the pool whose oldest waiter is oldest is served first.
 * Requests that call seam_capacity_try_acquire directly can overtake
 * waiters; callers avoid that by enqueueing (not trying a slot) whenever
 * seam_capacity_depth() of the pool is not zero.
 */
#ifndef SEAM_UPSTREAM_CAPACITY_H
#define SEAM_UPSTREAM_CAPACITY_H

#include "config/config.h"
#include "core/rc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;

typedef struct seam_capacity seam_capacity;
typedef struct seam_capacity_wait seam_capacity_wait;

/* One pool as the capacity object sees it: its members and its queue bound. */
typedef struct seam_capacity_pool_spec {
    const size_t *backends; /* indexes < nbackends of seam_capacity_new */
    size_t nbackends;
    size_t queue_max; /* waiters at once across all workers; 0 = no queue */
} seam_capacity_pool_spec;

/* Creates the slots of <nbackends> backends, backend i allowing
 * <max_concurrency>[i] requests at once (0 = unlimited; <max_concurrency>
 * may be NULL: all unlimited), and the queues of <npools> pools described
 * by <pools>. Copies everything it needs. Returns NULL when out of memory
 * or when a pool names a backend index >= <nbackends>. */
seam_capacity *seam_capacity_new(size_t nbackends, const uint64_t *max_concurrency, size_t npools,
                                 const seam_capacity_pool_spec *pools);

/* The same from a loaded configuration: backends[i].max_concurrency and
 * pools[j].{backends, queue.max}. */
seam_capacity *seam_capacity_from_config(const seam_config *cfg);

/* Frees <cap>. Every wait must have ended first (its callback ran or it was
 * cancelled): a wait still queued holds an event of its worker's base. */
void seam_capacity_free(seam_capacity *cap);

/* Takes a slot of <backend> if it has one free; true when taken. The caller
 * owns the slot until it calls seam_capacity_release exactly once.
 * Lock-free; any thread. */
bool seam_capacity_try_acquire(seam_capacity *cap, size_t backend);

/* Gives back a slot of <backend>. If a pool containing <backend> has
 * waiters, the slot (or any free slot of that pool) goes to the oldest one
 * that may use it, before this returns. Any thread; a release without a
 * matching acquire is logged and ignored (the count never goes below 0). */
void seam_capacity_release(seam_capacity *cap, size_t backend);

/* True when <backend> has a free slot now (always true when unlimited). */
bool seam_capacity_has_room(const seam_capacity *cap, size_t backend);

/* True when no backend of <pool> has a free slot (a pool with no backends
 * is saturated). Waiters are not counted: see seam_capacity_depth. */
bool seam_capacity_saturated(const seam_capacity *cap, size_t pool);

/* For metrics and the dashboard: requests waiting in <pool>'s queue; its
 * bound; slots of <backend> in use; its limit (0 = unlimited). Out-of-range
 * indexes read as 0. */
size_t seam_capacity_depth(const seam_capacity *cap, size_t pool);
size_t seam_capacity_queue_max(const seam_capacity *cap, size_t pool);
uint64_t seam_capacity_inflight(const seam_capacity *cap, size_t backend);
uint64_t seam_capacity_limit(const seam_capacity *cap, size_t backend);

/* How a wait ended. There is no outcome for cancellation: a cancelled
 * wait's callback never runs. */
typedef enum {
    SEAM_CAPACITY_GRANTED = 0, /* a slot of <backend> is held for the waiter */
    SEAM_CAPACITY_TIMEOUT = 1, /* timeout_ms passed; nothing is held */
} seam_capacity_outcome;

/* <backend> is the backend whose slot the waiter now owns (GRANTED), or
 * SIZE_MAX (TIMEOUT). The wait handle is already freed when this runs. */
typedef void (*seam_capacity_cb)(void *arg, seam_capacity_outcome outcome, size_t backend);

/* Queues a request for a slot of <pool>, on the worker whose loop is
 * <base>. <eligible> lists the backends the request may use (those of the
 * pool that its clearance, capabilities and health allow, as the caller
 * judged them before queueing); NULL means every backend of the pool.
 * Indexes not in the pool are ignored. A grant is only ever a slot of an
 * eligible backend.
 *
 * If a slot is free and nobody older waits for it, the wait is granted at
 * once; otherwise it joins the queue unless the queue already holds
 * queue_max waiters. <timeout_ms> bounds the wait (0 = no bound: wait until
 * granted or cancelled).
 *
 * Returns
 *   SEAM_OK          <*out> is the wait; <cb>(<arg>, ...) will run exactly
 *                    once on <base>'s loop (never inside this call) unless
 *                    seam_capacity_cancel(<*out>) is called first;
 *   SEAM_ERR_TOO_BIG the queue is full (HTTP 429 with Retry-After);
 *   SEAM_ERR_INVALID <pool> out of range or no eligible backend in it;
 *   SEAM_ERR_NOMEM   out of memory.
 * On any error <*out> is NULL and <cb> never runs.
 *
 * Must be called on <base>'s own thread, and <base> must have been created
 * after evthread_use_pthreads(). */
seam_rc seam_capacity_enqueue(seam_capacity *cap, size_t pool, struct event_base *base,
                              uint64_t timeout_ms, const size_t *eligible, size_t neligible,
                              seam_capacity_cb cb, void *arg, seam_capacity_wait **out);

/* Abandons <w> (the client left, the worker shuts down): its callback will
 * not run, and <w> is freed. If a slot was granted but not yet delivered,
 * the slot is released (to the next waiter, if any). Call it only on the
 * waiter's own thread and only before its callback has run; NULL is a
 * no-op. */
void seam_capacity_cancel(seam_capacity_wait *w);

#endif
