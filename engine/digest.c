#include "digest.h"

#include <assert.h>
#include <string.h>

#include <openssl/evp.h>

void ad_digest_hex(const char *const *parts, char *out, size_t hexlen) {
  static const char hex[] = "0123456789abcdef";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  size_t i;
  int ok;

  assert(hexlen <= 64);
  ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
  for (; ok && *parts != NULL; parts++)
    ok = EVP_DigestUpdate(ctx, *parts, strlen(*parts) + 1) == 1;
  ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 32;
  EVP_MD_CTX_free(ctx);
  if (!ok) /* out of memory: all such names agree, so keys share more, never less */
    memset(md, 0, sizeof(md));
  for (i = 0; i < hexlen; i++)
    out[i] = hex[(md[i / 2] >> (i % 2 ? 0 : 4)) & 0xf];
  out[hexlen] = '\0';
}
