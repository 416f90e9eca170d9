/*
 * pidlab's native agent: one task of a LiveKernel(agent="native") sandbox.
 *
 * The same job as agent.py's request loop, for the calls that make a process's
 * life (clone without CLONE_VM, exit, exit_group, wait4, waitid) and for plain
 * system calls whose arguments are integers (kill, getpid, setsid, pidfd_open,
 * close, unshare, setns, prctl ...).  live/native.py builds it with the C compiler at first use and
 * speaks its protocol; every other call is refused there, before it is sent.
 *
 * A Python agent's fork copies an interpreter (about 18 MB of mappings, then
 * copy-on-write faults on every reference count it touches): 1.7 ms per fork,
 * exit and wait.  This one is a few pages.
 *
 * Like agent.py it creates no helper thread or process, keeps its own files
 * above RLIMIT_NOFILE's soft limit (the scenario's numbers never move), and
 * reports each call's own errno.
 *
 * Protocol (native byte order, x86_64): a message is a 32-bit length, then
 * that many bytes of 64-bit integers.
 *   request: seq, op, nargs, args[nargs]
 *   reply:   seq, kind, values...   kind: OK (values), ERR (errno), BLOCK
 *   hello:   0, HELLO, host pid, host tid      (first message of every agent)
 *
 * argv: agent REQ REP HOSTPROC TOP NAME
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

enum { OP_CLONE = 1, OP_CLOSE_CHANNEL, OP_EXIT, OP_EXIT_GROUP, OP_SYS, OP_WAIT4, OP_WAITID,
       OP_PRCTL_GET };
enum { OK = 0, ERR = 1, BLOCK = 2, HELLO = 3 };

#define HIDDEN 128          /* slots reserved at the top of the fd space (agent.py) */
#define USER_NOFILE 1024    /* the scenario's soft RLIMIT_NOFILE (agent.py) */
#define MAX_ARGS 8

static int req_fd, rep_fd, hostproc_fd, top;

static void die(void) { syscall(SYS_exit_group, 0); }

static void read_exact(void *buf, size_t n)
{
    char *p = buf;
    while (n) {
        ssize_t r = read(req_fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            die();          /* the controller is gone */
        p += r;
        n -= (size_t)r;
    }
}

static void send_reply(const int64_t *vals, uint32_t n)
{
    char buf[4 + 8 * 8];
    uint32_t len = n * 8;
    memcpy(buf, &len, 4);
    memcpy(buf + 4, vals, len);
    size_t left = 4 + len;
    char *p = buf;
    while (left) {
        ssize_t w = write(rep_fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            die();
        p += w;
        left -= (size_t)w;
    }
}

static void reply(int64_t seq, int64_t kind, int64_t a, int64_t b, uint32_t nvals)
{
    int64_t v[4] = {seq, kind, a, b};
    send_reply(v, 2 + nvals);
}

static void hello(void)
{
    /* The host's /proc (the controller's pid namespace) names this thread. */
    char link[64] = {0};
    long pid = 0, tid = 0;
    ssize_t n = readlinkat(hostproc_fd, "thread-self", link, sizeof link - 1);
    if (n <= 0 || sscanf(link, "%ld/task/%ld", &pid, &tid) != 2)
        die();
    reply(0, HELLO, pid, tid, 2);
}

static int user_nofile(void) { return top - HIDDEN + 1 < USER_NOFILE ? top - HIDDEN + 1 : USER_NOFILE; }

static void nofile(rlim_t soft)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = soft < rl.rlim_max ? soft : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}

/* A pipe whose ends sit at the hidden slots r and w (close-on-exec).  Its first
 * numbers are the lowest free ones, for a moment, as with agent.py's pipe_at. */
static int pipe_at(int r, int w)
{
    int p[2];
    if (pipe(p) < 0)
        return -1;
    nofile((rlim_t)top + 1);
    int ok = dup3(p[0], r, O_CLOEXEC) >= 0 && dup3(p[1], w, O_CLOEXEC) >= 0;
    int e = errno;
    nofile((rlim_t)user_nofile());
    close(p[0]);
    close(p[1]);
    errno = e;
    return ok ? 0 : -1;
}

static void become_child(int req_slot, int rep_slot)
{
    nofile((rlim_t)top + 1);
    dup3(req_slot, top - 1, O_CLOEXEC);
    dup3(rep_slot, top - 2, O_CLOEXEC);
    /* The scratch slots and whatever else sat below the channel (close_range: 5.9+). */
    if (syscall(SYS_close_range, top - HIDDEN + 1, top - 3, 0) < 0)
        for (int fd = top - HIDDEN + 1; fd < top - 2; fd++)
            close(fd);
    nofile((rlim_t)user_nofile());
    req_fd = top - 1;
    rep_fd = top - 2;
    hello();
}

/* clone3 without CLONE_VM: the child continues in this loop with its own channel. */
static void op_clone(int64_t seq, const int64_t *a)
{
    int s = top - HIDDEN + 1;               /* the scratch slots, as agent.py's Env.scratch */
    if (pipe_at(s, s + 1) < 0 || pipe_at(s + 2, s + 3) < 0) {
        int e = errno;
        for (int fd = s; fd < s + 4; fd++)
            close(fd);
        reply(seq, ERR, e, 0, 1);
        return;
    }
    int pidfd = -1;
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = (uint64_t)a[0];
    args.exit_signal = (uint64_t)a[1];
    if (a[2]) {
        args.flags |= CLONE_PIDFD;
        args.pidfd = (uint64_t)(uintptr_t)&pidfd;
    }
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0) {
        int e = errno;
        for (int fd = s; fd < s + 4; fd++)
            close(fd);
        reply(seq, ERR, e, 0, 1);
        return;
    }
    if (pid == 0) {
        become_child(s, s + 3);
        return;
    }
    int64_t v[5] = {seq, OK, pid, pidfd, s};     /* s: where the child's channel is */
    send_reply(v, 5);
}

static void op_wait4(int64_t seq, const int64_t *a)
{
    int status = 0;
    int options = (int)a[1];
    long r = syscall(SYS_wait4, (pid_t)a[0], &status, options | WNOHANG, NULL);
    if (r < 0)
        reply(seq, ERR, errno, 0, 1);
    else if (r == 0 && !(options & WNOHANG))
        reply(seq, BLOCK, 0, 0, 0);     /* it would sleep: pidlab.WouldBlock */
    else
        reply(seq, OK, r, r > 0 ? status : 0, 2);
}

static void op_waitid(int64_t seq, const int64_t *a)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int idtype = (int)a[0], options = (int)a[2];
    int implied = 0;
    if (idtype == P_PIDFD && !(options & WNOHANG)) {
        int fl = fcntl((int)a[1], F_GETFL);
        implied = fl < 0 || (fl & O_NONBLOCK);  /* not an fd: it fails without blocking */
    }
    int nohang = (options & WNOHANG) || implied;
    long r = syscall(SYS_waitid, idtype, (int)a[1], &info, nohang ? options : options | WNOHANG,
                     NULL);
    if (r < 0) {
        reply(seq, ERR, errno, 0, 1);
        return;
    }
    if (info.si_pid == 0 && !nohang) {
        reply(seq, BLOCK, 0, 0, 0);
        return;
    }
    int64_t v[7] = {seq, OK, info.si_pid, info.si_uid, info.si_signo, info.si_status,
                    info.si_code};
    send_reply(v, 7);
}

static void serve(void)
{
    hello();
    for (;;) {
        uint32_t len;
        int64_t msg[3 + MAX_ARGS] = {0};
        read_exact(&len, 4);
        if (len < 24 || len > sizeof msg || len % 8)
            die();          /* not a request of live/native.py */
        read_exact(msg, len);
        int64_t seq = msg[0], op = msg[1], *a = msg + 3;
        long r;
        switch (op) {
        case OP_CLONE:
            op_clone(seq, a);
            break;
        case OP_CLOSE_CHANNEL:
            for (int i = 0; i < msg[2]; i++)
                close((int)a[i]);
            reply(seq, OK, 0, 0, 0);
            break;
        case OP_EXIT:
            syscall(SYS_exit, (int)a[0]);
            break;
        case OP_EXIT_GROUP:
            syscall(SYS_exit_group, (int)a[0]);
            break;
        case OP_SYS:
            errno = 0;
            r = syscall(a[0], a[1], a[2], a[3], a[4], a[5], a[6]);
            if (r == -1)
                reply(seq, ERR, errno, 0, 1);
            else
                reply(seq, OK, r, 0, 1);
            break;
        case OP_WAIT4:
            op_wait4(seq, a);
            break;
        case OP_WAITID:
            op_waitid(seq, a);
            break;
        case OP_PRCTL_GET: {    /* PR_GET_PDEATHSIG, PR_GET_CHILD_SUBREAPER: an int stored */
            int value = 0;
            if (prctl((int)a[0], &value, 0, 0, 0) < 0)
                reply(seq, ERR, errno, 0, 1);
            else
                reply(seq, OK, value, 0, 1);
            break;
        }
        default:
            die();
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 6)
        return 2;
    req_fd = atoi(argv[1]);
    rep_fd = atoi(argv[2]);
    hostproc_fd = atoi(argv[3]);
    top = atoi(argv[4]);
    prctl(PR_SET_NAME, argv[5]);
    /* The channel was passed over exec: close-on-exec again, as agent.py keeps it. */
    for (int i = 1; i <= 3; i++)
        fcntl(atoi(argv[i]), F_SETFD, FD_CLOEXEC);
    serve();
    return 0;
}
