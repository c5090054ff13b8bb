/*
 * Option values: integers, decimals, durations, sizes and ratios.
 *
 * Integers are scanned by hand rather than with strtoull/strtoll, which
 * skip blanks, accept a minus sign on unsigned values (and wrap it), and
 * read hex or octal depending on the base.
 */
#include <ctype.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

static int fail(const char **why, const char *reason);
static size_t scan_digits(const char **sp, uint64_t *v, int *big);
static size_t decimal_len(const char *s);
static int read_double(const char *s, size_t n, double *d);
static int64_t unit_usec(const char *u, size_t n);
static uint64_t size_multiplier(const char *u);

/* Room for "out of range (-9223372036854775808..9223372036854775807)". */
static _Thread_local char why_buf[96];

static int
fail(const char **why, const char *reason)
{
	if (why != NULL)
		*why = reason;
	return -1;
}

/*
 * Reads the decimal digits at *sp and moves past them; returns how many.
 * A value beyond UINT64_MAX sets *big; its digits are still consumed so
 * that "99999999999999999999x" is reported as garbage, not as a range.
 */
static size_t
scan_digits(const char **sp, uint64_t *v, int *big)
{
	const char *start = *sp, *s = *sp;
	uint64_t acc = 0;
	unsigned d;

	*big = 0;
	for (; isdigit((unsigned char)*s); s++) {
		d = (unsigned)(*s - '0');
		if (acc > (UINT64_MAX - d) / 10)
			*big = 1;
		else
			acc = acc * 10 + d;
	}
	*v = acc;
	*sp = s;
	return (size_t)(s - start);
}

int
cdr_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out,
    const char **why)
{
	const char *p = s;
	uint64_t v;
	int big, neg;

	if (*s == '\0')
		return fail(why, "empty");
	neg = *p == '-';
	if (neg)
		p++;
	if (scan_digits(&p, &v, &big) == 0 || *p != '\0')
		return fail(why, "not a number");
	if (neg)
		return fail(why, "must not be negative");
	if (big || v < min || v > max) {
		snprintf(why_buf, sizeof(why_buf),
		    "out of range (%" PRIu64 "..%" PRIu64 ")", min, max);
		return fail(why, why_buf);
	}
	*out = v;
	return 0;
}

int
cdr_parse_int(const char *s, int64_t min, int64_t max, int64_t *out,
    const char **why)
{
	const char *p = s;
	uint64_t mag;
	int64_t v;
	int big, neg;

	if (*s == '\0')
		return fail(why, "empty");
	neg = *p == '-';
	if (*p == '-' || *p == '+')
		p++;
	if (scan_digits(&p, &mag, &big) == 0 || *p != '\0')
		return fail(why, "not a number");
	if (big || mag > (uint64_t)INT64_MAX + neg)
		goto range;
	/* Written so that 2^63 becomes INT64_MIN without overflow. */
	v = neg ? -(int64_t)(mag - 1) - 1 : (int64_t)mag;
	if (v < min || v > max)
		goto range;
	*out = v;
	return 0;
range:
	snprintf(why_buf, sizeof(why_buf),
	    "out of range (%" PRId64 "..%" PRId64 ")", min, max);
	return fail(why, why_buf);
}

/*
 * Length of the decimal number at the start of s:
 * [+-](digits[.digits*] | .digits)[(e|E)[+-]digits], or 0 if there is none.
 */
static size_t
decimal_len(const char *s)
{
	const char *p = s, *e;
	size_t mant = 0;

	if (*p == '+' || *p == '-')
		p++;
	for (; isdigit((unsigned char)*p); p++)
		mant++;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			mant++;
	if (mant == 0)
		return 0;
	if (*p == 'e' || *p == 'E') {
		e = p + 1;
		if (*e == '+' || *e == '-')
			e++;
		if (isdigit((unsigned char)*e)) {
			while (isdigit((unsigned char)*e))
				e++;
			p = e;
		}
	}
	return (size_t)(p - s);
}

/*
 * Converts s[0..n), already known to be a decimal number, in the C locale
 * whatever the program's: strtod would otherwise stop at the '.' where the
 * decimal point is ','.  Returns 0, 1 if the value is beyond a double, or
 * -1 if there is no memory for a locale object.
 */
static int
read_double(const char *s, size_t n, double *d)
{
	locale_t c;
	char *end;

	c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	if (c == (locale_t)0)
		return -1;
	*d = strtod_l(s, &end, c);
	freelocale(c);
	/* Underflow (ERANGE, a tiny result) is taken as the nearest value. */
	if (end != s + n || isinf(*d))
		return 1;
	return 0;
}

int
cdr_parse_double(const char *s, double min, double max, double *out,
    const char **why)
{
	size_t n;
	double d;
	int r;

	if (*s == '\0')
		return fail(why, "empty");
	n = decimal_len(s);
	if (n == 0 || s[n] != '\0')
		return fail(why, "not a number");
	if ((r = read_double(s, n, &d)) < 0)
		return fail(why, "out of memory");
	if (r > 0 || !(d >= min && d <= max)) {
		snprintf(why_buf, sizeof(why_buf), "out of range (%g..%g)",
		    min, max);
		return fail(why, why_buf);
	}
	*out = d;
	return 0;
}

/* Microseconds in one unit named u[0..n), or 0 for an unknown unit. */
static int64_t
unit_usec(const char *u, size_t n)
{
	static const struct {
		const char	*name;
		int64_t		 usec;
	} units[] = {
		{ "ms", INT64_C(1000) },
		{ "s", INT64_C(1000000) },
		{ "m", INT64_C(60000000) },
		{ "h", INT64_C(3600000000) },
		{ "d", INT64_C(86400000000) },
		{ "w", INT64_C(604800000000) }
	};
	size_t i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i].name) == n &&
		    memcmp(units[i].name, u, n) == 0)
			return units[i].usec;
	return 0;
}

int
cdr_parse_duration(const char *s, int64_t *usec, const char **why)
{
	const char *p = s, *num, *u;
	int64_t total = 0, unit;
	uint64_t v;
	int big;

	if (*s == '\0')
		return fail(why, "empty");
	if (*s == '-')
		return fail(why, "must not be negative");
	while (*p != '\0') {
		num = p;
		if (scan_digits(&p, &v, &big) == 0)
			return fail(why, "not a duration");
		if (*p == '.')
			return fail(why, "no fractions (use a smaller unit)");
		u = p;
		while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
			p++;
		if (p == u) {
			if (*p != '\0')
				return fail(why, "not a duration");
			/* A bare number is seconds, but "1h30" is unclear. */
			if (num != s)
				return fail(why, "missing unit");
			unit = unit_usec("s", 1);
		} else if ((unit = unit_usec(u, (size_t)(p - u))) == 0)
			return fail(why,
			    "unknown unit (use ms, s, m, h, d or w)");
		if (big || v > (uint64_t)(INT64_MAX / unit) ||
		    (int64_t)v * unit > INT64_MAX - total)
			return fail(why, "out of range (at most 106751991d)");
		total += (int64_t)v * unit;
	}
	*usec = total;
	return 0;
}

/*
 * The multiplier named by a size suffix ("" is 1), or 0 if u is not one.
 * As in GNU coreutils, a bare letter or letter + "iB" is a power of 1024
 * and letter + "B" a power of 1000.
 */
static uint64_t
size_multiplier(const char *u)
{
	static const char upper[] = "KMGTPE", lower[] = "kmgtpe";
	const char *l;
	uint64_t base, mult = 1;
	int i, power;

	if (*u == '\0' || strcmp(u, "B") == 0)
		return 1;
	if ((l = strchr(upper, *u)) != NULL)
		power = (int)(l - upper) + 1;
	else if ((l = strchr(lower, *u)) != NULL)
		power = (int)(l - lower) + 1;
	else
		return 0;
	if (u[1] == '\0' || strcmp(u + 1, "iB") == 0)
		base = 1024;
	else if (strcmp(u + 1, "B") == 0)
		base = 1000;
	else
		return 0;
	for (i = 0; i < power; i++)
		mult *= base;
	return mult;
}

int
cdr_parse_size(const char *s, uint64_t *bytes, const char **why)
{
	const char *p = s, *frac = NULL;
	size_t nfrac = 0, i;
	uint64_t v, mult, part = 0;
	int big;

	if (*s == '\0')
		return fail(why, "empty");
	if (*s == '-')
		return fail(why, "must not be negative");
	if (scan_digits(&p, &v, &big) == 0)
		return fail(why, "not a size");
	if (*p == '.') {
		frac = ++p;
		while (isdigit((unsigned char)*p))
			p++;
		nfrac = (size_t)(p - frac);
		if (nfrac == 0)
			return fail(why, "not a size");
	}
	if ((mult = size_multiplier(p)) == 0)
		return fail(why,
		    "unknown unit (use K, M, G, T, P, E, KiB or KB)");
	if (frac != NULL && mult == 1)
		return fail(why, "not a whole number of bytes");
	/*
	 * floor(0.frac * mult), exactly, from the last digit up:
	 * floor((d + floor(x)) / 10) == floor((d + x) / 10).  No overflow:
	 * mult <= 2^60, so 9 * mult + (acc < mult) < 2^64.
	 */
	for (i = nfrac; i > 0; i--)
		part = ((uint64_t)(frac[i - 1] - '0') * mult + part) / 10;
	if (big || v > (UINT64_MAX - part) / mult)
		return fail(why,
		    "out of range (at most 18446744073709551615 bytes)");
	*bytes = v * mult + part;
	return 0;
}

int
cdr_parse_ratio(const char *s, double *out, const char **why)
{
	size_t n;
	double d;
	int r;

	if (*s == '\0')
		return fail(why, "empty");
	n = decimal_len(s);
	if (n == 0 || (s[n] != '\0' && strcmp(s + n, "%") != 0))
		return fail(why, "not a number");
	if ((r = read_double(s, n, &d)) < 0)
		return fail(why, "out of memory");
	if (s[n] == '%') {
		if (r > 0 || !(d >= 0 && d <= 100))
			return fail(why, "out of range (0%..100%)");
		d /= 100;
	} else if (r > 0 || !(d >= 0 && d <= 1))
		return fail(why, "out of range (0..1)");
	*out = d;
	return 0;
}
