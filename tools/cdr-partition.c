/*
 * cdr-partition: split a stream of records into N stable hash shards, or
 * into a directory tree by a path template (tenant, date), in batch files
 * that are committed atomically, with one manifest line per file.
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cdrtime.h"
#include "deadletter.h"
#include "msg.h"
#include "out.h"
#include "parse.h"
#include "progress.h"
#include "record.h"
#include "partition.h"

#define MAX_SHARDS	65536
#define MAX_MESSAGES	10

struct run {
	/* options */
	const char		*key;
	struct cdr_path		 keypath;
	uint32_t		 nshards;
	enum shard_fn		 shard_fn;
	int			 have_shard_fn;
	const char		*by;
	struct tmpl		*tmpl;
	const char		*tz_name;
	struct cdr_tz		*tz;
	const char		*missing;
	enum cdr_format		 in_fmt;
	enum cdr_format		 out_fmt;	/* CDR_FMT_AUTO: as the input */
	char			**columns;
	size_t			 ncolumns;
	struct writer_opts	 wo;
	const char		*manifest_path;
	const char		*dead_letter_path;
	const char		*stats_path;
	uint64_t		 max_errors;
	double			 max_error_rate;
	int			 have_max_errors;
	int			 have_max_error_rate;
	size_t			 max_record;
	enum cdr_progress_mode	 progress;
	int			 quiet;
	/* state */
	struct cdr_reader	*reader;
	struct writer		*w;
	struct conv		*conv;
	struct part		**shards;
	struct map		 parts;
	struct cdr_out		*manifest;
	struct cdr_out		*dead;
	struct cdr_counts	 counts;
	struct cdr_errors	 errs;
	struct cdr_buf		 path;
	struct cdr_buf		 scratch;
	uint64_t		 messages;
};

static void usage(FILE *fp);
static void parse_options(struct run *r, int argc, char **argv);
static void check_inputs(char **files, int n);
static void open_outputs(struct run *r);
static void setup_output(struct run *r, const struct cdr_record *rec);
static void process(struct run *r, const struct cdr_record *rec);
static void reject(struct run *r, const struct cdr_record *rec,
    const char *field, const char *check, const char *msg);
static int report(struct run *r);

enum {
	OPT_BATCH_ID = 256,
	OPT_BUFFER_SIZE,
	OPT_BY,
	OPT_BY_HASH,
	OPT_COLUMNS,
	OPT_DEAD_LETTER,
	OPT_GZIP_LEVEL,
	OPT_MAX_BYTES,
	OPT_MAX_ERROR_RATE,
	OPT_MAX_ERRORS,
	OPT_MAX_OPEN,
	OPT_MAX_RECORD,
	OPT_MAX_RECORDS,
	OPT_MISSING,
	OPT_NO_FSYNC,
	OPT_NO_PROGRESS,
	OPT_PROGRESS,
	OPT_SHARD_FUNCTION,
	OPT_STATS,
	OPT_THREADS,
	OPT_TZ
};

static const struct option longopts[] = {
	{ "batch-id",		required_argument,	NULL, OPT_BATCH_ID },
	{ "buffer-size",	required_argument,	NULL, OPT_BUFFER_SIZE },
	{ "by",			required_argument,	NULL, OPT_BY },
	{ "by-hash",		required_argument,	NULL, OPT_BY_HASH },
	{ "columns",		required_argument,	NULL, OPT_COLUMNS },
	{ "dead-letter",	required_argument,	NULL, OPT_DEAD_LETTER },
	{ "directory",		required_argument,	NULL, 'd' },
	{ "force",		no_argument,		NULL, 'f' },
	{ "gzip",		no_argument,		NULL, 'z' },
	{ "gzip-level",		required_argument,	NULL, OPT_GZIP_LEVEL },
	{ "help",		no_argument,		NULL, 'h' },
	{ "input-format",	required_argument,	NULL, 'i' },
	{ "max-bytes",		required_argument,	NULL, OPT_MAX_BYTES },
	{ "max-error-rate",	required_argument,	NULL, OPT_MAX_ERROR_RATE },
	{ "max-errors",		required_argument,	NULL, OPT_MAX_ERRORS },
	{ "max-open",		required_argument,	NULL, OPT_MAX_OPEN },
	{ "max-record",		required_argument,	NULL, OPT_MAX_RECORD },
	{ "max-records",	required_argument,	NULL, OPT_MAX_RECORDS },
	{ "missing",		required_argument,	NULL, OPT_MISSING },
	{ "no-fsync",		no_argument,		NULL, OPT_NO_FSYNC },
	{ "no-progress",	no_argument,		NULL, OPT_NO_PROGRESS },
	{ "output",		required_argument,	NULL, 'o' },
	{ "output-format",	required_argument,	NULL, 'O' },
	{ "progress",		no_argument,		NULL, OPT_PROGRESS },
	{ "quiet",		no_argument,		NULL, 'q' },
	{ "shard-function",	required_argument,	NULL, OPT_SHARD_FUNCTION },
	{ "shards",		required_argument,	NULL, 'n' },
	{ "stats",		required_argument,	NULL, OPT_STATS },
	{ "threads",		required_argument,	NULL, OPT_THREADS },
	{ "tz",			required_argument,	NULL, OPT_TZ },
	{ "version",		no_argument,		NULL, 'V' },
	{ NULL,			0,			NULL, 0 }
};

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: cdr-partition --by-hash KEY --shards N -d DIR [OPTION]... [FILE]...\n"
"  or:  cdr-partition --by TEMPLATE -d DIR [OPTION]... [FILE]...\n"
"Split records into N stable hash shards, or into a directory tree by a path\n"
"template, in batch files committed atomically; print one NDJSON line per\n"
"committed file (path, records, bytes, checksum).  With no FILE, or when FILE\n"
"is -, read standard input.\n"
"\n"
"Partitioning:\n"
"      --by-hash KEY        shard by the XXH3-64 hash of field KEY (a.b for nested)\n"
"  -n, --shards N           number of shards, 1..65536; files part-00000...\n"
"      --shard-function F   jump (jump consistent hash, default) or mod\n"
"      --by TEMPLATE        path template of {field} and {field:TIMEFORMAT},\n"
"                           e.g. '{tenant_id}/{start_time:%%Y/%%m/%%d}/calls.ndjson'\n"
"      --tz ZONE            time zone of {field:TIMEFORMAT} (default UTC)\n"
"      --missing VALUE      use VALUE for a missing or null key field instead\n"
"                           of rejecting the record\n"
"  -d, --directory DIR      output root (created if missing)\n"
"\n"
"Output files:\n"
"  -O, --output-format FMT  ndjson or csv (default: as the input)\n"
"      --columns LIST       CSV output columns (default: the first record's)\n"
"  -z, --gzip               gzip every file (\".gz\" is added to its name)\n"
"      --gzip-level N       1..9 (default 6); implies --gzip\n"
"      --max-records N      start a new batch file after N records\n"
"      --max-bytes SIZE     start a new batch file before SIZE bytes (before\n"
"                           compression)\n"
"      --batch-id ID        name files NAME@ID: a rerun with the same ID\n"
"                           replaces its own files\n"
"  -f, --force              replace existing files\n"
"      --no-fsync           do not wait for the files to reach the disk\n"
"      --max-open N         most output files open at once (default from\n"
"                           ulimit -n)\n"
"      --buffer-size SIZE   memory for pending output (default 64M)\n"
"      --threads N          writer threads (default 1; with --gzip, one per\n"
"                           processor)\n"
"\n"
"Manifest and accounting:\n"
"  -o, --output FILE        the manifest to FILE, atomically, not stdout\n"
"      --dead-letter FILE   rejected records, with reasons and their bytes\n"
"      --max-errors N       rejected records allowed (default 0)\n"
"      --max-error-rate R   share of rejected records allowed (0.01 or 1%%)\n"
"      --stats FILE         the summary counts as JSON\n"
"\n"
"Input:\n"
"  -i, --input-format FMT   auto (default), ndjson or csv\n"
"      --max-record SIZE    longest record accepted (default 256M)\n"
"      --progress           show progress on stderr (default: on a terminal)\n"
"      --no-progress        never show progress\n"
"  -q, --quiet              no summary line, no meter (unless --progress)\n"
"  -h, --help               show this help and exit\n"
"  -V, --version            show the version and exit\n"
"\n"
"Exit status: 0 success, 1 rejected records beyond the budget (all written\n"
"to the dead letter), 2 usage error, 3 I/O error (nothing committed),\n"
"4 internal error.  See cdr-partition(1).\n");
}

static enum cdr_format
format_arg(const char *opt, const char *s, int allow_auto)
{
	enum cdr_format fmt;

	if (cdr_format_parse(s, allow_auto, &fmt) == 0)
		return fmt;
	cdr_usage_error("%s: unknown format '%s' (%s)", opt, s,
	    allow_auto ? "auto, ndjson or csv" : "ndjson or csv");
}

static uint64_t
uint_arg(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	const char *why;
	uint64_t v;

	if (cdr_parse_uint(s, min, max, &v, &why) != 0)
		cdr_usage_error("%s: %s", opt, why);
	return v;
}

static uint64_t
size_arg(const char *opt, const char *s, uint64_t min)
{
	const char *why;
	uint64_t v;

	if (cdr_parse_size(s, &v, &why) != 0)
		cdr_usage_error("%s: %s", opt, why);
	if (v < min)
		cdr_usage_error("%s: at least %llu bytes", opt,
		    (unsigned long long)min);
	return v;
}

static void
columns_arg(struct run *r, const char *s)
{
	const char *p = s, *comma;

	if (*s == '\0')
		cdr_usage_error("--columns: empty list");
	for (;;) {
		comma = strchr(p, ',');
		r->columns = cdr_xreallocarray(r->columns, r->ncolumns + 1,
		    sizeof(*r->columns));
		r->columns[r->ncolumns] = comma ?
		    cdr_xstrndup(p, (size_t)(comma - p)) : cdr_xstrdup(p);
		if (r->columns[r->ncolumns][0] == '\0')
			cdr_usage_error("--columns: empty column name");
		for (size_t i = 0; i < r->ncolumns; i++)
			if (strcmp(r->columns[i], r->columns[r->ncolumns]) == 0)
				cdr_usage_error("--columns: \"%s\" twice",
				    r->columns[i]);
		r->ncolumns++;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
}

static void
batch_id_arg(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 64)
		cdr_usage_error("--batch-id: 1 to 64 characters");
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || ((c == '_' || c == '.' ||
		    c == '-') && i > 0)))
			cdr_usage_error("--batch-id: '%s': letters, digits and "
			    "'_' '.' '-' (not first) only", s);
	}
}

/* Most descriptors for partition files: the soft limit, less a reserve. */
static size_t
default_max_open(void)
{
	struct rlimit rl;
	rlim_t avail;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return 4096;
	avail = rl.rlim_cur > 40 ? rl.rlim_cur - 32 : 8;
	return avail > 4096 ? 4096 : (size_t)avail;
}

static void
parse_options(struct run *r, int argc, char **argv)
{
	char err[256];
	const char *why;
	int c, level = 0;

	r->wo.level = 6;
	r->wo.fsync = 1;
	r->wo.budget = (size_t)64 << 20;
	r->progress = CDR_PROGRESS_AUTO;
	/* getopt's own messages start with the short name, as ours do. */
	argv[0] = (char *)(uintptr_t)cdr_progname();
	while ((c = getopt_long(argc, argv, "d:fhi:n:O:o:qVz", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'd':
			r->wo.dir = optarg;
			break;
		case 'f':
			r->wo.force = 1;
			break;
		case 'h':
			usage(stdout);
			cdr_out_finish();
			exit(CDR_EXIT_OK);
		case 'i':
			r->in_fmt = format_arg("--input-format", optarg, 1);
			break;
		case 'n':
			r->nshards = (uint32_t)uint_arg("--shards", optarg, 1,
			    MAX_SHARDS);
			break;
		case 'O':
			r->out_fmt = format_arg("--output-format", optarg, 0);
			break;
		case 'o':
			r->manifest_path = optarg;
			break;
		case 'q':
			r->quiet = 1;
			break;
		case 'V':
			cdr_version_print(stdout);
			cdr_out_finish();
			exit(CDR_EXIT_OK);
		case 'z':
			r->wo.gzip = 1;
			break;
		case OPT_BATCH_ID:
			batch_id_arg(optarg);
			r->wo.batch_id = optarg;
			break;
		case OPT_BUFFER_SIZE:
			r->wo.budget = (size_t)size_arg("--buffer-size", optarg,
			    4096);
			break;
		case OPT_BY:
			r->by = optarg;
			break;
		case OPT_BY_HASH:
			r->key = optarg;
			break;
		case OPT_COLUMNS:
			columns_arg(r, optarg);
			break;
		case OPT_DEAD_LETTER:
			r->dead_letter_path = optarg;
			break;
		case OPT_GZIP_LEVEL:
			level = (int)uint_arg("--gzip-level", optarg, 1, 9);
			r->wo.level = level;
			r->wo.gzip = 1;
			break;
		case OPT_MAX_BYTES:
			r->wo.max_bytes = size_arg("--max-bytes", optarg, 1);
			break;
		case OPT_MAX_ERROR_RATE:
			if (cdr_parse_ratio(optarg, &r->max_error_rate,
			    &why) != 0)
				cdr_usage_error("--max-error-rate: %s", why);
			r->have_max_error_rate = 1;
			break;
		case OPT_MAX_ERRORS:
			r->max_errors = uint_arg("--max-errors", optarg, 0,
			    UINT64_MAX);
			r->have_max_errors = 1;
			break;
		case OPT_MAX_OPEN:
			r->wo.max_open = (size_t)uint_arg("--max-open", optarg,
			    1, 1000000);
			break;
		case OPT_MAX_RECORD:
			r->max_record = (size_t)size_arg("--max-record", optarg,
			    1);
			break;
		case OPT_MAX_RECORDS:
			r->wo.max_records = uint_arg("--max-records", optarg, 1,
			    UINT64_MAX);
			break;
		case OPT_MISSING:
			r->missing = optarg;
			break;
		case OPT_NO_FSYNC:
			r->wo.fsync = 0;
			break;
		case OPT_NO_PROGRESS:
			r->progress = CDR_PROGRESS_OFF;
			break;
		case OPT_PROGRESS:
			r->progress = CDR_PROGRESS_ON;
			break;
		case OPT_SHARD_FUNCTION:
			if (strcmp(optarg, "jump") == 0)
				r->shard_fn = SHARD_JUMP;
			else if (strcmp(optarg, "mod") == 0)
				r->shard_fn = SHARD_MOD;
			else
				cdr_usage_error("--shard-function: '%s': jump "
				    "or mod", optarg);
			r->have_shard_fn = 1;
			break;
		case OPT_STATS:
			r->stats_path = optarg;
			break;
		case OPT_THREADS:
			r->wo.threads = (size_t)uint_arg("--threads", optarg, 1,
			    64);
			break;
		case OPT_TZ:
			r->tz_name = optarg;
			break;
		default:
			fprintf(stderr, "Try '%s --help' for more information.\n",
			    cdr_progname());
			exit(CDR_EXIT_USAGE);
		}
	}

	/* Conflicts, once every option is known. */
	if (r->key == NULL && r->by == NULL)
		cdr_usage_error("one of --by-hash KEY or --by TEMPLATE is "
		    "required");
	if (r->key != NULL && r->by != NULL)
		cdr_usage_error("--by-hash and --by cannot be combined");
	if (r->key != NULL && r->nshards == 0)
		cdr_usage_error("--by-hash needs --shards N");
	if (r->key == NULL && r->nshards != 0)
		cdr_usage_error("--shards needs --by-hash");
	if (r->key == NULL && r->have_shard_fn)
		cdr_usage_error("--shard-function needs --by-hash");
	if (r->wo.dir == NULL || *r->wo.dir == '\0')
		cdr_usage_error("-d DIR is required");
	if (r->ncolumns > 0) {
		if (r->out_fmt == CDR_FMT_NDJSON)
			cdr_usage_error("--columns is for CSV output");
		r->out_fmt = CDR_FMT_CSV;
	}
	if (r->dead_letter_path != NULL && strcmp(r->dead_letter_path,
	    "-") == 0 && (r->manifest_path == NULL ||
	    strcmp(r->manifest_path, "-") == 0))
		cdr_usage_error("--dead-letter -: stdout carries the manifest");
	if (r->key != NULL && cdr_path_init(&r->keypath, r->key) != 0)
		cdr_usage_error("--by-hash: empty field name");
	if (r->tz_name != NULL) {
		r->tz = cdr_tz_load(r->tz_name, err, sizeof(err));
		if (r->tz == NULL)
			cdr_usage_error("--tz: %s", err);
	}
	if (r->by != NULL) {
		size_t n = strlen(r->by);

		r->tmpl = tmpl_compile(r->by, r->tz != NULL ? r->tz :
		    cdr_tz_utc(), err, sizeof(err));
		if (r->tmpl == NULL)
			cdr_usage_error("--by: %s", err);
		if (n >= 3 && strcmp(r->by + n - 3, ".gz") == 0 && !r->wo.gzip)
			cdr_usage_error("--by: the template names .gz files: "
			    "add --gzip");
		tmpl_set_missing(r->tmpl, r->missing);
	}
	if (r->wo.threads == 0) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

		r->wo.threads = !r->wo.gzip || ncpu < 1 ? 1 :
		    ncpu > 16 ? 16 : (size_t)ncpu;
	}
	if (r->wo.max_open == 0 || r->wo.max_open > default_max_open())
		r->wo.max_open = default_max_open();
	/* Trailing slashes would double in the paths of the manifest. */
	{
		size_t n = strlen(r->wo.dir);
		char *d = cdr_xstrdup(r->wo.dir);

		while (n > 1 && d[n - 1] == '/')
			d[--n] = '\0';
		r->wo.dir = d;
	}
}

/* All missing inputs reported at once, before any work. */
static void
check_inputs(char **files, int n)
{
	struct stat st;
	int i, bad = 0;

	for (i = 0; i < n; i++) {
		if (strcmp(files[i], "-") == 0)
			continue;
		if (stat(files[i], &st) != 0) {
			cdr_warn_errno("%s", files[i]);
			bad = 1;
		} else if (S_ISDIR(st.st_mode)) {
			cdr_warn("%s: is a directory", files[i]);
			bad = 1;
		}
	}
	if (bad)
		exit(CDR_EXIT_IO);
}

static void
open_outputs(struct run *r)
{
	int flags = r->wo.force ? CDR_OUT_FORCE : 0;

	if (r->manifest_path != NULL) {
		r->manifest = cdr_out_open(r->manifest_path, flags);
		if (r->manifest == NULL)
			exit(CDR_EXIT_IO);
	} else {
		r->manifest = cdr_out_stdout();
	}
	if (r->dead_letter_path != NULL) {
		r->dead = cdr_out_open(r->dead_letter_path, flags);
		if (r->dead == NULL)
			exit(CDR_EXIT_IO);
	}
	r->w = writer_new(&r->wo);
}

/*
 * The output format and, for CSV, the columns and header: from the options,
 * else from the first good record (rec may be NULL when there is none).
 */
static void
setup_output(struct run *r, const struct cdr_record *rec)
{
	struct cdr_buf header = CDR_BUF_INIT;
	const char *const *src;
	enum cdr_format fmt = r->out_fmt;
	size_t n, width = 5;
	uint32_t i;
	char stem[32], extra[32];

	if (fmt == CDR_FMT_AUTO)
		fmt = rec != NULL ? rec->format :
		    cdr_reader_format(r->reader) == CDR_FMT_CSV ? CDR_FMT_CSV :
		    CDR_FMT_NDJSON;
	r->conv = conv_new(fmt);
	if (fmt == CDR_FMT_CSV) {
		src = cdr_reader_columns(r->reader, &n);
		if (r->ncolumns > 0)
			conv_set_columns(r->conv, (const char *const *)r->columns,
			    r->ncolumns);
		else if (rec != NULL && rec->format == CDR_FMT_NDJSON)
			conv_columns_from(r->conv, rec);
		else if (src != NULL && n > 0)
			conv_set_columns(r->conv, src, n);
		if (conv_has_columns(r->conv)) {
			conv_header(r->conv, &header);
			writer_set_header(r->w, header.p, header.len);
		}
		cdr_buf_free(&header);
	}
	if (r->key == NULL)
		return;
	for (n = r->nshards - 1; n >= 100000; n /= 10)
		width++;
	r->shards = cdr_xcalloc(r->nshards, sizeof(*r->shards));
	for (i = 0; i < r->nshards; i++) {
		snprintf(stem, sizeof(stem), "part-%0*u", (int)width, i);
		snprintf(extra, sizeof(extra), ",\"shard\":%u", i);
		r->shards[i] = writer_part(r->w, "", stem,
		    fmt == CDR_FMT_CSV ? ".csv" : ".ndjson", extra);
	}
}

static void
reject(struct run *r, const struct cdr_record *rec, const char *field,
    const char *check, const char *msg)
{
	r->counts.rejected++;
	if (r->dead != NULL) {
		cdr_errors_reset(&r->errs);
		cdr_errors_add(&r->errs, field, check, "%s", msg);
		cdr_dead_letter_write(r->dead, rec, cdr_errors_list(&r->errs),
		    r->errs.n);
	} else if (r->messages++ < MAX_MESSAGES) {
		cdr_warn("%s:%llu: %s (record rejected)", rec->source,
		    (unsigned long long)rec->lineno, msg);
	}
}

/* The partition of a template path seen for the first time. */
static struct part *
template_part(struct run *r, const struct cdr_record *rec)
{
	struct cdr_buf extra = CDR_BUF_INIT;
	const char *path = r->path.p, *slash, *last;
	size_t ext = tmpl_ext_len(r->tmpl), lastlen;
	char *reldir, *stem;
	struct part *p;

	slash = memrchr(path, '/', r->path.len);
	last = slash != NULL ? slash + 1 : path;
	lastlen = r->path.len - (size_t)(last - path);
	reldir = slash != NULL ? cdr_xstrndup(path, (size_t)(slash - path)) :
	    cdr_xstrdup("");
	stem = cdr_xstrndup(last, lastlen - ext);
	cdr_buf_adds(&extra, ",\"values\":{");
	tmpl_values_json(r->tmpl, rec, &extra);
	cdr_buf_addc(&extra, '}');
	p = writer_part(r->w, reldir, stem, last + lastlen - ext, extra.p);
	map_put(&r->parts, path, r->path.len, p);
	free(reldir);
	free(stem);
	cdr_buf_free(&extra);
	return p;
}

static void
process(struct run *r, const struct cdr_record *rec)
{
	const char *const *src = NULL;
	struct cdr_value v;
	struct reject why;
	struct part *p;
	const char *s, *out;
	size_t n, nsrc = 0, outlen;

	r->counts.read++;
	if (rec->bad) {
		reject(r, rec, NULL, "parse", rec->err);
		return;
	}
	if (r->conv == NULL)
		setup_output(r, rec);
	if (r->key != NULL) {
		cdr_record_get(rec, &r->keypath, &v);
		if (value_bytes(&v, r->key, r->missing, &r->scratch, &s, &n,
		    &why) != 0) {
			reject(r, rec, why.field, why.check, why.message);
			return;
		}
		p = r->shards[shard_of(key_hash(s, n), r->nshards,
		    r->shard_fn)];
	} else {
		cdr_buf_reset(&r->path);
		if (tmpl_expand(r->tmpl, rec, &r->path, &why) != 0) {
			reject(r, rec, why.field, why.check, why.message);
			return;
		}
		p = map_get(&r->parts, r->path.p, r->path.len);
		/* Room for DIR, the decorations and the temporary name. */
		if (p == NULL && strlen(r->wo.dir) + r->path.len + 120 >=
		    PATH_MAX) {
			reject(r, rec, NULL, "path", "the output path would be "
			    "longer than PATH_MAX");
			return;
		}
	}
	if (rec->format == CDR_FMT_CSV)
		src = cdr_reader_columns(r->reader, &nsrc);
	if (conv_record(r->conv, rec, src, nsrc, &out, &outlen, &why) != 0) {
		reject(r, rec, why.field, why.check, why.message);
		return;
	}
	if (p == NULL)
		p = template_part(r, rec);
	writer_append(r->w, p, out, outlen);
	r->counts.written++;
}

/* The summary, and the exit status the error budget gives. */
static int
report(struct run *r)
{
	const struct cdr_counts *c = &r->counts;
	int over = 0;
	char extra[96];

	if (r->dead == NULL && r->messages > MAX_MESSAGES)
		cdr_warn("%llu more rejected records not shown (use "
		    "--dead-letter FILE to keep them)",
		    (unsigned long long)(r->messages - MAX_MESSAGES));

	snprintf(extra, sizeof(extra), "\"files\":%llu",
	    (unsigned long long)writer_files(r->w));
	cdr_counts_report(c, r->quiet, r->stats_path, extra);
	if (!r->have_max_errors && !r->have_max_error_rate)
		over = c->rejected > 0;
	if (r->have_max_errors && c->rejected > r->max_errors)
		over = 1;
	if (r->have_max_error_rate && c->read > 0 &&
	    (double)c->rejected > r->max_error_rate * (double)c->read)
		over = 1;
	return over ? CDR_EXIT_DATA : CDR_EXIT_OK;
}

int
main(int argc, char **argv)
{
	static char *stdin_only[] = { "-" };
	struct cdr_reader_opts ropts;
	struct cdr_record *rec;
	struct run r;
	char **files;
	int i, nfiles, rc, status;

	cdr_msg_init(argv[0]);
	memset(&r, 0, sizeof(r));
	parse_options(&r, argc, argv);
	files = argc > optind ? argv + optind : stdin_only;
	nfiles = argc > optind ? argc - optind : 1;
	check_inputs(files, nfiles);
	open_outputs(&r);
	map_init(&r.parts);

	memset(&ropts, 0, sizeof(ropts));
	ropts.format = r.in_fmt;
	ropts.max_record = r.max_record;
	r.reader = cdr_reader_new(&ropts);
	cdr_progress_start(r.quiet && r.progress == CDR_PROGRESS_AUTO ?
	    CDR_PROGRESS_OFF : r.progress, "cdr-partition");
	for (i = 0; i < nfiles; i++) {
		/* The reader has said why; nothing is committed. */
		if (cdr_reader_open(r.reader, files[i]) != 0)
			exit(CDR_EXIT_IO);
		while ((rc = cdr_reader_next(r.reader, &rec)) > 0) {
			process(&r, rec);
			cdr_progress_update(r.counts.read,
			    cdr_reader_stats(r.reader)->bytes);
		}
		if (rc < 0)
			exit(CDR_EXIT_IO);
	}
	cdr_progress_end();
	r.counts.blank = cdr_reader_stats(r.reader)->blank;
	if (r.conv == NULL)
		setup_output(&r, NULL);

	writer_commit(r.w, r.key != NULL, r.manifest);
	if (r.dead != NULL)
		cdr_out_commit(r.dead);
	/* The manifest file last: it says the whole batch is in place. */
	cdr_out_commit(r.manifest);
	status = report(&r);

	writer_free(r.w);
	conv_free(r.conv);
	tmpl_free(r.tmpl);
	cdr_tz_free(r.tz);
	cdr_path_free(&r.keypath);
	cdr_reader_free(r.reader);
	cdr_errors_free(&r.errs);
	cdr_buf_free(&r.path);
	cdr_buf_free(&r.scratch);
	map_free(&r.parts);
	free(r.shards);
	for (size_t k = 0; k < r.ncolumns; k++)
		free(r.columns[k]);
	free(r.columns);
	free((char *)(uintptr_t)r.wo.dir);
	cdr_out_finish();
	return status;
}
