/*
 * Windows and groups.  A window is one bucket of one grain ([start, end));
 * each holds its own hash table of groups, so that a closed window in
 * streaming mode is freed whole.  Memory is the groups' states and keys:
 * it grows with the number of groups, not with the input.
 */
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "bigalloc.h"
#include "msg.h"

#include "rollup.h"

#define DAY_USEC (INT64_C(86400) * CDR_USEC_PER_SEC)
#define CHUNK_MAX ((size_t)32 << 20)

static int64_t
floor_mod(int64_t a, int64_t b)
{
	int64_t m = a % b;

	return m < 0 ? m + b : m;
}

/*
 * Fixed grains that divide a day are counted from local midnight (from
 * midnight + --offset), so that hours in Asia/Kolkata start at :30 UTC
 * and a DST day has 23 or 25 hourly buckets, as date_trunc in the zone
 * gives; the last bucket of a day whose length is not a multiple of the
 * grain is cut at the day's end.  Other fixed grains are aligned to the
 * epoch (start = t - ((t - offset) mod size)).  In UTC both are the same.
 */
void
bucket(struct rollup *r, int gi, int64_t t, int64_t *start, int64_t *end)
{
	struct grain *gr = &r->grains[gi];
	const struct cdr_grain *g = &gr->g;
	struct cdr_grain day;
	int64_t ds, de, k;

	if (g->unit != CDR_G_FIXED) {
		cdr_grain_bucket(g, r->tz, t, start, end);
		return;
	}
	if (!gr->day_relative) {
		*start = t - floor_mod(t - r->offset, g->usec);
		*end = *start + g->usec;
		return;
	}
	memset(&day, 0, sizeof(day));
	day.unit = CDR_G_DAY;
	day.n = 1;
	day.week_start = 1;
	cdr_grain_bucket(&day, r->tz, t - r->offset, &ds, &de);
	ds += r->offset;
	de += r->offset;
	k = (t - ds) / g->usec;
	*start = ds + k * g->usec;
	*end = *start + g->usec < de ? *start + g->usec : de;
}

static size_t
whash_of(int grain, int64_t start, size_t n)
{
	uint64_t h = (uint64_t)start * UINT64_C(0x9e3779b97f4a7c15) ^
	    (uint64_t)(grain + 1) * UINT64_C(0xc2b2ae3d27d4eb4f);

	return (size_t)(h >> 17) & (n - 1);
}

static void
whash_grow(struct rollup *r)
{
	struct window **old = r->whash, *w, *next;
	size_t oldn = r->nwhash, i, h;

	r->nwhash = r->nwhash ? r->nwhash * 2 : 64;
	r->whash = cdr_xcalloc(r->nwhash, sizeof(*r->whash));
	for (i = 0; i < oldn; i++) {
		for (w = old[i]; w != NULL; w = next) {
			next = w->hnext;
			h = whash_of(w->grain, w->start, r->nwhash);
			w->hnext = r->whash[h];
			r->whash[h] = w;
		}
	}
	free(old);
}

struct window *
window_get(struct rollup *r, int grain, int64_t start, int64_t end)
{
	struct window *w;
	size_t h;

	if (r->nwhash == 0)
		whash_grow(r);
	h = whash_of(grain, start, r->nwhash);
	for (w = r->whash[h]; w != NULL; w = w->hnext)
		if (w->grain == grain && w->start == start)
			return w;
	if (r->nwindows + 1 > r->nwhash)
		whash_grow(r);
	w = cdr_xcalloc(1, sizeof(*w));
	w->grain = grain;
	w->start = start;
	w->end = end;
	h = whash_of(grain, start, r->nwhash);
	w->hnext = r->whash[h];
	r->whash[h] = w;
	if (r->nwindows == r->capwindows) {
		r->capwindows = r->capwindows ? r->capwindows * 2 : 64;
		r->windows = cdr_xreallocarray(r->windows, r->capwindows,
		    sizeof(*r->windows));
	}
	w->index = r->nwindows;
	r->windows[r->nwindows++] = w;
	return w;
}

struct window *
window_for(struct rollup *r, int gi, int64_t t)
{
	struct grain *gr = &r->grains[gi];
	struct window *w = gr->last;
	int64_t start, end;

	if (w != NULL && t >= w->start && t < w->end)
		return w;
	bucket(r, gi, t, &start, &end);
	w = window_get(r, gi, start, end);
	gr->last = w;
	return w;
}

void
window_free(struct rollup *r, struct window *w)
{
	struct window **pp;
	size_t i;

	for (i = 0; i < w->nslot; i++) {
		if (w->slot[i] != NULL) {
			agg_free(r, w->slot[i]);
			r->state_bytes -= sizeof(struct group) +
			    r->state_size + w->slot[i]->keylen;
		}
	}
	while (w->chunks != NULL) {
		struct chunk *c = w->chunks;

		w->chunks = c->next;
		free(c);
	}
	r->state_bytes -= w->nslot * sizeof(*w->slot);
	r->ngroups -= w->ngroups;
	free(w->slot);
	for (pp = &r->whash[whash_of(w->grain, w->start, r->nwhash)];
	    *pp != NULL; pp = &(*pp)->hnext) {
		if (*pp == w) {
			*pp = w->hnext;
			break;
		}
	}
	r->windows[w->index] = r->windows[--r->nwindows];
	r->windows[w->index]->index = w->index;
	for (i = 0; i < r->ngrains; i++)
		if (r->grains[i].last == w)
			r->grains[i].last = NULL;
	free(w);
}

static void
slots_grow(struct rollup *r, struct window *w)
{
	struct group **old = w->slot;
	size_t oldn = w->nslot, i, j, mask;

	w->nslot = w->nslot ? w->nslot * 2 : 16;
	w->slot = cdr_big_calloc(w->nslot, sizeof(*w->slot));
	r->state_bytes += (w->nslot - oldn) * sizeof(*w->slot);
	mask = w->nslot - 1;
	for (i = 0; i < oldn; i++) {
		if (old[i] == NULL)
			continue;
		for (j = (size_t)old[i]->hash & mask; w->slot[j] != NULL;
		    j = (j + 1) & mask)
			;
		w->slot[j] = old[i];
	}
	free(old);
}

/*
 * Memory for a new group from the window's chunks.  Chunks double from
 * 4 KiB to 32 MiB; the big ones ask for huge pages, so that millions of
 * groups cost few page faults, and are faulted in by another thread
 * ahead of use (cdr_big_ahead): with millions of groups, zeroing fresh
 * pages is much of the work.
 */
static void *
group_alloc(struct rollup *r, struct window *w, size_t n, size_t align)
{
	struct chunk *c = w->chunks;
	size_t cap;
	void *p;

	n = (n + align - 1) & ~(align - 1);
	if (c == NULL || c->cap - c->used < n) {
		cap = c == NULL ? 4096 : c->cap * 2;
		if (cap > CHUNK_MAX)
			cap = CHUNK_MAX;
		while (cap < n)
			cap *= 2;
		if (cap == CHUNK_MAX && n <= CHUNK_MAX) {
			if (r->chunk_ahead == NULL)
				r->chunk_ahead = cdr_big_ahead_new(
				    sizeof(*c) + CHUNK_MAX);
			c = cdr_big_ahead_get(r->chunk_ahead);
		} else {
			c = cdr_big_alloc(sizeof(*c) + cap);
		}
		c->next = w->chunks;
		c->used = 0;
		c->cap = cap;
		w->chunks = c;
	}
	p = c->mem + c->used;
	c->used += n;
	return p;
}

_Noreturn void
memory_exceeded(const struct rollup *r)
{
	cdr_die(CDR_EXIT_IO, "group state passed %llu MiB with %llu groups "
	    "(--max-memory): nothing written; raise --max-memory, or shard "
	    "the input (cdr-partition --by-hash) and merge --partial outputs",
	    (unsigned long long)(r->max_memory >> 20),
	    (unsigned long long)r->ngroups);
}

struct group *
group_get(struct rollup *r, struct window *w, const char *key,
    size_t keylen, uint64_t hash)
{
	struct group *g;
	size_t j, mask;

	if (w->nslot == 0)
		slots_grow(r, w);
	mask = w->nslot - 1;
	for (j = (size_t)hash & mask; (g = w->slot[j]) != NULL;
	    j = (j + 1) & mask) {
		if (g->hash == (uint32_t)hash && g->keylen == keylen &&
		    (keylen == 0 || memcmp(GROUP_KEY(r, g), key, keylen) == 0))
			return g;
	}
	if (r->max_groups != 0 && r->ngroups >= r->max_groups)
		cdr_die(CDR_EXIT_IO, "more than %llu groups (--max-groups): "
		    "nothing written", (unsigned long long)r->max_groups);
	if (r->max_memory != 0 && r->state_bytes > r->max_memory)
		memory_exceeded(r);
	g = group_alloc(r, w, GROUP_STATE_AT(r, keylen) + r->state_size,
	    r->group_align);
	g->hash = (uint32_t)hash;
	g->keylen = (uint32_t)keylen;
	if (keylen > 0)
		memcpy(GROUP_KEY(r, g), key, keylen);
	agg_init(r, g);
	r->state_bytes += sizeof(*g) + r->state_size + keylen;
	r->ngroups++;
	w->slot[j] = g;
	w->ngroups++;
	if (w->ngroups * 10 > w->nslot * 7)
		slots_grow(r, w);
	return g;
}

/* ---- keys ---- */

void
key_add(struct cdr_buf *b, int tag, const char *s, size_t n)
{
	uint32_t len = (uint32_t)n;
	char *p = cdr_buf_reserve(b, 5 + n);

	p[0] = (char)tag;
	memcpy(p + 1, &len, 4);
	if (n > 0)
		memcpy(p + 5, s, n);
	b->len += 5 + n;
	b->p[b->len] = '\0';
}

int
key_next(const char **p, const char *end, int *tag, const char **s,
    size_t *n)
{
	uint32_t len;

	if (*p >= end)
		return 0;
	*tag = (unsigned char)(*p)[0];
	memcpy(&len, *p + 1, 4);
	*s = *p + 5;
	*n = len;
	*p += 5 + len;
	return 1;
}

uint64_t
key_hash(const char *key, size_t n)
{
	return XXH3_64bits(key, n);
}

/* Null first, then numbers and other JSON by value, then strings by bytes. */
int
key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	const char *pa = a, *pb = b, *ea = a + alen, *eb = b + blen, *sa, *sb;
	size_t na, nb;
	int ta, tb, c;

	while (key_next(&pa, ea, &ta, &sa, &na) &&
	    key_next(&pb, eb, &tb, &sb, &nb)) {
		if (ta != tb)
			return ta < tb ? -1 : 1;
		if (ta == KT_RAW) {
			struct val x, y;

			if (num_parse(sa, na, &x) == 0 &&
			    num_parse(sb, nb, &y) == 0 &&
			    (c = val_cmp_num(&x, &y)) != 0)
				return c;
		}
		c = memcmp(sa, sb, na < nb ? na : nb);
		if (c != 0)
			return c < 0 ? -1 : 1;
		if (na != nb)
			return na < nb ? -1 : 1;
	}
	return alen < blen ? -1 : alen > blen;
}

/*
 * Sorting compares a prefix first: for a first key column that is a
 * string, its first 8 bytes as a big-endian number (shorter strings padded
 * with zero bytes, which keeps byte order).  Equal prefixes fall back to
 * key_cmp, so the order is key_cmp's.  An entry is 16 bytes, and the
 * sorted group pointers are written over the entries: with millions of
 * groups the sort's memory is a tenth of the groups'.
 */
struct sortent {
	uint64_t	 head;
	struct group	*g;
};

/* The tag of the first key column (KT_NULL for no key), and its prefix. */
static int
sort_prefix(const struct rollup *r, struct sortent *e, struct group *g)
{
	const char *p = GROUP_KEY(r, g), *s;
	size_t n, i;
	int tag;

	e->g = g;
	e->head = 0;
	if (!key_next(&p, GROUP_KEY(r, g) + g->keylen, &tag, &s, &n))
		return KT_NULL;
	if (tag != KT_STR)
		return tag;
	for (i = 0; i < 8; i++)
		e->head = e->head << 8 | (i < n ? (unsigned char)s[i] : 0);
	return tag;
}

static int
first_tag(const struct rollup *r, const struct group *g)
{
	return g->keylen == 0 ? KT_NULL : (unsigned char)GROUP_KEY(r, g)[0];
}

static int
sortent_cmp(const void *x, const void *y, void *arg)
{
	const struct sortent *a = x, *b = y;
	const struct rollup *r = arg;
	int ta = first_tag(r, a->g), tb = first_tag(r, b->g);

	if (ta != tb)
		return ta < tb ? -1 : 1;
	if (a->head != b->head)
		return a->head < b->head ? -1 : 1;
	return key_cmp(GROUP_KEY(r, a->g), a->g->keylen, GROUP_KEY(r, b->g),
	    b->g->keylen);
}

/*
 * Least significant byte first radix sort of entries by head, 8 bits a
 * pass; passes where every entry has the same byte are skipped (ids with
 * a common prefix).  Stable, so equal heads keep their order for the
 * fix-up that follows.
 */
static void
radix_sort(struct sortent *e, size_t n)
{
	struct sortent *tmp = cdr_xcalloc(n, sizeof(*tmp)), *src = e,
	    *dst = tmp, *x;
	size_t count[256], i, pos;
	int shift, b;

	for (shift = 0; shift < 64; shift += 8) {
		memset(count, 0, sizeof(count));
		for (i = 0; i < n; i++)
			count[(src[i].head >> shift) & 255]++;
		if (count[(src[0].head >> shift) & 255] == n)
			continue;
		for (b = 0, pos = 0; b < 256; b++) {
			size_t c = count[b];

			count[b] = pos;
			pos += c;
		}
		for (i = 0; i < n; i++)
			dst[count[(src[i].head >> shift) & 255]++] = src[i];
		x = src;
		src = dst;
		dst = x;
	}
	if (src != e)
		memcpy(e, src, n * sizeof(*e));
	free(tmp);
}

/* The window's groups in key order (a new array, NULL after the last). */
struct group **
window_sorted(const struct rollup *r, const struct window *w)
{
	struct sortent *e = cdr_xcalloc(w->ngroups + 1, sizeof(*e));
	struct group **v = (struct group **)(void *)e;
	size_t i, j, n = 0;
	int one_tag = 1, tag, tag0 = KT_NULL;

	for (i = 0; i < w->nslot; i++) {
		if (i + 8 < w->nslot && w->slot[i + 8] != NULL)
			__builtin_prefetch(GROUP_KEY(r, w->slot[i + 8]));
		if (w->slot[i] != NULL) {
			tag = sort_prefix(r, &e[n], w->slot[i]);
			if (n == 0)
				tag0 = tag;
			one_tag &= tag == tag0;
			n++;
		}
	}
	if (one_tag && n > 1024) {
		/* Then only runs of equal heads need comparing. */
		radix_sort(e, n);
		for (i = 0; i < n; i = j) {
			for (j = i + 1; j < n && e[j].head == e[i].head; j++)
				;
			if (j - i > 1)
				qsort_r(e + i, j - i, sizeof(*e), sortent_cmp,
				    (void *)r);
		}
	} else {
		qsort_r(e, n, sizeof(*e), sortent_cmp, (void *)r);
	}
	/* v[i] is at or before e[i]: each entry is read before it is written. */
	for (i = 0; i < n; i++)
		v[i] = e[i].g;
	v[n] = NULL;
	return v;
}
