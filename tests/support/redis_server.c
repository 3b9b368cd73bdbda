#include "redis_server.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "testutil.h"

#define AD_TEST_REDIS_WAIT_MS 5000

static void ad_test_redis_sleep_ms(long ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (ms % 1000) * 1000000L;
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

static uint64_t ad_test_redis_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A blocking connection, authenticated; NULL (and why in err) if none. */
static redisContext *ad_test_redis_connect(const ad_test_redis_t *r, char *err,
                                           size_t errlen) {
  struct timeval tv = {1, 0};
  redisContext *c = redisConnectWithTimeout("127.0.0.1", r->port, tv);
  redisReply *reply;

  if (c == NULL || c->err) {
    snprintf(err, errlen, "%s", c != NULL ? c->errstr : "out of memory");
    if (c != NULL)
      redisFree(c);
    return NULL;
  }
  redisSetTimeout(c, tv);
  if (r->password[0] != '\0') {
    reply = redisCommand(c, "AUTH %s", r->password);
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
      snprintf(err, errlen, "AUTH failed");
      if (reply != NULL)
        freeReplyObject(reply);
      redisFree(c);
      return NULL;
    }
    freeReplyObject(reply);
  }
  return c;
}

/* PING until it answers (or the server died, or 5 s passed). */
static void ad_test_redis_wait_ready(ad_test_redis_t *r) {
  uint64_t end = ad_test_redis_ms() + AD_TEST_REDIS_WAIT_MS;
  char err[160] = "";
  redisContext *c;
  redisReply *reply;
  int status;

  for (;;) {
    if (waitpid(r->pid, &status, WNOHANG) == r->pid) {
      r->pid = 0;
      ck_abort_msg("redis-server on port %d exited at start (status %d); "
                   "see %s/redis.log",
                   r->port, status, r->dir);
    }
    if ((c = ad_test_redis_connect(r, err, sizeof(err))) != NULL) {
      reply = redisCommand(c, "PING");
      if (reply != NULL && reply->type == REDIS_REPLY_STATUS &&
          strcmp(reply->str, "PONG") == 0) {
        freeReplyObject(reply);
        redisFree(c);
        return;
      }
      snprintf(err, sizeof(err), "PING: %s",
               reply != NULL && reply->str != NULL ? reply->str : c->errstr);
      if (reply != NULL)
        freeReplyObject(reply);
      redisFree(c);
    }
    if (ad_test_redis_ms() > end)
      ck_abort_msg("redis-server on port %d did not answer within %d ms: %s",
                   r->port, AD_TEST_REDIS_WAIT_MS, err);
    ad_test_redis_sleep_ms(20);
  }
}

static void ad_test_redis_spawn(ad_test_redis_t *r) {
  char port[16], log[128];
  const char *argv[20 + AD_TEST_REDIS_MAX_ARGS];
  int n = 0, fd, i;
  pid_t pid;

  if (access(AD_TEST_REDIS_SERVER, X_OK) != 0)
    ck_abort_msg(AD_TEST_REDIS_SERVER
                 " is missing: install redis-server "
                 "(make deps does) to run the Redis budget tests");
  snprintf(port, sizeof(port), "%d", r->port);
  snprintf(log, sizeof(log), "%s/redis.log", r->dir);
  argv[n++] = AD_TEST_REDIS_SERVER;
  argv[n++] = "--port";
  argv[n++] = port;
  argv[n++] = "--bind";
  argv[n++] = "127.0.0.1";
  argv[n++] = "--save";
  argv[n++] = "";
  argv[n++] = "--appendonly";
  argv[n++] = "no";
  argv[n++] = "--dir";
  argv[n++] = r->dir;
  argv[n++] = "--logfile";
  argv[n++] = log;
  argv[n++] = "--daemonize";
  argv[n++] = "no";
  if (r->password[0] != '\0') {
    argv[n++] = "--requirepass";
    argv[n++] = r->password;
  }
  for (i = 0; i < r->nargs; i++)
    argv[n++] = r->args[i];
  argv[n] = NULL;
  pid = fork();
  ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
  if (pid == 0) {
    /* Dies with the test, whatever way the test ends. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if ((fd = open("/dev/null", O_RDWR)) >= 0) {
      dup2(fd, 0);
      dup2(fd, 1);
      dup2(fd, 2);
      if (fd > 2)
        close(fd);
    }
    execv(AD_TEST_REDIS_SERVER, (char *const *)argv);
    _exit(127);
  }
  r->pid = pid;
  r->paused = 0;
  ad_test_redis_wait_ready(r);
}

void ad_test_redis_start(ad_test_redis_t *r, const char *password) {
  ad_test_redis_start_args(r, password, NULL);
}

void ad_test_redis_start_args(ad_test_redis_t *r, const char *password,
                              const char *const *args) {
  memset(r, 0, sizeof(*r));
  while (args != NULL && args[r->nargs] != NULL) {
    ck_assert_int_lt(r->nargs, AD_TEST_REDIS_MAX_ARGS);
    ck_assert_uint_lt(strlen(args[r->nargs]), sizeof(r->args[0]));
    snprintf(r->args[r->nargs], sizeof(r->args[0]), "%s", args[r->nargs]);
    r->nargs++;
  }
  snprintf(r->dir, sizeof(r->dir), "/tmp/ad_redis.XXXXXX");
  ck_assert_msg(mkdtemp(r->dir) != NULL, "mkdtemp: %s", strerror(errno));
  if (password != NULL)
    snprintf(r->password, sizeof(r->password), "%s", password);
  r->port = ad_test_free_port();
  ck_assert_int_gt(r->port, 0);
  if (r->password[0] != '\0')
    snprintf(r->url, sizeof(r->url), "redis://:%s@127.0.0.1:%d", r->password,
             r->port);
  else
    snprintf(r->url, sizeof(r->url), "redis://127.0.0.1:%d", r->port);
  ad_test_redis_spawn(r);
}

static void ad_test_redis_reap(ad_test_redis_t *r, int sig) {
  uint64_t end;
  int status;

  if (r->pid <= 0)
    return;
  kill(r->pid, sig);
  if (r->paused && sig != SIGKILL)
    kill(r->pid, SIGCONT);
  end = ad_test_redis_ms() + AD_TEST_REDIS_WAIT_MS;
  while (waitpid(r->pid, &status, WNOHANG) == 0) {
    if (ad_test_redis_ms() > end) {
      kill(r->pid, SIGKILL);
      waitpid(r->pid, &status, 0);
      break;
    }
    ad_test_redis_sleep_ms(5);
  }
  r->pid = 0;
  r->paused = 0;
}

void ad_test_redis_stop(ad_test_redis_t *r) { ad_test_redis_reap(r, SIGTERM); }

void ad_test_redis_kill(ad_test_redis_t *r) { ad_test_redis_reap(r, SIGKILL); }

void ad_test_redis_restart(ad_test_redis_t *r) {
  ck_assert_msg(r->pid == 0, "restart: redis-server still running");
  ad_test_redis_spawn(r);
}

void ad_test_redis_pause(ad_test_redis_t *r) {
  ck_assert_int_gt(r->pid, 0);
  ck_assert_int_eq(kill(r->pid, SIGSTOP), 0);
  r->paused = 1;
}

void ad_test_redis_resume(ad_test_redis_t *r) {
  ck_assert_int_gt(r->pid, 0);
  ck_assert_int_eq(kill(r->pid, SIGCONT), 0);
  r->paused = 0;
}

void ad_test_redis_free(ad_test_redis_t *r) {
  char path[384];
  struct dirent *e;
  DIR *d;

  ad_test_redis_stop(r);
  if (r->dir[0] == '\0')
    return;
  if ((d = opendir(r->dir)) != NULL) {
    while ((e = readdir(d)) != NULL) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
        continue;
      snprintf(path, sizeof(path), "%s/%s", r->dir, e->d_name);
      unlink(path);
    }
    closedir(d);
  }
  rmdir(r->dir);
  r->dir[0] = '\0';
}

static void ad_test_redis_text(const redisReply *reply, char *out,
                               size_t outlen) {
  size_t i, used;

  switch (reply->type) {
  case REDIS_REPLY_INTEGER:
    snprintf(out, outlen, "%lld", reply->integer);
    break;
  case REDIS_REPLY_NIL:
    snprintf(out, outlen, "(nil)");
    break;
  case REDIS_REPLY_ARRAY:
    out[0] = '\0';
    for (i = 0; i < reply->elements; i++) {
      used = strlen(out);
      if (i > 0 && used + 1 < outlen) {
        out[used++] = ' ';
        out[used] = '\0';
      }
      ad_test_redis_text(reply->element[i], out + used, outlen - used);
    }
    break;
  default:
    snprintf(out, outlen, "%s", reply->str != NULL ? reply->str : "");
    break;
  }
}

void ad_test_redis_cmd(ad_test_redis_t *r, char *out, size_t outlen,
                       const char *const *argv) {
  char err[160];
  redisContext *c = ad_test_redis_connect(r, err, sizeof(err));
  redisReply *reply;
  int argc = 0;

  ck_assert_msg(c != NULL, "cannot reach redis-server on port %d: %s", r->port,
                err);
  while (argv[argc] != NULL)
    argc++;
  reply = redisCommandArgv(c, argc, (const char **)argv, NULL);
  ck_assert_msg(reply != NULL, "redis-server on port %d: %s", r->port,
                c->errstr);
  ad_test_redis_text(reply, out, outlen);
  freeReplyObject(reply);
  redisFree(c);
}
