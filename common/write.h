/*
 * Record writers: NDJSON (a record unchanged passes through byte for
 * byte) and CSV (RFC 4180 quoting), and JSON string escaping.
 */
#ifndef CDR_WRITE_H
#define CDR_WRITE_H

#include <stddef.h>

#include "out.h"
#include "record.h"

/* The record's own bytes and "\n". */
void cdr_write_ndjson(struct cdr_out *o, const struct cdr_record *rec);
/*
 * s[0..n) as a JSON string with quotes.  Control characters, '"' and '\\'
 * are escaped; bytes that are not valid UTF-8 are written as U+FFFD
 * (callers that must keep such bytes use base64, see cdr_write_base64).
 */
void cdr_write_json_string(struct cdr_out *o, const char *s, size_t n);
/*
 * A CSV cell, quoted when it holds delim, '"', CR or LF (RFC 4180), or is
 * empty: an empty unquoted cell reads back as null.
 */
void cdr_write_csv_field(struct cdr_out *o, const char *s, size_t n,
    char delim);
/* A CSV row of n cells and "\n". */
void cdr_write_csv_row(struct cdr_out *o, const char *const *cells,
    const size_t *lens, size_t n, char delim);
/* The same two into a buffer (appending). */
void cdr_buf_json_string(struct cdr_buf *b, const char *s, size_t n);
void cdr_buf_csv_field(struct cdr_buf *b, const char *s, size_t n, char delim);
/* Standard base64 (RFC 4648, with padding), no quotes. */
void cdr_write_base64(struct cdr_out *o, const void *p, size_t n);

#endif
