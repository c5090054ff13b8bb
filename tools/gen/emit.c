/*
 * Formatting records as NDJSON or CSV without printf: at a million
 * records a second the formatter is most of the cost.
 *
 * One formatting function per kind calls em_*() for each field in order;
 * NDJSON writes keys and nested objects, CSV writes one cell per column
 * of the flattened record (meta.x), an empty unquoted cell for null or
 * for a field the record does not carry, and "" for an empty string.  A
 * field chosen for corruption is written wrongly here (see sink.c for the
 * kinds).
 */
#include <stdint.h>
#include <string.h>

#include "cdrtime.h"
#include "msg.h"

#include "gen.h"

struct val {
	int			 type;	/* V_* */
	const char		*s;
	size_t			 n;
	int64_t			 i;
	int			 dec;
	const char *const	*list;
};

static const char digits2[] =
    "00010203040506070809101112131415161718192021222324252627282930313233"
    "34353637383940414243444546474849505152535455565758596061626364656667"
    "6869707172737475767778798081828384858687888990919293949596979899";

static const char hexdig[] = "0123456789abcdef";

static char *two(char *d, unsigned v);
static char *put_json_body(char *d, const char *s, size_t n);
static int csv_needs_quotes(const char *s, size_t n);
static char *put_csv_body(char *d, const char *s, size_t n);
static char *put_string(struct emit *e, const struct field *f, const char *s,
    size_t n);
static char *put_list_json(char *d, const char *const *v, size_t n);
static char *put_val(struct emit *e, const struct field *f,
    const struct val *v);
static int sep(struct emit *e, int fi);
static void note(struct emit *e, int fi, int vtype);
static void field(struct emit *e, int fi, const struct val *v);
static void inject(struct emit *e, int fi, const struct val *v);
static char *put_spliced(struct emit *e, const struct val *v,
    const char *ins, size_t nins);

static char *
two(char *d, unsigned v)
{
	d[0] = digits2[2 * v];
	d[1] = digits2[2 * v + 1];
	return d + 2;
}

char *
fmt_u64(char *d, uint64_t v)
{
	char tmp[20], *p = tmp + sizeof(tmp);
	size_t n;

	while (v >= 100) {
		p -= 2;
		two(p, (unsigned)(v % 100));
		v /= 100;
	}
	if (v >= 10) {
		p -= 2;
		two(p, (unsigned)v);
	} else {
		*--p = (char)('0' + v);
	}
	n = (size_t)(tmp + sizeof(tmp) - p);
	memcpy(d, p, n);
	return d + n;
}

char *
fmt_i64(char *d, int64_t v)
{
	if (v < 0) {
		*d++ = '-';
		return fmt_u64(d, (uint64_t)0 - (uint64_t)v);
	}
	return fmt_u64(d, (uint64_t)v);
}

char *
fmt_pad(char *d, uint64_t v, int width)
{
	char tmp[24], *end = fmt_u64(tmp, v);
	int n = (int)(end - tmp);

	for (; n < width; width--)
		*d++ = '0';
	memcpy(d, tmp, (size_t)n);
	return d + n;
}

char *
fmt_id(char *d, char prefix, uint64_t n, int width)
{
	*d++ = prefix;
	d = fmt_pad(d, n, width);
	*d = '\0';
	return d;
}

void
daycache_init(struct daycache *dc)
{
	dc->day = INT64_MIN;
}

char *
fmt_iso_ms(char *d, int64_t ms, struct daycache *dc)
{
	int64_t day = ms / MS_PER_DAY, rem;
	unsigned s;
	int y, m, dd;

	if (ms % MS_PER_DAY < 0)
		day--;
	rem = ms - day * MS_PER_DAY;
	if (day != dc->day) {
		cdr_civil_from_days(day, &y, &m, &dd);
		two(dc->ymd, (unsigned)(y / 100));
		two(dc->ymd + 2, (unsigned)(y % 100));
		dc->ymd[4] = '-';
		two(dc->ymd + 5, (unsigned)m);
		dc->ymd[7] = '-';
		two(dc->ymd + 8, (unsigned)dd);
		dc->day = day;
	}
	memcpy(d, dc->ymd, 10);
	d[10] = 'T';
	s = (unsigned)(rem / 1000);
	two(d + 11, s / 3600);
	d[13] = ':';
	two(d + 14, s / 60 % 60);
	d[16] = ':';
	two(d + 17, s % 60);
	d[19] = '.';
	d[20] = (char)('0' + rem % 1000 / 100);
	two(d + 21, (unsigned)(rem % 100));
	d[23] = 'Z';
	return d + 24;
}

char *
fmt_hex(char *d, uint64_t v, int digits)
{
	int i;

	for (i = digits - 1; i >= 0; i--) {
		d[i] = hexdig[v & 15];
		v >>= 4;
	}
	return d + digits;
}

char *
fmt_uuid(char *d, struct rng *r)
{
	uint64_t hi = rng_next(r), lo = rng_next(r);

	/* Version 4, variant 10xx (RFC 9562). */
	hi = (hi & ~UINT64_C(0xf000)) | UINT64_C(0x4000);
	lo = (lo & ~(UINT64_C(3) << 62)) | (UINT64_C(2) << 62);
	d = fmt_hex(d, hi >> 32, 8);
	*d++ = '-';
	d = fmt_hex(d, hi >> 16, 4);
	*d++ = '-';
	d = fmt_hex(d, hi, 4);
	*d++ = '-';
	d = fmt_hex(d, lo >> 48, 4);
	*d++ = '-';
	d = fmt_hex(d, lo, 12);
	*d = '\0';
	return d;
}

/*
 * The text is generated, so it is valid UTF-8 except where a corruption
 * puts bad bytes in on purpose: those are copied, not replaced.
 */
static char *
put_json_body(char *d, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned c = p[i];

		if (c == '"' || c == '\\') {
			*d++ = '\\';
			*d++ = (char)c;
		} else if (c >= 0x20) {
			*d++ = (char)c;
		} else if (c == '\n') {
			*d++ = '\\';
			*d++ = 'n';
		} else if (c == '\t') {
			*d++ = '\\';
			*d++ = 't';
		} else if (c == '\r') {
			*d++ = '\\';
			*d++ = 'r';
		} else {
			memcpy(d, "\\u00", 4);
			d[4] = hexdig[c >> 4];
			d[5] = hexdig[c & 15];
			d += 6;
		}
	}
	return d;
}

/* Quoted also when empty (so "" differs from null) or padded with blanks. */
static int
csv_needs_quotes(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || s[0] == ' ' || s[n - 1] == ' ')
		return 1;
	for (i = 0; i < n; i++) {
		if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r')
			return 1;
	}
	return 0;
}

static char *
put_csv_body(char *d, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '"')
			*d++ = '"';
		*d++ = s[i];
	}
	return d;
}

static char *
put_string(struct emit *e, const struct field *f, const char *s, size_t n)
{
	char *d = e->p;

	if (e->csv) {
		if ((f->flags & FF_PLAIN) ? n == 0 : csv_needs_quotes(s, n)) {
			*d++ = '"';
			d = put_csv_body(d, s, n);
			*d++ = '"';
			return d;
		}
		memcpy(d, s, n);
		return d + n;
	}
	*d++ = '"';
	if (f->flags & FF_PLAIN) {
		memcpy(d, s, n);
		d += n;
	} else {
		d = put_json_body(d, s, n);
	}
	*d++ = '"';
	return d;
}

static char *
put_list_json(char *d, const char *const *v, size_t n)
{
	size_t i;

	*d++ = '[';
	for (i = 0; i < n; i++) {
		if (i > 0)
			*d++ = ',';
		*d++ = '"';
		d = put_json_body(d, v[i], strlen(v[i]));
		*d++ = '"';
	}
	*d++ = ']';
	return d;
}

static char *
put_val(struct emit *e, const struct field *f, const struct val *v)
{
	char tmp[EMIT_MAX / 4], *d = e->p, *end;
	int64_t x, scale;
	int i;

	switch (v->type) {
	case V_NULL:
		if (!e->csv) {
			memcpy(d, "null", 4);
			d += 4;
		}
		return d;
	case V_STR:
		return put_string(e, f, v->s, v->n);
	case V_INT:
		return fmt_i64(d, v->i);
	case V_FIXED:
		x = v->i;
		if (x < 0) {
			*d++ = '-';
			x = -x;
		}
		for (scale = 1, i = 0; i < v->dec; i++)
			scale *= 10;
		d = fmt_u64(d, (uint64_t)(x / scale));
		*d++ = '.';
		return fmt_pad(d, (uint64_t)(x % scale), v->dec);
	case V_MILLI:
		d = fmt_i64(d, v->i / 1000);
		if (v->i % 1000 != 0) {
			*d++ = '.';
			end = fmt_pad(d, (uint64_t)(v->i % 1000), 3);
			while (end[-1] == '0')
				end--;
			d = end;
		}
		return d;
	case V_TIME:
		if (e->csv)
			return fmt_iso_ms(d, v->i, &e->dc);
		*d++ = '"';
		d = fmt_iso_ms(d, v->i, &e->dc);
		*d++ = '"';
		return d;
	case V_LIST:
		if (!e->csv)
			return put_list_json(d, v->list, v->n);
		/* A CSV cell holds the array as JSON text. */
		end = put_list_json(tmp, v->list, v->n);
		return put_string(e, &(struct field){ .flags = 0 }, tmp,
		    (size_t)(end - tmp));
	}
	cdr_die(CDR_EXIT_INTERNAL, "value of unknown type %d", v->type);
}

void
em_init(struct emit *e, const struct field *f, int nf, unsigned sets,
    int csv)
{
	int i;

	if (nf > MAX_FIELDS)
		cdr_die(CDR_EXIT_INTERNAL, "too many fields");
	memset(e, 0, sizeof(*e));
	e->buf = cdr_xmalloc(EMIT_MAX);
	e->csv = csv;
	e->f = f;
	e->nf = nf;
	e->inj_field = -1;
	e->inj = INJ_NONE;
	daycache_init(&e->dc);
	for (i = 0; i < nf; i++) {
		if (f[i].type != FT_OBJ && (f[i].sets & sets))
			e->col[i] = (signed char)e->ncols++;
		else
			e->col[i] = -1;
	}
}

size_t
em_header(struct emit *e)
{
	char *d = e->buf;
	int i;

	for (i = 0; i < e->nf; i++) {
		if (e->col[i] < 0)
			continue;
		if (d != e->buf)
			*d++ = ',';
		memcpy(d, e->f[i].col, strlen(e->f[i].col));
		d += strlen(e->f[i].col);
	}
	return (size_t)(d - e->buf);
}

void
em_begin(struct emit *e)
{
	e->p = e->buf;
	e->depth = 0;
	e->first[0] = 1;
	e->ncell = 0;
	e->nseen = 0;
	e->inj_done = 0;
	if (!e->csv)
		*e->p++ = '{';
}

size_t
em_end(struct emit *e)
{
	if (!e->csv)
		*e->p++ = '}';
	else if (e->ncell != e->ncols)
		cdr_die(CDR_EXIT_INTERNAL, "record of %d cells, not %d",
		    e->ncell, e->ncols);
	/* Records are far smaller than the buffer by construction. */
	if (e->p - e->buf > EMIT_MAX / 2)
		cdr_die(CDR_EXIT_INTERNAL, "record of %td bytes",
		    e->p - e->buf);
	return (size_t)(e->p - e->buf);
}

/*
 * The separator and the key (NDJSON) or the start of the cell (CSV).
 * Returns 0 for a field this output does not carry.
 */
static int
sep(struct emit *e, int fi)
{
	const struct field *f = &e->f[fi];
	char *d = e->p;

	if (e->csv) {
		if (e->col[fi] < 0)
			return 0;
		if (e->col[fi] != e->ncell)
			cdr_die(CDR_EXIT_INTERNAL, "field %s out of order",
			    f->col);
		if (e->ncell > 0)
			*d++ = ',';
		e->cell[e->ncell++] = (size_t)(d - e->buf);
		e->p = d;
		return 1;
	}
	if (!e->first[e->depth])
		*d++ = ',';
	e->first[e->depth] = 0;
	*d++ = '"';
	memcpy(d, f->key, f->klen);
	d += f->klen;
	*d++ = '"';
	*d++ = ':';
	e->p = d;
	return 1;
}

static void
note(struct emit *e, int fi, int vtype)
{
	if (e->nseen < MAX_FIELDS) {
		e->seen[e->nseen].field = (unsigned char)fi;
		e->seen[e->nseen].vtype = (unsigned char)vtype;
		e->nseen++;
	}
}

static void
field(struct emit *e, int fi, const struct val *v)
{
	if (e->csv && e->col[fi] < 0)
		return;
	if (fi == e->inj_field) {
		inject(e, fi, v);
		return;
	}
	if (v->type == V_ABSENT) {
		if (e->csv)
			sep(e, fi);
		return;
	}
	if (e->survey)
		note(e, fi, v->type);
	if (e->f[fi].flags & FF_START)
		e->start_ms = v->i;
	sep(e, fi);
	e->p = put_val(e, &e->f[fi], v);
}

void
em_str(struct emit *e, int fi, const char *s, size_t n)
{
	struct val v = { .type = V_STR, .s = s, .n = n };

	field(e, fi, &v);
}

void
em_strz(struct emit *e, int fi, const char *s)
{
	struct val v = { .type = V_NULL };

	if (s != NULL) {
		v.type = V_STR;
		v.s = s;
		v.n = strlen(s);
	}
	field(e, fi, &v);
}

void
em_int(struct emit *e, int fi, int64_t i)
{
	struct val v = { .type = V_INT, .i = i };

	field(e, fi, &v);
}

void
em_fixed(struct emit *e, int fi, int64_t i, int decimals)
{
	struct val v = { .type = V_FIXED, .i = i, .dec = decimals };

	field(e, fi, &v);
}

void
em_milli(struct emit *e, int fi, int64_t i)
{
	struct val v = { .type = V_MILLI, .i = i };

	field(e, fi, &v);
}

void
em_time(struct emit *e, int fi, int64_t ms)
{
	struct val v = { .type = V_TIME, .i = ms };

	field(e, fi, &v);
}

void
em_null(struct emit *e, int fi)
{
	struct val v = { .type = V_NULL };

	field(e, fi, &v);
}

void
em_absent(struct emit *e, int fi)
{
	struct val v = { .type = V_ABSENT };

	field(e, fi, &v);
}

void
em_list(struct emit *e, int fi, const char *const *list, size_t n)
{
	struct val v = { .type = V_LIST, .list = list, .n = n };

	field(e, fi, &v);
}

/* CSV flattens objects: their members are columns of their own. */
void
em_obj(struct emit *e, int fi)
{
	if (e->csv)
		return;
	sep(e, fi);
	*e->p++ = '{';
	e->first[++e->depth] = 1;
}

void
em_obj_end(struct emit *e)
{
	if (e->csv)
		return;
	*e->p++ = '}';
	e->depth--;
}

/*
 * Corrupted values.  The variant number picks among several forms of the
 * same mistake, the way they turn up in real feeds.
 */
static const char *const wrong_types[] = {
	"abc", "12s", "N/A", "1,5", "ten", "--", "0x1F", "true"
};
static const char *const bad_times[] = {
	"2026-13-45T25:61:00Z", "yesterday", "2026-02-30T10:00:00Z",
	"22/11/2026 08:00:01", "2026-11-22T24:30:00Z",
	"2026-11-22T08:00:00+25:00", "0000-00-00T00:00:00Z",
	"2026-11-2208:00:01Z", "2026-11-22T08:00:01.123ZZ", "NaN"
};
static const char *const bad_utf8[] = {
	"\xc3\x28", "\xff", "\xed\xa0\x80", "\xc0\xaf", "\x80",
	"\xf8\x88\x80\x80\x80", "\xe2\x82"
};
static const char *const bad_escapes[] = {
	"\\x41", "\\u12G4", "\\q", "\\U0001F600", "\\'"
};
static const char *const bad_enums[] = {
	"sideways", "ANSWERED", "unknown?", "bounce", "n/a", "timeout ",
	"cancelled"
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A string value with nins bytes put in after its first character. */
static char *
put_spliced(struct emit *e, const struct val *v, const char *ins,
    size_t nins)
{
	char *d = e->p;
	size_t at = v->n > 0 ? 1 : 0;

	/* Not inside a UTF-8 sequence: the bad bytes must be the only ones. */
	while (at < v->n && ((unsigned char)v->s[at] & 0xc0) == 0x80)
		at++;
	if (e->csv) {
		int q = csv_needs_quotes(v->s, v->n);

		if (q)
			*d++ = '"';
		d = put_csv_body(d, v->s, at);
		memcpy(d, ins, nins);
		d += nins;
		d = put_csv_body(d, v->s + at, v->n - at);
		if (q)
			*d++ = '"';
		return d;
	}
	*d++ = '"';
	d = put_json_body(d, v->s, at);
	memcpy(d, ins, nins);
	d += nins;
	d = put_json_body(d, v->s + at, v->n - at);
	*d++ = '"';
	return d;
}

static void
inject(struct emit *e, int fi, const struct val *v)
{
	const struct field *f = &e->f[fi];
	uint64_t var = e->inj_var;
	struct val alt = *v;
	char tmp[256];
	const char *s;

	e->inj_done = 1;
	switch (e->inj) {
	case INJ_MISSING_FIELD:
		/* NDJSON: no key at all; CSV: the cell is left empty. */
		if (e->csv)
			sep(e, fi);
		return;
	case INJ_NULL_FIELD:
		alt.type = V_NULL;
		break;
	case INJ_WRONG_TYPE:
		sep(e, fi);
		if (v->type == V_STR) {
			e->p = fmt_u64(e->p, 1000 + var % 90000);
			return;
		}
		s = wrong_types[var % NELEM(wrong_types)];
		e->p = put_string(e, &(struct field){ .flags = 0 }, s,
		    strlen(s));
		return;
	case INJ_BAD_TIMESTAMP:
		s = bad_times[var % NELEM(bad_times)];
		sep(e, fi);
		e->p = put_string(e, &(struct field){ .flags = 0 }, s,
		    strlen(s));
		return;
	case INJ_END_BEFORE_START:
		alt.i = e->start_ms - (int64_t)(1 + var % 3600) * MS_PER_SEC;
		break;
	case INJ_INVALID_UTF8:
		s = bad_utf8[var % NELEM(bad_utf8)];
		sep(e, fi);
		e->p = put_spliced(e, v, s, strlen(s));
		return;
	case INJ_NUL_BYTE:
		sep(e, fi);
		e->p = put_spliced(e, v, "", 1);
		return;
	case INJ_BAD_ESCAPE:
		s = bad_escapes[var % NELEM(bad_escapes)];
		sep(e, fi);
		e->p = put_spliced(e, v, s, strlen(s));
		return;
	case INJ_BARE_QUOTE:
		sep(e, fi);
		memcpy(e->p, v->s, 1);
		e->p[1] = '"';
		memcpy(e->p + 2, v->s + 1, v->n - 1);
		e->p += v->n + 1;
		return;
	case INJ_BAD_ENUM:
		s = bad_enums[var % NELEM(bad_enums)];
		sep(e, fi);
		e->p = put_string(e, &(struct field){ .flags = 0 }, s,
		    strlen(s));
		return;
	case INJ_OUT_OF_RANGE:
		sep(e, fi);
		memcpy(e->p, f->oor, strlen(f->oor));
		e->p += strlen(f->oor);
		return;
	case INJ_DUPLICATE_KEY:
		/* The key again, later in the object, with another value. */
		sep(e, fi);
		e->p = put_val(e, f, v);
		switch (v->type) {
		case V_STR:
			if (v->n == 0 || v->n >= sizeof(tmp))
				cdr_die(CDR_EXIT_INTERNAL, "bad duplicate");
			memcpy(tmp, v->s, v->n);
			tmp[v->n - 1] = tmp[v->n - 1] == '0' ? '1' : '0';
			alt.s = tmp;
			break;
		case V_TIME:
			alt.i += MS_PER_SEC;
			break;
		case V_LIST:
			alt.n = 0;
			break;
		default:
			alt.i += 1;
			break;
		}
		break;
	default:
		cdr_die(CDR_EXIT_INTERNAL, "corruption %d of a field", e->inj);
	}
	sep(e, fi);
	e->p = put_val(e, f, &alt);
}
