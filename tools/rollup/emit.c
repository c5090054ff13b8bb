/*
 * Output rows: one per group and window, in a fixed order (grains in
 * --every order, windows by start, groups by key), as NDJSON or CSV; or
 * partial rows (partial.c) with --partial.
 */
#include <pthread.h>
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

/*
 * The text before a column's value that is the same on every row: the
 * separator and, in NDJSON, the name as a JSON string and a colon.
 */
struct lead {
	char	*s;
	size_t	 n;
};

/* Leads are kept in at least this many bytes, copied whole. */
#define LEAD_PAD 32

/*
 * Writes rows.  They collect in out and go to the output in large
 * writes; scratch holds the unescaped strings of a value; iso keeps the
 * local date and offset of the last time written.
 */
struct writer {
	struct rollup		*r;
	int			 csv;
	struct cdr_buf		 out;
	struct cdr_buf		 scratch;
	struct cdr_time_iso	 iso;
};

/*
 * What the rows of the run share, made with the first row: the leads of
 * the columns, and for the window being written its own columns (head)
 * and what ends each row (tail).
 */
static struct {
	int		 ready;
	struct lead	 window_start, window_end, grain, revision;
	struct lead	*keys, *dims, *cols;
	const char	*end;	/* "}\n", "{}\n" or "\n" */
	struct cdr_buf	 head, tail;
	struct writer	 w;
} plan;

/* Room for n more bytes; returns where they go. */
static inline char *
room(struct cdr_buf *b, size_t n)
{
	if (b->cap - b->len <= n)
		return cdr_buf_reserve(b, n);
	return b->p + b->len;
}

static inline void
put(struct cdr_buf *b, const void *s, size_t n)
{
	/* An empty buffer (a window's head without windows) has no memory. */
	if (n == 0)
		return;
	memcpy(room(b, n), s, n);
	b->len += n;
}

/* A CSV cell: quoted when it holds a separator, quote or line break. */
static void
put_cell(struct cdr_buf *b, const char *s, size_t n, int quote_empty)
{
	char *o;
	size_t i;
	int need = n == 0 && quote_empty;

	for (i = 0; i < n && !need; i++)
		need = s[i] == ',' || s[i] == '"' || s[i] == '\r' ||
		    s[i] == '\n';
	if (!need) {
		put(b, s, n);
		return;
	}
	o = room(b, 2 * n + 2);
	*o++ = '"';
	for (i = 0; i < n; i++) {
		if (s[i] == '"')
			*o++ = '"';
		*o++ = s[i];
	}
	*o++ = '"';
	b->len = (size_t)(o - b->p);
}

/*
 * JSON strings: quote and backslash escaped, control characters as
 * \u00XX, everything else as it is.  Most need no escape at all: they
 * are copied in words while the words are checked, and written again
 * with escapes only when a word had something to escape.
 */
#define ONES UINT64_C(0x0101010101010101)

/* The high bit of a byte of x is set when some byte needs an escape. */
static inline uint64_t
esc8(uint64_t x)
{
	uint64_t q = x ^ ONES * '"', bs = x ^ ONES * '\\';

	return (((x - ONES * 0x20) & ~x) | ((q - ONES) & ~q) |
	    ((bs - ONES) & ~bs)) & ONES * 0x80;
}

typedef unsigned char v16 __attribute__((vector_size(16)));

/* Copies 16 bytes from s to o; nonzero bytes of the result need escapes. */
static inline v16
copy16(char *o, const char *s)
{
	v16 x;

	memcpy(&x, s, 16);
	memcpy(o, &x, 16);
	return (v16)(x < 0x20) | (v16)(x == '"') | (v16)(x == '\\');
}

static void
put_jstr(struct cdr_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	uint64_t x, y, any = 0;
	uint32_t lo, hi;
	char *o = room(b, n + 2);
	size_t i;

	o[0] = '"';
	if (n >= 16) {
		v16 m = { 0 };

		for (i = 0; i + 16 < n; i += 16)
			m |= copy16(o + 1 + i, s + i);
		m |= copy16(o + 1 + n - 16, s + n - 16);
		memcpy(&x, &m, 8);
		memcpy(&y, (char *)&m + 8, 8);
		any = x | y;
	} else if (n >= 8) {
		/* Two words that overlap cover 8 to 15 bytes. */
		memcpy(&x, s, 8);
		memcpy(&y, s + n - 8, 8);
		memcpy(o + 1, &x, 8);
		memcpy(o + 1 + n - 8, &y, 8);
		any = esc8(x) | esc8(y);
	} else if (n >= 4) {
		memcpy(&lo, s, 4);
		memcpy(&hi, s + n - 4, 4);
		memcpy(o + 1, &lo, 4);
		memcpy(o + 1 + n - 4, &hi, 4);
		any = esc8((uint64_t)lo | (uint64_t)hi << 32);
	} else {
		for (i = 0; i < n; i++) {
			o[1 + i] = s[i];
			any |= p[i] < 0x20 || p[i] == '"' || p[i] == '\\';
		}
	}
	if (any == 0) {
		o[n + 1] = '"';
		b->len += n + 2;
		return;
	}
	o = room(b, 6 * n + 2) + 1;
	for (i = 0; i < n; i++) {
		if (p[i] >= 0x20 && p[i] != '"' && p[i] != '\\') {
			*o++ = (char)p[i];
		} else if (p[i] >= 0x20) {
			*o++ = '\\';
			*o++ = (char)p[i];
		} else {
			memcpy(o, "\\u00", 4);
			o[4] = hex[p[i] >> 4];
			o[5] = hex[p[i] & 15];
			o += 6;
		}
	}
	*o++ = '"';
	b->len = (size_t)(o - b->p);
}

void
json_str(struct cdr_buf *b, const char *s, size_t n)
{
	put_jstr(b, s, n);
	b->p[b->len] = '\0';
}

/* A string value: a JSON string, or a CSV cell ("" when empty). */
static void
put_str(struct writer *w, struct cdr_buf *b, const char *s, size_t n)
{
	if (w->csv)
		put_cell(b, s, n, 1);
	else
		put_jstr(b, s, n);
}

static void
put_null(struct writer *w, struct cdr_buf *b)
{
	if (!w->csv)
		put(b, "null", 4);
}

static const char pairs[200] =
    "00010203040506070809101112131415161718192021222324252627282930313233"
    "34353637383940414243444546474849505152535455565758596061626364656667"
    "6869707172737475767778798081828384858687888990919293949596979899";

/* An integer, as fmt_dec writes it with scale 0. */
static void
put_int(struct cdr_buf *b, int64_t m)
{
	char tmp[24], *e = tmp + sizeof(tmp), *d = e;
	uint64_t u = m < 0 ? -(uint64_t)m : (uint64_t)m;

	while (u >= 100) {
		d -= 2;
		memcpy(d, pairs + 2 * (u % 100), 2);
		u /= 100;
	}
	if (u >= 10) {
		d -= 2;
		memcpy(d, pairs + 2 * u, 2);
	} else {
		*--d = (char)('0' + u);
	}
	if (m < 0)
		*--d = '-';
	put(b, d, (size_t)(e - d));
}

/* Times have no character that needs escaping or quoting. */
static void
put_time(struct writer *w, struct cdr_buf *b, int64_t t)
{
	char *o = room(b, CDR_TIME_ISO_MAX + 2);
	size_t n;

	if (w->csv) {
		b->len += cdr_time_iso_put(&w->iso, o, t, -1);
		return;
	}
	o[0] = '"';
	n = cdr_time_iso_put(&w->iso, o + 1, t, -1);
	o[n + 1] = '"';
	b->len += n + 2;
}

static void
put_val(struct writer *w, struct cdr_buf *b, const struct val *v)
{
	char *o;

	switch (v->kind) {
	case VK_MISSING:
	case VK_NULL:
		put_null(w, b);
		break;
	case VK_BOOL:
		if (v->m)
			put(b, "true", 4);
		else
			put(b, "false", 5);
		break;
	case VK_NUM:
		if (v->exact && v->scale == 0) {
			put_int(b, v->m);
			break;
		}
		o = room(b, 96);
		if (v->exact)
			fmt_dec(o, 96, v->m, v->scale);
		else
			fmt_double(o, 96, v->d);
		b->len += strlen(o);
		break;
	case VK_TIME:
		put_time(w, b, v->t);
		break;
	case VK_STR:
		put_str(w, b, v->s, v->n);
		break;
	case VK_JSON:
		if (w->csv)
			put_cell(b, v->s, v->n, 1);
		else
			put(b, v->s, v->n);
		break;
	}
}

static void
put_key(struct writer *w, struct cdr_buf *b, int tag, const char *s,
    size_t n)
{
	switch (tag) {
	case KT_NULL:
		put_null(w, b);
		break;
	case KT_RAW:
		if (w->csv)
			put_cell(b, s, n, 0);
		else
			put(b, s, n);
		break;
	default:
		put_str(w, b, s, n);
		break;
	}
}

static void
lead_make(struct rollup *r, struct lead *l, const char *name, int *first)
{
	struct cdr_buf b = CDR_BUF_INIT;

	if (r->csv_out) {
		if (!*first)
			cdr_buf_addc(&b, ',');
	} else {
		cdr_buf_addc(&b, *first ? '{' : ',');
		json_str(&b, name, strlen(name));
		cdr_buf_addc(&b, ':');
	}
	*first = 0;
	l->n = b.len;
	l->s = cdr_xcalloc(1, b.len > LEAD_PAD ? b.len : LEAD_PAD);
	/* The first CSV column has an empty lead: b has no memory. */
	if (b.len > 0)
		memcpy(l->s, b.p, b.len);
	cdr_buf_free(&b);
}

static inline void
put_lead(struct cdr_buf *b, const struct lead *l)
{
	char *o = room(b, LEAD_PAD);

	if (l->n <= LEAD_PAD)
		memcpy(o, l->s, LEAD_PAD);
	else
		memcpy(room(b, l->n), l->s, l->n);
	b->len += l->n;
}

static void
writer_init(struct rollup *r, struct writer *w)
{
	memset(w, 0, sizeof(*w));
	w->r = r;
	w->csv = r->csv_out;
	cdr_time_iso_init(&w->iso, r->tz);
}

static void
plan_make(struct rollup *r)
{
	size_t i;
	int first = 1;

	if (plan.ready)
		return;
	plan.ready = 1;
	if (has_windows(r)) {
		lead_make(r, &plan.window_start, "window_start", &first);
		lead_make(r, &plan.window_end, "window_end", &first);
		lead_make(r, &plan.grain, "grain", &first);
	}
	plan.keys = cdr_xcalloc(r->nkeys + 1, sizeof(*plan.keys));
	for (i = 0; i < r->nkeys; i++)
		lead_make(r, &plan.keys[i], r->keys[i].name, &first);
	if (r->dim != NULL) {
		plan.dims = cdr_xcalloc(r->dim->nout_cols + 1,
		    sizeof(*plan.dims));
		for (i = 0; i < r->dim->nout_cols; i++)
			lead_make(r, &plan.dims[i],
			    r->dim->cols[r->dim->out_cols[i]], &first);
	}
	plan.cols = cdr_xcalloc(r->ncols + 1, sizeof(*plan.cols));
	for (i = 0; i < r->ncols; i++)
		lead_make(r, &plan.cols[i], r->cols[i].name, &first);
	if (has_revision(r))
		lead_make(r, &plan.revision, "revision", &first);
	plan.end = r->csv_out ? "\n" : first ? "{}\n" : "}\n";
	writer_init(r, &plan.w);
}

/* The columns of the window that start each row, and the row's end. */
static void
plan_window(struct rollup *r, const struct window *win)
{
	struct writer *w = &plan.w;
	struct cdr_buf *b = &plan.head;
	const char *g;

	cdr_buf_reset(b);
	if (has_windows(r)) {
		put(b, plan.window_start.s, plan.window_start.n);
		if (win->grain >= 0)
			put_time(w, b, win->start);
		else
			put_null(w, b);
		put(b, plan.window_end.s, plan.window_end.n);
		if (win->grain >= 0)
			put_time(w, b, win->end);
		else
			put_null(w, b);
		put(b, plan.grain.s, plan.grain.n);
		g = win->grain >= 0 ? r->grains[win->grain].g.name : "all";
		put_str(w, b, g, strlen(g));
	}
	b = &plan.tail;
	cdr_buf_reset(b);
	if (has_revision(r)) {
		put(b, plan.revision.s, plan.revision.n);
		put_int(b, win->revision);
	}
	put(b, plan.end, strlen(plan.end));
}

static void
final_row(struct writer *w, const struct group *g)
{
	struct rollup *r = w->r;
	struct cdr_buf *b = &w->out;
	const char *p = GROUP_KEY(r, g), *end = p + g->keylen, *s;
	const struct expr *e;
	struct val v;
	size_t i, n;
	int tag;

	put(b, plan.head.p, plan.head.len);
	for (i = 0; key_next(&p, end, &tag, &s, &n); i++) {
		put_lead(b, &plan.keys[i]);
		put_key(w, b, tag, s, n);
		if (r->dim != NULL && (int)i == r->dim->out_key &&
		    r->dim->nout_cols > 0)
			dim_lookup(r, tag == KT_NULL ? NULL : s, n, 0);
	}
	if (r->dim != NULL) {
		for (i = 0; i < r->dim->nout_cols; i++) {
			put_lead(b, &plan.dims[i]);
			dim_value(r, r->dim->out_cols[i], &v, &w->scratch);
			put_val(w, b, &v);
		}
	}
	for (i = 0; i < r->ncols; i++) {
		put_lead(b, &plan.cols[i]);
		e = r->cols[i].e;
		if (e->op == X_AGG)
			agg_result(r, g, e->leaf, e->fin, e->leaf2, e->q, &v,
			    &w->scratch);
		else
			eval_output(r, g, e, &v, &w->scratch);
		put_val(w, b, &v);
	}
	put(b, plan.tail.p, plan.tail.len);
}

/* The CSV header row (NDJSON rows name their fields themselves). */
void
emit_header(struct rollup *r)
{
	struct cdr_buf *b = &r->line;
	size_t i;

	if (r->header_written)
		return;
	r->header_written = 1;
	if (r->partial) {
		partial_write_header(r);
		return;
	}
	if (!r->csv_out)
		return;
	cdr_buf_reset(b);
	if (has_windows(r))
		cdr_buf_adds(b, "window_start,window_end,grain,");
	for (i = 0; i < r->nkeys; i++) {
		put_cell(b, r->keys[i].name, strlen(r->keys[i].name), 0);
		cdr_buf_addc(b, ',');
	}
	if (r->dim != NULL)
		for (i = 0; i < r->dim->nout_cols; i++) {
			const char *c = r->dim->cols[r->dim->out_cols[i]];

			put_cell(b, c, strlen(c), 0);
			cdr_buf_addc(b, ',');
		}
	for (i = 0; i < r->ncols; i++) {
		put_cell(b, r->cols[i].name, strlen(r->cols[i].name), 0);
		cdr_buf_addc(b, ',');
	}
	if (has_revision(r))
		cdr_buf_adds(b, "revision,");
	/* The last separator becomes the end of the line. */
	if (b->len > 0)
		b->len--;
	cdr_buf_addc(b, '\n');
	cdr_out_write(r->out, b->p, b->len);
}

static void
flush_rows(struct writer *w)
{
	cdr_out_write(w->r->out, w->out.p, w->out.len);
	w->out.len = 0;
}

/* Rows of the groups v[lo..hi), after those in w->out. */
static void
rows(struct writer *w, struct group **v, size_t lo, size_t hi)
{
	size_t i;

	/*
	 * Key order is not memory order, and a group spans several cache
	 * lines: its head is fetched 16 groups ahead, and 8 ahead, with
	 * the head there to give the key's length, every line up to the
	 * end of its states.
	 */
	for (i = lo; i < hi; i++) {
		if (i + 16 < hi)
			__builtin_prefetch(v[i + 16]);
		if (i + 8 < hi) {
			const char *p = (const char *)v[i + 8];
			const char *end = (const char *)GROUP_END(w->r,
			    v[i + 8]);

			for (p += 64; p < end; p += 64)
				__builtin_prefetch(p);
			__builtin_prefetch(end - 1);
		}
		final_row(w, v[i]);
	}
}

/*
 * A big window is written by two threads: its sorted groups are cut in
 * blocks, each thread takes the next block not taken and formats it into
 * a slot of its own, and the calling thread writes the slots out in
 * block order, so the bytes are those one thread would write.  A block
 * may only use its slot when the block NSLOT before it has been written.
 */
#define BLOCK_ROWS 2048
#define NSLOT 4

struct slot {
	struct cdr_buf	 out;
	int		 ready;
};

struct crew {
	pthread_mutex_t	  lock;
	pthread_cond_t	  cond;
	struct group	**v;
	size_t		  n, nblocks;
	size_t		  next;		/* the first block nobody took */
	size_t		  written;	/* blocks written out */
	struct slot	  slot[NSLOT];
};

static struct writer helper;

/* Formats block j into its slot; called and returns with the lock held. */
static void
format_block(struct crew *c, struct writer *w, size_t j)
{
	struct slot *s = &c->slot[j % NSLOT];
	size_t lo = j * BLOCK_ROWS, hi = lo + BLOCK_ROWS;

	pthread_mutex_unlock(&c->lock);
	w->out = s->out;
	rows(w, c->v, lo, hi < c->n ? hi : c->n);
	s->out = w->out;
	pthread_mutex_lock(&c->lock);
	s->ready = 1;
	pthread_cond_broadcast(&c->cond);
}

static int
can_take(const struct crew *c)
{
	return c->next < c->nblocks && c->next < c->written + NSLOT;
}

static void *
helper_main(void *arg)
{
	struct crew *c = arg;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (c->next < c->nblocks && !can_take(c))
			pthread_cond_wait(&c->cond, &c->lock);
		if (c->next >= c->nblocks)
			break;
		format_block(c, &helper, c->next++);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* Rows of v[0..n) with a helper thread; 0, or -1 when none could start. */
static int
rows_crew(struct rollup *r, struct group **v, size_t n)
{
	struct writer *w = &plan.w;
	struct cdr_buf mine = w->out;
	struct crew c;
	struct slot *s;
	pthread_t t;
	size_t i;

	memset(&c, 0, sizeof(c));
	c.v = v;
	c.n = n;
	c.nblocks = (n + BLOCK_ROWS - 1) / BLOCK_ROWS;
	if (helper.r == NULL)
		writer_init(r, &helper);
	if (pthread_mutex_init(&c.lock, NULL) != 0)
		return -1;
	if (pthread_cond_init(&c.cond, NULL) != 0) {
		pthread_mutex_destroy(&c.lock);
		return -1;
	}
	if (pthread_create(&t, NULL, helper_main, &c) != 0) {
		pthread_cond_destroy(&c.cond);
		pthread_mutex_destroy(&c.lock);
		return -1;
	}
	pthread_mutex_lock(&c.lock);
	while (c.written < c.nblocks) {
		s = &c.slot[c.written % NSLOT];
		if (s->ready) {
			pthread_mutex_unlock(&c.lock);
			cdr_out_write(r->out, s->out.p, s->out.len);
			s->out.len = 0;
			pthread_mutex_lock(&c.lock);
			s->ready = 0;
			c.written++;
			pthread_cond_broadcast(&c.cond);
		} else if (can_take(&c)) {
			format_block(&c, w, c.next++);
		} else {
			pthread_cond_wait(&c.cond, &c.lock);
		}
	}
	pthread_mutex_unlock(&c.lock);
	pthread_join(t, NULL);
	pthread_cond_destroy(&c.cond);
	pthread_mutex_destroy(&c.lock);
	for (i = 0; i < NSLOT; i++)
		cdr_buf_free(&c.slot[i].out);
	w->out = mine;
	return 0;
}

/*
 * Whether a window's rows may be formatted by two threads: a batch run
 * (streaming windows are small and written as they close) whose rows
 * do not look up the dimension table, which keeps the current row in
 * the run's state.  Everything else a row reads is its group's own.
 */
static int
crew_fits(const struct rollup *r, size_t n)
{
	return !r->streaming && r->dim == NULL && n >= 4 * BLOCK_ROWS;
}

void
emit_window(struct rollup *r, struct window *w)
{
	struct group **v;
	size_t i, hi;

	emit_header(r);
	v = window_sorted(r, w);
	if (r->partial) {
		for (i = 0; i < w->ngroups; i++)
			partial_write_group(r, w, v[i]);
		free(v);
		return;
	}
	plan_make(r);
	plan_window(r, w);
	if (!crew_fits(r, w->ngroups) || rows_crew(r, v, w->ngroups) != 0) {
		for (i = 0; i < w->ngroups; i += BLOCK_ROWS) {
			hi = i + BLOCK_ROWS < w->ngroups ? i + BLOCK_ROWS :
			    w->ngroups;
			rows(&plan.w, v, i, hi);
			flush_rows(&plan.w);
		}
	}
	r->rows_out += w->ngroups;
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
