/* Error codes shared by every airdust module.
 *
 * Functions return 0 on success and one of these negative codes on failure,
 * as libuv does. A function that takes a callback and returns an error never
 * invokes that callback. */
#ifndef AD_ERROR_H
#define AD_ERROR_H

#define AD_ERRNO_MAP(X)                                                     \
  X(ENOMEM, -1, "out of memory")                                            \
  X(EINVAL, -2, "invalid argument")                                         \
  X(ETIMEDOUT, -3, "request timed out")                                     \
  X(ECONNREFUSED, -4, "connection refused")                                 \
  X(ECONNRESET, -5, "connection reset or closed by the server")             \
  X(ETOOBIG, -6, "response body larger than the configured cap")            \
  X(ECANCELED, -7, "operation canceled")                                    \
  X(ETRANSPORT, -8, "transport error")                                      \
  X(EDNS, -9, "host name could not be resolved")                            \
  X(ETLS, -10, "TLS handshake or certificate verification failed")          \
  X(ECLOSING, -11, "handle is closing")                                     \
  X(EAGAIN, -12, "resource temporarily full, try again later")              \
  X(EPARSE, -13, "malformed input")                                         \
  X(ECONFIG, -14, "invalid configuration")                                  \
  X(EIO, -15, "input/output error")

typedef enum {
  AD_OK = 0,
#define AD_ERRNO_ENUM(name, value, text) AD_##name = value,
  AD_ERRNO_MAP(AD_ERRNO_ENUM)
#undef AD_ERRNO_ENUM
} ad_errno_t;

/* Human-readable text for an error code; never NULL, static storage. */
const char *ad_strerror(int err);

/* Symbolic name such as "AD_ETIMEDOUT"; never NULL, static storage. */
const char *ad_err_name(int err);

#endif
