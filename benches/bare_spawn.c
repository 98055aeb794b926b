/* The physical floor of a spawn-based start timer: a spawn + wait4 in a loop, nothing else.
 *
 * usage: bare_spawn [--clone] RUNS WARMUP PROGRAM [ARG...]
 * Spawns PROGRAM (no PATH lookup, no shell) with stdin, stdout and stderr on /dev/null (opened
 * once), times each run from just before the spawn to the return of wait4 with CLOCK_MONOTONIC,
 * and prints the median of the RUNS measured runs in seconds. WARMUP runs come first and are not
 * counted. The spawn is glibc's posix_spawn, or with --clone a clone(CLONE_VM | CLONE_VFORK) on a
 * stack allocated once whose child only dup2s the descriptors and execs (no signal resets: this
 * program installs no handlers). Built by benches/harness_floor.sh (gcc -O2). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <spawn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

struct child_args {
    char **argv;
    int null;
};

static int child(void *arg) {
    struct child_args *a = arg;
    for (int fd = 0; fd < 3; fd++)
        if (dup2(a->null, fd) < 0) _exit(127);
    execve(a->argv[0], a->argv, environ);
    _exit(127);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    int use_clone = argc > 1 && strcmp(argv[1], "--clone") == 0;
    if (use_clone) {
        argv++;
        argc--;
    }
    if (argc < 4) {
        fprintf(stderr, "usage: %s [--clone] RUNS WARMUP PROGRAM [ARG...]\n", argv[0]);
        return 2;
    }
    size_t stack_size = 64 * 1024;
    char *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    int runs = atoi(argv[1]), warmup = atoi(argv[2]);
    if (runs < 1 || warmup < 0) {
        fprintf(stderr, "RUNS must be at least 1 and WARMUP at least 0\n");
        return 2;
    }
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    for (int fd = 0; fd < 3; fd++) posix_spawn_file_actions_adddup2(&actions, null, fd);
    double *times = malloc(sizeof(double) * (size_t)runs);
    for (int i = -warmup; i < runs; i++) {
        pid_t pid;
        int status;
        struct rusage usage;
        struct child_args args = {argv + 3, null};
        double start = now();
        int err = 0;
        if (use_clone) {
            pid = clone(child, stack + stack_size, CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
            if (pid < 0) err = errno;
        } else {
            err = posix_spawn(&pid, argv[3], &actions, NULL, argv + 3, environ);
        }
        if (err != 0) {
            fprintf(stderr, "posix_spawn %s: error %d\n", argv[3], err);
            return 1;
        }
        if (wait4(pid, &status, 0, &usage) != pid) {
            perror("wait4");
            return 1;
        }
        double end = now();
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "%s failed (status %d)\n", argv[3], status);
            return 1;
        }
        if (i >= 0) times[i] = end - start;
    }
    qsort(times, (size_t)runs, sizeof(double), by_value);
    double median = runs % 2 ? times[runs / 2] : (times[runs / 2 - 1] + times[runs / 2]) / 2.0;
    printf("%.9f\n", median);
    return 0;
}
