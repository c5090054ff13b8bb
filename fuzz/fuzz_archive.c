/*
 * Archives: the input is a (compressed) archive or compressed file, read
 * member by member through common/input.c as every tool reads its input,
 * and restored by cdr-tier restore (tools/cdr-tier.c) into a scratch
 * directory, which must refuse members that would land outside it.
 *
 * cdr-tier's functions are static, so its source is included here, with
 * its main renamed.  restore ends the program on a damaged archive
 * (cdr_die); here cdr_die returns to the harness, which then frees the
 * libarchive handles restore had open: their allocation is wrapped for
 * that.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#include <archive.h>

#include "fuzz.h"

#define MAX_HANDLES 8

static struct archive *handles[MAX_HANDLES];
static int handle_is_read[MAX_HANDLES];

static struct archive *track_read_new(void);
static struct archive *track_write_disk_new(void);
static int track_read_free(struct archive *a);
static int track_write_free(struct archive *a);
static void track(struct archive *a, int is_read);
static void untrack(struct archive *a);

#define archive_read_new track_read_new
#define archive_write_disk_new track_write_disk_new
#define archive_read_free track_read_free
#define archive_write_free track_write_free
int cdr_tier_main(int argc, char **argv);
#define main cdr_tier_main
#include "../tools/cdr-tier.c"
#undef main
#undef archive_read_new
#undef archive_write_disk_new
#undef archive_read_free
#undef archive_write_free

/* Enough to see members decompressed, not a whole decompression bomb. */
#define MAX_READ ((size_t)8 << 20)

static struct tier t;
static char target[512];
static int home = -1;

static void read_members(const char *path);
static void check_tree(const char *dir, size_t depth);

static void
track(struct archive *a, int is_read)
{
	size_t i;

	for (i = 0; i < MAX_HANDLES && a != NULL; i++) {
		if (handles[i] == NULL) {
			handles[i] = a;
			handle_is_read[i] = is_read;
			return;
		}
	}
}

static void
untrack(struct archive *a)
{
	size_t i;

	for (i = 0; i < MAX_HANDLES; i++)
		if (handles[i] == a)
			handles[i] = NULL;
}

static int
track_read_free(struct archive *a)
{
	untrack(a);
	return archive_read_free(a);
}

static int
track_write_free(struct archive *a)
{
	untrack(a);
	return archive_write_free(a);
}

static struct archive *
track_read_new(void)
{
	struct archive *a = archive_read_new();

	track(a, 1);
	return a;
}

static struct archive *
track_write_disk_new(void)
{
	struct archive *a = archive_write_disk_new();

	track(a, 0);
	return a;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_setup("fuzz_archive");
	snprintf(target, sizeof(target), "%s/restore", fuzz_dir());
	/* restore changes directory; the harness goes back each time. */
	if ((home = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		abort();
	return 0;
}

static void
read_members(const char *path)
{
	struct cdr_input *in;
	const void *buf;
	size_t total = 0;
	ssize_t n;

	if ((in = cdr_input_open(path)) == NULL)
		return;
	do {
		(void)cdr_input_name(in);
		(void)cdr_input_filter(in);
		while (total < MAX_READ && (n = cdr_input_read(in, &buf)) > 0)
			total += (size_t)n;
	} while (total < MAX_READ && cdr_input_next_member(in) == 1);
	cdr_input_close(in);
}

/* Everything restored is a plain file or directory below the target. */
static void
check_tree(const char *dir, size_t depth)
{
	struct dirent *de;
	struct stat st;
	char path[4096];
	DIR *d;

	if (depth > 64 || (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lstat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode))
			check_tree(path, depth + 1);
		else if (!S_ISREG(st.st_mode))
			abort();
	}
	closedir(d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path;
	size_t i;

	path = cdr_xstrdup(fuzz_file("in.archive", data, size));
	read_members(path);

	memset(&t, 0, sizeof(t));
	t.journal_fd = -1;
	t.quiet = 1;
	t.out = cdr_out_stdout();
	t.archive_path = path;
	t.target_dir = target;
	t.force = size % 2;
	fuzz_armed = 1;
	if (setjmp(fuzz_jmp) == 0)
		run_restore(&t, 0, NULL);
	fuzz_armed = 0;
	/* What restore had open when it died. */
	for (i = 0; i < MAX_HANDLES; i++) {
		if (handles[i] == NULL)
			continue;
		if (handle_is_read[i])
			archive_read_free(handles[i]);
		else
			archive_write_free(handles[i]);
		handles[i] = NULL;
	}
	if (fchdir(home) != 0)
		abort();
	check_tree(target, 0);
	fuzz_empty_dir(target);
	cdr_out_flush(t.out);
	free(path);
	return 0;
}
