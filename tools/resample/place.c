/*
 * One file's job (see place.h).
 *
 * The original is never written to.  The new file is written to a hidden
 * temporary name in the target's directory, given the original's
 * permission bits, owner (in place, when allowed) and times, fsynced,
 * checked by reading its header back, and only then renamed over the
 * target; the directory is fsynced after the rename.  With
 * --keep-original the original is hard-linked (or, across file systems,
 * copied and fsynced) into the keep directory before the rename.  A crash
 * at any point leaves the original, or the complete new file: a re-run
 * skips what is already converted and finishes the rest.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"
#include "out.h"
#include "place.h"

#define COPY_BLOCK	(1024 * 1024)

static void fail(struct file_result *r, enum file_error e, const char *check,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
fail(struct file_result *r, enum file_error e, const char *check,
    const char *fmt, ...)
{
	va_list ap;

	r->status = FS_FAILED;
	r->error = e;
	r->check = check;
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
}

void
file_result_free(struct file_result *r)
{
	free(r->output);
	free(r->kept);
	r->output = r->kept = NULL;
}

static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return cdr_xstrdup(".");
	if (slash == path)
		return cdr_xstrdup("/");
	return cdr_xstrndup(path, (size_t)(slash - path));
}

static const char *
base_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

int
place_mkdirs(const char *dir)
{
	struct stat st;
	char *p, *s;
	int rc = 0;

	if (stat(dir, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : (errno = ENOTDIR, -1);
	p = cdr_xstrdup(dir);
	for (s = p + 1; rc == 0; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		if (s[-1] != '/') {
			char c = *s;

			*s = '\0';
			if (mkdir(p, 0777) != 0 && errno != EEXIST)
				rc = -1;
			else if (stat(p, &st) != 0)
				rc = -1;
			else if (!S_ISDIR(st.st_mode)) {
				errno = ENOTDIR;
				rc = -1;
			}
			*s = c;
		}
		if (*s == '\0')
			break;
	}
	free(p);
	return rc;
}

static void
sync_dir(const char *path)
{
	char *dir = dir_of(path);
	int fd;

	/* Best effort: some file systems cannot sync a directory. */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	free(dir);
}

/*
 * A hidden temporary file next to final, created and registered for
 * removal on exit and signals under the lock, so that a signal never sees
 * a temporary file that is not registered.
 */
static int
make_tmp(const struct place_opts *o, const char *final, char **tmp)
{
	const char *name = base_of(final);
	size_t dlen = (size_t)(name - final), nlen = strlen(name);
	int fd, e;

	/* Room for ".NAME.tmp.XXXXXX" within NAME_MAX. */
	if (nlen > 200)
		nlen = 200;
	*tmp = cdr_xmalloc(dlen + nlen + 16);
	snprintf(*tmp, dlen + nlen + 16, "%.*s.%.*s.tmp.XXXXXX", (int)dlen,
	    final, (int)nlen, name);
	pthread_mutex_lock(o->lock);
	fd = mkostemp(*tmp, O_CLOEXEC);
	e = errno;
	if (fd >= 0)
		cdr_out_track_tmp(*tmp);
	pthread_mutex_unlock(o->lock);
	if (fd < 0) {
		free(*tmp);
		*tmp = NULL;
		errno = e;
	}
	return fd;
}

static void
drop_tmp(const struct place_opts *o, char **tmp)
{
	if (*tmp == NULL)
		return;
	pthread_mutex_lock(o->lock);
	unlink(*tmp);
	cdr_out_untrack_tmp(*tmp);
	pthread_mutex_unlock(o->lock);
	free(*tmp);
	*tmp = NULL;
}

/*
 * Renames tmp to final; without replace, an existing final is not
 * replaced (EEXIST).  0 or -1 (errno).
 */
static int
commit_tmp(const struct place_opts *o, char **tmp, const char *final,
    int replace)
{
	int rc, e;

	pthread_mutex_lock(o->lock);
	if (replace) {
		rc = rename(*tmp, final);
	} else {
		rc = renameat2(AT_FDCWD, *tmp, AT_FDCWD, final,
		    RENAME_NOREPLACE);
		/* File systems without RENAME_NOREPLACE: link, unlink. */
		if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) {
			rc = link(*tmp, final);
			if (rc == 0)
				unlink(*tmp);
		}
	}
	e = errno;
	if (rc == 0) {
		cdr_out_untrack_tmp(*tmp);
		free(*tmp);
		*tmp = NULL;
	}
	pthread_mutex_unlock(o->lock);
	errno = e;
	if (rc == 0)
		sync_dir(final);
	return rc;
}

/* Copies n bytes of in to out from offset 0; 0, or -1 read / -2 write. */
static int
copy_fd(int in, int out, uint64_t n)
{
	char *buf = NULL;
	uint64_t off = 0;
	ssize_t r, w;
	size_t k;
	loff_t ioff = 0, ooff = 0;

	/* copy_file_range shares extents where the file system can. */
	while (off < n) {
		r = copy_file_range(in, &ioff, out, &ooff, (size_t)(n - off >
		    (1u << 30) ? (1u << 30) : n - off), 0);
		if (r <= 0)
			break;
		off += (uint64_t)r;
	}
	if (off >= n)
		return 0;
	buf = cdr_xmalloc(COPY_BLOCK);
	while (off < n) {
		k = n - off > COPY_BLOCK ? COPY_BLOCK : (size_t)(n - off);
		r = pread(in, buf, k, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO;
			free(buf);
			return -1;
		}
		for (k = 0; k < (size_t)r; k += (size_t)w) {
			w = pwrite(out, buf + k, (size_t)r - k,
			    (off_t)(off + k));
			if (w < 0 && errno == EINTR) {
				w = 0;
				continue;
			}
			if (w <= 0) {
				if (w == 0)
					errno = ENOSPC;
				free(buf);
				return -2;
			}
		}
		off += (uint64_t)r;
	}
	free(buf);
	return 0;
}

/* 1 when the two open files hold the same n bytes. */
static int
same_bytes(int a, int b, uint64_t n)
{
	char *x = cdr_xmalloc(COPY_BLOCK), *y = cdr_xmalloc(COPY_BLOCK);
	uint64_t off = 0;
	ssize_t ra, rb;
	size_t k;
	int same = 1;

	while (same && off < n) {
		k = n - off > COPY_BLOCK ? COPY_BLOCK : (size_t)(n - off);
		ra = pread(a, x, k, (off_t)off);
		rb = pread(b, y, k, (off_t)off);
		if (ra != (ssize_t)k || rb != (ssize_t)k ||
		    memcmp(x, y, k) != 0)
			same = 0;
		off += k;
	}
	free(x);
	free(y);
	return same;
}

/* Gives the new file the original's permission bits, owner and times. */
static int
copy_meta(int fd, const struct stat *st, int owner)
{
	struct timespec ts[2];

	/* Only root may give a file away; others keep their own. */
	if (owner && fchown(fd, st->st_uid, st->st_gid) != 0 &&
	    errno != EPERM)
		return -1;
	/* After fchown, which may clear set-id bits. */
	if (fchmod(fd, st->st_mode & 07777) != 0)
		return -1;
	ts[0] = st->st_atim;
	ts[1] = st->st_mtim;
	return futimens(fd, ts);
}

static int
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

static int
unchanged(const struct stat *a, const struct stat *b)
{
	return same_file(a, b) && a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/*
 * The path of path below --base (or its last component): NULL with
 * r failed when it is not below the base or would climb out of it.
 */
static const char *
relative(const struct place_opts *o, const char *path, struct file_result *r)
{
	const char *rel, *p;
	size_t n;

	if (o->base == NULL) {
		rel = base_of(path);
	} else if (strcmp(o->base, ".") == 0) {
		if (path[0] == '/') {
			fail(r, FE_DATA, "path", "an absolute path is not "
			    "below --base .");
			return NULL;
		}
		rel = path;
	} else {
		n = strlen(o->base);
		while (n > 1 && o->base[n - 1] == '/')
			n--;
		if (strncmp(path, o->base, n) != 0 ||
		    (path[n] != '/' && o->base[n - 1] != '/')) {
			fail(r, FE_DATA, "path", "not below --base %s",
			    o->base);
			return NULL;
		}
		rel = path + n;
	}
	while (rel[0] == '/' || (rel[0] == '.' && rel[1] == '/')) {
		rel++;
		while (rel[0] == '/')
			rel++;
	}
	for (p = rel; *p != '\0'; p = strchr(p, '/') ? strchr(p, '/') + 1 :
	    p + strlen(p)) {
		if (p[0] == '.' && p[1] == '.' && (p[2] == '/' || p[2] == '\0'))
		{
			fail(r, FE_DATA, "path", "a '..' in the path would "
			    "leave the output directory");
			return NULL;
		}
	}
	if (*rel == '\0' || rel[strlen(rel) - 1] == '/') {
		fail(r, FE_DATA, "path", "no file name below --base");
		return NULL;
	}
	return rel;
}

/*
 * The first directory below root on the way to rel that is a symbolic
 * link (malloc'd), or NULL: a link planted inside the output tree must
 * not carry files outside it.
 */
static char *
link_below(const char *root, const char *rel)
{
	struct stat st;
	size_t n = strlen(root);
	char *p = cdr_xmalloc(n + strlen(rel) + 2);
	const char *s;

	while (n > 1 && root[n - 1] == '/')
		n--;
	for (s = strchr(rel, '/'); s != NULL; s = strchr(s + 1, '/')) {
		sprintf(p, "%.*s/%.*s", (int)n, root, (int)(s - rel), rel);
		if (lstat(p, &st) != 0)
			break;
		if (S_ISLNK(st.st_mode))
			return p;
	}
	free(p);
	return NULL;
}

static char *
join(const char *dir, const char *rel)
{
	size_t n = strlen(dir);
	char *p = cdr_xmalloc(n + strlen(rel) + 2);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	sprintf(p, "%.*s/%s", (int)n, dir, rel);
	return p;
}

static void
fmt_text(char *buf, size_t n, enum wav_enc enc, unsigned ch, uint32_t rate)
{
	snprintf(buf, n, "%s, %u channel%s, %lu Hz", wav_enc_name(enc), ch,
	    ch == 1 ? "" : "s", (unsigned long)rate);
}

/*
 * An existing output that is the conversion of this input (the target
 * format, the input's length and modification time): a re-run after a
 * crash can skip it.
 */
static int
looks_converted(const char *target, const struct wav_info *in,
    const struct stat *in_st, const struct conv_spec *spec)
{
	struct wav_info w;
	struct stat st;
	char why[256];
	uint64_t want = convert_frames_max(in, spec);
	int fd, ok = 0;

	fd = open(target, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_mtim.tv_sec == in_st->st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == in_st->st_mtim.tv_nsec &&
	    wav_parse(fd, (uint64_t)st.st_size, &w, why, sizeof(why)) == 0 &&
	    wav_tidy(&w) && w.enc == spec->enc &&
	    w.channels == spec->channels && w.rate == spec->rate &&
	    (spec->rate == in->rate ? w.frames == in->frames :
	    w.frames + 3 >= want && w.frames <= want))
		ok = 1;
	close(fd);
	return ok;
}

/* Links (or copies) the original into the keep directory. */
static int
keep_original(const struct place_opts *o, const char *rel, const char *src,
    int fd, const struct stat *st, struct file_result *r)
{
	struct stat kst;
	char *kept = join(o->keep_dir, rel), *dir, *tmp = NULL, *bad;
	int kfd, rc;

	r->kept = kept;
	if ((bad = link_below(o->keep_dir, rel)) != NULL) {
		fail(r, FE_DATA, "path", "%s: a symbolic link inside the "
		    "--keep-original directory is not followed", bad);
		free(bad);
		return -1;
	}
	dir = dir_of(kept);
	rc = place_mkdirs(dir);
	free(dir);
	if (rc != 0) {
		fail(r, FE_IO, "io", "%s: cannot make the directory: %s",
		    kept, strerror(errno));
		return -1;
	}
	if (lstat(kept, &kst) == 0) {
		/* Kept by an earlier, interrupted run? */
		if (same_file(&kst, st))
			return 0;
		if (S_ISREG(kst.st_mode) && kst.st_size == st->st_size) {
			kfd = open(kept, O_RDONLY | O_CLOEXEC);
			if (kfd >= 0) {
				rc = same_bytes(fd, kfd, (uint64_t)st->st_size);
				close(kfd);
				if (rc)
					return 0;
			}
		}
		fail(r, FE_DATA, "exists", "%s exists and is not the original "
		    "(--keep-original)", kept);
		return -1;
	}
	if (link(src, kept) == 0) {
		sync_dir(kept);
		return 0;
	}
	if (errno != EXDEV && errno != EPERM && errno != EMLINK &&
	    errno != EOPNOTSUPP) {
		fail(r, FE_IO, "io", "%s: cannot link the original: %s", kept,
		    strerror(errno));
		return -1;
	}
	/* Another file system: a durable copy. */
	kfd = make_tmp(o, kept, &tmp);
	if (kfd < 0) {
		fail(r, FE_IO, "io", "%s: cannot create a temporary file: %s",
		    kept, strerror(errno));
		return -1;
	}
	rc = copy_fd(fd, kfd, (uint64_t)st->st_size);
	if (rc == 0 && (copy_meta(kfd, st, 1) != 0 || fsync(kfd) != 0))
		rc = -2;
	if (rc != 0) {
		fail(r, FE_IO, "io", "%s: cannot copy the original: %s", kept,
		    strerror(errno));
		close(kfd);
		drop_tmp(o, &tmp);
		return -1;
	}
	close(kfd);
	if (commit_tmp(o, &tmp, kept, 0) != 0) {
		fail(r, FE_IO, "io", "%s: cannot keep the original: %s", kept,
		    strerror(errno));
		drop_tmp(o, &tmp);
		return -1;
	}
	return 0;
}

/* Reads the written file's header back: the format and length we meant. */
static int
verify(int fd, uint64_t bytes, const struct conv_spec *spec,
    uint64_t frames, char *why, size_t n)
{
	struct wav_info w;
	int rc;

	rc = wav_parse(fd, bytes, &w, why, n);
	if (rc == -2)
		snprintf(why, n, "cannot read back: %s", strerror(errno));
	if (rc != 0)
		return -1;
	if (!wav_tidy(&w) || w.enc != spec->enc ||
	    w.channels != spec->channels || w.rate != spec->rate ||
	    w.frames != frames || w.file_size != bytes) {
		snprintf(why, n, "the written file does not read back as "
		    "written");
		return -1;
	}
	return 0;
}

void
place_file(const struct place_opts *o, const char *path,
    struct file_result *r)
{
	struct stat lst, st, st2;
	struct wav_info w;
	struct conv_spec spec;
	char *real = NULL, *target = NULL, *tmp = NULL, *dir;
	const char *src = path, *rel = NULL;
	char why[512], fmt[128];
	uint64_t frames = 0, bytes = 0;
	int64_t age;
	int fd = -1, tfd = -1, rc, same, copy = 0;

	memset(r, 0, sizeof(*r));
	/*
	 * Where the output would go is a matter of the name alone: refuse a
	 * path that leaves the output tree before opening (or reading) it.
	 */
	if ((o->in_place ? o->keep_dir != NULL : o->output == NULL) &&
	    relative(o, path, r) == NULL)
		return;
	if (o->in_place) {
		if (lstat(path, &lst) != 0) {
			fail(r, FE_IO, "io", "cannot open: %s",
			    strerror(errno));
			return;
		}
		/* Convert the file a symbolic link names, keep the link. */
		if (S_ISLNK(lst.st_mode)) {
			real = realpath(path, NULL);
			if (real == NULL) {
				fail(r, FE_IO, "io", "cannot follow the link: "
				    "%s", strerror(errno));
				return;
			}
			src = real;
		}
	}
	fd = open(src, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		fail(r, FE_IO, "io", "cannot open: %s", strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		fail(r, FE_IO, "io", "%s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		fail(r, FE_DATA, "file", "not a regular file");
		goto out;
	}
	r->in.bytes = (uint64_t)st.st_size;
	if (o->min_age > 0) {
		age = (int64_t)(o->now.tv_sec - st.st_mtim.tv_sec) * 1000000 +
		    (o->now.tv_nsec - st.st_mtim.tv_nsec) / 1000;
		if (age < o->min_age) {
			r->status = FS_SKIPPED;
			snprintf(r->reason, sizeof(r->reason), "modified %llds "
			    "ago, within --min-age", (long long)(age < 0 ? 0 :
			    age / 1000000));
			goto out;
		}
	}
	rc = wav_parse(fd, (uint64_t)st.st_size, &w, why, sizeof(why));
	if (rc == -2) {
		fail(r, FE_IO, "io", "read error: %s", strerror(errno));
		goto out;
	}
	if (rc != 0) {
		fail(r, FE_DATA, "wav", "%s", why);
		goto out;
	}
	r->in.set = 1;
	r->in.enc = w.enc;
	r->in.channels = w.channels;
	r->in.rate = w.rate;
	r->in.frames = w.frames;
	spec = o->target;
	if (spec.channels == 0)
		spec.channels = w.channels;
	if (spec.rate == 0)
		spec.rate = w.rate;
	same = w.enc == spec.enc && w.channels == spec.channels &&
	    w.rate == spec.rate;
	if (w.truncated && !o->allow_truncated) {
		fail(r, FE_DATA, "truncated", "truncated: the data chunk "
		    "declares %lu bytes, the file holds %llu of them "
		    "(--allow-truncated converts what is there)",
		    (unsigned long)w.declared,
		    (unsigned long long)(w.declared - w.missing));
		goto out;
	}
	r->truncated = w.truncated;
	fmt_text(fmt, sizeof(fmt), spec.enc, spec.channels, spec.rate);

	if (o->in_place) {
		if (same && wav_tidy(&w)) {
			r->status = FS_SKIPPED;
			snprintf(r->reason, sizeof(r->reason), "already %s",
			    fmt);
			goto out;
		}
		target = cdr_xstrdup(src);
		if (o->keep_dir != NULL && (rel = relative(o, path, r)) == NULL)
			goto out;
	} else {
		if (o->output != NULL) {
			target = cdr_xstrdup(o->output);
		} else {
			if ((rel = relative(o, path, r)) == NULL)
				goto out;
			target = join(o->outdir, rel);
			if ((dir = link_below(o->outdir, rel)) != NULL) {
				fail(r, FE_DATA, "path", "%s: a symbolic link "
				    "inside the output directory is not "
				    "followed", dir);
				free(dir);
				goto out;
			}
			dir = dir_of(target);
			rc = place_mkdirs(dir);
			free(dir);
			if (rc != 0) {
				fail(r, FE_IO, "io", "%s: cannot make the "
				    "directory: %s", target, strerror(errno));
				goto out;
			}
		}
		r->output = cdr_xstrdup(target);
		if (lstat(target, &lst) == 0) {
			/*
			 * A WAV file is committed by rename, which would
			 * replace a device node (-f -o /dev/full as root)
			 * rather than write to it.
			 */
			if (!S_ISREG(lst.st_mode) && !S_ISLNK(lst.st_mode)) {
				fail(r, FE_IO, "io", "%s: not a regular file",
				    target);
				goto out;
			}
			if (same_file(&lst, &st)) {
				fail(r, FE_DATA, "exists", "the output is the "
				    "input (use --in-place)");
				goto out;
			}
			if (!o->force) {
				if (looks_converted(target, &w, &st, &spec)) {
					r->status = FS_SKIPPED;
					snprintf(r->reason, sizeof(r->reason),
					    "already converted");
					goto out;
				}
				fail(r, FE_DATA, "exists", "%s exists (use -f "
				    "to replace it)", target);
				goto out;
			}
		}
		copy = same && wav_tidy(&w);
	}

	tfd = make_tmp(o, target, &tmp);
	if (tfd < 0) {
		fail(r, FE_IO, "io", "%s: cannot create a temporary file: %s",
		    target, strerror(errno));
		goto out;
	}
	if (copy) {
		rc = copy_fd(fd, tfd, (uint64_t)st.st_size);
		if (rc != 0) {
			fail(r, FE_IO, "io", "%s: %s error: %s", rc == -1 ?
			    src : target, rc == -1 ? "read" : "write",
			    strerror(errno));
			goto out;
		}
		frames = w.frames;
		bytes = (uint64_t)st.st_size;
	} else {
		rc = convert_wav(fd, &w, tfd, &spec, &frames, &bytes, why,
		    sizeof(why));
		if (rc == CONV_DATA) {
			fail(r, FE_DATA, "wav", "%s", why);
			goto out;
		}
		if (rc == CONV_READ) {
			fail(r, FE_IO, "io", "read error: %s",
			    strerror(errno));
			goto out;
		}
		if (rc != CONV_OK) {
			fail(r, FE_IO, "io", "%s: write error: %s", target,
			    strerror(errno));
			goto out;
		}
	}
	if (copy_meta(tfd, &st, o->in_place) != 0 || fsync(tfd) != 0) {
		fail(r, FE_IO, "io", "%s: %s", target, strerror(errno));
		goto out;
	}
	if (!copy && verify(tfd, bytes, &spec, frames, why, sizeof(why)) != 0) {
		fail(r, FE_IO, "verify", "%s: %s", target, why);
		goto out;
	}
	close(tfd);
	tfd = -1;
	/* A file still being written (or replaced) is left alone. */
	if (stat(src, &st2) != 0 || !unchanged(&st, &st2)) {
		fail(r, FE_DATA, "changed", "the file changed while it was "
		    "converted");
		goto out;
	}
	if (o->in_place && o->keep_dir != NULL &&
	    keep_original(o, rel, src, fd, &st, r) != 0)
		goto out;
	if (commit_tmp(o, &tmp, target, o->in_place || o->force) != 0) {
		if (errno == EEXIST)
			fail(r, FE_DATA, "exists", "%s appeared during the "
			    "conversion (two inputs with one output name?)",
			    target);
		else
			fail(r, FE_IO, "io", "%s: cannot rename into place: %s",
			    target, strerror(errno));
		goto out;
	}
	r->status = copy ? FS_COPIED : FS_CONVERTED;
	r->out.set = 1;
	r->out.enc = spec.enc;
	r->out.channels = spec.channels;
	r->out.rate = spec.rate;
	r->out.frames = frames;
	r->out.bytes = bytes;
out:
	if (tfd >= 0)
		close(tfd);
	drop_tmp(o, &tmp);
	if (fd >= 0) {
		/* Archive jobs read each file once: leave the cache alone. */
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		close(fd);
	}
	free(real);
	free(target);
}
