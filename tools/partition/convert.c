/*
 * The bytes written for a record: the record itself when the output format
 * is its own (and, for CSV, its source has the output's columns), else the
 * record converted, into a buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "partition.h"
#include "write.h"

struct conv {
	enum cdr_format	  out;
	char		**cols;		/* CSV output columns */
	size_t		  ncols;
	int		  have_cols;
	uint32_t	 *slot;		/* node of each column in a record */
	/* The source columns last seen, and whether they are the output's. */
	struct cdr_buf	  seen;
	size_t		  nseen;
	int		  same;
	struct cdr_buf	  line;
	struct cdr_buf	  scratch;
};

struct conv *
conv_new(enum cdr_format out)
{
	struct conv *c = cdr_xcalloc(1, sizeof(*c));

	c->out = out;
	return c;
}

void
conv_free(struct conv *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->ncols; i++)
		free(c->cols[i]);
	free(c->cols);
	free(c->slot);
	cdr_buf_free(&c->seen);
	cdr_buf_free(&c->line);
	cdr_buf_free(&c->scratch);
	free(c);
}

int
conv_has_columns(const struct conv *c)
{
	return c->have_cols;
}

void
conv_set_columns(struct conv *c, const char *const *names, size_t n)
{
	size_t i;

	c->cols = cdr_xcalloc(n, sizeof(*c->cols));
	for (i = 0; i < n; i++)
		c->cols[i] = cdr_xstrdup(names[i]);
	c->ncols = n;
	c->slot = cdr_xcalloc(n ? n : 1, sizeof(*c->slot));
	c->have_cols = 1;
	c->nseen = (size_t)-1;
}

/* The columns from the top-level members of an NDJSON record. */
void
conv_columns_from(struct conv *c, const struct cdr_record *rec)
{
	struct cdr_value root, v;
	const char **names = NULL;
	struct cdr_buf all = CDR_BUF_INIT, tmp = CDR_BUF_INIT;
	size_t n = 0, i, len, *off = NULL;
	const char *k;

	cdr_record_root(rec, &root);
	for (int ok = cdr_value_child(&root, &v); ok; ok = cdr_value_next(&v)) {
		k = cdr_value_key(&v, &tmp, &len);
		off = cdr_xreallocarray(off, n + 1, sizeof(*off));
		off[n++] = all.len;
		cdr_buf_add(&all, k != NULL ? k : "", k != NULL ? len : 0);
		cdr_buf_addc(&all, '\0');
	}
	names = cdr_xcalloc(n ? n : 1, sizeof(*names));
	for (i = 0; i < n; i++)
		names[i] = all.p + off[i];
	conv_set_columns(c, names, n);
	free(names);
	free(off);
	cdr_buf_free(&all);
	cdr_buf_free(&tmp);
}

/* The CSV header line with its newline. */
void
conv_header(const struct conv *c, struct cdr_buf *out)
{
	size_t i;

	for (i = 0; i < c->ncols; i++) {
		if (i > 0)
			cdr_buf_addc(out, ',');
		cdr_buf_csv_field(out, c->cols[i], strlen(c->cols[i]), ',');
	}
	cdr_buf_addc(out, '\n');
}

/* Whether the CSV source columns are the output columns, cached. */
static int
same_columns(struct conv *c, const char *const *src, size_t n)
{
	const char *p;
	size_t i, len;

	if (n == c->nseen) {
		p = c->seen.p;
		for (i = 0; i < n; i++) {
			len = strlen(src[i]);
			if (memcmp(p, src[i], len + 1) != 0)
				break;
			p += len + 1;
		}
		if (i == n)
			return c->same;
	}
	cdr_buf_reset(&c->seen);
	for (i = 0; i < n; i++)
		cdr_buf_add(&c->seen, src[i], strlen(src[i]) + 1);
	c->nseen = n;
	c->same = n == c->ncols;
	for (i = 0; c->same && i < n; i++)
		c->same = strcmp(src[i], c->cols[i]) == 0;
	return c->same;
}

static int
to_csv(struct conv *c, const struct cdr_record *rec, struct reject *why)
{
	struct cdr_value root, v;
	const char *k, *s;
	size_t i, j, len, n;
	uint32_t idx = 0;

	memset(c->slot, 0, c->ncols * sizeof(*c->slot));
	cdr_record_root(rec, &root);
	for (int ok = cdr_value_child(&root, &v); ok;
	    ok = cdr_value_next(&v), idx++) {
		k = cdr_value_key(&v, &c->scratch, &len);
		if (k == NULL) {
			k = "";
			len = 0;
		}
		/* Records mostly keep the column order: try that first. */
		j = idx;
		if (j >= c->ncols || strlen(c->cols[j]) != len ||
		    memcmp(c->cols[j], k, len) != 0) {
			for (j = 0; j < c->ncols; j++)
				if (strlen(c->cols[j]) == len &&
				    memcmp(c->cols[j], k, len) == 0)
					break;
		}
		if (j == c->ncols) {
			why->field = NULL;
			why->check = "columns";
			snprintf(why->message, sizeof(why->message),
			    "field \"%.*s\" is not one of the CSV output columns",
			    (int)(len > 80 ? 80 : len), k != NULL ? k : "");
			return -1;
		}
		c->slot[j] = v.node;
	}
	cdr_buf_reset(&c->line);
	for (i = 0; i < c->ncols; i++) {
		if (i > 0)
			cdr_buf_addc(&c->line, ',');
		if (c->slot[i] == 0)
			continue;
		v.rec = rec;
		v.node = c->slot[i];
		v.type = (enum cdr_type)rec->nodes[v.node].type;
		v.p = rec->nodes[v.node].val;
		v.len = rec->nodes[v.node].vlen;
		if (v.type == CDR_T_NULL)
			continue;
		s = cdr_value_str(&v, &c->scratch, &n);
		if (s == NULL) {
			why->field = c->cols[i];
			why->check = "parse";
			snprintf(why->message, sizeof(why->message),
			    "field \"%s\": bad escape", c->cols[i]);
			return -1;
		}
		cdr_buf_csv_field(&c->line, s, n, ',');
	}
	return 0;
}

static void
to_ndjson(struct conv *c, const struct cdr_record *rec)
{
	struct cdr_value root, v;
	struct cdr_buf key = CDR_BUF_INIT;
	const char *k, *s;
	size_t len, n;
	int first = 1;

	cdr_buf_reset(&c->line);
	cdr_buf_addc(&c->line, '{');
	cdr_record_root(rec, &root);
	for (int ok = cdr_value_child(&root, &v); ok; ok = cdr_value_next(&v)) {
		if (!first)
			cdr_buf_addc(&c->line, ',');
		first = 0;
		k = cdr_value_key(&v, &key, &len);
		cdr_buf_json_string(&c->line, k != NULL ? k : "", k ? len : 0);
		cdr_buf_addc(&c->line, ':');
		if (v.type == CDR_T_NULL) {
			cdr_buf_add(&c->line, "null", 4);
			continue;
		}
		s = cdr_value_str(&v, &c->scratch, &n);
		cdr_buf_json_string(&c->line, s != NULL ? s : "", s ? n : 0);
	}
	cdr_buf_addc(&c->line, '}');
	cdr_buf_free(&key);
}

int
conv_record(struct conv *c, const struct cdr_record *rec,
    const char *const *src_cols, size_t nsrc, const char **p, size_t *n,
    struct reject *why)
{
	if (c->out == CDR_FMT_NDJSON) {
		if (rec->format == CDR_FMT_NDJSON) {
			*p = rec->line;
			*n = rec->len;
			return 0;
		}
		to_ndjson(c, rec);
	} else {
		if (rec->format == CDR_FMT_CSV && src_cols != NULL &&
		    same_columns(c, src_cols, nsrc)) {
			*p = rec->line;
			*n = rec->len;
			return 0;
		}
		if (to_csv(c, rec, why) != 0)
			return -1;
	}
	*p = c->line.p;
	*n = c->line.len;
	return 0;
}
