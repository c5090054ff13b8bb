/*
 * Large zeroed arrays on transparent huge pages (madvise mode, the Debian
 * default).  Small arrays go to calloc.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bigalloc.h"
#include "msg.h"

#define HUGE_PAGE ((size_t)2 << 20)

void *
cdr_big_alloc(size_t bytes)
{
	void *p;

	if (bytes < HUGE_PAGE)
		return cdr_xmalloc(bytes);
	if (posix_memalign(&p, HUGE_PAGE, bytes) != 0)
		cdr_die(CDR_EXIT_IO, "out of memory (%zu bytes)", bytes);
	/* Advice only: without huge pages the memory works the same. */
	(void)madvise(p, bytes, MADV_HUGEPAGE);
	return p;
}

void *
cdr_big_calloc(size_t n, size_t size)
{
	size_t bytes;
	void *p;

	if (size != 0 && n > SIZE_MAX / size)
		cdr_die(CDR_EXIT_IO, "out of memory (%zu x %zu bytes)", n, size);
	bytes = n * size;
	if (bytes < HUGE_PAGE)
		return cdr_xcalloc(n, size);
	bytes = (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	p = cdr_big_alloc(bytes);
	memset(p, 0, bytes);
	return p;
}
