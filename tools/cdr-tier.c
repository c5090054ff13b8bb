/*
 * cdr-tier: the lifecycle of call recordings.  scan makes an inventory,
 * plan decides one action per recording from a policy's age rules, apply
 * carries the plan out behind a write-ahead journal (copy, fsync, verify,
 * then remove the source, so that a re-run after a crash finishes the job),
 * restore extracts recordings from an archive without writing outside the
 * target, and cost projects storage spend for a monthly intake.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "buf.h"
#include "cdrtime.h"
#include "msg.h"
#include "out.h"
#include "parse.h"
#include "record.h"
#include "write.h"

enum command { CMD_NONE, CMD_SCAN, CMD_PLAN, CMD_APPLY, CMD_RESTORE, CMD_COST };
enum cost_format { COST_TABLE, COST_CSV, COST_NDJSON };

#define NO_RULE INT64_MAX

struct tier_dir {
	char		*name;
	char		*dir;
	char		*class;		/* storage class of object listings */
	double		 price;		/* per GB-month; < 0 when not given */
	uint64_t	 min_object;	/* minimum billable object size */
	/* cost --inventory */
	uint64_t	 files, bytes, billable;
};

/* One "archive" action of a plan: the file, its archive, its member name. */
struct pack {
	char	*path;
	char	*to;
	char	*member;
	size_t	 seq;
	int	 verified;
};

struct tier {
	enum command	 cmd;
	/* options */
	const char	*output;
	const char	*policy_path;
	const char	*journal_path;
	const char	*tier_name;
	const char	*target_dir;
	const char	*archive_path;
	const char	*inventory_path;
	int		 force;
	int		 dry_run;
	int		 quiet;
	int64_t		 today;		/* days since 1970-01-01 */
	enum cost_format cost_format;

	/* policy */
	int64_t		 resample_days;
	int64_t		 move_days;
	int64_t		 expire_days;
	int64_t		 archive_days;
	char		*archive_dir;
	const char	*archive_ext;	/* "zst", "xz" or "gz" */
	char		*move_to;
	struct tier_dir	*tiers;
	size_t		 ntiers;

	/* cost model */
	double		 minutes;	/* intake per month */
	uint64_t	 years;
	double		 mb_before, mb_after;	/* MB (10^6 B) per minute */
	double		 hot_price, cold_price;	/* per GB-month */
	double		 retrieval_price, retrieved_share;
	double		 resample_price;	/* per 1000 minutes */

	/* run state */
	struct cdr_out	*out;
	int		 journal_fd;
	uint64_t	 done, skipped, failed;
	int		 status;
	char		 self_dir[PATH_MAX];
	struct pack	*packs;		/* apply: archive actions, run last */
	size_t		 npacks;
};

static void usage(FILE *fp);
static void finish(struct tier *t);
static void load_policy(struct tier *t);
static int64_t parse_day(const char *s, size_t n);
static void scan_dir(struct tier *t, const char *root, const char *rel);
static void scan_file(struct tier *t, const char *path, const char *rel);
static void run_plan(struct tier *t, int argc, char **argv);
static void run_apply(struct tier *t, int argc, char **argv);
static void run_restore(struct tier *t, int argc, char **argv);
static void run_cost(struct tier *t);
static void run_cost_inventory(struct tier *t);
static void journal(struct tier *t, const char *fmt, ...) CDR_PRINTF(2, 3);
static int move_file(struct tier *t, const char *src, const char *dst,
    const char **why);
static int resample_file(struct tier *t, const char *path, const char **why);
static void result(struct tier *t, const char *path, const char *action,
    const char *res, const char *why);
static void run_packs(struct tier *t);
static int safe_name(const char *name);
static const char *unsafe_place(const struct cdr_record *rec, const char *path,
    size_t pn, int keyed, struct cdr_buf *b1, struct cdr_buf *b2);
static int climbs(const char *path);
static char *link_on_way(const char *path, const char *to);

static int
safe_name_n(const char *s, size_t n)
{
	char *c = cdr_xstrndup(s, n);
	int ok = strlen(c) == n && safe_name(c);

	free(c);
	return ok;
}

static const struct option longopts[] = {
	{ "archive", required_argument, NULL, 'a' },
	{ "cold-price", required_argument, NULL, 'C' + 256 },
	{ "directory", required_argument, NULL, 'C' },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "force", no_argument, NULL, 'f' },
	{ "format", required_argument, NULL, 'F' },
	{ "help", no_argument, NULL, 'h' },
	{ "inventory", required_argument, NULL, 'I' + 256 },
	{ "hot-price", required_argument, NULL, 'H' + 256 },
	{ "journal", required_argument, NULL, 'j' },
	{ "mb-per-minute", required_argument, NULL, 'b' + 256 },
	{ "mb-per-minute-after", required_argument, NULL, 'B' + 256 },
	{ "minutes", required_argument, NULL, 'm' + 256 },
	{ "now", required_argument, NULL, 'N' + 256 },
	{ "output", required_argument, NULL, 'o' },
	{ "policy", required_argument, NULL, 'p' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "resample-after", required_argument, NULL, 'r' + 256 },
	{ "resample-price", required_argument, NULL, 'R' + 256 },
	{ "retrieval-price", required_argument, NULL, 't' + 256 },
	{ "retrieved-share", required_argument, NULL, 's' + 256 },
	{ "tier", required_argument, NULL, 'T' + 256 },
	{ "tier-after", required_argument, NULL, 'A' + 256 },
	{ "version", no_argument, NULL, 'V' },
	{ "years", required_argument, NULL, 'y' + 256 },
	{ NULL, 0, NULL, 0 }
};

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: cdr-tier scan [-fq] [-o file] [--tier name] dir ...\n"
"       cdr-tier plan -p policy [--now yyyy-mm-dd] [-o file] [inventory ...]\n"
"       cdr-tier apply [-nq] [-j journal] [plan ...]\n"
"       cdr-tier restore -a archive [-C dir] [member ...]\n"
"       cdr-tier cost [--format table|csv|ndjson] [model options]\n"
"       cdr-tier cost --inventory file -p policy [--format fmt]\n"
"\n"
"Recording lifecycle: inventory, age-rule plan, journalled apply, secure\n"
"restore from archives, storage cost projection.\n"
"\n"
"  -o, --output FILE          write to FILE atomically (- is stdout)\n"
"  -f, --force                replace an existing output file\n"
"      --tier NAME            scan: tier name of the directories (default:\n"
"                             the directory's last component)\n"
"  -p, --policy FILE          plan: the policy (JSON, see share/policies)\n"
"      --now DATE             plan: today as YYYY-MM-DD (default: today, UTC)\n"
"  -j, --journal FILE         apply: write-ahead journal\n"
"                             (default .cdr-tier.journal)\n"
"  -n, --dry-run              apply: print what would be done, change nothing\n"
"  -a, --archive FILE         restore: tar archive (any compression)\n"
"  -C, --directory DIR        restore: target directory (default .)\n"
"      --format FMT           cost: table, csv or ndjson (default table)\n"
"      --inventory FILE       cost: price what an inventory holds now, by\n"
"                             the policy's tier prices\n"
"      --minutes N            cost: minutes recorded a month (100000)\n"
"      --years N              cost: years projected (6)\n"
"      --mb-per-minute X      cost: MB a minute as recorded (0.96)\n"
"      --mb-per-minute-after X  cost: MB a minute resampled (0.48)\n"
"      --resample-after DAYS  cost: age when resampled (30)\n"
"      --tier-after DAYS      cost: age when moved to the cold tier (90)\n"
"      --hot-price X          cost: hot tier per GB-month (0.023)\n"
"      --cold-price X         cost: cold tier per GB-month (0.004)\n"
"      --retrieval-price X    cost: cold retrieval per GB (0.003)\n"
"      --retrieved-share R    cost: share of cold data read a month (0)\n"
"      --resample-price X     cost: compute per 1000 minutes resampled (0)\n"
"  -q, --quiet                no summary line on stderr\n"
"  -h, --help                 this help\n"
"  -V, --version              version and library versions\n");
}

static double
opt_double(const char *opt, const char *arg)
{
	double d;
	const char *why;

	if (cdr_parse_double(arg, 0, 1e15, &d, &why) != 0)
		cdr_usage_error("--%s %s: %s", opt, arg, why);
	return d;
}

static uint64_t
opt_uint(const char *opt, const char *arg, uint64_t max)
{
	uint64_t u;
	const char *why;

	if (cdr_parse_uint(arg, 0, max, &u, &why) != 0)
		cdr_usage_error("--%s %s: %s", opt, arg, why);
	return u;
}

int
main(int argc, char **argv)
{
	struct tier t;
	const char *why;
	int c, idx;

	cdr_msg_init(argv[0]);
	memset(&t, 0, sizeof t);
	t.journal_path = ".cdr-tier.journal";
	t.target_dir = ".";
	t.today = time(NULL) / 86400;
	/* Cost model defaults; plan takes its ages from the policy. */
	t.expire_days = t.archive_days = NO_RULE;
	t.journal_fd = -1;
	t.minutes = 100000;
	t.years = 6;
	t.mb_before = 0.96;
	t.mb_after = 0.48;
	t.resample_days = 30;
	t.move_days = 90;
	t.hot_price = 0.023;
	t.cold_price = 0.004;
	t.retrieval_price = 0.003;

	while ((c = getopt_long(argc, argv, "a:C:fhj:no:p:qV", longopts,
	    &idx)) != -1) {
		switch (c) {
		case 'a': t.archive_path = optarg; break;
		case 'C': t.target_dir = optarg; break;
		case 'f': t.force = 1; break;
		case 'h':
			usage(stdout);
			cdr_out_finish();
			return CDR_EXIT_OK;
		case 'j': t.journal_path = optarg; break;
		case 'n': t.dry_run = 1; break;
		case 'o': t.output = optarg; break;
		case 'p': t.policy_path = optarg; break;
		case 'q': t.quiet = 1; break;
		case 'V':
			cdr_version_print(stdout);
			cdr_out_finish();
			return CDR_EXIT_OK;
		case 'A' + 256:
			t.move_days = (int64_t)opt_uint("tier-after", optarg,
			    1000000);
			break;
		case 'b' + 256: t.mb_before = opt_double("mb-per-minute", optarg); break;
		case 'B' + 256:
			t.mb_after = opt_double("mb-per-minute-after", optarg);
			break;
		case 'C' + 256: t.cold_price = opt_double("cold-price", optarg); break;
		case 'F':
			if (strcmp(optarg, "table") == 0)
				t.cost_format = COST_TABLE;
			else if (strcmp(optarg, "csv") == 0)
				t.cost_format = COST_CSV;
			else if (strcmp(optarg, "ndjson") == 0)
				t.cost_format = COST_NDJSON;
			else
				cdr_usage_error("--format %s: expected table, "
				    "csv or ndjson", optarg);
			break;
		case 'H' + 256: t.hot_price = opt_double("hot-price", optarg); break;
		case 'm' + 256: t.minutes = opt_double("minutes", optarg); break;
		case 'N' + 256:
			t.today = parse_day(optarg, strlen(optarg));
			if (t.today == NO_RULE)
				cdr_usage_error("--now %s: expected YYYY-MM-DD",
				    optarg);
			break;
		case 'r' + 256:
			t.resample_days = (int64_t)opt_uint("resample-after",
			    optarg, 1000000);
			break;
		case 'R' + 256:
			t.resample_price = opt_double("resample-price", optarg);
			break;
		case 's' + 256:
			if (cdr_parse_ratio(optarg, &t.retrieved_share, &why) != 0)
				cdr_usage_error("--retrieved-share %s: %s",
				    optarg, why);
			break;
		case 't' + 256:
			t.retrieval_price = opt_double("retrieval-price", optarg);
			break;
		case 'T' + 256: t.tier_name = optarg; break;
		case 'I' + 256: t.inventory_path = optarg; break;
		case 'y' + 256: t.years = opt_uint("years", optarg, 100); break;
		default:
			cdr_usage_error("bad option");
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		cdr_usage_error("no command (scan, plan, apply, restore, cost)");
	if (strcmp(argv[0], "scan") == 0)
		t.cmd = CMD_SCAN;
	else if (strcmp(argv[0], "plan") == 0)
		t.cmd = CMD_PLAN;
	else if (strcmp(argv[0], "apply") == 0)
		t.cmd = CMD_APPLY;
	else if (strcmp(argv[0], "restore") == 0)
		t.cmd = CMD_RESTORE;
	else if (strcmp(argv[0], "cost") == 0)
		t.cmd = CMD_COST;
	else
		cdr_usage_error("%s: unknown command", argv[0]);
	argc--;
	argv++;

	{
		ssize_t n = readlink("/proc/self/exe", t.self_dir,
		    sizeof t.self_dir - 1);
		char *slash;

		t.self_dir[n > 0 ? n : 0] = '\0';
		if ((slash = strrchr(t.self_dir, '/')) != NULL)
			*slash = '\0';
	}

	switch (t.cmd) {
	case CMD_SCAN:
		if (argc < 1)
			cdr_usage_error("scan: no directory");
		break;
	case CMD_PLAN:
		if (t.policy_path == NULL)
			cdr_usage_error("plan: --policy is required");
		break;
	case CMD_COST:
		if (t.inventory_path != NULL && t.policy_path == NULL)
			cdr_usage_error("cost --inventory needs --policy");
		break;
	case CMD_RESTORE:
		if (t.archive_path == NULL)
			cdr_usage_error("restore: --archive is required");
		break;
	default:
		break;
	}
	if (t.cmd != CMD_APPLY && t.cmd != CMD_RESTORE) {
		t.out = t.output ? cdr_out_open(t.output,
		    t.force ? CDR_OUT_FORCE : 0) : cdr_out_stdout();
		if (t.out == NULL)
			return CDR_EXIT_IO;
	} else {
		t.out = cdr_out_stdout();
	}

	switch (t.cmd) {
	case CMD_SCAN:
		for (int i = 0; i < argc; i++) {
			struct stat st;

			if (stat(argv[i], &st) != 0 || !S_ISDIR(st.st_mode)) {
				cdr_warn("%s: %s", argv[i], errno ? strerror(errno)
				    : "not a directory");
				t.status = CDR_EXIT_IO;
				continue;
			}
			scan_dir(&t, argv[i], "");
		}
		break;
	case CMD_PLAN:
		load_policy(&t);
		run_plan(&t, argc, argv);
		break;
	case CMD_APPLY:
		run_apply(&t, argc, argv);
		break;
	case CMD_RESTORE:
		run_restore(&t, argc, argv);
		break;
	case CMD_COST:
		if (t.inventory_path != NULL) {
			load_policy(&t);
			run_cost_inventory(&t);
		} else
			run_cost(&t);
		break;
	case CMD_NONE:
		return CDR_EXIT_INTERNAL;
	}
	finish(&t);
	return t.status;
}

static void
finish(struct tier *t)
{
	if (t->status == CDR_EXIT_IO && t->out != cdr_out_stdout()) {
		cdr_out_abort(t->out);
		t->out = NULL;
	} else {
		cdr_out_commit(t->out);
	}
	if (t->journal_fd >= 0 && close(t->journal_fd) != 0)
		cdr_die_errno(CDR_EXIT_IO, "%s", t->journal_path);
	if (t->failed && t->status == 0)
		t->status = CDR_EXIT_DATA;
	for (size_t i = 0; i < t->ntiers; i++) {
		free(t->tiers[i].name);
		free(t->tiers[i].dir);
		free(t->tiers[i].class);
	}
	free(t->tiers);
	free(t->move_to);
	free(t->archive_dir);
	cdr_out_finish();
	if ((t->cmd == CMD_APPLY || t->cmd == CMD_RESTORE) && !t->quiet)
		fprintf(stderr, "%s: %llu done, %llu skipped, %llu failed\n",
		    cdr_progname(), (unsigned long long)t->done,
		    (unsigned long long)t->skipped,
		    (unsigned long long)t->failed);
}

/* "YYYY-MM-DD" (or a longer timestamp starting so) to days; NO_RULE if not. */
static int64_t
parse_day(const char *s, size_t n)
{
	int y, m, d;

	if (n < 10 || s[4] != '-' || s[7] != '-')
		return NO_RULE;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return NO_RULE;
	y = atoi(s);
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (m < 1 || m > 12 || d < 1 || d > 31)
		return NO_RULE;
	return cdr_days_from_civil(y, m, d);
}

/* ---- policy ---- */

static int
member_num(const struct cdr_value *obj, const char *name, int64_t *out)
{
	struct cdr_value v;

	if (!cdr_value_member(obj, name, strlen(name), &v))
		return 0;
	if (cdr_value_int64(&v, out) != 0 || *out < 0)
		return -1;
	return 1;
}

static void
load_policy(struct tier *t)
{
	struct cdr_record rec;
	struct cdr_value root, v, rules, tiers;
	struct cdr_buf scratch = { 0 };
	uint32_t cap = 0;
	char *text;
	size_t len = 0, n;
	FILE *fp;
	const char *s;

	if ((fp = fopen(t->policy_path, "r")) == NULL)
		cdr_die_errno(CDR_EXIT_IO, "%s", t->policy_path);
	text = cdr_xmalloc(1 << 20);
	len = fread(text, 1, (1 << 20) - 1, fp);
	if (ferror(fp))
		cdr_die_errno(CDR_EXIT_IO, "%s", t->policy_path);
	fclose(fp);
	/* Line breaks are only whitespace in JSON: one line is one record. */
	for (size_t i = 0; i < len; i++)
		if (text[i] == '\n' || text[i] == '\r' || text[i] == '\t')
			text[i] = ' ';
	while (len > 0 && text[len - 1] == ' ')
		len--;
	memset(&rec, 0, sizeof rec);
	rec.line = text;
	rec.len = len;
	rec.source = t->policy_path;
	if (cdr_json_parse(&rec, &cap) != 0)
		cdr_die(CDR_EXIT_USAGE, "%s: %s", t->policy_path, rec.err);
	cdr_record_root(&rec, &root);
	t->resample_days = t->move_days = t->expire_days = NO_RULE;
	t->archive_days = NO_RULE;
	t->archive_ext = "zst";
	if (cdr_value_member(&root, "rules", 5, &rules) &&
	    rules.type == CDR_T_OBJECT) {
		if (member_num(&rules, "resample_after_days", &t->resample_days) < 0 ||
		    member_num(&rules, "move_after_days", &t->move_days) < 0 ||
		    member_num(&rules, "expire_after_days", &t->expire_days) < 0 ||
		    member_num(&rules, "archive_after_days", &t->archive_days) < 0)
			cdr_die(CDR_EXIT_USAGE, "%s: rules: ages must be "
			    "whole days", t->policy_path);
		if (cdr_value_member(&rules, "move_to", 7, &v)) {
			s = cdr_value_str(&v, &scratch, &n);
			t->move_to = cdr_xstrndup(s, n);
		}
		if (cdr_value_member(&rules, "archive_dir", 11, &v)) {
			s = cdr_value_str(&v, &scratch, &n);
			t->archive_dir = cdr_xstrndup(s, n);
		}
		if (cdr_value_member(&rules, "archive_compression", 19, &v)) {
			s = cdr_value_str(&v, &scratch, &n);
			if (n == 4 && memcmp(s, "zstd", 4) == 0)
				t->archive_ext = "zst";
			else if (n == 2 && memcmp(s, "xz", 2) == 0)
				t->archive_ext = "xz";
			else if (n == 4 && memcmp(s, "gzip", 4) == 0)
				t->archive_ext = "gz";
			else
				cdr_die(CDR_EXIT_USAGE, "%s: archive_compression: "
				    "expected zstd, xz or gzip", t->policy_path);
		}
	}
	if (cdr_value_member(&root, "tiers", 5, &tiers) &&
	    tiers.type == CDR_T_OBJECT && cdr_value_child(&tiers, &v)) {
		do {
			struct cdr_value dir;
			const char *k;
			size_t kn;

			t->tiers = cdr_xreallocarray(t->tiers, t->ntiers + 1,
			    sizeof *t->tiers);
			k = cdr_value_key(&v, &scratch, &kn);
			memset(&t->tiers[t->ntiers], 0, sizeof *t->tiers);
			t->tiers[t->ntiers].name = cdr_xstrndup(k, kn);
			t->tiers[t->ntiers].price = -1;
			if (cdr_value_member(&v, "dir", 3, &dir)) {
				s = cdr_value_str(&dir, &scratch, &n);
				t->tiers[t->ntiers].dir = cdr_xstrndup(s, n);
			}
			if (cdr_value_member(&v, "class", 5, &dir)) {
				s = cdr_value_str(&dir, &scratch, &n);
				t->tiers[t->ntiers].class = cdr_xstrndup(s, n);
			}
			if (cdr_value_member(&v, "price_gb_month", 14, &dir) &&
			    (cdr_value_double(&dir, &t->tiers[t->ntiers].price)
			    != 0 || t->tiers[t->ntiers].price < 0))
				cdr_die(CDR_EXIT_USAGE, "%s: tiers: price_gb_month "
				    "must be a number >= 0", t->policy_path);
			if (cdr_value_member(&v, "min_object_bytes", 16, &dir)) {
				int64_t mo;

				if (cdr_value_int64(&dir, &mo) != 0 || mo < 0)
					cdr_die(CDR_EXIT_USAGE, "%s: tiers: "
					    "min_object_bytes must be a whole "
					    "number >= 0", t->policy_path);
				t->tiers[t->ntiers].min_object = (uint64_t)mo;
			}
			t->ntiers++;
		} while (cdr_value_next(&v));
	}
	if (t->archive_days != NO_RULE && t->archive_dir == NULL)
		cdr_die(CDR_EXIT_USAGE, "%s: archive_after_days needs "
		    "archive_dir", t->policy_path);
	if (t->move_days != NO_RULE) {
		size_t i;

		if (t->move_to == NULL)
			cdr_die(CDR_EXIT_USAGE, "%s: move_after_days needs "
			    "move_to", t->policy_path);
		for (i = 0; i < t->ntiers; i++)
			if (strcmp(t->tiers[i].name, t->move_to) == 0 &&
			    t->tiers[i].dir != NULL)
				break;
		if (i == t->ntiers)
			cdr_die(CDR_EXIT_USAGE, "%s: move_to %s: no such tier "
			    "with a dir", t->policy_path, t->move_to);
	}
	free(rec.nodes);
	free(scratch.p);
	free(text);
}

/* ---- scan ---- */

static void
scan_dir(struct tier *t, const char *root, const char *rel)
{
	char path[PATH_MAX];
	struct dirent **names;
	int n;

	snprintf(path, sizeof path, "%s%s%s", root, *rel ? "/" : "", rel);
	if ((n = scandir(path, &names, NULL, alphasort)) < 0) {
		cdr_warn_errno("%s", path);
		t->status = CDR_EXIT_IO;
		return;
	}
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		char sub[PATH_MAX], full[PATH_MAX];
		struct stat st;

		/* Hidden names are temporary files and journals. */
		if (name[0] == '.') {
			free(names[i]);
			continue;
		}
		/*
		 * JSON cannot carry such a name exactly: a plan would act on
		 * another name (or on another file).  Leave it, and say so.
		 */
		if (!cdr_utf8_valid(name, strlen(name))) {
			cdr_warn("%s/%s: name is not valid UTF-8 (not listed)",
			    path, name);
			t->failed++;
			free(names[i]);
			continue;
		}
		if (snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "",
		    name) >= (int)sizeof sub ||
		    (size_t)snprintf(full, sizeof full, "%s/%.*s", root,
		    (int)(sizeof full - 2), sub) >= sizeof full) {
			cdr_warn("%s/%s: path too long", path, name);
			free(names[i]);
			continue;
		}
		if (lstat(full, &st) == 0) {
			if (S_ISDIR(st.st_mode))
				scan_dir(t, root, sub);
			else if (S_ISREG(st.st_mode))
				scan_file(t, full, sub);
		}
		free(names[i]);
	}
	free(names);
}

/* The call date of a ".../YYYY/MM/DD/name" path, as "YYYY-MM-DD"; 0 if none. */
static int
path_date(const char *rel, char date[11])
{
	const char *p = rel + strlen(rel);
	int slashes = 0;

	while (p > rel && slashes < 4) {
		p--;
		if (*p == '/')
			slashes++;
	}
	if (slashes < 3)
		return 0;
	if (*p == '/')
		p++;
	if (strlen(p) < 11 || p[4] != '/' || p[7] != '/' || p[10] != '/')
		return 0;
	snprintf(date, 11, "%.4s-%.2s-%.2s", p, p + 5, p + 8);
	return parse_day(date, 10) != NO_RULE;
}

/* WAV format tag of a file: "pcm16", "alaw", "ulaw", "pcmN", "other" or NULL. */
static const char *
wav_format(const char *path, char buf[16])
{
	unsigned char h[512];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY)) < 0)
		return NULL;
	n = read(fd, h, sizeof h);
	close(fd);
	if (n < 12 || memcmp(h, "RIFF", 4) != 0 || memcmp(h + 8, "WAVE", 4) != 0)
		return NULL;
	for (ssize_t off = 12; off + 24 <= n;) {
		uint32_t sz = h[off + 4] | h[off + 5] << 8 | h[off + 6] << 16 |
		    (uint32_t)h[off + 7] << 24;

		if (memcmp(h + off, "fmt ", 4) == 0) {
			int tag = h[off + 8] | h[off + 9] << 8;
			int bits = h[off + 22] | h[off + 23] << 8;

			if (tag == 6)
				return "alaw";
			if (tag == 7)
				return "ulaw";
			if (tag == 1 || tag == 0xfffe) {
				snprintf(buf, 16, "pcm%d", bits);
				return buf;
			}
			return "other";
		}
		if (sz > (uint32_t)n)
			break;
		off += 8 + sz + (sz & 1);
	}
	return NULL;
}

static void
scan_file(struct tier *t, const char *path, const char *rel)
{
	struct stat st;
	char date[11], mtime[40], fbuf[16];
	const char *fmt, *tiername, *slash;
	char *root;

	if (stat(path, &st) != 0) {
		cdr_warn_errno("%s", path);
		return;
	}
	root = cdr_xstrndup(path, strlen(path) - strlen(rel) - 1);
	tiername = t->tier_name;
	if (tiername == NULL) {
		size_t rl = strlen(root);

		while (rl > 1 && root[rl - 1] == '/')
			root[--rl] = '\0';
		slash = strrchr(root, '/');
		tiername = slash ? slash + 1 : root;
	}
	cdr_time_format_iso(mtime, sizeof mtime,
	    (cdr_time_t)st.st_mtime * 1000000, 0, 0);
	fmt = wav_format(path, fbuf);
	cdr_out_puts(t->out, "{\"path\":");
	cdr_write_json_string(t->out, path, strlen(path));
	cdr_out_puts(t->out, ",\"root\":");
	cdr_write_json_string(t->out, root, strlen(root));
	cdr_out_puts(t->out, ",\"rel\":");
	cdr_write_json_string(t->out, rel, strlen(rel));
	cdr_out_puts(t->out, ",\"tier\":");
	cdr_write_json_string(t->out, tiername, strlen(tiername));
	cdr_out_printf(t->out, ",\"size\":%lld,\"mtime\":\"%s\"",
	    (long long)st.st_size, mtime);
	if (path_date(rel, date))
		cdr_out_printf(t->out, ",\"call_date\":\"%s\"", date);
	else
		cdr_out_puts(t->out, ",\"call_date\":null");
	if (fmt)
		cdr_out_printf(t->out, ",\"format\":\"%s\"", fmt);
	else
		cdr_out_puts(t->out, ",\"format\":null");
	cdr_out_puts(t->out, "}\n");
	free(root);
}

/* ---- plan ---- */

static const char *
field(const struct cdr_record *rec, const char *name, struct cdr_buf *b,
    size_t *n)
{
	struct cdr_value root, v;

	cdr_record_root(rec, &root);
	if (!cdr_value_member(&root, name, strlen(name), &v) ||
	    v.type == CDR_T_NULL) {
		*n = 0;
		return NULL;
	}
	return cdr_value_str(&v, b, n);
}

/*
 * Why an inventory record would take an action outside its tier, or NULL:
 * rel must be a relative name without "..", path must be root/rel, and a
 * listed object key (no root) must be relative without "..".  Returns
 * "FIELD: reason".
 */
static const char *
unsafe_place(const struct cdr_record *rec, const char *path, size_t pn,
    int keyed, struct cdr_buf *b1, struct cdr_buf *b2)
{
	const char *root, *rel;
	size_t on, rn;

	if (pn == 0 || memchr(path, '\0', pn) != NULL)
		return keyed ? "key: empty or holds a NUL byte" :
		    "path: empty or holds a NUL byte";
	rel = field(rec, "rel", b1, &rn);
	root = field(rec, "root", b2, &on);
	if (rel != NULL && !safe_name_n(rel, rn))
		return "rel: not a relative path inside the tier "
		    "(absolute, empty, or with a '..' component)";
	if (rel != NULL && root != NULL) {
		size_t k;

		/* scan writes "hot/" as root "hot" and path "hot//rel". */
		while (on > 1 && root[on - 1] == '/')
			on--;
		if (pn <= on || memcmp(path, root, on) != 0 ||
		    (root[on - 1] != '/' && path[on] != '/'))
			return "path: not root/rel";
		for (k = on; k < pn && path[k] == '/'; k++)
			;
		if (pn - k != rn || memcmp(path + k, rel, rn) != 0)
			return "path: not root/rel";
	}
	if (keyed && !safe_name_n(path, pn))
		return "key: not a relative key (absolute, empty, or with a "
		    "'..' component)";
	return NULL;
}

static void
run_plan(struct tier *t, int argc, char **argv)
{
	struct cdr_reader_opts ro = { 0 };
	struct cdr_reader *r;
	struct cdr_record *rec;
	struct cdr_buf b1 = { 0 }, b2 = { 0 }, b3 = { 0 }, b4 = { 0 };
	char *stdin_arg[] = { "-" };
	const char *move_dir = NULL;

	for (size_t i = 0; i < t->ntiers; i++)
		if (t->move_to && strcmp(t->tiers[i].name, t->move_to) == 0)
			move_dir = t->tiers[i].dir;
	if (argc == 0) {
		argc = 1;
		argv = stdin_arg;
	}
	r = cdr_reader_new(&ro);
	for (int i = 0; i < argc; i++) {
		int rc;

		if (cdr_reader_open(r, argv[i]) != 0) {
			t->status = CDR_EXIT_IO;
			continue;
		}
		while ((rc = cdr_reader_next(r, &rec)) == 1) {
			const char *path, *tiername, *date, *fmt, *rel, *bad;
			size_t pn, tn, dn, fn, rn;
			int64_t day, age;
			int keyed;
			char reason[128];
			const char *action = "keep";

			if (rec->bad) {
				cdr_warn("%s:%llu: %s", rec->source,
				    (unsigned long long)rec->lineno, rec->err);
				t->failed++;
				continue;
			}
			path = field(rec, "path", &b1, &pn);
			keyed = path == NULL;
			if (path == NULL)
				path = field(rec, "key", &b1, &pn);
			tiername = field(rec, "tier", &b2, &tn);
			if (tiername == NULL)
				tiername = field(rec, "storage_class", &b2, &tn);
			date = field(rec, "call_date", &b3, &dn);
			day = date ? parse_day(date, dn) : NO_RULE;
			if (day == NO_RULE) {
				date = field(rec, "mtime", &b3, &dn);
				if (date == NULL)
					date = field(rec, "last_modified", &b3,
					    &dn);
				day = date ? parse_day(date, dn) : NO_RULE;
			}
			if (path == NULL || day == NO_RULE) {
				cdr_warn("%s:%llu: no path or no date",
				    rec->source,
				    (unsigned long long)rec->lineno);
				t->failed++;
				continue;
			}
			if ((bad = unsafe_place(rec, path, pn, keyed, &b3,
			    &b4)) != NULL) {
				cdr_warn("%s:%llu: %s", rec->source,
				    (unsigned long long)rec->lineno, bad);
				t->failed++;
				continue;
			}
			path = cdr_xstrndup(path, pn);
			tiername = tiername ? cdr_xstrndup(tiername, tn) :
			    cdr_xstrdup("");
			age = t->today - day;
			snprintf(reason, sizeof reason, "age %lld d",
			    (long long)age);
			cdr_out_puts(t->out, "{\"path\":");
			cdr_write_json_string(t->out, path, strlen(path));
			if (age >= t->expire_days) {
				action = "expire";
				snprintf(reason, sizeof reason,
				    "age %lld d >= expire_after_days %lld",
				    (long long)age, (long long)t->expire_days);
			} else if (age >= t->archive_days &&
			    (rel = field(rec, "rel", &b3, &rn)) != NULL) {
				size_t tl = strlen(t->archive_dir) + 32;
				char *to = cdr_xmalloc(tl);
				int y, mo, dd;

				/* One archive a call day. */
				cdr_civil_from_days(day, &y, &mo, &dd);
				snprintf(to, tl, "%s/%04d-%02d-%02d.tar.%s",
				    t->archive_dir, y % 10000, mo, dd,
				    t->archive_ext);
				action = "archive";
				snprintf(reason, sizeof reason,
				    "age %lld d >= archive_after_days %lld",
				    (long long)age, (long long)t->archive_days);
				cdr_out_puts(t->out, ",\"member\":");
				cdr_write_json_string(t->out, rel, rn);
				cdr_out_puts(t->out, ",\"to\":");
				cdr_write_json_string(t->out, to, strlen(to));
				free(to);
			} else if (age >= t->move_days && move_dir &&
			    strcmp(tiername, t->move_to) != 0 &&
			    (rel = field(rec, "rel", &b3, &rn)) != NULL) {
				char *relc = cdr_xstrndup(rel, rn);
				char *to;
				size_t tl = strlen(move_dir) + rn + 2;

				to = cdr_xmalloc(tl);
				snprintf(to, tl, "%s/%s", move_dir, relc);
				action = "move";
				snprintf(reason, sizeof reason,
				    "age %lld d >= move_after_days %lld",
				    (long long)age, (long long)t->move_days);
				cdr_out_puts(t->out, ",\"to\":");
				cdr_write_json_string(t->out, to, strlen(to));
				free(to);
				free(relc);
			} else if (age >= t->resample_days &&
			    (fmt = field(rec, "format", &b3, &fn)) != NULL &&
			    fn > 3 && memcmp(fmt, "pcm", 3) == 0) {
				action = "resample";
				snprintf(reason, sizeof reason,
				    "age %lld d >= resample_after_days %lld",
				    (long long)age, (long long)t->resample_days);
			}
			cdr_out_printf(t->out, ",\"action\":\"%s\",\"reason\":\"%s\"}\n",
			    action, reason);
			free((char *)path);
			free((char *)tiername);
		}
		if (rc < 0)
			t->status = CDR_EXIT_IO;
	}
	cdr_reader_free(r);
	free(b1.p);
	free(b2.p);
	free(b3.p);
	free(b4.p);
}

/* ---- apply ---- */

static void
journal(struct tier *t, const char *fmt, ...)
{
	char line[PATH_MAX * 2 + 64];
	va_list ap;
	int n;

	if (t->dry_run)
		return;
	if (t->journal_fd < 0) {
		t->journal_fd = open(t->journal_path,
		    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (t->journal_fd < 0)
			cdr_die_errno(CDR_EXIT_IO, "%s", t->journal_path);
	}
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof line)
		cdr_die(CDR_EXIT_INTERNAL, "journal line too long");
	if (write(t->journal_fd, line, (size_t)n) != n ||
	    fdatasync(t->journal_fd) != 0)
		cdr_die_errno(CDR_EXIT_IO, "%s", t->journal_path);
}

static void
result(struct tier *t, const char *path, const char *action, const char *res,
    const char *why)
{
	cdr_out_puts(t->out, "{\"path\":");
	cdr_write_json_string(t->out, path, strlen(path));
	cdr_out_printf(t->out, ",\"action\":\"%s\",\"result\":\"%s\"", action,
	    res);
	if (why) {
		cdr_out_puts(t->out, ",\"error\":");
		cdr_write_json_string(t->out, why, strlen(why));
	}
	cdr_out_puts(t->out, "}\n");
	if (strcmp(res, "failed") == 0)
		t->failed++;
	else if (strcmp(res, "skipped") == 0)
		t->skipped++;
	else
		t->done++;
}

static int
fsync_dir_of(const char *path)
{
	char *d = cdr_xstrdup(path), *slash = strrchr(d, '/');
	int fd, rc;

	if (slash == d)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		strcpy(d, ".");
	fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(d);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static int
mkdirs(const char *path)
{
	char *d = cdr_xstrdup(path);

	for (char *p = d + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(d, 0755) != 0 && errno != EEXIST) {
			free(d);
			return -1;
		}
		*p = '/';
	}
	free(d);
	return 0;
}

/* 1 if the two files hold the same bytes, 0 if not, -1 on error. */
static int
same_bytes(const char *a, const char *b)
{
	static char ba[1 << 16], bb[1 << 16];
	int fa, fb, same = 1;
	ssize_t na, nb;

	if ((fa = open(a, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if ((fb = open(b, O_RDONLY | O_CLOEXEC)) < 0) {
		close(fa);
		return -1;
	}
	for (;;) {
		na = read(fa, ba, sizeof ba);
		if (na <= 0)
			break;
		for (ssize_t got = 0; got < na; got += nb)
			if ((nb = read(fb, bb + got, (size_t)(na - got))) <= 0) {
				same = nb < 0 ? -1 : 0;
				goto out;
			}
		if (memcmp(ba, bb, (size_t)na) != 0) {
			same = 0;
			goto out;
		}
	}
	if (na < 0)
		same = -1;
	else if (read(fb, bb, 1) != 0)
		same = 0;
out:
	close(fa);
	close(fb);
	return same;
}

/*
 * Copies src to dst by a fixed temporary name (so that a re-run after a
 * crash overwrites it rather than leaving one behind), fsyncs, renames,
 * verifies the bytes, then removes src.  Every step is safe to repeat.
 */
static int
move_file(struct tier *t, const char *src, const char *dst, const char **why)
{
	static char buf[1 << 17];
	char tmp[PATH_MAX];
	const char *slash = strrchr(dst, '/');
	struct stat ss, ds;
	int in, outfd, same;
	ssize_t n;

	if (stat(src, &ss) != 0) {
		if (errno == ENOENT && stat(dst, &ds) == 0)
			return 1;	/* moved by an earlier run */
		*why = strerror(errno);
		return -1;
	}
	if (stat(dst, &ds) == 0 && ds.st_size == ss.st_size &&
	    (same = same_bytes(src, dst)) == 1)
		goto remove_src;
	snprintf(tmp, sizeof tmp, "%.*s.%s.tmp.tier",
	    slash ? (int)(slash - dst + 1) : 0, dst, slash ? slash + 1 : dst);
	if (mkdirs(dst) != 0) {
		*why = strerror(errno);
		return -1;
	}
	if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0) {
		*why = strerror(errno);
		return -1;
	}
	outfd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (outfd < 0) {
		*why = strerror(errno);
		close(in);
		return -1;
	}
	cdr_out_track_tmp(tmp);
	while ((n = read(in, buf, sizeof buf)) > 0) {
		for (ssize_t w = 0, k; w < n; w += k)
			if ((k = write(outfd, buf + w, (size_t)(n - w))) < 0)
				goto fail;
	}
	if (n < 0 || fsync(outfd) != 0)
		goto fail;
	close(in);
	if (close(outfd) != 0) {
		outfd = -1;
		in = -1;
		goto fail;
	}
	if (rename(tmp, dst) != 0 || fsync_dir_of(dst) != 0) {
		in = outfd = -1;
		goto fail;
	}
	cdr_out_untrack_tmp(tmp);
	if (same_bytes(src, dst) != 1) {
		*why = "copy differs from the source";
		return -1;
	}
	journal(t, "copied\t%s\t%s\n", src, dst);
remove_src:
	if (unlink(src) != 0 || fsync_dir_of(src) != 0) {
		*why = strerror(errno);
		return -1;
	}
	return 0;
fail:
	*why = strerror(errno);
	if (in >= 0)
		close(in);
	if (outfd >= 0)
		close(outfd);
	unlink(tmp);
	cdr_out_untrack_tmp(tmp);
	return -1;
}

/* Runs cdr-resample (next to this program, else from PATH) in place. */
static int
resample_file(struct tier *t, const char *path, const char **why)
{
	char prog[PATH_MAX];
	pid_t pid;
	int st = 0;

	if ((size_t)snprintf(prog, sizeof prog, "%.*s/cdr-resample",
	    (int)(sizeof prog - 16), t->self_dir) >= sizeof prog ||
	    access(prog, X_OK) != 0)
		snprintf(prog, sizeof prog, "cdr-resample");
	fflush(NULL);
	if ((pid = fork()) < 0) {
		*why = strerror(errno);
		return -1;
	}
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0)
			dup2(fd, 1);
		execlp(prog, prog, "-q", "--min-age", "0", "--in-place", path,
		    (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0) {
		/* Its I/O error (it named the file) is ours too. */
		if (!WIFEXITED(st) || WEXITSTATUS(st) == CDR_EXIT_IO)
			t->status = CDR_EXIT_IO;
		*why = "cdr-resample failed";
		return -1;
	}
	return 0;
}

/*
 * Whether path has a ".." component after its leading ones: a plan line
 * that climbs out of the tree it names (cdr-tier plan never writes one).
 */
static int
climbs(const char *path)
{
	const char *p = path;
	int lead = 1;

	while (*p) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		int dots = n == 2 && p[0] == '.' && p[1] == '.';

		if (dots && !lead)
			return 1;
		if (n > 0 && !dots && !(n == 1 && p[0] == '.'))
			lead = 0;
		p += n;
		while (*p == '/')
			p++;
	}
	return 0;
}

/*
 * The first symbolic link (malloc'd) on the way to the recording: the
 * source itself, or a directory of the path both share below their tiers
 * (the rel that plan put after the tier directories), on either side.
 * scan never lists links, so one here was planted after the scan and
 * could carry a move or a removal outside the tiers.  NULL if none.
 */
static char *
link_on_way(const char *path, const char *to)
{
	struct stat st;
	size_t a = strlen(path), b = to ? strlen(to) : 0;
	const char *side[2];
	size_t cut[2];

	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
		return cdr_xstrdup(path);
	if (to == NULL)
		return NULL;
	while (a > 0 && b > 0 && path[a - 1] == to[b - 1]) {
		a--;
		b--;
	}
	/* Start the shared part at a component boundary. */
	while (path[a] != '\0' && !((a == 0 || path[a - 1] == '/') &&
	    (b == 0 || to[b - 1] == '/'))) {
		a++;
		b++;
	}
	side[0] = path;
	side[1] = to;
	cut[0] = a;
	cut[1] = b;
	for (int i = 0; i < 2; i++) {
		const char *s = side[i];

		for (const char *e = strchr(s + cut[i], '/'); e != NULL;
		    e = strchr(e + 1, '/')) {
			char *d = cdr_xstrndup(s, (size_t)(e - s));

			if (lstat(d, &st) == 0 && S_ISLNK(st.st_mode))
				return d;
			free(d);
		}
	}
	return NULL;
}

static void
run_apply(struct tier *t, int argc, char **argv)
{
	struct cdr_reader_opts ro = { 0 };
	struct cdr_reader *r;
	struct cdr_record *rec;
	struct cdr_buf b1 = { 0 }, b2 = { 0 }, b3 = { 0 };
	char *stdin_arg[] = { "-" };

	if (argc == 0) {
		argc = 1;
		argv = stdin_arg;
	}
	r = cdr_reader_new(&ro);
	for (int i = 0; i < argc; i++) {
		int rc;

		if (cdr_reader_open(r, argv[i]) != 0) {
			t->status = CDR_EXIT_IO;
			continue;
		}
		while ((rc = cdr_reader_next(r, &rec)) == 1) {
			const char *p, *a, *to, *why = NULL, *bad;
			size_t pn, an, tn;
			char *path, *action, *dst = NULL, *lk;
			char linkwhy[PATH_MAX + 64];
			int res = 0;

			if (rec->bad) {
				cdr_warn("%s:%llu: %s", rec->source,
				    (unsigned long long)rec->lineno, rec->err);
				t->failed++;
				continue;
			}
			p = field(rec, "path", &b1, &pn);
			a = field(rec, "action", &b2, &an);
			to = field(rec, "to", &b3, &tn);
			if (p == NULL || a == NULL) {
				cdr_warn("%s:%llu: no path or action",
				    rec->source,
				    (unsigned long long)rec->lineno);
				t->failed++;
				continue;
			}
			path = cdr_xstrndup(p, pn);
			action = cdr_xstrndup(a, an);
			if (to)
				dst = cdr_xstrndup(to, tn);
			if (strcmp(action, "keep") == 0) {
				free(path);
				free(action);
				free(dst);
				continue;
			}
			/* A hand-made or tampered plan line: refuse it. */
			bad = NULL;
			if (*path == '\0' || strlen(path) != pn || climbs(path))
				bad = "path: empty, a NUL byte or a '..' after "
				    "the start";
			else if (dst != NULL && (*dst == '\0' ||
			    strlen(dst) != tn || climbs(dst)))
				bad = "to: empty, a NUL byte or a '..' after "
				    "the start";
			else if (!t->dry_run &&
			    (lk = link_on_way(path, dst)) != NULL) {
				snprintf(linkwhy, sizeof linkwhy, "%s: %s is a "
				    "symbolic link (not followed)",
				    strncmp(lk, path, strlen(lk)) == 0 ? "path" :
				    "to", lk);
				free(lk);
				bad = linkwhy;
			}
			if (bad != NULL) {
				cdr_warn("%s:%llu: %s", rec->source,
				    (unsigned long long)rec->lineno, bad);
				result(t, path, action, "failed", bad);
				free(path);
				free(action);
				free(dst);
				continue;
			}
			if (t->dry_run) {
				result(t, path, action, "dry-run", NULL);
				free(path);
				free(action);
				free(dst);
				continue;
			}
			if (strcmp(action, "archive") == 0) {
				const char *m;
				size_t mn;
				struct pack *pk;

				m = field(rec, "member", &b2, &mn);
				if (dst == NULL || m == NULL ||
				    !safe_name_n(m, mn)) {
					result(t, path, action, "failed",
					    "no archive or member name");
					free(path);
					free(action);
					free(dst);
					continue;
				}
				t->packs = cdr_xreallocarray(t->packs,
				    t->npacks + 1, sizeof *t->packs);
				pk = &t->packs[t->npacks];
				pk->path = path;
				pk->to = dst;
				pk->member = cdr_xstrndup(m, mn);
				pk->seq = t->npacks++;
				pk->verified = 0;
				free(action);
				continue;
			}
			journal(t, "begin\t%s\t%s\t%s\n", action, path,
			    dst ? dst : "");
			if (strcmp(action, "move") == 0 && dst) {
				res = move_file(t, path, dst, &why);
			} else if (strcmp(action, "expire") == 0) {
				if (unlink(path) != 0) {
					if (errno == ENOENT)
						res = 1;
					else {
						why = strerror(errno);
						res = -1;
					}
				} else if (fsync_dir_of(path) != 0) {
					why = strerror(errno);
					res = -1;
				}
			} else if (strcmp(action, "resample") == 0) {
				if (access(path, F_OK) != 0) {
					why = strerror(errno);
					res = -1;
				} else
					res = resample_file(t, path, &why);
			} else {
				why = "unknown action";
				res = -1;
			}
			if (res >= 0)
				journal(t, "done\t%s\t%s\n", action, path);
			else if ((strcmp(action, "move") == 0 && dst) ||
			    strcmp(action, "expire") == 0) {
				/* A file system error, not a plan error: 3. */
				cdr_warn("%s: %s%s%s: %s", path, action,
				    dst ? " to " : "", dst ? dst : "", why);
				t->status = CDR_EXIT_IO;
			}
			result(t, path, action, res < 0 ? "failed" :
			    res > 0 ? "skipped" : "done", why);
			free(path);
			free(action);
			free(dst);
		}
		if (rc < 0)
			t->status = CDR_EXIT_IO;
	}
	cdr_reader_free(r);
	free(b1.p);
	free(b2.p);
	free(b3.p);
	run_packs(t);
}

/* ---- archive ---- */

static int
pack_cmp(const void *a, const void *b)
{
	const struct pack *x = a, *y = b;
	int c = strcmp(x->to, y->to);

	if (c != 0)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The pack of group g[0..n) whose source is added as member name; or NULL. */
static struct pack *
find_member(struct pack *g, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(g[i].member, name) == 0 && access(g[i].path, F_OK)
		    == 0)
			return &g[i];
	return NULL;
}

static int
add_file(struct archive *w, const char *path, const char *member)
{
	static char buf[1 << 17];
	struct archive_entry *e;
	struct stat st;
	ssize_t n;
	int fd, rc = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &st) != 0 || (e = archive_entry_new()) == NULL) {
		close(fd);
		return -1;
	}
	archive_entry_set_pathname(e, member);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, st.st_size);
	archive_entry_set_mtime(e, st.st_mtime, 0);
	if (archive_write_header(w, e) != ARCHIVE_OK)
		rc = -1;
	while (rc == 0 && (n = read(fd, buf, sizeof buf)) > 0)
		if (archive_write_data(w, buf, (size_t)n) != n)
			rc = -1;
	archive_entry_free(e);
	close(fd);
	return rc;
}

/* 1 if the archive's current entry holds the bytes of path. */
static int
entry_matches(struct archive *a, const char *path)
{
	static char fb[1 << 16];
	const void *blk;
	size_t sz;
	la_int64_t off, pos = 0;
	int fd, same = 1, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	while ((r = archive_read_data_block(a, &blk, &sz, &off)) == ARCHIVE_OK) {
		if (off != pos)
			same = 0;
		for (size_t got = 0; same && got < sz;) {
			size_t want = sz - got < sizeof fb ? sz - got : sizeof fb;
			ssize_t n = read(fd, fb, want);

			if (n <= 0 || memcmp(fb, (const char *)blk + got,
			    (size_t)n) != 0)
				same = 0;
			else
				got += (size_t)n;
		}
		pos += (la_int64_t)sz;
	}
	if (r != ARCHIVE_EOF || read(fd, fb, 1) != 0)
		same = 0;
	close(fd);
	return same;
}

/*
 * Builds one archive: the members of an existing one (those not being
 * replaced) and the group's sources, into a fixed temporary name; fsync,
 * rename, read it back and compare every source, write the index, then
 * remove the verified sources.  A crash at any point leaves the sources or
 * a verified archive, and a re-run rebuilds the same archive.
 */
static void
pack_group(struct tier *t, struct pack *g, size_t n)
{
	const char *to = g[0].to, *slash = strrchr(to, '/'), *why = NULL, *ext;
	char tmp[PATH_MAX], idx[PATH_MAX], whybuf[256];
	struct archive *w = NULL, *a;
	struct archive_entry *e;
	struct cdr_out *index;
	size_t todo = 0;
	int fd, r;

	for (size_t i = 0; i < n; i++)
		if (access(g[i].path, F_OK) == 0)
			todo++;
	if (todo == 0) {
		/* Done by an earlier run when the archive exists. */
		for (size_t i = 0; i < n; i++)
			result(t, g[i].path, "archive", access(to, F_OK) == 0 ?
			    "skipped" : "failed", access(to, F_OK) == 0 ? NULL :
			    "source and archive missing");
		return;
	}
	if ((size_t)snprintf(tmp, sizeof tmp, "%.*s.%s.tmp.tier",
	    slash ? (int)(slash - to + 1) : 0, to, slash ? slash + 1 : to) >=
	    sizeof tmp || (size_t)snprintf(idx, sizeof idx, "%s.index.ndjson",
	    to) >= sizeof idx) {
		why = "path too long";
		tmp[0] = '\0';
		goto fail;
	}
	journal(t, "begin\tarchive\t%s\n", to);
	if (mkdirs(to) != 0 || (w = archive_write_new()) == NULL) {
		why = strerror(errno);
		goto fail;
	}
	archive_write_set_format_pax_restricted(w);
	/* The plan's archive name says the compression. */
	ext = strrchr(to, '.');
	if (ext != NULL && strcmp(ext, ".xz") == 0)
		r = archive_write_add_filter_xz(w);
	else if (ext != NULL && strcmp(ext, ".gz") == 0)
		r = archive_write_add_filter_gzip(w);
	else
		r = archive_write_add_filter_zstd(w);
	if (r != ARCHIVE_OK || archive_write_open_filename(w, tmp) != ARCHIVE_OK) {
		why = archive_error_string(w);
		goto fail;
	}
	cdr_out_track_tmp(tmp);
	if (access(to, F_OK) == 0) {
		if ((a = archive_read_new()) == NULL) {
			why = "out of memory";
			goto fail;
		}
		archive_read_support_filter_all(a);
		archive_read_support_format_tar(a);
		if (archive_read_open_filename(a, to, 1 << 16) != ARCHIVE_OK) {
			/* The message lives in a: keep a copy before freeing. */
			snprintf(whybuf, sizeof whybuf, "%s",
			    archive_error_string(a) ? archive_error_string(a) :
			    "cannot read");
			why = whybuf;
			archive_read_free(a);
			goto fail;
		}
		while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
			const void *blk;
			size_t sz;
			la_int64_t off;

			if (find_member(g, n, archive_entry_pathname(e)))
				continue;	/* its source is added below */
			if (archive_write_header(w, e) != ARCHIVE_OK)
				break;
			while ((r = archive_read_data_block(a, &blk, &sz, &off))
			    == ARCHIVE_OK)
				if (archive_write_data(w, blk, sz) != (ssize_t)sz)
					break;
			if (r != ARCHIVE_EOF)
				break;
		}
		if (r != ARCHIVE_EOF) {
			why = "cannot copy the existing archive";
			archive_read_free(a);
			goto fail;
		}
		archive_read_free(a);
	}
	for (size_t i = 0; i < n; i++) {
		/* The last of several actions naming one member wins. */
		if (access(g[i].path, F_OK) != 0 ||
		    find_member(g, n, g[i].member) != &g[i])
			continue;
		if (add_file(w, g[i].path, g[i].member) != 0) {
			why = archive_error_string(w) ? archive_error_string(w)
			    : strerror(errno);
			goto fail;
		}
	}
	if (archive_write_close(w) != ARCHIVE_OK) {
		why = archive_error_string(w);
		goto fail;
	}
	archive_write_free(w);
	w = NULL;
	if ((fd = open(tmp, O_RDONLY | O_CLOEXEC)) < 0 || fsync(fd) != 0 ||
	    close(fd) != 0 || rename(tmp, to) != 0 || fsync_dir_of(to) != 0) {
		why = strerror(errno);
		goto fail;
	}
	cdr_out_untrack_tmp(tmp);

	/* Read back: every source must match its member; list the index. */
	if ((index = cdr_out_open(idx, CDR_OUT_FORCE)) == NULL)
		cdr_die(CDR_EXIT_IO, "%s: cannot write the index", idx);
	if ((a = archive_read_new()) == NULL)
		cdr_die(CDR_EXIT_IO, "out of memory");
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, to, 1 << 16) != ARCHIVE_OK)
		cdr_die(CDR_EXIT_IO, "%s: %s", to, archive_error_string(a));
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		struct pack *pk = find_member(g, n, name);

		cdr_out_puts(index, "{\"member\":");
		cdr_write_json_string(index, name, strlen(name));
		cdr_out_printf(index, ",\"size\":%lld}\n",
		    (long long)archive_entry_size(e));
		if (pk != NULL && entry_matches(a, pk->path))
			pk->verified = 1;
	}
	if (r != ARCHIVE_EOF)
		cdr_die(CDR_EXIT_IO, "%s: %s", to, archive_error_string(a));
	archive_read_free(a);
	cdr_out_commit(index);
	journal(t, "archived\t%s\n", to);
	for (size_t i = 0; i < n; i++) {
		if (access(g[i].path, F_OK) != 0) {
			if (!g[i].verified)
				result(t, g[i].path, "archive", "skipped", NULL);
			continue;
		}
		if (find_member(g, n, g[i].member) != &g[i]) {
			result(t, g[i].path, "archive", "failed",
			    "another file has the same member name");
			continue;
		}
		if (!g[i].verified) {
			result(t, g[i].path, "archive", "failed",
			    "archive copy differs from the source");
			continue;
		}
		if (unlink(g[i].path) != 0 || fsync_dir_of(g[i].path) != 0) {
			result(t, g[i].path, "archive", "failed",
			    strerror(errno));
			continue;
		}
		result(t, g[i].path, "archive", "done", NULL);
	}
	journal(t, "done\tarchive\t%s\n", to);
	return;
fail:
	if (why != whybuf)
		snprintf(whybuf, sizeof whybuf, "%s", why ? why : "error");
	if (w != NULL)
		archive_write_free(w);
	if (*tmp) {
		unlink(tmp);
		cdr_out_untrack_tmp(tmp);
	}
	cdr_warn("%s: %s", to, whybuf);
	t->status = CDR_EXIT_IO;
	for (size_t i = 0; i < n; i++)
		result(t, g[i].path, "archive", "failed", whybuf);
}

static void
run_packs(struct tier *t)
{
	size_t i, j;

	if (t->npacks == 0)
		return;
	qsort(t->packs, t->npacks, sizeof *t->packs, pack_cmp);
	for (i = 0; i < t->npacks; i = j) {
		for (j = i + 1; j < t->npacks &&
		    strcmp(t->packs[j].to, t->packs[i].to) == 0; j++)
			;
		pack_group(t, t->packs + i, j - i);
	}
	for (i = 0; i < t->npacks; i++) {
		free(t->packs[i].path);
		free(t->packs[i].to);
		free(t->packs[i].member);
	}
	free(t->packs);
	t->packs = NULL;
	t->npacks = 0;
}

/* ---- restore ---- */

/* A member name that stays inside the target: relative, no "..". */
static int
safe_name(const char *name)
{
	const char *p = name;

	if (*name == '\0' || *name == '/')
		return 0;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return 0;
		p += n;
		while (*p == '/')
			p++;
	}
	return 1;
}

static void
run_restore(struct tier *t, int argc, char **argv)
{
	struct archive *a, *disk;
	struct archive_entry *e;
	struct stat st;
	int rc, flags;

	if ((a = archive_read_new()) == NULL || (disk = archive_write_disk_new())
	    == NULL)
		cdr_die(CDR_EXIT_IO, "out of memory");
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, t->archive_path, 1 << 16) != ARCHIVE_OK)
		cdr_die(CDR_EXIT_IO, "%s: %s", t->archive_path,
		    archive_error_string(a));
	/* Relative member names then resolve below the target only. */
	if (mkdir(t->target_dir, 0755) != 0 && errno != EEXIST)
		cdr_die_errno(CDR_EXIT_IO, "%s", t->target_dir);
	if (chdir(t->target_dir) != 0)
		cdr_die_errno(CDR_EXIT_IO, "%s", t->target_dir);
	flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
	    ARCHIVE_EXTRACT_SECURE_SYMLINKS |
	    ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS;
	/* -f: replace existing files (and symlinks in the way) by unlinking. */
	if (t->force)
		flags |= ARCHIVE_EXTRACT_UNLINK;
	archive_write_disk_set_options(disk, flags);
	while ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		int wanted = argc == 0;

		for (int i = 0; i < argc && !wanted; i++)
			if (name && strcmp(argv[i], name) == 0)
				wanted = 1;
		if (!wanted)
			continue;
		if (name == NULL || !safe_name(name) ||
		    archive_entry_filetype(e) != AE_IFREG ||
		    archive_entry_hardlink(e) != NULL) {
			cdr_warn("%s: %s: refused (not a plain file inside "
			    "the target)", t->archive_path, name ? name : "?");
			result(t, name ? name : "", "restore", "failed",
			    "unsafe member");
			continue;
		}
		if (!t->force && lstat(name, &st) == 0) {
			cdr_warn("%s: %s: exists (use -f to replace)",
			    t->archive_path, name);
			result(t, name, "restore", "failed", "exists");
			continue;
		}
		if (archive_write_header(disk, e) != ARCHIVE_OK) {
			char whybuf[512];

			/* libarchive's text names the file, not why. */
			snprintf(whybuf, sizeof whybuf, "%s%s%s",
			    archive_error_string(disk),
			    archive_errno(disk) > 0 ? ": " : "",
			    archive_errno(disk) > 0 ?
			    strerror(archive_errno(disk)) : "");
			cdr_warn("%s: %s: %s", t->archive_path, name, whybuf);
			result(t, name, "restore", "failed", whybuf);
			continue;
		}
		{
			const void *blk;
			size_t sz;
			la_int64_t off;
			int r2;

			while ((r2 = archive_read_data_block(a, &blk, &sz, &off))
			    == ARCHIVE_OK)
				if (archive_write_data_block(disk, blk, sz, off)
				    != ARCHIVE_OK)
					cdr_die(CDR_EXIT_IO, "%s: %s", name,
					    archive_error_string(disk));
			if (r2 != ARCHIVE_EOF)
				cdr_die(CDR_EXIT_IO, "%s: %s", t->archive_path,
				    archive_error_string(a));
		}
		if (archive_write_finish_entry(disk) != ARCHIVE_OK)
			cdr_die(CDR_EXIT_IO, "%s: %s", name,
			    archive_error_string(disk));
		result(t, name, "restore", "done", NULL);
	}
	if (rc != ARCHIVE_EOF)
		cdr_die(CDR_EXIT_IO, "%s: %s", t->archive_path,
		    archive_error_string(a));
	archive_read_free(a);
	if (archive_write_free(disk) != ARCHIVE_OK)
		cdr_die(CDR_EXIT_IO, "%s: cannot finish writing",
		    t->target_dir);
}

/* ---- cost ---- */

/*
 * Month-by-month: every month brings one cohort of t->minutes minutes.  In
 * month m (1-based) the cohort of month c is (m - c) * 30 days old.  The
 * baseline keeps every cohort as recorded in the hot tier; the policy
 * stores a cohort at mb_after once it is resample_days old (paying the
 * compute once, in that month) and in the cold tier once it is move_days
 * old, where retrieved_share of it is read (and paid for) each month.
 * GB are 10^9 bytes; MB are 10^6 bytes.
 */
static void
run_cost(struct tier *t)
{
	double tot_base = 0, tot_pol = 0;
	uint64_t months = t->years * 12;
	double gb_before = t->minutes * t->mb_before / 1000.0;
	double gb_after = t->minutes * t->mb_after / 1000.0;
	double ybase = 0, ypol = 0;

	if (t->cost_format == COST_CSV)
		cdr_out_puts(t->out, "year,keep_hot,policy,saving\n");
	else if (t->cost_format == COST_TABLE)
		cdr_out_printf(t->out, "%-6s %14s %14s %14s\n", "year",
		    "keep_hot", "policy", "saving");
	for (uint64_t m = 1; m <= months; m++) {
		for (uint64_t c = 1; c <= m; c++) {
			int64_t age = (int64_t)(m - c) * 30;
			int resampled = age >= t->resample_days;
			double gb = resampled ? gb_after : gb_before;

			ybase += gb_before * t->hot_price;
			if (age >= t->move_days)
				ypol += gb * t->cold_price + gb *
				    t->retrieved_share * t->retrieval_price;
			else
				ypol += gb * t->hot_price;
			if (resampled && (age - 30 < t->resample_days))
				ypol += t->minutes / 1000.0 * t->resample_price;
		}
		if (m % 12 == 0) {
			unsigned long long y = m / 12;

			if (t->cost_format == COST_CSV)
				cdr_out_printf(t->out, "%llu,%.2f,%.2f,%.2f\n",
				    y, ybase, ypol, ybase - ypol);
			else if (t->cost_format == COST_NDJSON)
				cdr_out_printf(t->out, "{\"year\":%llu,"
				    "\"keep_hot\":%.2f,\"policy\":%.2f,"
				    "\"saving\":%.2f}\n", y, ybase, ypol,
				    ybase - ypol);
			else
				cdr_out_printf(t->out, "%-6llu %14.2f %14.2f "
				    "%14.2f\n", y, ybase, ypol, ybase - ypol);
			tot_base += ybase;
			tot_pol += ypol;
			ybase = ypol = 0;
		}
	}
	if (t->cost_format == COST_CSV)
		cdr_out_printf(t->out, "total,%.2f,%.2f,%.2f\n", tot_base,
		    tot_pol, tot_base - tot_pol);
	else if (t->cost_format == COST_NDJSON)
		cdr_out_printf(t->out, "{\"year\":\"total\",\"keep_hot\":%.2f,"
		    "\"policy\":%.2f,\"saving\":%.2f}\n", tot_base, tot_pol,
		    tot_base - tot_pol);
	else
		cdr_out_printf(t->out, "%-6s %14.2f %14.2f %14.2f\n", "total",
		    tot_base, tot_pol, tot_base - tot_pol);
}

/*
 * What an inventory costs a month now: each file is billed at least its
 * tier's min_object_bytes; GB are 10^9 bytes.  A record is matched to a
 * policy tier by its "tier" (or "storage_class") against the tier's name
 * or class.
 */
static void
run_cost_inventory(struct tier *t)
{
	struct cdr_reader_opts ro = { 0 };
	struct cdr_reader *r;
	struct cdr_record *rec;
	struct cdr_buf b1 = { 0 }, b2 = { 0 };
	double total = 0;
	uint64_t files = 0, bytes = 0;
	int rc;

	r = cdr_reader_new(&ro);
	if (cdr_reader_open(r, t->inventory_path) != 0) {
		t->status = CDR_EXIT_IO;
		cdr_reader_free(r);
		return;
	}
	while ((rc = cdr_reader_next(r, &rec)) == 1) {
		const char *name, *size;
		size_t nn, sn;
		struct tier_dir *td = NULL;
		uint64_t sz;
		const char *why;

		if (rec->bad) {
			cdr_warn("%s:%llu: %s", rec->source,
			    (unsigned long long)rec->lineno, rec->err);
			t->failed++;
			continue;
		}
		name = field(rec, "tier", &b1, &nn);
		if (name == NULL)
			name = field(rec, "storage_class", &b1, &nn);
		size = field(rec, "size", &b2, &sn);
		for (size_t i = 0; name && i < t->ntiers && td == NULL; i++)
			if ((strlen(t->tiers[i].name) == nn &&
			    memcmp(t->tiers[i].name, name, nn) == 0) ||
			    (t->tiers[i].class &&
			    strlen(t->tiers[i].class) == nn &&
			    memcmp(t->tiers[i].class, name, nn) == 0))
				td = &t->tiers[i];
		{
			char *sc = size ? cdr_xstrndup(size, sn) : NULL;
			int bad = sc == NULL || cdr_parse_uint(sc, 0, UINT64_MAX,
			    &sz, &why) != 0;

			free(sc);
			if (td == NULL || td->price < 0 || bad) {
				cdr_warn("%s:%llu: %s", rec->source,
				    (unsigned long long)rec->lineno, bad ?
				    "no size" : "no priced tier in the policy");
				t->failed++;
				continue;
			}
		}
		td->files++;
		td->bytes += sz;
		td->billable += sz < td->min_object ? td->min_object : sz;
	}
	if (rc < 0)
		t->status = CDR_EXIT_IO;
	cdr_reader_free(r);
	free(b1.p);
	free(b2.p);
	if (t->cost_format == COST_CSV)
		cdr_out_puts(t->out, "tier,files,bytes,billable_bytes,"
		    "price_gb_month,month\n");
	else if (t->cost_format == COST_TABLE)
		cdr_out_printf(t->out, "%-12s %10s %16s %16s %10s %12s\n",
		    "tier", "files", "bytes", "billable_bytes", "price",
		    "month");
	for (size_t i = 0; i < t->ntiers; i++) {
		const struct tier_dir *td = &t->tiers[i];
		double month = (double)td->billable / 1e9 *
		    (td->price < 0 ? 0 : td->price);

		if (td->files == 0)
			continue;
		total += month;
		files += td->files;
		bytes += td->bytes;
		if (t->cost_format == COST_CSV)
			cdr_out_printf(t->out, "%s,%llu,%llu,%llu,%g,%.2f\n",
			    td->name, (unsigned long long)td->files,
			    (unsigned long long)td->bytes,
			    (unsigned long long)td->billable, td->price, month);
		else if (t->cost_format == COST_NDJSON) {
			cdr_out_puts(t->out, "{\"tier\":");
			cdr_write_json_string(t->out, td->name,
			    strlen(td->name));
			cdr_out_printf(t->out, ",\"files\":%llu,\"bytes\":%llu,"
			    "\"billable_bytes\":%llu,\"price_gb_month\":%g,"
			    "\"month\":%.2f}\n", (unsigned long long)td->files,
			    (unsigned long long)td->bytes,
			    (unsigned long long)td->billable, td->price, month);
		} else
			cdr_out_printf(t->out, "%-12s %10llu %16llu %16llu "
			    "%10g %12.2f\n", td->name,
			    (unsigned long long)td->files,
			    (unsigned long long)td->bytes,
			    (unsigned long long)td->billable, td->price, month);
	}
	if (t->cost_format == COST_CSV)
		cdr_out_printf(t->out, "total,%llu,%llu,,,%.2f\n",
		    (unsigned long long)files, (unsigned long long)bytes, total);
	else if (t->cost_format == COST_NDJSON)
		cdr_out_printf(t->out, "{\"tier\":\"total\",\"files\":%llu,"
		    "\"bytes\":%llu,\"month\":%.2f}\n",
		    (unsigned long long)files, (unsigned long long)bytes, total);
	else
		cdr_out_printf(t->out, "%-12s %10llu %16llu %16s %10s %12.2f\n",
		    "total", (unsigned long long)files,
		    (unsigned long long)bytes, "", "", total);
}
