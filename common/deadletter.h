/*
 * The dead-letter file and the record accounting shared by every tool that
 * can reject records.
 *
 * A dead letter is one NDJSON line per rejected record:
 *   {"source":"calls.ndjson","line":12,"offset":3456,
 *    "errors":[{"field":"duration_s","check":"type","message":"..."}],
 *    "record":"<the original bytes as a JSON string>"}
 * with "record_base64" instead of "record" when the bytes are not valid
 * UTF-8, so the original is always recoverable byte for byte
 * (cdr-validate --replay).  "field" is null for errors of the whole record
 * (a parse error).  A record cut for being too long carries "truncated":true.
 */
#ifndef CDR_DEADLETTER_H
#define CDR_DEADLETTER_H

#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "out.h"
#include "record.h"

struct cdr_error {
	const char	*field;		/* dotted path, or NULL */
	const char	*check;		/* short name: "parse", "type", "required", ... */
	const char	*message;
};

/* A list of errors for one record, reused from record to record. */
struct cdr_errors {
	struct cdr_error	*e;
	size_t			 n;
	size_t			 cap;
	struct cdr_buf		 text;	/* storage of the strings */
	size_t			*off;	/* offsets of field/check/message in text */
};

void cdr_errors_reset(struct cdr_errors *errs);
void cdr_errors_add(struct cdr_errors *errs, const char *field,
    const char *check, const char *fmt, ...) CDR_PRINTF(4, 5);
/* Fills the e[] pointers once all errors of a record are added. */
const struct cdr_error *cdr_errors_list(struct cdr_errors *errs);
void cdr_errors_free(struct cdr_errors *errs);

/* Writes one dead-letter line for rec to o. */
void cdr_dead_letter_write(struct cdr_out *o, const struct cdr_record *rec,
    const struct cdr_error *errs, size_t n);

/* Record accounting: read = written + rejected + duplicates + filtered. */
struct cdr_counts {
	uint64_t	read;
	uint64_t	written;
	uint64_t	rejected;
	uint64_t	duplicates;
	uint64_t	filtered;	/* left out on purpose (--where) */
	uint64_t	blank;
	uint64_t	sources_failed;
};

/*
 * The one-line summary on stderr ("prog: 1000 read, 990 written, 10
 * rejected, 0 duplicates", and ", N filtered" when some were) unless
 * quiet, and with stats_path != NULL the same as JSON in an atomically
 * written file; extra, when not NULL, is more members for that object
 * ("\"reasons\":{...}").
 */
void cdr_counts_report(const struct cdr_counts *c, int quiet,
    const char *stats_path, const char *extra);

/*
 * Path of a file under share/ (schemas, policies): $CDR_SHARE, then the
 * data directory compiled in, then ../share/cdrpipe next to the executable
 * (installed with another PREFIX or moved), then ../../share (the build
 * tree).  Returns a malloc'd path that exists, or NULL.
 */
char *cdr_share_path(const char *rel);

#endif
