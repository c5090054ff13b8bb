/*
 * A map from byte strings to pointers: open addressing, linear probing,
 * keys copied.  For partition paths and directories already made.
 */
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "partition.h"

struct slot {
	uint64_t	 hash;
	char		*key;
	size_t		 len;
	void		*val;
};

void
map_init(struct map *m)
{
	m->cap = 64;
	m->n = 0;
	m->slots = cdr_xcalloc(m->cap, sizeof(*m->slots));
}

void
map_free(struct map *m)
{
	size_t i;

	for (i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

static struct slot *
find(const struct map *m, uint64_t h, const char *k, size_t n)
{
	size_t i = (size_t)h & (m->cap - 1);

	for (;;) {
		struct slot *s = &m->slots[i];

		if (s->key == NULL)
			return s;
		if (s->hash == h && s->len == n && memcmp(s->key, k, n) == 0)
			return s;
		i = (i + 1) & (m->cap - 1);
	}
}

void *
map_get(const struct map *m, const char *k, size_t n)
{
	struct slot *s = find(m, XXH3_64bits(k, n), k, n);

	return s->key != NULL ? s->val : NULL;
}

void
map_put(struct map *m, const char *k, size_t n, void *val)
{
	uint64_t h = XXH3_64bits(k, n);
	struct slot *s, *old;
	size_t i, oldcap;

	if ((m->n + 1) * 2 > m->cap) {
		old = m->slots;
		oldcap = m->cap;
		m->cap *= 2;
		m->slots = cdr_xcalloc(m->cap, sizeof(*m->slots));
		for (i = 0; i < oldcap; i++)
			if (old[i].key != NULL)
				*find(m, old[i].hash, old[i].key,
				    old[i].len) = old[i];
		free(old);
	}
	s = find(m, h, k, n);
	if (s->key == NULL) {
		s->key = cdr_xmalloc(n + 1);
		memcpy(s->key, k, n);
		s->key[n] = '\0';
		s->len = n;
		s->hash = h;
		m->n++;
	}
	s->val = val;
}
