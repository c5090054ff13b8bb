/*
 * The libjq wrapper: compile errors, predicates, computed values, CSV
 * records built by hand, and (under valgrind) no leaks.  Run it as
 * valgrind --leak-check=full --error-exitcode=9 build/unit/test_jqexpr
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jv.h>

#include "buf.h"
#include "jqexpr.h"
#include "record.h"
#include "unit.h"

struct capture {
	int	 saved;
	FILE	*tmp;
};

static void capture_start(struct capture *c);
static size_t capture_end(struct capture *c, char *buf, size_t size);
static void ndjson(struct cdr_record *rec, const char *line);
static int truthy(const char *expr, const struct cdr_record *rec, char *err,
    size_t errlen);
static const char *first(const char *expr, const struct cdr_record *rec,
    struct cdr_buf *out);
static void set_cell(struct cdr_node *nd, const char *key, const char *val,
    size_t vlen, enum cdr_type type, uint8_t flags, uint32_t next);
static void test_compile_errors(void);
static void test_predicates(void);
static void test_values(void);
static void test_each(void);
static void test_csv(void);
static void test_debug(void);
static void test_modules(const char *home);

/* Sends stderr to a temporary file until capture_end. */
static void
capture_start(struct capture *c)
{
	if (fflush(stderr) == EOF || (c->tmp = tmpfile()) == NULL ||
	    (c->saved = dup(STDERR_FILENO)) == -1 ||
	    dup2(fileno(c->tmp), STDERR_FILENO) == -1) {
		perror("capture");
		exit(2);
	}
}

static size_t
capture_end(struct capture *c, char *buf, size_t size)
{
	size_t n;

	if (fflush(stderr) == EOF || dup2(c->saved, STDERR_FILENO) == -1 ||
	    close(c->saved) == -1 || fseek(c->tmp, 0, SEEK_SET) != 0) {
		perror("capture");
		exit(2);
	}
	n = fread(buf, 1, size - 1, c->tmp);
	buf[n] = '\0';
	fclose(c->tmp);
	return n;
}

static void
ndjson(struct cdr_record *rec, const char *line)
{
	memset(rec, 0, sizeof(*rec));
	rec->line = line;
	rec->len = strlen(line);
	rec->format = CDR_FMT_NDJSON;
}

/* Compiles expr (which must compile) and runs it as a predicate. */
static int
truthy(const char *expr, const struct cdr_record *rec, char *err,
    size_t errlen)
{
	struct cdr_jq *q;
	char cerr[256];
	int r;

	err[0] = '\0';
	if ((q = cdr_jq_compile(expr, cerr, sizeof(cerr))) == NULL) {
		fprintf(stderr, "%s: %s\n", expr, cerr);
		return -2;
	}
	r = cdr_jq_truthy(q, rec, err, errlen);
	cdr_jq_free(q);
	return r;
}

/* The first output of expr on rec as JSON, "(none)" or "(error: ...)". */
static const char *
first(const char *expr, const struct cdr_record *rec, struct cdr_buf *out)
{
	struct cdr_jq *q;
	char err[256];
	jv v;
	int r;

	cdr_buf_reset(out);
	if ((q = cdr_jq_compile(expr, err, sizeof(err))) == NULL) {
		cdr_buf_printf(out, "(compile: %s)", err);
		return out->p;
	}
	r = cdr_jq_first(q, cdr_jq_input(rec), &v, err, sizeof(err));
	if (r == 1)
		cdr_jq_dump(v, out);
	else if (r == 0)
		cdr_buf_adds(out, "(none)");
	else
		cdr_buf_printf(out, "(error: %s)", err);
	cdr_jq_free(q);
	return out->p;
}

static void
test_compile_errors(void)
{
	struct capture cap;
	struct cdr_jq *q;
	char err[256], small[16], said[256];
	const char *tail;

	capture_start(&cap);
	q = cdr_jq_compile(".x |", err, sizeof(err));
	CHECK(q == NULL);
	/* Folded onto one line, the quoted expression last, no blanks after. */
	CHECK(strstr(err, "syntax error") != NULL);
	CHECK(strchr(err, '\n') == NULL);
	CHECK(strncmp(err, "jq:", 3) != 0);
	tail = "at <top-level>, line 1: .x |";
	CHECK(strlen(err) > strlen(tail) &&
	    strcmp(err + strlen(err) - strlen(tail), tail) == 0);

	CHECK(cdr_jq_compile("foo", err, sizeof(err)) == NULL);
	CHECK_STR(err, "foo/0 is not defined at <top-level>, line 1: foo");
	CHECK(cdr_jq_compile("$x", err, sizeof(err)) == NULL);
	CHECK_STR(err, "$x is not defined at <top-level>, line 1: $x");

	/* Cut to fit, still terminated. */
	CHECK(cdr_jq_compile("foo", small, sizeof(small)) == NULL);
	CHECK_STR(small, "foo/0 is not de");
	/* No room for a message at all. */
	CHECK(cdr_jq_compile("foo", NULL, 0) == NULL);
	CHECK_INT(capture_end(&cap, said, sizeof(said)), 0);

	/* Success leaves err empty. */
	strcpy(err, "stale");
	q = cdr_jq_compile(".a", err, sizeof(err));
	CHECK(q != NULL);
	CHECK_STR(err, "");
	cdr_jq_free(q);
	cdr_jq_free(NULL);
}

static void
test_predicates(void)
{
	struct cdr_record rec;
	char err[256];

	ndjson(&rec, "{\"x\":\"5\",\"dur\":30,\"ok\":true,\"n\":null,"
	    "\"s\":\"abc\"}");
	CHECK_INT(truthy(".dur > 10", &rec, err, sizeof(err)), 1);
	CHECK_INT(truthy(".dur > 100", &rec, err, sizeof(err)), 0);
	CHECK_INT(truthy(".ok", &rec, err, sizeof(err)), 1);
	CHECK_INT(truthy(".n", &rec, err, sizeof(err)), 0);
	CHECK_INT(truthy(".missing", &rec, err, sizeof(err)), 0);
	CHECK_INT(truthy("false", &rec, err, sizeof(err)), 0);
	/* In jq only false and null are false. */
	CHECK_INT(truthy("0", &rec, err, sizeof(err)), 1);
	CHECK_INT(truthy("\"\"", &rec, err, sizeof(err)), 1);
	CHECK_INT(truthy("[]", &rec, err, sizeof(err)), 1);
	CHECK_INT(truthy("empty", &rec, err, sizeof(err)), 0);
	/* Only the first output counts. */
	CHECK_INT(truthy("false, true", &rec, err, sizeof(err)), 0);
	CHECK_INT(truthy("true, error(\"later\")", &rec, err, sizeof(err)), 1);
	CHECK_INT(truthy(".x | tonumber > 3", &rec, err, sizeof(err)), 1);
	CHECK_INT(truthy("halt", &rec, err, sizeof(err)), 0);
	CHECK_STR(err, "");

	CHECK_INT(truthy(".s | tonumber", &rec, err, sizeof(err)), -1);
	CHECK(strstr(err, "abc") != NULL);
	CHECK_INT(truthy(".s | tonumber > 3", &rec, err, sizeof(err)), -1);
	CHECK(strstr(err, "abc") != NULL);
	CHECK_INT(truthy(".ok + 1", &rec, err, sizeof(err)), -1);
	CHECK_STR(err, "boolean (true) and number (1) cannot be added");
	CHECK_INT(truthy("error(\"boom\")", &rec, err, sizeof(err)), -1);
	CHECK_STR(err, "boom");
	CHECK_INT(truthy("error({\"a\":1})", &rec, err, sizeof(err)), -1);
	CHECK_STR(err, "(not a string): {\"a\":1}");
	CHECK_INT(truthy("\"bye\\n\" | halt_error", &rec, err, sizeof(err)),
	    -1);
	CHECK_STR(err, "bye");

	/* Input that is not a record is an error, not a crash. */
	ndjson(&rec, "{\"x\":");
	CHECK_INT(truthy("true", &rec, err, sizeof(err)), -1);
	CHECK(err[0] != '\0');
	ndjson(&rec, "{\"x\":1}");
	rec.bad = 1;
	strcpy(rec.err, "column 6: invalid UTF-8");
	CHECK_INT(truthy("true", &rec, err, sizeof(err)), -1);
	CHECK_STR(err, "bad record: column 6: invalid UTF-8");
}

static void
test_values(void)
{
	struct cdr_buf out = CDR_BUF_INIT;
	struct cdr_record rec;

	ndjson(&rec, "{\"x\":\"5\",\"dur\":30,\"tags\":[\"a\",\"b\"],"
	    "\"m\":{\"k\":\"v\\u0000w\"}}");
	CHECK_STR(first("{a: (.dur * 2), s: (.x + \"!\")}", &rec, &out),
	    "{\"a\":60,\"s\":\"5!\"}");
	CHECK_STR(first(".dur / 7 | floor", &rec, &out), "4");
	CHECK_STR(first("0.1 + 0.2", &rec, &out), "0.30000000000000004");
	CHECK_STR(first(".tags | join(\"|\")", &rec, &out), "\"a|b\"");
	CHECK_STR(first(".m.k", &rec, &out), "\"v\\u0000w\"");
	CHECK_STR(first(".m", &rec, &out), "{\"k\":\"v\\u0000w\"}");
	CHECK_STR(first("[.tags[] | ascii_upcase]", &rec, &out),
	    "[\"A\",\"B\"]");
	CHECK_STR(first(".tags[]", &rec, &out), "\"a\"");
	CHECK_STR(first("empty", &rec, &out), "(none)");
	CHECK_STR(first(".x | tonumber + .dur", &rec, &out),
	    "(error: Cannot index string with string \"dur\")");
	/* jq 1.6 numbers are doubles: 2^53 + 1 comes back as 2^53. */
	ndjson(&rec, "{\"id\":9007199254740993}");
	CHECK_STR(first(".id", &rec, &out), "9007199254740992");

	/* cdr_jq_dump appends. */
	cdr_buf_reset(&out);
	cdr_buf_adds(&out, "x=");
	cdr_jq_dump(jv_parse("{\"a\": [1, 2.5, null, true]}"), &out);
	CHECK_STR(out.p, "x={\"a\":[1,2.5,null,true]}");
	cdr_buf_free(&out);

	CHECK_STR(cdr_jq_version(), "1.6");
}

/* All outputs, the end, an error mid-way, an abandoned run. */
static void
test_each(void)
{
	struct cdr_buf out = CDR_BUF_INIT;
	struct cdr_record rec;
	struct cdr_jq *q;
	char err[256];
	jv v;
	int i;

	ndjson(&rec, "{\"a\":1,\"b\":[2]}");
	q = cdr_jq_compile(".[]", err, sizeof(err));
	CHECK(q != NULL);
	if (q == NULL)
		return;
	cdr_jq_start(q, cdr_jq_input(&rec));
	while (cdr_jq_next(q, &v, err, sizeof(err)) == 1) {
		cdr_jq_dump(v, &out);
		cdr_buf_addc(&out, ';');
	}
	CHECK_STR(out.p, "1;[2];");
	/* Asking again after the end stays at the end. */
	CHECK_INT(cdr_jq_next(q, &v, err, sizeof(err)), 0);
	CHECK_INT(jv_get_kind(v), JV_KIND_INVALID);
	cdr_jq_free(q);

	q = cdr_jq_compile("1, error(\"mid\"), 3", err, sizeof(err));
	CHECK(q != NULL);
	if (q == NULL)
		return;
	cdr_jq_start(q, cdr_jq_input(&rec));
	CHECK_INT(cdr_jq_next(q, &v, err, sizeof(err)), 1);
	jv_free(v);
	CHECK_INT(cdr_jq_next(q, &v, err, sizeof(err)), -1);
	CHECK_STR(err, "mid");
	CHECK_INT(cdr_jq_next(q, &v, err, sizeof(err)), 0);
	/* Bad input, then a new start without reading the error. */
	cdr_jq_start(q, jv_parse("{"));
	cdr_jq_start(q, cdr_jq_input(&rec));
	CHECK_INT(cdr_jq_next(q, &v, err, sizeof(err)), 1);
	jv_free(v);
	cdr_jq_start(q, jv_parse("{"));
	cdr_jq_free(q);

	/* Many runs, each abandoned after the first output. */
	q = cdr_jq_compile("range(1000) | {n: ., s: tostring}", err,
	    sizeof(err));
	CHECK(q != NULL);
	if (q == NULL)
		return;
	for (i = 0; i < 200; i++) {
		CHECK_INT(cdr_jq_first(q, cdr_jq_input(&rec), &v, err,
		    sizeof(err)), 1);
		jv_free(v);
	}
	cdr_jq_free(q);
	cdr_buf_free(&out);
}

static void
set_cell(struct cdr_node *nd, const char *key, const char *val, size_t vlen,
    enum cdr_type type, uint8_t flags, uint32_t next)
{
	memset(nd, 0, sizeof(*nd));
	nd->key = key;
	nd->klen = (uint32_t)strlen(key);
	nd->val = val;
	nd->vlen = (uint32_t)vlen;
	nd->type = (uint8_t)type;
	nd->flags = flags;
	nd->next = next;
}

/*
 * The row  7,"Smith, J","say ""hi""",,""  under the header
 * id,name,note,empty,quote, as the CSV reader lays it out on the tape.
 */
static void
test_csv(void)
{
	static const char line[] = "7,\"Smith, J\",\"say \"\"hi\"\"\",,\"\"";
	struct cdr_buf out = CDR_BUF_INIT;
	struct cdr_node nodes[6];
	struct cdr_record rec;
	char err[256];

	memset(&rec, 0, sizeof(rec));
	rec.line = line;
	rec.len = strlen(line);
	rec.format = CDR_FMT_CSV;
	rec.nodes = nodes;
	rec.nnodes = 6;
	memset(&nodes[0], 0, sizeof(nodes[0]));
	nodes[0].type = CDR_T_OBJECT;
	nodes[0].nchild = 5;
	set_cell(&nodes[1], "id", line, 1, CDR_T_STRING, CDR_N_CSV, 2);
	set_cell(&nodes[2], "name", line + 3, 8, CDR_T_STRING, CDR_N_CSV, 3);
	set_cell(&nodes[3], "note", line + 14, 10, CDR_T_STRING,
	    CDR_N_CSV | CDR_N_VAL_ESC, 4);
	set_cell(&nodes[4], "empty", line + 26, 0, CDR_T_NULL, CDR_N_CSV, 5);
	set_cell(&nodes[5], "quote", line + 28, 0, CDR_T_STRING, CDR_N_CSV, 0);
	CHECK(memcmp(nodes[3].val, "say \"\"hi\"\"", 10) == 0);

	CHECK_STR(first(".", &rec, &out), "{\"id\":\"7\",\"name\":\"Smith, J\","
	    "\"note\":\"say \\\"hi\\\"\",\"empty\":null,\"quote\":\"\"}");
	CHECK_STR(first("keys_unsorted", &rec, &out),
	    "[\"id\",\"name\",\"note\",\"empty\",\"quote\"]");
	CHECK_INT(truthy(".empty == null", &rec, err, sizeof(err)), 1);
	CHECK_INT(truthy(".quote == \"\"", &rec, err, sizeof(err)), 1);
	CHECK_INT(truthy(".id | tonumber == 7", &rec, err, sizeof(err)), 1);
	CHECK_INT(truthy(".note | contains(\"\\\"hi\\\"\")", &rec, err,
	    sizeof(err)), 1);
	CHECK_INT(truthy(".id > 10", &rec, err, sizeof(err)), 1);

	/* A repeated column name keeps the last cell. */
	nodes[2].key = "id";
	nodes[2].klen = 2;
	CHECK_STR(first(".id", &rec, &out), "\"Smith, J\"");

	/* A row with no columns is an empty object. */
	nodes[0].nchild = 0;
	rec.nnodes = 1;
	CHECK_STR(first(".", &rec, &out), "{}");
	cdr_buf_free(&out);
}

static void
test_debug(void)
{
	struct cdr_buf out = CDR_BUF_INIT;
	struct cdr_record rec;
	struct capture cap;
	char said[512];

	ndjson(&rec, "{\"a\":[1,2]}");
	capture_start(&cap);
	CHECK_STR(first(".a | debug | length", &rec, &out), "2");
	capture_end(&cap, said, sizeof(said));
	CHECK(strstr(said, ": debug: [1,2]\n") != NULL);
	cdr_buf_free(&out);
}

/*
 * As in the jq program: a file ~/.jq is part of every expression, and a
 * directory ~/.jq holds modules; a missing module is an error, not an abort.
 */
static void
test_modules(const char *home)
{
	struct cdr_buf out = CDR_BUF_INIT;
	struct cdr_record rec;
	char dotjq[64], mod[128], err[256];
	FILE *fp;

	ndjson(&rec, "{\"n\":21}");
	snprintf(dotjq, sizeof(dotjq), "%s/.jq", home);
	if ((fp = fopen(dotjq, "w")) == NULL ||
	    fputs("def hello: \"hi\";\n", fp) == EOF || fclose(fp) != 0) {
		perror(dotjq);
		exit(2);
	}
	CHECK_STR(first("hello", &rec, &out), "\"hi\"");
	if (unlink(dotjq) != 0) {
		perror(dotjq);
		exit(2);
	}

	snprintf(mod, sizeof(mod), "%s/cdrtest.jq", dotjq);
	if (mkdir(dotjq, 0700) != 0 || (fp = fopen(mod, "w")) == NULL ||
	    fputs("def twice: . * 2;\n", fp) == EOF || fclose(fp) != 0) {
		perror(mod);
		exit(2);
	}
	CHECK_STR(first("import \"cdrtest\" as m; .n | m::twice", &rec, &out),
	    "42");
	CHECK_STR(first("include \"cdrtest\"; .n | twice", &rec, &out), "42");
	CHECK(cdr_jq_compile("import \"cdrnosuch\" as m; .", err,
	    sizeof(err)) == NULL);
	CHECK_STR(err, "module not found: cdrnosuch");
	if (unlink(mod) != 0 || rmdir(dotjq) != 0)
		perror(mod);
	cdr_buf_free(&out);
}

int
main(void)
{
	char home[] = "/tmp/test_jqexpr.XXXXXX";

	/* libjq reads ~/.jq: the tester's own must not change the results. */
	if (mkdtemp(home) == NULL || setenv("HOME", home, 1) != 0) {
		perror(home);
		return 2;
	}
	test_compile_errors();
	test_predicates();
	test_values();
	test_each();
	test_csv();
	test_debug();
	test_modules(home);
	if (rmdir(home) != 0)
		perror(home);
	UNIT_DONE();
}
