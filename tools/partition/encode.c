/*
 * Values as path segments, the shard hash, and the bytes of a key value.
 * These definitions are documented in cdr-partition(1) and must never
 * change: files written today are found by the same rules tomorrow.
 */
#include <stdio.h>
#include <string.h>

#include <xxhash.h>

#include "partition.h"

static int
safe_byte(unsigned char c, int first)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '_')
		return 1;
	/* A leading '.' would hide the file or be "." or ".."; a leading
	 * '-' would read as an option to the shell tools that see it. */
	return (c == '.' || c == '-') && !first;
}

void
seg_encode(struct cdr_buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s;
	size_t start = out->len, i, cut;
	XXH128_hash_t h;
	char *d;

	if (n == 0) {
		cdr_buf_add(out, "%_", 2);
		return;
	}
	d = cdr_buf_reserve(out, n * 3);
	for (i = 0; i < n; i++) {
		if (safe_byte(p[i], i == 0)) {
			*d++ = (char)p[i];
		} else {
			*d++ = '%';
			*d++ = hex[p[i] >> 4];
			*d++ = hex[p[i] & 15];
		}
	}
	out->len = (size_t)(d - out->p);
	out->p[out->len] = '\0';
	if (out->len - start <= SEG_VALUE_MAX)
		return;
	/* Too long for a file name: keep a prefix, add a strong hash. */
	cut = start + SEG_VALUE_KEEP;
	if (out->p[cut - 1] == '%')
		cut -= 1;
	else if (out->p[cut - 2] == '%')
		cut -= 2;
	out->len = cut;
	h = XXH3_128bits(s, n);
	cdr_buf_printf(out, "%%=%016llx%016llx", (unsigned long long)h.high64,
	    (unsigned long long)h.low64);
}

int
seg_separator(int c)
{
	if (c <= ' ' || c >= 0x7f || c == '/')
		return 0;
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9'))
		return 0;
	return strchr("-._%+", c) == NULL;
}

uint64_t
key_hash(const void *p, size_t n)
{
	return XXH3_64bits(p, n);
}

/*
 * Lamping and Veach, "A Fast, Minimal Memory, Consistent Hash Algorithm"
 * (2014), exactly as published: IEEE-754 doubles make it the same on
 * every machine.
 */
static uint32_t
jump_hash(uint64_t key, uint32_t n)
{
	int64_t b = -1, j = 0;

	while (j < (int64_t)n) {
		b = j;
		key = key * UINT64_C(2862933555777941757) + 1;
		j = (int64_t)((double)(b + 1) *
		    ((double)(INT64_C(1) << 31) / (double)((key >> 33) + 1)));
	}
	return (uint32_t)b;
}

uint32_t
shard_of(uint64_t hash, uint32_t nshards, enum shard_fn fn)
{
	if (fn == SHARD_MOD)
		return (uint32_t)(hash % nshards);
	return jump_hash(hash, nshards);
}

int
value_bytes(const struct cdr_value *v, const char *path, const char *missing,
    struct cdr_buf *scratch, const char **s, size_t *n, struct reject *why)
{
	switch (v->type) {
	case CDR_T_MISSING:
	case CDR_T_NULL:
		if (missing != NULL) {
			*s = missing;
			*n = strlen(missing);
			return 0;
		}
		why->field = path;
		why->check = "required";
		snprintf(why->message, sizeof(why->message), "%s field \"%s\"",
		    v->type == CDR_T_NULL ? "null" : "missing", path);
		return -1;
	case CDR_T_OBJECT:
	case CDR_T_ARRAY:
		why->field = path;
		why->check = "type";
		snprintf(why->message, sizeof(why->message),
		    "field \"%s\" is an %s, not a key value", path,
		    v->type == CDR_T_OBJECT ? "object" : "array");
		return -1;
	default:
		*s = cdr_value_str(v, scratch, n);
		if (*s == NULL) {
			why->field = path;
			why->check = "parse";
			snprintf(why->message, sizeof(why->message),
			    "field \"%s\": bad escape", path);
			return -1;
		}
		return 0;
	}
}
