/*
 * Byte input (see input.h).
 *
 * The first bytes decide the path.  Text that is not an archive (NDJSON or
 * CSV, the common case) is read with read(2) directly: libarchive's format
 * detection reads ahead until it has enough bytes to rule out every
 * format, which on a pipe would hold back the first records of a stream
 * (tail -F | cdr-validate) until kilobytes more arrive.  Anything that
 * starts like a compressed file or an archive goes through libarchive, fed
 * with the bytes already read.
 */
#include <sys/stat.h>

#include <poll.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "input.h"
#include "msg.h"
#include "out.h"

#define INPUT_BLOCK (128 * 1024)
/*
 * A pipe this big lets the writer run ahead by more than the default
 * 64 KiB, so that both ends of a pipeline wake up and copy less often.
 */
#define PIPE_BYTES (1024 * 1024)
/* Enough to see "ustar" at offset 257 of a tar header. */
#define SNIFF_MAX 512

struct cdr_input {
	struct archive	*a;		/* NULL for plain input */
	char		*path;		/* as given; "stdin" for "-" */
	char		*name;		/* current source name */
	int		 raw;		/* not a container: one member */
	int		 at_end;	/* current member fully read */
	int		 started;	/* first member header read */
	int		 fd;
	char		*block;		/* read buffer */
	size_t		 pre;		/* sniffed bytes still to hand out */
	const char	*left;		/* a block partly handed out */
	size_t		 nleft;
	int		 eof;		/* read(2) returned 0 */
	int		 stream;	/* a pipe, socket or terminal */
	int		 read_errno;	/* read(2) failed under libarchive */
};

static int next_header(struct cdr_input *in);

/* Reads at most want bytes into dst; -1 on error, else bytes read. */
static ssize_t
read_fd(struct cdr_input *in, char *dst, size_t want)
{
	struct pollfd pfd;
	ssize_t n;

	/*
	 * Before waiting on a stream, hand what is already done downstream:
	 * in tail -F | cdr-validate | ... every record moves on at once.
	 */
	if (in->stream) {
		pfd.fd = in->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 0) == 0)
			cdr_out_flush_stdout();
	}
	for (;;) {
		n = read(in->fd, dst, want);
		if (n >= 0 || errno != EINTR)
			break;
	}
	if (n == 0)
		in->eof = 1;
	return n;
}

/* Reads into block after have bytes; -1 on error, else bytes added. */
static ssize_t
read_more(struct cdr_input *in, size_t have, size_t want)
{
	return read_fd(in, in->block + have, want - have);
}

/* Whether the first bytes look like a compressed file or an archive. */
static int
looks_packed(const unsigned char *p, size_t n)
{
	static const struct {
		const char	*magic;
		size_t		 len;
	} magics[] = {
		{ "\x1f\x8b", 2 },		/* gzip */
		{ "BZh", 3 },			/* bzip2 */
		{ "\xfd" "7zXZ\0", 6 },		/* xz */
		{ "\x28\xb5\x2f\xfd", 4 },	/* zstd */
		{ "\x04\x22\x4d\x18", 4 },	/* lz4 */
		{ "\x5d\0\0", 3 },		/* lzma */
		{ "\x1f\x9d", 2 },		/* compress */
		{ "PK\x03\x04", 4 },		/* zip */
		{ "PK\x05\x06", 4 },		/* empty zip */
		{ "070707", 6 },		/* cpio */
		{ "070701", 6 },
		{ "070702", 6 },
		{ "\xc7\x71", 2 },		/* binary cpio */
		{ "\x71\xc7", 2 },
		{ "7z\xbc\xaf\x27\x1c", 6 }
	};
	size_t i;

	for (i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
		if (n >= magics[i].len &&
		    memcmp(p, magics[i].magic, magics[i].len) == 0)
			return 1;
	/* tar: "ustar" at 257 */
	if (n >= 262 && memcmp(p + 257, "ustar", 5) == 0)
		return 1;
	return 0;
}

/*
 * Reads the first bytes: until a line end (text), a NUL (binary), enough
 * for every magic, or the end.  Returns 1 for plain text, 0 for input to
 * hand to libarchive, -1 on error.
 */
static int
sniff(struct cdr_input *in)
{
	size_t have = 0;
	ssize_t n;

	for (;;) {
		if (have > 0) {
			/* JSON text cannot be an archive: decide at once. */
			if (in->block[0] == '{' || in->block[0] == '[')
				break;
			if (looks_packed((unsigned char *)in->block, have))
				break;
			if (memchr(in->block, '\0', have) != NULL)
				break;
			if (memchr(in->block, '\n', have) != NULL && have >= 6)
				break;
			if (have >= SNIFF_MAX)
				break;
		}
		if (in->eof)
			break;
		n = read_more(in, have, SNIFF_MAX);
		if (n < 0)
			return -1;
		have += (size_t)n;
	}
	in->pre = have;
	if (have == 0)
		return 1;
	if (looks_packed((unsigned char *)in->block, have))
		return 0;
	/* Binary that is no known format is still handed out as it is. */
	return 1;
}

static la_ssize_t
archive_read_cb(struct archive *a, void *data, const void **buf)
{
	struct cdr_input *in = data;
	ssize_t n;

	*buf = in->block;
	if (in->pre > 0) {
		n = (ssize_t)in->pre;
		in->pre = 0;
		return n;
	}
	if (in->eof)
		return 0;
	n = read_more(in, 0, INPUT_BLOCK);
	if (n < 0) {
		/* A decompressor may report it as truncated input. */
		in->read_errno = errno;
		archive_set_error(a, errno, "%s", strerror(errno));
	}
	return n;
}

struct cdr_input *
cdr_input_open(const char *path)
{
	struct cdr_input *in;
	struct stat st;
	int is_stdin = strcmp(path, "-") == 0, rc;

	in = cdr_xcalloc(1, sizeof(*in));
	in->path = cdr_xstrdup(is_stdin ? "stdin" : path);
	in->block = cdr_xmalloc(INPUT_BLOCK);
	in->fd = -1;
	if (is_stdin) {
		in->fd = STDIN_FILENO;
	} else {
		in->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (in->fd < 0) {
			cdr_warn_errno("%s", path);
			goto fail;
		}
	}
	if (fstat(in->fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		cdr_warn_errno("%s", in->path);
		goto fail;
	}
	in->stream = fstat(in->fd, &st) == 0 && !S_ISREG(st.st_mode) &&
	    !S_ISBLK(st.st_mode);
	/* Only a capacity: failing to grow it changes nothing else. */
	if (in->stream && S_ISFIFO(st.st_mode) &&
	    fcntl(in->fd, F_GETPIPE_SZ) < PIPE_BYTES)
		(void)fcntl(in->fd, F_SETPIPE_SZ, PIPE_BYTES);
	rc = sniff(in);
	if (rc < 0) {
		cdr_warn_errno("%s", in->path);
		goto fail;
	}
	if (rc == 1) {
		in->raw = 1;
		in->started = 1;
		in->name = cdr_xstrdup(in->path);
		return in;
	}
	in->a = archive_read_new();
	if (in->a == NULL) {
		errno = ENOMEM;
		cdr_warn_errno("%s", in->path);
		goto fail;
	}
	/*
	 * support_filter_all warns (ARCHIVE_WARN) when the external program
	 * of a rare filter is missing; that is not an error.
	 */
	if (archive_read_support_filter_all(in->a) < ARCHIVE_WARN ||
	    archive_read_support_format_tar(in->a) < ARCHIVE_WARN ||
	    archive_read_support_format_cpio(in->a) < ARCHIVE_WARN ||
	    archive_read_support_format_zip(in->a) < ARCHIVE_WARN ||
	    archive_read_support_format_7zip(in->a) < ARCHIVE_WARN ||
	    archive_read_support_format_raw(in->a) < ARCHIVE_WARN ||
	    archive_read_support_format_empty(in->a) < ARCHIVE_WARN) {
		cdr_warn("%s: %s", in->path, archive_error_string(in->a));
		goto fail;
	}
	if (archive_read_open(in->a, in, NULL, archive_read_cb, NULL) !=
	    ARCHIVE_OK) {
		cdr_warn("%s: %s", in->path, archive_error_string(in->a));
		goto fail;
	}
	if (next_header(in) < 0)
		goto fail;
	return in;
fail:
	cdr_input_close(in);
	return NULL;
}

/* Reads headers until a regular-file member; 1 found, 0 none left, -1 error. */
static int
next_header(struct cdr_input *in)
{
	struct archive_entry *e;
	const char *member;
	int rc;

	in->nleft = 0;
	for (;;) {
		rc = archive_read_next_header(in->a, &e);
		if (rc == ARCHIVE_EOF) {
			in->at_end = 1;
			if (!in->started) {
				/* An empty input is one empty source. */
				in->started = 1;
				in->raw = 1;
				free(in->name);
				in->name = cdr_xstrdup(in->path);
				return 1;
			}
			return 0;
		}
		if (rc < ARCHIVE_WARN) {
			cdr_warn("%s: %s", in->path,
			    archive_error_string(in->a));
			return -1;
		}
		in->started = 1;
		in->at_end = 0;
		free(in->name);
		if (archive_format(in->a) == ARCHIVE_FORMAT_RAW ||
		    archive_format(in->a) == ARCHIVE_FORMAT_EMPTY) {
			in->raw = 1;
			in->name = cdr_xstrdup(in->path);
			return 1;
		}
		in->name = NULL;
		member = archive_entry_pathname(e);
		/*
		 * Links are not followed: a symbolic link could name any file
		 * on this machine, a hard link repeats another member.  Say so
		 * rather than skip them silently.
		 */
		if (archive_entry_hardlink(e) != NULL ||
		    archive_entry_filetype(e) == AE_IFLNK) {
			cdr_warn("%s:%s: %s link member skipped", in->path,
			    member ? member : "?",
			    archive_entry_hardlink(e) != NULL ? "hard" :
			    "symbolic");
			continue;
		}
		if (archive_entry_filetype(e) != AE_IFREG)
			continue;
		in->name = cdr_xmalloc(strlen(in->path) +
		    strlen(member ? member : "?") + 2);
		sprintf(in->name, "%s:%s", in->path, member ? member : "?");
		return 1;
	}
}

/*
 * The next bytes of a plain (not packed) source into dst: as
 * cdr_input_read, a read error reported and the source then at its end.
 */
static ssize_t
plain_read(struct cdr_input *in, char *dst, size_t cap)
{
	ssize_t n = in->eof ? 0 : read_fd(in, dst, cap);

	if (n < 0) {
		cdr_warn_errno("%s: read error", in->path);
		in->at_end = 1;
		return -1;
	}
	if (n == 0)
		in->at_end = 1;
	return n;
}

ssize_t
cdr_input_read(struct cdr_input *in, const void **buf)
{
	la_int64_t off;
	size_t len;
	ssize_t n;
	int rc;

	if (in->at_end)
		return 0;
	if (in->a == NULL) {
		*buf = in->block;
		if (in->pre > 0) {
			n = (ssize_t)in->pre;
			in->pre = 0;
			return n;
		}
		return plain_read(in, in->block, INPUT_BLOCK);
	}
	for (;;) {
		rc = archive_read_data_block(in->a, buf, &len, &off);
		if (rc == ARCHIVE_EOF) {
			in->at_end = 1;
			return 0;
		}
		if (rc < ARCHIVE_WARN) {
			if (in->read_errno != 0)
				cdr_warn("%s: read error: %s", in->path,
				    strerror(in->read_errno));
			else
				cdr_warn("%s: %s", in->name ? in->name :
				    in->path, archive_error_string(in->a));
			in->at_end = 1;
			return -1;
		}
		if (len > 0)
			return (ssize_t)len;
	}
}

ssize_t
cdr_input_read_into(struct cdr_input *in, void *dst, size_t cap)
{
	const void *blk;
	ssize_t n;

	if (cap == 0)
		return 0;
	if (in->nleft == 0 && in->a == NULL && in->pre == 0) {
		if (in->at_end)
			return 0;
		return plain_read(in, dst, cap);
	}
	if (in->nleft == 0) {
		if (in->a == NULL) {
			/* The sniffed bytes, perhaps over several calls. */
			blk = in->block;
			n = (ssize_t)in->pre;
			in->pre = 0;
		} else if ((n = cdr_input_read(in, &blk)) <= 0) {
			return n;
		}
		in->left = blk;
		in->nleft = (size_t)n;
	}
	n = (ssize_t)(in->nleft < cap ? in->nleft : cap);
	memcpy(dst, in->left, (size_t)n);
	in->left += n;
	in->nleft -= (size_t)n;
	return n;
}

int
cdr_input_next_member(struct cdr_input *in)
{
	const void *buf;
	ssize_t n;

	if (in->raw)
		return 0;
	while (!in->at_end) {
		n = cdr_input_read(in, &buf);
		if (n < 0)
			return -1;
	}
	return next_header(in);
}

const char *
cdr_input_name(const struct cdr_input *in)
{
	return in->name != NULL ? in->name : in->path;
}

const char *
cdr_input_filter(const struct cdr_input *in)
{
	const char *f;

	if (in->a == NULL || archive_filter_count(in->a) <= 1)
		return "none";
	f = archive_filter_name(in->a, 0);
	return f != NULL ? f : "unknown";
}

void
cdr_input_close(struct cdr_input *in)
{
	if (in == NULL)
		return;
	if (in->a != NULL)
		archive_read_free(in->a);
	if (in->fd > STDIN_FILENO)
		close(in->fd);
	free(in->block);
	free(in->path);
	free(in->name);
	free(in);
}
