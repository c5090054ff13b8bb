/*
 * cdr-rollup: group-by over calendar buckets and tumbling windows, in one
 * streaming pass.  Batch mode keeps every group until the input ends and
 * writes all rows in a fixed order; with --watermark each window is
 * written as soon as the watermark (max event time - bound) passes its
 * end.  --partial writes mergeable states, --merge combines them.
 * read = written (aggregated) + rejected (dead letters, "late" ones
 * among them) + filtered, always.
 */

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cdrtime.h"
#include "deadletter.h"
#include "jqexpr.h"
#include "msg.h"
#include "out.h"
#include "parse.h"
#include "progress.h"
#include "record.h"
#include "write.h"

#include "rollup.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

static void usage(FILE *fp);
static void parse_options(struct rollup *r, int argc, char **argv);
static void setup(struct rollup *r);
static void run_source(struct rollup *r, const char *path,
    struct cdr_reader *rd);
static void handle(struct rollup *r, struct cdr_record *rec);
static void advance(struct rollup *r, int64_t wm);
static void *idle_main(void *arg);
static void finish(struct rollup *r);
static void free_jq(struct rollup *r);

enum {
	OPT_AGG = 256,
	OPT_ALLOWED_LATENESS,
	OPT_BY,
	OPT_DEAD_LETTER,
	OPT_DIM,
	OPT_DIM_FIELDS,
	OPT_DIM_VERSION,
	OPT_DISTINCT_EXACT,
	OPT_EVERY,
	OPT_EXACT,
	OPT_GRAIN,
	OPT_HLL_PRECISION,
	OPT_IDLE_FLUSH,
	OPT_MAX_ERRORS,
	OPT_MAX_ERROR_RATE,
	OPT_MAX_GROUPS,
	OPT_MAX_MEMORY,
	OPT_MAX_RECORD,
	OPT_MERGE,
	OPT_NO_PROGRESS,
	OPT_OFFSET,
	OPT_ON,
	OPT_PARTIAL,
	OPT_PROGRESS,
	OPT_RELATIVE_ERROR,
	OPT_STATS,
	OPT_TIME,
	OPT_TZ,
	OPT_WATERMARK,
	OPT_WEEK_START,
	OPT_WHERE
};

static const struct option longopts[] = {
	{ "agg", required_argument, NULL, OPT_AGG },
	{ "allowed-lateness", required_argument, NULL, OPT_ALLOWED_LATENESS },
	{ "by", required_argument, NULL, OPT_BY },
	{ "dead-letter", required_argument, NULL, OPT_DEAD_LETTER },
	{ "dim", required_argument, NULL, OPT_DIM },
	{ "dim-fields", required_argument, NULL, OPT_DIM_FIELDS },
	{ "dim-version", required_argument, NULL, OPT_DIM_VERSION },
	{ "distinct-exact", required_argument, NULL, OPT_DISTINCT_EXACT },
	{ "every", required_argument, NULL, OPT_EVERY },
	{ "exact", no_argument, NULL, OPT_EXACT },
	{ "force", no_argument, NULL, 'f' },
	{ "grain", required_argument, NULL, OPT_GRAIN },
	{ "help", no_argument, NULL, 'h' },
	{ "hll-precision", required_argument, NULL, OPT_HLL_PRECISION },
	{ "idle-flush", required_argument, NULL, OPT_IDLE_FLUSH },
	{ "input-format", required_argument, NULL, 'i' },
	{ "max-error-rate", required_argument, NULL, OPT_MAX_ERROR_RATE },
	{ "max-errors", required_argument, NULL, OPT_MAX_ERRORS },
	{ "max-groups", required_argument, NULL, OPT_MAX_GROUPS },
	{ "max-memory", required_argument, NULL, OPT_MAX_MEMORY },
	{ "max-record", required_argument, NULL, OPT_MAX_RECORD },
	{ "merge", no_argument, NULL, OPT_MERGE },
	{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
	{ "offset", required_argument, NULL, OPT_OFFSET },
	{ "on", required_argument, NULL, OPT_ON },
	{ "output", required_argument, NULL, 'o' },
	{ "output-format", required_argument, NULL, 'O' },
	{ "partial", no_argument, NULL, OPT_PARTIAL },
	{ "progress", no_argument, NULL, OPT_PROGRESS },
	{ "quiet", no_argument, NULL, 'q' },
	{ "relative-error", required_argument, NULL, OPT_RELATIVE_ERROR },
	{ "stats", required_argument, NULL, OPT_STATS },
	{ "time", required_argument, NULL, OPT_TIME },
	{ "tz", required_argument, NULL, OPT_TZ },
	{ "version", no_argument, NULL, 'V' },
	{ "watermark", required_argument, NULL, OPT_WATERMARK },
	{ "week-start", required_argument, NULL, OPT_WEEK_START },
	{ "where", required_argument, NULL, OPT_WHERE },
	{ NULL, 0, NULL, 0 }
};

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: cdr-rollup [-fqV] [-i format] [-O format] [-o file] [--every grain[,...]]\n"
"                  [--time field[,...]] [--tz zone] [--week-start day]\n"
"                  [--offset duration] [--by key[,...]] [--agg spec[,...]]\n"
"                  [--where expr] [--dim file --on key [--dim-version field]\n"
"                  [--dim-fields list]] [--watermark duration\n"
"                  [--allowed-lateness duration] [--idle-flush duration]]\n"
"                  [--partial] [--exact] [--distinct-exact n]\n"
"                  [--hll-precision p] [--relative-error r] [--max-groups n]\n"
"                  [--max-memory size]\n"
"                  [--dead-letter file] [--max-errors n] [--max-error-rate r]\n"
"                  [--stats file] [--max-record size] [file ...]\n"
"       cdr-rollup --merge [--grain name] [--every grain[,...]] [--by key[,...]]\n"
"                  [--agg spec[,...]] [--partial] [-o file] [partial-file ...]\n"
"\n"
"Groups records (NDJSON or CSV) by time buckets and keys and writes one row\n"
"per window and group.\n"
"\n"
"  -i, --input-format auto|ndjson|csv\n"
"  -O, --output-format ndjson|csv\n"
"  -o, --output FILE        write to FILE (atomic) instead of stdout\n"
"  -f, --force              replace an existing output file\n"
"      --every GRAINS       5s 15m 1h (fixed), 1d 1w 1mo 1q 1y (calendar);\n"
"                           several in one pass; none: one all-time window\n"
"      --time FIELDS        event time: the first present field (default\n"
"                           start_time); ISO-8601 or epoch seconds/ms\n"
"      --tz ZONE            zone of calendar buckets and output times (UTC)\n"
"      --week-start DAY     first day of 1w buckets (monday)\n"
"      --offset DURATION    shift fixed windows (e.g. 15m, -30m)\n"
"      --by KEYS            group keys: [name=]field.path, or dimension columns\n"
"      --agg SPEC           [name=]aggregate, comma-separated (default count):\n"
"                           count count(x) count_if(jq) sum avg min max\n"
"                           first(x[,t]) last(x[,t]) distinct(x[,y...])\n"
"                           median p50 p90 p95 p99 percentile(x,q);\n"
"                           AGG filter(jq); arithmetic of aggregates;\n"
"                           presets asr acd calls_in_queue agents\n"
"                           min_handle max_handle min_wait max_wait\n"
"      --where EXPR         aggregate only records where the jq EXPR is true\n"
"      --dim FILE           dimension table (NDJSON or CSV)\n"
"      --on KEY             join field: FIELD or RECORD_FIELD=DIM_FIELD\n"
"      --dim-version FIELD  the latest version of a key wins (default: last row)\n"
"      --dim-fields LIST    dimension columns appended to rows (default: all)\n"
"      --watermark DURATION streaming: emit a window when max event time -\n"
"                           DURATION passes its end\n"
"      --allowed-lateness DURATION\n"
"                           keep windows this long after emitting; later\n"
"                           records re-emit them with a higher revision\n"
"      --idle-flush DURATION\n"
"                           after DURATION without input, advance the\n"
"                           watermark by processing time\n"
"      --partial            write mergeable partial states (NDJSON)\n"
"      --merge              read partial states and combine them\n"
"      --grain NAME         --merge: only partial rows of this grain\n"
"      --exact              exact percentiles and distinct counts\n"
"      --distinct-exact N   distinct counts exact up to N values (2048)\n"
"      --hll-precision P    HyperLogLog registers 2^P (14: 0.81%% error)\n"
"      --relative-error R   percentile sketch accuracy (0.01)\n"
"      --max-groups N       fail rather than hold more groups\n"
"      --max-memory SIZE    fail rather than hold more group state (default:\n"
"                           half the memory; 0: no limit)\n"
"      --dead-letter FILE   rejected and late records with reasons\n"
"      --max-errors N       rejected records allowed before exit status 1 (0)\n"
"      --max-error-rate R   rejected share allowed (e.g. 0.01 or 1%%)\n"
"      --stats FILE         counts, groups and state bytes as JSON\n"
"      --max-record SIZE    longest record (default 256M)\n"
"      --progress, --no-progress\n"
"  -q, --quiet              no summary line, no meter (unless --progress)\n"
"  -h, --help               this help\n"
"  -V, --version            version and library versions\n");
}

static void
need(int ok, const char *opt, const char *arg, const char *why)
{
	if (!ok)
		cdr_usage_error("%s %s: %s", opt, arg, why ? why : "bad value");
}

static char **
push(char **v, size_t *n, char *s)
{
	v = cdr_xreallocarray(v, *n + 1, sizeof(*v));
	v[(*n)++] = s;
	return v;
}

static int
week_day(const char *s)
{
	static const char *const days[] = {
		"sunday", "monday", "tuesday", "wednesday", "thursday",
		"friday", "saturday"
	};
	size_t n = strlen(s);
	int i;

	for (i = 0; i < 7; i++)
		if ((n == 3 || strlen(days[i]) == n) &&
		    strncasecmp(s, days[i], n) == 0)
			return i;
	return -1;
}

static void
parse_options(struct rollup *r, int argc, char **argv)
{
	const char *why = NULL;
	uint64_t u;
	int c, neg;

	r->progress = CDR_PROGRESS_AUTO;
	r->week_start = 1;
	r->hll_precision = 14;
	r->distinct_exact = 2048;
	r->alpha = 0.01;
	r->watermark_bound = -1;
	while ((c = getopt_long(argc, argv, "fhi:o:O:qV", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'f':
			r->force = 1;
			break;
		case 'h':
			usage(stdout);
			cdr_out_finish();
			exit(CDR_EXIT_OK);
		case 'i':
			if (cdr_format_parse(optarg, 1, &r->input_format) != 0)
				cdr_usage_error("-i %s: expected auto, ndjson "
				    "or csv", optarg);
			break;
		case 'o':
			r->output = optarg;
			break;
		case 'O':
			if (strcmp(optarg, "csv") == 0)
				r->csv_out = 1;
			else if (strcmp(optarg, "ndjson") == 0)
				r->csv_out = 0;
			else
				cdr_usage_error("-O %s: expected ndjson or csv",
				    optarg);
			break;
		case 'q':
			r->quiet = 1;
			break;
		case 'V':
			cdr_version_print(stdout);
			cdr_out_finish();
			exit(CDR_EXIT_OK);
		case OPT_AGG:
			r->agg_specs = push(r->agg_specs, &r->nagg_specs,
			    optarg);
			break;
		case OPT_ALLOWED_LATENESS:
			need(cdr_parse_duration(optarg, &r->lateness,
			    &why) == 0, "--allowed-lateness", optarg, why);
			break;
		case OPT_BY:
			r->by_specs = push(r->by_specs, &r->nby_specs, optarg);
			break;
		case OPT_DEAD_LETTER:
			r->dead_letter_path = optarg;
			break;
		case OPT_DIM:
			r->dim_path = optarg;
			break;
		case OPT_DIM_FIELDS:
			r->dim_fields = optarg;
			break;
		case OPT_DIM_VERSION:
			r->dim_version = optarg;
			break;
		case OPT_DISTINCT_EXACT:
			need(cdr_parse_uint(optarg, 1, UINT32_MAX,
			    &r->distinct_exact, &why) == 0,
			    "--distinct-exact", optarg, why);
			break;
		case OPT_EVERY:
			r->every_specs = push(r->every_specs,
			    &r->nevery_specs, optarg);
			break;
		case OPT_EXACT:
			r->exact = 1;
			break;
		case OPT_GRAIN:
			r->merge_grain = optarg;
			break;
		case OPT_HLL_PRECISION:
			need(cdr_parse_uint(optarg, 4, 18, &u, &why) == 0,
			    "--hll-precision", optarg, why);
			r->hll_precision = (int)u;
			break;
		case OPT_IDLE_FLUSH:
			need(cdr_parse_duration(optarg, &r->idle_flush,
			    &why) == 0, "--idle-flush", optarg, why);
			need(r->idle_flush > 0, "--idle-flush", optarg,
			    "must be more than 0");
			break;
		case OPT_MAX_ERRORS:
			need(cdr_parse_uint(optarg, 0, UINT64_MAX,
			    &r->max_errors, &why) == 0, "--max-errors", optarg,
			    why);
			r->has_max_errors = 1;
			break;
		case OPT_MAX_ERROR_RATE:
			need(cdr_parse_ratio(optarg, &r->max_error_rate,
			    &why) == 0, "--max-error-rate", optarg, why);
			r->has_max_rate = 1;
			break;
		case OPT_MAX_MEMORY:
			need(cdr_parse_size(optarg, &r->max_memory, &why) == 0,
			    "--max-memory", optarg, why);
			r->has_max_memory = 1;
			break;
		case OPT_MAX_GROUPS:
			need(cdr_parse_uint(optarg, 1, UINT64_MAX,
			    &r->max_groups, &why) == 0, "--max-groups", optarg,
			    why);
			break;
		case OPT_MAX_RECORD:
			need(cdr_parse_size(optarg, &r->max_record, &why) == 0,
			    "--max-record", optarg, why);
			need(r->max_record >= 16 && r->max_record < UINT32_MAX,
			    "--max-record", optarg, "must be at least 16 and below 4G");
			break;
		case OPT_MERGE:
			r->merge = 1;
			break;
		case OPT_NO_PROGRESS:
			r->progress = CDR_PROGRESS_OFF;
			break;
		case OPT_OFFSET:
			neg = optarg[0] == '-';
			need(cdr_parse_duration(optarg + neg, &r->offset,
			    &why) == 0, "--offset", optarg, why);
			if (neg)
				r->offset = -r->offset;
			break;
		case OPT_ON:
			r->dim_on = optarg;
			break;
		case OPT_PARTIAL:
			r->partial = 1;
			break;
		case OPT_PROGRESS:
			r->progress = CDR_PROGRESS_ON;
			break;
		case OPT_RELATIVE_ERROR:
			need(cdr_parse_ratio(optarg, &r->alpha, &why) == 0,
			    "--relative-error", optarg, why);
			need(r->alpha >= 0.0001 && r->alpha <= 0.2,
			    "--relative-error", optarg,
			    "out of range (0.0001..0.2)");
			break;
		case OPT_STATS:
			r->stats_path = optarg;
			break;
		case OPT_TIME:
			r->time_spec = optarg;
			break;
		case OPT_TZ:
			r->tz_name = optarg;
			break;
		case OPT_WATERMARK:
			need(cdr_parse_duration(optarg, &r->watermark_bound,
			    &why) == 0, "--watermark", optarg, why);
			r->streaming = 1;
			break;
		case OPT_WEEK_START:
			r->week_start = week_day(optarg);
			need(r->week_start >= 0, "--week-start", optarg,
			    "expected a day name (monday, sun, ...)");
			break;
		case OPT_WHERE:
			r->where_text = optarg;
			break;
		default:
			fprintf(stderr, "Try 'cdr-rollup --help' for more "
			    "information.\n");
			exit(CDR_EXIT_USAGE);
		}
	}
	if (r->streaming && r->nevery_specs == 0)
		cdr_usage_error("--watermark needs --every");
	if ((r->lateness || r->idle_flush) && !r->streaming)
		cdr_usage_error("--allowed-lateness and --idle-flush need "
		    "--watermark");
	if (r->partial && r->lateness)
		cdr_usage_error("--partial with --allowed-lateness would write "
		    "a window twice: merge would count it twice");
	if (r->partial && r->csv_out)
		cdr_usage_error("--partial writes NDJSON only");
	if (r->merge && (r->streaming || r->where_text || r->time_spec))
		cdr_usage_error("--merge takes no --watermark, --where or "
		    "--time: partial rows carry their windows");
	if (r->merge && r->dim_path && r->partial)
		cdr_usage_error("--merge --partial takes no --dim");
	if (r->merge_grain && !r->merge)
		cdr_usage_error("--grain selects partial rows: it needs --merge");
	if ((r->dim_on || r->dim_version || r->dim_fields) && !r->dim_path)
		cdr_usage_error("--on, --dim-version and --dim-fields need --dim");
	if (r->dim_path && !r->dim_on)
		cdr_usage_error("--dim needs --on KEY");
	if (r->nevery_specs == 0 && (r->offset != 0))
		cdr_usage_error("--offset shifts --every windows: it needs "
		    "--every");
	if (r->exact)
		r->distinct_exact = 0;
}

/* The grain named name, added when it is new: its index, -2 if bad. */
int
partial_grain(struct rollup *r, const char *name)
{
	struct grain *gr;
	size_t i;

	for (i = 0; i < r->ngrains; i++)
		if (strcmp(r->grains[i].g.name, name) == 0)
			return (int)i;
	r->grains = cdr_xreallocarray(r->grains, r->ngrains + 1,
	    sizeof(*r->grains));
	gr = &r->grains[r->ngrains];
	memset(gr, 0, sizeof(*gr));
	if (cdr_grain_parse(name, &gr->g) != 0)
		return -2;
	gr->g.week_start = r->week_start;
	gr->day_relative = gr->g.unit == CDR_G_FIXED && !r->tz_utc &&
	    (INT64_C(86400000000) % gr->g.usec) == 0;
	return (int)r->ngrains++;
}

static void
parse_every(struct rollup *r, const char *spec)
{
	char *copy = cdr_xstrdup(spec), *tok, *save = NULL;
	size_t before;
	int gi;

	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		before = r->ngrains;
		gi = partial_grain(r, tok);
		if (gi == -2)
			cdr_usage_error("--every %s: expected 5s, 15m, 1h, 1d, "
			    "1w, 1mo, 1q or 1y (a count and a unit)", tok);
		if (r->ngrains == before)
			cdr_usage_error("--every %s: given twice", tok);
	}
	free(copy);
}

/* Everything that follows from keys and columns being known. */
void
spec_settle(struct rollup *r)
{
	if (r->have_spec)
		return;
	if (r->ncols == 0)
		spec_parse_aggs(r, "count");
	ds_params(r->hll_precision, r->distinct_exact);
	dd_params(r->alpha);
	spec_finish(r);
	free(r->spec_text);
	r->spec_text = spec_canon_text(r);
	r->fingerprint = XXH3_64bits(r->spec_text, strlen(r->spec_text));
	if (r->dim != NULL)
		dim_setup_keys(r);
	if (r->merge)
		partial_own_spec(r);
	r->have_spec = 1;
}

static void
setup(struct rollup *r)
{
	char err[1024];
	char *copy, *tok, *save = NULL;
	size_t i;
	int flags = r->force ? CDR_OUT_FORCE : 0;
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);

	/* A clear error long before the OOM killer. */
	if (!r->has_max_memory && pages > 0 && psize > 0)
		r->max_memory = (uint64_t)pages * (uint64_t)psize / 2;

	if (r->tz_name != NULL) {
		r->tz = cdr_tz_load(r->tz_name, err, sizeof(err));
		if (r->tz == NULL)
			cdr_usage_error("--tz %.256s: %s", r->tz_name, err);
		r->tz_utc = strcmp(r->tz_name, "UTC") == 0 ||
		    strcmp(r->tz_name, "Z") == 0;
	} else {
		r->tz_utc = 1;
	}
	for (i = 0; i < r->nevery_specs; i++)
		parse_every(r, r->every_specs[i]);
	if (!r->merge) {
		copy = cdr_xstrdup(r->time_spec ? r->time_spec : "start_time");
		for (tok = strtok_r(copy, ",", &save); tok != NULL;
		    tok = strtok_r(NULL, ",", &save)) {
			r->time_paths = cdr_xreallocarray(r->time_paths,
			    r->ntime + 1, sizeof(*r->time_paths));
			r->time_names = cdr_xreallocarray(r->time_names,
			    r->ntime + 1, sizeof(*r->time_names));
			if (cdr_path_init(&r->time_paths[r->ntime], tok) != 0)
				cdr_usage_error("--time %s: empty field name",
				    r->time_spec);
			r->time_names[r->ntime++] = cdr_xstrdup(tok);
		}
		free(copy);
		if (r->ntime == 0)
			cdr_usage_error("--time: no field");
		r->time_hints = cdr_xcalloc(r->ntime, sizeof(*r->time_hints));
	}
	if (r->dim_path != NULL)
		dim_load(r);
	for (i = 0; i < r->nby_specs; i++)
		spec_parse_by(r, r->by_specs[i]);
	for (i = 0; i < r->nagg_specs; i++)
		spec_parse_aggs(r, r->agg_specs[i]);
	/* --merge takes what --by/--agg leave open from the first header. */
	if (!r->merge)
		spec_settle(r);
	if (r->where_text != NULL) {
		r->where = cdr_jq_compile(r->where_text, err, sizeof(err));
		if (r->where == NULL)
			cdr_usage_error("--where %s: %s", r->where_text, err);
	}
	r->max_event = INT64_MIN;
	r->wm = INT64_MIN;
	r->out = r->output ? cdr_out_open(r->output, flags) : cdr_out_stdout();
	if (r->out == NULL)
		exit(CDR_EXIT_IO);
	if (r->dead_letter_path != NULL) {
		r->dead_letter = cdr_out_open(r->dead_letter_path, flags);
		if (r->dead_letter == NULL)
			exit(CDR_EXIT_IO);
	}
	if (r->streaming && r->have_spec)
		emit_header(r);
}

void
reject_record(struct rollup *r, const struct cdr_record *rec,
    const char *field, const char *check, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->counts.rejected++;
	if (strcmp(check, "late") == 0)
		r->late++;
	if (r->dead_letter == NULL)
		return;
	cdr_errors_reset(&r->errs);
	cdr_errors_add(&r->errs, field, check, "%s", msg);
	cdr_dead_letter_write(r->dead_letter, rec, cdr_errors_list(&r->errs),
	    r->errs.n);
}

/* The event time: the first --time field present.  1, 0 none, -1 bad. */
static int
event_time(struct rollup *r, const struct cdr_record *rec, int64_t *t,
    const char **field, const char **why)
{
	struct cdr_value v;
	const char *s;
	size_t i, n;

	for (i = 0; i < r->ntime; i++) {
		if (!cdr_record_get_hint(rec, &r->time_paths[i], &v,
		    &r->time_hints[i]) || v.type == CDR_T_NULL)
			continue;
		*field = r->time_names[i];
		if (v.type == CDR_T_NUMBER) {
			s = v.p;
			n = v.len;
		} else if (v.type == CDR_T_STRING) {
			s = cdr_value_str(&v, &r->scratch, &n);
		} else {
			*why = "not a time";
			return -1;
		}
		if (cdr_time_parse(s, n, CDR_TP_ANY, r->tz, t, why) != 0)
			return -1;
		return 1;
	}
	*field = r->time_names[0];
	return 0;
}

/* A group key column from a record value. */
static void
put_key_value(struct rollup *r, int fi)
{
	struct field *f = &r->fields[fi];
	struct val v;
	char num[64];

	eval_field(r, fi, &v);
	switch (v.kind) {
	case VK_MISSING:
	case VK_NULL:
		key_add(&r->keybuf, KT_NULL, NULL, 0);
		break;
	case VK_STR:
		key_add(&r->keybuf, KT_STR, v.s, v.n);
		break;
	case VK_JSON:
		key_add(&r->keybuf, KT_RAW, v.s, v.n);
		break;
	case VK_BOOL:
		key_add(&r->keybuf, KT_RAW, v.m ? "true" : "false",
		    v.m ? 4 : 5);
		break;
	default:
		if (f->raw != NULL) {
			key_add(&r->keybuf, KT_RAW, f->raw, f->rawn);
		} else {
			if (v.exact)
				fmt_dec(num, sizeof(num), v.m, v.scale);
			else
				fmt_double(num, sizeof(num), v.d);
			key_add(&r->keybuf, KT_RAW, num, strlen(num));
		}
		break;
	}
}

static int
where_ok(struct rollup *r, const struct cdr_record *rec, char *err,
    size_t errlen)
{
	jv out;
	int rc;

	if (!r->jq_input_set) {
		r->jq_input = cdr_jq_input(rec);
		r->jq_input_set = 1;
	}
	rc = cdr_jq_first(r->where, jv_copy(r->jq_input), &out, err, errlen);
	if (rc == 1) {
		jv_kind k = jv_get_kind(out);

		jv_free(out);
		return k != JV_KIND_FALSE && k != JV_KIND_NULL;
	}
	return rc;
}

/* Years within this of the ends of 0000..9999 get their windows checked. */
#define EDGE_USEC (INT64_C(400) * 86400 * CDR_USEC_PER_SEC)

/* Whether every window of t starts and ends within 0000..9999 in the zone. */
static int
windows_in_range(struct rollup *r, int64_t t)
{
	int64_t s, e;
	size_t i;

	for (i = 0; i < r->ngrains; i++) {
		bucket(r, (int)i, t, &s, &e);
		/* As written: local wall-clock times with 4-digit years. */
		s += (int64_t)cdr_tz_offset(r->tz, s) * CDR_USEC_PER_SEC;
		e += (int64_t)cdr_tz_offset(r->tz, e) * CDR_USEC_PER_SEC;
		if (s < CDR_TIME_MIN || e > CDR_TIME_MAX)
			return 0;
	}
	return 1;
}

static void
handle(struct rollup *r, struct cdr_record *rec)
{
	char why[512], ts[64], wms[64], ws[64], we[64];
	const char *field = NULL, *tw = NULL;
	struct window *w;
	struct group *g;
	uint64_t hash;
	int64_t t = 0, s, e;
	size_t i;
	int rc;

	r->counts.read++;
	if (rec->bad) {
		reject_record(r, rec, NULL, "parse", "%s", rec->err);
		return;
	}
	eval_begin(r, rec);
	if (r->merge) {
		partial_read(r, rec);
		return;
	}
	if (r->where != NULL) {
		rc = where_ok(r, rec, why, sizeof(why));
		if (rc < 0) {
			reject_record(r, rec, NULL, "where", "%s", why);
			return;
		}
		if (rc == 0) {
			r->counts.filtered++;
			return;
		}
	}
	if (r->ngrains > 0 || r->need_tie) {
		rc = event_time(r, rec, &t, &field, &tw);
		if (rc < 0) {
			reject_record(r, rec, field, "time", "%s", tw);
			return;
		}
		if (rc == 0 && r->ngrains > 0) {
			reject_record(r, rec, field, "time", "no event time "
			    "(--time %s)", r->time_spec ? r->time_spec :
			    "start_time");
			return;
		}
		r->event_time = rc > 0 ? t : INT64_MIN;
		if (rc > 0 && (t < CDR_TIME_MIN + EDGE_USEC ||
		    t > CDR_TIME_MAX - EDGE_USEC) && !windows_in_range(r, t)) {
			reject_record(r, rec, field, "time", "a window of this "
			    "time falls outside the years 0000 to 9999");
			return;
		}
	}
	if (r->dim != NULL && r->dim->record_join)
		dim_join_record(r);
	cdr_buf_reset(&r->keybuf);
	for (i = 0; i < r->nkeys; i++)
		put_key_value(r, r->keys[i].field);
	hash = key_hash(r->keybuf.p, r->keybuf.len);
	/* The group's slot loads while the aggregates' inputs are read. */
	if (r->ngrains == 0 && r->nwindows > 0 && r->windows[0]->nslot > 0)
		__builtin_prefetch(&r->windows[0]->slot[hash &
		    (r->windows[0]->nslot - 1)]);
	if (agg_prepare(r, &field, why, sizeof(why)) != 0) {
		reject_record(r, rec, field, field ? "type" : "jq", "%s", why);
		return;
	}
	if (r->streaming) {
		for (i = 0; i < r->ngrains; i++) {
			bucket(r, (int)i, t, &s, &e);
			if (r->wm != INT64_MIN && e + r->lateness <= r->wm) {
				fmt_time(r, ts, sizeof(ts), t);
				fmt_time(r, wms, sizeof(wms), r->wm);
				fmt_time(r, ws, sizeof(ws), s);
				fmt_time(r, we, sizeof(we), e);
				reject_record(r, rec, field, "late", "event time "
				    "%s is behind the watermark %s: window "
				    "[%s, %s) of %s is closed", ts, wms, ws, we,
				    r->grains[i].g.name);
				return;
			}
		}
	}
	if (r->ngrains == 0) {
		w = window_get(r, -1, 0, 0);
		g = group_get(r, w, r->keybuf.p, r->keybuf.len, hash);
		agg_update(r, g);
	}
	for (i = 0; i < r->ngrains; i++) {
		w = window_for(r, (int)i, t);
		g = group_get(r, w, r->keybuf.p, r->keybuf.len, hash);
		agg_update(r, g);
		if (w->fired)
			w->dirty = 1;
	}
	/* Distinct sets and exact percentiles grow without new groups. */
	if (r->max_memory != 0 && r->state_bytes > r->max_memory)
		memory_exceeded(r);
	r->counts.written++;
	if (r->streaming) {
		if (t > r->max_event)
			r->max_event = t;
		advance(r, r->max_event - r->watermark_bound);
	}
}

static int
fire_cmp(const void *x, const void *y)
{
	const struct window *a = *(struct window *const *)x;
	const struct window *b = *(struct window *const *)y;

	if (a->end != b->end)
		return a->end < b->end ? -1 : 1;
	if (a->grain != b->grain)
		return a->grain < b->grain ? -1 : 1;
	return a->start < b->start ? -1 : a->start > b->start;
}

/*
 * Moves the watermark to wm (never back): windows whose end it reaches are
 * written, windows updated since they were written are written again, and
 * windows past their allowed lateness are freed.  INT64_MAX: the end.
 */
static void
advance(struct rollup *r, int64_t wm)
{
	struct window **due;
	size_t i, n = 0;

	if (wm <= r->wm)
		return;
	r->wm = wm;
	due = cdr_xcalloc(r->nwindows + 1, sizeof(*due));
	for (i = 0; i < r->nwindows; i++) {
		struct window *w = r->windows[i];

		if ((!w->fired && w->end <= wm) || (w->fired && w->dirty))
			due[n++] = w;
	}
	qsort(due, n, sizeof(*due), fire_cmp);
	for (i = 0; i < n; i++) {
		if (due[i]->fired)
			due[i]->revision++;
		due[i]->fired = 1;
		due[i]->dirty = 0;
		emit_window(r, due[i]);
	}
	n = 0;
	for (i = 0; i < r->nwindows; i++) {
		struct window *w = r->windows[i];

		if (w->fired && (wm == INT64_MAX || w->end <= wm - r->lateness))
			due[n++] = w;
	}
	for (i = 0; i < n; i++)
		window_free(r, due[i]);
	free(due);
	cdr_out_flush(r->out);
}

static int64_t
now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * CDR_USEC_PER_SEC + ts.tv_nsec / 1000;
}

/*
 * --idle-flush: when no record has come for the given time, the watermark
 * moves on with the processing clock, as if event time went on too.
 */
static void *
idle_main(void *arg)
{
	struct rollup *r = arg;
	struct timespec nap;
	int64_t step = r->idle_flush / 4, idle;

	if (step > 100000)
		step = 100000;
	if (step < 1000)
		step = 1000;
	nap.tv_sec = (time_t)(step / CDR_USEC_PER_SEC);
	nap.tv_nsec = (long)(step % CDR_USEC_PER_SEC) * 1000;
	for (;;) {
		nanosleep(&nap, NULL);
		pthread_mutex_lock(&r->lock);
		if (!r->idle_running) {
			pthread_mutex_unlock(&r->lock);
			return NULL;
		}
		idle = now_usec() - r->last_input;
		if (r->max_event != INT64_MIN && idle >= r->idle_flush)
			advance(r, r->max_event + idle - r->watermark_bound);
		pthread_mutex_unlock(&r->lock);
	}
}

static int
next_record(struct rollup *r, struct cdr_reader *rd, struct cdr_record **rec)
{
	int rc;

	if (!r->idle_running)
		return cdr_reader_next(rd, rec);
	pthread_mutex_unlock(&r->lock);
	rc = cdr_reader_next(rd, rec);
	pthread_mutex_lock(&r->lock);
	r->last_input = now_usec();
	return rc;
}

static void
run_source(struct rollup *r, const char *path, struct cdr_reader *rd)
{
	struct cdr_record *rec;
	int rc;

	if (cdr_reader_open(rd, path) != 0) {
		r->counts.sources_failed++;
		return;
	}
	while ((rc = next_record(r, rd, &rec)) > 0) {
		handle(r, rec);
		cdr_progress_update(r->counts.read,
		    cdr_reader_stats(rd)->bytes);
	}
	if (rc < 0)
		r->counts.sources_failed++;
}

static void
finish(struct rollup *r)
{
	struct cdr_buf extra = CDR_BUF_INIT;
	uint64_t errors;
	int status = CDR_EXIT_OK;

	cdr_progress_end();
	/* No more groups come: the thread faulting in their memory stops. */
	cdr_big_ahead_free(r->chunk_ahead);
	r->chunk_ahead = NULL;
	if (r->idle_running) {
		r->idle_running = 0;
		pthread_mutex_unlock(&r->lock);
		pthread_join(r->idle_thread, NULL);
	}
	if (r->counts.sources_failed > 0) {
		/* An input could not be read: commit nothing. */
		if (r->output != NULL)
			cdr_out_abort(r->out);
		if (r->dead_letter != NULL)
			cdr_out_abort(r->dead_letter);
		status = CDR_EXIT_IO;
	} else {
		if (!r->have_spec && (r->nagg_specs > 0 || r->nby_specs > 0))
			spec_settle(r);
		if (!r->have_spec) {
			if (r->counts.read > 0)
				cdr_warn("no partial header in the input: "
				    "nothing to merge");
		} else if (r->streaming) {
			advance(r, INT64_MAX);
		} else {
			emit_all(r);
		}
		if (r->dead_letter != NULL)
			cdr_out_commit(r->dead_letter);
		cdr_out_commit(r->out);
	}
	cdr_buf_printf(&extra, "\"groups\":%llu,\"windows\":%zu,\"rows\":%llu,"
	    "\"late\":%llu,\"state_bytes\":%llu",
	    (unsigned long long)r->ngroups, r->nwindows,
	    (unsigned long long)r->rows_out, (unsigned long long)r->late,
	    (unsigned long long)r->state_bytes);
	if (r->dim != NULL)
		dim_report(r, &extra);
	cdr_counts_report(&r->counts, r->quiet, r->stats_path, extra.p);
	cdr_buf_free(&extra);
	if (r->late > 0 && !r->quiet)
		cdr_warn("%llu late record%s%s", (unsigned long long)r->late,
		    r->late == 1 ? "" : "s", r->dead_letter_path ?
		    " in the dead-letter file" : " (use --dead-letter to keep "
		    "them)");
	/* Late records are an outcome of streaming, not data errors. */
	errors = r->counts.rejected - r->late;
	if (status == CDR_EXIT_OK && errors > 0) {
		if (r->has_max_rate && !r->has_max_errors) {
			if ((double)errors > r->max_error_rate *
			    (double)r->counts.read)
				status = CDR_EXIT_DATA;
		} else if (errors > r->max_errors || (r->has_max_rate &&
		    (double)errors > r->max_error_rate *
		    (double)r->counts.read)) {
			status = CDR_EXIT_DATA;
		}
		if (status == CDR_EXIT_DATA && !r->quiet)
			cdr_warn("%llu rejected records exceed the error "
			    "budget%s", (unsigned long long)errors,
			    r->dead_letter_path ? "" :
			    " (use --dead-letter to keep them)");
	}
	cdr_out_finish();
	free_jq(r);
	exit(status);
}

/*
 * libjq holds its stack by a pointer past the end of the block, so a jq
 * program left alone at exit reads as a definite leak: tear them down.
 */
static void
free_jq(struct rollup *r)
{
	size_t i;

	for (i = 0; i < r->npreds; i++)
		cdr_jq_free(r->preds[i].jq);
	cdr_jq_free(r->where);
	if (r->jq_input_set) {
		jv_free(r->jq_input);
		r->jq_input_set = 0;
	}
}

int
main(int argc, char **argv)
{
	struct rollup r;
	struct cdr_reader_opts ro;
	struct cdr_reader *rd;
	int i;

	cdr_msg_init(argv[0]);
	memset(&r, 0, sizeof(r));
	parse_options(&r, argc, argv);
	setup(&r);
	memset(&ro, 0, sizeof(ro));
	ro.format = r.merge ? CDR_FMT_NDJSON : r.input_format;
	ro.max_record = (size_t)r.max_record;
	rd = cdr_reader_new(&ro);
	if (r.idle_flush > 0) {
		pthread_mutex_init(&r.lock, NULL);
		pthread_mutex_lock(&r.lock);
		r.last_input = now_usec();
		r.idle_running = 1;
		if (pthread_create(&r.idle_thread, NULL, idle_main, &r) != 0)
			cdr_die(CDR_EXIT_IO, "cannot start a thread");
	}
	cdr_progress_start(r.quiet && r.progress == CDR_PROGRESS_AUTO ?
	    CDR_PROGRESS_OFF : r.progress, "cdr-rollup");
	if (optind == argc)
		run_source(&r, "-", rd);
	for (i = optind; i < argc; i++)
		run_source(&r, argv[i], rd);
	r.counts.blank += cdr_reader_stats(rd)->blank;
	cdr_reader_free(rd);
	finish(&r);
	return CDR_EXIT_INTERNAL;
}
