/*
 * Per-request memory pool. Everything a request parses and builds lives in
 * one arena, released by one seam_arena_free() when the request ends (as
 * h2o's req->pool and nginx's r->pool). Resources that are not memory (curl
 * handles, jansson values) register cleanup hooks, run in reverse order.
 */
#ifndef SEAM_CORE_ARENA_H
#define SEAM_CORE_ARENA_H

#include <stdarg.h>
#include <stddef.h>

typedef struct seam_arena seam_arena;

/* Creates an arena whose blocks are at least <block_size> bytes. */
seam_arena *seam_arena_new(size_t block_size);

/* Returns <n> bytes aligned for any type, or NULL when out of memory. The
 * memory lives until the arena is freed. */
void *seam_arena_alloc(seam_arena *a, size_t n);
void *seam_arena_calloc(seam_arena *a, size_t n);
char *seam_arena_strndup(seam_arena *a, const char *s, size_t n);
char *seam_arena_strdup(seam_arena *a, const char *s);
char *seam_arena_printf(seam_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Registers <fn>(<arg>) to run when the arena is freed. Returns 0, or -1 when
 * out of memory (in which case the hook will not run: the caller cleans up). */
int seam_arena_on_free(seam_arena *a, void (*fn)(void *), void *arg);

/* Runs the cleanup hooks (last registered first) and releases all memory. */
void seam_arena_free(seam_arena *a);

/* Bytes handed out so far (for limits and metrics). */
size_t seam_arena_used(const seam_arena *a);

#endif
