/*
 * Time: microsecond instants, ISO-8601 and epoch parsing, formatting,
 * IANA zones read from TZif files (RFC 8536), and calendar buckets.
 *
 * All of it is integer arithmetic on the proleptic Gregorian calendar:
 * nothing depends on the locale, on $TZ or on the C library's time
 * functions, so two machines with the same tzdata give the same answers.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cdrtime.h"
#include "msg.h"

#define USEC		CDR_USEC_PER_SEC
#define DAY_SECS	INT64_C(86400)
#define DAY_USEC	(DAY_SECS * USEC)
/* The Gregorian calendar, weekdays included, repeats every 400 years. */
#define CYCLE_SECS	(INT64_C(146097) * DAY_SECS)
/* RFC 8536 keeps UT offsets under 26 hours; that bounds every search. */
#define MAX_UTOFF	93599
/* Later transitions (past year 36000) are refused so years fit an int. */
#define MAX_TRANS	(INT64_C(1) << 40)
#define MAX_TZFILE	(1024 * 1024)
#define TZIF_HEAD	44
/* Years of footer rules tabulated: a 400-year window and those around it. */
#define FOOTER_YEARS	404
#define ABBR_MAX	16
#define DEFAULT_TZDIR	"/usr/share/zoneinfo"

#define is_digit(c)	((unsigned)(unsigned char)(c) - '0' < 10u)
#define is_alpha(c)	(((unsigned)(unsigned char)(c) | 0x20) - 'a' < 26u)

struct tz_type {
	int32_t	utoff;			/* local = UTC + utoff */
	char	abbr[ABBR_MAX];
};

/* A POSIX TZ rule date: "Jn", "n" or "Mm.w.d", with "/time". */
enum rule_kind { RULE_JULIAN, RULE_ZERO, RULE_MONTH };

struct tz_rule {
	enum rule_kind	kind;
	int		day;	/* Jn 1..365, n 0..365, Mm.w.d 0..6 */
	int		week;	/* 1..5, 5 meaning the last */
	int		month;
	int32_t		time;	/* local time of day, -167h..167h */
};

struct posix_tz {
	struct tz_type	std, dst;
	int		has_dst;
	struct tz_rule	start, end;
};

struct cdr_tz {
	char		*name;
	int		utc;		/* formats as "Z" */
	struct tz_type	*types;
	/*
	 * Transitions in seconds, ascending: the file's own first, then
	 * those its footer gives for FOOTER_YEARS years.
	 */
	int64_t		*trans;
	uint16_t	*idx;
	size_t		ntrans;
	size_t		nexplicit;
	int64_t		footer_from;	/* the file's last transition */
	int		rules;		/* the footer has DST rules */
	/* With rules: the 400 tabulated years, [cycle_lo, cycle_hi). */
	int64_t		cycle_lo, cycle_hi;
};

struct tzif_head {
	int		version;
	uint32_t	isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static int64_t floor_div(int64_t a, int64_t b);
static int64_t floor_mod(int64_t a, int64_t b);
static int is_leap(int64_t y);
static int month_days(int y, int m);
static const struct cdr_tz *zone(const struct cdr_tz *tz);
static const struct tz_type *type_at(const struct cdr_tz *tz, int64_t s,
    int64_t *lo, int64_t *hi);
static int64_t resolve_local(const struct cdr_tz *tz, int64_t local,
    int gap_to_transition);
static int64_t resolve_from(const struct cdr_tz *tz, int64_t local,
    int gap_to_transition, int64_t s);
static void set_err(char *err, size_t errlen, const char *fmt, ...)
    CDR_PRINTF(3, 4);
static const char *check_name(const char *name, int *badc);
static struct cdr_tz *new_zone(const char *name, size_t ntypes,
    size_t ntrans);
static struct cdr_tz *fixed_zone(const char *name, int32_t utoff, int utc);
static int read_file(const char *path, unsigned char **bufp, size_t *lenp,
    const char **why);
static int read_head(const unsigned char *p, size_t len,
    struct tzif_head *h);
static uint64_t block_size(const struct tzif_head *h, size_t tsize);
static uint32_t be32(const unsigned char *p);
static int64_t be_time(const unsigned char *p, size_t tsize);
static struct cdr_tz *parse_tzif(const char *name, const unsigned char *buf,
    size_t len, const char **why);
static const char *fill_types(struct cdr_tz *tz, const struct tzif_head *h,
    const unsigned char *typ, const unsigned char *chars);
static const char *fill_trans(struct cdr_tz *tz, const struct tzif_head *h,
    const unsigned char *tp, size_t tsize);
static void add_footer(struct cdr_tz *tz, const struct posix_tz *ptz,
    uint16_t ntypes);
static void add_event(struct cdr_tz *tz, int64_t at, uint16_t type,
    uint16_t *before);
static void footer_takes_over(struct cdr_tz *tz, uint16_t type);
static int64_t rule_local(const struct tz_rule *r, int y);
static int parse_posix(const char *s, const char *e, struct posix_tz *p);
static const char *parse_abbr(const char *s, const char *e, char *abbr);
static const char *parse_num(const char *s, const char *e, int maxdig,
    int *v);
static const char *parse_hms(const char *s, const char *e, int maxh,
    int32_t *secs);
static const char *parse_rule(const char *s, const char *e,
    struct tz_rule *r);
static const char *parse_offset(const char *p, const char *e,
    int32_t *secs);
static int two(const char *p);
static int fail(const char **why, const char *reason);
static int parse_iso(const char *s, size_t n, const struct cdr_tz *tz,
    cdr_time_t *t, const char **why);
static int parse_epoch(const char *s, size_t n, int flags, cdr_time_t *t,
    const char **why);
static size_t put_int(char *b, int64_t v, int width);
static void put2(char *b, int v);
static size_t put_year(char *b, int y);
static size_t put_frac(char *b, int usec, int frac);
static size_t put_offset(char *b, int32_t off, int colon);
static size_t put_civil(char *b, const struct cdr_civil *c, char sep,
    int frac);
static size_t copy_out(char *buf, size_t len, const char *s, size_t n);
static void iso_fill(struct cdr_time_iso *w, int64_t s);
static void iso_week(const struct cdr_civil *c, int *year, int *week);
static int64_t month_start(int64_t months);

static struct tz_type utc_type = { 0, "UTC" };
static char utc_name[] = "UTC";
static struct cdr_tz utc_zone = {
	.name = utc_name,
	.utc = 1,
	.types = &utc_type
};

static const char wday_names[7][4] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
};
static const char month_names[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if (a % b < 0)
		q--;
	return q;
}

static int64_t
floor_mod(int64_t a, int64_t b)
{
	int64_t r = a % b;

	return r < 0 ? r + b : r;
}

static int
is_leap(int64_t y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static int
month_days(int y, int m)
{
	static const int days[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Howard Hinnant's algorithms, with 400-year eras. */
int64_t
cdr_days_from_civil(int y, int m, int d)
{
	int64_t yy = (int64_t)y - (m <= 2);
	int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
	int64_t yoe = yy - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

void
cdr_civil_from_days(int64_t days, int *y, int *m, int *d)
{
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

void
cdr_time_civil(cdr_time_t t, int32_t offset, struct cdr_civil *c)
{
	int64_t s = floor_div(t, USEC) + offset;
	int64_t days = floor_div(s, DAY_SECS);
	int64_t sod = s - days * DAY_SECS;

	c->usec = (int)floor_mod(t, USEC);
	cdr_civil_from_days(days, &c->year, &c->month, &c->day);
	c->hour = (int)(sod / 3600);
	c->min = (int)(sod / 60 % 60);
	c->sec = (int)(sod % 60);
	/* 1970-01-01 was a Thursday. */
	c->wday = (int)floor_mod(days + 4, 7);
	c->yday = (int)(days - cdr_days_from_civil(c->year, 1, 1));
}

/* A NULL zone means UTC everywhere. */
static const struct cdr_tz *
zone(const struct cdr_tz *tz)
{
	return tz != NULL ? tz : &utc_zone;
}

const struct cdr_tz *
cdr_tz_utc(void)
{
	return &utc_zone;
}

const char *
cdr_tz_name(const struct cdr_tz *tz)
{
	return zone(tz)->name;
}

/*
 * The time type in force at s (seconds) and, when lo and hi are given,
 * the interval [lo, hi) over which it holds.  Past the file's own
 * transitions the footer rules hold; they repeat every 400 years, so s is
 * moved by whole cycles into the tabulated years.
 */
static const struct tz_type *
type_at(const struct cdr_tz *tz, int64_t s, int64_t *lo, int64_t *hi)
{
	const struct tz_type *ty;
	int64_t shift = 0, a, b;
	size_t i = 0, j = tz->ntrans, m;

	if (tz->rules && (tz->nexplicit == 0 || s > tz->footer_from)) {
		/* From footer_from up the table holds without a shift. */
		if (s < tz->cycle_lo && tz->nexplicit == 0)
			shift = -((tz->cycle_lo - s - 1) / CYCLE_SECS + 1) *
			    CYCLE_SECS;
		else if (s >= tz->cycle_hi)
			shift = ((s - tz->cycle_hi) / CYCLE_SECS + 1) *
			    CYCLE_SECS;
		s -= shift;
	}
	while (i < j) {
		m = i + (j - i) / 2;
		if (tz->trans[m] <= s)
			i = m + 1;
		else
			j = m;
	}
	if (i == 0) {
		ty = &tz->types[0];
		a = INT64_MIN;
		b = tz->ntrans ? tz->trans[0] : INT64_MAX;
	} else {
		ty = &tz->types[tz->idx[i - 1]];
		a = tz->trans[i - 1];
		b = i < tz->ntrans ? tz->trans[i] : INT64_MAX;
	}
	if (lo != NULL) {
		*lo = a == INT64_MIN ? a : a + shift;
		*hi = b == INT64_MAX ? b : b + shift;
	}
	return ty;
}

int32_t
cdr_tz_offset(const struct cdr_tz *tz, cdr_time_t t)
{
	tz = zone(tz);
	if (tz->ntrans == 0 && !tz->rules)
		return tz->types[0].utoff;
	return type_at(tz, floor_div(t, USEC), NULL, NULL)->utoff;
}

const char *
cdr_tz_abbr(const struct cdr_tz *tz, cdr_time_t t)
{
	return type_at(zone(tz), floor_div(t, USEC), NULL, NULL)->abbr;
}

/*
 * The earliest instant (seconds) whose wall time is local.  Walks the
 * spans of constant offset that can hold it, oldest first.  When none
 * does, local is in a gap, and the answer is either local read with the
 * offset before the gap or, for bucket bounds, the transition itself:
 * the first instant whose wall time is past local, which keeps bounds
 * ordered even inside a gap.
 */
static int64_t
resolve_local(const struct cdr_tz *tz, int64_t local, int gap_to_transition)
{
	return resolve_from(tz, local, gap_to_transition, local - MAX_UTOFF);
}

/* As resolve_local, looking only at instants from the span holding s on. */
static int64_t
resolve_from(const struct cdr_tz *tz, int64_t local, int gap_to_transition,
    int64_t s)
{
	const struct tz_type *ty;
	int64_t lo, hi, u;
	int32_t before = 0;

	for (;;) {
		ty = type_at(tz, s, &lo, &hi);
		u = local - ty->utoff;
		if (u >= lo && u < hi)
			return u;
		/* The first span always has u >= lo, so before is set. */
		if (u < lo)
			return gap_to_transition ? lo : local - before;
		before = ty->utoff;
		s = hi;
	}
}

cdr_time_t
cdr_tz_local_to_utc(const struct cdr_tz *tz, cdr_time_t local)
{
	int64_t s;

	tz = zone(tz);
	if (tz->ntrans == 0 && !tz->rules)
		return local - tz->types[0].utoff * USEC;
	s = floor_div(local, USEC);
	return resolve_local(tz, s, 0) * USEC + floor_mod(local, USEC);
}

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	/* A message cut short is still a message. */
	if (vsnprintf(err, errlen, fmt, ap) < 0)
		err[0] = '\0';
	va_end(ap);
}

/* The name is only quoted in messages once it has passed these. */
static const char *
check_name(const char *name, int *badc)
{
	const char *p;

	*badc = 0;
	if (strstr(name, "..") != NULL)
		return "\"..\" not allowed";
	if (name[0] == '/')
		return "leading \"/\" not allowed";
	for (p = name; *p != '\0'; p++) {
		if (!is_alpha(*p) && !is_digit(*p) &&
		    strchr("_+-/", *p) == NULL) {
			*badc = (unsigned char)*p;
			return "character not allowed";
		}
	}
	return NULL;
}

static struct cdr_tz *
new_zone(const char *name, size_t ntypes, size_t ntrans)
{
	struct cdr_tz *tz;

	if ((tz = calloc(1, sizeof(*tz))) == NULL)
		return NULL;
	tz->name = strdup(name);
	tz->types = calloc(ntypes, sizeof(*tz->types));
	if (ntrans > 0) {
		tz->trans = calloc(ntrans, sizeof(*tz->trans));
		tz->idx = calloc(ntrans, sizeof(*tz->idx));
	}
	if (tz->name == NULL || tz->types == NULL ||
	    (ntrans > 0 && (tz->trans == NULL || tz->idx == NULL))) {
		cdr_tz_free(tz);
		return NULL;
	}
	return tz;
}

static struct cdr_tz *
fixed_zone(const char *name, int32_t utoff, int utc)
{
	struct cdr_tz *tz;
	char *p;
	int32_t a = utoff < 0 ? -utoff : utoff;

	if ((tz = new_zone(name, 1, 0)) == NULL)
		return NULL;
	tz->utc = utc;
	tz->types[0].utoff = utoff;
	if (utc) {
		memcpy(tz->types[0].abbr, "UTC", 4);
	} else {
		/* Numeric, as tzdata names zones without an abbreviation. */
		p = tz->types[0].abbr;
		*p++ = utoff < 0 ? '-' : '+';
		put2(p, a / 3600);
		p += 2;
		if (a % 3600 != 0) {
			put2(p, a / 60 % 60);
			p += 2;
		}
		*p = '\0';
	}
	return tz;
}

struct cdr_tz *
cdr_tz_load(const char *name, char *err, size_t errlen)
{
	struct cdr_tz *tz;
	unsigned char *buf;
	const char *dir, *why, *end;
	char path[4096];
	size_t len;
	int32_t off;
	int badc, n;

	if (name == NULL || name[0] == '\0') {
		set_err(err, errlen, "empty time zone name");
		return NULL;
	}
	if (strcmp(name, "UTC") == 0 || strcmp(name, "Z") == 0 ||
	    strcmp(name, "Etc/UTC") == 0) {
		tz = fixed_zone(name, 0, 1);
	} else if (name[0] == '+' || name[0] == '-') {
		end = parse_offset(name, name + strlen(name), &off);
		if (end == NULL || *end != '\0') {
			set_err(err, errlen, "bad time zone offset \"%s\"",
			    name);
			return NULL;
		}
		tz = fixed_zone(name, off, 0);
	} else {
		if ((why = check_name(name, &badc)) != NULL) {
			if (badc != 0)
				set_err(err, errlen, "bad time zone name: "
				    "character 0x%02x not allowed", badc);
			else
				set_err(err, errlen, "bad time zone name: %s",
				    why);
			return NULL;
		}
		dir = getenv("TZDIR");
		if (dir == NULL || dir[0] == '\0')
			dir = DEFAULT_TZDIR;
		n = snprintf(path, sizeof(path), "%s/%s", dir, name);
		if (n < 0 || (size_t)n >= sizeof(path)) {
			set_err(err, errlen, "time zone name too long");
			return NULL;
		}
		if (read_file(path, &buf, &len, &why) == -1) {
			if (why == NULL)
				set_err(err, errlen, "unknown time zone \"%s\"",
				    name);
			else
				set_err(err, errlen, "time zone file %s: %s",
				    path, why);
			return NULL;
		}
		tz = parse_tzif(name, buf, len, &why);
		free(buf);
		if (tz == NULL && why != NULL) {
			set_err(err, errlen, "time zone file %s: %s", path,
			    why);
			return NULL;
		}
	}
	if (tz == NULL)
		set_err(err, errlen, "time zone \"%s\": %s", name,
		    strerror(ENOMEM));
	return tz;
}

/*
 * The last time stamp cdr_time_parse read well: tools often read one
 * field several times a record, and neighbouring records share it.
 */
static _Thread_local struct {
	char			 text[40];
	size_t			 n;
	int			 flags;
	const struct cdr_tz	*tz;
	cdr_time_t		 t;
} parse_memo;

void
cdr_tz_free(struct cdr_tz *tz)
{
	if (tz == NULL || tz == &utc_zone)
		return;
	if (parse_memo.tz == tz)
		parse_memo.n = 0;
	free(tz->name);
	free(tz->types);
	free(tz->trans);
	free(tz->idx);
	free(tz);
}

/*
 * Reads a whole TZif file.  On failure *why is a reason, or NULL when
 * there is no such zone.
 */
static int
read_file(const char *path, unsigned char **bufp, size_t *lenp,
    const char **why)
{
	struct stat st;
	unsigned char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd;

	*why = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		if (errno != ENOENT && errno != ENOTDIR)
			*why = strerror(errno);
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		*why = strerror(errno);
		goto fail;
	}
	/* "America" is a directory, not a zone; a FIFO would not block. */
	if (!S_ISREG(st.st_mode))
		goto fail;
	if (st.st_size > MAX_TZFILE) {
		*why = "file too large";
		goto fail;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		*why = strerror(errno);
		goto fail;
	}
	while (len < (size_t)st.st_size) {
		n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			*why = strerror(errno);
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (close(fd) == -1) {
		*why = strerror(errno);
		free(buf);
		return -1;
	}
	*bufp = buf;
	*lenp = len;
	return 0;
fail:
	free(buf);
	if (close(fd) == -1 && *why == NULL)
		*why = strerror(errno);
	return -1;
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* A signed big-endian time of 4 or 8 bytes, without relying on casts. */
static int64_t
be_time(const unsigned char *p, size_t tsize)
{
	uint64_t u;

	if (tsize == 4) {
		u = be32(p);
		return u >= UINT64_C(0x80000000) ?
		    (int64_t)u - INT64_C(0x100000000) : (int64_t)u;
	}
	u = (uint64_t)be32(p) << 32 | be32(p + 4);
	return u > (uint64_t)INT64_MAX ? -(int64_t)(~u) - 1 : (int64_t)u;
}

static int
read_head(const unsigned char *p, size_t len, struct tzif_head *h)
{
	if (len < TZIF_HEAD || memcmp(p, "TZif", 4) != 0)
		return -1;
	/* Versions after 3 only add footer syntax; read them as 3. */
	if (p[4] == 0)
		h->version = 1;
	else if (p[4] >= '2' && p[4] <= '9')
		h->version = p[4] - '0';
	else
		return -1;
	h->isutcnt = be32(p + 20);
	h->isstdcnt = be32(p + 24);
	h->leapcnt = be32(p + 28);
	h->timecnt = be32(p + 32);
	h->typecnt = be32(p + 36);
	h->charcnt = be32(p + 40);
	return 0;
}

/* Counts are at most 2^32 - 1, so the sum cannot overflow 64 bits. */
static uint64_t
block_size(const struct tzif_head *h, size_t tsize)
{
	return (uint64_t)h->timecnt * (tsize + 1) + (uint64_t)h->typecnt * 6 +
	    h->charcnt + (uint64_t)h->leapcnt * (tsize + 4) + h->isstdcnt +
	    h->isutcnt;
}

static struct cdr_tz *
parse_tzif(const char *name, const unsigned char *buf, size_t len,
    const char **why)
{
	struct tzif_head h;
	struct posix_tz ptz;
	struct cdr_tz *tz;
	const unsigned char *p = buf, *end = buf + len, *data;
	const char *foot, *nl;
	size_t tsize = 4, ntrans;
	uint64_t block;
	int footer = 0;

	if (read_head(p, len, &h) == -1) {
		*why = "not a TZif file";
		return NULL;
	}
	p += TZIF_HEAD;
	if (h.version >= 2) {
		/* The 32-bit block comes first; only the 64-bit one is used. */
		block = block_size(&h, 4);
		if (block > (uint64_t)(end - p) ||
		    read_head(p + block, (size_t)(end - p - block), &h) == -1) {
			*why = "truncated or bad second header";
			return NULL;
		}
		p += block + TZIF_HEAD;
		tsize = 8;
	}
	if (h.leapcnt != 0) {
		*why = "leap-second time zones are not supported";
		return NULL;
	}
	if (h.typecnt == 0 || h.typecnt > 256 || h.charcnt == 0 ||
	    (h.isutcnt != 0 && h.isutcnt != h.typecnt) ||
	    (h.isstdcnt != 0 && h.isstdcnt != h.typecnt)) {
		*why = "bad counts in header";
		return NULL;
	}
	block = block_size(&h, tsize);
	if (block > (uint64_t)(end - p)) {
		*why = "truncated";
		return NULL;
	}
	data = p;
	p += block;
	if (h.version >= 2) {
		if (p == end || *p != '\n' ||
		    (nl = memchr(p + 1, '\n', (size_t)(end - p - 1))) == NULL) {
			*why = "missing TZ string footer";
			return NULL;
		}
		foot = (const char *)p + 1;
		if (foot < nl) {
			if (parse_posix(foot, nl, &ptz) == -1) {
				*why = "bad TZ string footer";
				return NULL;
			}
			footer = 1;
		}
	}
	/* Two transitions a year, and one after footer_from. */
	ntrans = h.timecnt + (!footer ? 0 : ptz.has_dst ? 2 * FOOTER_YEARS + 1 :
	    1);
	if ((tz = new_zone(name, h.typecnt + 2, ntrans)) == NULL) {
		*why = NULL;
		return NULL;
	}
	*why = fill_types(tz, &h, data + (size_t)h.timecnt * (tsize + 1),
	    data + (size_t)h.timecnt * (tsize + 1) + (size_t)h.typecnt * 6);
	if (*why == NULL)
		*why = fill_trans(tz, &h, data, tsize);
	if (*why != NULL) {
		cdr_tz_free(tz);
		return NULL;
	}
	if (footer && ptz.has_dst) {
		tz->rules = 1;
		add_footer(tz, &ptz, (uint16_t)h.typecnt);
	} else if (footer) {
		/* Without transitions the footer holds for all time. */
		tz->types[tz->nexplicit ? h.typecnt : 0] = ptz.std;
		if (tz->nexplicit > 0)
			footer_takes_over(tz, (uint16_t)h.typecnt);
	}
	return tz;
}

static const char *
fill_types(struct cdr_tz *tz, const struct tzif_head *h,
    const unsigned char *typ, const unsigned char *chars)
{
	const unsigned char *nul;
	uint32_t i;
	int64_t off;

	if (chars[h->charcnt - 1] != '\0')
		return "unterminated abbreviations";
	for (i = 0; i < h->typecnt; i++, typ += 6) {
		off = be_time(typ, 4);
		if (off < -MAX_UTOFF || off > MAX_UTOFF || typ[4] > 1 ||
		    typ[5] >= h->charcnt)
			return "bad local time type";
		nul = memchr(chars + typ[5], '\0', h->charcnt - typ[5]);
		if (nul - (chars + typ[5]) >= ABBR_MAX)
			return "abbreviation too long";
		tz->types[i].utoff = (int32_t)off;
		memcpy(tz->types[i].abbr, chars + typ[5],
		    (size_t)(nul - (chars + typ[5])) + 1);
	}
	return NULL;
}

static const char *
fill_trans(struct cdr_tz *tz, const struct tzif_head *h,
    const unsigned char *tp, size_t tsize)
{
	const unsigned char *ip = tp + (size_t)h->timecnt * tsize;
	uint32_t i;
	int64_t at;

	for (i = 0; i < h->timecnt; i++) {
		at = be_time(tp + i * tsize, tsize);
		if ((i > 0 && at <= tz->trans[i - 1]) || at > MAX_TRANS)
			return "transitions out of order or range";
		if (ip[i] >= h->typecnt)
			return "bad transition type";
		tz->trans[i] = at;
		tz->idx[i] = ip[i];
	}
	tz->ntrans = tz->nexplicit = h->timecnt;
	if (h->timecnt > 0)
		tz->footer_from = tz->trans[h->timecnt - 1];
	return NULL;
}

/*
 * Tabulates the footer's transitions from two years before the last
 * explicit one (1970 when there is none) over FOOTER_YEARS years.  The
 * window [cycle_lo, cycle_hi) of 400 years starts the year after it, so
 * that every instant in the window finds the transitions either side of
 * it in the table, whatever the rule times.
 */
static void
add_footer(struct cdr_tz *tz, const struct posix_tz *ptz, uint16_t ntypes)
{
	uint16_t std = ntypes, dst = ntypes + 1, before = std;
	int64_t from = tz->nexplicit ? tz->footer_from : 0, on, off;
	int y0, y, m, d;

	tz->types[std] = ptz->std;
	tz->types[dst] = ptz->dst;
	if (from < -MAX_TRANS)
		from = -MAX_TRANS;
	cdr_civil_from_days(floor_div(from, DAY_SECS), &y0, &m, &d);
	tz->cycle_lo = cdr_days_from_civil(y0 + 1, 1, 1) * DAY_SECS;
	tz->cycle_hi = tz->cycle_lo + CYCLE_SECS;
	for (y = y0 - 2; y < y0 - 2 + FOOTER_YEARS; y++) {
		/* Each rule time is wall time of the type it ends. */
		on = rule_local(&ptz->start, y) - ptz->std.utoff;
		off = rule_local(&ptz->end, y) - ptz->dst.utoff;
		if (on <= off) {
			add_event(tz, on, dst, &before);
			add_event(tz, off, std, &before);
		} else {
			add_event(tz, off, std, &before);
			add_event(tz, on, dst, &before);
		}
	}
}

/*
 * Appends a footer transition.  One at the same time as or before the
 * previous one replaces it: all-year DST ("EST5EDT,0/0,J365/25") ends a
 * year at the very instant the next one starts, and the start must win.
 * Those up to footer_from only say which type the footer has right after
 * it (*before).
 */
static void
add_event(struct cdr_tz *tz, int64_t at, uint16_t type, uint16_t *before)
{
	if (tz->nexplicit > 0 && at <= tz->footer_from) {
		*before = type;
		return;
	}
	if (tz->nexplicit > 0 && tz->ntrans == tz->nexplicit)
		footer_takes_over(tz, *before);
	while (tz->ntrans > tz->nexplicit && tz->trans[tz->ntrans - 1] >= at)
		tz->ntrans--;
	tz->trans[tz->ntrans] = at;
	tz->idx[tz->ntrans] = type;
	tz->ntrans++;
}

/*
 * The footer holds after the last transition (RFC 8536).  A file whose
 * last type disagrees with it gets a transition a second later.
 */
static void
footer_takes_over(struct cdr_tz *tz, uint16_t type)
{
	const struct tz_type *last = &tz->types[tz->idx[tz->nexplicit - 1]];
	const struct tz_type *want = &tz->types[type];

	if (last->utoff != want->utoff || strcmp(last->abbr, want->abbr) != 0) {
		tz->trans[tz->ntrans] = tz->footer_from + 1;
		tz->idx[tz->ntrans++] = type;
	}
}

/* Wall time, in seconds as if it were UTC, at which rule r fires in y. */
static int64_t
rule_local(const struct tz_rule *r, int y)
{
	int64_t day = cdr_days_from_civil(y, 1, 1);

	if (r->kind == RULE_JULIAN) {
		/* Jn never counts February 29. */
		day += r->day - 1 + (is_leap(y) && r->day >= 60);
	} else if (r->kind == RULE_ZERO) {
		day += r->day;
	} else {
		day = cdr_days_from_civil(y, r->month, 1);
		day += floor_mod(r->day - (day + 4), 7) + (r->week - 1) * 7;
		if (r->week == 5 &&
		    day >= cdr_days_from_civil(y, r->month, 1) +
		    month_days(y, r->month))
			day -= 7;
	}
	return day * DAY_SECS + r->time;
}

/*
 * A POSIX TZ string as RFC 8536 extends it: std offset [dst [offset]
 * ,start[/time],end[/time]], with hours of rule times from -167 to 167.
 */
static int
parse_posix(const char *s, const char *e, struct posix_tz *p)
{
	int32_t off;

	memset(p, 0, sizeof(*p));
	if ((s = parse_abbr(s, e, p->std.abbr)) == NULL ||
	    (s = parse_hms(s, e, 24, &off)) == NULL)
		return -1;
	/* POSIX offsets are west of Greenwich. */
	p->std.utoff = -off;
	if (s == e)
		return 0;
	if ((s = parse_abbr(s, e, p->dst.abbr)) == NULL)
		return -1;
	p->dst.utoff = p->std.utoff + 3600;
	if (s < e && *s != ',') {
		if ((s = parse_hms(s, e, 24, &off)) == NULL)
			return -1;
		p->dst.utoff = -off;
	}
	if (s == e || *s != ',' ||
	    (s = parse_rule(s + 1, e, &p->start)) == NULL ||
	    s == e || *s != ',' ||
	    (s = parse_rule(s + 1, e, &p->end)) == NULL || s != e)
		return -1;
	p->has_dst = 1;
	return 0;
}

/* "EST" or "<+0530>", 3 to ABBR_MAX - 1 characters. */
static const char *
parse_abbr(const char *s, const char *e, char *abbr)
{
	size_t n = 0;

	if (s < e && *s == '<') {
		for (s++; s < e && *s != '>'; s++) {
			if (!is_alpha(*s) && !is_digit(*s) && *s != '+' &&
			    *s != '-')
				return NULL;
			if (n == ABBR_MAX - 1)
				return NULL;
			abbr[n++] = *s;
		}
		if (s == e)
			return NULL;
		s++;
	} else {
		for (; s < e && is_alpha(*s); s++) {
			if (n == ABBR_MAX - 1)
				return NULL;
			abbr[n++] = *s;
		}
	}
	if (n < 3)
		return NULL;
	abbr[n] = '\0';
	return s;
}

static const char *
parse_num(const char *s, const char *e, int maxdig, int *v)
{
	int n = 0;

	*v = 0;
	for (; s < e && is_digit(*s); s++) {
		if (++n > maxdig)
			return NULL;
		*v = *v * 10 + (*s - '0');
	}
	return n > 0 ? s : NULL;
}

/* [+-]h[h[h]][:mm[:ss]] with at most maxh hours. */
static const char *
parse_hms(const char *s, const char *e, int maxh, int32_t *secs)
{
	int sign = 1, h, m = 0, sec = 0;

	if (s < e && (*s == '+' || *s == '-'))
		sign = *s++ == '-' ? -1 : 1;
	if ((s = parse_num(s, e, 3, &h)) == NULL || h > maxh)
		return NULL;
	if (s < e && *s == ':') {
		if ((s = parse_num(s + 1, e, 2, &m)) == NULL || m > 59)
			return NULL;
		if (s < e && *s == ':' &&
		    ((s = parse_num(s + 1, e, 2, &sec)) == NULL || sec > 59))
			return NULL;
	}
	*secs = sign * (h * 3600 + m * 60 + sec);
	return s;
}

static const char *
parse_rule(const char *s, const char *e, struct tz_rule *r)
{
	if (s < e && *s == 'J') {
		r->kind = RULE_JULIAN;
		if ((s = parse_num(s + 1, e, 3, &r->day)) == NULL ||
		    r->day < 1 || r->day > 365)
			return NULL;
	} else if (s < e && *s == 'M') {
		r->kind = RULE_MONTH;
		if ((s = parse_num(s + 1, e, 2, &r->month)) == NULL ||
		    r->month < 1 || r->month > 12 || s == e || *s != '.' ||
		    (s = parse_num(s + 1, e, 1, &r->week)) == NULL ||
		    r->week < 1 || r->week > 5 || s == e || *s != '.' ||
		    (s = parse_num(s + 1, e, 1, &r->day)) == NULL ||
		    r->day > 6)
			return NULL;
	} else {
		r->kind = RULE_ZERO;
		if ((s = parse_num(s, e, 3, &r->day)) == NULL || r->day > 365)
			return NULL;
	}
	r->time = 2 * 3600;
	if (s < e && *s == '/')
		s = parse_hms(s + 1, e, 167, &r->time);
	return s;
}

/* "+HH", "+HH:MM" or "+HHMM" (or '-'), HH 00..23; returns the end. */
static const char *
parse_offset(const char *p, const char *e, int32_t *secs)
{
	int sign, hh, mm = 0;

	if (e - p < 3 || (*p != '+' && *p != '-') || (hh = two(p + 1)) < 0 ||
	    hh > 23)
		return NULL;
	sign = *p == '-' ? -1 : 1;
	p += 3;
	if (p < e && *p == ':') {
		if (e - p < 3 || (mm = two(p + 1)) < 0)
			return NULL;
		p += 3;
	} else if (e - p >= 2 && two(p) >= 0) {
		mm = two(p);
		p += 2;
	}
	if (mm > 59)
		return NULL;
	*secs = sign * (hh * 3600 + mm * 60);
	return p;
}

/* Two ASCII digits at p (the caller checked they are there), or -1. */
static int
two(const char *p)
{
	if (!is_digit(p[0]) || !is_digit(p[1]))
		return -1;
	return (p[0] - '0') * 10 + (p[1] - '0');
}

static int
fail(const char **why, const char *reason)
{
	if (why != NULL)
		*why = reason;
	return -1;
}

int
cdr_time_parse(const char *s, size_t n, int flags, const struct cdr_tz *tz,
    cdr_time_t *t, const char **why)
{
	size_t k;
	int epoch = flags & (CDR_TP_EPOCH_S | CDR_TP_EPOCH_MS |
	    CDR_TP_EPOCH_AUTO), rc;

	if (n == 0)
		return fail(why, "empty timestamp");
	/* An ISO time stamp reads the same under any flags that allow ISO. */
	if (n == parse_memo.n && tz == parse_memo.tz &&
	    (flags == parse_memo.flags ||
	    (parse_memo.flags == CDR_TP_ISO && (flags & CDR_TP_ISO))) &&
	    memcmp(s, parse_memo.text, n) == 0) {
		*t = parse_memo.t;
		return 0;
	}
	if (flags & CDR_TP_ISO) {
		/* Digits then '-' is a date: no number looks like that. */
		for (k = 0; k < n && is_digit(s[k]); k++)
			continue;
		if (!epoch || (k > 0 && k < n && s[k] == '-')) {
			rc = parse_iso(s, n, tz, t, why);
			flags = CDR_TP_ISO;
		} else {
			rc = parse_epoch(s, n, flags, t, why);
		}
	} else if (!epoch) {
		return fail(why, "no timestamp format allowed");
	} else {
		rc = parse_epoch(s, n, flags, t, why);
	}
	if (rc == 0 && n <= sizeof(parse_memo.text)) {
		memcpy(parse_memo.text, s, n);
		parse_memo.n = n;
		parse_memo.flags = flags;
		parse_memo.tz = tz;
		parse_memo.t = *t;
	}
	return rc;
}

static int
parse_iso(const char *s, size_t n, const struct cdr_tz *tz, cdr_time_t *t,
    const char **why)
{
	const char *p = s, *e = s + n;
	int year, mon, day, hour = 0, min = 0, sec = 0, usec = 0, nd;
	int32_t off = 0;
	int has_off = 0;
	int64_t v;

	while (p < e && is_digit(*p))
		p++;
	if (p - s != 4)
		return fail(why, "year must have 4 digits");
	year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + two(s + 2);
	if (p == e || *p != '-')
		return fail(why, "bad date");
	if (e - p < 3 || (mon = two(p + 1)) < 0)
		return fail(why, "bad month");
	p += 3;
	if (mon < 1 || mon > 12)
		return fail(why, "month out of range");
	if (p == e || *p != '-')
		return fail(why, "bad date");
	if (e - p < 3 || (day = two(p + 1)) < 0)
		return fail(why, "bad day");
	p += 3;
	if (day < 1 || day > month_days(year, mon))
		return fail(why, "day out of range for month");
	if (p < e) {
		if (*p != 'T' && *p != 't' && *p != ' ')
			return fail(why, "trailing characters");
		if (e - p < 3 || (hour = two(p + 1)) < 0)
			return fail(why, "bad hour");
		p += 3;
		if (hour > 23)
			return fail(why, "hour out of range");
		if (e - p < 3 || *p != ':' || (min = two(p + 1)) < 0)
			return fail(why, "bad minute");
		p += 3;
		if (min > 59)
			return fail(why, "minute out of range");
		if (p < e && *p == ':') {
			if (e - p < 3 || (sec = two(p + 1)) < 0)
				return fail(why, "bad second");
			p += 3;
			if (sec > 60)
				return fail(why, "second out of range");
			if (p < e && *p == '.') {
				for (p++, nd = 0; p < e && is_digit(*p);
				    p++, nd++) {
					if (nd < 6)
						usec = usec * 10 + (*p - '0');
				}
				if (nd == 0)
					return fail(why, "bad fraction");
				if (nd > 9)
					return fail(why, "fraction too long");
				for (; nd < 6; nd++)
					usec *= 10;
			}
		}
		if (p < e && (*p == 'Z' || *p == 'z')) {
			p++;
			has_off = 1;
		} else if (p < e && (*p == '+' || *p == '-')) {
			if ((p = parse_offset(p, e, &off)) == NULL)
				return fail(why, "bad time zone offset");
			has_off = 1;
		}
		if (p != e)
			return fail(why, "trailing characters");
	}
	/* A second of 60 simply carries into the next minute. */
	v = (cdr_days_from_civil(year, mon, day) * DAY_SECS + hour * 3600 +
	    min * 60 + sec) * USEC + usec;
	if (has_off)
		v -= off * USEC;
	else
		v = cdr_tz_local_to_utc(tz, v);
	if (v < CDR_TIME_MIN || v > CDR_TIME_MAX)
		return fail(why, "time out of range");
	*t = v;
	return 0;
}

static int
parse_epoch(const char *s, size_t n, int flags, cdr_time_t *t,
    const char **why)
{
	/* Past these, the value is out of range whatever the unit. */
	static const int64_t max_s = CDR_TIME_MAX / USEC + 1;
	static const int64_t max_ms = (CDR_TIME_MAX / USEC + 1) * 1000;
	const char *p = s, *e = s + n;
	int64_t ip = 0, frac = 0, v;
	int neg = 0, nd = 0, nf = 0, i, ms;

	if (*p == '-') {
		neg = 1;
		p++;
	}
	for (; p < e && is_digit(*p); p++, nd++) {
		if (ip <= max_ms)
			ip = ip * 10 + (*p - '0');
	}
	if (nd == 0)
		return fail(why, (flags & CDR_TP_ISO) ? "bad timestamp" :
		    "bad epoch number");
	/* frac counts nanoseconds of a second, or picoseconds of a ms. */
	if (p < e && *p == '.') {
		for (p++; p < e && is_digit(*p); p++, nf++) {
			if (nf < 9)
				frac = frac * 10 + (*p - '0');
		}
		if (nf == 0)
			return fail(why, "bad fraction");
		if (nf > 9)
			return fail(why, "fraction too long");
		for (i = nf; i < 9; i++)
			frac *= 10;
	}
	if (p != e)
		return fail(why, "trailing characters");
	ms = (flags & CDR_TP_EPOCH_MS) || ((flags & CDR_TP_EPOCH_AUTO) &&
	    !(flags & CDR_TP_EPOCH_S) && nf == 0 && nd >= 13);
	if (ip > (ms ? max_ms : max_s))
		return fail(why, "time out of range");
	v = ms ? ip * 1000 + frac / 1000000 : ip * USEC + frac / 1000;
	if (neg)
		v = -v;
	if (v < CDR_TIME_MIN || v > CDR_TIME_MAX)
		return fail(why, "time out of range");
	*t = v;
	return 0;
}

/* v in at least width digits, '-' first when negative; returns the count. */
static size_t
put_int(char *b, int64_t v, int width)
{
	char tmp[24];
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
	size_t n = 0, k = 0;

	if (v < 0)
		b[k++] = '-';
	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	while (n < (size_t)width)
		tmp[n++] = '0';
	while (n > 0)
		b[k++] = tmp[--n];
	return k;
}

static void
put2(char *b, int v)
{
	b[0] = (char)('0' + v / 10);
	b[1] = (char)('0' + v % 10);
}

static size_t
put_year(char *b, int y)
{
	if (y < 0 || y > 9999)
		return put_int(b, y, 4);
	put2(b, y / 100);
	put2(b + 2, y % 100);
	return 4;
}

/* frac digits of usec, truncated; -1 picks 0, 3 or 6 digits. */
static size_t
put_frac(char *b, int usec, int frac)
{
	int div = 1, i;

	if (frac < 0)
		frac = usec == 0 ? 0 : usec % 1000 == 0 ? 3 : 6;
	if (frac > 6)
		frac = 6;
	if (frac == 0)
		return 0;
	for (i = frac; i < 6; i++)
		div *= 10;
	b[0] = '.';
	return 1 + put_int(b + 1, usec / div, frac);
}

/* +hh:mm, or +hhmm; seconds only when there are some (old LMT). */
static size_t
put_offset(char *b, int32_t off, int colon)
{
	int32_t a = off < 0 ? -off : off;
	size_t k = 0;

	b[k++] = off < 0 ? '-' : '+';
	put2(b + k, a / 3600);
	k += 2;
	if (colon)
		b[k++] = ':';
	put2(b + k, a / 60 % 60);
	k += 2;
	if (a % 60 != 0) {
		if (colon)
			b[k++] = ':';
		put2(b + k, a % 60);
		k += 2;
	}
	return k;
}

static size_t
put_civil(char *b, const struct cdr_civil *c, char sep, int frac)
{
	size_t k = put_year(b, c->year);

	b[k] = '-';
	put2(b + k + 1, c->month);
	b[k + 3] = '-';
	put2(b + k + 4, c->day);
	b[k + 6] = sep;
	put2(b + k + 7, c->hour);
	b[k + 9] = ':';
	put2(b + k + 10, c->min);
	b[k + 12] = ':';
	put2(b + k + 13, c->sec);
	k += 15;
	return k + put_frac(b + k, c->usec, frac);
}

static size_t
copy_out(char *buf, size_t len, const char *s, size_t n)
{
	if (len == 0)
		return 0;
	if (n >= len)
		n = len - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return n;
}

/*
 * Takes the second s: its local date and offset, and the seconds around
 * it that share both, which is its local day cut short by any change of
 * offset within that day.
 */
static void
iso_fill(struct cdr_time_iso *w, int64_t s)
{
	const struct tz_type *ty;
	int64_t lo, hi, day, midnight;
	size_t k;
	int y, m, d;

	ty = type_at(w->tz, s, &lo, &hi);
	day = floor_div(s + ty->utoff, DAY_SECS);
	midnight = day * DAY_SECS - ty->utoff;
	w->midnight = midnight;
	w->lo = lo > midnight ? lo : midnight;
	w->hi = hi < midnight + DAY_SECS ? hi : midnight + DAY_SECS;
	cdr_civil_from_days(day, &y, &m, &d);
	k = put_year(w->date, y);
	w->date[k] = '-';
	put2(w->date + k + 1, m);
	w->date[k + 3] = '-';
	put2(w->date + k + 4, d);
	w->date[k + 6] = 'T';
	w->ndate = (unsigned char)(k + 7);
	if (w->tz->utc) {
		w->zone[0] = 'Z';
		w->nzone = 1;
	} else {
		w->nzone = (unsigned char)put_offset(w->zone, ty->utoff, 1);
	}
}

void
cdr_time_iso_init(struct cdr_time_iso *w, const struct cdr_tz *tz)
{
	/* lo == hi: an empty span, which the first time fills. */
	memset(w, 0, sizeof(*w));
	w->tz = zone(tz);
}

/* "00" to "99". */
static const char pairs[200] =
    "00010203040506070809101112131415161718192021222324252627282930313233"
    "34353637383940414243444546474849505152535455565758596061626364656667"
    "6869707172737475767778798081828384858687888990919293949596979899";

size_t
cdr_time_iso_put(struct cdr_time_iso *w, char *b, cdr_time_t t, int frac)
{
	int64_t s = floor_div(t, USEC);
	int sod, usec;
	size_t k;

	if (s < w->lo || s >= w->hi)
		iso_fill(w, s);
	sod = (int)(s - w->midnight);
	usec = (int)(t - s * USEC);
	/* Whole arrays: fixed-size copies, the tails overwritten. */
	memcpy(b, w->date, sizeof(w->date));
	k = w->ndate;
	memcpy(b + k, pairs + 2 * (sod / 3600), 2);
	b[k + 2] = ':';
	memcpy(b + k + 3, pairs + 2 * (sod / 60 % 60), 2);
	b[k + 5] = ':';
	memcpy(b + k + 6, pairs + 2 * (sod % 60), 2);
	k += 8;
	/* As put_frac, for -1 without its loop. */
	if (frac >= 0) {
		k += put_frac(b + k, usec, frac);
	} else if (usec % 1000 != 0) {
		b[k] = '.';
		memcpy(b + k + 1, pairs + 2 * (usec / 10000), 2);
		memcpy(b + k + 3, pairs + 2 * (usec / 100 % 100), 2);
		memcpy(b + k + 5, pairs + 2 * (usec % 100), 2);
		k += 7;
	} else if (usec != 0) {
		b[k] = '.';
		b[k + 1] = (char)('0' + usec / 100000);
		memcpy(b + k + 2, pairs + 2 * (usec / 1000 % 100), 2);
		k += 4;
	}
	memcpy(b + k, w->zone, sizeof(w->zone));
	return k + w->nzone;
}

size_t
cdr_time_format_iso(char *buf, size_t len, cdr_time_t t,
    const struct cdr_tz *tz, int frac)
{
	struct cdr_time_iso w;
	char tmp[CDR_TIME_ISO_MAX];

	cdr_time_iso_init(&w, tz);
	return copy_out(buf, len, tmp, cdr_time_iso_put(&w, tmp, t, frac));
}

size_t
cdr_time_format_sql(char *buf, size_t len, cdr_time_t t,
    const struct cdr_tz *tz, int frac)
{
	struct cdr_civil c;
	char tmp[64];

	cdr_time_civil(t, cdr_tz_offset(tz, t), &c);
	return copy_out(buf, len, tmp, put_civil(tmp, &c, ' ', frac));
}

/* ISO 8601: the week belongs to the year that holds its Thursday. */
static void
iso_week(const struct cdr_civil *c, int *year, int *week)
{
	int64_t days = cdr_days_from_civil(c->year, c->month, c->day);
	int64_t thu = days - (c->wday + 6) % 7 + 3;
	int m, d;

	cdr_civil_from_days(thu, year, &m, &d);
	*week = (int)((thu - cdr_days_from_civil(*year, 1, 1)) / 7 + 1);
}

long
cdr_time_strftime(char *buf, size_t len, const char *fmt, cdr_time_t t,
    const struct cdr_tz *tz)
{
	const struct tz_type *ty;
	struct cdr_civil c;
	const char *f;
	char tmp[48];
	size_t pos = 0, k;
	int gy, gw;

	tz = zone(tz);
	ty = type_at(tz, floor_div(t, USEC), NULL, NULL);
	cdr_time_civil(t, ty->utoff, &c);
	for (f = fmt; *f != '\0'; f++) {
		k = 2;
		if (*f != '%') {
			tmp[0] = *f;
			k = 1;
		} else {
			switch (*++f) {
			case 'Y':
				k = put_year(tmp, c.year);
				break;
			case 'm':
				put2(tmp, c.month);
				break;
			case 'd':
				put2(tmp, c.day);
				break;
			case 'H':
				put2(tmp, c.hour);
				break;
			case 'M':
				put2(tmp, c.min);
				break;
			case 'S':
				put2(tmp, c.sec);
				break;
			case 'j':
				k = put_int(tmp, c.yday + 1, 3);
				break;
			case 'a':
				memcpy(tmp, wday_names[c.wday], 3);
				k = 3;
				break;
			case 'b':
				memcpy(tmp, month_names[c.month - 1], 3);
				k = 3;
				break;
			case 'u':
				tmp[0] = (char)('0' + (c.wday + 6) % 7 + 1);
				k = 1;
				break;
			case 'w':
				tmp[0] = (char)('0' + c.wday);
				k = 1;
				break;
			case 'V':
				iso_week(&c, &gy, &gw);
				put2(tmp, gw);
				break;
			case 'G':
				iso_week(&c, &gy, &gw);
				k = put_year(tmp, gy);
				break;
			case 'F':
				k = put_year(tmp, c.year);
				tmp[k] = '-';
				put2(tmp + k + 1, c.month);
				tmp[k + 3] = '-';
				put2(tmp + k + 4, c.day);
				k += 6;
				break;
			case 'T':
				put2(tmp, c.hour);
				tmp[2] = ':';
				put2(tmp + 3, c.min);
				tmp[5] = ':';
				put2(tmp + 6, c.sec);
				k = 8;
				break;
			case 'z':
				k = put_offset(tmp, ty->utoff, 0);
				break;
			case 'Z':
				k = strlen(ty->abbr);
				memcpy(tmp, ty->abbr, k);
				break;
			case 's':
				k = put_int(tmp, floor_div(t, USEC), 1);
				break;
			case 'f':
				k = put_int(tmp, c.usec, 6);
				break;
			case '%':
				tmp[0] = '%';
				k = 1;
				break;
			default:
				/* Unknown, or a lone '%' at the end. */
				return -1;
			}
		}
		if (len == 0 || k >= len - pos)
			return -1;
		memcpy(buf + pos, tmp, k);
		pos += k;
	}
	if (len == 0)
		return -1;
	buf[pos] = '\0';
	return (long)pos;
}

int
cdr_grain_parse(const char *s, struct cdr_grain *g)
{
	/* Limits keep every bucket bound of a valid time within int64_t. */
	static const struct {
		const char			*suffix;
		enum cdr_grain_unit		 unit;
		int64_t				 usec;
		int64_t				 max;
	} units[] = {
		{ "ms", CDR_G_FIXED, 1000, INT64_C(315569520000000) },
		{ "s", CDR_G_FIXED, USEC, INT64_C(315569520000) },
		{ "m", CDR_G_FIXED, 60 * USEC, INT64_C(5259492000) },
		{ "h", CDR_G_FIXED, 3600 * USEC, INT64_C(87658200) },
		{ "d", CDR_G_DAY, 0, 3652425 },
		{ "w", CDR_G_WEEK, 0, 521775 },
		{ "mo", CDR_G_MONTH, 0, 120000 },
		{ "q", CDR_G_QUARTER, 0, 40000 },
		{ "y", CDR_G_YEAR, 0, 10000 },
	};
	const char *p;
	int64_t v = 0;
	size_t i, len;

	if (s == NULL || (len = strlen(s)) >= sizeof(g->name))
		return -1;
	for (p = s; is_digit(*p); p++) {
		v = v * 10 + (*p - '0');
		if (v > units[0].max)
			return -1;
	}
	if (p == s || v == 0)
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(p, units[i].suffix) == 0)
			break;
	}
	if (i == sizeof(units) / sizeof(units[0]) || v > units[i].max)
		return -1;
	memset(g, 0, sizeof(*g));
	g->unit = units[i].unit;
	g->usec = v * units[i].usec;
	g->n = units[i].unit == CDR_G_FIXED ? 1 : (int)v;
	g->week_start = 1;
	memcpy(g->name, s, len + 1);
	return 0;
}

/* Day number of the first day of month index months (0 = 1970-01). */
static int64_t
month_start(int64_t months)
{
	return cdr_days_from_civil((int)(1970 + floor_div(months, 12)),
	    (int)floor_mod(months, 12) + 1, 1);
}

void
cdr_grain_bucket(const struct cdr_grain *g, const struct cdr_tz *tz,
    cdr_time_t t, cdr_time_t *start, cdr_time_t *end)
{
	int64_t days, d0, d1, first, ref, w, span, mi;
	int y, m, d;

	if (g->unit == CDR_G_FIXED) {
		*start = t - floor_mod(t - g->offset % g->usec, g->usec);
		*end = *start + g->usec;
		return;
	}
	tz = zone(tz);
	days = floor_div(t + cdr_tz_offset(tz, t) * USEC, DAY_USEC);
	switch (g->unit) {
	case CDR_G_DAY:
		d0 = days - floor_mod(days, g->n);
		d1 = d0 + g->n;
		break;
	case CDR_G_WEEK:
		/* Weeks count from the one holding 1970-01-01. */
		first = days - floor_mod(days + 4 - g->week_start, 7);
		ref = -floor_mod(4 - g->week_start, 7);
		w = (first - ref) / 7;
		d0 = ref + (w - floor_mod(w, g->n)) * 7;
		d1 = d0 + 7 * (int64_t)g->n;
		break;
	default:
		span = g->unit == CDR_G_MONTH ? g->n :
		    g->unit == CDR_G_QUARTER ? 3 * (int64_t)g->n :
		    12 * (int64_t)g->n;
		cdr_civil_from_days(days, &y, &m, &d);
		mi = ((int64_t)y - 1970) * 12 + m - 1;
		mi -= floor_mod(mi, span);
		d0 = month_start(mi);
		d1 = month_start(mi + span);
		break;
	}
	*start = resolve_local(tz, d0 * DAY_SECS, 1) * USEC;
	*end = resolve_local(tz, d1 * DAY_SECS, 1) * USEC;
	/*
	 * Clocks set back across the bound (Alaska's date-line move of 1867)
	 * show it twice; t, after the first time, ends at the second.
	 */
	if (*end <= t)
		*end = resolve_from(tz, d1 * DAY_SECS, 1, floor_div(t, USEC)) *
		    USEC;
}
