/*
 * Option value parsing.  Expected values are written out by hand (or as C
 * literals, which the compiler converts independently of strtod).
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "parse.h"
#include "unit.h"

static void report(const char *kind, const char *s, const char *got,
    const char *want);
static void uint_ok(const char *s, uint64_t min, uint64_t max, uint64_t want);
static void uint_bad(const char *s, uint64_t min, uint64_t max,
    const char *want);
static void int_ok(const char *s, int64_t min, int64_t max, int64_t want);
static void int_bad(const char *s, int64_t min, int64_t max, const char *want);
static void dbl_ok(const char *s, double min, double max, double want);
static void dbl_bad(const char *s, double min, double max, const char *want);
static void dur_ok(const char *s, int64_t want);
static void dur_bad(const char *s, const char *want);
static void size_ok(const char *s, uint64_t want);
static void size_bad(const char *s, const char *want);
static void ratio_ok(const char *s, double want);
static void ratio_bad(const char *s, const char *want);
static void test_uint(void);
static void test_int(void);
static void test_double(void);
static void test_duration(void);
static void test_size(void);
static void test_ratio(void);

#define RANGE_I64 "out of range (-9223372036854775808..9223372036854775807)"
#define DUR_RANGE "out of range (at most 106751991d)"
#define SIZE_RANGE "out of range (at most 18446744073709551615 bytes)"

/* The helpers report the input string, which says more than a line number. */
static void
report(const char *kind, const char *s, const char *got, const char *want)
{
	unit_failures++;
	fprintf(stderr, "%s \"%s\": got %s, want %s\n", kind, s, got, want);
}

static void
uint_ok(const char *s, uint64_t min, uint64_t max, uint64_t want)
{
	char got[64], exp[32];
	const char *why = "(none)";
	uint64_t v = 0;
	int r;

	unit_checks++;
	r = cdr_parse_uint(s, min, max, &v, &why);
	if (r != 0 || v != want) {
		snprintf(got, sizeof(got), "%d %" PRIu64 " (%s)", r, v, why);
		snprintf(exp, sizeof(exp), "%" PRIu64, want);
		report("uint", s, got, exp);
	}
}

static void
uint_bad(const char *s, uint64_t min, uint64_t max, const char *want)
{
	char got[160];
	const char *why = "(none)";
	uint64_t v = 42;
	int r;

	unit_checks++;
	r = cdr_parse_uint(s, min, max, &v, &why);
	if (r != -1 || v != 42 || strcmp(why, want) != 0) {
		snprintf(got, sizeof(got), "%d %" PRIu64 " \"%s\"", r, v, why);
		report("uint", s, got, want);
	}
}

static void
int_ok(const char *s, int64_t min, int64_t max, int64_t want)
{
	char got[64], exp[32];
	const char *why = "(none)";
	int64_t v = 0;
	int r;

	unit_checks++;
	r = cdr_parse_int(s, min, max, &v, &why);
	if (r != 0 || v != want) {
		snprintf(got, sizeof(got), "%d %" PRId64 " (%s)", r, v, why);
		snprintf(exp, sizeof(exp), "%" PRId64, want);
		report("int", s, got, exp);
	}
}

static void
int_bad(const char *s, int64_t min, int64_t max, const char *want)
{
	char got[160];
	const char *why = "(none)";
	int64_t v = 42;
	int r;

	unit_checks++;
	r = cdr_parse_int(s, min, max, &v, &why);
	if (r != -1 || v != 42 || strcmp(why, want) != 0) {
		snprintf(got, sizeof(got), "%d %" PRId64 " \"%s\"", r, v, why);
		report("int", s, got, want);
	}
}

static void
dbl_ok(const char *s, double min, double max, double want)
{
	char got[160], exp[32];
	const char *why = "(none)";
	double v = 0;
	int r;

	unit_checks++;
	r = cdr_parse_double(s, min, max, &v, &why);
	if (r != 0 || v != want) {
		snprintf(got, sizeof(got), "%d %.17g (%s)", r, v, why);
		snprintf(exp, sizeof(exp), "%.17g", want);
		report("double", s, got, exp);
	}
}

static void
dbl_bad(const char *s, double min, double max, const char *want)
{
	char got[160];
	const char *why = "(none)";
	double v = 42;
	int r;

	unit_checks++;
	r = cdr_parse_double(s, min, max, &v, &why);
	if (r != -1 || v != 42 || strcmp(why, want) != 0) {
		snprintf(got, sizeof(got), "%d %g \"%s\"", r, v, why);
		report("double", s, got, want);
	}
}

static void
dur_ok(const char *s, int64_t want)
{
	char got[160], exp[32];
	const char *why = "(none)";
	int64_t v = 0;
	int r;

	unit_checks++;
	r = cdr_parse_duration(s, &v, &why);
	if (r != 0 || v != want) {
		snprintf(got, sizeof(got), "%d %" PRId64 " (%s)", r, v, why);
		snprintf(exp, sizeof(exp), "%" PRId64, want);
		report("duration", s, got, exp);
	}
}

static void
dur_bad(const char *s, const char *want)
{
	char got[160];
	const char *why = "(none)";
	int64_t v = 42;
	int r;

	unit_checks++;
	r = cdr_parse_duration(s, &v, &why);
	if (r != -1 || v != 42 || strcmp(why, want) != 0) {
		snprintf(got, sizeof(got), "%d %" PRId64 " \"%s\"", r, v, why);
		report("duration", s, got, want);
	}
}

static void
size_ok(const char *s, uint64_t want)
{
	char got[160], exp[32];
	const char *why = "(none)";
	uint64_t v = 0;
	int r;

	unit_checks++;
	r = cdr_parse_size(s, &v, &why);
	if (r != 0 || v != want) {
		snprintf(got, sizeof(got), "%d %" PRIu64 " (%s)", r, v, why);
		snprintf(exp, sizeof(exp), "%" PRIu64, want);
		report("size", s, got, exp);
	}
}

static void
size_bad(const char *s, const char *want)
{
	char got[160];
	const char *why = "(none)";
	uint64_t v = 42;
	int r;

	unit_checks++;
	r = cdr_parse_size(s, &v, &why);
	if (r != -1 || v != 42 || strcmp(why, want) != 0) {
		snprintf(got, sizeof(got), "%d %" PRIu64 " \"%s\"", r, v, why);
		report("size", s, got, want);
	}
}

static void
ratio_ok(const char *s, double want)
{
	char got[160], exp[32];
	const char *why = "(none)";
	double v = 0;
	int r;

	unit_checks++;
	r = cdr_parse_ratio(s, &v, &why);
	if (r != 0 || v != want) {
		snprintf(got, sizeof(got), "%d %.17g (%s)", r, v, why);
		snprintf(exp, sizeof(exp), "%.17g", want);
		report("ratio", s, got, exp);
	}
}

static void
ratio_bad(const char *s, const char *want)
{
	char got[160];
	const char *why = "(none)";
	double v = 42;
	int r;

	unit_checks++;
	r = cdr_parse_ratio(s, &v, &why);
	if (r != -1 || v != 42 || strcmp(why, want) != 0) {
		snprintf(got, sizeof(got), "%d %g \"%s\"", r, v, why);
		report("ratio", s, got, want);
	}
}

static void
test_uint(void)
{
	uint64_t v;

	uint_ok("0", 0, 10, 0);
	uint_ok("10", 0, 10, 10);
	uint_ok("64", 1, 64, 64);
	uint_ok("007", 0, 10, 7);	/* decimal, not octal */
	uint_ok("18446744073709551615", 0, UINT64_MAX, UINT64_MAX);
	uint_bad("18446744073709551616", 0, UINT64_MAX,
	    "out of range (0..18446744073709551615)");
	uint_bad("99999999999999999999999", 0, UINT64_MAX,
	    "out of range (0..18446744073709551615)");
	uint_bad("0", 1, 64, "out of range (1..64)");
	uint_bad("65", 1, 64, "out of range (1..64)");
	uint_bad("", 0, 10, "empty");
	uint_bad(" 5", 0, 10, "not a number");
	uint_bad("5 ", 0, 10, "not a number");
	uint_bad("+5", 0, 10, "not a number");
	uint_bad("5\n", 0, 10, "not a number");
	uint_bad("0x10", 0, 100, "not a number");
	uint_bad("1e3", 0, 10000, "not a number");
	uint_bad("5.0", 0, 10, "not a number");
	uint_bad("abc", 0, 10, "not a number");
	uint_bad("-", 0, 10, "not a number");
	uint_bad("99999999999999999999x", 0, UINT64_MAX, "not a number");
	uint_bad("-5", 0, 10, "must not be negative");
	uint_bad("-0", 0, 10, "must not be negative");

	/* why may be NULL when the caller only wants the verdict. */
	CHECK_INT(cdr_parse_uint("x", 0, 1, &v, NULL), -1);
}

static void
test_int(void)
{
	int_ok("0", -5, 5, 0);
	int_ok("-0", -5, 5, 0);
	int_ok("+5", -5, 5, 5);
	int_ok("-12", -20, 20, -12);
	int_ok("-9223372036854775808", INT64_MIN, INT64_MAX, INT64_MIN);
	int_ok("9223372036854775807", INT64_MIN, INT64_MAX, INT64_MAX);
	int_bad("9223372036854775808", INT64_MIN, INT64_MAX, RANGE_I64);
	int_bad("-9223372036854775809", INT64_MIN, INT64_MAX, RANGE_I64);
	int_bad("18446744073709551616", INT64_MIN, INT64_MAX, RANGE_I64);
	int_bad("-5", 0, 100, "out of range (0..100)");
	int_bad("101", 0, 100, "out of range (0..100)");
	int_bad("", 0, 10, "empty");
	int_bad("1e3", 0, 10000, "not a number");
	int_bad("0x1F", 0, 100, "not a number");
	int_bad("--1", -5, 5, "not a number");
	int_bad("+-1", -5, 5, "not a number");
	int_bad("-", -5, 5, "not a number");
	int_bad(" -1", -5, 5, "not a number");
	int_bad("-1 ", -5, 5, "not a number");
	int_bad("1.0", -5, 5, "not a number");
}

static void
test_double(void)
{
	dbl_ok("0.5", 0, 1, 0.5);
	dbl_ok("-1.25", -2, 2, -1.25);
	dbl_ok(".5", 0, 1, 0.5);
	dbl_ok("5.", 0, 10, 5.0);
	dbl_ok("+2", 0, 10, 2.0);
	dbl_ok("1e3", 0, 1e6, 1000.0);
	dbl_ok("1E-2", 0, 1, 0.01);
	dbl_ok("2.5e+1", 0, 100, 25.0);
	dbl_ok("0.1", 0, 1, 0.1);
	dbl_ok("1", 1, 1, 1.0);
	/* Below the smallest denormal: the nearest double, zero. */
	dbl_ok("1e-400", -1, 1, 0.0);
	dbl_bad("1e400", -1e308, 1e308, "out of range (-1e+308..1e+308)");
	dbl_bad("2", 0, 1, "out of range (0..1)");
	dbl_bad("-0.5", 0, 1, "out of range (0..1)");
	dbl_bad("", 0, 1, "empty");
	dbl_bad("nan", 0, 1, "not a number");
	dbl_bad("NaN", 0, 1, "not a number");
	dbl_bad("inf", 0, 1, "not a number");
	dbl_bad("-inf", 0, 1, "not a number");
	dbl_bad("infinity", 0, 1, "not a number");
	dbl_bad("0x1p-3", 0, 1, "not a number");
	dbl_bad("1e", 0, 10, "not a number");
	dbl_bad("1e+", 0, 10, "not a number");
	dbl_bad(" 1", 0, 10, "not a number");
	dbl_bad("1 ", 0, 10, "not a number");
	dbl_bad("0,5", 0, 1, "not a number");
	dbl_bad(".", 0, 1, "not a number");
	dbl_bad("-", 0, 1, "not a number");
	dbl_bad("e5", 0, 1, "not a number");
	dbl_bad("1.2.3", 0, 10, "not a number");
}

static void
test_duration(void)
{
	dur_ok("500ms", INT64_C(500000));
	dur_ok("5s", INT64_C(5000000));
	dur_ok("15m", INT64_C(900000000));
	dur_ok("1h", INT64_C(3600000000));
	dur_ok("7d", INT64_C(604800000000));
	dur_ok("2w", INT64_C(1209600000000));
	dur_ok("1h30m", INT64_C(5400000000));
	dur_ok("1d2h3m4s5ms", INT64_C(93784005000));
	dur_ok("90", INT64_C(90000000));
	dur_ok("0", 0);
	dur_ok("0s", 0);
	dur_ok("106751991d", INT64_C(9223372022400000000));
	dur_ok("9223372036854s", INT64_C(9223372036854000000));
	dur_bad("106751992d", DUR_RANGE);
	dur_bad("99999999999d", DUR_RANGE);
	dur_bad("9223372036855s", DUR_RANGE);
	dur_bad("9223372036854775807ms", DUR_RANGE);
	dur_bad("18446744073709551616s", DUR_RANGE);
	dur_bad("106751991d106751991d", DUR_RANGE);
	dur_bad("", "empty");
	dur_bad("-5s", "must not be negative");
	dur_bad("5x", "unknown unit (use ms, s, m, h, d or w)");
	dur_bad("5mo", "unknown unit (use ms, s, m, h, d or w)");
	dur_bad("5M", "unknown unit (use ms, s, m, h, d or w)");
	dur_bad("5us", "unknown unit (use ms, s, m, h, d or w)");
	dur_bad("1h30", "missing unit");
	dur_bad("1.5s", "no fractions (use a smaller unit)");
	dur_bad("s", "not a duration");
	dur_bad(" 5s", "not a duration");
	dur_bad("5s ", "not a duration");
	dur_bad("5 s", "not a duration");
	dur_bad("+5s", "not a duration");
	dur_bad("1h-5m", "not a duration");
}

static void
test_size(void)
{
	size_ok("0", 0);
	size_ok("100", 100);
	size_ok("100B", 100);
	size_ok("512k", UINT64_C(524288));
	size_ok("512K", UINT64_C(524288));
	size_ok("64M", UINT64_C(67108864));
	size_ok("64m", UINT64_C(67108864));
	size_ok("1G", UINT64_C(1073741824));
	size_ok("1T", UINT64_C(1099511627776));
	size_ok("1P", UINT64_C(1125899906842624));
	size_ok("1E", UINT64_C(1152921504606846976));
	size_ok("15E", UINT64_C(17293822569102704640));
	size_ok("1KiB", 1024);
	size_ok("3MiB", UINT64_C(3145728));
	size_ok("1kB", 1000);
	size_ok("1KB", 1000);
	size_ok("1MB", UINT64_C(1000000));
	size_ok("2GB", UINT64_C(2000000000));
	size_ok("1EB", UINT64_C(1000000000000000000));
	size_ok("1.5G", UINT64_C(1610612736));
	size_ok("0.1K", 102);	/* 102.4 rounded down */
	size_ok("2.5MB", UINT64_C(2500000));
	size_ok("15.5E", UINT64_C(17870283321406128128));
	size_ok("0.0000000000000000001E", 0);
	size_ok("16383P", UINT64_C(18445618173802708992));
	size_ok("18446744073709551615", UINT64_MAX);
	size_bad("16E", SIZE_RANGE);
	size_bad("16384P", SIZE_RANGE);
	size_bad("18446744073709551616", SIZE_RANGE);
	size_bad("", "empty");
	size_bad("-1M", "must not be negative");
	size_bad("+1M", "not a size");
	size_bad(" 1M", "not a size");
	size_bad("1.", "not a size");
	size_bad(".5K", "not a size");
	size_bad("M", "not a size");
	size_bad("1.5", "not a whole number of bytes");
	size_bad("1.5B", "not a whole number of bytes");
	size_bad("1M ", "unknown unit (use K, M, G, T, P, E, KiB or KB)");
	size_bad("1b", "unknown unit (use K, M, G, T, P, E, KiB or KB)");
	size_bad("1Kb", "unknown unit (use K, M, G, T, P, E, KiB or KB)");
	size_bad("1Ki", "unknown unit (use K, M, G, T, P, E, KiB or KB)");
	size_bad("1X", "unknown unit (use K, M, G, T, P, E, KiB or KB)");
	size_bad("1e3", "unknown unit (use K, M, G, T, P, E, KiB or KB)");
}

static void
test_ratio(void)
{
	ratio_ok("0.05", 0.05);
	ratio_ok("5%", 0.05);
	ratio_ok("12.5%", 0.125);
	ratio_ok("100%", 1.0);
	ratio_ok("0%", 0.0);
	ratio_ok("0", 0.0);
	ratio_ok("1", 1.0);
	ratio_ok(".25", 0.25);
	ratio_bad("1.5", "out of range (0..1)");
	ratio_bad("-0.1", "out of range (0..1)");
	ratio_bad("101%", "out of range (0%..100%)");
	ratio_bad("-1%", "out of range (0%..100%)");
	ratio_bad("", "empty");
	ratio_bad("%", "not a number");
	ratio_bad("5 %", "not a number");
	ratio_bad("5%%", "not a number");
	ratio_bad("abc", "not a number");
	ratio_bad("nan", "not a number");
	ratio_bad(" 0.5", "not a number");
}

int
main(void)
{
	test_uint();
	test_int();
	test_double();
	test_duration();
	test_size();
	test_ratio();
	UNIT_DONE();
}
