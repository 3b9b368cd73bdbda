#include "request.h"

#include <string.h>

#include <json-c/json.h>

#include "error.h"

/* The base URL without a trailing slash, so paths join cleanly. */
static int ad_at_root(ad_buf_t *url, const char *base_url) {
  size_t len = strlen(base_url);
  while (len > 0 && base_url[len - 1] == '/')
    len--;
  return ad_buf_append(url, base_url, len);
}

int ad_at_bases_url(ad_buf_t *url, const char *base_url, const char *offset) {
  int rc = ad_at_root(url, base_url);
  if (rc == 0)
    rc = ad_buf_puts(url, "/v0/meta/bases");
  if (rc == 0 && offset != NULL) {
    rc = ad_buf_puts(url, "?offset=");
    if (rc == 0)
      rc = ad_buf_escape(url, offset);
  }
  return rc;
}

int ad_at_schema_url(ad_buf_t *url, const char *base_url, const char *base_id) {
  int rc = ad_at_root(url, base_url);
  if (rc == 0)
    rc = ad_buf_puts(url, "/v0/meta/bases/");
  if (rc == 0)
    rc = ad_buf_escape(url, base_id);
  if (rc == 0)
    rc = ad_buf_puts(url, "/tables");
  return rc;
}

static int ad_at_table_path(ad_buf_t *url, const char *base_url,
                            const char *base_id, const char *table) {
  int rc = ad_at_root(url, base_url);
  if (rc == 0)
    rc = ad_buf_puts(url, "/v0/");
  if (rc == 0)
    rc = ad_buf_escape(url, base_id);
  if (rc == 0)
    rc = ad_buf_puts(url, "/");
  if (rc == 0)
    rc = ad_buf_escape(url, table);
  return rc;
}

static int ad_at_list_query(ad_buf_t *url, int page_size, const char *offset,
                            const char *const *fields, size_t nfields) {
  size_t i;
  int rc = ad_buf_printf(url, "?pageSize=%d&returnFieldsByFieldId=true",
                         page_size);
  for (i = 0; i < nfields && rc == 0; i++) {
    rc = ad_buf_puts(url, "&fields%5B%5D=");
    if (rc == 0)
      rc = ad_buf_escape(url, fields[i]);
  }
  if (rc == 0 && offset != NULL) {
    rc = ad_buf_puts(url, "&offset=");
    if (rc == 0)
      rc = ad_buf_escape(url, offset);
  }
  return rc;
}

static int ad_at_list_body(ad_buf_t *body, int page_size, const char *offset,
                           const char *const *fields, size_t nfields) {
  json_object *o = json_object_new_object(), *arr = NULL;
  size_t i;
  int rc = AD_ENOMEM;

  if (o == NULL)
    return AD_ENOMEM;
  if (json_object_object_add(o, "pageSize", json_object_new_int(page_size)) ||
      json_object_object_add(o, "returnFieldsByFieldId",
                             json_object_new_boolean(1)))
    goto done;
  if (nfields > 0) {
    if ((arr = json_object_new_array()) == NULL ||
        json_object_object_add(o, "fields", arr)) {
      json_object_put(arr);
      goto done;
    }
    for (i = 0; i < nfields; i++)
      if (json_object_array_add(arr, json_object_new_string(fields[i])))
        goto done;
  }
  if (offset != NULL &&
      json_object_object_add(o, "offset", json_object_new_string(offset)))
    goto done;
  rc = ad_buf_puts(body, json_object_to_json_string_ext(
                             o, JSON_C_TO_STRING_PLAIN |
                                    JSON_C_TO_STRING_NOSLASHESCAPE));
done:
  json_object_put(o);
  return rc;
}

int ad_at_list_request(ad_buf_t *url, ad_buf_t *body, const char *base_url,
                       const char *base_id, const char *table,
                       int page_size, const char *offset,
                       const char *const *fields, size_t nfields,
                       size_t max_url) {
  size_t path_len;
  int rc = ad_at_table_path(url, base_url, base_id, table);

  if (rc != 0)
    return rc;
  path_len = url->len;
  rc = ad_at_list_query(url, page_size, offset, fields, nfields);
  if (rc != 0 || url->len <= max_url)
    return rc;
  url->len = path_len;
  url->data[path_len] = '\0';
  rc = ad_buf_puts(url, "/listRecords");
  if (rc == 0)
    rc = ad_at_list_body(body, page_size, offset, fields, nfields);
  return rc;
}
