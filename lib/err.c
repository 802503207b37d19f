/*
 * err.c: the text of Sluice's return codes.
 */
#include "err.h"

const char *
sl_strerror(int rc)
{
    switch (rc) {
    case SL_OK:
        return "success";
    case SL_ERR:
        return "failure";
    case SL_ENOMEM:
        return "out of memory";
    case SL_EINVAL:
        return "invalid argument";
    case SL_ETOOBIG:
        return "too large";
    case SL_ENOTFOUND:
        return "not found";
    case SL_EIO:
        return "input/output error";
    case SL_ETIMEDOUT:
        return "timed out";
    case SL_EDB:
        return "database error";
    case SL_EDBCONN:
        return "database unreachable";
    case SL_EBUS:
        return "message bus error";
    case SL_ECONFLICT:
        return "conflict";
    case SL_EAUTH:
        return "authentication failed";
    case SL_EEXPIRED:
        return "expired";
    case SL_EPARSE:
        return "parse error";
    case SL_EPERM:
        return "not permitted";
    case SL_ECRYPTO:
        return "cryptographic failure";
    }
    return "unknown error";
}
