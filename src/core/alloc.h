/*
 * The one allocation wrapper. Every seam allocation goes through these so
 * that tests can count allocations and make the Nth one fail (as redis
 * zmalloc and curl's torture mode).
 */
#ifndef SEAM_CORE_ALLOC_H
#define SEAM_CORE_ALLOC_H

#include <stddef.h>

void *seam_malloc(size_t n);
void *seam_calloc(size_t count, size_t n);
void *seam_realloc(void *p, size_t n);
void seam_free(void *p);
char *seam_strdup(const char *s);
char *seam_strndup(const char *s, size_t n);

/* Test hook: after <n> more successful allocations, every allocation fails.
 * A negative <n> switches fault injection off. Not for production use. */
void seam_alloc_fail_after(long n);

#endif
