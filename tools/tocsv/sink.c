/*
 * The output sink: rows are gathered into blocks of about a megabyte;
 * each block goes to one output file, the one that has had the fewest
 * bytes so far, so the files of --split grow evenly.  The last blocks are
 * held back and shared out row by row at the end, so the files end up
 * within a row or so of the same size however small the input.
 *
 * gzip: each block is compressed by a pool of threads into a gzip member
 * of its own (libdeflate, whole-buffer); a file is the concatenation of
 * its members, which is a valid gzip file that gzip, zcat, PostgreSQL and
 * Redshift read whole.  One writer thread writes the blocks in the order
 * they were made, so the output is the same whatever the timing.
 *
 * Memory is bounded: blocks in flight (twice the threads, plus two) and
 * blocks held back (one per file, smaller blocks when there are many
 * files).
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libdeflate.h>

#include "msg.h"
#include "out.h"
#include "tocsv.h"

#define BLOCK_MAX	((size_t)1 << 20)
#define BLOCK_MIN	((size_t)64 << 10)
#define HOLD_BUDGET	((size_t)64 << 20)

struct block {
	struct block	*next;		/* free list */
	struct cdr_buf	 data;
	size_t		*ends;		/* row ends, kept for held blocks */
	size_t		 nrows;
	size_t		 rowcap;
	unsigned char	*z;		/* the gzip member */
	size_t		 zlen;
	size_t		 zcap;
	unsigned	 file;
	int		 done;		/* compressed, or nothing to do */
	int		 is_head;
};

struct file {
	char			*path;
	struct cdr_out		*out;
	unsigned long long	 assigned;	/* data bytes given to it */
	unsigned long long	 size;		/* after commit */
	int			 started;	/* its head is on the way */
};

struct sink {
	struct sink_opts	 o;
	struct file		*files;
	unsigned		 nfiles;
	size_t			 block_size;
	char			*head;
	size_t			 headlen;
	struct block		*cur;

	/* Blocks held back, oldest first (a ring of hold_max + 1). */
	struct block		**held;
	size_t			 held_first;
	size_t			 nheld;
	size_t			 hold_max;

	/* Files ordered by bytes given so far (binary heap of indexes). */
	unsigned		*heap;

	/* Blocks on their way out, by sequence number (a ring). */
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv_work;	/* a block to compress */
	pthread_cond_t		 cv_write;	/* a block to write */
	pthread_cond_t		 cv_space;	/* a slot or a block free */
	struct block		**ring;
	size_t			 ringcap;
	unsigned long long	 seq_submit;
	unsigned long long	 seq_work;
	unsigned long long	 seq_write;
	int			 ending;
	struct block		*free_list;
	size_t			 nblocks;
	size_t			 max_blocks;
	pthread_t		*workers;
	unsigned		 nworkers;
	pthread_t		 writer;
	int			 threads_up;
};

static void lock(struct sink *s);
static void unlock(struct sink *s);
static void wait_on(struct sink *s, pthread_cond_t *cv);
static char *part_name(const char *prefix, unsigned i, unsigned n, int gzip);
static void raise_nofile(unsigned nfiles);
static void start_threads(struct sink *s);
static struct block *get_block(struct sink *s);
static void put_block(struct sink *s, struct block *b);
static void free_block(struct block *b);
static void submit(struct sink *s, struct block *b, unsigned file);
static void submit_head(struct sink *s, unsigned file);
static void dispatch(struct sink *s, struct block *b, unsigned file);
static int heap_less(const struct sink *s, unsigned a, unsigned b);
static void heap_fix(struct sink *s);
static unsigned take_smallest(struct sink *s, size_t n);
static void share_held(struct sink *s);
static void *worker_main(void *arg);
static void *writer_main(void *arg);
static void stop_threads(struct sink *s);

static void
lock(struct sink *s)
{
	int e = pthread_mutex_lock(&s->mu);

	if (e != 0) {
		errno = e;
		cdr_die_errno(CDR_EXIT_INTERNAL, "pthread_mutex_lock");
	}
}

static void
unlock(struct sink *s)
{
	pthread_mutex_unlock(&s->mu);
}

static void
wait_on(struct sink *s, pthread_cond_t *cv)
{
	int e = pthread_cond_wait(cv, &s->mu);

	if (e != 0) {
		errno = e;
		cdr_die_errno(CDR_EXIT_INTERNAL, "pthread_cond_wait");
	}
}

static char *
part_name(const char *prefix, unsigned i, unsigned n, int gzip)
{
	char *p;
	int width = 4;
	unsigned k;

	for (k = n - 1; k >= 10000; k /= 10)
		width++;
	p = cdr_xmalloc(strlen(prefix) + 32);
	sprintf(p, "%s.%0*u.csv%s", prefix, width, i, gzip ? ".gz" : "");
	return p;
}

/* Many parts are many open files: raise the soft limit as far as allowed. */
static void
raise_nofile(unsigned nfiles)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)nfiles + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
		cdr_die(CDR_EXIT_IO, "--split %u: needs %llu open files, the "
		    "limit is %llu (ulimit -Hn)", nfiles,
		    (unsigned long long)want, (unsigned long long)rl.rlim_max);
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		cdr_die_errno(CDR_EXIT_IO, "--split %u: cannot raise the open "
		    "file limit", nfiles);
}

struct sink *
sink_open(const struct sink_opts *o)
{
	struct sink *s = cdr_xcalloc(1, sizeof(*s));
	struct stat st;
	unsigned i;
	char *stale;

	s->o = *o;
	s->nfiles = o->split > 0 ? o->split : 1;
	raise_nofile(s->nfiles);
	s->files = cdr_xcalloc(s->nfiles, sizeof(*s->files));
	for (i = 0; i < s->nfiles; i++) {
		s->files[i].path = o->split > 0 ?
		    part_name(o->path, i, s->nfiles, o->gzip) :
		    cdr_xstrdup(o->path);
		s->files[i].out = cdr_out_open(s->files[i].path,
		    o->force ? CDR_OUT_FORCE : 0);
		if (s->files[i].out == NULL) {
			while (i-- > 0)
				cdr_out_abort(s->files[i].out);
			exit(CDR_EXIT_IO);
		}
	}
	if (o->split > 0) {
		/* Parts of an earlier run with more files would load twice. */
		stale = part_name(o->path, s->nfiles, s->nfiles + 1, o->gzip);
		if (stat(stale, &st) == 0)
			cdr_warn("%s: left from an earlier run; a load of "
			    "every part would read it too", stale);
		free(stale);
	}
	s->block_size = BLOCK_MAX;
	if (s->nfiles > 1) {
		s->block_size = HOLD_BUDGET / s->nfiles;
		if (s->block_size > BLOCK_MAX)
			s->block_size = BLOCK_MAX;
		if (s->block_size < BLOCK_MIN)
			s->block_size = BLOCK_MIN;
		/* One block a file, within the budget. */
		s->hold_max = HOLD_BUDGET / s->block_size;
		if (s->hold_max > s->nfiles)
			s->hold_max = s->nfiles;
	}
	s->held = cdr_xcalloc(s->hold_max + 1, sizeof(*s->held));
	s->heap = cdr_xcalloc(s->nfiles, sizeof(*s->heap));
	for (i = 0; i < s->nfiles; i++)
		s->heap[i] = i;
	s->nworkers = o->gzip ? (o->threads > 0 ? o->threads : 1) : 0;
	s->ringcap = 2 * (size_t)s->nworkers + 2;
	if (s->ringcap < 4)
		s->ringcap = 4;
	s->ring = cdr_xcalloc(s->ringcap, sizeof(*s->ring));
	s->max_blocks = s->hold_max + s->ringcap + 2;
	start_threads(s);
	s->cur = get_block(s);
	return s;
}

static void
start_threads(struct sink *s)
{
	unsigned i;
	int e;

	if ((e = pthread_mutex_init(&s->mu, NULL)) != 0 ||
	    (e = pthread_cond_init(&s->cv_work, NULL)) != 0 ||
	    (e = pthread_cond_init(&s->cv_write, NULL)) != 0 ||
	    (e = pthread_cond_init(&s->cv_space, NULL)) != 0) {
		errno = e;
		cdr_die_errno(CDR_EXIT_IO, "cannot start threads");
	}
	s->workers = cdr_xcalloc(s->nworkers ? s->nworkers : 1,
	    sizeof(*s->workers));
	for (i = 0; i < s->nworkers; i++) {
		e = pthread_create(&s->workers[i], NULL, worker_main, s);
		if (e != 0) {
			errno = e;
			cdr_die_errno(CDR_EXIT_IO, "cannot start threads");
		}
	}
	e = pthread_create(&s->writer, NULL, writer_main, s);
	if (e != 0) {
		errno = e;
		cdr_die_errno(CDR_EXIT_IO, "cannot start threads");
	}
	s->threads_up = 1;
}

void
sink_set_head(struct sink *s, const char *p, size_t n)
{
	free(s->head);
	s->head = cdr_xmalloc(n ? n : 1);
	memcpy(s->head, p, n);
	s->headlen = n;
}

struct cdr_buf *
sink_buf(struct sink *s)
{
	return &s->cur->data;
}

/* ---- blocks ---- */

static struct block *
get_block(struct sink *s)
{
	struct block *b;

	lock(s);
	while (s->free_list == NULL && s->nblocks >= s->max_blocks)
		wait_on(s, &s->cv_space);
	b = s->free_list;
	if (b != NULL)
		s->free_list = b->next;
	else
		s->nblocks++;
	unlock(s);
	if (b == NULL) {
		b = cdr_xcalloc(1, sizeof(*b));
		cdr_buf_reserve(&b->data, s->block_size + 4096);
	}
	b->data.len = 0;
	b->nrows = 0;
	b->zlen = 0;
	b->done = 0;
	b->is_head = 0;
	b->next = NULL;
	return b;
}

/* Called with the lock held. */
static void
put_block(struct sink *s, struct block *b)
{
	b->next = s->free_list;
	s->free_list = b;
	pthread_cond_broadcast(&s->cv_space);
}

static void
free_block(struct block *b)
{
	cdr_buf_free(&b->data);
	free(b->ends);
	free(b->z);
	free(b);
}

/* Hands b to the threads: compressed (gzip) and written, in order. */
static void
submit(struct sink *s, struct block *b, unsigned file)
{
	b->file = file;
	b->done = !s->o.gzip;
	lock(s);
	while (s->seq_submit - s->seq_write >= s->ringcap)
		wait_on(s, &s->cv_space);
	s->ring[s->seq_submit % s->ringcap] = b;
	s->seq_submit++;
	if (s->o.gzip)
		pthread_cond_signal(&s->cv_work);
	else
		pthread_cond_signal(&s->cv_write);
	unlock(s);
}

static void
submit_head(struct sink *s, unsigned file)
{
	struct block *b;

	s->files[file].started = 1;
	/* gzip: even an empty file is one (empty) gzip member. */
	if (s->headlen == 0 && !s->o.gzip)
		return;
	b = get_block(s);
	cdr_buf_add(&b->data, s->head, s->headlen);
	b->is_head = 1;
	submit(s, b, file);
}

static void
dispatch(struct sink *s, struct block *b, unsigned file)
{
	if (!s->files[file].started)
		submit_head(s, file);
	submit(s, b, file);
}

/* ---- balancing ---- */

static int
heap_less(const struct sink *s, unsigned a, unsigned b)
{
	const struct file *fa = &s->files[a], *fb = &s->files[b];

	return fa->assigned < fb->assigned ||
	    (fa->assigned == fb->assigned && a < b);
}

/* The root's count grew: move it down to its place. */
static void
heap_fix(struct sink *s)
{
	unsigned *h = s->heap, n = s->nfiles, i = 0, l, m, t;

	for (;;) {
		l = 2 * i + 1;
		if (l >= n)
			break;
		m = l;
		if (l + 1 < n && heap_less(s, h[l + 1], h[l]))
			m = l + 1;
		if (!heap_less(s, h[m], h[i]))
			break;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

/* The file with the fewest bytes takes n more. */
static unsigned
take_smallest(struct sink *s, size_t n)
{
	unsigned f = s->heap[0];

	s->files[f].assigned += n;
	heap_fix(s);
	return f;
}

void
sink_row_end(struct sink *s)
{
	struct block *b = s->cur, *old;

	if (s->hold_max > 0) {
		if (b->nrows == b->rowcap) {
			b->rowcap = b->rowcap ? b->rowcap * 2 : 1024;
			b->ends = cdr_xreallocarray(b->ends, b->rowcap,
			    sizeof(*b->ends));
		}
		b->ends[b->nrows++] = b->data.len;
	}
	if (b->data.len < s->block_size)
		return;
	if (s->hold_max == 0) {
		s->files[0].assigned += b->data.len;
		dispatch(s, b, 0);
	} else {
		s->held[(s->held_first + s->nheld) % (s->hold_max + 1)] = b;
		s->nheld++;
		if (s->nheld > s->hold_max) {
			old = s->held[s->held_first];
			s->held_first = (s->held_first + 1) % (s->hold_max + 1);
			s->nheld--;
			dispatch(s, old, take_smallest(s, old->data.len));
		}
	}
	s->cur = get_block(s);
}

/* Shares the held rows out one by one to the smallest file. */
static void
share_held(struct sink *s)
{
	struct block **pend, *b;
	size_t i, r, start, len;
	unsigned f;

	pend = cdr_xcalloc(s->nfiles, sizeof(*pend));
	/* The pending blocks of every file, on top of the usual budget. */
	lock(s);
	s->max_blocks += s->nfiles;
	unlock(s);
	for (i = 0; i < s->nheld; i++) {
		b = s->held[(s->held_first + i) % (s->hold_max + 1)];
		for (r = 0, start = 0; r < b->nrows; r++) {
			len = b->ends[r] - start;
			f = take_smallest(s, len);
			if (pend[f] == NULL)
				pend[f] = get_block(s);
			cdr_buf_add(&pend[f]->data, b->data.p + start, len);
			start = b->ends[r];
			if (pend[f]->data.len >= s->block_size) {
				dispatch(s, pend[f], f);
				pend[f] = NULL;
			}
		}
		lock(s);
		put_block(s, b);
		unlock(s);
	}
	s->nheld = 0;
	for (f = 0; f < s->nfiles; f++)
		if (pend[f] != NULL)
			dispatch(s, pend[f], f);
	free(pend);
}

/* ---- threads ---- */

static void *
worker_main(void *arg)
{
	struct sink *s = arg;
	struct libdeflate_compressor *c;
	struct block *b;
	size_t bound;

	c = libdeflate_alloc_compressor(s->o.level);
	if (c == NULL)
		cdr_die(CDR_EXIT_IO, "cannot start gzip (level %d)",
		    s->o.level);
	lock(s);
	for (;;) {
		while (s->seq_work == s->seq_submit && !s->ending)
			wait_on(s, &s->cv_work);
		if (s->seq_work == s->seq_submit)
			break;
		b = s->ring[s->seq_work % s->ringcap];
		s->seq_work++;
		unlock(s);
		bound = libdeflate_gzip_compress_bound(c, b->data.len);
		if (bound > b->zcap) {
			free(b->z);
			b->z = cdr_xmalloc(bound);
			b->zcap = bound;
		}
		b->zlen = libdeflate_gzip_compress(c, b->data.p, b->data.len,
		    b->z, b->zcap);
		if (b->zlen == 0)
			cdr_die(CDR_EXIT_INTERNAL, "gzip compression failed");
		lock(s);
		b->done = 1;
		pthread_cond_broadcast(&s->cv_write);
	}
	unlock(s);
	libdeflate_free_compressor(c);
	return NULL;
}

static void *
writer_main(void *arg)
{
	struct sink *s = arg;
	struct cdr_out *out;
	struct block *b;

	lock(s);
	for (;;) {
		while (s->seq_write < s->seq_submit &&
		    !s->ring[s->seq_write % s->ringcap]->done)
			wait_on(s, &s->cv_write);
		if (s->seq_write == s->seq_submit) {
			if (s->ending)
				break;
			wait_on(s, &s->cv_write);
			continue;
		}
		b = s->ring[s->seq_write % s->ringcap];
		out = s->files[b->file].out;
		unlock(s);
		if (s->o.gzip)
			cdr_out_write(out, b->z, b->zlen);
		else
			cdr_out_write(out, b->data.p, b->data.len);
		lock(s);
		s->seq_write++;
		put_block(s, b);
	}
	unlock(s);
	return NULL;
}

static void
stop_threads(struct sink *s)
{
	unsigned i;

	lock(s);
	s->ending = 1;
	pthread_cond_broadcast(&s->cv_work);
	pthread_cond_broadcast(&s->cv_write);
	unlock(s);
	for (i = 0; i < s->nworkers; i++)
		pthread_join(s->workers[i], NULL);
	pthread_join(s->writer, NULL);
	s->threads_up = 0;
}

void
sink_finish(struct sink *s, int commit)
{
	struct stat st;
	unsigned i;

	if (commit) {
		if (s->cur->data.len > 0) {
			if (s->hold_max == 0) {
				s->files[0].assigned += s->cur->data.len;
				dispatch(s, s->cur, 0);
			} else {
				s->held[(s->held_first + s->nheld) %
				    (s->hold_max + 1)] = s->cur;
				s->nheld++;
			}
			s->cur = NULL;
		}
		if (s->nheld > 0)
			share_held(s);
		for (i = 0; i < s->nfiles; i++)
			if (!s->files[i].started)
				submit_head(s, i);
	}
	stop_threads(s);
	/* Every file written and durable before the first rename. */
	for (i = 0; commit && i < s->nfiles; i++)
		cdr_out_sync(s->files[i].out);
	for (i = 0; i < s->nfiles; i++) {
		if (!commit) {
			cdr_out_abort(s->files[i].out);
			s->files[i].out = NULL;
			continue;
		}
		cdr_out_commit(s->files[i].out);
		s->files[i].out = NULL;
		if (strcmp(s->files[i].path, "-") != 0 &&
		    stat(s->files[i].path, &st) == 0)
			s->files[i].size = (unsigned long long)st.st_size;
	}
}

size_t
sink_nfiles(const struct sink *s)
{
	return s->nfiles;
}

const char *
sink_file_path(const struct sink *s, size_t i)
{
	return s->files[i].path;
}

unsigned long long
sink_file_size(const struct sink *s, size_t i)
{
	return s->files[i].size;
}

void
sink_free(struct sink *s)
{
	struct block *b;
	unsigned i;

	if (s == NULL)
		return;
	if (s->threads_up)
		stop_threads(s);
	if (s->cur != NULL)
		free_block(s->cur);
	while (s->nheld > 0) {
		free_block(s->held[s->held_first]);
		s->held_first = (s->held_first + 1) % (s->hold_max + 1);
		s->nheld--;
	}
	while ((b = s->free_list) != NULL) {
		s->free_list = b->next;
		free_block(b);
	}
	for (i = 0; i < s->nfiles; i++)
		free(s->files[i].path);
	free(s->files);
	free(s->held);
	free(s->heap);
	free(s->ring);
	free(s->workers);
	free(s->head);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv_work);
	pthread_cond_destroy(&s->cv_write);
	pthread_cond_destroy(&s->cv_space);
	free(s);
}
