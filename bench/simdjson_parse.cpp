/*
 * The peer of bench/readbench: a parse-only pass over NDJSON with simdjson
 * (Debian libsimdjson-dev), touching every key and value of every record.
 *
 *   simdjson_parse dom|ondemand|dom-many|ondemand-many FILE
 *
 * dom           parser.parse() per line: full validation, strings unescaped
 * ondemand      parser.iterate() per line, every field visited recursively
 * dom-many      parser.parse_many() over each chunk of whole lines
 * ondemand-many parser.iterate_many() over each chunk of whole lines
 *
 * The file is read in large chunks into one padded buffer (memory does not
 * grow with the input) and split with memchr/memrchr, so the I/O costs as
 * little as we can make it.  Single-threaded, like the reader: the stream
 * modes are built without SIMDJSON_THREADS_ENABLED.
 *
 * Prints, in the format of readbench's counters:
 *   records N bad B blank K fields F string-bytes S number-sum X
 * where fields counts every value including the record itself (the
 * reader's tape nodes) and string-bytes sums unescaped keys and strings.
 * Exit 0, 1 if any record failed to parse, 2 usage, 3 I/O error.
 */
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <simdjson.h>

using namespace simdjson;

namespace {

struct counts {
	uint64_t records = 0, bad = 0, blank = 0, fields = 0, sbytes = 0;
	double nsum = 0;
};

enum mode { M_DOM, M_ONDEMAND, M_DOM_MANY, M_ONDEMAND_MANY };

const size_t CHUNK = 4 << 20;

void
walk_dom(dom::element e, counts &c)
{
	c.fields++;
	switch (e.type()) {
	case dom::element_type::OBJECT:
		for (dom::key_value_pair kv : dom::object(e)) {
			c.sbytes += kv.key.size();
			walk_dom(kv.value, c);
		}
		break;
	case dom::element_type::ARRAY:
		for (dom::element v : dom::array(e))
			walk_dom(v, c);
		break;
	case dom::element_type::STRING:
		c.sbytes += std::string_view(e).size();
		break;
	case dom::element_type::INT64:
		c.nsum += double(int64_t(e));
		break;
	case dom::element_type::UINT64:
		c.nsum += double(uint64_t(e));
		break;
	case dom::element_type::DOUBLE:
		c.nsum += double(e);
		break;
	case dom::element_type::BOOL:
	case dom::element_type::NULL_VALUE:
		break;
	}
}

/* On-demand: a value is parsed only when asked, so ask for each one. */
void walk_od(ondemand::value v, counts &c);

void
walk_od_object(ondemand::object o, counts &c)
{
	for (auto field : o) {
		c.sbytes += field.unescaped_key().value().size();
		walk_od(field.value(), c);
	}
}

void
walk_od(ondemand::value v, counts &c)
{
	c.fields++;
	switch (v.type()) {
	case ondemand::json_type::object:
		walk_od_object(v.get_object(), c);
		break;
	case ondemand::json_type::array:
		for (auto el : v.get_array())
			walk_od(el.value(), c);
		break;
	case ondemand::json_type::string:
		c.sbytes += v.get_string().value().size();
		break;
	case ondemand::json_type::number:
		c.nsum += v.get_double();
		break;
	case ondemand::json_type::boolean:
		(void)v.get_bool().value();
		break;
	case ondemand::json_type::null:
		if (!v.is_null())
			throw simdjson_error(INCORRECT_TYPE);
		break;
	}
}

template <typename Doc>
void
walk_od_doc(Doc &doc, counts &c)
{
	c.fields++;
	walk_od_object(doc.get_object(), c);
}

bool
blank_line(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return false;
	return true;
}

/* p[0..n) holds whole lines; p has SIMDJSON_PADDING readable bytes after n. */
void
per_line(mode m, dom::parser &dp, ondemand::parser &op, const char *p,
    size_t n, counts &c)
{
	const char *end = p + n;

	while (p < end) {
		const char *nl = (const char *)memchr(p, '\n', end - p);
		size_t len = (nl ? nl : end) - p;

		if (blank_line(p, len)) {
			c.blank++;
		} else {
			c.records++;
			try {
				if (m == M_DOM) {
					dom::element doc = dp.parse(p, len, false);
					walk_dom(doc, c);
				} else {
					ondemand::document doc =
					    op.iterate(p, len, len + SIMDJSON_PADDING);
					walk_od_doc(doc, c);
					/* Only the end of input may follow the record. */
					if (!doc.current_location().error())
						throw simdjson_error(TRAILING_CONTENT);
				}
			} catch (const simdjson_error &) {
				c.bad++;
			}
		}
		p += len + 1;
	}
}

void
stream(mode m, dom::parser &dp, ondemand::parser &op, const char *p, size_t n,
    counts &c)
{
	/* The stream modes skip whitespace between documents: count blanks. */
	for (const char *q = p, *end = p + n; q < end;) {
		const char *nl = (const char *)memchr(q, '\n', end - q);
		size_t len = (nl ? nl : end) - q;
		if (blank_line(q, len))
			c.blank++;
		q += len + 1;
	}
	try {
		if (m == M_DOM_MANY) {
			dom::document_stream ds = dp.parse_many(p, n, n < CHUNK ? CHUNK : n);
			for (auto doc : ds) {
				c.records++;
				dom::element e;
				if (doc.get(e)) {
					c.bad++;
					continue;
				}
				walk_dom(e, c);
			}
		} else {
			ondemand::document_stream ds =
			    op.iterate_many(p, n, n < CHUNK ? CHUNK : n);
			for (auto doc : ds) {
				c.records++;
				try {
					ondemand::document_reference d = doc.value();
					walk_od_doc(d, c);
				} catch (const simdjson_error &) {
					c.bad++;
				}
			}
		}
	} catch (const simdjson_error &) {
		c.bad++;
	}
}

} // namespace

int
main(int argc, char **argv)
{
	mode m;
	counts c;
	dom::parser dp;
	ondemand::parser op;
	size_t cap = CHUNK, have = 0;
	char *buf;
	int fd;
	bool eof = false;

	if (argc != 3) {
		fprintf(stderr, "usage: simdjson_parse dom|ondemand|dom-many|ondemand-many FILE\n");
		return 2;
	}
	if (strcmp(argv[1], "dom") == 0)
		m = M_DOM;
	else if (strcmp(argv[1], "ondemand") == 0)
		m = M_ONDEMAND;
	else if (strcmp(argv[1], "dom-many") == 0)
		m = M_DOM_MANY;
	else if (strcmp(argv[1], "ondemand-many") == 0)
		m = M_ONDEMAND_MANY;
	else {
		fprintf(stderr, "simdjson_parse: unknown mode %s\n", argv[1]);
		return 2;
	}
	if ((fd = open(argv[2], O_RDONLY)) < 0) {
		fprintf(stderr, "simdjson_parse: %s: %s\n", argv[2], strerror(errno));
		return 3;
	}
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if ((buf = (char *)malloc(cap + SIMDJSON_PADDING)) == NULL) {
		perror("simdjson_parse");
		return 3;
	}
	while (!eof || have > 0) {
		while (!eof && have < cap) {
			ssize_t r = read(fd, buf + have, cap - have);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				fprintf(stderr, "simdjson_parse: %s: %s\n", argv[2],
				    strerror(errno));
				return 3;
			}
			if (r == 0)
				eof = true;
			have += (size_t)r;
		}
		/* Whole lines only; at the end of input, whatever is left. */
		const char *last = (const char *)memrchr(buf, '\n', have);
		size_t n = eof ? have : last ? (size_t)(last - buf) + 1 : 0;
		if (n == 0) {
			/* A line longer than the buffer: grow it. */
			cap *= 2;
			char *nb = (char *)realloc(buf, cap + SIMDJSON_PADDING);
			if (nb == NULL) {
				perror("simdjson_parse");
				return 3;
			}
			buf = nb;
			continue;
		}
		if (m == M_DOM || m == M_ONDEMAND)
			per_line(m, dp, op, buf, n, c);
		else
			stream(m, dp, op, buf, n, c);
		memmove(buf, buf + n, have - n);
		have -= n;
	}
	close(fd);
	free(buf);
	printf("records %" PRIu64 " bad %" PRIu64 " blank %" PRIu64
	    " fields %" PRIu64 " string-bytes %" PRIu64 " number-sum %.17g\n",
	    c.records, c.bad, c.blank, c.fields, c.sbytes, c.nsum);
	return c.bad ? 1 : 0;
}
