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
