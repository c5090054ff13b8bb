/*
 * G.711 tables (see g711.h for the rounding they encode).
 */
#include <stdint.h>
#include <stdlib.h>

#include "g711.h"

uint8_t g711_alaw_enc[16384];
uint8_t g711_ulaw_enc[16384];
int16_t g711_alaw_dec[256];
int16_t g711_ulaw_dec[256];

static int alaw_level(int i);
static int ulaw_level(int i);
static void build(uint8_t *tab, int (*level)(int), int pos, int neg);

/* Decoded magnitude of A-law level i (segment i >> 4, mantissa i & 15). */
static int
alaw_level(int i)
{
	int seg = i >> 4, m = i & 15;

	if (seg == 0)
		return (2 * m + 1) << 3;
	return (2 * m + 33) << (seg + 2);
}

/* Decoded magnitude of µ-law level i: ((m << 3) + 132) << seg, less 132. */
static int
ulaw_level(int i)
{
	return ((((i & 15) << 3) + 132) << (i >> 4)) - 132;
}

static void
build(uint8_t *tab, int (*level)(int), int pos, int neg)
{
	int j = 0, i, thr;

	/* j is the 14-bit magnitude; tab[8192 + j] and tab[8192 - j]. */
	for (i = 0; i < 128; i++) {
		thr = i < 127 ? (level(i) + level(i + 1) + 4) >> 3 : 8193;
		for (; j < thr && j <= 8192; j++) {
			if (j < 8192)
				tab[8192 + j] = (uint8_t)(i ^ pos);
			if (j > 0)
				tab[8192 - j] = (uint8_t)(i ^ neg);
		}
	}
	/* The most negative index (-8192) takes its neighbour's code. */
	tab[0] = tab[1];
}

void
g711_init(void)
{
	int c, i, v;

	build(g711_alaw_enc, alaw_level, 0xd5, 0x55);
	build(g711_ulaw_enc, ulaw_level, 0xff, 0x7f);
	for (c = 0; c < 256; c++) {
		/* A-law: even bits inverted, sign bit set means positive. */
		i = (c ^ 0x55) & 0x7f;
		v = alaw_level(i);
		g711_alaw_dec[c] = (int16_t)((c ^ 0x55) & 0x80 ? v : -v);
		/* µ-law: all bits inverted, sign bit set means negative. */
		i = (~c) & 0x7f;
		v = ulaw_level(i);
		g711_ulaw_dec[c] = (int16_t)((~c) & 0x80 ? -v : v);
	}
}
