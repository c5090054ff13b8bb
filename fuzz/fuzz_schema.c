/*
 * Schemas (common/schema.c): the input is a schema file, a line "---",
 * then records (NDJSON, or CSV when the schema says so, with its columns
 * when it lists them).  A schema that loads checks every record, in UTC
 * and in a zone with an offset; rejects are written as dead letters.
 *
 * Schemas with jq rules are left out: compiling one starts libjq, which
 * takes some 50 ms, and the expression is libjq's to parse.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deadletter.h"
#include "out.h"
#include "schema.h"
#include "fuzz.h"

static struct cdr_tz *zone;

static int has_jq_rule(const uint8_t *text, size_t len);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	(void)argc;
	(void)argv;
	fuzz_setup("fuzz_schema");
	if ((zone = cdr_tz_load("+05:30", err, sizeof(err))) == NULL)
		abort();
	return 0;
}

/* Whether a rule of the schema has a "jq" member, as the loader sees it. */
static int
has_jq_rule(const uint8_t *text, size_t len)
{
	struct cdr_record rec;
	struct cdr_value root, rules, r, v;
	uint32_t cap = 0;
	int found = 0;

	memset(&rec, 0, sizeof(rec));
	rec.line = (const char *)text;
	rec.len = len;
	if (cdr_json_parse(&rec, &cap) == 0) {
		cdr_record_root(&rec, &root);
		if (cdr_value_member(&root, "rules", 5, &rules) &&
		    cdr_value_child(&rules, &r)) {
			do {
				if (r.type == CDR_T_OBJECT &&
				    cdr_value_member(&r, "jq", 2, &v))
					found = 1;
			} while (!found && cdr_value_next(&r));
		}
	}
	free(rec.nodes);
	return found;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *text, *records;
	size_t tlen, rlen, i;
	struct cdr_reader_opts opts;
	struct cdr_errors errs;
	struct cdr_field_value *vals;
	struct cdr_schema *s;
	struct cdr_reader *r;
	struct cdr_record *rec;
	const char *path;
	char err[1024];

	fuzz_split(data, size, &text, &tlen, &records, &rlen);
	if (has_jq_rule(text, tlen))
		return 0;
	path = fuzz_file("schema.json", text, tlen);
	if ((s = cdr_schema_load(path, err, sizeof(err))) == NULL)
		return 0;
	for (i = 0; i < s->nfields; i++)
		(void)cdr_schema_field(s, s->fields[i].name);
	(void)cdr_ftype_name(s->nfields > 0 ? s->fields[0].type : CDR_F_ANY);
	path = fuzz_file("records", records, rlen);
	memset(&opts, 0, sizeof(opts));
	opts.format = s->input;
	if (s->input == CDR_FMT_CSV && s->ncolumns > 0) {
		opts.columns = (const char **)s->columns;
		opts.ncolumns = s->ncolumns;
	}
	vals = calloc(s->nfields + 1, sizeof(*vals));
	memset(&errs, 0, sizeof(errs));
	if (vals == NULL || (r = cdr_reader_new(&opts)) == NULL)
		abort();
	if (cdr_reader_open(r, path) == 0) {
		while (cdr_reader_next(r, &rec) == 1) {
			if (rec->bad)
				continue;
			cdr_errors_reset(&errs);
			if (cdr_schema_check(s, rec, NULL, vals, &errs) > 0)
				cdr_dead_letter_write(cdr_out_stdout(), rec,
				    cdr_errors_list(&errs), errs.n);
			cdr_errors_reset(&errs);
			(void)cdr_schema_check(s, rec, zone, vals, &errs);
		}
	}
	cdr_reader_free(r);
	cdr_errors_free(&errs);
	free(vals);
	cdr_schema_free(s);
	return 0;
}
