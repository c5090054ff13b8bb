/*
 * Helpers shared by the fuzz harnesses (see fuzz.h).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"
#include "out.h"
#include "record.h"
#include "write.h"
#include "fuzz.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define FUZZ_ASAN 1
#endif
#ifdef FUZZ_ASAN
/* From <sanitizer/allocator_interface.h>, which gcc does not install. */
int __sanitizer_install_malloc_and_free_hooks(
    void (*malloc_hook)(const volatile void *, size_t),
    void (*free_hook)(const volatile void *));
#endif

jmp_buf fuzz_jmp;
volatile int fuzz_armed;

static char tmpdir[256];
static char pathbuf[512];

static void die_hook(int status);
static void remove_tmpdir(void);
static void check_string_roundtrip(const char *s, size_t n);
static void walk(const struct cdr_value *parent, struct cdr_buf *scratch,
    int depth);
static int remove_one(const char *path, const struct stat *st, int flag,
    struct FTW *ftw);

static void
die_hook(int status)
{
	(void)status;
	if (fuzz_armed)
		longjmp(fuzz_jmp, 1);
	abort();
}

void
fuzz_setup(const char *name)
{
	const char *base;
	int fd;

	cdr_msg_init(name);
	cdr_die_hook = die_hook;
	/* Results the code under test prints are of no interest. */
	if ((fd = open("/dev/null", O_WRONLY)) < 0 ||
	    dup2(fd, STDOUT_FILENO) < 0) {
		perror("/dev/null");
		abort();
	}
	close(fd);
	base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
	if (base == NULL || *base == '\0')
		base = "/tmp";
	snprintf(tmpdir, sizeof(tmpdir), "%s/cdrfuzz.XXXXXX", base);
	if (mkdtemp(tmpdir) == NULL) {
		perror(tmpdir);
		abort();
	}
	atexit(remove_tmpdir);
}

const char *
fuzz_dir(void)
{
	return tmpdir;
}

const char *
fuzz_file(const char *name, const void *data, size_t size)
{
	const char *p = data;
	ssize_t n;
	int fd;

	snprintf(pathbuf, sizeof(pathbuf), "%s/%s", tmpdir, name);
	fd = open(pathbuf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		perror(pathbuf);
		abort();
	}
	while (size > 0) {
		n = write(fd, p, size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			perror(pathbuf);
			abort();
		}
		p += n;
		size -= (size_t)n;
	}
	close(fd);
	return pathbuf;
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	if (ftw->level > 0 && remove(path) != 0 && errno != ENOENT)
		perror(path);
	return 0;
}

void
fuzz_empty_dir(const char *path)
{
	nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
remove_tmpdir(void)
{
	fuzz_empty_dir(tmpdir);
	rmdir(tmpdir);
}

void
fuzz_split(const uint8_t *data, size_t size, const uint8_t **a, size_t *alen,
    const uint8_t **b, size_t *blen)
{
	size_t i;

	for (i = 0; i + 4 <= size; i++) {
		if ((i == 0 || data[i - 1] == '\n') &&
		    memcmp(data + i, "---\n", 4) == 0) {
			*a = data;
			*alen = i;
			*b = data + i + 4;
			*blen = size - i - 4;
			return;
		}
	}
	*a = data;
	*alen = size;
	*b = data + size;
	*blen = 0;
}

char *
fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#ifdef FUZZ_ASAN
/* Open addressing; a block is its address, NULL is a free slot. */
#define TRACK_SLOTS (1 << 16)
static const volatile void *tracked[TRACK_SLOTS];
static size_t ntracked;
static volatile int tracking;

static size_t
track_slot(const volatile void *p)
{
	return ((uintptr_t)p >> 4) * UINT64_C(0x9E3779B97F4A7C15) >> 48;
}

static void
track_malloc(const volatile void *p, size_t size)
{
	size_t i;

	(void)size;
	if (!tracking || p == NULL)
		return;
	if (ntracked + 1 >= TRACK_SLOTS)
		abort();
	for (i = track_slot(p); tracked[i] != NULL; i = (i + 1) % TRACK_SLOTS)
		;
	tracked[i] = p;
	ntracked++;
}

static void
track_free(const volatile void *p)
{
	size_t i, j, k;

	if (!tracking || ntracked == 0 || p == NULL)
		return;
	for (i = track_slot(p); tracked[i] != NULL && tracked[i] != p;
	    i = (i + 1) % TRACK_SLOTS)
		;
	if (tracked[i] == NULL)
		return;
	/* Backward-shift deletion keeps every probe chain unbroken. */
	tracked[i] = NULL;
	ntracked--;
	for (j = (i + 1) % TRACK_SLOTS; tracked[j] != NULL;
	    j = (j + 1) % TRACK_SLOTS) {
		k = track_slot(tracked[j]);
		if ((j > i && (k <= i || k > j)) ||
		    (j < i && k <= i && k > j)) {
			tracked[i] = tracked[j];
			tracked[j] = NULL;
			i = j;
		}
	}
}
#endif

void
fuzz_track_begin(void)
{
#ifdef FUZZ_ASAN
	static int installed;

	if (!installed) {
		if (__sanitizer_install_malloc_and_free_hooks(track_malloc,
		    track_free) == 0)
			abort();
		installed = 1;
	}
	tracking = 1;
#endif
}

void
fuzz_track_end(int release)
{
#ifdef FUZZ_ASAN
	size_t i;

	/* Not recording any more, so these frees leave the table alone. */
	tracking = 0;
	for (i = 0; i < TRACK_SLOTS && ntracked > 0; i++) {
		if (tracked[i] != NULL) {
			if (release)
				free((void *)(uintptr_t)tracked[i]);
			tracked[i] = NULL;
			ntracked--;
		}
	}
#else
	(void)release;
#endif
}

/* A JSON string written by the library must read back as the same bytes. */
static void
check_string_roundtrip(const char *s, size_t n)
{
	struct cdr_buf doc = CDR_BUF_INIT, scratch = CDR_BUF_INIT;
	struct cdr_record rec;
	struct cdr_value root, v;
	const char *back;
	uint32_t cap = 0;
	size_t len;

	if (!cdr_utf8_valid(s, n))
		return;
	cdr_buf_adds(&doc, "{\"k\":");
	cdr_buf_json_string(&doc, s, n);
	cdr_buf_adds(&doc, "}");
	memset(&rec, 0, sizeof(rec));
	rec.line = doc.p;
	rec.len = doc.len;
	if (cdr_json_parse(&rec, &cap) != 0)
		abort();
	cdr_record_root(&rec, &root);
	if (!cdr_value_member(&root, "k", 1, &v) || v.type != CDR_T_STRING)
		abort();
	back = cdr_value_str(&v, &scratch, &len);
	if (back == NULL || len != n || memcmp(back, s, n) != 0)
		abort();
	free(rec.nodes);
	cdr_buf_free(&doc);
	cdr_buf_free(&scratch);
}

static void
walk(const struct cdr_value *parent, struct cdr_buf *scratch, int depth)
{
	struct cdr_value v, again;
	const char *s;
	size_t len;
	double d;
	int64_t i;

	if (!cdr_value_child(parent, &v))
		return;
	do {
		s = cdr_value_key(&v, scratch, &len);
		if (s != NULL && parent->type == CDR_T_OBJECT) {
			/* A member is found again by its name. */
			char *name = fuzz_strndup((const uint8_t *)s, len);

			if (strlen(name) == len && cdr_value_member(parent,
			    name, len, &again) && again.type == CDR_T_MISSING)
				abort();
			free(name);
		}
		(void)cdr_value_double(&v, &d);
		(void)cdr_value_int64(&v, &i);
		(void)cdr_type_name(v.type);
		s = cdr_value_str(&v, scratch, &len);
		if (s == NULL && v.rec->format == CDR_FMT_CSV)
			abort();
		if (s != NULL && v.type == CDR_T_STRING) {
			char *copy = fuzz_strndup((const uint8_t *)s, len);

			check_string_roundtrip(copy, len);
			free(copy);
		}
		if (depth < CDR_MAX_DEPTH &&
		    (v.type == CDR_T_OBJECT || v.type == CDR_T_ARRAY))
			walk(&v, scratch, depth + 1);
	} while (cdr_value_next(&v));
}

void
fuzz_walk_record(const struct cdr_record *rec)
{
	static const char *const paths[] = {
		"call_id", "tenant_id", "start_time", "meta.campaign_id",
		"a.b.c", "a", "", ".", "a..b", "meta."
	};
	struct cdr_buf scratch = CDR_BUF_INIT;
	struct cdr_value root, v;
	struct cdr_path path;
	uint32_t hint = 0;
	size_t k;

	cdr_record_root(rec, &root);
	walk(&root, &scratch, 1);
	for (k = 0; k < sizeof(paths) / sizeof(paths[0]); k++) {
		if (cdr_path_init(&path, paths[k]) != 0)
			continue;
		(void)cdr_record_get(rec, &path, &v);
		(void)cdr_record_get_hint(rec, &path, &v, &hint);
		(void)cdr_record_get_hint(rec, &path, &v, &hint);
		cdr_path_free(&path);
	}
	cdr_write_ndjson(cdr_out_stdout(), rec);
	cdr_buf_free(&scratch);
}

void
fuzz_read_all(struct cdr_reader *r, const char *path)
{
	struct cdr_record *rec;
	size_t ncols;

	if (cdr_reader_open(r, path) != 0)
		return;
	while (cdr_reader_next(r, &rec) == 1) {
		if (rec->len > 0 && rec->line == NULL)
			abort();
		if (!rec->bad)
			fuzz_walk_record(rec);
	}
	(void)cdr_reader_columns(r, &ncols);
	(void)cdr_reader_format(r);
}
