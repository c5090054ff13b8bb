/*
 * Column specs: "NAME[:TYPE][=PATH]" and jq computed columns
 * "NAME[:TYPE]=EXPR".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "tocsv.h"

static const struct {
	const char	*name;
	enum ctype	 type;
} type_names[] = {
	{ "auto", CT_AUTO },
	{ "string", CT_STRING },
	{ "text", CT_STRING },
	{ "integer", CT_INTEGER },
	{ "int", CT_INTEGER },
	{ "bigint", CT_INTEGER },
	{ "number", CT_NUMBER },
	{ "numeric", CT_NUMBER },
	{ "boolean", CT_BOOLEAN },
	{ "bool", CT_BOOLEAN },
	{ "timestamp", CT_TIMESTAMP },
	{ "timestamptz", CT_TIMESTAMPTZ },
	{ "date", CT_DATE },
	{ "json", CT_JSON },
};

#define NTYPES (sizeof(type_names) / sizeof(type_names[0]))

static struct column *new_column(struct columns *cols);
static int split_name(const char *s, size_t n, char **name, enum ctype *type,
    int *typed, char *err, size_t errlen);

enum ctype
ctype_parse(const char *s, size_t n, int *ok)
{
	size_t i;

	for (i = 0; i < NTYPES; i++) {
		if (strlen(type_names[i].name) == n &&
		    memcmp(type_names[i].name, s, n) == 0) {
			*ok = 1;
			return type_names[i].type;
		}
	}
	*ok = 0;
	return CT_AUTO;
}

const char *
ctype_name(enum ctype t)
{
	size_t i;

	for (i = 0; i < NTYPES; i++)
		if (type_names[i].type == t)
			return type_names[i].name;
	return "auto";
}

static struct column *
new_column(struct columns *cols)
{
	struct column *c;

	if (cols->n == cols->cap) {
		cols->cap = cols->cap ? cols->cap * 2 : 16;
		cols->c = cdr_xreallocarray(cols->c, cols->cap,
		    sizeof(*cols->c));
	}
	c = &cols->c[cols->n++];
	memset(c, 0, sizeof(*c));
	c->tp_flags = CDR_TP_ANY;
	return c;
}

/*
 * "NAME" or "NAME:TYPE": the type follows the last colon, so a name that
 * holds a colon itself is written with its type ("ns:id:string").
 */
static int
split_name(const char *s, size_t n, char **name, enum ctype *type, int *typed,
    char *err, size_t errlen)
{
	const char *colon = NULL;
	size_t i;
	int ok;

	for (i = 0; i < n; i++)
		if (s[i] == ':')
			colon = s + i;
	*type = CT_AUTO;
	*typed = 0;
	if (colon != NULL) {
		*type = ctype_parse(colon + 1, (size_t)(s + n - colon - 1), &ok);
		if (!ok) {
			snprintf(err, errlen, "unknown column type '%.*s' (one "
			    "of auto, string, integer, number, boolean, "
			    "timestamp, timestamptz, date, json)",
			    (int)(s + n - colon - 1), colon + 1);
			return -1;
		}
		*typed = 1;
		n = (size_t)(colon - s);
	}
	if (n == 0) {
		snprintf(err, errlen, "empty column name");
		return -1;
	}
	if (memchr(s, '\0', n) != NULL || memchr(s, '\n', n) != NULL) {
		snprintf(err, errlen, "bad column name");
		return -1;
	}
	*name = cdr_xstrndup(s, n);
	return 0;
}

int
columns_add_spec(struct columns *cols, const char *spec, char *err,
    size_t errlen)
{
	const char *eq = strchr(spec, '=');
	struct column *c;
	enum ctype type;
	char *name;
	int typed;

	if (split_name(spec, eq ? (size_t)(eq - spec) : strlen(spec), &name,
	    &type, &typed, err, errlen) != 0)
		return -1;
	if (eq != NULL && eq[1] == '\0') {
		free(name);
		snprintf(err, errlen, "empty path after '=' in '%s'", spec);
		return -1;
	}
	c = new_column(cols);
	c->name = name;
	c->type = type;
	c->typed = typed;
	c->source = cdr_xstrdup(eq ? eq + 1 : name);
	if (cdr_path_init(&c->path, c->source) != 0) {
		snprintf(err, errlen, "bad path '%s'", c->source);
		cols->n--;
		free(c->name);
		free(c->source);
		return -1;
	}
	return 0;
}

int
columns_add_jq(struct columns *cols, const char *spec, char *err,
    size_t errlen)
{
	const char *eq = strchr(spec, '=');
	struct column *c;
	struct cdr_jq *q;
	enum ctype type;
	char *name, jqerr[256];
	int typed;

	if (eq == NULL) {
		snprintf(err, errlen, "expected NAME=EXPR, not '%s'", spec);
		return -1;
	}
	if (split_name(spec, (size_t)(eq - spec), &name, &type, &typed, err,
	    errlen) != 0)
		return -1;
	q = cdr_jq_compile(eq + 1, jqerr, sizeof(jqerr));
	if (q == NULL) {
		snprintf(err, errlen, "%s: %s", name, jqerr);
		free(name);
		return -1;
	}
	c = new_column(cols);
	c->name = name;
	c->type = type;
	c->typed = typed;
	c->source = cdr_xstrdup(eq + 1);
	c->jq = q;
	return 0;
}

int
columns_add_list(struct columns *cols, const char *list, char *err,
    size_t errlen)
{
	char *copy = cdr_xstrdup(list), *p, *comma;
	int rc = 0;

	if (*list == '\0') {
		snprintf(err, errlen, "empty column list");
		free(copy);
		return -1;
	}
	for (p = copy; rc == 0; p = comma + 1) {
		comma = strchr(p, ',');
		if (comma != NULL)
			*comma = '\0';
		rc = columns_add_spec(cols, p, err, errlen);
		if (comma == NULL)
			break;
	}
	free(copy);
	return rc;
}

void
columns_add_path(struct columns *cols, const char *name, size_t n)
{
	struct column *c = new_column(cols);

	c->name = cdr_xstrndup(name, n);
	c->source = cdr_xstrndup(name, n);
	/*
	 * A key of the record itself: the whole name is one segment even
	 * when it holds dots, so look it up as the literal member.
	 */
	if (cdr_path_init(&c->path, c->source) != 0)
		cdr_die(CDR_EXIT_INTERNAL, "empty column name");
}

void
columns_append(struct columns *cols, const struct column *c)
{
	*new_column(cols) = *c;
}

int
columns_find(const struct columns *cols, const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < cols->n; i++)
		if (strlen(cols->c[i].source) == n &&
		    memcmp(cols->c[i].source, name, n) == 0)
			return (int)i;
	return -1;
}

void
columns_free(struct columns *cols)
{
	size_t i;

	for (i = 0; i < cols->n; i++) {
		free(cols->c[i].name);
		free(cols->c[i].source);
		if (cols->c[i].jq != NULL)
			cdr_jq_free(cols->c[i].jq);
		else
			cdr_path_free(&cols->c[i].path);
	}
	free(cols->c);
	memset(cols, 0, sizeof(*cols));
}
