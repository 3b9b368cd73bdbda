/* ad_record: the neutral form of a record, between a source and a sink.
 *
 * A source reads its API's format and hands over records whose fields are
 * typed values of a few kinds; a sink turns them into its own wire format.
 * Neither knows the other's rules: Airtable's (which field types read as
 * what, how a collaborator reads, that an unchecked checkbox is absent)
 * stay in sources/airtable/, Dust's (slugs, 512 columns, datetime cells,
 * integers past 2^53 as text, document bodies) in sinks/dust/.
 *
 * Values borrow their bytes: a source points them into what it parsed (a
 * page's json-c tree) or into a batch's arena, and the sink encodes them
 * before the batch goes, so no cell is copied on the way. */
#ifndef AD_RECORD_H
#define AD_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "airdust_plugin.h" /* ad_kind_t, ad_value_t, ad_record_t */

static inline ad_value_t ad_value_null(void) {
  ad_value_t v = {AD_KIND_NULL, 0, {0}};
  return v;
}

static inline ad_value_t ad_value_text(const char *s, size_t len) {
  ad_value_t v = {AD_KIND_TEXT, (uint32_t)len, {0}};
  v.u.s = s;
  return v;
}

/* A FLOAT's number (its literal read with strtod). */
double ad_value_float(const ad_value_t *v);

#endif
