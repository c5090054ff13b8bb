/*
 * Field access over the node tape: dotted paths, navigation, unescaping
 * and number conversion.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

static int key_equals_esc(const struct cdr_node *nd, const char *name,
    size_t n) __attribute__((noinline));
static void set_value(const struct cdr_record *rec, uint32_t i,
    struct cdr_value *v);
static void set_missing(const struct cdr_record *rec, struct cdr_value *v);
static int csv_unquote(const char *s, size_t n, struct cdr_buf *out);
static int get_hint_slow(const struct cdr_record *rec,
    const struct cdr_path *path, struct cdr_value *v, uint32_t *hint)
    __attribute__((noinline));

int
cdr_path_init(struct cdr_path *path, const char *dotted)
{
	const char *s, *dot;
	size_t i;

	memset(path, 0, sizeof(*path));
	if (*dotted == '\0')
		return -1;
	path->text = cdr_xstrdup(dotted);
	path->textlen = strlen(dotted);
	path->nseg = 1;
	for (s = dotted; *s; s++)
		if (*s == '.')
			path->nseg++;
	path->seg = cdr_xcalloc(path->nseg, sizeof(*path->seg));
	s = path->text;
	for (i = 0; i < path->nseg; i++) {
		dot = strchr(s, '.');
		path->seg[i].s = s;
		path->seg[i].n = dot ? (size_t)(dot - s) : strlen(s);
		s = dot ? dot + 1 : s + strlen(s);
	}
	return 0;
}

void
cdr_path_free(struct cdr_path *path)
{
	free(path->text);
	free(path->seg);
	memset(path, 0, sizeof(*path));
}

/* Whether a member's name is name; the length decides most cases. */
static inline int
key_equals(const struct cdr_node *nd, const char *name, size_t n)
{
	if (nd->key == NULL)
		return 0;
	if (!(nd->flags & CDR_N_KEY_ESC))
		return nd->klen == n && cdr_bytes_equal(nd->key, name, n);
	return key_equals_esc(nd, name, n);
}

static int
key_equals_esc(const struct cdr_node *nd, const char *name, size_t n)
{
	struct cdr_buf b = CDR_BUF_INIT;
	int eq;

	eq = cdr_json_unescape(nd->key, nd->klen, &b) == 0 && b.len == n &&
	    memcmp(b.p, name, n) == 0;
	cdr_buf_free(&b);
	return eq;
}

static void
set_value(const struct cdr_record *rec, uint32_t i, struct cdr_value *v)
{
	const struct cdr_node *nd = &rec->nodes[i];

	v->rec = rec;
	v->node = i;
	v->type = (enum cdr_type)nd->type;
	v->p = nd->val;
	v->len = nd->vlen;
}

static void
set_missing(const struct cdr_record *rec, struct cdr_value *v)
{
	v->rec = rec;
	v->node = 0;
	v->type = CDR_T_MISSING;
	v->p = NULL;
	v->len = 0;
}

void
cdr_record_root(const struct cdr_record *rec, struct cdr_value *v)
{
	if (rec->nnodes == 0)
		set_missing(rec, v);
	else
		set_value(rec, 0, v);
}

static uint32_t
name_hash(const char *s, size_t n)
{
	uint32_t a = 0, b = 0, h;
	size_t i;

	if (n >= 4) {
		memcpy(&a, s, 4);
		memcpy(&b, s + n - 4, 4);
	} else {
		for (i = 0; i < n; i++)
			a = a << 8 | (unsigned char)s[i];
	}
	h = a * UINT32_C(0x9e3779b1) ^ b * UINT32_C(0x85ebca77) ^
	    (uint32_t)n * UINT32_C(0xc2b2ae3d);
	return h ^ h >> 15;
}

/*
 * Fills the root index: open addressing over member names, the first of
 * duplicate names kept (as the scan finds it).  Escaped names and very
 * wide records keep the scan.
 */
static int
root_index(struct cdr_record *rec)
{
	const uint32_t mask = CDR_ROOT_SLOTS - 1;
	const struct cdr_node *nd, *o;
	uint32_t i, h, count = 0;

	memset(rec->root_slot, 0, sizeof(rec->root_slot));
	for (i = 1; i != 0; i = rec->nodes[i].next) {
		nd = &rec->nodes[i];
		if ((nd->flags & CDR_N_KEY_ESC) || nd->key == NULL ||
		    ++count > CDR_ROOT_SLOTS / 2)
			return -1;
		for (h = name_hash(nd->key, nd->klen) & mask;
		    rec->root_slot[h] != 0; h = (h + 1) & mask) {
			o = &rec->nodes[rec->root_slot[h]];
			if (o->klen == nd->klen &&
			    cdr_bytes_equal(o->key, nd->key, nd->klen))
				break;
		}
		if (rec->root_slot[h] == 0)
			rec->root_slot[h] = i;
	}
	return 1;
}

/* A top-level member through the index: 1 found, 0 missing, -1 no index. */
static int
root_member(const struct cdr_record *crec, const char *name, size_t n,
    uint32_t *found)
{
	/* The index is a cache: filling it does not change the record. */
	struct cdr_record *rec = (struct cdr_record *)crec;
	const uint32_t mask = CDR_ROOT_SLOTS - 1;
	const struct cdr_node *nd;
	uint32_t h;

	if (rec->root_indexed == 0)
		rec->root_indexed = root_index(rec);
	if (rec->root_indexed < 0)
		return -1;
	for (h = name_hash(name, n) & mask; rec->root_slot[h] != 0;
	    h = (h + 1) & mask) {
		nd = &rec->nodes[rec->root_slot[h]];
		if (nd->klen == n && cdr_bytes_equal(nd->key, name, n)) {
			*found = rec->root_slot[h];
			return 1;
		}
	}
	return 0;
}

int
cdr_value_member(const struct cdr_value *obj, const char *name, size_t n,
    struct cdr_value *v)
{
	const struct cdr_record *rec = obj->rec;
	uint32_t i;
	int rc;

	if (obj->node == 0 && rec->root_keys_ok &&
	    !(rec->root_keys & cdr_key_bit(name, n))) {
		set_missing(rec, v);
		return 0;
	}
	/* Small objects are scanned; wide top-level ones use the index. */
	if (obj->node == 0 && obj->type == CDR_T_OBJECT &&
	    rec->nodes[0].nchild > 6 &&
	    (rc = root_member(rec, name, n, &i)) >= 0) {
		if (rc == 1) {
			set_value(rec, i, v);
			return 1;
		}
		set_missing(rec, v);
		return 0;
	}
	if (obj->type == CDR_T_OBJECT && rec->nodes[obj->node].nchild > 0) {
		for (i = obj->node + 1; i != 0; i = rec->nodes[i].next) {
			/* Most members differ in length: skip them cheaply. */
			if (rec->nodes[i].klen != n &&
			    !(rec->nodes[i].flags & CDR_N_KEY_ESC))
				continue;
			if (key_equals(&rec->nodes[i], name, n)) {
				set_value(rec, i, v);
				return 1;
			}
		}
	}
	set_missing(rec, v);
	return 0;
}

int
cdr_record_get(const struct cdr_record *rec, const struct cdr_path *path,
    struct cdr_value *v)
{
	struct cdr_value cur;
	size_t i;

	cdr_record_root(rec, &cur);
	if (cur.type != CDR_T_OBJECT) {
		*v = cur;
		return 0;
	}
	for (i = 0; i < path->nseg; i++) {
		if (!cdr_value_member(&cur, path->seg[i].s, path->seg[i].n,
		    &cur))
			break;
	}
	if (i == path->nseg) {
		*v = cur;
		return 1;
	}
	/* A member literally named "a.b" (CSV columns, dotted JSON keys). */
	if (path->nseg > 1) {
		cdr_record_root(rec, &cur);
		return cdr_value_member(&cur, path->text, path->textlen, v);
	}
	*v = cur;
	return 0;
}

/*
 * cdr_record_get_hint in full: any key (escaped, long), and a look-up
 * without the hint when it does not hold.
 */
static int
get_hint_slow(const struct cdr_record *rec, const struct cdr_path *path,
    struct cdr_value *v, uint32_t *hint)
{
	const struct cdr_node *nd;
	uint32_t i = *hint;
	size_t seg = path->nseg;

	/* A top-level name the record does not have: the common miss. */
	if (seg == 1 && rec->root_keys_ok &&
	    !(rec->root_keys & cdr_key_bit(path->seg[0].s, path->seg[0].n))) {
		set_missing(rec, v);
		return 0;
	}
	if (i > 0 && i < rec->nnodes) {
		while (seg > 0 && i > 0) {
			nd = &rec->nodes[i];
			if (!key_equals(nd, path->seg[seg - 1].s,
			    path->seg[seg - 1].n))
				break;
			seg--;
			i = nd->parent;
		}
		if (seg == 0 && i == 0) {
			set_value(rec, *hint, v);
			return 1;
		}
	}
	if (!cdr_record_get(rec, path, v))
		return 0;
	*hint = v->node;
	return 1;
}

int
cdr_record_get_hint(const struct cdr_record *rec, const struct cdr_path *path,
    struct cdr_value *v, uint32_t *hint)
{
	const struct cdr_node *nd;
	const struct cdr_seg *sg;
	uint32_t i = *hint;
	size_t seg = path->nseg;

	/*
	 * Walk up from the hinted node, matching segments backwards.  This
	 * loop calls nothing, so that it saves no registers: escaped and
	 * long names, and a hint that does not hold, go to get_hint_slow.
	 */
	if (i == 0 || i >= rec->nnodes)
		return get_hint_slow(rec, path, v, hint);
	while (seg > 0 && i > 0) {
		nd = &rec->nodes[i];
		sg = &path->seg[seg - 1];
		if ((nd->flags & CDR_N_KEY_ESC) || sg->n > 16)
			return get_hint_slow(rec, path, v, hint);
		if (nd->key == NULL || nd->klen != sg->n ||
		    !cdr_bytes_equal(nd->key, sg->s, sg->n))
			return get_hint_slow(rec, path, v, hint);
		seg--;
		i = nd->parent;
	}
	if (seg != 0 || i != 0)
		return get_hint_slow(rec, path, v, hint);
	set_value(rec, *hint, v);
	return 1;
}

int
cdr_value_child(const struct cdr_value *parent, struct cdr_value *v)
{
	if ((parent->type != CDR_T_OBJECT && parent->type != CDR_T_ARRAY) ||
	    parent->rec->nodes[parent->node].nchild == 0) {
		set_missing(parent->rec, v);
		return 0;
	}
	set_value(parent->rec, parent->node + 1, v);
	return 1;
}

int
cdr_value_next(struct cdr_value *v)
{
	uint32_t nx;

	if (v->type == CDR_T_MISSING)
		return 0;
	nx = v->rec->nodes[v->node].next;
	if (nx == 0) {
		set_missing(v->rec, v);
		return 0;
	}
	set_value(v->rec, nx, v);
	return 1;
}

const char *
cdr_value_key(const struct cdr_value *v, struct cdr_buf *scratch, size_t *len)
{
	const struct cdr_node *nd;

	if (v->type == CDR_T_MISSING)
		return NULL;
	nd = &v->rec->nodes[v->node];
	if (nd->key == NULL)
		return NULL;
	if (!(nd->flags & CDR_N_KEY_ESC)) {
		*len = nd->klen;
		return nd->key;
	}
	cdr_buf_reset(scratch);
	if (cdr_json_unescape(nd->key, nd->klen, scratch) != 0)
		return NULL;
	*len = scratch->len;
	return scratch->p;
}

/* A quoted CSV cell's content with doubled quotes made single. */
static int
csv_unquote(const char *s, size_t n, struct cdr_buf *out)
{
	const char *end = s + n, *q;

	while (s < end) {
		q = memchr(s, '"', (size_t)(end - s));
		if (q == NULL) {
			cdr_buf_add(out, s, (size_t)(end - s));
			break;
		}
		cdr_buf_add(out, s, (size_t)(q - s) + 1);
		s = q + 2;
	}
	return 0;
}

const char *
cdr_value_str(const struct cdr_value *v, struct cdr_buf *scratch, size_t *len)
{
	const struct cdr_node *nd;

	if (v->type == CDR_T_MISSING) {
		*len = 0;
		return "";
	}
	nd = &v->rec->nodes[v->node];
	if (v->type != CDR_T_STRING || !(nd->flags & CDR_N_VAL_ESC)) {
		*len = v->len;
		return v->p;
	}
	cdr_buf_reset(scratch);
	if (nd->flags & CDR_N_CSV)
		csv_unquote(v->p, v->len, scratch);
	else if (cdr_json_unescape(v->p, v->len, scratch) != 0)
		return NULL;
	*len = scratch->len;
	return scratch->p;
}

/* Whether s[0..n) is a JSON number (strict grammar). */
static int
is_json_number(const char *s, size_t n)
{
	const char *p = s, *end = s + n;

	if (p < end && *p == '-')
		p++;
	if (p >= end)
		return 0;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	else
		return 0;
	if (p < end && *p == '.') {
		if (++p >= end || *p < '0' || *p > '9')
			return 0;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || *p < '0' || *p > '9')
			return 0;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	return p == end;
}

/*
 * Decimal numbers with at most 15 significant digits and a small power of
 * ten convert exactly with one multiplication or division (both operands
 * are exact doubles, so the one rounding is the correct one).  Others go
 * to strtod.  Returns 0 when it handled s.
 */
static int
fast_double(const char *s, size_t n, double *d)
{
	static const double pow10[] = {
		1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
		1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
	};
	const char *p = s, *end = s + n;
	uint64_t m = 0;
	int digits = 0, frac = 0, neg = 0;

	if (p < end && *p == '-') {
		neg = 1;
		p++;
	}
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		m = m * 10 + (uint64_t)(*p - '0');
		if (m != 0)
			digits++;
	}
	if (p < end && *p == '.') {
		for (p++; p < end && *p >= '0' && *p <= '9'; p++) {
			m = m * 10 + (uint64_t)(*p - '0');
			if (m != 0)
				digits++;
			frac++;
		}
	}
	if (p != end || digits > 15 || frac > 22)
		return -1;
	*d = (double)m / pow10[frac];
	if (neg)
		*d = -*d;
	return 0;
}

int
cdr_value_double(const struct cdr_value *v, double *d)
{
	char tmp[64], *endp;
	double x;

	if (v->type != CDR_T_NUMBER && v->type != CDR_T_STRING)
		return -1;
	if (v->len == 0 || v->len >= sizeof(tmp) || !is_json_number(v->p, v->len))
		return -1;
	if (fast_double(v->p, v->len, d) == 0)
		return 0;
	memcpy(tmp, v->p, v->len);
	tmp[v->len] = '\0';
	errno = 0;
	x = strtod(tmp, &endp);
	if (*endp != '\0' || (errno == ERANGE && isinf(x)) || !isfinite(x))
		return -1;
	*d = x;
	return 0;
}

int
cdr_value_int64(const struct cdr_value *v, int64_t *i)
{
	const char *p = v->p, *end = v->p + v->len;
	uint64_t acc = 0, lim;
	int neg = 0;
	double d;

	if (v->type != CDR_T_NUMBER && v->type != CDR_T_STRING)
		return -1;
	if (v->len == 0 || !is_json_number(v->p, v->len))
		return -1;
	if (*p == '-') {
		neg = 1;
		p++;
	}
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (acc > (lim - (uint64_t)(*p - '0')) / 10)
			return -1;
		acc = acc * 10 + (uint64_t)(*p - '0');
	}
	if (p != end) {
		/* 1.0 or 1e3: an integer only if the value is integral. */
		if (cdr_value_double(v, &d) != 0 || d != floor(d) ||
		    d < -9223372036854775808.0 || d >= 9223372036854775808.0)
			return -1;
		*i = (int64_t)d;
		return 0;
	}
	*i = neg ? (int64_t)(0 - acc) : (int64_t)acc;
	return 0;
}

const char *
cdr_type_name(enum cdr_type t)
{
	static const char *const names[] = {
		"missing", "null", "boolean", "boolean", "number", "string",
		"object", "array"
	};

	return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] :
	    "unknown";
}
