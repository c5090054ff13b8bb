/*
 * Large zeroed arrays (hash tables of millions of entries) on huge pages
 * where the kernel offers them: a few faults instead of one a 4 KiB page.
 * Freed with free().
 */
#ifndef CDR_BIGALLOC_H
#define CDR_BIGALLOC_H

#include <stddef.h>

/* As cdr_xmalloc (dies when out of memory); not zeroed. */
void *cdr_big_alloc(size_t bytes);
/* As cdr_xcalloc (dies when out of memory). */
void *cdr_big_calloc(size_t n, size_t size);

#endif
