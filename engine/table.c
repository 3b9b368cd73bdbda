#include "table.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

static char *ad_table_dup(const char *s) { return s ? strdup(s) : NULL; }

ad_table_t *ad_table_new(const char *origin, const char *group_id,
                         const char *group_name, const char *table_id,
                         const char *table_name, const char *description) {
  ad_table_t *t = calloc(1, sizeof(*t));
  if (t == NULL)
    return NULL;
  t->refs = 1;
  t->stats_group = -1;
  t->failure_entry = SIZE_MAX;
  t->origin = ad_table_dup(origin ? origin : "");
  t->group_id = ad_table_dup(group_id);
  t->group_name = ad_table_dup(group_name);
  t->table_id = ad_table_dup(table_id);
  t->table_name = ad_table_dup(table_name);
  t->description = ad_table_dup(description ? description : "");
  if (t->origin == NULL || t->group_id == NULL ||
      (group_name != NULL && t->group_name == NULL) ||
      t->table_id == NULL || t->table_name == NULL || t->description == NULL) {
    ad_table_unref(t);
    return NULL;
  }
  return t;
}

int ad_table_add_column(ad_table_t *t, const char *id, const char *name,
                        ad_kind_t kind, unsigned flags) {
  ad_column_t *grown, *c;
  grown = realloc(t->columns, (t->ncolumns + 1) * sizeof(*grown));
  if (grown == NULL)
    return AD_ENOMEM;
  t->columns = grown;
  c = &grown[t->ncolumns];
  c->id = ad_table_dup(id);
  c->name = ad_table_dup(name);
  c->kind = kind;
  c->flags = flags;
  if (c->id == NULL || c->name == NULL) {
    free(c->id);
    free(c->name);
    return AD_ENOMEM;
  }
  t->ncolumns++;
  return 0;
}

int ad_table_add_tag(ad_table_t *t, const char *tag) {
  char **grown = realloc(t->tags, (t->ntags + 1) * sizeof(*grown));
  if (grown == NULL)
    return AD_ENOMEM;
  t->tags = grown;
  if ((grown[t->ntags] = strdup(tag)) == NULL)
    return AD_ENOMEM;
  t->ntags++;
  return 0;
}

/* Atomic: a source may make and free pages (a reference each) on the
 * thread pool while the loop frees others. */
ad_table_t *ad_table_ref(ad_table_t *table) {
  __atomic_add_fetch(&table->refs, 1, __ATOMIC_RELAXED);
  return table;
}

void ad_table_unref(ad_table_t *t) {
  size_t i;

  if (t == NULL || __atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) > 0)
    return;
  if (t->sink_free != NULL)
    t->sink_free(t->sink_data);
  for (i = 0; i < t->ncolumns; i++) {
    free(t->columns[i].id);
    free(t->columns[i].name);
  }
  free(t->columns);
  for (i = 0; i < t->ntags; i++)
    free(t->tags[i]);
  free(t->tags);
  free(t->keep_tag);
  free(t->origin);
  free(t->group_id);
  free(t->group_name);
  free(t->table_id);
  free(t->table_name);
  free(t->description);
  free(t);
}
