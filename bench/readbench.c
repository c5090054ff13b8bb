/*
 * The record reader alone: read every record of the inputs, parse and
 * validate every field, walk the tape, print counts.  What the bench
 * compares with `jq -c empty`, `wc -l` and a simdjson parse-only pass.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "msg.h"
#include "out.h"
#include "record.h"

int
main(int argc, char **argv)
{
	struct cdr_reader *r;
	struct cdr_record *rec;
	uint64_t fields = 0, bytes = 0;
	uint32_t i;
	int a, rc, status = 0;

	cdr_msg_init(argv[0]);
	r = cdr_reader_new(NULL);
	for (a = 1; a < argc || a == 1; a++) {
		if (cdr_reader_open(r, a < argc ? argv[a] : "-") != 0) {
			status = CDR_EXIT_IO;
			continue;
		}
		while ((rc = cdr_reader_next(r, &rec)) > 0) {
			for (i = 0; i < rec->nnodes; i++)
				bytes += rec->nodes[i].vlen;
			fields += rec->nnodes;
		}
		if (rc < 0)
			status = CDR_EXIT_IO;
	}
	printf("records %llu bad %llu blank %llu fields %llu value-bytes %llu\n",
	    (unsigned long long)cdr_reader_stats(r)->records,
	    (unsigned long long)cdr_reader_stats(r)->bad,
	    (unsigned long long)cdr_reader_stats(r)->blank,
	    (unsigned long long)fields, (unsigned long long)bytes);
	cdr_reader_free(r);
	cdr_out_finish();
	return status;
}
