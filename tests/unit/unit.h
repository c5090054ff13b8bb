/*
 * A minimal unit test harness for common/: each test_*.c is one program
 * whose checks print "file:line: check failed: ..." on failure; the
 * program exits 1 if any failed.  tests/00-unit.bats runs every program.
 */
#ifndef CDR_UNIT_H
#define CDR_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_failures;
static int unit_checks;

#define CHECK(cond) do {						\
	unit_checks++;							\
	if (!(cond)) {							\
		unit_failures++;					\
		fprintf(stderr, "%s:%d: check failed: %s\n",		\
		    __FILE__, __LINE__, #cond);				\
	}								\
} while (0)

#define CHECK_INT(got, want) do {					\
	long long g_ = (long long)(got), w_ = (long long)(want);	\
	unit_checks++;							\
	if (g_ != w_) {							\
		unit_failures++;					\
		fprintf(stderr, "%s:%d: %s is %lld, want %lld\n",	\
		    __FILE__, __LINE__, #got, g_, w_);			\
	}								\
} while (0)

#define CHECK_STR(got, want) do {					\
	const char *g_ = (got), *w_ = (want);				\
	unit_checks++;							\
	if (g_ == NULL || strcmp(g_, w_) != 0) {			\
		unit_failures++;					\
		fprintf(stderr, "%s:%d: %s is \"%s\", want \"%s\"\n",	\
		    __FILE__, __LINE__, #got, g_ ? g_ : "(null)", w_);	\
	}								\
} while (0)

#define UNIT_DONE() do {						\
	printf("%d checks, %d failed\n", unit_checks, unit_failures);	\
	return unit_failures ? 1 : 0;					\
} while (0)

#endif
