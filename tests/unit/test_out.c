/*
 * Atomic output: commit, refusal to overwrite, abort, gzip, write errors,
 * EPIPE, and clean-up of temporary files on signals.  Also the writers.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"
#include "out.h"
#include "write.h"
#include "unit.h"

static char dir[] = "/tmp/cdr-test-out.XXXXXX";

static char *
slurp(const char *path, size_t *n)
{
	static char data[65536];
	FILE *fp = fopen(path, "rb");

	*n = 0;
	if (fp == NULL)
		return NULL;
	*n = fread(data, 1, sizeof(data) - 1, fp);
	data[*n] = '\0';
	fclose(fp);
	return data;
}

/* Number of hidden temporary files in dir. */
static int
tmp_count(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strstr(e->d_name, ".tmp.") != NULL)
			n++;
	closedir(d);
	return n;
}

static void
test_commit(void)
{
	char p[256];
	struct cdr_out *o;
	struct stat st;
	size_t n;
	char *s;

	snprintf(p, sizeof(p), "%s/a.txt", dir);
	o = cdr_out_open(p, 0);
	CHECK(o != NULL);
	cdr_out_puts(o, "hello ");
	cdr_out_printf(o, "%d %s\n", 42, "world");
	cdr_out_flush(o);
	/* Until commit the name does not exist; a hidden temporary does. */
	CHECK(access(p, F_OK) != 0);
	CHECK_INT(tmp_count(), 1);
	CHECK_INT(cdr_out_bytes(o), 15);
	cdr_out_commit(o);
	CHECK_INT(tmp_count(), 0);
	s = slurp(p, &n);
	CHECK_STR(s, "hello 42 world\n");
	CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0644);

	/* An existing file is kept without CDR_OUT_FORCE... */
	CHECK(cdr_out_open(p, 0) == NULL);
	/* ...and replaced with it. */
	o = cdr_out_open(p, CDR_OUT_FORCE);
	CHECK(o != NULL);
	cdr_out_puts(o, "new\n");
	cdr_out_commit(o);
	CHECK_STR(slurp(p, &n), "new\n");

	/* Abort leaves the old file and no temporary. */
	o = cdr_out_open(p, CDR_OUT_FORCE);
	cdr_out_puts(o, "discarded\n");
	cdr_out_abort(o);
	CHECK_STR(slurp(p, &n), "new\n");
	CHECK_INT(tmp_count(), 0);

	/* A directory is not a file. */
	CHECK(cdr_out_open(dir, CDR_OUT_FORCE) == NULL);
}

static void
test_gzip(void)
{
	char p[256], cmd[600];
	struct cdr_out *o;
	size_t n, i;

	snprintf(p, sizeof(p), "%s/b.gz", dir);
	o = cdr_out_open(p, CDR_OUT_GZIP);
	cdr_out_set_level(o, 1);
	for (i = 0; i < 1000; i++)
		cdr_out_printf(o, "line %zu\n", i);
	cdr_out_commit(o);
	snprintf(cmd, sizeof(cmd), "gzip -dc %s | sed -n '1p;1000p' > %s/b.txt",
	    p, dir);
	CHECK_INT(system(cmd), 0);
	snprintf(p, sizeof(p), "%s/b.txt", dir);
	CHECK_STR(slurp(p, &n), "line 0\nline 999\n");
	/* An empty gzip output is a valid gzip file. */
	snprintf(p, sizeof(p), "%s/empty.gz", dir);
	o = cdr_out_open(p, CDR_OUT_GZIP);
	cdr_out_commit(o);
	snprintf(cmd, sizeof(cmd), "test -z \"$(gzip -dc %s)\"", p);
	CHECK_INT(system(cmd), 0);
}

/* Runs fn in a child; returns its wait status. */
static int
in_child(void (*fn)(void))
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		fn();
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

static void
write_dev_full(void)
{
	struct cdr_out *o;
	int i;

	freopen("/dev/null", "w", stderr);
	o = cdr_out_open("/dev/full", 0);
	for (i = 0; i < 100000; i++)
		cdr_out_puts(o, "0123456789\n");
	cdr_out_commit(o);
}

static void
write_closed_pipe(void)
{
	int fd[2];
	int i;

	if (pipe(fd) != 0)
		_exit(99);
	close(fd[0]);
	dup2(fd[1], 1);
	cdr_msg_init("t");
	for (i = 0; i < 100000; i++)
		cdr_out_puts(cdr_out_stdout(), "0123456789\n");
	cdr_out_finish();
	_exit(98);
}

static void
killed_mid_write(void)
{
	char p[256];
	struct cdr_out *o;

	snprintf(p, sizeof(p), "%s/killed.txt", dir);
	o = cdr_out_open(p, 0);
	cdr_out_puts(o, "partial");
	cdr_out_flush(o);
	raise(SIGTERM);
	_exit(97);
}

static void
test_failures(void)
{
	char p[256];
	int st;

	st = in_child(write_dev_full);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == CDR_EXIT_IO);
	st = in_child(write_closed_pipe);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE);
	st = in_child(killed_mid_write);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	snprintf(p, sizeof(p), "%s/killed.txt", dir);
	CHECK(access(p, F_OK) != 0);
	CHECK_INT(tmp_count(), 0);
}

static void
test_writers(void)
{
	static const char *const cells[] = { "plain", "a,b", "say \"hi\"",
	    "two\nlines", "", "cr\r" };
	static const size_t lens[] = { 5, 3, 8, 9, 0, 3 };
	char p[256];
	struct cdr_out *o;
	size_t n;

	snprintf(p, sizeof(p), "%s/w.txt", dir);
	o = cdr_out_open(p, 0);
	cdr_write_json_string(o, "q\"b\\n\n\t\x01 \xc3\xa9 \xff\xfe x", 16);
	cdr_out_putc(o, '\n');
	cdr_write_csv_row(o, cells, lens, 6, ',');
	cdr_write_base64(o, "", 0);
	cdr_out_putc(o, '|');
	cdr_write_base64(o, "f", 1);
	cdr_out_putc(o, '|');
	cdr_write_base64(o, "fo", 2);
	cdr_out_putc(o, '|');
	cdr_write_base64(o, "foo", 3);
	cdr_out_putc(o, '|');
	cdr_write_base64(o, "foobar", 6);
	cdr_out_putc(o, '\n');
	cdr_out_commit(o);
	CHECK_STR(slurp(p, &n),
	    "\"q\\\"b\\\\n\\n\\t\\u0001 \xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd x\"\n"
	    "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"\",\"cr\r\"\n"
	    "|Zg==|Zm8=|Zm9v|Zm9vYmFy\n");
}

int
main(int argc, char **argv)
{
	char cmd[600];

	(void)argc;
	cdr_msg_init(argv[0]);
	umask(022);
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	test_commit();
	test_gzip();
	test_failures();
	test_writers();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	UNIT_DONE();
}
