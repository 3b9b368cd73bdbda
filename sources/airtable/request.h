/* URLs and bodies of the Airtable requests a sync sends (airtable-api.md
 * section 1). Pure functions: they only format bytes. */
#ifndef AD_AIRTABLE_REQUEST_H
#define AD_AIRTABLE_REQUEST_H

#include <stddef.h>

#include "buf.h"

/* Page size of every list-records request: the API's maximum. */
#define AD_AT_PAGE_SIZE 100

/* airtable.js's threshold: past it, list-records goes as a POST. The API
 * refuses URLs over 16 000 characters. */
#define AD_AT_MAX_URL 15000

/* {base_url}/v0/meta/bases[?offset=…]; offset may be NULL. */
int ad_at_bases_url(ad_buf_t *url, const char *base_url, const char *offset);

/* {base_url}/v0/meta/bases/{base}/tables */
int ad_at_schema_url(ad_buf_t *url, const char *base_url, const char *base_id);

/* One list-records page of table (an id or a name) with pageSize=page_size
 * and returnFieldsByFieldId=true, from offset (NULL: the first page),
 * restricted to fields when nfields > 0. Writes a GET URL and leaves body
 * empty, or, when that URL would pass max_url characters, writes the POST
 * …/listRecords URL and its JSON body. */
int ad_at_list_request(ad_buf_t *url, ad_buf_t *body, const char *base_url,
                       const char *base_id, const char *table,
                       int page_size, const char *offset,
                       const char *const *fields, size_t nfields,
                       size_t max_url);

#endif
