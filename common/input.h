/*
 * Byte input through libarchive: plain, gzip, bzip2, xz, zstd (and lz4,
 * lzma where libarchive has them), from a file or stdin ("-").  A tar, cpio
 * or zip archive yields each regular member in turn, each a source of its
 * own named "ARCHIVE:MEMBER".
 */
#ifndef CDR_INPUT_H
#define CDR_INPUT_H

#include <stddef.h>
#include <sys/types.h>

struct cdr_input;

/* Returns NULL after printing "prog: PATH: reason" (errno kept). */
struct cdr_input *cdr_input_open(const char *path);
/*
 * Next block of bytes of the current member: returns its length and sets
 * *buf (valid until the next call), 0 at the end of the member, -1 on a
 * read or decompression error (message printed).
 */
ssize_t cdr_input_read(struct cdr_input *in, const void **buf);
/*
 * As cdr_input_read, but the bytes are copied to dst (at most cap of
 * them): plain input is read into dst directly, with no copy at all, and
 * what does not fit of a decompressed block comes first in the next call.
 * A member is read with one of the two functions, not both.
 */
ssize_t cdr_input_read_into(struct cdr_input *in, void *dst, size_t cap);
/* Moves to the next member: 1 if there is one, 0 at the end, -1 on error. */
int cdr_input_next_member(struct cdr_input *in);
/* Name of the current source: the path, "stdin" or "ARCHIVE:MEMBER". */
const char *cdr_input_name(const struct cdr_input *in);
/* Name of the compression filter in use ("none", "gzip", ...). */
const char *cdr_input_filter(const struct cdr_input *in);
void cdr_input_close(struct cdr_input *in);

#endif
