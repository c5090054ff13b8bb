/*
 * De-duplication by key for cdr-validate: a set of 128-bit key hashes
 * (XXH3-128 of the key values) with the event time of each, expiring
 * after a horizon, saved to and loaded from a state file so that many
 * runs give the answer of one.
 */
#ifndef CDR_VALIDATE_DEDUPE_H
#define CDR_VALIDATE_DEDUPE_H

#include <stddef.h>
#include <stdint.h>

#include "cdrtime.h"
#include "record.h"

struct dedupe_slot {
	uint64_t	lo, hi;		/* hash; (0,0) marks an empty slot */
	int64_t		time;		/* event time of the first copy */
};

struct dedupe {
	struct dedupe_slot	*slots;
	size_t			 cap;		/* a power of two */
	size_t			 count;
	int64_t			 horizon;	/* microseconds; 0: keep all */
	int64_t			 max_time;	/* latest event time seen */
	uint64_t		 max_keys;
	char			*spec;		/* key fields, "a,b" */
	uint64_t		 late;		/* older than the horizon */
};

enum dedupe_result {
	DEDUPE_NEW,
	DEDUPE_DUPLICATE,
	DEDUPE_LATE		/* beyond the horizon: cannot tell, kept */
};

void dedupe_init(struct dedupe *d, const char *spec, int64_t horizon,
    uint64_t max_keys);
void dedupe_free(struct dedupe *d);
/*
 * The key hash of a record from the values at paths (missing and null
 * are distinct from every string); strings compare unescaped.
 */
void dedupe_key(const struct cdr_record *rec, const struct cdr_path *paths,
    uint32_t *hints, size_t n, uint64_t *lo, uint64_t *hi);
/* Starts loading the table slot of a key that is checked soon. */
static inline void
dedupe_prefetch(const struct dedupe *d, uint64_t lo)
{
	__builtin_prefetch(&d->slots[(size_t)lo & (d->cap - 1)]);
}
/* Checks and records a key seen at event time t. */
enum dedupe_result dedupe_check(struct dedupe *d, uint64_t lo, uint64_t hi,
    int64_t t);
/*
 * State file: 0 on success, -1 with a message in err.  A missing file on
 * load is an empty state (first run).
 */
int dedupe_load(struct dedupe *d, const char *path, char *err, size_t errlen);
int dedupe_save(const struct dedupe *d, const char *path, char *err,
    size_t errlen);

#endif
