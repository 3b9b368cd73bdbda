/* ad_digest: SHA-256 (OpenSSL's libcrypto) for names that must be stable
 * across processes and machines yet never reveal what they were made
 * from, such as a rate-limit key derived from an API token. */
#ifndef AD_DIGEST_H
#define AD_DIGEST_H

#include <stddef.h>

/* The first hexlen hex digits (at most 64; out holds hexlen + 1) of the
 * SHA-256 of the parts, each followed by a NUL byte so that ("ab", "c")
 * and ("a", "bc") differ. parts is NULL-terminated. */
void ad_digest_hex(const char *const *parts, char *out, size_t hexlen);

#endif
