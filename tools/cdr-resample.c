/*
 * cdr-resample: call recordings from 16-bit PCM WAV to A-law, µ-law or
 * 16-bit PCM, mixed to mono or not, at any rate; in place or into another
 * directory, atomically, idempotently, on N threads.  One NDJSON result
 * line per file on stdout, in input order; failures also to the
 * dead-letter file.
 *
 * The main thread reads the operands or the list and fills a ring of
 * jobs; workers take jobs in order and convert; whichever worker finishes
 * the oldest outstanding job writes the results that are ready, so the
 * output order is the input order whatever -j is.  Signals that end the
 * program are taken by one thread with sigwait, which holds the lock
 * that guards temporary-file creation and rename while the temporary
 * files are removed.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <soxr.h>

#include "buf.h"
#include "deadletter.h"
#include "input.h"
#include "msg.h"
#include "out.h"
#include "parse.h"
#include "progress.h"
#include "record.h"
#include "write.h"

#include "g711.h"
#include "place.h"

#define MAX_JOBS	256
#define MAX_LIST_LINE	(1024 * 1024)

enum list_format {
	LIST_AUTO,
	LIST_LINES,
	LIST_NDJSON,
	LIST_CSV
};

struct job {
	char			*path;		/* NULL: a bad list record */
	char			*record;	/* the operand or list line */
	size_t			 reclen;
	const char		*source;
	uint64_t		 lineno;
	uint64_t		 offset;
	char			*bad;		/* why the record has no path */
	int			 done;
	struct file_result	 res;
};

struct resample {
	/* options */
	struct place_opts	 popts;
	unsigned		 jobs;
	int			 from_list;
	enum list_format	 list_format;
	const char		*path_field;
	const char		*dead_letter_path;
	const char		*stats_path;
	uint64_t		 max_errors;
	int			 quiet;
	enum cdr_progress_mode	 progress;

	/* the job ring, guarded by lock */
	pthread_mutex_t		 lock;
	pthread_cond_t		 work;		/* a job to take, or the end */
	pthread_cond_t		 space;		/* a slot freed */
	struct job		*ring;
	size_t			 ringsize;
	uint64_t		 filled;
	uint64_t		 claimed;
	uint64_t		 emitted;
	int			 eof;
	pthread_t		*threads;

	/* results, written under lock */
	struct cdr_out		*out;
	struct cdr_out		*dead_letter;
	struct cdr_errors	 errs;
	uint64_t		 files;
	uint64_t		 converted;
	uint64_t		 copied;
	uint64_t		 skipped;
	uint64_t		 failed;
	uint64_t		 failed_io;
	uint64_t		 bytes_in;
	uint64_t		 bytes_out;

	/* list reading (main thread only) */
	int			 lists_failed;
	struct cdr_path		 path;
	struct cdr_buf		 line;
	struct cdr_buf		 scratch;
	struct cdr_node		*nodes;
	uint32_t		 nodecap;
	char			**sources;
	size_t			 nsources;
};

static struct resample *sig_state;

static void usage(FILE *fp);
static void parse_options(struct resample *s, int argc, char **argv);
static void setup(struct resample *s);
static void start_threads(struct resample *s);
static void *worker(void *arg);
static void *signal_thread(void *arg);
static struct job *job_slot(struct resample *s);
static void job_queue(struct resample *s);
static void emit(struct resample *s, struct job *j);
static void add_operand(struct resample *s, const char *path, uint64_t n);
static void read_list(struct resample *s, const char *name);
static void read_list_csv(struct resample *s, const char *name);
static void finish(struct resample *s);

enum {
	OPT_ALLOW_TRUNCATED = 256,
	OPT_BASE,
	OPT_DEAD_LETTER,
	OPT_FROM_LIST,
	OPT_IN_PLACE,
	OPT_KEEP_ORIGINAL,
	OPT_MAX_ERRORS,
	OPT_MIN_AGE,
	OPT_NO_PROGRESS,
	OPT_PATH_FIELD,
	OPT_PROGRESS,
	OPT_QUALITY,
	OPT_STATS
};

static const struct option longopts[] = {
	{ "allow-truncated", no_argument, NULL, OPT_ALLOW_TRUNCATED },
	{ "base", required_argument, NULL, OPT_BASE },
	{ "channels", required_argument, NULL, 'c' },
	{ "dead-letter", required_argument, NULL, OPT_DEAD_LETTER },
	{ "encoding", required_argument, NULL, 'e' },
	{ "force", no_argument, NULL, 'f' },
	{ "from-list", no_argument, NULL, OPT_FROM_LIST },
	{ "help", no_argument, NULL, 'h' },
	{ "in-place", no_argument, NULL, OPT_IN_PLACE },
	{ "input-format", required_argument, NULL, 'i' },
	{ "jobs", required_argument, NULL, 'j' },
	{ "keep-original", required_argument, NULL, OPT_KEEP_ORIGINAL },
	{ "max-errors", required_argument, NULL, OPT_MAX_ERRORS },
	{ "min-age", required_argument, NULL, OPT_MIN_AGE },
	{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
	{ "output", required_argument, NULL, 'o' },
	{ "output-dir", required_argument, NULL, 'd' },
	{ "path-field", required_argument, NULL, OPT_PATH_FIELD },
	{ "progress", no_argument, NULL, OPT_PROGRESS },
	{ "quality", required_argument, NULL, OPT_QUALITY },
	{ "quiet", no_argument, NULL, 'q' },
	{ "rate", required_argument, NULL, 'r' },
	{ "stats", required_argument, NULL, OPT_STATS },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: cdr-resample [-fqV] [-e encoding] [-c mono|keep] [-r rate|keep]\n"
"                    [--quality q] [--min-age duration] [--allow-truncated]\n"
"                    [-j n] [--dead-letter file] [--max-errors n]\n"
"                    [--stats file] --in-place [--keep-original dir]\n"
"                    [--base dir] file ...\n"
"       cdr-resample [options] -d dir [--base dir] file ...\n"
"       cdr-resample [options] -o file file\n"
"       cdr-resample [options] --in-place|-d dir --from-list\n"
"                    [-i auto|lines|ndjson|csv] [--path-field field]\n"
"                    [list ...]\n"
"\n"
"Converts WAV call recordings (PCM 8/16/24/32-bit, float, A-law, mu-law)\n"
"to A-law, mu-law or 16-bit PCM; the samples of 8 kHz input are those of\n"
"'ffmpeg -i in.wav -ac 1 -c:a pcm_alaw out.wav'.  One NDJSON result line\n"
"per file on stdout.\n"
"\n"
"  -e, --encoding alaw|ulaw|pcm16   output encoding (default alaw)\n"
"  -c, --channels mono|keep     mix to one channel (default) or keep them\n"
"  -r, --rate HZ|keep           output sample rate (default 8000)\n"
"      --quality low|medium|high|very-high\n"
"                               libsoxr quality of rate changes (high)\n"
"      --in-place               replace each file atomically\n"
"      --keep-original DIR      with --in-place: keep the originals in DIR\n"
"  -d, --output-dir DIR         write the converted files to DIR\n"
"  -o, --output FILE            write the one converted file to FILE\n"
"      --base DIR               keep the paths below DIR under -d and\n"
"                               --keep-original (default: file name only)\n"
"  -f, --force                  replace existing files in the output\n"
"                               directory and the dead-letter file\n"
"      --min-age DURATION       leave files modified within DURATION (7d)\n"
"      --allow-truncated        convert what a truncated file holds\n"
"      --from-list              operands (or stdin) list the files: a path\n"
"                               a line, or NDJSON/CSV records\n"
"  -i, --input-format auto|lines|ndjson|csv\n"
"                               list format (auto: a line starting with {\n"
"                               is an NDJSON record, others are paths)\n"
"      --path-field FIELD       field of a record holding the path (path)\n"
"  -j, --jobs N                 files converted at once (default: twice\n"
"                               the number of CPUs)\n"
"      --dead-letter FILE       failed files, with reasons (NDJSON)\n"
"      --max-errors N           failed files allowed before exit status 1\n"
"                               (default 0)\n"
"      --stats FILE             counts as JSON\n"
"      --progress, --no-progress\n"
"  -q, --quiet                  no summary line, no meter (unless --progress)\n"
"  -h, --help                   this help\n"
"  -V, --version                version and library versions\n");
}

static void
need(int ok, const char *opt, const char *arg, const char *why)
{
	if (!ok)
		cdr_usage_error("%s %s: %s", opt, arg, why ? why : "bad value");
}

static void
parse_options(struct resample *s, int argc, char **argv)
{
	struct place_opts *p = &s->popts;
	const char *why = NULL;
	uint64_t u;
	long n;
	int c, has_jobs = 0, has_format = 0;

	p->target.enc = ENC_ALAW;
	p->target.channels = 1;
	p->target.rate = 8000;
	p->target.quality = SOXR_HQ;
	s->path_field = "path";
	s->progress = CDR_PROGRESS_AUTO;
	while ((c = getopt_long(argc, argv, "c:d:e:fhi:j:o:qr:V", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'c':
			if (strcmp(optarg, "mono") == 0)
				p->target.channels = 1;
			else if (strcmp(optarg, "keep") == 0)
				p->target.channels = 0;
			else
				cdr_usage_error("-c %s: expected mono or keep",
				    optarg);
			break;
		case 'd':
			p->outdir = optarg;
			break;
		case 'e':
			if (strcmp(optarg, "alaw") == 0)
				p->target.enc = ENC_ALAW;
			else if (strcmp(optarg, "ulaw") == 0 ||
			    strcmp(optarg, "mulaw") == 0)
				p->target.enc = ENC_ULAW;
			else if (strcmp(optarg, "pcm16") == 0)
				p->target.enc = ENC_PCM16;
			else
				cdr_usage_error("-e %s: expected alaw, ulaw or "
				    "pcm16", optarg);
			break;
		case 'f':
			p->force = 1;
			break;
		case 'h':
			usage(stdout);
			cdr_out_finish();
			exit(CDR_EXIT_OK);
		case 'i':
			if (strcmp(optarg, "auto") == 0)
				s->list_format = LIST_AUTO;
			else if (strcmp(optarg, "lines") == 0)
				s->list_format = LIST_LINES;
			else if (strcmp(optarg, "ndjson") == 0)
				s->list_format = LIST_NDJSON;
			else if (strcmp(optarg, "csv") == 0)
				s->list_format = LIST_CSV;
			else
				cdr_usage_error("-i %s: expected auto, lines, "
				    "ndjson or csv", optarg);
			has_format = 1;
			break;
		case 'j':
			need(cdr_parse_uint(optarg, 1, MAX_JOBS, &u, &why) == 0,
			    "-j", optarg, why);
			s->jobs = (unsigned)u;
			has_jobs = 1;
			break;
		case 'o':
			p->output = optarg;
			break;
		case 'q':
			s->quiet = 1;
			break;
		case 'r':
			if (strcmp(optarg, "keep") == 0) {
				p->target.rate = 0;
				break;
			}
			need(cdr_parse_uint(optarg, WAV_MIN_RATE, WAV_MAX_RATE,
			    &u, &why) == 0, "-r", optarg, why);
			p->target.rate = (uint32_t)u;
			break;
		case 'V':
			cdr_version_print(stdout);
			/* "libsoxr-0.1.3" as "libsoxr 0.1.3", like the others. */
			n = (long)strcspn(soxr_version(), "-");
			printf("%.*s %s\n", (int)n, soxr_version(),
			    soxr_version()[n] ? soxr_version() + n + 1 : "");
			cdr_out_finish();
			exit(CDR_EXIT_OK);
		case OPT_ALLOW_TRUNCATED:
			p->allow_truncated = 1;
			break;
		case OPT_BASE:
			need(*optarg != '\0', "--base", optarg, "empty");
			p->base = optarg;
			break;
		case OPT_DEAD_LETTER:
			s->dead_letter_path = optarg;
			break;
		case OPT_FROM_LIST:
			s->from_list = 1;
			break;
		case OPT_IN_PLACE:
			p->in_place = 1;
			break;
		case OPT_KEEP_ORIGINAL:
			p->keep_dir = optarg;
			break;
		case OPT_MAX_ERRORS:
			need(cdr_parse_uint(optarg, 0, UINT64_MAX,
			    &s->max_errors, &why) == 0, "--max-errors", optarg,
			    why);
			break;
		case OPT_MIN_AGE:
			need(cdr_parse_duration(optarg, &p->min_age, &why) == 0,
			    "--min-age", optarg, why);
			break;
		case OPT_NO_PROGRESS:
			s->progress = CDR_PROGRESS_OFF;
			break;
		case OPT_PATH_FIELD:
			s->path_field = optarg;
			break;
		case OPT_PROGRESS:
			s->progress = CDR_PROGRESS_ON;
			break;
		case OPT_QUALITY:
			if (strcmp(optarg, "low") == 0)
				p->target.quality = SOXR_LQ;
			else if (strcmp(optarg, "medium") == 0)
				p->target.quality = SOXR_MQ;
			else if (strcmp(optarg, "high") == 0)
				p->target.quality = SOXR_HQ;
			else if (strcmp(optarg, "very-high") == 0)
				p->target.quality = SOXR_VHQ;
			else
				cdr_usage_error("--quality %s: expected low, "
				    "medium, high or very-high", optarg);
			break;
		case OPT_STATS:
			s->stats_path = optarg;
			break;
		default:
			fprintf(stderr, "Try 'cdr-resample --help' for more "
			    "information.\n");
			exit(CDR_EXIT_USAGE);
		}
	}
	if (!!p->in_place + (p->outdir != NULL) + (p->output != NULL) != 1)
		cdr_usage_error("say where the results go: one of --in-place, "
		    "-d DIR or -o FILE");
	if (p->keep_dir != NULL && !p->in_place)
		cdr_usage_error("--keep-original goes with --in-place");
	if (p->base != NULL && p->outdir == NULL && p->keep_dir == NULL)
		cdr_usage_error("--base goes with -d or --keep-original");
	if (p->output != NULL && (s->from_list || argc - optind != 1))
		cdr_usage_error("-o FILE takes exactly one input file");
	if (p->output != NULL && strcmp(p->output, "-") == 0)
		cdr_usage_error("-o -: stdout carries the result lines; give a "
		    "file name");
	if (!s->from_list && (has_format || strcmp(s->path_field, "path")))
		cdr_usage_error("-i and --path-field go with --from-list");
	if (!s->from_list && optind == argc)
		cdr_usage_error("no input files (give files, or --from-list)");
	if (!has_jobs) {
		/* Two a CPU: one converts while the other waits for fsync. */
		n = 2 * sysconf(_SC_NPROCESSORS_ONLN);
		s->jobs = n < 1 ? 1 : n > MAX_JOBS ? MAX_JOBS : (unsigned)n;
	}
	if (cdr_path_init(&s->path, s->path_field) != 0)
		cdr_usage_error("--path-field %s: empty field name",
		    s->path_field);
}

static void
setup(struct resample *s)
{
	struct place_opts *p = &s->popts;
	const char *dirs[2];
	size_t i;

	dirs[0] = p->outdir;
	dirs[1] = p->keep_dir;
	for (i = 0; i < 2; i++) {
		if (dirs[i] != NULL && place_mkdirs(dirs[i]) != 0)
			cdr_die_errno(CDR_EXIT_IO, "%s", dirs[i]);
	}
	g711_init();
	clock_gettime(CLOCK_REALTIME, &p->now);
	s->out = cdr_out_stdout();
	if (s->dead_letter_path != NULL) {
		s->dead_letter = cdr_out_open(s->dead_letter_path,
		    p->force ? CDR_OUT_FORCE : 0);
		if (s->dead_letter == NULL)
			exit(CDR_EXIT_IO);
	}
	if (pthread_mutex_init(&s->lock, NULL) != 0 ||
	    pthread_cond_init(&s->work, NULL) != 0 ||
	    pthread_cond_init(&s->space, NULL) != 0)
		cdr_die(CDR_EXIT_INTERNAL, "cannot set up threads");
	p->lock = &s->lock;
	s->ringsize = 4 * (size_t)s->jobs + 4;
	s->ring = cdr_xcalloc(s->ringsize, sizeof(*s->ring));
}

/*
 * Signals that end the program go to one thread, which removes the
 * temporary files (under the lock, so none is half registered) and dies
 * of the same signal.
 */
static void *
signal_thread(void *arg)
{
	sigset_t *set = arg, one;
	struct timespec until;
	int sig;

	for (;;) {
		if (sigwait(set, &sig) != 0)
			continue;
		clock_gettime(CLOCK_REALTIME, &until);
		/* A writer stuck on a full pipe must not keep us alive. */
		until.tv_sec += 5;
		(void)pthread_mutex_timedlock(&sig_state->lock, &until);
		/* The output layer's handler removes them and re-raises. */
		sigemptyset(&one);
		sigaddset(&one, sig);
		pthread_sigmask(SIG_UNBLOCK, &one, NULL);
		raise(sig);
		_exit(128 + sig);
	}
	return NULL;
}

static void
start_threads(struct resample *s)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	static sigset_t set;
	struct sigaction old;
	pthread_t tid;
	size_t i;

	sigemptyset(&set);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		/* A signal ignored by our parent (nohup) stays ignored. */
		if (sigaction(sigs[i], NULL, &old) == 0 &&
		    old.sa_handler == SIG_IGN)
			continue;
		sigaddset(&set, sigs[i]);
	}
	sig_state = s;
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 ||
	    pthread_create(&tid, NULL, signal_thread, &set) != 0)
		cdr_die(CDR_EXIT_INTERNAL, "cannot start the signal thread");
	pthread_detach(tid);
	s->threads = cdr_xcalloc(s->jobs, sizeof(*s->threads));
	for (i = 0; i < s->jobs; i++) {
		if (pthread_create(&s->threads[i], NULL, worker, s) != 0)
			cdr_die(CDR_EXIT_IO, "cannot start %u threads (-j)",
			    s->jobs);
	}
}

static void
job_clear(struct job *j)
{
	free(j->path);
	free(j->record);
	free(j->bad);
	file_result_free(&j->res);
	memset(j, 0, sizeof(*j));
}

static void *
worker(void *arg)
{
	struct resample *s = arg;
	struct job *j;

	for (;;) {
		pthread_mutex_lock(&s->lock);
		while (s->claimed == s->filled && !s->eof)
			pthread_cond_wait(&s->work, &s->lock);
		if (s->claimed == s->filled) {
			pthread_mutex_unlock(&s->lock);
			return NULL;
		}
		j = &s->ring[s->claimed % s->ringsize];
		s->claimed++;
		pthread_mutex_unlock(&s->lock);

		if (j->path != NULL)
			place_file(&s->popts, j->path, &j->res);

		pthread_mutex_lock(&s->lock);
		j->done = 1;
		/* Results leave in input order. */
		while (s->emitted < s->claimed &&
		    s->ring[s->emitted % s->ringsize].done) {
			j = &s->ring[s->emitted % s->ringsize];
			emit(s, j);
			job_clear(j);
			s->emitted++;
			pthread_cond_broadcast(&s->space);
		}
		pthread_mutex_unlock(&s->lock);
	}
}

/* The next free slot; filled by the caller, then job_queue(). */
static struct job *
job_slot(struct resample *s)
{
	struct job *j;

	pthread_mutex_lock(&s->lock);
	while (s->filled - s->emitted >= s->ringsize)
		pthread_cond_wait(&s->space, &s->lock);
	j = &s->ring[s->filled % s->ringsize];
	pthread_mutex_unlock(&s->lock);
	return j;
}

static void
job_queue(struct resample *s)
{
	pthread_mutex_lock(&s->lock);
	s->filled++;
	pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->lock);
}

static const char *
status_name(enum file_status st)
{
	switch (st) {
	case FS_CONVERTED: return "converted";
	case FS_COPIED: return "copied";
	case FS_SKIPPED: return "skipped";
	default: return "failed";
	}
}

static void
put_string(struct cdr_out *o, const char *key, const char *v)
{
	cdr_out_printf(o, ",\"%s\":", key);
	cdr_write_json_string(o, v, strlen(v));
}

static void
put_fmt(struct cdr_out *o, const char *key, const struct file_fmt *f,
    int bytes)
{
	cdr_out_printf(o, ",\"%s\":{", key);
	if (f->set)
		cdr_out_printf(o, "\"encoding\":\"%s\",\"channels\":%u,"
		    "\"rate\":%lu,\"frames\":%llu%s", wav_enc_name(f->enc),
		    f->channels, (unsigned long)f->rate,
		    (unsigned long long)f->frames, bytes ? "," : "");
	if (bytes)
		cdr_out_printf(o, "\"bytes\":%llu",
		    (unsigned long long)f->bytes);
	cdr_out_putc(o, '}');
}

/* The result line, the dead letter and the counts of one job. */
static void
emit(struct resample *s, struct job *j)
{
	struct file_result *r = &j->res;
	struct cdr_out *o = s->out;
	struct cdr_record rec;
	const struct cdr_error *e;

	if (j->path == NULL) {
		r->status = FS_FAILED;
		r->error = FE_DATA;
		r->check = "list";
		snprintf(r->reason, sizeof(r->reason), "%s:%llu: %s",
		    j->source, (unsigned long long)j->lineno, j->bad);
	}
	s->files++;
	cdr_out_puts(o, "{\"path\":");
	if (j->path != NULL) {
		cdr_write_json_string(o, j->path, strlen(j->path));
		/* Not UTF-8: the exact bytes too. */
		if (!cdr_utf8_valid(j->path, strlen(j->path))) {
			cdr_out_puts(o, ",\"path_base64\":\"");
			cdr_write_base64(o, j->path, strlen(j->path));
			cdr_out_putc(o, '"');
		}
	} else {
		cdr_out_puts(o, "null");
	}
	put_string(o, "status", status_name(r->status));
	if (r->output != NULL && r->status != FS_FAILED) {
		put_string(o, "output", r->output);
		if (!cdr_utf8_valid(r->output, strlen(r->output))) {
			cdr_out_puts(o, ",\"output_base64\":\"");
			cdr_write_base64(o, r->output, strlen(r->output));
			cdr_out_putc(o, '"');
		}
	}
	if (r->kept != NULL && r->status != FS_FAILED) {
		put_string(o, "kept", r->kept);
		if (!cdr_utf8_valid(r->kept, strlen(r->kept))) {
			cdr_out_puts(o, ",\"kept_base64\":\"");
			cdr_write_base64(o, r->kept, strlen(r->kept));
			cdr_out_putc(o, '"');
		}
	}
	if (r->in.set || r->in.bytes > 0)
		put_fmt(o, "in", &r->in, 1);
	if (r->out.set)
		put_fmt(o, "out", &r->out, 1);
	if (r->in.set && r->in.rate > 0)
		cdr_out_printf(o, ",\"duration_s\":%.3f",
		    (double)r->in.frames / r->in.rate);
	if (r->truncated && r->status != FS_FAILED)
		cdr_out_puts(o, ",\"truncated\":true");
	if (r->reason[0] != '\0')
		put_string(o, "reason", r->reason);
	cdr_out_puts(o, "}\n");
	/* A line per file as it is done, so a log shows what is committed. */
	cdr_out_flush(o);

	switch (r->status) {
	case FS_CONVERTED:
		s->converted++;
		break;
	case FS_COPIED:
		s->copied++;
		break;
	case FS_SKIPPED:
		s->skipped++;
		break;
	case FS_FAILED:
		s->failed++;
		if (r->error == FE_IO)
			s->failed_io++;
		/* A list record's reason already says where it is. */
		if (j->path != NULL)
			cdr_warn("%s: %s", j->path, r->reason);
		else
			cdr_warn("%s", r->reason);
		if (s->dead_letter == NULL)
			break;
		memset(&rec, 0, sizeof(rec));
		rec.line = j->record;
		rec.len = j->reclen;
		rec.source = j->source;
		rec.lineno = j->lineno;
		rec.offset = j->offset;
		cdr_errors_reset(&s->errs);
		cdr_errors_add(&s->errs, j->path ? NULL : s->path_field,
		    r->check ? r->check : "io", "%s", r->reason);
		e = cdr_errors_list(&s->errs);
		cdr_dead_letter_write(s->dead_letter, &rec, e, s->errs.n);
		break;
	}
	if (r->status == FS_CONVERTED || r->status == FS_COPIED) {
		s->bytes_in += r->in.bytes;
		s->bytes_out += r->out.bytes;
	}
	cdr_progress_update(s->files, s->bytes_in);
}

static const char *
keep_source(struct resample *s, const char *name)
{
	if (s->nsources > 0 && strcmp(s->sources[s->nsources - 1], name) == 0)
		return s->sources[s->nsources - 1];
	s->sources = cdr_xreallocarray(s->sources, s->nsources + 1,
	    sizeof(*s->sources));
	s->sources[s->nsources] = cdr_xstrdup(name);
	return s->sources[s->nsources++];
}

static void
add_operand(struct resample *s, const char *path, uint64_t n)
{
	struct job *j = job_slot(s);

	j->path = cdr_xstrdup(path);
	j->record = cdr_xstrdup(path);
	j->reclen = strlen(path);
	j->source = "arguments";
	j->lineno = n;
	job_queue(s);
}

/* The path of a parsed record, or NULL with j->bad set. */
static char *
record_path(struct resample *s, const struct cdr_record *rec, struct job *j)
{
	struct cdr_value v;
	const char *p;
	size_t n;

	if (rec->bad) {
		j->bad = cdr_xstrdup(rec->err);
		return NULL;
	}
	if (!cdr_record_get(rec, &s->path, &v) || v.type == CDR_T_NULL) {
		j->bad = cdr_xmalloc(strlen(s->path_field) + 16);
		sprintf(j->bad, "no \"%s\" field", s->path_field);
		return NULL;
	}
	if (v.type != CDR_T_STRING) {
		j->bad = cdr_xmalloc(strlen(s->path_field) + 24);
		sprintf(j->bad, "\"%s\" is not a string", s->path_field);
		return NULL;
	}
	p = cdr_value_str(&v, &s->scratch, &n);
	if (p == NULL || n == 0 || memchr(p, '\0', n) != NULL) {
		j->bad = cdr_xmalloc(strlen(s->path_field) + 40);
		sprintf(j->bad, "\"%s\" is empty or holds a NUL byte",
		    s->path_field);
		return NULL;
	}
	return cdr_xstrndup(p, n);
}

/* One line of a list: a path, or an NDJSON record with a path field. */
static void
list_line(struct resample *s, const char *source, uint64_t lineno,
    uint64_t offset, const char *p, size_t n, int cut)
{
	struct cdr_record rec;
	struct job *j;
	size_t i;

	if (n > 0 && p[n - 1] == '\r')
		n--;
	for (i = 0; i < n && (p[i] == ' ' || p[i] == '\t'); i++)
		;
	if (i == n)
		return;
	j = job_slot(s);
	j->record = cdr_xstrndup(p, n);
	j->reclen = n;
	j->source = source;
	j->lineno = lineno;
	j->offset = offset;
	if (cut) {
		j->bad = cdr_xstrdup("line longer than 1 MiB (cut)");
	} else if (memchr(p, '\0', n) != NULL) {
		j->bad = cdr_xstrdup("NUL byte");
	} else if (s->list_format == LIST_NDJSON ||
	    (s->list_format == LIST_AUTO && p[i] == '{')) {
		memset(&rec, 0, sizeof(rec));
		rec.line = p;
		rec.len = n;
		rec.source = source;
		rec.lineno = lineno;
		rec.offset = offset;
		rec.format = CDR_FMT_NDJSON;
		rec.nodes = s->nodes;
		cdr_json_parse(&rec, &s->nodecap);
		s->nodes = rec.nodes;
		j->path = record_path(s, &rec, j);
	} else {
		j->path = cdr_xstrndup(p, n);
	}
	job_queue(s);
}

static void
read_list(struct resample *s, const char *name)
{
	struct cdr_input *in;
	const char *src, *p, *nl;
	const void *block;
	uint64_t lineno, offset, pos;
	ssize_t n;
	size_t take;
	int cut, more;

	if (s->list_format == LIST_CSV) {
		read_list_csv(s, name);
		return;
	}
	pthread_mutex_lock(&s->lock);
	in = cdr_input_open(name);
	pthread_mutex_unlock(&s->lock);
	if (in == NULL) {
		s->lists_failed++;
		return;
	}
	do {
		src = keep_source(s, cdr_input_name(in));
		lineno = 1;
		offset = pos = 0;
		cut = 0;
		cdr_buf_reset(&s->line);
		while ((n = cdr_input_read(in, &block)) > 0) {
			p = block;
			while (n > 0) {
				nl = memchr(p, '\n', (size_t)n);
				take = nl ? (size_t)(nl - p) : (size_t)n;
				if (s->line.len + take > MAX_LIST_LINE) {
					take = MAX_LIST_LINE - s->line.len;
					cut = 1;
				}
				cdr_buf_add(&s->line, p, take);
				take = nl ? (size_t)(nl - p) + 1 : (size_t)n;
				pos += take;
				p += take;
				n -= (ssize_t)take;
				if (nl == NULL)
					continue;
				/* A UTF-8 byte order mark opens a source. */
				if (offset == 0 && s->line.len >= 3 &&
				    memcmp(s->line.p, "\xef\xbb\xbf", 3) == 0)
					list_line(s, src, lineno, 3,
					    s->line.p + 3, s->line.len - 3, cut);
				else
					list_line(s, src, lineno, offset,
					    s->line.p, s->line.len, cut);
				cdr_buf_reset(&s->line);
				cut = 0;
				lineno++;
				offset = pos;
			}
		}
		if (n < 0) {
			s->lists_failed++;
			break;
		}
		if (s->line.len > 0)
			list_line(s, src, lineno, offset, s->line.p,
			    s->line.len, cut);
		more = cdr_input_next_member(in);
		if (more < 0)
			s->lists_failed++;
	} while (more > 0);
	cdr_input_close(in);
}

static void
read_list_csv(struct resample *s, const char *name)
{
	struct cdr_reader_opts ro;
	struct cdr_reader *r;
	struct cdr_record *rec;
	struct job *j;
	int rc;

	memset(&ro, 0, sizeof(ro));
	ro.format = CDR_FMT_CSV;
	r = cdr_reader_new(&ro);
	pthread_mutex_lock(&s->lock);
	rc = cdr_reader_open(r, name);
	pthread_mutex_unlock(&s->lock);
	if (rc != 0) {
		s->lists_failed++;
		cdr_reader_free(r);
		return;
	}
	while ((rc = cdr_reader_next(r, &rec)) > 0) {
		j = job_slot(s);
		j->record = cdr_xstrndup(rec->line, rec->len);
		j->reclen = rec->len;
		j->source = keep_source(s, rec->source);
		j->lineno = rec->lineno;
		j->offset = rec->offset;
		j->path = record_path(s, rec, j);
		job_queue(s);
	}
	if (rc < 0)
		s->lists_failed++;
	cdr_reader_free(r);
}

static void
finish(struct resample *s)
{
	char extra[512];
	struct cdr_counts c;
	int status = CDR_EXIT_OK;
	unsigned i;

	pthread_mutex_lock(&s->lock);
	s->eof = 1;
	pthread_cond_broadcast(&s->work);
	pthread_mutex_unlock(&s->lock);
	for (i = 0; i < s->jobs; i++)
		pthread_join(s->threads[i], NULL);
	cdr_progress_end();
	if (s->dead_letter != NULL)
		cdr_out_commit(s->dead_letter);
	memset(&c, 0, sizeof(c));
	c.read = s->files;
	c.written = s->converted + s->copied;
	c.rejected = s->failed;
	c.filtered = s->skipped;
	c.sources_failed = (uint64_t)s->lists_failed;
	snprintf(extra, sizeof(extra), "\"converted\":%llu,\"copied\":%llu,"
	    "\"skipped\":%llu,\"failed\":%llu,\"failed_io\":%llu,"
	    "\"bytes_in\":%llu,\"bytes_out\":%llu",
	    (unsigned long long)s->converted, (unsigned long long)s->copied,
	    (unsigned long long)s->skipped, (unsigned long long)s->failed,
	    (unsigned long long)s->failed_io,
	    (unsigned long long)s->bytes_in, (unsigned long long)s->bytes_out);
	cdr_counts_report(&c, 1, s->stats_path, extra);
	if (!s->quiet)
		cdr_warn("%llu files: %llu converted, %llu copied, %llu "
		    "skipped, %llu failed; %.1f MB in, %.1f MB out",
		    (unsigned long long)s->files,
		    (unsigned long long)s->converted,
		    (unsigned long long)s->copied,
		    (unsigned long long)s->skipped,
		    (unsigned long long)s->failed, (double)s->bytes_in / 1e6,
		    (double)s->bytes_out / 1e6);
	if (s->lists_failed > 0 || s->failed_io > 0) {
		status = CDR_EXIT_IO;
	} else if (s->failed > s->max_errors) {
		status = CDR_EXIT_DATA;
		if (!s->quiet)
			cdr_warn("%llu failed files exceed the error budget%s",
			    (unsigned long long)s->failed,
			    s->dead_letter_path ? "" :
			    " (use --dead-letter to keep a list)");
	}
	cdr_out_finish();
	for (i = 0; i < s->nsources; i++)
		free(s->sources[i]);
	free(s->sources);
	free(s->threads);
	free(s->ring);
	free(s->nodes);
	cdr_buf_free(&s->line);
	cdr_buf_free(&s->scratch);
	cdr_errors_free(&s->errs);
	cdr_path_free(&s->path);
	exit(status);
}

int
main(int argc, char **argv)
{
	struct resample s;
	int i;

	cdr_msg_init(argv[0]);
	memset(&s, 0, sizeof(s));
	parse_options(&s, argc, argv);
	if (!s.from_list) {
		for (i = optind; i < argc; i++)
			if (strcmp(argv[i], "-") == 0)
				cdr_usage_error("-: a recording cannot come "
				    "from stdin (--from-list reads a list of "
				    "paths there)");
	}
	setup(&s);
	cdr_progress_start(s.quiet && s.progress == CDR_PROGRESS_AUTO ?
	    CDR_PROGRESS_OFF : s.progress, "cdr-resample");
	start_threads(&s);
	if (s.from_list) {
		if (optind == argc)
			read_list(&s, "-");
		for (i = optind; i < argc; i++)
			read_list(&s, argv[i]);
	} else {
		for (i = optind; i < argc; i++)
			add_operand(&s, argv[i], (uint64_t)(i - optind + 1));
	}
	finish(&s);
	return CDR_EXIT_INTERNAL;
}
