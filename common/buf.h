/*
 * A growable byte buffer.  The bytes are always followed by a NUL that is
 * not counted in len, so p can be passed to C string functions when the
 * content has no NUL of its own.
 */
#ifndef CDR_BUF_H
#define CDR_BUF_H

#include <stddef.h>

#include "msg.h"

struct cdr_buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

#define CDR_BUF_INIT { NULL, 0, 0 }

/* Makes room for n more bytes; returns a pointer to the first free byte. */
char *cdr_buf_reserve(struct cdr_buf *b, size_t n);
void cdr_buf_add(struct cdr_buf *b, const void *data, size_t n);
void cdr_buf_addc(struct cdr_buf *b, char c);
void cdr_buf_adds(struct cdr_buf *b, const char *s);
void cdr_buf_printf(struct cdr_buf *b, const char *fmt, ...) CDR_PRINTF(2, 3);
void cdr_buf_reset(struct cdr_buf *b);
void cdr_buf_free(struct cdr_buf *b);

#endif
