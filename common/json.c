/*
 * Strict NDJSON record parser (RFC 8259) producing the node tape of
 * record.h without copying: keys and values point into the line.
 *
 * Strings are scanned 16 bytes at a time with SSE2 where available: one
 * mask finds the closing quote, backslashes, control characters and
 * non-ASCII bytes, so plain ASCII text costs a load, three compares and a
 * branch per 16 bytes.  The scan is inlined for that case; escapes and
 * non-ASCII bytes (validated as UTF-8 one sequence at a time) take a
 * separate function.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "msg.h"
#include "record.h"

/* An open container whose child is being parsed. */
struct level {
	uint32_t	node;		/* the container's node */
	uint32_t	last;		/* its last child so far, 0 if none */
	uint32_t	nchild;		/* its children so far */
	int		is_object;
	uint64_t	bloom;		/* member names seen (objects) */
};

static int fail(struct cdr_record *rec, const char *p, const char *fmt, ...)
    CDR_PRINTF(3, 4);
static const char *scan_string_slow(const char *p, const char *end,
    int *esc, const char **errp, const char **why) __attribute__((noinline));
static const char *scan_number(const char *p, const char *end);
static int dup_key(const struct cdr_node *nodes, uint32_t obj, uint32_t self)
    __attribute__((noinline));
static uint32_t first_dup(const struct cdr_record *rec, uint32_t obj);
static int hexval(int c);

static int
fail(struct cdr_record *rec, const char *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(rec->err, sizeof(rec->err), "column %zu: ",
	    (size_t)(p - rec->line) + 1);
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(rec->err))
		vsnprintf(rec->err + n, sizeof(rec->err) - (size_t)n, fmt, ap);
	va_end(ap);
	rec->bad = 1;
	return -1;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Length of the UTF-8 sequence at p (RFC 3629: no overlongs, no
 * surrogates, at most U+10FFFF), or 0 if it is invalid or cut short.
 */
static int
utf8_seq(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0];
	size_t left = (size_t)(end - p);

	if (left == 0)
		return 0;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return left >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		if (left < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
			return 0;
		if (c == 0xE0 && p[1] < 0xA0)
			return 0;	/* overlong */
		if (c == 0xED && p[1] >= 0xA0)
			return 0;	/* surrogate */
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		if (left < 4 || (p[1] & 0xC0) != 0x80 ||
		    (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
			return 0;
		if (c == 0xF0 && p[1] < 0x90)
			return 0;	/* overlong */
		if (c == 0xF4 && p[1] >= 0x90)
			return 0;	/* above U+10FFFF */
		return 4;
	}
	return 0;
}

int
cdr_utf8_seq(const char *s, size_t n)
{
	return utf8_seq((const unsigned char *)s,
	    (const unsigned char *)s + n);
}

int
cdr_utf8_valid(const char *s, size_t n)
{
	return cdr_utf8_prefix(s, n) == n;
}

size_t
cdr_utf8_prefix(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end = p + n;
	uint64_t w;
	int k;

	while (p < end) {
		/* Eight ASCII bytes at a time. */
		while (end - p >= 8) {
			memcpy(&w, p, 8);
			if (w & UINT64_C(0x8080808080808080))
				break;
			p += 8;
		}
		if (p == end)
			break;
		k = utf8_seq(p, end);
		if (k == 0)
			break;
		p += k;
	}
	return (size_t)(p - (const unsigned char *)s);
}

/*
 * p is in a string, at an escape, a control character, a non-ASCII byte
 * or anywhere before them.  Returns the closing quote, or NULL with errp
 * and why set.  *esc is set when the string holds escapes.
 */
static const char *
scan_string_slow(const char *p, const char *end, int *esc, const char **errp,
    const char **why)
{
	int k;

	for (;;) {
#if defined(__SSE2__)
		while (end - p >= 16) {
			__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
			__m128i q = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
			__m128i b = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
			__m128i c = _mm_cmpeq_epi8(_mm_min_epu8(v,
			    _mm_set1_epi8(0x1F)), v);
			unsigned m = (unsigned)_mm_movemask_epi8(
			    _mm_or_si128(_mm_or_si128(q, b), c)) |
			    (unsigned)_mm_movemask_epi8(v);

			if (m == 0) {
				p += 16;
				continue;
			}
			p += __builtin_ctz(m);
			break;
		}
#endif
		if (p >= end) {
			*errp = p;
			*why = "unterminated string";
			return NULL;
		}
		switch ((unsigned char)*p) {
		case '"':
			return p;
		case '\\':
			*esc = 1;
			if (p + 1 >= end) {
				*errp = p;
				*why = "unterminated string";
				return NULL;
			}
			switch (p[1]) {
			case '"': case '\\': case '/': case 'b': case 'f':
			case 'n': case 'r': case 't':
				p += 2;
				break;
			case 'u':
				if (end - p < 6 || hexval(p[2]) < 0 ||
				    hexval(p[3]) < 0 || hexval(p[4]) < 0 ||
				    hexval(p[5]) < 0) {
					*errp = p;
					*why = "bad \\u escape";
					return NULL;
				}
				p += 6;
				break;
			default:
				*errp = p;
				*why = "bad escape in string";
				return NULL;
			}
			break;
		default:
			if ((unsigned char)*p < 0x20) {
				*errp = p;
				*why = *p == '\0' ? "NUL byte in string" :
				    "control character in string";
				return NULL;
			}
			if ((unsigned char)*p < 0x80) {
				p++;
				break;
			}
			k = utf8_seq((const unsigned char *)p,
			    (const unsigned char *)end);
			if (k == 0) {
				*errp = p;
				*why = "invalid UTF-8 in string";
				return NULL;
			}
			p += k;
			break;
		}
	}
}

#if defined(__SSE2__)
/*
 * The bytes of p[0..16) where a string scan must stop, as a bit mask:
 * '"', '\\', control characters and non-ASCII bytes (negative as signed
 * bytes, so that one compare finds both).
 */
static inline unsigned
stop_mask(const char *p)
{
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i q = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
	__m128i b = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
	__m128i c = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));

	return (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(q, b), c));
}
#endif

/*
 * p is just past the opening quote of a string in line[lo..end).  Returns
 * the closing quote, or NULL with errp and why set; *esc is set when the
 * string holds escapes.  Plain ASCII is skipped here; anything else goes
 * to scan_string_slow.
 */
static inline const char *
scan_string(const char *lo, const char *p, const char *end, int *esc,
    const char **errp, const char **why)
{
#if defined(__SSE2__)
	unsigned m;

	while (end - p >= 16) {
		if ((m = stop_mask(p)) != 0) {
			p += __builtin_ctz(m);
			goto stop;
		}
		p += 16;
	}
	/*
	 * Fewer than 16 bytes left: load the 16 that end the line and shift
	 * out the ones before p, rather than go byte by byte.
	 */
	if (p < end && end - lo >= 16) {
		m = stop_mask(end - 16) >> (16 - (end - p));
		if (m == 0)
			return scan_string_slow(end, end, esc, errp, why);
		p += __builtin_ctz(m);
		goto stop;
	}
	return scan_string_slow(p, end, esc, errp, why);
stop:
	if (*p == '"')
		return p;
	return scan_string_slow(p, end, esc, errp, why);
#else
	(void)lo;
	while (p < end && (unsigned char)*p >= 0x20 &&
	    (unsigned char)*p < 0x80 && *p != '"' && *p != '\\')
		p++;
	if (p < end && *p == '"')
		return p;
	return scan_string_slow(p, end, esc, errp, why);
#endif
}

/* Returns the end of a valid JSON number at p, or NULL. */
static const char *
scan_number(const char *p, const char *end)
{
	if (p < end && *p == '-')
		p++;
	if (p >= end)
		return NULL;
	if (*p == '0') {
		p++;
	} else if (*p >= '1' && *p <= '9') {
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	} else {
		return NULL;
	}
	if (p < end && *p == '.') {
		p++;
		if (p >= end || *p < '0' || *p > '9')
			return NULL;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || *p < '0' || *p > '9')
			return NULL;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	return p;
}

/*
 * Objects with more members than this are checked for duplicate names
 * once, when they close, by sorting hashes of the names: the Bloom filter
 * is full by then, and comparing every name with all earlier ones would
 * make a record of 100000 members cost minutes.
 */
#define DUP_LINEAR 64

struct key_ref {
	uint64_t	hash;		/* FNV-1a of the unescaped name */
	uint32_t	node;
};

static int
key_ref_cmp(const void *a, const void *b)
{
	const struct key_ref *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->node < y->node ? -1 : x->node > y->node;
}

/* Whether two member nodes have the same name, escapes undone. */
static int
same_key(const struct cdr_node *o, const struct cdr_node *s,
    struct cdr_buf *a, struct cdr_buf *b)
{
	if (!((o->flags | s->flags) & CDR_N_KEY_ESC))
		return o->klen == s->klen &&
		    memcmp(o->key, s->key, s->klen) == 0;
	cdr_buf_reset(a);
	cdr_buf_reset(b);
	return cdr_json_unescape(o->key, o->klen, a) == 0 &&
	    cdr_json_unescape(s->key, s->klen, b) == 0 &&
	    a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

/*
 * The first member of object node obj (in order) whose name an earlier
 * member has, or 0.
 */
static uint32_t
first_dup(const struct cdr_record *rec, uint32_t obj)
{
	struct cdr_buf a = CDR_BUF_INIT, b = CDR_BUF_INIT;
	struct key_ref *refs;
	uint32_t n = 0, i, j, k, c, found = 0;

	refs = cdr_xreallocarray(NULL, rec->nodes[obj].nchild, sizeof(*refs));
	for (c = obj + 1; c != 0 && n < rec->nodes[obj].nchild;
	    c = rec->nodes[c].next) {
		const struct cdr_node *m = &rec->nodes[c];
		const unsigned char *k0 = (const unsigned char *)m->key;
		size_t kn = m->klen, x;
		uint64_t h = UINT64_C(14695981039346656037);

		if (m->flags & CDR_N_KEY_ESC) {
			cdr_buf_reset(&a);
			if (cdr_json_unescape(m->key, m->klen, &a) == 0) {
				k0 = (const unsigned char *)a.p;
				kn = a.len;
			}
		}
		for (x = 0; x < kn; x++)
			h = (h ^ k0[x]) * UINT64_C(1099511628211);
		refs[n].hash = h;
		refs[n++].node = c;
	}
	qsort(refs, n, sizeof(*refs), key_ref_cmp);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && refs[j].hash == refs[i].hash; j++)
			;
		/* Within equal hashes, in member order. */
		for (k = i + 1; k < j; k++)
			for (c = i; c < k; c++)
				if (same_key(&rec->nodes[refs[c].node],
				    &rec->nodes[refs[k].node], &a, &b)) {
					if (found == 0 || refs[k].node < found)
						found = refs[k].node;
					break;
				}
	}
	cdr_buf_free(&a);
	cdr_buf_free(&b);
	free(refs);
	return found;
}

/*
 * The filter bit of an escaped name is that of the name it stands for, so
 * that the same name written plainly later is compared with it.
 */
static uint64_t
unescaped_key_bit(const char *key, size_t klen, uint64_t bit)
{
	struct cdr_buf u = CDR_BUF_INIT;

	if (cdr_json_unescape(key, klen, &u) == 0)
		bit = cdr_key_bit(u.p != NULL ? u.p : "", u.len);
	cdr_buf_free(&u);
	return bit;
}

/* Whether node self's key equals an earlier member's of object obj. */
static int
dup_key(const struct cdr_node *nodes, uint32_t obj, uint32_t self)
{
	const struct cdr_node *s = &nodes[self];
	struct cdr_buf a = CDR_BUF_INIT, b = CDR_BUF_INIT;
	uint32_t i;
	int dup = 0;

	for (i = obj + 1; i != self && i != 0; i = nodes[i].next) {
		if (same_key(&nodes[i], s, &a, &b)) {
			dup = 1;
			break;
		}
	}
	cdr_buf_free(&a);
	cdr_buf_free(&b);
	return dup;
}

/* Compact NDJSON has no whitespace: one compare in the common case. */
#define SKIP_WS(p, end)							\
	if ((p) < (end) && (unsigned char)*(p) <= ' ')			\
		while ((p) < (end) && (*(p) == ' ' || *(p) == '\t' ||	\
		    *(p) == '\r' || *(p) == '\n'))			\
			(p)++

int
cdr_json_parse(struct cdr_record *rec, uint32_t *cap)
{
	struct level stack[CDR_MAX_DEPTH];
	const char *s = rec->line, *p = s, *end = s + rec->len;
	const char *key = NULL, *q, *errp, *why;
	struct cdr_node *nodes = rec->nodes, *nd;
	uint32_t n = 0, ncap = *cap, klen = 0, self;
	/* The open container, kept out of memory: the rest is on the stack. */
	uint32_t cont = 0, last = 0, nchild = 0;
	uint64_t bloom = 0, bit;
	int depth = 0, kesc = 0, esc, is_object = 0, any_kesc = 0;

	rec->bad = 0;
	rec->err[0] = '\0';
	rec->nnodes = 0;
	rec->root_indexed = 0;
	rec->root_keys_ok = 0;
	if (rec->len > UINT32_MAX)
		return fail(rec, s, "record longer than 4 GiB");
	SKIP_WS(p, end);
	if (p == end)
		return fail(rec, p, "empty record");
	if (*p != '{')
		return fail(rec, p, "record is not a JSON object");

value:
	/* p is at the first byte of a value; key/klen name it in objects. */
	if (n == ncap) {
		ncap = ncap ? ncap * 2 : 64;
		nodes = cdr_xreallocarray(nodes, ncap, sizeof(*nodes));
		rec->nodes = nodes;
		*cap = ncap;
	}
	self = n++;
	nd = &nodes[self];
	nd->key = key;
	nd->klen = klen;
	nd->flags = kesc ? CDR_N_KEY_ESC : 0;
	nd->next = 0;
	nd->nchild = 0;
	nd->parent = cont;
	if (depth > 0) {
		if (last != 0)
			nodes[last].next = self;
		last = self;
		nchild++;
		any_kesc |= kesc;
		if (is_object && nchild <= DUP_LINEAR) {
			/*
			 * A 64-bit Bloom filter of the names so far: cheap
			 * enough for every key; a hit is confirmed by
			 * comparing names.  Escaped names hash differently:
			 * always compare.
			 */
			bit = cdr_key_bit(key, klen);
			if (kesc)
				bit = unescaped_key_bit(key, klen, bit);
			if (((bloom & bit) || kesc) && dup_key(nodes, cont, self))
				return fail(rec, key - 1,
				    "duplicate key \"%.*s\"",
				    (int)(klen > 60 ? 60 : klen), key);
			bloom |= bit;
		}
	}
	switch (*p) {
	case '"':
		esc = 0;
		q = scan_string(s, p + 1, end, &esc, &errp, &why);
		if (q == NULL)
			return fail(rec, errp, "%s", why);
		nd->type = CDR_T_STRING;
		nd->val = p + 1;
		nd->vlen = (uint32_t)(q - p - 1);
		if (esc)
			nd->flags |= CDR_N_VAL_ESC;
		p = q + 1;
		break;
	case '{':
	case '[':
		if (depth == CDR_MAX_DEPTH)
			return fail(rec, p, "nesting deeper than %d",
			    CDR_MAX_DEPTH);
		nd->type = *p == '{' ? CDR_T_OBJECT : CDR_T_ARRAY;
		nd->val = p;
		if (depth > 0) {
			stack[depth - 1].node = cont;
			stack[depth - 1].last = last;
			stack[depth - 1].nchild = nchild;
			stack[depth - 1].is_object = is_object;
			stack[depth - 1].bloom = bloom;
		}
		depth++;
		cont = self;
		last = 0;
		nchild = 0;
		bloom = 0;
		is_object = *p == '{';
		p++;
		SKIP_WS(p, end);
		if (p < end && *p == (is_object ? '}' : ']'))
			goto close;
		if (is_object)
			goto member;
		key = NULL;
		klen = 0;
		kesc = 0;
		if (p == end)
			return fail(rec, p, "unexpected end of record");
		goto value;
	case 't':
		if (end - p < 4 || memcmp(p, "true", 4) != 0)
			return fail(rec, p, "invalid literal");
		nd->type = CDR_T_TRUE;
		nd->val = p;
		nd->vlen = 4;
		p += 4;
		break;
	case 'f':
		if (end - p < 5 || memcmp(p, "false", 5) != 0)
			return fail(rec, p, "invalid literal");
		nd->type = CDR_T_FALSE;
		nd->val = p;
		nd->vlen = 5;
		p += 5;
		break;
	case 'n':
		if (end - p < 4 || memcmp(p, "null", 4) != 0)
			return fail(rec, p, "invalid literal");
		nd->type = CDR_T_NULL;
		nd->val = p;
		nd->vlen = 4;
		p += 4;
		break;
	default:
		q = scan_number(p, end);
		if (q == NULL) {
			if (*p == '\0')
				return fail(rec, p, "NUL byte");
			if ((unsigned char)*p >= 0x80 || *p < 0x20)
				return fail(rec, p, "unexpected byte 0x%02x",
				    (unsigned char)*p);
			if (*p == '-' || (*p >= '0' && *p <= '9'))
				return fail(rec, p, "invalid number");
			return fail(rec, p, "unexpected character '%c'", *p);
		}
		nd->type = CDR_T_NUMBER;
		nd->val = p;
		nd->vlen = (uint32_t)(q - p);
		p = q;
		break;
	}

after:
	/* Compact NDJSON: a comma, then the next key's quote at once. */
	if (is_object && end - p >= 2 && p[0] == ',' && p[1] == '"') {
		p++;
		goto key;
	}
	SKIP_WS(p, end);
	if (p == end)
		return fail(rec, p, "unexpected end of record");
	if (*p == ',') {
		p++;
		SKIP_WS(p, end);
		if (is_object)
			goto member;
		key = NULL;
		klen = 0;
		kesc = 0;
		if (p == end)
			return fail(rec, p, "unexpected end of record");
		goto value;
	}
	if (*p == (is_object ? '}' : ']'))
		goto close;
	if (is_object)
		return fail(rec, p, "expected ',' or '}'");
	return fail(rec, p, "expected ',' or ']'");

member:
	if (p == end)
		return fail(rec, p, "unexpected end of record");
	if (*p != '"')
		return fail(rec, p, "expected a string key");
key:
	kesc = 0;
	q = scan_string(s, p + 1, end, &kesc, &errp, &why);
	if (q == NULL)
		return fail(rec, errp, "%s", why);
	key = p + 1;
	klen = (uint32_t)(q - key);
	p = q + 1;
	/* And the colon, then the value at once. */
	if (end - p >= 2 && p[0] == ':' && (unsigned char)p[1] > ' ') {
		p++;
		goto value;
	}
	SKIP_WS(p, end);
	if (p == end || *p != ':')
		return fail(rec, p, "expected ':' after key");
	p++;
	SKIP_WS(p, end);
	if (p == end)
		return fail(rec, p, "unexpected end of record");
	goto value;

close:
	nd = &nodes[cont];
	nd->vlen = (uint32_t)(p + 1 - nd->val);
	nd->nchild = nchild;
	if (is_object && nchild > DUP_LINEAR &&
	    (self = first_dup(rec, cont)) != 0) {
		nd = &nodes[self];
		return fail(rec, nd->key - 1, "duplicate key \"%.*s\"",
		    (int)(nd->klen > 60 ? 60 : nd->klen), nd->key);
	}
	p++;
	depth--;
	if (depth > 0) {
		cont = stack[depth - 1].node;
		last = stack[depth - 1].last;
		nchild = stack[depth - 1].nchild;
		is_object = stack[depth - 1].is_object;
		bloom = stack[depth - 1].bloom;
		goto after;
	}
	SKIP_WS(p, end);
	if (p != end)
		return fail(rec, p, "trailing characters after the object");
	rec->nnodes = n;
	/* The filter holds every name unless some were escaped or too many. */
	rec->root_keys = bloom;
	rec->root_keys_ok = !any_kesc && nchild <= DUP_LINEAR;
	return 0;
}

int
cdr_json_unescape(const char *s, size_t n, struct cdr_buf *out)
{
	const char *end = s + n, *run;
	unsigned cp, lo;
	char *d;

	while (s < end) {
		run = memchr(s, '\\', (size_t)(end - s));
		if (run == NULL) {
			cdr_buf_add(out, s, (size_t)(end - s));
			return 0;
		}
		cdr_buf_add(out, s, (size_t)(run - s));
		s = run;
		if (end - s < 2)
			return -1;
		switch (s[1]) {
		case '"': cdr_buf_addc(out, '"'); s += 2; continue;
		case '\\': cdr_buf_addc(out, '\\'); s += 2; continue;
		case '/': cdr_buf_addc(out, '/'); s += 2; continue;
		case 'b': cdr_buf_addc(out, '\b'); s += 2; continue;
		case 'f': cdr_buf_addc(out, '\f'); s += 2; continue;
		case 'n': cdr_buf_addc(out, '\n'); s += 2; continue;
		case 'r': cdr_buf_addc(out, '\r'); s += 2; continue;
		case 't': cdr_buf_addc(out, '\t'); s += 2; continue;
		case 'u':
			break;
		default:
			return -1;
		}
		if (end - s < 6 || hexval(s[2]) < 0 || hexval(s[3]) < 0 ||
		    hexval(s[4]) < 0 || hexval(s[5]) < 0)
			return -1;
		cp = (unsigned)(hexval(s[2]) << 12 | hexval(s[3]) << 8 |
		    hexval(s[4]) << 4 | hexval(s[5]));
		s += 6;
		if (cp >= 0xD800 && cp <= 0xDBFF && end - s >= 6 &&
		    s[0] == '\\' && s[1] == 'u' && hexval(s[2]) >= 0 &&
		    hexval(s[3]) >= 0 && hexval(s[4]) >= 0 &&
		    hexval(s[5]) >= 0) {
			lo = (unsigned)(hexval(s[2]) << 12 |
			    hexval(s[3]) << 8 | hexval(s[4]) << 4 |
			    hexval(s[5]));
			if (lo >= 0xDC00 && lo <= 0xDFFF) {
				cp = 0x10000 + ((cp - 0xD800) << 10) +
				    (lo - 0xDC00);
				s += 6;
			}
		}
		/* A lone surrogate cannot be UTF-8: it becomes U+FFFD. */
		if (cp >= 0xD800 && cp <= 0xDFFF)
			cp = 0xFFFD;
		d = cdr_buf_reserve(out, 4);
		if (cp < 0x80) {
			d[0] = (char)cp;
			out->len += 1;
		} else if (cp < 0x800) {
			d[0] = (char)(0xC0 | cp >> 6);
			d[1] = (char)(0x80 | (cp & 0x3F));
			out->len += 2;
		} else if (cp < 0x10000) {
			d[0] = (char)(0xE0 | cp >> 12);
			d[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
			d[2] = (char)(0x80 | (cp & 0x3F));
			out->len += 3;
		} else {
			d[0] = (char)(0xF0 | cp >> 18);
			d[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
			d[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
			d[3] = (char)(0x80 | (cp & 0x3F));
			out->len += 4;
		}
		out->p[out->len] = '\0';
	}
	return 0;
}
