/*
 * The partition writer: pending bytes per partition in memory, batch files
 * written under hidden temporary names with a bounded number of open
 * files, and a commit at the end that makes every file durable and renames
 * it into place.
 *
 * Why not struct cdr_out per file: thousands of partitions would need
 * thousands of open descriptors, 256 KiB buffers and zlib streams.  Here a
 * file is closed and reopened (O_APPEND) as needed, and with --gzip every
 * write is a complete gzip member, so a few zlib streams serve all files
 * and a file is valid gzip (RFC 1952 allows members one after another)
 * however often it was reopened.
 *
 * Threads: the main thread reads records and fills partition buffers; a
 * full buffer becomes a job for the writer threads, which own everything
 * about the files (descriptors, compression, checksums, writes).  Jobs of
 * one file run one at a time in the order they were made; jobs of
 * different files run in parallel, which is what makes --gzip use every
 * core.
 *
 * Nothing is renamed before the end: a crash or kill -9 leaves only hidden
 * ".NAME.tmp.XXXXXX" files, never a visible partial file, and a record is
 * in exactly one file.  Durability: sync_file_range starts the write-back
 * of each write early, one syncfs() per file system before the renames
 * makes the data durable (an fsync per file costs seconds for thousands of
 * files), and a second one after them the names.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "write.h"
#include "partition.h"

#define CHUNK_MAX	((size_t)1 << 20)
#define CHUNK_MIN	((size_t)4 << 10)
#define BUF_START	((size_t)512)
#define WRITEBACK_MIN	((uint64_t)1 << 20)

enum {
	JOB_CLOSE = 1 << 0,	/* close the file after the write */
	JOB_TOUCH = 1 << 1	/* make the file exist even with no bytes */
};

struct ofile {
	/* The main thread's. */
	struct part	*part;
	uint32_t	 seq;
	uint64_t	 records;
	uint64_t	 data_bytes;	/* before compression */
	char		*final;		/* set at commit */
	/* The writer threads', under the writer's lock or while busy. */
	int		 busy;		/* a thread is writing it */
	int		 fd;		/* -1 when closed */
	int		 created;	/* the temporary file exists */
	char		*tmp;
	uint64_t	 file_bytes;
	uint64_t	 synced;	/* write-back started up to here */
	uint32_t	 crc;
	struct ofile	*prev;		/* open files, most recent first */
	struct ofile	*next;
};

struct part {
	char		*dir;		/* the directory, with the root */
	char		*stem;
	char		*ext;
	char		*extra;
	int		 dir_ok;	/* the writer threads' */
	struct ofile	*cur;
	uint32_t	 nfiles;
	char		*buf;		/* pending bytes of cur */
	size_t		 len;
	size_t		 cap;
};

struct job {
	struct job	*next;
	struct ofile	*f;
	char		*buf;
	size_t		 len;
	size_t		 cap;
	int		 flags;
};

struct worker {
	struct writer	*w;
	pthread_t	 thread;
	z_stream	 z;
	int		 zinit;
	unsigned char	*zbuf;
	size_t		 zcap;
};

struct dev {
	dev_t		 dev;
	char		*dir;
};

struct writer {
	struct writer_opts	 o;
	int			 replace;
	int			 rotate;
	const char		*gz_suffix;
	mode_t			 mode;
	size_t			 chunk;
	char			*header;
	size_t			 header_len;
	struct part		**parts;
	size_t			 nparts;
	size_t			 capparts;
	struct ofile		**files;	/* in order of creation */
	size_t			 nfiles;
	size_t			 capfiles;
	size_t			 pending;	/* bytes of partition buffers */
	/* Shared with the writer threads, under mu. */
	pthread_mutex_t		 mu;
	pthread_cond_t		 work;		/* a job, or the end */
	pthread_cond_t		 space;		/* queued bytes went down */
	struct job		*head;
	struct job		*tail;
	size_t			 queued;	/* bytes of queued buffers */
	size_t			 queue_max;
	int			 stopping;
	struct worker		*workers;
	size_t			 nworkers;
	char			**spare;	/* empty buffers of chunk bytes */
	size_t			 nspare;
	size_t			 maxspare;
	struct ofile		**tracked;	/* in order of cdr_out_track_tmp */
	size_t			 ntracked;
	size_t			 captracked;
	struct ofile		*lru_head;
	struct ofile		*lru_tail;
	size_t			 nopen;
	struct map		 dirs;		/* directories known to exist */
	struct dev		*devs;
	size_t			 ndevs;
};

static void *
grow_array(void *p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 64;
	return cdr_xreallocarray(p, *cap, size);
}

static void
add_dev(struct writer *w, dev_t dev, const char *dir)
{
	size_t i;

	for (i = 0; i < w->ndevs; i++)
		if (w->devs[i].dev == dev)
			return;
	w->devs = cdr_xreallocarray(w->devs, w->ndevs + 1, sizeof(*w->devs));
	w->devs[w->ndevs].dev = dev;
	w->devs[w->ndevs].dir = cdr_xstrdup(dir);
	w->ndevs++;
}

/* mkdir -p for the root: the user's own path, symbolic links allowed. */
static void
make_root(const char *path)
{
	char *p = cdr_xstrdup(path), *s;
	struct stat st;
	char c;

	for (s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		c = *s;
		*s = '\0';
		if (mkdir(p, 0777) != 0 && errno != EEXIST &&
		    !(errno == EACCES && stat(p, &st) == 0))
			cdr_die_errno(CDR_EXIT_IO, "%s: cannot create directory",
			    p);
		*s = c;
		if (c == '\0')
			break;
	}
	if (stat(path, &st) != 0)
		cdr_die_errno(CDR_EXIT_IO, "%s", path);
	if (!S_ISDIR(st.st_mode))
		cdr_die(CDR_EXIT_IO, "%s: not a directory", path);
	if (access(path, W_OK | X_OK) != 0)
		cdr_die_errno(CDR_EXIT_IO, "%s", path);
	free(p);
}

static void *worker_main(void *arg);

struct writer *
writer_new(const struct writer_opts *o)
{
	struct writer *w = cdr_xcalloc(1, sizeof(*w));
	sigset_t all, old;
	struct stat st;
	size_t i;
	int rc;

	w->o = *o;
	w->replace = o->force || o->batch_id != NULL;
	w->rotate = o->max_records > 0 || o->max_bytes > 0;
	w->gz_suffix = "";
	w->chunk = o->budget / 16;
	if (w->chunk > CHUNK_MAX)
		w->chunk = CHUNK_MAX;
	if (w->chunk < CHUNK_MIN)
		w->chunk = CHUNK_MIN;
	w->queue_max = o->budget / 2;
	/* Full buffers are reused rather than freed and faulted in again. */
	w->maxspare = w->queue_max / w->chunk + 4;
	w->spare = cdr_xcalloc(w->maxspare, sizeof(*w->spare));
	w->nworkers = o->threads > 0 ? o->threads : 1;
	/* A thread's file is never closed under it: one more to rotate. */
	if (w->o.max_open < w->nworkers + 1)
		w->o.max_open = w->nworkers + 1;
	w->mode = umask(0);
	umask(w->mode);
	w->mode = 0666 & ~w->mode;
	map_init(&w->dirs);
	make_root(o->dir);
	if (stat(o->dir, &st) != 0)
		cdr_die_errno(CDR_EXIT_IO, "%s", o->dir);
	add_dev(w, st.st_dev, o->dir);
	map_put(&w->dirs, o->dir, strlen(o->dir), w);

	if (pthread_mutex_init(&w->mu, NULL) != 0 ||
	    pthread_cond_init(&w->work, NULL) != 0 ||
	    pthread_cond_init(&w->space, NULL) != 0)
		cdr_die(CDR_EXIT_INTERNAL, "cannot set up threads");
	w->workers = cdr_xcalloc(w->nworkers, sizeof(*w->workers));
	/* Signals go to the main thread, whose handlers remove temporaries. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < w->nworkers; i++) {
		w->workers[i].w = w;
		rc = pthread_create(&w->workers[i].thread, NULL, worker_main,
		    &w->workers[i]);
		if (rc != 0) {
			errno = rc;
			cdr_die_errno(CDR_EXIT_IO, "cannot start a thread");
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return w;
}

void
writer_set_header(struct writer *w, const char *p, size_t n)
{
	free(w->header);
	w->header = cdr_xmalloc(n ? n : 1);
	memcpy(w->header, p, n);
	w->header_len = n;
}

struct part *
writer_part(struct writer *w, const char *reldir, const char *stem,
    const char *ext, const char *extra)
{
	struct part *p = cdr_xcalloc(1, sizeof(*p));
	size_t n;

	if (*reldir == '\0') {
		p->dir = cdr_xstrdup(w->o.dir);
	} else {
		n = strlen(w->o.dir) + strlen(reldir) + 2;
		p->dir = cdr_xmalloc(n);
		snprintf(p->dir, n, "%s/%s", w->o.dir, reldir);
	}
	p->stem = cdr_xstrdup(stem);
	p->ext = cdr_xstrdup(ext);
	p->extra = cdr_xstrdup(extra);
	/* Every partition has the same extension: decide once, before any
	 * writer thread reads it. */
	if (w->o.gzip && w->nparts == 0) {
		n = strlen(ext);
		w->gz_suffix = n >= 3 && strcmp(ext + n - 3, ".gz") == 0 ?
		    "" : ".gz";
	}
	w->parts = grow_array(w->parts, &w->capparts, w->nparts,
	    sizeof(*w->parts));
	w->parts[w->nparts++] = p;
	return p;
}

/*
 * The file name of a partition's batch: STEM[@BATCH][~SEQ]EXT[.gz];
 * seq < 0 is the name without a sequence number.  Encoded values and
 * batch ids never hold '@' or '~', so no two partitions, batches or
 * sequence numbers ever share a name, whatever options earlier runs had.
 */
static char *
file_name(const struct writer *w, const struct part *p, long seq, int gz)
{
	struct cdr_buf b = CDR_BUF_INIT;

	cdr_buf_printf(&b, "%s/%s", p->dir, p->stem);
	if (w->o.batch_id != NULL)
		cdr_buf_printf(&b, "@%s", w->o.batch_id);
	if (seq >= 0)
		cdr_buf_printf(&b, "~%05ld", seq);
	cdr_buf_adds(&b, p->ext);
	if (gz)
		cdr_buf_adds(&b, ".gz");
	return b.p;
}

static char *
final_name(const struct writer *w, const struct ofile *f)
{
	return file_name(w, f->part, w->rotate ? (long)f->seq : -1,
	    *w->gz_suffix != '\0');
}

/* ---- the writer threads: directories and files, under mu ---- */

static void
ensure_dir(struct writer *w, const char *path)
{
	struct stat st;
	const char *slash;
	char *parent;

	if (map_get(&w->dirs, path, strlen(path)) != NULL)
		return;
	if (mkdir(path, 0777) != 0) {
		if (errno == ENOENT) {
			slash = strrchr(path, '/');
			if (slash == NULL || slash == path)
				cdr_die_errno(CDR_EXIT_IO, "%s", path);
			parent = cdr_xstrndup(path, (size_t)(slash - path));
			ensure_dir(w, parent);
			free(parent);
			if (mkdir(path, 0777) != 0 && errno != EEXIST)
				cdr_die_errno(CDR_EXIT_IO,
				    "%s: cannot create directory", path);
		} else if (errno != EEXIST) {
			cdr_die_errno(CDR_EXIT_IO, "%s: cannot create directory",
			    path);
		}
	}
	if (lstat(path, &st) != 0)
		cdr_die_errno(CDR_EXIT_IO, "%s", path);
	/* A link planted inside the tree could lead writes out of it. */
	if (S_ISLNK(st.st_mode))
		cdr_die(CDR_EXIT_IO, "%s: a symbolic link inside the output "
		    "directory (not followed)", path);
	if (!S_ISDIR(st.st_mode))
		cdr_die(CDR_EXIT_IO, "%s: not a directory", path);
	add_dev(w, st.st_dev, path);
	map_put(&w->dirs, path, strlen(path), w);
}

static void
lru_unlink(struct writer *w, struct ofile *f)
{
	if (f->prev != NULL)
		f->prev->next = f->next;
	else
		w->lru_head = f->next;
	if (f->next != NULL)
		f->next->prev = f->prev;
	else
		w->lru_tail = f->prev;
	f->prev = f->next = NULL;
}

static void
lru_push(struct writer *w, struct ofile *f)
{
	f->prev = NULL;
	f->next = w->lru_head;
	if (w->lru_head != NULL)
		w->lru_head->prev = f;
	w->lru_head = f;
	if (w->lru_tail == NULL)
		w->lru_tail = f;
}

/*
 * Starts the write-back of what was written since the last call, so that
 * the sync at the end is short: in large pieces, and at close.
 */
static void
start_writeback(struct writer *w, struct ofile *f, uint64_t min)
{
	if (!w->o.fsync || f->file_bytes - f->synced < min ||
	    f->file_bytes == f->synced)
		return;
	(void)sync_file_range(f->fd, (off_t)f->synced,
	    (off_t)(f->file_bytes - f->synced), SYNC_FILE_RANGE_WRITE);
	f->synced = f->file_bytes;
}

static void
close_file(struct writer *w, struct ofile *f)
{
	if (f->fd < 0)
		return;
	lru_unlink(w, f);
	w->nopen--;
	/* close can report a deferred write error (NFS). */
	if (close(f->fd) != 0) {
		f->fd = -1;
		cdr_die_errno(CDR_EXIT_IO, "%s: close", f->tmp);
	}
	f->fd = -1;
}

/* Closes the least recently used file no thread is writing; 0 if none. */
static int
close_oldest(struct writer *w)
{
	struct ofile *f;

	for (f = w->lru_tail; f != NULL && f->busy; f = f->prev)
		;
	if (f == NULL)
		return 0;
	close_file(w, f);
	return 1;
}

static void
create_tmp(struct writer *w, struct ofile *f)
{
	struct part *p = f->part;
	struct stat st;
	char *final, *slash;
	size_t n;
	int fd;

	if (!p->dir_ok) {
		ensure_dir(w, p->dir);
		p->dir_ok = 1;
	}
	final = final_name(w, f);
	if (!w->replace && lstat(final, &st) == 0)
		cdr_die(CDR_EXIT_IO, "%s: file exists (use -f to replace, or "
		    "--batch-id)", final);
	slash = strrchr(final, '/');
	n = strlen(final) + 16;
	f->tmp = cdr_xmalloc(n);
	snprintf(f->tmp, n, "%.*s.%s.tmp.XXXXXX", (int)(slash - final + 1),
	    final, slash + 1);
	free(final);
	while ((fd = cdr_out_mkstemp(f->tmp)) < 0) {
		if ((errno != EMFILE && errno != ENFILE) || !close_oldest(w))
			cdr_die_errno(CDR_EXIT_IO, "%s", f->tmp);
		memcpy(f->tmp + strlen(f->tmp) - 6, "XXXXXX", 6);
	}
	w->tracked = grow_array(w->tracked, &w->captracked, w->ntracked,
	    sizeof(*w->tracked));
	w->tracked[w->ntracked++] = f;
	if (fchmod(fd, w->mode) != 0)
		cdr_die_errno(CDR_EXIT_IO, "%s", f->tmp);
	f->fd = fd;
	f->created = 1;
}

static void
open_file(struct writer *w, struct ofile *f)
{
	if (f->fd >= 0) {
		if (w->lru_head != f) {
			lru_unlink(w, f);
			lru_push(w, f);
		}
		return;
	}
	while (w->nopen >= w->o.max_open && close_oldest(w))
		;
	if (!f->created) {
		create_tmp(w, f);
	} else {
		while ((f->fd = open(f->tmp, O_WRONLY | O_APPEND |
		    O_CLOEXEC)) < 0) {
			if ((errno != EMFILE && errno != ENFILE) ||
			    !close_oldest(w))
				cdr_die_errno(CDR_EXIT_IO, "%s", f->tmp);
		}
	}
	lru_push(w, f);
	w->nopen++;
}

/* ---- the writer threads: writing, without the lock (f is busy) ---- */

static void
write_file(struct writer *w, struct ofile *f, const void *data, size_t n)
{
	const char *s = data;
	ssize_t k;

	f->crc = (uint32_t)crc32_z(f->crc, data, n);
	while (n > 0) {
		k = write(f->fd, s, n > (1u << 30) ? (1u << 30) : n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			if (k == 0)
				errno = ENOSPC;
			cdr_die_errno(CDR_EXIT_IO, "%s: write error", f->tmp);
		}
		s += k;
		n -= (size_t)k;
		f->file_bytes += (uint64_t)k;
	}
	start_writeback(w, f, WRITEBACK_MIN);
}

/* One complete gzip member holding data[0..n), into the worker's zbuf. */
static size_t
compress_member(struct worker *wk, const void *data, size_t n)
{
	size_t bound;
	int rc;

	if (!wk->zinit) {
		if (deflateInit2(&wk->z, wk->w->o.level, Z_DEFLATED, 15 + 16,
		    8, Z_DEFAULT_STRATEGY) != Z_OK)
			cdr_die(CDR_EXIT_INTERNAL, "cannot start gzip");
		wk->zinit = 1;
	} else if (deflateReset(&wk->z) != Z_OK) {
		cdr_die(CDR_EXIT_INTERNAL, "gzip stream error");
	}
	bound = deflateBound(&wk->z, (uLong)n) + 64;
	if (bound > wk->zcap) {
		free(wk->zbuf);
		wk->zcap = bound;
		wk->zbuf = cdr_xmalloc(wk->zcap);
	}
	wk->z.next_in = (Bytef *)(uintptr_t)data;
	wk->z.avail_in = (uInt)n;
	wk->z.next_out = wk->zbuf;
	wk->z.avail_out = (uInt)wk->zcap;
	rc = deflate(&wk->z, Z_FINISH);
	if (rc != Z_STREAM_END)
		cdr_die(CDR_EXIT_INTERNAL, "gzip stream error (%d)", rc);
	return wk->zcap - wk->z.avail_out;
}

/* The first queued job whose file no thread is writing (under mu). */
static struct job *
take_job(struct writer *w)
{
	struct job *j, *prev = NULL;

	for (j = w->head; j != NULL; prev = j, j = j->next) {
		if (j->f->busy)
			continue;
		if (prev != NULL)
			prev->next = j->next;
		else
			w->head = j->next;
		if (w->tail == j)
			w->tail = prev;
		j->f->busy = 1;
		return j;
	}
	return NULL;
}

static void
run_job(struct worker *wk, struct job *j)
{
	struct writer *w = wk->w;
	struct ofile *f = j->f;
	const void *data = j->buf;
	size_t n = j->len;

	if (w->o.gzip && (n > 0 || ((j->flags & JOB_TOUCH) &&
	    f->file_bytes == 0))) {
		n = compress_member(wk, j->buf, j->len);
		data = wk->zbuf;
	}
	if (n == 0 && (!(j->flags & JOB_TOUCH) || f->created))
		return;
	pthread_mutex_lock(&w->mu);
	open_file(w, f);
	pthread_mutex_unlock(&w->mu);
	write_file(w, f, data, n);
}

static void *
worker_main(void *arg)
{
	struct worker *wk = arg;
	struct writer *w = wk->w;
	struct job *j;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		j = take_job(w);
		if (j == NULL) {
			if (w->stopping && w->head == NULL)
				break;
			pthread_cond_wait(&w->work, &w->mu);
			continue;
		}
		pthread_mutex_unlock(&w->mu);
		run_job(wk, j);
		pthread_mutex_lock(&w->mu);
		if (j->cap == w->chunk && w->nspare < w->maxspare)
			w->spare[w->nspare++] = j->buf;
		else
			free(j->buf);
		if (j->flags & JOB_CLOSE) {
			if (j->f->fd >= 0)
				start_writeback(w, j->f, 0);
			close_file(w, j->f);
		}
		j->f->busy = 0;
		w->queued -= j->cap;
		free(j);
		/* Another job of this file may be waiting for it. */
		pthread_cond_broadcast(&w->work);
		pthread_cond_signal(&w->space);
	}
	pthread_mutex_unlock(&w->mu);
	if (wk->zinit)
		deflateEnd(&wk->z);
	free(wk->zbuf);
	return NULL;
}

/* ---- the main thread ---- */

/* Queues a job; with want_spare, returns an empty buffer of chunk bytes. */
static char *
submit(struct writer *w, struct ofile *f, char *buf, size_t len, size_t cap,
    int flags, int want_spare)
{
	struct job *j = cdr_xmalloc(sizeof(*j));
	char *spare = NULL;

	j->next = NULL;
	j->f = f;
	j->buf = buf;
	j->len = len;
	j->cap = cap;
	j->flags = flags;
	pthread_mutex_lock(&w->mu);
	while (w->queued > 0 && w->queued + cap > w->queue_max)
		pthread_cond_wait(&w->space, &w->mu);
	if (w->tail != NULL)
		w->tail->next = j;
	else
		w->head = j;
	w->tail = j;
	w->queued += cap;
	if (want_spare && w->nspare > 0)
		spare = w->spare[--w->nspare];
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->mu);
	if (want_spare && spare == NULL)
		spare = cdr_xmalloc(w->chunk);
	return spare;
}

/*
 * Hands the pending bytes of p to the writer threads.  A partition that
 * filled its buffer gets a new one of full size at once; others start
 * small again.
 */
static void
flush_part(struct writer *w, struct part *p, int flags, int hot)
{
	if (p->len == 0 && flags == 0)
		return;
	w->pending -= p->cap;
	p->buf = submit(w, p->cur, p->buf, p->len, p->cap, flags, hot);
	p->len = 0;
	p->cap = hot ? w->chunk : 0;
	w->pending += p->cap;
}

static int
by_pending(const void *a, const void *b)
{
	const struct part *x = *(struct part *const *)a;
	const struct part *y = *(struct part *const *)b;

	return x->len < y->len ? 1 : x->len > y->len ? -1 : 0;
}

/* Over the memory budget: hand over the largest buffers until half is free. */
static void
spill(struct writer *w)
{
	struct part **v;
	size_t i, n = 0;

	v = cdr_xcalloc(w->nparts, sizeof(*v));
	for (i = 0; i < w->nparts; i++)
		if (w->parts[i]->cap > 0)
			v[n++] = w->parts[i];
	qsort(v, n, sizeof(*v), by_pending);
	for (i = 0; i < n && w->pending > w->o.budget / 2; i++) {
		if (v[i]->len > 0) {
			flush_part(w, v[i], 0, 0);
		} else {
			w->pending -= v[i]->cap;
			free(v[i]->buf);
			v[i]->buf = NULL;
			v[i]->cap = 0;
		}
	}
	free(v);
}

static void
part_reserve(struct writer *w, struct part *p, size_t need)
{
	size_t cap;

	if (p->len + need <= p->cap)
		return;
	if (p->cap >= w->chunk && p->len > 0)
		flush_part(w, p, 0, 1);
	if (p->len + need <= p->cap)
		return;
	cap = p->cap ? p->cap * 2 : BUF_START;
	while (cap < p->len + need)
		cap *= 2;
	if (cap > w->chunk && p->len + need <= w->chunk)
		cap = w->chunk;
	p->buf = cdr_xrealloc(p->buf, cap);
	w->pending += cap - p->cap;
	p->cap = cap;
}

static void
part_add(struct writer *w, struct part *p, const char *s, size_t n,
    int newline)
{
	part_reserve(w, p, n + (size_t)newline);
	memcpy(p->buf + p->len, s, n);
	p->len += n;
	if (newline)
		p->buf[p->len++] = '\n';
}

static struct ofile *
new_file(struct writer *w, struct part *p)
{
	struct ofile *f = cdr_xcalloc(1, sizeof(*f));

	f->part = p;
	f->fd = -1;
	f->seq = p->nfiles++;
	w->files = grow_array(w->files, &w->capfiles, w->nfiles,
	    sizeof(*w->files));
	w->files[w->nfiles++] = f;
	p->cur = f;
	if (w->header_len > 0) {
		part_add(w, p, w->header, w->header_len, 0);
		f->data_bytes = w->header_len;
	}
	return f;
}

void
writer_append(struct writer *w, struct part *p, const char *rec, size_t n)
{
	struct ofile *f = p->cur;

	if (f == NULL) {
		f = new_file(w, p);
	} else if (f->records > 0 &&
	    ((w->o.max_records > 0 && f->records >= w->o.max_records) ||
	    (w->o.max_bytes > 0 && f->data_bytes + n + 1 > w->o.max_bytes))) {
		flush_part(w, p, JOB_CLOSE, 0);
		f = new_file(w, p);
	}
	part_add(w, p, rec, n, 1);
	f->records++;
	f->data_bytes += n + 1;
	if (w->pending > w->o.budget)
		spill(w);
}

uint64_t
writer_files(const struct writer *w)
{
	return w->nfiles;
}

/* ---- commit ---- */

static void
stop_workers(struct writer *w)
{
	size_t i;

	pthread_mutex_lock(&w->mu);
	w->stopping = 1;
	pthread_cond_broadcast(&w->work);
	pthread_mutex_unlock(&w->mu);
	for (i = 0; i < w->nworkers; i++)
		pthread_join(w->workers[i].thread, NULL);
	w->nworkers = 0;
}

static void
sync_all(struct writer *w)
{
	size_t i;
	int fd;

	for (i = 0; i < w->ndevs; i++) {
		fd = open(w->devs[i].dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			cdr_die_errno(CDR_EXIT_IO, "%s", w->devs[i].dir);
		if (syncfs(fd) != 0)
			cdr_die_errno(CDR_EXIT_IO, "%s: sync", w->devs[i].dir);
		close(fd);
	}
}

static int
by_final(const void *a, const void *b)
{
	const struct ofile *x = *(struct ofile *const *)a;
	const struct ofile *y = *(struct ofile *const *)b;

	return strcmp(x->final, y->final);
}

static void
commit_rename(struct writer *w, struct ofile *f)
{
	if (w->replace) {
		if (rename(f->tmp, f->final) != 0)
			cdr_die_errno(CDR_EXIT_IO, "%s: rename", f->final);
	} else if (renameat2(AT_FDCWD, f->tmp, AT_FDCWD, f->final,
	    RENAME_NOREPLACE) != 0) {
		if (errno == EEXIST)
			cdr_die(CDR_EXIT_IO, "%s: file appeared while writing "
			    "(use -f to replace)", f->final);
		/* File systems without RENAME_NOREPLACE. */
		if ((errno != EINVAL && errno != ENOSYS) ||
		    access(f->final, F_OK) == 0 ||
		    rename(f->tmp, f->final) != 0)
			cdr_die_errno(CDR_EXIT_IO, "%s: rename", f->final);
	}
	cdr_out_untrack_tmp(f->tmp);
}

/* Removes name~SEQ files from seq on, up to the first that is absent. */
static void
unlink_seqs(const struct writer *w, const struct part *p, long seq, int gz)
{
	char *name;
	int gone;

	for (;; seq++) {
		name = file_name(w, p, seq, gz);
		gone = unlink(name) != 0 && errno == ENOENT;
		free(name);
		if (gone)
			break;
	}
}

/*
 * Replacing a batch: the files of an earlier run of it that this run did
 * not write (more rotated files, the other compression) would duplicate
 * records, so they go.
 */
static void
remove_stale(struct writer *w)
{
	int gz = *w->gz_suffix != '\0';
	char *name;
	size_t i;

	for (i = 0; i < w->nparts; i++) {
		struct part *p = w->parts[i];

		if (p->nfiles == 0)
			continue;
		if (w->rotate) {
			name = file_name(w, p, -1, gz);
			unlink(name);
			free(name);
		}
		unlink_seqs(w, p, w->rotate ? (long)p->nfiles : 0, gz);
		/* --gzip with a template that names .gz files: no variant. */
		if (w->o.gzip && !gz)
			continue;
		name = file_name(w, p, -1, !gz);
		unlink(name);
		free(name);
		unlink_seqs(w, p, 0, !gz);
	}
}

/*
 * Hidden temporary files that a killed run of this batch left for the
 * names it has just committed: ".NAME.tmp.XXXXXX".  v is sorted by name.
 */
static void
remove_stale_tmp(struct writer *w, struct ofile **v, size_t n)
{
	struct map names;
	struct dirent *de;
	const char *slash;
	size_t i, j, dlen, len;
	char *dir, *path;
	DIR *d;

	for (i = 0; i < n; i = j) {
		slash = strrchr(v[i]->final, '/');
		dlen = (size_t)(slash - v[i]->final);
		map_init(&names);
		for (j = i; j < n && strncmp(v[j]->final, v[i]->final,
		    dlen + 1) == 0 && strchr(v[j]->final + dlen + 1, '/') ==
		    NULL; j++)
			map_put(&names, v[j]->final + dlen + 1,
			    strlen(v[j]->final + dlen + 1), w);
		if (j == i)
			j = i + 1;
		dir = cdr_xstrndup(v[i]->final, dlen);
		d = opendir(dir);
		while (d != NULL && (de = readdir(d)) != NULL) {
			len = strlen(de->d_name);
			if (de->d_name[0] != '.' || len < 13 ||
			    memcmp(de->d_name + len - 11, ".tmp.", 5) != 0 ||
			    map_get(&names, de->d_name + 1, len - 12) == NULL)
				continue;
			path = cdr_xmalloc(dlen + len + 2);
			snprintf(path, dlen + len + 2, "%s/%s", dir, de->d_name);
			unlink(path);
			free(path);
		}
		if (d != NULL)
			closedir(d);
		free(dir);
		map_free(&names);
	}
}

void
writer_commit(struct writer *w, int all_parts, struct cdr_out *manifest)
{
	struct ofile **v;
	size_t i;

	for (i = 0; i < w->nparts; i++) {
		struct part *p = w->parts[i];

		if (p->cur == NULL && all_parts)
			new_file(w, p);
		if (p->cur != NULL)
			flush_part(w, p, JOB_CLOSE | JOB_TOUCH, 0);
	}
	stop_workers(w);
	if (w->o.fsync)
		sync_all(w);
	for (i = 0; i < w->nfiles; i++)
		w->files[i]->final = final_name(w, w->files[i]);
	/* Newest first: cdr_out_untrack_tmp finds each at the list head. */
	for (i = w->ntracked; i-- > 0;)
		commit_rename(w, w->tracked[i]);
	v = cdr_xcalloc(w->nfiles, sizeof(*v));
	memcpy(v, w->files, w->nfiles * sizeof(*v));
	qsort(v, w->nfiles, sizeof(*v), by_final);
	if (w->replace) {
		remove_stale(w);
		remove_stale_tmp(w, v, w->nfiles);
	}
	if (w->o.fsync)
		sync_all(w);
	for (i = 0; i < w->nfiles; i++) {
		struct ofile *f = v[i];

		cdr_out_puts(manifest, "{\"path\":");
		cdr_write_json_string(manifest, f->final, strlen(f->final));
		cdr_out_printf(manifest, ",\"records\":%llu,\"bytes\":%llu,"
		    "\"checksum\":\"crc32:%08x\"%s",
		    (unsigned long long)f->records,
		    (unsigned long long)f->file_bytes, (unsigned)f->crc,
		    f->part->extra);
		if (w->rotate)
			cdr_out_printf(manifest, ",\"seq\":%u", (unsigned)f->seq);
		cdr_out_puts(manifest, "}\n");
	}
	free(v);
}

void
writer_free(struct writer *w)
{
	size_t i;

	if (w == NULL)
		return;
	if (w->nworkers > 0)
		stop_workers(w);
	for (i = 0; i < w->nfiles; i++) {
		free(w->files[i]->tmp);
		free(w->files[i]->final);
		free(w->files[i]);
	}
	for (i = 0; i < w->nparts; i++) {
		free(w->parts[i]->dir);
		free(w->parts[i]->stem);
		free(w->parts[i]->ext);
		free(w->parts[i]->extra);
		free(w->parts[i]->buf);
		free(w->parts[i]);
	}
	for (i = 0; i < w->ndevs; i++)
		free(w->devs[i].dir);
	for (i = 0; i < w->nspare; i++)
		free(w->spare[i]);
	free(w->spare);
	free(w->devs);
	free(w->workers);
	free(w->files);
	free(w->tracked);
	free(w->parts);
	free(w->header);
	map_free(&w->dirs);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->work);
	pthread_cond_destroy(&w->space);
	free(w);
}
