/*
 * Allocation wrapper with optional fault injection. The countdown is an
 * atomic so that fault injection stays well defined when tests run workers.
 */
#include "core/alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_long fail_countdown = -1;

static int should_fail(void)
{
    long n = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
    if (n < 0)
        return 0;
    if (n == 0)
        return 1;
    atomic_fetch_sub_explicit(&fail_countdown, 1, memory_order_relaxed);
    return 0;
}

void seam_alloc_fail_after(long n)
{
    atomic_store(&fail_countdown, n);
}

void *seam_malloc(size_t n)
{
    return should_fail() ? NULL : malloc(n ? n : 1);
}

void *seam_calloc(size_t count, size_t n)
{
    return should_fail() ? NULL : calloc(count ? count : 1, n ? n : 1);
}

void *seam_realloc(void *p, size_t n)
{
    return should_fail() ? NULL : realloc(p, n ? n : 1);
}

void seam_free(void *p)
{
    free(p);
}

char *seam_strndup(const char *s, size_t n)
{
    char *d = seam_malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

char *seam_strdup(const char *s)
{
    return s ? seam_strndup(s, strlen(s)) : NULL;
}
