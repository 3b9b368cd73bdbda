/* ad_table: one source table, its columns, and the sink's state of it.
 *
 * The type and its functions are public (include/airdust_plugin.h):
 * a source makes a table when it discovers it, and every page of it holds
 * a reference, so a sink may still write a table's rows after the source
 * has finished reading it. Holds no source or sink types. */
#ifndef AD_TABLE_H
#define AD_TABLE_H

#include "airdust_plugin.h"
#include "record.h"

#endif
