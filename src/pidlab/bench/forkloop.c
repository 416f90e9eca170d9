/*
 * pidlab bench: the live kernel's side of the benchmarks.
 *
 * Every process it creates lives in a fresh pid namespace (and mount
 * namespace with its own /proc): main() unshares, forks the namespace's
 * init, and that init (or a chain of nested inits, for the depth runs) does
 * the measured work.  Killing the outermost init ends everything, and
 * PR_SET_PDEATHSIG ties the init to this program, which alarm() bounds.
 *
 *   forkloop churn N DEPTH fork|vfork   fork -> _exit -> waitpid, N times, at level DEPTH
 *   forkloop pidfd N                    pidfd_open+close, PIDFD_GET_INFO, handle round trips
 *   forkloop hold N                     N sleeping children; prints "ready", waits for stdin EOF
 *
 * Results are printed as "name value" lines (nanoseconds per operation).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef PIDFD_GET_INFO
#define PIDFD_GET_INFO _IOWR(0xFF, 11, struct pidfd_info_v1)
#endif
#define FD_PIDFS_ROOT (-10002)

struct pidfd_info_v1 {
	uint64_t mask, cgroupid;
	uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
	int32_t exit_code;
	uint32_t coredump_mask, spare;
};

struct handle8 {
	unsigned int handle_bytes;
	int handle_type;
	unsigned char f_handle[8];
};

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "forkloop: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* Become the init of a fresh pid namespace with its own /proc; returns in that init. */
static void enter_new_pidns(void)
{
	if (unshare(CLONE_NEWPID | CLONE_NEWNS) < 0)
		die("unshare");
	pid_t child = fork();
	if (child < 0)
		die("fork");
	if (child > 0) {
		int st;
		while (waitpid(child, &st, 0) < 0 && errno == EINTR)
			;
		exit(WIFEXITED(st) ? WEXITSTATUS(st) : 3);
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("mount --make-rprivate /");
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		die("mount /proc");
}

/* Nest: from level 1 (the first new namespace) down to `depth`. */
static void descend(int depth)
{
	for (int level = 2; level <= depth; level++) {
		if (unshare(CLONE_NEWPID) < 0)
			die("unshare (nested)");
		pid_t child = fork();
		if (child < 0)
			die("fork (nested)");
		if (child > 0) {
			int st;
			while (waitpid(child, &st, 0) < 0 && errno == EINTR)
				;
			exit(WIFEXITED(st) ? WEXITSTATUS(st) : 3);
		}
	}
}

static int churn(long n, int depth, int use_vfork)
{
	enter_new_pidns();
	descend(depth);
	double t0 = now_ns();
	for (long i = 0; i < n; i++) {
		pid_t p = use_vfork ? vfork() : fork();
		if (p == 0)
			_exit(0);
		if (p < 0)
			die("fork (loop)");
		if (waitpid(p, NULL, 0) != p)
			die("waitpid");
	}
	printf("churn_ns %.1f\n", (now_ns() - t0) / n);
	return 0;
}

static int pidfd_ops(long n)
{
	enter_new_pidns();
	pid_t child = fork();
	if (child == 0) {
		for (;;)
			pause();
	}
	double t0 = now_ns();
	for (long i = 0; i < n; i++) {
		int fd = syscall(SYS_pidfd_open, child, 0);
		if (fd < 0)
			die("pidfd_open");
		close(fd);
	}
	printf("pidfd_open_close_ns %.1f\n", (now_ns() - t0) / n);
	int fd = syscall(SYS_pidfd_open, child, 0);
	struct pidfd_info_v1 info;
	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		memset(&info, 0, sizeof(info));
		info.mask = 0x7;
		if (ioctl(fd, PIDFD_GET_INFO, &info) < 0)
			die("PIDFD_GET_INFO");
	}
	printf("get_info_ns %.1f\n", (now_ns() - t0) / n);
	struct handle8 h;
	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		int mnt;
		h.handle_bytes = sizeof(h.f_handle);
		if (syscall(SYS_name_to_handle_at, fd, "", &h, &mnt, AT_EMPTY_PATH) < 0)
			die("name_to_handle_at");
		int fd2 = syscall(SYS_open_by_handle_at, FD_PIDFS_ROOT, &h, O_RDONLY);
		if (fd2 < 0)
			die("open_by_handle_at");
		close(fd2);
	}
	printf("handle_roundtrip_ns %.1f\n", (now_ns() - t0) / n);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	return 0;
}

static int hold(long n)
{
	enter_new_pidns();
	for (long i = 0; i < n; i++) {
		pid_t p = fork();
		if (p == 0) {
			for (;;)
				pause();
		}
		if (p < 0)
			die("fork (hold)");
	}
	printf("ready %ld\n", n);
	fflush(stdout);
	char buf[64];
	while (read(0, buf, sizeof(buf)) > 0)
		;
	return 0;		/* the init exits: the kernel kills the namespace */
}

int main(int argc, char **argv)
{
	alarm(600);		/* nothing here may outlive a stuck benchmark */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 5 && !strcmp(argv[1], "churn"))
		return churn(atol(argv[2]), atoi(argv[3]), !strcmp(argv[4], "vfork"));
	if (argc >= 3 && !strcmp(argv[1], "pidfd"))
		return pidfd_ops(atol(argv[2]));
	if (argc >= 3 && !strcmp(argv[1], "hold"))
		return hold(atol(argv[2]));
	fprintf(stderr, "usage: forkloop churn N DEPTH fork|vfork | pidfd N | hold N\n");
	return 64;
}
