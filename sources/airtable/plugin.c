#include "airtable.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "error.h"
#include "margin.h"
#include "source.h"

#define AD_AT_OFF(m) offsetof(ad_at_config_t, m)

static const ad_config_key_t ad_at_keys[] = {
    {"api_key", AD_KEY_STRING, AD_AT_OFF(api_key), NULL, NULL,
     AD_KEY_REQUIRED | AD_KEY_SECRET | AD_KEY_IDENT, "AIRTABLE_API_KEY",
     "a personal access token (pat…)", NULL},
    {"base_url", AD_KEY_URL, AD_AT_OFF(base_url),
     "\"https://api.airtable.com\"", NULL, AD_KEY_IDENT, NULL,
     "the API's address", NULL},
    {"index_all", AD_KEY_BOOL, AD_AT_OFF(index_all), "true", NULL, 0, NULL,
     "every table of every base the token sees", NULL},
    {"base_id", AD_KEY_STRING, AD_AT_OFF(base_id), NULL, NULL, AD_KEY_IDENT,
     NULL, "one base (index_all false)", NULL},
    {"table_name_or_id", AD_KEY_STRING, AD_AT_OFF(table_name_or_id), NULL,
     NULL, AD_KEY_IDENT, NULL, "one table of it (index_all false)", NULL},
    {"view_id", AD_KEY_OPTSTRING, AD_AT_OFF(view_id), NULL, NULL,
     AD_KEY_IDENT, NULL, "the records of one view", NULL},
    {"share_id", AD_KEY_OPTSTRING, AD_AT_OFF(share_id), NULL, NULL,
     AD_KEY_IDENT, NULL, "a shared view's id, for record links", NULL},
    {"treat_all_non_attachment_fields_as_metadata", AD_KEY_BOOL,
     AD_AT_OFF(treat_all_non_attachment_fields_as_metadata), "false", NULL,
     0, NULL, "documents: every field as a tag too", NULL},
    {NULL}};

static int ad_at_validate(const void *config, char *err, size_t errlen) {
  const ad_at_config_t *c = config;
  if (strpbrk(c->api_key, " \t") != NULL) {
    snprintf(err, errlen, "api_key: must not contain spaces");
    return AD_ECONFIG;
  }
  if (!c->index_all) {
    if (*c->base_id == '\0') {
      snprintf(err, errlen, "base_id: missing (required when "
                            "source.index_all is false)");
      return AD_ECONFIG;
    }
    if (*c->table_name_or_id == '\0') {
      snprintf(err, errlen, "table_name_or_id: missing (required when "
                            "source.index_all is false)");
      return AD_ECONFIG;
    }
  } else if (*c->base_id || *c->table_name_or_id || c->view_id) {
    snprintf(err, errlen,
             "%s: set, but source.index_all is true (set \"index_all\": "
             "false to sync one table)",
             *c->base_id            ? "base_id"
             : *c->table_name_or_id ? "table_name_or_id"
                                    : "view_id");
    return AD_ECONFIG;
  }
  return 0;
}

typedef struct ad_at_plugin {
  ad_at_source_t src;
  ad_margin_t margin;
  int margin_made, src_made;
} ad_at_plugin_t;

static void ad_at_p_close(void *ctx) {
  ad_at_plugin_t *p = ctx;
  if (p->src_made)
    ad_at_source_close(&p->src);
  if (p->margin_made)
    ad_margin_free(&p->margin);
  free(p);
}

/* The margin learned from earlier runs' 429s at this server
 * (STATE_DIR/margins.json), then the source. */
static int ad_at_p_init(ad_source_t *host, const void *config, void **ctx,
                        char *err, size_t errlen) {
  const ad_services_t *svc = ad_source_services(host);
  const ad_config_t *cfg = svc->config;
  const ad_at_config_t *conf = config;
  ad_at_source_opts_t so;
  ad_at_plugin_t *p;
  char path[4096] = "";
  int rc;

  if ((p = calloc(1, sizeof(*p))) == NULL)
    return AD_ENOMEM;
  if (cfg->engine.state_dir != NULL)
    snprintf(path, sizeof(path), "%s/margins.json", cfg->engine.state_dir);
  rc = ad_margin_init(&p->margin, path[0] ? path : NULL, conf->base_url,
                      (uint64_t)cfg->rate_limits.safety_margin_ms * 1000,
                      (uint64_t)cfg->rate_limits.max_safety_margin_ms * 1000);
  p->margin_made = rc == 0;
  if (rc == 0 && p->margin.current_us >
                     (uint64_t)cfg->rate_limits.safety_margin_ms * 1000)
    ad_source_log(host, AD_LOG_INFO,
                  "Airtable safety margin %.0f ms, learned from earlier "
                  "429s (%s)",
                  (double)p->margin.current_us / 1000.0, path);
  if (rc == 0) {
    memset(&so, 0, sizeof(so));
    so.host = host;
    so.conf = conf;
    so.svc = svc;
    so.margin = &p->margin;
    rc = ad_at_source_init(&p->src, &so);
    p->src_made = rc == 0;
  }
  if (rc != 0) {
    snprintf(err, errlen, "cannot set up the Airtable source: %s",
             ad_strerror(rc));
    ad_at_p_close(p);
    return rc;
  }
  *ctx = p;
  return 0;
}

static int ad_at_p_start(void *ctx) {
  return ad_at_source_start(&((ad_at_plugin_t *)ctx)->src);
}

static void ad_at_p_resume(void *ctx) {
  ad_at_source_resume(&((ad_at_plugin_t *)ctx)->src);
}

static void ad_at_p_stop(void *ctx) {
  ad_at_source_stop(&((ad_at_plugin_t *)ctx)->src);
}

static const char *ad_at_p_check_report(void *ctx) {
  return ad_at_source_check_result(&((ad_at_plugin_t *)ctx)->src);
}

/* One sync's memory per scope: two configs reading different tables
 * into one data source never delete each other's. */
static char *ad_at_p_identity(const void *config) {
  const ad_at_config_t *c = config;
  json_object *d = json_object_new_object();
  char *text;

  if (d == NULL)
    return NULL;
  json_object_object_add(d, "airtable_url",
                         json_object_new_string(c->base_url));
  if (c->index_all) {
    json_object_object_add(d, "scope", json_object_new_string("all"));
  } else {
    json_object_object_add(d, "base_id", json_object_new_string(c->base_id));
    json_object_object_add(d, "table",
                           json_object_new_string(c->table_name_or_id));
    if (c->view_id != NULL)
      json_object_object_add(d, "view_id",
                             json_object_new_string(c->view_id));
  }
  text = strdup(json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN));
  json_object_put(d);
  return text;
}

const ad_source_plugin_t ad_airtable_source_plugin = {
    .name = "airtable",
    .description = "every table of every base an Airtable token sees, or "
                   "one table",
    .keys = ad_at_keys,
    .config_size = sizeof(ad_at_config_t),
    .validate = ad_at_validate,
    .init = ad_at_p_init,
    .start = ad_at_p_start,
    .resume = ad_at_p_resume,
    .stop = ad_at_p_stop,
    .check_report = ad_at_p_check_report,
    .close = ad_at_p_close,
    .identity = ad_at_p_identity,
};
