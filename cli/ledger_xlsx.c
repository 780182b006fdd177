/*
 * XLSX ledgers: reading a sheet with libzip (the container) and expat (the
 * XML parts), writing one with libxlsxwriter.
 *
 * An .xlsx is a zip of XML parts: xl/workbook.xml lists the sheets by name,
 * xl/_rels/workbook.xml.rels maps each to its part, xl/sharedStrings.xml
 * holds the text most cells point at, xl/styles.xml says which number
 * formats are dates. Excel, WPS and LibreOffice all write these; they differ
 * in what they leave out (cell references, empty cells, row numbers, the
 * shared strings), and every one of those is optional here.
 *
 * Nothing from the file is trusted: parts are streamed through expat in
 * chunks and stop at DK_XLSX_PART_BYTES_MAX inflated bytes whatever the zip
 * directory says; rows, columns, shared strings and cell lengths have their
 * limits in common/limits.h; a document type declaration (where entity
 * expansion attacks live) is refused.
 */
#include <expat.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xlsxwriter.h>
#include <zip.h>

#include "cli/cli.h"
#include "cli/ledger.h"
#include "common/error.h"
#include "common/limits.h"

#define NS_MAIN "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
#define NS_REL "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
#define CHUNK_BYTES 65536

static int xfail(struct ledger_error *err, size_t row, int rc, const char *msg) {
  err->line = row;
  snprintf(err->msg, sizeof(err->msg), "%s", gettext(msg)); /* msg is marked N_() */
  return rc;
}

/* The local part of an expat name "uri|local" (or the name itself). */
static const char *local(const char *name) {
  const char *bar = strrchr(name, '|');
  return bar ? bar + 1 : name;
}

static const char *attr(const char **atts, const char *name) {
  for (size_t i = 0; atts[i]; i += 2)
    if (strcmp(local(atts[i]), name) == 0)
      return atts[i + 1];
  return NULL;
}

/* A growing text buffer bounded by DK_LEDGER_CELL_BYTES_MAX. */
struct text {
  char *s;
  size_t len, cap;
  int too_long;
};

static int text_add(struct text *t, const char *s, int len) {
  if (t->len + (size_t)len > DK_LEDGER_CELL_BYTES_MAX) {
    t->too_long = 1;
    return 0;
  }
  if (t->len + (size_t)len + 1 > t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 256;
    while (cap < t->len + (size_t)len + 1)
      cap *= 2;
    char *n = realloc(t->s, cap);
    if (n == NULL)
      return DK_ENOMEM;
    t->s = n;
    t->cap = cap;
  }
  memcpy(t->s + t->len, s, (size_t)len);
  t->len += (size_t)len;
  t->s[t->len] = 0;
  return 0;
}

static void text_reset(struct text *t) {
  t->len = 0;
  t->too_long = 0;
  if (t->s)
    t->s[0] = 0;
}

/* ---- streaming one part through expat ---------------------------------------- */

struct xml_job {
  XML_Parser p;
  int rc; /* set by handlers to stop */
  struct ledger_error *err;
};

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal) {
  struct xml_job *j = ud;
  j->rc = xfail(j->err, 0, DK_EFORMAT, N_("the workbook holds a document type declaration"));
  XML_StopParser(j->p, XML_FALSE);
}

/* Parses part `name` of z with the handlers already set on j->p. A
 * missing part gives DK_ENOTFOUND. */
static int parse_part(zip_t *z, const char *name, struct xml_job *j) {
  zip_file_t *zf = zip_fopen(z, name, 0);
  if (zf == NULL)
    return DK_ENOTFOUND;
  XML_SetStartDoctypeDeclHandler(j->p, on_doctype);
  char *buf = malloc(CHUNK_BYTES);
  size_t total = 0;
  int rc = 0;
  if (buf == NULL) {
    rc = xfail(j->err, 0, DK_ENOMEM, N_("out of memory"));
    goto out;
  }
  for (;;) {
    zip_int64_t got = zip_fread(zf, buf, CHUNK_BYTES);
    if (got < 0) {
      rc = xfail(j->err, 0, DK_EFORMAT, N_("the workbook is damaged (a part does not inflate)"));
      break;
    }
    total += (size_t)got;
    if (total > DK_XLSX_PART_BYTES_MAX) {
      rc = xfail(j->err, 0, DK_ELIMIT, N_("a part of the workbook is too large once unpacked"));
      break;
    }
    if (XML_Parse(j->p, buf, (int)got, got == 0) == XML_STATUS_ERROR) {
      if (j->rc != 0) {
        rc = j->rc;
      } else {
        char msg[160];
        snprintf(msg, sizeof(msg), _("%s is not well-formed XML (%s)"), name,
                 XML_ErrorString(XML_GetErrorCode(j->p)));
        rc = xfail(j->err, 0, DK_EFORMAT, msg);
      }
      break;
    }
    if (j->rc != 0) {
      rc = j->rc;
      break;
    }
    if (got == 0)
      break;
  }
out:
  free(buf);
  zip_fclose(zf);
  return rc;
}

/* ---- workbook: the sheets and the 1904 date system ---------------------------- */

struct sheet_ref {
  char name[DK_NAME_BYTES_MAX];
  char rid[64];
};

#define SHEETS_MAX 256

struct wb_ctx {
  struct xml_job j;
  struct sheet_ref sheets[SHEETS_MAX];
  size_t count;
  int date1904;
  /* rels */
  const char *want_rid;
  char target[512];
};

static void XMLCALL wb_start(void *ud, const XML_Char *name, const XML_Char **atts) {
  struct wb_ctx *c = ud;
  const char *l = local(name);
  if (strcmp(l, "sheet") == 0 && c->count < SHEETS_MAX) {
    const char *n = attr(atts, "name"), *id = attr(atts, "id");
    if (n && id && strlen(n) < DK_NAME_BYTES_MAX && strlen(id) < 64) {
      strcpy(c->sheets[c->count].name, n);
      strcpy(c->sheets[c->count].rid, id);
      c->count++;
    }
  } else if (strcmp(l, "workbookPr") == 0) {
    const char *d = attr(atts, "date1904");
    c->date1904 = d && (strcmp(d, "1") == 0 || strcmp(d, "true") == 0);
  }
}

static void XMLCALL rels_start(void *ud, const XML_Char *name, const XML_Char **atts) {
  struct wb_ctx *c = ud;
  if (strcmp(local(name), "Relationship") != 0)
    return;
  const char *id = attr(atts, "Id"), *t = attr(atts, "Target");
  if (id && t && strcmp(id, c->want_rid) == 0 && strlen(t) < sizeof(c->target) - 4)
    snprintf(c->target, sizeof(c->target), "%s", t);
}

/* ---- shared strings ----------------------------------------------------------- */

struct sst_ctx {
  struct xml_job j;
  char **s;
  size_t count, cap;
  int in_si, in_t, in_rph;
  struct text cur;
};

static void XMLCALL sst_start(void *ud, const XML_Char *name, const XML_Char **atts) {
  struct sst_ctx *c = ud;
  const char *l = local(name);
  if (strcmp(l, "si") == 0) {
    c->in_si = 1;
    text_reset(&c->cur);
  } else if (strcmp(l, "rPh") == 0) {
    c->in_rph = 1; /* phonetic guide text is not the cell's text */
  } else if (strcmp(l, "t") == 0 && c->in_si && !c->in_rph) {
    c->in_t = 1;
  }
}

static void XMLCALL sst_end(void *ud, const XML_Char *name) {
  struct sst_ctx *c = ud;
  const char *l = local(name);
  if (strcmp(l, "t") == 0) {
    c->in_t = 0;
  } else if (strcmp(l, "rPh") == 0) {
    c->in_rph = 0;
  } else if (strcmp(l, "si") == 0 && c->in_si) {
    c->in_si = 0;
    if (c->cur.too_long) {
      c->j.rc = xfail(c->j.err, 0, DK_ELIMIT, N_("a text in the workbook is longer than a cell may be"));
      XML_StopParser(c->j.p, XML_FALSE);
      return;
    }
    if (c->count == DK_XLSX_SHARED_STRINGS_MAX) {
      c->j.rc = xfail(c->j.err, 0, DK_ELIMIT, N_("the workbook holds too many texts"));
      XML_StopParser(c->j.p, XML_FALSE);
      return;
    }
    if (c->count == c->cap) {
      size_t cap = c->cap ? c->cap * 2 : 1024;
      char **n = realloc(c->s, cap * sizeof(char *));
      if (n == NULL) {
        c->j.rc = DK_ENOMEM;
        XML_StopParser(c->j.p, XML_FALSE);
        return;
      }
      c->s = n;
      c->cap = cap;
    }
    c->s[c->count] = strdup(c->cur.s ? c->cur.s : "");
    if (c->s[c->count] == NULL) {
      c->j.rc = DK_ENOMEM;
      XML_StopParser(c->j.p, XML_FALSE);
      return;
    }
    c->count++;
  }
}

static void XMLCALL sst_text(void *ud, const XML_Char *s, int len) {
  struct sst_ctx *c = ud;
  if (c->in_t && text_add(&c->cur, s, len) != 0) {
    c->j.rc = DK_ENOMEM;
    XML_StopParser(c->j.p, XML_FALSE);
  }
}

/* ---- styles: which cell formats are dates --------------------------------------- */

#define STYLES_MAX 65536
#define NUMFMTS_MAX 1024

struct styles_ctx {
  struct xml_job j;
  int in_xfs;
  unsigned char *is_date; /* per cellXfs index */
  size_t xfs;
  struct {
    unsigned id;
    int date;
  } fmts[NUMFMTS_MAX];
  size_t fmts_count;
};

/* A format code shows a date when it has y, m, d (or h, s) outside quotes
 * and brackets ([Red], [h] count too). */
static int code_is_date(const char *code) {
  int quoted = 0, bracket = 0;
  for (const char *p = code; *p; p++) {
    if (*p == '"')
      quoted = !quoted;
    else if (quoted)
      continue;
    else if (*p == '\\' && p[1])
      p++;
    else if (*p == '[')
      bracket = 1;
    else if (*p == ']')
      bracket = 0;
    else if (!bracket && strchr("ymdYMD", *p))
      return 1;
  }
  return 0;
}

static int builtin_date(unsigned id) {
  /* ECMA-376 built-in date formats, and the ones CJK locales add. */
  return (id >= 14 && id <= 17) || id == 22 || (id >= 27 && id <= 36) || (id >= 50 && id <= 58);
}

static void XMLCALL styles_start(void *ud, const XML_Char *name, const XML_Char **atts) {
  struct styles_ctx *c = ud;
  const char *l = local(name);
  if (strcmp(l, "numFmt") == 0 && c->fmts_count < NUMFMTS_MAX) {
    const char *id = attr(atts, "numFmtId"), *code = attr(atts, "formatCode");
    if (id && code) {
      c->fmts[c->fmts_count].id = (unsigned)strtoul(id, NULL, 10);
      c->fmts[c->fmts_count].date = code_is_date(code);
      c->fmts_count++;
    }
  } else if (strcmp(l, "cellXfs") == 0) {
    c->in_xfs = 1;
  } else if (strcmp(l, "xf") == 0 && c->in_xfs && c->xfs < STYLES_MAX) {
    const char *id = attr(atts, "numFmtId");
    unsigned fid = id ? (unsigned)strtoul(id, NULL, 10) : 0;
    int date = builtin_date(fid);
    for (size_t i = 0; i < c->fmts_count; i++)
      if (c->fmts[i].id == fid)
        date = c->fmts[i].date;
    c->is_date[c->xfs++] = (unsigned char)date;
  }
}

static void XMLCALL styles_end(void *ud, const XML_Char *name) {
  struct styles_ctx *c = ud;
  if (strcmp(local(name), "cellXfs") == 0)
    c->in_xfs = 0;
}

/* ---- the sheet ------------------------------------------------------------------ */

struct sheet_ctx {
  struct xml_job j;
  struct sst_ctx *sst;
  struct styles_ctx *styles;
  int date1904;
  int (*on_cells)(void *ctx, size_t row, char **cells, size_t count);
  void *ctx;
  char *cells[DK_XLSX_COLUMNS_MAX];
  size_t width;      /* cells set in this row */
  size_t row, rows;  /* this row's number, rows seen */
  size_t col;        /* this cell's column (0-based) */
  int in_row, in_cell, in_v, in_is_t, in_rph;
  char type[16];
  size_t style;
  struct text v;
};

static void row_clear(struct sheet_ctx *c) {
  for (size_t i = 0; i < DK_XLSX_COLUMNS_MAX; i++) {
    free(c->cells[i]);
    c->cells[i] = NULL;
  }
  c->width = 0;
}

static void stop(struct sheet_ctx *c, int rc, const char *msg) {
  if (c->j.rc == 0)
    c->j.rc = msg ? xfail(c->j.err, c->row, rc, msg) : rc;
  XML_StopParser(c->j.p, XML_FALSE);
}

/* Column of a reference "AB12": 0-based, or -1. */
static long ref_col(const char *r) {
  long col = 0;
  int letters = 0;
  for (; *r >= 'A' && *r <= 'Z'; r++) {
    col = col * 26 + (*r - 'A' + 1);
    if (++letters > 3)
      return -1;
  }
  if (letters == 0)
    return -1;
  return col - 1;
}

/* Excel serial day to "YYYY-MM-DD" (1900 system, day 60 being the
 * non-existent 1900-02-29; or the 1904 system). */
static int serial_date(double v, int date1904, char *out, size_t cap) {
  if (!(v >= 1 && v < 2958466)) /* up to 9999-12-31 */
    return DK_EINVAL;
  long days = (long)floor(v);
  /* days since 1970-01-01 */
  long unix_days = date1904 ? days - 24107 : days - 25569;
  if (!date1904 && days < 60)
    unix_days += 1; /* before Excel's phantom leap day */
  time_t t = (time_t)unix_days * 86400;
  struct tm tm;
  if (gmtime_r(&t, &tm) == NULL)
    return DK_EINVAL;
  snprintf(out, cap, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  return 0;
}

static void cell_done(struct sheet_ctx *c) {
  if (c->v.too_long) {
    stop(c, DK_ELIMIT, N_("a cell is longer than a ledger field may be"));
    return;
  }
  const char *v = c->v.s ? c->v.s : "";
  char tmp[64];
  const char *val = v;
  if (strcmp(c->type, "s") == 0) {
    char *end;
    unsigned long idx = strtoul(v, &end, 10);
    if (*v == 0 || *end != 0 || c->sst == NULL || idx >= c->sst->count) {
      stop(c, DK_EFORMAT, N_("a cell points at a shared string that is not there"));
      return;
    }
    val = c->sst->s[idx];
  } else if (c->type[0] == 0 || strcmp(c->type, "n") == 0) {
    if (*v) {
      char *end;
      double d = strtod(v, &end);
      if (*end != 0) {
        stop(c, DK_EFORMAT, N_("a number cell does not hold a number"));
        return;
      }
      int is_date = c->styles && c->style < c->styles->xfs && c->styles->is_date[c->style];
      if (is_date && serial_date(d, c->date1904, tmp, sizeof(tmp)) == 0)
        val = tmp;
      else if (d == floor(d) && fabs(d) < 1e15) {
        snprintf(tmp, sizeof(tmp), "%.0f", d);
        val = tmp;
      }
    }
  } else if (strcmp(c->type, "b") == 0) {
    val = strcmp(v, "1") == 0 ? "TRUE" : "FALSE";
  }
  /* "inlineStr", "str" (a formula's text) and "e" (an error such as #N/A)
   * are their text. */
  if (val[0] == 0)
    return;
  if (c->col >= DK_XLSX_COLUMNS_MAX) {
    stop(c, DK_ELIMIT, N_("a row has a value past the 64th column"));
    return;
  }
  free(c->cells[c->col]);
  c->cells[c->col] = strdup(val);
  if (c->cells[c->col] == NULL) {
    stop(c, DK_ENOMEM, NULL);
    return;
  }
  if (c->col + 1 > c->width)
    c->width = c->col + 1;
}

static void XMLCALL sheet_start(void *ud, const XML_Char *name, const XML_Char **atts) {
  struct sheet_ctx *c = ud;
  const char *l = local(name);
  if (strcmp(l, "row") == 0) {
    const char *r = attr(atts, "r");
    size_t n = c->row + 1;
    if (r) {
      char *end;
      unsigned long v = strtoul(r, &end, 10);
      if (*end != 0 || v == 0 || v <= c->row || v > DK_XLSX_ROWS_MAX) {
        stop(c, DK_EFORMAT, N_("rows are out of order or numbered past the limit"));
        return;
      }
      n = v;
    }
    if (++c->rows > DK_XLSX_ROWS_MAX) {
      stop(c, DK_ELIMIT, N_("the sheet has too many rows"));
      return;
    }
    c->row = n;
    c->in_row = 1;
    c->col = (size_t)-1;
    row_clear(c);
  } else if (strcmp(l, "c") == 0 && c->in_row) {
    const char *r = attr(atts, "r"), *t = attr(atts, "t"), *s = attr(atts, "s");
    long col = r ? ref_col(r) : (long)(c->col + 1);
    if (col < 0) {
      stop(c, DK_EFORMAT, N_("a cell reference is not valid"));
      return;
    }
    c->col = (size_t)col;
    snprintf(c->type, sizeof(c->type), "%s", t ? t : "");
    c->style = s ? (size_t)strtoul(s, NULL, 10) : 0;
    c->in_cell = 1;
    text_reset(&c->v);
  } else if (c->in_cell && strcmp(l, "v") == 0) {
    c->in_v = 1;
  } else if (c->in_cell && strcmp(l, "rPh") == 0) {
    c->in_rph = 1;
  } else if (c->in_cell && strcmp(l, "t") == 0 && !c->in_rph) {
    c->in_is_t = 1; /* <is><t>..</t></is> or <is><r><t>..</t></r></is> */
  }
}

static void XMLCALL sheet_end(void *ud, const XML_Char *name) {
  struct sheet_ctx *c = ud;
  const char *l = local(name);
  if (strcmp(l, "v") == 0) {
    c->in_v = 0;
  } else if (strcmp(l, "t") == 0) {
    c->in_is_t = 0;
  } else if (strcmp(l, "rPh") == 0) {
    c->in_rph = 0;
  } else if (strcmp(l, "c") == 0 && c->in_cell) {
    c->in_cell = 0;
    cell_done(c);
  } else if (strcmp(l, "row") == 0 && c->in_row) {
    c->in_row = 0;
    char *empty = "";
    char *cells[DK_XLSX_COLUMNS_MAX];
    for (size_t i = 0; i < c->width; i++)
      cells[i] = c->cells[i] ? c->cells[i] : empty;
    int rc = c->width ? c->on_cells(c->ctx, c->row, cells, c->width) : 0;
    row_clear(c);
    if (rc != 0)
      stop(c, rc, NULL);
  }
}

static void XMLCALL sheet_text(void *ud, const XML_Char *s, int len) {
  struct sheet_ctx *c = ud;
  if ((c->in_v || c->in_is_t) && text_add(&c->v, s, len) != 0)
    stop(c, DK_ENOMEM, NULL);
}

/* ---- reading -------------------------------------------------------------------- */

static XML_Parser new_parser(struct xml_job *j, void *ud, struct ledger_error *err) {
  j->p = XML_ParserCreateNS(NULL, '|');
  j->rc = 0;
  j->err = err;
  if (j->p)
    XML_SetUserData(j->p, ud);
  return j->p;
}

int ledger_xlsx_read(struct ledger *l, const char *sheet,
                     int (*on_cells)(void *ctx, size_t row, char **cells, size_t count),
                     void *ctx, struct ledger_error *err) {
  zip_error_t ze;
  zip_error_init(&ze);
  zip_source_t *src = zip_source_buffer_create(l->raw, l->raw_len, 0, &ze);
  zip_t *z = src ? zip_open_from_source(src, ZIP_RDONLY, &ze) : NULL;
  zip_error_fini(&ze);
  struct wb_ctx *wb = calloc(1, sizeof(*wb));
  struct sst_ctx sst;
  struct styles_ctx *styles = calloc(1, sizeof(*styles));
  struct sheet_ctx *sh = calloc(1, sizeof(*sh));
  memset(&sst, 0, sizeof(sst));
  int rc = 0;
  if (z == NULL) {
    if (src)
      zip_source_free(src);
    rc = xfail(err, 0, DK_EFORMAT, N_("not a readable .xlsx workbook (the zip is damaged)"));
    goto out;
  }
  if (!wb || !styles || !sh || (styles->is_date = calloc(STYLES_MAX, 1)) == NULL) {
    rc = xfail(err, 0, DK_ENOMEM, N_("out of memory"));
    goto out;
  }
  /* The sheets. */
  if (!new_parser(&wb->j, wb, err)) {
    rc = DK_ENOMEM;
    goto out;
  }
  XML_SetStartElementHandler(wb->j.p, wb_start);
  rc = parse_part(z, "xl/workbook.xml", &wb->j);
  XML_ParserFree(wb->j.p);
  if (rc == DK_ENOTFOUND)
    rc = xfail(err, 0, DK_EFORMAT, N_("not an .xlsx workbook (no xl/workbook.xml)"));
  if (rc != 0)
    goto out;
  if (wb->count == 0) {
    rc = xfail(err, 0, DK_EFORMAT, N_("the workbook has no sheet"));
    goto out;
  }
  size_t pick = 0;
  if (sheet != NULL) {
    pick = wb->count;
    for (size_t i = 0; i < wb->count; i++)
      if (strcmp(wb->sheets[i].name, sheet) == 0)
        pick = i;
    if (pick == wb->count) {
      char msg[256];
      snprintf(msg, sizeof(msg), _("the workbook has no sheet named '%.64s' (the first is '%.64s')"),
               sheet, wb->sheets[0].name);
      rc = xfail(err, 0, DK_ENOTFOUND, msg);
      goto out;
    }
  }
  snprintf(l->sheet, sizeof(l->sheet), "%s", wb->sheets[pick].name);
  wb->want_rid = wb->sheets[pick].rid;
  if (!new_parser(&wb->j, wb, err)) {
    rc = DK_ENOMEM;
    goto out;
  }
  XML_SetStartElementHandler(wb->j.p, rels_start);
  rc = parse_part(z, "xl/_rels/workbook.xml.rels", &wb->j);
  XML_ParserFree(wb->j.p);
  if (rc == DK_ENOTFOUND || (rc == 0 && wb->target[0] == 0))
    rc = xfail(err, 0, DK_EFORMAT, N_("the workbook does not say where its sheet is"));
  if (rc != 0)
    goto out;
  char part[600];
  if (wb->target[0] == '/')
    snprintf(part, sizeof(part), "%s", wb->target + 1);
  else if (strncmp(wb->target, "xl/", 3) == 0)
    snprintf(part, sizeof(part), "%s", wb->target);
  else
    snprintf(part, sizeof(part), "xl/%s", wb->target);

  /* Shared strings and styles are optional. */
  if (!new_parser(&sst.j, &sst, err)) {
    rc = DK_ENOMEM;
    goto out;
  }
  XML_SetElementHandler(sst.j.p, sst_start, sst_end);
  XML_SetCharacterDataHandler(sst.j.p, sst_text);
  rc = parse_part(z, "xl/sharedStrings.xml", &sst.j);
  XML_ParserFree(sst.j.p);
  if (rc == DK_ENOTFOUND)
    rc = 0;
  if (rc != 0)
    goto out;
  if (!new_parser(&styles->j, styles, err)) {
    rc = DK_ENOMEM;
    goto out;
  }
  XML_SetElementHandler(styles->j.p, styles_start, styles_end);
  rc = parse_part(z, "xl/styles.xml", &styles->j);
  XML_ParserFree(styles->j.p);
  if (rc == DK_ENOTFOUND)
    rc = 0;
  if (rc != 0)
    goto out;

  sh->sst = &sst;
  sh->styles = styles;
  sh->date1904 = wb->date1904;
  sh->on_cells = on_cells;
  sh->ctx = ctx;
  if (!new_parser(&sh->j, sh, err)) {
    rc = DK_ENOMEM;
    goto out;
  }
  XML_SetElementHandler(sh->j.p, sheet_start, sheet_end);
  XML_SetCharacterDataHandler(sh->j.p, sheet_text);
  rc = parse_part(z, part, &sh->j);
  XML_ParserFree(sh->j.p);
  if (rc == DK_ENOTFOUND)
    rc = xfail(err, 0, DK_EFORMAT, N_("the workbook's sheet part is missing"));
  row_clear(sh);
  free(sh->v.s);
out:
  if (z)
    zip_discard(z);
  for (size_t i = 0; i < sst.count; i++)
    free(sst.s[i]);
  free(sst.s);
  free(sst.cur.s);
  if (styles)
    free(styles->is_date);
  free(styles);
  free(sh);
  free(wb);
  return rc;
}

/* ---- writing -------------------------------------------------------------------- */

static int is_date_col(int c) {
  return c == C_OPENED || c == C_TRIAGED || c == C_OUTCOME_DATE || c == C_CLOSED ||
         c == C_REVISIT;
}

static int is_number_col(int c) {
  return c == C_SESSIONS || c == C_MINUTES || c == C_ITEMS || c == C_SATISFACTION;
}

int ledger_xlsx_write(const char *path, const struct ledger_out *o) {
  enum ledger_lang lang = o->lang;
  lxw_workbook *wb = workbook_new(path);
  if (wb == NULL)
    return DK_EIO;
  lxw_worksheet *ws = workbook_add_worksheet(wb, lang == LEDGER_ZH ? "台账" : "ledger");
  lxw_format *head = workbook_add_format(wb);
  lxw_format *date = workbook_add_format(wb);
  int rc = 0;
  if (ws == NULL || head == NULL || date == NULL) {
    rc = DK_ENOMEM;
    goto out;
  }
  format_set_bold(head);
  format_set_num_format(date, "yyyy-mm-dd");
  for (int c = 0; c < C_COUNT; c++) {
    worksheet_write_string(ws, 0, (lxw_col_t)c, ledger_col_name((enum ledger_col)c, lang), head);
    worksheet_set_column(ws, (lxw_col_t)c, (lxw_col_t)c,
                         c == C_SUMMARY || c == C_AGREEMENT || c == C_REASON ? 40 : 14, NULL);
  }
  worksheet_freeze_panes(ws, 1, 0);
  for (size_t i = 0; i < o->count && rc == 0; i++) {
    char *const *fields = o->rows[i].fields;
    lxw_row_t row = (lxw_row_t)(i + 1);
    for (int c = 0; c < C_COUNT && rc == 0; c++) {
      const char *v = fields[c];
      if (v[0] == 0)
        continue;
      lxw_error e;
      int y, m, d;
      if (is_date_col(c) && sscanf(v, "%d-%d-%d", &y, &m, &d) == 3) {
        lxw_datetime dt = {y, m, d, 0, 0, 0};
        e = worksheet_write_datetime(ws, row, (lxw_col_t)c, &dt, date);
      } else if (is_number_col(c)) {
        e = worksheet_write_number(ws, row, (lxw_col_t)c, strtod(v, NULL), NULL);
      } else {
        e = worksheet_write_string(ws, row, (lxw_col_t)c, v, NULL);
      }
      if (e != LXW_NO_ERROR)
        rc = DK_ELIMIT;
    }
  }
out:
  if (workbook_close(wb) != LXW_NO_ERROR && rc == 0)
    rc = DK_EIO;
  return rc;
}
