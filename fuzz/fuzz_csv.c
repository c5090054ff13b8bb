/*
 * The CSV record reader (common/reader.c, value.c): with a header row and
 * ',' (the default), and with column names given (as a schema gives them),
 * ';' as delimiter and a small record limit.
 */
#include <stdint.h>
#include <string.h>

#include "record.h"
#include "fuzz.h"

static struct cdr_reader *header, *given;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *columns[] = { "call_id", "tenant_id", "meta.x" };
	struct cdr_reader_opts opts;

	(void)argc;
	(void)argv;
	fuzz_setup("fuzz_csv");
	memset(&opts, 0, sizeof(opts));
	opts.format = CDR_FMT_CSV;
	opts.max_record = 1 << 16;
	header = cdr_reader_new(&opts);
	opts.columns = columns;
	opts.ncolumns = sizeof(columns) / sizeof(columns[0]);
	opts.delim = ';';
	opts.max_record = 23;
	given = cdr_reader_new(&opts);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path;

	path = fuzz_file("in.csv", data, size);
	fuzz_read_all(header, path);
	fuzz_read_all(given, path);
	return 0;
}
