/*
 * Evaluation: record values for keys and aggregate inputs (each field is
 * read once per record), jq predicates, and the arithmetic of columns.
 */
#include <math.h>
#include <string.h>

#include "msg.h"

#include "rollup.h"

void
eval_begin(struct rollup *r, const struct cdr_record *rec)
{
	r->gen++;
	r->rec = rec;
	r->tie_set = 0;
	if (r->jq_input_set) {
		jv_free(r->jq_input);
		r->jq_input_set = 0;
	}
}

/* A value of the record as a struct val; strings unescaped. */
static void
from_record(struct field *f, const struct cdr_value *cv, struct val *v)
{
	size_t n;

	memset(v, 0, sizeof(*v));
	f->raw = NULL;
	switch (cv->type) {
	case CDR_T_MISSING:
		v->kind = VK_MISSING;
		return;
	case CDR_T_NULL:
		v->kind = VK_NULL;
		break;
	case CDR_T_TRUE:
	case CDR_T_FALSE:
		v->kind = VK_BOOL;
		v->exact = 1;
		v->m = cv->type == CDR_T_TRUE;
		v->d = (double)v->m;
		break;
	case CDR_T_NUMBER:
		if (num_parse(cv->p, cv->len, v) != 0) {
			/* Beyond a double (1e400): kept as its text. */
			v->kind = VK_STR;
			v->s = cv->p;
			v->n = cv->len;
		}
		break;
	case CDR_T_STRING:
		v->kind = VK_STR;
		v->s = cdr_value_str(cv, &f->scratch, &n);
		v->n = n;
		if (!(cv->rec->nodes[cv->node].flags & CDR_N_CSV)) {
			f->raw = cv->p - 1;
			f->rawn = cv->len + 2;
		}
		return;
	default:
		v->kind = VK_JSON;
		v->s = cdr_value_str(cv, &f->scratch, &n);
		v->n = n;
		break;
	}
	if (cv->rec->format != CDR_FMT_CSV) {
		f->raw = cv->p;
		f->rawn = cv->len;
	}
}

int
eval_field(struct rollup *r, int fi, struct val *out)
{
	struct field *f = &r->fields[fi];
	struct cdr_value cv;

	if (f->gen != r->gen) {
		f->gen = r->gen;
		if (f->dim >= 0) {
			dim_value(r, f->dim, &f->v, &f->scratch);
			f->raw = NULL;
		} else {
			cdr_record_get_hint(r->rec, &f->path, &cv, &f->hint);
			from_record(f, &cv, &f->v);
		}
	}
	*out = f->v;
	return 0;
}

int
val_as_num(struct val *v)
{
	switch (v->kind) {
	case VK_NUM:
		return 1;
	case VK_BOOL:
		v->kind = VK_NUM;
		return 1;
	case VK_STR: {
		struct val n;

		if (num_parse(v->s, v->n, &n) != 0)
			return 0;
		*v = n;
		return 1;
	}
	default:
		return 0;
	}
}

int
val_as_time(const struct rollup *r, struct val *v)
{
	const char *why;
	int64_t t;

	if (v->kind == VK_TIME)
		return 1;
	if (v->kind != VK_STR || v->n < 10 || v->s[0] < '0' || v->s[0] > '9')
		return 0;
	if (cdr_time_parse(v->s, v->n, CDR_TP_ISO, r->tz, &t, &why) != 0)
		return 0;
	memset(v, 0, sizeof(*v));
	v->kind = VK_TIME;
	v->t = t;
	return 1;
}

/* The time in a field: ISO-8601, or epoch seconds (milliseconds at 13+ digits). */
int
eval_time_of(struct rollup *r, struct field *f, int64_t *t)
{
	struct val v;
	const char *why;

	if (f->time_gen == r->gen) {
		*t = f->time;
		return f->time_rc;
	}
	eval_field(r, (int)(f - r->fields), &v);
	f->time_gen = r->gen;
	f->time_rc = -1;
	if (v.kind == VK_MISSING || v.kind == VK_NULL)
		f->time_rc = 0;
	else if (v.kind == VK_STR)
		f->time_rc = cdr_time_parse(v.s, v.n, CDR_TP_ANY, r->tz,
		    &f->time, &why) == 0 ? 1 : -1;
	else if (v.kind == VK_NUM && f->raw != NULL)
		f->time_rc = cdr_time_parse(f->raw, f->rawn, CDR_TP_ANY, r->tz,
		    &f->time, &why) == 0 ? 1 : -1;
	*t = f->time;
	return f->time_rc;
}

int
eval_pred(struct rollup *r, int pi, char *err, size_t errlen)
{
	struct pred *p = &r->preds[pi];
	jv out;
	int rc;

	if (p->gen == r->gen)
		return p->result;
	p->gen = r->gen;
	if (!r->jq_input_set) {
		r->jq_input = cdr_jq_input(r->rec);
		r->jq_input_set = 1;
	}
	rc = cdr_jq_first(p->jq, jv_copy(r->jq_input), &out, err, errlen);
	if (rc == 1) {
		jv_kind k = jv_get_kind(out);

		p->result = k != JV_KIND_FALSE && k != JV_KIND_NULL;
		jv_free(out);
	} else {
		p->result = rc < 0 ? -1 : 0;
	}
	return p->result;
}

static void
set_bool(struct val *out, int b)
{
	memset(out, 0, sizeof(*out));
	out->kind = VK_BOOL;
	out->exact = 1;
	out->m = b;
	out->d = b;
}

static int
compare(const struct rollup *r, const struct val *a, const struct val *b,
    int *res)
{
	struct val x = *a, y = *b;
	size_t n;
	int c;

	if (val_as_num(&x) && val_as_num(&y)) {
		*res = val_cmp_num(&x, &y);
		return 0;
	}
	x = *a;
	y = *b;
	if (val_as_time(r, &x) && val_as_time(r, &y)) {
		*res = x.t < y.t ? -1 : x.t > y.t;
		return 0;
	}
	if ((a->kind == VK_STR || a->kind == VK_JSON) &&
	    (b->kind == VK_STR || b->kind == VK_JSON)) {
		n = a->n < b->n ? a->n : b->n;
		c = memcmp(a->s, b->s, n);
		*res = c != 0 ? (c < 0 ? -1 : 1) : a->n < b->n ? -1 : a->n > b->n;
		return 0;
	}
	return -1;
}

/* Exact a op b for + - * when it fits; 0 when it does not. */
static int
exact_op(enum xop op, const struct val *a, const struct val *b,
    struct val *out)
{
	int64_t x, y, m;
	int scale;

	if (!a->exact || !b->exact)
		return 0;
	if (op == X_MUL) {
		scale = a->scale + b->scale;
		if (scale > MAX_SCALE ||
		    __builtin_mul_overflow(a->m, b->m, &m))
			return 0;
	} else {
		scale = a->scale > b->scale ? a->scale : b->scale;
		if (__builtin_mul_overflow(a->m, pow10_i64[scale - a->scale],
		    &x) || __builtin_mul_overflow(b->m,
		    pow10_i64[scale - b->scale], &y))
			return 0;
		if (op == X_ADD ? __builtin_add_overflow(x, y, &m) :
		    __builtin_sub_overflow(x, y, &m))
			return 0;
	}
	if (m <= -INT64_C(9007199254740992) || m >= INT64_C(9007199254740992))
		return 0;
	memset(out, 0, sizeof(*out));
	out->kind = VK_NUM;
	out->exact = 1;
	out->m = m;
	out->scale = scale;
	out->d = (double)m / (double)pow10_i64[scale];
	return 1;
}

/*
 * a op b.  Null or missing operands give null; time - time is seconds;
 * time +/- seconds is a time; division is in doubles, by zero null.
 */
void
arith(const struct rollup *r, enum xop op, const struct val *a,
    const struct val *b, struct val *out)
{
	struct val x = *a, y = *b;
	int c;
	double d;

	memset(out, 0, sizeof(*out));
	out->kind = VK_NULL;
	if (a->kind <= VK_NULL || b->kind <= VK_NULL)
		return;
	if (op >= X_LT && op <= X_NE) {
		/* Two numbers, as compare() would find them, without copies. */
		if (a->kind == VK_NUM && b->kind == VK_NUM) {
			c = val_cmp_num(a, b);
		} else if (compare(r, a, b, &c) != 0) {
			if (op == X_EQ || op == X_NE)
				set_bool(out, op == X_NE);
			return;
		}
		switch (op) {
		case X_LT: set_bool(out, c < 0); break;
		case X_LE: set_bool(out, c <= 0); break;
		case X_GT: set_bool(out, c > 0); break;
		case X_GE: set_bool(out, c >= 0); break;
		case X_EQ: set_bool(out, c == 0); break;
		default: set_bool(out, c != 0); break;
		}
		return;
	}
	if (val_as_num(&x) && val_as_num(&y)) {
		if (op != X_DIV && exact_op(op, &x, &y, out))
			return;
		switch (op) {
		case X_ADD: d = x.d + y.d; break;
		case X_SUB: d = x.d - y.d; break;
		case X_MUL: d = x.d * y.d; break;
		default:
			if (y.d == 0)
				return;
			d = x.d / y.d;
			break;
		}
		memset(out, 0, sizeof(*out));
		if (!isfinite(d)) {
			out->kind = VK_NULL;
			return;
		}
		out->kind = VK_NUM;
		out->d = d;
		return;
	}
	x = *a;
	y = *b;
	if (op == X_SUB && val_as_time(r, &x) && val_as_time(r, &y)) {
		num_from_usec(x.t - y.t, out);
		return;
	}
	x = *a;
	y = *b;
	if ((op == X_ADD || op == X_SUB) && val_as_time(r, &x) &&
	    val_as_num(&y)) {
		d = y.d * 1e6;
		if (fabs(d) > 1e17)
			return;
		out->kind = VK_TIME;
		out->t = x.t + (op == X_ADD ? 1 : -1) * (int64_t)llround(d);
		return;
	}
}

int
eval_record(struct rollup *r, const struct expr *e, struct val *out,
    const char **why)
{
	struct val a, b;
	size_t i;

	switch (e->op) {
	case X_NUM:
	case X_STR:
		*out = e->lit;
		return 0;
	case X_FIELD:
		return eval_field(r, e->field, out);
	case X_COALESCE:
		for (i = 0; i < e->nkids; i++) {
			eval_record(r, e->kids[i], out, why);
			if (out->kind > VK_NULL)
				return 0;
		}
		out->kind = VK_NULL;
		return 0;
	case X_NEG:
		eval_record(r, e->kids[0], &a, why);
		memset(&b, 0, sizeof(b));
		b.kind = VK_NUM;
		b.exact = 1;
		arith(r, X_SUB, &b, &a, out);
		return 0;
	default:
		eval_record(r, e->kids[0], &a, why);
		eval_record(r, e->kids[1], &b, why);
		arith(r, e->op, &a, &b, out);
		return 0;
	}
}

void
eval_output(struct rollup *r, const struct group *g, const struct expr *e,
    struct val *out, struct cdr_buf *scratch)
{
	struct val a, b;
	struct cdr_buf s2 = CDR_BUF_INIT;

	switch (e->op) {
	case X_NUM:
	case X_STR:
		*out = e->lit;
		return;
	case X_AGG:
		agg_result(r, g, e->leaf, e->fin, e->leaf2, e->q, out, scratch);
		return;
	case X_COL:
		eval_output(r, g, r->cols[e->col].e, out, scratch);
		return;
	case X_NEG:
		eval_output(r, g, e->kids[0], &a, scratch);
		memset(&b, 0, sizeof(b));
		b.kind = VK_NUM;
		b.exact = 1;
		arith(r, X_SUB, &b, &a, out);
		return;
	default:
		/* The left value may live in scratch: the right gets its own. */
		eval_output(r, g, e->kids[0], &a, scratch);
		eval_output(r, g, e->kids[1], &b, &s2);
		arith(r, e->op, &a, &b, out);
		cdr_buf_free(&s2);
		return;
	}
}
