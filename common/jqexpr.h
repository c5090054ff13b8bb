/*
 * jq expressions over records (libjq 1.6): --where predicates, computed
 * fields and custom rules.  An expression is compiled once and run on each
 * record.  Not the fast path: only records that need jq pay for it.
 *
 * Ownership of jv values (libjq counts references; every jv is owned by
 * exactly one holder, and passing it to a function that "consumes" it
 * hands that ownership over):
 *   - cdr_jq_input() returns a jv the caller owns.
 *   - cdr_jq_first() and cdr_jq_start() consume their input: do not
 *     jv_free() it afterwards (use jv_copy() to keep it).
 *   - An output stored in *out (return value 1) belongs to the caller, who
 *     passes it to cdr_jq_dump() or jv_free()s it.  On 0 and -1, *out is
 *     jv_invalid(), which holds no memory (jv_free() on it is harmless).
 *   - cdr_jq_dump() consumes its value.
 *
 * Error messages are one line without a "jq: error: " prefix, cut to fit
 * errlen (err may be NULL when errlen is 0).  libjq prints nothing itself.
 *
 * Per record, each run is independent: `halt` ends the run's outputs,
 * `halt_error` is a run-time error, `input` has no further inputs, and
 * `debug` messages go to stderr as "prog: debug: JSON".  As in the jq
 * program, a file ~/.jq is part of every expression (libjq reads it), and
 * `import` and `include` find modules in a directory ~/.jq.  jq 1.6 keeps
 * numbers as doubles, so integers beyond 2^53 lose precision, and a
 * plain `error(null)` ends the outputs without an error.
 *
 * A struct cdr_jq is for one thread at a time.
 */
#ifndef CDR_JQEXPR_H
#define CDR_JQEXPR_H

#include <stddef.h>

#include <jv.h>

#include "buf.h"
#include "record.h"

struct cdr_jq;

/*
 * Compiles expr; NULL with the compile error in err (as "syntax error,
 * unexpected ... at <top-level>, line 1: EXPR") if it does not compile.
 */
struct cdr_jq *cdr_jq_compile(const char *expr, char *err, size_t errlen);
void cdr_jq_free(struct cdr_jq *q);

/*
 * The record as a jq value.  NDJSON: the line parsed by jq.  CSV: an
 * object of the columns in order (a repeated column name keeps the last
 * cell), each cell a string, an empty unquoted cell null.  A bad record
 * (rec->bad) or one too large for jq gives jv_invalid_with_msg(), which
 * cdr_jq_first()/cdr_jq_start() report as an error.
 */
jv cdr_jq_input(const struct cdr_record *rec);

/*
 * Runs q on input (consumed): 1 and the first output in *out (caller
 * owns), 0 if there is no output, -1 on a run-time error (message in
 * err).  Later outputs are not computed.
 */
int cdr_jq_first(struct cdr_jq *q, jv input, jv *out, char *err,
    size_t errlen);

/*
 * For predicates: 1 if the first output for rec is neither false nor null,
 * 0 if it is, or if there is no output (as `select` drops the record), -1
 * on an error (message in err).
 */
int cdr_jq_truthy(struct cdr_jq *q, const struct cdr_record *rec, char *err,
    size_t errlen);

/*
 * All outputs in turn: cdr_jq_start() (consumes input), then cdr_jq_next()
 * until it returns 0 (no more) or -1 (error, message in err; the run is
 * over).  1 gives the next output in *out (caller owns).  Starting again,
 * or cdr_jq_first(), abandons an unfinished run.
 */
void cdr_jq_start(struct cdr_jq *q, jv input);
int cdr_jq_next(struct cdr_jq *q, jv *out, char *err, size_t errlen);

/* Appends v (consumed; must be valid) to out as compact JSON. */
void cdr_jq_dump(jv v, struct cdr_buf *out);

/* The libjq version built against ("1.6"), or "unknown". */
const char *cdr_jq_version(void);

#endif
