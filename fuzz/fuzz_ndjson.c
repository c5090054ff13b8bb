/*
 * The NDJSON record reader (common/reader.c, json.c, value.c) over a whole
 * input file: every record read, every value of a good record visited.
 * Also read with format detection and a small record limit, which takes
 * the over-long-record paths, and compressed inputs through input.c.
 */
#include <stdint.h>
#include <string.h>

#include "record.h"
#include "fuzz.h"

static struct cdr_reader *plain, *small;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct cdr_reader_opts opts;

	(void)argc;
	(void)argv;
	fuzz_setup("fuzz_ndjson");
	memset(&opts, 0, sizeof(opts));
	opts.format = CDR_FMT_NDJSON;
	/* Small enough for a fuzzer's inputs to reach. */
	opts.max_record = 1 << 16;
	plain = cdr_reader_new(&opts);
	opts.format = CDR_FMT_AUTO;
	opts.max_record = 17;
	small = cdr_reader_new(&opts);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path;

	path = fuzz_file("in.ndjson", data, size);
	fuzz_read_all(plain, path);
	fuzz_read_all(small, path);
	return 0;
}
