/*
 * Partial rows (--partial) and their merge (--merge).
 *
 * Format version 1, NDJSON.  A header line describes the states:
 *   {"cdr_rollup_partial":1,"header":true,"spec":"<16 hex>",
 *    "by":[{"name":..,"source":..}],"leaves":["count","sum(x)",..],
 *    "columns":[{"name":..,"expr":..}],"every":["1h"],
 *    "hll_precision":14,"quantiles":"ddsketch","alpha":0.01,"tz":"UTC"}
 * then one line per group and window:
 *   {"cdr_rollup_partial":1,"spec":"<16 hex>","grain":"1h",
 *    "window_start":"...Z","window_end":"...Z","key":[..],"state":[..]}
 * "spec" is a hash of the keys, the leaves and the sketch parameters; rows
 * of a known spec merge without their header (a header is needed to merge
 * into other --by keys or --agg columns).  Merged output can be partial
 * again: partials of partials.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "msg.h"
#include "write.h"

#include "rollup.h"

static void
put_str(struct cdr_buf *b, const char *s)
{
	json_str(b, s, strlen(s));
}

void
partial_write_header(struct rollup *r)
{
	struct cdr_buf *b = &r->line;
	size_t i;

	cdr_buf_reset(b);
	cdr_buf_printf(b, "{\"cdr_rollup_partial\":%d,\"header\":true,"
	    "\"spec\":\"%016llx\",\"by\":[", PARTIAL_VERSION,
	    (unsigned long long)r->fingerprint);
	for (i = 0; i < r->nkeys; i++) {
		cdr_buf_adds(b, i ? ",{\"name\":" : "{\"name\":");
		put_str(b, r->keys[i].name);
		cdr_buf_adds(b, ",\"source\":");
		put_str(b, r->keys[i].source);
		cdr_buf_addc(b, '}');
	}
	cdr_buf_adds(b, "],\"leaves\":[");
	for (i = 0; i < r->nleaves; i++) {
		if (i)
			cdr_buf_addc(b, ',');
		put_str(b, r->leaves[i].canon);
	}
	cdr_buf_adds(b, "],\"columns\":[");
	for (i = 0; i < r->ncols; i++) {
		cdr_buf_adds(b, i ? ",{\"name\":" : "{\"name\":");
		put_str(b, r->cols[i].name);
		cdr_buf_adds(b, ",\"expr\":");
		put_str(b, r->cols[i].text);
		cdr_buf_addc(b, '}');
	}
	cdr_buf_adds(b, "],\"every\":[");
	for (i = 0; i < r->ngrains; i++) {
		if (i)
			cdr_buf_addc(b, ',');
		put_str(b, r->grains[i].g.name);
	}
	cdr_buf_printf(b, "],\"hll_precision\":%d,\"quantiles\":\"%s\","
	    "\"alpha\":%.17g,\"tz\":", r->hll_precision,
	    r->exact ? "exact" : "ddsketch", r->alpha);
	put_str(b, cdr_tz_name(r->tz));
	cdr_buf_adds(b, "}\n");
	cdr_out_write(r->out, b->p, b->len);
}

void
partial_write_group(struct rollup *r, const struct window *w,
    const struct group *g)
{
	struct cdr_buf *b = &r->line;
	const char *p = GROUP_KEY(r, g), *end = p + g->keylen, *s;
	char ts[64];
	size_t i, n;
	int tag;

	cdr_buf_reset(b);
	cdr_buf_printf(b, "{\"cdr_rollup_partial\":%d,\"spec\":\"%016llx\","
	    "\"grain\":", PARTIAL_VERSION,
	    (unsigned long long)r->fingerprint);
	if (w->grain < 0) {
		cdr_buf_adds(b, "\"all\",\"window_start\":null,"
		    "\"window_end\":null");
	} else {
		put_str(b, r->grains[w->grain].g.name);
		cdr_time_format_iso(ts, sizeof(ts), w->start, NULL, -1);
		cdr_buf_printf(b, ",\"window_start\":\"%s\"", ts);
		cdr_time_format_iso(ts, sizeof(ts), w->end, NULL, -1);
		cdr_buf_printf(b, ",\"window_end\":\"%s\"", ts);
	}
	cdr_buf_adds(b, ",\"key\":[");
	for (i = 0; key_next(&p, end, &tag, &s, &n); i++) {
		if (i)
			cdr_buf_addc(b, ',');
		if (tag == KT_NULL) {
			cdr_buf_adds(b, "null");
		} else if (tag == KT_RAW) {
			cdr_buf_add(b, s, n);
		} else {
			json_str(b, s, n);
		}
	}
	cdr_buf_adds(b, "],\"state\":[");
	for (i = 0; i < r->nleaves; i++) {
		if (i)
			cdr_buf_addc(b, ',');
		agg_write_state(r, g, (int)i, b);
	}
	cdr_buf_adds(b, "]}\n");
	cdr_out_write(r->out, b->p, b->len);
	r->rows_out++;
}

/* ---- reading ---- */

static int
member(const struct cdr_value *root, const char *name, struct cdr_value *v)
{
	return cdr_value_member(root, name, strlen(name), v);
}

static char *
str_of(const struct cdr_value *v, struct cdr_buf *scratch)
{
	const char *s;
	size_t n;

	if (v->type != CDR_T_STRING)
		return NULL;
	s = cdr_value_str(v, scratch, &n);
	return cdr_xstrndup(s, n);
}

static struct spec *
spec_find(struct rollup *r, uint64_t fp)
{
	size_t i;

	for (i = 0; i < r->nspecs; i++)
		if (r->specs[i].fp == fp)
			return &r->specs[i];
	return NULL;
}

static struct spec *
spec_new(struct rollup *r, uint64_t fp)
{
	struct spec *s;

	r->specs = cdr_xreallocarray(r->specs, r->nspecs + 1,
	    sizeof(*r->specs));
	s = &r->specs[r->nspecs++];
	memset(s, 0, sizeof(*s));
	s->fp = fp;
	return s;
}

/* The spec given on the command line maps onto itself. */
void
partial_own_spec(struct rollup *r)
{
	struct spec *s = spec_new(r, r->fingerprint);
	size_t i;

	s->nleaves = r->nleaves;
	s->leafmap = cdr_xcalloc(r->nleaves + 1, sizeof(*s->leafmap));
	for (i = 0; i < r->nleaves; i++)
		s->leafmap[i] = (int)i;
	s->nkeys = r->nkeys;
	s->keymap = cdr_xcalloc(r->nkeys + 1, sizeof(*s->keymap));
	for (i = 0; i < r->nkeys; i++)
		s->keymap[i] = (int)i;
}

/* Takes the run's keys and columns from the first header. */
static void
adopt(struct rollup *r, const struct cdr_value *root,
    struct cdr_buf *scratch)
{
	struct cdr_value v, e, m;
	struct cdr_buf text = CDR_BUF_INIT;
	char *name, *src;
	int more;

	if (r->nby_specs == 0 && member(root, "by", &v) &&
	    v.type == CDR_T_ARRAY) {
		for (more = cdr_value_child(&v, &e); more;
		    more = cdr_value_next(&e)) {
			if (!member(&e, "name", &m) ||
			    (name = str_of(&m, scratch)) == NULL)
				continue;
			src = member(&e, "source", &m) ?
			    str_of(&m, scratch) : NULL;
			cdr_buf_reset(&text);
			cdr_buf_printf(&text, "%s=%s", name, src ? src : name);
			spec_parse_by(r, text.p);
			free(name);
			free(src);
		}
	}
	if (r->nagg_specs == 0 && member(root, "columns", &v) &&
	    v.type == CDR_T_ARRAY) {
		for (more = cdr_value_child(&v, &e); more;
		    more = cdr_value_next(&e)) {
			if (!member(&e, "name", &m) ||
			    (name = str_of(&m, scratch)) == NULL)
				continue;
			src = member(&e, "expr", &m) ? str_of(&m, scratch) :
			    NULL;
			if (src == NULL)
				continue;
			cdr_buf_reset(&text);
			cdr_buf_printf(&text, "%s=%s", name, src);
			spec_parse_aggs(r, text.p);
			free(name);
			free(src);
		}
	}
	if (member(root, "hll_precision", &v) && v.type == CDR_T_NUMBER) {
		int64_t p;

		if (cdr_value_int64(&v, &p) == 0 && p >= 4 && p <= 18)
			r->hll_precision = (int)p;
	}
	if (member(root, "quantiles", &v) && v.type == CDR_T_STRING)
		r->exact = v.len == 5 && memcmp(v.p, "exact", 5) == 0;
	if (member(root, "alpha", &v))
		cdr_value_double(&v, &r->alpha);
	if (r->tz_name == NULL && member(root, "tz", &v) &&
	    (name = str_of(&v, scratch)) != NULL) {
		char err[256];
		struct cdr_tz *tz = cdr_tz_load(name, err, sizeof(err));

		if (tz == NULL)
			cdr_die(CDR_EXIT_USAGE, "partial header: tz %s: %s",
			    name, err);
		r->tz = tz;
		r->tz_name = cdr_tz_name(tz);
		r->tz_utc = strcmp(name, "UTC") == 0 || strcmp(name, "Z") == 0;
		free(name);
		for (size_t i = 0; i < r->ngrains; i++)
			r->grains[i].day_relative = r->grains[i].g.unit ==
			    CDR_G_FIXED && !r->tz_utc &&
			    INT64_C(86400000000) % r->grains[i].g.usec == 0;
	}
	if (r->ngrains == 0 && member(root, "every", &v) &&
	    v.type == CDR_T_ARRAY) {
		for (more = cdr_value_child(&v, &e); more;
		    more = cdr_value_next(&e)) {
			if ((name = str_of(&e, scratch)) == NULL)
				continue;
			partial_grain(r, name);
			free(name);
		}
	}
	cdr_buf_free(&text);
	spec_settle(r);
}

/* A header: the mapping of its leaves and keys onto the run's. */
static void
header(struct rollup *r, const struct cdr_record *rec,
    const struct cdr_value *root)
{
	struct cdr_value v, e, m;
	struct spec *s;
	char *text, **leaves = NULL, **keys = NULL;
	size_t nleaves = 0, nkeys = 0, i, j;
	uint64_t fp;
	int more, prec = 14, exact = 0;
	double alpha = 0.01;
	unsigned long long x;
	char hex[17];

	if (!member(root, "spec", &v) || v.type != CDR_T_STRING ||
	    v.len != 16) {
		reject_record(r, rec, "spec", "partial", "header without a spec");
		return;
	}
	memcpy(hex, v.p, 16);
	hex[16] = '\0';
	if (sscanf(hex, "%16llx", &x) != 1) {
		reject_record(r, rec, "spec", "partial", "bad spec");
		return;
	}
	fp = (uint64_t)x;
	if (!r->have_spec)
		adopt(r, root, &r->scratch);
	if (spec_find(r, fp) != NULL)
		return;
	if (member(root, "hll_precision", &v)) {
		int64_t p;

		if (cdr_value_int64(&v, &p) == 0)
			prec = (int)p;
	}
	if (member(root, "quantiles", &v) && v.type == CDR_T_STRING)
		exact = v.len == 5 && memcmp(v.p, "exact", 5) == 0;
	if (member(root, "alpha", &v))
		cdr_value_double(&v, &alpha);
	s = spec_new(r, fp);
	if (prec != r->hll_precision || exact != r->exact ||
	    (!exact && alpha != r->alpha)) {
		cdr_warn("%s:%llu: partials made with other sketch parameters "
		    "(hll_precision %d, quantiles %s): their rows are rejected",
		    rec->source, (unsigned long long)rec->lineno, prec,
		    exact ? "exact" : "ddsketch");
		s->nleaves = (size_t)-1;
		return;
	}
	if (member(root, "leaves", &v) && v.type == CDR_T_ARRAY)
		for (more = cdr_value_child(&v, &e); more;
		    more = cdr_value_next(&e)) {
			leaves = cdr_xreallocarray(leaves, nleaves + 1,
			    sizeof(*leaves));
			leaves[nleaves++] = (text = str_of(&e, &r->scratch)) ?
			    text : cdr_xstrdup("");
		}
	if (member(root, "by", &v) && v.type == CDR_T_ARRAY)
		for (more = cdr_value_child(&v, &e); more;
		    more = cdr_value_next(&e)) {
			keys = cdr_xreallocarray(keys, nkeys + 1,
			    sizeof(*keys));
			text = member(&e, "name", &m) ? str_of(&m, &r->scratch) :
			    NULL;
			keys[nkeys++] = text ? text : cdr_xstrdup("");
		}
	s->nleaves = nleaves;
	s->leafmap = cdr_xcalloc(nleaves + 1, sizeof(*s->leafmap));
	for (j = 0; j < nleaves; j++)
		s->leafmap[j] = -1;
	for (i = 0; i < r->nleaves; i++) {
		for (j = 0; j < nleaves; j++)
			if (strcmp(leaves[j], r->leaves[i].canon) == 0)
				break;
		if (j == nleaves)
			cdr_die(CDR_EXIT_USAGE, "%s:%llu: these partials do not "
			    "hold %s", rec->source,
			    (unsigned long long)rec->lineno,
			    r->leaves[i].canon);
		s->leafmap[j] = (int)i;
	}
	s->nkeys = nkeys;
	s->keymap = cdr_xcalloc(r->nkeys + 1, sizeof(*s->keymap));
	for (i = 0; i < r->nkeys; i++) {
		for (j = 0; j < nkeys; j++)
			if (strcmp(keys[j], r->keys[i].name) == 0)
				break;
		if (j == nkeys)
			cdr_die(CDR_EXIT_USAGE, "%s:%llu: these partials are not "
			    "grouped by %s", rec->source,
			    (unsigned long long)rec->lineno, r->keys[i].name);
		s->keymap[i] = (int)j;
	}
	for (i = 0; i < nleaves; i++)
		free(leaves[i]);
	free(leaves);
	for (i = 0; i < nkeys; i++)
		free(keys[i]);
	free(keys);
}

static int
parse_time(const struct cdr_value *v, int64_t *t)
{
	const char *why;

	return v->type == CDR_T_STRING &&
	    cdr_time_parse(v->p, v->len, CDR_TP_ISO, NULL, t, &why) == 0 ?
	    0 : -1;
}

#define MAX_PKEYS 256

void
partial_read(struct rollup *r, const struct cdr_record *rec)
{
	static struct cdr_buf scratch = CDR_BUF_INIT;
	struct cdr_value root, v, e, kv[MAX_PKEYS], *sv = NULL;
	struct window *wins[64];
	struct group *g, *tmp;
	struct spec *s;
	char hex[17], *gname;
	unsigned long long x;
	int64_t ws = 0, we = 0, ver;
	uint64_t bytes;
	size_t nk = 0, ns = 0, i, nw = 0;
	const char *why, *ks;
	size_t kn;
	int more, gi;

	cdr_record_root(rec, &root);
	if (!member(&root, "cdr_rollup_partial", &v) ||
	    cdr_value_int64(&v, &ver) != 0) {
		reject_record(r, rec, NULL, "partial", "not a cdr-rollup "
		    "partial row");
		return;
	}
	if (ver != PARTIAL_VERSION) {
		reject_record(r, rec, "cdr_rollup_partial", "partial",
		    "partial format version %lld; this cdr-rollup reads %d",
		    (long long)ver, PARTIAL_VERSION);
		return;
	}
	if (member(&root, "header", &v) && v.type == CDR_T_TRUE) {
		r->counts.read--;
		header(r, rec, &root);
		return;
	}
	if (!r->have_spec && (r->nagg_specs > 0 || r->nby_specs > 0))
		spec_settle(r);
	if (!r->have_spec) {
		reject_record(r, rec, "spec", "partial", "a partial row before "
		    "any header, and no --by/--agg given");
		return;
	}
	if (!member(&root, "spec", &v) || v.type != CDR_T_STRING ||
	    v.len != 16) {
		reject_record(r, rec, "spec", "partial", "no spec");
		return;
	}
	memcpy(hex, v.p, 16);
	hex[16] = '\0';
	if (sscanf(hex, "%16llx", &x) != 1 ||
	    (s = spec_find(r, (uint64_t)x)) == NULL) {
		reject_record(r, rec, "spec", "partial", "spec %s: no header "
		    "describes it, and it is not the spec of --by/--agg", hex);
		return;
	}
	if (s->nleaves == (size_t)-1) {
		reject_record(r, rec, "spec", "partial", "made with other "
		    "sketch parameters");
		return;
	}
	if (!member(&root, "grain", &v) || v.type != CDR_T_STRING) {
		reject_record(r, rec, "grain", "partial", "no grain");
		return;
	}
	gname = str_of(&v, &scratch);
	if (r->merge_grain != NULL && strcmp(gname, r->merge_grain) != 0) {
		free(gname);
		r->counts.filtered++;
		return;
	}
	if (strcmp(gname, "all") != 0) {
		if (!member(&root, "window_start", &v) ||
		    parse_time(&v, &ws) != 0 ||
		    !member(&root, "window_end", &v) ||
		    parse_time(&v, &we) != 0 || we <= ws) {
			free(gname);
			reject_record(r, rec, "window_start", "partial",
			    "bad window");
			return;
		}
	}
	/* The windows it goes to. */
	if (r->nevery_specs > 0) {
		if (strcmp(gname, "all") == 0) {
			free(gname);
			reject_record(r, rec, "grain", "partial", "an all-time "
			    "partial has no window to put in --every grains");
			return;
		}
		if (r->merge_grain_name == NULL) {
			r->merge_grain_name = cdr_xstrdup(gname);
		} else if (strcmp(r->merge_grain_name, gname) != 0) {
			cdr_die(CDR_EXIT_USAGE, "%s:%llu: partials of grains %s "
			    "and %s: choose one with --grain", rec->source,
			    (unsigned long long)rec->lineno,
			    r->merge_grain_name, gname);
		}
		for (i = 0; i < r->ngrains; i++) {
			int64_t bs, be;

			bucket(r, (int)i, ws, &bs, &be);
			if (we > be) {
				free(gname);
				reject_record(r, rec, "window_end", "partial",
				    "window does not fit in one %s bucket",
				    r->grains[i].g.name);
				return;
			}
		}
		for (i = 0; i < r->ngrains; i++)
			wins[nw++] = window_for(r, (int)i, ws);
	} else {
		gi = strcmp(gname, "all") == 0 ? -1 : partial_grain(r, gname);
		if (gi == -2) {
			free(gname);
			reject_record(r, rec, "grain", "partial", "unknown grain");
			return;
		}
		wins[nw++] = gi < 0 ? window_get(r, -1, 0, 0) :
		    window_get(r, gi, ws, we);
	}
	free(gname);
	/* The key, in the run's key order. */
	if (!member(&root, "key", &v) || v.type != CDR_T_ARRAY) {
		reject_record(r, rec, "key", "partial", "no key");
		return;
	}
	for (more = cdr_value_child(&v, &e); more; more = cdr_value_next(&e)) {
		if (nk == MAX_PKEYS) {
			reject_record(r, rec, "key", "partial", "too many keys");
			return;
		}
		kv[nk++] = e;
	}
	if (nk != s->nkeys) {
		reject_record(r, rec, "key", "partial", "%zu keys, the header "
		    "has %zu", nk, s->nkeys);
		return;
	}
	cdr_buf_reset(&r->keybuf);
	for (i = 0; i < r->nkeys; i++) {
		e = kv[s->keymap[i]];
		if (e.type == CDR_T_NULL) {
			key_add(&r->keybuf, KT_NULL, NULL, 0);
		} else if (e.type == CDR_T_STRING) {
			ks = cdr_value_str(&e, &scratch, &kn);
			key_add(&r->keybuf, KT_STR, ks, kn);
		} else {
			key_add(&r->keybuf, KT_RAW, e.p, e.len);
		}
	}
	if (!member(&root, "state", &v) || v.type != CDR_T_ARRAY) {
		reject_record(r, rec, "state", "partial", "no state");
		return;
	}
	sv = cdr_xcalloc(s->nleaves + 1, sizeof(*sv));
	for (more = cdr_value_child(&v, &e); more; more = cdr_value_next(&e)) {
		if (ns == s->nleaves) {
			ns++;
			break;
		}
		sv[ns++] = e;
	}
	if (ns != s->nleaves) {
		free(sv);
		reject_record(r, rec, "state", "partial", "the state has not "
		    "%zu values", s->nleaves);
		return;
	}
	/* Checked on a scratch group first, so a bad row changes nothing. */
	tmp = cdr_xcalloc(1, GROUP_STATE_AT(r, 0) + r->state_size);
	agg_init(r, tmp);
	bytes = r->state_bytes;
	for (i = 0; i < ns; i++) {
		if (s->leafmap[i] < 0)
			continue;
		if (agg_merge_state(r, tmp, s->leafmap[i], &sv[i], &scratch,
		    &why) != 0) {
			agg_free(r, tmp);
			r->state_bytes = bytes;
			free(tmp);
			free(sv);
			reject_record(r, rec, "state", "partial", "%s: %s",
			    r->leaves[s->leafmap[i]].canon, why);
			return;
		}
	}
	agg_free(r, tmp);
	r->state_bytes = bytes;
	free(tmp);
	for (size_t w = 0; w < nw; w++) {
		g = group_get(r, wins[w], r->keybuf.p, r->keybuf.len,
		    key_hash(r->keybuf.p, r->keybuf.len));
		for (i = 0; i < ns; i++)
			if (s->leafmap[i] >= 0)
				agg_merge_state(r, g, s->leafmap[i], &sv[i],
				    &scratch, &why);
	}
	free(sv);
	r->counts.written++;
}
