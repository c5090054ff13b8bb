/*
 * cdr-partition internals: the path-segment encoding, the shard hash, path
 * templates and the partition writer.  See cdr-partition(1) for the
 * documented, stable definitions.
 */
#ifndef PARTITION_H
#define PARTITION_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cdrtime.h"
#include "out.h"
#include "record.h"

/* ---- encode.c: values as path segments, and the shard hash ---- */

/* An encoded value longer than this is shortened (see seg_encode). */
#define SEG_VALUE_MAX	100
/* What is kept of a shortened value's encoding, before "%=" and the hash. */
#define SEG_VALUE_KEEP	64

/*
 * Appends the encoding of the value s[0..n) to out: bytes outside
 * [A-Za-z0-9._-] as "%XX" (upper-case hex), and a first byte '.' or '-'
 * too; the empty value as "%_".  An encoding longer than SEG_VALUE_MAX
 * bytes becomes its first SEG_VALUE_KEEP bytes (cut before an escape),
 * "%=" and the 32 hex digits of XXH3-128 of the value.  An encoding never
 * holds '@' or '~', which decorate file names (batch id, sequence).
 */
void seg_encode(struct cdr_buf *out, const char *s, size_t n);
/* 1 if c may separate two values in one segment (never in an encoding). */
int seg_separator(int c);

enum shard_fn {
	SHARD_JUMP,	/* jump consistent hash of XXH3-64 */
	SHARD_MOD	/* XXH3-64 modulo N */
};

uint64_t key_hash(const void *p, size_t n);
uint32_t shard_of(uint64_t hash, uint32_t nshards, enum shard_fn fn);

/* ---- map.c: byte strings to pointers ---- */

struct map {
	struct slot	*slots;
	size_t		 cap;
	size_t		 n;
};

void map_init(struct map *m);
void map_free(struct map *m);
void *map_get(const struct map *m, const char *k, size_t n);
void map_put(struct map *m, const char *k, size_t n, void *val);

/* ---- template.c: path templates ---- */

struct tmpl;

/*
 * Compiles a path template such as "{tenant_id}/{start_time:%Y/%m/%d}/x".
 * Returns NULL with a reason in err.
 */
struct tmpl *tmpl_compile(const char *text, const struct cdr_tz *tz,
    char *err, size_t errlen);
void tmpl_free(struct tmpl *t);
/* Length of the literal extension (".ndjson") that ends every expansion. */
size_t tmpl_ext_len(const struct tmpl *t);
/* Value used for a missing or null field (NULL: the record is rejected). */
void tmpl_set_missing(struct tmpl *t, const char *value);

/* Why a record has no path: for the dead letter. */
struct reject {
	const char	*field;
	const char	*check;
	char		 message[200];
};

/*
 * Appends the relative path of rec to path.  Returns 0, or -1 with *why
 * filled (a missing field, a time that does not parse, an unsafe path).
 */
int tmpl_expand(struct tmpl *t, const struct cdr_record *rec,
    struct cdr_buf *path, struct reject *why);
/* The placeholders' values for rec, as the members of a JSON object. */
void tmpl_values_json(struct tmpl *t, const struct cdr_record *rec,
    struct cdr_buf *out);

/*
 * The bytes of a key value: a string unescaped, a number or boolean as
 * written.  Returns 0, or -1 with *why filled.  missing may be NULL.
 */
int value_bytes(const struct cdr_value *v, const char *path,
    const char *missing, struct cdr_buf *scratch, const char **s, size_t *n,
    struct reject *why);

/* ---- convert.c: output bytes of a record ---- */


struct conv;

struct conv *conv_new(enum cdr_format out);
void conv_free(struct conv *c);
/* CSV output: the columns, given or taken from the first record. */
int conv_has_columns(const struct conv *c);
void conv_set_columns(struct conv *c, const char *const *names, size_t n);
void conv_columns_from(struct conv *c, const struct cdr_record *rec);
/* The CSV header line, with its newline, appended to out. */
void conv_header(const struct conv *c, struct cdr_buf *out);
/*
 * The bytes to write for rec (without the newline): rec itself when it is
 * already in the output form, else converted.  src_cols are the columns of
 * a CSV source.  Returns 0, or -1 with *why (a field that is not a column).
 */
int conv_record(struct conv *c, const struct cdr_record *rec,
    const char *const *src_cols, size_t nsrc, const char **p, size_t *n,
    struct reject *why);

/* ---- writer.c: partitions, batch files, commit ---- */

struct writer_opts {
	const char	*dir;		/* the root, as given */
	int		 gzip;
	int		 level;
	uint64_t	 max_records;	/* 0: no limit */
	uint64_t	 max_bytes;	/* 0: no limit */
	const char	*batch_id;	/* NULL: none */
	int		 force;		/* replace existing files */
	int		 fsync;
	size_t		 max_open;
	size_t		 budget;	/* bytes of pending output */
	size_t		 threads;	/* writer threads */
};

struct writer;
struct part;

struct writer *writer_new(const struct writer_opts *o);
void writer_free(struct writer *w);
/* Bytes that start every file (a CSV header); set before any record. */
void writer_set_header(struct writer *w, const char *p, size_t n);
/*
 * A new partition writing to DIR/rel: reldir ("" or "a/b"), the file name
 * before decorations (stem) and after them (ext).  extra holds manifest
 * members to add (",\"shard\":3").
 */
struct part *writer_part(struct writer *w, const char *reldir,
    const char *stem, const char *ext, const char *extra);
/* Appends one record (n bytes, without the newline) to the partition. */
void writer_append(struct writer *w, struct part *p, const char *rec,
    size_t n);
/*
 * Writes what is pending, makes every file durable and renames it into
 * place, gives every partition at least one file when all_parts, and
 * writes one manifest line per committed file to manifest.
 */
void writer_commit(struct writer *w, int all_parts, struct cdr_out *manifest);
uint64_t writer_files(const struct writer *w);

#endif
