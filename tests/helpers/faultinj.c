/*
 * Fault injection for tests/75-faults.bats: an LD_PRELOAD shim over the
 * libc calls the tools use for file I/O.  Everything is off unless an
 * environment variable asks for it:
 *
 *   CDR_FAULT_PATH=S         only files whose path (as given to open,
 *                            openat, creat or mkstemp*) contains S are
 *                            affected; unset: every path
 *   CDR_FAULT_WRITE_AFTER=N  write, pwrite, writev, pwritev and
 *                            copy_file_range on such files, opened for
 *                            writing, fail with ENOSPC once N bytes in all
 *                            have been written (the write crossing N is
 *                            cut short first, as on a file system that
 *                            fills up)
 *   CDR_FAULT_FSYNC=1        fsync, fdatasync and syncfs on such files (or
 *                            directories) fail with EIO
 *   CDR_FAULT_RENAME=E       rename, renameat and renameat2 fail with E
 *                            (EIO, ENOSPC or EDQUOT; 1 means EIO) when
 *                            either path contains S
 *   CDR_FAULT_READ_AFTER=N   read, pread and readv of such regular files,
 *                            opened for reading, fail with EIO once N bytes
 *                            in all have been read
 *   CDR_FAULT_STALL_AFTER=N  writes to such files stop for good once N
 *                            bytes in all have been written (the writing
 *                            thread waits in pause()), after logging
 *                            "stalled": the program is then mid-output
 *                            for as long as a test needs to signal it
 *   CDR_FAULT_SHORT_WRITE=K  writes to such files put at most K bytes each
 *                            (a short count, not an error, as a signal
 *                            or a pipe can cause): the output must still
 *                            come out whole
 *   CDR_FAULT_SHORT_READ=K   reads of such files return at most K bytes
 *   CDR_FAULT_LOG=FILE       append one line per injected fault to FILE, so
 *                            a test can check that the fault happened
 *
 * The shim wraps the libc entry points, so it also sees the calls made by
 * libarchive and zlib (which call open and write through the PLT).
 */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXFD 65536

enum { T_NONE = 0, T_WRITE = 1, T_READ = 2, T_DIR = 4 };

static unsigned char tracked[MAXFD];
static long long write_budget = -1;	/* -1: no write faults */
static long long read_budget = -1;
static long long stall_budget = -1;	/* -1: never stall */
static int fsync_fault;
static long long short_write = -1;
static long long short_read = -1;
static int rename_errno;
static const char *match;
static const char *logpath;
static int inited;

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static ssize_t (*real_pwritev64)(int, const struct iovec *, int, off_t);
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_pread)(int, void *, size_t, off_t);
static ssize_t (*real_pread64)(int, void *, size_t, off_t);
static ssize_t (*real_readv)(int, const struct iovec *, int);
static ssize_t (*real_cfr)(int, off_t *, int, off_t *, size_t,
    unsigned int);
static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static int (*real_open_2)(const char *, int);
static int (*real_open64_2)(const char *, int);
static int (*real_openat_2)(int, const char *, int);
static int (*real_openat64_2)(int, const char *, int);
static int (*real_creat)(const char *, mode_t);
static int (*real_creat64)(const char *, mode_t);
static int (*real_mkstemp)(char *);
static int (*real_mkstemp64)(char *);
static int (*real_mkostemp)(char *, int);
static int (*real_mkostemp64)(char *, int);
static int (*real_mkstemps)(char *, int);
static int (*real_mkostemps)(char *, int, int);
static int (*real_close)(int);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_syncfs)(int);
static int (*real_rename)(const char *, const char *);
static int (*real_renameat)(int, const char *, int, const char *);
static int (*real_renameat2)(int, const char *, int, const char *,
    unsigned int);

#define RESOLVE(var, name) \
	(var = (__typeof__(var))dlsym(RTLD_NEXT, name))

static long long
env_num(const char *name)
{
	const char *s = getenv(name);

	return s != NULL && *s != '\0' ? strtoll(s, NULL, 10) : -1;
}

static void
init(void)
{
	const char *s;

	if (inited)
		return;
	RESOLVE(real_write, "write");
	RESOLVE(real_pwrite, "pwrite");
	RESOLVE(real_pwrite64, "pwrite64");
	RESOLVE(real_writev, "writev");
	RESOLVE(real_pwritev, "pwritev");
	RESOLVE(real_pwritev64, "pwritev64");
	RESOLVE(real_read, "read");
	RESOLVE(real_pread, "pread");
	RESOLVE(real_pread64, "pread64");
	RESOLVE(real_readv, "readv");
	RESOLVE(real_cfr, "copy_file_range");
	RESOLVE(real_open, "open");
	RESOLVE(real_open64, "open64");
	RESOLVE(real_openat, "openat");
	RESOLVE(real_openat64, "openat64");
	RESOLVE(real_open_2, "__open_2");
	RESOLVE(real_open64_2, "__open64_2");
	RESOLVE(real_openat_2, "__openat_2");
	RESOLVE(real_openat64_2, "__openat64_2");
	RESOLVE(real_creat, "creat");
	RESOLVE(real_creat64, "creat64");
	RESOLVE(real_mkstemp, "mkstemp");
	RESOLVE(real_mkstemp64, "mkstemp64");
	RESOLVE(real_mkostemp, "mkostemp");
	RESOLVE(real_mkostemp64, "mkostemp64");
	RESOLVE(real_mkstemps, "mkstemps");
	RESOLVE(real_mkostemps, "mkostemps");
	RESOLVE(real_close, "close");
	RESOLVE(real_fsync, "fsync");
	RESOLVE(real_fdatasync, "fdatasync");
	RESOLVE(real_syncfs, "syncfs");
	RESOLVE(real_rename, "rename");
	RESOLVE(real_renameat, "renameat");
	RESOLVE(real_renameat2, "renameat2");
	write_budget = env_num("CDR_FAULT_WRITE_AFTER");
	read_budget = env_num("CDR_FAULT_READ_AFTER");
	stall_budget = env_num("CDR_FAULT_STALL_AFTER");
	short_write = env_num("CDR_FAULT_SHORT_WRITE");
	short_read = env_num("CDR_FAULT_SHORT_READ");
	fsync_fault = env_num("CDR_FAULT_FSYNC") > 0;
	if ((s = getenv("CDR_FAULT_RENAME")) != NULL && *s != '\0' &&
	    strcmp(s, "0") != 0)
		rename_errno = strcmp(s, "ENOSPC") == 0 ? ENOSPC :
		    strcmp(s, "EDQUOT") == 0 ? EDQUOT : EIO;
	if ((s = getenv("CDR_FAULT_PATH")) != NULL && *s != '\0')
		match = s;
	if ((s = getenv("CDR_FAULT_LOG")) != NULL && *s != '\0')
		logpath = s;
	inited = 1;
}

__attribute__((constructor)) static void
faultinj_ctor(void)
{
	init();
}

/* Appends "what path-or-fd" to the log without recursing into the shim. */
static void
note(const char *what, const char *path, int fd)
{
	char line[4200];
	int n, lfd, e = errno;

	if (logpath == NULL)
		return;
	if (path != NULL)
		n = snprintf(line, sizeof line, "%s %s\n", what, path);
	else
		n = snprintf(line, sizeof line, "%s fd=%d\n", what, fd);
	lfd = real_open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0644);
	if (lfd >= 0) {
		if (n > 0)
			(void)real_write(lfd, line,
			    (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
		real_close(lfd);
	}
	errno = e;
}

static int
path_matches(const char *path)
{
	return path != NULL && (match == NULL || strstr(path, match) != NULL);
}

static void
track(int fd, const char *path, int flags)
{
	struct stat st;
	int kind = T_NONE;

	if (fd < 0 || fd >= MAXFD)
		return;
	if (path_matches(path) && fstat(fd, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			kind = T_DIR;
		else if (S_ISREG(st.st_mode))
			kind = (flags & O_ACCMODE) == O_RDONLY ? T_READ :
			    (flags & O_ACCMODE) == O_WRONLY ? T_WRITE :
			    T_READ | T_WRITE;
	}
	__atomic_store_n(&tracked[fd], (unsigned char)kind, __ATOMIC_SEQ_CST);
}

static int
is(int fd, int kind)
{
	return fd >= 0 && fd < MAXFD &&
	    (__atomic_load_n(&tracked[fd], __ATOMIC_SEQ_CST) & kind) != 0;
}

/* How many of n bytes may go before the stall; never returns at the stall. */
static size_t
stall_allowance(int fd, size_t n)
{
	long long left, take;

	if (stall_budget < 0 || !is(fd, T_WRITE) || n == 0)
		return n;
	for (;;) {
		left = __atomic_load_n(&stall_budget, __ATOMIC_SEQ_CST);
		if (left <= 0) {
			note("stalled", NULL, fd);
			for (;;)
				pause();
		}
		take = (long long)n < left ? (long long)n : left;
		if (__atomic_compare_exchange_n(&stall_budget, &left,
		    left - take, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			return (size_t)take;
	}
}

/*
 * How many of n bytes a write may put on fd: n when the fd is not
 * affected; 0 with errno ENOSPC when the budget is spent.
 */
static ssize_t
write_allowance(int fd, size_t n, int *fault)
{
	long long left, take;

	*fault = 0;
	n = stall_allowance(fd, n);
	if (short_write > 0 && is(fd, T_WRITE) && n > (size_t)short_write)
		n = (size_t)short_write;
	if (write_budget < 0 || !is(fd, T_WRITE) || n == 0)
		return (ssize_t)n;
	for (;;) {
		left = __atomic_load_n(&write_budget, __ATOMIC_SEQ_CST);
		if (left <= 0) {
			*fault = 1;
			note("write-enospc", NULL, fd);
			errno = ENOSPC;
			return 0;
		}
		take = (long long)n < left ? (long long)n : left;
		if (__atomic_compare_exchange_n(&write_budget, &left,
		    left - take, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			return (ssize_t)take;
	}
}

static ssize_t
read_allowance(int fd, size_t n, int *fault)
{
	long long left, take;

	*fault = 0;
	if (short_read > 0 && is(fd, T_READ) && n > (size_t)short_read)
		n = (size_t)short_read;
	if (read_budget < 0 || !is(fd, T_READ) || n == 0)
		return (ssize_t)n;
	for (;;) {
		left = __atomic_load_n(&read_budget, __ATOMIC_SEQ_CST);
		if (left <= 0) {
			*fault = 1;
			note("read-eio", NULL, fd);
			errno = EIO;
			return 0;
		}
		take = (long long)n < left ? (long long)n : left;
		if (__atomic_compare_exchange_n(&read_budget, &left,
		    left - take, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			return (ssize_t)take;
	}
}

/* ---- writes ---- */

ssize_t
write(int fd, const void *p, size_t n)
{
	int fault;
	ssize_t k;

	init();
	k = write_allowance(fd, n, &fault);
	if (fault)
		return -1;
	return real_write(fd, p, (size_t)k);
}

ssize_t
pwrite(int fd, const void *p, size_t n, off_t off)
{
	int fault;
	ssize_t k;

	init();
	k = write_allowance(fd, n, &fault);
	if (fault)
		return -1;
	return real_pwrite(fd, p, (size_t)k, off);
}

ssize_t
pwrite64(int fd, const void *p, size_t n, off_t off)
{
	int fault;
	ssize_t k;

	init();
	k = write_allowance(fd, n, &fault);
	if (fault)
		return -1;
	return real_pwrite64(fd, p, (size_t)k, off);
}

static size_t
iov_total(const struct iovec *iov, int cnt)
{
	size_t t = 0;
	int i;

	for (i = 0; i < cnt; i++)
		t += iov[i].iov_len;
	return t;
}

/* A vectored write that would cross the budget writes its first part. */
static ssize_t
vec_write(int fd, const struct iovec *iov, int cnt, off_t off, int posn,
    int is64)
{
	size_t total;
	int fault;
	ssize_t k;

	init();
	total = iov_total(iov, cnt);
	k = write_allowance(fd, total, &fault);
	if (fault)
		return -1;
	if ((size_t)k == total) {
		if (!posn)
			return real_writev(fd, iov, cnt);
		return is64 ? real_pwritev64(fd, iov, cnt, off) :
		    real_pwritev(fd, iov, cnt, off);
	}
	/* Cut short: write the bytes allowed from the first vectors. */
	{
		ssize_t done = 0, r;
		int i;

		for (i = 0; i < cnt && done < k; i++) {
			size_t want = iov[i].iov_len;

			if ((ssize_t)want > k - done)
				want = (size_t)(k - done);
			r = posn ? real_pwrite(fd, iov[i].iov_base, want,
			    off + done) : real_write(fd, iov[i].iov_base, want);
			if (r < 0)
				return done > 0 ? done : -1;
			done += r;
			if ((size_t)r < want)
				break;
		}
		return done;
	}
}

ssize_t
writev(int fd, const struct iovec *iov, int cnt)
{
	return vec_write(fd, iov, cnt, 0, 0, 0);
}

ssize_t
pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	return vec_write(fd, iov, cnt, off, 1, 0);
}

ssize_t
pwritev64(int fd, const struct iovec *iov, int cnt, off_t off)
{
	return vec_write(fd, iov, cnt, off, 1, 1);
}

ssize_t
copy_file_range(int in, off_t *ioff, int out, off_t *ooff, size_t n,
    unsigned int flags)
{
	int fault;
	ssize_t k;

	init();
	k = write_allowance(out, n, &fault);
	if (fault)
		return -1;
	return real_cfr(in, ioff, out, ooff, (size_t)k, flags);
}

/* ---- reads ---- */

ssize_t
read(int fd, void *p, size_t n)
{
	int fault;
	ssize_t k;

	init();
	k = read_allowance(fd, n, &fault);
	if (fault)
		return -1;
	return real_read(fd, p, (size_t)k);
}

ssize_t
pread(int fd, void *p, size_t n, off_t off)
{
	int fault;
	ssize_t k;

	init();
	k = read_allowance(fd, n, &fault);
	if (fault)
		return -1;
	return real_pread(fd, p, (size_t)k, off);
}

ssize_t
pread64(int fd, void *p, size_t n, off_t off)
{
	int fault;
	ssize_t k;

	init();
	k = read_allowance(fd, n, &fault);
	if (fault)
		return -1;
	return real_pread64(fd, p, (size_t)k, off);
}

ssize_t
readv(int fd, const struct iovec *iov, int cnt)
{
	int fault;
	ssize_t k;

	init();
	k = read_allowance(fd, iov_total(iov, cnt), &fault);
	if (fault)
		return -1;
	if (cnt > 0 && (size_t)k < iov_total(iov, cnt))
		return real_read(fd, iov[0].iov_base,
		    (size_t)k < iov[0].iov_len ? (size_t)k : iov[0].iov_len);
	return real_readv(fd, iov, cnt);
}

/* ---- opening and closing ---- */

static mode_t
mode_arg(int flags, va_list ap)
{
	return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

int
open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;
	int fd;

	init();
	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	fd = real_open(path, flags, mode);
	track(fd, path, flags);
	return fd;
}

int
open64(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;
	int fd;

	init();
	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	fd = real_open64(path, flags, mode);
	track(fd, path, flags);
	return fd;
}

int
openat(int dfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;
	int fd;

	init();
	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	fd = real_openat(dfd, path, flags, mode);
	track(fd, path, flags);
	return fd;
}

int
openat64(int dfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;
	int fd;

	init();
	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	fd = real_openat64(dfd, path, flags, mode);
	track(fd, path, flags);
	return fd;
}

int
__open_2(const char *path, int flags)
{
	int fd;

	init();
	fd = real_open_2(path, flags);
	track(fd, path, flags);
	return fd;
}

int
__open64_2(const char *path, int flags)
{
	int fd;

	init();
	fd = real_open64_2(path, flags);
	track(fd, path, flags);
	return fd;
}

int
__openat_2(int dfd, const char *path, int flags)
{
	int fd;

	init();
	fd = real_openat_2(dfd, path, flags);
	track(fd, path, flags);
	return fd;
}

int
__openat64_2(int dfd, const char *path, int flags)
{
	int fd;

	init();
	fd = real_openat64_2(dfd, path, flags);
	track(fd, path, flags);
	return fd;
}

int
creat(const char *path, mode_t mode)
{
	int fd;

	init();
	fd = real_creat(path, mode);
	track(fd, path, O_WRONLY);
	return fd;
}

int
creat64(const char *path, mode_t mode)
{
	int fd;

	init();
	fd = real_creat64(path, mode);
	track(fd, path, O_WRONLY);
	return fd;
}

int
mkstemp(char *tmpl)
{
	int fd;

	init();
	fd = real_mkstemp(tmpl);
	track(fd, tmpl, O_RDWR);
	return fd;
}

int
mkstemp64(char *tmpl)
{
	int fd;

	init();
	fd = real_mkstemp64(tmpl);
	track(fd, tmpl, O_RDWR);
	return fd;
}

int
mkostemp(char *tmpl, int flags)
{
	int fd;

	init();
	fd = real_mkostemp(tmpl, flags);
	track(fd, tmpl, O_RDWR);
	return fd;
}

int
mkostemp64(char *tmpl, int flags)
{
	int fd;

	init();
	fd = real_mkostemp64(tmpl, flags);
	track(fd, tmpl, O_RDWR);
	return fd;
}

int
mkstemps(char *tmpl, int suffixlen)
{
	int fd;

	init();
	fd = real_mkstemps(tmpl, suffixlen);
	track(fd, tmpl, O_RDWR);
	return fd;
}

int
mkostemps(char *tmpl, int suffixlen, int flags)
{
	int fd;

	init();
	fd = real_mkostemps(tmpl, suffixlen, flags);
	track(fd, tmpl, O_RDWR);
	return fd;
}

int
close(int fd)
{
	init();
	if (fd >= 0 && fd < MAXFD)
		__atomic_store_n(&tracked[fd], 0, __ATOMIC_SEQ_CST);
	return real_close(fd);
}

/* ---- durability and commit ---- */

int
fsync(int fd)
{
	init();
	if (fsync_fault && is(fd, T_READ | T_WRITE | T_DIR)) {
		note("fsync-eio", NULL, fd);
		errno = EIO;
		return -1;
	}
	return real_fsync(fd);
}

int
fdatasync(int fd)
{
	init();
	if (fsync_fault && is(fd, T_READ | T_WRITE | T_DIR)) {
		note("fdatasync-eio", NULL, fd);
		errno = EIO;
		return -1;
	}
	return real_fdatasync(fd);
}

int
syncfs(int fd)
{
	init();
	if (fsync_fault && is(fd, T_READ | T_WRITE | T_DIR)) {
		note("syncfs-eio", NULL, fd);
		errno = EIO;
		return -1;
	}
	return real_syncfs(fd);
}

static int
rename_fault(const char *from, const char *to)
{
	if (rename_errno == 0 || !(path_matches(from) || path_matches(to)))
		return 0;
	note("rename-fail", to, -1);
	errno = rename_errno;
	return 1;
}

int
rename(const char *from, const char *to)
{
	init();
	if (rename_fault(from, to))
		return -1;
	return real_rename(from, to);
}

int
renameat(int fd1, const char *from, int fd2, const char *to)
{
	init();
	if (rename_fault(from, to))
		return -1;
	return real_renameat(fd1, from, fd2, to);
}

int
renameat2(int fd1, const char *from, int fd2, const char *to,
    unsigned int flags)
{
	init();
	if (rename_fault(from, to))
		return -1;
	return real_renameat2(fd1, from, fd2, to, flags);
}
