/*
 * Random numbers and the few functions of real numbers cdr-gen needs,
 * computed the same way on every machine.
 *
 * xoshiro256** (Blackman and Vigna) seeded through splitmix64; rand() and
 * the libm transcendentals differ between C libraries, these do not.
 */
#include <math.h>
#include <stdint.h>

#include "gen.h"

#define LN2	0.69314718055994530942
#define LOG2E	1.44269504088896340736
#define PI	3.14159265358979323846

static uint64_t splitmix(uint64_t *x);
static uint64_t rotl(uint64_t x, int k);

static uint64_t
splitmix(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/*
 * Stream and index are mixed in through splitmix64 rounds so that nearby
 * seeds, streams and indices give unrelated sequences.
 */
void
rng_init(struct rng *r, uint64_t seed, uint64_t stream, uint64_t index)
{
	uint64_t x = seed;

	x = splitmix(&x) ^ stream;
	x = splitmix(&x) ^ index;
	r->s[0] = splitmix(&x);
	r->s[1] = splitmix(&x);
	r->s[2] = splitmix(&x);
	r->s[3] = splitmix(&x);
}

uint64_t
rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

/* Unbiased: draws below the largest multiple of n are kept. */
uint64_t
rng_below(struct rng *r, uint64_t n)
{
	uint64_t x, limit;

	if (n <= 1)
		return 0;
	limit = UINT64_MAX - UINT64_MAX % n;
	do
		x = rng_next(r);
	while (x >= limit);
	return x % n;
}

double
rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

int
rng_chance(struct rng *r, double p)
{
	return rng_unit(r) < p;
}

double
rng_between(struct rng *r, double lo, double hi)
{
	return lo + (hi - lo) * rng_unit(r);
}

/* Marsaglia's polar method. */
double
rng_normal(struct rng *r)
{
	double u, v, s;

	do {
		u = 2 * rng_unit(r) - 1;
		v = 2 * rng_unit(r) - 1;
		s = u * u + v * v;
	} while (s >= 1 || s == 0);
	return u * sqrt(-2 * det_log(s) / s);
}

double
rng_lognormal(struct rng *r, double median, double sigma)
{
	return median * det_exp(sigma * rng_normal(r));
}

size_t
rng_pick(struct rng *r, const unsigned short *w, size_t n)
{
	unsigned long total = 0, x;
	size_t i;

	for (i = 0; i < n; i++)
		total += w[i];
	x = (unsigned long)rng_below(r, total);
	for (i = 0; i + 1 < n; i++) {
		if (x < w[i])
			return i;
		x -= w[i];
	}
	return n - 1;
}

/*
 * Range reduction by powers of two, then the Taylor series in Horner
 * form (|rem| <= 0.35: 15 terms reach double precision).  The constants
 * are 1/k!, folded exactly at compile time.
 */
double
det_exp(double x)
{
	static const double inv_fact[] = {
		1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040,
		1.0 / 40320, 1.0 / 362880, 1.0 / 3628800, 1.0 / 39916800,
		1.0 / 479001600, 1.0 / 6227020800.0, 1.0 / 87178291200.0,
		1.0 / 1307674368000.0
	};
	double n, rem, sum;
	int i;

	if (x < -700)
		return 0;
	if (x > 700)
		x = 700;
	n = floor(x * LOG2E + 0.5);
	rem = x - n * LN2;
	sum = inv_fact[13];
	for (i = 12; i >= 0; i--)
		sum = sum * rem + inv_fact[i];
	return ldexp(1 + rem + rem * rem * sum, (int)n);
}

/*
 * log(m 2^e) = e log 2 + 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.172:
 * the series in s^2 to the 23rd power is exact to double precision.
 */
double
det_log(double x)
{
	static const double inv_odd[] = {
		1.0 / 3, 1.0 / 5, 1.0 / 7, 1.0 / 9, 1.0 / 11, 1.0 / 13,
		1.0 / 15, 1.0 / 17, 1.0 / 19, 1.0 / 21, 1.0 / 23
	};
	double m, s, s2, sum;
	int e, k;

	if (x <= 0)
		return -HUGE_VAL;
	m = frexp(x, &e);
	if (m < 0.70710678118654752) {
		m *= 2;
		e--;
	}
	s = (m - 1) / (m + 1);
	s2 = s * s;
	sum = inv_odd[10];
	for (k = 9; k >= 0; k--)
		sum = sum * s2 + inv_odd[k];
	return 2 * (s + s * s2 * sum) + e * LN2;
}

double
det_cos(double x)
{
	double x2, term, sum;
	int i;

	x = x - 2 * PI * floor(x / (2 * PI) + 0.5);
	x2 = x * x;
	term = 1;
	sum = 1;
	for (i = 1; i < 14; i++) {
		term *= -x2 / ((2 * i - 1) * (2 * i));
		sum += term;
	}
	return sum;
}

int64_t
round_ms(double x)
{
	return (int64_t)floor(x + 0.5);
}
