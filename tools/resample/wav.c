/*
 * WAV header reader and writer (see wav.h).
 *
 * The reader follows what ffmpeg accepts where recordings are concerned:
 * chunks in any order before the data, unknown chunks skipped, a data
 * size of 0 or 0xffffffff (streaming writers that never patched the
 * header) meaning "to the end of the file", a partial last frame
 * dropped.  Chunks of odd size are followed by a pad byte; some writers
 * leave it out, so when the padded position holds no chunk name and the
 * unpadded one does, the unpadded one is taken.
 */
#include <sys/types.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "wav.h"

#define MAX_CHUNKS	100000

/* The tail of the KSDATAFORMAT_SUBTYPE GUIDs (after the 16-bit tag). */
static const uint8_t guid_tail[14] = {
	0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00,
	0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71
};

static int say(char *why, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int read_at(int fd, uint64_t off, void *buf, size_t n);
static int plausible_id(int fd, uint64_t off, uint64_t size);
static int parse_fmt(const uint8_t *h, uint32_t len, struct wav_info *w,
    char *why, size_t n);
static int empty_then_chunk(int fd, uint64_t off, uint64_t size);
static const char *tag_name(unsigned tag);

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static unsigned
le16(const uint8_t *p)
{
	return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void
put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static int
say(char *why, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, n, fmt, ap);
	va_end(ap);
	return -1;
}

/* 0 when all n bytes were read, 1 when the file ended first, -1 error. */
static int
read_at(int fd, uint64_t off, void *buf, size_t n)
{
	char *p = buf;
	ssize_t r;

	while (n > 0) {
		r = pread(fd, p, n, (off_t)off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			return 1;
		p += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/* A chunk name: four printable ASCII characters. */
static int
plausible_id(int fd, uint64_t off, uint64_t size)
{
	uint8_t id[4];
	int i;

	if (off + 8 > size || read_at(fd, off, id, 4) != 0)
		return 0;
	for (i = 0; i < 4; i++)
		if (id[i] < 0x20 || id[i] > 0x7e)
			return 0;
	return 1;
}

/* A chunk header at off whose body fits in the file. */
static int
empty_then_chunk(int fd, uint64_t off, uint64_t size)
{
	uint8_t h[8];

	return plausible_id(fd, off, size) && read_at(fd, off, h, 8) == 0 &&
	    off + 8 + le32(h + 4) <= size;
}

static const char *
tag_name(unsigned tag)
{
	switch (tag) {
	case 0x0002: return "MS ADPCM";
	case 0x0011: return "IMA ADPCM";
	case 0x0022: return "DSP Group TrueSpeech";
	case 0x0031: return "GSM 6.10";
	case 0x0040: return "G.721 ADPCM";
	case 0x0045: return "G.726 ADPCM";
	case 0x0050: return "MPEG audio";
	case 0x0055: return "MPEG layer 3";
	case 0x0064: return "G.726 ADPCM";
	case 0x0065: return "G.722 ADPCM";
	case 0x00ff: return "AAC";
	case 0x0161: return "Windows Media Audio";
	case 0xfffe: return "extensible";
	default: return "unknown";
	}
}

static int
parse_fmt(const uint8_t *h, uint32_t len, struct wav_info *w, char *why,
    size_t n)
{
	unsigned tag = le16(h), bits = len >= 16 ? le16(h + 14) : 0;

	w->channels = le16(h + 2);
	w->rate = le32(h + 4);
	if (tag == 0xfffe) {
		if (len < 40 || le16(h + 16) < 22)
			return say(why, n, "EXTENSIBLE fmt chunk of %u bytes "
			    "is too short", (unsigned)len);
		w->extensible = 1;
		w->channel_mask = le32(h + 20);
		tag = le16(h + 24);
		if (memcmp(h + 26, guid_tail, sizeof(guid_tail)) != 0)
			return say(why, n, "unsupported EXTENSIBLE "
			    "sub-format (not a KSDATAFORMAT GUID)");
	}
	switch (tag) {
	case 1:
		switch (bits) {
		case 8: w->enc = ENC_PCM8; break;
		case 16: w->enc = ENC_PCM16; break;
		case 24: w->enc = ENC_PCM24; break;
		case 32: w->enc = ENC_PCM32; break;
		default:
			return say(why, n, "%u-bit PCM is not supported "
			    "(8, 16, 24 or 32)", bits);
		}
		break;
	case 3:
		if (bits == 32)
			w->enc = ENC_FLOAT32;
		else if (bits == 64)
			w->enc = ENC_FLOAT64;
		else
			return say(why, n, "%u-bit float is not supported "
			    "(32 or 64)", bits);
		break;
	case 6:
	case 7:
		if (bits != 8)
			return say(why, n, "%s with %u bits a sample (must be "
			    "8)", tag == 6 ? "A-law" : "mu-law", bits);
		w->enc = tag == 6 ? ENC_ALAW : ENC_ULAW;
		break;
	default:
		return say(why, n, "unsupported format tag 0x%04x (%s)", tag,
		    tag_name(tag));
	}
	if (w->channels == 0)
		return say(why, n, "zero channels");
	if (w->channels > WAV_MAX_CHANNELS)
		return say(why, n, "%u channels (at most %u)", w->channels,
		    WAV_MAX_CHANNELS);
	if (w->rate < WAV_MIN_RATE || w->rate > WAV_MAX_RATE)
		return say(why, n, "sample rate %lu Hz is out of range "
		    "(%u..%u)", (unsigned long)w->rate, WAV_MIN_RATE,
		    WAV_MAX_RATE);
	w->frame_bytes = w->channels * wav_enc_bytes(w->enc);
	return 0;
}

int
wav_parse(int fd, uint64_t size, struct wav_info *w, char *why, size_t n)
{
	uint8_t h[40];
	char id[5];
	uint64_t off, body, next, avail = 0;
	uint32_t csize;
	unsigned nchunks = 0;
	int have_fmt = 0, have_data = 0, rc;

	memset(w, 0, sizeof(*w));
	w->file_size = size;
	if (size == 0)
		return say(why, n, "empty file");
	rc = read_at(fd, 0, h, size < 12 ? (size_t)size : 12);
	if (rc < 0)
		return -2;
	if (size < 4 || (memcmp(h, "RIFF", 4) != 0 && memcmp(h, "RIFX", 4) != 0
	    && memcmp(h, "RF64", 4) != 0))
		return say(why, n, "not a WAV file (no RIFF header)");
	if (memcmp(h, "RIFX", 4) == 0)
		return say(why, n, "big-endian RIFX files are not supported");
	if (memcmp(h, "RF64", 4) == 0)
		return say(why, n, "RF64 files are not supported");
	if (size < 12)
		return say(why, n, "truncated: %llu bytes, the RIFF header "
		    "alone is 12", (unsigned long long)size);
	if (memcmp(h + 8, "WAVE", 4) != 0)
		return say(why, n, "not a WAV file (RIFF form '%.4s')",
		    (const char *)h + 8);
	for (off = 12; off + 8 <= size; off = next) {
		if (++nchunks > MAX_CHUNKS)
			return say(why, n, "more than %d chunks", MAX_CHUNKS);
		if (read_at(fd, off, h, 8) != 0)
			return -2;
		for (rc = 0; rc < 4; rc++)
			id[rc] = h[rc] >= 0x20 && h[rc] <= 0x7e ? (char)h[rc] :
			    '?';
		id[4] = '\0';
		csize = le32(h + 4);
		body = off + 8;
		if (memcmp(h, "fmt ", 4) == 0) {
			if (have_fmt)
				return say(why, n, "two fmt chunks");
			if (csize < 14)
				return say(why, n, "fmt chunk of %lu bytes is "
				    "too short", (unsigned long)csize);
			rc = read_at(fd, body, h, csize < 40 ? csize : 40);
			if (rc < 0)
				return -2;
			if (rc > 0)
				return say(why, n, "truncated in the fmt "
				    "chunk");
			if (parse_fmt(h, csize, w, why, n) != 0)
				return -1;
			have_fmt = 1;
		} else if (memcmp(h, "data", 4) == 0 && !have_data) {
			if (!have_fmt)
				return say(why, n, "data chunk before the fmt "
				    "chunk");
			have_data = 1;
			w->data_off = body;
			w->declared = csize;
			/*
			 * Size 0 is an empty data chunk when the file ends
			 * there or another chunk follows; otherwise a
			 * streaming writer's placeholder.
			 */
			if (csize == 0 && (body == size ||
			    empty_then_chunk(fd, body, size))) {
				avail = 0;
			} else if (csize == 0 || csize == 0xffffffffu) {
				w->streaming = 1;
				avail = size - body;
				break;
			}
			if (body + csize > size) {
				w->truncated = 1;
				w->missing = body + csize - size;
				avail = size - body;
				break;
			}
			avail = csize;
		} else if (memcmp(h, "fact", 4) == 0 && csize >= 4 &&
		    !w->has_fact) {
			rc = read_at(fd, body, h + 8, 4);
			if (rc < 0)
				return -2;
			if (rc == 0) {
				w->has_fact = 1;
				w->fact_frames = le32(h + 8);
			}
		} else if (memcmp(h, "LIST", 4) == 0 && body + csize <= size &&
		    csize <= WAV_MAX_KEEP_SIZE && w->nkeep < WAV_MAX_KEEP) {
			w->keep[w->nkeep].off = off;
			w->keep[w->nkeep].size = csize;
			w->nkeep++;
			w->keep_bytes += 8 + (uint64_t)csize + (csize & 1);
		}
		next = body + csize;
		if (csize & 1) {
			next++;
			if (!plausible_id(fd, next, size) &&
			    plausible_id(fd, next - 1, size))
				next--;
		}
		if (next > size && !have_data)
			return say(why, n, "truncated or corrupt: chunk "
			    "'%s' of %lu bytes runs past the end of the file "
			    "before any data chunk", id,
			    (unsigned long)csize);
	}
	if (!have_fmt)
		return say(why, n, "no fmt chunk");
	if (!have_data)
		return say(why, n, "no data chunk");
	w->frames = avail / w->frame_bytes;
	w->data_bytes = w->frames * w->frame_bytes;
	w->partial_frame = w->data_bytes != avail;
	return 0;
}

int
wav_tidy(const struct wav_info *w)
{
	return !w->streaming && !w->truncated && !w->partial_frame;
}

const char *
wav_enc_name(enum wav_enc enc)
{
	static const char *const names[] = {
		"pcm8", "pcm16", "pcm24", "pcm32", "float32", "float64",
		"alaw", "ulaw"
	};

	return names[enc];
}

unsigned
wav_enc_bytes(enum wav_enc enc)
{
	static const unsigned bytes[] = { 1, 2, 3, 4, 4, 8, 1, 1 };

	return bytes[enc];
}

static unsigned
fmt_size(enum wav_enc enc, unsigned channels)
{
	if (enc == ENC_ALAW || enc == ENC_ULAW)
		return 18;
	return channels > 2 ? 40 : 16;
}

uint64_t
wav_file_size(enum wav_enc enc, unsigned channels, uint64_t frames,
    uint64_t between)
{
	uint64_t data = frames * channels * wav_enc_bytes(enc);
	uint64_t fact = enc == ENC_ALAW || enc == ENC_ULAW ? 12 : 0;

	return 12 + 8 + fmt_size(enc, channels) + fact + between + 8 + data +
	    (data & 1);
}

size_t
wav_header(uint8_t *buf, enum wav_enc enc, unsigned channels, uint32_t rate,
    uint32_t channel_mask, uint64_t frames, uint64_t between)
{
	unsigned fsz = fmt_size(enc, channels), bytes = wav_enc_bytes(enc);
	uint64_t total = wav_file_size(enc, channels, frames, between);
	uint8_t *p = buf;
	unsigned tag = enc == ENC_ALAW ? 6 : enc == ENC_ULAW ? 7 : 1;

	memcpy(p, "RIFF", 4);
	/* The caller checks the 4 GiB limit; saturate rather than wrap. */
	put32(p + 4, total - 8 > 0xffffffffu ? 0xffffffffu :
	    (uint32_t)(total - 8));
	memcpy(p + 8, "WAVEfmt ", 8);
	put32(p + 16, fsz);
	p += 20;
	put16(p, fsz == 40 ? 0xfffe : tag);
	put16(p + 2, channels);
	put32(p + 4, rate);
	put32(p + 8, rate * channels * bytes);
	put16(p + 12, channels * bytes);
	put16(p + 14, bytes * 8);
	if (fsz == 18)
		put16(p + 16, 0);
	if (fsz == 40) {
		put16(p + 16, 22);
		put16(p + 18, bytes * 8);
		put32(p + 20, channel_mask);
		put16(p + 24, tag);
		memcpy(p + 26, guid_tail, sizeof(guid_tail));
	}
	p += fsz;
	if (enc == ENC_ALAW || enc == ENC_ULAW) {
		memcpy(p, "fact", 4);
		put32(p + 4, 4);
		put32(p + 8, frames > 0xffffffffu ? 0xffffffffu :
		    (uint32_t)frames);
		p += 12;
	}
	return (size_t)(p - buf);
}

void
wav_data_header(uint8_t buf[8], enum wav_enc enc, unsigned channels,
    uint64_t frames)
{
	uint64_t data = frames * channels * wav_enc_bytes(enc);

	memcpy(buf, "data", 4);
	put32(buf + 4, data > 0xffffffffu ? 0xffffffffu : (uint32_t)data);
}
