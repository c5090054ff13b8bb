/*
 * G.711 A-law and µ-law, with the encoder tables that ffmpeg's pcm_alaw
 * and pcm_mulaw encoders use, so that output is bit for bit the same.
 *
 * Encoding looks up the top 14 bits of the 16-bit sample, (s + 32768) >> 2.
 * Each 14-bit magnitude j gets the quantisation level i (0..127) for which
 * j lies below the threshold (|d(i)| + |d(i+1)| + 4) >> 3, where d() is
 * the decoded 16-bit value of a level: the decision points are the
 * midpoints between neighbouring decoded values, measured in 14-bit units
 * and rounded half up.  Levels past the last threshold saturate at 127.
 * Non-negative inputs (j = 0 included) get the positive code; the most
 * negative index takes the code of its neighbour.  A-law codes have the
 * even bits inverted (XOR 0x55), µ-law codes all bits (XOR 0xff).
 *
 * Decoding gives the 16-bit values of G.191 / ffmpeg (A-law: 13-bit
 * values shifted left by 3; µ-law: 14-bit values shifted left by 2).
 */
#ifndef RESAMPLE_G711_H
#define RESAMPLE_G711_H

#include <stdint.h>

extern uint8_t g711_alaw_enc[16384];
extern uint8_t g711_ulaw_enc[16384];
extern int16_t g711_alaw_dec[256];
extern int16_t g711_ulaw_dec[256];

/* Fills the tables; call once before any thread uses them. */
void g711_init(void);

static inline uint8_t
g711_alaw(int16_t s)
{
	return g711_alaw_enc[((int32_t)s + 32768) >> 2];
}

static inline uint8_t
g711_ulaw(int16_t s)
{
	return g711_ulaw_enc[((int32_t)s + 32768) >> 2];
}

#endif
