#include "dust.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "encoder.h"
#include "error.h"
#include "sink.h"

#define AD_DS_OFF(m) offsetof(ad_dust_config_t, m)

static const ad_config_key_t ad_ds_keys[] = {
    {"api_key", AD_KEY_STRING, AD_DS_OFF(api_key), NULL, NULL,
     AD_KEY_REQUIRED | AD_KEY_SECRET | AD_KEY_IDENT, "DUST_API_KEY",
     "a workspace API key (sk-…) or an OAuth access token", NULL},
    {"base_url", AD_KEY_URL, AD_DS_OFF(base_url), "\"https://dust.tt\"",
     NULL, AD_KEY_IDENT, NULL, "the API's address", NULL},
    {"workspace_id", AD_KEY_STRING, AD_DS_OFF(workspace_id), NULL, NULL,
     AD_KEY_REQUIRED | AD_KEY_IDENT, NULL, NULL, NULL},
    {"space_id", AD_KEY_STRING, AD_DS_OFF(space_id), NULL, NULL,
     AD_KEY_REQUIRED | AD_KEY_IDENT, NULL, NULL, NULL},
    {"data_source_id", AD_KEY_STRING, AD_DS_OFF(data_source_id), NULL, NULL,
     AD_KEY_REQUIRED | AD_KEY_IDENT, NULL, NULL, NULL},
    {"data_format", AD_KEY_ENUM, AD_DS_OFF(data_format), "\"tables\"",
     "tables|documents", 0, NULL, "rows of tables, or one document each",
     NULL},
    {"table_id_prefix", AD_KEY_STRING, AD_DS_OFF(table_id_prefix),
     "\"airtable_\"", NULL, AD_KEY_IDENT, NULL, "of every Dust table id",
     NULL},
    {"batch_size", AD_KEY_POSINT, AD_DS_OFF(batch_size), "500", NULL, 0,
     NULL, "rows per request", NULL},
    {"truncate", AD_KEY_BOOL, AD_DS_OFF(truncate), "false", NULL, 0, NULL,
     "replace each table's rows", NULL},
    {NULL}};

/* Dust takes a workspace key (sk-…) or an OAuth access token as the
 * Bearer value, and a token's alphabet is its issuer's business: only
 * what cannot be in the header is refused (control characters by the
 * key's IDENT flag, spaces here). */
static int ad_ds_validate(const void *config, char *err, size_t errlen) {
  const ad_dust_config_t *c = config;
  if (strchr(c->api_key, ' ') != NULL) {
    snprintf(err, errlen, "api_key: must not contain spaces (expected a "
                          "Dust workspace API key \"sk-…\" or an OAuth "
                          "access token)");
    return AD_ECONFIG;
  }
  return 0;
}

static int ad_ds_p_init(ad_sink_t *host, const void *config, void **ctx,
                        char *err, size_t errlen) {
  ad_dust_sink_opts_t o;
  ad_dust_sink_t *sink = malloc(sizeof(*sink));
  int rc;

  if (sink == NULL)
    return AD_ENOMEM;
  memset(&o, 0, sizeof(o));
  o.host = host;
  o.conf = config;
  o.svc = ad_sink_services(host);
  if ((rc = ad_dust_sink_init(sink, &o)) != 0) {
    snprintf(err, errlen, "cannot set up the Dust sink: %s",
             ad_strerror(rc));
    free(sink);
    return rc;
  }
  *ctx = sink;
  return 0;
}

static void ad_ds_p_take(void *ctx) { ad_dust_sink_kick(ctx); }

static void ad_ds_p_finish(void *ctx) { ad_dust_sink_finish(ctx); }
static void ad_ds_p_flush(void *ctx) { ad_dust_sink_flush(ctx); }

static void ad_ds_p_abort(void *ctx, const char *reason) {
  ad_dust_sink_abort(ctx, reason);
}

static int ad_ds_p_check(void *ctx) { return ad_dust_sink_check(ctx); }

static const char *ad_ds_p_check_report(void *ctx) {
  return ((ad_dust_sink_t *)ctx)->check_report;
}

/* What a resume state is bound to: the same keys as before plugins, so
 * state files written by earlier versions still match. */
static char *ad_ds_p_destination(const void *config) {
  const ad_dust_config_t *c = config;
  json_object *d = json_object_new_object();
  char *text = NULL;

  if (d == NULL)
    return NULL;
  json_object_object_add(d, "dust_url", json_object_new_string(c->base_url));
  json_object_object_add(d, "workspace_id",
                         json_object_new_string(c->workspace_id));
  json_object_object_add(d, "space_id", json_object_new_string(c->space_id));
  json_object_object_add(d, "data_source_id",
                         json_object_new_string(c->data_source_id));
  json_object_object_add(
      d, "data_format",
      json_object_new_string(c->data_format == AD_FORMAT_DOCUMENTS
                                 ? "documents"
                                 : "tables"));
  json_object_object_add(d, "table_id_prefix",
                         json_object_new_string(c->table_id_prefix));
  text = strdup(json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN));
  json_object_put(d);
  return text;
}

static int ad_ds_p_remove(void *ctx, ad_table_t *table, const char *const *ids,
                          size_t n, int whole) {
  return ad_dust_sink_remove(ctx, table, ids, n, whole);
}

static int ad_ds_p_inventory(void *ctx) {
  return ad_dust_sink_inventory(ctx);
}

static void ad_ds_p_close(void *ctx) {
  ad_dust_sink_close(ctx);
  free(ctx);
}

const ad_sink_plugin_t ad_dust_sink_plugin = {
    .name = "dust",
    .description = "tables and rows, or documents, of a Dust data source",
    .keys = ad_ds_keys,
    .config_size = sizeof(ad_dust_config_t),
    .validate = ad_ds_validate,
    .init = ad_ds_p_init,
    .prepare = ad_dust_encoder_prepare,
    .encode = ad_dust_encoder_encode,
    .wants = ad_dust_encoder_wants,
    .take = ad_ds_p_take,
    .finish = ad_ds_p_finish,
    .abort = ad_ds_p_abort,
    .check = ad_ds_p_check,
    .check_report = ad_ds_p_check_report,
    .destination = ad_ds_p_destination,
    .close = ad_ds_p_close,
    .remove = ad_ds_p_remove,
    .inventory = ad_ds_p_inventory,
    .flush = ad_ds_p_flush,
};
