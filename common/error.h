/*
 * docket error codes.
 *
 * Every fallible function in docket returns int: 0 on success or one of the
 * negative DK_E* codes below. The table is the single source of truth: it
 * generates the enum and dk_strerror(). Codes are appended, never renumbered,
 * because they appear in logs and in --json output.
 *
 * Thread-safety: dk_strerror() returns static strings and is safe anywhere.
 */
#ifndef DK_ERROR_H
#define DK_ERROR_H

#define DK_ERRNO_MAP(X)                                                          \
  X(EINVAL, 1, "invalid argument")                                               \
  X(ENOMEM, 2, "out of memory")                                                  \
  X(EIO, 3, "input/output error (is the disk full or failing?)")                \
  X(ENOTFOUND, 4, "not found")                                                   \
  X(EEXIST, 5, "already exists")                                                 \
  X(ECRYPTO, 6, "cryptographic operation failed")                                \
  X(EPASSPHRASE, 7, "wrong passphrase or damaged keyfile")                       \
  X(EFORMAT, 8, "malformed data")                                                \
  X(ELIMIT, 9, "a size or count limit was exceeded")                             \
  X(EBADSIG, 10, "signature does not verify")                                    \
  X(EBADLINK, 11, "hash chain link does not match")                              \
  X(EBADID, 12, "entry id does not match its contents")                          \
  X(EBADBODY, 13, "body does not match its hash or does not decrypt")            \
  X(ESTORE, 14, "storage engine error")                                          \
  X(EMAPFULL, 15, "store map is full")                                           \
  X(ENOSPC, 16, "no space left on device")                                       \
  X(ETRANSITION, 17, "that step is not possible in the case's current status")   \
  X(EAMBIGUOUS, 18, "the name matches more than one case")                       \
  X(ENOKEY, 19, "no key to read this case")                                      \
  X(ETXN, 20, "an earlier error aborted this transaction")                       \
  X(EVERSION, 21, "unsupported format version")                                  \
  X(ETIME, 22, "timestamp goes backwards")                                       \
  X(EFORK, 23, "two different entries for one log position (fork)")             \
  X(ENOTINIT, 24, "no docket node here (run 'docket init' first)")              \
  X(ELOCKED, 25, "the store is in use or locked")                                \
  X(EPROTO, 26, "protocol violation by peer")                                    \
  X(ECONN, 27, "connection failed or closed")                                    \
  X(EREFUSED, 28, "peer refused the connection")                                 \
  X(ETIMEDOUT, 29, "operation timed out")                                        \
  X(EAUTH, 30, "peer authentication failed")                                     \
  X(ESCOPE, 31, "not in this peer's scope")                                      \
  X(ECANCELED, 32, "operation canceled")                                        \
  X(ECERT, 33, "no valid certificate (uncertified, expired or revoked key)")     \
  X(ETEXT, 34, "text is not valid UTF-8 or holds a control character")          \
  X(ENUMBER, 35, "that case number already names another case")                 \
  X(EDAMAGED, 36, "the store file is damaged (its pages do not hold together)")  \
  X(EACCES, 37, "permission denied (check the folder's owner and rights)")       \
  X(EUNAUTH, 40, "a log not authorised here: its key holds no certificate (or pin) " \
                 "for the office it claims")                                     \
  X(ERESTORED, 41, "this node was restored or rebuilt: run 'docket sync' with its " \
                   "parent before writing")                                  \
  X(EROFS, 42, "a write to a table this transaction may only read")

enum dk_error {
  DK_OK = 0,
#define DK_X_(name, num, msg) DK_##name = -(num),
  DK_ERRNO_MAP(DK_X_)
#undef DK_X_
};

/* Returns a static, human-readable description of code (0 or a DK_E* code). */
const char *dk_strerror(int code);

/* Returns the symbolic name of code, such as "EBADSIG", for --json output. */
const char *dk_errname(int code);

#endif
