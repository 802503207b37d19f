/*
 * uuid.c: UUID generation and checking.
 */
#include "uuid.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "crypto.h"
#include "err.h"

static void
uuid_text(const unsigned char b[16], char *out)
{
    snprintf(out, SL_UUID_LEN,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
             "%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
             b[11], b[12], b[13], b[14], b[15]);
}

int
sl_uuid_v4(char *out)
{
    unsigned char b[16];

    if (sl_random_bytes(b, sizeof(b)) != SL_OK)
        return SL_ECRYPTO;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    uuid_text(b, out);
    return SL_OK;
}

int
sl_uuid_v7(char *out)
{
    unsigned char b[16];
    uint64_t ms = (uint64_t)sl_clock_now_ms();

    if (sl_random_bytes(b + 6, 10) != SL_OK)
        return SL_ECRYPTO;
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)(ms >> (40 - 8 * i));
    b[6] = (b[6] & 0x0f) | 0x70;
    b[8] = (b[8] & 0x3f) | 0x80;
    uuid_text(b, out);
    return SL_OK;
}

bool
sl_uuid_valid(const char *s)
{
    if (s == NULL || strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
        } else if (!isxdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}
