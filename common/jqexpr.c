/*
 * jq expressions over records, through libjq 1.6.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <jq.h>
#include <jv.h>

#include "buf.h"
#include "jqexpr.h"
#include "msg.h"
#include "record.h"

#ifndef CDR_JQ_VERSION
#define CDR_JQ_VERSION "unknown"
#endif

enum run_state {
	RUN_NONE,		/* nothing started, or the run is over */
	RUN_ACTIVE,		/* jq_start() done, outputs may follow */
	RUN_BAD_INPUT		/* the input was invalid: report it once */
};

struct cdr_jq {
	jq_state	*jq;
	int		 compiling;	/* compile errors go to err */
	int		 nerr;
	char		*err;
	size_t		 errlen;
	enum run_state	 state;
	jv		 bad_input;	/* RUN_BAD_INPUT: the invalid input */
};

static int is_space(int c);
static void set_err(char *err, size_t errlen, const char *pre,
    const char *text);
static void set_err_jv(char *err, size_t errlen, jv msg);
static void on_error(void *data, jv msg);
static void on_debug(void *data, jv msg);
static void on_nomem(void *data);
static jv csv_object(const struct cdr_record *rec);

static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * err = pre + text on one line: without jq's "jq: error: " prefix, a run
 * of blanks holding a line break made one space (compile errors quote the
 * expression on a second line), trailing blanks dropped, cut to errlen.
 */
static void
set_err(char *err, size_t errlen, const char *pre, const char *text)
{
	const char *p, *run;
	size_t n;
	int nl;

	if (errlen == 0)
		return;
	if (strncmp(text, "jq: error: ", 11) == 0)
		text += 11;
	n = strlen(pre) < errlen - 1 ? strlen(pre) : errlen - 1;
	memcpy(err, pre, n);
	for (p = text; *p != '\0' && n < errlen - 1; ) {
		if (!is_space((unsigned char)*p)) {
			err[n++] = *p++;
			continue;
		}
		for (run = p, nl = 0; is_space((unsigned char)*p); p++)
			nl |= *p == '\n' || *p == '\r';
		if (*p == '\0')
			break;
		if (nl)
			err[n++] = ' ';
		else
			for (; run < p && n < errlen - 1; run++)
				err[n++] = *run;
	}
	err[n] = '\0';
}

/* A jq error value (consumed): a string as it is, anything else as JSON. */
static void
set_err_jv(char *err, size_t errlen, jv msg)
{
	jv s;

	if (jv_get_kind(msg) == JV_KIND_STRING) {
		set_err(err, errlen, "", jv_string_value(msg));
		jv_free(msg);
		return;
	}
	s = jv_dump_string(msg, 0);
	set_err(err, errlen, "(not a string): ", jv_string_value(s));
	jv_free(s);
}

/*
 * libjq reports compile errors here (the callback owns msg).  Only the
 * first is kept: the last one is a count ("jq: 1 compile error").
 */
static void
on_error(void *data, jv msg)
{
	struct cdr_jq *q = data;
	char line[512];

	if (q->compiling) {
		if (q->nerr++ == 0)
			set_err_jv(q->err, q->errlen, msg);
		else
			jv_free(msg);
		return;
	}
	set_err_jv(line, sizeof(line), msg);
	cdr_warn("jq: %s", line);
}

/* `debug` (the callback owns msg); without a callback jq 1.6 is silent. */
static void
on_debug(void *data, jv msg)
{
	jv s;

	(void)data;
	s = jv_dump_string(msg, 0);
	cdr_warn("debug: %s", jv_string_value(s));
	jv_free(s);
}

/*
 * Out of memory inside libjq: jq would abort(), which skips the atexit
 * handlers that remove temporary output files.  Exit as cdr_xmalloc does.
 */
static void
on_nomem(void *data)
{
	(void)data;
	cdr_die(CDR_EXIT_IO, "jq: out of memory");
}

struct cdr_jq *
cdr_jq_compile(const char *expr, char *err, size_t errlen)
{
	struct cdr_jq *q;
	int ok;

	if (errlen > 0)
		err[0] = '\0';
	q = cdr_xcalloc(1, sizeof(*q));
	q->state = RUN_NONE;
	if ((q->jq = jq_init()) == NULL) {
		set_err(err, errlen, "", "out of memory");
		free(q);
		return NULL;
	}
	jq_set_nomem_handler(q->jq, on_nomem, NULL);
	jq_set_error_cb(q->jq, on_error, q);
	jq_set_debug_cb(q->jq, on_debug, NULL);
	/*
	 * Where `import` and `include` look (the first of the jq program's
	 * defaults); without it, jq 1.6 fails an assertion on an import.
	 */
	jq_set_attr(q->jq, jv_string("JQ_LIBRARY_PATH"),
	    jv_array_append(jv_array(), jv_string("~/.jq")));
	q->compiling = 1;
	q->err = err;
	q->errlen = errlen;
	ok = jq_compile(q->jq, expr);
	q->compiling = 0;
	q->err = NULL;
	q->errlen = 0;
	if (!ok) {
		if (q->nerr == 0)
			set_err(err, errlen, "", "does not compile");
		cdr_jq_free(q);
		return NULL;
	}
	return q;
}

void
cdr_jq_free(struct cdr_jq *q)
{
	if (q == NULL)
		return;
	if (q->state == RUN_BAD_INPUT)
		jv_free(q->bad_input);
	jq_teardown(&q->jq);
	free(q);
}

/* A CSV row as an object of strings and nulls, in column order. */
static jv
csv_object(const struct cdr_record *rec)
{
	struct cdr_buf scratch = CDR_BUF_INIT;
	struct cdr_value root, cell;
	const char *k, *s;
	size_t klen, slen;
	jv obj, key, val;
	int more;

	obj = jv_object();
	cdr_record_root(rec, &root);
	for (more = cdr_value_child(&root, &cell); more;
	    more = cdr_value_next(&cell)) {
		k = cdr_value_key(&cell, &scratch, &klen);
		if (k == NULL || klen > INT_MAX)
			goto bad;
		/* jq copies the bytes: scratch can be reused for the value. */
		key = jv_string_sized(k, (int)klen);
		if (cell.type == CDR_T_NULL)
			val = jv_null();
		else {
			s = cdr_value_str(&cell, &scratch, &slen);
			if (s == NULL || slen > INT_MAX) {
				jv_free(key);
				goto bad;
			}
			val = jv_string_sized(s, (int)slen);
		}
		obj = jv_object_set(obj, key, val);
	}
	cdr_buf_free(&scratch);
	return obj;
bad:
	cdr_buf_free(&scratch);
	jv_free(obj);
	return jv_invalid_with_msg(jv_string("cannot decode a CSV cell"));
}

jv
cdr_jq_input(const struct cdr_record *rec)
{
	if (rec->bad)
		return jv_invalid_with_msg(jv_string_fmt("bad record: %s",
		    rec->err));
	if (rec->format == CDR_FMT_CSV)
		return csv_object(rec);
	if (rec->len > INT_MAX)
		return jv_invalid_with_msg(
		    jv_string("record too large for jq"));
	return jv_parse_sized(rec->line, (int)rec->len);
}

void
cdr_jq_start(struct cdr_jq *q, jv input)
{
	if (q->state == RUN_BAD_INPUT)
		jv_free(q->bad_input);
	if (!jv_is_valid(input)) {
		q->bad_input = input;
		q->state = RUN_BAD_INPUT;
		return;
	}
	jq_start(q->jq, input, 0);
	q->state = RUN_ACTIVE;
}

int
cdr_jq_next(struct cdr_jq *q, jv *out, char *err, size_t errlen)
{
	jv v;

	*out = jv_invalid();
	if (q->state == RUN_BAD_INPUT) {
		q->state = RUN_NONE;
		set_err_jv(err, errlen, jv_invalid_get_msg(q->bad_input));
		return -1;
	}
	if (q->state != RUN_ACTIVE)
		return 0;
	v = jq_next(q->jq);
	if (jv_is_valid(v)) {
		*out = v;
		return 1;
	}
	/* jq cannot be asked for more after an error or the end. */
	q->state = RUN_NONE;
	if (jv_invalid_has_msg(jv_copy(v))) {
		set_err_jv(err, errlen, jv_invalid_get_msg(v));
		return -1;
	}
	jv_free(v);
	/* `halt` has no message; `halt_error` always has one. */
	if (jq_halted(q->jq)) {
		v = jq_get_error_message(q->jq);
		if (jv_is_valid(v)) {
			set_err_jv(err, errlen, v);
			return -1;
		}
		jv_free(v);
	}
	return 0;
}

int
cdr_jq_first(struct cdr_jq *q, jv input, jv *out, char *err, size_t errlen)
{
	cdr_jq_start(q, input);
	return cdr_jq_next(q, out, err, errlen);
}

int
cdr_jq_truthy(struct cdr_jq *q, const struct cdr_record *rec, char *err,
    size_t errlen)
{
	jv_kind kind;
	jv out;
	int r;

	r = cdr_jq_first(q, cdr_jq_input(rec), &out, err, errlen);
	if (r != 1)
		return r;
	kind = jv_get_kind(out);
	jv_free(out);
	return kind != JV_KIND_FALSE && kind != JV_KIND_NULL;
}

void
cdr_jq_dump(jv v, struct cdr_buf *out)
{
	jv s;

	s = jv_dump_string(v, 0);
	cdr_buf_add(out, jv_string_value(s),
	    (size_t)jv_string_length_bytes(jv_copy(s)));
	jv_free(s);
}

const char *
cdr_jq_version(void)
{
	return CDR_JQ_VERSION;
}
