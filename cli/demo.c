#include "demo.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "fake_airtable.h"
#include "fake_dust.h"

/* The demo's document pace: Dust allows 120 a minute; the fake here allows
 * more so the demo takes seconds, and the sync is told the same. */
#define AD_DEMO_DOCUMENTS_PER_MINUTE 1200

static void ad_demo_columns(json_object *table) {
  json_object *schema = json_object_object_get(table, "schema"), *c;
  size_t i, n = schema ? json_object_array_length(schema) : 0;
  printf("    columns:");
  for (i = 0; i < n; i++) {
    c = json_object_array_get_idx(schema, i);
    printf("%s %s (%s)", i ? "," : "",
           json_object_get_string(json_object_object_get(c, "name")),
           json_object_get_string(json_object_object_get(c, "value_type")));
  }
  printf("%s\n", n ? "" : " (none yet)");
}

static void ad_demo_samples(json_object *rows, int count) {
  int shown = 0;
  json_object_object_foreach(rows, id, value) {
    if (shown++ == count)
      break;
    printf("    %s: %s\n", id,
           json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN));
  }
}

static void ad_demo_show_tables(json_object *dump) {
  json_object *tables = json_object_object_get(dump, "tables"), *t, *rows;
  size_t i, n = json_object_array_length(tables);
  printf("\nIn the fake Dust data source: %zu tables\n", n);
  for (i = 0; i < n; i++) {
    t = json_object_array_get_idx(tables, i);
    rows = json_object_object_get(t, "rows");
    printf("\n  %s  \"%s\"  %d rows\n",
           json_object_get_string(json_object_object_get(t, "name")),
           json_object_get_string(json_object_object_get(t, "title")),
           json_object_object_length(rows));
    ad_demo_columns(t);
    if (i == 0)
      ad_demo_samples(rows, 2);
  }
}

static void ad_demo_show_documents(json_object *dump) {
  json_object *docs = json_object_object_get(dump, "documents");
  int shown = 0;
  printf("\nIn the fake Dust data source: %d documents\n",
         json_object_object_length(docs));
  json_object_object_foreach(docs, id, doc) {
    if (shown++ == 5)
      break;
    printf("  %s  \"%s\"\n", id,
           json_object_get_string(json_object_object_get(doc, "title")));
  }
}

static int ad_demo_sync(const ad_cli_demo_t *d, ad_cli_opts_t *run,
                        ad_fake_airtable_t *at, ad_fake_dust_t *dust,
                        const ad_fake_airtable_opts_t *ao) {
  char config[2048];
  snprintf(config, sizeof(config),
           "{\"source\":{\"type\":\"airtable\",\"api_key\":\"%s\","
           "\"base_url\":\"%s\",\"index_all\":true},"
           "\"sink\":{\"type\":\"dust\",\"api_key\":\"sk-fake0123456789\","
           "\"base_url\":\"%s\",\"workspace_id\":\"wFake\","
           "\"space_id\":\"vltFake\",\"data_source_id\":\"dsFake\","
           "\"data_format\":\"%s\"},"
           "\"rate_limits\":{\"dust_documents_per_minute\":%d}}",
           ao->token, ad_fake_airtable_url(at), ad_fake_dust_url(dust),
           d->documents ? "documents" : "tables",
           AD_DEMO_DOCUMENTS_PER_MINUTE);
  run->config_text = config;
  run->config_path = NULL;
  run->no_state = 1; /* fresh fakes each time: nothing to remember */
  printf("airdust demo: fake Airtable at %s (%s), fake Dust at %s\n",
         ad_fake_airtable_url(at),
         d->bases ? "a generated dataset"
                  : "\"Bug Tracking System\" and \"Employee Bio Database\"",
         ad_fake_dust_url(dust));
  printf("syncing every base in %s format, at Airtable's real limits "
         "(5 requests/s per base, 50 per token)\n\n",
         d->documents ? "documents" : "tables");
  fflush(stdout);
  return ad_cli_run(run);
}

int ad_cli_demo(const ad_cli_demo_t *d, ad_cli_opts_t *run) {
  ad_fake_airtable_opts_t ao;
  ad_fake_dust_opts_t dop;
  ad_fake_airtable_t *at;
  ad_fake_dust_t *dust = NULL;
  json_object *dump;
  int code = 1;

  ad_fake_airtable_opts_default(&ao);
  ao.demo = d->bases == 0;
  if (d->bases > 0) {
    ao.bases = d->bases;
    ao.tables_per_base = d->tables;
    ao.records_per_table = d->records;
  }
  ad_fake_dust_opts_default(&dop);
  dop.documents_per_minute = AD_DEMO_DOCUMENTS_PER_MINUTE;
  if ((at = ad_fake_airtable_start(&ao)) == NULL ||
      (dust = ad_fake_dust_start(&dop)) == NULL) {
    fprintf(stderr, "airdust demo: cannot start the fake servers on "
                    "127.0.0.1\n");
    ad_fake_airtable_stop(at);
    return 1;
  }
  code = ad_demo_sync(d, run, at, dust, &ao);
  dump = ad_fake_dust_dump(dust);
  if (d->documents)
    ad_demo_show_documents(dump);
  else
    ad_demo_show_tables(dump);
  json_object_put(dump);
  ad_fake_dust_stop(dust);
  ad_fake_airtable_stop(at);
  return code;
}
