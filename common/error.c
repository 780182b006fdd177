#include "common/error.h"

const char *dk_strerror(int code) {
  switch (code) {
  case DK_OK:
    return "success";
#define DK_X_(name, num, msg)                                                    \
  case DK_##name:                                                                \
    return msg;
    DK_ERRNO_MAP(DK_X_)
#undef DK_X_
  }
  return "unknown error";
}

const char *dk_errname(int code) {
  switch (code) {
  case DK_OK:
    return "OK";
#define DK_X_(name, num, msg)                                                    \
  case DK_##name:                                                                \
    return #name;
    DK_ERRNO_MAP(DK_X_)
#undef DK_X_
  }
  return "EUNKNOWN";
}
