/*
 * UTF-8 text measured the way a terminal shows it.
 *
 * Widths are display columns: CJK ideographs, kana, hangul and fullwidth
 * forms take 2, combining marks and zero-width characters 0, everything
 * else 1. The table is built in (East Asian Width "W" and "F" ranges), so
 * the result does not depend on the process locale. Bytes that are not
 * valid UTF-8 count one column each, so a width is always defined.
 *
 * Pure functions on borrowed strings; safe anywhere.
 */
#ifndef DK_UTF8_H
#define DK_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decodes one character at s (n bytes available). Returns its length in
 * bytes (1 to 4) and sets *cp, or returns 0 for an invalid or truncated
 * sequence (then *cp is the byte itself). */
size_t dk_utf8_decode(const char *s, size_t n, uint32_t *cp);

/* Display columns of one code point: 0, 1 or 2. */
int dk_utf8_cp_width(uint32_t cp);

/* Display columns of the NUL-terminated string s. */
size_t dk_utf8_width(const char *s);

/* How many bytes of s fit in max_cols columns without splitting a
 * character; *cols (when not NULL) gets the columns they take. */
size_t dk_utf8_fit(const char *s, size_t max_cols, size_t *cols);

#endif
