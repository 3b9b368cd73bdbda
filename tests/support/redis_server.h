/* A real redis-server for tests: on 127.0.0.1 at a free port, with no
 * persistence, in a temporary folder; stopped, killed, restarted on the
 * same port, or paused (SIGSTOP) to play an unresponsive Redis.
 *
 * Every function fails the running Check test (ck_abort_msg) when it
 * cannot do its job: a missing /usr/bin/redis-server is a failure, never
 * a skip (`make deps` installs it). */
#ifndef AD_TEST_REDIS_SERVER_H
#define AD_TEST_REDIS_SERVER_H

#include <stddef.h>
#include <sys/types.h>

#define AD_TEST_REDIS_SERVER "/usr/bin/redis-server"
#define AD_TEST_REDIS_MAX_ARGS 16

typedef struct ad_test_redis {
  pid_t pid; /* 0 while not running */
  int port;
  int paused;
  char dir[64];      /* its folder (redis.log) */
  char password[64]; /* "" for none */
  char url[160];     /* redis://[:password@]127.0.0.1:port */
  int nargs;         /* more redis-server arguments, kept for restarts */
  char args[AD_TEST_REDIS_MAX_ARGS][128];
} ad_test_redis_t;

/* Starts a server (password may be NULL) and waits, at most 5 s, until
 * it answers PING. */
void ad_test_redis_start(ad_test_redis_t *r, const char *password);

/* As ad_test_redis_start, with more redis-server arguments (args
 * NULL-terminated, at most AD_TEST_REDIS_MAX_ARGS, copied), e.g.
 * {"--maxmemory", "100mb", NULL}. */
void ad_test_redis_start_args(ad_test_redis_t *r, const char *password,
                              const char *const *args);

/* SIGTERM and wait for it to exit (a paused server is resumed first). */
void ad_test_redis_stop(ad_test_redis_t *r);

/* SIGKILL: a crash; whatever it was sent last is never answered. */
void ad_test_redis_kill(ad_test_redis_t *r);

/* Starts it again on the same port and folder (a stopped or killed one):
 * an empty Redis with a new run_id. */
void ad_test_redis_restart(ad_test_redis_t *r);

/* SIGSTOP / SIGCONT: connections stay open, nothing is answered. */
void ad_test_redis_pause(ad_test_redis_t *r);
void ad_test_redis_resume(ad_test_redis_t *r);

/* Stops it if running and removes its folder. */
void ad_test_redis_free(ad_test_redis_t *r);

/* Runs one command (argv NULL-terminated) on a blocking connection of
 * its own (authenticated when the server has a password) and writes the
 * reply into out: a status, string or error as is, an integer in
 * decimal, an array as its elements joined by ' ', nil as "(nil)". */
void ad_test_redis_cmd(ad_test_redis_t *r, char *out, size_t outlen,
                       const char *const *argv);

#endif
