/*
 * The record model: one NDJSON line, or one CSV row with a header (or
 * column names given by a schema), parsed into the same field view.
 *
 * A parsed record is a tape of nodes in document order.  Node 0 is the
 * record itself (an object).  A container's children follow it directly;
 * `next` links siblings (0 ends the list).  Keys and values point into the
 * input bytes (zero-copy) and are unescaped only when asked for.
 *
 * A CSV row becomes an object whose members are the columns, in order;
 * every cell is a string (escaped form: doubled quotes inside a quoted
 * cell), except an empty unquoted cell, which is null.  `""` is the empty
 * string.
 */
#ifndef CDR_RECORD_H
#define CDR_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "input.h"

enum cdr_type {
	CDR_T_MISSING = 0,
	CDR_T_NULL,
	CDR_T_FALSE,
	CDR_T_TRUE,
	CDR_T_NUMBER,
	CDR_T_STRING,
	CDR_T_OBJECT,
	CDR_T_ARRAY
};

enum {
	CDR_N_KEY_ESC = 1 << 0,	/* key holds JSON escapes */
	CDR_N_VAL_ESC = 1 << 1,	/* string value holds escapes */
	CDR_N_CSV = 1 << 2	/* escapes are CSV doubled quotes */
};

struct cdr_node {
	const char	*key;	/* member name (escaped form), NULL in arrays */
	const char	*val;	/* strings: between the quotes; else the text */
	uint32_t	 klen;
	uint32_t	 vlen;
	uint32_t	 next;	/* next sibling, 0 at the end */
	uint32_t	 nchild;	/* number of direct children */
	uint32_t	 parent;	/* the container holding it (0 for node 0) */
	uint8_t		 type;	/* enum cdr_type */
	uint8_t		 flags;
};

enum cdr_format {
	CDR_FMT_AUTO = 0,
	CDR_FMT_NDJSON,
	CDR_FMT_CSV
};

/* "ndjson", "csv", or "auto" when allow_auto: 0, else -1. */
int cdr_format_parse(const char *s, int allow_auto, enum cdr_format *fmt);

#define CDR_ROOT_SLOTS	128	/* a power of two */

struct cdr_record {
	const char	*line;	/* raw bytes, without the line terminator */
	size_t		 len;
	const char	*source;	/* file name, "stdin" or "ARCHIVE:MEMBER" */
	uint64_t	 lineno;	/* 1-based line where the record starts */
	uint64_t	 offset;	/* byte offset of the record in its source */
	enum cdr_format	 format;
	int		 bad;	/* nonzero: not a valid record; see err */
	char		 err[160];	/* "column N: reason" when bad */
	struct cdr_node	*nodes;
	uint32_t	 nnodes;
	/*
	 * A cache over the top-level members, built by the first look-up
	 * that scans them (0: not built, 1: built, -1: not usable), so that
	 * records of mixed shapes find fields in constant time.  Parsing a
	 * record resets it.
	 */
	int		 root_indexed;
	uint32_t	 root_slot[CDR_ROOT_SLOTS];
	/*
	 * One bit per top-level member name (cdr_key_bit), set by the JSON
	 * parser when it is complete (root_keys_ok): a name whose bit is
	 * clear is not there, which is the answer of most look-ups of a
	 * field that only some kinds of record have.
	 */
	uint64_t	 root_keys;
	int		 root_keys_ok;
};

/* A value seen through the tape: type, text, and its node for navigation. */
struct cdr_value {
	const struct cdr_record	*rec;
	uint32_t		 node;
	enum cdr_type		 type;
	const char		*p;	/* as cdr_node.val */
	size_t			 len;
};

/* A compiled dotted path ("meta.campaign_id"). */
struct cdr_path {
	char	 *text;		/* the full path, NUL-terminated */
	size_t	  textlen;
	size_t	  nseg;
	struct cdr_seg {
		const char	*s;
		size_t		 n;
	}	 *seg;
};

int cdr_path_init(struct cdr_path *path, const char *dotted);
void cdr_path_free(struct cdr_path *path);

/*
 * Looks the path up in the record: 1 and *v filled when found, else 0 and
 * v->type == CDR_T_MISSING.  Dotted segments walk nested objects; a member
 * whose own name is the whole dotted text (a CSV column "meta.x", or a
 * JSON key containing dots) also matches.
 */
int cdr_record_get(const struct cdr_record *rec, const struct cdr_path *path,
    struct cdr_value *v);
/*
 * As cdr_record_get, trying first the node *hint where the path was found
 * in an earlier record: records of one producer share their layout, so
 * most look-ups cost one comparison per path segment.  *hint starts at 0.
 */
int cdr_record_get_hint(const struct cdr_record *rec,
    const struct cdr_path *path, struct cdr_value *v, uint32_t *hint);
/* A direct member of the container v by name; 1 when found. */
int cdr_value_member(const struct cdr_value *obj, const char *name, size_t n,
    struct cdr_value *v);
/* The whole record as a value (node 0). */
void cdr_record_root(const struct cdr_record *rec, struct cdr_value *v);
/* First child / next sibling: 1 while there is one. */
int cdr_value_child(const struct cdr_value *parent, struct cdr_value *v);
int cdr_value_next(struct cdr_value *v);
/* Member name of v (unescaped into scratch when needed); NULL in arrays. */
const char *cdr_value_key(const struct cdr_value *v, struct cdr_buf *scratch,
    size_t *len);

/*
 * The unescaped bytes of a string value (zero-copy when it has no escapes,
 * else decoded into scratch, which is reset first).  For other types, the
 * value's JSON text.  The result may contain NUL (from \u0000).
 */
const char *cdr_value_str(const struct cdr_value *v, struct cdr_buf *scratch,
    size_t *len);
/* Number (or a string holding a JSON number): 0 ok, -1 not a number / out of range. */
int cdr_value_double(const struct cdr_value *v, double *d);
int cdr_value_int64(const struct cdr_value *v, int64_t *i);
const char *cdr_type_name(enum cdr_type t);

/*
 * Parses one NDJSON line into rec (rec->line/len set by the caller).
 * Strict RFC 8259, UTF-8, a top-level object, no duplicate keys in an
 * object, at most CDR_MAX_DEPTH levels.  Returns 0, or -1 with rec->bad
 * set and rec->err filled.  rec->nodes is grown by cdr_xrealloc as needed
 * (*cap holds its capacity).
 */
#define CDR_MAX_DEPTH 256
int cdr_json_parse(struct cdr_record *rec, uint32_t *cap);

/*
 * Whether s[0..n) and t[0..n) are the same bytes.  Field names and short
 * values are compared this way many times per record: up to 16 bytes it
 * is two pairs of overlapping loads, with no call.
 */
static inline int
cdr_bytes_equal(const char *s, const char *t, size_t n)
{
	uint64_t a, b, c, d;
	uint32_t w, x, y, z;

	if (n >= 8) {
		if (n > 16)
			return memcmp(s, t, n) == 0;
		memcpy(&a, s, 8);
		memcpy(&b, t, 8);
		memcpy(&c, s + n - 8, 8);
		memcpy(&d, t + n - 8, 8);
		return ((a ^ b) | (c ^ d)) == 0;
	}
	if (n >= 4) {
		memcpy(&w, s, 4);
		memcpy(&x, t, 4);
		memcpy(&y, s + n - 4, 4);
		memcpy(&z, t + n - 4, 4);
		return ((w ^ x) | (y ^ z)) == 0;
	}
	if (n == 0)
		return 1;
	return s[0] == t[0] && s[n / 2] == t[n / 2] && s[n - 1] == t[n - 1];
}

/* The bit of member name k[0..n) in a 64-bit filter of names. */
static inline uint64_t
cdr_key_bit(const char *k, size_t n)
{
	unsigned h = (unsigned)n;

	if (n > 0)
		h += (unsigned char)k[0] * 5u + (unsigned char)k[n - 1] * 3u;
	return UINT64_C(1) << (h & 63);
}

/* Decodes JSON string escapes of s into out (appending). -1 if malformed. */
int cdr_json_unescape(const char *s, size_t n, struct cdr_buf *out);
/* 1 if s[0..n) is valid UTF-8 (no overlongs, no surrogates). */
int cdr_utf8_valid(const char *s, size_t n);
/* Length of the UTF-8 sequence at s (1..4), 0 if invalid or cut short. */
int cdr_utf8_seq(const char *s, size_t n);
/* Length of the longest valid UTF-8 prefix of s[0..n). */
size_t cdr_utf8_prefix(const char *s, size_t n);

/* ---- the reader ---- */

struct cdr_reader_opts {
	enum cdr_format	  format;	/* CDR_FMT_AUTO detects per source */
	const char	**columns;	/* CSV column names; NULL: header row */
	size_t		  ncolumns;
	size_t		  max_record;	/* bytes; 0 = 256 MiB */
	char		  delim;	/* CSV delimiter; 0 = ',' */
};

struct cdr_reader_stats {
	uint64_t	records;	/* records returned, good and bad */
	uint64_t	bad;		/* of which bad */
	uint64_t	blank;		/* empty or whitespace-only lines skipped */
	uint64_t	bytes;		/* bytes read after decompression */
};

struct cdr_reader;

struct cdr_reader *cdr_reader_new(const struct cdr_reader_opts *opts);
/*
 * Opens a source ("-" is stdin).  Returns 0, or -1 after printing a
 * message (the caller counts it and goes on with the next file).
 */
int cdr_reader_open(struct cdr_reader *r, const char *path);
/*
 * Next record of the open source: 1 with *rec set (check rec->bad), 0 at
 * the end of the source, -1 on a read error (message printed; the source
 * is closed).  The record is valid until the next call.
 */
int cdr_reader_next(struct cdr_reader *r, struct cdr_record **rec);
/* The format detected for the current source. */
enum cdr_format cdr_reader_format(const struct cdr_reader *r);
/* CSV: the column names in use (header or given); NULL for NDJSON. */
const char *const *cdr_reader_columns(const struct cdr_reader *r, size_t *n);
const struct cdr_reader_stats *cdr_reader_stats(const struct cdr_reader *r);
void cdr_reader_free(struct cdr_reader *r);

#endif
