#include "common/utf8.h"

#include <string.h>

size_t dk_utf8_decode(const char *str, size_t n, uint32_t *cp) {
  const unsigned char *s = (const unsigned char *)str;
  if (n == 0) {
    *cp = 0;
    return 0;
  }
  *cp = s[0];
  if (s[0] < 0x80)
    return 1;
  size_t len;
  uint32_t v, min;
  if ((s[0] & 0xE0) == 0xC0) {
    len = 2, v = s[0] & 0x1F, min = 0x80;
  } else if ((s[0] & 0xF0) == 0xE0) {
    len = 3, v = s[0] & 0x0F, min = 0x800;
  } else if ((s[0] & 0xF8) == 0xF0) {
    len = 4, v = s[0] & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (n < len)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80)
      return 0;
    v = (v << 6) | (s[i] & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
    return 0; /* overlong, out of range, or a surrogate */
  *cp = v;
  return len;
}

struct range {
  uint32_t first, last;
};

/* Wide and fullwidth ranges (East Asian Width W/F), coarsened: what a
 * terminal draws two columns wide for the scripts docket's users write. */
static const struct range WIDE[] = {
    {0x1100, 0x115F},   {0x231A, 0x231B},   {0x2329, 0x232A},   {0x23E9, 0x23EC},
    {0x25FD, 0x25FE},   {0x2614, 0x2615},   {0x2E80, 0x303E},   {0x3041, 0x33FF},
    {0x3400, 0x4DBF},   {0x4E00, 0x9FFF},   {0xA000, 0xA4CF},   {0xA960, 0xA97F},
    {0xAC00, 0xD7A3},   {0xF900, 0xFAFF},   {0xFE10, 0xFE19},   {0xFE30, 0xFE6F},
    {0xFF00, 0xFF60},   {0xFFE0, 0xFFE6},   {0x1F300, 0x1F64F}, {0x1F900, 0x1F9FF},
    {0x20000, 0x2FFFD}, {0x30000, 0x3FFFD},
};

static const struct range ZERO[] = {
    {0x0300, 0x036F}, {0x0483, 0x0489}, {0x0591, 0x05BD}, {0x0610, 0x061A},
    {0x064B, 0x065F}, {0x200B, 0x200F}, {0x202A, 0x202E}, {0x2060, 0x2064},
    {0x20D0, 0x20FF}, {0xFE00, 0xFE0F}, {0xFE20, 0xFE2F}, {0xFEFF, 0xFEFF},
};

static int in(const struct range *r, size_t n, uint32_t cp) {
  for (size_t i = 0; i < n; i++)
    if (cp >= r[i].first && cp <= r[i].last)
      return 1;
  return 0;
}

int dk_utf8_cp_width(uint32_t cp) {
  if (cp < 0x300)
    return 1;
  if (in(ZERO, sizeof(ZERO) / sizeof(ZERO[0]), cp))
    return 0;
  if (in(WIDE, sizeof(WIDE) / sizeof(WIDE[0]), cp))
    return 2;
  return 1;
}

size_t dk_utf8_fit(const char *s, size_t max_cols, size_t *cols) {
  size_t n = strlen(s), at = 0, used = 0;
  while (at < n) {
    uint32_t cp;
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
