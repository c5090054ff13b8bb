/*
 * Output rows: one per group and window, in a fixed order (grains in
 * --every order, windows by start, groups by key), as NDJSON or CSV; or
 * partial rows (partial.c) with --partial.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "write.h"

#include "rollup.h"

void
fmt_time(const struct rollup *r, char *buf, size_t len, int64_t t)
{
	cdr_time_format_iso(buf, len, t, r->tz, -1);
}

static int
has_windows(const struct rollup *r)
{
	return r->ngrains > 0;
}

static int
has_revision(const struct rollup *r)
{
	return r->streaming && r->lateness > 0;
}

/* Output names as JSON ("name":), by the address of the name. */
#define NAME_MEMO 64
static struct name_memo {
	const char	*name;
	struct cdr_buf	 json;
} name_memo[NAME_MEMO];

/* Set while the CSV header is written: names are cells then. */
static int in_header;

static void
put_name(struct rollup *r, const char *name, int *first)
{
	if (r->csv_out) {
		if (!*first)
			cdr_buf_addc(&r->line, ',');
		*first = 0;
		if (!in_header)
			return;
		if (strpbrk(name, ",\"\r\n") != NULL) {
			cdr_buf_addc(&r->line, '"');
			for (; *name; name++) {
				if (*name == '"')
					cdr_buf_addc(&r->line, '"');
				cdr_buf_addc(&r->line, *name);
			}
			cdr_buf_addc(&r->line, '"');
		} else {
			cdr_buf_adds(&r->line, name);
		}
	} else {
		struct name_memo *m = &name_memo[((uintptr_t)name >> 3) %
		    NAME_MEMO];

		/* Names are the same few strings on every row. */
		if (m->name != name) {
			cdr_buf_reset(&m->json);
			json_str(&m->json, name, strlen(name));
			cdr_buf_addc(&m->json, ':');
			m->name = name;
		}
		cdr_buf_addc(&r->line, *first ? '{' : ',');
		cdr_buf_add(&r->line, m->json.p, m->json.len);
	}
	*first = 0;
}

/* The CSV header row (NDJSON rows name their fields themselves). */
void
emit_header(struct rollup *r)
{
	size_t i;
	int first = 1;

	if (r->header_written)
		return;
	r->header_written = 1;
	if (r->partial) {
		partial_write_header(r);
		return;
	}
	if (!r->csv_out)
		return;
	cdr_buf_reset(&r->line);
	in_header = 1;
	if (has_windows(r)) {
		put_name(r, "window_start", &first);
		put_name(r, "window_end", &first);
		put_name(r, "grain", &first);
	}
	for (i = 0; i < r->nkeys; i++)
		put_name(r, r->keys[i].name, &first);
	if (r->dim != NULL)
		for (i = 0; i < r->dim->nout_cols; i++)
			put_name(r, r->dim->cols[r->dim->out_cols[i]], &first);
	for (i = 0; i < r->ncols; i++)
		put_name(r, r->cols[i].name, &first);
	if (has_revision(r))
		put_name(r, "revision", &first);
	in_header = 0;
	cdr_buf_addc(&r->line, '\n');
	cdr_out_write(r->out, r->line.p, r->line.len);
}

/*
 * A JSON string: quote and backslash escaped, control characters as
 * \u00XX, everything else as it is, copied in runs.
 */
#define ONES UINT64_C(0x0101010101010101)

void
json_str(struct cdr_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s, *end = p + n, *run;
	char *o;

	cdr_buf_addc(b, '"');
	for (run = p; p < end; p++) {
		/* Eight bytes at a time while none needs escaping. */
		while (end - p >= 8) {
			uint64_t x, q, bs;

			memcpy(&x, p, 8);
			q = x ^ ONES * '"';
			bs = x ^ ONES * '\\';
			if ((((x - ONES * 0x20) & ~x) | ((q - ONES) & ~q) |
			    ((bs - ONES) & ~bs)) & ONES * 0x80)
				break;
			p += 8;
		}
		if (p == end)
			break;
		if (*p >= 0x20 && *p != '"' && *p != '\\')
			continue;
		cdr_buf_add(b, run, (size_t)(p - run));
		o = cdr_buf_reserve(b, 6);
		if (*p >= 0x20) {
			o[0] = '\\';
			o[1] = (char)*p;
			b->len += 2;
		} else {
			memcpy(o, "\\u00", 4);
			o[4] = hex[*p >> 4];
			o[5] = hex[*p & 15];
			b->len += 6;
		}
		run = p + 1;
	}
	cdr_buf_add(b, run, (size_t)(p - run));
	cdr_buf_addc(b, '"');
}

static void
put_text(struct rollup *r, const char *s, size_t n, int quote)
{
	size_t i;

	if (r->csv_out) {
		int need = 0;

		for (i = 0; i < n; i++)
			if (s[i] == ',' || s[i] == '"' || s[i] == '\r' ||
			    s[i] == '\n')
				need = 1;
		/* An empty string is "" so that it is not read as null. */
		if (n == 0 && quote)
			need = 1;
		if (need)
			cdr_buf_addc(&r->line, '"');
		for (i = 0; i < n; i++) {
			if (s[i] == '"')
				cdr_buf_addc(&r->line, '"');
			cdr_buf_addc(&r->line, s[i]);
		}
		if (need)
			cdr_buf_addc(&r->line, '"');
		return;
	}
	if (!quote) {
		cdr_buf_add(&r->line, s, n);
		return;
	}
	json_str(&r->line, s, n);
}

static void
put_null(struct rollup *r)
{
	if (!r->csv_out)
		cdr_buf_adds(&r->line, "null");
}

static void
put_val(struct rollup *r, const struct val *v)
{
	char buf[96];

	switch (v->kind) {
	case VK_MISSING:
	case VK_NULL:
		put_null(r);
		break;
	case VK_BOOL:
		cdr_buf_adds(&r->line, v->m ? "true" : "false");
		break;
	case VK_NUM:
		if (v->exact)
			fmt_dec(buf, sizeof(buf), v->m, v->scale);
		else
			fmt_double(buf, sizeof(buf), v->d);
		cdr_buf_adds(&r->line, buf);
		break;
	case VK_TIME:
		fmt_time(r, buf, sizeof(buf), v->t);
		put_text(r, buf, strlen(buf), 1);
		break;
	case VK_STR:
		put_text(r, v->s, v->n, 1);
		break;
	case VK_JSON:
		put_text(r, v->s, v->n, r->csv_out);
		break;
	}
}

static void
put_key(struct rollup *r, int tag, const char *s, size_t n)
{
	switch (tag) {
	case KT_NULL:
		put_null(r);
		break;
	case KT_RAW:
		put_text(r, s, n, 0);
		break;
	default:
		put_text(r, s, n, 1);
		break;
	}
}

static void
final_row(struct rollup *r, const struct window *w, const struct group *g)
{
	const char *p = GROUP_KEY(r, g), *end = p + g->keylen, *s;
	char ts[64];
	struct val v;
	size_t i, n;
	int first = 1, tag;

	cdr_buf_reset(&r->line);
	if (has_windows(r)) {
		put_name(r, "window_start", &first);
		if (w->grain >= 0) {
			fmt_time(r, ts, sizeof(ts), w->start);
			put_text(r, ts, strlen(ts), 1);
		} else {
			put_null(r);
		}
		put_name(r, "window_end", &first);
		if (w->grain >= 0) {
			fmt_time(r, ts, sizeof(ts), w->end);
			put_text(r, ts, strlen(ts), 1);
		} else {
			put_null(r);
		}
		put_name(r, "grain", &first);
		if (w->grain >= 0)
			put_text(r, r->grains[w->grain].g.name,
			    strlen(r->grains[w->grain].g.name), 1);
		else
			put_text(r, "all", 3, 1);
	}
	for (i = 0; key_next(&p, end, &tag, &s, &n); i++) {
		put_name(r, r->keys[i].name, &first);
		put_key(r, tag, s, n);
		if (r->dim != NULL && (int)i == r->dim->out_key &&
		    r->dim->nout_cols > 0)
			dim_lookup(r, tag == KT_NULL ? NULL : s, n, 0);
	}
	if (r->dim != NULL) {
		for (i = 0; i < r->dim->nout_cols; i++) {
			put_name(r, r->dim->cols[r->dim->out_cols[i]], &first);
			dim_value(r, r->dim->out_cols[i], &v, &r->scratch);
			put_val(r, &v);
		}
	}
	for (i = 0; i < r->ncols; i++) {
		put_name(r, r->cols[i].name, &first);
		eval_output(r, g, r->cols[i].e, &v, &r->scratch);
		put_val(r, &v);
	}
	if (has_revision(r)) {
		put_name(r, "revision", &first);
		cdr_buf_printf(&r->line, "%u", w->revision);
	}
	if (first && !r->csv_out)
		cdr_buf_addc(&r->line, '{');
	cdr_buf_adds(&r->line, r->csv_out ? "\n" : "}\n");
	cdr_out_write(r->out, r->line.p, r->line.len);
	r->rows_out++;
}

void
emit_window(struct rollup *r, struct window *w)
{
	struct group **v;
	size_t i;

	emit_header(r);
	v = window_sorted(r, w);
	for (i = 0; i < w->ngroups; i++) {
		/* Key order is not memory order: fetch the coming groups. */
		if (i + 8 < w->ngroups) {
			__builtin_prefetch(v[i + 8]);
			__builtin_prefetch((char *)v[i + 8] + 64);
			__builtin_prefetch((char *)v[i + 8] + 128);
		}
		if (r->partial)
			partial_write_group(r, w, v[i]);
		else
			final_row(r, w, v[i]);
	}
	free(v);
}

static int
window_cmp(const void *x, const void *y)
{
	const struct window *a = *(struct window *const *)x;
	const struct window *b = *(struct window *const *)y;

	if (a->grain != b->grain)
		return a->grain < b->grain ? -1 : 1;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return 0;
}

/* Batch mode: every window, grains in --every order, then by start. */
void
emit_all(struct rollup *r)
{
	size_t i;

	emit_header(r);
	if (r->nwindows > 1)
		qsort(r->windows, r->nwindows, sizeof(*r->windows),
		    window_cmp);
	for (i = 0; i < r->nwindows; i++)
		r->windows[i]->index = i;
	for (i = 0; i < r->nwindows; i++)
		emit_window(r, r->windows[i]);
}
