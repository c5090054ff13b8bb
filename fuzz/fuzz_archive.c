/*
 * Archives: the input is a (compressed) archive or compressed file, read
 * member by member through common/input.c as every tool reads its input,
 * restored by cdr-tier restore (tools/cdr-tier.c) into a scratch directory,
 * which must refuse members that would land outside it, and taken by
 * cdr-tier apply as the existing archive of a call day that one more
 * recording is packed into (its members copied, the result read back and
 * indexed).
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
static char packdir[512];
static int home = -1;

static void read_members(const char *path);
static void check_tree(const char *dir, size_t depth);
static int small_archive(const char *path);
static void pack_into(const uint8_t *data, size_t size);
static void free_handles(void);

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

/* The handles cdr-tier had open when it died. */
static void
free_handles(void)
{
	size_t i;

	for (i = 0; i < MAX_HANDLES; i++) {
		if (handles[i] == NULL)
			continue;
		if (handle_is_read[i])
			archive_read_free(handles[i]);
		else
			archive_write_free(handles[i]);
		handles[i] = NULL;
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_setup("fuzz_archive");
	snprintf(target, sizeof(target), "%s/restore", fuzz_dir());
	snprintf(packdir, sizeof(packdir), "%s/pack", fuzz_dir());
	if (mkdir(packdir, 0700) != 0)
		abort();
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
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
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

/*
 * Whether every member header reads and the members' sizes are small: a
 * damaged archive whose member claims gigabytes makes the archive writer
 * pad that member with zeros when the copy stops, which is slow, not
 * wrong.
 */
static int
small_archive(const char *path)
{
	struct archive *a;
	struct archive_entry *e;
	int64_t sum = 0;
	int n = 0, r;

	if ((a = archive_read_new()) == NULL)
		abort();
	archive_read_support_filter_all(a);
	archive_read_support_format_all(a);
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
		archive_read_free(a);
		return 0;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK &&
	    ++n <= 64 && sum <= (1 << 20))
		if (archive_entry_size_is_set(e) && archive_entry_size(e) > 0)
			sum += archive_entry_size(e);
	archive_read_free(a);
	return r == ARCHIVE_EOF && n <= 64 && sum <= (1 << 20);
}

static void
pack_into(const uint8_t *data, size_t size)
{
	static const char recording[] = "RIFF\x24\0\0\0WAVEfmt ";
	char to[600], src[600], journal_path[600];
	struct pack pk;

	snprintf(to, sizeof(to), "%s/2026-01-01.tar.zst", packdir);
	snprintf(src, sizeof(src), "%s/a.wav", packdir);
	snprintf(journal_path, sizeof(journal_path), "%s/journal", packdir);
	fuzz_empty_dir(packdir);
	fuzz_file("pack/a.wav", recording, sizeof(recording) - 1);
	fuzz_file("pack/2026-01-01.tar.zst", data, size);
	if (!small_archive(to))
		return;
	memset(&t, 0, sizeof(t));
	t.journal_fd = -1;
	t.journal_path = journal_path;
	t.quiet = 1;
	t.out = cdr_out_stdout();
	pk.path = src;
	pk.to = to;
	pk.member = (char *)(uintptr_t)"2026/01/01/a.wav";
	pk.seq = 0;
	pk.verified = 0;
	fuzz_armed = 1;
	if (setjmp(fuzz_jmp) == 0)
		pack_group(&t, &pk, 1);
	fuzz_armed = 0;
	free_handles();
	if (t.journal_fd >= 0)
		close(t.journal_fd);
	/* Verified and packed: the recording is in the archive, not beside. */
	if (t.done == 1 && access(src, F_OK) == 0)
		abort();
	fuzz_empty_dir(packdir);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path;

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
	free_handles();
	if (fchdir(home) != 0)
		abort();
	check_tree(target, 0);
	fuzz_empty_dir(target);
	pack_into(data, size);
	cdr_out_flush(t.out);
	free(path);
	return 0;
}
