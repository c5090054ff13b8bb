/*
 * Record writers: NDJSON pass-through, JSON strings, CSV cells, base64.
 */
#include <string.h>

#include "record.h"
#include "write.h"

void
cdr_write_ndjson(struct cdr_out *o, const struct cdr_record *rec)
{
	cdr_out_write(o, rec->line, rec->len);
	cdr_out_putc(o, '\n');
}

void
cdr_buf_json_string(struct cdr_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	const unsigned char *run = p;
	char esc[6];
	int k;

	cdr_buf_addc(b, '"');
	while (p < end) {
		if (*p >= 0x20 && *p != '"' && *p != '\\' && *p < 0x80) {
			p++;
			continue;
		}
		if (*p >= 0x80) {
			k = cdr_utf8_seq((const char *)p, (size_t)(end - p));
			if (k > 0) {
				p += k;
				continue;
			}
			cdr_buf_add(b, run, (size_t)(p - run));
			cdr_buf_add(b, "\xEF\xBF\xBD", 3);
			run = ++p;
			continue;
		}
		cdr_buf_add(b, run, (size_t)(p - run));
		switch (*p) {
		case '"': cdr_buf_add(b, "\\\"", 2); break;
		case '\\': cdr_buf_add(b, "\\\\", 2); break;
		case '\n': cdr_buf_add(b, "\\n", 2); break;
		case '\r': cdr_buf_add(b, "\\r", 2); break;
		case '\t': cdr_buf_add(b, "\\t", 2); break;
		case '\b': cdr_buf_add(b, "\\b", 2); break;
		case '\f': cdr_buf_add(b, "\\f", 2); break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 15];
			cdr_buf_add(b, esc, 6);
			break;
		}
		run = ++p;
	}
	cdr_buf_add(b, run, (size_t)(p - run));
	cdr_buf_addc(b, '"');
}

void
cdr_buf_csv_field(struct cdr_buf *b, const char *s, size_t n, char delim)
{
	const char *q, *end = s + n;
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] == delim || s[i] == '"' || s[i] == '\n' ||
		    s[i] == '\r')
			break;
	if (i == n && n > 0) {
		cdr_buf_add(b, s, n);
		return;
	}
	cdr_buf_addc(b, '"');
	while (s < end && (q = memchr(s, '"', (size_t)(end - s))) != NULL) {
		cdr_buf_add(b, s, (size_t)(q - s) + 1);
		cdr_buf_addc(b, '"');
		s = q + 1;
	}
	cdr_buf_add(b, s, (size_t)(end - s));
	cdr_buf_addc(b, '"');
}

void
cdr_write_json_string(struct cdr_out *o, const char *s, size_t n)
{
	static struct cdr_buf b = CDR_BUF_INIT;

	cdr_buf_reset(&b);
	cdr_buf_json_string(&b, s, n);
	cdr_out_write(o, b.p, b.len);
}

void
cdr_write_csv_field(struct cdr_out *o, const char *s, size_t n, char delim)
{
	static struct cdr_buf b = CDR_BUF_INIT;

	cdr_buf_reset(&b);
	cdr_buf_csv_field(&b, s, n, delim);
	cdr_out_write(o, b.p, b.len);
}

void
cdr_write_csv_row(struct cdr_out *o, const char *const *cells,
    const size_t *lens, size_t n, char delim)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			cdr_out_putc(o, delim);
		cdr_write_csv_field(o, cells[i], lens[i], delim);
	}
	cdr_out_putc(o, '\n');
}

void
cdr_write_base64(struct cdr_out *o, const void *data, size_t n)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = data;
	char q[4];
	unsigned v;

	while (n >= 3) {
		v = (unsigned)p[0] << 16 | (unsigned)p[1] << 8 | p[2];
		q[0] = tab[v >> 18];
		q[1] = tab[(v >> 12) & 63];
		q[2] = tab[(v >> 6) & 63];
		q[3] = tab[v & 63];
		cdr_out_write(o, q, 4);
		p += 3;
		n -= 3;
	}
	if (n > 0) {
		v = (unsigned)p[0] << 16 | (n > 1 ? (unsigned)p[1] << 8 : 0);
		q[0] = tab[v >> 18];
		q[1] = tab[(v >> 12) & 63];
		q[2] = n > 1 ? tab[(v >> 6) & 63] : '=';
		q[3] = '=';
		cdr_out_write(o, q, 4);
	}
}
