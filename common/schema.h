/*
 * Record schemas: JSON files (share/schemas/NAME.json, or any file) that
 * describe the fields of a record kind, their types and constraints, and
 * cross-field rules.  Used by cdr-validate to check records and by other
 * tools for column lists and types.
 *
 * A schema file:
 *   {
 *     "name": "call",
 *     "title": "one line",
 *     "input": "ndjson" | "csv",          (what the source usually is)
 *     "columns": ["a", "b", ...],          (CSV without a header row)
 *     "local_time": true,                  (times without offset are --tz local)
 *     "time_field": "start_time",          (event time: dedupe horizon)
 *     "key": ["call_id"],                  (the natural key, for --dedupe)
 *     "additional_fields": true,           (false: unknown top-level fields fail)
 *     "fields": [
 *       { "name": "duration_s",            (dotted path)
 *         "type": "string|integer|number|boolean|timestamp|object|array|any",
 *         "required": true,                (present; default false)
 *         "nullable": false,               (null allowed; default: not required)
 *         "enum": ["a", "b"],              (strings, or numbers)
 *         "min": 0, "max": 86400,          (numbers; string length for strings
 *         "min_length": 1, "max_length": 64,  with min_length/max_length)
 *         "format": "uuid|e164|digits|hex|ipv4|alnum",
 *         "pattern": "^[A-Z]{2}$",         (POSIX extended regular expression)
 *         "epoch": "s|ms|auto",            (timestamps: numbers or digit strings)
 *         "when": {"event": "sent"},       (checked only when another field equals)
 *         "description": "..." }
 *     ],
 *     "rules": [
 *       {"name": "end_after_start", "order": ["start_time", "end_time"]},
 *       (order: two timestamps, or two numbers: the second not below the first)
 *       {"name": "duration_matches", "duration": "duration_s",
 *        "start": "start_time", "end": "end_time", "tolerance_s": 1},
 *       {"name": "billsec_le_duration", "jq": ".billsec <= .duration_s"}
 *     ]
 *   }
 */
#ifndef CDR_SCHEMA_H
#define CDR_SCHEMA_H

#include <regex.h>
#include <stddef.h>

#include "cdrtime.h"
#include "deadletter.h"
#include "record.h"

enum cdr_ftype {
	CDR_F_ANY,
	CDR_F_STRING,
	CDR_F_INTEGER,
	CDR_F_NUMBER,
	CDR_F_BOOLEAN,
	CDR_F_TIMESTAMP,
	CDR_F_OBJECT,
	CDR_F_ARRAY
};

enum cdr_fformat {
	CDR_FF_NONE,
	CDR_FF_UUID,
	CDR_FF_E164,
	CDR_FF_DIGITS,
	CDR_FF_HEX,
	CDR_FF_IPV4,
	CDR_FF_ALNUM
};

struct cdr_field_spec {
	char		*name;
	struct cdr_path	 path;
	enum cdr_ftype	 type;
	int		 required;
	int		 nullable;
	char		**enums;
	size_t		*enum_len;
	size_t		 nenum;
	int		 has_min, has_max;
	double		 min, max;
	long long	 min_len, max_len;	/* -1: none */
	enum cdr_fformat format;
	regex_t		 re;
	int		 has_re;
	int		 epoch;		/* CDR_TP_* flags for timestamps */
	struct cdr_path	 when_path;
	char		*when_value;
	size_t		 when_len;
	int		 has_when;
	int		 when_id;	/* fields with equal when_path share it */
	int		 when_group;	/* and with an equal when_value too */
};

enum cdr_rule_kind {
	CDR_RULE_ORDER,
	CDR_RULE_DURATION,
	CDR_RULE_JQ
};

struct cdr_rule {
	char			*name;
	enum cdr_rule_kind	 kind;
	int			 a, b, c;	/* field indexes (order, duration) */
	double			 tolerance;
	struct cdr_jq		*jq;
	char			*expr;
};

struct cdr_schema {
	char			*name;
	char			*title;
	enum cdr_format		 input;
	char			**columns;
	size_t			 ncolumns;
	int			 local_time;
	char			*time_field;
	char			**key;
	size_t			 nkey;
	int			 additional;
	struct cdr_field_spec	*fields;
	size_t			 nfields;
	struct cdr_rule		*rules;
	size_t			 nrules;
};

/* What a check found for one field of one record. */
struct cdr_field_value {
	struct cdr_value	v;	/* CDR_T_MISSING when absent */
	int			ok;	/* passed its checks */
	int			has_time;
	cdr_time_t		time;	/* timestamps */
	int			has_num;
	double			num;	/* integers and numbers */
	uint32_t		hint;	/* where it was found last time */
	uint32_t		when_hint;	/* the same for its "when" */
};

/*
 * Loads a schema by name (share/schemas/NAME.json) or file path (anything
 * with a '/' or ending in ".json").  On error returns NULL with a message
 * naming the file and, for bad JSON, the line and column.
 */
struct cdr_schema *cdr_schema_load(const char *name, char *err, size_t errlen);
void cdr_schema_free(struct cdr_schema *s);
/* Index of the (first) field with this name, or -1. */
int cdr_schema_field(const struct cdr_schema *s, const char *name);
/*
 * Adds a jq rule (--rule): the record fails when the expression yields
 * false, null, nothing, or an error.  0, or -1 with a message in err.
 */
int cdr_schema_add_jq_rule(struct cdr_schema *s, const char *name,
    const char *expr, char *err, size_t errlen);

/*
 * Checks rec; errors are appended to errs.  vals (s->nfields entries,
 * zeroed before the first record and reused) receives what was found for
 * each field.  tz is the zone of local
 * timestamps (NULL: UTC).  Returns the number of errors added.
 */
size_t cdr_schema_check(const struct cdr_schema *s,
    const struct cdr_record *rec, const struct cdr_tz *tz,
    struct cdr_field_value *vals, struct cdr_errors *errs);

const char *cdr_ftype_name(enum cdr_ftype t);

#endif
