#include "message.h"

#include <stdio.h>
#include <string.h>

#include "error.h"

static json_object *ad_ab_get(json_object *o, const char *key,
                              json_type type) {
  json_object *v;
  if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
      !json_object_is_type(v, type))
    return NULL;
  return v;
}

static const char *ad_ab_get_string(json_object *o, const char *key) {
  json_object *v = ad_ab_get(o, key, json_type_string);
  return v != NULL ? json_object_get_string(v) : NULL;
}

/* {"name","namespace"} of a record or of a stream state's descriptor. */
static void ad_ab_stream_of(json_object *o, const char *name_key,
                            ad_ab_msg_t *out) {
  out->stream = ad_ab_get_string(o, name_key);
  out->ns = ad_ab_get_string(o, "namespace");
  if (out->ns != NULL && *out->ns == '\0')
    out->ns = NULL;
}

static int ad_ab_read_record(json_object *line, ad_ab_msg_t *out, char *err,
                             size_t errlen) {
  json_object *rec = ad_ab_get(line, "record", json_type_object), *at;
  if (rec == NULL) {
    snprintf(err, errlen, "a RECORD without its \"record\" object");
    return AD_EPARSE;
  }
  ad_ab_stream_of(rec, "stream", out);
  if (out->stream == NULL) {
    snprintf(err, errlen, "a RECORD without a stream name");
    return AD_EPARSE;
  }
  if ((out->data = ad_ab_get(rec, "data", json_type_object)) == NULL) {
    snprintf(err, errlen, "a RECORD of stream \"%.200s\" without an object "
                          "of data", out->stream);
    return AD_EPARSE;
  }
  if ((at = ad_ab_get(rec, "emitted_at", json_type_int)) != NULL ||
      (at = ad_ab_get(rec, "emitted_at", json_type_double)) != NULL)
    out->emitted_at = json_object_get_int64(at);
  out->type = AD_AB_MSG_RECORD;
  return 0;
}

static const struct {
  const char *name;
  ad_ab_state_kind_t kind;
} ad_ab_state_kinds[] = {{"LEGACY", AD_AB_STATE_LEGACY},
                         {"STREAM", AD_AB_STATE_STREAM},
                         {"GLOBAL", AD_AB_STATE_GLOBAL}};

static int ad_ab_read_state(json_object *line, ad_ab_msg_t *out, char *err,
                            size_t errlen) {
  json_object *st = ad_ab_get(line, "state", json_type_object), *stream;
  const char *kind;
  size_t i;

  if (st == NULL) {
    snprintf(err, errlen, "a STATE without its \"state\" object");
    return AD_EPARSE;
  }
  out->state = st;
  out->state_kind = AD_AB_STATE_LEGACY;
  if ((kind = ad_ab_get_string(st, "type")) != NULL) {
    for (i = 0; i < sizeof(ad_ab_state_kinds) / sizeof(*ad_ab_state_kinds);
         i++)
      if (strcmp(kind, ad_ab_state_kinds[i].name) == 0)
        break;
    if (i == sizeof(ad_ab_state_kinds) / sizeof(*ad_ab_state_kinds)) {
      snprintf(err, errlen, "a STATE of type \"%.100s\" (expected STREAM, "
                            "GLOBAL or LEGACY)", kind);
      return AD_EPARSE;
    }
    out->state_kind = ad_ab_state_kinds[i].kind;
  }
  if (out->state_kind == AD_AB_STATE_STREAM) {
    stream = ad_ab_get(st, "stream", json_type_object);
    ad_ab_stream_of(ad_ab_get(stream, "stream_descriptor", json_type_object),
                    "name", out);
    if (out->stream == NULL) {
      snprintf(err, errlen, "a STREAM state without "
                            "stream.stream_descriptor.name");
      return AD_EPARSE;
    }
  }
  out->type = AD_AB_MSG_STATE;
  return 0;
}

/* A TRACE: a STREAM_STATUS is read, any other passed over. */
static int ad_ab_read_status(json_object *line, ad_ab_msg_t *out, char *err,
                             size_t errlen) {
  json_object *trace = ad_ab_get(line, "trace", json_type_object), *st;
  const char *type = ad_ab_get_string(trace, "type");
  if (type == NULL || strcmp(type, "STREAM_STATUS") != 0)
    return 0;
  st = ad_ab_get(trace, "stream_status", json_type_object);
  ad_ab_stream_of(ad_ab_get(st, "stream_descriptor", json_type_object),
                  "name", out);
  out->status = ad_ab_get_string(st, "status");
  if (out->stream == NULL || out->status == NULL) {
    snprintf(err, errlen, "a STREAM_STATUS without stream_status."
                          "stream_descriptor.name or its status");
    return AD_EPARSE;
  }
  out->type = AD_AB_MSG_STATUS;
  return 0;
}

int ad_ab_msg_read(json_object *line, ad_ab_msg_t *out, char *err,
                   size_t errlen) {
  memset(out, 0, sizeof(*out));
  if (!json_object_is_type(line, json_type_object)) {
    snprintf(err, errlen, "not a JSON object");
    return AD_EPARSE;
  }
  if ((out->type_name = ad_ab_get_string(line, "type")) == NULL) {
    snprintf(err, errlen, "a message without a \"type\"");
    return AD_EPARSE;
  }
  if (strcmp(out->type_name, "RECORD") == 0)
    return ad_ab_read_record(line, out, err, errlen);
  if (strcmp(out->type_name, "STATE") == 0)
    return ad_ab_read_state(line, out, err, errlen);
  out->type = AD_AB_MSG_OTHER;
  if (strcmp(out->type_name, "TRACE") == 0)
    return ad_ab_read_status(line, out, err, errlen);
  return 0;
}

/* Appends o's plain JSON text and a newline. */
static int ad_ab_put_line(json_object *o, ad_buf_t *out) {
  size_t len;
  const char *s;
  int rc;
  if (o == NULL)
    return AD_ENOMEM;
  s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN |
                                               JSON_C_TO_STRING_NOSLASHESCAPE,
                                        &len);
  rc = s != NULL ? ad_buf_append(out, s, len) : AD_ENOMEM;
  if (rc == 0)
    rc = ad_buf_append(out, "\n", 1);
  json_object_put(o);
  return rc;
}

/* {"type": type, key: body}: takes body over. */
static json_object *ad_ab_wrap(const char *type, const char *key,
                               json_object *body) {
  json_object *m = json_object_new_object();
  if (m == NULL || body == NULL) {
    json_object_put(m);
    json_object_put(body);
    return NULL;
  }
  json_object_object_add(m, "type", json_object_new_string(type));
  json_object_object_add(m, key, body);
  return m;
}

int ad_ab_state_echo(json_object *state, uint64_t count, ad_buf_t *out) {
  json_object *copy = NULL, *stats;
  if (json_object_deep_copy(state, &copy, NULL) != 0)
    return AD_ENOMEM;
  stats = json_object_new_object();
  if (stats == NULL) {
    json_object_put(copy);
    return AD_ENOMEM;
  }
  json_object_object_add(stats, "recordCount",
                         json_object_new_double((double)count));
  json_object_object_add(copy, "destinationStats", stats);
  return ad_ab_put_line(ad_ab_wrap("STATE", "state", copy), out);
}

static const char *const ad_ab_levels[] = {"ERROR", "WARN", "INFO", "DEBUG"};

const char *ad_ab_log_level(int level) {
  if (level < 0)
    level = 0;
  if (level > 3)
    level = 3;
  return ad_ab_levels[level];
}

int ad_ab_log_line(int level, const char *message, ad_buf_t *out) {
  json_object *log = json_object_new_object();
  if (log != NULL) {
    json_object_object_add(log, "level",
                           json_object_new_string(ad_ab_log_level(level)));
    json_object_object_add(log, "message", json_object_new_string(message));
  }
  return ad_ab_put_line(ad_ab_wrap("LOG", "log", log), out);
}

static const char *const ad_ab_failures[] = {"config_error", "system_error",
                                             "transient_error"};

int ad_ab_trace_error(ad_ab_failure_t failure, const char *message,
                      const char *internal, double now_ms, ad_buf_t *out) {
  json_object *trace = json_object_new_object(), *e = json_object_new_object();
  if (trace == NULL || e == NULL) {
    json_object_put(trace);
    json_object_put(e);
    return AD_ENOMEM;
  }
  json_object_object_add(e, "message", json_object_new_string(message));
  if (internal != NULL)
    json_object_object_add(e, "internal_message",
                           json_object_new_string(internal));
  json_object_object_add(e, "failure_type",
                         json_object_new_string(ad_ab_failures[failure]));
  json_object_object_add(trace, "type", json_object_new_string("ERROR"));
  json_object_object_add(trace, "emitted_at", json_object_new_double(now_ms));
  json_object_object_add(trace, "error", e);
  return ad_ab_put_line(ad_ab_wrap("TRACE", "trace", trace), out);
}

int ad_ab_connection_status(int ok, const char *message, ad_buf_t *out) {
  json_object *st = json_object_new_object();
  if (st != NULL) {
    json_object_object_add(st, "status",
                           json_object_new_string(ok ? "SUCCEEDED" : "FAILED"));
    if (message != NULL)
      json_object_object_add(st, "message", json_object_new_string(message));
  }
  return ad_ab_put_line(ad_ab_wrap("CONNECTION_STATUS", "connectionStatus", st),
                        out);
}

/* The connector's specification, as Airbyte reads it. The first seven
 * keys are the Python destination's (docs/airbyte.md); the rest are
 * airdust's, all optional. */
static const char ad_ab_spec_text[] =
    "{\"documentationUrl\":\"https://github.com/airdust/airdust/blob/main/"
    "docs/airbyte.md\","
    "\"supportsIncremental\":true,"
    "\"supportsNormalization\":false,\"supportsDBT\":false,"
    "\"supported_destination_sync_modes\":[\"append\",\"append_dedup\","
    "\"overwrite\",\"overwrite_dedup\"],"
    "\"connectionSpecification\":{"
    "\"$schema\":\"http://json-schema.org/draft-07/schema#\","
    "\"title\":\"Dust Destination Spec\",\"type\":\"object\","
    "\"required\":[\"api_key\",\"workspace_id\",\"space_id\","
    "\"data_source_id\"],"
    "\"additionalProperties\":true,"
    "\"properties\":{"
    "\"api_key\":{\"type\":\"string\",\"title\":\"API key\","
    "\"description\":\"A Dust workspace API key (sk-...)\","
    "\"airbyte_secret\":true,\"order\":0},"
    "\"workspace_id\":{\"type\":\"string\",\"title\":\"Workspace ID\","
    "\"order\":1},"
    "\"space_id\":{\"type\":\"string\",\"title\":\"Space ID\",\"order\":2},"
    "\"data_source_id\":{\"type\":\"string\",\"title\":\"Data source ID\","
    "\"description\":\"A folder data source of the space\",\"order\":3},"
    "\"base_url\":{\"type\":\"string\",\"title\":\"Base URL\","
    "\"default\":\"https://dust.tt\",\"examples\":[\"https://dust.tt\","
    "\"https://eu.dust.tt\"],\"order\":4},"
    "\"data_format\":{\"type\":\"string\",\"title\":\"Data format\","
    "\"enum\":[\"documents\",\"tables\"],\"default\":\"documents\","
    "\"description\":\"One document per record, or one table per stream "
    "with a row per record\",\"order\":5},"
    "\"table_id_prefix\":{\"type\":\"string\",\"title\":\"Table ID prefix\","
    "\"default\":\"airbyte_\",\"order\":6},"
    "\"batch_size\":{\"type\":\"integer\",\"minimum\":1,\"default\":500,"
    "\"title\":\"Rows per request\",\"description\":\"airdust: rows per "
    "request, also cut at about 900 KB\",\"order\":7},"
    "\"concurrency\":{\"type\":\"integer\",\"minimum\":1,\"default\":16,"
    "\"title\":\"Requests in flight\",\"description\":\"airdust: Dust "
    "requests in flight at once\",\"order\":8},"
    "\"documents_per_minute\":{\"type\":\"number\",\"exclusiveMinimum\":0,"
    "\"default\":120,\"title\":\"Document upserts per minute\","
    "\"description\":\"airdust: the workspace's document budget\","
    "\"order\":9},"
    "\"max_retries\":{\"type\":\"integer\",\"minimum\":0,\"default\":5,"
    "\"title\":\"Retries per request\",\"order\":10},"
    "\"request_timeout_s\":{\"type\":\"integer\",\"minimum\":1,"
    "\"default\":60,\"title\":\"Request timeout (s)\",\"order\":11},"
    "\"allow_insecure_http\":{\"type\":\"boolean\",\"default\":false,"
    "\"title\":\"Allow http:// base URLs\",\"order\":12},"
    "\"log_level\":{\"type\":\"string\",\"enum\":[\"error\",\"warn\","
    "\"info\",\"debug\"],\"default\":\"info\",\"order\":13}"
    "}}}";

int ad_ab_spec(ad_buf_t *out) {
  json_object *spec = json_tokener_parse(ad_ab_spec_text);
  return ad_ab_put_line(ad_ab_wrap("SPEC", "spec", spec), out);
}
