/*
 * A progress meter on stderr.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"

/* A clock read costs ~20 ns: every 64th call keeps it far below 1%. */
#define CHECK_EVERY	64
#define REDRAW_SEC	0.25
#define WHAT_MAX	32
#define TEXT_MAX	160

static int elapsed_now(double *sec);
static void interval_from_env(void);
static void draw(const char *text, size_t len);

static struct {
	int		 on;
	char		 what[4 * WHAT_MAX];	/* cut to WHAT_MAX when drawn */
	struct timespec	 start;
	double		 last;		/* elapsed seconds at the last draw */
	double		 redraw;	/* seconds between draws */
	unsigned	 check_every;	/* updates between clock reads */
	unsigned	 calls;
	size_t		 shown;		/* length of the line shown, or 0 */
} pg;

/*
 * CDR_PROGRESS_INTERVAL=SECONDS overrides the redraw interval and reads
 * the clock on every update, so that tests see a meter on small inputs.
 */
static void
interval_from_env(void)
{
	const char *s = getenv("CDR_PROGRESS_INTERVAL");
	char *end;
	double sec;

	pg.redraw = REDRAW_SEC;
	pg.check_every = CHECK_EVERY;
	if (s == NULL || *s == '\0')
		return;
	sec = strtod(s, &end);
	if (*end != '\0' || !(sec >= 0 && sec <= 3600))
		return;
	pg.redraw = sec;
	pg.check_every = 1;
}

void
cdr_progress_start(enum cdr_progress_mode mode, const char *what)
{
	memset(&pg, 0, sizeof(pg));
	pg.on = mode == CDR_PROGRESS_ON ||
	    (mode == CDR_PROGRESS_AUTO && isatty(STDERR_FILENO));
	snprintf(pg.what, sizeof(pg.what), "%s", what);
	interval_from_env();
	if (pg.on && clock_gettime(CLOCK_MONOTONIC, &pg.start) != 0)
		pg.on = 0;
}

static int
elapsed_now(double *sec)
{
	struct timespec now;

	if (clock_gettime(CLOCK_MONOTONIC, &now) != 0)
		return -1;
	*sec = (double)(now.tv_sec - pg.start.tv_sec) +
	    (double)(now.tv_nsec - pg.start.tv_nsec) / 1e9;
	return 0;
}

/*
 * Overwrites the shown line with text, padding with blanks where the old
 * line was longer.  A failed write turns the meter off: progress is a
 * courtesy, and a broken stderr is no reason to stop the data.
 */
static void
draw(const char *text, size_t len)
{
	/* Both the text and the old line are shorter than TEXT_MAX. */
	char line[1 + TEXT_MAX];
	size_t n = 0;

	line[n++] = '\r';
	memcpy(line + n, text, len);
	n += len;
	if (pg.shown > len) {
		memset(line + n, ' ', pg.shown - len);
		n += pg.shown - len;
	}
	if (fwrite(line, 1, n, stderr) != n || fflush(stderr) == EOF) {
		pg.on = 0;
		return;
	}
	pg.shown = len;
}

void
cdr_progress_update(uint64_t records, uint64_t bytes)
{
	char text[TEXT_MAX];
	double t;
	int n;

	if (!pg.on || ++pg.calls % pg.check_every != 0)
		return;
	if (elapsed_now(&t) != 0) {
		pg.on = 0;
		return;
	}
	if (t - pg.last < pg.redraw)
		return;
	pg.last = t;
	n = cdr_progress_format(text, sizeof(text), pg.what, records, bytes, t);
	if (n < 0)
		return;
	draw(text, (size_t)n < sizeof(text) ? (size_t)n : sizeof(text) - 1);
}

void
cdr_progress_clear(void)
{
	/* Blank the line so a message starts at column 0; redrawn later. */
	if (pg.on && pg.shown > 0) {
		draw("", 0);
		if (pg.on && fputc('\r', stderr) == EOF)
			pg.on = 0;
		pg.shown = 0;
	}
}

void
cdr_progress_end(void)
{
	if (pg.on && pg.shown > 0) {
		draw("", 0);
		if (pg.on && fputc('\r', stderr) == EOF)
			pg.on = 0;
	}
	memset(&pg, 0, sizeof(pg));
}

int
cdr_progress_format(char *buf, size_t size, const char *what,
    uint64_t records, uint64_t bytes, double elapsed)
{
	size_t n = strlen(what);
	double mb = (double)bytes / 1e6;

	if (n > WHAT_MAX) {
		n = WHAT_MAX;
		/* Cut between UTF-8 characters, not inside one. */
		while (n > 0 && ((unsigned char)what[n] & 0xC0) == 0x80)
			n--;
	}
	if (elapsed > 0)
		return snprintf(buf, size,
		    "%.*s: %" PRIu64 " records, %.1f MB, %.0f rec/s",
		    (int)n, what, records, mb, (double)records / elapsed);
	return snprintf(buf, size, "%.*s: %" PRIu64 " records, %.1f MB",
	    (int)n, what, records, mb);
}
