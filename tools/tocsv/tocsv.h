/*
 * cdr-tocsv internals: columns and their types, dialects, cell writing
 * (cell.c), column specs (columns.c) and the output sink that splits,
 * compresses in threads and commits (sink.c).
 */
#ifndef TOCSV_H
#define TOCSV_H

#include <stddef.h>
#include <stdint.h>

#include <jv.h>

#include "buf.h"
#include "cdrtime.h"
#include "jqexpr.h"
#include "record.h"

/* What a column holds, and so how its values are checked and written. */
enum ctype {
	CT_AUTO,	/* by the value's JSON type */
	CT_STRING,
	CT_INTEGER,
	CT_NUMBER,
	CT_BOOLEAN,
	CT_TIMESTAMP,	/* YYYY-MM-DD HH:MM:SS[.ffffff] in --tz */
	CT_TIMESTAMPTZ,	/* the same with +HH:MM */
	CT_DATE,	/* YYYY-MM-DD in --tz */
	CT_JSON		/* the value as JSON text */
};

struct column {
	char		*name;		/* header text */
	char		*source;	/* dotted path, or jq expression */
	enum ctype	 type;
	int		 typed;		/* type given, not defaulted */
	int		 tp_flags;	/* cdr_time_parse flags */
	struct cdr_path	 path;
	uint32_t	 hint;		/* node of the last match */
	struct cdr_jq	*jq;		/* computed column, else NULL */
};

struct columns {
	struct column	*c;
	size_t		 n;
	size_t		 cap;
};

/* How a dialect writes what the JSON cannot say in CSV by itself. */
struct dialect {
	const char	*name;
	const char	*null;		/* the NULL token */
	const char	*eol;
	const char	*yes, *no;	/* booleans */
	int		 bom;		/* UTF-8 byte order mark first */
	int		 excel_safe;	/* default of --excel-safe */
	int		 pg_dot;	/* PostgreSQL's \. end-of-data line */
	int		 ch_edges;	/* ClickHouse trims blanks, reads ' quotes */
	int		 no_nul;	/* the loader cannot store U+0000 */
};

/* Everything cell writing needs, fixed after option parsing. */
struct fmt {
	const struct dialect	*d;
	char			 delim;
	int			 quote_all;
	int			 excel_safe;
	int			 time_frac;	/* -1 auto, 0, 3, 6 */
	int			 time_detect;	/* auto strings with offsets */
	const struct cdr_tz	*tz;		/* output zone */
	int			 tz_utc;	/* it is UTC */
	const struct cdr_tz	*in_tz;		/* zone of naive input times */
	const char		*null, *yes, *no, *eol;
	size_t			 nulllen, yeslen, nolen, eollen;
	unsigned char		 special[256];	/* bytes that force quotes */
};

/* columns.c */
enum ctype ctype_parse(const char *s, size_t n, int *ok);
const char *ctype_name(enum ctype t);
/* "NAME[:TYPE][=PATH]"; 0, or -1 with a reason in err. */
int columns_add_spec(struct columns *cols, const char *spec, char *err,
    size_t errlen);
/* "NAME[:TYPE]=EXPR", a jq computed column. */
int columns_add_jq(struct columns *cols, const char *spec, char *err,
    size_t errlen);
/* A comma-separated list of specs. */
int columns_add_list(struct columns *cols, const char *list, char *err,
    size_t errlen);
/* A plain column named after its path, type auto. */
void columns_add_path(struct columns *cols, const char *name, size_t n);
/* Takes over c's allocations. */
void columns_append(struct columns *cols, const struct column *c);
int columns_find(const struct columns *cols, const char *name, size_t n);
void columns_free(struct columns *cols);

/* cell.c */
void fmt_init(struct fmt *f);
const struct dialect *dialect_find(const char *name);
const char *dialect_names(void);
/*
 * Appends the cell of column c for record rec to out.  Returns 1 if the
 * record has the field, 0 if not (NULL written), or -1 with the check name
 * in *check and a message in why.
 */
int cell_write(const struct fmt *f, struct column *c,
    const struct cdr_record *rec, struct cdr_buf *out,
    struct cdr_buf *scratch, const char **check, char *why, size_t whylen);
/* The same for a jq output (consumed). */
int cell_write_jv(const struct fmt *f, const struct column *c, jv v,
    struct cdr_buf *out, struct cdr_buf *scratch, const char **check,
    char *why, size_t whylen);
/* Frees what cell writing keeps between cells. */
void cell_free(void);
/* A header cell: the text as a string. */
void cell_write_text(const struct fmt *f, const char *s, size_t n,
    struct cdr_buf *out);

/* sink.c */
struct sink_opts {
	const char	*path;		/* file, PREFIX with split, "-" stdout */
	unsigned	 split;		/* files; 0 = one file, named path */
	int		 gzip;
	int		 level;		/* gzip level 0..12 */
	unsigned	 threads;	/* compression threads */
	int		 force;
};
struct sink;

/* Opens every output (atomic temporaries); exits 3 when one cannot be. */
struct sink *sink_open(const struct sink_opts *o);
/* The bytes every file starts with (BOM, header); before the first row. */
void sink_set_head(struct sink *s, const char *p, size_t n);
/* Where the next row goes: append to it, then call sink_row_end. */
struct cdr_buf *sink_buf(struct sink *s);
void sink_row_end(struct sink *s);
/* Writes what is held, joins the threads; commit or discard the files. */
void sink_finish(struct sink *s, int commit);
size_t sink_nfiles(const struct sink *s);
const char *sink_file_path(const struct sink *s, size_t i);
/* Size in bytes of a committed file. */
unsigned long long sink_file_size(const struct sink *s, size_t i);
void sink_free(struct sink *s);

#endif
