/*
 * The record reader and the node tape: every defined outcome for awkward
 * input (see common/reader.c), NDJSON and CSV, compressed and archived
 * sources.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"
#include "record.h"
#include "unit.h"

static char dir[] = "/tmp/cdr-test-reader.XXXXXX";
static char path[512];

static const char *
put(const char *name, const void *data, size_t n)
{
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "wb");
	if (fp == NULL || fwrite(data, 1, n, fp) != n || fclose(fp) != 0) {
		perror(path);
		exit(2);
	}
	return path;
}

static const char *
puts_file(const char *name, const char *s)
{
	return put(name, s, strlen(s));
}

/* Reads all records of a file into a compact description per record. */
struct seen {
	int		 n;
	int		 bad[64];
	uint64_t	 line[64];
	uint64_t	 off[64];
	char		 err[64][160];
	char		 text[64][128];
	char		 source[64][256];
};

static int
read_all(const char *file, const struct cdr_reader_opts *opts, struct seen *s,
    struct cdr_reader_stats *st)
{
	struct cdr_reader *r = cdr_reader_new(opts);
	struct cdr_record *rec;
	int rc;

	memset(s, 0, sizeof(*s));
	if (cdr_reader_open(r, file) != 0) {
		cdr_reader_free(r);
		return -1;
	}
	while ((rc = cdr_reader_next(r, &rec)) > 0 && s->n < 64) {
		s->bad[s->n] = rec->bad;
		s->line[s->n] = rec->lineno;
		s->off[s->n] = rec->offset;
		snprintf(s->err[s->n], sizeof(s->err[0]), "%s", rec->err);
		snprintf(s->text[s->n], sizeof(s->text[0]), "%.*s",
		    (int)(rec->len < 120 ? rec->len : 120), rec->line);
		snprintf(s->source[s->n], sizeof(s->source[0]), "%s",
		    rec->source);
		s->n++;
	}
	if (st != NULL)
		*st = *cdr_reader_stats(r);
	cdr_reader_free(r);
	return rc;
}

/* Parses one line and returns the string value at a path ("" if none). */
static const char *
get(const char *line, const char *dotted, enum cdr_type *type)
{
	static struct cdr_buf scratch = CDR_BUF_INIT;
	static char out[256];
	static struct cdr_node *nodes;
	static uint32_t cap;
	struct cdr_record rec;
	struct cdr_path p;
	struct cdr_value v;
	const char *s;
	size_t n;

	memset(&rec, 0, sizeof(rec));
	rec.nodes = nodes;
	rec.line = line;
	rec.len = strlen(line);
	if (cdr_json_parse(&rec, &cap) != 0) {
		nodes = rec.nodes;
		*type = CDR_T_MISSING;
		snprintf(out, sizeof(out), "ERR %s", rec.err);
		return out;
	}
	nodes = rec.nodes;
	cdr_path_init(&p, dotted);
	cdr_record_get(&rec, &p, &v);
	cdr_path_free(&p);
	*type = v.type;
	s = cdr_value_str(&v, &scratch, &n);
	snprintf(out, sizeof(out), "%.*s", (int)n, s ? s : "(null)");
	return out;
}

static const char *
parse_err(const char *line)
{
	static char out[160];
	static struct cdr_node *nodes;
	static uint32_t cap;
	struct cdr_record rec;

	memset(&rec, 0, sizeof(rec));
	rec.nodes = nodes;
	rec.line = line;
	rec.len = strlen(line);
	cdr_json_parse(&rec, &cap);
	nodes = rec.nodes;
	snprintf(out, sizeof(out), "%s", rec.bad ? rec.err : "ok");
	return out;
}

static void
test_values(void)
{
	enum cdr_type t;
	const char *rec = "{\"a\":\"x\",\"m\":{\"x\":1.5,\"y\":{\"z\":\"deep\"}},"
	    "\"e\":\"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \\ud800\",\"n\":null,"
	    "\"t\":true,\"arr\":[1,{\"k\":2}],\"a.b\":\"dotted\","
	    "\"\\u0061x\":\"escaped key\"}";
	struct cdr_record r;
	struct cdr_path p;
	struct cdr_value v, c;
	uint32_t cap = 0;
	int64_t i;
	double d;

	CHECK_STR(get(rec, "a", &t), "x");
	CHECK_INT(t, CDR_T_STRING);
	CHECK_STR(get(rec, "m.x", &t), "1.5");
	CHECK_INT(t, CDR_T_NUMBER);
	CHECK_STR(get(rec, "m.y.z", &t), "deep");
	CHECK_STR(get(rec, "m.y", &t), "{\"z\":\"deep\"}");
	CHECK_INT(t, CDR_T_OBJECT);
	CHECK_STR(get(rec, "e", &t),
	    "caf\xc3\xa9 \xf0\x9f\x98\x80 \"q\" \xef\xbf\xbd");
	CHECK_STR(get(rec, "n", &t), "null");
	CHECK_INT(t, CDR_T_NULL);
	CHECK_STR(get(rec, "t", &t), "true");
	CHECK_INT(t, CDR_T_TRUE);
	CHECK_STR(get(rec, "missing", &t), "");
	CHECK_INT(t, CDR_T_MISSING);
	CHECK_STR(get(rec, "m.nope", &t), "");
	CHECK_INT(t, CDR_T_MISSING);
	CHECK_STR(get(rec, "a.b", &t), "dotted");
	CHECK_STR(get(rec, "ax", &t), "escaped key");
	CHECK_STR(get(rec, "arr", &t), "[1,{\"k\":2}]");
	CHECK_INT(t, CDR_T_ARRAY);

	memset(&r, 0, sizeof(r));
	r.line = "{\"i\":-9223372036854775808,\"j\":9223372036854775808,"
	    "\"f\":1e3,\"g\":1.25,\"s\":\"42\",\"arr\":[10,20,30]}";
	r.len = strlen(r.line);
	CHECK_INT(cdr_json_parse(&r, &cap), 0);
	cdr_path_init(&p, "i");
	cdr_record_get(&r, &p, &v);
	CHECK_INT(cdr_value_int64(&v, &i), 0);
	CHECK(i == INT64_MIN);
	cdr_path_free(&p);
	cdr_path_init(&p, "j");
	cdr_record_get(&r, &p, &v);
	CHECK_INT(cdr_value_int64(&v, &i), -1);
	CHECK_INT(cdr_value_double(&v, &d), 0);
	cdr_path_free(&p);
	cdr_path_init(&p, "f");
	cdr_record_get(&r, &p, &v);
	CHECK_INT(cdr_value_int64(&v, &i), 0);
	CHECK_INT(i, 1000);
	cdr_path_free(&p);
	cdr_path_init(&p, "g");
	cdr_record_get(&r, &p, &v);
	CHECK_INT(cdr_value_int64(&v, &i), -1);
	CHECK_INT(cdr_value_double(&v, &d), 0);
	CHECK(d == 1.25);
	cdr_path_free(&p);
	cdr_path_init(&p, "s");
	cdr_record_get(&r, &p, &v);
	CHECK_INT(cdr_value_int64(&v, &i), 0);
	CHECK_INT(i, 42);
	cdr_path_free(&p);
	/* Children of an array, in order. */
	cdr_path_init(&p, "arr");
	cdr_record_get(&r, &p, &v);
	CHECK_INT(r.nodes[v.node].nchild, 3);
	CHECK(cdr_value_child(&v, &c));
	CHECK(c.len == 2 && memcmp(c.p, "10", 2) == 0);
	CHECK(cdr_value_next(&c));
	CHECK(cdr_value_next(&c));
	CHECK(c.len == 2 && memcmp(c.p, "30", 2) == 0);
	CHECK(!cdr_value_next(&c));
	cdr_path_free(&p);
	free(r.nodes);
}

/* Number conversion agrees with strtod, the reference, on many decimals. */
static void
test_numbers(void)
{
	struct cdr_record r;
	struct cdr_value v;
	char text[64];
	double d, want;
	uint64_t x = 88172645463325252ULL;
	int i, bad = 0, digits, frac;

	memset(&r, 0, sizeof(r));
	for (i = 0; i < 200000; i++) {
		/* xorshift64 */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		digits = 1 + (int)(x % 17);
		frac = (int)((x >> 8) % (unsigned)(digits + 1));
		snprintf(text, sizeof(text), "%s%llu", (x >> 20) & 1 ? "-" : "",
		    (unsigned long long)((x >> 24) % 10000000000000000ULL));
		if (frac > 0 && strlen(text) > (size_t)frac + 1 &&
		    text[strlen(text) - (size_t)frac - 1] != '-') {
			size_t n = strlen(text), at = n - (size_t)frac;

			memmove(text + at + 1, text + at, (size_t)frac + 1);
			text[at] = '.';
		}
		if (text[0] == '0' && text[1] != '.' && text[1] != '\0')
			continue;
		if (text[0] == '-' && text[1] == '0' && text[2] != '.' &&
		    text[2] != '\0')
			continue;
		v.rec = &r;
		v.type = CDR_T_NUMBER;
		v.p = text;
		v.len = strlen(text);
		want = strtod(text, NULL);
		if (cdr_value_double(&v, &d) != 0 || d != want) {
			if (bad++ < 5)
				fprintf(stderr, "%s: got %.17g want %.17g\n", text,
				    d, want);
		}
	}
	CHECK_INT(bad, 0);
}

static void
test_strictness(void)
{
	char deep[2048];
	int i, k;

	CHECK_STR(parse_err("{}"), "ok");
	CHECK_STR(parse_err(" { \"a\" : [ 1 , 2 ] } \r"), "ok");
	CHECK_STR(parse_err("[1]"), "column 1: record is not a JSON object");
	CHECK_STR(parse_err("\"x\""), "column 1: record is not a JSON object");
	CHECK_STR(parse_err("{} x"), "column 4: trailing characters after the object");
	CHECK_STR(parse_err("{}{}"), "column 3: trailing characters after the object");
	CHECK_STR(parse_err("{\"a\":1,}"), "column 8: expected a string key");
	CHECK_STR(parse_err("{\"a\":01}"), "column 7: expected ',' or '}'");
	CHECK_STR(parse_err("{\"a\":1.}"), "column 6: invalid number");
	CHECK_STR(parse_err("{\"a\":-}"), "column 6: invalid number");
	CHECK_STR(parse_err("{\"a\":+1}"), "column 6: unexpected character '+'");
	CHECK_STR(parse_err("{\"a\":-0.5E-3,\"b\":1e5,\"c\":0}"), "ok");
	CHECK_STR(parse_err("{\"a\":tru}"), "column 6: invalid literal");
	CHECK_STR(parse_err("{\"a\":NaN}"), "column 6: unexpected character 'N'");
	CHECK_STR(parse_err("{\"a\":1"), "column 7: unexpected end of record");
	CHECK_STR(parse_err("{\"a\":\"x"), "column 8: unterminated string");
	CHECK_STR(parse_err("{\"a\" 1}"), "column 6: expected ':' after key");
	CHECK_STR(parse_err("{a:1}"), "column 2: expected a string key");
	CHECK_STR(parse_err("{\"a\":\"\\x\"}"), "column 7: bad escape in string");
	CHECK_STR(parse_err("{\"a\":\"\\u12G4\"}"), "column 7: bad \\u escape");
	CHECK_STR(parse_err("{\"a\":\"tab\there\"}"),
	    "column 10: control character in string");
	CHECK_STR(parse_err("{\"a\":1,\"a\":2}"), "column 8: duplicate key \"a\"");
	CHECK_STR(parse_err("{\"a\":1,\"\\u0061\":2}"),
	    "column 8: duplicate key \"\\u0061\"");
	CHECK_STR(parse_err("{\"\\u0061\":0,\"a\":1}"),
	    "column 13: duplicate key \"a\"");
	CHECK_STR(parse_err("{\"o\":{\"a\":1},\"p\":{\"a\":1}}"), "ok");
	CHECK_STR(parse_err("{\"a\":[{\"k\":1,\"k\":1}]}"),
	    "column 14: duplicate key \"k\"");
	/* UTF-8: overlong, surrogate, beyond U+10FFFF, cut short, stray. */
	CHECK_STR(parse_err("{\"a\":\"\xc0\x80\"}"), "column 7: invalid UTF-8 in string");
	CHECK_STR(parse_err("{\"a\":\"\xed\xa0\x80\"}"), "column 7: invalid UTF-8 in string");
	CHECK_STR(parse_err("{\"a\":\"\xf4\x90\x80\x80\"}"), "column 7: invalid UTF-8 in string");
	CHECK_STR(parse_err("{\"a\":\"\xe2\x82\"}"), "column 7: invalid UTF-8 in string");
	CHECK_STR(parse_err("{\"a\":\"\x80\"}"), "column 7: invalid UTF-8 in string");
	CHECK_STR(parse_err("{\"a\":\"\xe2\x82\xac \xf0\x9f\x98\x80\"}"), "ok");
	/* A long ASCII string crosses the 16-byte fast path boundaries. */
	CHECK_STR(parse_err("{\"a\":\"0123456789abcdef0123456789abcdef\\\"0123456789\xc3\xa9\"}"), "ok");
	CHECK_STR(parse_err("{\"a\":\"0123456789abcdef0123456789abcdef0123456789\x01\"}"),
	    "column 49: control character in string");
	/* Nesting: CDR_MAX_DEPTH levels are fine, one more is not. */
	k = 0;
	for (i = 0; i < CDR_MAX_DEPTH - 1; i++)
		k += sprintf(deep + k, "{\"a\":");
	k += sprintf(deep + k, "{");
	for (i = 0; i < CDR_MAX_DEPTH; i++)
		deep[k++] = '}';
	deep[k] = '\0';
	CHECK_STR(parse_err(deep), "ok");
	k = 0;
	for (i = 0; i < CDR_MAX_DEPTH; i++)
		k += sprintf(deep + k, "{\"a\":");
	k += sprintf(deep + k, "{");
	for (i = 0; i <= CDR_MAX_DEPTH; i++)
		deep[k++] = '}';
	deep[k] = '\0';
	CHECK(strstr(parse_err(deep), "nesting deeper than 256") != NULL);
}

static void
test_ndjson_file(void)
{
	struct cdr_reader_stats st;
	struct seen s;
	const char *f;
	static const char nul[] = "{\"a\":\"x\0y\"}\n{\"b\":1}\x00\n{\"c\":2}\n";

	/* BOM, CRLF, blank lines, no final newline. */
	f = puts_file("a.ndjson", "\xEF\xBB\xBF{\"a\":1}\r\n\n  \t\r\n{\"b\":2}\r\n"
	    "not json\n{\"c\":3}");
	CHECK_INT(read_all(f, NULL, &s, &st), 0);
	CHECK_INT(s.n, 4);
	CHECK_STR(s.text[0], "{\"a\":1}");
	CHECK_INT(s.line[0], 1);
	CHECK_INT(s.off[0], 3);
	CHECK_STR(s.text[1], "{\"b\":2}");
	CHECK_INT(s.line[1], 4);
	CHECK_INT(s.off[1], 18);
	CHECK_INT(s.bad[2], 1);
	CHECK_STR(s.err[2], "column 1: record is not a JSON object");
	CHECK_INT(s.line[2], 5);
	CHECK_STR(s.text[3], "{\"c\":3}");
	CHECK_INT(s.bad[3], 0);
	CHECK_INT(s.line[3], 6);
	CHECK_INT(st.records, 4);
	CHECK_INT(st.bad, 1);
	CHECK_INT(st.blank, 2);

	/* NUL bytes inside and outside strings. */
	f = put("nul.ndjson", nul, sizeof(nul) - 1);
	CHECK_INT(read_all(f, NULL, &s, NULL), 0);
	CHECK_INT(s.n, 3);
	CHECK_STR(s.err[0], "column 8: NUL byte in string");
	CHECK_STR(s.err[1], "column 8: trailing characters after the object");
	CHECK_INT(s.bad[2], 0);

	/* An empty file has no records; a missing file fails to open. */
	f = puts_file("empty.ndjson", "");
	CHECK_INT(read_all(f, NULL, &s, NULL), 0);
	CHECK_INT(s.n, 0);
	CHECK_INT(read_all("/nonexistent/x.ndjson", NULL, &s, NULL), -1);
}

static void
test_long_lines(void)
{
	struct cdr_reader_opts o;
	struct seen s;
	size_t big = (size_t)100 * 1024 * 1024, i;
	char *data;
	const char *f;

	/* A 100 MB record is read whole. */
	data = cdr_xmalloc(big + 64);
	memcpy(data, "{\"blob\":\"", 9);
	memset(data + 9, 'x', big);
	memcpy(data + 9 + big, "\"}\n{\"n\":1}\n", 11);
	f = put("big.ndjson", data, big + 20);
	CHECK_INT(read_all(f, NULL, &s, NULL), 0);
	CHECK_INT(s.n, 2);
	CHECK_INT(s.bad[0], 0);
	CHECK_INT(s.bad[1], 0);
	CHECK_INT(s.line[1], 2);
	CHECK_INT(s.off[1], big + 12);
	free(data);

	/* Past max_record: a bad record, cut; the next line is intact. */
	data = cdr_xmalloc(6000);
	for (i = 0; i < 5000; i++)
		data[i] = 'y';
	memcpy(data, "{\"k\":\"", 6);
	memcpy(data + 5000, "\"}\n{\"n\":2}\n", 11);
	memset(&o, 0, sizeof(o));
	o.max_record = 1000;
	f = put("long.ndjson", data, 5011);
	CHECK_INT(read_all(f, &o, &s, NULL), 0);
	CHECK_INT(s.n, 2);
	CHECK_INT(s.bad[0], 1);
	CHECK_STR(s.err[0], "record longer than 1000 bytes (cut)");
	CHECK_INT(s.bad[1], 0);
	CHECK_STR(s.text[1], "{\"n\":2}");
	CHECK_INT(s.line[1], 2);
	CHECK_INT(s.off[1], 5003);
	free(data);
}

static void
test_csv(void)
{
	struct cdr_reader_opts o;
	struct cdr_reader *r;
	struct cdr_record *rec;
	struct cdr_buf b = CDR_BUF_INIT;
	struct cdr_path p;
	struct cdr_value v;
	struct seen s;
	const char *f, *str;
	const char *cols[] = { "x", "y" };
	size_t n;

	f = puts_file("a.csv", "id,name,note\r\n"
	    "1,\"Smith, J\",\r\n"
	    "2,\"say \"\"hi\"\"\",\"\"\r\n"
	    "\r\n"
	    "3,\"two\nlines\",z\r\n"
	    "4,a\"b,c\n"
	    "5,\"a\"b,c\n"
	    "6,only-two\n"
	    "7,\xff,x\n"
	    "8,\"open");
	r = cdr_reader_new(NULL);
	CHECK_INT(cdr_reader_open(r, f), 0);

	CHECK_INT(cdr_reader_next(r, &rec), 1);
	CHECK_INT(cdr_reader_format(r), CDR_FMT_CSV);
	CHECK_INT(rec->bad, 0);
	CHECK_INT(rec->lineno, 2);
	cdr_path_init(&p, "name");
	cdr_record_get(rec, &p, &v);
	str = cdr_value_str(&v, &b, &n);
	CHECK(n == 8 && memcmp(str, "Smith, J", 8) == 0);
	cdr_path_free(&p);
	cdr_path_init(&p, "note");
	cdr_record_get(rec, &p, &v);
	CHECK_INT(v.type, CDR_T_NULL);

	CHECK_INT(cdr_reader_next(r, &rec), 1);
	CHECK_INT(rec->bad, 0);
	cdr_record_get(rec, &p, &v);
	CHECK_INT(v.type, CDR_T_STRING);
	CHECK_INT(v.len, 0);
	cdr_path_free(&p);
	cdr_path_init(&p, "name");
	cdr_record_get(rec, &p, &v);
	str = cdr_value_str(&v, &b, &n);
	CHECK(n == 8 && memcmp(str, "say \"hi\"", 8) == 0);

	CHECK_INT(cdr_reader_next(r, &rec), 1);
	CHECK_INT(rec->bad, 0);
	CHECK_INT(rec->lineno, 5);
	cdr_record_get(rec, &p, &v);
	str = cdr_value_str(&v, &b, &n);
	CHECK(n == 9 && memcmp(str, "two\nlines", 9) == 0);
	cdr_path_free(&p);

	CHECK_INT(cdr_reader_next(r, &rec), 1);
	CHECK_INT(rec->lineno, 7);
	CHECK_STR(rec->err, "column 4: quote in unquoted field");
	CHECK_INT(cdr_reader_next(r, &rec), 1);
	CHECK_STR(rec->err, "column 6: text after closing quote");
	CHECK_INT(cdr_reader_next(r, &rec), 1);
	CHECK_STR(rec->err, "2 fields, expected 3");
	CHECK_INT(cdr_reader_next(r, &rec), 1);
	CHECK_STR(rec->err, "column 3: invalid UTF-8");
	CHECK_INT(cdr_reader_next(r, &rec), 1);
	CHECK_STR(rec->err, "unterminated quoted field");
	CHECK_INT(rec->lineno, 11);
	CHECK_INT(cdr_reader_next(r, &rec), 0);
	CHECK_INT(cdr_reader_stats(r)->blank, 1);
	cdr_reader_free(r);

	/* Columns given (no header), and a bad header. */
	memset(&o, 0, sizeof(o));
	o.columns = cols;
	o.ncolumns = 2;
	f = puts_file("b.csv", "a,b\nc,d\n");
	CHECK_INT(read_all(f, &o, &s, NULL), 0);
	CHECK_INT(s.n, 2);
	CHECK_INT(s.bad[0], 0);
	f = puts_file("c.csv", "a,a\n1,2\n");
	CHECK_INT(read_all(f, NULL, &s, NULL), -1);
	f = puts_file("d.csv", "a,,b\n1,2,3\n");
	CHECK_INT(read_all(f, NULL, &s, NULL), -1);

	/* Forced NDJSON on CSV text: every line is a bad record. */
	memset(&o, 0, sizeof(o));
	o.format = CDR_FMT_NDJSON;
	f = puts_file("e.csv", "a,b\n1,2\n");
	CHECK_INT(read_all(f, &o, &s, NULL), 0);
	CHECK_INT(s.n, 2);
	CHECK_INT(s.bad[0] && s.bad[1], 1);
	cdr_buf_free(&b);
}

static int
sh(const char *cmd)
{
	char full[1024];

	snprintf(full, sizeof(full), "cd %s && %s", dir, cmd);
	return system(full);
}

static void
test_compressed(void)
{
	struct seen s;
	char f[600];
	static const char *const ext[] = { "gz", "bz2", "xz", "zst" };
	static const char *const prog[] = { "gzip", "bzip2", "xz", "zstd -q" };
	size_t i;
	int fd, saved;

	puts_file("z.ndjson", "{\"a\":1}\n{\"a\":2}\n\xff\n");
	for (i = 0; i < 4; i++) {
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "%s -c z.ndjson > z.ndjson.%s",
		    prog[i], ext[i]);
		CHECK_INT(sh(cmd), 0);
		snprintf(f, sizeof(f), "%s/z.ndjson.%s", dir, ext[i]);
		CHECK_INT(read_all(f, NULL, &s, NULL), 0);
		CHECK_INT(s.n, 3);
		CHECK_STR(s.text[1], "{\"a\":2}");
		CHECK_INT(s.bad[2], 1);
		CHECK_INT(s.line[2], 3);
		CHECK_STR(s.source[0], f);
	}
	/* A tar archive: each member a source, line numbers per member. */
	puts_file("m1.ndjson", "{\"m\":1}\n");
	puts_file("m2.ndjson", "{\"m\":2}\n{\"m\":3\n");
	CHECK_INT(sh("tar -czf t.tar.gz m1.ndjson m2.ndjson"), 0);
	snprintf(f, sizeof(f), "%s/t.tar.gz", dir);
	CHECK_INT(read_all(f, NULL, &s, NULL), 0);
	CHECK_INT(s.n, 3);
	snprintf(f, sizeof(f), "%s/t.tar.gz:m2.ndjson", dir);
	CHECK_STR(s.source[2], f);
	CHECK_INT(s.line[2], 2);
	CHECK_INT(s.bad[2], 1);

	/* "-" is stdin. */
	snprintf(f, sizeof(f), "%s/z.ndjson.gz", dir);
	fd = open(f, O_RDONLY);
	saved = dup(0);
	CHECK(fd >= 0 && saved >= 0 && dup2(fd, 0) == 0);
	CHECK_INT(read_all("-", NULL, &s, NULL), 0);
	CHECK_INT(s.n, 3);
	CHECK_STR(s.source[0], "stdin");
	dup2(saved, 0);
	close(fd);
	close(saved);
}

int
main(int argc, char **argv)
{
	char cmd[600];

	(void)argc;
	cdr_msg_init(argv[0]);
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	test_values();
	test_numbers();
	test_strictness();
	test_ndjson_file();
	test_long_lines();
	test_csv();
	test_compressed();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	UNIT_DONE();
}
