/*
 * cdr-validate: the entry gate of a pipeline.  Checks records against a
 * schema, normalises timestamps, drops duplicates by key, and writes every
 * record that fails to a dead-letter file with its reasons and original
 * bytes.  read = written + rejected + duplicates + filtered, always.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cdrtime.h"
#include "deadletter.h"
#include "jqexpr.h"
#include "msg.h"
#include "out.h"
#include "parse.h"
#include "progress.h"
#include "record.h"
#include "schema.h"
#include "write.h"

#include "dedupe.h"

/*
 * A pipe on stdout is grown to this: the next tool of a pipeline can fall
 * behind by more than the default 64 KiB before this one has to wait.
 */
#define PIPE_BYTES (1024 * 1024)

/* Reason counts for --stats: "check" or "check:field". */
struct reason {
	char		*name;
	uint64_t	 count;
};

/* Output keys of CSV rows made into NDJSON: dotted columns nest. */
struct okey {
	char		*name;		/* this level's name */
	int		 column;	/* leaf: column index; -1 for a group */
	struct okey	*kids;
	size_t		 nkids;
};

struct validate {
	/* options */
	const char		*schema_name;
	const char		*output;
	const char		*dead_letter_path;
	const char		*duplicates_path;
	const char		*stats_path;
	const char		*state_path;
	const char		*time_field;
	const char		*dedupe_spec;
	const char		*where_expr;
	const char		*tz_name;
	const char		**rules;
	size_t			 nrules;
	int			 force;
	int			 normalize;
	int			 replay;
	int			 quiet;
	enum cdr_progress_mode	 progress;
	enum cdr_format		 input_format;
	uint64_t		 max_errors;
	double			 max_error_rate;
	int			 has_max_errors, has_max_rate;
	int64_t			 horizon;
	uint64_t		 max_keys;
	uint64_t		 max_record;

	/* run state */
	struct cdr_schema	*schema;
	struct cdr_tz		*tz;
	struct cdr_jq		*where;
	struct cdr_out		*out;
	struct cdr_out		*dead_letter;
	struct cdr_out		*duplicates;
	struct cdr_field_value	*vals;
	struct cdr_errors	 errs;
	struct cdr_counts	 counts;
	struct dedupe		 dedupe;
	int			 deduping;
	struct cdr_path		*key_paths;
	uint32_t		*key_hints;
	size_t			 nkeys;
	int			*time_index;	/* --time fields, first present */
	size_t			 ntime;
	struct reason		*reasons;
	size_t			 nreasons;
	struct cdr_buf		 line;
	struct cdr_buf		 scratch;
	/* CSV to NDJSON */
	struct okey		 okeys;
	int			*col_field;	/* schema field of each column */
	size_t			 ncols;
	const char *const	*cols_seen;
	int			 io_failed;
};

static void usage(FILE *fp);
static void parse_options(struct validate *v, int argc, char **argv);
static void setup(struct validate *v);
static void run_source(struct validate *v, const char *path,
    struct cdr_reader *r);
static void handle(struct validate *v, struct cdr_record *rec);
static void time_fields(struct validate *v, const char *spec);
static int64_t event_time(const struct validate *v);
static void reject(struct validate *v, const struct cdr_record *rec);
static void write_valid(struct validate *v, const struct cdr_record *rec);
static void replay_record(struct validate *v, const struct cdr_record *rec);
static void count_reason(struct validate *v, const char *check,
    const char *field);
static char *reasons_json(const struct validate *v);
static void list_schemas(void);
static void grow_stdout_pipe(void);
static void finish(struct validate *v);

enum {
	OPT_DEAD_LETTER = 256,
	OPT_DEDUPE,
	OPT_DEDUPE_MAX_KEYS,
	OPT_DUPLICATES,
	OPT_HORIZON,
	OPT_LIST_SCHEMAS,
	OPT_MAX_ERRORS,
	OPT_MAX_ERROR_RATE,
	OPT_MAX_RECORD,
	OPT_NORMALIZE,
	OPT_NO_PROGRESS,
	OPT_PROGRESS,
	OPT_REPLAY,
	OPT_RULE,
	OPT_STATE,
	OPT_STATS,
	OPT_TIME,
	OPT_TZ,
	OPT_WHERE
};

static const struct option longopts[] = {
	{ "dead-letter", required_argument, NULL, OPT_DEAD_LETTER },
	{ "dedupe", required_argument, NULL, OPT_DEDUPE },
	{ "dedupe-max-keys", required_argument, NULL, OPT_DEDUPE_MAX_KEYS },
	{ "duplicates", required_argument, NULL, OPT_DUPLICATES },
	{ "force", no_argument, NULL, 'f' },
	{ "help", no_argument, NULL, 'h' },
	{ "horizon", required_argument, NULL, OPT_HORIZON },
	{ "input-format", required_argument, NULL, 'i' },
	{ "list-schemas", no_argument, NULL, OPT_LIST_SCHEMAS },
	{ "max-error-rate", required_argument, NULL, OPT_MAX_ERROR_RATE },
	{ "max-errors", required_argument, NULL, OPT_MAX_ERRORS },
	{ "max-record", required_argument, NULL, OPT_MAX_RECORD },
	{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
	{ "normalize", no_argument, NULL, OPT_NORMALIZE },
	{ "output", required_argument, NULL, 'o' },
	{ "progress", no_argument, NULL, OPT_PROGRESS },
	{ "quiet", no_argument, NULL, 'q' },
	{ "replay", no_argument, NULL, OPT_REPLAY },
	{ "rule", required_argument, NULL, OPT_RULE },
	{ "schema", required_argument, NULL, 's' },
	{ "state", required_argument, NULL, OPT_STATE },
	{ "stats", required_argument, NULL, OPT_STATS },
	{ "time", required_argument, NULL, OPT_TIME },
	{ "tz", required_argument, NULL, OPT_TZ },
	{ "version", no_argument, NULL, 'V' },
	{ "where", required_argument, NULL, OPT_WHERE },
	{ NULL, 0, NULL, 0 }
};

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: cdr-validate [-fqV] [-s schema] [-i format] [-o file]\n"
"                    [--dead-letter file] [--normalize] [--rule expr]...\n"
"                    [--where expr] [--dedupe key[,key...]] [--horizon duration]\n"
"                    [--time field[,field...]] [--state file] [--duplicates file]\n"
"                    [--max-errors n] [--max-error-rate r] [--stats file]\n"
"                    [--tz zone] [--max-record size] [file ...]\n"
"       cdr-validate --replay [-o file] [dead-letter-file ...]\n"
"       cdr-validate --list-schemas\n"
"\n"
"Checks records (NDJSON or CSV) against a schema; valid records go to stdout\n"
"(CSV rows as typed NDJSON), rejected ones to the dead-letter file.\n"
"\n"
"  -s, --schema NAME|FILE   schema (cdr-validate --list-schemas); without one\n"
"                           records are only checked to be well-formed\n"
"  -i, --input-format auto|ndjson|csv\n"
"  -o, --output FILE        valid records to FILE (atomic) instead of stdout\n"
"  -f, --force              replace existing output files\n"
"      --dead-letter FILE   rejected records with reasons (NDJSON)\n"
"      --normalize          rewrite timestamp fields as UTC ISO-8601\n"
"      --rule EXPR          a jq expression every record must satisfy\n"
"      --where EXPR         keep only valid records where EXPR is true\n"
"      --dedupe KEYS        drop records whose KEYS were seen before\n"
"      --horizon DURATION   remember keys this long in event time (e.g. 7d)\n"
"      --time FIELD[,FIELD...]  event time for the horizon: the first present\n"
"                           (default: the schema's time_field)\n"
"      --state FILE         carry de-duplication over runs\n"
"      --duplicates FILE    write dropped duplicates here\n"
"      --dedupe-max-keys N  fail rather than hold more keys (default 50000000)\n"
"      --max-errors N       rejected records allowed before exit status 1 (0)\n"
"      --max-error-rate R   rejected share allowed (e.g. 0.01 or 1%%)\n"
"      --stats FILE         counts and reasons as JSON\n"
"      --tz ZONE            zone of local timestamps (schemas with local_time)\n"
"      --max-record SIZE    longest record (default 256M)\n"
"      --replay             decode dead-letter files back into records\n"
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

static void
parse_options(struct validate *v, int argc, char **argv)
{
	const char *why = NULL;
	int c;

	v->max_keys = 50000000;
	v->progress = CDR_PROGRESS_AUTO;
	while ((c = getopt_long(argc, argv, "fhi:o:qs:V", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			v->force = 1;
			break;
		case 'h':
			usage(stdout);
			cdr_out_finish();
			exit(CDR_EXIT_OK);
		case 'i':
			if (cdr_format_parse(optarg, 1, &v->input_format) != 0)
				cdr_usage_error("-i %s: expected auto, ndjson "
				    "or csv", optarg);
			break;
		case 'o':
			v->output = optarg;
			break;
		case 'q':
			v->quiet = 1;
			break;
		case 's':
			v->schema_name = optarg;
			break;
		case 'V':
			cdr_version_print(stdout);
			cdr_out_finish();
			exit(CDR_EXIT_OK);
		case OPT_DEAD_LETTER:
			v->dead_letter_path = optarg;
			break;
		case OPT_DEDUPE:
			v->dedupe_spec = optarg;
			break;
		case OPT_DEDUPE_MAX_KEYS:
			need(cdr_parse_uint(optarg, 1, UINT64_MAX / 64,
			    &v->max_keys, &why) == 0, "--dedupe-max-keys",
			    optarg, why);
			break;
		case OPT_DUPLICATES:
			v->duplicates_path = optarg;
			break;
		case OPT_HORIZON:
			need(cdr_parse_duration(optarg, &v->horizon, &why) == 0,
			    "--horizon", optarg, why);
			need(v->horizon > 0, "--horizon", optarg,
			    "must be more than 0");
			break;
		case OPT_LIST_SCHEMAS:
			list_schemas();
			cdr_out_finish();
			exit(CDR_EXIT_OK);
		case OPT_MAX_ERRORS:
			need(cdr_parse_uint(optarg, 0, UINT64_MAX,
			    &v->max_errors, &why) == 0, "--max-errors", optarg,
			    why);
			v->has_max_errors = 1;
			break;
		case OPT_MAX_ERROR_RATE:
			need(cdr_parse_ratio(optarg, &v->max_error_rate,
			    &why) == 0, "--max-error-rate", optarg, why);
			v->has_max_rate = 1;
			break;
		case OPT_MAX_RECORD:
			need(cdr_parse_size(optarg, &v->max_record, &why) == 0,
			    "--max-record", optarg, why);
			need(v->max_record >= 16 && v->max_record < UINT32_MAX,
			    "--max-record", optarg, "must be at least 16 and below 4G");
			break;
		case OPT_NORMALIZE:
			v->normalize = 1;
			break;
		case OPT_NO_PROGRESS:
			v->progress = CDR_PROGRESS_OFF;
			break;
		case OPT_PROGRESS:
			v->progress = CDR_PROGRESS_ON;
			break;
		case OPT_REPLAY:
			v->replay = 1;
			break;
		case OPT_RULE:
			v->rules = cdr_xreallocarray(v->rules, v->nrules + 1,
			    sizeof(*v->rules));
			v->rules[v->nrules++] = optarg;
			break;
		case OPT_STATE:
			v->state_path = optarg;
			break;
		case OPT_STATS:
			v->stats_path = optarg;
			break;
		case OPT_TIME:
			v->time_field = optarg;
			break;
		case OPT_TZ:
			v->tz_name = optarg;
			break;
		case OPT_WHERE:
			v->where_expr = optarg;
			break;
		default:
			fprintf(stderr, "Try 'cdr-validate --help' for more "
			    "information.\n");
			exit(CDR_EXIT_USAGE);
		}
	}
	if (v->replay && (v->schema_name || v->dedupe_spec || v->where_expr ||
	    v->nrules || v->normalize || v->dead_letter_path))
		cdr_usage_error("--replay only decodes dead letters: it takes "
		    "no checks");
	if ((v->horizon || v->state_path || v->duplicates_path ||
	    v->time_field) && v->dedupe_spec == NULL)
		cdr_usage_error("--horizon, --state, --time and --duplicates "
		    "need --dedupe");
	if (v->horizon && v->time_field == NULL && v->schema_name == NULL)
		cdr_usage_error("--horizon needs --time or a schema with a "
		    "time_field");
	if (v->normalize && v->schema_name == NULL)
		cdr_usage_error("--normalize needs --schema (it knows which "
		    "fields are timestamps)");
}

static void
list_schemas(void)
{
	static const char *const names[] = {
		"call", "sms", "sms-sent", "sms-delivery", "sms-click",
		"agent-state", "org", "amazon-connect-ctr", "asterisk-csv",
		"freeswitch-json"
	};
	struct cdr_schema *s;
	size_t i;
	char err[512];

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		s = cdr_schema_load(names[i], err, sizeof(err));
		if (s == NULL) {
			cdr_warn("%s", err);
			continue;
		}
		printf("%-20s %s\n", names[i], s->title ? s->title : "");
		cdr_schema_free(s);
	}
}

static void
grow_stdout_pipe(void)
{
	struct stat st;

	/* Only a capacity: nothing else changes when this fails. */
	if (fstat(STDOUT_FILENO, &st) == 0 && S_ISFIFO(st.st_mode) &&
	    fcntl(STDOUT_FILENO, F_GETPIPE_SZ) < PIPE_BYTES)
		(void)fcntl(STDOUT_FILENO, F_SETPIPE_SZ, PIPE_BYTES);
}

/* Splits "a,b" into compiled paths. */
static size_t
split_paths(const char *spec, struct cdr_path **out)
{
	char *copy = cdr_xstrdup(spec), *tok, *save = NULL;
	size_t n = 0;

	*out = NULL;
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		*out = cdr_xreallocarray(*out, n + 1, sizeof(**out));
		if (cdr_path_init(&(*out)[n], tok) != 0)
			cdr_usage_error("--dedupe %s: empty field name", spec);
		n++;
	}
	free(copy);
	if (n == 0)
		cdr_usage_error("--dedupe %s: no field", spec);
	return n;
}

static void
setup(struct validate *v)
{
	char err[1024];
	size_t i;
	int flags = v->force ? CDR_OUT_FORCE : 0;

	if (v->tz_name != NULL) {
		v->tz = cdr_tz_load(v->tz_name, err, sizeof(err));
		/* Cut a hostile name so that the reason still shows. */
		if (v->tz == NULL)
			cdr_usage_error("--tz %.256s: %s", v->tz_name, err);
	}
	if (v->schema_name != NULL) {
		v->schema = cdr_schema_load(v->schema_name, err, sizeof(err));
		if (v->schema == NULL)
			cdr_usage_error("%s", err);
	} else {
		v->schema = cdr_xcalloc(1, sizeof(*v->schema));
		v->schema->name = cdr_xstrdup("none");
		v->schema->additional = 1;
	}
	for (i = 0; i < v->nrules; i++) {
		char name[32];

		snprintf(name, sizeof(name), "rule%zu", i + 1);
		if (cdr_schema_add_jq_rule(v->schema, name, v->rules[i], err,
		    sizeof(err)) != 0)
			cdr_usage_error("--rule %s: %s", v->rules[i], err);
	}
	if (v->where_expr != NULL) {
		v->where = cdr_jq_compile(v->where_expr, err, sizeof(err));
		if (v->where == NULL)
			cdr_usage_error("--where %s: %s", v->where_expr, err);
	}
	v->vals = cdr_xcalloc(v->schema->nfields + 1, sizeof(*v->vals));
	if (v->dedupe_spec != NULL) {
		const char *tf = v->time_field ? v->time_field :
		    v->schema->time_field;

		v->nkeys = split_paths(v->dedupe_spec, &v->key_paths);
		v->key_hints = cdr_xcalloc(v->nkeys, sizeof(*v->key_hints));
		if (tf != NULL)
			time_fields(v, tf);
		if (v->horizon && v->ntime == 0)
			cdr_usage_error("--horizon needs --time FIELD");
		dedupe_init(&v->dedupe, v->dedupe_spec, v->horizon,
		    v->max_keys);
		v->deduping = 1;
		if (v->state_path != NULL &&
		    dedupe_load(&v->dedupe, v->state_path, err,
		    sizeof(err)) != 0)
			cdr_die(CDR_EXIT_IO, "%s", err);
	}
	v->out = v->output ? cdr_out_open(v->output, flags) : cdr_out_stdout();
	if (v->out == NULL)
		exit(CDR_EXIT_IO);
	if (v->output == NULL || strcmp(v->output, "-") == 0)
		grow_stdout_pipe();
	if (v->dead_letter_path != NULL) {
		v->dead_letter = cdr_out_open(v->dead_letter_path, flags);
		if (v->dead_letter == NULL)
			exit(CDR_EXIT_IO);
	}
	if (v->duplicates_path != NULL) {
		v->duplicates = cdr_out_open(v->duplicates_path, flags);
		if (v->duplicates == NULL)
			exit(CDR_EXIT_IO);
	}
}

static void
count_reason(struct validate *v, const char *check, const char *field)
{
	char name[256];
	size_t i;

	if (field != NULL)
		snprintf(name, sizeof(name), "%s:%s", check, field);
	else
		snprintf(name, sizeof(name), "%s", check);
	for (i = 0; i < v->nreasons; i++) {
		if (strcmp(v->reasons[i].name, name) == 0) {
			v->reasons[i].count++;
			return;
		}
	}
	/* Bounded: unknown-field names come from the data. */
	if (v->nreasons >= 1000)
		return;
	v->reasons = cdr_xreallocarray(v->reasons, v->nreasons + 1,
	    sizeof(*v->reasons));
	v->reasons[v->nreasons].name = cdr_xstrdup(name);
	v->reasons[v->nreasons].count = 1;
	v->nreasons++;
}

static void
reject(struct validate *v, const struct cdr_record *rec)
{
	const struct cdr_error *e = cdr_errors_list(&v->errs);
	size_t i;

	v->counts.rejected++;
	for (i = 0; i < v->errs.n; i++)
		count_reason(v, e[i].check, e[i].field);
	if (v->dead_letter != NULL)
		cdr_dead_letter_write(v->dead_letter, rec, e, v->errs.n);
}

/* Builds the nested output keys for CSV columns (once per header). */
static void
okey_add(struct okey *parent, const char *name, int column)
{
	const char *dot = strchr(name, '.');
	size_t n = dot ? (size_t)(dot - name) : strlen(name), i;
	struct okey *k;

	/* Only a dotted name joins a group: no search for a plain one. */
	for (i = 0; dot != NULL && i < parent->nkids; i++) {
		k = &parent->kids[i];
		if (k->column < 0 && strlen(k->name) == n &&
		    memcmp(k->name, name, n) == 0) {
			okey_add(k, dot + 1, column);
			return;
		}
	}
	/* Full when nkids is a power of two: grow by doubling. */
	if ((parent->nkids & (parent->nkids - 1)) == 0)
		parent->kids = cdr_xreallocarray(parent->kids,
		    parent->nkids ? parent->nkids * 2 : 1,
		    sizeof(*parent->kids));
	k = &parent->kids[parent->nkids++];
	memset(k, 0, sizeof(*k));
	k->name = cdr_xstrndup(name, n);
	k->column = -1;
	if (dot != NULL && dot[1] != '\0')
		okey_add(k, dot + 1, column);
	else
		k->column = column;
}

static void
okey_free(struct okey *k)
{
	size_t i;

	for (i = 0; i < k->nkids; i++)
		okey_free(&k->kids[i]);
	free(k->kids);
	free(k->name);
	k->kids = NULL;
	k->nkids = 0;
	k->name = NULL;
}

static void
prepare_columns(struct validate *v, const struct cdr_reader *r)
{
	const char *const *cols;
	size_t n, i;

	cols = cdr_reader_columns(r, &n);
	if (cols == v->cols_seen && n == v->ncols)
		return;
	okey_free(&v->okeys);
	free(v->col_field);
	v->col_field = cdr_xcalloc(n + 1, sizeof(*v->col_field));
	for (i = 0; i < n; i++) {
		okey_add(&v->okeys, cols[i], (int)i);
		v->col_field[i] = cdr_schema_field(v->schema, cols[i]);
	}
	v->cols_seen = cols;
	v->ncols = n;
}

static void
put_time(struct validate *v, cdr_time_t t)
{
	char ts[48];

	/* Milliseconds always; microseconds when they are there. */
	cdr_time_format_iso(ts, sizeof(ts), t, NULL, t % 1000 != 0 ? 6 : 3);
	cdr_buf_addc(&v->line, '"');
	cdr_buf_adds(&v->line, ts);
	cdr_buf_addc(&v->line, '"');
}

/* One CSV cell as a typed JSON value. */
static void
put_cell(struct validate *v, const struct cdr_record *rec, int column)
{
	const struct cdr_node *nd = &rec->nodes[column + 1];
	int fi = v->col_field[column];
	const struct cdr_field_spec *f = fi >= 0 ? &v->schema->fields[fi] :
	    NULL;
	struct cdr_value val;
	const char *s;
	size_t n;
	int b;

	if (nd->type == CDR_T_NULL) {
		cdr_buf_adds(&v->line, "null");
		return;
	}
	val.rec = rec;
	val.node = (uint32_t)column + 1;
	val.type = (enum cdr_type)nd->type;
	val.p = nd->val;
	val.len = nd->vlen;
	s = cdr_value_str(&val, &v->scratch, &n);
	if (f != NULL && v->vals[fi].ok) {
		switch (f->type) {
		case CDR_F_INTEGER:
		case CDR_F_NUMBER:
			cdr_buf_add(&v->line, s, n);
			return;
		case CDR_F_BOOLEAN:
			b = n > 0 && strchr("tTyY1", s[0]) != NULL;
			cdr_buf_adds(&v->line, b ? "true" : "false");
			return;
		case CDR_F_TIMESTAMP:
			if (v->normalize && v->vals[fi].has_time) {
				put_time(v, v->vals[fi].time);
				return;
			}
			break;
		default:
			break;
		}
	}
	cdr_buf_json_string(&v->line, s, n);
}

static void
put_okeys(struct validate *v, const struct cdr_record *rec,
    const struct okey *k)
{
	size_t i;

	cdr_buf_addc(&v->line, '{');
	for (i = 0; i < k->nkids; i++) {
		const struct okey *c = &k->kids[i];

		if (i > 0)
			cdr_buf_addc(&v->line, ',');
		cdr_buf_json_string(&v->line, c->name, strlen(c->name));
		cdr_buf_addc(&v->line, ':');
		if (c->column >= 0)
			put_cell(v, rec, c->column);
		else
			put_okeys(v, rec, c);
	}
	cdr_buf_addc(&v->line, '}');
}

/* NDJSON with timestamp fields rewritten; spans replaced in text order. */
static void
put_normalized(struct validate *v, const struct cdr_record *rec)
{
	const struct cdr_schema *s = v->schema;
	const char *pos = rec->line, *start, *end;
	size_t i, best;
	const char *done = rec->line;

	for (;;) {
		/* The next timestamp value after done, in text order. */
		best = SIZE_MAX;
		start = NULL;
		for (i = 0; i < s->nfields; i++) {
			const struct cdr_value *val = &v->vals[i].v;
			const char *at;

			if (!v->vals[i].has_time)
				continue;
			at = val->type == CDR_T_STRING ? val->p - 1 : val->p;
			if (at >= done && (start == NULL || at < start)) {
				start = at;
				best = i;
			}
		}
		if (start == NULL)
			break;
		end = v->vals[best].v.p + v->vals[best].v.len +
		    (v->vals[best].v.type == CDR_T_STRING ? 1 : 0);
		cdr_buf_add(&v->line, pos, (size_t)(start - pos));
		put_time(v, v->vals[best].time);
		pos = done = end;
	}
	cdr_buf_add(&v->line, pos, (size_t)(rec->line + rec->len - pos));
}

static void
write_valid(struct validate *v, const struct cdr_record *rec)
{
	size_t i;
	int any_time = 0;

	if (rec->format == CDR_FMT_CSV) {
		cdr_buf_reset(&v->line);
		put_okeys(v, rec, &v->okeys);
	} else if (v->normalize) {
		for (i = 0; i < v->schema->nfields; i++)
			any_time |= v->vals[i].has_time;
		if (!any_time) {
			cdr_write_ndjson(v->out, rec);
			v->counts.written++;
			return;
		}
		cdr_buf_reset(&v->line);
		put_normalized(v, rec);
	} else {
		cdr_write_ndjson(v->out, rec);
		v->counts.written++;
		return;
	}
	cdr_buf_addc(&v->line, '\n');
	cdr_out_write(v->out, v->line.p, v->line.len);
	v->counts.written++;
}

/* --time a,b,c: each a timestamp field of the schema. */
static void
time_fields(struct validate *v, const char *spec)
{
	char *copy = cdr_xstrdup(spec), *name, *save = NULL;
	int i;

	for (name = strtok_r(copy, ",", &save); name != NULL;
	    name = strtok_r(NULL, ",", &save)) {
		i = cdr_schema_field(v->schema, name);
		if (i < 0 || v->schema->fields[i].type != CDR_F_TIMESTAMP)
			cdr_usage_error("--time %s: not a timestamp field of "
			    "schema %s", name, v->schema->name);
		v->time_index = cdr_xreallocarray(v->time_index, v->ntime + 1,
		    sizeof(*v->time_index));
		v->time_index[v->ntime++] = i;
	}
	free(copy);
	if (v->ntime == 0)
		cdr_usage_error("--time: no field named");
}

/*
 * The event time of the record for the horizon: the first --time field it
 * has; without one, the latest time seen (so it is never expired early).
 */
static int64_t
event_time(const struct validate *v)
{
	size_t i;

	for (i = 0; i < v->ntime; i++)
		if (v->vals[v->time_index[i]].has_time)
			return v->vals[v->time_index[i]].time;
	return v->dedupe.max_time;
}

static void
handle(struct validate *v, struct cdr_record *rec)
{
	uint64_t lo, hi;
	int64_t t;
	char err[512];
	int rc;

	v->counts.read++;
	cdr_errors_reset(&v->errs);
	if (rec->bad) {
		cdr_errors_add(&v->errs, NULL, "parse", "%s", rec->err);
		reject(v, rec);
		return;
	}
	/*
	 * The key's table slot is fetched from memory while the schema is
	 * checked: the table is far bigger than the caches.
	 */
	if (v->deduping) {
		dedupe_key(rec, v->key_paths, v->key_hints, v->nkeys, &lo, &hi);
		dedupe_prefetch(&v->dedupe, lo);
	}
	if (cdr_schema_check(v->schema, rec, v->tz, v->vals, &v->errs) > 0) {
		reject(v, rec);
		return;
	}
	if (v->deduping) {
		t = event_time(v);
		if (t == INT64_MIN)
			t = 0;
		if (dedupe_check(&v->dedupe, lo, hi, t) == DEDUPE_DUPLICATE) {
			v->counts.duplicates++;
			if (v->duplicates != NULL)
				cdr_write_ndjson(v->duplicates, rec);
			return;
		}
	}
	if (v->where != NULL) {
		rc = cdr_jq_truthy(v->where, rec, err, sizeof(err));
		if (rc < 0) {
			cdr_errors_add(&v->errs, NULL, "where", "%s", err);
			reject(v, rec);
			return;
		}
		if (rc == 0) {
			v->counts.filtered++;
			return;
		}
	}
	write_valid(v, rec);
}

/* Decodes standard base64; -1 on a bad character or length. */
static int
base64_decode(const char *s, size_t n, struct cdr_buf *out)
{
	uint32_t acc = 0;
	size_t i, pad = 0;
	int bits = 0, d;

	if (n % 4 != 0)
		return -1;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '=') {
			if (i < n - 2)
				return -1;
			pad++;
			continue;
		}
		if (pad)
			return -1;
		if (c >= 'A' && c <= 'Z')
			d = c - 'A';
		else if (c >= 'a' && c <= 'z')
			d = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			d = c - '0' + 52;
		else if (c == '+')
			d = 62;
		else if (c == '/')
			d = 63;
		else
			return -1;
		acc = acc << 6 | (uint32_t)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			cdr_buf_addc(out, (char)(acc >> bits));
			acc &= (1u << bits) - 1;
		}
	}
	return 0;
}

static void
replay_record(struct validate *v, const struct cdr_record *rec)
{
	struct cdr_value root, val;
	const char *s;
	size_t n;

	v->counts.read++;
	cdr_errors_reset(&v->errs);
	if (rec->bad) {
		cdr_errors_add(&v->errs, NULL, "parse", "%s", rec->err);
		goto bad;
	}
	cdr_record_root(rec, &root);
	if (cdr_value_member(&root, "record", 6, &val) &&
	    val.type == CDR_T_STRING) {
		s = cdr_value_str(&val, &v->scratch, &n);
		if (s == NULL)
			goto bad;
		cdr_out_write(v->out, s, n);
	} else if (cdr_value_member(&root, "record_base64", 13, &val) &&
	    val.type == CDR_T_STRING) {
		cdr_buf_reset(&v->line);
		if (base64_decode(val.p, val.len, &v->line) != 0) {
			cdr_errors_add(&v->errs, "record_base64", "base64",
			    "not valid base64");
			goto bad;
		}
		cdr_out_write(v->out, v->line.p, v->line.len);
	} else {
		cdr_errors_add(&v->errs, "record", "required",
		    "not a dead letter: no \"record\" or \"record_base64\"");
		goto bad;
	}
	cdr_out_putc(v->out, '\n');
	v->counts.written++;
	return;
bad:
	v->counts.rejected++;
	{
		const struct cdr_error *e = cdr_errors_list(&v->errs);

		cdr_warn("%s:%llu: %s", rec->source,
		    (unsigned long long)rec->lineno,
		    v->errs.n ? e[0].message : "bad dead letter");
	}
}

static void
run_source(struct validate *v, const char *path, struct cdr_reader *r)
{
	struct cdr_record *rec;
	int rc;

	if (cdr_reader_open(r, path) != 0) {
		v->counts.sources_failed++;
		return;
	}
	while ((rc = cdr_reader_next(r, &rec)) > 0) {
		if (v->replay) {
			replay_record(v, rec);
		} else {
			if (rec->format == CDR_FMT_CSV && !rec->bad)
				prepare_columns(v, r);
			handle(v, rec);
		}
		cdr_progress_update(v->counts.read, cdr_reader_stats(r)->bytes);
	}
	if (rc < 0)
		v->counts.sources_failed++;
}

static char *
reasons_json(const struct validate *v)
{
	struct cdr_buf b = CDR_BUF_INIT;
	size_t i, j;
	const char *p;

	cdr_buf_adds(&b, "\"reasons\":{");
	for (i = 0; i < v->nreasons; i++) {
		if (i > 0)
			cdr_buf_addc(&b, ',');
		cdr_buf_addc(&b, '"');
		for (p = v->reasons[i].name; *p; p++) {
			if (*p == '"' || *p == '\\')
				cdr_buf_addc(&b, '\\');
			if ((unsigned char)*p >= 0x20)
				cdr_buf_addc(&b, *p);
		}
		cdr_buf_printf(&b, "\":%llu",
		    (unsigned long long)v->reasons[i].count);
	}
	cdr_buf_addc(&b, '}');
	if (v->deduping) {
		cdr_buf_printf(&b, ",\"dedupe_keys\":%zu,\"late\":%llu",
		    v->dedupe.count, (unsigned long long)v->dedupe.late);
	}
	(void)j;
	return b.p;
}

static void
finish(struct validate *v)
{
	char err[512], *extra;
	int status = CDR_EXIT_OK;
	size_t i;

	cdr_progress_end();
	if (v->counts.sources_failed > 0) {
		/* An input could not be read: commit nothing. */
		if (v->output != NULL)
			cdr_out_abort(v->out);
		if (v->dead_letter != NULL)
			cdr_out_abort(v->dead_letter);
		if (v->duplicates != NULL)
			cdr_out_abort(v->duplicates);
		status = CDR_EXIT_IO;
	} else {
		if (v->dead_letter != NULL)
			cdr_out_commit(v->dead_letter);
		if (v->duplicates != NULL)
			cdr_out_commit(v->duplicates);
		if (v->state_path != NULL &&
		    dedupe_save(&v->dedupe, v->state_path, err,
		    sizeof(err)) != 0)
			cdr_die(CDR_EXIT_IO, "%s", err);
		cdr_out_commit(v->out);
	}
	extra = reasons_json(v);
	cdr_counts_report(&v->counts, v->quiet, v->stats_path, extra);
	free(extra);
	if (v->deduping && v->dedupe.late > 0 && !v->quiet)
		cdr_warn("%llu records older than the --horizon were kept "
		    "without a duplicate check",
		    (unsigned long long)v->dedupe.late);
	if (status == CDR_EXIT_OK && v->counts.rejected > 0) {
		if (v->has_max_rate && !v->has_max_errors) {
			if ((double)v->counts.rejected >
			    v->max_error_rate * (double)v->counts.read)
				status = CDR_EXIT_DATA;
		} else if (v->counts.rejected > v->max_errors ||
		    (v->has_max_rate && (double)v->counts.rejected >
		    v->max_error_rate * (double)v->counts.read)) {
			status = CDR_EXIT_DATA;
		}
		if (status == CDR_EXIT_DATA && !v->quiet)
			cdr_warn("%llu rejected records exceed the error "
			    "budget%s", (unsigned long long)v->counts.rejected,
			    v->dead_letter_path ? "" :
			    " (use --dead-letter to keep them)");
	}
	cdr_out_finish();
	for (i = 0; i < v->nreasons; i++)
		free(v->reasons[i].name);
	free(v->reasons);
	cdr_schema_free(v->schema);
	if (v->where != NULL)
		cdr_jq_free(v->where);
	if (v->tz != NULL)
		cdr_tz_free(v->tz);
	if (v->deduping)
		dedupe_free(&v->dedupe);
	for (i = 0; i < v->nkeys; i++)
		cdr_path_free(&v->key_paths[i]);
	free(v->key_paths);
	free(v->key_hints);
	free(v->time_index);
	free(v->vals);
	free(v->rules);
	free(v->col_field);
	okey_free(&v->okeys);
	cdr_errors_free(&v->errs);
	cdr_buf_free(&v->line);
	cdr_buf_free(&v->scratch);
	exit(status);
}

int
main(int argc, char **argv)
{
	struct validate v;
	struct cdr_reader_opts ro;
	struct cdr_reader *r;
	int i;

	cdr_msg_init(argv[0]);
	memset(&v, 0, sizeof(v));
	parse_options(&v, argc, argv);
	setup(&v);
	memset(&ro, 0, sizeof(ro));
	ro.format = v.replay ? CDR_FMT_NDJSON : v.input_format;
	/* A schema that says what its input is settles auto-detection. */
	if (ro.format == CDR_FMT_AUTO && (v.schema->input == CDR_FMT_NDJSON ||
	    (v.schema->input == CDR_FMT_CSV && v.schema->ncolumns > 0)))
		ro.format = v.schema->input;
	if (ro.format == CDR_FMT_CSV && v.schema->ncolumns > 0) {
		ro.columns = (const char **)v.schema->columns;
		ro.ncolumns = v.schema->ncolumns;
	}
	ro.max_record = (size_t)v.max_record;
	r = cdr_reader_new(&ro);
	cdr_progress_start(v.quiet && v.progress == CDR_PROGRESS_AUTO ?
	    CDR_PROGRESS_OFF : v.progress, "cdr-validate");
	if (optind == argc)
		run_source(&v, "-", r);
	for (i = optind; i < argc; i++)
		run_source(&v, argv[i], r);
	v.counts.blank = cdr_reader_stats(r)->blank;
	cdr_reader_free(r);
	finish(&v);
	return CDR_EXIT_INTERNAL;
}
