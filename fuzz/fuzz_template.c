/*
 * Path templates of cdr-partition (tools/partition/template.c): the first
 * line is a template, the second the value for missing fields (empty:
 * none, so such records are rejected), the rest NDJSON records.  The
 * template is compiled in UTC and in a zone with daylight saving time and
 * expanded against every good record.
 *
 * Checked: an expanded path stays inside the output directory: relative,
 * no empty segment, none starting with '.', no NUL.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "partition.h"
#include "fuzz.h"

static struct cdr_tz *zone;
static struct cdr_reader *reader;

static void check_safe(const char *p, size_t n);
static void expand_all(struct tmpl *t, const char *path);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct cdr_reader_opts opts;
	char err[256];

	(void)argc;
	(void)argv;
	fuzz_setup("fuzz_template");
	memset(&opts, 0, sizeof(opts));
	opts.format = CDR_FMT_NDJSON;
	if ((reader = cdr_reader_new(&opts)) == NULL)
		abort();
	/* A zone with DST; a fixed offset when tzdata is not installed. */
	if ((zone = cdr_tz_load("America/New_York", err, sizeof(err))) ==
	    NULL && (zone = cdr_tz_load("-05:00", err, sizeof(err))) == NULL)
		abort();
	return 0;
}

static void
check_safe(const char *p, size_t n)
{
	const char *seg = p, *end = p + n, *slash;

	if (n == 0 || memchr(p, '\0', n) != NULL)
		abort();
	while (seg <= end) {
		slash = memchr(seg, '/', (size_t)(end - seg));
		if (slash == NULL)
			slash = end;
		if (slash == seg || seg[0] == '.')
			abort();
		seg = slash + 1;
	}
}

static void
expand_all(struct tmpl *t, const char *path)
{
	struct cdr_buf out = CDR_BUF_INIT;
	struct cdr_record *rec;
	struct reject why;

	if (cdr_reader_open(reader, path) == 0) {
		while (cdr_reader_next(reader, &rec) == 1) {
			if (rec->bad)
				continue;
			cdr_buf_reset(&out);
			if (tmpl_expand(t, rec, &out, &why) == 0) {
				check_safe(out.p, out.len);
				if (out.len < tmpl_ext_len(t))
					abort();
			}
			cdr_buf_reset(&out);
			tmpl_values_json(t, rec, &out);
		}
	}
	cdr_buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl, *p = data, *end = data + size;
	char *text, *missing, err[512];
	const char *path;
	struct tmpl *t;

	nl = memchr(p, '\n', size);
	text = fuzz_strndup(p, nl != NULL ? (size_t)(nl - p) : size);
	p = nl != NULL ? nl + 1 : end;
	nl = memchr(p, '\n', (size_t)(end - p));
	missing = fuzz_strndup(p, nl != NULL ? (size_t)(nl - p) :
	    (size_t)(end - p));
	p = nl != NULL ? nl + 1 : end;
	path = fuzz_file("records.ndjson", p, (size_t)(end - p));
	if ((t = tmpl_compile(text, cdr_tz_utc(), err, sizeof(err))) != NULL) {
		if (missing[0] != '\0')
			tmpl_set_missing(t, missing);
		expand_all(t, path);
		tmpl_free(t);
	}
	if ((t = tmpl_compile(text, zone, err, sizeof(err))) != NULL) {
		expand_all(t, path);
		tmpl_free(t);
	}
	free(text);
	free(missing);
	return 0;
}
