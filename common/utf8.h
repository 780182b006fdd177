/*
 * UTF-8 checks and display sanitising.
 *
 * Text is UTF-8 inside docket. New text is checked where it enters
 * (dk_text_check, from the event encoder and the ledger import); text that
 * older nodes or bundles stored before those checks existed is repaired only
 * where it is shown (dk_text_sanitize): the signed bytes never change.
 *
 * All functions are pure and thread-safe; none allocates.
 */
#ifndef DK_UTF8_H
#define DK_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length in bytes of the well-formed UTF-8 sequence at s[0..len) (1-4), or 0
 * when it is not one: a stray continuation byte, an overlong form, a
 * surrogate, a code point above U+10FFFF, or a sequence cut by len. Stores
 * the code point in *cp when it is not NULL. */
size_t dk_utf8_decode(const char *s, size_t len, uint32_t *cp);

/* 1 when s[0..len) is well-formed UTF-8 with no NUL byte, else 0. */
int dk_utf8_valid(const char *s, size_t len);

/* The code points that must never reach a terminal: C0 controls, DEL, C1
 * controls, and the bidirectional overrides and isolates that reorder a
 * line (U+202A-U+202E, U+2066-U+2069). */
int dk_utf8_is_control(uint32_t cp);

/* Checks a text that enters docket. Returns 0, or DK_ETEXT when s is not
 * well-formed UTF-8 or has a control character. Multi-line texts (notes,
 * agreements) may hold tabs and line breaks (CR, LF); one-line texts
 * (DK_TEXT_LINE: names, numbers, categories) may not. NULL is valid. */
#define DK_TEXT_LINE 0
#define DK_TEXT_MULTILINE 1
int dk_text_check(const char *s, int multiline);

/* Flags for dk_text_sanitize. */
#define DK_SANITIZE_TERMINAL 0x1 /* controls become U+FFFD; tab and line
                                    breaks become one space each */
#define DK_SANITIZE_JSON 0x2     /* controls are kept (the JSON writer
                                    escapes them) */

/* Writes a sanitised copy of in[0..in_len) to out (always NUL-terminated
 * when cap > 0): every byte that is not part of well-formed UTF-8 and every
 * NUL becomes U+FFFD; with DK_SANITIZE_TERMINAL every control character
 * becomes U+FFFD too, except tab and line breaks, which become a space.
 * Output is cut on a character boundary so that it fits in cap bytes and
 * holds at most chars_max characters (0: no limit); a cut is marked with
 * "…" when DK_SANITIZE_TERMINAL is set and chars_max is given. Returns the
 * bytes written, not counting the NUL. *repaired (may be NULL) is set to 1
 * when a byte was replaced, else left alone. */
size_t dk_text_sanitize(char *out, size_t cap, const char *in, size_t in_len, size_t chars_max,
                        int flags, int *repaired);

/* Bytes of the longest prefix of s[0..len) that ends on a character
 * boundary and is at most bytes_max long. */
size_t dk_utf8_cut(const char *s, size_t len, size_t bytes_max);

/* Display columns, as a terminal draws them: CJK ideographs, kana, hangul
 * and fullwidth forms take 2, combining marks and zero-width characters 0,
 * everything else 1. The table is built in (East Asian Width W and F,
 * coarsened), so the result does not depend on the process locale. Bytes
 * that are not well-formed UTF-8 count one column each. */
int dk_utf8_cp_width(uint32_t cp);

/* Display columns of the NUL-terminated string s. */
size_t dk_utf8_width(const char *s);

/* Bytes of the longest prefix of the NUL-terminated s that fits in
 * max_cols columns without splitting a character; *cols (may be NULL) gets
 * the columns it takes. */
size_t dk_utf8_fit(const char *s, size_t max_cols, size_t *cols);

#endif
