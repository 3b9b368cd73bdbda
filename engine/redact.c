#include "redact.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"

static const char ad_redacted[] = "[REDACTED]";

void ad_redact_init(ad_redact_t *redact) {
  memset(redact, 0, sizeof(*redact));
}

void ad_redact_free(ad_redact_t *redact) {
  int i;
  for (i = 0; i < redact->count; i++)
    free(redact->secrets[i]);
  ad_redact_init(redact);
}

int ad_redact_add(ad_redact_t *redact, const char *secret) {
  int i;
  if (secret == NULL || strlen(secret) < 4)
    return 0;
  for (i = 0; i < redact->count; i++)
    if (strcmp(redact->secrets[i], secret) == 0)
      return 0;
  if (redact->count == AD_REDACT_MAX)
    return AD_EINVAL;
  if ((redact->secrets[redact->count] = strdup(secret)) == NULL)
    return AD_ENOMEM;
  redact->count++;
  return 0;
}

/* Length of the secret that starts at s, 0 if none does. */
static size_t ad_redact_match(const ad_redact_t *redact, const char *s) {
  size_t len;
  int i;

  for (i = 0; i < redact->count; i++) {
    len = strlen(redact->secrets[i]);
    if (strncmp(s, redact->secrets[i], len) == 0)
      return len;
  }
  if (strncasecmp(s, "bearer ", 7) == 0) {
    for (len = 7; s[len] && !isspace((unsigned char)s[len]) &&
                  s[len] != '"' && s[len] != '\'';
         len++)
      ;
    return len > 7 ? len : 0;
  }
  return 0;
}

int ad_redact_apply(const ad_redact_t *redact, ad_buf_t *buf) {
  ad_buf_t out;
  size_t i = 0, start = 0, len;
  int err = 0;

  if (buf->data == NULL)
    return 0;
  ad_buf_init(&out, 0);
  while (i < buf->len && err == 0) {
    len = ad_redact_match(redact, buf->data + i);
    if (len == 0) {
      i++;
      continue;
    }
    err = ad_buf_append(&out, buf->data + start, i - start);
    if (err == 0 && strncasecmp(buf->data + i, "bearer ", 7) == 0)
      err = ad_buf_puts(&out, "Bearer ");
    if (err == 0)
      err = ad_buf_puts(&out, ad_redacted);
    i += len;
    start = i;
  }
  if (err == 0 && start == 0) { /* nothing matched: keep buf as it is */
    ad_buf_free(&out);
    return 0;
  }
  if (err == 0)
    err = ad_buf_append(&out, buf->data + start, buf->len - start);
  ad_buf_free(buf);
  if (err != 0) {
    ad_buf_free(&out);
    return err;
  }
  *buf = out;
  buf->max = 0;
  return 0;
}
