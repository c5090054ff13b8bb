/*
 * Schema loading and record checks (see schema.h).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deadletter.h"
#include "jqexpr.h"
#include "schema.h"

#define SCHEMA_MAX_BYTES (16 * 1024 * 1024)

/* Loader state: the file's text and its parsed tape. */
struct loader {
	const char		*file;
	char			*text;
	struct cdr_record	 rec;
	struct cdr_buf		 scratch;
	char			*err;
	size_t			 errlen;
};

static int lfail(struct loader *l, const struct cdr_value *at,
    const char *fmt, ...) CDR_PRINTF(3, 4);

static const char *const type_names[] = {
	"any", "string", "integer", "number", "boolean", "timestamp",
	"object", "array"
};

static const char *const format_names[] = {
	"", "uuid", "e164", "digits", "hex", "ipv4", "alnum"
};

const char *
cdr_ftype_name(enum cdr_ftype t)
{
	return (unsigned)t < sizeof(type_names) / sizeof(type_names[0]) ?
	    type_names[t] : "?";
}

/* file:line:col of a value of the schema text, and the message. */
static int
lfail(struct loader *l, const struct cdr_value *at, const char *fmt, ...)
{
	size_t line = 1, col = 1, n;
	const char *p;
	va_list ap;

	if (at != NULL && at->p != NULL) {
		for (p = l->rec.line; p < at->p; p++) {
			if (*p == '\n') {
				line++;
				col = 1;
			} else {
				col++;
			}
		}
	}
	n = (size_t)snprintf(l->err, l->errlen, "%s:%zu:%zu: ", l->file, line,
	    col);
	if (n < l->errlen) {
		va_start(ap, fmt);
		vsnprintf(l->err + n, l->errlen - n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* A string member as a new C string; NULL when absent.  -1 on a wrong type. */
static int
get_string(struct loader *l, const struct cdr_value *obj, const char *name,
    char **out)
{
	struct cdr_value v;
	const char *s;
	size_t n;

	*out = NULL;
	if (!cdr_value_member(obj, name, strlen(name), &v))
		return 0;
	if (v.type != CDR_T_STRING)
		return lfail(l, &v, "\"%s\" must be a string", name);
	s = cdr_value_str(&v, &l->scratch, &n);
	if (s == NULL || memchr(s, '\0', n) != NULL)
		return lfail(l, &v, "\"%s\": bad string", name);
	*out = cdr_xstrndup(s, n);
	return 0;
}

static int
get_bool(struct loader *l, const struct cdr_value *obj, const char *name,
    int *out)
{
	struct cdr_value v;

	if (!cdr_value_member(obj, name, strlen(name), &v))
		return 0;
	if (v.type != CDR_T_TRUE && v.type != CDR_T_FALSE)
		return lfail(l, &v, "\"%s\" must be true or false", name);
	*out = v.type == CDR_T_TRUE;
	return 0;
}

static int
get_number(struct loader *l, const struct cdr_value *obj, const char *name,
    double *out, int *has)
{
	struct cdr_value v;

	if (!cdr_value_member(obj, name, strlen(name), &v))
		return 0;
	if (v.type != CDR_T_NUMBER || cdr_value_double(&v, out) != 0)
		return lfail(l, &v, "\"%s\" must be a number", name);
	if (has != NULL)
		*has = 1;
	return 0;
}

/* An array of strings; *n entries in a new array. */
static int
get_strings(struct loader *l, const struct cdr_value *obj, const char *name,
    char ***out, size_t *n, int allow_numbers)
{
	struct cdr_value v, c;
	const char *s;
	size_t len;

	*out = NULL;
	*n = 0;
	if (!cdr_value_member(obj, name, strlen(name), &v))
		return 0;
	if (v.type != CDR_T_ARRAY)
		return lfail(l, &v, "\"%s\" must be an array of strings", name);
	for (cdr_value_child(&v, &c); c.type != CDR_T_MISSING;
	    cdr_value_next(&c)) {
		if (c.type != CDR_T_STRING &&
		    !(allow_numbers && c.type == CDR_T_NUMBER))
			return lfail(l, &c, "\"%s\" must hold strings", name);
		s = cdr_value_str(&c, &l->scratch, &len);
		if (s == NULL || memchr(s, '\0', len) != NULL)
			return lfail(l, &c, "\"%s\": bad string", name);
		*out = cdr_xreallocarray(*out, *n + 1, sizeof(**out));
		(*out)[(*n)++] = cdr_xstrndup(s, len);
	}
	return 0;
}

static int
parse_field(struct loader *l, const struct cdr_value *obj,
    struct cdr_field_spec *f)
{
	struct cdr_value v, w;
	char *type = NULL, *format = NULL, *pattern = NULL, *epoch = NULL;
	double d;
	int has, rc = -1;
	size_t i, len;
	const char *s;
	char msg[256];

	f->min_len = f->max_len = -1;
	if (obj->type != CDR_T_OBJECT)
		return lfail(l, obj, "a field must be an object");
	if (get_string(l, obj, "name", &f->name) != 0)
		return -1;
	if (f->name == NULL || f->name[0] == '\0')
		return lfail(l, obj, "a field needs a \"name\"");
	if (cdr_path_init(&f->path, f->name) != 0)
		return lfail(l, obj, "bad field name");
	if (get_string(l, obj, "type", &type) != 0 ||
	    get_string(l, obj, "format", &format) != 0 ||
	    get_string(l, obj, "pattern", &pattern) != 0 ||
	    get_string(l, obj, "epoch", &epoch) != 0)
		goto out;
	f->type = CDR_F_ANY;
	if (type != NULL) {
		for (i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
			if (strcmp(type, type_names[i]) == 0)
				break;
		if (i == sizeof(type_names) / sizeof(type_names[0])) {
			cdr_value_member(obj, "type", 4, &v);
			lfail(l, &v, "field \"%s\": unknown type \"%s\"",
			    f->name, type);
			goto out;
		}
		f->type = (enum cdr_ftype)i;
	}
	if (get_bool(l, obj, "required", &f->required) != 0)
		goto out;
	f->nullable = !f->required;
	if (get_bool(l, obj, "nullable", &f->nullable) != 0)
		goto out;
	if (get_strings(l, obj, "enum", &f->enums, &f->nenum, 1) != 0)
		goto out;
	f->enum_len = cdr_xcalloc(f->nenum + 1, sizeof(*f->enum_len));
	for (i = 0; i < f->nenum; i++)
		f->enum_len[i] = strlen(f->enums[i]);
	if (get_number(l, obj, "min", &f->min, &f->has_min) != 0 ||
	    get_number(l, obj, "max", &f->max, &f->has_max) != 0)
		goto out;
	has = 0;
	if (get_number(l, obj, "min_length", &d, &has) != 0)
		goto out;
	if (has)
		f->min_len = (long long)d;
	has = 0;
	if (get_number(l, obj, "max_length", &d, &has) != 0)
		goto out;
	if (has)
		f->max_len = (long long)d;
	if (format != NULL) {
		for (i = 1; i < sizeof(format_names) / sizeof(format_names[0]);
		    i++)
			if (strcmp(format, format_names[i]) == 0)
				break;
		if (i == sizeof(format_names) / sizeof(format_names[0])) {
			cdr_value_member(obj, "format", 6, &v);
			lfail(l, &v, "field \"%s\": unknown format \"%s\"",
			    f->name, format);
			goto out;
		}
		f->format = (enum cdr_fformat)i;
	}
	if (pattern != NULL) {
		int e = regcomp(&f->re, pattern, REG_EXTENDED | REG_NOSUB);

		if (e != 0) {
			regerror(e, &f->re, msg, sizeof(msg));
			cdr_value_member(obj, "pattern", 7, &v);
			lfail(l, &v, "field \"%s\": bad pattern: %s", f->name,
			    msg);
			goto out;
		}
		f->has_re = 1;
	}
	f->epoch = 0;
	if (epoch != NULL) {
		if (strcmp(epoch, "s") == 0)
			f->epoch = CDR_TP_EPOCH_S;
		else if (strcmp(epoch, "ms") == 0)
			f->epoch = CDR_TP_EPOCH_MS;
		else if (strcmp(epoch, "auto") == 0)
			f->epoch = CDR_TP_EPOCH_AUTO;
		else {
			cdr_value_member(obj, "epoch", 5, &v);
			lfail(l, &v, "field \"%s\": epoch must be s, ms or auto",
			    f->name);
			goto out;
		}
	}
	if (cdr_value_member(obj, "when", 4, &v)) {
		if (v.type != CDR_T_OBJECT || !cdr_value_child(&v, &w) ||
		    w.type != CDR_T_STRING) {
			lfail(l, &v, "field \"%s\": \"when\" must be "
			    "{\"field\": \"value\"}", f->name);
			goto out;
		}
		s = cdr_value_key(&w, &l->scratch, &len);
		if (s != NULL) {
			/* The key points into the schema text: not a C string. */
			char *name = cdr_xstrndup(s, len);

			has = cdr_path_init(&f->when_path, name);
			free(name);
		}
		if (s == NULL || has != 0) {
			lfail(l, &v, "field \"%s\": bad \"when\"", f->name);
			goto out;
		}
		s = cdr_value_str(&w, &l->scratch, &len);
		f->when_value = cdr_xstrndup(s, len);
		f->when_len = len;
		f->has_when = 1;
	}
	rc = 0;
out:
	free(type);
	free(format);
	free(pattern);
	free(epoch);
	return rc;
}

static int
is_numeric(enum cdr_ftype t)
{
	return t == CDR_F_INTEGER || t == CDR_F_NUMBER;
}

static int
parse_rule(struct loader *l, struct cdr_schema *s, const struct cdr_value *obj,
    struct cdr_rule *r)
{
	struct cdr_value v, c;
	char *a = NULL, *b = NULL, *d = NULL, *expr = NULL;
	const char *txt;
	size_t len;
	int rc = -1, has = 0;
	char msg[512];

	if (obj->type != CDR_T_OBJECT)
		return lfail(l, obj, "a rule must be an object");
	if (get_string(l, obj, "name", &r->name) != 0)
		return -1;
	if (r->name == NULL)
		return lfail(l, obj, "a rule needs a \"name\"");
	if (cdr_value_member(obj, "order", 5, &v)) {
		char *pair[2] = { NULL, NULL };
		int k = 0;

		r->kind = CDR_RULE_ORDER;
		if (v.type != CDR_T_ARRAY)
			return lfail(l, &v, "rule \"%s\": \"order\" must list "
			    "two timestamp fields", r->name);
		for (cdr_value_child(&v, &c); c.type != CDR_T_MISSING && k < 2;
		    cdr_value_next(&c), k++) {
			txt = cdr_value_str(&c, &l->scratch, &len);
			pair[k] = cdr_xstrndup(txt, len);
		}
		r->a = pair[0] ? cdr_schema_field(s, pair[0]) : -1;
		r->b = pair[1] ? cdr_schema_field(s, pair[1]) : -1;
		free(pair[0]);
		free(pair[1]);
		if (k != 2 || r->a < 0 || r->b < 0 ||
		    !((s->fields[r->a].type == CDR_F_TIMESTAMP &&
		    s->fields[r->b].type == CDR_F_TIMESTAMP) ||
		    (is_numeric(s->fields[r->a].type) &&
		    is_numeric(s->fields[r->b].type))))
			return lfail(l, &v, "rule \"%s\": \"order\" must list "
			    "two timestamp fields or two number fields of the "
			    "schema", r->name);
		return 0;
	}
	if (cdr_value_member(obj, "duration", 8, &v)) {
		r->kind = CDR_RULE_DURATION;
		if (get_string(l, obj, "duration", &d) != 0 ||
		    get_string(l, obj, "start", &a) != 0 ||
		    get_string(l, obj, "end", &b) != 0 ||
		    get_number(l, obj, "tolerance_s", &r->tolerance, &has) != 0)
			goto out;
		r->a = a ? cdr_schema_field(s, a) : -1;
		r->b = b ? cdr_schema_field(s, b) : -1;
		r->c = d ? cdr_schema_field(s, d) : -1;
		if (r->a < 0 || r->b < 0 || r->c < 0 ||
		    s->fields[r->a].type != CDR_F_TIMESTAMP ||
		    s->fields[r->b].type != CDR_F_TIMESTAMP ||
		    (s->fields[r->c].type != CDR_F_INTEGER &&
		    s->fields[r->c].type != CDR_F_NUMBER)) {
			lfail(l, &v, "rule \"%s\": needs \"duration\" (a number "
			    "field), \"start\" and \"end\" (timestamp fields)",
			    r->name);
			goto out;
		}
		if (!has)
			r->tolerance = 1;
		rc = 0;
		goto out;
	}
	if (cdr_value_member(obj, "jq", 2, &v)) {
		if (get_string(l, obj, "jq", &expr) != 0)
			goto out;
		r->kind = CDR_RULE_JQ;
		r->expr = expr;
		expr = NULL;
		r->jq = cdr_jq_compile(r->expr, msg, sizeof(msg));
		if (r->jq == NULL) {
			lfail(l, &v, "rule \"%s\": %s", r->name, msg);
			goto out;
		}
		rc = 0;
		goto out;
	}
	return lfail(l, obj, "rule \"%s\" needs \"order\", \"duration\" or "
	    "\"jq\"", r->name);
out:
	free(a);
	free(b);
	free(d);
	free(expr);
	return rc;
}

static int
parse_schema(struct loader *l, struct cdr_schema *s)
{
	struct cdr_value root, v, c;
	struct cdr_field_spec *f;
	char *input = NULL;
	size_t i;

	cdr_record_root(&l->rec, &root);
	if (get_string(l, &root, "name", &s->name) != 0 ||
	    get_string(l, &root, "title", &s->title) != 0 ||
	    get_string(l, &root, "input", &input) != 0 ||
	    get_string(l, &root, "time_field", &s->time_field) != 0 ||
	    get_strings(l, &root, "columns", &s->columns, &s->ncolumns, 0) != 0 ||
	    get_strings(l, &root, "key", &s->key, &s->nkey, 0) != 0 ||
	    get_bool(l, &root, "local_time", &s->local_time) != 0)
		goto fail;
	s->additional = 1;
	if (get_bool(l, &root, "additional_fields", &s->additional) != 0)
		goto fail;
	s->input = CDR_FMT_AUTO;
	if (input != NULL) {
		if (strcmp(input, "csv") == 0)
			s->input = CDR_FMT_CSV;
		else if (strcmp(input, "ndjson") == 0)
			s->input = CDR_FMT_NDJSON;
		else {
			cdr_value_member(&root, "input", 5, &v);
			lfail(l, &v, "\"input\" must be \"ndjson\" or \"csv\"");
			goto fail;
		}
	}
	if (!cdr_value_member(&root, "fields", 6, &v) || v.type != CDR_T_ARRAY) {
		lfail(l, &root, "a schema needs a \"fields\" array");
		goto fail;
	}
	s->fields = cdr_xcalloc(l->rec.nodes[v.node].nchild + 1,
	    sizeof(*s->fields));
	for (cdr_value_child(&v, &c); c.type != CDR_T_MISSING;
	    cdr_value_next(&c)) {
		if (parse_field(l, &c, &s->fields[s->nfields++]) != 0)
			goto fail;
		f = &s->fields[s->nfields - 1];
		f->when_id = (int)s->nfields - 1;
		for (i = 0; i + 1 < s->nfields && f->has_when; i++)
			if (s->fields[i].has_when && strcmp(s->fields[i].when_path.text,
			    f->when_path.text) == 0) {
				f->when_id = s->fields[i].when_id;
				break;
			}
		f->when_group = (int)s->nfields - 1;
		for (i = 0; i + 1 < s->nfields && f->has_when; i++)
			if (s->fields[i].has_when &&
			    s->fields[i].when_id == f->when_id &&
			    s->fields[i].when_len == f->when_len &&
			    memcmp(s->fields[i].when_value, f->when_value,
			    f->when_len) == 0) {
				f->when_group = s->fields[i].when_group;
				break;
			}
		/* A name may repeat only under different "when" conditions. */
		for (i = 0; i + 1 < s->nfields; i++)
			if (strcmp(s->fields[i].name,
			    s->fields[s->nfields - 1].name) == 0 &&
			    (!s->fields[i].has_when ||
			    !s->fields[s->nfields - 1].has_when)) {
				lfail(l, &c, "field \"%s\" listed twice",
				    s->fields[i].name);
				goto fail;
			}
	}
	if (s->time_field != NULL && cdr_schema_field(s, s->time_field) < 0) {
		lfail(l, &root, "\"time_field\" \"%s\" is not a field",
		    s->time_field);
		goto fail;
	}
	if (cdr_value_member(&root, "rules", 5, &v)) {
		if (v.type != CDR_T_ARRAY) {
			lfail(l, &v, "\"rules\" must be an array");
			goto fail;
		}
		s->rules = cdr_xcalloc(l->rec.nodes[v.node].nchild + 1,
		    sizeof(*s->rules));
		for (cdr_value_child(&v, &c); c.type != CDR_T_MISSING;
		    cdr_value_next(&c))
			if (parse_rule(l, s, &c, &s->rules[s->nrules++]) != 0)
				goto fail;
	}
	free(input);
	return 0;
fail:
	free(input);
	return -1;
}

static char *
read_file(const char *path, size_t *n, char *err, size_t errlen)
{
	struct stat st;
	char *text;
	ssize_t r;
	size_t got = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > SCHEMA_MAX_BYTES) {
		snprintf(err, errlen, "%s: not a regular file of at most %d "
		    "bytes", path, SCHEMA_MAX_BYTES);
		close(fd);
		return NULL;
	}
	text = cdr_xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		r = read(fd, text + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, errlen, "%s: %s", path,
			    r < 0 ? strerror(errno) : "file shrank");
			free(text);
			close(fd);
			return NULL;
		}
		got += (size_t)r;
	}
	close(fd);
	text[got] = '\0';
	*n = got;
	return text;
}

struct cdr_schema *
cdr_schema_load(const char *name, char *err, size_t errlen)
{
	struct cdr_schema *s;
	struct loader l;
	uint32_t cap = 0;
	char *path, *rel;
	size_t n, k;
	int ok;

	if (strchr(name, '/') != NULL ||
	    ((k = strlen(name)) > 5 && strcmp(name + k - 5, ".json") == 0)) {
		path = cdr_xstrdup(name);
	} else {
		for (k = 0; name[k]; k++)
			if (!((name[k] >= 'a' && name[k] <= 'z') ||
			    (name[k] >= '0' && name[k] <= '9') ||
			    name[k] == '-' || name[k] == '_')) {
				snprintf(err, errlen, "%s: not a schema name "
				    "(use a path for a file)", name);
				return NULL;
			}
		rel = cdr_xmalloc(strlen(name) + 16);
		sprintf(rel, "schemas/%s.json", name);
		path = cdr_share_path(rel);
		free(rel);
		if (path == NULL) {
			snprintf(err, errlen, "%s: no such schema "
			    "(cdr-validate --list-schemas)", name);
			return NULL;
		}
	}
	memset(&l, 0, sizeof(l));
	l.file = path;
	l.err = err;
	l.errlen = errlen;
	l.text = read_file(path, &n, err, errlen);
	if (l.text == NULL) {
		free(path);
		return NULL;
	}
	l.rec.line = l.text;
	l.rec.len = n;
	l.rec.source = path;
	s = cdr_xcalloc(1, sizeof(*s));
	if (cdr_json_parse(&l.rec, &cap) != 0) {
		size_t col = 0, line = 1, c = 1, i;

		sscanf(l.rec.err, "column %zu", &col);
		for (i = 0; i + 1 < col && i < n; i++) {
			if (l.text[i] == '\n') {
				line++;
				c = 1;
			} else {
				c++;
			}
		}
		snprintf(err, errlen, "%s:%zu:%zu: %s", path, line, c,
		    strchr(l.rec.err, ':') ? strchr(l.rec.err, ':') + 2 :
		    l.rec.err);
		ok = 0;
	} else {
		ok = parse_schema(&l, s) == 0;
	}
	free(l.rec.nodes);
	free(l.text);
	cdr_buf_free(&l.scratch);
	free(path);
	if (!ok) {
		cdr_schema_free(s);
		return NULL;
	}
	if (s->name == NULL)
		s->name = cdr_xstrdup(name);
	return s;
}

static void
free_strings(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
cdr_schema_free(struct cdr_schema *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nfields; i++) {
		struct cdr_field_spec *f = &s->fields[i];

		free(f->name);
		cdr_path_free(&f->path);
		free_strings(f->enums, f->nenum);
		free(f->enum_len);
		if (f->has_re)
			regfree(&f->re);
		if (f->has_when)
			cdr_path_free(&f->when_path);
		free(f->when_value);
	}
	free(s->fields);
	for (i = 0; i < s->nrules; i++) {
		free(s->rules[i].name);
		free(s->rules[i].expr);
		if (s->rules[i].jq != NULL)
			cdr_jq_free(s->rules[i].jq);
	}
	free(s->rules);
	free(s->name);
	free(s->title);
	free(s->time_field);
	free_strings(s->columns, s->ncolumns);
	free_strings(s->key, s->nkey);
	free(s);
}

int
cdr_schema_field(const struct cdr_schema *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nfields; i++)
		if (strcmp(s->fields[i].name, name) == 0)
			return (int)i;
	return -1;
}

int
cdr_schema_add_jq_rule(struct cdr_schema *s, const char *name,
    const char *expr, char *err, size_t errlen)
{
	struct cdr_rule *r;
	struct cdr_jq *q;

	q = cdr_jq_compile(expr, err, errlen);
	if (q == NULL)
		return -1;
	s->rules = cdr_xreallocarray(s->rules, s->nrules + 1,
	    sizeof(*s->rules));
	r = &s->rules[s->nrules++];
	memset(r, 0, sizeof(*r));
	r->name = cdr_xstrdup(name);
	r->kind = CDR_RULE_JQ;
	r->expr = cdr_xstrdup(expr);
	r->jq = q;
	return 0;
}

/* ---- checks ---- */

static int
is_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

static int
check_format(enum cdr_fformat f, const char *s, size_t n)
{
	size_t i, k;
	unsigned part;
	int dots;

	switch (f) {
	case CDR_FF_NONE:
		return 1;
	case CDR_FF_UUID:
		if (n != 36)
			return 0;
		for (i = 0; i < 36; i++) {
			if (i == 8 || i == 13 || i == 18 || i == 23) {
				if (s[i] != '-')
					return 0;
			} else if (!is_hex((unsigned char)s[i])) {
				return 0;
			}
		}
		return 1;
	case CDR_FF_E164:
		/* +, a non-zero country digit, at most 15 digits in all. */
		if (n < 3 || n > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9')
			return 0;
		for (i = 2; i < n; i++)
			if (s[i] < '0' || s[i] > '9')
				return 0;
		return 1;
	case CDR_FF_DIGITS:
		if (n == 0)
			return 0;
		for (i = 0; i < n; i++)
			if (s[i] < '0' || s[i] > '9')
				return 0;
		return 1;
	case CDR_FF_HEX:
		if (n == 0)
			return 0;
		for (i = 0; i < n; i++)
			if (!is_hex((unsigned char)s[i]))
				return 0;
		return 1;
	case CDR_FF_ALNUM:
		if (n == 0)
			return 0;
		for (i = 0; i < n; i++)
			if (!((s[i] >= '0' && s[i] <= '9') ||
			    (s[i] >= 'a' && s[i] <= 'z') ||
			    (s[i] >= 'A' && s[i] <= 'Z')))
				return 0;
		return 1;
	case CDR_FF_IPV4:
		dots = 0;
		i = 0;
		while (i < n) {
			part = 0;
			for (k = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++, k++)
				part = part * 10 + (unsigned)(s[i] - '0');
			/* 1 to 3 digits, no leading zero, at most 255 */
			if (k == 0 || k > 3 || part > 255 ||
			    (k > 1 && s[i - k] == '0'))
				return 0;
			if (i < n) {
				if (s[i] != '.' || ++dots > 3)
					return 0;
				i++;
				if (i == n)
					return 0;
			}
		}
		return dots == 3;
	}
	return 0;
}

/* Characters in s[0..n): the bytes that are not UTF-8 continuation bytes. */
static size_t
utf8_chars(const char *s, size_t n)
{
	const uint64_t high = UINT64_C(0x8080808080808080);
	uint64_t w, cont;
	size_t i = 0, c = 0;

	/*
	 * Eight bytes at a time: a continuation byte (10xxxxxx) has bit 7
	 * set and bit 6 clear; the multiplication adds up the flags.
	 */
	for (; n - i >= 8; i += 8) {
		memcpy(&w, s + i, 8);
		cont = (w & ~(w << 1) & high) >> 7;
		c += (size_t)((cont * UINT64_C(0x0101010101010101)) >> 56);
	}
	for (; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) == 0x80)
			c++;
	return n - c;
}

/* A short printable excerpt of a value for messages. */
static void
excerpt(char *out, size_t outlen, const char *s, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n && k + 4 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];

		out[k++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (i < n && k + 4 <= outlen) {
		memcpy(out + k, "...", 3);
		k += 3;
	}
	out[k] = '\0';
}

static int
csv_bool(const char *s, size_t n, int *b)
{
	static const char *const t[] = { "true", "t", "1", "yes", "y" };
	static const char *const f[] = { "false", "f", "0", "no", "n" };
	size_t i;

	for (i = 0; i < 5; i++) {
		if (strlen(t[i]) == n && strncasecmp(s, t[i], n) == 0) {
			*b = 1;
			return 0;
		}
		if (strlen(f[i]) == n && strncasecmp(s, f[i], n) == 0) {
			*b = 0;
			return 0;
		}
	}
	return -1;
}

static void
check_field(const struct cdr_schema *sc, const struct cdr_field_spec *f,
    const struct cdr_record *rec, const struct cdr_tz *tz,
    struct cdr_field_value *fv, struct cdr_errors *errs,
    struct cdr_buf *scratch)
{
	const struct cdr_value *v = &fv->v;
	int csv = rec->format == CDR_FMT_CSV;
	const char *s = NULL, *why;
	char ex[80];
	size_t n = 0, i;
	double d = 0;
	int64_t iv;
	int b, is_num = 0;

	fv->ok = 0;
	fv->has_time = 0;
	fv->has_num = 0;
	if (v->type == CDR_T_MISSING) {
		if (f->required)
			cdr_errors_add(errs, f->name, "required",
			    "missing required field");
		else
			fv->ok = 1;
		return;
	}
	if (v->type == CDR_T_NULL) {
		if (!f->nullable)
			cdr_errors_add(errs, f->name, "null",
			    "must not be null");
		else
			fv->ok = 1;
		return;
	}
	if (v->type == CDR_T_STRING) {
		/* Most strings have no escapes: their bytes are the value. */
		if (!(rec->nodes[v->node].flags & CDR_N_VAL_ESC)) {
			s = v->p;
			n = v->len;
		} else if ((s = cdr_value_str(v, scratch, &n)) == NULL) {
			cdr_errors_add(errs, f->name, "type", "bad string");
			return;
		}
	}
	switch (f->type) {
	case CDR_F_ANY:
		break;
	case CDR_F_STRING:
		if (v->type != CDR_T_STRING) {
			cdr_errors_add(errs, f->name, "type",
			    "expected string, got %s", cdr_type_name(v->type));
			return;
		}
		break;
	case CDR_F_INTEGER:
		if ((v->type != CDR_T_NUMBER && !(csv && s != NULL)) ||
		    cdr_value_int64(v, &iv) != 0) {
			if (v->type == CDR_T_NUMBER)
				cdr_errors_add(errs, f->name, "type",
				    "expected integer, got %.*s",
				    (int)(v->len > 40 ? 40 : v->len), v->p);
			else
				cdr_errors_add(errs, f->name, "type",
				    "expected integer, got %s",
				    cdr_type_name(v->type));
			return;
		}
		d = (double)iv;
		is_num = 1;
		break;
	case CDR_F_NUMBER:
		if ((v->type != CDR_T_NUMBER && !(csv && s != NULL)) ||
		    cdr_value_double(v, &d) != 0) {
			if (v->type == CDR_T_NUMBER)
				cdr_errors_add(errs, f->name, "type",
				    "number out of range");
			else
				cdr_errors_add(errs, f->name, "type",
				    "expected number, got %s",
				    cdr_type_name(v->type));
			return;
		}
		is_num = 1;
		break;
	case CDR_F_BOOLEAN:
		if (!(v->type == CDR_T_TRUE || v->type == CDR_T_FALSE ||
		    (csv && s != NULL && csv_bool(s, n, &b) == 0))) {
			cdr_errors_add(errs, f->name, "type",
			    "expected boolean, got %s", cdr_type_name(v->type));
			return;
		}
		break;
	case CDR_F_TIMESTAMP:
		if (v->type == CDR_T_STRING) {
			int flags = CDR_TP_ISO | f->epoch;

			if (f->epoch && n > 0 && s[0] >= '0' && s[0] <= '9')
				flags = f->epoch;
			if (cdr_time_parse(s, n, flags,
			    sc->local_time ? tz : NULL, &fv->time, &why) != 0) {
				excerpt(ex, sizeof(ex), s, n);
				cdr_errors_add(errs, f->name, "timestamp",
				    "bad timestamp \"%s\": %s", ex, why);
				return;
			}
		} else if (v->type == CDR_T_NUMBER && f->epoch) {
			if (cdr_time_parse(v->p, v->len, f->epoch, NULL,
			    &fv->time, &why) != 0) {
				cdr_errors_add(errs, f->name, "timestamp",
				    "bad epoch time %.*s: %s",
				    (int)(v->len > 40 ? 40 : v->len), v->p, why);
				return;
			}
		} else {
			cdr_errors_add(errs, f->name, "type",
			    "expected timestamp, got %s",
			    cdr_type_name(v->type));
			return;
		}
		fv->has_time = 1;
		break;
	case CDR_F_OBJECT:
		if (v->type != CDR_T_OBJECT) {
			cdr_errors_add(errs, f->name, "type",
			    "expected object, got %s", cdr_type_name(v->type));
			return;
		}
		break;
	case CDR_F_ARRAY:
		if (v->type != CDR_T_ARRAY) {
			cdr_errors_add(errs, f->name, "type",
			    "expected array, got %s", cdr_type_name(v->type));
			return;
		}
		break;
	}
	if (f->nenum > 0) {
		const char *t = s;
		size_t tn = n;

		if (s == NULL) {
			t = v->p;
			tn = v->len;
		}
		for (i = 0; i < f->nenum; i++)
			if (f->enum_len[i] == tn &&
			    cdr_bytes_equal(f->enums[i], t, tn))
				break;
		if (i == f->nenum) {
			excerpt(ex, sizeof(ex), t, tn);
			cdr_errors_add(errs, f->name, "enum",
			    "\"%s\" is not one of the allowed values", ex);
			return;
		}
	}
	if (is_num) {
		fv->has_num = 1;
		fv->num = d;
		if (f->has_min && d < f->min) {
			cdr_errors_add(errs, f->name, "min",
			    "%.17g is below the minimum %.17g", d, f->min);
			return;
		}
		if (f->has_max && d > f->max) {
			cdr_errors_add(errs, f->name, "max",
			    "%.17g is above the maximum %.17g", d, f->max);
			return;
		}
	}
	if (s != NULL && f->type != CDR_F_TIMESTAMP) {
		/* Characters are at most bytes: often n alone decides. */
		size_t chars = f->min_len > 0 ||
		    (f->max_len >= 0 && n > (size_t)f->max_len) ?
		    utf8_chars(s, n) : n;

		if (f->min_len >= 0 && chars < (size_t)f->min_len) {
			cdr_errors_add(errs, f->name, "length",
			    "shorter than %lld characters", f->min_len);
			return;
		}
		if (f->max_len >= 0 && chars > (size_t)f->max_len) {
			cdr_errors_add(errs, f->name, "length",
			    "longer than %lld characters", f->max_len);
			return;
		}
		if (!check_format(f->format, s, n)) {
			excerpt(ex, sizeof(ex), s, n);
			cdr_errors_add(errs, f->name, "format",
			    "\"%s\" is not a valid %s", ex,
			    format_names[f->format]);
			return;
		}
		if (f->has_re) {
			/* regexec needs a C string without inner NUL. */
			if (s != scratch->p) {
				cdr_buf_reset(scratch);
				cdr_buf_add(scratch, s, n);
				s = scratch->p;
			}
			if (memchr(s, '\0', n) != NULL ||
			    regexec(&f->re, s, 0, NULL, 0) != 0) {
				excerpt(ex, sizeof(ex), s, n);
				cdr_errors_add(errs, f->name, "pattern",
				    "\"%s\" does not match the pattern", ex);
				return;
			}
		}
	}
	fv->ok = 1;
}

/*
 * Whether a field's "when" holds.  Fields of one event type share the
 * same condition field: its value is read once a record, and the answer
 * for one condition value is kept for the fields that follow with the
 * same one (memo).
 */
struct when_memo {
	int		 id;		/* the condition's when_id, or -1 */
	const char	*s;		/* its string value, or NULL */
	size_t		 n;
	int		 group;		/* the when_group last answered, or -1 */
	int		 holds;		/* its answer */
};

static int
when_holds(const struct cdr_field_spec *f, const struct cdr_record *rec,
    uint32_t *hint, struct when_memo *m, struct cdr_buf *scratch)
{
	struct cdr_value v;

	if (m->group == f->when_group)
		return m->holds;
	if (m->id != f->when_id) {
		m->id = f->when_id;
		m->s = NULL;
		if (cdr_record_get_hint(rec, &f->when_path, &v, hint) &&
		    v.type == CDR_T_STRING)
			m->s = cdr_value_str(&v, scratch, &m->n);
	}
	m->group = f->when_group;
	m->holds = m->s != NULL && f->when_len == m->n &&
	    cdr_bytes_equal(m->s, f->when_value, m->n);
	return m->holds;
}

/* Whether a top-level member name is a schema field or the head of one. */
static int
known_member(const struct cdr_schema *sc, const char *k, size_t n)
{
	size_t i;

	for (i = 0; i < sc->nfields; i++) {
		const struct cdr_path *p = &sc->fields[i].path;

		if (p->seg[0].n == n && memcmp(p->seg[0].s, k, n) == 0)
			return 1;
		if (p->textlen == n && memcmp(p->text, k, n) == 0)
			return 1;
	}
	return 0;
}

size_t
cdr_schema_check(const struct cdr_schema *sc, const struct cdr_record *rec,
    const struct cdr_tz *tz, struct cdr_field_value *vals,
    struct cdr_errors *errs)
{
	static struct cdr_buf scratch = CDR_BUF_INIT, when_scratch = CDR_BUF_INIT;
	struct when_memo memo = { -1, NULL, 0, -1, 0 };
	const struct cdr_field_spec *f;
	const struct cdr_rule *r;
	struct cdr_value m;
	size_t i, before = errs->n, n;
	const char *k;
	char err[512], t1[40], t2[40];
	double d;
	int rc;

	for (i = 0; i < sc->nfields; i++) {
		f = &sc->fields[i];
		if (f->has_when &&
		    !when_holds(f, rec, &vals[i].when_hint, &memo, &when_scratch)) {
			vals[i].v.type = CDR_T_MISSING;
			vals[i].ok = 0;
			vals[i].has_time = 0;
			continue;
		}
		if (!cdr_record_get_hint(rec, &f->path, &vals[i].v,
		    &vals[i].hint))
			vals[i].v.type = CDR_T_MISSING;
		check_field(sc, f, rec, tz, &vals[i], errs, &scratch);
	}
	if (!sc->additional) {
		cdr_record_root(rec, &m);
		for (cdr_value_child(&m, &m); m.type != CDR_T_MISSING;
		    cdr_value_next(&m)) {
			k = cdr_value_key(&m, &scratch, &n);
			if (k != NULL && !known_member(sc, k, n)) {
				excerpt(err, 64, k, n);
				cdr_errors_add(errs, err, "unknown_field",
				    "field not in schema %s", sc->name);
			}
		}
	}
	for (i = 0; i < sc->nrules; i++) {
		r = &sc->rules[i];
		switch (r->kind) {
		case CDR_RULE_ORDER:
			if (is_numeric(sc->fields[r->a].type)) {
				double x = vals[r->a].num, y = vals[r->b].num;

				if (!vals[r->a].has_num || !vals[r->b].has_num)
					break;
				if (y < x)
					cdr_errors_add(errs,
					    sc->fields[r->b].name, r->name,
					    "%s %.17g is less than %s %.17g",
					    sc->fields[r->b].name, y,
					    sc->fields[r->a].name, x);
				break;
			}
			if (!vals[r->a].has_time || !vals[r->b].has_time)
				break;
			if (vals[r->b].time < vals[r->a].time) {
				cdr_time_format_iso(t1, sizeof(t1),
				    vals[r->a].time, NULL, -1);
				cdr_time_format_iso(t2, sizeof(t2),
				    vals[r->b].time, NULL, -1);
				cdr_errors_add(errs, sc->fields[r->b].name,
				    r->name, "%s %s is before %s %s",
				    sc->fields[r->b].name, t2,
				    sc->fields[r->a].name, t1);
			}
			break;
		case CDR_RULE_DURATION:
			if (!vals[r->a].has_time || !vals[r->b].has_time ||
			    !vals[r->c].has_num)
				break;
			d = vals[r->c].num;
			{
				double span = (double)(vals[r->b].time -
				    vals[r->a].time) / 1e6;

				if (fabs(span - d) > r->tolerance)
					cdr_errors_add(errs,
					    sc->fields[r->c].name, r->name,
					    "%s is %.17g but %s - %s is %.6g s",
					    sc->fields[r->c].name, d,
					    sc->fields[r->b].name,
					    sc->fields[r->a].name, span);
			}
			break;
		case CDR_RULE_JQ:
			/* Only records otherwise valid: a rule may assume types. */
			if (errs->n > before)
				break;
			rc = cdr_jq_truthy(r->jq, rec, err, sizeof(err));
			if (rc == 0)
				cdr_errors_add(errs, NULL, r->name,
				    "rule failed: %s", r->expr);
			else if (rc < 0)
				cdr_errors_add(errs, NULL, r->name,
				    "rule error: %s", err);
			break;
		}
	}
	return errs->n - before;
}
