/*
 * One file's whole job: checks, conversion into a temporary file next to
 * the target, durability (fsync), the original kept when asked, and the
 * atomic rename into place.
 */
#ifndef RESAMPLE_PLACE_H
#define RESAMPLE_PLACE_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "convert.h"
#include "wav.h"

struct place_opts {
	struct conv_spec	 target;	/* channels, rate 0: as input */
	int			 in_place;
	const char		*outdir;	/* -d */
	const char		*output;	/* -o */
	const char		*base;		/* --base */
	const char		*keep_dir;	/* --keep-original */
	int			 force;
	int			 allow_truncated;
	int64_t			 min_age;	/* microseconds; 0: none */
	struct timespec		 now;
	/* Held while temporary files are created, tracked and renamed. */
	pthread_mutex_t		*lock;
};

enum file_status {
	FS_CONVERTED,
	FS_COPIED,	/* -d/-o: already in the target format */
	FS_SKIPPED,
	FS_FAILED
};

enum file_error {
	FE_NONE,
	FE_DATA,	/* the file, not the system: exit status 1 */
	FE_IO		/* a system call failed: exit status 3 */
};

struct file_fmt {
	int		set;
	enum wav_enc	enc;
	unsigned	channels;
	uint32_t	rate;
	uint64_t	frames;
	uint64_t	bytes;		/* file size */
};

struct file_result {
	enum file_status status;
	enum file_error	 error;
	const char	*check;		/* short name for the dead letter */
	char		 reason[768];
	struct file_fmt	 in;
	struct file_fmt	 out;
	char		*output;	/* the file written, when not in place */
	char		*kept;		/* --keep-original: the kept copy */
	int		 truncated;	/* --allow-truncated used */
};

void place_file(const struct place_opts *o, const char *path,
    struct file_result *r);
void file_result_free(struct file_result *r);

/* Creates the directory and its missing parents; 0 or -1 (errno). */
int place_mkdirs(const char *dir);

#endif
