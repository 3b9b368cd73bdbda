/* The file budget: a table of GCRA states in a file that every airdust
 * process on the machine maps (MAP_SHARED), each step under flock(). A
 * process killed mid-run leaves its lock to the kernel and its grants in
 * the table, where they simply age out. */
#include "budget.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

#define AD_BF_MAGIC "airdust budget\n"
#define AD_BF_VERSION 3u /* AD_BUDGET_FILE_NAME carries it */
#define AD_BF_SLOTS 4096u
/* A slot nobody used for this long (and with no penalty running) may be
 * taken by another key: longer than any window a key spaces over. */
#define AD_BF_STALE_US (10ull * 60 * 1000000)
/* Values further ahead than this are damage, not state: a block is at
 * most a day (AD_GCRA_MAX_BLOCK_US), a schedule minutes at most. */
#define AD_BF_MAX_AHEAD_US (AD_GCRA_MAX_BLOCK_US + 60ull * 1000000)

typedef struct ad_bf_header {
  char magic[16];
  uint32_t version;
  uint32_t nslots;
  char boot_id[40]; /* the monotonic clock is only comparable in one boot */
  uint8_t pad[64 - 16 - 8 - 40 + 64];
} ad_bf_header_t;

typedef struct ad_bf_slot {
  uint64_t hash; /* 0: free */
  ad_gcra_t g;
  uint64_t used_at;
} ad_bf_slot_t;

typedef struct ad_bf {
  int fd;
  size_t size;
  ad_bf_header_t *hdr;
  ad_bf_slot_t *slots;
  char boot_id[40]; /* read once: a failed read must never reset the table */
} ad_bf_t;

static size_t ad_bf_size(void) {
  return sizeof(ad_bf_header_t) + AD_BF_SLOTS * sizeof(ad_bf_slot_t);
}

static uint64_t ad_bf_hash(const char *name) {
  uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
  for (; *name; name++) {
    h ^= (unsigned char)*name;
    h *= 0x100000001b3ull;
  }
  return h != 0 ? h : 1;
}

static void ad_bf_boot_id(char out[40]) {
  FILE *fp = fopen("/proc/sys/kernel/random/boot_id", "r");
  memset(out, 0, 40);
  if (fp == NULL)
    return;
  if (fgets(out, 40, fp) == NULL)
    memset(out, 0, 40);
  fclose(fp);
}

/* Under the lock: a header from another version or boot starts over. */
static void ad_bf_check_header(ad_bf_t *f) {
  if (memcmp(f->hdr->magic, AD_BF_MAGIC, sizeof(AD_BF_MAGIC)) == 0 &&
      f->hdr->version == AD_BF_VERSION && f->hdr->nslots == AD_BF_SLOTS &&
      memcmp(f->hdr->boot_id, f->boot_id, sizeof(f->boot_id)) == 0)
    return;
  memset(f->hdr, 0, f->size);
  memcpy(f->hdr->magic, AD_BF_MAGIC, sizeof(AD_BF_MAGIC));
  f->hdr->version = AD_BF_VERSION;
  f->hdr->nslots = AD_BF_SLOTS;
  memcpy(f->hdr->boot_id, f->boot_id, sizeof(f->boot_id));
}

/* Takes the lock and checks the header; 0 when it could not be taken
 * (then nothing in the map may be touched). */
static int ad_bf_lock(ad_budget_t *b, ad_bf_t *f) {
  int rc;
  while ((rc = flock(f->fd, LOCK_EX)) != 0 && errno == EINTR)
    ;
  if (rc != 0) {
    b->degraded = 1;
    return 0;
  }
  ad_bf_check_header(f);
  return 1;
}

static void ad_bf_unlock(ad_bf_t *f) { flock(f->fd, LOCK_UN); }

static int ad_bf_stale(const ad_bf_slot_t *s, uint64_t now) {
  return s->g.blocked_until <= now && s->used_at + AD_BF_STALE_US < now &&
         s->g.tat + AD_BF_STALE_US < now;
}

/* Under the lock: key's slot, found or claimed; NULL when the table is
 * full of live keys. */
static ad_bf_slot_t *ad_bf_slot(ad_bf_t *f, ad_budget_key_t *key,
                                uint64_t now) {
  ad_bf_slot_t *s, *claim = NULL;
  uint32_t i, at;

  if (key->slot >= 0 && f->slots[key->slot].hash == key->hash)
    return &f->slots[key->slot];
  for (i = 0; i < AD_BF_SLOTS; i++) {
    at = (uint32_t)((key->hash + i) % AD_BF_SLOTS);
    s = &f->slots[at];
    if (s->hash == key->hash) {
      key->slot = at;
      return s;
    }
    if (claim == NULL && (s->hash == 0 || ad_bf_stale(s, now)))
      claim = s;
    if (s->hash == 0)
      break; /* probing never passes a free slot */
  }
  if (claim == NULL)
    return NULL;
  memset(claim, 0, sizeof(*claim));
  claim->hash = key->hash;
  key->slot = claim - f->slots;
  return claim;
}

/* Under the lock: the state to decide on, repaired if it is nonsense. */
static ad_gcra_t *ad_bf_state(ad_budget_t *b, ad_bf_t *f,
                              ad_budget_key_t *key, uint64_t now) {
  ad_bf_slot_t *s;
  if (key->name == NULL)
    return &key->local;
  if (key->hash == 0)
    key->hash = ad_bf_hash(key->name);
  s = ad_bf_slot(f, key, now);
  if (s == NULL) {
    b->degraded = 1;
    return &key->local;
  }
  if (s->g.tat > now + AD_BF_MAX_AHEAD_US)
    s->g.tat = 0;
  if (s->g.blocked_until > now + AD_BF_MAX_AHEAD_US)
    s->g.blocked_until = 0;
  if (s->g.wide_until > now + AD_GCRA_WIDE_US)
    s->g.wide_until = 0;
  s->used_at = now;
  return &s->g;
}

static int ad_bf_take(ad_budget_t *b, ad_budget_take_t *t) {
  ad_bf_t *f = b->impl;
  ad_gcra_t *g[AD_BUDGET_MAX_CHAIN];
  uint64_t now, w;
  int i;

  if (!ad_bf_lock(b, f)) {
    t->decided_at = ad_budget_now(b);
    ad_budget_take_local(t, t->decided_at);
    return AD_BUDGET_DECIDED;
  }
  now = t->decided_at = ad_budget_now(b);
  t->wait_us = 0;
  for (i = 0; i < t->n; i++) {
    g[i] = ad_bf_state(b, f, t->keys[i], now);
    w = ad_gcra_wait(g[i], t->tolerance_us, now);
    if (w > t->wait_us)
      t->wait_us = w;
  }
  for (i = 0; t->wait_us == 0 && i < t->n; i++)
    ad_gcra_take(g[i], t->keys[i]->period_us, t->tolerance_us,
                 t->keys[i]->goal, now, &t->grants[i]);
  ad_bf_unlock(f);
  return AD_BUDGET_DECIDED;
}

static void ad_bf_cancel(ad_budget_t *b, ad_budget_take_t *t) {
  (void)b;
  (void)t; /* decisions are made at once */
}

static void ad_bf_sent(ad_budget_t *b, const ad_budget_take_t *t,
                       uint64_t now) {
  ad_bf_t *f = b->impl;
  int i;

  for (i = 0; i < t->n && now <= t->grants[i].sched + t->tolerance_us; i++)
    ;
  if (i == t->n) /* every key's request left within its slot */
    return;
  if (!ad_bf_lock(b, f)) {
    ad_budget_sent_local(t, now);
    return;
  }
  for (i = 0; i < t->n; i++)
    ad_gcra_sent(ad_bf_state(b, f, t->keys[i], now), t->keys[i]->period_us,
                 t->tolerance_us, &t->grants[i], now);
  ad_bf_unlock(f);
}

static void ad_bf_block(ad_budget_t *b, ad_budget_key_t *key,
                        uint64_t delay_us) {
  ad_bf_t *f = b->impl;
  uint64_t now;

  now = ad_budget_now(b);
  if (!ad_bf_lock(b, f)) {
    ad_gcra_block(&key->local, now, delay_us);
    return;
  }
  ad_gcra_block(ad_bf_state(b, f, key, now), now, delay_us);
  ad_bf_unlock(f);
}

static void ad_bf_free(ad_bf_t *f) {
  if (f->hdr != NULL)
    munmap(f->hdr, f->size);
  if (f->fd >= 0)
    close(f->fd);
  free(f);
}

static void ad_bf_close(ad_budget_t *b, void (*done)(ad_budget_t *b)) {
  if (b->impl != NULL)
    ad_bf_free(b->impl);
  b->impl = NULL;
  if (done != NULL)
    done(b);
}

static const ad_budget_ops_t ad_budget_file_ops = {
    "file", 0, ad_bf_take, ad_bf_cancel, ad_bf_sent, ad_bf_block, ad_bf_close};

static int ad_bf_fail(ad_budget_t *b, ad_bf_t *f, const char *what,
                      const char *path, int err) {
  snprintf(b->error, sizeof(b->error), "cannot %s %s: %s", what, path,
           strerror(err));
  ad_bf_free(f);
  b->impl = NULL;
  return AD_EIO;
}

int ad_budget_file_init(ad_budget_t *b, const char *path,
                        ad_budget_clock_fn clock, void *clock_data) {
  ad_bf_t *f;
  struct stat st;
  void *map;
  int rc;

  memset(b, 0, sizeof(*b));
  b->ops = &ad_budget_file_ops;
  b->clock = clock != NULL ? clock : ad_budget_hrclock;
  b->clock_data = clock_data;
  if ((f = calloc(1, sizeof(*f))) == NULL)
    return AD_ENOMEM;
  f->fd = -1;
  f->size = ad_bf_size();
  f->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (f->fd < 0)
    return ad_bf_fail(b, f, "open", path, errno);
  if (fstat(f->fd, &st) != 0)
    return ad_bf_fail(b, f, "stat", path, errno);
  /* Growing never shrinks what another process maps; a short file is
   * zero-filled, which the header check resets. The blocks are allocated
   * now: a store into a sparse map on a full disk would be a SIGBUS. */
  if ((size_t)st.st_size < f->size &&
      (rc = posix_fallocate(f->fd, 0, (off_t)f->size)) != 0)
    return ad_bf_fail(b, f, "allocate", path, rc);
  map = mmap(NULL, f->size, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, 0);
  if (map == MAP_FAILED)
    return ad_bf_fail(b, f, "map", path, errno);
  f->hdr = map;
  f->slots = (ad_bf_slot_t *)((char *)map + sizeof(ad_bf_header_t));
  ad_bf_boot_id(f->boot_id);
  b->impl = f;
  if (!ad_bf_lock(b, f))
    return ad_bf_fail(b, f, "lock", path, errno);
  ad_bf_unlock(f);
  return 0;
}
