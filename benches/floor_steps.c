/* What each step of cargo-coldbench's runner costs: the clone loop of benches/bare_spawn.c with
 * every step the runner adds switchable, alternated by benches/floor_steps.sh.
 *
 * usage: floor_steps [OPTION...] RUNS WARMUP PROGRAM [ARG...]     prints the median in seconds
 *   --pidfd          CLONE_PIDFD; the window ends when ppoll() on the pidfd (5 s timeout) returns;
 *                    reaped with wait4 after the window (launcher.rs run_once)
 *   --waitid         the window ends when a blocking waitid(WEXITED | WNOWAIT) returns
 *   --setpgid        the child calls setpgid(0, 0); the group is killed after the window
 *   --chdir DIR      the child calls chdir(DIR)
 *   --signals        handlers for SIGINT/SIGTERM/SIGHUP and SIGPIPE ignored, as in the runner;
 *                    all signals blocked from before the clock starts until clone returns; the
 *                    child resets the four and unblocks its mask before execve
 *   --memfd-stderr   the child's stderr is a memfd, truncated before each run
 *   --leftovers      after each reap what collect_leftovers does: killpg, read
 *                    /proc/self/task/<tid>/children, waitpid(-1, WNOHANG), killpg(pgid, 0)
 *   --subreaper      prctl(PR_SET_CHILD_SUBREAPER) first
 *   --idle-gap US    sleep US µs between runs;   --spin-gap US   spin US µs between runs
 *   --peer US        between runs a pipe round trip to a helper process that touches
 *                    --peer-kib KiB (default 64) and spins until US µs have passed (the main process)
 *   --two-writes     the helper asks with two writes, as Runner::send does ("run N", then "\n")
 *   --pin-parent CPU, --pin-child CPU (the child pins itself before exec, as --pin does)
 *   --bloat MIB      the parent touches MIB MiB of heap first
 *   --percpu         (with --pidfd or --waitid) on stderr: runs whose child last ran on the CPU
 *                    the parent woke on */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

extern char **environ;

static struct {
    int pidfd, waitid_end, setpgid, signals, memfd_stderr, leftovers, subreaper, peer, two_writes, percpu;
    const char *chdir_to;
    long idle_gap_us, spin_gap_us, peer_us, peer_kib, bloat_mib;
    int pin_parent, pin_child;
} opt = {.peer_kib = 64, .pin_parent = -1, .pin_child = -1};

static const int handled[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
static char *volatile bloat;
static int to_peer = -1, from_peer = -1;

struct child_args {
    char **argv;
    int fds[3];
    cpu_set_t *cpu;
};

static int child(void *arg) {
    struct child_args *a = arg;
    if (opt.setpgid && setpgid(0, 0) != 0) _exit(127);
    for (int fd = 0; fd < 3; fd++)
        if (dup2(a->fds[fd], fd) < 0) _exit(127);
    if (opt.chdir_to && chdir(opt.chdir_to) != 0) _exit(127);
    if (a->cpu && sched_setaffinity(0, sizeof(cpu_set_t), a->cpu) != 0) _exit(127);
    if (opt.signals) {
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        for (size_t i = 0; i < sizeof handled / sizeof handled[0]; i++) sigaction(handled[i], &dfl, NULL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
    }
    execve(a->argv[0], a->argv, environ);
    _exit(127);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void spin_us(long us) {
    double end = now() + (double)us * 1e-6;
    while (now() < end) {
    }
}

static void on_signal(int s) { _exit(128 + s); }

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static const char *value(int argc, char **argv, int *a) {
    if (*a + 1 >= argc) {
        fprintf(stderr, "%s needs a value\n", argv[*a]);
        exit(2);
    }
    return argv[++*a];
}

static void start_peer(void) {
    int down[2], up[2];
    if (pipe(down) != 0 || pipe(up) != 0) {
        perror("pipe");
        exit(1);
    }
    pid_t p = fork();
    if (p < 0) {
        perror("fork");
        exit(1);
    }
    if (p == 0) {
        close(down[1]);
        close(up[0]);
        size_t bytes = (size_t)opt.peer_kib * 1024;
        volatile char *buf = malloc(bytes + 64);
        char c;
        while (read(down[0], &c, 1) == 1) {
            double end = now() + (double)opt.peer_us * 1e-6;
            for (size_t i = 0; i < bytes; i += 64) buf[i]++;
            while (now() < end) {
            }
            if (opt.two_writes) {
                if (write(up[1], "r", 1) != 1 || write(up[1], "\n", 1) != 1) _exit(1);
            } else if (write(up[1], "r\n", 2) != 2) {
                _exit(1);
            }
        }
        _exit(0);
    }
    close(down[0]);
    close(up[1]);
    to_peer = down[1];
    from_peer = up[0];
}

static void peer_round_trip(void) {
    char buf[16];
    if (write(to_peer, "x", 1) != 1) {
        perror("write");
        exit(1);
    }
    for (;;) {
        ssize_t n = read(from_peer, buf, sizeof buf);
        if (n <= 0) {
            perror("read");
            exit(1);
        }
        if (memchr(buf, '\n', (size_t)n)) return;
    }
}

static void leftovers(pid_t pgid) {
    if (opt.setpgid) killpg(pgid, SIGKILL);
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    char path[320], buf[256];
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "/proc/self/task/%s/children", e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        while (read(fd, buf, sizeof buf) > 0) {
        }
        close(fd);
    }
    if (d) closedir(d);
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    if (opt.setpgid) killpg(pgid, 0);
}

/* The CPU a (zombie) process last ran on: field 39 of /proc/PID/stat. */
static int last_cpu(pid_t pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p) return -1;
    p += 2; /* field 3 */
    for (int field = 3; field < 39 && p; field++) {
        p = strchr(p, ' ');
        if (p) p++;
    }
    return p ? atoi(p) : -1;
}

int main(int argc, char **argv) {
    int a = 1;
    for (; a < argc && strncmp(argv[a], "--", 2) == 0; a++) {
        const char *o = argv[a];
        if (!strcmp(o, "--pidfd")) opt.pidfd = 1;
        else if (!strcmp(o, "--waitid")) opt.waitid_end = 1;
        else if (!strcmp(o, "--setpgid")) opt.setpgid = 1;
        else if (!strcmp(o, "--chdir")) opt.chdir_to = value(argc, argv, &a);
        else if (!strcmp(o, "--signals")) opt.signals = 1;
        else if (!strcmp(o, "--memfd-stderr")) opt.memfd_stderr = 1;
        else if (!strcmp(o, "--leftovers")) opt.leftovers = 1;
        else if (!strcmp(o, "--subreaper")) opt.subreaper = 1;
        else if (!strcmp(o, "--idle-gap")) opt.idle_gap_us = atol(value(argc, argv, &a));
        else if (!strcmp(o, "--spin-gap")) opt.spin_gap_us = atol(value(argc, argv, &a));
        else if (!strcmp(o, "--peer")) { opt.peer = 1; opt.peer_us = atol(value(argc, argv, &a)); }
        else if (!strcmp(o, "--peer-kib")) opt.peer_kib = atol(value(argc, argv, &a));
        else if (!strcmp(o, "--two-writes")) opt.two_writes = 1;
        else if (!strcmp(o, "--pin-parent")) opt.pin_parent = atoi(value(argc, argv, &a));
        else if (!strcmp(o, "--pin-child")) opt.pin_child = atoi(value(argc, argv, &a));
        else if (!strcmp(o, "--bloat")) opt.bloat_mib = atol(value(argc, argv, &a));
        else if (!strcmp(o, "--percpu")) opt.percpu = 1;
        else { fprintf(stderr, "unknown option %s\n", o); return 2; }
    }
    if (argc - a < 3) {
        fprintf(stderr, "usage: %s [OPTION...] RUNS WARMUP PROGRAM [ARG...]\n", argv[0]);
        return 2;
    }
    int runs = atoi(argv[a]), warmup = atoi(argv[a + 1]);
    char **prog = argv + a + 2;
    if (runs < 1 || warmup < 0) return 2;

    if (opt.peer) start_peer(); /* before any pinning: the helper floats, as the main process does */
    if (opt.subreaper) prctl(PR_SET_CHILD_SUBREAPER, 1);
    if (opt.idle_gap_us) prctl(PR_SET_TIMERSLACK, 1);
    if (opt.signals) {
        struct sigaction h;
        memset(&h, 0, sizeof h);
        h.sa_handler = on_signal;
        sigemptyset(&h.sa_mask);
        sigaction(SIGINT, &h, NULL);
        sigaction(SIGTERM, &h, NULL);
        sigaction(SIGHUP, &h, NULL);
        signal(SIGPIPE, SIG_IGN);
    }
    if (opt.bloat_mib > 0) {
        size_t b = (size_t)opt.bloat_mib << 20;
        bloat = malloc(b);
        if (!bloat) return 1;
        memset(bloat, 1, b);
    }
    cpu_set_t parent_set, child_set;
    if (opt.pin_parent >= 0) {
        CPU_ZERO(&parent_set);
        CPU_SET(opt.pin_parent, &parent_set);
        if (sched_setaffinity(0, sizeof parent_set, &parent_set) != 0) { perror("sched_setaffinity"); return 1; }
    }
    if (opt.pin_child >= 0) {
        CPU_ZERO(&child_set);
        CPU_SET(opt.pin_child, &child_set);
    }
    size_t stack_size = 64 * 1024;
    char *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) { perror("mmap"); return 1; }
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    int err_fd = opt.memfd_stderr ? memfd_create("stderr", MFD_CLOEXEC) : null;
    if (null < 0 || err_fd < 0) { perror("open"); return 1; }
    struct child_args args = {prog, {null, null, err_fd}, opt.pin_child >= 0 ? &child_set : NULL};
    double *times = malloc(sizeof(double) * (size_t)runs);
    int same_cpu = 0, counted = 0;
    int flags = CLONE_VM | CLONE_VFORK | SIGCHLD | (opt.pidfd ? CLONE_PIDFD : 0);

    for (int i = -warmup; i < runs; i++) {
        if (opt.memfd_stderr) {
            if (ftruncate(err_fd, 0) != 0 || lseek(err_fd, 0, SEEK_SET) != 0) { perror("ftruncate"); return 1; }
        }
        sigset_t all, old;
        if (opt.signals) {
            sigfillset(&all);
            sigprocmask(SIG_SETMASK, &all, &old);
        }
        int pidfd = -1, status = 0;
        struct rusage usage;
        double end = 0;
        double start = now();
        pid_t pid = clone(child, stack + stack_size, flags, &args, &pidfd, NULL, NULL);
        if (pid < 0) { perror("clone"); return 1; }
        if (opt.signals) sigprocmask(SIG_SETMASK, &old, NULL);
        if (opt.pidfd || opt.waitid_end) {
            if (opt.pidfd) {
                struct pollfd p = {.fd = pidfd, .events = POLLIN};
                struct timespec five = {5, 0};
                while (ppoll(&p, 1, &five, NULL) < 0 && errno == EINTR) {
                }
            } else {
                siginfo_t info;
                while (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) < 0 && errno == EINTR) {
                }
            }
            end = now();
            int woke_on = sched_getcpu();
            if (opt.percpu && i >= 0) {
                counted++;
                same_cpu += last_cpu(pid) == woke_on;
            }
            if (opt.setpgid) killpg(pid, SIGKILL); /* the group, while the leader is a zombie */
            if (wait4(pid, &status, 0, &usage) != pid) { perror("wait4"); return 1; }
        } else {
            if (wait4(pid, &status, 0, &usage) != pid) { perror("wait4"); return 1; }
            end = now();
        }
        if (pidfd >= 0) close(pidfd);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "%s failed (status %d)\n", prog[0], status);
            return 1;
        }
        if (i >= 0) times[i] = end - start;
        if (opt.leftovers) leftovers(pid);
        if (opt.spin_gap_us) spin_us(opt.spin_gap_us);
        if (opt.idle_gap_us) {
            struct timespec g = {opt.idle_gap_us / 1000000, (opt.idle_gap_us % 1000000) * 1000};
            nanosleep(&g, NULL);
        }
        if (opt.peer) peer_round_trip();
    }
    qsort(times, (size_t)runs, sizeof(double), by_value);
    double median = runs % 2 ? times[runs / 2] : (times[runs / 2 - 1] + times[runs / 2]) / 2.0;
    printf("%.9f\n", median);
    if (opt.percpu) fprintf(stderr, "child last ran on the CPU the parent woke on in %d of %d runs\n", same_cpu, counted);
    return 0;
}
