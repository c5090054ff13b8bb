/*
 * Sample conversion (see convert.h).
 *
 * Without a rate change the samples follow ffmpeg's libswresample bit for
 * bit (what `ffmpeg -i in.wav -ac 1 -c:a pcm_alaw out.wav` writes):
 *
 *  - 8-bit, 16-bit, A-law and µ-law input is taken to 16 bits (8-bit:
 *    (u - 128) << 8; G.711: the decoding tables) and two channels are
 *    mixed in integers as floor((L + R + 1) / 2), i.e. ffmpeg's Q15
 *    matrix (16384 L + 16384 R + 16384) >> 15;
 *  - 24-bit, 32-bit and 32-bit float input: without mixing, 24-bit is
 *    x >> 8, 32-bit x >> 16 (both truncate towards minus infinity, as
 *    ffmpeg's s32 to s16 conversion does) and float lrintf(x * 32768)
 *    clipped; two channels are mixed in single precision as
 *    0.5 L + 0.5 R of x / 2^31 (or the float sample), then lrintf(m *
 *    32768), clipped;
 *  - 64-bit float input: the same in double precision.
 *
 * More than two channels mixed to one are averaged (integers: rounded
 * half up; float: sum / channels); ffmpeg instead applies a mixing matrix
 * that depends on the channel layout, so there the results differ.
 *
 * With a rate change the samples go to float (x / full scale), are
 * averaged to one channel when asked, resampled by libsoxr (linear phase,
 * the chosen quality) and rounded to 16 bits with lrintf(y * 32768),
 * clipped, without dither.
 */
#include <sys/types.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <soxr.h>

#include "convert.h"
#include "g711.h"
#include "msg.h"

#define BLOCK_BYTES	(256 * 1024)

/*
 * libsoxr sets up process-wide state (its choice of SIMD code) lazily in
 * soxr_create, unguarded: one creation at a time.
 */
static pthread_mutex_t soxr_lock = PTHREAD_MUTEX_INITIALIZER;

struct writer {
	int		 fd;
	uint8_t		*buf;
	size_t		 len;
	uint64_t	 off;
};

struct conv {
	const struct wav_info	*in;
	const struct conv_spec	*spec;
	int			 in_fd;
	struct writer		 w;
	size_t			 fpb;		/* frames a block */
	uint8_t			*raw;		/* input bytes of a block */
	int16_t			*s16;		/* output samples */
	uint8_t			*enc;		/* encoded output */
	float			*fin;		/* resampler input */
	float			*fout;		/* resampler output */
	size_t			 olen;		/* frames fout holds */
	uint64_t		 frames;	/* written */
};

static int say(char *why, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
say(char *why, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, n, fmt, ap);
	va_end(ap);
	return CONV_DATA;
}

static int
w_flush(struct writer *w)
{
	uint8_t *p = w->buf;
	ssize_t r;

	while (w->len > 0) {
		r = pwrite(w->fd, p, w->len, (off_t)w->off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = ENOSPC;
			return -1;
		}
		p += r;
		w->len -= (size_t)r;
		w->off += (uint64_t)r;
	}
	return 0;
}

static int
w_put(struct writer *w, const void *p, size_t n)
{
	const uint8_t *s = p;
	size_t k;

	while (n > 0) {
		if (w->len == BLOCK_BYTES && w_flush(w) != 0)
			return -1;
		k = BLOCK_BYTES - w->len;
		if (k > n)
			k = n;
		memcpy(w->buf + w->len, s, k);
		w->len += k;
		s += k;
		n -= k;
	}
	return 0;
}

static int
pwrite_all(int fd, const void *p, size_t n, uint64_t off)
{
	const uint8_t *s = p;
	ssize_t r;

	while (n > 0) {
		r = pwrite(fd, s, n, (off_t)off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = ENOSPC;
			return -1;
		}
		s += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/* 0, or CONV_READ (errno), or CONV_DATA when the file got shorter. */
static int
read_block(struct conv *c, uint64_t off, size_t n, char *why, size_t wn)
{
	uint8_t *p = c->raw;
	ssize_t r;

	while (n > 0) {
		r = pread(c->in_fd, p, n, (off_t)off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return CONV_READ;
		}
		if (r == 0)
			return say(why, wn, "the file got shorter while it was "
			    "read");
		p += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

static inline int32_t
get24(const uint8_t *p)
{
	/* Sign-extend by an arithmetic shift (GCC and Clang define it). */
	return (int32_t)((uint32_t)p[0] << 8 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 24) >> 8;
}

static inline int32_t
get32(const uint8_t *p)
{
	return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 |
	    (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
}

static inline int16_t
get16(const uint8_t *p)
{
	return (int16_t)((uint16_t)p[0] | (uint16_t)p[1] << 8);
}

static inline float
getf32(const uint8_t *p)
{
	uint32_t u = (uint32_t)get32(p);
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

static inline double
getf64(const uint8_t *p)
{
	uint64_t u = (uint64_t)(uint32_t)get32(p) |
	    (uint64_t)(uint32_t)get32(p + 4) << 32;
	double d;

	memcpy(&d, &u, sizeof(d));
	return d;
}

/* lrintf clipped to 16 bits; NaN is silence. */
static inline int16_t
clipf(float x)
{
	if (x >= 32767.0f)
		return 32767;
	if (x <= -32768.0f)
		return -32768;
	if (x != x)
		return 0;
	return (int16_t)lrintf(x);
}

static inline int16_t
clipd(double x)
{
	if (x >= 32767.0)
		return 32767;
	if (x <= -32768.0)
		return -32768;
	if (x != x)
		return 0;
	return (int16_t)lrint(x);
}

/* One sample of a 16-bit-or-narrower encoding as 16 bits. */
static inline int32_t
small_sample(enum wav_enc enc, const uint8_t *p)
{
	switch (enc) {
	case ENC_PCM8:
		return ((int32_t)*p - 128) * 256;
	case ENC_ALAW:
		return g711_alaw_dec[*p];
	case ENC_ULAW:
		return g711_ulaw_dec[*p];
	default:
		return get16(p);
	}
}

/* Floor division for a positive divisor. */
static inline int32_t
floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (int32_t)(q * b > a ? q - 1 : q);
}

/* Integer path: 8/16-bit PCM, A-law, µ-law. */
static void
decode_small(const struct conv *c, size_t n)
{
	const struct wav_info *in = c->in;
	unsigned ch = in->channels, bps = wav_enc_bytes(in->enc), k;
	const uint8_t *p = c->raw;
	int16_t *o = c->s16;
	size_t i;
	int64_t sum;

	if (c->spec->channels == ch) {
		if (in->enc == ENC_PCM16) {
			for (i = 0; i < n * ch; i++, p += 2)
				o[i] = get16(p);
		} else {
			for (i = 0; i < n * ch; i++, p += bps)
				o[i] = (int16_t)small_sample(in->enc, p);
		}
		return;
	}
	if (ch == 2 && in->enc == ENC_PCM16) {
		/* The common case: stereo 16-bit recordings. */
		for (i = 0; i < n; i++, p += 4)
			o[i] = (int16_t)(((int32_t)get16(p) + get16(p + 2) + 1)
			    >> 1);
		return;
	}
	for (i = 0; i < n; i++) {
		sum = 0;
		for (k = 0; k < ch; k++, p += bps)
			sum += small_sample(in->enc, p);
		/* floor(sum / ch + 1/2); for two channels (L + R + 1) >> 1. */
		o[i] = (int16_t)floordiv(2 * sum + ch, 2 * (int64_t)ch);
	}
}

/* A wide sample as ffmpeg's float: x / 2^31 of the 32-bit value. */
static inline float
wide_float(enum wav_enc enc, const uint8_t *p)
{
	switch (enc) {
	case ENC_PCM24:
		return (float)(get24(p) * 256) * (1.0f / 2147483648.0f);
	case ENC_PCM32:
		return (float)get32(p) * (1.0f / 2147483648.0f);
	default:
		return getf32(p);
	}
}

/* Bit-exact path for 24/32-bit PCM and float without a rate change. */
static void
decode_wide(const struct conv *c, size_t n)
{
	const struct wav_info *in = c->in;
	unsigned ch = in->channels, bps = wav_enc_bytes(in->enc), k;
	const uint8_t *p = c->raw;
	int16_t *o = c->s16;
	size_t i;

	if (c->spec->channels == ch) {
		for (i = 0; i < n * ch; i++, p += bps) {
			switch (in->enc) {
			case ENC_PCM24:
				o[i] = (int16_t)(get24(p) >> 8);
				break;
			case ENC_PCM32:
				o[i] = (int16_t)(get32(p) >> 16);
				break;
			case ENC_FLOAT32:
				o[i] = clipf(getf32(p) * 32768.0f);
				break;
			default:
				o[i] = clipd(getf64(p) * 32768.0);
				break;
			}
		}
		return;
	}
	if (in->enc == ENC_FLOAT64) {
		for (i = 0; i < n; i++) {
			double m;

			if (ch == 2) {
				m = 0.5 * getf64(p) + 0.5 * getf64(p + 8);
				p += 16;
			} else {
				m = 0;
				for (k = 0; k < ch; k++, p += 8)
					m += getf64(p);
				m /= ch;
			}
			o[i] = clipd(m * 32768.0);
		}
		return;
	}
	for (i = 0; i < n; i++) {
		float m;

		if (ch == 2) {
			m = 0.5f * wide_float(in->enc, p) +
			    0.5f * wide_float(in->enc, p + bps);
			p += 2 * bps;
		} else {
			m = 0;
			for (k = 0; k < ch; k++, p += bps)
				m += wide_float(in->enc, p);
			m /= (float)ch;
		}
		o[i] = clipf(m * 32768.0f);
	}
}

/* One sample at full scale 1.0 for the resampler. */
static inline float
unit_float(enum wav_enc enc, const uint8_t *p)
{
	switch (enc) {
	case ENC_PCM8:
		return (float)((int)*p - 128) * (1.0f / 128.0f);
	case ENC_PCM16:
		return (float)get16(p) * (1.0f / 32768.0f);
	case ENC_PCM24:
		return (float)get24(p) * (1.0f / 8388608.0f);
	case ENC_PCM32:
		return (float)((double)get32(p) * (1.0 / 2147483648.0));
	case ENC_FLOAT32:
		return getf32(p);
	case ENC_FLOAT64:
		return (float)getf64(p);
	case ENC_ALAW:
		return (float)g711_alaw_dec[*p] * (1.0f / 32768.0f);
	default:
		return (float)g711_ulaw_dec[*p] * (1.0f / 32768.0f);
	}
}

static void
decode_float(const struct conv *c, size_t n)
{
	const struct wav_info *in = c->in;
	unsigned ch = in->channels, bps = wav_enc_bytes(in->enc), k;
	const uint8_t *p = c->raw;
	float *o = c->fin, m;
	size_t i;

	if (c->spec->channels == ch) {
		for (i = 0; i < n * ch; i++, p += bps)
			o[i] = unit_float(in->enc, p);
		return;
	}
	for (i = 0; i < n; i++) {
		m = 0;
		for (k = 0; k < ch; k++, p += bps)
			m += unit_float(in->enc, p);
		o[i] = m / (float)ch;
	}
}

/* Encodes and writes n frames of c->s16. */
static int
emit(struct conv *c, size_t n)
{
	size_t i, total = n * c->spec->channels;
	const int16_t *s = c->s16;
	uint8_t *e = c->enc;

	switch (c->spec->enc) {
	case ENC_ALAW:
		for (i = 0; i < total; i++)
			e[i] = g711_alaw(s[i]);
		break;
	case ENC_ULAW:
		for (i = 0; i < total; i++)
			e[i] = g711_ulaw(s[i]);
		break;
	default:
		for (i = 0; i < total; i++) {
			e[2 * i] = (uint8_t)s[i];
			e[2 * i + 1] = (uint8_t)((uint16_t)s[i] >> 8);
		}
		total *= 2;
		break;
	}
	c->frames += n;
	return w_put(&c->w, e, total);
}

/* Rounds n frames of resampler output to 16 bits and writes them. */
static int
emit_float(struct conv *c, size_t n)
{
	size_t i, total = n * c->spec->channels;

	for (i = 0; i < total; i++)
		c->s16[i] = clipf(c->fout[i] * 32768.0f);
	return emit(c, n);
}

uint64_t
convert_frames_max(const struct wav_info *in, const struct conv_spec *spec)
{
	if (spec->rate == in->rate)
		return in->frames;
	/* soxr gives round(frames * ratio); one more for safety. */
	return (uint64_t)((double)in->frames * spec->rate / in->rate) + 2;
}

/* Copies the LIST chunks of the input after the header. */
static int
copy_chunks(struct conv *c, char *why, size_t wn)
{
	const struct wav_info *in = c->in;
	uint8_t zero = 0;
	size_t i, k;
	uint64_t off, left;
	int rc;

	for (i = 0; i < in->nkeep; i++) {
		off = in->keep[i].off;
		left = 8 + (uint64_t)in->keep[i].size;
		while (left > 0) {
			k = left < BLOCK_BYTES ? (size_t)left : BLOCK_BYTES;
			if ((rc = read_block(c, off, k, why, wn)) != 0)
				return rc;
			if (w_put(&c->w, c->raw, k) != 0)
				return CONV_WRITE;
			off += k;
			left -= k;
		}
		if ((in->keep[i].size & 1) && w_put(&c->w, &zero, 1) != 0)
			return CONV_WRITE;
	}
	return 0;
}

static int
run(struct conv *c, char *why, size_t wn)
{
	const struct wav_info *in = c->in;
	const struct conv_spec *spec = c->spec;
	soxr_t sx = NULL;
	soxr_error_t serr;
	soxr_io_spec_t io;
	soxr_quality_spec_t q;
	soxr_runtime_spec_t rt;
	uint64_t off = in->data_off, left = in->frames;
	size_t n, idone, odone, at;
	int resample = spec->rate != in->rate, rc = 0;

	if (resample) {
		io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
		q = soxr_quality_spec(spec->quality, 0);
		rt = soxr_runtime_spec(1);
		pthread_mutex_lock(&soxr_lock);
		sx = soxr_create(in->rate, spec->rate, spec->channels, &serr,
		    &io, &q, &rt);
		pthread_mutex_unlock(&soxr_lock);
		if (sx == NULL || serr != NULL)
			return say(why, wn, "libsoxr: %s", serr ? serr :
			    "cannot create a resampler");
	}
	while (left > 0) {
		n = left < c->fpb ? (size_t)left : c->fpb;
		if ((rc = read_block(c, off, n * in->frame_bytes, why, wn)) != 0)
			goto out;
		off += n * in->frame_bytes;
		left -= n;
		if (!resample) {
			if (in->enc == ENC_PCM8 || in->enc == ENC_PCM16 ||
			    in->enc == ENC_ALAW || in->enc == ENC_ULAW)
				decode_small(c, n);
			else
				decode_wide(c, n);
			if (emit(c, n) != 0) {
				rc = CONV_WRITE;
				goto out;
			}
			continue;
		}
		decode_float(c, n);
		for (at = 0; at < n; at += idone) {
			serr = soxr_process(sx, c->fin + at * spec->channels,
			    n - at, &idone, c->fout, c->olen, &odone);
			if (serr != NULL) {
				rc = say(why, wn, "libsoxr: %s", serr);
				goto out;
			}
			if (odone > 0 && emit_float(c, odone) != 0) {
				rc = CONV_WRITE;
				goto out;
			}
			if (idone == 0 && odone == 0) {
				rc = say(why, wn, "libsoxr: no progress");
				goto out;
			}
		}
	}
	if (resample) {
		/* Drain the filter's delay: NULL input means the end. */
		do {
			serr = soxr_process(sx, NULL, 0, NULL, c->fout, c->olen,
			    &odone);
			if (serr != NULL) {
				rc = say(why, wn, "libsoxr: %s", serr);
				goto out;
			}
			if (odone > 0 && emit_float(c, odone) != 0) {
				rc = CONV_WRITE;
				goto out;
			}
		} while (odone > 0);
	}
out:
	if (sx != NULL)
		soxr_delete(sx);
	return rc;
}

int
convert_wav(int in_fd, const struct wav_info *in, int out_fd,
    const struct conv_spec *spec, uint64_t *frames, uint64_t *bytes,
    char *why, size_t wn)
{
	struct conv c;
	uint8_t hdr[WAV_MAX_HEADER], dh[8], zero = 0;
	uint64_t max = convert_frames_max(in, spec), data;
	size_t hlen, olen;
	int rc;

	if (wav_file_size(spec->enc, spec->channels, max, in->keep_bytes) >
	    WAV_MAX_FILE)
		return say(why, wn, "the output would be larger than a WAV "
		    "file can be (4 GiB)");
	memset(&c, 0, sizeof(c));
	c.in = in;
	c.spec = spec;
	c.in_fd = in_fd;
	c.w.fd = out_fd;
	c.fpb = BLOCK_BYTES / in->frame_bytes;
	if (c.fpb == 0)
		c.fpb = 1;
	olen = c.fpb;
	if (spec->rate != in->rate) {
		/* Room for one block's output plus the filter's tail. */
		c.olen = (size_t)((double)c.fpb * spec->rate / in->rate) + 4096;
		olen = c.olen;
		c.fin = cdr_xreallocarray(NULL, c.fpb * spec->channels,
		    sizeof(float));
		c.fout = cdr_xreallocarray(NULL, c.olen * spec->channels,
		    sizeof(float));
	}
	c.raw = cdr_xmalloc(c.fpb * in->frame_bytes > BLOCK_BYTES ?
	    c.fpb * in->frame_bytes : BLOCK_BYTES);
	c.s16 = cdr_xreallocarray(NULL, olen * spec->channels, sizeof(int16_t));
	c.enc = cdr_xreallocarray(NULL, olen * spec->channels, 2);
	c.w.buf = cdr_xmalloc(BLOCK_BYTES);

	hlen = wav_header(hdr, spec->enc, spec->channels, spec->rate,
	    spec->channels == in->channels ? in->channel_mask : 0, max,
	    in->keep_bytes);
	wav_data_header(dh, spec->enc, spec->channels, max);
	if (w_put(&c.w, hdr, hlen) != 0) {
		rc = CONV_WRITE;
		goto out;
	}
	if ((rc = copy_chunks(&c, why, wn)) != 0)
		goto out;
	if (w_put(&c.w, dh, 8) != 0) {
		rc = CONV_WRITE;
		goto out;
	}
	if ((rc = run(&c, why, wn)) != 0)
		goto out;
	data = c.frames * spec->channels * wav_enc_bytes(spec->enc);
	if ((data & 1) && w_put(&c.w, &zero, 1) != 0) {
		rc = CONV_WRITE;
		goto out;
	}
	if (w_flush(&c.w) != 0) {
		rc = CONV_WRITE;
		goto out;
	}
	/* The header again, now with the frame count written. */
	hlen = wav_header(hdr, spec->enc, spec->channels, spec->rate,
	    spec->channels == in->channels ? in->channel_mask : 0, c.frames,
	    in->keep_bytes);
	wav_data_header(dh, spec->enc, spec->channels, c.frames);
	if (pwrite_all(out_fd, hdr, hlen, 0) != 0 ||
	    pwrite_all(out_fd, dh, 8, hlen + in->keep_bytes) != 0) {
		rc = CONV_WRITE;
		goto out;
	}
	*frames = c.frames;
	*bytes = c.w.off;
	if (c.w.off != wav_file_size(spec->enc, spec->channels, c.frames,
	    in->keep_bytes))
		rc = say(why, wn, "internal error: output size %llu, expected "
		    "%llu", (unsigned long long)c.w.off,
		    (unsigned long long)wav_file_size(spec->enc,
		    spec->channels, c.frames, in->keep_bytes));
out:
	free(c.raw);
	free(c.s16);
	free(c.enc);
	free(c.fin);
	free(c.fout);
	free(c.w.buf);
	return rc;
}
