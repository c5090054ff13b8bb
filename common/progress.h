/*
 * A progress meter on stderr: one line, redrawn in place with "\r" at most
 * four times a second, cleared at the end.  Nothing is drawn in the first
 * quarter second, so short runs stay quiet.  stdout is never touched.
 * The environment variable CDR_PROGRESS_INTERVAL=SECONDS (e.g. 0) sets
 * another redraw interval and checks the clock at every update: for tests.
 *
 * One meter per process; not thread-safe (call it from the thread that
 * reads the records).
 */
#ifndef CDR_PROGRESS_H
#define CDR_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

enum cdr_progress_mode {
	CDR_PROGRESS_AUTO,	/* only when stderr is a terminal */
	CDR_PROGRESS_ON,	/* --progress */
	CDR_PROGRESS_OFF	/* --no-progress */
};

/* Starts the clock; what ("reading", a file name) leads the line. */
void cdr_progress_start(enum cdr_progress_mode mode, const char *what);
/*
 * Totals so far.  Cheap enough to call for every record: the clock is
 * read only every few dozen calls.
 */
void cdr_progress_update(uint64_t records, uint64_t bytes);
/* Clears the line if one is shown; later updates draw nothing. */
void cdr_progress_end(void);
/* Blanks the meter's line (before a message); the next update redraws it. */
void cdr_progress_clear(void);

/*
 * Renders the text of the line, "what: 1500 records, 2.5 MB, 3000 rec/s"
 * (MB are 10^6 bytes; the rate is the average since the start and is left
 * out while elapsed is not positive; what is cut to 32 bytes).  Returns
 * the length as snprintf does.
 */
int cdr_progress_format(char *buf, size_t size, const char *what,
    uint64_t records, uint64_t bytes, double elapsed);

#endif
