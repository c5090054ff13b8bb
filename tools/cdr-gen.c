/*
 * cdr-gen: deterministic synthetic data for cdrpipe: call-detail records,
 * SMS sent/delivery/click events, agent-state facts, an organisation
 * dimension with history, and WAV call recordings, with a chosen share of
 * malformed and repeated records and optional real-time pacing.
 *
 * The same options and seed give the same bytes on every machine.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cdrtime.h"
#include "msg.h"
#include "out.h"
#include "parse.h"

#include "gen.h"

#define DEFAULT_START	"2026-11-22T00:00:00Z"
#define DEFAULT_COUNT	1000
#define DEFAULT_WAVS	10
#define MAX_DAYS	36525

enum {
	OPT_AGENTS = 256,
	OPT_BITS,
	OPT_CAMPAIGNS,
	OPT_CHANNELS,
	OPT_DAYS,
	OPT_DUPLICATE_RATE,
	OPT_DURATION,
	OPT_ERROR_RATE,
	OPT_MAX_DURATION,
	OPT_MIN_DURATION,
	OPT_QUEUES,
	OPT_RATE,
	OPT_RATE_HZ,
	OPT_SEED,
	OPT_SPAN,
	OPT_START,
	OPT_TENANTS,
	OPT_TRUTH
};

/* Options given on the command line, for the checks after parsing. */
enum {
	GIVEN_COUNT = 1 << 0,
	GIVEN_DAYS = 1 << 1,
	GIVEN_SPAN = 1 << 2,
	GIVEN_START = 1 << 3,
	GIVEN_TENANTS = 1 << 4,
	GIVEN_WAV = 1 << 5,	/* an option that only wav takes */
	GIVEN_DURATION = 1 << 6,
	GIVEN_RANGE = 1 << 7,
	GIVEN_BAD = 1 << 8,	/* --error-rate, --duplicate-rate, --truth */
	GIVEN_AGENTS = 1 << 9,
	GIVEN_QUEUES = 1 << 10
};

static const struct option longopts[] = {
	{ "agents", required_argument, NULL, OPT_AGENTS },
	{ "bits", required_argument, NULL, OPT_BITS },
	{ "campaigns", required_argument, NULL, OPT_CAMPAIGNS },
	{ "channels", required_argument, NULL, OPT_CHANNELS },
	{ "count", required_argument, NULL, 'n' },
	{ "days", required_argument, NULL, OPT_DAYS },
	{ "dir", required_argument, NULL, 'd' },
	{ "duplicate-rate", required_argument, NULL, OPT_DUPLICATE_RATE },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "error-rate", required_argument, NULL, OPT_ERROR_RATE },
	{ "force", no_argument, NULL, 'f' },
	{ "format", required_argument, NULL, 'O' },
	{ "help", no_argument, NULL, 'h' },
	{ "kind", required_argument, NULL, 'k' },
	{ "max-duration", required_argument, NULL, OPT_MAX_DURATION },
	{ "min-duration", required_argument, NULL, OPT_MIN_DURATION },
	{ "output", required_argument, NULL, 'o' },
	{ "queues", required_argument, NULL, OPT_QUEUES },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "rate-hz", required_argument, NULL, OPT_RATE_HZ },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "span", required_argument, NULL, OPT_SPAN },
	{ "start", required_argument, NULL, OPT_START },
	{ "tenants", required_argument, NULL, OPT_TENANTS },
	{ "truth", required_argument, NULL, OPT_TRUTH },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

static const char *const kind_names[] = {
	[KIND_CALLS] = "calls",
	[KIND_SMS] = "sms",
	[KIND_SMS_SENT] = "sms-sent",
	[KIND_SMS_DELIVERY] = "sms-delivery",
	[KIND_SMS_CLICK] = "sms-click",
	[KIND_AGENT_STATES] = "agent-states",
	[KIND_ORGS] = "orgs",
	[KIND_WAV] = "wav",
};

#define NKINDS (sizeof(kind_names) / sizeof(kind_names[0]))

static void usage(FILE *fp);
static uint64_t opt_uint(const char *opt, const char *s, uint64_t min,
    uint64_t max);
static double opt_ratio(const char *opt, const char *s);
static int64_t opt_duration(const char *opt, const char *s);
static enum kind parse_kind(const char *s);
static void check_options(struct gen *g, unsigned given, const char *kind,
    const char *start, uint64_t days);
static struct cdr_out *open_output(const char *path, int force);

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: cdr-gen [-f] [-n count] [-O ndjson|csv] [-o file] "
	    "[--seed n]\n"
	    "               [--start time] [--days n | --span duration]\n"
	    "               [--tenants n] [--agents n] [--queues n] "
	    "[--campaigns n]\n"
	    "               [--error-rate r] [--duplicate-rate r] "
	    "[--truth file]\n"
	    "               [--rate n] kind\n"
	    "       cdr-gen -d dir [-f] [-n count] [-O ndjson|csv] "
	    "[-o file] [--seed n]\n"
	    "               [--duration d | --min-duration d "
	    "--max-duration d]\n"
	    "               [--rate-hz hz] [--channels 1|2] "
	    "[--bits 8|16|24|32] wav\n"
	    "       cdr-gen -h | -V\n"
	    "\n"
	    "kinds: calls, sms, sms-sent, sms-delivery, sms-click, "
	    "agent-states, orgs, wav\n"
	    "\n"
	    "  -d, --dir dir          write WAV files under dir (wav)\n"
	    "  -f, --force            replace existing output files\n"
	    "  -k, --kind kind        the kind, instead of the operand\n"
	    "  -n, --count n          records (sms: messages; orgs: "
	    "organisations;\n"
	    "                         wav: files); default 1000, wav 10\n"
	    "  -O, --format fmt       ndjson (default) or csv\n"
	    "  -o, --output file      write to file, atomically "
	    "(default: stdout)\n"
	    "      --seed n           random seed (default 1)\n"
	    "      --start time       first instant (default "
	    DEFAULT_START ")\n"
	    "      --days n           spread over n days (default 1)\n"
	    "      --span duration    spread over a duration (36h, 90m)\n"
	    "      --tenants n        tenants (default 20)\n"
	    "      --agents n         agents (default 10 a tenant)\n"
	    "      --queues n         queues (default 2 a tenant)\n"
	    "      --campaigns n      campaigns (default 12)\n"
	    "      --error-rate r     share of malformed records (0.05, 5%%)\n"
	    "      --duplicate-rate r share of records repeated\n"
	    "      --truth file       list malformed and repeated lines "
	    "(NDJSON)\n"
	    "      --rate n           pace output at n lines a second\n"
	    "      --duration d       length of every recording (wav)\n"
	    "      --min-duration d, --max-duration d\n"
	    "                         lengths spread evenly (wav)\n"
	    "      --rate-hz hz       sample rate (wav, default 8000)\n"
	    "      --channels n       1 or 2 (wav, default 2)\n"
	    "      --bits n           8, 16, 24 or 32 (wav, default 16)\n"
	    "  -h, --help             show this help\n"
	    "  -V, --version          show the version\n");
}

static uint64_t
opt_uint(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	const char *why;
	uint64_t v;

	if (cdr_parse_uint(s, min, max, &v, &why) != 0)
		cdr_usage_error("%s: %s", opt, why);
	return v;
}

static double
opt_ratio(const char *opt, const char *s)
{
	const char *why;
	double v;

	if (cdr_parse_ratio(s, &v, &why) != 0)
		cdr_usage_error("%s: %s", opt, why);
	return v;
}

/* Durations in milliseconds, at least one. */
static int64_t
opt_duration(const char *opt, const char *s)
{
	const char *why;
	int64_t us;

	if (cdr_parse_duration(s, &us, &why) != 0)
		cdr_usage_error("%s: %s", opt, why);
	if (us < 1000)
		cdr_usage_error("%s: must be at least 1ms", opt);
	return us / 1000;
}

static enum kind
parse_kind(const char *s)
{
	size_t i;

	for (i = 0; i < NKINDS; i++) {
		if (strcmp(s, kind_names[i]) == 0)
			return (enum kind)i;
	}
	cdr_usage_error("unknown kind '%s' (calls, sms, sms-sent, "
	    "sms-delivery, sms-click, agent-states, orgs, wav)", s);
}

static void
check_options(struct gen *g, unsigned given, const char *kind,
    const char *start, uint64_t days)
{
	const char *why;
	struct timespec now;
	cdr_time_t t;
	uint64_t bytes;
	int64_t lo, hi;

	if (kind == NULL)
		cdr_usage_error("no kind given");
	g->kind = parse_kind(kind);
	if ((given & GIVEN_DAYS) && (given & GIVEN_SPAN))
		cdr_usage_error("--days and --span are mutually exclusive");
	if (!(given & GIVEN_SPAN))
		g->span = (int64_t)days * MS_PER_DAY;
	if (g->rate > 0) {
		if (g->kind == KIND_ORGS || g->kind == KIND_WAV)
			cdr_usage_error("--rate does not apply to %s", kind);
		if (given & (GIVEN_DAYS | GIVEN_SPAN))
			cdr_usage_error("--rate paces events in real time: "
			    "--days and --span do not apply");
	}
	if (g->kind == KIND_WAV) {
		if (g->dir == NULL)
			cdr_usage_error("wav needs -d dir");
		if (given & GIVEN_BAD)
			cdr_usage_error("--error-rate, --duplicate-rate and "
			    "--truth do not apply to wav");
		if ((given & GIVEN_DURATION) && (given & GIVEN_RANGE))
			cdr_usage_error("--duration and --min-duration/"
			    "--max-duration are mutually exclusive");
		if (g->min_duration > g->max_duration)
			cdr_usage_error("--min-duration is longer than "
			    "--max-duration");
		/* A RIFF file counts its size in 32 bits. */
		bytes = (uint64_t)((g->duration > 0 ? g->duration :
		    g->max_duration) + 1) * g->rate_hz / 1000 * g->channels *
		    (g->bits / 8) + 64;
		if (bytes > UINT32_MAX)
			cdr_usage_error("recordings that long do not fit a "
			    "WAV file (4 GiB)");
	} else if (given & GIVEN_WAV) {
		cdr_usage_error("-d, --duration, --min-duration, "
		    "--max-duration, --rate-hz, --channels and --bits apply "
		    "only to wav");
	}
	if (g->kind == KIND_ORGS && (given & GIVEN_COUNT)) {
		/* An organisation per tenant: -n says how many. */
		if ((given & GIVEN_TENANTS) && g->tenants != g->count)
			cdr_usage_error("orgs: -n and --tenants disagree");
		if (g->count < 1 || g->count > 1000000)
			cdr_usage_error("-n: out of range (1..1000000)");
		g->tenants = (uint32_t)g->count;
	}
	/* Ten agents and two queues a tenant unless told otherwise. */
	if (!(given & GIVEN_AGENTS))
		g->agents = 10 * g->tenants;
	if (!(given & GIVEN_QUEUES))
		g->queues = 2 * g->tenants;
	if (g->agents < g->tenants)
		cdr_usage_error("--agents: fewer agents (%u) than tenants (%u)",
		    g->agents, g->tenants);
	if (g->queues < g->tenants)
		cdr_usage_error("--queues: fewer queues (%u) than tenants (%u)",
		    g->queues, g->tenants);
	if (g->truth_path != NULL && strcmp(g->truth_path, g->output) == 0)
		cdr_usage_error("--truth and -o name the same file");
	if (!(given & GIVEN_COUNT))
		g->count = g->kind == KIND_WAV ? DEFAULT_WAVS :
		    g->kind == KIND_ORGS ? g->tenants : DEFAULT_COUNT;
	g->unbounded = g->rate > 0 && !(given & GIVEN_COUNT);
	g->duration_spread = (given & GIVEN_RANGE) != 0;

	if (g->rate > 0 && !(given & GIVEN_START)) {
		/* Paced events happen now. */
		if (clock_gettime(CLOCK_REALTIME, &now) != 0)
			cdr_die_errno(CDR_EXIT_IO, "clock_gettime");
		g->start = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	} else {
		if (cdr_time_parse(start, strlen(start), CDR_TP_ANY, NULL, &t,
		    &why) != 0)
			cdr_usage_error("--start: %s", why);
		g->start = t / 1000 - (t % 1000 < 0);
	}
	/* Four-digit years, with room for clicks days after the span. */
	lo = cdr_days_from_civil(1900, 1, 1) * MS_PER_DAY;
	hi = cdr_days_from_civil(9000, 1, 1) * MS_PER_DAY;
	if (g->start < lo || g->start > hi)
		cdr_usage_error("--start: year out of range (1900..9000)");
	if (g->span > MAX_DAYS * MS_PER_DAY)
		cdr_usage_error("--span: longer than %d days", MAX_DAYS);
}

static struct cdr_out *
open_output(const char *path, int force)
{
	struct cdr_out *o = cdr_out_open(path, force ? CDR_OUT_FORCE : 0);

	if (o == NULL)
		exit(CDR_EXIT_IO);
	return o;
}

int
main(int argc, char *argv[])
{
	struct gen gen, *g = &gen;
	const char *kind = NULL, *start = DEFAULT_START, *why;
	uint64_t days = 1;
	unsigned given = 0;
	int ch;

	cdr_msg_init(argv[0]);
	memset(g, 0, sizeof(*g));
	g->seed = 1;
	g->tenants = 20;
	g->campaigns = 12;
	g->output = "-";
	g->rate_hz = 8000;
	g->channels = 2;
	g->bits = 16;
	g->min_duration = 1000;
	g->max_duration = 1800 * 1000;

	while ((ch = getopt_long(argc, argv, "d:fhk:n:O:o:V", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'd':
			g->dir = optarg;
			given |= GIVEN_WAV;
			break;
		case 'f':
			g->force = 1;
			break;
		case 'h':
			usage(stdout);
			cdr_out_finish();
			return CDR_EXIT_OK;
		case 'k':
			if (kind != NULL && strcmp(kind, optarg) != 0)
				cdr_usage_error("two kinds given: %s and %s",
				    kind, optarg);
			kind = optarg;
			break;
		case 'n':
			g->count = opt_uint("-n", optarg, 0,
			    UINT64_C(1000000000000));
			given |= GIVEN_COUNT;
			break;
		case 'O':
			if (strcmp(optarg, "csv") == 0)
				g->csv = 1;
			else if (strcmp(optarg, "ndjson") == 0)
				g->csv = 0;
			else
				cdr_usage_error("-O: unknown format '%s' "
				    "(ndjson, csv)", optarg);
			break;
		case 'o':
			g->output = optarg;
			break;
		case OPT_AGENTS:
			g->agents = (uint32_t)opt_uint("--agents", optarg, 1,
			    10000000);
			given |= GIVEN_AGENTS;
			break;
		case OPT_BITS:
			g->bits = (unsigned)opt_uint("--bits", optarg, 8, 32);
			if (g->bits % 8 != 0)
				cdr_usage_error("--bits: 8, 16, 24 or 32");
			given |= GIVEN_WAV;
			break;
		case OPT_CAMPAIGNS:
			g->campaigns = (uint32_t)opt_uint("--campaigns", optarg,
			    1, 1000000);
			break;
		case OPT_CHANNELS:
			g->channels = (unsigned)opt_uint("--channels", optarg,
			    1, 2);
			given |= GIVEN_WAV;
			break;
		case OPT_DAYS:
			days = opt_uint("--days", optarg, 1, MAX_DAYS);
			given |= GIVEN_DAYS;
			break;
		case OPT_DUPLICATE_RATE:
			g->dup_rate = opt_ratio("--duplicate-rate", optarg);
			given |= GIVEN_BAD;
			break;
		case OPT_DURATION:
			g->duration = opt_duration("--duration", optarg);
			given |= GIVEN_WAV | GIVEN_DURATION;
			break;
		case OPT_ERROR_RATE:
			g->error_rate = opt_ratio("--error-rate", optarg);
			given |= GIVEN_BAD;
			break;
		case OPT_MAX_DURATION:
			g->max_duration = opt_duration("--max-duration",
			    optarg);
			given |= GIVEN_WAV | GIVEN_RANGE;
			break;
		case OPT_MIN_DURATION:
			g->min_duration = opt_duration("--min-duration",
			    optarg);
			given |= GIVEN_WAV | GIVEN_RANGE;
			break;
		case OPT_QUEUES:
			g->queues = (uint32_t)opt_uint("--queues", optarg, 1,
			    2000000);
			given |= GIVEN_QUEUES;
			break;
		case OPT_RATE:
			if (cdr_parse_double(optarg, 0.001, 1e6, &g->rate,
			    &why) != 0)
				cdr_usage_error("--rate: %s", why);
			break;
		case OPT_RATE_HZ:
			g->rate_hz = (uint32_t)opt_uint("--rate-hz", optarg,
			    1000, 384000);
			given |= GIVEN_WAV;
			break;
		case OPT_SEED:
			g->seed = opt_uint("--seed", optarg, 0, UINT64_MAX);
			break;
		case OPT_SPAN:
			g->span = opt_duration("--span", optarg);
			given |= GIVEN_SPAN;
			break;
		case OPT_START:
			start = optarg;
			given |= GIVEN_START;
			break;
		case OPT_TENANTS:
			g->tenants = (uint32_t)opt_uint("--tenants", optarg, 1,
			    1000000);
			given |= GIVEN_TENANTS;
			break;
		case OPT_TRUTH:
			g->truth_path = optarg;
			given |= GIVEN_BAD;
			break;
		case 'V':
			cdr_version_print(stdout);
			cdr_out_finish();
			return CDR_EXIT_OK;
		default:
			usage(stderr);
			return CDR_EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1)
		cdr_usage_error("too many operands: %s", argv[1]);
	if (argc == 1) {
		if (kind != NULL && strcmp(kind, argv[0]) != 0)
			cdr_usage_error("two kinds given: %s and %s", kind,
			    argv[0]);
		kind = argv[0];
	}
	check_options(g, given, kind, start, days);

	world_build(&g->world, g->seed, g->tenants, g->agents, g->queues,
	    g->campaigns, g->start, g->span);
	g->out = open_output(g->output, g->force);
	if (g->truth_path != NULL)
		g->truth = open_output(g->truth_path, g->force);
	if (g->rate > 0)
		sink_catch_signals();

	switch (g->kind) {
	case KIND_CALLS:
		gen_calls(g);
		break;
	case KIND_AGENT_STATES:
		gen_agent_states(g);
		break;
	case KIND_ORGS:
		gen_orgs(g);
		break;
	case KIND_WAV:
		gen_wav(g);
		break;
	default:
		gen_sms(g);
		break;
	}

	cdr_out_commit(g->out);
	if (g->truth != NULL)
		cdr_out_commit(g->truth);
	world_free(&g->world);
	cdr_out_finish();
	return CDR_EXIT_OK;
}
