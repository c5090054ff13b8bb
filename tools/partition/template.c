/*
 * Path templates: literal text, {field} placeholders (the value encoded as
 * a path segment) and {field:FORMAT} placeholders (a time formatted in the
 * template's zone).  "{{" and "}}" are literal braces.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "write.h"
#include "partition.h"

enum elem_kind {
	E_TEXT,
	E_FIELD,
	E_TIME
};

#define TIME_CACHE	64
#define TIME_OUT_MAX	64

struct time_cache {
	int64_t		unit;	/* local day or hour number */
	int32_t		offset;
	uint8_t		valid;
	uint8_t		len;
	char		out[TIME_OUT_MAX];
};

struct elem {
	enum elem_kind		 kind;
	char			*text;	/* literal text, or the time format */
	size_t			 len;
	char			*spec;	/* the placeholder without braces */
	struct cdr_path		 path;
	int64_t			 unit;	/* E_TIME: cache by this many seconds; 0 none */
	struct time_cache	*cache;
};

struct tmpl {
	struct elem		*e;
	size_t			 n;
	size_t			 ext_len;
	const struct cdr_tz	*tz;
	const char		*missing;
	struct cdr_buf		 scratch;
	struct cdr_buf		 enc;
};

static void
add_elem(struct tmpl *t, enum elem_kind kind, const char *s, size_t n)
{
	struct elem *e;

	t->e = cdr_xreallocarray(t->e, t->n + 1, sizeof(*t->e));
	e = &t->e[t->n++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->text = cdr_xstrndup(s, n);
	e->len = n;
}

static int
errf(char *err, size_t errlen, const char *fmt, const char *arg)
{
	snprintf(err, errlen, fmt, arg);
	return -1;
}

/* Whether a time format's output can vary in length (%s, %Z). */
static int
time_conv_variable(char c)
{
	return c == 's' || c == 'Z';
}

/*
 * What a time format needs to be cached: the local day (86400), the local
 * hour (3600), or nothing (0) when it shows minutes, seconds or more.
 */
static int64_t
time_unit(const char *fmt)
{
	int64_t unit = 86400;
	const char *f;

	for (f = fmt; *f != '\0'; f++) {
		if (*f != '%')
			continue;
		f++;
		switch (*f) {
		case 'H':
			unit = 3600;
			break;
		case 'M': case 'S': case 'T': case 's': case 'f': case 'Z':
			return 0;
		default:
			break;
		}
	}
	return unit;
}

/*
 * Checks the structure of the template: no absolute path, no empty, "."
 * or ".." segment, no literal segment starting with '.', and two
 * placeholders of varying length in one segment separated by a character
 * that values never contain, so that two values never give one path.
 */
static int
check_structure(struct tmpl *t, char *err, size_t errlen)
{
	size_t i, k;
	int seg_len = 0, seg_dot = 0, var = 0;
	const char *prev = NULL;

	for (i = 0; i < t->n; i++) {
		struct elem *e = &t->e[i];

		if (e->kind == E_FIELD) {
			if (var)
				goto adjacent;
			var = 1;
			prev = e->spec;
			seg_len++;
			continue;
		}
		for (k = 0; k < e->len; k++) {
			char c = e->text[k];

			if (e->kind == E_TIME && c == '%') {
				c = e->text[++k];
				if (c == '%') {
					/* a literal '%' */
				} else if (time_conv_variable(c)) {
					if (var)
						goto adjacent;
					var = 1;
					prev = e->spec;
				}
				seg_len++;
				continue;
			}
			if (c == '/') {
				if (seg_len == 0)
					return errf(err, errlen, "%s",
					    "empty path segment (\"//\")");
				if (seg_dot)
					return errf(err, errlen, "%s",
					    "a path segment starts with '.'");
				seg_len = 0;
				seg_dot = 0;
				var = 0;
				continue;
			}
			if ((unsigned char)c < 0x20 || c == 0x7f)
				return errf(err, errlen, "%s",
				    "control character in the template");
			if (seg_len == 0 && c == '.')
				seg_dot = 1;
			if (seg_separator(c))
				var = 0;
			seg_len++;
		}
	}
	if (seg_len == 0)
		return errf(err, errlen, "%s",
		    "the template ends with '/' (no file name)");
	if (seg_dot)
		return errf(err, errlen, "%s", "a path segment starts with '.'");
	return 0;
adjacent:
	snprintf(err, errlen, "{%s} and the next placeholder share a path "
	    "segment without a separator such as '=' or ',' between them, so "
	    "two different values could give the same path", prev);
	return -1;
}

/* '@' and '~' in file names are the batch id and sequence number's. */
static int
check_file_name(const struct tmpl *t, char *err, size_t errlen)
{
	size_t i, k;

	for (i = t->n; i-- > 0;) {
		const struct elem *e = &t->e[i];

		if (e->kind == E_FIELD)
			continue;
		for (k = e->len; k-- > 0;) {
			if (e->text[k] == '/')
				return 0;
			if (e->text[k] == '@' || e->text[k] == '~')
				return errf(err, errlen, "'%s' in the file name "
				    "(they mark the batch id and sequence number)",
				    "@' or '~");
		}
	}
	return 0;
}

struct tmpl *
tmpl_compile(const char *text, const struct cdr_tz *tz, char *err,
    size_t errlen)
{
	struct tmpl *t = cdr_xcalloc(1, sizeof(*t));
	struct cdr_buf lit = CDR_BUF_INIT;
	const char *p = text, *close, *colon;
	char probe[256];
	struct elem *e;

	t->tz = tz;
	if (*text == '\0') {
		errf(err, errlen, "%s", "empty template");
		goto fail;
	}
	if (*text == '/') {
		errf(err, errlen, "%s", "the template must be a relative path");
		goto fail;
	}
	while (*p != '\0') {
		if (p[0] == '{' && p[1] == '{') {
			cdr_buf_addc(&lit, '{');
			p += 2;
			continue;
		}
		if (p[0] == '}') {
			if (p[1] != '}') {
				errf(err, errlen, "%s",
				    "unmatched '}' (write '}}' for a brace)");
				goto fail;
			}
			cdr_buf_addc(&lit, '}');
			p += 2;
			continue;
		}
		if (p[0] != '{') {
			cdr_buf_addc(&lit, *p++);
			continue;
		}
		close = strchr(p, '}');
		if (close == NULL) {
			errf(err, errlen, "%s", "unterminated '{'");
			goto fail;
		}
		if (lit.len > 0) {
			add_elem(t, E_TEXT, lit.p, lit.len);
			cdr_buf_reset(&lit);
		}
		colon = memchr(p + 1, ':', (size_t)(close - p - 1));
		if (colon == NULL) {
			add_elem(t, E_FIELD, "", 0);
			e = &t->e[t->n - 1];
			e->spec = cdr_xstrndup(p + 1, (size_t)(close - p - 1));
		} else {
			add_elem(t, E_TIME, colon + 1,
			    (size_t)(close - colon - 1));
			e = &t->e[t->n - 1];
			e->spec = cdr_xstrndup(p + 1, (size_t)(close - p - 1));
			e->spec[colon - p - 1] = '\0';
			if (e->len == 0) {
				errf(err, errlen, "{%s:}: empty time format",
				    e->spec);
				goto fail;
			}
			if (cdr_time_strftime(probe, sizeof(probe), e->text, 0,
			    tz) < 0) {
				errf(err, errlen, "bad time format \"%s\" "
				    "(see cdr-partition(1) for the conversions)",
				    e->text);
				goto fail;
			}
			e->unit = time_unit(e->text);
			if (e->unit != 0)
				e->cache = cdr_xcalloc(TIME_CACHE,
				    sizeof(*e->cache));
			/* spec for the manifest: "field:FORMAT" */
			e->spec[colon - p - 1] = ':';
		}
		{
			size_t flen = colon ? (size_t)(colon - p - 1) :
			    (size_t)(close - p - 1);
			char *field = cdr_xstrndup(p + 1, flen);

			if (flen == 0 || cdr_path_init(&e->path, field) != 0) {
				free(field);
				errf(err, errlen, "%s",
				    "empty field name in a placeholder");
				goto fail;
			}
			free(field);
		}
		p = close + 1;
	}
	if (lit.len > 0)
		add_elem(t, E_TEXT, lit.p, lit.len);
	cdr_buf_free(&lit);
	if (check_structure(t, err, errlen) != 0 ||
	    check_file_name(t, err, errlen) != 0)
		goto fail;
	/* The extension: from the first '.' of the literal tail. */
	e = &t->e[t->n - 1];
	if (e->kind == E_TEXT) {
		const char *seg = memrchr(e->text, '/', e->len);
		const char *dot;

		seg = seg != NULL ? seg + 1 : e->text;
		dot = memchr(seg, '.', (size_t)(e->text + e->len - seg));
		if (dot != NULL)
			t->ext_len = (size_t)(e->text + e->len - dot);
	}
	return t;
fail:
	cdr_buf_free(&lit);
	tmpl_free(t);
	return NULL;
}

void
tmpl_free(struct tmpl *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++) {
		free(t->e[i].text);
		free(t->e[i].spec);
		free(t->e[i].cache);
		cdr_path_free(&t->e[i].path);
	}
	free(t->e);
	cdr_buf_free(&t->scratch);
	cdr_buf_free(&t->enc);
	free(t);
}

size_t
tmpl_ext_len(const struct tmpl *t)
{
	return t->ext_len;
}

void
tmpl_set_missing(struct tmpl *t, const char *value)
{
	t->missing = value;
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The time of a placeholder's field: parsed and formatted into out. */
static int
expand_time(struct tmpl *t, struct elem *e, const struct cdr_record *rec,
    struct cdr_buf *out, struct reject *why)
{
	struct cdr_value v;
	struct time_cache *c = NULL;
	const char *s, *reason;
	char buf[TIME_OUT_MAX * 4];
	cdr_time_t tm;
	int64_t unit = 0;
	int32_t off = 0;
	size_t n;
	long k;

	cdr_record_get(rec, &e->path, &v);
	if (v.type != CDR_T_STRING && v.type != CDR_T_NUMBER) {
		why->field = e->path.text;
		why->check = v.type == CDR_T_MISSING || v.type == CDR_T_NULL ?
		    "required" : "type";
		snprintf(why->message, sizeof(why->message),
		    "field \"%s\" is %s, not a time", e->path.text,
		    v.type == CDR_T_MISSING ? "missing" : cdr_type_name(v.type));
		return -1;
	}
	s = cdr_value_str(&v, &t->scratch, &n);
	if (s == NULL || cdr_time_parse(s, n, CDR_TP_ANY, t->tz, &tm,
	    &reason) != 0) {
		why->field = e->path.text;
		why->check = "time";
		snprintf(why->message, sizeof(why->message),
		    "field \"%s\": not a time (%s)", e->path.text,
		    s == NULL ? "bad escape" : reason);
		return -1;
	}
	if (e->cache != NULL) {
		off = cdr_tz_offset(t->tz, tm);
		unit = floor_div(floor_div(tm, CDR_USEC_PER_SEC) + off, e->unit);
		c = &e->cache[(uint64_t)unit % TIME_CACHE];
		if (c->valid && c->unit == unit && c->offset == off) {
			cdr_buf_add(out, c->out, c->len);
			return 0;
		}
	}
	k = cdr_time_strftime(buf, sizeof(buf), e->text, tm, t->tz);
	if (k < 0) {
		why->field = e->path.text;
		why->check = "time";
		snprintf(why->message, sizeof(why->message),
		    "field \"%s\": time cannot be formatted", e->path.text);
		return -1;
	}
	cdr_buf_add(out, buf, (size_t)k);
	if (c != NULL && k < TIME_OUT_MAX) {
		c->valid = 1;
		c->unit = unit;
		c->offset = off;
		c->len = (uint8_t)k;
		memcpy(c->out, buf, (size_t)k);
	}
	return 0;
}

/*
 * Defence in depth: every segment of the expanded path is a plain name
 * (not empty, no leading '.', short enough for a file system), so the
 * path stays inside the output directory whatever the template and data.
 */
static int
check_path(const char *p, size_t n, size_t ext_len, struct reject *why)
{
	const char *seg = p, *end = p + n, *slash;
	size_t len;

	if (n + 64 >= PATH_MAX)
		goto bad;
	while (seg <= end) {
		slash = memchr(seg, '/', (size_t)(end - seg));
		if (slash == NULL)
			slash = end;
		len = (size_t)(slash - seg);
		if (len == 0 || seg[0] == '.' || memchr(seg, '\0', len) != NULL)
			goto bad;
		/* The file name gets "-BATCH-SEQ" (at most 80 bytes), ".gz"
		 * and the temporary ".NAME.tmp.XXXXXX" around it. */
		if (slash == end ? len > NAME_MAX - 96 - ext_len : len > NAME_MAX)
			goto bad;
		seg = slash + 1;
	}
	return 0;
bad:
	why->field = NULL;
	why->check = "path";
	snprintf(why->message, sizeof(why->message),
	    "no safe output path (\"%.*s\"): a segment is empty, starts with "
	    "'.', or is too long", (int)(n > 120 ? 120 : n), p);
	return -1;
}

int
tmpl_expand(struct tmpl *t, const struct cdr_record *rec,
    struct cdr_buf *path, struct reject *why)
{
	struct cdr_value v;
	const char *s;
	size_t i, n, start = path->len;

	for (i = 0; i < t->n; i++) {
		struct elem *e = &t->e[i];

		switch (e->kind) {
		case E_TEXT:
			cdr_buf_add(path, e->text, e->len);
			break;
		case E_FIELD:
			cdr_record_get(rec, &e->path, &v);
			if (value_bytes(&v, e->path.text, t->missing,
			    &t->scratch, &s, &n, why) != 0)
				return -1;
			seg_encode(path, s, n);
			break;
		case E_TIME:
			if (expand_time(t, e, rec, path, why) != 0)
				return -1;
			break;
		}
	}
	return check_path(path->p + start, path->len - start, t->ext_len, why);
}

void
tmpl_values_json(struct tmpl *t, const struct cdr_record *rec,
    struct cdr_buf *out)
{
	struct cdr_buf tmp = CDR_BUF_INIT;
	struct cdr_value v;
	struct reject why;
	const char *s;
	size_t i, j, n;
	int first = 1;

	for (i = 0; i < t->n; i++) {
		struct elem *e = &t->e[i];

		if (e->kind == E_TEXT)
			continue;
		for (j = 0; j < i; j++)
			if (t->e[j].kind != E_TEXT &&
			    strcmp(t->e[j].spec, e->spec) == 0)
				break;
		if (j < i)
			continue;
		if (!first)
			cdr_buf_addc(out, ',');
		first = 0;
		cdr_buf_json_string(out, e->spec, strlen(e->spec));
		cdr_buf_addc(out, ':');
		cdr_buf_reset(&tmp);
		if (e->kind == E_TIME) {
			if (expand_time(t, e, rec, &tmp, &why) == 0)
				cdr_buf_json_string(out, tmp.p, tmp.len);
			else
				cdr_buf_add(out, "null", 4);
			continue;
		}
		cdr_record_get(rec, &e->path, &v);
		if (value_bytes(&v, e->path.text, t->missing, &tmp, &s, &n,
		    &why) == 0)
			cdr_buf_json_string(out, s, n);
		else
			cdr_buf_add(out, "null", 4);
	}
	cdr_buf_free(&tmp);
}
