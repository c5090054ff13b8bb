/*
 * Read-ahead of records (see prefetch.h).  The thread copies each record
 * the reader returns into a batch: the line, its node tape with the keys
 * and values re-pointed into the copied line, and whatever a node points
 * at outside the line (CSV column names) and the source name, so that a
 * batch stays valid after the reader has moved on.  A few batches go
 * round between the two threads; each side waits only when the other is
 * a whole ring behind.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "prefetch.h"

#define NBATCH		4
#define BATCH_RECS	512
#define BATCH_BYTES	((size_t)1 << 20)

struct batch {
	struct cdr_record	*recs;	/* BATCH_RECS, without root indexes */
	size_t			 n;
	char			*arena;
	size_t			 used, cap;
	uint64_t		*bytes;	/* per record: reader bytes after it */
	const char		*source;	/* last source copied */
	const char		*source_copy;
	int			 end;	/* the source ended after recs */
	int			 rc;	/* then: 0 or -1 */
};

struct cdr_prefetch {
	struct cdr_reader	*rd;
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 filled, emptied;
	struct batch		 b[NBATCH];
	size_t			 nfull;	/* batches handed over, not yet taken back */
	size_t			 fill, take;	/* ring positions */
	int			 stop;
	/* consumer side */
	struct batch		*cur;
	size_t			 pos;
};

/* A record is copied but for its root index, which the copy rebuilds. */
#define REC_HEAD offsetof(struct cdr_record, root_indexed)
#define REC_TAIL (offsetof(struct cdr_record, root_slot) + \
	sizeof(((struct cdr_record *)NULL)->root_slot))

static char *
arena_take(struct batch *b, size_t n, size_t align)
{
	size_t at = (b->used + align - 1) & ~(align - 1);

	b->used = at + n;
	return b->arena + at;
}

static int
inside(const struct cdr_record *src, const char *p)
{
	return p >= src->line && p <= src->line + src->len;
}

/* Copies src into b: 1, or 0 when b has no room left for it. */
static int
copy_record(struct batch *b, const struct cdr_record *src)
{
	struct cdr_record *dst;
	struct cdr_node *nodes;
	size_t need, i, slen = 0;
	char *line;
	int newsrc;

	need = src->len + 1 + _Alignof(struct cdr_node) +
	    (size_t)src->nnodes * sizeof(struct cdr_node);
	for (i = 0; i < src->nnodes; i++) {
		const struct cdr_node *nd = &src->nodes[i];

		if (nd->key != NULL && !inside(src, nd->key))
			need += nd->klen + 1;
		if (nd->val != NULL && !inside(src, nd->val))
			need += nd->vlen + 1;
	}
	/* The reader may free a name and allocate the next at its address. */
	newsrc = b->n == 0 || src->source != b->source ||
	    (src->source != NULL && strcmp(src->source, b->source_copy) != 0);
	if (newsrc && src->source != NULL) {
		slen = strlen(src->source);
		need += slen + 1;
	}
	if (b->n == BATCH_RECS)
		return 0;
	if (need > b->cap - b->used) {
		if (b->n > 0)
			return 0;
		/* One record larger than a batch: a batch of its own size. */
		free(b->arena);
		b->cap = need;
		b->arena = cdr_xmalloc(b->cap);
		b->used = 0;
	}
	if (newsrc) {
		b->source = src->source;
		b->source_copy = src->source == NULL ? NULL :
		    memcpy(arena_take(b, slen + 1, 1), src->source, slen + 1);
	}
	dst = &b->recs[b->n];
	memcpy(dst, src, REC_HEAD);
	dst->root_indexed = 0;
	memcpy((char *)dst + REC_TAIL, (const char *)src + REC_TAIL,
	    sizeof(*dst) - REC_TAIL);
	dst->source = b->source_copy;
	line = arena_take(b, src->len + 1, 1);
	memcpy(line, src->line, src->len);
	line[src->len] = '\0';
	dst->line = line;
	nodes = (struct cdr_node *)(void *)arena_take(b,
	    (size_t)src->nnodes * sizeof(*nodes), _Alignof(struct cdr_node));
	for (i = 0; i < src->nnodes; i++) {
		const struct cdr_node *nd = &src->nodes[i];

		nodes[i] = *nd;
		if (nd->key != NULL)
			nodes[i].key = inside(src, nd->key) ?
			    line + (nd->key - src->line) :
			    memcpy(arena_take(b, nd->klen + 1, 1), nd->key,
			    nd->klen);
		if (nd->val != NULL)
			nodes[i].val = inside(src, nd->val) ?
			    line + (nd->val - src->line) :
			    memcpy(arena_take(b, nd->vlen + 1, 1), nd->val,
			    nd->vlen);
	}
	dst->nodes = nodes;
	b->n++;
	return 1;
}

static void
batch_reset(struct batch *b)
{
	b->n = 0;
	b->used = 0;
	b->source = NULL;
	b->source_copy = NULL;
	b->end = 0;
	b->rc = 0;
}

/* Waits for an empty batch: NULL when told to stop. */
static struct batch *
get_empty(struct cdr_prefetch *p)
{
	struct batch *b;

	pthread_mutex_lock(&p->lock);
	while (p->nfull == NBATCH && !p->stop)
		pthread_cond_wait(&p->emptied, &p->lock);
	b = p->stop ? NULL : &p->b[p->fill];
	pthread_mutex_unlock(&p->lock);
	if (b != NULL)
		batch_reset(b);
	return b;
}

static void
hand_over(struct cdr_prefetch *p)
{
	pthread_mutex_lock(&p->lock);
	p->fill = (p->fill + 1) % NBATCH;
	p->nfull++;
	pthread_cond_signal(&p->filled);
	pthread_mutex_unlock(&p->lock);
}

static void *
reader_thread(void *arg)
{
	struct cdr_prefetch *p = arg;
	struct cdr_record *rec = NULL;
	struct batch *b;
	int rc, pending = 0;

	if ((b = get_empty(p)) == NULL)
		return NULL;
	for (;;) {
		if (!pending) {
			rc = cdr_reader_next(p->rd, &rec);
			if (rc <= 0) {
				b->end = 1;
				b->rc = rc;
				hand_over(p);
				return NULL;
			}
		}
		if (copy_record(b, rec)) {
			b->bytes[b->n - 1] = cdr_reader_stats(p->rd)->bytes;
			pending = 0;
			continue;
		}
		/* Full: hand it over, and copy the record into the next. */
		pending = 1;
		hand_over(p);
		if ((b = get_empty(p)) == NULL)
			return NULL;
	}
}

struct cdr_prefetch *
cdr_prefetch_start(struct cdr_reader *rd)
{
	struct cdr_prefetch *p = cdr_xcalloc(1, sizeof(*p));
	size_t i;

	p->rd = rd;
	for (i = 0; i < NBATCH; i++) {
		p->b[i].recs = cdr_xcalloc(BATCH_RECS, sizeof(struct cdr_record));
		p->b[i].bytes = cdr_xcalloc(BATCH_RECS, sizeof(uint64_t));
		p->b[i].cap = BATCH_BYTES;
		p->b[i].arena = cdr_xmalloc(BATCH_BYTES);
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->filled, NULL);
	pthread_cond_init(&p->emptied, NULL);
	if (pthread_create(&p->thread, NULL, reader_thread, p) != 0) {
		for (i = 0; i < NBATCH; i++) {
			free(p->b[i].recs);
			free(p->b[i].bytes);
			free(p->b[i].arena);
		}
		pthread_mutex_destroy(&p->lock);
		pthread_cond_destroy(&p->filled);
		pthread_cond_destroy(&p->emptied);
		free(p);
		return NULL;
	}
	return p;
}

int
cdr_prefetch_next(struct cdr_prefetch *p, struct cdr_record **rec,
    uint64_t *bytes)
{
	while (p->cur == NULL || p->pos == p->cur->n) {
		if (p->cur != NULL) {
			if (p->cur->end)
				return p->cur->rc;
			pthread_mutex_lock(&p->lock);
			p->take = (p->take + 1) % NBATCH;
			p->nfull--;
			pthread_cond_signal(&p->emptied);
			pthread_mutex_unlock(&p->lock);
			p->cur = NULL;
		}
		pthread_mutex_lock(&p->lock);
		while (p->nfull == 0)
			pthread_cond_wait(&p->filled, &p->lock);
		p->cur = &p->b[p->take];
		pthread_mutex_unlock(&p->lock);
		p->pos = 0;
	}
	*bytes = p->cur->bytes[p->pos];
	*rec = &p->cur->recs[p->pos++];
	return 1;
}

void
cdr_prefetch_end(struct cdr_prefetch *p)
{
	size_t i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_broadcast(&p->emptied);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	for (i = 0; i < NBATCH; i++) {
		free(p->b[i].recs);
		free(p->b[i].bytes);
		free(p->b[i].arena);
	}
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->filled);
	pthread_cond_destroy(&p->emptied);
	free(p);
}
