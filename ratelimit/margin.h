/* ad_margin: the safety margin one server needs, learned and remembered.
 *
 * A rate limit of N per window is spaced over window + margin, so that
 * the jitter between our send and the server's count (the network, a
 * server that stamps requests when a busy worker gets to them) never puts
 * N + 1 requests in the server's window. The margin starts at the
 * configured floor; a 429 at the limit proves it too small, so it widens
 * (doubles, at least +10 ms, up to the ceiling) for the rest of the run
 * and is remembered for the next run in a small JSON file in airdust's
 * state directory, under a hash of the server's URL. Runs that finish
 * with no 429 while the limits bound walk it back toward the floor (a
 * quarter of the excess each), so one bad day is not paid for forever.
 *
 * The file is read and written under an exclusive lock on a sibling
 * ".lock" file and replaced by rename, so concurrent runs never see it
 * half written. A file that cannot be read or written costs only the
 * memory of the margin: the run goes on with what it has. */
#ifndef AD_MARGIN_H
#define AD_MARGIN_H

#include <stdint.h>

typedef struct ad_margin {
  uint64_t floor_us;   /* the configured margin */
  uint64_t ceiling_us;
  uint64_t current_us; /* what keys use now */
  uint64_t remembered_us; /* what the file said at the start (0: nothing) */
  int widened;         /* times this run */
  /* Private. */
  char *path;          /* NULL: remember nothing */
  char server[24];     /* hash of the server's URL */
} ad_margin_t;

/* Loads the remembered margin of server_url from path (NULL: none).
 * current = max(floor, remembered), at most the ceiling. Returns
 * AD_ENOMEM; a missing or unreadable file is not an error. */
int ad_margin_init(ad_margin_t *m, const char *path, const char *server_url,
                   uint64_t floor_us, uint64_t ceiling_us);

/* A 429 at the limit: widens the margin, remembers it, returns it. */
uint64_t ad_margin_widen(ad_margin_t *m);

/* The run is over. `bound`: the limits held requests back at some point
 * (the margin was tested). A run with no widening that bound walks the
 * remembered margin back toward the floor. */
void ad_margin_finish(ad_margin_t *m, int bound);

void ad_margin_free(ad_margin_t *m);

#endif
