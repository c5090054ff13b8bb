/*
 * Mergeable sketches.
 *
 * DDSketch (Masson, Rim, Lee, VLDB 2019): values fall into logarithmic
 * bins of ratio gamma = (1 + a) / (1 - a); a quantile is read as its
 * bin's midpoint, within relative error a of the true value of that rank.
 * Merging adds bin counts, so a merged sketch is the very sketch one pass
 * over all the values builds.
 *
 * Distinct counts keep an exact set of 64-bit hashes up to a bound, then
 * HyperLogLog registers (Flajolet et al. 2007) read with Ertl's improved
 * estimator (arXiv:1702.01284), standard error 1.04 / sqrt(2^p).  The
 * registers of a set of hashes do not depend on the order of insertion,
 * so here too merging gives what one pass gives.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"

#include "rollup.h"

#define DD_MIN 1e-9

static double dd_gamma_log = 0.0;	/* log(gamma) */
static double dd_mid = 1.0;		/* 2 / (gamma + 1) */

static int hll_p = 14;
static uint64_t exact_bound = 2048;

void
dd_params(double alpha)
{
	double gamma = (1 + alpha) / (1 - alpha);

	dd_gamma_log = log(gamma);
	dd_mid = 2 / (gamma + 1);
}

int32_t
dd_index(double x)
{
	return (int32_t)ceil(log(x) / dd_gamma_log);
}

double
dd_value(int32_t i)
{
	return exp((double)i * dd_gamma_log) * dd_mid;
}

/* Adds c at bin i; past DD_MAX_BINS the lowest bins fold into one. */
static void
store_add(struct ddstore *st, int32_t i, uint64_t c)
{
	int32_t lo, hi, nlo;
	uint64_t *nc;
	uint32_t k;

	if (st->len == 0) {
		st->c = cdr_xcalloc(1, sizeof(*st->c));
		st->off = i;
		st->len = 1;
		st->c[0] = c;
		return;
	}
	if (i >= st->off && i < st->off + (int32_t)st->len) {
		st->c[i - st->off] += c;
		return;
	}
	lo = i < st->off ? i : st->off;
	hi = i > st->off + (int32_t)st->len - 1 ? i :
	    st->off + (int32_t)st->len - 1;
	nlo = hi - lo + 1 > DD_MAX_BINS ? hi - DD_MAX_BINS + 1 : lo;
	nc = cdr_xcalloc((size_t)(hi - nlo + 1), sizeof(*nc));
	for (k = 0; k < st->len; k++) {
		int32_t at = st->off + (int32_t)k;

		nc[(at < nlo ? nlo : at) - nlo] += st->c[k];
	}
	nc[(i < nlo ? nlo : i) - nlo] += c;
	free(st->c);
	st->c = nc;
	st->off = nlo;
	st->len = (uint32_t)(hi - nlo + 1);
}

void
dd_store_set(struct ddstore *st, int32_t i, uint64_t c)
{
	if (c != 0)
		store_add(st, i, c);
}

void
dd_add(struct ddsketch *s, double x, uint64_t count)
{
	s->n += count;
	if (x > DD_MIN)
		store_add(&s->pos, dd_index(x), count);
	else if (x < -DD_MIN)
		store_add(&s->neg, dd_index(-x), count);
	else
		s->zero += count;
}

void
dd_merge(struct ddsketch *into, const struct ddsketch *from)
{
	uint32_t k;

	into->n += from->n;
	into->zero += from->zero;
	for (k = 0; k < from->pos.len; k++)
		if (from->pos.c[k] != 0)
			store_add(&into->pos, from->pos.off + (int32_t)k,
			    from->pos.c[k]);
	for (k = 0; k < from->neg.len; k++)
		if (from->neg.c[k] != 0)
			store_add(&into->neg, from->neg.off + (int32_t)k,
			    from->neg.c[k]);
}

/* The value of rank floor(q (n - 1)), within the relative error. */
double
dd_quantile(const struct ddsketch *s, double q)
{
	double rank = q * (double)(s->n - 1);
	uint64_t seen = 0;
	uint32_t k;

	for (k = s->neg.len; k > 0; k--) {
		seen += s->neg.c[k - 1];
		if ((double)seen > rank)
			return -dd_value(s->neg.off + (int32_t)k - 1);
	}
	seen += s->zero;
	if ((double)seen > rank)
		return 0;
	for (k = 0; k < s->pos.len; k++) {
		seen += s->pos.c[k];
		if ((double)seen > rank)
			return dd_value(s->pos.off + (int32_t)k);
	}
	return s->pos.len ? dd_value(s->pos.off + (int32_t)s->pos.len - 1) : 0;
}

void
dd_free(struct ddsketch *s)
{
	free(s->pos.c);
	free(s->neg.c);
	memset(s, 0, sizeof(*s));
}

size_t
dd_bytes(const struct ddsketch *s)
{
	return sizeof(*s) + (s->pos.len + s->neg.len) * sizeof(uint64_t);
}

/* ---- exact quantiles ---- */

void
qv_add(struct qvec *q, double x)
{
	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 8;
		q->v = cdr_xreallocarray(q->v, q->cap, sizeof(*q->v));
	}
	q->v[q->n++] = x;
	q->sorted = 0;
}

void
qv_merge(struct qvec *into, const struct qvec *from)
{
	size_t i;

	for (i = 0; i < from->n; i++)
		qv_add(into, from->v[i]);
}

static int
dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* percentile_cont: linear between the two values around q (n - 1). */
double
qv_quantile(struct qvec *q, double p)
{
	double pos, lo, frac;
	size_t i;

	if (!q->sorted) {
		qsort(q->v, q->n, sizeof(*q->v), dbl_cmp);
		q->sorted = 1;
	}
	pos = p * (double)(q->n - 1);
	lo = floor(pos);
	i = (size_t)lo;
	frac = pos - lo;
	if (i + 1 >= q->n || frac == 0)
		return q->v[i];
	return q->v[i] + (q->v[i + 1] - q->v[i]) * frac;
}

void
qv_free(struct qvec *q)
{
	free(q->v);
	memset(q, 0, sizeof(*q));
}

/* ---- distinct ---- */

void
ds_params(int precision, uint64_t bound)
{
	hll_p = precision;
	exact_bound = bound;
}

int
ds_precision(void)
{
	return hll_p;
}

static void
hll_add(uint8_t *reg, uint64_t h)
{
	uint64_t idx = h >> (64 - hll_p);
	uint64_t w = h << hll_p;
	uint8_t rho = w == 0 ? (uint8_t)(64 - hll_p + 1) :
	    (uint8_t)(__builtin_clzll(w) + 1);

	if (rho > 64 - hll_p + 1)
		rho = (uint8_t)(64 - hll_p + 1);
	if (reg[idx] < rho)
		reg[idx] = rho;
}

static void
set_insert(struct dset *d, uint64_t h)
{
	size_t mask, i;

	if (h == 0) {
		d->has_zero = 1;
		return;
	}
	if ((d->n + 1) * 2 > d->cap) {
		uint64_t *old = d->h;
		uint32_t oldcap = d->cap, k;

		d->cap = d->cap ? d->cap * 2 : 8;
		d->h = cdr_xcalloc(d->cap, sizeof(*d->h));
		d->n = 0;
		for (k = 0; k < oldcap; k++)
			if (old[k] != 0)
				set_insert(d, old[k]);
		free(old);
	}
	mask = d->cap - 1;
	for (i = (size_t)(h ^ (h >> 29)) & mask; d->h[i] != 0;
	    i = (i + 1) & mask)
		if (d->h[i] == h)
			return;
	d->h[i] = h;
	d->n++;
}

void
ds_to_hll(struct dset *d)
{
	uint32_t k;

	if (d->reg != NULL)
		return;
	d->reg = cdr_xcalloc((size_t)1 << hll_p, 1);
	for (k = 0; k < d->cap; k++)
		if (d->h[k] != 0)
			hll_add(d->reg, d->h[k]);
	if (d->has_zero)
		hll_add(d->reg, 0);
	free(d->h);
	d->h = NULL;
	d->n = d->cap = 0;
	d->has_zero = 0;
}

void
ds_add(struct dset *d, uint64_t h)
{
	if (d->reg != NULL) {
		hll_add(d->reg, h);
		return;
	}
	set_insert(d, h);
	if (exact_bound != 0 && (uint64_t)d->n + (uint64_t)d->has_zero >
	    exact_bound)
		ds_to_hll(d);
}

void
ds_merge(struct dset *into, const struct dset *from)
{
	size_t k, m = (size_t)1 << hll_p;

	if (from->reg != NULL) {
		ds_to_hll(into);
		for (k = 0; k < m; k++)
			if (into->reg[k] < from->reg[k])
				into->reg[k] = from->reg[k];
		return;
	}
	for (k = 0; k < from->cap; k++)
		if (from->h[k] != 0)
			ds_add(into, from->h[k]);
	if (from->has_zero)
		ds_add(into, 0);
}

static double
hll_sigma(double x)
{
	double y = 1, z = x, zl;

	if (x == 1)
		return INFINITY;
	do {
		x *= x;
		zl = z;
		z += x * y;
		y += y;
	} while (z != zl);
	return z;
}

static double
hll_tau(double x)
{
	double y = 1, z = 1 - x, zl;

	if (x == 0 || x == 1)
		return 0;
	do {
		x = sqrt(x);
		zl = z;
		y *= 0.5;
		z -= (1 - x) * (1 - x) * y;
	} while (z != zl);
	return z / 3;
}

uint64_t
ds_count(const struct dset *d)
{
	int q = 64 - hll_p, k;
	size_t m = (size_t)1 << hll_p, i;
	uint64_t c[66];
	double z, est;

	if (d->reg == NULL)
		return (uint64_t)d->n + (uint64_t)d->has_zero;
	memset(c, 0, sizeof(c));
	for (i = 0; i < m; i++)
		c[d->reg[i]]++;
	z = (double)m * hll_tau(1 - (double)c[q + 1] / (double)m);
	for (k = q; k >= 1; k--)
		z = 0.5 * (z + (double)c[k]);
	z += (double)m * hll_sigma((double)c[0] / (double)m);
	est = (double)m * (double)m / (2 * log(2)) / z;
	return (uint64_t)llround(est);
}

void
ds_free(struct dset *d)
{
	free(d->h);
	free(d->reg);
	memset(d, 0, sizeof(*d));
}

size_t
ds_bytes(const struct dset *d)
{
	return sizeof(*d) + (d->reg ? (size_t)1 << hll_p :
	    (size_t)d->cap * sizeof(uint64_t));
}
