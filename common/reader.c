/*
 * The record reader: splits a byte source into records and parses each
 * into the node tape (see record.h).
 *
 * Defined outcomes for awkward input (also in the README):
 * - a UTF-8 byte order mark at the start of a source is skipped;
 * - CRLF line ends are accepted: the CR is not part of the record;
 * - empty and whitespace-only lines are skipped and counted as blank;
 * - a last line without a newline is a record like any other;
 * - NUL bytes, invalid UTF-8, malformed JSON or CSV, duplicate keys make
 *   a bad record, returned with its reason so that the tool dead-letters
 *   it; the reader goes on with the next line;
 * - a record longer than max_record bytes is a bad record holding its
 *   first max_record bytes; the rest of it is skipped.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"
#include "msg.h"
#include "record.h"

#define DEFAULT_MAX_RECORD ((size_t)256 * 1024 * 1024)
#define INITIAL_BUF ((size_t)4 * 1024 * 1024)
/* Bytes asked of the input at a time: at least, and at most. */
#define READ_MIN ((size_t)128 * 1024)
#define READ_MAX ((size_t)256 * 1024)

struct cdr_reader {
	struct cdr_reader_opts	 opts;
	struct cdr_input	*in;
	char			*buf;
	size_t			 cap;
	size_t			 pos;	/* start of unconsumed bytes */
	size_t			 end;	/* end of valid bytes */
	int			 eof;	/* the source has no more bytes */
	int			 started;	/* first bytes looked at */
	int			 skipping;	/* discarding an over-long record */
	enum cdr_format		 format;
	uint64_t		 lineno;	/* lines consumed so far */
	uint64_t		 offset;	/* bytes consumed so far */
	char			*source;
	struct cdr_record	 rec;
	uint32_t		 nodecap;
	/* CSV column names: owned copies. */
	char			**cols;
	uint32_t		*collen;
	size_t			 ncols;
	int			 have_header;
	struct cdr_reader_stats	 stats;
};

static int fill(struct cdr_reader *r);
static int next_ndjson(struct cdr_reader *r, struct cdr_record **out);
static int next_csv(struct cdr_reader *r, struct cdr_record **out);
static void set_columns(struct cdr_reader *r, const char **names, size_t n);
static void free_columns(struct cdr_reader *r);
static size_t first_dup_column(const char **names, size_t n);
static int csv_split(struct cdr_reader *r, struct cdr_record *rec,
    int for_header);

struct cdr_reader *
cdr_reader_new(const struct cdr_reader_opts *opts)
{
	struct cdr_reader *r = cdr_xcalloc(1, sizeof(*r));

	if (opts != NULL)
		r->opts = *opts;
	if (r->opts.max_record == 0)
		r->opts.max_record = DEFAULT_MAX_RECORD;
	if (r->opts.delim == 0)
		r->opts.delim = ',';
	r->cap = INITIAL_BUF;
	r->buf = cdr_xmalloc(r->cap + 1);
	return r;
}

static void
close_source(struct cdr_reader *r)
{
	cdr_input_close(r->in);
	r->in = NULL;
	free(r->source);
	r->source = NULL;
}

/* Resets per-source state for a new source or archive member. */
static void
start_source(struct cdr_reader *r)
{
	free(r->source);
	r->source = cdr_xstrdup(cdr_input_name(r->in));
	r->pos = r->end = 0;
	r->eof = 0;
	r->started = 0;
	r->skipping = 0;
	r->lineno = 0;
	r->offset = 0;
	r->format = r->opts.format;
	if (r->opts.columns != NULL) {
		set_columns(r, r->opts.columns, r->opts.ncolumns);
		r->have_header = 1;
	} else {
		free_columns(r);
		r->have_header = 0;
	}
}

int
cdr_format_parse(const char *s, int allow_auto, enum cdr_format *fmt)
{
	if (strcmp(s, "ndjson") == 0)
		*fmt = CDR_FMT_NDJSON;
	else if (strcmp(s, "csv") == 0)
		*fmt = CDR_FMT_CSV;
	else if (allow_auto && strcmp(s, "auto") == 0)
		*fmt = CDR_FMT_AUTO;
	else
		return -1;
	return 0;
}

int
cdr_reader_open(struct cdr_reader *r, const char *path)
{
	if (r->in != NULL)
		close_source(r);
	r->in = cdr_input_open(path);
	if (r->in == NULL)
		return -1;
	start_source(r);
	return 0;
}

/*
 * Reads more bytes after r->end, first moving the unconsumed bytes to the
 * front or growing the buffer when too little room is left.  Returns 1 if
 * bytes were added, 0 at the end of the source, -1 on error.
 */
static int
fill(struct cdr_reader *r)
{
	ssize_t n;
	size_t keep, want;

	if (r->eof)
		return 0;
	if (r->cap - r->end < READ_MIN) {
		keep = r->end - r->pos;
		if (r->pos > 0) {
			memmove(r->buf, r->buf + r->pos, keep);
			r->end = keep;
			r->pos = 0;
		}
		if (r->cap - r->end < READ_MIN) {
			want = r->cap;
			while (want - r->end < READ_MIN)
				want *= 2;
			r->buf = cdr_xrealloc(r->buf, want + 1);
			r->cap = want;
		}
	}
	/* Not all the room: a block still in the caches when it is parsed. */
	want = r->cap - r->end < READ_MAX ? r->cap - r->end : READ_MAX;
	n = cdr_input_read_into(r->in, r->buf + r->end, want);
	if (n < 0)
		return -1;
	if (n == 0) {
		r->eof = 1;
		return 0;
	}
	r->end += (size_t)n;
	r->stats.bytes += (uint64_t)n;
	return 1;
}

/* Moves past the first bytes of a source: BOM, format detection. */
static int
start_bytes(struct cdr_reader *r)
{
	size_t i;
	int rc;

	while (r->end - r->pos < 3 && !r->eof)
		if ((rc = fill(r)) < 0)
			return -1;
	if (r->end - r->pos >= 3 &&
	    memcmp(r->buf + r->pos, "\xEF\xBB\xBF", 3) == 0) {
		r->pos += 3;
		r->offset += 3;
	}
	if (r->format == CDR_FMT_AUTO) {
		for (;;) {
			for (i = r->pos; i < r->end; i++) {
				char c = r->buf[i];

				if (c != ' ' && c != '\t' && c != '\r' &&
				    c != '\n')
					break;
			}
			if (i < r->end || r->eof)
				break;
			if (fill(r) < 0)
				return -1;
		}
		/* JSON text (even a bad record) starts with { or [. */
		r->format = (i < r->end && r->buf[i] != '{' &&
		    r->buf[i] != '[') ? CDR_FMT_CSV : CDR_FMT_NDJSON;
	}
	r->started = 1;
	return 0;
}

int
cdr_reader_next(struct cdr_reader *r, struct cdr_record **out)
{
	int rc;

	if (r->in == NULL)
		return 0;
	for (;;) {
		if (!r->started && start_bytes(r) < 0)
			goto fail;
		rc = r->format == CDR_FMT_CSV ? next_csv(r, out) :
		    next_ndjson(r, out);
		if (rc < 0)
			goto fail;
		if (rc > 0) {
			r->stats.records++;
			if ((*out)->bad)
				r->stats.bad++;
			return 1;
		}
		/* End of this member: an archive may hold more. */
		rc = cdr_input_next_member(r->in);
		if (rc < 0)
			goto fail;
		if (rc == 0)
			return 0;
		start_source(r);
	}
fail:
	close_source(r);
	return -1;
}

static int
is_blank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

static void
init_record(struct cdr_reader *r, struct cdr_record *rec, size_t start,
    size_t len)
{
	rec->line = r->buf + start;
	rec->len = len;
	rec->source = r->source;
	rec->lineno = r->lineno + 1;
	rec->offset = r->offset;
	rec->format = r->format;
	rec->bad = 0;
	rec->err[0] = '\0';
	rec->nnodes = 0;
	rec->root_indexed = 0;
	rec->root_keys_ok = 0;
}

/*
 * Finds the next line: sets start and len (without LF and a CR before it)
 * and *adv (bytes to consume).  Returns 1, 0 at the end, -1 on error; an
 * over-long line is returned cut at max_record with *toolong set: 1 when
 * the whole line is consumed, 2 when the rest of it is still to skip.
 */
static int
next_line(struct cdr_reader *r, size_t *start, size_t *len, size_t *adv,
    int *toolong)
{
	size_t scanned = 0, n;
	char *nl;
	int rc;

	*toolong = 0;
	for (;;) {
		nl = memchr(r->buf + r->pos + scanned, '\n',
		    r->end - r->pos - scanned);
		if (nl != NULL) {
			n = (size_t)(nl - (r->buf + r->pos));
			*adv = n + 1;
			if (n > r->opts.max_record) {
				*toolong = 1;	/* cut, wholly consumed */
				n = r->opts.max_record;
			}
			break;
		}
		scanned = r->end - r->pos;
		if (scanned > r->opts.max_record) {
			/* Keep the first max_record bytes, skip the rest. */
			*toolong = 2;
			n = r->opts.max_record;
			*adv = scanned;
			break;
		}
		rc = fill(r);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			if (scanned == 0)
				return 0;
			n = scanned;
			*adv = scanned;
			break;
		}
	}
	*start = r->pos;
	if (!*toolong && n > 0 && r->buf[r->pos + n - 1] == '\r')
		n--;
	*len = n;
	return 1;
}

/* Consumes the rest of an over-long line after its first part. */
static int
skip_rest(struct cdr_reader *r)
{
	char *nl;
	int rc;

	for (;;) {
		nl = memchr(r->buf + r->pos, '\n', r->end - r->pos);
		if (nl != NULL) {
			r->offset += (uint64_t)(nl + 1 - (r->buf + r->pos));
			r->pos = (size_t)(nl + 1 - r->buf);
			return 0;
		}
		r->offset += r->end - r->pos;
		r->pos = r->end = 0;
		rc = fill(r);
		if (rc <= 0)
			return rc;
	}
}

static int
next_ndjson(struct cdr_reader *r, struct cdr_record **out)
{
	struct cdr_record *rec = &r->rec;
	size_t start, len, adv;
	int rc, toolong;

	if (r->skipping) {
		r->skipping = 0;
		if (skip_rest(r) < 0)
			return -1;
		r->lineno++;
	}
	for (;;) {
		rc = next_line(r, &start, &len, &adv, &toolong);
		if (rc <= 0)
			return rc;
		if (toolong || !is_blank(r->buf + start, len))
			break;
		r->stats.blank++;
		r->pos += adv;
		r->offset += adv;
		r->lineno++;
	}
	init_record(r, rec, start, len);
	r->pos += adv;
	r->offset += adv;
	if (toolong) {
		rec->bad = 1;
		snprintf(rec->err, sizeof(rec->err),
		    "record longer than %zu bytes (cut)", r->opts.max_record);
		/* The bytes stay in the buffer until the next call. */
		if (toolong == 2)
			r->skipping = 1;
		else
			r->lineno++;
		*out = rec;
		return 1;
	}
	r->lineno++;
	cdr_json_parse(rec, &r->nodecap);
	*out = rec;
	return 1;
}

static void
free_columns(struct cdr_reader *r)
{
	size_t i;

	for (i = 0; i < r->ncols; i++)
		free(r->cols[i]);
	free(r->cols);
	free(r->collen);
	r->cols = NULL;
	r->collen = NULL;
	r->ncols = 0;
}

static void
set_columns(struct cdr_reader *r, const char **names, size_t n)
{
	size_t i;

	free_columns(r);
	r->cols = cdr_xcalloc(n, sizeof(*r->cols));
	r->collen = cdr_xcalloc(n, sizeof(*r->collen));
	for (i = 0; i < n; i++) {
		r->cols[i] = cdr_xstrdup(names[i]);
		r->collen[i] = (uint32_t)strlen(names[i]);
	}
	r->ncols = n;
}

/*
 * Finds the end of the CSV record at r->pos (quoted cells may hold line
 * breaks) and splits it into cells on the tape.  Returns 1, 0 at the end,
 * -1 on error.
 */
static int
next_csv(struct cdr_reader *r, struct cdr_record **out)
{
	struct cdr_record *rec = &r->rec;
	enum { CSV_START, CSV_UNQUOTED, CSV_QUOTED, CSV_QUOTE } state;
	size_t i, len, lines, rel;
	int inq = 0, rc, toolong;
	char c;

restart:
	if (r->skipping) {
		r->skipping = 0;
		if (skip_rest(r) < 0)
			return -1;
		r->lineno++;
	}
	/* Skip blank lines. */
	for (;;) {
		size_t start, adv;

		rc = next_line(r, &start, &len, &adv, &toolong);
		if (rc <= 0)
			return rc;
		if (toolong || !is_blank(r->buf + start, len))
			break;
		r->stats.blank++;
		r->pos += adv;
		r->offset += adv;
		r->lineno++;
	}
	/*
	 * Find the record end.  Most rows have no quote: the line is the
	 * record.  Otherwise a state machine follows RFC 4180 quoting, in
	 * which a quote opens a quoted cell only at the start of a cell.
	 */
	i = r->pos;
	lines = 0;
	toolong = 0;
	state = CSV_START;
	{
		char *nl = memchr(r->buf + r->pos, '\n', r->end - r->pos);

		if (nl != NULL && memchr(r->buf + r->pos, '"',
		    (size_t)(nl - (r->buf + r->pos))) == NULL) {
			i = (size_t)(nl - r->buf);
			goto found;
		}
	}
	for (;;) {
		if (i == r->end) {
			if (i - r->pos > r->opts.max_record) {
				toolong = 1;
				break;
			}
			rel = i - r->pos;
			rc = fill(r);
			if (rc < 0)
				return -1;
			/* fill may have moved the bytes to the front. */
			i = r->pos + rel;
			if (rc == 0)
				break;
			continue;
		}
		c = r->buf[i];
		if (state == CSV_QUOTED) {
			if (c == '"')
				state = CSV_QUOTE;
			else if (c == '\n')
				lines++;
		} else if (c == '\n') {
			break;
		} else if (c == r->opts.delim) {
			state = CSV_START;
		} else if (c == '"' && state == CSV_START) {
			state = CSV_QUOTED;
		} else if (c == '"' && state == CSV_QUOTE) {
			state = CSV_QUOTED;	/* a doubled quote */
		} else {
			state = CSV_UNQUOTED;
		}
		i++;
	}
	inq = state == CSV_QUOTED;
found:
	len = i - r->pos;
	init_record(r, rec, r->pos, toolong ? r->opts.max_record : len);
	if (toolong) {
		rec->bad = 1;
		snprintf(rec->err, sizeof(rec->err),
		    "record longer than %zu bytes (cut)", r->opts.max_record);
		r->skipping = 1;
		r->pos = r->end;	/* skip_rest goes on from here */
		r->offset += len;
		r->lineno += lines;
		*out = rec;
		return 1;
	}
	if (len > 0 && i < r->end && rec->line[len - 1] == '\r')
		rec->len = len - 1;
	else if (i == r->end && len > 0 && rec->line[len - 1] == '\r')
		rec->len = len - 1;
	r->pos = i < r->end ? i + 1 : i;
	r->offset += (i < r->end ? len + 1 : len);
	r->lineno += lines + 1;
	if (!r->have_header) {
		if (csv_split(r, rec, 1) != 0) {
			cdr_warn("%s:%llu: bad CSV header: %s", r->source,
			    (unsigned long long)rec->lineno, rec->err);
			errno = EINVAL;
			return -1;
		}
		r->have_header = 1;
		goto restart;
	}
	if (inq) {
		rec->bad = 1;
		snprintf(rec->err, sizeof(rec->err),
		    "unterminated quoted field");
	} else {
		csv_split(r, rec, 0);
	}
	*out = rec;
	return 1;
}

static int
csv_fail(struct cdr_record *rec, const char *p, const char *why)
{
	snprintf(rec->err, sizeof(rec->err), "column %zu: %s",
	    (size_t)(p - rec->line) + 1, why);
	rec->bad = 1;
	return -1;
}

/*
 * Splits rec->line into cells.  For the header, the cells become the
 * column names; otherwise they become the tape under the column names.
 */
struct col_ref {
	const char	*name;
	size_t		 idx;
};

static int
col_ref_cmp(const void *a, const void *b)
{
	const struct col_ref *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * The first column (in order) whose name an earlier column has, or n; by
 * sorting, so that a header of 100000 columns is not 5e9 comparisons.
 */
static size_t
first_dup_column(const char **names, size_t n)
{
	struct col_ref *refs;
	size_t i, found = n;

	if (n < 2)
		return n;
	refs = cdr_xreallocarray(NULL, n, sizeof(*refs));
	for (i = 0; i < n; i++) {
		refs[i].name = names[i];
		refs[i].idx = i;
	}
	qsort(refs, n, sizeof(*refs), col_ref_cmp);
	for (i = 1; i < n; i++)
		if (strcmp(refs[i].name, refs[i - 1].name) == 0 &&
		    refs[i].idx < found)
			found = refs[i].idx;
	free(refs);
	return found;
}

static int
csv_split(struct cdr_reader *r, struct cdr_record *rec, int for_header)
{
	const char *p = rec->line, *end = rec->line + rec->len, *cs;
	struct cdr_buf name = CDR_BUF_INIT;
	const char **names = NULL;
	struct cdr_node *nd;
	size_t ncell = 0, k;
	uint32_t n;
	char delim = r->opts.delim;
	int quoted, esc;

	if (memchr(rec->line, '\0', rec->len) != NULL) {
		const char *z = memchr(rec->line, '\0', rec->len);

		return csv_fail(rec, z, "NUL byte");
	}
	k = cdr_utf8_prefix(rec->line, rec->len);
	if (k < rec->len)
		return csv_fail(rec, rec->line + k, "invalid UTF-8");
	if (r->nodecap == 0) {
		r->nodecap = 64;
		rec->nodes = cdr_xreallocarray(NULL, r->nodecap,
		    sizeof(*rec->nodes));
	}
	n = 1;
	for (;;) {
		quoted = 0;
		esc = 0;
		if (p < end && *p == '"') {
			quoted = 1;
			cs = ++p;
			for (;;) {
				const char *q = memchr(p, '"', (size_t)(end - p));

				if (q == NULL) {
					csv_fail(rec, cs - 1,
					    "unterminated quoted field");
					goto fail;
				}
				if (q + 1 < end && q[1] == '"') {
					esc = 1;
					p = q + 2;
					continue;
				}
				p = q;
				break;
			}
			k = (size_t)(p - cs);
			p++;
			if (p < end && *p != delim) {
				csv_fail(rec, p, "text after closing quote");
				goto fail;
			}
		} else {
			cs = p;
			while (p < end && *p != delim) {
				if (*p == '"') {
					csv_fail(rec, p,
					    "quote in unquoted field");
					goto fail;
				}
				p++;
			}
			k = (size_t)(p - cs);
		}
		if (for_header) {
			/* Full when ncell is a power of two: double. */
			if ((ncell & (ncell - 1)) == 0)
				names = cdr_xreallocarray(names,
				    ncell ? ncell * 2 : 1, sizeof(*names));
			cdr_buf_reset(&name);
			if (esc) {
				const char *s = cs, *e = cs + k, *q;

				while (s < e && (q = memchr(s, '"',
				    (size_t)(e - s))) != NULL) {
					cdr_buf_add(&name, s, (size_t)(q - s) + 1);
					s = q + 2;
				}
				cdr_buf_add(&name, s, (size_t)(e - s));
			} else {
				cdr_buf_add(&name, cs, k);
			}
			names[ncell] = cdr_xstrdup(name.p ? name.p : "");
		} else {
			if (ncell >= r->ncols) {
				ncell++;
				goto next;
			}
			if (n == r->nodecap) {
				r->nodecap *= 2;
				rec->nodes = cdr_xreallocarray(rec->nodes,
				    r->nodecap, sizeof(*rec->nodes));
			}
			nd = &rec->nodes[n];
			nd->key = r->cols[ncell];
			nd->klen = r->collen[ncell];
			nd->val = cs;
			nd->vlen = (uint32_t)k;
			nd->nchild = 0;
			nd->next = 0;
			nd->parent = 0;
			nd->flags = CDR_N_CSV | (esc ? CDR_N_VAL_ESC : 0);
			nd->type = (k == 0 && !quoted) ? CDR_T_NULL :
			    CDR_T_STRING;
			if (n > 1)
				rec->nodes[n - 1].next = n;
			n++;
		}
		ncell++;
next:
		if (p >= end)
			break;
		p++;	/* the delimiter */
	}
	if (for_header) {
		size_t a, dup = first_dup_column(names, ncell);
		int rc = 0;

		for (a = 0; a < ncell && a < dup && rc == 0; a++)
			if (names[a][0] == '\0')
				rc = csv_fail(rec, rec->line, "empty column name");
		if (rc == 0 && dup < ncell) {
			snprintf(rec->err, sizeof(rec->err),
			    "duplicate column \"%.60s\"", names[dup]);
			rc = -1;
		}
		if (rc == 0)
			set_columns(r, names, ncell);
		for (a = 0; a < ncell; a++)
			free((char *)(uintptr_t)names[a]);
		free(names);
		cdr_buf_free(&name);
		return rc;
	}
	if (ncell != r->ncols) {
		snprintf(rec->err, sizeof(rec->err),
		    "%zu fields, expected %zu", ncell, r->ncols);
		rec->bad = 1;
		return -1;
	}
	nd = &rec->nodes[0];
	nd->key = NULL;
	nd->klen = 0;
	nd->val = rec->line;
	nd->vlen = (uint32_t)rec->len;
	nd->type = CDR_T_OBJECT;
	nd->flags = 0;
	nd->next = 0;
	nd->parent = 0;
	nd->nchild = n - 1;
	rec->nnodes = n;
	return 0;
fail:
	/* A bad header row leaves the names read so far. */
	while (ncell > 0 && names != NULL)
		free((char *)(uintptr_t)names[--ncell]);
	free(names);
	cdr_buf_free(&name);
	return -1;
}

enum cdr_format
cdr_reader_format(const struct cdr_reader *r)
{
	return r->format;
}

const char *const *
cdr_reader_columns(const struct cdr_reader *r, size_t *n)
{
	*n = r->ncols;
	return (const char *const *)r->cols;
}

const struct cdr_reader_stats *
cdr_reader_stats(const struct cdr_reader *r)
{
	return &r->stats;
}

void
cdr_reader_free(struct cdr_reader *r)
{
	if (r == NULL)
		return;
	close_source(r);
	free_columns(r);
	free(r->rec.nodes);
	free(r->buf);
	free(r);
}
