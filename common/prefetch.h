/*
 * Records read ahead on a thread of their own: the reading, splitting and
 * parsing of a source run on one processor while the caller works on the
 * records already parsed on another.  For batch work only: a record is
 * handed over in a batch, so a stream that pauses holds back the records
 * of the batch being filled.
 */
#ifndef CDR_PREFETCH_H
#define CDR_PREFETCH_H

#include <stdint.h>

#include "record.h"

struct cdr_prefetch;

/*
 * Starts reading the open source of rd on a new thread; rd must not be
 * used by the caller until cdr_prefetch_end.  NULL when no thread could be
 * started (the caller reads rd itself).
 */
struct cdr_prefetch *cdr_prefetch_start(struct cdr_reader *rd);
/*
 * As cdr_reader_next: 1 with *rec (a copy, valid until the next call), 0
 * at the end of the source, -1 on a read error.  *bytes is the reader's
 * byte count after the record was read.
 */
int	cdr_prefetch_next(struct cdr_prefetch *p, struct cdr_record **rec,
	    uint64_t *bytes);
/* Waits for the thread (reading to the end of the source) and frees p. */
void	cdr_prefetch_end(struct cdr_prefetch *p);

#endif
