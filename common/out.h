/*
 * Checked, buffered output with atomic commit.
 *
 * A file output is written to a temporary name in the target's own
 * directory (".NAME.tmp.XXXXXX") and renamed over NAME by cdr_out_commit()
 * after fsync of the file; the directory is fsynced after the rename.  Until
 * then NAME is untouched.  Temporary files are removed on exit and on
 * SIGINT, SIGTERM and SIGHUP, so a crash leaves the old file or the new one,
 * never half a file (after kill -9 a hidden ".tmp." file may remain; it is
 * never the committed name).
 *
 * Write errors are fatal: the message names the path and the error, all
 * temporary files are removed and the program exits with CDR_EXIT_IO.
 * EPIPE on stdout ends the program quietly (by SIGPIPE, as a pipeline
 * expects), also after removing temporary files.
 */
#ifndef CDR_OUT_H
#define CDR_OUT_H

#include <stdarg.h>
#include <stddef.h>

#include "msg.h"

enum {
	CDR_OUT_FORCE = 1 << 0,	/* replace an existing file */
	CDR_OUT_GZIP = 1 << 1	/* gzip-compress (level from cdr_out_set_level) */
};

struct cdr_out;

/* stdout as a struct cdr_out (never committed by rename). */
struct cdr_out *cdr_out_stdout(void);

/*
 * Opens PATH for atomic writing ("-" is stdout).  Without CDR_OUT_FORCE an
 * existing regular file PATH is an error.  An existing PATH that is not a
 * regular file (a device such as /dev/null, a FIFO) is written directly.  On error prints a message and returns NULL
 * (errno set); the caller decides whether that ends the program.
 */
struct cdr_out *cdr_out_open(const char *path, int flags);
/* gzip level 1..9 (default 6) for a CDR_OUT_GZIP output; call before writing. */
void cdr_out_set_level(struct cdr_out *o, int level);

void cdr_out_write(struct cdr_out *o, const void *p, size_t n);
void cdr_out_putc(struct cdr_out *o, int c);
void cdr_out_puts(struct cdr_out *o, const char *s);
void cdr_out_printf(struct cdr_out *o, const char *fmt, ...) CDR_PRINTF(2, 3);
void cdr_out_vprintf(struct cdr_out *o, const char *fmt, va_list ap);
/* Pushes buffered bytes to the kernel (stdout: so a pipe reader sees them). */
void cdr_out_flush(struct cdr_out *o);
/*
 * Flushes stdout if it is in use.  The input layer calls it before it
 * waits on a pipe, so records stream through a pipeline one by one.
 */
void cdr_out_flush_stdout(void);

/* Bytes handed to cdr_out_write so far (before compression). */
unsigned long long cdr_out_bytes(const struct cdr_out *o);
/* Bytes written to the file so far (after compression). */
unsigned long long cdr_out_file_bytes(const struct cdr_out *o);
const char *cdr_out_path(const struct cdr_out *o);

/*
 * Flushes, fsyncs and renames into place; frees o.  For stdout: flushes and
 * checks; o stays usable.  Fatal on error (exit 3), so a return means the
 * output is durable.
 */
void cdr_out_commit(struct cdr_out *o);
/*
 * Finishes and fsyncs a file output without renaming it (for stdout: as
 * cdr_out_commit).  A tool committing a set of files syncs them all first,
 * so that a write or fsync error commits none.  Fatal on error (exit 3).
 */
void cdr_out_sync(struct cdr_out *o);
/* Discards a file output (removes the temporary file) and frees o. */
void cdr_out_abort(struct cdr_out *o);

/*
 * Called at the end of main: flushes and closes stdout, checking for
 * errors (exit 3 on failure), so that "prog > /dev/full" fails loudly.
 */
void cdr_out_finish(void);

/*
 * Registers a path to remove if the program dies before it is released:
 * for tools that write temporary files by other means.
 */
void cdr_out_track_tmp(const char *path);
void cdr_out_untrack_tmp(const char *path);
/*
 * mkostemp(TMPL, O_CLOEXEC) and cdr_out_track_tmp(TMPL) as one step that
 * a signal cannot split (a file created but not yet registered would be
 * left behind).  Returns the descriptor, or -1 with errno set.
 */
int cdr_out_mkstemp(char *tmpl);

#endif
