/*
 * The conversion of one WAV file's samples: decode, downmix, resample
 * (libsoxr), encode, written as a complete WAV file.
 */
#ifndef RESAMPLE_CONVERT_H
#define RESAMPLE_CONVERT_H

#include <stddef.h>
#include <stdint.h>

#include "wav.h"

struct conv_spec {
	enum wav_enc	enc;		/* ENC_ALAW, ENC_ULAW or ENC_PCM16 */
	unsigned	channels;	/* 1 (downmix) or the input's */
	uint32_t	rate;
	unsigned long	quality;	/* a SOXR_*Q recipe */
};

enum {
	CONV_OK = 0,
	CONV_DATA = -1,		/* the input cannot be converted */
	CONV_READ = -2,		/* read error on the input (errno) */
	CONV_WRITE = -3		/* write error on the output (errno) */
};

/*
 * Writes the converted file to out_fd, an empty file, from offset 0.
 * LIST chunks of the input are carried over.  On success *frames and
 * *bytes hold the output's frame count and file size.
 */
int convert_wav(int in_fd, const struct wav_info *in, int out_fd,
    const struct conv_spec *spec, uint64_t *frames, uint64_t *bytes,
    char *why, size_t whylen);

/* Upper bound of the output's frame count. */
uint64_t convert_frames_max(const struct wav_info *in,
    const struct conv_spec *spec);

#endif
