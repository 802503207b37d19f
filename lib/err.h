/*
 * err.h: Sluice's return codes.
 *
 * Every function in libsluice that can fail returns an int: 0 on success and
 * one of the negative SL_E* codes below on failure. sl_strerror() turns a
 * code into a short English phrase for logs; it never returns NULL.
 */
#ifndef SL_ERR_H
#define SL_ERR_H

enum sl_err {
    SL_OK = 0,
    SL_ERR = -1,        /* unspecified failure */
    SL_ENOMEM = -2,     /* out of memory */
    SL_EINVAL = -3,     /* invalid argument or input */
    SL_ETOOBIG = -4,    /* input exceeds a named maximum */
    SL_ENOTFOUND = -5,  /* no such thing */
    SL_EIO = -6,        /* an operating-system call failed */
    SL_ETIMEDOUT = -7,  /* a deadline passed */
    SL_EDB = -8,        /* the database refused a statement */
    SL_EDBCONN = -9,    /* the database is unreachable */
    SL_EBUS = -10,      /* NATS failed */
    SL_ECONFLICT = -11, /* a unique constraint would be violated */
    SL_EAUTH = -12,     /* credentials did not match */
    SL_EEXPIRED = -13,  /* a token or key is past its expiry */
    SL_EPARSE = -14,    /* input could not be parsed */
    SL_EPERM = -15,     /* not allowed */
    SL_ECRYPTO = -16,   /* a cryptographic primitive failed */
};

/* Returns a static description of rc; unknown codes get a generic text. */
const char *sl_strerror(int rc);

#endif
