/*
 * cdr-tocsv: records to typed, warehouse-correct CSV; gzip, split into N
 * files of near-equal size compressed in parallel, COPY manifest.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libdeflate.h>

#include "deadletter.h"
#include "msg.h"
#include "out.h"
#include "parse.h"
#include "progress.h"
#include "record.h"
#include "schema.h"
#include "write.h"

#include "tocsv.h"

/* Rejections shown on stderr when there is no dead-letter file. */
#define SHOW_REJECTS 10

/* Why records are rejected: the "check" of their dead letters. */
static const char *const checks[] = {
	"parse", "type", "range", "csv", "jq", "columns"
};
#define NCHECKS (sizeof(checks) / sizeof(checks[0]))

struct state {
	/* options */
	const char		*output;
	const char		*dead_letter_path;
	const char		*stats_path;
	const char		*manifest_path;
	const char		*url_prefix;
	const char		*schema_name;
	unsigned		 split;
	int			 gzip;		/* -1: by the output name */
	int			 level;
	unsigned		 threads;
	int			 force;
	int			 header;
	int			 quiet;
	int			 excel_safe;	/* -1: the dialect's */
	uint64_t		 max_errors;
	int			 has_max_errors;
	double			 max_rate;
	int			 has_max_rate;
	enum cdr_progress_mode	 progress;
	struct cdr_reader_opts	 ropts;

	/* run */
	struct columns		 cols;
	int			 infer;		/* columns from the first record */
	int			 inferred;	/* ...and they were */
	struct fmt		 fmt;
	struct dialect		 dialect;
	struct cdr_tz		*tz;
	char			*yes, *no;	/* --booleans */
	struct cdr_schema	*schema;
	struct sink		*sink;
	struct cdr_out		*dead;
	struct cdr_errors	 errs;
	struct cdr_counts	 counts;
	struct cdr_buf		 scratch;
	struct cdr_buf		 keybuf;
	uint64_t		 shown;
	uint64_t		 by_check[NCHECKS];
};

static void usage(FILE *fp);
static void check_token(const char *opt, const char *s, char delim);
static void parse_options(struct state *st, int argc, char **argv);
static int has_subfields(const struct cdr_schema *sc, size_t k);
static void setup_columns(struct state *st);
static void write_head(struct state *st);
static void infer_columns(struct state *st, const struct cdr_record *rec,
    struct cdr_reader *r);
static void check_keys(struct state *st, const struct cdr_record *rec);
static void reject(struct state *st, const struct cdr_record *rec);
static void process(struct state *st, struct cdr_record *rec);
static void write_manifest(struct state *st);
static void report(const struct state *st);
static int is_dot_name(const char *path);

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: cdr-tocsv [-fqz] [-c COLUMNS] [--column SPEC] [--jq NAME=EXPR]\n"
"                 [--schema NAME|FILE] [-d DIALECT] [--delimiter C]\n"
"                 [--[no-]header] [--null TEXT] [--booleans T,F] [--quote-all]\n"
"                 [--[no-]excel-safe] [--tz ZONE] [--time-precision P]\n"
"                 [--no-time-detect] [-o FILE|PREFIX] [--split N] [--no-gzip]\n"
"                 [--gzip-level N] [-j N] [--manifest FILE --url-prefix URL]\n"
"                 [--dead-letter FILE] [--max-errors N] [--max-error-rate R]\n"
"                 [--stats FILE] [-i FORMAT] [--max-record SIZE]\n"
"                 [--[no-]progress] [FILE ...]\n"
"\n"
"Records (NDJSON or CSV) to CSV that bulk loaders read back exactly.\n"
"\n"
"Columns (default: the first record's top-level fields, or the CSV header):\n"
"  -c, --columns LIST      comma-separated specs NAME[:TYPE][=PATH]\n"
"      --column SPEC       one spec (may hold commas)\n"
"      --jq NAME[:TYPE]=EXPR  a column computed by a jq expression\n"
"      --schema NAME|FILE  columns and types from a schema's fields\n"
"  TYPE: auto string integer number boolean timestamp timestamptz date json\n"
"\n"
"CSV:\n"
"  -d, --dialect NAME      postgres (default), redshift, clickhouse, excel,\n"
"                          rfc4180\n"
"      --delimiter C       field delimiter (default ','; 'tab' for a tab)\n"
"      --header, --no-header  a header row in every file (default: on)\n"
"      --null TEXT         the NULL token instead of the dialect's\n"
"      --booleans T,F      the words for true and false\n"
"      --quote-all         quote every value that is not NULL\n"
"      --excel-safe        neutralise strings starting with = + - @ (CSV\n"
"                          injection); default only for excel\n"
"      --no-excel-safe     write such strings as they are, also for excel\n"
"      --tz ZONE           zone of written times (default UTC)\n"
"      --time-precision P  fraction digits of times: auto, 0, 3 or 6\n"
"      --no-time-detect    keep strings of auto columns that look like\n"
"                          timestamps with an offset as they are\n"
"\n"
"Output:\n"
"  -o, --output FILE       write FILE atomically ('-' is stdout)\n"
"      --split N           N files PREFIX.NNNN.csv.gz of near-equal size\n"
"  -z, --gzip, --no-gzip   compress (default: with --split or a .gz name)\n"
"      --gzip-level N      0 (store) to 12 (default 6)\n"
"  -j, --threads N         compression threads (default: the cores)\n"
"      --manifest FILE     a Redshift COPY manifest of the files written\n"
"      --url-prefix URL    what the manifest puts before each file name\n"
"  -f, --force             replace existing files\n"
"\n"
"Records:\n"
"      --dead-letter FILE  rejected records, with reasons and their bytes\n"
"      --max-errors N      rejected records allowed before status 1 (0)\n"
"      --max-error-rate R  share of rejected records allowed (0.01, 1%%)\n"
"      --stats FILE        the counts as JSON\n"
"  -i, --input-format F    auto, ndjson or csv\n"
"      --max-record SIZE   longest record (default 256M)\n"
"      --progress, --no-progress  progress on stderr (default: a terminal)\n"
"  -q, --quiet             no summary line, no meter (unless --progress)\n"
"  -h, --help              this help\n"
"  -V, --version           version and libraries\n"
"\n"
"Exit status: 0 ok, 1 rejected records beyond the budget, 2 usage, 3 I/O.\n");
}

enum {
	OPT_COLUMN = 256,
	OPT_JQ,
	OPT_SCHEMA,
	OPT_DELIMITER,
	OPT_HEADER,
	OPT_NO_HEADER,
	OPT_NULL,
	OPT_BOOLEANS,
	OPT_QUOTE_ALL,
	OPT_EXCEL_SAFE,
	OPT_NO_EXCEL_SAFE,
	OPT_TZ,
	OPT_TIME_PRECISION,
	OPT_NO_TIME_DETECT,
	OPT_SPLIT,
	OPT_NO_GZIP,
	OPT_GZIP_LEVEL,
	OPT_MANIFEST,
	OPT_URL_PREFIX,
	OPT_DEAD_LETTER,
	OPT_MAX_ERRORS,
	OPT_MAX_ERROR_RATE,
	OPT_STATS,
	OPT_MAX_RECORD,
	OPT_PROGRESS,
	OPT_NO_PROGRESS
};

static const struct option longopts[] = {
	{ "booleans", required_argument, NULL, OPT_BOOLEANS },
	{ "column", required_argument, NULL, OPT_COLUMN },
	{ "columns", required_argument, NULL, 'c' },
	{ "dead-letter", required_argument, NULL, OPT_DEAD_LETTER },
	{ "delimiter", required_argument, NULL, OPT_DELIMITER },
	{ "dialect", required_argument, NULL, 'd' },
	{ "excel-safe", no_argument, NULL, OPT_EXCEL_SAFE },
	{ "force", no_argument, NULL, 'f' },
	{ "gzip", no_argument, NULL, 'z' },
	{ "gzip-level", required_argument, NULL, OPT_GZIP_LEVEL },
	{ "header", no_argument, NULL, OPT_HEADER },
	{ "help", no_argument, NULL, 'h' },
	{ "input-format", required_argument, NULL, 'i' },
	{ "jq", required_argument, NULL, OPT_JQ },
	{ "manifest", required_argument, NULL, OPT_MANIFEST },
	{ "max-error-rate", required_argument, NULL, OPT_MAX_ERROR_RATE },
	{ "max-errors", required_argument, NULL, OPT_MAX_ERRORS },
	{ "max-record", required_argument, NULL, OPT_MAX_RECORD },
	{ "no-excel-safe", no_argument, NULL, OPT_NO_EXCEL_SAFE },
	{ "no-gzip", no_argument, NULL, OPT_NO_GZIP },
	{ "no-header", no_argument, NULL, OPT_NO_HEADER },
	{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
	{ "no-time-detect", no_argument, NULL, OPT_NO_TIME_DETECT },
	{ "null", required_argument, NULL, OPT_NULL },
	{ "output", required_argument, NULL, 'o' },
	{ "progress", no_argument, NULL, OPT_PROGRESS },
	{ "quiet", no_argument, NULL, 'q' },
	{ "quote-all", no_argument, NULL, OPT_QUOTE_ALL },
	{ "schema", required_argument, NULL, OPT_SCHEMA },
	{ "split", required_argument, NULL, OPT_SPLIT },
	{ "stats", required_argument, NULL, OPT_STATS },
	{ "threads", required_argument, NULL, 'j' },
	{ "time-precision", required_argument, NULL, OPT_TIME_PRECISION },
	{ "tz", required_argument, NULL, OPT_TZ },
	{ "url-prefix", required_argument, NULL, OPT_URL_PREFIX },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

/* A token written unquoted must not be mistaken for CSV syntax. */
static void
check_token(const char *opt, const char *s, char delim)
{
	if (strchr(s, delim) != NULL || strpbrk(s, "\"\r\n") != NULL)
		cdr_usage_error("%s: '%s' holds the delimiter, a quote or a "
		    "line break", opt, s);
}

/* Whether the last component of path is "." or "..": a directory. */
static int
is_dot_name(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base != NULL ? base + 1 : path;
	return strcmp(base, ".") == 0 || strcmp(base, "..") == 0;
}

static void
parse_options(struct state *st, int argc, char **argv)
{
	const struct dialect *d = dialect_find("postgres");
	const char *why, *null = NULL, *bools = NULL, *tzname = NULL;
	const char *delim = NULL;
	char err[512];
	uint64_t u;
	long ncpu;
	int ch, precision = -1, time_detect = 1, quote_all = 0;

	st->gzip = -1;
	st->level = 6;
	st->header = 1;
	st->excel_safe = -1;
	st->progress = CDR_PROGRESS_AUTO;
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	st->threads = ncpu > 0 ? (unsigned)ncpu : 1;
	while ((ch = getopt_long(argc, argv, "c:d:fhi:j:o:qVz", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			if (columns_add_list(&st->cols, optarg, err,
			    sizeof(err)) != 0)
				cdr_usage_error("--columns: %s", err);
			break;
		case 'd':
			d = dialect_find(optarg);
			if (d == NULL)
				cdr_usage_error("--dialect: unknown dialect "
				    "'%s' (one of %s)", optarg,
				    dialect_names());
			break;
		case 'f':
			st->force = 1;
			break;
		case 'h':
			usage(stdout);
			cdr_out_finish();
			exit(CDR_EXIT_OK);
		case 'i':
			if (cdr_format_parse(optarg, 1, &st->ropts.format) != 0)
				cdr_usage_error("-i: unknown input format "
				    "'%s' (auto, ndjson or csv)", optarg);
			break;
		case 'j':
			if (cdr_parse_uint(optarg, 1, 256, &u, &why) != 0)
				cdr_usage_error("-j: %s", why);
			st->threads = (unsigned)u;
			break;
		case 'o':
			st->output = optarg;
			break;
		case 'q':
			st->quiet = 1;
			break;
		case 'V':
			cdr_version_print(stdout);
			printf("libdeflate %s\n", LIBDEFLATE_VERSION_STRING);
			cdr_out_finish();
			exit(CDR_EXIT_OK);
		case 'z':
			st->gzip = 1;
			break;
		case OPT_COLUMN:
			if (columns_add_spec(&st->cols, optarg, err,
			    sizeof(err)) != 0)
				cdr_usage_error("--column: %s", err);
			break;
		case OPT_JQ:
			if (columns_add_jq(&st->cols, optarg, err,
			    sizeof(err)) != 0)
				cdr_usage_error("--jq: %s", err);
			break;
		case OPT_SCHEMA:
			st->schema_name = optarg;
			break;
		case OPT_DELIMITER:
			delim = optarg;
			break;
		case OPT_HEADER:
			st->header = 1;
			break;
		case OPT_NO_HEADER:
			st->header = 0;
			break;
		case OPT_NULL:
			null = optarg;
			break;
		case OPT_BOOLEANS:
			bools = optarg;
			break;
		case OPT_QUOTE_ALL:
			quote_all = 1;
			break;
		case OPT_EXCEL_SAFE:
			st->excel_safe = 1;
			break;
		case OPT_NO_EXCEL_SAFE:
			st->excel_safe = 0;
			break;
		case OPT_TZ:
			tzname = optarg;
			break;
		case OPT_TIME_PRECISION:
			if (strcmp(optarg, "auto") == 0)
				precision = -1;
			else if (strcmp(optarg, "0") == 0 ||
			    strcmp(optarg, "3") == 0 || strcmp(optarg, "6") == 0)
				precision = optarg[0] - '0';
			else
				cdr_usage_error("--time-precision: '%s' is not "
				    "auto, 0, 3 or 6", optarg);
			break;
		case OPT_NO_TIME_DETECT:
			time_detect = 0;
			break;
		case OPT_SPLIT:
			if (cdr_parse_uint(optarg, 1, 10000, &u, &why) != 0)
				cdr_usage_error("--split: %s", why);
			st->split = (unsigned)u;
			break;
		case OPT_NO_GZIP:
			st->gzip = 0;
			break;
		case OPT_GZIP_LEVEL:
			if (cdr_parse_uint(optarg, 0, 12, &u, &why) != 0)
				cdr_usage_error("--gzip-level: %s", why);
			st->level = (int)u;
			break;
		case OPT_MANIFEST:
			st->manifest_path = optarg;
			break;
		case OPT_URL_PREFIX:
			st->url_prefix = optarg;
			break;
		case OPT_DEAD_LETTER:
			st->dead_letter_path = optarg;
			break;
		case OPT_MAX_ERRORS:
			if (cdr_parse_uint(optarg, 0, UINT64_MAX, &st->max_errors,
			    &why) != 0)
				cdr_usage_error("--max-errors: %s", why);
			st->has_max_errors = 1;
			break;
		case OPT_MAX_ERROR_RATE:
			if (cdr_parse_ratio(optarg, &st->max_rate, &why) != 0)
				cdr_usage_error("--max-error-rate: %s", why);
			st->has_max_rate = 1;
			break;
		case OPT_STATS:
			st->stats_path = optarg;
			break;
		case OPT_MAX_RECORD:
			if (cdr_parse_size(optarg, &u, &why) != 0)
				cdr_usage_error("--max-record: %s", why);
			if (u == 0 || u > (uint64_t)1 << 32)
				cdr_usage_error("--max-record: out of range "
				    "(1..4G)");
			st->ropts.max_record = (size_t)u;
			break;
		case OPT_PROGRESS:
			st->progress = CDR_PROGRESS_ON;
			break;
		case OPT_NO_PROGRESS:
			st->progress = CDR_PROGRESS_OFF;
			break;
		default:
			fprintf(stderr, "Try '%s --help' for more "
			    "information.\n", cdr_progname());
			exit(CDR_EXIT_USAGE);
		}
	}

	/* The dialect, then what the options change of it. */
	st->dialect = *d;
	st->fmt.d = &st->dialect;
	st->fmt.delim = ',';
	if (delim != NULL) {
		if (strcmp(delim, "tab") == 0 || strcmp(delim, "\\t") == 0)
			st->fmt.delim = '\t';
		else if (strlen(delim) == 1 && strchr("|;^~#!$%&*/_\t,", *delim))
			st->fmt.delim = *delim;
		else
			cdr_usage_error("--delimiter: '%s' is not one byte of "
			    ", ; | tab ^ ~ # ! $ %% & * / _", delim);
	}
	st->fmt.null = null != NULL ? null : d->null;
	check_token("--null", st->fmt.null, st->fmt.delim);
	if (bools != NULL) {
		const char *comma = strchr(bools, ',');

		if (comma == NULL || comma == bools || comma[1] == '\0' ||
		    strchr(comma + 1, ',') != NULL)
			cdr_usage_error("--booleans: expected TRUE,FALSE words, "
			    "not '%s'", bools);
		st->yes = cdr_xstrndup(bools, (size_t)(comma - bools));
		st->no = cdr_xstrdup(comma + 1);
		check_token("--booleans", st->yes, st->fmt.delim);
		check_token("--booleans", st->no, st->fmt.delim);
		st->fmt.yes = st->yes;
		st->fmt.no = st->no;
	} else {
		st->fmt.yes = d->yes;
		st->fmt.no = d->no;
	}
	st->fmt.eol = d->eol;
	st->fmt.quote_all = quote_all;
	st->fmt.excel_safe = st->excel_safe >= 0 ? st->excel_safe :
	    d->excel_safe;
	st->fmt.time_frac = precision;
	st->fmt.time_detect = time_detect;
	st->fmt.tz = cdr_tz_utc();
	if (tzname != NULL) {
		st->tz = cdr_tz_load(tzname, err, sizeof(err));
		if (st->tz == NULL)
			cdr_usage_error("--tz: %s", err);
		st->fmt.tz = st->tz;
	}
	st->fmt.in_tz = cdr_tz_utc();
	st->fmt.tz_utc = tzname == NULL ||
	    strcmp(cdr_tz_name(st->tz), "UTC") == 0;
	fmt_init(&st->fmt);

	/* Conflicts. */
	if (st->output == NULL)
		st->output = "-";
	if (st->split > 0 && strcmp(st->output, "-") == 0)
		cdr_usage_error("--split needs -o PREFIX");
	if (st->split > 0 && (st->output[0] == '\0' ||
	    st->output[strlen(st->output) - 1] == '/' ||
	    is_dot_name(st->output)))
		cdr_usage_error("--split: -o needs a file name prefix, not a "
		    "directory ('%s')", st->output);
	if (st->gzip < 0) {
		size_t n = strlen(st->output);

		st->gzip = st->split > 0 ||
		    (n > 3 && strcmp(st->output + n - 3, ".gz") == 0);
	}
	if (st->gzip && strcmp(st->output, "-") == 0 && isatty(STDOUT_FILENO))
		cdr_usage_error("compressed output to a terminal (use -o or a "
		    "pipe)");
	if (st->manifest_path != NULL && strcmp(st->output, "-") == 0)
		cdr_usage_error("--manifest needs -o");
	if (st->manifest_path != NULL && st->url_prefix == NULL)
		cdr_usage_error("--manifest needs --url-prefix");
	if (st->url_prefix != NULL && st->manifest_path == NULL)
		cdr_usage_error("--url-prefix without --manifest");
	if (st->dead_letter_path != NULL &&
	    strcmp(st->dead_letter_path, "-") == 0 &&
	    strcmp(st->output, "-") == 0)
		cdr_usage_error("--dead-letter -: stdout already has the CSV");
}

/*
 * An object field whose members the schema lists too: its members are
 * the columns, not the object as JSON text.
 */
static int
has_subfields(const struct cdr_schema *sc, size_t k)
{
	const char *name = sc->fields[k].name;
	size_t i, n = strlen(name);

	for (i = 0; i < sc->nfields; i++)
		if (strncmp(sc->fields[i].name, name, n) == 0 &&
		    sc->fields[i].name[n] == '.')
			return 1;
	return 0;
}

/* Columns and types from the schema, and whether to infer them. */
static void
setup_columns(struct state *st)
{
	const struct cdr_field_spec *fs;
	struct column *c;
	char err[512];
	size_t i;
	int k, only_jq = 1;
	enum ctype t;

	for (i = 0; i < st->cols.n; i++)
		if (st->cols.c[i].jq == NULL)
			only_jq = 0;
	if (st->schema_name != NULL) {
		st->schema = cdr_schema_load(st->schema_name, err, sizeof(err));
		if (st->schema == NULL)
			cdr_usage_error("--schema: %s", err);
		if (st->schema->local_time)
			st->fmt.in_tz = st->fmt.tz;
		if (only_jq) {
			/* The schema's fields, then the computed columns. */
			struct columns all = { NULL, 0, 0 };

			for (i = 0; i < st->schema->nfields; i++)
				if (!has_subfields(st->schema, i))
					columns_add_path(&all,
					    st->schema->fields[i].name,
					    strlen(st->schema->fields[i].name));
			for (i = 0; i < st->cols.n; i++)
				columns_append(&all, &st->cols.c[i]);
			free(st->cols.c);
			st->cols = all;
		}
		for (i = 0; i < st->cols.n; i++) {
			c = &st->cols.c[i];
			if (c->jq != NULL)
				continue;
			k = cdr_schema_field(st->schema, c->source);
			if (k < 0)
				continue;
			fs = &st->schema->fields[k];
			switch (fs->type) {
			case CDR_F_STRING: t = CT_STRING; break;
			case CDR_F_INTEGER: t = CT_INTEGER; break;
			case CDR_F_NUMBER: t = CT_NUMBER; break;
			case CDR_F_BOOLEAN: t = CT_BOOLEAN; break;
			case CDR_F_TIMESTAMP: t = CT_TIMESTAMP; break;
			case CDR_F_OBJECT:
			case CDR_F_ARRAY: t = CT_JSON; break;
			default: t = CT_AUTO; break;
			}
			if (!c->typed)
				c->type = t;
			if (fs->type == CDR_F_TIMESTAMP)
				c->tp_flags = CDR_TP_ISO | fs->epoch;
		}
		if (st->ropts.format == CDR_FMT_AUTO &&
		    st->schema->input == CDR_FMT_CSV)
			st->ropts.format = CDR_FMT_CSV;
		if (st->schema->ncolumns > 0) {
			st->ropts.columns = (const char **)st->schema->columns;
			st->ropts.ncolumns = st->schema->ncolumns;
		}
	}
	st->infer = st->cols.n == 0;
}

static void
write_head(struct state *st)
{
	struct cdr_buf b = CDR_BUF_INIT;
	size_t i;

	if (st->dialect.bom)
		cdr_buf_add(&b, "\xEF\xBB\xBF", 3);
	if (st->header) {
		for (i = 0; i < st->cols.n; i++) {
			if (i > 0)
				cdr_buf_addc(&b, st->fmt.delim);
			cell_write_text(&st->fmt, st->cols.c[i].name,
			    strlen(st->cols.c[i].name), &b);
		}
		cdr_buf_add(&b, st->fmt.eol, st->fmt.eollen);
	}
	sink_set_head(st->sink, b.p ? b.p : "", b.len);
	cdr_buf_free(&b);
}

/* The columns of a run without --columns: the first record's fields. */
static void
infer_columns(struct state *st, const struct cdr_record *rec,
    struct cdr_reader *r)
{
	const char *const *names;
	struct cdr_value root, v;
	const char *k;
	size_t i, n, klen;

	if (rec->format == CDR_FMT_CSV) {
		names = cdr_reader_columns(r, &n);
		for (i = 0; i < n; i++)
			columns_add_path(&st->cols, names[i], strlen(names[i]));
	} else {
		cdr_record_root(rec, &root);
		for (n = cdr_value_child(&root, &v); n; n = cdr_value_next(&v)) {
			k = cdr_value_key(&v, &st->keybuf, &klen);
			if (k == NULL || klen == 0 ||
			    memchr(k, '\0', klen) != NULL)
				continue;
			columns_add_path(&st->cols, k, klen);
		}
	}
	if (st->cols.n == 0)
		return;
	st->infer = 0;
	st->inferred = 1;
	write_head(st);
}

/*
 * Without --columns, a field that the first record did not have would be
 * lost: such records are rejected instead.
 */
static void
check_keys(struct state *st, const struct cdr_record *rec)
{
	struct cdr_value root, v;
	const struct cdr_node *nd;
	const struct column *c;
	const char *k;
	char *name;
	size_t i = 0, klen;
	int more;

	cdr_record_root(rec, &root);
	for (more = cdr_value_child(&root, &v); more;
	    more = cdr_value_next(&v), i++) {
		nd = &rec->nodes[v.node];
		c = i < st->cols.n ? &st->cols.c[i] : NULL;
		if (c != NULL && !(nd->flags & CDR_N_KEY_ESC) &&
		    strlen(c->source) == nd->klen &&
		    memcmp(c->source, nd->key, nd->klen) == 0)
			continue;
		k = cdr_value_key(&v, &st->keybuf, &klen);
		if (k != NULL && columns_find(&st->cols, k, klen) >= 0)
			continue;
		name = cdr_xstrndup(k != NULL ? k : "", k != NULL ? klen : 0);
		cdr_errors_add(&st->errs, name, "columns",
		    "field not among the columns taken from the first record "
		    "(give --columns)");
		free(name);
	}
}

static void
reject(struct state *st, const struct cdr_record *rec)
{
	const struct cdr_error *e = cdr_errors_list(&st->errs);
	size_t i, k;

	st->counts.rejected++;
	for (k = 0; k < NCHECKS; k++)
		for (i = 0; i < st->errs.n; i++)
			if (strcmp(e[i].check, checks[k]) == 0) {
				st->by_check[k]++;
				break;
			}
	if (st->dead != NULL) {
		cdr_dead_letter_write(st->dead, rec, e, st->errs.n);
		return;
	}
	if (st->shown++ < SHOW_REJECTS) {
		if (e[0].field != NULL)
			cdr_warn("%s:%llu: %s: %s", rec->source,
			    (unsigned long long)rec->lineno, e[0].field,
			    e[0].message);
		else
			cdr_warn("%s:%llu: %s", rec->source,
			    (unsigned long long)rec->lineno, e[0].message);
	}
}

static void
process(struct state *st, struct cdr_record *rec)
{
	struct cdr_buf *out;
	struct column *c;
	const char *check;
	char why[256], jqerr[256];
	size_t i, start, found = 0;
	jv in = jv_invalid(), v;
	int rc, have_in = 0;

	cdr_errors_reset(&st->errs);
	st->counts.read++;
	if (rec->bad) {
		cdr_errors_add(&st->errs, NULL, "parse", "%s", rec->err);
		reject(st, rec);
		return;
	}
	if (st->infer) {
		/* Only a record without fields leaves the columns unknown. */
		cdr_errors_add(&st->errs, NULL, "columns", "no fields to take "
		    "the columns from (give --columns)");
		reject(st, rec);
		return;
	}
	out = sink_buf(st->sink);
	start = out->len;
	for (i = 0; i < st->cols.n; i++) {
		c = &st->cols.c[i];
		if (i > 0) {
			if (out->cap - out->len < 2)
				cdr_buf_reserve(out, 1);
			out->p[out->len++] = st->fmt.delim;
		}
		if (c->jq == NULL) {
			rc = cell_write(&st->fmt, c, rec, out, &st->scratch,
			    &check, why, sizeof(why));
			found += rc != 0;
		} else {
			if (!have_in) {
				in = cdr_jq_input(rec);
				have_in = 1;
			}
			rc = cdr_jq_first(c->jq, jv_copy(in), &v, jqerr,
			    sizeof(jqerr));
			if (rc > 0) {
				rc = cell_write_jv(&st->fmt, c, v, out,
				    &st->scratch, &check, why, sizeof(why));
			} else if (rc == 0) {
				cdr_buf_add(out, st->fmt.null, st->fmt.nulllen);
			} else {
				check = "jq";
				snprintf(why, sizeof(why), "%s", jqerr);
			}
		}
		if (rc < 0)
			cdr_errors_add(&st->errs, c->jq != NULL ? c->name :
			    c->source, check, "%s", why);
	}
	if (have_in)
		jv_free(in);
	/* No key repeats: every field is a column if all were found. */
	if (st->inferred && found != rec->nodes[0].nchild)
		check_keys(st, rec);
	if (st->errs.n > 0) {
		out->len = start;
		reject(st, rec);
		return;
	}
	cdr_buf_add(out, st->fmt.eol, st->fmt.eollen);
	sink_row_end(st->sink);
	st->counts.written++;
}

static void
write_manifest(struct state *st)
{
	struct cdr_out *o;
	const char *path, *base;
	size_t i, n = sink_nfiles(st->sink);
	struct cdr_buf url = CDR_BUF_INIT;

	o = cdr_out_open(st->manifest_path, st->force ? CDR_OUT_FORCE : 0);
	if (o == NULL)
		exit(CDR_EXIT_IO);
	cdr_out_puts(o, "{\"entries\":[\n");
	for (i = 0; i < n; i++) {
		path = sink_file_path(st->sink, i);
		base = strrchr(path, '/');
		base = base != NULL ? base + 1 : path;
		cdr_buf_reset(&url);
		cdr_buf_adds(&url, st->url_prefix);
		cdr_buf_adds(&url, base);
		cdr_out_puts(o, "  {\"url\":");
		cdr_write_json_string(o, url.p, url.len);
		cdr_out_printf(o, ",\"mandatory\":true,\"meta\":"
		    "{\"content_length\":%llu}}%s\n",
		    sink_file_size(st->sink, i), i + 1 < n ? "," : "");
	}
	cdr_out_puts(o, "]}\n");
	cdr_out_commit(o);
	cdr_buf_free(&url);
}

/* The summary line, and --stats with the rejections by reason. */
static void
report(const struct state *st)
{
	struct cdr_buf extra = CDR_BUF_INIT;
	size_t k;

	cdr_buf_adds(&extra, "\"reasons\":{");
	for (k = 0; k < NCHECKS; k++)
		cdr_buf_printf(&extra, "%s\"%s\":%llu", k > 0 ? "," : "",
		    checks[k], (unsigned long long)st->by_check[k]);
	cdr_buf_addc(&extra, '}');
	cdr_counts_report(&st->counts, st->quiet, st->stats_path, extra.p);
	cdr_buf_free(&extra);
}

int
main(int argc, char **argv)
{
	struct state st;
	struct sink_opts so;
	struct cdr_reader *r;
	struct cdr_record *rec;
	const struct cdr_reader_stats *rs;
	int a, rc, status = CDR_EXIT_OK, over;

	cdr_msg_init(argv[0]);
	memset(&st, 0, sizeof(st));
	parse_options(&st, argc, argv);
	setup_columns(&st);

	if (st.dead_letter_path != NULL) {
		st.dead = cdr_out_open(st.dead_letter_path,
		    st.force ? CDR_OUT_FORCE : 0);
		if (st.dead == NULL)
			exit(CDR_EXIT_IO);
	}
	memset(&so, 0, sizeof(so));
	so.path = st.output;
	so.split = st.split;
	so.gzip = st.gzip;
	so.level = st.level;
	so.threads = st.threads;
	so.force = st.force;
	st.sink = sink_open(&so);
	if (!st.infer)
		write_head(&st);

	r = cdr_reader_new(&st.ropts);
	cdr_progress_start(st.quiet && st.progress == CDR_PROGRESS_AUTO ?
	    CDR_PROGRESS_OFF : st.progress, "cdr-tocsv");
	for (a = optind; a < argc || a == optind; a++) {
		const char *path = a < argc ? argv[a] : "-";

		if (cdr_reader_open(r, path) != 0) {
			st.counts.sources_failed++;
			continue;
		}
		while ((rc = cdr_reader_next(r, &rec)) > 0) {
			if (st.infer && !rec->bad)
				infer_columns(&st, rec, r);
			process(&st, rec);
			rs = cdr_reader_stats(r);
			cdr_progress_update(rs->records, rs->bytes);
		}
		if (rc < 0)
			st.counts.sources_failed++;
	}
	cdr_progress_end();
	st.counts.blank = cdr_reader_stats(r)->blank;
	cdr_reader_free(r);

	if (st.counts.sources_failed > 0) {
		/* Outputs are not committed when an input could not be read. */
		sink_finish(st.sink, 0);
		if (st.dead != NULL)
			cdr_out_abort(st.dead);
		status = CDR_EXIT_IO;
	} else {
		sink_finish(st.sink, 1);
		if (st.dead != NULL)
			cdr_out_commit(st.dead);
		if (st.manifest_path != NULL)
			write_manifest(&st);
	}
	report(&st);
	if (status == CDR_EXIT_OK && st.counts.rejected > 0) {
		if (st.dead == NULL && st.shown > SHOW_REJECTS)
			cdr_warn("%llu more rejected records not shown (use "
			    "--dead-letter)",
			    (unsigned long long)(st.shown - SHOW_REJECTS));
		over = 0;
		if (st.has_max_errors || !st.has_max_rate)
			over |= st.counts.rejected > st.max_errors;
		if (st.has_max_rate)
			over |= (double)st.counts.rejected >
			    st.max_rate * (double)st.counts.read;
		if (over) {
			if (st.has_max_rate)
				cdr_warn("%llu rejected record%s: more than "
				    "--max-error-rate allows",
				    (unsigned long long)st.counts.rejected,
				    st.counts.rejected == 1 ? "" : "s");
			else
				cdr_warn("%llu rejected record%s: more than "
				    "--max-errors %llu allows",
				    (unsigned long long)st.counts.rejected,
				    st.counts.rejected == 1 ? "" : "s",
				    (unsigned long long)st.max_errors);
			status = CDR_EXIT_DATA;
		}
	}
	sink_free(st.sink);
	columns_free(&st.cols);
	cell_free();
	cdr_errors_free(&st.errs);
	cdr_buf_free(&st.scratch);
	cdr_buf_free(&st.keybuf);
	if (st.schema != NULL)
		cdr_schema_free(st.schema);
	if (st.tz != NULL)
		cdr_tz_free(st.tz);
	free(st.yes);
	free(st.no);
	cdr_out_finish();
	return status;
}
