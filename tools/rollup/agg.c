/*
 * Aggregate states: one per leaf in every group, laid out back to back.
 * Each state updates from a record, merges with another state of its kind
 * (from a partial), gives its result, and writes itself as JSON for a
 * partial.  Merging is associative and commutative and, for every state,
 * gives exactly the state one pass over all the records gives: integer
 * counts, exact decimal sums, extremes with a total order, first/last with
 * a tie-break on the record's bytes, hash sets and sketches whose merge is
 * a union.  Only sums that had to fall back to doubles (numbers with more
 * than 18 digits or 9 decimals) depend on the order of addition.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "msg.h"

#include "rollup.h"

enum { SUM_EMPTY = 0, SUM_EXACT, SUM_DOUBLE };

struct sum_st {
	i128	 acc;		/* at scale MAX_SCALE */
	double	 d, c;		/* Neumaier sum when inexact */
	uint8_t	 mode;
	uint8_t	 scale;		/* largest scale added */
};

/*
 * A stored value: min/max.  A number keeps m and d (as struct val), a
 * boolean the same, a time its t in mt, a string its bytes (allocated).
 */
struct sval {
	uint8_t	 kind;		/* VK_MISSING: none yet */
	uint8_t	 exact;
	int8_t	 scale;
	uint32_t n;		/* string length */
	int64_t	 mt;		/* m of a number, t of a time */
	union {
		double	 d;	/* a number */
		char	*s;	/* a string */
	} u;
};

/*
 * First/last: the value's JSON text.  Texts shorter than FL_INLINE live in
 * the state itself (no allocation, no extra cache miss); a longer one is
 * allocated and its pointer kept in inl.
 */
#define FL_INLINE 19

struct fl_st {
	int64_t	 ot;		/* order time */
	uint64_t tie;
	uint32_t n;
	uint8_t	 set;
	char	 inl[FL_INLINE];
};

/*
 * Where in inl an allocated text's pointer is kept: at an aligned address,
 * where a leak checker scanning memory for pointers finds it.
 */
#define FL_PTR_AT ((8 - offsetof(struct fl_st, inl) % 8) % 8)
_Static_assert(FL_PTR_AT + sizeof(char *) <= FL_INLINE,
    "first/last: no room for the pointer");

static const char *
fl_text(const struct fl_st *s)
{
	char *p;

	if (s->n < FL_INLINE)
		return s->inl;
	memcpy(&p, s->inl + FL_PTR_AT, sizeof(p));
	return p;
}

static size_t
state_align(enum aggfn fn)
{
	return fn == A_SUM ? _Alignof(struct sum_st) : 8;
}

static size_t
state_size(enum aggfn fn)
{
	switch (fn) {
	case A_COUNT:
	case A_COUNTV:
		return sizeof(uint64_t);
	case A_SUM:
		return sizeof(struct sum_st);
	case A_MIN:
	case A_MAX:
		return sizeof(struct sval);
	case A_FIRST:
	case A_LAST:
		return sizeof(struct fl_st);
	default:
		return sizeof(void *);
	}
}

/*
 * States are laid out in leaf order, each aligned as its type needs; the
 * states of a group start group_align aligned (see GROUP_STATE).
 */
void
agg_layout(struct rollup *r)
{
	size_t i, a, off = 0;

	r->group_align = 8;
	for (i = 0; i < r->nleaves; i++) {
		a = state_align(r->leaves[i].fn);
		if (a > r->group_align)
			r->group_align = a;
		off = (off + a - 1) & ~(a - 1);
		r->leaves[i].off = off;
		off += state_size(r->leaves[i].fn);
	}
	r->state_size = (off + 7) & ~(size_t)7;
}

void
agg_init(struct rollup *r, struct group *g)
{
	memset(GROUP_STATE(r, g), 0, r->state_size);
}

#define ST(g, l) ((void *)(GROUP_STATE(r, g) + (l)->off))

void
agg_free(struct rollup *r, struct group *g)
{
	size_t i;

	for (i = 0; i < r->nleaves; i++) {
		struct leaf *l = &r->leaves[i];

		switch (l->fn) {
		case A_MIN:
		case A_MAX: {
			struct sval *sv = ST(g, l);

			if (sv->kind == VK_STR)
				free(sv->u.s);
			break;
		}
		case A_FIRST:
		case A_LAST: {
			struct fl_st *fl = ST(g, l);

			if (fl->set && fl->n >= FL_INLINE)
				free((char *)fl_text(fl));
			break;
		}
		case A_DISTINCT: {
			struct dset **d = ST(g, l);

			if (*d != NULL) {
				ds_free(*d);
				free(*d);
			}
			break;
		}
		case A_QUANT: {
			void **q = ST(g, l);

			if (*q != NULL) {
				if (r->exact)
					qv_free(*q);
				else
					dd_free(*q);
				free(*q);
			}
			break;
		}
		default:
			break;
		}
	}
}

/* ---- sums ---- */

static void
sum_add_double(struct sum_st *s, double x)
{
	double t = s->d + x;

	if (fabs(s->d) >= fabs(x))
		s->c += (s->d - t) + x;
	else
		s->c += (x - t) + s->d;
	s->d = t;
}

static void
sum_to_double(struct sum_st *s)
{
	if (s->mode == SUM_EXACT) {
		s->d = (double)((long double)s->acc / 1e9L);
		s->c = 0;
	}
	s->mode = SUM_DOUBLE;
}

static void
sum_add(struct sum_st *s, const struct val *v)
{
	i128 x;

	if (v->exact && s->mode != SUM_DOUBLE) {
		x = (i128)v->m * pow10_i64[MAX_SCALE - v->scale];
		if (!__builtin_add_overflow(s->acc, x, &s->acc)) {
			s->mode = SUM_EXACT;
			if (v->scale > s->scale)
				s->scale = (uint8_t)v->scale;
			return;
		}
	}
	sum_to_double(s);
	sum_add_double(s, v->d);
}

static void
sum_merge(struct sum_st *into, const struct sum_st *from)
{
	i128 acc;

	if (from->mode == SUM_EMPTY)
		return;
	if (into->mode == SUM_EMPTY) {
		*into = *from;
		return;
	}
	if (into->mode == SUM_EXACT && from->mode == SUM_EXACT &&
	    !__builtin_add_overflow(into->acc, from->acc, &acc)) {
		into->acc = acc;
		if (from->scale > into->scale)
			into->scale = from->scale;
		return;
	}
	sum_to_double(into);
	if (from->mode == SUM_EXACT) {
		sum_add_double(into, (double)((long double)from->acc / 1e9L));
	} else {
		sum_add_double(into, from->d);
		sum_add_double(into, from->c);
	}
}

/* ---- min/max: numbers < times < strings ---- */

static int
kind_rank(int kind)
{
	return kind == VK_NUM ? 0 : kind == VK_TIME ? 1 : 2;
}

static int
sval_cmp(const struct sval *a, const struct val *b)
{
	struct val x;
	size_t n;
	int c;

	if (kind_rank(a->kind) != kind_rank(b->kind))
		return kind_rank(a->kind) < kind_rank(b->kind) ? -1 : 1;
	switch (a->kind) {
	case VK_NUM:
		memset(&x, 0, sizeof(x));
		x.exact = a->exact;
		x.m = a->mt;
		x.scale = a->scale;
		x.d = a->u.d;
		c = val_cmp_num(&x, b);
		if (c == 0 && a->exact && b->exact)
			c = a->scale < b->scale ? -1 : a->scale > b->scale;
		return c;
	case VK_TIME:
		return a->mt < b->t ? -1 : a->mt > b->t;
	default:
		n = a->n < b->n ? a->n : b->n;
		c = n == 0 ? 0 : memcmp(a->u.s, b->s, n);
		if (c != 0)
			return c < 0 ? -1 : 1;
		return a->n < b->n ? -1 : a->n > b->n;
	}
}

static void
sval_set(struct rollup *r, struct sval *a, const struct val *b)
{
	if (a->kind == VK_STR) {
		r->state_bytes -= a->n + 1;
		free(a->u.s);
	}
	a->kind = (uint8_t)b->kind;
	a->exact = (uint8_t)b->exact;
	a->scale = (int8_t)b->scale;
	a->n = 0;
	switch (b->kind) {
	case VK_TIME:
		a->mt = b->t;
		a->u.d = 0;
		break;
	case VK_STR:
		a->mt = 0;
		a->u.s = cdr_xstrndup(b->s, b->n);
		a->n = (uint32_t)b->n;
		r->state_bytes += a->n + 1;
		break;
	default:
		a->mt = b->m;
		a->u.d = b->d;
		break;
	}
}

static void
sval_offer(struct rollup *r, struct sval *a, const struct val *b, int max)
{
	int c;

	if (a->kind == VK_MISSING) {
		sval_set(r, a, b);
		return;
	}
	c = sval_cmp(a, b);
	if (max ? c < 0 : c > 0)
		sval_set(r, a, b);
}

/* Classifies a min/max input: number, time or string. */
static void
classify(const struct rollup *r, struct val *v)
{
	if (v->kind == VK_JSON) {
		v->kind = VK_STR;
		return;
	}
	if (v->kind == VK_STR && !val_as_num(v))
		val_as_time(r, v);
}

/* ---- first/last ---- */

static void
fl_offer(struct rollup *r, struct fl_st *s, int64_t ot, uint64_t tie,
    const char *json, size_t n, int last)
{
	int better;

	if (!s->set)
		better = 1;
	else if (ot != s->ot)
		better = last ? ot > s->ot : ot < s->ot;
	else if (tie != s->tie)
		better = last ? tie > s->tie : tie < s->tie;
	else
		better = n < s->n ||
		    (n == s->n && memcmp(json, fl_text(s), n) < 0);
	if (!better)
		return;
	if (s->set && s->n >= FL_INLINE) {
		r->state_bytes -= s->n + 1;
		free((char *)fl_text(s));
	}
	if (n < FL_INLINE) {
		memcpy(s->inl, json, n);
		s->inl[n] = '\0';
	} else {
		char *p = cdr_xstrndup(json, n);

		memcpy(s->inl + FL_PTR_AT, &p, sizeof(p));
		r->state_bytes += n + 1;
	}
	s->n = (uint32_t)n;
	s->ot = ot;
	s->tie = tie;
	s->set = 1;
}

/* The JSON text of a value (for CSV cells and computed values). */
static void
json_of(const struct val *v, struct cdr_buf *b)
{
	char num[64];

	cdr_buf_reset(b);
	switch (v->kind) {
	case VK_NULL:
	case VK_MISSING:
		cdr_buf_adds(b, "null");
		break;
	case VK_BOOL:
		cdr_buf_adds(b, v->m ? "true" : "false");
		break;
	case VK_NUM:
		if (v->exact)
			fmt_dec(num, sizeof(num), v->m, v->scale);
		else
			fmt_double(num, sizeof(num), v->d);
		cdr_buf_adds(b, num);
		break;
	case VK_JSON:
		cdr_buf_add(b, v->s, v->n);
		break;
	default:
		json_str(b, v->s, v->n);
		break;
	}
}

/* ---- distinct identity ---- */

static void
canon_bytes(const struct val *in, struct cdr_buf *b)
{
	struct val v = *in;
	int64_t m;
	int scale;
	uint32_t n;

	if (v.kind == VK_STR || v.kind == VK_BOOL)
		val_as_num(&v);
	switch (v.kind) {
	case VK_NUM:
		if (v.exact) {
			m = v.m;
			scale = v.scale;
			while (scale > 0 && m % 10 == 0) {
				m /= 10;
				scale--;
			}
			cdr_buf_addc(b, 'n');
			cdr_buf_add(b, &m, sizeof(m));
			cdr_buf_addc(b, (char)scale);
		} else {
			cdr_buf_addc(b, 'd');
			cdr_buf_add(b, &v.d, sizeof(v.d));
		}
		break;
	default:
		cdr_buf_addc(b, v.kind == VK_JSON ? 'j' : 's');
		n = (uint32_t)v.n;
		cdr_buf_add(b, &n, sizeof(n));
		cdr_buf_add(b, v.s, v.n);
		break;
	}
}

uint64_t
agg_hash_val(const struct val *v)
{
	struct cdr_buf b = CDR_BUF_INIT;
	uint64_t h;

	canon_bytes(v, &b);
	h = XXH3_64bits(b.p, b.len);
	cdr_buf_free(&b);
	return h;
}

/* ---- per record ---- */

/*
 * Evaluates every leaf's input for the current record: 0, or -1 with the
 * reason for a dead letter (a non-number where a number is needed, a jq
 * error, an order time that does not parse).
 */
int
agg_prepare(struct rollup *r, const char **field, char *why, size_t len)
{
	static struct cdr_buf hb = CDR_BUF_INIT;
	const char *w = NULL;
	struct val v;
	size_t i, k;
	int rc;

	for (i = 0; i < r->nleaves; i++) {
		struct leaf *l = &r->leaves[i];

		l->skip = 0;
		if (l->pred >= 0) {
			rc = eval_pred(r, l->pred, why, len);
			if (rc < 0) {
				*field = NULL;
				return -1;
			}
			if (rc == 0) {
				l->skip = 1;
				continue;
			}
		}
		switch (l->fn) {
		case A_COUNT:
			break;
		case A_COUNTV:
			eval_record(r, l->args[0], &l->in, &w);
			l->skip = l->in.kind <= VK_NULL;
			break;
		case A_SUM:
		case A_QUANT:
			eval_record(r, l->args[0], &l->in, &w);
			if (l->in.kind <= VK_NULL) {
				l->skip = 1;
				break;
			}
			if (!val_as_num(&l->in)) {
				*field = l->args[0]->op == X_FIELD ?
				    r->fields[l->args[0]->field].path_text :
				    NULL;
				snprintf(why, len, "%s: not a number", l->canon);
				return -1;
			}
			break;
		case A_MIN:
		case A_MAX:
			if (l->args[0]->op == X_FIELD) {
				/* Several aggregates often share a field. */
				struct field *f = &r->fields[l->args[0]->field];

				if (f->class_gen != r->gen) {
					eval_field(r, l->args[0]->field,
					    &f->classed);
					if (f->classed.kind > VK_NULL)
						classify(r, &f->classed);
					f->class_gen = r->gen;
				}
				l->in = f->classed;
			} else {
				eval_record(r, l->args[0], &l->in, &w);
				if (l->in.kind > VK_NULL)
					classify(r, &l->in);
			}
			if (l->in.kind <= VK_NULL)
				l->skip = 1;
			break;
		case A_FIRST:
		case A_LAST:
			eval_record(r, l->args[0], &l->in, &w);
			if (l->in.kind == VK_MISSING) {
				l->skip = 1;
				break;
			}
			if (l->order >= 0) {
				rc = eval_time_of(r, &r->fields[l->order],
				    &l->in.t);
				if (rc == 0) {
					l->skip = 1;
					break;
				}
				if (rc < 0) {
					*field = r->fields[l->order].path_text;
					snprintf(why, len, "%s: not a time",
					    r->fields[l->order].path_text);
					return -1;
				}
			} else if (r->event_time == INT64_MIN) {
				/* No event time: nothing to order it by. */
				l->skip = 1;
				break;
			} else {
				l->in.t = r->event_time;
			}
			if (!r->tie_set) {
				r->tie = XXH3_64bits(r->rec->line, r->rec->len);
				r->tie_set = 1;
			}
			break;
		case A_DISTINCT:
			cdr_buf_reset(&hb);
			for (k = 0; k < l->nargs; k++) {
				eval_record(r, l->args[k], &v, &w);
				if (v.kind <= VK_NULL) {
					l->skip = 1;
					break;
				}
				canon_bytes(&v, &hb);
			}
			if (!l->skip)
				l->in.m = (int64_t)XXH3_64bits(hb.p, hb.len);
			break;
		}
	}
	return 0;
}

void
agg_update(struct rollup *r, struct group *g)
{
	static struct cdr_buf jb = CDR_BUF_INIT;
	size_t i;

	for (i = 0; i < r->nleaves; i++) {
		struct leaf *l = &r->leaves[i];
		void *st = ST(g, l);

		if (l->skip)
			continue;
		switch (l->fn) {
		case A_COUNT:
		case A_COUNTV:
			(*(uint64_t *)st)++;
			break;
		case A_SUM:
			sum_add(st, &l->in);
			break;
		case A_MIN:
		case A_MAX:
			sval_offer(r, st, &l->in, l->fn == A_MAX);
			break;
		case A_FIRST:
		case A_LAST: {
			const struct expr *a = l->args[0];
			const struct field *f = a->op == X_FIELD ?
			    &r->fields[a->field] : NULL;

			if (f != NULL && f->raw != NULL) {
				fl_offer(r, st, l->in.t, r->tie, f->raw,
				    f->rawn, l->fn == A_LAST);
			} else {
				json_of(&l->in, &jb);
				fl_offer(r, st, l->in.t, r->tie, jb.p, jb.len,
				    l->fn == A_LAST);
			}
			break;
		}
		case A_DISTINCT: {
			struct dset **d = st;
			size_t before;

			if (*d == NULL) {
				*d = cdr_xcalloc(1, sizeof(**d));
				r->state_bytes += sizeof(**d);
			}
			before = ds_bytes(*d);
			ds_add(*d, (uint64_t)l->in.m);
			r->state_bytes += ds_bytes(*d) - before;
			break;
		}
		case A_QUANT: {
			void **q = st;

			if (r->exact) {
				struct qvec *qv = *q;

				if (qv == NULL) {
					*q = qv = cdr_xcalloc(1, sizeof(*qv));
					r->state_bytes += sizeof(*qv);
				}
				if (qv->n == qv->cap)
					r->state_bytes += (qv->cap ? qv->cap :
					    8) * sizeof(double);
				qv_add(qv, l->in.d);
			} else {
				struct ddsketch *s = *q;
				size_t before;

				if (s == NULL) {
					*q = s = cdr_xcalloc(1, sizeof(*s));
					r->state_bytes += sizeof(*s);
				}
				before = dd_bytes(s);
				dd_add(s, l->in.d, 1);
				r->state_bytes += dd_bytes(s) - before;
			}
			break;
		}
		}
	}
}

/* ---- results ---- */

static void
num_val(struct val *out, int64_t m, int scale)
{
	memset(out, 0, sizeof(*out));
	out->kind = VK_NUM;
	out->exact = 1;
	out->m = m;
	out->scale = scale;
	out->d = (double)m / (double)pow10_i64[scale];
}

static void
dbl_val(struct val *out, double d)
{
	memset(out, 0, sizeof(*out));
	out->kind = isfinite(d) ? VK_NUM : VK_NULL;
	out->d = d;
}

void
json_to_val(const char *s, size_t n, struct val *out, struct cdr_buf *scratch)
{
	memset(out, 0, sizeof(*out));
	if (n == 0 || (n == 4 && memcmp(s, "null", 4) == 0)) {
		out->kind = VK_NULL;
	} else if (s[0] == '"' && n >= 2 && memchr(s + 1, '\\', n - 2) == NULL) {
		/* Nothing escaped: the text between the quotes is the string. */
		out->kind = VK_STR;
		out->s = s + 1;
		out->n = n - 2;
	} else if (s[0] == '"') {
		cdr_buf_reset(scratch);
		out->kind = VK_STR;
		if (cdr_json_unescape(s + 1, n - 2, scratch) != 0) {
			out->s = s;
			out->n = n;
		} else {
			out->s = scratch->p ? scratch->p : "";
			out->n = scratch->len;
		}
	} else if (n == 4 && memcmp(s, "true", 4) == 0) {
		num_val(out, 1, 0);
		out->kind = VK_BOOL;
	} else if (n == 5 && memcmp(s, "false", 5) == 0) {
		num_val(out, 0, 0);
		out->kind = VK_BOOL;
	} else if (num_parse(s, n, out) != 0) {
		memset(out, 0, sizeof(*out));
		out->kind = VK_JSON;
		out->s = s;
		out->n = n;
	}
}

static void
sum_val(const struct sum_st *s, struct val *out)
{
	i128 m;

	if (s->mode == SUM_EMPTY) {
		memset(out, 0, sizeof(*out));
		out->kind = VK_NULL;
		return;
	}
	if (s->mode == SUM_EXACT) {
		m = s->acc / pow10_i64[MAX_SCALE - s->scale];
		if (m >= INT64_MIN && m <= INT64_MAX) {
			num_val(out, (int64_t)m, s->scale);
			out->d = (double)((long double)s->acc / 1e9L);
			return;
		}
		dbl_val(out, (double)((long double)s->acc / 1e9L));
		return;
	}
	dbl_val(out, s->d + s->c);
}

void
agg_result(struct rollup *r, const struct group *g, int li, enum fin fin,
    int li2, double q, struct val *out, struct cdr_buf *scratch)
{
	const struct leaf *l = &r->leaves[li];
	const void *st = GROUP_STATE(r, g) + l->off;

	memset(out, 0, sizeof(*out));
	out->kind = VK_NULL;
	if (fin == F_AVG) {
		const struct sum_st *s = st;
		uint64_t n = *(const uint64_t *)(GROUP_STATE(r, g) +
		    r->leaves[li2].off);

		if (n == 0 || s->mode == SUM_EMPTY)
			return;
		if (s->mode == SUM_EXACT)
			dbl_val(out, (double)((long double)s->acc / 1e9L /
			    (long double)n));
		else
			dbl_val(out, (s->d + s->c) / (double)n);
		return;
	}
	switch (l->fn) {
	case A_COUNT:
	case A_COUNTV:
		num_val(out, (int64_t)*(const uint64_t *)st, 0);
		break;
	case A_SUM:
		sum_val(st, out);
		break;
	case A_MIN:
	case A_MAX: {
		const struct sval *s = st;

		if (s->kind == VK_MISSING)
			break;
		out->kind = s->kind;
		out->exact = s->exact;
		out->scale = s->scale;
		switch (s->kind) {
		case VK_TIME:
			out->t = s->mt;
			break;
		case VK_STR:
			out->s = s->u.s;
			out->n = s->n;
			break;
		default:
			out->m = s->mt;
			out->d = s->u.d;
			break;
		}
		break;
	}
	case A_FIRST:
	case A_LAST: {
		const struct fl_st *s = st;

		if (s->set)
			json_to_val(fl_text(s), s->n, out, scratch);
		break;
	}
	case A_DISTINCT: {
		struct dset *const *d = st;

		num_val(out, *d ? (int64_t)ds_count(*d) : 0, 0);
		break;
	}
	case A_QUANT: {
		void *const *p = st;

		if (*p == NULL)
			break;
		if (r->exact) {
			struct qvec *qv = *p;

			if (qv->n > 0)
				dbl_val(out, qv_quantile(qv, q));
		} else {
			struct ddsketch *s = *p;

			if (s->n > 0)
				dbl_val(out, dd_quantile(s, q));
		}
		break;
	}
	}
}

/* ---- partial states ---- */

static void
put_json_string(struct cdr_buf *b, const char *s, size_t n)
{
	struct val v;
	struct cdr_buf t = CDR_BUF_INIT;

	memset(&v, 0, sizeof(v));
	v.kind = VK_STR;
	v.s = s;
	v.n = n;
	json_of(&v, &t);
	cdr_buf_add(b, t.p, t.len);
	cdr_buf_free(&t);
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int
d_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
put_store(struct cdr_buf *b, const struct ddstore *st)
{
	uint32_t k;

	cdr_buf_printf(b, "[%ld", (long)st->off);
	for (k = 0; k < st->len; k++)
		cdr_buf_printf(b, ",%llu", (unsigned long long)st->c[k]);
	cdr_buf_addc(b, ']');
}

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void
agg_write_state(struct rollup *r, const struct group *g, int li,
    struct cdr_buf *b)
{
	const struct leaf *l = &r->leaves[li];
	const void *st = GROUP_STATE(r, g) + l->off;
	char num[96];
	size_t k;

	switch (l->fn) {
	case A_COUNT:
	case A_COUNTV:
		cdr_buf_printf(b, "%llu",
		    (unsigned long long)*(const uint64_t *)st);
		break;
	case A_SUM: {
		const struct sum_st *s = st;

		if (s->mode == SUM_EMPTY) {
			cdr_buf_adds(b, "null");
		} else if (s->mode == SUM_EXACT) {
			fmt_i128(num, sizeof(num), s->acc /
			    pow10_i64[MAX_SCALE - s->scale], s->scale);
			cdr_buf_printf(b, "\"%s\"", num);
		} else {
			fmt_double(num, sizeof(num), s->d + s->c);
			cdr_buf_adds(b, num);
		}
		break;
	}
	case A_MIN:
	case A_MAX: {
		const struct sval *s = st;

		switch (s->kind) {
		case VK_MISSING:
			cdr_buf_adds(b, "null");
			break;
		case VK_NUM:
			if (s->exact) {
				fmt_dec(num, sizeof(num), s->mt, s->scale);
				cdr_buf_printf(b, "{\"n\":\"%s\"}", num);
			} else {
				fmt_double(num, sizeof(num), s->u.d);
				cdr_buf_printf(b, "{\"d\":%s}", num);
			}
			break;
		case VK_TIME:
			cdr_buf_printf(b, "{\"t\":%lld}", (long long)s->mt);
			break;
		default:
			cdr_buf_adds(b, "{\"s\":");
			put_json_string(b, s->kind == VK_STR ? s->u.s : "",
			    s->n);
			cdr_buf_addc(b, '}');
			break;
		}
		break;
	}
	case A_FIRST:
	case A_LAST: {
		const struct fl_st *s = st;

		if (!s->set) {
			cdr_buf_adds(b, "null");
			break;
		}
		cdr_buf_printf(b, "[%lld,\"%016llx\",", (long long)s->ot,
		    (unsigned long long)s->tie);
		cdr_buf_add(b, fl_text(s), s->n);
		cdr_buf_addc(b, ']');
		break;
	}
	case A_DISTINCT: {
		struct dset *const *dp = st;
		const struct dset *d = *dp;

		if (d == NULL) {
			cdr_buf_adds(b, "null");
		} else if (d->reg != NULL) {
			size_t m = (size_t)1 << ds_precision(), i;
			const uint8_t *p = d->reg;

			cdr_buf_adds(b, "{\"hll\":\"");
			for (i = 0; i + 2 < m; i += 3) {
				uint32_t v = (uint32_t)p[i] << 16 |
				    (uint32_t)p[i + 1] << 8 | p[i + 2];

				cdr_buf_addc(b, b64[v >> 18]);
				cdr_buf_addc(b, b64[(v >> 12) & 63]);
				cdr_buf_addc(b, b64[(v >> 6) & 63]);
				cdr_buf_addc(b, b64[v & 63]);
			}
			if (i < m) {
				uint32_t v = (uint32_t)p[i] << 16 |
				    (i + 1 < m ? (uint32_t)p[i + 1] << 8 : 0);

				cdr_buf_addc(b, b64[v >> 18]);
				cdr_buf_addc(b, b64[(v >> 12) & 63]);
				cdr_buf_addc(b, i + 1 < m ?
				    b64[(v >> 6) & 63] : '=');
				cdr_buf_addc(b, '=');
			}
			cdr_buf_adds(b, "\"}");
		} else {
			uint64_t *h = cdr_xcalloc((size_t)d->n + 2,
			    sizeof(*h));
			size_t n = 0;

			for (k = 0; k < d->cap; k++)
				if (d->h[k] != 0)
					h[n++] = d->h[k];
			if (d->has_zero)
				h[n++] = 0;
			qsort(h, n, sizeof(*h), u64_cmp);
			cdr_buf_adds(b, "{\"set\":[");
			for (k = 0; k < n; k++)
				cdr_buf_printf(b, "%s\"%016llx\"", k ? "," : "",
				    (unsigned long long)h[k]);
			cdr_buf_adds(b, "]}");
			free(h);
		}
		break;
	}
	case A_QUANT: {
		void *const *p = st;

		if (*p == NULL) {
			cdr_buf_adds(b, "null");
		} else if (r->exact) {
			struct qvec *qv = *p;

			if (!qv->sorted) {
				qsort(qv->v, qv->n, sizeof(*qv->v), d_cmp);
				qv->sorted = 1;
			}
			cdr_buf_adds(b, "{\"values\":[");
			for (k = 0; k < qv->n; k++) {
				fmt_double(num, sizeof(num), qv->v[k]);
				cdr_buf_printf(b, "%s%s", k ? "," : "", num);
			}
			cdr_buf_adds(b, "]}");
		} else {
			const struct ddsketch *s = *p;

			cdr_buf_printf(b, "{\"n\":%llu,\"zero\":%llu,\"pos\":",
			    (unsigned long long)s->n,
			    (unsigned long long)s->zero);
			put_store(b, &s->pos);
			cdr_buf_adds(b, ",\"neg\":");
			put_store(b, &s->neg);
			cdr_buf_addc(b, '}');
		}
		break;
	}
	}
}

/* "-123.4500": digits and scale as written. */
static int
dec_parse(const char *s, size_t n, i128 *m, int *scale)
{
	size_t i = 0;
	int neg = 0, frac = -1;
	i128 v = 0;

	if (i < n && s[i] == '-') {
		neg = 1;
		i++;
	}
	if (i == n)
		return -1;
	for (; i < n; i++) {
		if (s[i] == '.' && frac < 0) {
			frac = 0;
			continue;
		}
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > ((i128)1 << 120))
			return -1;
		v = v * 10 + (s[i] - '0');
		if (frac >= 0)
			frac++;
	}
	if (frac > MAX_SCALE)
		return -1;
	*m = neg ? -v : v;
	*scale = frac < 0 ? 0 : frac;
	return 0;
}

static int
get_u64(const struct cdr_value *v, uint64_t *out)
{
	int64_t i;

	if (v->type != CDR_T_NUMBER || cdr_value_int64(v, &i) != 0 || i < 0)
		return -1;
	*out = (uint64_t)i;
	return 0;
}

static int
b64_val(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

static int
read_store(const struct cdr_value *v, struct ddstore *st)
{
	struct cdr_value c;
	int64_t off;
	uint64_t cnt;
	int32_t i;

	if (v->type != CDR_T_ARRAY || !cdr_value_child(v, &c) ||
	    cdr_value_int64(&c, &off) != 0 || off < INT32_MIN / 2 ||
	    off > INT32_MAX / 2)
		return -1;
	for (i = (int32_t)off; cdr_value_next(&c); i++) {
		if (get_u64(&c, &cnt) != 0)
			return -1;
		dd_store_set(st, i, cnt);
	}
	return 0;
}

/* Merges the partial state v into g's leaf li: 0, or -1 with *why. */
int
agg_merge_state(struct rollup *r, struct group *g, int li,
    const struct cdr_value *v, struct cdr_buf *scratch, const char **why)
{
	struct leaf *l = &r->leaves[li];
	void *st = GROUP_STATE(r, g) + l->off;
	struct cdr_value m, e;
	const char *s;
	size_t n;
	uint64_t u;

	*why = "bad state";
	if (v->type == CDR_T_NULL)
		return 0;
	switch (l->fn) {
	case A_COUNT:
	case A_COUNTV:
		if (get_u64(v, &u) != 0)
			return -1;
		*(uint64_t *)st += u;
		return 0;
	case A_SUM: {
		struct sum_st from;

		memset(&from, 0, sizeof(from));
		if (v->type == CDR_T_STRING) {
			i128 acc;
			int scale;

			if (dec_parse(v->p, v->len, &acc, &scale) != 0)
				return -1;
			from.mode = SUM_EXACT;
			from.scale = (uint8_t)scale;
			from.acc = acc * pow10_i64[MAX_SCALE - scale];
		} else if (cdr_value_double(v, &from.d) == 0) {
			from.mode = SUM_DOUBLE;
		} else {
			return -1;
		}
		sum_merge(st, &from);
		return 0;
	}
	case A_MIN:
	case A_MAX: {
		struct val x;
		i128 dm;
		int scale;

		memset(&x, 0, sizeof(x));
		if (v->type != CDR_T_OBJECT || !cdr_value_child(v, &m))
			return -1;
		s = cdr_value_key(&m, scratch, &n);
		if (n != 1)
			return -1;
		if (*s == 'n' && m.type == CDR_T_STRING &&
		    dec_parse(m.p, m.len, &dm, &scale) == 0 &&
		    dm >= INT64_MIN && dm <= INT64_MAX) {
			x.kind = VK_NUM;
			x.exact = 1;
			x.m = (int64_t)dm;
			x.scale = scale;
			x.d = (double)x.m / (double)pow10_i64[scale];
		} else if (*s == 'd' && cdr_value_double(&m, &x.d) == 0) {
			x.kind = VK_NUM;
		} else if (*s == 't' && m.type == CDR_T_NUMBER &&
		    cdr_value_int64(&m, &x.t) == 0) {
			x.kind = VK_TIME;
		} else if (*s == 's' && m.type == CDR_T_STRING) {
			x.kind = VK_STR;
			x.s = cdr_value_str(&m, scratch, &x.n);
		} else {
			return -1;
		}
		sval_offer(r, st, &x, l->fn == A_MAX);
		return 0;
	}
	case A_FIRST:
	case A_LAST: {
		int64_t ot;
		unsigned long long tie;
		char hex[17];

		if (v->type != CDR_T_ARRAY || v->rec->nodes[v->node].nchild != 3 ||
		    !cdr_value_child(v, &e) || e.type != CDR_T_NUMBER ||
		    cdr_value_int64(&e, &ot) != 0 || !cdr_value_next(&e) ||
		    e.type != CDR_T_STRING || e.len != 16)
			return -1;
		memcpy(hex, e.p, 16);
		hex[16] = '\0';
		if (sscanf(hex, "%16llx", &tie) != 1 || !cdr_value_next(&e))
			return -1;
		if (e.type == CDR_T_STRING)
			fl_offer(r, st, ot, tie, e.p - 1, e.len + 2,
			    l->fn == A_LAST);
		else
			fl_offer(r, st, ot, tie, e.p, e.len, l->fn == A_LAST);
		return 0;
	}
	case A_DISTINCT: {
		struct dset **dp = st, from;
		size_t before;
		int ok = 0;

		if (*dp == NULL) {
			*dp = cdr_xcalloc(1, sizeof(**dp));
			r->state_bytes += sizeof(**dp);
		}
		before = ds_bytes(*dp);
		memset(&from, 0, sizeof(from));
		if (v->type != CDR_T_OBJECT || !cdr_value_child(v, &m))
			return -1;
		s = cdr_value_key(&m, scratch, &n);
		if (n == 3 && memcmp(s, "set", 3) == 0 &&
		    m.type == CDR_T_ARRAY) {
			ok = 1;
			for (int more = cdr_value_child(&m, &e); more;
			    more = cdr_value_next(&e)) {
				char hex[17];
				unsigned long long h;

				if (e.type != CDR_T_STRING || e.len != 16) {
					ok = 0;
					break;
				}
				memcpy(hex, e.p, 16);
				hex[16] = '\0';
				if (sscanf(hex, "%16llx", &h) != 1) {
					ok = 0;
					break;
				}
				ds_add(*dp, (uint64_t)h);
			}
		} else if (n == 3 && memcmp(s, "hll", 3) == 0 &&
		    m.type == CDR_T_STRING) {
			size_t want = (size_t)1 << ds_precision(), i, o = 0;
			uint32_t acc = 0;
			int bits = 0, d;

			from.reg = cdr_xcalloc(want, 1);
			ok = 1;
			for (i = 0; i < m.len && m.p[i] != '='; i++) {
				if ((d = b64_val(m.p[i])) < 0) {
					ok = 0;
					break;
				}
				acc = acc << 6 | (uint32_t)d;
				bits += 6;
				if (bits >= 8) {
					bits -= 8;
					if (o < want)
						from.reg[o] = (uint8_t)(acc >>
						    bits);
					o++;
					acc &= (1u << bits) - 1;
				}
			}
			if (o != want)
				ok = 0;
			for (i = 0; ok && i < want; i++)
				if (from.reg[i] > 64 - ds_precision() + 1)
					ok = 0;
			if (ok)
				ds_merge(*dp, &from);
			free(from.reg);
		}
		r->state_bytes += ds_bytes(*dp) - before;
		return ok ? 0 : -1;
	}
	case A_QUANT: {
		void **p = st;

		if (v->type != CDR_T_OBJECT)
			return -1;
		if (r->exact) {
			struct qvec *qv = *p;
			double d;

			if (!cdr_value_member(v, "values", 6, &m) ||
			    m.type != CDR_T_ARRAY)
				return -1;
			if (qv == NULL) {
				*p = qv = cdr_xcalloc(1, sizeof(*qv));
				r->state_bytes += sizeof(*qv);
			}
			for (int more = cdr_value_child(&m, &e); more;
			    more = cdr_value_next(&e)) {
				if (cdr_value_double(&e, &d) != 0)
					return -1;
				if (qv->n == qv->cap)
					r->state_bytes += (qv->cap ? qv->cap :
					    8) * sizeof(double);
				qv_add(qv, d);
			}
		} else {
			struct ddsketch from, *sk = *p;
			struct cdr_value x;
			size_t before;
			int bad = 0;

			memset(&from, 0, sizeof(from));
			if (!cdr_value_member(v, "n", 1, &x) ||
			    get_u64(&x, &from.n) != 0 ||
			    !cdr_value_member(v, "zero", 4, &x) ||
			    get_u64(&x, &from.zero) != 0 ||
			    !cdr_value_member(v, "pos", 3, &x) ||
			    read_store(&x, &from.pos) != 0 ||
			    !cdr_value_member(v, "neg", 3, &x) ||
			    read_store(&x, &from.neg) != 0)
				bad = 1;
			if (!bad) {
				if (sk == NULL) {
					*p = sk = cdr_xcalloc(1, sizeof(*sk));
					r->state_bytes += sizeof(*sk);
				}
				before = dd_bytes(sk);
				dd_merge(sk, &from);
				r->state_bytes += dd_bytes(sk) - before;
			}
			dd_free(&from);
			if (bad)
				return -1;
		}
		return 0;
	}
	}
	return -1;
}
