/*
 * Large zeroed arrays on transparent huge pages (madvise mode, the Debian
 * default).  Small arrays go to calloc.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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

struct cdr_big_ahead {
	size_t		 block;
	pthread_t	 thread;
	pthread_mutex_t	 lock;
	pthread_cond_t	 ready, wanted;
	void		*spare;		/* faulted in, not yet taken */
	int		 running, stop;
};

static void
fault_in(void *p, size_t bytes)
{
	volatile char *c = p;
	size_t step = (size_t)sysconf(_SC_PAGESIZE), i;

	for (i = 0; i < bytes; i += step)
		c[i] = 0;
}

static void *
ahead_thread(void *arg)
{
	struct cdr_big_ahead *a = arg;
	void *p;

	pthread_mutex_lock(&a->lock);
	for (;;) {
		while (a->spare != NULL && !a->stop)
			pthread_cond_wait(&a->wanted, &a->lock);
		if (a->stop)
			break;
		pthread_mutex_unlock(&a->lock);
		p = cdr_big_alloc(a->block);
		fault_in(p, a->block);
		pthread_mutex_lock(&a->lock);
		a->spare = p;
		pthread_cond_signal(&a->ready);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

struct cdr_big_ahead *
cdr_big_ahead_new(size_t block)
{
	struct cdr_big_ahead *a = cdr_xcalloc(1, sizeof(*a));

	a->block = block;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->ready, NULL);
	pthread_cond_init(&a->wanted, NULL);
	a->running = pthread_create(&a->thread, NULL, ahead_thread, a) == 0;
	return a;
}

void *
cdr_big_ahead_get(struct cdr_big_ahead *a)
{
	void *p;

	if (!a->running)
		return cdr_big_alloc(a->block);
	pthread_mutex_lock(&a->lock);
	while (a->spare == NULL)
		pthread_cond_wait(&a->ready, &a->lock);
	p = a->spare;
	a->spare = NULL;
	pthread_cond_signal(&a->wanted);
	pthread_mutex_unlock(&a->lock);
	return p;
}

void
cdr_big_ahead_free(struct cdr_big_ahead *a)
{
	if (a == NULL)
		return;
	if (a->running) {
		pthread_mutex_lock(&a->lock);
		a->stop = 1;
		pthread_cond_signal(&a->wanted);
		pthread_mutex_unlock(&a->lock);
		pthread_join(a->thread, NULL);
	}
	free(a->spare);
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->ready);
	pthread_cond_destroy(&a->wanted);
	free(a);
}
