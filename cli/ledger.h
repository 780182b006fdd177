/*
 * Office ledgers (台账) as spreadsheets keep them: reading CSV (UTF-8 with or
 * without BOM, or GB18030/GBK) and XLSX into rows of the import's columns,
 * turning a row into the events of one case, and writing ledgers back (an
 * empty template, or an export). docs/ledger-import.md documents the
 * columns, their Chinese names and the values.
 *
 * Nothing here prints: errors are returned as a code with a message and the
 * line (CSV) or row (XLSX) they are about, for cli/cmd_import.c to show.
 * Everything a file declares is bounded (common/limits.h). Not thread-safe:
 * one reader per thread.
 */
#ifndef DK_CLI_LEDGER_H
#define DK_CLI_LEDGER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/limits.h"
#include "node/node.h"

enum ledger_col {
  C_NUMBER, C_KIND, C_CATEGORY, C_OPENED, C_SUMMARY, C_PARTIES, C_CLASS, C_TRIAGED, C_MEDIATOR,
  C_ADVISOR, C_SESSIONS, C_MINUTES, C_ESCALATED, C_OUTCOME, C_OUTCOME_DATE, C_AGREEMENT,
  C_REASON, C_REFER, C_ITEMS, C_CLOSED, C_REVISIT, C_SATISFACTION, C_NOTE, C_COUNT
};

enum ledger_lang { LEDGER_EN, LEDGER_ZH };

/* The language of a ledger's column names from an option's value ("zh_CN",
 * "zh", "en", "en_US", "C"); NULL: the interface language. Returns 0, or
 * DK_EINVAL for any other name. (cli/cmd_import.c) */
int ledger_lang_choose(const char *name, enum ledger_lang *lang);

/* The column's English name ("number") or its Chinese one ("编号"). */
const char *ledger_col_name(enum ledger_col c, enum ledger_lang lang);

/* One data row: every field a NUL-terminated UTF-8 string, "" when empty.
 * Borrowed: valid during the on_row call only. */
struct ledger_row {
  const char *f[C_COUNT];
};

struct ledger_error {
  size_t line; /* CSV line or XLSX row the error is about; 0 for the file */
  char msg[256];
};

/* Called for each data row that is not blank, with its first line (CSV) or
 * row number (XLSX). r is NULL when the row has more or fewer fields than
 * the header. A non-zero return stops the reading and is returned. */
typedef int (*ledger_row_fn)(void *ctx, size_t line, const struct ledger_row *r);

/* A ledger file in memory, decoded. */
struct ledger {
  int xlsx;             /* 1: an .xlsx workbook, else CSV */
  char *text;           /* CSV: the file as UTF-8, BOM removed (owned) */
  size_t text_len;
  const uint8_t *raw;   /* XLSX: the file bytes (owned through raw_owned) */
  size_t raw_len;
  uint8_t *raw_owned;
  const char *encoding; /* what the CSV was read as: "UTF-8", "UTF-8 with BOM", "GB18030" */
  char sheet[DK_NAME_BYTES_MAX]; /* XLSX: the sheet read */
};

/* Reads path (at most DK_LEDGER_FILE_BYTES_MAX bytes) into l. An .xlsx
 * (by its zip signature) is kept as bytes; anything else is CSV and decoded
 * to UTF-8: UTF-8 with or without BOM, else GB18030 (a superset of GBK and
 * GB2312). A file with a NUL byte, or in neither encoding, is refused with
 * the line of the first bad byte. Returns 0 or a DK_E* code with err set. */
int ledger_load_file(struct ledger *l, const char *path, struct ledger_error *err);
/* The same from bytes in memory (copied). */
int ledger_load_bytes(struct ledger *l, const uint8_t *data, size_t len, struct ledger_error *err);
void ledger_release(struct ledger *l);

/* Reads the rows: the header first (English or Chinese column names,
 * English ones in any letter case), then on_row for each data row. sheet
 * names an XLSX sheet (NULL: the first). Returns 0, on_row's code, or a
 * DK_E* code with err set. */
int ledger_read(struct ledger *l, const char *sheet, ledger_row_fn on_row, void *ctx,
                struct ledger_error *err);

/* The XLSX part of ledger_read (cli/ledger_xlsx.c). */
int ledger_xlsx_read(struct ledger *l, const char *sheet,
                     int (*on_cells)(void *ctx, size_t row, char **cells, size_t count),
                     void *ctx, struct ledger_error *err);

/* The whole import of a loaded ledger into n (cli/cmd_import.c): check
 * every row (bad rows are printed to errors, when not NULL), then load.
 * Nothing is written unless every row is good. */
struct ledger_import {
  int progress_lines, tty;    /* in: progress on stdout, or drawn on stderr */
  size_t rows, bad;           /* out: rows read, rows refused */
  size_t imported, skipped, entries, cases_done;
  struct ledger_error err;    /* out: why it failed */
  struct ledger_error first_bad; /* out: the first bad row (line 0: none), for --json */
};
int ledger_import(dk_node *n, struct ledger *l, const char *sheet, struct ledger_import *res,
                  FILE *errors);

/* The XLSX writer (cli/ledger_xlsx.c), rows as they are. */
struct ledger_out;
int ledger_xlsx_write(const char *path, const struct ledger_out *o);

/* The events of one row. Strings point into the row and into this struct:
 * both must outlive the plan made of ev. */
#define LEDGER_SESSIONS_MAX 50
struct ledger_built {
  struct dk_event ev[LEDGER_SESSIONS_MAX + 12];
  size_t count;
  char *parties[DK_PARTIES_MAX];
  size_t parties_count;
  char parties_buf[DK_TEXT_BYTES_MAX];
  char values[6][DK_NAME_BYTES_MAX]; /* kind, category, ... in English */
};

/* Builds the events of row r into b (now bounds the dates). On a bad field
 * writes a message into err->msg and returns DK_EINVAL. Call
 * ledger_built_release afterwards (it frees the deps a dry run adds). */
int ledger_build(const struct ledger_row *r, struct ledger_built *b, uint64_t now_ms,
                 struct ledger_error *err);
void ledger_built_release(struct ledger_built *b);

/* Writing ledgers (a template, or an export): rows are gathered, sorted by
 * case number, and written with the header in lang. The CSV starts with a
 * UTF-8 BOM so that Excel reads it as UTF-8; the XLSX has one sheet, dates
 * as dates and counts as numbers. */
struct ledger_out {
  enum ledger_lang lang;
  struct ledger_out_row {
    char *fields[C_COUNT];
    char *buf;
  } *rows;
  size_t count, cap;
};
void ledger_out_init(struct ledger_out *o, enum ledger_lang lang);
/* Adds the row of one case (its state: what a ledger row says). */
int ledger_out_add(struct ledger_out *o, const struct dk_case_state *s);
int ledger_out_write_csv(struct ledger_out *o, FILE *f);
int ledger_out_write_xlsx(struct ledger_out *o, const char *path);
void ledger_out_release(struct ledger_out *o);

#endif
