/*
 * A bump allocator over a list of blocks. Large allocations get a block of
 * their own, so a 1 MB prompt does not waste a whole default-sized block.
 */
#include "core/arena.h"
#include "core/alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define ARENA_ALIGN 16

struct arena_block {
    struct arena_block *next;
    size_t size, used;
    _Alignas(ARENA_ALIGN) unsigned char data[];
};

struct arena_hook {
    struct arena_hook *next;
    void (*fn)(void *);
    void *arg;
};

struct seam_arena {
    struct arena_block *blocks;
    struct arena_hook *hooks;
    size_t block_size, total;
};

seam_arena *seam_arena_new(size_t block_size)
{
    seam_arena *a = seam_calloc(1, sizeof(*a));
    if (a)
        a->block_size = block_size < 256 ? 256 : block_size;
    return a;
}

void *seam_arena_alloc(seam_arena *a, size_t n)
{
    n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (n == 0)
        n = ARENA_ALIGN;
    struct arena_block *b = a->blocks;
    if (!b || b->size - b->used < n) {
        size_t size = n > a->block_size / 2 ? n : a->block_size;
        if (size > SIZE_MAX - sizeof(*b))
            return NULL;
        struct arena_block *nb = seam_malloc(sizeof(*nb) + size);
        if (!nb)
            return NULL;
        nb->size = size;
        nb->used = 0;
        if (b && size == n && b->size - b->used >= ARENA_ALIGN) {
            /* A dedicated block for a big object: keep the current block in
             * front so its free space still serves small allocations. */
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            a->blocks = nb;
        }
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += n;
    a->total += n;
    return p;
}

void *seam_arena_calloc(seam_arena *a, size_t n)
{
    void *p = seam_arena_alloc(a, n);
    if (p)
        memset(p, 0, n);
    return p;
}

char *seam_arena_strndup(seam_arena *a, const char *s, size_t n)
{
    char *d = seam_arena_alloc(a, n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

char *seam_arena_strdup(seam_arena *a, const char *s)
{
    return seam_arena_strndup(a, s, strlen(s));
}

char *seam_arena_printf(seam_arena *a, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *d = n < 0 ? NULL : seam_arena_alloc(a, (size_t)n + 1);
    if (d)
        vsnprintf(d, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return d;
}

int seam_arena_on_free(seam_arena *a, void (*fn)(void *), void *arg)
{
    struct arena_hook *h = seam_arena_alloc(a, sizeof(*h));
    if (!h)
        return -1;
    h->fn = fn;
    h->arg = arg;
    h->next = a->hooks;
    a->hooks = h;
    return 0;
}

void seam_arena_free(seam_arena *a)
{
    if (!a)
        return;
    for (struct arena_hook *h = a->hooks; h; h = h->next)
        h->fn(h->arg);
    struct arena_block *b = a->blocks;
    while (b) {
        struct arena_block *next = b->next;
        seam_free(b);
        b = next;
    }
    seam_free(a);
}

size_t seam_arena_used(const seam_arena *a)
{
    return a->total;
}
