/*
 * The WAV header reader of cdr-resample (tools/resample/wav.c).
 *
 * Checked: what it reports lies inside the file; a header written by
 * wav_header for the same format reads back as that format, tidy.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wav.h"
#include "fuzz.h"

static int parse_file(const char *path, uint64_t size, struct wav_info *w);
static void check_inside(const struct wav_info *w, uint64_t size);
static void roundtrip(const struct wav_info *w);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_setup("fuzz_wav");
	return 0;
}

static int
parse_file(const char *path, uint64_t size, struct wav_info *w)
{
	char why[256];
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		abort();
	why[0] = '\0';
	rc = wav_parse(fd, size, w, why, sizeof(why));
	close(fd);
	if (rc == -2)
		abort();
	if (rc != 0 && why[0] == '\0')
		abort();
	return rc;
}

static void
check_inside(const struct wav_info *w, uint64_t size)
{
	size_t i;

	if (w->frame_bytes == 0 || w->channels == 0 ||
	    w->channels > WAV_MAX_CHANNELS || w->data_off > size ||
	    w->data_bytes > size - w->data_off ||
	    w->frames * w->frame_bytes != w->data_bytes ||
	    w->nkeep > WAV_MAX_KEEP)
		abort();
	for (i = 0; i < w->nkeep; i++)
		if (w->keep[i].off + 8 + w->keep[i].size > size)
			abort();
	(void)wav_tidy(w);
	(void)wav_enc_name(w->enc);
}

static void
roundtrip(const struct wav_info *w)
{
	uint8_t head[WAV_MAX_HEADER + 8], *file;
	struct wav_info back;
	enum wav_enc enc = w->enc;
	uint64_t frames = w->frames > 4096 ? 4096 : w->frames, total;
	size_t n, data;
	const char *path;

	if (enc != ENC_PCM16 && enc != ENC_ALAW && enc != ENC_ULAW)
		return;
	n = wav_header(head, enc, w->channels, w->rate, w->channel_mask,
	    frames, 0);
	if (n > WAV_MAX_HEADER)
		abort();
	wav_data_header(head + n, enc, w->channels, frames);
	n += 8;
	data = (size_t)frames * w->channels * wav_enc_bytes(enc);
	total = wav_file_size(enc, w->channels, frames, 0);
	if (total != n + data + (data & 1))
		abort();
	if ((file = calloc(1, (size_t)total)) == NULL)
		abort();
	memcpy(file, head, n);
	path = fuzz_file("out.wav", file, (size_t)total);
	free(file);
	if (parse_file(path, total, &back) != 0 || back.enc != enc ||
	    back.channels != w->channels || back.rate != w->rate ||
	    back.frames != frames || !wav_tidy(&back))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wav_info w;
	const char *path;

	path = fuzz_file("in.wav", data, size);
	if (parse_file(path, size, &w) != 0)
		return 0;
	check_inside(&w, size);
	roundtrip(&w);
	return 0;
}
