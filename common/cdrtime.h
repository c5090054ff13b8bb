/*
 * Time: parsing and formatting of timestamps, IANA time zones read from
 * the system's TZif files, and calendar buckets.
 *
 * A time is an int64_t count of microseconds since 1970-01-01T00:00:00Z
 * (cdr_time_t), which covers years 0000..9999 with room to spare.  Leap
 * seconds are not counted (POSIX time); ":60" is accepted on input and
 * folded into the next second.
 */
#ifndef CDR_TIME_H
#define CDR_TIME_H

#include <stddef.h>
#include <stdint.h>

typedef int64_t cdr_time_t;

#define CDR_USEC_PER_SEC INT64_C(1000000)
/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z */
#define CDR_TIME_MIN (INT64_C(-62167219200) * CDR_USEC_PER_SEC)
#define CDR_TIME_MAX (INT64_C(253402300800) * CDR_USEC_PER_SEC - 1)

struct cdr_tz;

/*
 * Loads a zone: "UTC"/"Z", a fixed offset ("+05:30", "-0800", "+05"), or
 * an IANA name ("Asia/Kolkata") read from $TZDIR or /usr/share/zoneinfo.
 * Names with "..", a leading "/" or other characters than [A-Za-z0-9_+-/]
 * are refused.  Returns NULL and writes a reason to err (errlen bytes).
 * cdr_tz_utc() is a static UTC zone, never freed.
 */
struct cdr_tz *cdr_tz_load(const char *name, char *err, size_t errlen);
const struct cdr_tz *cdr_tz_utc(void);
void cdr_tz_free(struct cdr_tz *tz);
const char *cdr_tz_name(const struct cdr_tz *tz);
/* UTC offset in seconds at instant t (local = utc + offset). */
int32_t cdr_tz_offset(const struct cdr_tz *tz, cdr_time_t t);
/* Abbreviation in force at t ("IST", "EDT"), for %Z. */
const char *cdr_tz_abbr(const struct cdr_tz *tz, cdr_time_t t);
/*
 * Local wall time (as if it were UTC) to the instant.  An ambiguous time
 * (DST ends) takes the earlier instant; a time in a gap (DST starts) is
 * moved forward by the gap, as most software does.
 */
cdr_time_t cdr_tz_local_to_utc(const struct cdr_tz *tz, cdr_time_t local);

/* Broken-down civil time, proleptic Gregorian. */
struct cdr_civil {
	int	year, month, day;	/* month 1..12, day 1..31 */
	int	hour, min, sec;
	int	usec;
	int	wday;	/* 0 = Sunday */
	int	yday;	/* 0-based */
};

int64_t cdr_days_from_civil(int y, int m, int d);
void cdr_civil_from_days(int64_t days, int *y, int *m, int *d);
/* t (UTC instant) shifted by offset seconds, broken down. */
void cdr_time_civil(cdr_time_t t, int32_t offset, struct cdr_civil *c);

/*
 * Parses a timestamp.  Accepted:
 *   ISO-8601 / RFC 3339: YYYY-MM-DD[T| ]HH:MM[:SS[.f{1,9}]][Z|±HH[:MM]|±HHMM]
 *   date only: YYYY-MM-DD (midnight)
 *   epoch: an integer or decimal number of seconds; with CDR_TP_EPOCH_MS
 *   milliseconds; with CDR_TP_EPOCH_AUTO an integer of 13+ digits is ms.
 * Without an offset the time is local to tz (UTC if tz is NULL).
 * Fractions beyond microseconds are truncated.  Returns 0, or -1 with a
 * short reason in *why ("month out of range", ...).
 */
enum {
	CDR_TP_ISO = 1 << 0,
	CDR_TP_EPOCH_S = 1 << 1,
	CDR_TP_EPOCH_MS = 1 << 2,
	CDR_TP_EPOCH_AUTO = 1 << 3,
	CDR_TP_ANY = CDR_TP_ISO | CDR_TP_EPOCH_AUTO
};
int cdr_time_parse(const char *s, size_t n, int flags, const struct cdr_tz *tz,
    cdr_time_t *t, const char **why);

/*
 * ISO-8601 in zone tz: "2026-03-08T01:30:00-05:00", or with "Z" for UTC.
 * frac: digits of fraction (0, 3 or 6; -1 = as many as needed, 0..6).
 * Writes at most len bytes including the NUL; returns the length.
 */
size_t cdr_time_format_iso(char *buf, size_t len, cdr_time_t t,
    const struct cdr_tz *tz, int frac);
/*
 * The same format for many times in one zone, as output rows need it.  The
 * writer keeps the local date and UTC offset of the last time it wrote,
 * with the span of instants that share both, so a time in that span costs
 * its time of day only.  One writer per thread; tz must outlive it.
 */
struct cdr_time_iso {
	const struct cdr_tz	*tz;
	int64_t			 lo, hi;	/* seconds: [lo, hi) shares */
	int64_t			 midnight;	/* local midnight, seconds */
	char			 date[24];	/* "2026-03-08T" */
	char			 zone[16];	/* "-05:00" or "Z" */
	unsigned char		 ndate, nzone;
};
/* Bytes a cdr_time_iso_put buffer must have (more than it writes). */
#define CDR_TIME_ISO_MAX 64
void cdr_time_iso_init(struct cdr_time_iso *w, const struct cdr_tz *tz);
/* As cdr_time_format_iso, into b without a NUL; returns the length. */
size_t cdr_time_iso_put(struct cdr_time_iso *w, char *b, cdr_time_t t,
    int frac);
/* "YYYY-MM-DD HH:MM:SS[.fff]" in tz, no offset (warehouse style). */
size_t cdr_time_format_sql(char *buf, size_t len, cdr_time_t t,
    const struct cdr_tz *tz, int frac);
/*
 * strftime subset in zone tz: %Y %m %d %H %M %S %j %a %b %u %w %V %G %F %T
 * %z (+hhmm) %Z %s (epoch seconds) %f (microseconds) %%.  Returns the
 * length, or -1 on an unknown conversion or when len is too small.
 */
long cdr_time_strftime(char *buf, size_t len, const char *fmt, cdr_time_t t,
    const struct cdr_tz *tz);

/* Calendar and fixed grains. */
enum cdr_grain_unit {
	CDR_G_FIXED,	/* a fixed length in microseconds, epoch-aligned */
	CDR_G_DAY,	/* n local days */
	CDR_G_WEEK,	/* local weeks starting on week_start */
	CDR_G_MONTH,
	CDR_G_QUARTER,
	CDR_G_YEAR
};
struct cdr_grain {
	enum cdr_grain_unit	unit;
	int64_t			usec;	/* CDR_G_FIXED: window length */
	int64_t			offset;	/* CDR_G_FIXED: alignment offset */
	int			n;	/* count for calendar units (1 usually) */
	int			week_start;	/* 0 = Sunday, 1 = Monday */
	char			name[16];	/* as given: "5s", "1h", "1mo" */
};
/*
 * Parses "5s", "15m", "1h" (fixed), "1d", "1w", "1mo", "1q", "1y"
 * (calendar, local to the zone).  Returns 0 or -1.
 */
int cdr_grain_parse(const char *s, struct cdr_grain *g);
/*
 * The bucket [start, end) holding t: fixed grains are aligned to the epoch
 * (start = t - ((t - offset) mod len)); calendar grains to local midnight,
 * week start, month, quarter, year in tz, so a DST day is 23 or 25 hours.
 */
void cdr_grain_bucket(const struct cdr_grain *g, const struct cdr_tz *tz,
    cdr_time_t t, cdr_time_t *start, cdr_time_t *end);

#endif
