/*
 * Call recordings: canonical PCM WAV files (44-byte header) in the
 * Amazon Connect key layout, with content that looks like a conversation
 * to anything measuring it: talk turns alternate between the customer
 * (left channel) and the agent (right), with short backchannels
 * ("mm-hm") and overlaps; speech is voiced syllables (a glottal pulse
 * train with a falling pitch contour through three formant resonators)
 * and noise-like consonants, separated by pauses; both channels carry a
 * little line noise.
 *
 * Samples are written little-endian byte by byte, whatever the host.
 */
#include <sys/stat.h>

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "out.h"

#include "gen.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define PI 3.14159265358979323846
#define BLOCK 4096

enum { U_VOWEL, U_FRIC };

/* A stretch of speech on one channel, in frames. */
struct unit {
	int64_t		start, len;
	unsigned char	kind;
	double		amp;
	double		f0a, f0b;	/* pitch at start and end, Hz */
	double		fmt[3];	/* formants, Hz */
};

struct track {
	struct unit	*u;
	size_t		 n, cap;
};

struct voice {
	double	f0;	/* typical pitch */
	double	scale;	/* formant scale: shorter vocal tracts, higher */
	double	amp;
	double	noise;	/* line noise level */
};

/* One channel's synthesiser state. */
struct synth {
	const struct track	*tr;
	const struct voice	*v;
	size_t			 ui;
	int			 coeff_for;	/* unit the resonators are set for */
	double			 phase, prev;
	double			 a1[3], a2[3], b[3];
	double			 y1[3], y2[3];
	double			 lp;
	struct rng		 noise;
};

/* Vowel formants of an adult male voice (Peterson and Barney). */
static const double vowels[][3] = {
	{ 730, 1090, 2440 }, { 530, 1840, 2480 }, { 270, 2290, 3010 },
	{ 570, 840, 2410 }, { 300, 870, 2240 }, { 660, 1720, 2410 },
	{ 500, 1500, 2500 }, { 440, 1020, 2240 }
};
static const double formant_gain[3] = { 1.0, 0.8, 0.5 };
static const double formant_bw[3] = { 80, 100, 140 };
static const unsigned short syllables_w[] = { 45, 35, 15, 5 };

enum {
	F_PATH, F_KEY, F_CONTACT, F_TENANT, F_START, F_DURATION, F_FRAMES,
	F_BYTES, F_RATE, F_CHANNELS, F_BITS, NFIELDS
};

static const struct field fields[NFIELDS] = {
	FIELD("path", "path", FT_STR, 0, 1, -1, NULL),
	FIELD("key", "key", FT_STR, FF_PLAIN, 1, -1, NULL),
	FIELD("contact_id", "contact_id", FT_STR, FF_PLAIN, 1, -1, NULL),
	FIELD("tenant_id", "tenant_id", FT_STR, FF_PLAIN, 1, -1, NULL),
	FIELD("start_time", "start_time", FT_TIME, 0, 1, -1, NULL),
	FIELD("duration_s", "duration_s", FT_MILLI, 0, 1, -1, NULL),
	FIELD("frames", "frames", FT_INT, 0, 1, -1, NULL),
	FIELD("bytes", "bytes", FT_INT, 0, 1, -1, NULL),
	FIELD("rate", "rate", FT_INT, 0, 1, -1, NULL),
	FIELD("channels", "channels", FT_INT, 0, 1, -1, NULL),
	FIELD("bits", "bits", FT_INT, 0, 1, -1, NULL),
};

struct listing {
	const char	*path;
	const char	*key;
	const char	*contact;
	const char	*tenant;
	int64_t		 start;
	int64_t		 duration_ms;
	uint64_t	 frames;
	uint64_t	 bytes;
	const struct gen *g;
};

static void add_unit(struct track *tr, const struct unit *u);
static int64_t frames_of(double seconds, uint32_t rate);
static void script(struct rng *r, struct track tr[2],
    const struct voice v[2], int64_t total, uint32_t rate);
static void set_resonators(struct synth *s, const struct unit *u,
    uint32_t rate);
static double glottal(double phase);
static void synthesize(struct synth *s, double *out, int64_t from,
    int n, uint32_t rate);
static void put_le(unsigned char *d, uint64_t v, int bytes);
static void make_dirs(const char *path);
static void write_wav(struct gen *g, const char *path, struct rng *r,
    uint64_t k, uint64_t frames);
static void fmt_listing(struct emit *e, const void *rec);

static void
add_unit(struct track *tr, const struct unit *u)
{
	if (tr->n == tr->cap) {
		tr->cap = tr->cap ? 2 * tr->cap : 256;
		tr->u = cdr_xreallocarray(tr->u, tr->cap, sizeof(*tr->u));
	}
	tr->u[tr->n++] = *u;
}

static int64_t
frames_of(double seconds, uint32_t rate)
{
	return (int64_t)floor(seconds * rate + 0.5);
}

/*
 * Who speaks when.  Track 0 is the customer, track 1 the agent, who
 * speaks first.  Units on one track never overlap and come in order.
 */
static void
script(struct rng *r, struct track tr[2], const struct voice v[2],
    int64_t total, uint32_t rate)
{
	int64_t t = frames_of(rng_between(r, 0.2, 0.8), rate), end, phrase;
	int64_t last_end[2] = { 0, 0 }, at;
	double turn, decl, accent;
	const double *f;
	struct unit u;
	int who = 1, syl, nsyl, i;

	while (t < total) {
		turn = rng_lognormal(r, 3.5, 0.6);
		turn = turn < 0.5 ? 0.5 : turn > 15 ? 15 : turn;
		end = t + frames_of(turn, rate);
		phrase = t;
		while (t < end && t < total) {
			nsyl = 1 + (int)rng_pick(r, syllables_w,
			    NELEM(syllables_w));
			accent = 1 + 0.12 * rng_normal(r);
			for (syl = 0; syl < nsyl; syl++) {
				memset(&u, 0, sizeof(u));
				if (rng_chance(r, 0.45)) {
					u.kind = U_FRIC;
					u.start = t;
					u.len = frames_of(rng_between(r, 0.03,
					    0.09), rate);
					u.amp = v[who].amp * 0.35;
					u.fmt[0] = rng_between(r, 2500, 3500);
					add_unit(&tr[who], &u);
					t += u.len;
				}
				/* Pitch falls over a phrase (declination). */
				decl = 1 - 0.15 * (double)(t - phrase) /
				    (2.0 * rate);
				decl = decl < 0.8 ? 0.8 : decl;
				u.kind = U_VOWEL;
				u.start = t;
				u.len = frames_of(rng_between(r, 0.07, 0.22),
				    rate);
				u.amp = v[who].amp * rng_between(r, 0.6, 1.0);
				u.f0a = v[who].f0 * decl * accent;
				u.f0b = u.f0a * rng_between(r, 0.88, 1.08);
				f = vowels[rng_below(r, NELEM(vowels))];
				for (i = 0; i < 3; i++)
					u.fmt[i] = f[i] * v[who].scale;
				add_unit(&tr[who], &u);
				t += u.len;
			}
			t += frames_of(rng_between(r, 0.02, 0.12), rate);
			if (t - phrase > frames_of(rng_between(r, 1.5, 2.5),
			    rate)) {
				t += frames_of(rng_between(r, 0.2, 0.4), rate);
				phrase = t;
			}
		}
		last_end[who] = t;
		/* A backchannel from the listener, inside the turn. */
		at = end - frames_of(rng_between(r, 0.8, 1.6), rate);
		if (turn > 2 && rng_chance(r, 0.25) &&
		    at > last_end[!who] && at < total) {
			memset(&u, 0, sizeof(u));
			u.kind = U_VOWEL;
			u.start = at;
			u.len = frames_of(rng_between(r, 0.15, 0.3), rate);
			u.amp = v[!who].amp * 0.4;
			u.f0a = v[!who].f0;
			u.f0b = u.f0a * 0.9;
			for (i = 0; i < 3; i++)
				u.fmt[i] = vowels[6][i] * v[!who].scale;
			add_unit(&tr[!who], &u);
			last_end[!who] = at + u.len;
		}
		/* The next turn, sometimes overlapping the last words. */
		if (rng_chance(r, 0.1)) {
			t += frames_of(rng_between(r, 0.3, 1.0), rate);
		} else {
			who = !who;
			if (rng_chance(r, 0.06) && t - last_end[who] >
			    frames_of(0.3, rate))
				t -= frames_of(0.2, rate);
			else
				t += frames_of(rng_lognormal(r, 0.5, 0.5),
				    rate);
			if (t < last_end[who])
				t = last_end[who];
		}
	}
}

/* Two-pole resonators, tuned below Nyquist whatever the rate. */
static void
set_resonators(struct synth *s, const struct unit *u, uint32_t rate)
{
	double f, bw, rr;
	int i;

	for (i = 0; i < 3; i++) {
		f = u->fmt[i];
		bw = u->kind == U_FRIC ? 1800 : formant_bw[i];
		if (f > 0.45 * rate)
			f = 0.45 * rate;
		rr = det_exp(-PI * bw / rate);
		s->a1[i] = 2 * rr * det_cos(2 * PI * f / rate);
		s->a2[i] = -rr * rr;
		s->b[i] = u->kind == U_FRIC && i > 0 ? 0 :
		    (1 - rr) * formant_gain[i];
	}
}

/* Glottal flow: a polynomial (Rosenberg-like) pulse, open 60%. */
static double
glottal(double phase)
{
	double x;

	if (phase < 0.4) {
		x = phase / 0.4;
		return x * x * (3 - 2 * x);
	}
	if (phase < 0.6) {
		x = (phase - 0.4) / 0.2;
		return 1 - x * x;
	}
	return 0;
}

static void
synthesize(struct synth *s, double *out, int64_t from, int n, uint32_t rate)
{
	const struct track *tr = s->tr;
	const struct unit *u;
	double x, src, env, pos, ramp, g, y;
	int64_t frame;
	int i, k;

	for (i = 0; i < n; i++) {
		frame = from + i;
		while (s->ui < tr->n && tr->u[s->ui].start + tr->u[s->ui].len
		    <= frame)
			s->ui++;
		x = 0;
		if (s->ui < tr->n && tr->u[s->ui].start <= frame) {
			u = &tr->u[s->ui];
			if (s->coeff_for != (int)s->ui) {
				set_resonators(s, u, rate);
				s->coeff_for = (int)s->ui;
			}
			pos = (double)(frame - u->start);
			/* 12 ms in, 20 ms out, or less for short units. */
			ramp = 0.012 * rate < u->len / 3.0 ? 0.012 * rate :
			    u->len / 3.0;
			env = pos < ramp ? pos / ramp : 1;
			ramp = 0.02 * rate < u->len / 3.0 ? 0.02 * rate :
			    u->len / 3.0;
			if (u->len - pos < ramp)
				env = (u->len - pos) / ramp;
			if (u->kind == U_VOWEL) {
				s->phase += (u->f0a + (u->f0b - u->f0a) * pos /
				    u->len) / rate;
				if (s->phase >= 1)
					s->phase -= 1;
				g = glottal(s->phase);
				src = (g - s->prev) * 8;
				s->prev = g;
			} else {
				src = 2 * rng_unit(&s->noise) - 1;
			}
			for (k = 0; k < 3; k++) {
				y = s->b[k] * src + s->a1[k] * s->y1[k] +
				    s->a2[k] * s->y2[k];
				s->y2[k] = s->y1[k];
				s->y1[k] = y;
				x += y;
			}
			x *= env * u->amp;
		}
		s->lp = 0.9 * s->lp + 0.1 * (2 * rng_unit(&s->noise) - 1);
		out[i] = x + s->v->noise * s->lp;
	}
}

static void
put_le(unsigned char *d, uint64_t v, int bytes)
{
	int i;

	for (i = 0; i < bytes; i++, v >>= 8)
		d[i] = (unsigned char)(v & 0xff);
}

/* mkdir -p of the directories above path. */
static void
make_dirs(const char *path)
{
	char *p = cdr_xstrdup(path), *s;
	struct stat st;

	for (s = strchr(p + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(p, 0777) != 0 && errno != EEXIST)
			cdr_die_errno(CDR_EXIT_IO, "%s", p);
		if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))
			cdr_die(CDR_EXIT_IO, "%s: not a directory", p);
		*s = '/';
	}
	free(p);
}

static void
write_wav(struct gen *g, const char *path, struct rng *r, uint64_t k,
    uint64_t frames)
{
	unsigned bytes = g->bits / 8, ch = g->channels;
	unsigned block = bytes * ch;
	uint64_t data = frames * block, pad = data & 1, f;
	struct voice v[2];
	struct track tr[2];
	struct synth sy[2];
	struct cdr_out *o;
	double buf[2][BLOCK], x, full;
	unsigned char hdr[44], *pcm;
	int n, i, c;
	int64_t q, lo, hi;

	memset(tr, 0, sizeof(tr));
	memset(sy, 0, sizeof(sy));
	for (c = 0; c < 2; c++) {
		int female = rng_chance(r, 0.5);

		v[c].f0 = female ? rng_between(r, 170, 240) :
		    rng_between(r, 95, 140);
		v[c].scale = female ? rng_between(r, 1.1, 1.2) :
		    rng_between(r, 0.95, 1.05);
		/* Customers are quieter and noisier than headsets. */
		v[c].amp = c == 0 ? rng_between(r, 0.25, 0.45) :
		    rng_between(r, 0.4, 0.55);
		v[c].noise = c == 0 ? 0.006 : 0.002;
	}
	script(r, tr, v, (int64_t)frames, g->rate_hz);
	for (c = 0; c < 2; c++) {
		sy[c].tr = &tr[c];
		sy[c].v = &v[c];
		sy[c].coeff_for = -1;
		rng_init(&sy[c].noise, g->seed, ST_WAV_NOISE, 2 * k + c);
	}

	o = cdr_out_open(path, g->force ? CDR_OUT_FORCE : 0);
	if (o == NULL)
		exit(CDR_EXIT_IO);
	memcpy(hdr, "RIFF", 4);
	put_le(hdr + 4, 36 + data + pad, 4);
	memcpy(hdr + 8, "WAVEfmt ", 8);
	put_le(hdr + 16, 16, 4);
	put_le(hdr + 20, 1, 2);
	put_le(hdr + 22, ch, 2);
	put_le(hdr + 24, g->rate_hz, 4);
	put_le(hdr + 28, (uint64_t)g->rate_hz * block, 4);
	put_le(hdr + 32, block, 2);
	put_le(hdr + 34, g->bits, 2);
	memcpy(hdr + 36, "data", 4);
	put_le(hdr + 40, data, 4);
	cdr_out_write(o, hdr, sizeof(hdr));

	full = (double)((INT64_C(1) << (g->bits - 1)) - 1);
	lo = -(INT64_C(1) << (g->bits - 1));
	hi = (INT64_C(1) << (g->bits - 1)) - 1;
	pcm = cdr_xmalloc((size_t)BLOCK * block);
	for (f = 0; f < frames; f += (uint64_t)n) {
		n = frames - f < BLOCK ? (int)(frames - f) : BLOCK;
		for (c = 0; c < 2; c++)
			synthesize(&sy[c], buf[c], (int64_t)f, n, g->rate_hz);
		for (i = 0; i < n; i++) {
			for (c = 0; c < (int)ch; c++) {
				x = ch == 1 ? buf[0][i] + buf[1][i] : buf[c][i];
				q = (int64_t)floor(x * full + 0.5);
				q = q < lo ? lo : q > hi ? hi : q;
				/* 8-bit WAV samples are unsigned. */
				if (bytes == 1)
					q += 128;
				put_le(pcm + ((size_t)i * ch + (size_t)c) *
				    bytes, (uint64_t)q, (int)bytes);
			}
		}
		cdr_out_write(o, pcm, (size_t)n * block);
	}
	/* RIFF chunks are padded to an even length. */
	if (pad)
		cdr_out_putc(o, 0);
	cdr_out_commit(o);
	free(pcm);
	free(tr[0].u);
	free(tr[1].u);
}

static void
fmt_listing(struct emit *e, const void *rec)
{
	const struct listing *l = rec;

	em_strz(e, F_PATH, l->path);
	em_strz(e, F_KEY, l->key);
	em_strz(e, F_CONTACT, l->contact);
	em_strz(e, F_TENANT, l->tenant);
	em_time(e, F_START, l->start);
	em_milli(e, F_DURATION, l->duration_ms);
	em_int(e, F_FRAMES, (int64_t)l->frames);
	em_int(e, F_BYTES, (int64_t)l->bytes);
	em_int(e, F_RATE, l->g->rate_hz);
	em_int(e, F_CHANNELS, l->g->channels);
	em_int(e, F_BITS, l->g->bits);
}

void
gen_wav(struct gen *g)
{
	const struct tenant *tn;
	struct diurnal d;
	struct sampler sm;
	struct daycache dc;
	struct listing l;
	struct rng r;
	char contact[40], key[256], *path, *p;
	size_t dirlen = strlen(g->dir);
	uint64_t k, frames;
	int64_t ms;
	double x;

	while (dirlen > 1 && g->dir[dirlen - 1] == '/')
		dirlen--;
	path = cdr_xmalloc(dirlen + 1 + sizeof(key));
	diurnal_init(&d, &g->world, CURVE_CALLS, 0);
	sampler_init(&sm, &d, g->start, g->span, g->count);
	daycache_init(&dc);
	sink_start(&g->sink, g, fields, NFIELDS, 1, g->count);
	for (k = 0; k < g->count; k++) {
		rng_init(&r, g->seed, ST_WAV, k);
		l.start = sampler_time(&sm, k, rng_unit(&r));
		tn = &g->world.tenant[diurnal_pick(&d, &r, l.start)];
		fmt_uuid(contact, &r);
		fmt_recording_key(key, tn->alias, contact, l.start, &dc);
		if (g->duration > 0) {
			ms = g->duration;
		} else if (g->duration_spread) {
			ms = g->min_duration + (int64_t)rng_below(&r,
			    (uint64_t)(g->max_duration - g->min_duration + 1));
		} else {
			/* Talk times: a median of three minutes. */
			x = rng_lognormal(&r, 180, 0.7) * 1000;
			ms = (int64_t)x;
			ms = ms < g->min_duration ? g->min_duration :
			    ms > g->max_duration ? g->max_duration : ms;
		}
		frames = (uint64_t)((ms * g->rate_hz + 500) / 1000);
		memcpy(path, g->dir, dirlen);
		p = path + dirlen;
		*p++ = '/';
		strcpy(p, key);
		make_dirs(path);
		write_wav(g, path, &r, k, frames);
		l.path = path;
		l.key = key;
		l.contact = contact;
		l.tenant = tn->id;
		l.duration_ms = (int64_t)((frames * 1000 + g->rate_hz / 2) /
		    g->rate_hz);
		l.frames = frames;
		l.bytes = 44 + frames * g->channels * (g->bits / 8) +
		    (frames * g->channels * (g->bits / 8) & 1);
		l.g = g;
		sink_record(&g->sink, fmt_listing, &l, 0, NULL);
	}
	sink_finish(&g->sink);
	sampler_free(&sm);
	free(path);
}
