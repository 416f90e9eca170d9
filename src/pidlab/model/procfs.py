"""/proc as the calling task sees it: what pidlab models, and what Linux has besides.

Paths resolve as if the caller had mounted procfs for its own active pid
namespace: /proc/<n> is the task whose pid is n there, /proc/self and
/proc/thread-self name the caller.  The two pid sysctls always act on the
caller's active namespace, whatever procfs instance is used (Linux:
pid_table_root_lookup, pid_ns_ctl_handler).  Modelled: status, comm, the pid
ns links, fdinfo of pidfds, fd links and four sysctls.  Every other entry
Linux has is in the tables below and Unsupported; a name Linux never has is
ENOENT.  Linux: fs/proc/base.c, fs/proc/array.c, fs/proc/namespaces.c.
"""

from __future__ import annotations

import errno
import os
import posixpath
from typing import TYPE_CHECKING

from ..api import Unsupported, oserror
from ..constants import (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_SYS_ADMIN, CAP_SYS_PTRACE,
                         SIG_IGN, SUID_DUMP_USER)
from . import cred as credmod
from . import security
from .pid import pid_nr_ns
from .pid_namespace import (parse_dointvec, pidns_pid_max, read_ns_last_pid, write_ns_last_pid,
                            write_pid_max)
from .task import EXIT_DEAD, EXIT_ZOMBIE, JOBCTL_STOPPED, TaskStruct
from .task import set_task_comm, thread_count

if TYPE_CHECKING:
    from .kernel import Kernel

PTRACE_MODE_READ = 0x01
PTRACE_MODE_ATTACH = 0x02
PTRACE_MODE_FSCREDS = 0x08
PTRACE_MODE_REALCREDS = 0x10


def ptrace_may_access(cur: TaskStruct, task: TaskStruct, mode: int) -> bool:
    """Linux: kernel/ptrace.c __ptrace_may_access (no LSM)."""
    if cur.signal is task.signal:
        return True
    c, tc = cur.cred, task.cred
    uid, gid = (c.fsuid, c.fsgid) if mode & PTRACE_MODE_FSCREDS else (c.uid, c.gid)
    if not (uid == tc.euid == tc.suid == tc.uid and gid == tc.egid == tc.sgid == tc.gid) \
            and not credmod.capable(c, CAP_SYS_PTRACE):
        return False
    # Without an mm (an exited task) the dumpability it had last counts (6.18 stable:
    # "ptrace: slightly saner 'get_dumpable()' logic").
    mm = task.mm
    dumpable = mm.dumpable if mm is not None else task.last_dumpable
    if dumpable != SUID_DUMP_USER and not credmod.capable(c, CAP_SYS_PTRACE):
        return False
    # security/commoncap.c cap_ptrace_access_check: the target's permitted set must
    # be within the caller's (effective set for FSCREDS, else permitted).
    caller = c.cap_effective if mode & PTRACE_MODE_FSCREDS else c.cap_permitted
    if tc.cap_permitted & ~caller and not credmod.capable(c, CAP_SYS_PTRACE):
        return False
    return True


def task_dump_owner(task: TaskStruct, is_dir: bool) -> tuple[int, int]:
    """The uid and gid a /proc/<pid> inode carries.  Linux: fs/proc/base.c task_dump_owner.

    The 0555 directories always belong to the task's effective ids (what ps
    stats); every other file belongs to root while the task is not dumpable
    or has no mm.
    """
    c = task.cred
    if is_dir:
        return c.euid, c.egid
    mm = task.mm
    if mm is None or mm.dumpable != SUID_DUMP_USER:
        return 0, 0
    return c.euid, c.egid


# ---------------------------------------------------------------- what procfs has
#
# Every entry Linux 6.18 (x86_64) can have in the directories below, as data: its kind
# (f file, d directory, l symbolic link), the kernel file that creates it, and the
# configuration options it needs ("-": none; "*": it also depends on the hardware or the
# boot command line).  A path through them that pidlab does not model is Unsupported,
# never ENOENT: the model does not pick a configuration, so an entry some configuration
# has may exist.  A name no configuration has is ENOENT; a path through a file that every
# configuration with MODEL_CONFIG has is ENOTDIR, such a directory EISDIR to read.  A
# directory without a table of its own (/proc/net, /proc/sys/vm, ...) is not listed:
# everything below it is Unsupported.
#
# Sources: fs/proc/Makefile and the files it builds (fs/proc/root.c proc_root_init), every
# proc_create/proc_mkdir/proc_symlink at the top of /proc and every sysctl table under
# "kernel" and "user" in a 6.12.117 tree (Debian's linux-source-6.12, read for the option
# each one needs; Debian's own kernel.unprivileged_userns_clone is not upstream and left
# out); fs/proc/base.c tgid_base_stuff and tid_base_stuff, fs/proc/namespaces.c
# ns_entries; then checked against 6.18.44 here ([live], `ls` of /proc, /proc/self,
# /proc/self/task/<tid>, /proc/sys/kernel, /proc/sys/user): what 6.13-6.18 added is in
# (kernel.core_modes, hung_task_detect_count, panic_sys_info), /proc/<pid>/sched no
# longer needs CONFIG_SCHED_DEBUG (present here, where that option is gone), and
# pid_max is registered per pid namespace by kernel/pid.c since 6.14.  The
# conformance test test_procfs.py holds the tables against the running kernel's
# /proc/config.gz.


# The options the model itself stands for: what it models needs them (the four sysctls,
# pid namespaces, set_tid and ns_last_pid writes, core dumps, AF_UNIX socket pairs).
MODEL_CONFIG = frozenset(("PROC_SYSCTL", "PID_NS", "CHECKPOINT_RESTORE", "COREDUMP", "NET"))


class Entry:
    """One name in a procfs directory: kind, where Linux creates it, what it needs."""

    __slots__ = ("kind", "source", "needs", "more")

    def __init__(self, kind: str, source: str, needs: tuple[str, ...], more: bool) -> None:
        self.kind = kind                # "f", "d" or "l"
        self.source = source
        self.needs = needs              # CONFIG_ options, all needed
        self.more = more                # and the hardware or the boot command line

    @property
    def always(self) -> bool:
        """Every configuration the model stands for has it: whether it is a directory, and
        that a path through a file of it is ENOTDIR, is then known."""
        return not self.more and all(n in MODEL_CONFIG for n in self.needs)

    def why(self) -> str:
        needs = " and ".join(f"CONFIG_{n}" for n in self.needs)
        cond = f" with {needs}" if needs else ""
        if self.more:
            cond += (" and" if needs else " with") + " the hardware or boot options for it"
        return f"{self.source}{cond}"


def _table(text: str) -> dict[str, Entry]:
    out = {}
    for line in text.strip().splitlines():
        name, kind, source, needs = line.split()
        more = needs.endswith("*")
        needs = needs.rstrip("*")
        out[name] = Entry(kind, source, tuple(needs.split("&")) if needs not in ("", "-") else (),
                          more)
    return out


# /proc itself (besides the pid directories).
PROC_ROOT = _table("""
self                l fs/proc/self.c                    -
thread-self         l fs/proc/thread_self.c             -
mounts              l fs/proc/root.c                    -
net                 l fs/proc/proc_net.c                NET
fs                  d fs/proc/root.c                    -
driver              d fs/proc/root.c                    -
bus                 d fs/proc/root.c                    -
tty                 d fs/proc/proc_tty.c                TTY
sys                 d fs/proc/proc_sysctl.c             PROC_SYSCTL
cmdline             f fs/proc/cmdline.c                 -
consoles            f fs/proc/consoles.c                -
cpuinfo             f fs/proc/cpuinfo.c                 -
devices             f fs/proc/devices.c                 -
interrupts          f fs/proc/interrupts.c              -
loadavg             f fs/proc/loadavg.c                 -
meminfo             f fs/proc/meminfo.c                 -
softirqs            f fs/proc/softirqs.c                -
stat                f fs/proc/stat.c                    -
uptime              f fs/proc/uptime.c                  -
version             f fs/proc/version.c                 -
kmsg                f fs/proc/kmsg.c                    PRINTK
kcore               f fs/proc/kcore.c                   PROC_KCORE
vmcore              f fs/proc/vmcore.c                  PROC_VMCORE*
kpagecount          f fs/proc/page.c                    PROC_PAGE_MONITOR
kpageflags          f fs/proc/page.c                    PROC_PAGE_MONITOR
kpagecgroup         f fs/proc/page.c                    PROC_PAGE_MONITOR&MEMCG
bootconfig          f fs/proc/bootconfig.c              BOOT_CONFIG
sysvipc             d ipc/util.c                        SYSVIPC
config.gz           f kernel/configs.c                  IKCONFIG_PROC
dma                 f kernel/dma.c                      GENERIC_ISA_DMA
execdomains         f kernel/exec_domain.c              -
ioports             f kernel/resource.c                 -
iomem               f kernel/resource.c                 -
irq                 d kernel/irq/proc.c                 -
timer_list          f kernel/time/timer_list.c          -
kallsyms            f kernel/kallsyms.c                 KALLSYMS
latency_stats       f kernel/latencytop.c               LATENCYTOP
profile             f kernel/profile.c                  PROFILING*
cgroups             f kernel/cgroup/cgroup.c            CGROUPS
lockdep             f kernel/locking/lockdep_proc.c     LOCKDEP
lockdep_chains      f kernel/locking/lockdep_proc.c     LOCKDEP&PROVE_LOCKING
lockdep_stats       f kernel/locking/lockdep_proc.c     LOCKDEP
lock_stat           f kernel/locking/lockdep_proc.c     LOCKDEP&LOCK_STAT
modules             f kernel/module/procfs.c            MODULES
pressure            d kernel/sched/psi.c                PSI*
schedstat           f kernel/sched/stats.c              SCHEDSTATS
buddyinfo           f mm/vmstat.c                       -
pagetypeinfo        f mm/vmstat.c                       -
vmstat              f mm/vmstat.c                       -
zoneinfo            f mm/vmstat.c                       -
vmallocinfo         f mm/vmalloc.c                      -
slabinfo            f mm/slab_common.c                  SLUB_DEBUG
swaps               f mm/swapfile.c                     SWAP
allocinfo           f lib/alloc_tag.c                   MEM_ALLOC_PROFILING
dynamic_debug       d lib/dynamic_debug.c               DYNAMIC_DEBUG_CORE
filesystems         f fs/filesystems.c                  -
locks               f fs/locks.c                        FILE_LOCKING
diskstats           f block/genhd.c                     BLOCK
partitions          f block/genhd.c                     BLOCK
crypto              f crypto/proc.c                     CRYPTO
keys                f security/keys/proc.c              KEYS
key-users           f security/keys/proc.c              KEYS
misc                f drivers/char/misc.c               -
sysrq-trigger       f drivers/tty/sysrq.c               MAGIC_SYSRQ
mtrr                f arch/x86/kernel/cpu/mtrr/if.c     MTRR
acpi                d drivers/acpi/bus.c                ACPI
fb                  f drivers/video/fbdev/core/fb_procfs.c FB_CORE
mdstat              f drivers/md/md.c                   BLK_DEV_MD
scsi                d drivers/scsi/scsi_proc.c          SCSI_PROC_FS
asound              d sound/core/info.c                 SND_PROC_FS
xen                 d drivers/xen/xenbus/xenbus_probe.c XEN*
mtd                 f drivers/mtd/mtdcore.c             MTD
i8k                 f drivers/hwmon/dell-smm-hwmon.c    I8K*
drbd                f drivers/block/drbd/drbd_main.c    BLK_DEV_DRBD
capi                d drivers/isdn/capi/kcapi_proc.c    ISDN_CAPI
comedi              f drivers/comedi/proc.c             COMEDI
toshiba             f drivers/char/toshiba.c            TOSHIBA*
megaraid            d drivers/scsi/megaraid.c           MEGARAID_LEGACY
viafb               d drivers/video/fbdev/via/viafbdev.c FB_VIA
device-tree         l drivers/of/base.c                 OF*
""")

# /proc/<pid> (fs/proc/base.c tgid_base_stuff).  "sched" once needed CONFIG_SCHED_DEBUG,
# which 6.18 no longer has: it is there always ([live]).
PROC_TGID = _table("""
task                d fs/proc/base.c                    -
fd                  d fs/proc/base.c                    -
map_files           d fs/proc/base.c                    -
fdinfo              d fs/proc/base.c                    -
ns                  d fs/proc/base.c                    -
net                 d fs/proc/base.c                    NET
environ             f fs/proc/base.c                    -
auxv                f fs/proc/base.c                    -
status              f fs/proc/base.c                    -
personality         f fs/proc/base.c                    -
limits              f fs/proc/base.c                    -
sched               f fs/proc/base.c                    -
autogroup           f fs/proc/base.c                    SCHED_AUTOGROUP
timens_offsets      f fs/proc/base.c                    TIME_NS
comm                f fs/proc/base.c                    -
syscall             f fs/proc/base.c                    HAVE_ARCH_TRACEHOOK
cmdline             f fs/proc/base.c                    -
stat                f fs/proc/base.c                    -
statm               f fs/proc/base.c                    -
maps                f fs/proc/base.c                    -
numa_maps           f fs/proc/base.c                    NUMA
mem                 f fs/proc/base.c                    -
cwd                 l fs/proc/base.c                    -
root                l fs/proc/base.c                    -
exe                 l fs/proc/base.c                    -
mounts              f fs/proc/base.c                    -
mountinfo           f fs/proc/base.c                    -
mountstats          f fs/proc/base.c                    -
clear_refs          f fs/proc/base.c                    PROC_PAGE_MONITOR
smaps               f fs/proc/base.c                    PROC_PAGE_MONITOR
smaps_rollup        f fs/proc/base.c                    PROC_PAGE_MONITOR
pagemap             f fs/proc/base.c                    PROC_PAGE_MONITOR
attr                d fs/proc/base.c                    SECURITY
wchan               f fs/proc/base.c                    KALLSYMS
stack               f fs/proc/base.c                    STACKTRACE
schedstat           f fs/proc/base.c                    SCHED_INFO
latency             f fs/proc/base.c                    LATENCYTOP
cpuset              f fs/proc/base.c                    PROC_PID_CPUSET
cgroup              f fs/proc/base.c                    CGROUPS
cpu_resctrl_groups  f fs/proc/base.c                    PROC_CPU_RESCTRL
oom_score           f fs/proc/base.c                    -
oom_adj             f fs/proc/base.c                    -
oom_score_adj       f fs/proc/base.c                    -
loginuid            f fs/proc/base.c                    AUDIT
sessionid           f fs/proc/base.c                    AUDIT
make-it-fail        f fs/proc/base.c                    FAULT_INJECTION
fail-nth            f fs/proc/base.c                    FAULT_INJECTION
coredump_filter     f fs/proc/base.c                    ELF_CORE
io                  f fs/proc/base.c                    TASK_IO_ACCOUNTING
uid_map             f fs/proc/base.c                    USER_NS
gid_map             f fs/proc/base.c                    USER_NS
projid_map          f fs/proc/base.c                    USER_NS
setgroups           f fs/proc/base.c                    USER_NS
timers              f fs/proc/base.c                    CHECKPOINT_RESTORE&POSIX_TIMERS
timerslack_ns       f fs/proc/base.c                    -
patch_state         f fs/proc/base.c                    LIVEPATCH
stack_depth         f fs/proc/base.c                    STACKLEAK_METRICS
arch_status         f fs/proc/base.c                    PROC_PID_ARCH_STATUS
seccomp_cache       f fs/proc/base.c                    SECCOMP_CACHE_DEBUG
ksm_merging_pages   f fs/proc/base.c                    KSM
ksm_stat            f fs/proc/base.c                    KSM
""")

# /proc/<pid>/task/<tid> (tid_base_stuff): no task, map_files, autogroup, timens_offsets,
# mountstats, coredump_filter, timers, timerslack_ns or stack_depth; children instead.
PROC_TID = {name: e for name, e in PROC_TGID.items()
            if name not in ("task", "map_files", "autogroup", "timens_offsets", "mountstats",
                            "coredump_filter", "timers", "timerslack_ns", "stack_depth")}
PROC_TID["children"] = Entry("f", "fs/proc/base.c", ("PROC_CHILDREN",), False)

# /proc/<pid>/ns (fs/proc/namespaces.c ns_entries): links to nsfs files.
PROC_NS = _table("""
net                 l fs/proc/namespaces.c              NET_NS
uts                 l fs/proc/namespaces.c              UTS_NS
ipc                 l fs/proc/namespaces.c              IPC_NS
pid                 l fs/proc/namespaces.c              PID_NS
pid_for_children    l fs/proc/namespaces.c              PID_NS
user                l fs/proc/namespaces.c              USER_NS
mnt                 l fs/proc/namespaces.c              -
cgroup              l fs/proc/namespaces.c              CGROUPS
time                l fs/proc/namespaces.c              TIME_NS
time_for_children   l fs/proc/namespaces.c              TIME_NS
""")

# /proc/sys: the roots of the sysctl tables.
PROC_SYS = _table("""
abi                 d arch/x86/entry/vdso/vdso32-setup.c IA32_EMULATION
debug               d kernel/signal.c                   *
dev                 d drivers/tty/tty_io.c              *
fs                  d fs/file_table.c                   -
kernel              d kernel/sysctl.c                   -
net                 d net/sysctl_net.c                  NET
user                d kernel/ucount.c                   -
vm                  d kernel/sysctl.c                   -
""")

# /proc/sys/kernel: every table registered under "kernel" (x86_64).
PROC_SYS_KERNEL = _table("""
acct                            f kernel/acct.c                 BSD_PROCESS_ACCT
acpi_video_flags                f kernel/sysctl.c               ACPI_SLEEP
apparmor_display_secid_mode     f security/apparmor/lsm.c       SECURITY_APPARMOR
apparmor_restrict_unprivileged_unconfined f security/apparmor/lsm.c SECURITY_APPARMOR
arch                            f kernel/utsname_sysctl.c       -
auto_msgmni                     f ipc/ipc_sysctl.c              SYSVIPC
bootloader_type                 f kernel/sysctl.c               -
bootloader_version              f kernel/sysctl.c               -
bpf_stats_enabled               f kernel/bpf/syscall.c          BPF_SYSCALL
cad_pid                         f kernel/reboot.c               -
cap_last_cap                    f kernel/sysctl.c               -
core_file_note_size_limit       f fs/coredump.c                 COREDUMP
core_modes                      f fs/coredump.c                 COREDUMP
core_pattern                    f fs/coredump.c                 COREDUMP
core_pipe_limit                 f fs/coredump.c                 COREDUMP
core_sort_vma                   f fs/coredump.c                 COREDUMP
core_uses_pid                   f fs/coredump.c                 COREDUMP
ctrl-alt-del                    f kernel/reboot.c               -
dmesg_restrict                  f kernel/printk/sysctl.c        PRINTK
domainname                      f kernel/utsname_sysctl.c       -
firmware_config                 d drivers/base/firmware_loader/fallback_table.c FW_LOADER_USER_HELPER
ftrace_dump_on_oops             f kernel/sysctl.c               TRACING
ftrace_enabled                  f kernel/trace/ftrace.c         FUNCTION_TRACER
hardlockup_all_cpu_backtrace    f kernel/watchdog.c             LOCKUP_DETECTOR&HARDLOCKUP_DETECTOR&SMP
hardlockup_panic                f kernel/watchdog.c             LOCKUP_DETECTOR&HARDLOCKUP_DETECTOR
hostname                        f kernel/utsname_sysctl.c       -
hotplug                         f kernel/sysctl.c               UEVENT_HELPER
hung_task_all_cpu_backtrace     f kernel/hung_task.c            DETECT_HUNG_TASK&SMP
hung_task_check_count           f kernel/hung_task.c            DETECT_HUNG_TASK
hung_task_check_interval_secs   f kernel/hung_task.c            DETECT_HUNG_TASK
hung_task_detect_count          f kernel/hung_task.c            DETECT_HUNG_TASK
hung_task_panic                 f kernel/hung_task.c            DETECT_HUNG_TASK
hung_task_timeout_secs          f kernel/hung_task.c            DETECT_HUNG_TASK
hung_task_warnings              f kernel/hung_task.c            DETECT_HUNG_TASK
io_delay_type                   f kernel/sysctl.c               -
io_uring_disabled               f io_uring/io_uring.c           IO_URING
io_uring_group                  f io_uring/io_uring.c           IO_URING
kexec_load_disabled             f kernel/kexec_core.c           KEXEC_CORE
kexec_load_limit_panic          f kernel/kexec_core.c           KEXEC_CORE
kexec_load_limit_reboot         f kernel/kexec_core.c           KEXEC_CORE
keys                            d security/keys/sysctl.c        KEYS
kptr_restrict                   f kernel/printk/sysctl.c        PRINTK
latencytop                      f kernel/latencytop.c           LATENCYTOP
loadpin                         d security/loadpin/loadpin.c    SECURITY_LOADPIN
lock_stat                       f kernel/locking/lockdep.c      LOCKDEP&LOCK_STAT
max_lock_depth                  f kernel/sysctl.c               RT_MUTEXES
max_rcu_stall_to_panic          f kernel/sysctl.c               TREE_RCU
modprobe                        f kernel/sysctl.c               MODULES
modules_disabled                f kernel/sysctl.c               MODULES
msg_next_id                     f ipc/ipc_sysctl.c              SYSVIPC&CHECKPOINT_RESTORE
msgmax                          f ipc/ipc_sysctl.c              SYSVIPC
msgmnb                          f ipc/ipc_sysctl.c              SYSVIPC
msgmni                          f ipc/ipc_sysctl.c              SYSVIPC
ngroups_max                     f kernel/sysctl.c               -
nmi_watchdog                    f kernel/watchdog.c             LOCKUP_DETECTOR
ns_last_pid                     f kernel/pid_namespace.c        PID_NS&CHECKPOINT_RESTORE
numa_balancing                  f kernel/sched/core.c           NUMA_BALANCING
numa_balancing_promote_rate_limit_MBps f kernel/sched/fair.c    NUMA_BALANCING
oops_all_cpu_backtrace          f kernel/panic.c                SMP
oops_limit                      f kernel/exit.c                 -
osrelease                       f kernel/utsname_sysctl.c       -
ostype                          f kernel/utsname_sysctl.c       -
overflowgid                     f kernel/sysctl.c               -
overflowuid                     f kernel/sysctl.c               -
panic                           f kernel/sysctl.c               -
panic_on_io_nmi                 f kernel/sysctl.c               -
panic_on_oops                   f kernel/sysctl.c               -
panic_on_rcu_stall              f kernel/sysctl.c               TREE_RCU
panic_on_unrecovered_nmi        f kernel/sysctl.c               -
panic_on_warn                   f kernel/sysctl.c               -
panic_print                     f kernel/sysctl.c               -
panic_sys_info                  f kernel/panic.c                -
perf_cpu_time_max_percent       f kernel/sysctl.c               PERF_EVENTS
perf_event_max_contexts_per_stack f kernel/sysctl.c             PERF_EVENTS
perf_event_max_sample_rate      f kernel/sysctl.c               PERF_EVENTS
perf_event_max_stack            f kernel/sysctl.c               PERF_EVENTS
perf_event_mlock_kb             f kernel/sysctl.c               PERF_EVENTS
perf_event_paranoid             f kernel/sysctl.c               PERF_EVENTS
pid_max                         f kernel/pid.c                  -
poweroff_cmd                    f kernel/reboot.c               -
print-fatal-signals             f kernel/sysctl.c               -
printk                          f kernel/printk/sysctl.c        PRINTK
printk_delay                    f kernel/printk/sysctl.c        PRINTK
printk_devkmsg                  f kernel/printk/sysctl.c        PRINTK
printk_ratelimit                f kernel/printk/sysctl.c        PRINTK
printk_ratelimit_burst          f kernel/printk/sysctl.c        PRINTK
prove_locking                   f kernel/locking/lockdep.c      LOCKDEP&PROVE_LOCKING
pty                             d fs/devpts/inode.c             UNIX98_PTYS
random                          d drivers/char/random.c         -
randomize_va_space              f kernel/sysctl.c               -
real-root-dev                   f init/do_mounts_initrd.c       BLK_DEV_INITRD
sched_autogroup_enabled         f kernel/sched/autogroup.c      SCHED_AUTOGROUP
sched_cfs_bandwidth_slice_us    f kernel/sched/fair.c           CFS_BANDWIDTH
sched_deadline_period_max_us    f kernel/sched/deadline.c       -
sched_deadline_period_min_us    f kernel/sched/deadline.c       -
sched_energy_aware              f kernel/sched/topology.c       ENERGY_MODEL&CPU_FREQ_GOV_SCHEDUTIL
sched_itmt_enabled              f arch/x86/kernel/itmt.c        SCHED_MC_PRIO*
sched_rr_timeslice_ms           f kernel/sched/rt.c             -
sched_rt_period_us              f kernel/sched/rt.c             -
sched_rt_runtime_us             f kernel/sched/rt.c             -
sched_schedstats                f kernel/sched/core.c           SCHEDSTATS
sched_util_clamp_max            f kernel/sched/core.c           UCLAMP_TASK
sched_util_clamp_min            f kernel/sched/core.c           UCLAMP_TASK
sched_util_clamp_min_rt_default f kernel/sched/core.c           UCLAMP_TASK
seccomp                         d kernel/seccomp.c              SECCOMP
sem                             f ipc/ipc_sysctl.c              SYSVIPC
sem_next_id                     f ipc/ipc_sysctl.c              SYSVIPC&CHECKPOINT_RESTORE
sg-big-buff                     f drivers/scsi/sg.c             CHR_DEV_SG
shm_next_id                     f ipc/ipc_sysctl.c              SYSVIPC&CHECKPOINT_RESTORE
shm_rmid_forced                 f ipc/ipc_sysctl.c              SYSVIPC
shmall                          f ipc/ipc_sysctl.c              SYSVIPC
shmmax                          f ipc/ipc_sysctl.c              SYSVIPC
shmmni                          f ipc/ipc_sysctl.c              SYSVIPC
soft_watchdog                   f kernel/watchdog.c             LOCKUP_DETECTOR&SOFTLOCKUP_DETECTOR
softlockup_all_cpu_backtrace    f kernel/watchdog.c             LOCKUP_DETECTOR&SOFTLOCKUP_DETECTOR&SMP
softlockup_panic                f kernel/watchdog.c             LOCKUP_DETECTOR&SOFTLOCKUP_DETECTOR
split_lock_mitigate             f arch/x86/kernel/cpu/intel.c   CPU_SUP_INTEL
stack_erasing                   f kernel/stackleak.c            GCC_PLUGIN_STACKLEAK&STACKLEAK_RUNTIME_DISABLE
stack_tracer_enabled            f kernel/sysctl.c               STACK_TRACER
sysctl_writes_strict            f kernel/sysctl.c               -
sysrq                           f kernel/sysctl.c               MAGIC_SYSRQ
tainted                         f kernel/sysctl.c               -
task_delayacct                  f kernel/delayacct.c            TASK_DELAY_ACCT
threads-max                     f kernel/sysctl.c               -
timer_migration                 f kernel/time/timer.c           NO_HZ_COMMON&SMP
traceoff_on_warning             f kernel/sysctl.c               TRACING
tracepoint_printk               f kernel/sysctl.c               TRACING
unknown_nmi_panic               f kernel/sysctl.c               X86_LOCAL_APIC
unprivileged_bpf_disabled       f kernel/bpf/syscall.c          BPF_SYSCALL
unprivileged_userns_apparmor_policy f security/apparmor/lsm.c   SECURITY_APPARMOR&USER_NS
user_events_max                 f kernel/trace/trace_events_user.c USER_EVENTS
usermodehelper                  d kernel/umh.c                  -
version                         f kernel/utsname_sysctl.c       -
warn_limit                      f kernel/panic.c                -
watchdog                        f kernel/watchdog.c             LOCKUP_DETECTOR
watchdog_cpumask                f kernel/watchdog.c             LOCKUP_DETECTOR
watchdog_thresh                 f kernel/watchdog.c             LOCKUP_DETECTOR
yama                            d security/yama/yama_lsm.c      SECURITY_YAMA
""")

# /proc/sys/user (kernel/ucount.c user_table): one limit per namespace type.
PROC_SYS_USER = _table("""
max_user_namespaces             f kernel/ucount.c               -
max_pid_namespaces              f kernel/ucount.c               -
max_uts_namespaces              f kernel/ucount.c               -
max_ipc_namespaces              f kernel/ucount.c               -
max_net_namespaces              f kernel/ucount.c               -
max_mnt_namespaces              f kernel/ucount.c               -
max_cgroup_namespaces           f kernel/ucount.c               -
max_time_namespaces             f kernel/ucount.c               -
max_inotify_instances           f kernel/ucount.c               INOTIFY_USER
max_inotify_watches             f kernel/ucount.c               INOTIFY_USER
max_fanotify_groups             f kernel/ucount.c               FANOTIFY
max_fanotify_marks              f kernel/ucount.c               FANOTIFY
""")

# The directories whose entries are all known, by their path below /proc ("" is /proc).
PROC_DIRS: dict[str, dict[str, Entry]] = {
    "": PROC_ROOT,
    "sys": PROC_SYS,
    "sys/kernel": PROC_SYS_KERNEL,
    "sys/user": PROC_SYS_USER,
    "sys/kernel/firmware_config": _table("""
force_sysfs_fallback    f drivers/base/firmware_loader/fallback_table.c FW_LOADER_USER_HELPER
ignore_sysfs_fallback   f drivers/base/firmware_loader/fallback_table.c FW_LOADER_USER_HELPER
"""),
    "sys/kernel/keys": _table("""
gc_delay                f security/keys/sysctl.c        KEYS
maxbytes                f security/keys/sysctl.c        KEYS
maxkeys                 f security/keys/sysctl.c        KEYS
persistent_keyring_expiry f security/keys/sysctl.c      KEYS&PERSISTENT_KEYRINGS
root_maxbytes           f security/keys/sysctl.c        KEYS
root_maxkeys            f security/keys/sysctl.c        KEYS
"""),
    "sys/kernel/loadpin": _table("""
enforce                 f security/loadpin/loadpin.c    SECURITY_LOADPIN
"""),
    "sys/kernel/pty": _table("""
max                     f fs/devpts/inode.c             UNIX98_PTYS
nr                      f fs/devpts/inode.c             UNIX98_PTYS
reserve                 f fs/devpts/inode.c             UNIX98_PTYS
"""),
    "sys/kernel/random": _table("""
boot_id                 f drivers/char/random.c         -
entropy_avail           f drivers/char/random.c         -
poolsize                f drivers/char/random.c         -
urandom_min_reseed_secs f drivers/char/random.c         -
uuid                    f drivers/char/random.c         -
write_wakeup_threshold  f drivers/char/random.c         -
"""),
    "sys/kernel/seccomp": _table("""
actions_avail           f kernel/seccomp.c              SECCOMP
actions_logged          f kernel/seccomp.c              SECCOMP
"""),
    "sys/kernel/usermodehelper": _table("""
bset                    f kernel/umh.c                  -
inheritable             f kernel/umh.c                  -
"""),
    "sys/kernel/yama": _table("""
ptrace_scope            f security/yama/yama_lsm.c      SECURITY_YAMA
"""),
}


class Node:
    """A resolved /proc path."""

    __slots__ = ("kind", "task", "name", "entry")

    def __init__(self, kind: str, task: TaskStruct | None = None, name: str = "",
                 entry: Entry | None = None) -> None:
        # "sysctl", "dir", "status", "comm", "ns", "fdinfo", "fddir", "fd", "root", or
        # "unmodelled": an entry Linux has (`entry`) and pidlab does not model.
        self.kind = kind
        self.task = task
        self.name = name
        self.entry = entry


def _is_number(comp: str) -> bool:
    """name_to_int: decimal digits without a sign or a leading zero."""
    return comp.isascii() and comp.isdigit() and (len(comp) == 1 or comp[0] != "0")


def _lookup_pid(cur: TaskStruct, comp: str) -> TaskStruct:
    ns = cur.pid.ns
    if comp == "self":
        return cur.signal.group_leader if cur.signal.group_leader.pid is not None else cur
    if comp == "thread-self":
        return cur
    if not _is_number(comp):
        raise oserror(errno.ENOENT, comp)
    pid = ns.idr.entries.get(int(comp))
    task = pid.task if pid is not None else None
    if task is None:
        raise oserror(errno.ENOENT, comp)
    return task


def _not_modelled(path: str, entry: Entry) -> Unsupported:
    return Unsupported(f"{path} is not modelled (Linux: {entry.why()})")


def _enotdir(path: str, entry: Entry) -> OSError | Unsupported:
    """A path through a file: ENOTDIR, if the file is there whatever the configuration."""
    return oserror(errno.ENOTDIR, path) if entry.always else _not_modelled(path, entry)


def _walk(key: str, comps: list[str], path: str, task: TaskStruct | None = None) -> Node:
    """Look `comps` up from the directory /proc/<key> through the tables of PROC_DIRS."""
    table = PROC_DIRS.get(key)
    entry = None
    for comp in comps:
        if entry is not None:
            if entry.kind == "f":
                raise _enotdir(path, entry)
            if table is None:                   # below a link or a directory not listed
                raise Unsupported(f"{path}: what /proc/{key} holds is not modelled "
                                  f"(Linux: {entry.why()})")
        entry = table.get(comp)
        if entry is None:
            raise oserror(errno.ENOENT, path)
        key = f"{key}/{comp}" if key else comp
        table = PROC_DIRS.get(key) if entry.kind == "d" else None
    return Node("unmodelled", task, key, entry)


def lookup(k: "Kernel", cur: TaskStruct, path: str) -> Node:
    """Resolve a /proc path; what Linux has and pidlab does not model is an "unmodelled" node."""
    norm = posixpath.normpath(path)
    parts = [p for p in norm.split("/") if p]
    if parts[:1] != ["proc"] or not norm.startswith("/"):
        raise oserror(errno.ENOENT, f"{path} is outside /proc (only procfs is modelled)")
    parts = parts[1:]
    if not parts:
        return Node("root")
    head = parts[0]
    if head in ("self", "thread-self") or head.isdigit():
        node = _lookup_pid_entry(cur, _lookup_pid(cur, head), head == "thread-self", parts[1:],
                                 path)
    elif head == "sys" and len(parts) >= 3 and "/".join(parts[1:3]) in SYSCTLS:
        if len(parts) > 3:
            raise oserror(errno.ENOTDIR, path)
        node = Node("sysctl", name=parts[2])
    else:
        node = _walk("", parts, path)
    # A trailing slash asks for a directory (fs/namei.c: LOOKUP_DIRECTORY).
    if path.endswith("/"):
        if node.kind in ("sysctl", "status", "comm", "ns", "fdinfo"):
            raise oserror(errno.ENOTDIR, path)
        if node.kind == "unmodelled" and node.entry.kind == "f":
            raise _enotdir(path, node.entry)
    return node


def _lookup_pid_entry(cur: TaskStruct, task: TaskStruct, thread_dir: bool, rest: list[str],
                      path: str) -> Node:
    """An entry of /proc/<pid> (tgid_base_stuff) or of a thread's directory (tid_base_stuff)."""
    # /proc/thread-self is a link to <tgid>/task/<tid>: a thread's directory.
    if not thread_dir and rest[:1] == ["task"] and len(rest) >= 2:
        if not _is_number(rest[1]):             # proc_task_lookup: a number only
            raise oserror(errno.ENOENT, path)
        thread = _lookup_pid(cur, rest[1])
        if thread.signal is not task.signal:
            raise oserror(errno.ENOENT, path)
        task = thread
        rest = rest[2:]
        thread_dir = True
    if not rest:
        # /proc/<n> is a "tgid" directory even for a thread; /proc/<p>/task/<t> is not.
        return Node("dir", task, "tid" if thread_dir else "tgid")
    name = rest[0]
    entry = (PROC_TID if thread_dir else PROC_TGID).get(name)
    if entry is None:
        raise oserror(errno.ENOENT, path)
    which = "tid" if thread_dir else "tgid"
    if entry.kind == "f" and len(rest) > 1:
        raise _enotdir(path, entry)
    if name == "task" and len(rest) == 1:
        return Node("dir", task, "task")            # the list of the process's threads
    if name in ("status", "comm"):
        return Node(name, task, which)
    if name == "ns" and len(rest) >= 2:
        link = PROC_NS.get(rest[1])
        if link is None:
            raise oserror(errno.ENOENT, path)
        if len(rest) > 2:                           # an nsfs inode is no directory
            raise _enotdir(path, link) if rest[1] not in ("pid", "pid_for_children") else \
                oserror(errno.ENOTDIR, path)
        if rest[1] in ("pid", "pid_for_children"):
            return Node("ns", task, rest[1])
        return Node("unmodelled", task, f"<pid>/ns/{rest[1]}", link)
    if name == "fdinfo" and len(rest) >= 2:
        if not _is_number(rest[1]):                 # proc_lookupfdinfo: name_to_int
            raise oserror(errno.ENOENT, path)
        if len(rest) > 2:
            raise oserror(errno.ENOTDIR, path)
        return Node("fdinfo", task, rest[1])
    if name == "fd" and len(rest) <= 2:
        _fd_dir_permission(cur, task)
        if len(rest) == 1:
            return Node("fddir", task)
        # proc_lookupfd: name_to_int takes no sign and no leading zero.
        n = rest[1]
        files = task.files
        if not _is_number(n) or files is None or files.get(int(n)) is None:
            raise oserror(errno.ENOENT, path)
        return Node("fd", task, n)
    if len(rest) > 1:
        raise _not_modelled(path, entry)            # inside attr, net, map_files, a link...
    return Node("unmodelled", task, f"<pid>/{name}", entry)


def resolve(k: "Kernel", cur: TaskStruct, path: str) -> Node:
    """lookup for a call that needs a modelled file: the others are Unsupported."""
    node = lookup(k, cur, path)
    if node.kind == "unmodelled":
        raise _not_modelled(path, node.entry)
    return node


def _fd_dir_permission(cur: TaskStruct, task: TaskStruct) -> None:
    """Search permission on /proc/<pid>/fd (mode 0500).  Linux: fs/proc/fd.c proc_fd_permission."""
    if cur.signal is task.signal:
        return
    c = cur.cred
    if c.fsuid == task_dump_owner(task, False)[0]:
        return
    if credmod.capable(c, CAP_DAC_READ_SEARCH) or credmod.capable(c, CAP_DAC_OVERRIDE):
        return
    raise oserror(errno.EACCES, "/proc/<pid>/fd belongs to the task's owner")


def fd_link(k: "Kernel", cur: TaskStruct, node: Node) -> str:
    """readlink of /proc/<pid>/fd/<n>.  Linux: fs/proc/base.c proc_pid_readlink, proc_fd_link."""
    task = node.task
    if not ptrace_may_access(cur, task, PTRACE_MODE_READ | PTRACE_MODE_FSCREDS) or \
            security.deny(k, "ptrace_access_check"):
        raise oserror(errno.EACCES, "ptrace access to the task is denied")
    f = task.files.get(int(node.name))
    if f.kind == "pidfd":
        from .pidfd import pidfd_dname
        return pidfd_dname(k, f)
    if f.kind == "socket":
        return f"socket:[{f.obj.ino}]"
    if f.kind == "nsfs":
        return f"pid:[{f.obj.inum}]"
    if f.kind == "null":
        return "/dev/null"
    raise Unsupported("the path of a /proc file behind a descriptor is not modelled")


def is_symlink(path: str, node: Node) -> bool:
    """The last component is a link: /proc/self, /proc/thread-self, or a (magic) ns link."""
    parts = [p for p in posixpath.normpath(path).split("/") if p]
    return parts in (["proc", "self"], ["proc", "thread-self"]) or node.kind == "ns"


def ns_of_node(cur: TaskStruct, node: Node):
    """The pid namespace an ns link names (the caller must be allowed to see it)."""
    task = node.task
    if not ptrace_may_access(cur, task, PTRACE_MODE_READ | PTRACE_MODE_FSCREDS):
        raise oserror(errno.EACCES, "ptrace access to the task is denied")
    if node.name == "pid":
        if task.pid is None:
            raise oserror(errno.ENOENT)
        return task.pid.ns
    ns = task.nsproxy_pid
    # Linux 6.18: pid_for_children without an init yet cannot be opened.
    if ns is None or ns.child_reaper is None:
        raise oserror(errno.ENOENT, "pid_for_children has no init yet")
    return ns


def readlink(k: "Kernel", cur: TaskStruct, path: str) -> str:
    norm = posixpath.normpath(path)
    parts = [p for p in norm.split("/") if p]
    if parts == ["proc", "self"]:
        n = pid_nr_ns(cur.signal.group_leader.pid or cur.pid, cur.pid.ns)
        return str(n)
    if parts == ["proc", "thread-self"]:
        ns = cur.pid.ns
        return f"{pid_nr_ns(cur.signal.group_leader.pid or cur.pid, ns)}/task/{pid_nr_ns(cur.pid, ns)}"
    if parts in (["proc", "mounts"], ["proc", "net"]):
        return f"self/{parts[1]}"           # fs/proc/root.c, fs/proc/proc_net.c proc_symlink
    node = lookup(k, cur, path)
    if node.kind == "fd":
        return fd_link(k, cur, node)
    if node.kind == "unmodelled" and node.entry.kind == "l":
        raise _not_modelled(path, node.entry)
    if node.kind != "ns":
        raise oserror(errno.EINVAL, f"{path} is not a symbolic link")
    return f"pid:[{ns_of_node(cur, node).inum}]"


def _hex(mask: int) -> str:
    return f"{mask:016x}"


def _sigset(mask_by_sig: int) -> str:
    """render_sigset_t: bit n-1 stands for signal n."""
    return _hex(mask_by_sig >> 1)


def task_state(reader: TaskStruct, p: TaskStruct) -> str:
    if p.exit_state == EXIT_ZOMBIE:
        return "Z (zombie)"
    if p.exit_state == EXIT_DEAD:
        return "X (dead)"
    if p.jobctl & JOBCTL_STOPPED:
        return "T (stopped)"
    if p is reader:
        return "R (running)"
    return "S (sleeping)"


def status_name(comm: bytes) -> str:
    """The Name line's value: the comm with "\\n" and "\\\\" escaped, nothing else.

    Linux: fs/proc/array.c proc_task_name (seq_escape_str with ESCAPE_SPACE |
    ESCAPE_SPECIAL, only "\\n\\\\": a tab or a quote passes through).
    """
    return os.fsdecode(comm.replace(b"\\", b"\\\\").replace(b"\n", b"\\n"))


def status(k: "Kernel", reader: TaskStruct, p: TaskStruct) -> str:
    """/proc/<pid>/status (fs/proc/array.c proc_pid_status), the modelled lines."""
    ns = reader.pid.ns
    pid = p.pid
    sig = p.signal
    leader = sig.group_leader
    tgid_pid = leader.pid if leader.pid is not None else pid
    parent = p.real_parent
    ppid = pid_nr_ns(parent.signal.group_leader.pid, ns) if parent is not None else 0
    c = p.cred
    levels = range(ns.level, pid.level + 1)
    chain = pid.ns.chain
    nstgid = "".join(f"\t{pid_nr_ns(tgid_pid, chain[g])}" for g in levels)
    nspid = "".join(f"\t{pid_nr_ns(pid, chain[g])}" for g in levels)
    nspgid = "".join(f"\t{pid_nr_ns(sig.pgrp, chain[g])}" for g in levels)
    nssid = "".join(f"\t{pid_nr_ns(sig.session, chain[g])}" for g in levels)
    ign = catch = 0
    for s, h in (sig.sighand.action or {}).items():
        if h == SIG_IGN:
            ign |= 1 << s
        else:
            catch |= 1 << s
    lines = [
        f"Name:\t{status_name(p.comm)}",
        f"State:\t{task_state(reader, p)}",
        f"Tgid:\t{pid_nr_ns(tgid_pid, ns)}",
        "Ngid:\t0",
        f"Pid:\t{pid_nr_ns(pid, ns)}",
        f"PPid:\t{ppid}",
        "TracerPid:\t0",
        f"Uid:\t{c.uid}\t{c.euid}\t{c.suid}\t{c.fsuid}",
        f"Gid:\t{c.gid}\t{c.egid}\t{c.sgid}\t{c.fsgid}",
        f"NStgid:{nstgid}",
        f"NSpid:{nspid}",
        f"NSpgid:{nspgid}",
        f"NSsid:{nssid}",
    ]
    if k.has("proc-status-kthread"):
        lines.append("Kthread:\t0")       # task_state: no task of the model is a kernel thread
    lines += [
        f"Threads:\t{thread_count(sig)}",
        f"SigIgn:\t{_sigset(ign)}",
        f"SigCgt:\t{_sigset(catch)}",
        f"CapInh:\t{_hex(c.cap_inheritable)}",
        f"CapPrm:\t{_hex(c.cap_permitted)}",
        f"CapEff:\t{_hex(c.cap_effective)}",
        f"CapBnd:\t{_hex(c.cap_bset)}",
        f"CapAmb:\t{_hex(c.cap_ambient)}",
    ]
    return "\n".join(lines) + "\n"


# The sysctls the model has: two per pid namespace, two global ones for core dumps.
SYSCTLS = ("kernel/pid_max", "kernel/ns_last_pid", "kernel/core_pattern", "fs/suid_dumpable")


def pid_table_root_permissions_allow_write(cur: TaskStruct) -> bool:
    """Linux: kernel/pid.c pid_table_root_permissions (owner bits for the ns root)."""
    return credmod.capable(cur.cred, CAP_SYS_ADMIN) or cur.cred.euid == 0


def may_write_pid_max(k: "Kernel", cur: TaskStruct) -> bool:
    """Opening pid_max for write: the per-namespace table's owner bits (6.14), or before
    test_perm of the machine-wide table: euid 0 only, whatever the capabilities."""
    if k.pid_max_per_ns:
        return pid_table_root_permissions_allow_write(cur)
    return cur.cred.euid == 0


def _unmodelled_dir(path: str, node: Node) -> None:
    """A directory every Linux has is EISDIR to read or write, modelled or not; other
    entries pidlab does not model are Unsupported."""
    if node.entry.kind == "d" and node.entry.always:
        raise oserror(errno.EISDIR, path)
    raise _not_modelled(path, node.entry)


def comm_text(t: TaskStruct) -> str:
    """/proc/<pid>/comm.  Linux: fs/proc/base.c comm_show (proc_task_name unescaped)."""
    return os.fsdecode(t.comm + b"\n")


def read_text(k: "Kernel", cur: TaskStruct, path: str) -> str:
    node = lookup(k, cur, path)
    kind = node.kind
    if kind == "unmodelled":
        _unmodelled_dir(path, node)
    if kind == "comm":
        return comm_text(node.task)
    if kind in ("fd", "fddir"):
        raise Unsupported("opening files through /proc/<pid>/fd is not modelled")
    if kind == "sysctl":
        ns = cur.pid.ns
        if node.name == "pid_max":
            return f"{pidns_pid_max(k, ns).pid_max}\n"
        if node.name == "core_pattern":
            return f"{k.core_pattern}\n"
        if node.name == "suid_dumpable":
            return f"{k.suid_dumpable}\n"
        return f"{read_ns_last_pid(ns)}\n"
    if kind == "status":
        return status(k, cur, node.task)
    if kind == "ns":
        return f"pid:[{ns_of_node(cur, node).inum}]"
    if kind == "fdinfo":
        return k.fdinfo(cur, node.task, int(node.name))
    raise oserror(errno.EISDIR, path)


def comm_write(cur: TaskStruct, node: Node, text: str) -> None:
    """Write /proc/<pid>/comm or /proc/<pid>/task/<tid>/comm.  Linux: fs/proc/base.c."""
    task = node.task
    # Opening for write.  The tid file lets the task's own thread group in whatever its
    # owner (proc_tid_comm_permission: pthread_setname_np of another thread of a process
    # that is not dumpable); otherwise mode 0644 (generic_permission): the owner
    # (task_dump_owner) or CAP_DAC_OVERRIDE.
    if not (node.name == "tid" and task.signal is cur.signal) and \
            cur.cred.fsuid != task_dump_owner(task, False)[0] and \
            not credmod.capable(cur.cred, CAP_DAC_OVERRIDE):
        raise oserror(errno.EACCES, "comm is writable by the task's owner")
    if not text:
        return                              # opened and closed: nothing written
    # comm_write: at most TASK_COMM_LEN - 1 bytes, a name for the caller's own threads only.
    if task.signal is not cur.signal:
        raise oserror(errno.EINVAL, "comm can only be written by the task's own thread group")
    set_task_comm(task, text.encode())


def write_text(k: "Kernel", cur: TaskStruct, path: str, text: str) -> None:
    node = lookup(k, cur, path)
    if node.kind == "unmodelled":
        _unmodelled_dir(path, node)
    if node.kind == "comm":
        comm_write(cur, node, text)
        return
    if node.kind in ("fd", "fddir"):
        raise Unsupported("opening files through /proc/<pid>/fd is not modelled")
    if node.kind == "sysctl":
        ns = cur.pid.ns
        if node.name == "pid_max":
            # Opening for write: the owner bits apply only to the namespace's root
            # (6.14's per-namespace table), or before to euid 0 (test_perm of the
            # machine-wide one, which no capability opens).
            if not may_write_pid_max(k, cur):
                raise oserror(errno.EACCES, "pid_max is writable by the namespace's root "
                                            "(before 6.14: by euid 0)")
            if not text:
                return
            write_pid_max(pidns_pid_max(k, ns), text, k.pid_max_min, k.pid_max_limit)
        elif node.name in ("core_pattern", "suid_dumpable"):
            # Mode 0644: proc_sys_permission's test_perm gives the owner bits to euid 0 only.
            if cur.cred.euid != 0:
                raise oserror(errno.EACCES, f"{path} is writable by root only")
            if not text:
                return
            if node.name == "core_pattern":
                k.set_core_pattern(text)
            else:
                k.set_suid_dumpable(parse_dointvec(text))
        else:
            # Mode 0666: the handler checks the capability.
            if not credmod.checkpoint_restore_ns_capable(cur.cred):
                raise oserror(errno.EPERM, "ns_last_pid needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE")
            if not text:
                return
            write_ns_last_pid(ns, text, pidns_pid_max(k, ns).pid_max)
        return
    if node.kind in ("dir", "root"):
        raise oserror(errno.EISDIR, path)
    if not credmod.capable(cur.cred, CAP_DAC_OVERRIDE) and node.kind != "ns":
        raise oserror(errno.EACCES, path)
    raise oserror(errno.EINVAL, f"{path} cannot be written")

