/*
 * cdr-gen internals: the run state and what its modules share.
 *
 * Times are int64_t milliseconds since the epoch throughout: every
 * timestamp written has millisecond precision, and durations computed from
 * the written values must agree with the numbers written beside them.
 *
 * Floating point is used only with +, -, *, /, sqrt, floor, frexp and
 * ldexp, which IEEE 754 defines exactly; exp, log and cos come from
 * rng.c, so that the same seed gives the same bytes on every machine
 * whatever its libm.
 */
#ifndef GEN_H
#define GEN_H

#include <stddef.h>
#include <stdint.h>

#include "out.h"

#define MS_PER_SEC	INT64_C(1000)
#define MS_PER_MIN	INT64_C(60000)
#define MS_PER_HOUR	INT64_C(3600000)
#define MS_PER_DAY	INT64_C(86400000)

enum kind {
	KIND_CALLS,
	KIND_SMS,
	KIND_SMS_SENT,
	KIND_SMS_DELIVERY,
	KIND_SMS_CLICK,
	KIND_AGENT_STATES,
	KIND_ORGS,
	KIND_WAV
};

/* xoshiro256** */
struct rng {
	uint64_t s[4];
};

/*
 * Independent random streams derived from the seed: corrupting or
 * duplicating records draws from its own stream, so the records around a
 * corrupted one are the same as without --error-rate.
 */
enum stream {
	ST_WORLD = 1,
	ST_CALLS,
	ST_SMS,
	ST_AGENTS,
	ST_WAV,
	ST_WAV_NOISE,
	ST_INJECT,
	ST_DUPLICATE
};

void	 rng_init(struct rng *r, uint64_t seed, uint64_t stream,
	    uint64_t index);
uint64_t rng_next(struct rng *r);
uint64_t rng_below(struct rng *r, uint64_t n);
double	 rng_unit(struct rng *r);
int	 rng_chance(struct rng *r, double p);
double	 rng_between(struct rng *r, double lo, double hi);
double	 rng_normal(struct rng *r);
double	 rng_lognormal(struct rng *r, double median, double sigma);
/* An index drawn with the given weights. */
size_t	 rng_pick(struct rng *r, const unsigned short *w, size_t n);
double	 det_exp(double x);
double	 det_log(double x);
double	 det_cos(double x);
/* floor(x + 0.5) as an integer. */
int64_t	 round_ms(double x);

/* Fast formatting into a buffer; each returns the end of what it wrote. */
struct daycache {
	int64_t	day;
	char	ymd[10];	/* "YYYY-MM-DD" */
};
void	 daycache_init(struct daycache *dc);
char	*fmt_u64(char *d, uint64_t v);
char	*fmt_i64(char *d, int64_t v);
char	*fmt_pad(char *d, uint64_t v, int width);
char	*fmt_id(char *d, char prefix, uint64_t n, int width);
/* "2026-11-22T08:00:01.123Z", 24 bytes. */
char	*fmt_iso_ms(char *d, int64_t ms, struct daycache *dc);
char	*fmt_hex(char *d, uint64_t v, int digits);
/* A random version 4 UUID, 36 bytes. */
char	*fmt_uuid(char *d, struct rng *r);

/*
 * The world: tenants with their home country and time zone, agents,
 * queues, campaigns and the organisation history, all drawn from the seed
 * and the --tenants, --agents, --queues and --campaigns counts alone, so
 * that every kind generated with the same options talks about the same
 * tenants, agents and campaigns.
 */
#define NHOMES 14

struct home {
	const char		*cc;	/* country calling code */
	int			 utc_min;	/* standard-time offset */
	const char *const	*pat;	/* national number patterns */
	const char		*region[3];	/* AWS regions, home first */
	const char		*legal[2];	/* company suffixes */
	unsigned short		 weight;
	unsigned char		 alaw;	/* G.711 A-law country */
	unsigned char		 sender;	/* SMS sender style */
};

enum { SENDER_SHORT, SENDER_ALPHA, SENDER_LONG, SENDER_HEADER };

struct version {
	int64_t		at;
	char		name[96];
	unsigned char	region;	/* index into home->region */
};

struct tenant {
	char			 id[16];
	const struct home	*home;
	double			 weight;
	double			 outbound;	/* share of outbound calls */
	char			 alias[48];	/* Amazon Connect instance */
	char			 did[4][20];
	int			 ndid;
	uint32_t		 agent0, nagent;
	uint32_t		 queue0, nqueue;
	uint32_t		*camp;	/* campaign indices */
	uint32_t		 ncamp;
	struct version		*ver;
	int			 nver;
};

struct campaign {
	char		id[16];
	uint32_t	tenant;
	double		weight;
	double		ctr;	/* share of delivered messages clicked */
	double		fail;	/* delivery failure multiplier */
	char		sender[24];
};

/* Picking tenants (calls, agents) or campaigns (sms) by home zone. */
struct zone {
	uint32_t	*idx;
	double		*cum;
	uint32_t	 n;
	double		 weight;
};

struct world {
	struct tenant	*tenant;
	uint32_t	 ntenant;
	struct campaign	*camp;
	uint32_t	 ncamp;
	const char	**skill;	/* per queue */
	uint32_t	 nqueue;
	uint32_t	 nagent;
	uint32_t	*camp_idx;
	struct zone	 tz[NHOMES];	/* tenants by home */
	struct zone	 cz[NHOMES];	/* campaigns by home */
};

const struct home *world_homes(void);
void	 world_build(struct world *w, uint64_t seed, uint32_t tenants,
	    uint32_t agents, uint32_t queues, uint32_t campaigns,
	    int64_t start, int64_t span);
void	 world_free(struct world *w);
/* A phone number of the home country, "+" and digits. */
char	*fmt_e164(char *d, const struct home *h, struct rng *r);
/* The tenant's AWS region at time t. */
const char *tenant_region(const struct tenant *t, int64_t at);
/* Minutes since local midnight (standard time) at t. */
int	 local_minute(const struct home *h, int64_t t);

/*
 * Busy hours: events spread over [start, start + span) with a density
 * that is the sum, over home zones, of the zone's weight times a daily
 * curve in the zone's local time.
 */
enum curve { CURVE_CALLS, CURVE_SMS };

struct diurnal {
	const struct world	*w;
	const struct zone	*z;	/* tz or cz */
	enum curve		 curve;
	int64_t			 minute;	/* cached: weights at this minute */
	double			 zw[NHOMES];
	double			 sum;
};

void	 diurnal_init(struct diurnal *d, const struct world *w,
	    enum curve curve, int by_campaign);
double	 diurnal_density(struct diurnal *d, int64_t t);
/* Load at t relative to the busiest hour, 0..1, in home h. */
double	 diurnal_load(enum curve curve, const struct home *h, int64_t t);
/* A tenant (or campaign) index, weighted by the activity at t. */
uint32_t diurnal_pick(struct diurnal *d, struct rng *r, int64_t t);

/*
 * Record i of n at a time drawn from the density: times are nondecreasing
 * in i (stratified sampling of the inverse distribution), so records come
 * out in time order without sorting.
 */
struct sampler {
	struct diurnal	*d;
	int64_t		 start, span;
	size_t		 nbins;
	double		*cum;
	uint64_t	 n;
	size_t		 bin;
};

void	 sampler_init(struct sampler *s, struct diurnal *d, int64_t start,
	    int64_t span, uint64_t n);
void	 sampler_rewind(struct sampler *s);
int64_t	 sampler_time(struct sampler *s, uint64_t i, double u);
void	 sampler_free(struct sampler *s);

/*
 * Records are written through an emitter that knows the fields of the
 * kind, so one formatting function serves NDJSON and CSV, and a field can
 * be corrupted on its way out.
 */
enum ftype { FT_STR, FT_INT, FT_FIXED, FT_TIME, FT_LIST, FT_OBJ, FT_MILLI };

/*
 * Required and not-null follow share/schemas: a corruption that removes
 * a field or nulls it is only chosen where the schema forbids that.
 */
enum {
	FF_REQ = 1 << 0,	/* present in every record that has it */
	FF_NOTNULL = 1 << 1,	/* never null */
	FF_PLAIN = 1 << 2,	/* never needs escaping or quoting */
	FF_ID = 1 << 3,		/* an identifier (may become a number) */
	FF_ENUM = 1 << 4,	/* one of a few words */
	FF_START = 1 << 5,	/* the start of an interval */
	FF_END = 1 << 6		/* its end */
};

#define FF_MUST (FF_REQ | FF_NOTNULL)

struct field {
	const char	*key;
	unsigned char	 klen;
	const char	*col;	/* CSV column: the dotted path */
	unsigned char	 type;
	unsigned char	 flags;
	unsigned char	 sets;	/* record variants that carry it */
	signed char	 parent;	/* enclosing object, -1 at top */
	const char	*oor;	/* an out-of-range value, or NULL */
};

#define FIELD(k, c, t, fl, s, p, o) \
	{ k, sizeof(k) - 1, c, t, fl, s, p, o }

#define EMIT_MAX	16384
#define MAX_FIELDS	32

/* Kinds of corruption (see sink.c for the order they are used in). */
enum inj {
	INJ_NONE = -1,
	INJ_TRUNCATED_JSON,
	INJ_TRUNCATED_ROW,
	INJ_WRONG_TYPE,
	INJ_MISSING_FIELD,
	INJ_BAD_TIMESTAMP,
	INJ_END_BEFORE_START,
	INJ_INVALID_UTF8,
	INJ_NOT_JSON,
	INJ_NOT_CSV,
	INJ_DUPLICATE_KEY,
	INJ_NUL_BYTE,
	INJ_EMPTY_OBJECT,
	INJ_EMPTY_LINE,
	INJ_NULL_FIELD,
	INJ_BAD_ENUM,
	INJ_OUT_OF_RANGE,
	INJ_TRAILING_COMMA,
	INJ_EXTRA_COLUMN,
	INJ_BAD_ESCAPE,
	INJ_BARE_QUOTE,
	INJ_NOT_OBJECT,
	INJ_COUNT
};

struct emit {
	char			*buf;
	char			*p;
	int			 csv;
	const struct field	*f;
	int			 nf;
	signed char		 col[MAX_FIELDS];	/* -1: not written */
	int			 ncols;
	int			 depth;
	unsigned char		 first[4];
	size_t			 cell[MAX_FIELDS];	/* CSV cell offsets */
	int			 ncell;
	int64_t			 start_ms;	/* last FF_START time */
	struct daycache		 dc;
	/* A survey lists what a corruption could target. */
	int			 survey;
	struct {
		unsigned char	field;
		unsigned char	vtype;
	}			 seen[MAX_FIELDS];
	int			 nseen;
	/* The corruption to apply to one field, if any. */
	int			 inj_field;
	enum inj		 inj;
	uint64_t		 inj_var;
	int			 inj_done;
};

/* Value types seen by a survey. */
enum { V_ABSENT, V_NULL, V_STR, V_INT, V_FIXED, V_TIME, V_LIST, V_MILLI };

void	 em_init(struct emit *e, const struct field *f, int nf,
	    unsigned sets, int csv);
size_t	 em_header(struct emit *e);
void	 em_begin(struct emit *e);
size_t	 em_end(struct emit *e);
void	 em_str(struct emit *e, int fi, const char *s, size_t n);
void	 em_strz(struct emit *e, int fi, const char *s);	/* NULL: null */
void	 em_int(struct emit *e, int fi, int64_t v);
void	 em_fixed(struct emit *e, int fi, int64_t v, int decimals);
void	 em_milli(struct emit *e, int fi, int64_t v);
void	 em_time(struct emit *e, int fi, int64_t ms);
void	 em_null(struct emit *e, int fi);
void	 em_absent(struct emit *e, int fi);
void	 em_list(struct emit *e, int fi, const char *const *v, size_t n);
void	 em_obj(struct emit *e, int fi);
void	 em_obj_end(struct emit *e);

typedef void fmt_fn(struct emit *e, const void *rec);

/*
 * The sink writes records: it chooses which to corrupt and which to
 * repeat, keeps the --truth file, and paces output under --rate.
 */
struct pending {
	uint64_t	 due;	/* after this many base records */
	uint64_t	 of;	/* line of the original */
	char		*line;
	size_t		 len;
};

#define PEND_MAX 9

struct sink {
	struct cdr_out	*out;
	struct cdr_out	*truth;
	struct emit	 em;
	int		 csv;
	uint64_t	 line;	/* physical lines written, header included */
	uint64_t	 record;	/* records written */
	uint64_t	 data_lines;	/* records and duplicates: pacing slots */
	uint64_t	 nbase;	/* base records to come in all, 0: unbounded */
	uint64_t	 base;	/* base records done */
	double		 bad_rate;
	double		 dup_rate;
	uint64_t	 bad_left;	/* still to corrupt (bounded runs) */
	uint64_t	 dup_left;	/* still to repeat (bounded runs) */
	uint64_t	 valid;	/* valid base records so far */
	int		 cycle;	/* next corruption kind */
	struct rng	 inj;
	struct rng	 dup;
	struct pending	 pend[PEND_MAX];
	int		 npend;
	double		 rate;	/* lines per second, 0: as fast as possible */
	int64_t		 base_ms;	/* time of the first line under --rate */
	int64_t		 t0_ns;	/* CLOCK_MONOTONIC at the first line */
};

struct gen;

void	 sink_start(struct sink *s, struct gen *g, const struct field *f,
	    int nf, unsigned sets, uint64_t nbase);
/* Under --rate, the time of the next line. */
int64_t	 sink_time(const struct sink *s);
/*
 * Writes one base record; dup_of is the line of the record it repeats
 * (natural duplicates of the sms kinds) or 0.  Returns the line written
 * (0 when stopped by a signal); *valid says whether it was left intact.
 */
uint64_t sink_record(struct sink *s, fmt_fn *fmt, const void *rec,
	    uint64_t dup_of, int *valid);
void	 sink_finish(struct sink *s);
void	 sink_catch_signals(void);
int	 sink_stopped(void);

/* Everything about one run. */
struct gen {
	enum kind	 kind;
	uint64_t	 count;
	int		 unbounded;	/* --rate without -n */
	uint64_t	 seed;
	int64_t		 start;
	int64_t		 span;
	uint32_t	 tenants, agents, queues, campaigns;
	int		 csv;
	double		 error_rate;
	double		 dup_rate;
	double		 rate;
	int		 force;
	const char	*output;
	const char	*truth_path;
	/* wav */
	const char	*dir;
	int64_t		 duration;	/* ms; 0: spread or default */
	int		 duration_spread;	/* evenly in min..max */
	int64_t		 min_duration, max_duration;	/* ms */
	uint32_t	 rate_hz;
	unsigned	 channels, bits;

	struct cdr_out	*out;
	struct cdr_out	*truth;
	struct world	 world;
	struct sink	 sink;
};

void	 gen_calls(struct gen *g);
void	 gen_sms(struct gen *g);
void	 gen_agent_states(struct gen *g);
void	 gen_orgs(struct gen *g);
void	 gen_wav(struct gen *g);

/* Shared by calls and wav: the Amazon Connect recording key. */
char	*fmt_recording_key(char *d, const char *alias, const char *contact,
	    int64_t at, struct daycache *dc);

#endif
