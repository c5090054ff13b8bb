/*
 * De-duplication set and its state file.
 *
 * A key is a duplicate when the same key was seen before with an event
 * time not older than max_time - horizon, where max_time is the latest
 * event time seen so far (over all runs that shared the state file).
 * Entries older than that are expired: ignored on look-up and dropped when
 * the table is rebuilt or saved.  Because expiry depends only on max_time
 * at the moment of the look-up, the answer is the same whether the input
 * comes in one run or in many.
 *
 * State file (little-endian): "CDRDEDUP", u32 version (1), u32 length of
 * the key spec, the spec bytes, i64 horizon, i64 max_time, u64 count, then
 * count entries of (u64 lo, u64 hi, i64 time), then the XXH64 (seed 0) of
 * everything before it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "bigalloc.h"
#include "buf.h"
#include "dedupe.h"
#include "msg.h"
#include "out.h"

#define STATE_MAGIC "CDRDEDUP"
#define STATE_VERSION 1

static void grow(struct dedupe *d);

void
dedupe_init(struct dedupe *d, const char *spec, int64_t horizon,
    uint64_t max_keys)
{
	memset(d, 0, sizeof(*d));
	d->cap = 1024;
	d->slots = cdr_xcalloc(d->cap, sizeof(*d->slots));
	d->horizon = horizon;
	d->max_time = INT64_MIN;
	d->max_keys = max_keys;
	d->spec = cdr_xstrdup(spec);
}

void
dedupe_free(struct dedupe *d)
{
	free(d->slots);
	free(d->spec);
	memset(d, 0, sizeof(*d));
}

void
dedupe_key(const struct cdr_record *rec, const struct cdr_path *paths,
    uint32_t *hints, size_t n, uint64_t *lo, uint64_t *hi)
{
	static struct cdr_buf key = CDR_BUF_INIT, scratch = CDR_BUF_INIT;
	struct cdr_value v;
	XXH128_hash_t h;
	const char *s;
	size_t i, len;
	uint32_t l32;
	char tag;

	cdr_buf_reset(&key);
	for (i = 0; i < n; i++) {
		if (!cdr_record_get_hint(rec, &paths[i], &v, &hints[i]) ||
		    v.type == CDR_T_NULL) {
			/* Tag 'm' or 'n' and no bytes: distinct from "". */
			cdr_buf_addc(&key, v.type == CDR_T_NULL ? 'n' : 'm');
			continue;
		}
		tag = v.type == CDR_T_STRING ? 's' : 'v';
		s = cdr_value_str(&v, &scratch, &len);
		if (s == NULL) {
			s = v.p;
			len = v.len;
		}
		l32 = (uint32_t)len;
		cdr_buf_addc(&key, tag);
		cdr_buf_add(&key, &l32, sizeof(l32));
		cdr_buf_add(&key, s, len);
	}
	h = XXH3_128bits(key.p, key.len);
	*lo = h.low64;
	*hi = h.high64;
	if (*lo == 0 && *hi == 0)
		*lo = 1;
}

static int
expired(const struct dedupe *d, int64_t t)
{
	return d->horizon > 0 && d->max_time != INT64_MIN &&
	    t < d->max_time - d->horizon;
}

static void
put(struct dedupe_slot *slots, size_t cap, const struct dedupe_slot *s)
{
	size_t i = (size_t)s->lo & (cap - 1);

	while (slots[i].lo != 0 || slots[i].hi != 0)
		i = (i + 1) & (cap - 1);
	slots[i] = *s;
}

/* Rebuilds the table without expired entries, doubling it when needed. */
static void
grow(struct dedupe *d)
{
	struct dedupe_slot *old = d->slots, *slots;
	size_t i, live = 0, cap = d->cap;

	for (i = 0; i < d->cap; i++)
		if ((old[i].lo != 0 || old[i].hi != 0) &&
		    !expired(d, old[i].time))
			live++;
	while (live * 2 > cap)
		cap *= 2;
	slots = cdr_big_calloc(cap, sizeof(*slots));
	for (i = 0; i < d->cap; i++)
		if ((old[i].lo != 0 || old[i].hi != 0) &&
		    !expired(d, old[i].time))
			put(slots, cap, &old[i]);
	free(old);
	d->slots = slots;
	d->cap = cap;
	d->count = live;
	if (d->max_keys > 0 && live > d->max_keys)
		cdr_die(CDR_EXIT_IO, "de-duplication holds %zu keys, more than "
		    "--dedupe-max-keys %llu (shorten --horizon or raise the "
		    "limit)", live, (unsigned long long)d->max_keys);
}

enum dedupe_result
dedupe_check(struct dedupe *d, uint64_t lo, uint64_t hi, int64_t t)
{
	struct dedupe_slot *s, n;
	size_t i;

	if (expired(d, t)) {
		d->late++;
		return DEDUPE_LATE;
	}
	i = (size_t)lo & (d->cap - 1);
	for (;;) {
		s = &d->slots[i];
		if (s->lo == 0 && s->hi == 0)
			break;
		if (s->lo == lo && s->hi == hi) {
			if (expired(d, s->time)) {
				/* Seen too long ago: this copy starts anew. */
				s->time = t;
				if (t > d->max_time)
					d->max_time = t;
				return DEDUPE_NEW;
			}
			return DEDUPE_DUPLICATE;
		}
		i = (i + 1) & (d->cap - 1);
	}
	n.lo = lo;
	n.hi = hi;
	n.time = t;
	*s = n;
	d->count++;
	if (t > d->max_time)
		d->max_time = t;
	if (d->count * 10 > d->cap * 6)
		grow(d);
	return DEDUPE_NEW;
}

static void
le64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
get64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int
dedupe_save(const struct dedupe *d, const char *path, char *err,
    size_t errlen)
{
	struct cdr_buf b = CDR_BUF_INIT;
	struct cdr_out *o;
	unsigned char w[24];
	uint64_t live = 0;
	uint32_t l;
	size_t i;

	cdr_buf_add(&b, STATE_MAGIC, 8);
	l = STATE_VERSION;
	w[0] = (unsigned char)l; w[1] = 0; w[2] = 0; w[3] = 0;
	cdr_buf_add(&b, w, 4);
	l = (uint32_t)strlen(d->spec);
	w[0] = (unsigned char)l; w[1] = (unsigned char)(l >> 8);
	w[2] = (unsigned char)(l >> 16); w[3] = (unsigned char)(l >> 24);
	cdr_buf_add(&b, w, 4);
	cdr_buf_add(&b, d->spec, l);
	le64(w, (uint64_t)d->horizon);
	le64(w + 8, (uint64_t)d->max_time);
	cdr_buf_add(&b, w, 16);
	for (i = 0; i < d->cap; i++)
		if ((d->slots[i].lo || d->slots[i].hi) &&
		    !expired(d, d->slots[i].time))
			live++;
	le64(w, live);
	cdr_buf_add(&b, w, 8);
	for (i = 0; i < d->cap; i++) {
		const struct dedupe_slot *s = &d->slots[i];

		if ((s->lo == 0 && s->hi == 0) || expired(d, s->time))
			continue;
		le64(w, s->lo);
		le64(w + 8, s->hi);
		le64(w + 16, (uint64_t)s->time);
		cdr_buf_add(&b, w, 24);
	}
	le64(w, XXH64(b.p, b.len, 0));
	cdr_buf_add(&b, w, 8);
	o = cdr_out_open(path, CDR_OUT_FORCE);
	if (o == NULL) {
		snprintf(err, errlen, "%s: cannot write state", path);
		cdr_buf_free(&b);
		return -1;
	}
	cdr_out_write(o, b.p, b.len);
	cdr_out_commit(o);
	cdr_buf_free(&b);
	return 0;
}

int
dedupe_load(struct dedupe *d, const char *path, char *err, size_t errlen)
{
	struct cdr_buf b = CDR_BUF_INIT;
	const unsigned char *p;
	struct dedupe_slot s;
	uint64_t count, i;
	uint32_t l;
	size_t n, pos;
	FILE *fp;
	char chunk[65536];

	fp = fopen(path, "rb");
	if (fp == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		cdr_buf_add(&b, chunk, n);
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: read error", path);
		fclose(fp);
		cdr_buf_free(&b);
		return -1;
	}
	fclose(fp);
	p = (const unsigned char *)b.p;
	if (b.len < 8 + 4 + 4 + 16 + 8 + 8 || memcmp(p, STATE_MAGIC, 8) != 0 ||
	    p[8] != STATE_VERSION || p[9] || p[10] || p[11])
		goto corrupt;
	if (get64(p + b.len - 8) != XXH64(p, b.len - 8, 0))
		goto corrupt;
	l = (uint32_t)p[12] | (uint32_t)p[13] << 8 | (uint32_t)p[14] << 16 |
	    (uint32_t)p[15] << 24;
	pos = 16;
	if (l > b.len - pos - 40)
		goto corrupt;
	if (strlen(d->spec) != l || memcmp(p + pos, d->spec, l) != 0) {
		snprintf(err, errlen, "%s: state was made with --dedupe %.*s, "
		    "not %s", path, (int)l, p + pos, d->spec);
		cdr_buf_free(&b);
		return -1;
	}
	pos += l;
	/* The horizon of this run wins; the clock carries over. */
	d->max_time = (int64_t)get64(p + pos + 8);
	count = get64(p + pos + 16);
	pos += 24;
	if (count > (b.len - pos - 8) / 24 || (b.len - pos - 8) != count * 24)
		goto corrupt;
	for (i = 0; i < count; i++, pos += 24) {
		s.lo = get64(p + pos);
		s.hi = get64(p + pos + 8);
		s.time = (int64_t)get64(p + pos + 16);
		if (s.lo == 0 && s.hi == 0)
			goto corrupt;
		if (expired(d, s.time))
			continue;
		put(d->slots, d->cap, &s);
		d->count++;
		if (d->count * 10 > d->cap * 6)
			grow(d);
	}
	cdr_buf_free(&b);
	return 0;
corrupt:
	snprintf(err, errlen, "%s: not a valid de-duplication state file",
	    path);
	cdr_buf_free(&b);
	return -1;
}
