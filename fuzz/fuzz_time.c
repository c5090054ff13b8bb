/*
 * Time (common/cdrtime.c).  An input starting with "TZif" is a time zone
 * file (with its POSIX TZ string footer) loaded through $TZDIR and asked
 * for offsets, local times and calendar buckets at instants across the
 * whole range.  Any other input is lines: a timestamp, a zone (a fixed
 * offset, "UTC" or an IANA name), a grain and a strftime format; the
 * timestamp is parsed every way a tool asks, formatted, read back and
 * bucketed.
 *
 * Checked: a bucket holds its instant; an ISO timestamp written in a zone
 * reads back as the same instant (where the parser's grammar allows).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cdrtime.h"
#include "fuzz.h"

static const char *const grains[] = {
	"1ms", "5s", "15m", "1h", "1d", "7d", "1w", "2w", "1mo", "1q", "1y",
	"10y"
};

static void exercise(const struct cdr_tz *tz, cdr_time_t t,
    const char *grain, const char *fmt);
static char *line(const uint8_t **p, const uint8_t *end);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_setup("fuzz_time");
	return 0;
}

static void
exercise(const struct cdr_tz *tz, cdr_time_t t, const char *grain,
    const char *fmt)
{
	struct cdr_grain g;
	struct cdr_civil c;
	cdr_time_t start, end, back;
	const char *why;
	char buf[128];
	int32_t off;
	size_t n, k;

	(void)cdr_tz_abbr(tz, t);
	(void)cdr_tz_local_to_utc(tz, t);
	off = cdr_tz_offset(tz, t);
	cdr_time_civil(t, off, &c);
	n = cdr_time_format_iso(buf, sizeof(buf), t, tz, 6);
	/*
	 * The parser takes 4-digit years and offsets in whole minutes (RFC
	 * 3339); the formatter writes local mean time offsets with seconds
	 * and the year a zone puts an instant near the range ends in.
	 */
	if (off % 60 == 0 && c.year >= 0 && c.year <= 9999 &&
	    (cdr_time_parse(buf, n, CDR_TP_ISO, NULL, &back, &why) != 0 ||
	    back != t))
		abort();
	(void)cdr_time_format_iso(buf, sizeof(buf), t, tz, -1);
	(void)cdr_time_format_sql(buf, sizeof(buf), t, tz, 3);
	if (fmt != NULL)
		(void)cdr_time_strftime(buf, sizeof(buf), fmt, t, tz);
	for (k = 0; k < sizeof(grains) / sizeof(grains[0]) + 1; k++) {
		const char *gs = k < sizeof(grains) / sizeof(grains[0]) ?
		    grains[k] : grain;

		if (gs == NULL || cdr_grain_parse(gs, &g) != 0)
			continue;
		cdr_grain_bucket(&g, tz, t, &start, &end);
		if (!(start <= t && t < end))
			abort();
		g.week_start = 0;
		cdr_grain_bucket(&g, tz, t, &start, &end);
		if (!(start <= t && t < end))
			abort();
	}
}

/* The next line of [*p, end) as a string, or NULL when there is none. */
static char *
line(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *nl;
	char *s;

	if (*p >= end)
		return NULL;
	nl = memchr(*p, '\n', (size_t)(end - *p));
	if (nl == NULL)
		nl = end;
	s = fuzz_strndup(*p, (size_t)(nl - *p));
	*p = nl < end ? nl + 1 : end;
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const cdr_time_t instants[] = {
		CDR_TIME_MIN, CDR_TIME_MIN + 1, -INT64_C(2208988800000000),
		-1, 0, 1, INT64_C(1710054000000000), INT64_C(1710057600000000),
		INT64_C(1730613600000000), INT64_C(1767225599999999),
		INT64_C(4102444800000000), INT64_C(32503680000000000),
		CDR_TIME_MAX - 1, CDR_TIME_MAX
	};
	static const int flags[] = {
		CDR_TP_ANY, CDR_TP_ISO, CDR_TP_EPOCH_S, CDR_TP_EPOCH_MS,
		CDR_TP_ISO | CDR_TP_EPOCH_S
	};
	const uint8_t *p = data, *end = data + size;
	char *ts, *zone, *grain, *fmt, err[256];
	struct cdr_tz *tz;
	const char *why;
	cdr_time_t t;
	size_t k;

	if (size >= 4 && memcmp(data, "TZif", 4) == 0) {
		fuzz_file("zone", data, size);
		if (setenv("TZDIR", fuzz_dir(), 1) != 0)
			abort();
		tz = cdr_tz_load("zone", err, sizeof(err));
		unsetenv("TZDIR");
		if (tz == NULL)
			return 0;
		(void)cdr_tz_name(tz);
		for (k = 0; k < sizeof(instants) / sizeof(instants[0]); k++)
			exercise(tz, instants[k], NULL, "%F %T %z %Z %s %V");
		cdr_tz_free(tz);
		return 0;
	}
	ts = line(&p, end);
	zone = line(&p, end);
	grain = line(&p, end);
	fmt = line(&p, end);
	if (ts == NULL)
		return 0;
	tz = zone != NULL && zone[0] != '\0' ?
	    cdr_tz_load(zone, err, sizeof(err)) : NULL;
	for (k = 0; k < sizeof(flags) / sizeof(flags[0]); k++) {
		if (cdr_time_parse(ts, strlen(ts), flags[k], tz, &t, &why) != 0)
			continue;
		if (t < CDR_TIME_MIN || t > CDR_TIME_MAX)
			abort();
		exercise(tz != NULL ? tz : cdr_tz_utc(), t, grain, fmt);
	}
	cdr_tz_free(tz);
	free(ts);
	free(zone);
	free(grain);
	free(fmt);
	return 0;
}
