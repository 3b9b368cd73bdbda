/* Airtable cell values -> neutral values (engine/record.h), and their
 * readable text (docs/mapping.md).
 *
 * Airtable's rules live here: which field type reads as which kind, that
 * an unchecked checkbox is absent, that {"error":…} and {"specialValue":…}
 * are no value, how a collaborator or an attachment reads as text. What a
 * sink makes of the values is its own business. Pure functions over
 * json-c values: a value points into the parsed tree (strings are not
 * copied) or into an arena, for what had to be built. */
#ifndef AD_CELLS_H
#define AD_CELLS_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "buf.h"
#include "record.h"

/* How the values of a field type are read. */
typedef enum ad_at_read {
  AD_AT_READ_TEXT,     /* strings; anything else as its readable text */
  AD_AT_READ_NUMBER,   /* numbers; anything else as its readable text */
  AD_AT_READ_CHECKBOX, /* booleans; absent is false */
  AD_AT_READ_DATE,     /* ISO 8601 strings as datetimes */
  AD_AT_READ_LIST,     /* arrays as lists of their items' readable text */
  AD_AT_READ_COMPUTED, /* formula, rollup: by the value's own JSON type */
  AD_AT_READ_OTHER     /* unknown types: scalars by their JSON type, the
                          rest as JSON text */
} ad_at_read_t;

/* What a field of an Airtable type (result_type: a formula's or rollup's
 * options.result.type, may be NULL) is: how its values are read, its
 * column's kind and flags (AD_COLUMN_FILES for attachments; the primary
 * flag is the schema's to give). */
void ad_at_field_type(const char *type, const char *result_type,
                      ad_at_read_t *read, ad_kind_t *kind, unsigned *flags);

/* A bump allocator for what values point into (built text, list items):
 * reset per record, freed per page. Alignment is the caller's to ask. */
typedef struct ad_at_arena_block ad_at_arena_block_t;
typedef struct ad_at_arena {
  ad_at_arena_block_t *head, *cur;
} ad_at_arena_t;

void ad_at_arena_init(ad_at_arena_t *a);
/* Every block is kept for reuse; what was handed out is invalid. */
void ad_at_arena_reset(ad_at_arena_t *a);
void ad_at_arena_free(ad_at_arena_t *a);
/* size bytes aligned to align (a power of two); NULL when out of memory. */
void *ad_at_arena_alloc(ad_at_arena_t *a, size_t size, size_t align);

/* The neutral value of one cell read as `read` (value NULL: JSON null,
 * as json-c has it). *out points into value's tree or into arena; work is
 * a buffer the caller keeps from call to call. Returns 0 or AD_ENOMEM. */
int ad_at_value(ad_at_read_t read, json_object *value, ad_at_arena_t *arena,
                ad_buf_t *work, ad_value_t *out);

/* The value of a cell the record does not have (Airtable leaves empty
 * cells out): NULL, but false for a checkbox (unchecked is absent). */
void ad_at_absent(ad_at_read_t read, ad_value_t *out);

/* Appends readable text for a value: strings as they are, a collaborator
 * as "name <email>", an attachment by its file name, an aiText by its
 * generated value, other objects by their first known key, else their
 * JSON; arrays as their items' text joined with ", " (empty items left
 * out); numbers and booleans as their JSON. Error values and empty cells
 * append nothing. */
int ad_at_text(json_object *value, ad_buf_t *out);

/* 1 for an Airtable error value: an object with "error" or "specialValue"
 * ({"error":"#ERROR!"}, {"specialValue":"NaN"}). */
int ad_at_is_error_value(json_object *value);

#endif
