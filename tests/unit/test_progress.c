/*
 * The progress meter: the text of the line, and what reaches stderr and
 * stdout in each mode (stderr is a file here, never a terminal).
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"
#include "unit.h"

struct capture {
	int	 fd;
	int	 saved;
	FILE	*tmp;
};

static void capture_start(struct capture *c, int fd);
static size_t capture_end(struct capture *c, char *buf, size_t size);
static void pause_ms(long ms);
static size_t run(enum cdr_progress_mode mode, long wait_ms, char *err,
    size_t errsize, size_t *outlen);
static void test_format(void);
static void test_quiet(void);
static void test_on(void);

/* Sends fd to a temporary file until capture_end. */
static void
capture_start(struct capture *c, int fd)
{
	c->fd = fd;
	if ((c->tmp = tmpfile()) == NULL || (c->saved = dup(fd)) == -1 ||
	    dup2(fileno(c->tmp), fd) == -1) {
		perror("capture");
		exit(2);
	}
}

/* Restores fd; returns what was written to it (NUL-terminated in buf). */
static size_t
capture_end(struct capture *c, char *buf, size_t size)
{
	size_t n;

	if (fflush(NULL) == EOF || dup2(c->saved, c->fd) == -1 ||
	    close(c->saved) == -1 || fseek(c->tmp, 0, SEEK_SET) != 0) {
		perror("capture");
		exit(2);
	}
	n = fread(buf, 1, size - 1, c->tmp);
	buf[n] = '\0';
	fclose(c->tmp);
	return n;
}

static void
pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1)
		continue;
}

/* A run of 1000 records of 1000 bytes after waiting wait_ms. */
static size_t
run(enum cdr_progress_mode mode, long wait_ms, char *err, size_t errsize,
    size_t *outlen)
{
	struct capture ce, co;
	char out[256];
	size_t n;
	uint64_t i;

	capture_start(&ce, STDERR_FILENO);
	capture_start(&co, STDOUT_FILENO);
	cdr_progress_start(mode, "test");
	pause_ms(wait_ms);
	for (i = 1; i <= 1000; i++)
		cdr_progress_update(i, i * 1000);
	cdr_progress_end();
	*outlen = capture_end(&co, out, sizeof(out));
	n = capture_end(&ce, err, errsize);
	return n;
}

static void
test_format(void)
{
	char buf[160], small[10];
	const char *want;

	want = "reading: 1500 records, 2.5 MB, 3000 rec/s";
	CHECK_INT(cdr_progress_format(buf, sizeof(buf), "reading", 1500,
	    2500000, 0.5), strlen(want));
	CHECK_STR(buf, want);

	/* No rate before any time has passed. */
	cdr_progress_format(buf, sizeof(buf), "x", 0, 0, 0);
	CHECK_STR(buf, "x: 0 records, 0.0 MB");

	cdr_progress_format(buf, sizeof(buf), "x", UINT64_MAX,
	    UINT64_C(1000000000000), 1.0);
	CHECK_STR(buf, "x: 18446744073709551615 records, 1000000.0 MB, "
	    "18446744073709551616 rec/s");

	cdr_progress_format(buf, sizeof(buf),
	    "0123456789012345678901234567890123456789", 7, 0, 0);
	CHECK_STR(buf, "01234567890123456789012345678901: 7 records, 0.0 MB");

	/* 31 ASCII bytes, then a 2-byte character across the 32-byte cut. */
	cdr_progress_format(buf, sizeof(buf),
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9z", 1, 0, 0);
	CHECK_STR(buf, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: 1 records, 0.0 MB");

	/* As snprintf: the full length, the text cut to fit. */
	CHECK_INT(cdr_progress_format(small, sizeof(small), "reading", 1, 0,
	    0), strlen("reading: 1 records, 0.0 MB"));
	CHECK_STR(small, "reading: ");
}

/* A short run, AUTO on a non-terminal, and OFF print nothing at all. */
static void
test_quiet(void)
{
	char err[1024];
	size_t outlen;

	CHECK_INT(run(CDR_PROGRESS_ON, 0, err, sizeof(err), &outlen), 0);
	CHECK_INT(outlen, 0);
	CHECK_INT(run(CDR_PROGRESS_AUTO, 300, err, sizeof(err), &outlen), 0);
	CHECK_INT(outlen, 0);
	CHECK_INT(run(CDR_PROGRESS_OFF, 300, err, sizeof(err), &outlen), 0);
	CHECK_INT(outlen, 0);
}

/*
 * Forced on, a run longer than a quarter second draws one line and clears
 * it: "\r" TEXT "\r" BLANKS "\r", with as many blanks as TEXT has bytes.
 */
static void
test_on(void)
{
	char err[1024], text[256], want[256];
	size_t n, len, outlen, i;
	uint64_t records;

	n = run(CDR_PROGRESS_ON, 300, err, sizeof(err), &outlen);
	CHECK_INT(outlen, 0);
	CHECK(n > 3 && (n - 3) % 2 == 0);
	if (n <= 3)
		return;
	len = (n - 3) / 2;
	CHECK(err[0] == '\r' && err[1 + len] == '\r' && err[n - 1] == '\r');
	CHECK(strchr(err, '\n') == NULL);
	for (i = 2 + len; i < n - 1; i++)
		CHECK(err[i] == ' ');
	memcpy(text, err + 1, len);
	text[len] = '\0';
	/* The count depends on timing; the rest follows from it. */
	CHECK(sscanf(text, "test: %" SCNu64, &records) == 1);
	CHECK(records >= 1 && records <= 1000);
	snprintf(want, sizeof(want), "test: %" PRIu64 " records, %.1f MB, ",
	    records, (double)records / 1000);
	CHECK(strncmp(text, want, strlen(want)) == 0);
	CHECK(strcmp(text + len - strlen(" rec/s"), " rec/s") == 0);
}

int
main(void)
{
	test_format();
	test_quiet();
	test_on();
	UNIT_DONE();
}
