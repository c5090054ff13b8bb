/*
 * Cells: a value, checked against its column's type, written the way the
 * dialect's loader reads it back exactly.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "msg.h"
#include "tocsv.h"

/*
 * Bytes of a number written without an exponent beyond which it is
 * refused (numeric columns: PostgreSQL takes up to 131072 digits before
 * the point, but nobody means 1e400 in a CDR).
 */
#define MAX_PLAIN_NUMBER 1100

static const struct dialect dialects[] = {
	/* name        null    eol     yes     no    bom  xl  dot  ch  nul */
	{ "postgres", "", "\n", "true", "false", 0, 0, 1, 0, 1 },
	{ "redshift", "\\N", "\n", "true", "false", 0, 0, 0, 0, 1 },
	{ "clickhouse", "\\N", "\n", "true", "false", 0, 0, 0, 1, 0 },
	{ "excel", "", "\r\n", "TRUE", "FALSE", 1, 1, 0, 0, 1 },
	{ "rfc4180", "", "\r\n", "true", "false", 0, 0, 0, 0, 0 },
};

enum kind {
	K_NULL,		/* null or missing */
	K_FALSE,
	K_TRUE,
	K_NUMBER,	/* JSON number text */
	K_STRING,	/* unescaped bytes */
	K_JSON		/* an object or array: its JSON text */
};

struct scalar {
	enum kind	 kind;
	const char	*p;
	size_t		 n;
	int		 plain;	/* a string known free of '"', CR, LF, NUL */
};

/*
 * A JSON number taken apart: sign, integer and fraction digits (the
 * mantissa is the two run together), exponent.
 */
struct decimal {
	int		 neg;
	const char	*ip;	/* integer part */
	size_t		 in;
	const char	*fp;	/* fraction part */
	size_t		 fn;
	long		 exp;
};

/* The conversion buffer (numbers, JSON text); one thread uses cells. */
static struct cdr_buf conv_buf;

static void put_raw(struct cdr_buf *out, const char *s, size_t n);
static void put_null(const struct fmt *f, struct cdr_buf *out);
static void put_word(const struct fmt *f, const char *s, size_t n,
    struct cdr_buf *out);
static int has_dot_line(const char *s, size_t n);
static int put_string(const struct fmt *f, const char *s, size_t n, int plain,
    struct cdr_buf *out, const char **check, char *why, size_t whylen);
static int decimal_parse(const char *s, size_t n, struct decimal *d);
static char mant_digit(const struct decimal *d, long i);
static int decimal_plain(const struct decimal *d, struct cdr_buf *out,
    int int_only);
static int decimal_integral(const struct decimal *d);
static void clip(const char *s, size_t n, char *buf, size_t len);
static int type_error(const struct column *c, const struct scalar *sc,
    const char **check, char *why, size_t whylen);
static int write_number(const struct fmt *f, const struct column *c,
    const struct scalar *sc, struct cdr_buf *out, struct cdr_buf *conv,
    const char **check, char *why, size_t whylen);
static int bool_word(const char *s, size_t n);
static int looks_like_time(const char *s, size_t n);
static int two(const char *s);
static int fast_utc_time(const struct fmt *f, const char *s, size_t n,
    struct cdr_buf *out);
static void put_time(const struct fmt *f, enum ctype type, cdr_time_t t,
    struct cdr_buf *out);
static int out_of_years(const struct fmt *f, cdr_time_t t,
    const struct scalar *sc, const char **check, char *why, size_t whylen);
static int write_time(const struct fmt *f, const struct column *c,
    const struct scalar *sc, struct cdr_buf *out, const char **check,
    char *why, size_t whylen);
static void json_string(const char *s, size_t n, struct cdr_buf *out);
static int convert(const struct fmt *f, const struct column *c,
    const struct scalar *sc, struct cdr_buf *out, struct cdr_buf *conv,
    const char **check, char *why, size_t whylen);

const struct dialect *
dialect_find(const char *name)
{
	size_t i;

	if (strcmp(name, "postgresql") == 0 || strcmp(name, "pg") == 0)
		name = "postgres";
	for (i = 0; i < sizeof(dialects) / sizeof(dialects[0]); i++)
		if (strcmp(dialects[i].name, name) == 0)
			return &dialects[i];
	return NULL;
}

const char *
dialect_names(void)
{
	return "postgres, redshift, clickhouse, excel, rfc4180";
}

void
cell_free(void)
{
	cdr_buf_free(&conv_buf);
}

void
fmt_init(struct fmt *f)
{
	memset(f->special, 0, sizeof(f->special));
	f->special[(unsigned char)f->delim] = 1;
	f->special['"'] = 1;
	f->special['\r'] = 1;
	f->special['\n'] = 1;
	f->nulllen = strlen(f->null);
	f->yeslen = strlen(f->yes);
	f->nolen = strlen(f->no);
	f->eollen = strlen(f->eol);
}

/* ---- writing ---- */

/* Room for n more bytes and the NUL, without a call when there is. */
static inline char *
room(struct cdr_buf *b, size_t n)
{
	if (b->cap - b->len > n)
		return b->p + b->len;
	return cdr_buf_reserve(b, n);
}

static void
put_raw(struct cdr_buf *out, const char *s, size_t n)
{
	char *d = room(out, n);

	memcpy(d, s, n);
	out->len += n;
	out->p[out->len] = '\0';
}

static void
put_null(const struct fmt *f, struct cdr_buf *out)
{
	put_raw(out, f->null, f->nulllen);
}

/* A value that never needs quotes (numbers, booleans, times). */
static void
put_word(const struct fmt *f, const char *s, size_t n, struct cdr_buf *out)
{
	char *d;

	if (!f->quote_all) {
		put_raw(out, s, n);
		return;
	}
	d = room(out, n + 2);
	d[0] = '"';
	memcpy(d + 1, s, n);
	d[n + 1] = '"';
	out->len += n + 2;
	out->p[out->len] = '\0';
}

/*
 * PostgreSQL (up to 17 at least) ends COPY at a line that is "\." even
 * inside a quoted value, so a value holding one cannot be loaded.
 */
static int
has_dot_line(const char *s, size_t n)
{
	const char *p = s, *end = s + n, *q;

	while ((q = memchr(p, '\\', (size_t)(end - p))) != NULL) {
		if (q > s && (q[-1] == '\n' || q[-1] == '\r') &&
		    q + 2 < end && q[1] == '.' && (q[2] == '\n' || q[2] == '\r'))
			return 1;
		p = q + 1;
	}
	return 0;
}

static int
put_string(const struct fmt *f, const char *s, size_t n, int plain,
    struct cdr_buf *out, const char **check, char *why, size_t whylen)
{
	const unsigned char *u = (const unsigned char *)s;
	const char *q, *end = s + n;
	int need = f->quote_all || n == 0, prefix = 0;
	size_t i;
	char *d;

	if (!plain && f->d->no_nul && memchr(s, '\0', n) != NULL) {
		*check = "csv";
		snprintf(why, whylen, "U+0000 (NUL) cannot be loaded by %s",
		    f->d->name);
		return -1;
	}
	if (n > 0 && f->excel_safe && (s[0] == '=' || s[0] == '+' ||
	    s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r'))
		prefix = 1;
	if (!need) {
		if (plain && n > 32) {
			need = memchr(s, f->delim, n) != NULL;
		} else if (plain) {
			for (i = 0; i < n; i++)
				need |= s[i] == f->delim;
		} else {
			for (i = 0; i < n; i++)
				if (f->special[u[i]]) {
					need = 1;
					break;
				}
		}
	}
	if (!need && f->nulllen > 0 && n == f->nulllen &&
	    memcmp(s, f->null, n) == 0)
		need = 1;
	if (!need && f->d->pg_dot && n == 2 && s[0] == '\\' && s[1] == '.')
		need = 1;
	if (!need && f->d->ch_edges && (prefix || s[0] == '\'' ||
	    s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		need = 1;
	if (!need) {
		d = room(out, n + 1);
		if (prefix)
			*d++ = '\'';
		memcpy(d, s, n);
		out->len += n + (size_t)prefix;
		out->p[out->len] = '\0';
		return 0;
	}
	if (!plain && f->d->pg_dot && has_dot_line(s, n)) {
		*check = "csv";
		snprintf(why, whylen, "a line \\. inside the value would end "
		    "a PostgreSQL COPY");
		return -1;
	}
	/* Worst case: every byte a quote, doubled, plus quotes and prefix. */
	d = room(out, 2 * n + 3);
	*d++ = '"';
	if (prefix)
		*d++ = '\'';
	while (s < end) {
		q = plain ? NULL : memchr(s, '"', (size_t)(end - s));
		if (q == NULL) {
			memcpy(d, s, (size_t)(end - s));
			d += end - s;
			break;
		}
		memcpy(d, s, (size_t)(q - s) + 1);
		d += q - s + 1;
		*d++ = '"';
		s = q + 1;
	}
	*d++ = '"';
	out->len = (size_t)(d - out->p);
	out->p[out->len] = '\0';
	return 0;
}

void
cell_write_text(const struct fmt *f, const char *s, size_t n,
    struct cdr_buf *out)
{
	const char *check;
	char why[8];

	/* A header name holds no NUL (refused when parsed). */
	put_string(f, s, n, 0, out, &check, why, sizeof(why));
}

/* ---- numbers ---- */

/* s[0..n) into d: 0, -1 if not a JSON number, -2 if the exponent is absurd. */
static int
decimal_parse(const char *s, size_t n, struct decimal *d)
{
	const char *p = s, *end = s + n;
	long e = 0;
	int eneg = 0;

	memset(d, 0, sizeof(*d));
	if (p < end && *p == '-') {
		d->neg = 1;
		p++;
	}
	d->ip = p;
	if (p < end && *p == '0')
		p++;
	else if (p < end && *p >= '1' && *p <= '9')
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	else
		return -1;
	d->in = (size_t)(p - d->ip);
	if (p < end && *p == '.') {
		d->fp = ++p;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
		d->fn = (size_t)(p - d->fp);
		if (d->fn == 0)
			return -1;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			eneg = *p++ == '-';
		if (p == end)
			return -1;
		for (; p < end && *p >= '0' && *p <= '9'; p++) {
			if (e > 100000000)
				return -2;
			e = e * 10 + (*p - '0');
		}
	}
	if (p != end)
		return -1;
	d->exp = eneg ? -e : e;
	return 0;
}

/* The digit at position i of the mantissa (integer then fraction). */
static char
mant_digit(const struct decimal *d, long i)
{
	if (i < 0 || (size_t)i >= d->in + d->fn)
		return '0';
	return (size_t)i < d->in ? d->ip[i] : d->fp[(size_t)i - d->in];
}

/*
 * The number without an exponent into out (appended): the same decimal
 * value, digit for digit.  -1 not a number, -2 too long.
 */
static int
decimal_plain(const struct decimal *d, struct cdr_buf *out, int int_only)
{
	long nd = (long)(d->in + d->fn), point = (long)d->in + d->exp, i;
	long first, last;
	char *w;

	if (point > MAX_PLAIN_NUMBER || point < -MAX_PLAIN_NUMBER)
		return -2;
	/* Integer digits: from the first nonzero one up to the point. */
	for (first = 0; first < point && mant_digit(d, first) == '0'; first++)
		continue;
	last = nd > point ? nd : point;	/* one past the last digit */
	w = cdr_buf_reserve(out, (size_t)(last - (point < 0 ? point : 0)) +
	    4);
	if (d->neg)
		*w++ = '-';
	if (first >= point)
		*w++ = '0';
	for (i = first; i < point; i++)
		*w++ = mant_digit(d, i);
	if (!int_only && nd > point) {
		*w++ = '.';
		for (i = point; i < nd; i++)
			*w++ = mant_digit(d, i);
	}
	out->len = (size_t)(w - out->p);
	out->p[out->len] = '\0';
	return 0;
}

/* Whether the fraction (digits at point and after) is all zeros. */
static int
decimal_integral(const struct decimal *d)
{
	long nd = (long)(d->in + d->fn), i;

	for (i = (long)d->in + d->exp; i < nd; i++)
		if (mant_digit(d, i) != '0')
			return 0;
	return 1;
}

static void
clip(const char *s, size_t n, char *buf, size_t len)
{
	size_t k = n < 40 ? n : 40;

	snprintf(buf, len, "\"%.*s%s\"", (int)k, s, k < n ? "..." : "");
}

static int
type_error(const struct column *c, const struct scalar *sc,
    const char **check, char *why, size_t whylen)
{
	static const char *const names[] = {
		"null", "false", "true", "number", "string", "JSON"
	};
	char v[64];

	*check = "type";
	if (sc->kind == K_STRING || sc->kind == K_NUMBER) {
		clip(sc->p, sc->n, v, sizeof(v));
		snprintf(why, whylen, "not %s %s: %s %s",
		    c->type == CT_INTEGER ? "an" : "a", ctype_name(c->type),
		    names[sc->kind], v);
	} else {
		snprintf(why, whylen, "not %s %s: %s",
		    c->type == CT_INTEGER ? "an" : "a", ctype_name(c->type),
		    sc->kind == K_JSON ? (sc->p[0] == '{' ? "an object" :
		    "an array") : names[sc->kind]);
	}
	return -1;
}

static int
write_number(const struct fmt *f, const struct column *c,
    const struct scalar *sc, struct cdr_buf *out, struct cdr_buf *conv,
    const char **check, char *why, size_t whylen)
{
	struct decimal d;
	int rc, int_only = c->type == CT_INTEGER;

	rc = decimal_parse(sc->p, sc->n, &d);
	if (rc == -1)
		return type_error(c, sc, check, why, whylen);
	if (int_only && (rc == -2 || !decimal_integral(&d)))
		return type_error(c, sc, check, why, whylen);
	if (c->type == CT_AUTO && sc->kind == K_NUMBER &&
	    d.exp == 0 && rc == 0 && memchr(sc->p, 'e', sc->n) == NULL &&
	    memchr(sc->p, 'E', sc->n) == NULL) {
		put_word(f, sc->p, sc->n, out);
		return 0;
	}
	cdr_buf_reset(conv);
	if (rc == -2 || decimal_plain(&d, conv, int_only) != 0) {
		if (c->type == CT_AUTO) {
			put_word(f, sc->p, sc->n, out);
			return 0;
		}
		*check = "range";
		snprintf(why, whylen, "number too large to write without "
		    "an exponent");
		return -1;
	}
	if (int_only) {
		/* int64, as the warehouses' BIGINT. */
		const char *digits = conv->p + (conv->p[0] == '-');
		size_t nd = conv->len - (size_t)(conv->p[0] == '-');

		if (nd > 19 || (nd == 19 && strcmp(digits, conv->p[0] == '-' ?
		    "9223372036854775808" : "9223372036854775807") > 0)) {
			*check = "range";
			snprintf(why, whylen, "integer out of the 64-bit range");
			return -1;
		}
		if (strcmp(conv->p, "-0") == 0) {
			put_word(f, "0", 1, out);
			return 0;
		}
	}
	put_word(f, conv->p, conv->len, out);
	return 0;
}

/* ---- booleans ---- */

static int
bool_word(const char *s, size_t n)
{
	static const char *const yes[] = { "true", "t", "yes", "y", "on", "1" };
	static const char *const no[] = { "false", "f", "no", "n", "off", "0" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strlen(yes[i]) == n && strncasecmp(yes[i], s, n) == 0)
			return 1;
		if (strlen(no[i]) == n && strncasecmp(no[i], s, n) == 0)
			return 0;
	}
	return -1;
}

/* ---- times ---- */

/* An ISO-8601 date and time with Z or an offset: "....-..-..T..:..:..Z". */
static int
looks_like_time(const char *s, size_t n)
{
	char z;

	if (n < 20 || n > 40 || s[4] != '-' || s[7] != '-' ||
	    (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':')
		return 0;
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return 0;
	z = s[n - 1];
	if (z == 'Z' || z == 'z')
		return 1;
	/* +HH:MM, +HHMM or +HH after the seconds */
	return (n >= 22 && (s[n - 3] == '+' || s[n - 3] == '-')) ||
	    (n >= 24 && (s[n - 5] == '+' || s[n - 5] == '-')) ||
	    (n >= 25 && s[n - 3] == ':' &&
	    (s[n - 6] == '+' || s[n - 6] == '-'));
}

static int
two(const char *s)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return -1;
	return (s[0] - '0') * 10 + (s[1] - '0');
}

/*
 * The common case, "YYYY-MM-DDTHH:MM:SS[.f]Z" written in UTC, without
 * going through an instant: the same text cdr_time_parse and
 * cdr_time_format_sql give, at a fraction of the cost.  0 done, -1 not
 * this case (the general path decides).
 */
static int
fast_utc_time(const struct fmt *f, const char *s, size_t n,
    struct cdr_buf *out)
{
	static const int mdays[] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	int y1, y2, mon, day, hh, mm, ss, usec = 0, frac, dim, div, i;
	size_t k, nd;
	char buf[40];

	if (!f->tz_utc || n < 20 || n > 30 || s[n - 1] != 'Z' ||
	    s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') ||
	    s[13] != ':' || s[16] != ':')
		return -1;
	if ((y1 = two(s)) < 0 || (y2 = two(s + 2)) < 0 ||
	    (mon = two(s + 5)) < 1 || mon > 12 || (day = two(s + 8)) < 1 ||
	    (hh = two(s + 11)) < 0 || hh > 23 || (mm = two(s + 14)) < 0 ||
	    mm > 59 || (ss = two(s + 17)) < 0 || ss > 59)
		return -1;
	dim = mdays[mon - 1];
	if (mon == 2) {
		int y = y1 * 100 + y2;

		if (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
			dim = 29;
	}
	if (day > dim)
		return -1;
	k = 19;
	if (k < n - 1) {
		if (s[k] != '.')
			return -1;
		nd = n - 1 - (k + 1);
		if (nd < 1 || nd > 9)
			return -1;
		for (i = 0; i < (int)nd; i++) {
			char c = s[k + 1 + (size_t)i];

			if (c < '0' || c > '9')
				return -1;
			if (i < 6)
				usec = usec * 10 + (c - '0');
		}
		for (i = (int)nd; i < 6; i++)
			usec *= 10;
	}
	memcpy(buf, s, 19);
	buf[10] = ' ';
	k = 19;
	frac = f->time_frac;
	if (frac < 0)
		frac = usec == 0 ? 0 : usec % 1000 == 0 ? 3 : 6;
	if (frac > 0) {
		for (div = 1, i = frac; i < 6; i++)
			div *= 10;
		buf[k++] = '.';
		usec /= div;
		for (i = frac; i > 0; i--) {
			buf[k + (size_t)i - 1] = (char)('0' + usec % 10);
			usec /= 10;
		}
		k += (size_t)frac;
	}
	put_word(f, buf, k, out);
	return 0;
}

static void
put_time(const struct fmt *f, enum ctype type, cdr_time_t t,
    struct cdr_buf *out)
{
	struct cdr_civil cv;
	char buf[80];
	size_t k;
	int32_t off;

	if (type == CT_DATE) {
		cdr_time_civil(t, cdr_tz_offset(f->tz, t), &cv);
		k = (size_t)snprintf(buf, sizeof(buf), "%04d-%02d-%02d",
		    cv.year, cv.month, cv.day);
		put_word(f, buf, k, out);
		return;
	}
	k = cdr_time_format_sql(buf, sizeof(buf) - 16, t, f->tz, f->time_frac);
	if (type == CT_TIMESTAMPTZ) {
		off = cdr_tz_offset(f->tz, t);
		buf[k++] = off < 0 ? '-' : '+';
		if (off < 0)
			off = -off;
		k += (size_t)snprintf(buf + k, sizeof(buf) - k, "%02d:%02d",
		    (int)(off / 3600), (int)(off / 60 % 60));
		if (off % 60 != 0)
			k += (size_t)snprintf(buf + k, sizeof(buf) - k, ":%02d",
			    (int)(off % 60));
	}
	put_word(f, buf, k, out);
}

/*
 * Whether t, in range in UTC, is not as a local time of --tz (9999-12-31
 * in Asia/Kolkata is year 10000): no loader reads a 5-digit or negative
 * year.
 */
static int
out_of_years(const struct fmt *f, cdr_time_t t, const struct scalar *sc,
    const char **check, char *why, size_t whylen)
{
	struct cdr_civil cv;
	char v[64];

	if (f->tz_utc)
		return 0;
	cdr_time_civil(t, cdr_tz_offset(f->tz, t), &cv);
	if (cv.year >= 0 && cv.year <= 9999)
		return 0;
	*check = "range";
	clip(sc->p, sc->n, v, sizeof(v));
	snprintf(why, whylen, "timestamp %s is out of the years 0000-9999 in "
	    "time zone %s", v, cdr_tz_name(f->tz));
	return 1;
}

static int
write_time(const struct fmt *f, const struct column *c,
    const struct scalar *sc, struct cdr_buf *out, const char **check,
    char *why, size_t whylen)
{
	const char *reason;
	cdr_time_t t;
	char v[64];

	if (sc->kind != K_STRING && sc->kind != K_NUMBER)
		return type_error(c, sc, check, why, whylen);
	if (c->type == CT_TIMESTAMP && sc->kind == K_STRING &&
	    (c->tp_flags & CDR_TP_ISO) &&
	    fast_utc_time(f, sc->p, sc->n, out) == 0)
		return 0;
	if (cdr_time_parse(sc->p, sc->n, c->tp_flags, f->in_tz, &t,
	    &reason) != 0) {
		*check = "type";
		clip(sc->p, sc->n, v, sizeof(v));
		snprintf(why, whylen, "not a timestamp: %s (%s)", v, reason);
		return -1;
	}
	if (out_of_years(f, t, sc, check, why, whylen))
		return -1;
	put_time(f, c->type, t, out);
	return 0;
}

/* ---- JSON text ---- */

static void
json_string(const char *s, size_t n, struct cdr_buf *out)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	char *w = cdr_buf_reserve(out, 6 * n + 2);

	*w++ = '"';
	for (; p < end; p++) {
		if (*p >= 0x20 && *p != '"' && *p != '\\') {
			*w++ = (char)*p;
			continue;
		}
		*w++ = '\\';
		switch (*p) {
		case '"': *w++ = '"'; break;
		case '\\': *w++ = '\\'; break;
		case '\n': *w++ = 'n'; break;
		case '\r': *w++ = 'r'; break;
		case '\t': *w++ = 't'; break;
		case '\b': *w++ = 'b'; break;
		case '\f': *w++ = 'f'; break;
		default:
			*w++ = 'u';
			*w++ = '0';
			*w++ = '0';
			*w++ = hex[*p >> 4];
			*w++ = hex[*p & 15];
			break;
		}
	}
	*w++ = '"';
	out->len = (size_t)(w - out->p);
	out->p[out->len] = '\0';
}

/* ---- the column's type decides ---- */

static int
convert(const struct fmt *f, const struct column *c, const struct scalar *sc,
    struct cdr_buf *out, struct cdr_buf *conv, const char **check,
    char *why, size_t whylen)
{
	cdr_time_t t;
	const char *reason;
	int b;

	if (sc->kind == K_NULL) {
		put_null(f, out);
		return 0;
	}
	switch (c->type) {
	case CT_AUTO:
		switch (sc->kind) {
		case K_TRUE:
			put_word(f, f->yes, f->yeslen, out);
			return 0;
		case K_FALSE:
			put_word(f, f->no, f->nolen, out);
			return 0;
		case K_NUMBER:
			return write_number(f, c, sc, out, conv, check, why,
			    whylen);
		case K_STRING:
			if (f->time_detect && looks_like_time(sc->p, sc->n)) {
				if (fast_utc_time(f, sc->p, sc->n, out) == 0)
					return 0;
				if (cdr_time_parse(sc->p, sc->n, CDR_TP_ISO,
				    f->in_tz, &t, &reason) == 0) {
					if (out_of_years(f, t, sc, check, why,
					    whylen))
						return -1;
					put_time(f, CT_TIMESTAMP, t, out);
					return 0;
				}
			}
			return put_string(f, sc->p, sc->n, sc->plain, out,
			    check, why, whylen);
		default:
			return put_string(f, sc->p, sc->n, 0, out, check, why,
			    whylen);
		}
	case CT_STRING:
		switch (sc->kind) {
		case K_STRING:
			return put_string(f, sc->p, sc->n, sc->plain, out,
			    check, why, whylen);
		case K_NUMBER:
			return put_string(f, sc->p, sc->n, 1, out, check, why,
			    whylen);
		case K_TRUE:
			return put_string(f, "true", 4, 1, out, check, why,
			    whylen);
		case K_FALSE:
			return put_string(f, "false", 5, 1, out, check, why,
			    whylen);
		default:
			return type_error(c, sc, check, why, whylen);
		}
	case CT_INTEGER:
	case CT_NUMBER:
		if (sc->kind != K_NUMBER && sc->kind != K_STRING)
			return type_error(c, sc, check, why, whylen);
		return write_number(f, c, sc, out, conv, check, why, whylen);
	case CT_BOOLEAN:
		if (sc->kind == K_TRUE || sc->kind == K_FALSE)
			b = sc->kind == K_TRUE;
		else if (sc->kind == K_STRING || sc->kind == K_NUMBER)
			b = bool_word(sc->p, sc->n);
		else
			b = -1;
		if (b < 0)
			return type_error(c, sc, check, why, whylen);
		if (b)
			put_word(f, f->yes, f->yeslen, out);
		else
			put_word(f, f->no, f->nolen, out);
		return 0;
	case CT_TIMESTAMP:
	case CT_TIMESTAMPTZ:
	case CT_DATE:
		return write_time(f, c, sc, out, check, why, whylen);
	case CT_JSON:
		if (sc->kind != K_STRING)
			return put_string(f, sc->kind == K_TRUE ? "true" :
			    sc->kind == K_FALSE ? "false" : sc->p,
			    sc->kind == K_TRUE ? 4 : sc->kind == K_FALSE ? 5 :
			    sc->n, 0, out, check, why, whylen);
		cdr_buf_reset(conv);
		json_string(sc->p, sc->n, conv);
		return put_string(f, conv->p, conv->len, 0, out, check, why,
		    whylen);
	}
	*check = "internal";
	snprintf(why, whylen, "unknown column type");
	return -1;
}

int
cell_write(const struct fmt *f, struct column *c, const struct cdr_record *rec,
    struct cdr_buf *out, struct cdr_buf *scratch, const char **check,
    char *why, size_t whylen)
{
	const struct cdr_node *nd;
	struct cdr_value v;
	struct scalar sc;

	sc.plain = 0;
	if (!cdr_record_get_hint(rec, &c->path, &v, &c->hint)) {
		put_null(f, out);
		return 0;
	}
	switch (v.type) {
	case CDR_T_MISSING:
	case CDR_T_NULL:
		put_null(f, out);
		return 1;
	case CDR_T_FALSE:
		sc.kind = K_FALSE;
		break;
	case CDR_T_TRUE:
		sc.kind = K_TRUE;
		break;
	case CDR_T_NUMBER:
		sc.kind = K_NUMBER;
		sc.p = v.p;
		sc.n = v.len;
		break;
	case CDR_T_STRING:
		nd = &rec->nodes[v.node];
		sc.kind = K_STRING;
		/* A JSON string without escapes has no quote, CR, LF or NUL. */
		sc.plain = !(nd->flags & (CDR_N_VAL_ESC | CDR_N_CSV));
		sc.p = cdr_value_str(&v, scratch, &sc.n);
		if (sc.p == NULL) {
			*check = "parse";
			snprintf(why, whylen, "bad string escape");
			return -1;
		}
		break;
	default:
		sc.kind = K_JSON;
		sc.p = v.p;
		sc.n = v.len;
		break;
	}
	return convert(f, c, &sc, out, &conv_buf, check, why, whylen) == 0 ?
	    1 : -1;
}

int
cell_write_jv(const struct fmt *f, const struct column *c, jv v,
    struct cdr_buf *out, struct cdr_buf *scratch, const char **check,
    char *why, size_t whylen)
{
	struct scalar sc;
	char num[64];
	double d;

	sc.plain = 0;
	sc.p = NULL;
	sc.n = 0;
	switch (jv_get_kind(v)) {
	case JV_KIND_NULL:
		sc.kind = K_NULL;
		break;
	case JV_KIND_FALSE:
		sc.kind = K_FALSE;
		break;
	case JV_KIND_TRUE:
		sc.kind = K_TRUE;
		break;
	case JV_KIND_NUMBER:
		d = jv_number_value(v);
		if (!isfinite(d)) {
			jv_free(v);
			*check = "jq";
			snprintf(why, whylen, "not a finite number");
			return -1;
		}
		if (d == floor(d) && fabs(d) < 9007199254740992.0)
			sc.n = (size_t)snprintf(num, sizeof(num), "%.0f", d);
		else
			sc.n = (size_t)snprintf(num, sizeof(num), "%.17g", d);
		sc.kind = K_NUMBER;
		sc.p = num;
		break;
	case JV_KIND_STRING:
		sc.kind = K_STRING;
		cdr_buf_reset(scratch);
		cdr_buf_add(scratch, jv_string_value(v),
		    (size_t)jv_string_length_bytes(jv_copy(v)));
		sc.p = scratch->p;
		sc.n = scratch->len;
		break;
	default:
		sc.kind = K_JSON;
		cdr_buf_reset(scratch);
		cdr_jq_dump(jv_copy(v), scratch);
		sc.p = scratch->p;
		sc.n = scratch->len;
		break;
	}
	jv_free(v);
	return convert(f, c, &sc, out, &conv_buf, check, why, whylen);
}
