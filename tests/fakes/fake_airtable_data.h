/* The fake Airtable's datasets: the generic field list (every field type,
 * colliding names) and the built-in demo bases. Constant data only. */
#ifndef AD_FAKE_AIRTABLE_DATA_H
#define AD_FAKE_AIRTABLE_DATA_H

#include <stddef.h>

typedef struct fa_field {
  const char *name;
  const char *type;
  const char *options;       /* JSON, may be NULL */
  const char *const *values; /* NULL-terminated picks for text and selects;
                                NULL: generated from the type */
} fa_field_t;

typedef struct fa_table_spec {
  const char *name;
  const char *description; /* may be NULL */
  const fa_field_t *fields;
  size_t nfields;
  int nrecords;
} fa_table_spec_t;

typedef struct fa_base_spec {
  const char *name;
  const fa_table_spec_t *tables;
  size_t ntables;
} fa_base_spec_t;

extern const fa_field_t fa_generic_fields[];
extern const size_t fa_generic_nfields;

extern const fa_base_spec_t fa_demo_bases[];
extern const size_t fa_demo_nbases;

#endif
