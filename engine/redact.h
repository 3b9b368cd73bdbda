/* ad_redact: keeps secrets out of anything airdust prints or writes.
 *
 * Every registered secret is replaced by "[REDACTED]", and so is whatever
 * follows "Bearer " (an Authorization header that was not registered).
 * Logging and stats both pass their text through here. */
#ifndef AD_REDACT_H
#define AD_REDACT_H

#include "buf.h"

#define AD_REDACT_MAX 8

typedef struct ad_redact {
  char *secrets[AD_REDACT_MAX]; /* owned copies */
  int count;
} ad_redact_t;

void ad_redact_init(ad_redact_t *redact);
void ad_redact_free(ad_redact_t *redact);

/* Copies secret (ignored when NULL or shorter than 4 bytes, which would
 * redact ordinary words). Returns AD_ENOMEM, or AD_EINVAL when full. */
int ad_redact_add(ad_redact_t *redact, const char *secret);

/* Rewrites buf in place. Returns AD_ENOMEM on allocation failure, in which
 * case buf is emptied rather than left unredacted. */
int ad_redact_apply(const ad_redact_t *redact, ad_buf_t *buf);

#endif
