#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "utf8.h"

/* json-c keeps whatever bytes a string holds, and they would reach Dust
 * as they are: a body that is not UTF-8 is repaired first. */
json_object *ad_at_parse_object(const char *body, size_t len,
                                size_t *replaced, char *err, size_t errlen) {
  json_tokener *tok;
  json_object *root;
  ad_buf_t fixed;

  if (replaced != NULL)
    *replaced = 0;
  if (ad_utf8_valid(body, len) != len) {
    ad_buf_init(&fixed, 0);
    if (ad_utf8_repair(&fixed, body, len, replaced) != 0) {
      ad_buf_free(&fixed);
      snprintf(err, errlen, "out of memory");
      return NULL;
    }
    root = ad_at_parse_object(fixed.data, fixed.len, NULL, err, errlen);
    ad_buf_free(&fixed);
    return root;
  }
  if ((tok = json_tokener_new()) == NULL)
    return NULL;
  root = json_tokener_parse_ex(tok, body, (int)len);
  if (root == NULL || json_tokener_get_error(tok) != json_tokener_success) {
    snprintf(err, errlen, "malformed JSON (%zu bytes): %s", len,
             json_tokener_get_error(tok) == json_tokener_continue
                 ? "truncated"
                 : json_tokener_error_desc(json_tokener_get_error(tok)));
    json_object_put(root);
    root = NULL;
  } else if (!json_object_is_type(root, json_type_object)) {
    snprintf(err, errlen, "expected a JSON object");
    json_object_put(root);
    root = NULL;
  }
  json_tokener_free(tok);
  return root;
}

/* offset: absent, or a string. */
static int ad_at_offset(json_object *root, const char **offset, char *err,
                        size_t errlen) {
  json_object *v;
  *offset = NULL;
  if (!json_object_object_get_ex(root, "offset", &v) ||
      json_object_is_type(v, json_type_null))
    return 0;
  if (!json_object_is_type(v, json_type_string)) {
    snprintf(err, errlen, "\"offset\" is not a string");
    return AD_EPARSE;
  }
  *offset = json_object_get_string(v);
  return 0;
}

int ad_at_page_parse(const char *body, size_t len, ad_at_page_t *page,
                     char *err, size_t errlen) {
  memset(page, 0, sizeof(*page));
  page->root =
      ad_at_parse_object(body, len, &page->utf8_replaced, err, errlen);
  if (page->root == NULL)
    return AD_EPARSE;
  if (!json_object_object_get_ex(page->root, "records", &page->records) ||
      !json_object_is_type(page->records, json_type_array)) {
    snprintf(err, errlen, "no \"records\" array in the page");
    ad_at_page_free(page);
    return AD_EPARSE;
  }
  if (ad_at_offset(page->root, &page->offset, err, errlen) != 0) {
    ad_at_page_free(page);
    return AD_EPARSE;
  }
  return 0;
}

void ad_at_page_free(ad_at_page_t *page) {
  json_object_put(page->root);
  memset(page, 0, sizeof(*page));
}

int ad_at_id_ok(const char *id) {
  size_t n = id != NULL ? strlen(id) : 0;
  return n > 0 && n <= 64 &&
         strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789") == n;
}

const char *ad_at_json_string(json_object *obj, const char *key) {
  json_object *v;
  if (!json_object_object_get_ex(obj, key, &v) ||
      !json_object_is_type(v, json_type_string))
    return NULL;
  return json_object_get_string(v);
}

int ad_at_bases_parse(const char *body, size_t len, ad_at_base_t **bases,
                      size_t *nbases, char **offset, char *err,
                      size_t errlen) {
  json_object *root, *arr, *b;
  const char *off, *id, *name;
  ad_at_base_t *grown;
  size_t i, n;
  int rc = 0;

  *offset = NULL;
  root = ad_at_parse_object(body, len, NULL, err, errlen);
  if (root == NULL)
    return AD_EPARSE;
  if (!json_object_object_get_ex(root, "bases", &arr) ||
      !json_object_is_type(arr, json_type_array)) {
    snprintf(err, errlen, "no \"bases\" array in the response");
    rc = AD_EPARSE;
  } else if ((rc = ad_at_offset(root, &off, err, errlen)) == 0) {
    n = json_object_array_length(arr);
    grown = realloc(*bases, (*nbases + n + 1) * sizeof(*grown));
    rc = grown == NULL ? AD_ENOMEM : 0;
    if (grown != NULL)
      *bases = grown;
    for (i = 0; rc == 0 && i < n; i++) {
      b = json_object_array_get_idx(arr, i);
      id = ad_at_json_string(b, "id");
      name = ad_at_json_string(b, "name");
      if (!ad_at_id_ok(id)) {
        snprintf(err, errlen,
                 "base %zu has no \"id\" of letters and digits", i);
        rc = AD_EPARSE;
        break;
      }
      (*bases)[*nbases].id = strdup(id);
      (*bases)[*nbases].name = strdup(name != NULL ? name : id);
      (*nbases)++;
      if ((*bases)[*nbases - 1].id == NULL ||
          (*bases)[*nbases - 1].name == NULL)
        rc = AD_ENOMEM;
    }
    if (rc == 0 && off != NULL && (*offset = strdup(off)) == NULL)
      rc = AD_ENOMEM;
  }
  json_object_put(root);
  return rc;
}

void ad_at_bases_free(ad_at_base_t *bases, size_t nbases) {
  size_t i;
  for (i = 0; i < nbases; i++) {
    free(bases[i].id);
    free(bases[i].name);
  }
  free(bases);
}

void ad_at_error_parse(const char *body, size_t len, char *type,
                       size_t typelen, char *msg, size_t msglen) {
  char why[128];
  json_object *root = ad_at_parse_object(body, len, NULL, why, sizeof(why)),
              *e;
  const char *t = NULL, *m = NULL;

  if (root != NULL && json_object_object_get_ex(root, "error", &e)) {
    if (json_object_is_type(e, json_type_string))
      t = json_object_get_string(e);
    else if (json_object_is_type(e, json_type_object)) {
      t = ad_at_json_string(e, "type");
      m = ad_at_json_string(e, "message");
    }
  }
  snprintf(type, typelen, "%s", t ? t : "");
  snprintf(msg, msglen, "%s", m ? m : "");
  json_object_put(root);
}
