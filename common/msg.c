/*
 * Messages, exit status and checked allocation.
 */
#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <zlib.h>

#include "jqexpr.h"
#include "msg.h"
#include "progress.h"

static const char *progname = "cdrpipe";

static void vmsg(const char *fmt, va_list ap, int errnum);
static _Noreturn void quit(int status);

void (*cdr_die_hook)(int status);

void
cdr_msg_init(const char *argv0)
{
	const char *slash;

	if (argv0 != NULL && *argv0 != '\0') {
		slash = strrchr(argv0, '/');
		progname = slash != NULL ? slash + 1 : argv0;
	}
	setlocale(LC_ALL, "C");
	/* A closed pipe shows up as EPIPE, which the output layer handles. */
	signal(SIGPIPE, SIG_IGN);
}

const char *
cdr_progname(void)
{
	return progname;
}

static void
quit(int status)
{
	static atomic_flag quitting = ATOMIC_FLAG_INIT;
	static _Thread_local int quitting_here;

	/* A harness's hook does not return: nothing is ending. */
	if (cdr_die_hook != NULL)
		cdr_die_hook(status);
	/*
	 * Two threads failing at once: the first one ends the program.  A
	 * second exit() would end it while the first still runs the exit
	 * handlers that remove temporary files.
	 */
	if (atomic_flag_test_and_set(&quitting)) {
		if (quitting_here)
			_exit(status);	/* dying again, from an exit handler */
		for (;;)
			pause();
	}
	quitting_here = 1;
	exit(status);
}

static void
vmsg(const char *fmt, va_list ap, int errnum)
{
	char line[4096];
	int n;

	n = snprintf(line, sizeof(line), "%s: ", progname);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (errnum != 0) {
		size_t l = strlen(line);
		snprintf(line + l, sizeof(line) - l, ": %s", strerror(errnum));
	}
	cdr_progress_clear();
	/* One write per message so lines of parallel workers do not mix. */
	fprintf(stderr, "%s\n", line);
	fflush(stderr);
}

void
cdr_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap, 0);
	va_end(ap);
}

void
cdr_warn_errno(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	vmsg(fmt, ap, e);
	va_end(ap);
}

void
cdr_die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap, 0);
	va_end(ap);
	quit(status);
}

void
cdr_die_errno(int status, const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	vmsg(fmt, ap, e);
	va_end(ap);
	quit(status);
}

void
cdr_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap, 0);
	va_end(ap);
	fprintf(stderr, "Try '%s --help' for more information.\n", progname);
	quit(CDR_EXIT_USAGE);
}

void
cdr_version_print(FILE *fp)
{
	fprintf(fp, "%s (cdrpipe) %s\n", progname, CDR_VERSION);
	fprintf(fp, "%s\n", archive_version_details());
	fprintf(fp, "zlib %s\n", zlibVersion());
	fprintf(fp, "libjq %s\n", cdr_jq_version());
}

static void *
checked(void *p)
{
	if (p == NULL) {
		errno = ENOMEM;
		cdr_die_errno(CDR_EXIT_IO, "allocation failed");
	}
	return p;
}

void *
cdr_xmalloc(size_t n)
{
	return checked(malloc(n ? n : 1));
}

void *
cdr_xcalloc(size_t n, size_t size)
{
	return checked(calloc(n ? n : 1, size ? size : 1));
}

void *
cdr_xrealloc(void *p, size_t n)
{
	return checked(realloc(p, n ? n : 1));
}

void *
cdr_xreallocarray(void *p, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size) {
		errno = ENOMEM;
		cdr_die_errno(CDR_EXIT_IO, "allocation of %zu x %zu bytes", n,
		    size);
	}
	return cdr_xrealloc(p, n * size);
}

char *
cdr_xstrdup(const char *s)
{
	return checked(strdup(s));
}

char *
cdr_xstrndup(const char *s, size_t n)
{
	return checked(strndup(s, n));
}
