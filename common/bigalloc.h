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

/*
 * Blocks of one size whose pages a thread of their own faults in ahead of
 * use: a program that fills gigabytes of fresh memory spends much of its
 * time in the kernel zeroing pages, and this moves that work to another
 * processor.  Each block comes from cdr_big_alloc (not zeroed; freed with
 * free()).  Without a thread, blocks are allocated on the spot.
 */
struct cdr_big_ahead;

struct cdr_big_ahead *cdr_big_ahead_new(size_t block);
/* A block, and the next one starts being faulted in. */
void	*cdr_big_ahead_get(struct cdr_big_ahead *a);
/* Stops the thread and frees the block it holds; NULL is ignored. */
void	 cdr_big_ahead_free(struct cdr_big_ahead *a);

#endif
