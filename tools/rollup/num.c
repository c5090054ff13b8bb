/*
 * Numbers: exact decimals (m / 10^scale) where the text allows, doubles
 * otherwise, and their shortest exact text.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollup.h"

const int64_t pow10_i64[19] = {
	INT64_C(1), INT64_C(10), INT64_C(100), INT64_C(1000),
	INT64_C(10000), INT64_C(100000), INT64_C(1000000),
	INT64_C(10000000), INT64_C(100000000), INT64_C(1000000000),
	INT64_C(10000000000), INT64_C(100000000000),
	INT64_C(1000000000000), INT64_C(10000000000000),
	INT64_C(100000000000000), INT64_C(1000000000000000),
	INT64_C(10000000000000000), INT64_C(100000000000000000),
	INT64_C(1000000000000000000)
};

#define TWO53 INT64_C(9007199254740992)

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * A JSON number (RFC 8259 syntax) as an exact decimal when it has at most
 * 18 significant digits and at most MAX_SCALE fraction digits, else as a
 * correctly rounded double.  -1 when s is not a number.
 */
int
num_parse(const char *s, size_t n, struct val *v)
{
	const char *p = s, *end = s + n;
	uint64_t mant = 0;
	int ndig = 0, lost = 0, neg = 0, exp10 = 0, e = 0, eneg = 0, edig = 0;
	char tmp[400];
	char *endp;

	if (p < end && *p == '-') {
		neg = 1;
		p++;
	}
	if (p == end || !is_digit(*p))
		return -1;
	if (*p == '0') {
		p++;
		if (p < end && is_digit(*p))
			return -1;
	} else {
		for (; p < end && is_digit(*p); p++) {
			if (ndig < 18) {
				mant = mant * 10 + (uint64_t)(*p - '0');
				if (mant != 0)
					ndig++;
			} else {
				exp10++;
				lost |= *p != '0';
			}
		}
	}
	if (p < end && *p == '.') {
		p++;
		if (p == end || !is_digit(*p))
			return -1;
		for (; p < end && is_digit(*p); p++) {
			if (ndig < 18) {
				mant = mant * 10 + (uint64_t)(*p - '0');
				if (mant != 0)
					ndig++;
				exp10--;
			} else {
				lost |= *p != '0';
			}
		}
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			eneg = *p++ == '-';
		if (p == end || !is_digit(*p))
			return -1;
		for (; p < end && is_digit(*p); p++) {
			if (e < 100000)
				e = e * 10 + (*p - '0');
			edig++;
		}
	}
	if (p != end)
		return -1;
	memset(v, 0, sizeof(*v));
	v->kind = VK_NUM;
	exp10 += eneg ? -e : e;
	if (!lost && mant == 0) {
		v->exact = 1;
		v->m = 0;
		v->scale = 0;
		v->d = 0.0;
		return 0;
	}
	if (!lost) {
		/* Trailing zeros of the mantissa shift into the exponent. */
		while (exp10 < 0 && mant % 10 == 0) {
			mant /= 10;
			exp10++;
		}
		if (exp10 >= 0 && exp10 <= 18 &&
		    mant <= (uint64_t)INT64_MAX / (uint64_t)pow10_i64[exp10]) {
			v->exact = 1;
			v->m = (int64_t)(mant * (uint64_t)pow10_i64[exp10]);
			v->scale = 0;
		} else if (exp10 < 0 && -exp10 <= MAX_SCALE &&
		    mant <= (uint64_t)INT64_MAX) {
			v->exact = 1;
			v->m = (int64_t)mant;
			v->scale = -exp10;
		}
		if (v->exact) {
			if (neg)
				v->m = -v->m;
			if (v->m > -TWO53 && v->m < TWO53) {
				v->d = (double)v->m / (double)pow10_i64[v->scale];
				return 0;
			}
		}
	}
	if (n >= sizeof(tmp)) {
		v->exact = 0;
		return -1;
	}
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	errno = 0;
	v->d = strtod(tmp, &endp);
	if (!isfinite(v->d)) {
		v->exact = 0;
		return -1;
	}
	return 0;
}

/* Integral doubles of at most 2^53 stay exact. */
void
num_from_double(double d, struct val *v)
{
	memset(v, 0, sizeof(*v));
	if (!isfinite(d)) {
		v->kind = VK_NULL;
		return;
	}
	v->kind = VK_NUM;
	v->d = d;
	if (d == floor(d) && d > -9007199254740992.0 &&
	    d < 9007199254740992.0) {
		v->exact = 1;
		v->m = (int64_t)d;
		v->scale = 0;
		v->d = (double)v->m;
	}
}

/* Seconds from microseconds, exactly. */
void
num_from_usec(int64_t usec, struct val *v)
{
	memset(v, 0, sizeof(*v));
	v->kind = VK_NUM;
	v->exact = 1;
	v->m = usec;
	v->scale = 6;
	while (v->scale > 0 && v->m % 10 == 0) {
		v->m /= 10;
		v->scale--;
	}
	v->d = (double)v->m / (double)pow10_i64[v->scale];
}

/* -1, 0, 1: exactly when both are exact, else by the doubles. */
int
val_cmp_num(const struct val *a, const struct val *b)
{
	if (a->exact && b->exact) {
		i128 x = (i128)a->m * pow10_i64[MAX_SCALE - a->scale];
		i128 y = (i128)b->m * pow10_i64[MAX_SCALE - b->scale];

		return x < y ? -1 : x > y;
	}
	return a->d < b->d ? -1 : a->d > b->d;
}

/*
 * The shortest digits that read back as d, written as JavaScript and jq
 * write numbers: plain decimal from 1e-7 up to 1e21, exponent outside.
 */
void
fmt_double(char *buf, size_t len, double d)
{
	char e[40], digits[24], out[64];
	size_t nd = 0, o = 0;
	int prec, exp, i;
	char *p;

	if (d == 0 || !isfinite(d)) {
		snprintf(buf, len, d == 0 ? "0" : "null");
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec - 1, d);
		if (strtod(e, NULL) == d)
			break;
	}
	p = strchr(e, 'e');
	exp = atoi(p + 1);
	if (exp < -7 || exp >= 21) {
		snprintf(buf, len, "%.*g", prec, d);
		return;
	}
	for (i = 0; e + i < p; i++)
		if (e[i] >= '0' && e[i] <= '9')
			digits[nd++] = e[i];
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	if (d < 0)
		out[o++] = '-';
	if (exp < 0) {
		out[o++] = '0';
		out[o++] = '.';
		for (i = -1; i > exp; i--)
			out[o++] = '0';
		memcpy(out + o, digits, nd);
		o += nd;
	} else {
		for (i = 0; i <= exp || (size_t)i < nd; i++) {
			if (i == exp + 1)
				out[o++] = '.';
			out[o++] = (size_t)i < nd ? digits[i] : '0';
		}
	}
	out[o] = '\0';
	snprintf(buf, len, "%s", out);
}

void
fmt_dec(char *buf, size_t len, int64_t m, int scale)
{
	fmt_i128(buf, len, (i128)m, scale);
}

/* v / 10^scale in plain decimal notation. */
void
fmt_i128(char *buf, size_t len, i128 v, int scale)
{
	char digits[64];
	size_t nd = 0, i, o = 0;
	int neg = v < 0;
	unsigned __int128 u = neg ? -(unsigned __int128)v :
	    (unsigned __int128)v;

	do {
		digits[nd++] = (char)('0' + (int)(u % 10));
		u /= 10;
	} while (u != 0);
	while (nd <= (size_t)scale)
		digits[nd++] = '0';
	if (len == 0)
		return;
	if (neg && o + 1 < len)
		buf[o++] = '-';
	for (i = nd; i > 0 && o + 1 < len; i--) {
		buf[o++] = digits[i - 1];
		if (i - 1 == (size_t)scale && scale > 0 && o + 1 < len)
			buf[o++] = '.';
	}
	buf[o] = '\0';
}
