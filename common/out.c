/*
 * Checked, buffered output with atomic commit (see out.h).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "out.h"

#define OUT_BUFSIZE (256 * 1024)

struct cdr_out {
	int			 fd;
	int			 flags;
	int			 is_stdout;
	int			 direct;	/* a device or FIFO: no rename */
	int			 synced;	/* cdr_out_sync done */
	char			*path;
	char			*tmp;
	char			*buf;
	size_t			 len;
	z_stream		 z;
	int			 zinit;
	int			 level;
	unsigned char		*zbuf;
	unsigned long long	 in_bytes;
	unsigned long long	 file_bytes;
	unsigned long long	 flushed;	/* handed to writeback so far */
};

/* Start writeback every so many bytes so the final fsync does not stall. */
#define WRITEBACK_STEP (8ULL * 1024 * 1024)

/*
 * Temporary files to remove when the program dies before committing.
 * Signal handlers may run in any thread while another thread tracks or
 * releases a file, so nodes are never freed: a released node is marked
 * free and reused, and its path buffer stays valid for the life of the
 * program.  A handler skips free nodes; at worst it removes a temporary
 * file that was just being tracked, which is what it is for.
 */
struct tmpfile {
	struct tmpfile *volatile next;
	volatile sig_atomic_t	 live;
	char			 path[PATH_MAX];
};

static struct tmpfile *volatile tmp_head;
/*
 * Threads between creating a temporary file and registering it, and
 * whether a handler is removing the files: the handler waits for the
 * first to drop to 0, and no file is created once the second is set.
 */
static atomic_int creating;
static atomic_int dying;
static _Thread_local int creating_here;
static pthread_mutex_t tmp_lock = PTHREAD_MUTEX_INITIALIZER;
static int handlers_set;
static struct cdr_out *stdout_out;

static void cleanup_tmp(void);
static void on_signal(int sig);
static void set_handlers(void);
static void block_signals(sigset_t *old);
static void write_all(struct cdr_out *o, const void *p, size_t n);
static void deflate_out(struct cdr_out *o, const void *p, size_t n,
    int flush);
static void drain(struct cdr_out *o, const void *p, size_t n);
static void flush_buf(struct cdr_out *o);
static void fail(struct cdr_out *o, const char *what);
static void sync_dir(const char *path);
static void free_out(struct cdr_out *o);

static void
cleanup_tmp(void)
{
	struct tmpfile *t;

	/* Other threads run on while exit() does: let none create more. */
	atomic_store(&dying, 1);
	while (atomic_load(&creating) > creating_here)
		;
	for (t = tmp_head; t != NULL; t = t->next)
		if (t->live)
			unlink(t->path);
}

static void
on_signal(int sig)
{
	struct tmpfile *t;

	/* Only async-signal-safe calls here. */
	atomic_store(&dying, 1);
	while (atomic_load(&creating) > 0)
		;
	for (t = tmp_head; t != NULL; t = t->next)
		if (t->live)
			unlink(t->path);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
set_handlers(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa, old;
	size_t i;

	if (handlers_set)
		return;
	handlers_set = 1;
	if (atexit(cleanup_tmp) != 0)
		cdr_die(CDR_EXIT_INTERNAL, "atexit failed");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		/* A signal ignored by our parent (nohup) stays ignored. */
		if (sigaction(sigs[i], NULL, &old) == 0 &&
		    old.sa_handler == SIG_IGN)
			continue;
		sigaction(sigs[i], &sa, NULL);
	}
}

/*
 * Blocks the signals we handle in this thread, so that the handler never
 * runs in a thread holding tmp_lock (it waits for cdr_out_mkstemp, which
 * may wait for the lock).
 */
static void
block_signals(sigset_t *old)
{
	sigset_t block;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, old);
}

void
cdr_out_track_tmp(const char *path)
{
	struct tmpfile *t;
	sigset_t old;

	if (strlen(path) >= PATH_MAX)
		cdr_die(CDR_EXIT_IO, "%s: path too long", path);
	set_handlers();
	block_signals(&old);
	pthread_mutex_lock(&tmp_lock);
	for (t = tmp_head; t != NULL; t = t->next)
		if (!t->live)
			break;
	if (t == NULL) {
		t = cdr_xcalloc(1, sizeof(*t));
		strcpy(t->path, path);
		t->live = 1;
		t->next = tmp_head;
		tmp_head = t;
	} else {
		strcpy(t->path, path);
		t->live = 1;
	}
	pthread_mutex_unlock(&tmp_lock);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

int
cdr_out_mkstemp(char *tmpl)
{
	sigset_t old;
	int fd, e;

	set_handlers();
	/* Not interrupted here; a handler in another thread waits for us. */
	block_signals(&old);
	atomic_fetch_add(&creating, 1);
	if (atomic_load(&dying)) {
		/* The program is ending: create nothing more. */
		atomic_fetch_sub(&creating, 1);
		for (;;)
			pause();
	}
	creating_here = 1;
	fd = mkostemp(tmpl, O_CLOEXEC);
	e = errno;
	if (fd >= 0)
		cdr_out_track_tmp(tmpl);
	creating_here = 0;
	atomic_fetch_sub(&creating, 1);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return fd;
}

void
cdr_out_untrack_tmp(const char *path)
{
	struct tmpfile *t;
	sigset_t old;

	block_signals(&old);
	pthread_mutex_lock(&tmp_lock);
	for (t = tmp_head; t != NULL; t = t->next) {
		if (t->live && strcmp(t->path, path) == 0) {
			t->live = 0;
			break;
		}
	}
	pthread_mutex_unlock(&tmp_lock);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static struct cdr_out *
new_out(int fd, const char *path, int flags)
{
	struct cdr_out *o = cdr_xcalloc(1, sizeof(*o));

	o->fd = fd;
	o->flags = flags;
	o->path = cdr_xstrdup(path);
	o->buf = cdr_xmalloc(OUT_BUFSIZE);
	o->level = 6;
	return o;
}

struct cdr_out *
cdr_out_stdout(void)
{
	if (stdout_out == NULL) {
		stdout_out = new_out(STDOUT_FILENO, "stdout", 0);
		stdout_out->is_stdout = 1;
	}
	return stdout_out;
}

struct cdr_out *
cdr_out_open(const char *path, int flags)
{
	struct cdr_out *o;
	struct stat st;
	const char *slash;
	char *tmp;
	mode_t mask;
	int fd;

	if (strcmp(path, "-") == 0) {
		o = cdr_out_stdout();
		o->flags |= flags;
		return o;
	}
	if (stat(path, &st) == 0) {
		if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
			fd = open(path, O_WRONLY | O_CLOEXEC);
			if (fd < 0) {
				cdr_warn_errno("%s", path);
				return NULL;
			}
			o = new_out(fd, path, flags);
			o->direct = 1;
			return o;
		}
		if (S_ISDIR(st.st_mode)) {
			errno = EISDIR;
			cdr_warn_errno("%s", path);
			return NULL;
		}
		if (!(flags & CDR_OUT_FORCE)) {
			cdr_warn("%s: file exists (use -f to overwrite)", path);
			errno = EEXIST;
			return NULL;
		}
	}
	slash = strrchr(path, '/');
	tmp = cdr_xmalloc(strlen(path) + 16);
	/* Keep the temporary name within NAME_MAX (255) however long NAME is. */
	if (slash != NULL)
		sprintf(tmp, "%.*s.%.200s.tmp.XXXXXX", (int)(slash - path + 1),
		    path, slash + 1);
	else
		sprintf(tmp, ".%.200s.tmp.XXXXXX", path);
	fd = cdr_out_mkstemp(tmp);
	if (fd < 0) {
		int e = errno;

		free(tmp);
		errno = e;
		cdr_warn_errno("%s", path);
		return NULL;
	}
	/* mkstemp makes 0600; a committed file gets the usual 0666 & ~umask. */
	mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) != 0) {
		cdr_warn_errno("%s", tmp);
		cdr_out_untrack_tmp(tmp);
		unlink(tmp);
		close(fd);
		free(tmp);
		return NULL;
	}
	o = new_out(fd, path, flags);
	o->tmp = tmp;
	return o;
}

void
cdr_out_set_level(struct cdr_out *o, int level)
{
	o->level = level < 1 ? 1 : level > 9 ? 9 : level;
}

static void
fail(struct cdr_out *o, const char *what)
{
	int e = errno;

	if (e == EPIPE && o->is_stdout) {
		cleanup_tmp();
		signal(SIGPIPE, SIG_DFL);
		raise(SIGPIPE);
		_exit(128 + SIGPIPE);
	}
	errno = e;
	cdr_die_errno(CDR_EXIT_IO, "%s: %s", o->path, what);
}

static void
write_all(struct cdr_out *o, const void *p, size_t n)
{
	const char *s = p;
	ssize_t w;

	while (n > 0) {
		w = write(o->fd, s, n > SSIZE_MAX ? SSIZE_MAX : n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			fail(o, "write error");
		}
		if (w == 0) {
			errno = ENOSPC;
			fail(o, "write error");
		}
		s += w;
		n -= (size_t)w;
		o->file_bytes += (unsigned long long)w;
	}
	if (o->tmp != NULL && o->file_bytes - o->flushed >= WRITEBACK_STEP) {
		/* Advisory: errors show up at fsync. */
		(void)sync_file_range(o->fd, (off_t)o->flushed,
		    (off_t)(o->file_bytes - o->flushed), SYNC_FILE_RANGE_WRITE);
		o->flushed = o->file_bytes;
	}
}

static void
deflate_out(struct cdr_out *o, const void *p, size_t n, int flush)
{
	int rc;

	if (!o->zinit) {
		if (deflateInit2(&o->z, o->level, Z_DEFLATED, 15 + 16, 8,
		    Z_DEFAULT_STRATEGY) != Z_OK)
			cdr_die(CDR_EXIT_IO, "%s: cannot start gzip", o->path);
		o->zbuf = cdr_xmalloc(OUT_BUFSIZE);
		o->zinit = 1;
	}
	o->z.next_in = (Bytef *)(uintptr_t)p;
	o->z.avail_in = (uInt)n;
	do {
		o->z.next_out = o->zbuf;
		o->z.avail_out = OUT_BUFSIZE;
		rc = deflate(&o->z, flush);
		if (rc == Z_STREAM_ERROR)
			cdr_die(CDR_EXIT_INTERNAL, "%s: gzip stream error",
			    o->path);
		write_all(o, o->zbuf, OUT_BUFSIZE - o->z.avail_out);
	} while (o->z.avail_out == 0 ||
	    (flush == Z_FINISH && rc != Z_STREAM_END));
}

static void
drain(struct cdr_out *o, const void *p, size_t n)
{
	const char *s = p;
	size_t chunk;

	if (!(o->flags & CDR_OUT_GZIP)) {
		write_all(o, p, n);
		return;
	}
	/* zlib counts in uInt: feed it in pieces. */
	while (n > 0) {
		chunk = n > (1u << 30) ? (1u << 30) : n;
		deflate_out(o, s, chunk, Z_NO_FLUSH);
		s += chunk;
		n -= chunk;
	}
}

static void
flush_buf(struct cdr_out *o)
{
	if (o->len > 0) {
		drain(o, o->buf, o->len);
		o->len = 0;
	}
}

void
cdr_out_write(struct cdr_out *o, const void *p, size_t n)
{
	o->in_bytes += n;
	if (n <= OUT_BUFSIZE - o->len) {
		memcpy(o->buf + o->len, p, n);
		o->len += n;
		return;
	}
	flush_buf(o);
	if (n >= OUT_BUFSIZE / 2) {
		drain(o, p, n);
		return;
	}
	memcpy(o->buf, p, n);
	o->len = n;
}

void
cdr_out_putc(struct cdr_out *o, int c)
{
	if (o->len == OUT_BUFSIZE)
		flush_buf(o);
	o->buf[o->len++] = (char)c;
	o->in_bytes++;
}

void
cdr_out_puts(struct cdr_out *o, const char *s)
{
	cdr_out_write(o, s, strlen(s));
}

void
cdr_out_vprintf(struct cdr_out *o, const char *fmt, va_list ap)
{
	char small[512];
	va_list ap2;
	char *big;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	if (n < 0) {
		va_end(ap2);
		cdr_die(CDR_EXIT_INTERNAL, "bad format string");
	}
	if ((size_t)n < sizeof(small)) {
		cdr_out_write(o, small, (size_t)n);
	} else {
		big = cdr_xmalloc((size_t)n + 1);
		vsnprintf(big, (size_t)n + 1, fmt, ap2);
		cdr_out_write(o, big, (size_t)n);
		free(big);
	}
	va_end(ap2);
}

void
cdr_out_printf(struct cdr_out *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cdr_out_vprintf(o, fmt, ap);
	va_end(ap);
}

void
cdr_out_flush(struct cdr_out *o)
{
	flush_buf(o);
	if ((o->flags & CDR_OUT_GZIP) && o->zinit)
		deflate_out(o, NULL, 0, Z_SYNC_FLUSH);
}

void
cdr_out_flush_stdout(void)
{
	if (stdout_out != NULL)
		cdr_out_flush(stdout_out);
}

unsigned long long
cdr_out_bytes(const struct cdr_out *o)
{
	return o->in_bytes;
}

unsigned long long
cdr_out_file_bytes(const struct cdr_out *o)
{
	return o->file_bytes + (o->flags & CDR_OUT_GZIP ? 0 : o->len);
}

const char *
cdr_out_path(const struct cdr_out *o)
{
	return o->path;
}

static void
sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd;

	if (slash == NULL)
		dir = cdr_xstrdup(".");
	else if (slash == path)
		dir = cdr_xstrdup("/");
	else
		dir = cdr_xstrndup(path, (size_t)(slash - path));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		/* Some file systems cannot sync a directory: not an error. */
		if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS)
			cdr_die_errno(CDR_EXIT_IO, "%s: fsync", dir);
		close(fd);
	}
	free(dir);
}

static void
finish_stream(struct cdr_out *o)
{
	flush_buf(o);
	if ((o->flags & CDR_OUT_GZIP)) {
		/* An empty output is still a valid (empty) gzip file. */
		deflate_out(o, NULL, 0, Z_FINISH);
		deflateEnd(&o->z);
		o->zinit = 0;
	}
}

static void
free_out(struct cdr_out *o)
{
	if (o->zinit)
		deflateEnd(&o->z);
	free(o->zbuf);
	free(o->buf);
	free(o->path);
	free(o->tmp);
	free(o);
}

void
cdr_out_sync(struct cdr_out *o)
{
	if (o->is_stdout) {
		cdr_out_commit(o);
		return;
	}
	if (o->synced)
		return;
	finish_stream(o);
	if (!o->direct && fsync(o->fd) != 0)
		fail(o, "fsync");
	o->synced = 1;
}

void
cdr_out_commit(struct cdr_out *o)
{
	if (o->is_stdout) {
		finish_stream(o);
		if (o->flags & CDR_OUT_GZIP)
			o->flags &= ~CDR_OUT_GZIP;
		return;
	}
	if (!o->synced)
		finish_stream(o);
	if (o->direct) {
		if (close(o->fd) != 0)
			fail(o, "close");
		free_out(o);
		return;
	}
	if (!o->synced && fsync(o->fd) != 0)
		fail(o, "fsync");
	if (close(o->fd) != 0)
		fail(o, "close");
	if (o->flags & CDR_OUT_FORCE) {
		if (rename(o->tmp, o->path) != 0)
			fail(o, "rename");
	} else if (renameat2(AT_FDCWD, o->tmp, AT_FDCWD, o->path,
	    RENAME_NOREPLACE) != 0) {
		if (errno == EEXIST)
			cdr_die(CDR_EXIT_IO,
			    "%s: file appeared while writing (use -f to "
			    "overwrite)", o->path);
		/* File systems without RENAME_NOREPLACE. */
		if ((errno != EINVAL && errno != ENOSYS) ||
		    access(o->path, F_OK) == 0 || rename(o->tmp, o->path) != 0)
			fail(o, "rename");
	}
	cdr_out_untrack_tmp(o->tmp);
	sync_dir(o->path);
	free_out(o);
}

void
cdr_out_abort(struct cdr_out *o)
{
	if (o->is_stdout)
		return;
	if (o->tmp != NULL) {
		unlink(o->tmp);
		cdr_out_untrack_tmp(o->tmp);
	}
	close(o->fd);
	free_out(o);
}

void
cdr_out_finish(void)
{
	if (stdout_out != NULL) {
		finish_stream(stdout_out);
		stdout_out->flags &= ~CDR_OUT_GZIP;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno == EPIPE && stdout_out != NULL)
			fail(stdout_out, "write error");
		cdr_die_errno(CDR_EXIT_IO, "stdout: write error");
	}
	if (fclose(stdout) != 0 && errno != EBADF)
		cdr_die_errno(CDR_EXIT_IO, "stdout: close");
}
