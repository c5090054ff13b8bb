/*
 * Growable byte buffer.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

char *
cdr_buf_reserve(struct cdr_buf *b, size_t n)
{
	size_t need, cap;

	if (n > SIZE_MAX - b->len - 1)
		cdr_die(CDR_EXIT_IO, "buffer of %zu bytes too large", b->len);
	need = b->len + n + 1;
	if (need > b->cap) {
		cap = b->cap ? b->cap : 64;
		while (cap < need)
			cap = cap > SIZE_MAX / 2 ? need : cap * 2;
		b->p = cdr_xrealloc(b->p, cap);
		b->cap = cap;
	}
	return b->p + b->len;
}

void
cdr_buf_add(struct cdr_buf *b, const void *data, size_t n)
{
	char *dst = cdr_buf_reserve(b, n);

	if (n)
		memcpy(dst, data, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
cdr_buf_addc(struct cdr_buf *b, char c)
{
	if (b->len + 1 >= b->cap)
		cdr_buf_reserve(b, 1);
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
}

void
cdr_buf_adds(struct cdr_buf *b, const char *s)
{
	cdr_buf_add(b, s, strlen(s));
}

void
cdr_buf_printf(struct cdr_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		cdr_die(CDR_EXIT_INTERNAL, "bad format string");
	cdr_buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
cdr_buf_reset(struct cdr_buf *b)
{
	b->len = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

void
cdr_buf_free(struct cdr_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}
