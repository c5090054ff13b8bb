/*
 * Messages, exit status and checked allocation shared by every cdrpipe tool.
 *
 * Every message goes to stderr as "prog: text" with no trailing period;
 * stdout carries data only.
 */
#ifndef CDR_MSG_H
#define CDR_MSG_H

#include <stddef.h>
#include <stdio.h>

#define CDR_VERSION "0.1.0"

enum cdr_exit {
	CDR_EXIT_OK = 0,	/* success */
	CDR_EXIT_DATA = 1,	/* data errors beyond the budget; nothing lost */
	CDR_EXIT_USAGE = 2,	/* bad options or arguments */
	CDR_EXIT_IO = 3,	/* I/O or system error; outputs not committed */
	CDR_EXIT_INTERNAL = 4	/* a bug */
};

#if defined(__GNUC__)
#define CDR_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CDR_PRINTF(f, a)
#endif

/*
 * Sets the program name from argv[0], the C locale for deterministic
 * output, and SIGPIPE to be ignored so that a closed pipe is seen as EPIPE
 * by the output layer, which ends the program quietly.
 */
void cdr_msg_init(const char *argv0);
const char *cdr_progname(void);

void cdr_warn(const char *fmt, ...) CDR_PRINTF(1, 2);
/* As cdr_warn, with ": strerror(errno)" appended. */
void cdr_warn_errno(const char *fmt, ...) CDR_PRINTF(1, 2);
/* When set, called by cdr_die and friends instead of exit (fuzz harnesses). */
extern void (*cdr_die_hook)(int status);
_Noreturn void cdr_die(int status, const char *fmt, ...) CDR_PRINTF(2, 3);
_Noreturn void cdr_die_errno(int status, const char *fmt, ...)
    CDR_PRINTF(2, 3);
/* Prints the message and "try 'prog --help'", exits 2. */
_Noreturn void cdr_usage_error(const char *fmt, ...) CDR_PRINTF(1, 2);

/* "prog (cdrpipe) VERSION" and the versions of the libraries linked in. */
void cdr_version_print(FILE *fp);

/* Allocation that cannot fail: out of memory ends the program with 3. */
void *cdr_xmalloc(size_t n);
void *cdr_xcalloc(size_t n, size_t size);
void *cdr_xrealloc(void *p, size_t n);
/* realloc of an array of n elements of size bytes, checking overflow. */
void *cdr_xreallocarray(void *p, size_t n, size_t size);
char *cdr_xstrdup(const char *s);
char *cdr_xstrndup(const char *s, size_t n);

#endif
