/* UTF-8 checks and display sanitising; see utf8.h. */
#include "common/utf8.h"

#include <string.h>

#include "common/error.h"

size_t dk_utf8_decode(const char *str, size_t len, uint32_t *cp) {
  const unsigned char *s = (const unsigned char *)str;
  if (len == 0)
    return 0;
  uint32_t c = s[0];
  size_t n;
  uint32_t min;
  if (c < 0x80) {
    if (cp)
      *cp = c;
    return 1;
  } else if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
    c &= 0x1f;
    min = 0x80;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    c &= 0x0f;
    min = 0x800;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    c &= 0x07;
    min = 0x10000;
  } else {
    return 0; /* continuation byte, 0xc0/0xc1 (overlong) or 0xf5.. */
  }
  if (len < n)
    return 0;
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    c = (c << 6) | (s[i] & 0x3f);
  }
  if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
    return 0;
  if (cp)
    *cp = c;
  return n;
}

int dk_utf8_valid(const char *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    if (s[i] == 0)
      return 0;
    if ((unsigned char)s[i] < 0x80) {
      i++;
      continue;
    }
    size_t n = dk_utf8_decode(s + i, len - i, NULL);
    if (n == 0)
      return 0;
    i += n;
  }
  return 1;
}

int dk_utf8_is_control(uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

int dk_text_check(const char *s, int multiline) {
  if (s == NULL)
    return 0;
  size_t len = strlen(s);
  size_t i = 0;
  while (i < len) {
    uint32_t cp;
    size_t n = dk_utf8_decode(s + i, len - i, &cp);
    if (n == 0)
      return DK_ETEXT;
    if (dk_utf8_is_control(cp) &&
        !(multiline && (cp == '\t' || cp == '\n' || cp == '\r')))
      return DK_ETEXT;
    i += n;
  }
  return 0;
}

size_t dk_utf8_cut(const char *s, size_t len, size_t bytes_max) {
  size_t i = 0;
  while (i < len) {
    size_t n = dk_utf8_decode(s + i, len - i, NULL);
    if (n == 0)
      n = 1; /* a bad byte is one character for cutting */
    if (i + n > bytes_max)
      break;
    i += n;
  }
  return i;
}

static const char REPLACEMENT[] = "\xef\xbf\xbd"; /* U+FFFD */
static const char ELLIPSIS[] = "\xe2\x80\xa6";    /* U+2026 */

/* Writes at most room bytes and chars_max characters (0: any); returns the
 * bytes written and stores in *used the input bytes consumed. */
static size_t sanitize_into(char *out, size_t room, const char *in, size_t in_len,
                            size_t chars_max, int terminal, int *repaired, size_t *used) {
  size_t o = 0, chars = 0, i = 0;
  while (i < in_len) {
    uint32_t cp = 0;
    size_t n = in[i] == 0 ? 0 : dk_utf8_decode(in + i, in_len - i, &cp);
    const char *piece = in + i;
    size_t piece_len = n;
    int bad = 0;
    if (n == 0) {
      piece = REPLACEMENT;
      piece_len = 3;
      n = 1;
      bad = 1;
    } else if (terminal && dk_utf8_is_control(cp)) {
      piece = (cp == '\t' || cp == '\n' || cp == '\r') ? " " : REPLACEMENT;
      piece_len = strlen(piece);
    }
    if ((chars_max > 0 && chars == chars_max) || o + piece_len > room)
      break;
    if (bad && repaired)
      *repaired = 1;
    memcpy(out + o, piece, piece_len);
    o += piece_len;
    chars++;
    i += n;
  }
  *used = i;
  return o;
}

size_t dk_text_sanitize(char *out, size_t cap, const char *in, size_t in_len, size_t chars_max,
                        int flags, int *repaired) {
  if (cap == 0)
    return 0;
  int terminal = (flags & DK_SANITIZE_TERMINAL) != 0;
  size_t used;
  size_t o = sanitize_into(out, cap - 1, in, in_len, chars_max, terminal, repaired, &used);
  if (used < in_len && terminal && chars_max > 0 && cap > 4) {
    /* Cut: one character fewer, and the mark. */
    o = sanitize_into(out, cap - 4, in, in_len, chars_max - 1, terminal, repaired, &used);
    memcpy(out + o, ELLIPSIS, 3);
    o += 3;
  }
  out[o] = 0;
  return o;
}

struct width_range {
  uint32_t first, last;
};

static const struct width_range WIDE[] = {
    {0x1100, 0x115F},   {0x231A, 0x231B},   {0x2329, 0x232A},   {0x23E9, 0x23EC},
    {0x25FD, 0x25FE},   {0x2614, 0x2615},   {0x2E80, 0x303E},   {0x3041, 0x33FF},
    {0x3400, 0x4DBF},   {0x4E00, 0x9FFF},   {0xA000, 0xA4CF},   {0xA960, 0xA97F},
    {0xAC00, 0xD7A3},   {0xF900, 0xFAFF},   {0xFE10, 0xFE19},   {0xFE30, 0xFE6F},
    {0xFF00, 0xFF60},   {0xFFE0, 0xFFE6},   {0x1F300, 0x1F64F}, {0x1F900, 0x1F9FF},
    {0x20000, 0x2FFFD}, {0x30000, 0x3FFFD},
};

static const struct width_range ZERO[] = {
    {0x0300, 0x036F}, {0x0483, 0x0489}, {0x0591, 0x05BD}, {0x0610, 0x061A},
    {0x064B, 0x065F}, {0x200B, 0x200F}, {0x202A, 0x202E}, {0x2060, 0x2064},
    {0x20D0, 0x20FF}, {0xFE00, 0xFE0F}, {0xFE20, 0xFE2F}, {0xFEFF, 0xFEFF},
};

static int in_ranges(const struct width_range *r, size_t n, uint32_t cp) {
  for (size_t i = 0; i < n; i++)
    if (cp >= r[i].first && cp <= r[i].last)
      return 1;
  return 0;
}

int dk_utf8_cp_width(uint32_t cp) {
  if (cp < 0x300)
    return 1;
  if (in_ranges(ZERO, sizeof(ZERO) / sizeof(ZERO[0]), cp))
    return 0;
  if (in_ranges(WIDE, sizeof(WIDE) / sizeof(WIDE[0]), cp))
    return 2;
  return 1;
}

size_t dk_utf8_fit(const char *s, size_t max_cols, size_t *cols) {
  size_t n = strlen(s), at = 0, used = 0;
  while (at < n) {
    uint32_t cp = 0;
    size_t len = dk_utf8_decode(s + at, n - at, &cp);
    int w = len ? dk_utf8_cp_width(cp) : 1;
    if (len == 0)
      len = 1;
    if (used + (size_t)w > max_cols)
      break;
    used += (size_t)w;
    at += len;
  }
  if (cols)
    *cols = used;
  return at;
}

size_t dk_utf8_width(const char *s) {
  size_t cols;
  dk_utf8_fit(s, (size_t)-1, &cols);
  return cols;
}
