/*
 * WAV (RIFF WAVE) headers: a tolerant reader for what call-recording
 * systems write, and the writer of the three output encodings.
 */
#ifndef RESAMPLE_WAV_H
#define RESAMPLE_WAV_H

#include <stddef.h>
#include <stdint.h>

enum wav_enc {
	ENC_PCM8,	/* unsigned 8-bit */
	ENC_PCM16,
	ENC_PCM24,
	ENC_PCM32,
	ENC_FLOAT32,
	ENC_FLOAT64,
	ENC_ALAW,
	ENC_ULAW
};

#define WAV_MAX_CHANNELS	1024
#define WAV_MIN_RATE		1000
#define WAV_MAX_RATE		768000
#define WAV_MAX_KEEP		16		/* LIST chunks carried over */
#define WAV_MAX_KEEP_SIZE	(1u << 20)	/* bytes of one such chunk */
#define WAV_MAX_HEADER		72		/* RIFF + fmt (40) + fact */
/* A RIFF file holds at most 4 GiB - 1 + 8 bytes. */
#define WAV_MAX_FILE		(0xffffffffULL + 8)

struct wav_chunk {
	uint64_t	off;	/* of the chunk header */
	uint32_t	size;	/* of the body */
};

struct wav_info {
	enum wav_enc	 enc;
	unsigned	 channels;
	uint32_t	 rate;
	uint32_t	 channel_mask;	/* WAVE_FORMAT_EXTENSIBLE, else 0 */
	int		 extensible;
	unsigned	 frame_bytes;
	uint64_t	 file_size;
	uint64_t	 data_off;	/* first byte of the samples */
	uint64_t	 data_bytes;	/* whole frames present */
	uint64_t	 frames;
	uint32_t	 declared;	/* the data chunk's size field */
	int		 streaming;	/* declared 0 or 0xffffffff: to the end */
	int		 truncated;	/* declared more than the file holds */
	uint64_t	 missing;	/* bytes declared but not there */
	int		 partial_frame;	/* data ends inside a frame */
	int		 has_fact;
	uint32_t	 fact_frames;
	struct wav_chunk keep[WAV_MAX_KEEP];
	size_t		 nkeep;
	uint64_t	 keep_bytes;	/* headers, bodies and pad bytes */
};

/*
 * Reads the header of the file open on fd (size bytes long, read with
 * pread).  Returns 0; -1 when the file is not a WAV file this program
 * can read (why says what is wrong); -2 on a read error (errno set).
 */
int wav_parse(int fd, uint64_t size, struct wav_info *w, char *why,
    size_t whylen);

/* Sizes and data layout consistent: nothing to repair by rewriting. */
int wav_tidy(const struct wav_info *w);

const char *wav_enc_name(enum wav_enc enc);
unsigned wav_enc_bytes(enum wav_enc enc);

/*
 * The header of an output file with the given format and number of
 * frames: RIFF, fmt (18 bytes with cbSize 0 for A-law and µ-law, 16 for
 * PCM, 40 (EXTENSIBLE) for PCM with more than two channels) and, for
 * A-law and µ-law, fact with the frame count.  between is the size of
 * the chunks the caller writes after this and before the data chunk.
 * Returns the length written to buf (at most WAV_MAX_HEADER).
 */
size_t wav_header(uint8_t *buf, enum wav_enc enc, unsigned channels,
    uint32_t rate, uint32_t channel_mask, uint64_t frames, uint64_t between);
/* The data chunk's header for frames of the format. */
void wav_data_header(uint8_t buf[8], enum wav_enc enc, unsigned channels,
    uint64_t frames);
/* Bytes of a whole output file: header, between, data, pad byte. */
uint64_t wav_file_size(enum wav_enc enc, unsigned channels, uint64_t frames,
    uint64_t between);

#endif
