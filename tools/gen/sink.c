/*
 * Writing records: corruption (--error-rate), repeats (--duplicate-rate),
 * the --truth file, and pacing (--rate).
 *
 * Which records go bad is chosen from a stream of its own, and a bad
 * record is the good one damaged, so every other line is the same as
 * without --error-rate.  With a known number of records (always, except
 * under --rate without -n) exactly round(N x R) are chosen, by selection
 * sampling (Knuth's algorithm S); in an endless run the count after i
 * records is round(i x R) at every i.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msg.h"
#include "out.h"

#include "gen.h"

enum { FMT_JSON = 1, FMT_CSV = 2, FMT_BOTH = 3 };

/* The order corruptions take turns in, and their names in --truth. */
static const struct {
	const char	*name;
	unsigned char	 fmts;
	unsigned char	 on_field;
} kinds[INJ_COUNT] = {
	[INJ_TRUNCATED_JSON] =	 { "truncated-json", FMT_JSON, 0 },
	[INJ_TRUNCATED_ROW] =	 { "truncated-row", FMT_CSV, 0 },
	[INJ_WRONG_TYPE] =	 { "wrong-type", FMT_BOTH, 1 },
	[INJ_MISSING_FIELD] =	 { "missing-field", FMT_BOTH, 1 },
	[INJ_BAD_TIMESTAMP] =	 { "bad-timestamp", FMT_BOTH, 1 },
	[INJ_END_BEFORE_START] = { "end-before-start", FMT_BOTH, 1 },
	[INJ_INVALID_UTF8] =	 { "invalid-utf8", FMT_BOTH, 1 },
	[INJ_NOT_JSON] =	 { "not-json", FMT_JSON, 0 },
	[INJ_NOT_CSV] =		 { "not-csv", FMT_CSV, 0 },
	[INJ_DUPLICATE_KEY] =	 { "duplicate-key", FMT_JSON, 1 },
	[INJ_NUL_BYTE] =	 { "nul-byte", FMT_BOTH, 1 },
	[INJ_EMPTY_OBJECT] =	 { "empty-object", FMT_JSON, 0 },
	[INJ_EMPTY_LINE] =	 { "empty-line", FMT_CSV, 0 },
	[INJ_NULL_FIELD] =	 { "null-field", FMT_JSON, 1 },
	[INJ_BAD_ENUM] =	 { "bad-enum", FMT_BOTH, 1 },
	[INJ_OUT_OF_RANGE] =	 { "out-of-range", FMT_BOTH, 1 },
	[INJ_TRAILING_COMMA] =	 { "trailing-comma", FMT_JSON, 0 },
	[INJ_EXTRA_COLUMN] =	 { "extra-column", FMT_CSV, 0 },
	[INJ_BAD_ESCAPE] =	 { "bad-escape", FMT_JSON, 1 },
	[INJ_BARE_QUOTE] =	 { "bare-quote", FMT_CSV, 1 },
	[INJ_NOT_OBJECT] =	 { "not-object", FMT_JSON, 0 },
};

/* Lines that are not records at all; none holds a comma or a newline. */
static const char *const junk[] = {
	"ERROR 503 upstream timeout after 30000 ms",
	"<html><body><h1>502 Bad Gateway</h1></body></html>",
	"-- MARK --",
	"Traceback (most recent call last):",
	"undefined",
	"#"
};

static const char *const extra_cells[] = { ",extra", ",42", ",", ",\"\"" };

/* Set by SIGINT and SIGTERM under --rate; a handler can only set a flag. */
static volatile sig_atomic_t stop_flag;

static void on_stop(int sig);
static int64_t now_ns(void);
static int choose_bad(struct sink *s);
static int choose_dup(struct sink *s);
static int eligible(enum inj k, const struct field *f, int vtype, int csv);
static size_t format_bad(struct sink *s, fmt_fn *fmt, const void *rec,
    enum inj *kind, int *target);
static size_t damage(struct sink *s, enum inj kind, size_t len);
static void pace(struct sink *s);
static uint64_t write_line(struct sink *s, const char *p, size_t n);
static void truth(struct sink *s, uint64_t line, const char *kind,
    const char *field, uint64_t of);
static void flush_pending(struct sink *s, int all);

static void
on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/*
 * Under --rate, SIGINT and SIGTERM end the run after the line being
 * written, so outputs are complete and committed and the exit status is 0.
 * A signal ignored by the parent (nohup) stays ignored.
 */
void
sink_catch_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM };
	struct sigaction sa, old;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		if (sigaction(sigs[i], NULL, &old) == 0 &&
		    old.sa_handler == SIG_IGN)
			continue;
		if (sigaction(sigs[i], &sa, NULL) != 0)
			cdr_die_errno(CDR_EXIT_IO, "sigaction");
	}
}

int
sink_stopped(void)
{
	return stop_flag;
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		cdr_die_errno(CDR_EXIT_IO, "clock_gettime");
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void
sink_start(struct sink *s, struct gen *g, const struct field *f, int nf,
    unsigned sets, uint64_t nbase)
{
	size_t n;
	uint64_t bad;

	memset(s, 0, sizeof(*s));
	s->out = g->out;
	s->truth = g->truth;
	s->csv = g->csv;
	s->nbase = nbase;
	s->bad_rate = g->error_rate;
	s->dup_rate = g->dup_rate;
	s->rate = g->rate;
	s->base_ms = g->start;
	rng_init(&s->inj, g->seed, ST_INJECT, 0);
	rng_init(&s->dup, g->seed, ST_DUPLICATE, 0);
	if (nbase > 0) {
		bad = (uint64_t)floor((double)nbase * s->bad_rate + 0.5);
		s->bad_left = bad;
		s->dup_left = (uint64_t)floor((double)nbase * s->dup_rate + 0.5);
		if (s->dup_left > nbase - bad)
			s->dup_left = nbase - bad;
	}
	em_init(&s->em, f, nf, sets, s->csv);
	if (s->csv) {
		n = em_header(&s->em);
		s->em.buf[n++] = '\n';
		cdr_out_write(s->out, s->em.buf, n);
		s->line = 1;
	}
	if (s->rate > 0) {
		cdr_out_flush(s->out);
		s->t0_ns = now_ns();
	}
}

int64_t
sink_time(const struct sink *s)
{
	return s->base_ms + (int64_t)((double)s->data_lines * 1000 / s->rate);
}

static int
choose_bad(struct sink *s)
{
	double b = (double)s->base;

	if (s->bad_rate <= 0)
		return 0;
	if (s->nbase == 0)
		return floor((b + 1) * s->bad_rate + 0.5) >
		    floor(b * s->bad_rate + 0.5);
	if (s->base >= s->nbase)
		cdr_die(CDR_EXIT_INTERNAL, "more records than counted");
	if (s->bad_left > 0 &&
	    rng_below(&s->inj, s->nbase - s->base) < s->bad_left) {
		s->bad_left--;
		return 1;
	}
	return 0;
}

/* Called for a valid record before s->base counts it. */
static int
choose_dup(struct sink *s)
{
	double v = (double)s->valid;

	if (s->dup_rate <= 0)
		return 0;
	if (s->nbase == 0)
		return floor((v + 1) * s->dup_rate + 0.5) >
		    floor(v * s->dup_rate + 0.5);
	if (s->dup_left > 0 && rng_below(&s->dup,
	    s->nbase - s->base - s->bad_left) < s->dup_left) {
		s->dup_left--;
		return 1;
	}
	return 0;
}

static int
eligible(enum inj k, const struct field *f, int vtype, int csv)
{
	if (vtype == V_NULL)
		return 0;
	switch (k) {
	case INJ_WRONG_TYPE:
		return vtype == V_INT || vtype == V_FIXED ||
		    (!csv && vtype == V_STR && (f->flags & FF_ID));
	case INJ_MISSING_FIELD:
		/* A CSV column cannot be left out: its cell reads as null. */
		return (f->flags & (csv ? FF_NOTNULL : FF_REQ)) != 0;
	case INJ_DUPLICATE_KEY:
		return (f->flags & FF_REQ) != 0;
	case INJ_NULL_FIELD:
		return (f->flags & FF_NOTNULL) != 0;
	case INJ_BAD_TIMESTAMP:
		return vtype == V_TIME;
	case INJ_END_BEFORE_START:
		return vtype == V_TIME && (f->flags & FF_END);
	case INJ_INVALID_UTF8:
	case INJ_NUL_BYTE:
	case INJ_BAD_ESCAPE:
		return vtype == V_STR;
	case INJ_BARE_QUOTE:
		return vtype == V_STR && (f->flags & FF_ID);
	case INJ_BAD_ENUM:
		return vtype == V_STR && (f->flags & FF_ENUM);
	case INJ_OUT_OF_RANGE:
		return f->oor != NULL;
	default:
		return 0;
	}
}

/*
 * The next kind in turn that fits the format and the record: a kind that
 * cannot apply (no end time in an sms event) passes its turn on.
 */
static size_t
format_bad(struct sink *s, fmt_fn *fmt, const void *rec, enum inj *kind,
    int *target)
{
	struct emit *e = &s->em;
	int want = s->csv ? FMT_CSV : FMT_JSON;
	int cand[MAX_FIELDS], ncand, i, tries;
	enum inj k;
	size_t len;

	for (tries = 0; tries < INJ_COUNT; tries++) {
		k = (enum inj)s->cycle;
		s->cycle = (s->cycle + 1) % INJ_COUNT;
		if (!(kinds[k].fmts & want))
			continue;
		e->survey = kinds[k].on_field;
		em_begin(e);
		fmt(e, rec);
		len = em_end(e);
		e->survey = 0;
		*kind = k;
		*target = -1;
		if (!kinds[k].on_field)
			return damage(s, k, len);
		for (ncand = 0, i = 0; i < e->nseen; i++) {
			if (eligible(k, &e->f[e->seen[i].field],
			    e->seen[i].vtype, s->csv))
				cand[ncand++] = e->seen[i].field;
		}
		if (ncand == 0)
			continue;
		*target = cand[rng_below(&s->inj, (uint64_t)ncand)];
		e->inj_field = *target;
		e->inj = k;
		e->inj_var = rng_next(&s->inj);
		em_begin(e);
		fmt(e, rec);
		len = em_end(e);
		if (!e->inj_done)
			cdr_die(CDR_EXIT_INTERNAL, "%s: field %s not written",
			    kinds[k].name, e->f[*target].col);
		e->inj_field = -1;
		e->inj = INJ_NONE;
		return len;
	}
	cdr_die(CDR_EXIT_INTERNAL, "no corruption fits the record");
}

/* Damage to the record as a whole; returns the new length. */
static size_t
damage(struct sink *s, enum inj kind, size_t len)
{
	char *b = s->em.buf;
	const char *t;
	size_t cut;
	int k;

	switch (kind) {
	case INJ_TRUNCATED_JSON:
		/* Never at a character boundary inside a UTF-8 sequence. */
		cut = 1 + (size_t)rng_below(&s->inj, len - 2);
		while (cut > 1 && ((unsigned char)b[cut] & 0xc0) == 0x80)
			cut--;
		return cut;
	case INJ_TRUNCATED_ROW:
		k = 1 + (int)rng_below(&s->inj, (uint64_t)s->em.ncell - 1);
		return s->em.cell[k] - 1;
	case INJ_NOT_JSON:
	case INJ_NOT_CSV:
		t = junk[rng_below(&s->inj, sizeof(junk) / sizeof(junk[0]))];
		memcpy(b, t, strlen(t));
		return strlen(t);
	case INJ_EMPTY_OBJECT:
		memcpy(b, "{}", 2);
		return 2;
	case INJ_EMPTY_LINE:
		return 0;
	case INJ_TRAILING_COMMA:
		b[len - 1] = ',';
		b[len] = '}';
		return len + 1;
	case INJ_EXTRA_COLUMN:
		t = extra_cells[rng_below(&s->inj,
		    sizeof(extra_cells) / sizeof(extra_cells[0]))];
		memcpy(b + len, t, strlen(t));
		return len + strlen(t);
	case INJ_NOT_OBJECT:
		memmove(b + 1, b, len);
		b[0] = '[';
		b[len + 1] = ']';
		return len + 2;
	default:
		cdr_die(CDR_EXIT_INTERNAL, "corruption %d of a record", kind);
	}
}

/* An absolute schedule, so the rate does not drift with the work done. */
static void
pace(struct sink *s)
{
	struct timespec ts;
	int64_t at;

	if (s->rate <= 0)
		return;
	at = s->t0_ns + (int64_t)((double)s->data_lines * 1e9 / s->rate);
	ts.tv_sec = (time_t)(at / 1000000000);
	ts.tv_nsec = (long)(at % 1000000000);
	while (!stop_flag && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME,
	    &ts, NULL) == EINTR)
		continue;
}

/* Returns the line the record starts on, 0 when stopped. */
static uint64_t
write_line(struct sink *s, const char *p, size_t n)
{
	const char *q = p, *end = p + n - 1, *nl;
	uint64_t first;

	pace(s);
	if (stop_flag)
		return 0;
	cdr_out_write(s->out, p, n);
	first = ++s->line;
	/* A CSV cell may hold line breaks; the header counts as line 1. */
	while (s->csv && (nl = memchr(q, '\n', (size_t)(end - q))) != NULL) {
		s->line++;
		q = nl + 1;
	}
	s->record++;
	s->data_lines++;
	if (s->rate > 0)
		cdr_out_flush(s->out);
	return first;
}

static void
truth(struct sink *s, uint64_t line, const char *kind, const char *field,
    uint64_t of)
{
	if (s->truth == NULL)
		return;
	cdr_out_printf(s->truth, "{\"line\":%llu,\"record\":%llu,"
	    "\"kind\":\"%s\"", (unsigned long long)line,
	    (unsigned long long)s->record, kind);
	if (field != NULL)
		cdr_out_printf(s->truth, ",\"field\":\"%s\"", field);
	if (of > 0)
		cdr_out_printf(s->truth, ",\"of\":%llu", (unsigned long long)of);
	cdr_out_puts(s->truth, "}\n");
}

uint64_t
sink_record(struct sink *s, fmt_fn *fmt, const void *rec, uint64_t dup_of,
    int *valid)
{
	struct emit *e = &s->em;
	struct pending *pd;
	enum inj kind = INJ_NONE;
	int target = -1, bad = choose_bad(s);
	uint64_t line;
	size_t len;

	if (bad) {
		len = format_bad(s, fmt, rec, &kind, &target);
	} else {
		em_begin(e);
		fmt(e, rec);
		len = em_end(e);
	}
	e->buf[len++] = '\n';
	line = write_line(s, e->buf, len);
	if (line == 0)
		return 0;
	if (bad)
		truth(s, line, kinds[kind].name,
		    target >= 0 ? e->f[target].col : NULL, 0);
	else if (dup_of > 0)
		truth(s, line, "duplicate", NULL, dup_of);
	if (valid != NULL)
		*valid = !bad;
	if (!bad && choose_dup(s)) {
		if (s->npend == PEND_MAX)
			cdr_die(CDR_EXIT_INTERNAL, "too many repeats pending");
		pd = &s->pend[s->npend++];
		pd->due = s->base + 1 + rng_below(&s->dup, 8);
		pd->of = line;
		pd->line = cdr_xmalloc(len);
		memcpy(pd->line, e->buf, len);
		pd->len = len;
	}
	if (!bad)
		s->valid++;
	s->base++;
	flush_pending(s, 0);
	return line;
}

/* Repeats go out a few records after their original, in order. */
static void
flush_pending(struct sink *s, int all)
{
	struct pending pd;
	uint64_t line;
	int i, best;

	for (;;) {
		best = -1;
		for (i = 0; i < s->npend; i++) {
			if ((all || s->pend[i].due <= s->base) &&
			    (best < 0 || s->pend[i].due < s->pend[best].due))
				best = i;
		}
		if (best < 0)
			return;
		pd = s->pend[best];
		memmove(&s->pend[best], &s->pend[best + 1],
		    (size_t)(s->npend - best - 1) * sizeof(pd));
		s->npend--;
		line = write_line(s, pd.line, pd.len);
		if (line > 0)
			truth(s, line, "duplicate", NULL, pd.of);
		free(pd.line);
	}
}

void
sink_finish(struct sink *s)
{
	flush_pending(s, 1);
	free(s->em.buf);
}
