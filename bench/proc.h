/* ad_proc: the benchmarks' child processes.
 *
 * Servers (the fakes) run with their stdout on a pipe: the first line they
 * print is their URL, the last one (after SIGTERM) their counters. The
 * measured program runs to completion under wait4(), which gives its own
 * CPU time and peak RSS, apart from every other process. */
#ifndef AD_BENCH_PROC_H
#define AD_BENCH_PROC_H

#include <stddef.h>
#include <sys/types.h>

#include <json-c/json.h>

typedef struct ad_proc {
  pid_t pid;
  int out_fd; /* the child's stdout */
} ad_proc_t;

typedef struct ad_proc_usage {
  double wall_s;  /* spawn to exit */
  double start_s; /* the spawn, in s on CLOCK_MONOTONIC */
  double cpu_s;   /* user + system, of that process alone */
  long maxrss_kb; /* its peak resident set */
  int status;     /* exit status, or 128 + signal */
} ad_proc_usage_t;

/* Starts argv[0] (a path) with stdout on a pipe and stderr appended to
 * log_path, and copies the first line it prints (without the newline) into
 * line. Returns 0, or -1 with the reason on stderr (the child is reaped). */
int ad_proc_start(ad_proc_t *proc, char *const argv[], const char *log_path,
                  char *line, size_t linelen);

/* Sends SIGTERM, reads the rest of the child's stdout and reaps it.
 * Returns the last line parsed as JSON (the caller puts it), or NULL. */
json_object *ad_proc_stop(ad_proc_t *proc);

/* Runs argv[0] to completion with stdout and stderr appended to log_path.
 * Returns 0 once it has exited (whatever its status), -1 if it could not
 * be started. */
int ad_proc_run(char *const argv[], const char *log_path, ad_proc_usage_t *u);

/* The two halves of ad_proc_run, for programs measured side by side:
 * launch notes the start in u; reap waits for pid and fills the rest. */
int ad_proc_launch(char *const argv[], const char *log_path, pid_t *pid,
                   ad_proc_usage_t *u);
int ad_proc_reap(pid_t pid, ad_proc_usage_t *u);

/* Starts argv[0] (a server that prints no URL, such as redis-server) with
 * stdout and stderr appended to log_path, and waits up to 5 s until
 * 127.0.0.1:port accepts connections. 0, or -1 (the child is reaped). */
int ad_proc_serve(ad_proc_t *proc, char *const argv[], const char *log_path,
                  int port);

/* SIGTERM and reap, for ad_proc_serve's servers. */
void ad_proc_end(ad_proc_t *proc);

/* A loopback port nothing listens on now. */
int ad_proc_free_port(void);

#endif
