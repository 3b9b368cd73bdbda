#include "proc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double ad_proc_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int ad_proc_status(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Spawns argv with stdout to out_fd (or the log) and stderr to the log. */
static int ad_proc_spawn(pid_t *pid, char *const argv[], int out_fd,
                         const char *log_path) {
  posix_spawn_file_actions_t fa;
  int rc;

  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 2, log_path,
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (out_fd >= 0)
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  else
    posix_spawn_file_actions_adddup2(&fa, 2, 1);
  rc = posix_spawn(pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0)
    fprintf(stderr, "bench: cannot start %s: %s\n", argv[0], strerror(rc));
  return rc == 0 ? 0 : -1;
}

/* Reads one line; 0, or -1 at end of file. */
static int ad_proc_line(int fd, char *line, size_t len) {
  size_t n = 0;
  char c;
  ssize_t r;

  while ((r = read(fd, &c, 1)) == 1 || (r < 0 && errno == EINTR)) {
    if (r < 0)
      continue;
    if (c == '\n')
      break;
    if (n + 1 < len)
      line[n++] = c;
  }
  line[n] = '\0';
  return r == 1 || n > 0 ? 0 : -1;
}

int ad_proc_start(ad_proc_t *proc, char *const argv[], const char *log_path,
                  char *line, size_t linelen) {
  int fds[2], status;

  if (pipe(fds) != 0) {
    perror("bench: pipe");
    return -1;
  }
  fcntl(fds[0], F_SETFD, FD_CLOEXEC);
  if (ad_proc_spawn(&proc->pid, argv, fds[1], log_path) != 0) {
    close(fds[0]);
    close(fds[1]);
    return -1;
  }
  close(fds[1]);
  proc->out_fd = fds[0];
  if (ad_proc_line(proc->out_fd, line, linelen) == 0 && line[0] != '\0')
    return 0;
  fprintf(stderr, "bench: %s printed no URL (see %s)\n", argv[0], log_path);
  close(proc->out_fd);
  kill(proc->pid, SIGKILL);
  waitpid(proc->pid, &status, 0);
  return -1;
}

json_object *ad_proc_stop(ad_proc_t *proc) {
  char line[8192], last[8192] = "";
  int status;

  kill(proc->pid, SIGTERM);
  while (ad_proc_line(proc->out_fd, line, sizeof(line)) == 0)
    if (line[0] != '\0')
      memcpy(last, line, sizeof(last));
  close(proc->out_fd);
  waitpid(proc->pid, &status, 0);
  return json_tokener_parse(last);
}

int ad_proc_launch(char *const argv[], const char *log_path, pid_t *pid,
                   ad_proc_usage_t *u) {
  u->start_s = ad_proc_now();
  return ad_proc_spawn(pid, argv, -1, log_path);
}

int ad_proc_run(char *const argv[], const char *log_path, ad_proc_usage_t *u) {
  pid_t pid;
  if (ad_proc_launch(argv, log_path, &pid, u) != 0)
    return -1;
  return ad_proc_reap(pid, u);
}

int ad_proc_free_port(void) {
  struct sockaddr_in a;
  socklen_t len = sizeof(a);
  int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &len) == 0)
    port = ntohs(a.sin_port);
  if (fd >= 0)
    close(fd);
  return port;
}

static int ad_proc_accepts(int port) {
  struct sockaddr_in a;
  int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons((uint16_t)port);
  ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
  if (fd >= 0)
    close(fd);
  return ok;
}

int ad_proc_serve(ad_proc_t *proc, char *const argv[], const char *log_path,
                  int port) {
  int i, status;

  proc->out_fd = -1;
  if (ad_proc_spawn(&proc->pid, argv, -1, log_path) != 0)
    return -1;
  for (i = 0; i < 500; i++) {
    if (ad_proc_accepts(port))
      return 0;
    if (waitpid(proc->pid, &status, WNOHANG) == proc->pid)
      break;
    usleep(10000);
  }
  fprintf(stderr, "bench: %s did not listen on %d (see %s)\n", argv[0], port,
          log_path);
  kill(proc->pid, SIGKILL);
  waitpid(proc->pid, &status, 0);
  return -1;
}

void ad_proc_end(ad_proc_t *proc) {
  int status;
  kill(proc->pid, SIGTERM);
  waitpid(proc->pid, &status, 0);
}

int ad_proc_reap(pid_t pid, ad_proc_usage_t *u) {
  struct rusage ru;
  double start = u->start_s;
  int status;

  while (wait4(pid, &status, 0, &ru) < 0)
    if (errno != EINTR)
      return -1;
  u->wall_s = ad_proc_now() - start;
  u->cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
             (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
  u->maxrss_kb = ru.ru_maxrss;
  u->status = ad_proc_status(status);
  return 0;
}
