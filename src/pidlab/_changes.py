"""The upstream changes pidlab's kernel versions are made of (pidlab.versions reads this table).

Every record was checked against the kernel sources or the pull requests and
stable review mails of its release; `evidence` says where.  Commit ids are
mainline ids; where a single commit could not be pinned, the merge of the
pull request that brought it is given (and the evidence says so).  Order:
oldest first, then in the order the pulls applied them.
"""

from __future__ import annotations

from .versions import Change

CHANGES: tuple[Change, ...] = (
    # ---------------------------------------------------------------- 6.2
    Change("xattr-posix-acl-api", "6.2", "6a518afcc206", "xattr: use posix acl api",
           "setting system.posix_acl_access/default parses the ACL first (EINVAL for a malformed "
           "one) and then finds that the file has no ACLs (EOPNOTSUPP); before, the value was "
           "handed to the xattr handlers unparsed, so every such write on a pidfd is EOPNOTSUPP",
           evidence="acl updates for v6.2 pull (tags/fs.acl.rework.v6.2, merge 6a518afcc206: "
                    "the commit id itself was not pinned); probe: 6.1.0-57 EOPNOTSUPP for a "
                    "malformed ACL, 6.12 EINVAL"),
    # ---------------------------------------------------------------- 6.4
    Change("proc-status-kthread", "6.4", "522dc4e5f51e",
           "fs/proc: add Kthread flag to /proc/$pid/status",
           "/proc/<pid>/status has a line \"Kthread:\\t0\" (1 for a kernel thread) after NSsid "
           "(before: no such line)",
           evidence="non-MM pull for 6.4-rc1 (tag mm-nonmm-stable-2023-04-27-16-01, merge "
                    "33afd4b76393) lists it; post-6.4-rc1 mainline revlists give 522dc4e5f51e; "
                    "probes: 6.1.192 has no Kthread line, 6.12.117 and 6.18.44 have it after "
                    "NSsid"),
    # ---------------------------------------------------------------- 6.5
    Change("so-peerpidfd", "6.5", "7b26952a91cf", "net: core: add getsockopt SO_PEERPIDFD",
           "getsockopt(SOL_SOCKET, SO_PEERPIDFD) returns a pidfd of the peer that connected "
           "(before: ENOPROTOOPT, the unknown-option errno)",
           evidence="net-next push listing; probe: 6.1.0-57 answers ENOPROTOOPT"),
    Change("at-handle-fid", "6.5", "96b2b072ee62",
           "exportfs: allow exporting non-decodeable file handles to userspace",
           "name_to_handle_at takes AT_HANDLE_FID (before: an unknown flag, EINVAL before the "
           "descriptor is looked at)",
           evidence="jack/linux-fs fsnotify revlist and the 6.5 fsnotify pull shortlog; "
                    "probe: 6.1.0-57 EINVAL for AT_HANDLE_FID, 6.12 accepts it"),
    # ---------------------------------------------------------------- 6.9
    Change("pidfs", "6.9", "cb12fd8e0dab", "pidfd: add pidfs",
           "pidfds are files of their own pseudo-filesystem (fstatfs: PID_FS_MAGIC), one inode "
           "per struct pid, so st_ino tells processes apart (before: one anonymous inode, the "
           "same st_ino for every pidfd, mode 0600)",
           evidence="merge b5683a37c881 (6.9 pidfd pull); probes: 6.1 anon_inodefs, 6.12 pidfs"),
    Change("pidfs-stashed", "6.9", "b28ddcc32d8f", "pidfs: convert to path_from_stashed() helper",
           "the pidfs inode is stashed in struct pid and reused by every pidfd while one is "
           "open; the inodes are regular files (st_mode S_IFREG | 0700) and the fd link reads "
           "pidfd:[INO] until 6.10's lsof fix",
           requires=("pidfs",),
           evidence="db3d841ac9ed's text: 'pidfs started using much saner inodes in commit "
                    "b28ddcc32d8f'; include/linux/pid.h gains `stashed`"),
    Change("pidfs-noconfig", "6.9", "9d9539db8638", "pidfs: remove config option",
           "pidfs is always built; RESERVED_PIDS moves to pid.h and inode numbers count up from "
           "it, so the first pid's inode is 301 (a 32-bit kernel takes them from an ida from "
           "301 and frees them with the inode)",
           requires=("pidfs",),
           evidence="patch: pid.h `#define RESERVED_PIDS 300`, pidfs.c `++pidfs_ino`, "
                    "ida_alloc_range(RESERVED_PIDS + 1, UINT_MAX); syzbot against torvalds/linux"),
    Change("pidfd-thread", "6.9", "64bef697d33b",
           "pidfd: implement PIDFD_THREAD flag for pidfd_open()",
           "pidfd_open(tid, PIDFD_THREAD) opens a pidfd of any thread, which polls readable "
           "when that thread exits (before: PIDFD_THREAD, i.e. O_EXCL, is EINVAL)",
           evidence="merge b5683a37c881; pid.h gains do_notify_pidfd(); probe: 6.1 EINVAL"),
    Change("pidfd-thread-signal", "6.9", "81b9d8ac0640",
           "pidfd: change pidfd_send_signal() to respect PIDFD_THREAD",
           "pidfd_send_signal through a PIDFD_THREAD pidfd sends a thread-directed signal, as "
           "tgkill does",
           requires=("pidfd-thread",),
           evidence="6.9 pidfd pull (merge b5683a37c881)"),
    Change("pidfd-signal-scope", "6.9", "e1fb1dc08e73",
           "pidfd: allow to override signal scope in pidfd_send_signal()",
           "pidfd_send_signal takes PIDFD_SIGNAL_THREAD, _THREAD_GROUP and _PROCESS_GROUP "
           "(before: any flag is EINVAL)",
           evidence="6.9 pidfd pull (merge b5683a37c881)"),
    Change("clone-pidfd-thread", "6.9", "83b290c9e3b5",
           "pidfd: clone: allow CLONE_THREAD | CLONE_PIDFD together",
           "clone3(CLONE_THREAD | CLONE_PIDFD) returns a thread pidfd (before: EINVAL)",
           requires=("pidfd-thread",),
           evidence="6.9 pidfd pull; Greg's 5.15 dependency list names 83b290c9e3b5"),
    Change("pidfd-poll-hup", "6.9", "43f0df54c96f",
           "pidfd_poll: report POLLHUP when pid_task() == NULL",
           "poll of a pidfd whose process was reaped reports POLLIN | POLLRDNORM | POLLHUP "
           "(before: POLLIN | POLLRDNORM)",
           evidence="6.9 fs/pidfs.c pidfd_poll: `if (!task) poll_flags = EPOLLIN | "
                    "EPOLLRDNORM | EPOLLHUP`"),
    Change("pidfd-getfd-esrch", "6.9", "0c9bd6bc4bb2",
           "pidfd: getfd should always report ESRCH if a task is exiting",
           "pidfd_getfd of a task that has dropped its files while exiting is ESRCH (before: "
           "EBADF)",
           evidence="6.9 pidfd pull text"),
    # ---------------------------------------------------------------- 6.10
    Change("pidfs-lsof", "6.10", "db3d841ac9ed",
           "fs/pidfs: make 'lsof' happy with our inode changes",
           "fstat of a pidfd shows mode 0700 without a file type and the fd link reads "
           "anon_inode:[pidfd] again (6.9: S_IFREG | 0700 and pidfd:[INO])",
           requires=("pidfs-stashed",),
           evidence="commit text ('mask the file type bits at stat() time'); no 6.9.y backport "
                    "found"),
    # ---------------------------------------------------------------- 6.11
    Change("pidfs-ns-ioctls", "6.11", "5b08bd408534",
           "pidfs: allow retrieval of namespace file descriptors",
           "ioctl(pidfd, PIDFD_GET_*_NAMESPACE) returns a file of the process's namespace; any "
           "ioctl with a non-zero argument is EINVAL (before: no ioctl at all, ENOTTY)",
           requires=("pidfs",),
           evidence="merge 98f3a9a4fd44; 6.11/6.12 pidfd_ioctl `if (arg) return -EINVAL;` "
                    "first; probe: 6.12 PIDFD_GET_INFO is EINVAL"),
    Change("fhandle-relax-perms", "6.11", "620c266f3949",
           "fhandle: relax open_by_handle_at() permission checks",
           "open_by_handle_at looks the mount descriptor up first (EBADF), then checks the "
           "permission (the filesystem's own, else CAP_DAC_READ_SEARCH: EPERM), then the "
           "handle (before: EPERM without CAP_DAC_READ_SEARCH before anything, then the "
           "handle's size, then the descriptor)",
           evidence="vfs.all revlist of July 2024 with 5b08bd408534 (6.11); Fixes: tags cite "
                    "620c266f3949; probes: 6.1 EPERM/EINVAL first, 6.12 EBADF first"),
    # ---------------------------------------------------------------- 6.12
    Change("at-handle-mnt-id-unique", "6.12", "4356d575ef0f",
           "fhandle: expose u64 mount id to name_to_handle_at(2)",
           "name_to_handle_at takes AT_HANDLE_MNT_ID_UNIQUE (before: an unknown flag, EINVAL)",
           evidence="vfs 6.12 misc pull shortlog; perf uapi sync citing 4356d575ef0f; probes: "
                    "6.1 EINVAL, 6.12 accepted"),
    # ---------------------------------------------------------------- 6.13
    Change("pidfd-info", "6.13", "cdda1f26e74b", "pidfd: add ioctl to retrieve pid info",
           "ioctl(pidfd, PIDFD_GET_INFO) fills a 64-byte struct pidfd_info: PID, CREDS and "
           "CGROUPID (before: EINVAL on 6.11-6.12, ENOTTY earlier)",
           requires=("pidfs-ns-ioctls",),
           evidence="merge 909d3b571e5a (6.13 pidfs pull)"),
    Change("xattr-at", "6.13", "6140be90ec70", "fs/xattr: add *at family syscalls",
           "fsetxattr, fgetxattr and fremovexattr check their flags, name and size before they "
           "look the descriptor up (before: a bad descriptor is EBADF first)",
           evidence="mainline id from Fixes: 6140be90ec70 (AT_EMPTY_PATH fix, Cc stable); the "
                    "series' file_setxattr()/filename_setxattr() helpers; the 6.12 oracle"),
    Change("fhandle-connectable", "6.13", "a312c10c0186",
           "API for exporting connectable file handles to userspace",
           "name_to_handle_at takes AT_HANDLE_CONNECTABLE, and open_by_handle_at refuses a "
           "negative handle_type or unknown flags in its upper 16 bits with EINVAL (before: "
           "such a handle was handed to the filesystem, which cannot decode it: ESTALE)",
           evidence="vfs-6.13.exportfs pull (merge a312c10c0186: 4a530a7c751d, c374196b2b9f, "
                    "a20853ab8296); probes: 6.1 and 6.12 ESTALE for handle_type -1"),
    # ---------------------------------------------------------------- 6.14
    Change("pidfs-ioctl-valid", "6.14", "8ce352818820", "pidfs: check for valid ioctl commands",
           "ioctls a pidfd does not know are ENOTTY before anything else is checked (6.11-6.13.2: "
           "EINVAL for a non-zero argument, or ESRCH)",
           backports=(("6.13", 3),), requires=("pidfs-ns-ioctls",),
           evidence="6.13.3 review [PATCH 6.13 287/443]"),
    Change("pidfs-ioctl-nr", "6.14", "091ee63e36e8", "pidfs: improve ioctl handling",
           "PIDFD_GET_INFO is recognised by its ioctl type and number, whatever size the "
           "caller's struct has",
           backports=(("6.13", 3),), requires=("pidfd-info",),
           evidence="6.13.3 review [PATCH 6.13 288/443]"),
    Change("pidns-pid-max", "6.14", "7863dcc72d0f",
           "pid: allow pid_max to be set per pid namespace",
           "/proc/sys/kernel/pid_max is each pid namespace's own, and a fork must fit under "
           "the pid_max of every level (before: one value for the whole machine)",
           evidence="pull kernel-6.14-rc1.pid (merge 1a89a6924b58); probes: 6.1 and 6.12 "
                    "global, 6.18 per namespace"),
    Change("pidns-pid-max-limit", "6.14", "d385c8bceb14",
           "pid: Do not set pid_max in new pid namespaces",
           "a new pid namespace starts with pid_max = PID_MAX_LIMIT instead of its parent's "
           "value (released 6.14 already has it)",
           requires=("pidns-pid-max",),
           evidence="patch `ns->pid_max = PID_MAX_LIMIT`, Fixes: 7863dcc72d0f; "
                    "vfs-6.14-rc6.fixes"),
    Change("pidfs-rbtree", "6.14", "16ecd47cb0cd", "pidfs: lookup pid through rbtree",
           "every struct pid takes an inode number from a 64-bit counter starting at 2 (so on a "
           "fresh machine a pidfd's st_ino is its global pid + 1); a 32-bit kernel shows the low "
           "half as st_ino and the high half as the generation",
           requires=("pidfs",),
           evidence="patch: `static u64 pidfs_ino_nr = 2`, 'On 64 bit the generation number is "
                    "0'; merge 5f85bd6aecea"),
    Change("pidfs-getversion", "6.14", "5f85bd6aecea", "pidfs: support FS_IOC_GETVERSION",
           "ioctl(pidfd, FS_IOC_GETVERSION) returns the inode's generation (0 on 64-bit), also "
           "after the reap",
           requires=("pidfs-ns-ioctls",),
           evidence="6.14 pidfs pull (merge 5f85bd6aecea: the commit id itself was not pinned); "
                    "code `if (cmd == FS_IOC_GETVERSION)` before the task lookup"),
    Change("pidfs-fhandle", "6.14", "b3caba8f7a34", "pidfs: implement file handle support",
           "name_to_handle_at(pidfd, \"\", AT_EMPTY_PATH) gives an 8-byte FILEID_KERNFS handle "
           "(the inode number) that open_by_handle_at turns back into a pidfd (before: "
           "EOPNOTSUPP)",
           requires=("pidfs-rbtree",),
           evidence="6.14 pidfs pull; probes: 6.1 and 6.12 EOPNOTSUPP"),
    Change("pidfs-bindmount", "6.14", "5f85bd6aecea", "pidfs: allow bind-mounts",
           "a pidfd can be bind-mounted (pidlab has no mount call: not modelled)",
           kind="unmodelled", requires=("pidfs",),
           evidence="6.14 pidfs pull text (merge 5f85bd6aecea)"),
    # ---------------------------------------------------------------- 6.15
    Change("free-pid-unlocked", "6.15", "7903f907a226",
           "pid: perform free_pid() calls outside of tasklist_lock",
           "release_task frees the pid numbers after dropping tasklist_lock, so other CPUs can "
           "find a pid with no task by its number for longer (only interleavings differ)",
           kind="concurrency",
           evidence="pull kernel-6.15-rc1.tasklist_lock (merge b0cb56cbbdb4), pid.h "
                    "free_pids()"),
    Change("pidfd-info-exit", "6.15", "7477d7dce48a", "pidfs: allow to retrieve exit information",
           "PIDFD_GET_INFO with PIDFD_INFO_EXIT reports the exit status of a reaped process "
           "(while a pidfd stayed open); without it a reaped process is ESRCH",
           requires=("pidfd-info",),
           evidence="merge df00ded23a6b; Fixes: 7477d7dce48a in ab89060fbc92"),
    Change("pidfs-copy-struct", "6.15", "df00ded23a6b", "pidfs: switch to copy_struct_to_user()",
           "a PIDFD_GET_INFO buffer larger than the kernel's struct gets its tail zeroed "
           "(before: left as it was)",
           requires=("pidfd-info",),
           evidence="6.15 pidfs pull (merge df00ded23a6b: the commit id itself was not pinned)"),
    Change("pidfs-thread-leader", "6.15", "0fb482728ba1",
           "pidfs: improve multi-threaded exec and premature thread-group leader exit polling",
           "a PIDFD_THREAD pidfd of a thread-group leader that exited early is not readable "
           "until the whole group has exited",
           backports=(("6.12", 31), ("6.14", 9)), requires=("pidfd-thread",),
           evidence="vfs-6.15.pidfs branch listing (merge df00ded23a6b); 6.12.31 review "
                    "[PATCH 6.12 097/626] and 6.14.9 review [PATCH 6.14 108/783], both '[ Upstream "
                    "commit 0fb482728ba1... ]'; live: the 6.12.117 VM's leader thread pidfd "
                    "stays unreadable"),
    Change("pidfd-self", "6.15", "f08d0c3a7111",
           "pidfd: add PIDFD_SELF* sentinels to refer to own thread/process",
           "pidfd_send_signal takes PIDFD_SELF_THREAD (-10000) and PIDFD_SELF_THREAD_GROUP "
           "(-20000) for the caller itself (before: EBADF)",
           evidence="Fixes: f08d0c3a7111 in the put_pid leak fix; 6.15 merge-window revlist"),
    # ---------------------------------------------------------------- 6.16
    Change("pidfd-open-errnos", "6.16", "8cf4b738f6d8", "pidfd: improve uapi when task isn't found",
           "pidfd_open of a pid whose task is gone is ESRCH, and of a thread that is not a "
           "group leader (without PIDFD_THREAD) ENOENT (before: EINVAL for both)",
           evidence="6.16 pidfs pull (merge 7d7a103d299e); vfs-6.16.pidfs branch id"),
    Change("pidfd-open-locked", "6.16", "17f1b08acf50",
           "pidfs: ensure consistent ENOENT/ESRCH reporting",
           "pidfd_open's two checks run under pid->wait_pidfd.lock and pollers are woken between "
           "the PID and TGID detach, so a dying group leader is never reported ENOENT",
           kind="concurrency", requires=("pidfd-open-errnos",),
           evidence="Oleg's review quoting the scoped_guard; vfs-6.16.pidfs branch id"),
    Change("pidfs-no-prepare", "6.16", "a71f402acd71", "pidfs: get rid of __pidfd_prepare()",
           "pure refactor: pidfd_prepare() returns the file through **ret_file (pid.h)",
           kind="refactor",
           evidence="6.16 pidfs pull diffstat include/linux/pid.h | 2 +-"),
    Change("peerpidfd-reaped", "6.16", "20b70e58961b",
           "net, pidfs: enable handing out pidfds for reaped sk->sk_peer_pid",
           "SO_PEERPIDFD of a peer that was reaped returns a pidfd (fdinfo Pid: -1, exit "
           "information through PIDFD_GET_INFO) instead of EINVAL",
           requires=("so-peerpidfd", "pidfs"),
           evidence="6.16 pidfs pull text; the interim ESRCH never shipped (b590c928cca7)"),
    Change("pidfd-info-ppid", "6.16", "b55eb6eb2a74",
           "pidfs: never refuse ppid == 0 in PIDFD_GET_INFO",
           "PIDFD_GET_INFO of a process whose parent is outside the caller's pid namespace "
           "succeeds with ppid 0 (before: ESRCH)",
           backports=(("6.15", 3),), requires=("pidfd-info",),
           evidence="6.15.3 review [PATCH 6.15 743/780], Fixes: cdda1f26e74b"),
    Change("pidfd-info-coredump", "6.16", "1d8db6fd698d",
           "pidfs, coredump: add PIDFD_INFO_COREDUMP",
           "PIDFD_GET_INFO reports PIDFD_INFO_COREDUMP with a coredump_mask (the struct grows "
           "to 72 bytes), which a dump through a %F pipe helper or a socket records "
           "(pidfs_coredump)",
           requires=("pidfd-info-exit",),
           evidence="coredump pull (merge c5bfc48d5472); Fixes: 1d8db6fd698d"),
    Change("coredump-socket", "6.16", "a9194f88782a", "coredump: add coredump socket",
           "a core_pattern of '@/path' sends the dump to an AF_UNIX socket, and a '@' pattern "
           "without an absolute path is EINVAL when written (before: '@...' is a file name "
           "like any other, and writing core_pattern never fails)",
           requires=("pidfd-info-coredump",),
           evidence="vfs-6.16.coredump branch listing next to 1d8db6fd698d; 'coredump: validate "
                    "socket name as it is written' in the same series; a 6.15-era fs/coredump.c "
                    "(format_corename: ispipe = *pat_ptr == '|', proc_dostring_coredump only "
                    "warns)"),
    Change("coredump-helper-pidfd", "6.16", "b5325b2a270f",
           "coredump: hand a pidfd to the usermode coredump helper",
           "a |helper core_pattern gets a pidfd of the crashing process as fd 3 (pidlab runs no "
           "usermode helper: not modelled)",
           kind="unmodelled", backports=(("6.15", 1),),
           evidence="6.15.1 release shortlog; older stable queues unverified"),
    # ---------------------------------------------------------------- 6.17
    Change("pidfs-anon-struct", "6.17", "75215c972581", "pidfs: move to anonymous struct",
           "pure refactor: struct pid keeps its pidfs fields in one anonymous struct",
           kind="refactor", backports=(("6.16", 4),),
           evidence="mainline listing; 6.16.4-rc1 queue (dependency of pidfs-persist)"),
    Change("pidfs-persist", "6.17", "8ec7c826d97b", "pidfs: persist information",
           "exit and coredump information live as long as the struct pid, so PIDFD_GET_INFO "
           "reports them through a pidfd opened after every earlier one was closed; a pid "
           "released while nobody had a pidfd can get none any more (ESRCH)",
           backports=(("6.16", 4),), requires=("pidfd-info-exit",),
           evidence="6.17 pidfs pull (merge 672dcda24607); 6.16.4-rc1 queue ('Stable-dep-of: "
                    "0b2d71a7c826')"),
    Change("pidfs-xattr", "6.17", "91d837cae3c7", "pidfs: support xattrs on pidfds",
           "privileged trusted.* extended attributes can be set, read and removed on pidfds, "
           "and live as long as the struct pid",
           requires=("pidfs-persist",),
           evidence="6.17 pidfs pull (merge 672dcda24607)"),
    Change("scm-pidfd-reaped", "6.17", "672dcda24607",
           "af_unix: enable handing out pidfds for reaped tasks in SCM_PIDFD",
           "an SCM_PIDFD message of a sender reaped before recvmsg carries a pidfd (pidlab has "
           "no sendmsg: not modelled)",
           kind="unmodelled",
           evidence="6.17 pull text (merge 672dcda24607: the series' commit ids were not pinned)"),
    Change("pidfd-self-value", "6.17", "67fcec2919e4",
           "fcntl/pidfd: redefine PIDFD_SELF_THREAD_GROUP",
           "PIDFD_SELF_THREAD_GROUP is -10001 (in uapi fcntl.h); -20000 is an ordinary bad "
           "descriptor (EBADF)",
           requires=("pidfd-self",),
           evidence="perf header sync quoting 67fcec2919e4; no stable backport found"),
    Change("fd-pidfs-root", "6.17", "b95361481b1e",
           "fhandle, pidfs: support open_by_handle_at() purely based on file handle",
           "open_by_handle_at(FD_PIDFS_ROOT, handle, ...) decodes a pidfs handle without a pidfd "
           "as mount fd (FD_PIDFS_ROOT = -10002; before: a negative fd, EBADF)",
           requires=("pidfs-fhandle",),
           evidence="6.17 pull; uapi fcntl.h FD_PIDFS_ROOT -10002, FD_INVALID -10009"),
    Change("fhandle-copy-first", "6.17", "774adcb55f15",
           "fhandle: hoist copy_from_user() above get_path_from_fd()",
           "open_by_handle_at checks the handle's size and type before it looks the mount "
           "descriptor up (6.11-6.16: a bad descriptor is EBADF first)",
           evidence="vfs-6.17.pidfs revlist, in the series of b95361481b1e; the 6.17 "
                    "handle_to_path quoted in code-by-version.md section 11"),
    Change("coredump-socket-req", "6.17", "117eab5c6e31",
           "coredump: allow for flexible coredump handling",
           "a core_pattern of '@@/path' selects the coredump socket request protocol, and a "
           "socket path must be shorter than UNIX_PATH_MAX and hold no '..' (6.16: only '@/' "
           "is accepted, of any length, '..' included)",
           requires=("coredump-socket",),
           evidence="vfs-6.17-rc1.coredump pull (merge 117eab5c6e31): 'coredump: allow for "
                    "flexible coredump handling', 'coredump: validate that path doesn't exceed "
                    "UNIX_PATH_MAX', 'coredump: don't allow \"..\" in coredump socket path'"),
    # ---------------------------------------------------------------- 6.18
    Change("pidfd-info-ioctl-size", "6.18", "3c17001b21b9", "pidfs: validate extensible ioctls",
           "PIDFD_GET_INFO with a struct shorter than 64 bytes (or the wrong direction) is "
           "ENOTTY (6.13 to 6.17.3: EINVAL)",
           backports=(("6.17", 4),), requires=("pidfd-info",),
           evidence="LKFT on 6.18.0-rc1 ('expected EINVAL: ENOTTY'); 6.17.4 review "
                    "[PATCH 6.17 370/371]"),
    Change("fd-nsfs-root", "6.18", "e83f0b5d10dc", "nsfs: support exhaustive file handles",
           "open_by_handle_at takes FD_NSFS_ROOT (-10003) as the nsfs root, where a pidfs "
           "handle does not decode (ESTALE; before: a negative descriptor, EBADF)",
           evidence="'ns: support file handles' series, listed with 3c17001b21b9 in a "
                    "mainline-side revlist; probes: 6.1 and 6.12 EBADF"),
    # ---------------------------------------------------------------- 6.19
    Change("pidfd-info-coredump-fix", "6.19", "fe0e6ce3fd65",
           "pidfs: fix PIDFD_INFO_COREDUMP handling",
           "PIDFD_GET_INFO sets PIDFD_INFO_COREDUMP in the returned mask only when there is "
           "coredump information (6.16-6.18: whenever it was asked for)",
           requires=("pidfd-info-coredump",),
           evidence="vfs-6.19-rc1.coredump pull (merge 212c4053a150)"),
    Change("pidfd-info-supported-mask", "6.19", "dfd78546c953",
           "pidfd: add a new supported_mask field",
           "PIDFD_GET_INFO with PIDFD_INFO_SUPPORTED_MASK (1 << 5) reports in supported_mask "
           "every flag this kernel knows; the struct grows to 80 bytes",
           requires=("pidfd-info-coredump",),
           evidence="vfs-6.19-rc1.coredump pull (merge 212c4053a150)"),
    Change("pidfd-info-coredump-signal", "6.19", "036375522be8", "pidfs: expose coredump signal",
           "PIDFD_GET_INFO reports the signal that caused a core dump (PIDFD_INFO_COREDUMP_SIGNAL,"
           " 1 << 6) in coredump_signal",
           requires=("pidfd-info-coredump",),
           evidence="vfs-6.19-rc1.coredump pull (merge 212c4053a150)"),
    # ---------------------------------------------------------------- 7.0, backported
    Change("pidfd-info-eremote", "7.0", "ab89060fbc92",
           "pidfs: return -EREMOTE when PIDFD_GET_INFO is called on another ns",
           "PIDFD_GET_INFO of a process outside the caller's pid namespace tree is EREMOTE "
           "(before: ESRCH)",
           backports=(("6.18", 14), ("6.19", 4)), requires=("pidfd-info-exit",),
           evidence="6.18.14 review [PATCH 6.18 487/641], 6.19.4 review [PATCH 6.19 601/781]; "
                    "live: the 6.18.44 host answers EREMOTE"),
    # ---------------------------------------------------------------- 7.1, backported
    Change("pidfd-getfd-exiting", "7.1", "62c4d31d7829",
           "pidfd: refuse access to tasks that have started exiting harder",
           "pidfd_getfd of a task that has entered do_exit (PF_EXITING) is ESRCH once the "
           "ptrace check passed, whatever its files (before: the fd lookup decides; on 6.1-6.8 "
           "a task whose files are gone gives EBADF)",
           backports=(("6.1", 176), ("6.12", 94), ("6.18", 36)),
           evidence="mainline listing after 'Linux 7.1-rc4' (vfs.fixes); 6.1.176 review "
                    "[PATCH 6.1 293/522], 6.12.94 review [PATCH 6.12 169/261], 6.18.36 review "
                    "[PATCH 6.18 215/325], each 'commit 62c4d31d7829... upstream'; live: the "
                    "6.1.192 VM answers ESRCH for a zombie"),
)
