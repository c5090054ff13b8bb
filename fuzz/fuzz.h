/*
 * Shared by the fuzz harnesses: set-up, temporary files, and the way back
 * from cdr_die().
 *
 * Each harness defines LLVMFuzzerInitialize and LLVMFuzzerTestOneInput.
 * Built with clang -fsanitize=fuzzer they run under libFuzzer; built with
 * driver.c (any compiler) they replay files named on the command line.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Where cdr_die() returns to while fuzz_armed is set: a bad input that
 * makes a tool end (a bad policy, say) is a defined outcome, not a crash.
 * A cdr_die() while not armed aborts, so it is reported.
 */
extern jmp_buf fuzz_jmp;
extern volatile int fuzz_armed;

/*
 * Common set-up: C locale, the die hook, stdout to /dev/null (tools write
 * results there), and a private temporary directory removed at exit.
 */
void fuzz_setup(const char *name);
/* The private temporary directory (on tmpfs when there is one). */
const char *fuzz_dir(void);
/* Writes data to NAME in the temporary directory; returns its path. */
const char *fuzz_file(const char *name, const void *data, size_t size);
/* Removes everything below path, keeping path itself. */
void fuzz_empty_dir(const char *path);
/*
 * Splits data at the first line "---": *a gets what is before it, *b what
 * is after.  Without one, all of data is *a and *b is empty.
 */
void fuzz_split(const uint8_t *data, size_t size, const uint8_t **a,
    size_t *alen, const uint8_t **b, size_t *blen);
/* A NUL-terminated copy (cut at an inner NUL); free() it. */
char *fuzz_strndup(const uint8_t *data, size_t size);

struct cdr_record;
/*
 * Visits every value of a good record the ways tools do: names, unescaped
 * strings, numbers, dotted paths; writes it out and checks that a string
 * written as JSON reads back as the same bytes.
 */
void fuzz_walk_record(const struct cdr_record *rec);
/*
 * Reads every record of the file at path with r.  Harnesses keep their
 * readers from input to input, as tools do from file to file (a reader's
 * buffer is megabytes: one per input would slow fuzzing down).
 */
struct cdr_reader;
void fuzz_read_all(struct cdr_reader *r, const char *path);

/*
 * Code that ends the program on bad input (cdr_die) leaves its memory to
 * the exit; after fuzz_jmp brings the harness back, that memory would pile
 * up.  Heap blocks allocated between fuzz_track_begin and fuzz_track_end
 * are recorded (under AddressSanitizer, which reports every allocation);
 * fuzz_track_end(1) frees those still allocated, fuzz_track_end(0) just
 * stops recording.
 */
void fuzz_track_begin(void);
void fuzz_track_end(int release);

#endif
