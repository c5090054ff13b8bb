/*
 * Option values: integers, decimals, durations, sizes and ratios.
 *
 * Every function takes the whole string: no leading or trailing blanks,
 * no trailing garbage, and "" is an error.  Numbers are decimal only (no
 * octal from a leading 0, no hex, no exponent in integers) and are read the
 * same in every locale.
 *
 * Each returns 0 with *out set, or -1 with *out untouched and *why set to a
 * short lower-case reason for the message "prog: -x: <why>", such as
 * "not a number" or "out of range (1..64)".  *why points either to a string
 * constant or to a per-thread buffer that the next failing call in the same
 * thread overwrites: use it before parsing the next option.
 */
#ifndef CDR_PARSE_H
#define CDR_PARSE_H

#include <stdint.h>

/* Digits only; a minus sign (even "-0") is "must not be negative". */
int cdr_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out,
    const char **why);
/* An optional "+" or "-", then digits. */
int cdr_parse_int(const char *s, int64_t min, int64_t max, int64_t *out,
    const char **why);
/*
 * [+-]digits[.digits][e[+-]digits] (".5" and "5." too), correctly rounded;
 * "nan", "inf" and hex floats are not numbers.  A value too small for a
 * double reads as the nearest one (a denormal or zero).
 */
int cdr_parse_double(const char *s, double min, double max, double *out,
    const char **why);

/*
 * A duration in microseconds: one or more "<integer><unit>" with units
 *	ms  milliseconds	h  hours
 *	s   seconds		d  days (86400 s, not calendar days)
 *	m   minutes		w  weeks (7 d)
 * in lower case, summed: "500ms", "15m", "1h30m", "2w".  Months and years
 * have no fixed length and are not durations ("m" is minutes).  A bare
 * integer is seconds ("90"), but only on its own ("1h30" is an error).
 * No fractions ("1500ms", not "1.5s") and no signs.  The largest duration
 * is INT64_MAX microseconds, a little over 106751991 days (292000 years).
 */
int cdr_parse_duration(const char *s, int64_t *usec, const char **why);

/*
 * A byte count, following GNU coreutils (dd, head -c, split):
 *	100, 100B		bytes
 *	K M G T P E		powers of 1024 (also KiB MiB GiB TiB PiB EiB)
 *	KB MB GB TB PB EB	powers of 1000
 * The multiplier letter may be lower case ("512k", "64m", "1kB"); B and iB
 * may not.  With a multiplier the number may have a fraction (digits on
 * both sides of the point) and the result is rounded down to whole bytes
 * ("1.5G" is 1610612736, "0.1K" is 102); a plain byte count must be whole.
 * At most UINT64_MAX bytes ("16E" is out of range).
 */
int cdr_parse_size(const char *s, uint64_t *bytes, const char **why);

/*
 * A share in [0, 1], as a decimal ("0.05") or as a percentage in
 * [0%, 100%] ("5%", "12.5%").  Syntax as cdr_parse_double.
 */
int cdr_parse_ratio(const char *s, double *out, const char **why);

#endif
