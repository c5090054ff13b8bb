/*
 * The dimension table of --dim FILE --on KEY: one row per key, the latest
 * version winning (by --dim-version, compared as numbers, times or text;
 * on a tie, or without --dim-version, the later row of the file).  Its
 * columns are group keys when --by names them (joined per record), and
 * are appended to output rows when the join key is a --by key (joined per
 * group).  Keys missing from the table are counted and reported; their
 * records are kept, with null dimension columns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "msg.h"

#include "rollup.h"

#define MISSING_KEEP 100000	/* distinct missing keys remembered */

static int
col_index(struct dim *d, const char *name, size_t n, int add)
{
	size_t i;

	for (i = 0; i < d->ncols; i++)
		if (strlen(d->cols[i]) == n && memcmp(d->cols[i], name, n) == 0)
			return (int)i;
	if (!add)
		return -1;
	d->cols = cdr_xreallocarray(d->cols, d->ncols + 1, sizeof(*d->cols));
	d->cols[d->ncols] = cdr_xstrndup(name, n);
	return (int)d->ncols++;
}

int
dim_column(const struct dim *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->ncols; i++)
		if (strcmp(d->cols[i], name) == 0)
			return (int)i;
	return -1;
}

static size_t *
find_slot(size_t *slot, size_t nslot, char **keys_of, const char *key,
    size_t n, struct dimrow *rows)
{
	size_t mask = nslot - 1, j;
	uint64_t h = XXH3_64bits(key, n);

	for (j = (size_t)h & mask; slot[j] != 0; j = (j + 1) & mask) {
		size_t k = slot[j] - 1;
		const char *s = rows ? rows[k].key : keys_of[k];
		size_t sn = rows ? rows[k].keylen : strlen(keys_of[k]);

		if (sn == n && memcmp(s, key, n) == 0)
			break;
	}
	return &slot[j];
}

static void
rows_rehash(struct dim *d)
{
	size_t i;

	free(d->slot);
	d->nslot = d->nslot ? d->nslot * 2 : 64;
	d->slot = cdr_xcalloc(d->nslot, sizeof(*d->slot));
	for (i = 0; i < d->nrows; i++)
		*find_slot(d->slot, d->nslot, NULL, d->rows[i].key,
		    d->rows[i].keylen, d->rows) = i + 1;
}

/* The text of a key value: a string unescaped, other scalars as written. */
static int
key_text(const struct cdr_value *v, struct cdr_buf *scratch, const char **s,
    size_t *n)
{
	if (v->type == CDR_T_STRING) {
		*s = cdr_value_str(v, scratch, n);
		return 0;
	}
	if (v->type == CDR_T_NUMBER || v->type == CDR_T_TRUE ||
	    v->type == CDR_T_FALSE) {
		*s = v->p;
		*n = v->len;
		return 0;
	}
	return -1;
}

static int
ver_rank(const struct val *v)
{
	return v->kind == VK_MISSING || v->kind == VK_NULL ? 0 :
	    v->kind == VK_NUM ? 1 : v->kind == VK_TIME ? 2 : 3;
}

/* -1, 0, 1 between versions; a missing version is the oldest. */
static int
ver_cmp(const struct val *a, const struct val *b)
{
	int ra = ver_rank(a), rb = ver_rank(b), c;

	if (ra != rb)
		return ra < rb ? -1 : 1;
	switch (ra) {
	case 0:
		return 0;
	case 1:
		return val_cmp_num(a, b);
	case 2:
		return a->t < b->t ? -1 : a->t > b->t;
	default:
		c = memcmp(a->s, b->s, a->n < b->n ? a->n : b->n);
		if (c != 0)
			return c < 0 ? -1 : 1;
		return a->n < b->n ? -1 : a->n > b->n;
	}
}

/* A CSV cell as a JSON string. */
static char *
csv_to_json(const struct cdr_value *m, struct cdr_buf *tmp)
{
	struct cdr_buf jb = CDR_BUF_INIT;
	const char *s;
	size_t n, i;

	s = cdr_value_str(m, tmp, &n);
	cdr_buf_addc(&jb, '"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			cdr_buf_addc(&jb, '\\');
			cdr_buf_addc(&jb, (char)c);
		} else if (c < 0x20) {
			cdr_buf_printf(&jb, "\\u%04x", c);
		} else {
			cdr_buf_addc(&jb, (char)c);
		}
	}
	cdr_buf_addc(&jb, '"');
	return jb.p;
}

static void
row_free(struct dimrow *row)
{
	size_t i;

	for (i = 0; i < row->njson; i++)
		free(row->json[i]);
	free(row->json);
	free((char *)(row->ver.kind == VK_STR ? row->ver.s : NULL));
	free(row->key);
}

static void
load_row(struct rollup *r, struct dim *d, const struct cdr_record *rec,
    struct cdr_path *key_path, struct cdr_path *ver_path)
{
	struct cdr_value root, kv, vv, m;
	struct cdr_buf kb = CDR_BUF_INIT, tmp = CDR_BUF_INIT;
	struct dimrow row, *old;
	const char *s, *name;
	size_t n, nn, *slot;
	int ci, more;

	memset(&row, 0, sizeof(row));
	if (!cdr_record_get(rec, key_path, &kv) ||
	    key_text(&kv, &kb, &s, &n) != 0) {
		cdr_warn("%s:%llu: dimension row without a %s: skipped",
		    rec->source, (unsigned long long)rec->lineno, d->dim_key);
		d->bad++;
		cdr_buf_free(&kb);
		return;
	}
	row.key = cdr_xstrndup(s, n);
	row.keylen = n;
	row.line = rec->lineno;
	row.ver.kind = VK_MISSING;
	if (ver_path != NULL && cdr_record_get(rec, ver_path, &vv) &&
	    vv.type != CDR_T_NULL) {
		if (vv.type == CDR_T_NUMBER || vv.type == CDR_T_STRING) {
			s = cdr_value_str(&vv, &tmp, &nn);
			row.ver.kind = VK_STR;
			row.ver.s = s;
			row.ver.n = nn;
			if (!val_as_num(&row.ver) && !val_as_time(r, &row.ver))
				row.ver.s = cdr_xstrndup(s, nn);
			if (row.ver.kind != VK_STR)
				row.ver.s = NULL;
		}
	}
	cdr_record_root(rec, &root);
	for (more = cdr_value_child(&root, &m); more;
	    more = cdr_value_next(&m)) {
		name = cdr_value_key(&m, &tmp, &nn);
		if ((strlen(d->dim_key) == nn &&
		    memcmp(name, d->dim_key, nn) == 0) ||
		    (d->version != NULL && strlen(d->version) == nn &&
		    memcmp(name, d->version, nn) == 0))
			continue;
		ci = col_index(d, name, nn, 1);
		if ((size_t)ci >= row.njson) {
			row.json = cdr_xreallocarray(row.json, (size_t)ci + 1,
			    sizeof(*row.json));
			memset(row.json + row.njson, 0,
			    ((size_t)ci + 1 - row.njson) * sizeof(*row.json));
			row.njson = (size_t)ci + 1;
		}
		if (m.type == CDR_T_NULL) {
			row.json[ci] = cdr_xstrdup("null");
		} else if (m.type == CDR_T_STRING &&
		    (rec->nodes[m.node].flags & CDR_N_CSV)) {
			row.json[ci] = csv_to_json(&m, &tmp);
		} else if (m.type == CDR_T_STRING) {
			row.json[ci] = cdr_xstrndup(m.p - 1, m.len + 2);
		} else {
			row.json[ci] = cdr_xstrndup(m.p, m.len);
		}
	}
	cdr_buf_free(&kb);
	cdr_buf_free(&tmp);
	if (d->nslot == 0 || (d->nrows + 1) * 2 > d->nslot)
		rows_rehash(d);
	slot = find_slot(d->slot, d->nslot, NULL, row.key, row.keylen,
	    d->rows);
	if (*slot != 0) {
		old = &d->rows[*slot - 1];
		if (ver_cmp(&row.ver, &old->ver) < 0) {
			row_free(&row);
			return;
		}
		row_free(old);
		*old = row;
		return;
	}
	if (d->nrows == d->caprows) {
		d->caprows = d->caprows ? d->caprows * 2 : 64;
		d->rows = cdr_xreallocarray(d->rows, d->caprows,
		    sizeof(*d->rows));
	}
	d->rows[d->nrows] = row;
	*slot = ++d->nrows;
}

void
dim_load(struct rollup *r)
{
	struct dim *d = cdr_xcalloc(1, sizeof(*d));
	struct cdr_reader_opts ro;
	struct cdr_reader *rd;
	struct cdr_record *rec;
	struct cdr_path key_path, ver_path;
	const char *eq = strchr(r->dim_on, '=');
	int rc;

	d->path = r->dim_path;
	d->version = r->dim_version;
	d->out_key = -1;
	if (eq != NULL) {
		d->rec_key = cdr_xstrndup(r->dim_on, (size_t)(eq - r->dim_on));
		d->dim_key = cdr_xstrdup(eq + 1);
	} else {
		d->rec_key = cdr_xstrdup(r->dim_on);
		d->dim_key = cdr_xstrdup(r->dim_on);
	}
	if (*d->rec_key == '\0' || *d->dim_key == '\0' ||
	    cdr_path_init(&d->rec_path, d->rec_key) != 0 ||
	    cdr_path_init(&key_path, d->dim_key) != 0)
		cdr_usage_error("--on %s: expected FIELD or RECORD_FIELD="
		    "DIM_FIELD", r->dim_on);
	if (d->version != NULL && cdr_path_init(&ver_path, d->version) != 0)
		cdr_usage_error("--dim-version %s: not a field", d->version);
	memset(&ro, 0, sizeof(ro));
	ro.max_record = (size_t)r->max_record;
	rd = cdr_reader_new(&ro);
	if (cdr_reader_open(rd, d->path) != 0)
		exit(CDR_EXIT_IO);
	while ((rc = cdr_reader_next(rd, &rec)) > 0) {
		d->read++;
		if (rec->bad) {
			cdr_warn("%s:%llu: dimension row skipped: %s",
			    rec->source, (unsigned long long)rec->lineno,
			    rec->err);
			d->bad++;
			continue;
		}
		load_row(r, d, rec, &key_path, d->version ? &ver_path : NULL);
	}
	if (rc < 0)
		exit(CDR_EXIT_IO);
	cdr_reader_free(rd);
	cdr_path_free(&key_path);
	if (d->version != NULL)
		cdr_path_free(&ver_path);
	r->dim = d;
}

/* After --by: how the dimension joins, and what it appends. */
void
dim_setup_keys(struct rollup *r)
{
	struct dim *d = r->dim;
	char *copy, *tok, *save = NULL;
	size_t i;
	int c, used;

	for (i = 0; i < r->nkeys; i++) {
		if (r->keys[i].field >= 0 && r->fields[r->keys[i].field].dim >= 0)
			d->record_join = 1;
		else if (d->out_key < 0 &&
		    strcmp(r->keys[i].source, d->rec_key) == 0)
			d->out_key = (int)i;
	}
	d->out_cols = cdr_xcalloc(d->ncols + 1, sizeof(*d->out_cols));
	if (r->dim_fields != NULL) {
		copy = cdr_xstrdup(r->dim_fields);
		for (tok = strtok_r(copy, ",", &save); tok != NULL;
		    tok = strtok_r(NULL, ",", &save)) {
			c = dim_column(d, tok);
			if (c < 0)
				cdr_usage_error("--dim-fields: %s: not a column "
				    "of %s", tok, d->path);
			d->out_cols[d->nout_cols++] = c;
		}
		free(copy);
		if (d->nout_cols > 0 && d->out_key < 0)
			cdr_usage_error("--dim-fields needs the join key %s "
			    "among the --by keys", d->rec_key);
	} else if (d->out_key >= 0) {
		for (i = 0; i < d->ncols; i++) {
			used = 0;
			for (size_t k = 0; k < r->nkeys; k++)
				if (strcmp(r->keys[k].name, d->cols[i]) == 0)
					used = 1;
			if (!used)
				d->out_cols[d->nout_cols++] = (int)i;
		}
	}
	for (i = 0; i < d->nout_cols; i++) {
		for (size_t k = 0; k < r->nkeys; k++)
			if (strcmp(r->keys[k].name, d->cols[d->out_cols[i]]) == 0)
				cdr_usage_error("--dim-fields: %s is a --by key",
				    r->keys[k].name);
		for (size_t k = 0; k < r->ncols; k++)
			if (strcmp(r->cols[k].name, d->cols[d->out_cols[i]]) == 0)
				cdr_usage_error("--dim-fields: %s is also an "
				    "--agg column", r->cols[k].name);
	}
	if (r->partial)
		d->nout_cols = 0;
}

static void
note_missing(struct dim *d, const char *key, size_t n)
{
	size_t *slot;

	if (d->nmissing >= MISSING_KEEP)
		return;
	if (d->nmslot == 0 || (d->nmissing + 1) * 2 > d->nmslot) {
		size_t i;

		free(d->mslot);
		d->nmslot = d->nmslot ? d->nmslot * 2 : 64;
		d->mslot = cdr_xcalloc(d->nmslot, sizeof(*d->mslot));
		for (i = 0; i < d->nmissing; i++)
			*find_slot(d->mslot, d->nmslot, d->missing,
			    d->missing[i], strlen(d->missing[i]), NULL) = i + 1;
	}
	slot = find_slot(d->mslot, d->nmslot, d->missing, key, n, NULL);
	if (*slot != 0)
		return;
	d->missing = cdr_xreallocarray(d->missing, d->nmissing + 1,
	    sizeof(*d->missing));
	d->missing[d->nmissing] = cdr_xstrndup(key, n);
	*slot = ++d->nmissing;
}

void
dim_lookup(struct rollup *r, const char *key, size_t n, int record)
{
	struct dim *d = r->dim;
	size_t *slot;

	d->cur = NULL;
	if (key != NULL && d->nslot > 0) {
		slot = find_slot(d->slot, d->nslot, NULL, key, n, d->rows);
		if (*slot != 0)
			d->cur = &d->rows[*slot - 1];
	}
	if (d->cur == NULL) {
		if (record)
			d->missing_records++;
		if (record || !d->record_join)
			note_missing(d, key ? key : "null", key ? n : 4);
	}
}

/* The join for the current record (when --by uses dimension columns). */
void
dim_join_record(struct rollup *r)
{
	struct dim *d = r->dim;
	struct cdr_value v;
	const char *s;
	size_t n;

	if (cdr_record_get_hint(r->rec, &d->rec_path, &v, &d->rec_hint) &&
	    key_text(&v, &d->keybuf, &s, &n) == 0)
		dim_lookup(r, s, n, 1);
	else
		dim_lookup(r, NULL, 0, 1);
}

void
dim_value(struct rollup *r, int col, struct val *v, struct cdr_buf *scratch)
{
	const struct dimrow *row = r->dim->cur;

	if (row == NULL || (size_t)col >= row->njson ||
	    row->json[col] == NULL) {
		memset(v, 0, sizeof(*v));
		v->kind = VK_NULL;
		return;
	}
	json_to_val(row->json[col], strlen(row->json[col]), v, scratch);
}

/* The stderr report and the --stats members. */
void
dim_report(struct rollup *r, struct cdr_buf *extra)
{
	struct dim *d = r->dim;
	struct cdr_buf list = CDR_BUF_INIT;
	size_t i;

	for (i = 0; i < d->nmissing && i < 5; i++)
		cdr_buf_printf(&list, "%s%s", i ? ", " : "", d->missing[i]);
	if (d->nmissing > 5)
		cdr_buf_adds(&list, ", ...");
	if (d->nmissing > 0 && !r->quiet) {
		if (d->record_join)
			cdr_warn("%s: %zu key%s not found (%s): %llu record%s "
			    "kept with null dimension columns", d->path,
			    d->nmissing, d->nmissing == 1 ? "" : "s", list.p,
			    (unsigned long long)d->missing_records,
			    d->missing_records == 1 ? "" : "s");
		else
			cdr_warn("%s: %zu key%s not found (%s): rows kept with "
			    "null dimension columns", d->path, d->nmissing,
			    d->nmissing == 1 ? "" : "s", list.p);
	}
	cdr_buf_free(&list);
	cdr_buf_printf(extra, ",\"dimension\":{\"rows\":%zu,\"bad\":%llu,"
	    "\"missing_records\":%llu,\"missing_keys\":[", d->nrows,
	    (unsigned long long)d->bad,
	    (unsigned long long)d->missing_records);
	for (i = 0; i < d->nmissing && i < 1000; i++) {
		const char *p;

		cdr_buf_addc(extra, i ? ',' : '"');
		if (i)
			cdr_buf_addc(extra, '"');
		for (p = d->missing[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				cdr_buf_addc(extra, '\\');
			if ((unsigned char)*p >= 0x20)
				cdr_buf_addc(extra, *p);
		}
		cdr_buf_addc(extra, '"');
	}
	cdr_buf_adds(extra, "]}");
}
