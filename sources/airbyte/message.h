/* ad_ab_msg: Airbyte protocol v0 messages, one JSON object per line
 * (docs/airbyte.md). Pure functions over buffers and parsed objects.
 *
 * What a destination reads: RECORD (stream, namespace, data, emitted_at),
 * STATE (STREAM, GLOBAL or LEGACY) and the TRACE of type STREAM_STATUS
 * (whether the source read a stream whole); every other message (LOG,
 * other TRACEs, CONTROL, …) is the source's business and is passed over. What it writes,
 * one line each: STATE echoes with destinationStats, LOG, TRACE errors,
 * SPEC and CONNECTION_STATUS. */
#ifndef AD_AB_MESSAGE_H
#define AD_AB_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "buf.h"

typedef enum ad_ab_msg_type {
  AD_AB_MSG_OTHER = 0, /* not for a destination: passed over */
  AD_AB_MSG_RECORD,
  AD_AB_MSG_STATE,
  AD_AB_MSG_STATUS     /* a TRACE of type STREAM_STATUS */
} ad_ab_msg_type_t;

typedef enum ad_ab_state_kind {
  AD_AB_STATE_LEGACY = 0, /* no "type", or "LEGACY": the whole sync's */
  AD_AB_STATE_STREAM,     /* one stream's */
  AD_AB_STATE_GLOBAL      /* shared by every stream */
} ad_ab_state_kind_t;

/* A message, read: strings and objects borrowed from the parsed line. */
typedef struct ad_ab_msg {
  ad_ab_msg_type_t type;
  const char *type_name; /* as the line says it ("LOG"…), for OTHER */
  /* RECORD, and a STREAM state's stream descriptor: */
  const char *stream;    /* NULL for a state without one */
  const char *ns;        /* NULL when none */
  json_object *data;     /* RECORD: its data */
  int64_t emitted_at;    /* RECORD: ms, 0 when absent */
  /* STATE: */
  ad_ab_state_kind_t state_kind;
  json_object *state;    /* the "state" object */
  /* STATUS (stream and ns above): the stream's status as the source
   * reported it: "STARTED", "RUNNING", "COMPLETE", "INCOMPLETE" */
  const char *status;
} ad_ab_msg_t;

/* Reads one parsed line. 0; AD_EPARSE with the reason in err for a line
 * that is not a message a destination can use: not an object, no "type",
 * a RECORD without a stream name or without an object of data, a STATE
 * without its "state" object or, of type STREAM, without a stream
 * descriptor, a STREAM_STATUS without its stream's name or status. */
int ad_ab_msg_read(json_object *line, ad_ab_msg_t *out, char *err,
                   size_t errlen);

/* The STATE message to echo for state (borrowed; left unchanged): the
 * same state with destinationStats.recordCount = count, as one line
 * (appended to out, with its newline). 0 or AD_ENOMEM. */
int ad_ab_state_echo(json_object *state, uint64_t count, ad_buf_t *out);

/* Airbyte's log levels, in airdust's order (0 error … 3 debug). */
const char *ad_ab_log_level(int level);

/* {"type":"LOG","log":{"level":…,"message":…}} and its newline. */
int ad_ab_log_line(int level, const char *message, ad_buf_t *out);

/* failure_type of an error TRACE: "config_error" (the user's to fix),
 * "system_error" (airdust's or Dust's), "transient_error" (retry). */
typedef enum ad_ab_failure {
  AD_AB_CONFIG_ERROR,
  AD_AB_SYSTEM_ERROR,
  AD_AB_TRANSIENT_ERROR
} ad_ab_failure_t;

/* {"type":"TRACE","trace":{"type":"ERROR","emitted_at":now_ms,"error":
 * {"message","internal_message","failure_type"}}} and its newline;
 * internal may be NULL. */
int ad_ab_trace_error(ad_ab_failure_t failure, const char *message,
                      const char *internal, double now_ms, ad_buf_t *out);

/* {"type":"CONNECTION_STATUS","connectionStatus":{"status":"SUCCEEDED"}}
 * or FAILED with message, and its newline. */
int ad_ab_connection_status(int ok, const char *message, ad_buf_t *out);

/* The SPEC message: the Python Dust destination's keys, so its configs
 * work unchanged, and airdust's own optional ones. */
int ad_ab_spec(ad_buf_t *out);

#endif
