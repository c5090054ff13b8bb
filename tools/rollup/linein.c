/*
 * NDJSON straight from a pipe, one line as soon as it is complete.
 *
 * Streaming mode (--watermark) reads a pipe or terminal through this
 * instead of the common reader: libarchive's format and filter detection
 * there reads ahead (a tar header, uudecode's search for "begin") and so
 * holds back the first records of a slow pipe until much more input or
 * its end has come, which a watermark cannot wait for.  Lines follow the
 * common reader's rules: a BOM is skipped, CRLF accepted, blank lines
 * counted and skipped, a line longer than --max-record is a bad record
 * holding its first bytes, and each line is parsed by cdr_json_parse.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"

#include "rollup.h"

void
linein_init(struct linein *l, int fd, const char *name, size_t max_record)
{
	memset(l, 0, sizeof(*l));
	l->fd = fd;
	l->name = name;
	l->max_record = max_record ? max_record : (size_t)256 << 20;
	l->cap = 64 * 1024;
	l->buf = cdr_xmalloc(l->cap + 1);
}

void
linein_free(struct linein *l)
{
	free(l->buf);
	free(l->rec.nodes);
}

/* More bytes after end: 1, 0 at the end, -1 on a read error. */
static int
more(struct linein *l)
{
	ssize_t n;

	if (l->eof)
		return 0;
	if (l->pos > 0) {
		memmove(l->buf, l->buf + l->pos, l->end - l->pos);
		l->end -= l->pos;
		l->pos = 0;
	}
	if (l->end == l->cap) {
		l->cap *= 2;
		l->buf = cdr_xrealloc(l->buf, l->cap + 1);
	}
	do
		n = read(l->fd, l->buf + l->end, l->cap - l->end);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		cdr_warn_errno("%s", l->name);
		return -1;
	}
	if (n == 0) {
		l->eof = 1;
		return 0;
	}
	l->end += (size_t)n;
	l->bytes += (uint64_t)n;
	return 1;
}

/* Consumes the bytes of the record returned last. */
static int
consume(struct linein *l)
{
	char *nl;
	int rc;

	l->pos += l->consume;
	l->offset += l->consume;
	l->consume = 0;
	while (l->pending_skip) {
		nl = memchr(l->buf + l->pos, '\n', l->end - l->pos);
		if (nl != NULL) {
			l->offset += (uint64_t)(nl + 1 - (l->buf + l->pos));
			l->pos = (size_t)(nl + 1 - l->buf);
			l->pending_skip = 0;
			break;
		}
		l->offset += l->end - l->pos;
		l->pos = l->end = 0;
		rc = more(l);
		if (rc <= 0)
			return rc;
	}
	return 0;
}

static int
blank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

int
linein_next(struct linein *l, struct cdr_record **out)
{
	struct cdr_record *rec = &l->rec;
	size_t scanned, n, adv;
	char *nl;
	int rc, cut;

	if (consume(l) < 0)
		return -1;
	for (;;) {
		if (!l->bom_done) {
			while (l->end - l->pos < 3 && !l->eof)
				if (more(l) < 0)
					return -1;
			if (l->end - l->pos >= 3 &&
			    memcmp(l->buf + l->pos, "\xEF\xBB\xBF", 3) == 0) {
				l->pos += 3;
				l->offset += 3;
			}
			l->bom_done = 1;
		}
		scanned = 0;
		cut = 0;
		for (;;) {
			nl = memchr(l->buf + l->pos + scanned, '\n',
			    l->end - l->pos - scanned);
			if (nl != NULL) {
				n = (size_t)(nl - (l->buf + l->pos));
				adv = n + 1;
				break;
			}
			scanned = l->end - l->pos;
			if (scanned > l->max_record) {
				/* Keep what is read; the rest is skipped below. */
				n = scanned;
				adv = scanned;
				cut = 2;
				break;
			}
			rc = more(l);
			if (rc < 0)
				return -1;
			if (rc == 0) {
				if (scanned == 0)
					return 0;
				n = adv = scanned;
				break;
			}
		}
		if (!cut && n > 0 && l->buf[l->pos + n - 1] == '\r')
			n--;
		if (!cut && n > l->max_record)
			cut = 1;
		if (cut || !blank(l->buf + l->pos, n))
			break;
		l->blank++;
		l->pos += adv;
		l->offset += adv;
		l->lineno++;
	}
	memset(rec, 0, offsetof(struct cdr_record, nodes));
	rec->line = l->buf + l->pos;
	rec->len = cut ? l->max_record : n;
	rec->source = l->name;
	rec->lineno = ++l->lineno;
	rec->offset = l->offset;
	rec->format = CDR_FMT_NDJSON;
	rec->nnodes = 0;
	l->records++;
	if (cut) {
		rec->bad = 1;
		snprintf(rec->err, sizeof(rec->err),
		    "record longer than %zu bytes (cut)", l->max_record);
		l->bad++;
		/* Skip the rest of the line before the next record. */
		l->pending_skip = cut == 2;
	} else {
		cdr_json_parse(rec, &l->nodecap);
		if (rec->bad)
			l->bad++;
	}
	l->consume = adv;
	*out = rec;
	return 1;
}

