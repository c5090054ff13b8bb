/*
 * Byte input through libarchive (see input.h).
 */
#include <sys/stat.h>

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

/* Large blocks keep libarchive's per-call cost out of the hot path. */
#define INPUT_BLOCK (128 * 1024)

struct cdr_input {
	struct archive	*a;
	char		*path;		/* as given; "stdin" for "-" */
	char		*name;		/* current source name */
	int		 raw;		/* not a container: one member */
	int		 at_end;	/* current member fully read */
	int		 started;	/* first member header read */
	int		 fd;
};

static int next_header(struct cdr_input *in);

struct cdr_input *
cdr_input_open(const char *path)
{
	struct cdr_input *in;
	struct stat st;
	int is_stdin = strcmp(path, "-") == 0;

	in = cdr_xcalloc(1, sizeof(*in));
	in->path = cdr_xstrdup(is_stdin ? "stdin" : path);
	in->fd = -1;
	if (is_stdin) {
		in->fd = STDIN_FILENO;
	} else {
		in->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (in->fd < 0) {
			cdr_warn_errno("%s", path);
			goto fail;
		}
		if (fstat(in->fd, &st) == 0 && S_ISDIR(st.st_mode)) {
			errno = EISDIR;
			cdr_warn_errno("%s", path);
			goto fail;
		}
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
	    archive_read_support_format_raw(in->a) < ARCHIVE_WARN ||
	    archive_read_support_format_empty(in->a) < ARCHIVE_WARN) {
		cdr_warn("%s: %s", in->path, archive_error_string(in->a));
		goto fail;
	}
	if (archive_read_open_fd(in->a, in->fd, INPUT_BLOCK) != ARCHIVE_OK) {
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
		if (archive_entry_filetype(e) != AE_IFREG)
			continue;
		member = archive_entry_pathname(e);
		in->name = cdr_xmalloc(strlen(in->path) +
		    strlen(member ? member : "?") + 2);
		sprintf(in->name, "%s:%s", in->path, member ? member : "?");
		return 1;
	}
}

ssize_t
cdr_input_read(struct cdr_input *in, const void **buf)
{
	la_int64_t off;
	size_t len;
	int rc;

	if (in->at_end)
		return 0;
	for (;;) {
		rc = archive_read_data_block(in->a, buf, &len, &off);
		if (rc == ARCHIVE_EOF) {
			in->at_end = 1;
			return 0;
		}
		if (rc < ARCHIVE_WARN) {
			cdr_warn("%s: %s", in->name ? in->name : in->path,
			    archive_error_string(in->a));
			in->at_end = 1;
			return -1;
		}
		if (len > 0)
			return (ssize_t)len;
	}
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
	free(in->path);
	free(in->name);
	free(in);
}
