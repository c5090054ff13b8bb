/*
 * Replays inputs through a harness without libFuzzer: each file named on
 * the command line, or every file of a named directory (in name order), is
 * passed to LLVMFuzzerTestOneInput once.  Built with any C compiler, so
 * make check replays the seed corpus and the regression inputs.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static int replay(const char *path);
static int by_name(const void *a, const void *b);

static int
replay(const char *path)
{
	struct stat st;
	uint8_t *data;
	FILE *fp;
	size_t n;

	if ((fp = fopen(path, "rb")) == NULL || fstat(fileno(fp), &st) != 0) {
		perror(path);
		return -1;
	}
	/* At least one byte, so that an empty file is not a NULL buffer. */
	if ((data = malloc((size_t)st.st_size + 1)) == NULL) {
		perror(path);
		fclose(fp);
		return -1;
	}
	n = fread(data, 1, (size_t)st.st_size, fp);
	if (ferror(fp) || n != (size_t)st.st_size) {
		fprintf(stderr, "%s: read error\n", path);
		free(data);
		fclose(fp);
		return -1;
	}
	fclose(fp);
	/* Names the input that a crash or sanitizer report is about. */
	fprintf(stderr, "replay: %s\n", path);
	LLVMFuzzerTestOneInput(data, n);
	free(data);
	return 0;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
main(int argc, char **argv)
{
	struct dirent *de;
	struct stat st;
	char **names, path[4096];
	size_t nnames, i, done = 0;
	int status = 0;
	DIR *d;

	LLVMFuzzerInitialize(&argc, &argv);
	for (int a = 1; a < argc; a++) {
		if (stat(argv[a], &st) != 0) {
			perror(argv[a]);
			status = 1;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (replay(argv[a]) != 0)
				status = 1;
			else
				done++;
			continue;
		}
		if ((d = opendir(argv[a])) == NULL) {
			perror(argv[a]);
			status = 1;
			continue;
		}
		names = NULL;
		nnames = 0;
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			names = realloc(names, (nnames + 1) * sizeof(*names));
			if (names == NULL || (names[nnames] =
			    strdup(de->d_name)) == NULL) {
				perror("out of memory");
				return 1;
			}
			nnames++;
		}
		closedir(d);
		if (nnames > 0)
			qsort(names, nnames, sizeof(*names), by_name);
		for (i = 0; i < nnames; i++) {
			snprintf(path, sizeof(path), "%s/%s", argv[a],
			    names[i]);
			if (replay(path) != 0)
				status = 1;
			else
				done++;
			free(names[i]);
		}
		free(names);
	}
	fprintf(stderr, "%s: %zu inputs replayed\n", argv[0], done);
	return status;
}
