/*
 * cdr-rollup internals: the aggregate language, aggregate states, windows
 * and groups, the dimension table, partial rows and output.  One struct
 * rollup holds the whole run; every module takes it by pointer.
 */
#ifndef ROLLUP_H
#define ROLLUP_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <jv.h>

#include "bigalloc.h"
#include "buf.h"
#include "cdrtime.h"
#include "deadletter.h"
#include "jqexpr.h"
#include "out.h"
#include "progress.h"
#include "record.h"

#define PARTIAL_VERSION 1

__extension__ typedef __int128 i128;

/* ---- values ---- */

enum vkind {
	VK_MISSING = 0,	/* no such field */
	VK_NULL,
	VK_BOOL,	/* d is 0 or 1 */
	VK_NUM,
	VK_TIME,	/* t, microseconds */
	VK_STR,		/* s[0..n), unescaped */
	VK_JSON		/* s[0..n), JSON text of an object or array */
};

/*
 * A number is exact when it is m / 10^scale with 0 <= scale <= 9: every
 * decimal of at most 18 significant digits that JSON or CSV can hold.
 * Exact numbers add and compare without rounding, so sums do not depend
 * on the order of the records or on how the input was split.
 */
struct val {
	enum vkind	 kind;
	int		 exact;
	int		 scale;
	int64_t		 m;
	double		 d;
	int64_t		 t;
	const char	*s;
	size_t		 n;
};

#define MAX_SCALE 9

int	num_parse(const char *s, size_t n, struct val *v);
void	num_from_double(double d, struct val *v);
void	num_from_usec(int64_t usec, struct val *v);
int	val_cmp_num(const struct val *a, const struct val *b);
void	fmt_double(char *buf, size_t len, double d);
void	fmt_dec(char *buf, size_t len, int64_t m, int scale);
void	fmt_i128(char *buf, size_t len, i128 v, int scale);
extern const int64_t pow10_i64[19];

/* ---- sketches (sketch.c) ---- */

/* DDSketch: relative-error quantiles, merged by adding bins. */
struct ddstore {
	int32_t		 off;	/* index of c[0] */
	uint32_t	 len;
	uint64_t	*c;
};
struct ddsketch {
	uint64_t	 n;
	uint64_t	 zero;
	struct ddstore	 pos, neg;
};
/* Exact values for --exact percentiles. */
struct qvec {
	size_t		 n, cap;
	double		*v;
	int		 sorted;
};
/* Distinct: an exact set of 64-bit hashes, then HyperLogLog registers. */
struct dset {
	uint32_t	 n, cap;	/* entries used, slots (power of 2) */
	uint64_t	*h;		/* 0 = empty slot */
	int		 has_zero;	/* the hash 0 was added */
	uint8_t		*reg;		/* 2^p registers once past the bound */
};

#define DD_MAX_BINS 2048

void	dd_params(double alpha);
void	dd_add(struct ddsketch *s, double x, uint64_t count);
void	dd_merge(struct ddsketch *into, const struct ddsketch *from);
double	dd_quantile(const struct ddsketch *s, double q);
int32_t	dd_index(double x);
double	dd_value(int32_t i);
void	dd_free(struct ddsketch *s);
size_t	dd_bytes(const struct ddsketch *s);
void	dd_store_set(struct ddstore *st, int32_t i, uint64_t c);

void	qv_add(struct qvec *q, double x);
void	qv_merge(struct qvec *into, const struct qvec *from);
double	qv_quantile(struct qvec *q, double p);
void	qv_free(struct qvec *q);

void	ds_params(int precision, uint64_t exact_bound);
void	ds_add(struct dset *d, uint64_t h);
void	ds_merge(struct dset *into, const struct dset *from);
uint64_t ds_count(const struct dset *d);
void	ds_free(struct dset *d);
size_t	ds_bytes(const struct dset *d);
void	ds_to_hll(struct dset *d);
int	ds_precision(void);

/* ---- expressions (spec.c) ---- */

enum xop {
	X_NUM, X_STR, X_FIELD, X_COALESCE, X_NEG,
	X_ADD, X_SUB, X_MUL, X_DIV,
	X_LT, X_LE, X_GT, X_GE, X_EQ, X_NE,
	X_AGG,		/* an aggregate's result (output context) */
	X_COL		/* another output column */
};

enum fin {
	F_VALUE,	/* the leaf's own result */
	F_AVG,		/* leaf sum / leaf2 count */
	F_QUANTILE	/* leaf quantile state at q */
};

struct expr {
	enum xop	  op;
	struct expr	**kids;
	size_t		  nkids;
	struct val	  lit;		/* X_NUM, X_STR */
	int		  field;	/* X_FIELD: index in r->fields */
	int		  leaf, leaf2;	/* X_AGG */
	enum fin	  fin;
	double		  q;
	int		  col;		/* X_COL */
	int		  adopted;	/* held by a leaf (not freed after parsing) */
};

/* A record field used by keys or aggregates, read once per record. */
struct field {
	char		*path_text;
	struct cdr_path	 path;
	uint32_t	 hint;
	int		 dim;		/* a column of the dimension: its index */
	/* per record */
	uint64_t	 gen;
	struct val	 v;
	const char	*raw;		/* the value's JSON text, or NULL */
	size_t		 rawn;
	struct cdr_buf	 scratch;
	/* The same value as a time and classified, once per record. */
	uint64_t	 time_gen, class_gen;
	int		 time_rc;
	int64_t		 time;
	struct val	 classed;
};

enum aggfn {
	A_COUNT,	/* records */
	A_COUNTV,	/* non-null values */
	A_SUM,
	A_MIN,
	A_MAX,
	A_FIRST,
	A_LAST,
	A_DISTINCT,
	A_QUANT
};

/* A jq predicate (count_if, filter), run once per record. */
struct pred {
	char		*text;
	struct cdr_jq	*jq;
	uint64_t	 gen;
	int		 result;
};

/* A leaf: one mergeable state per group. */
struct leaf {
	enum aggfn	  fn;
	char		 *canon;	/* canonical text: identity in partials */
	struct expr	**args;
	size_t		  nargs;
	int		  order;	/* A_FIRST/A_LAST: field of the order time, -1: event time */
	int		  pred;		/* index in r->preds, or -1 */
	int		  numeric;	/* values must be numbers */
	size_t		  off;		/* offset of the state in a group */
	/* per record */
	struct val	  in;
	int		  skip;
};

/* An output column of aggregates. */
struct column {
	char		*name;
	char		*text;		/* as given, for the partial header */
	struct expr	*e;
};

/* A group key. */
struct key {
	char		*name;		/* output column */
	char		*source;	/* path, or dimension column */
	int		 field;		/* index in r->fields */
};

/* ---- windows and groups (table.c) ---- */

/*
 * A group is its header, its encoded key, then r->state_size bytes of
 * aggregate states aligned as their types need (r->group_align).  With
 * millions of groups every byte and every cache line of a group counts:
 * the header keeps 32 bits of the hash (enough to skip almost every
 * unequal key without reading it), and a look-up finds the hash, the
 * length and the start of the key in one line, next to the states the
 * record then updates.
 */
struct group {
	uint32_t	 hash;		/* low 32 bits of key_hash */
	uint32_t	 keylen;
	unsigned char	 data[];	/* the key, then the states */
};

#define GROUP_KEY(r, g)	((void)(r), (char *)(g)->data)
#define GROUP_STATE_AT(r, keylen) \
	((sizeof(struct group) + (keylen) + (r)->group_align - 1) & \
	~((r)->group_align - 1))
#define GROUP_STATE(r, g) \
	((unsigned char *)(g) + GROUP_STATE_AT(r, (g)->keylen))
#define GROUP_END(r, g)	(GROUP_STATE(r, g) + (r)->state_size)

/* Groups of a window are carved from chunks freed with the window. */
struct chunk {
	struct chunk	*next;
	size_t		 used, cap;
	_Alignas(16) unsigned char mem[];
};

struct window {
	int		  grain;	/* index in r->grains; -1: all time */
	int64_t		  start, end;
	struct group	**slot;		/* open addressing */
	size_t		  nslot, ngroups;
	struct chunk	 *chunks;	/* the groups' memory, newest first */
	int		  fired, dirty;
	unsigned	  revision;
	struct window	 *hnext;	/* window hash chain */
	size_t		  index;	/* position in r->windows */
};

/* Key encoding: per column a tag byte, a 4-byte length, the bytes. */
enum { KT_NULL = 0, KT_RAW = 1, KT_STR = 2 };

/* ---- the dimension table (dim.c) ---- */

struct dimrow {
	char		*key;
	size_t		 keylen;
	struct val	 ver;		/* version (strings copied) */
	char		**json;		/* per column: JSON text, NULL missing */
	size_t		 njson;
	uint64_t	 line;
};

struct dim {
	const char	 *path;
	char		 *rec_key;	/* record field of the join */
	char		 *dim_key;	/* dimension column */
	const char	 *version;	/* version field, or NULL: last row wins */
	char		**cols;		/* dimension columns (not key/version) */
	size_t		  ncols;
	int		 *use;		/* cols kept by --dim-fields */
	struct cdr_path	  rec_path;
	uint32_t	  rec_hint;
	struct dimrow	 *rows;
	size_t		  nrows, caprows;
	size_t		 *slot;		/* open addressing: row + 1 */
	size_t		  nslot;
	uint64_t	  bad, read;
	/* keys not found */
	char		**missing;
	size_t		  nmissing;
	uint64_t	  missing_records;
	size_t		 *mslot;
	size_t		  nmslot;
	/* the row of the current record or output group */
	struct dimrow	 *cur;
	int		  record_join;	/* a --by key is a dimension column */
	int		  out_key;	/* --by key holding the join key, -1 */
	int		 *out_cols;	/* columns appended to output rows */
	size_t		  nout_cols;
	struct cdr_buf	  keybuf;
};

/* ---- partials read by --merge (partial.c) ---- */

struct spec {
	uint64_t	 fp;
	int		*leafmap;	/* partial leaf -> our leaf, -1 skip */
	size_t		 nleaves;
	int		*keymap;	/* our key -> partial key */
	size_t		 nkeys;
};

/* ---- the run ---- */

struct grain {
	struct cdr_grain g;
	int		 day_relative;	/* divides 24 h: counted from local midnight */
	struct window	*last;		/* window of the last record */
};

struct rollup {
	char		**spec_texts;	/* preset expansions, kept for the run */
	size_t		  nspec_texts;
	/* options */
	const char		 *output;
	const char		 *dead_letter_path;
	const char		 *stats_path;
	const char		 *where_text;
	const char		 *tz_name;
	const char		 *time_spec;
	const char		 *merge_grain;
	char			**by_specs;
	size_t			  nby_specs;
	char			**agg_specs;
	size_t			  nagg_specs;
	char			**every_specs;
	size_t			  nevery_specs;
	const char		 *dim_path;
	const char		 *dim_on;
	const char		 *dim_version;
	const char		 *dim_fields;
	int			  force;
	int			  quiet;
	int			  partial;
	int			  merge;
	int			  exact;
	int			  week_start;
	int			  streaming;
	int			  csv_out;
	enum cdr_progress_mode	  progress;
	enum cdr_format		  input_format;
	uint64_t		  max_errors;
	double			  max_error_rate;
	int			  has_max_errors, has_max_rate;
	uint64_t		  max_record;
	uint64_t		  max_groups;
	uint64_t		  max_memory;	/* of state_bytes; 0: none */
	int			  has_max_memory;
	int64_t			  offset;
	int64_t			  watermark_bound;
	int64_t			  lateness;
	int64_t			  idle_flush;
	int			  hll_precision;
	uint64_t		  distinct_exact;
	double			  alpha;

	/* the specification */
	struct cdr_tz		 *tz;
	int			  tz_utc;
	struct grain		 *grains;
	size_t			  ngrains;
	struct cdr_path		 *time_paths;
	uint32_t		 *time_hints;
	char			**time_names;
	size_t			  ntime;
	struct field		 *fields;
	size_t			  nfields;
	struct key		 *keys;
	size_t			  nkeys;
	struct leaf		 *leaves;
	size_t			  nleaves;
	struct column		 *cols;
	size_t			  ncols;
	struct pred		 *preds;
	size_t			  npreds;
	struct cdr_jq		 *where;
	int			  need_tie;
	int			  need_jq;
	size_t			  state_size;	/* a multiple of 8 */
	size_t			  group_align;	/* 8, or 16 for a sum */
	uint64_t		  fingerprint;
	char			 *spec_text;

	/* merge */
	struct spec		 *specs;
	size_t			  nspecs;
	int			  have_spec;	/* the output spec is settled */

	/* the dimension */
	struct dim		 *dim;

	/* run state */
	struct window		**windows;
	size_t			  nwindows, capwindows;
	struct window		**whash;
	size_t			  nwhash;
	uint64_t		  ngroups;
	uint64_t		  state_bytes;	/* variable-size states */
	struct cdr_big_ahead	 *chunk_ahead;	/* group chunks, faulted ahead */
	struct cdr_out		 *out;
	struct cdr_out		 *dead_letter;
	struct cdr_errors	  errs;
	struct cdr_counts	  counts;
	uint64_t		  late;
	uint64_t		  rows_out;
	uint64_t		  gen;
	const struct cdr_record	 *rec;
	jv			  jq_input;
	int			  jq_input_set;
	uint64_t		  tie;
	int			  tie_set;
	int64_t			  event_time;
	struct cdr_buf		  keybuf;
	struct cdr_buf		  line;
	struct cdr_buf		  scratch;
	int			  header_written;
	char			 *merge_grain_name;

	/* streaming */
	int64_t			  max_event;	/* INT64_MIN: none yet */
	int64_t			  wm;		/* current watermark */
	pthread_mutex_t		  lock;
	pthread_t		  idle_thread;
	int			  idle_running;
	int64_t			  last_input;	/* monotonic usec */
};

/* spec.c */
void	spec_parse_by(struct rollup *r, const char *text);
void	spec_parse_aggs(struct rollup *r, const char *text);
void	spec_finish(struct rollup *r);
int	field_add(struct rollup *r, const char *path);
char	*spec_canon_text(const struct rollup *r);
const char *aggfn_name(enum aggfn fn);

void	json_to_val(const char *s, size_t n, struct val *out,
	    struct cdr_buf *scratch);

/* eval.c */
void	eval_begin(struct rollup *r, const struct cdr_record *rec);
int	eval_field(struct rollup *r, int fi, struct val *out);
int	eval_record(struct rollup *r, const struct expr *e, struct val *out,
	    const char **why);
int	eval_time_of(struct rollup *r, struct field *f, int64_t *t);
int	eval_pred(struct rollup *r, int pi, char *err, size_t errlen);
void	eval_output(struct rollup *r, const struct group *g,
	    const struct expr *e, struct val *out, struct cdr_buf *scratch);
int	val_as_num(struct val *v);
int	val_as_time(const struct rollup *r, struct val *v);
void	arith(const struct rollup *r, enum xop op, const struct val *a,
	    const struct val *b, struct val *out);

/* agg.c */
void	agg_layout(struct rollup *r);
void	agg_init(struct rollup *r, struct group *g);
int	agg_prepare(struct rollup *r, const char **field, char *why,
	    size_t len);
void	agg_update(struct rollup *r, struct group *g);
void	agg_free(struct rollup *r, struct group *g);
void	agg_result(struct rollup *r, const struct group *g, int leaf,
	    enum fin fin, int leaf2, double q, struct val *out,
	    struct cdr_buf *scratch);
void	agg_write_state(struct rollup *r, const struct group *g, int leaf,
	    struct cdr_buf *b);
int	agg_merge_state(struct rollup *r, struct group *g, int leaf,
	    const struct cdr_value *v, struct cdr_buf *scratch,
	    const char **why);
uint64_t agg_hash_val(const struct val *v);

/* table.c */
struct window *window_get(struct rollup *r, int grain, int64_t start,
	    int64_t end);
struct window *window_for(struct rollup *r, int grain, int64_t t);
void	bucket(struct rollup *r, int grain, int64_t t, int64_t *start,
	    int64_t *end);
struct group *group_get(struct rollup *r, struct window *w,
	    const char *key, size_t keylen, uint64_t hash);
void	window_free(struct rollup *r, struct window *w);
struct group **window_sorted(const struct rollup *r,
	    const struct window *w);
int	key_cmp(const char *a, size_t alen, const char *b, size_t blen);
void	key_add(struct cdr_buf *b, int tag, const char *s, size_t n);
int	key_next(const char **p, const char *end, int *tag, const char **s,
	    size_t *n);
uint64_t key_hash(const char *key, size_t n);

/* dim.c */
void	dim_load(struct rollup *r);
void	dim_setup_keys(struct rollup *r);
void	dim_join_record(struct rollup *r);
void	dim_lookup(struct rollup *r, const char *key, size_t n, int record);
int	dim_column(const struct dim *d, const char *name);
void	dim_value(struct rollup *r, int col, struct val *v,
	    struct cdr_buf *scratch);
void	dim_report(struct rollup *r, struct cdr_buf *extra);

/* emit.c */
void	emit_header(struct rollup *r);
void	emit_window(struct rollup *r, struct window *w);
void	json_str(struct cdr_buf *b, const char *s, size_t n);
/* Dies: the group state passed --max-memory. */
_Noreturn void	memory_exceeded(const struct rollup *r);
void	emit_all(struct rollup *r);

/* partial.c */
void	partial_write_header(struct rollup *r);
void	partial_write_group(struct rollup *r, const struct window *w,
	    const struct group *g);
void	partial_read(struct rollup *r, const struct cdr_record *rec);
void	partial_own_spec(struct rollup *r);
int	partial_grain(struct rollup *r, const char *name);
void	spec_settle(struct rollup *r);

/* cdr-rollup.c */
void	reject_record(struct rollup *r, const struct cdr_record *rec,
	    const char *field, const char *check, const char *fmt, ...)
	    CDR_PRINTF(5, 6);
void	fmt_time(const struct rollup *r, char *buf, size_t len, int64_t t);

#endif
