"""Credentials: ids, capability sets, and the rules that change them.

Linux: include/linux/cred.h, kernel/cred.c (commit_creds), kernel/sys.c
(set*id), kernel/capability.c and security/commoncap.c (capset, the
setuid fix-ups, the exec rules).  A Cred is immutable and shared by
reference, as `const struct cred *` is; every change builds a new one.
"""

from __future__ import annotations

import dataclasses
import errno

from ..api import oserror
from ..constants import (CAP_CHECKPOINT_RESTORE, CAP_FULL_SET, CAP_SETGID, CAP_SETPCAP,
                         CAP_SETUID, CAP_SYS_ADMIN)

INVALID_UID = 0xFFFFFFFF
SECURE_NO_SETUID_FIXUP = 1 << 2
SECURE_KEEP_CAPS = 1 << 4
SECURE_KEEP_CAPS_LOCKED = 1 << 5

# The filesystem capabilities cap_drop_fs_set/cap_raise_fs_set move with fsuid.
CAP_FS_MASK = sum(1 << c for c in (0, 1, 2, 3, 4, 9, 27, 32))

@dataclasses.dataclass(frozen=True, slots=True)
class Cred:
    """struct cred (the parts pidlab models)."""

    uid: int = 0
    euid: int = 0
    suid: int = 0
    fsuid: int = 0
    gid: int = 0
    egid: int = 0
    sgid: int = 0
    fsgid: int = 0
    cap_inheritable: int = 0
    cap_permitted: int = CAP_FULL_SET
    cap_effective: int = CAP_FULL_SET
    cap_bset: int = CAP_FULL_SET
    cap_ambient: int = 0
    securebits: int = 0

    def replace(self, **changes: int) -> "Cred":
        return dataclasses.replace(self, **changes)


ROOT_CRED = Cred()


def capable(cred: Cred, cap: int) -> bool:
    """ns_capable(init_user_ns, cap): the model has one user namespace."""
    return bool(cred.cap_effective >> cap & 1)


def checkpoint_restore_ns_capable(cred: Cred) -> bool:
    return capable(cred, CAP_SYS_ADMIN) or capable(cred, CAP_CHECKPOINT_RESTORE)


def _emulate_setxuid(new: Cred, old: Cred) -> Cred:
    """Linux: security/commoncap.c cap_emulate_setxuid."""
    pe, pp, pa = new.cap_effective, new.cap_permitted, new.cap_ambient
    if (old.uid == 0 or old.euid == 0 or old.suid == 0) and \
            new.uid != 0 and new.euid != 0 and new.suid != 0:
        if not new.securebits & SECURE_KEEP_CAPS:
            pp = 0
            pe = 0
        pa = 0
    if old.euid == 0 and new.euid != 0:
        pe = 0
    if old.euid != 0 and new.euid == 0:
        pe = pp
    return new.replace(cap_effective=pe, cap_permitted=pp, cap_ambient=pa)


def fix_setuid(new: Cred, old: Cred) -> Cred:
    """security_task_fix_setuid for LSM_SETID_ID/RE/RES."""
    if new.securebits & SECURE_NO_SETUID_FIXUP:
        return new
    return _emulate_setxuid(new, old)


def _uid(v: int) -> int:
    if v == INVALID_UID:
        raise oserror(errno.EINVAL, "uid -1 is not a valid id")
    return v


def setuid(old: Cred, uid: int) -> Cred:
    """Linux: kernel/sys.c __sys_setuid."""
    uid = _uid(uid)
    if capable(old, CAP_SETUID):
        new = old.replace(uid=uid, suid=uid, euid=uid, fsuid=uid)
    elif uid == old.uid or uid == old.suid:
        new = old.replace(euid=uid, fsuid=uid)
    else:
        raise oserror(errno.EPERM, "setuid")
    return fix_setuid(new, old)


def setresuid(old: Cred, ruid: int, euid: int, suid: int) -> Cred:
    """Linux: __sys_setresuid.  -1 (0xffffffff) leaves an id unchanged."""
    keep = INVALID_UID
    if (ruid == keep or ruid == old.uid) and \
            (euid == keep or (euid == old.euid and euid == old.fsuid)) and \
            (suid == keep or suid == old.suid):
        return old
    olds = (old.uid, old.euid, old.suid)
    if any(v != keep and v not in olds for v in (ruid, euid, suid)) and \
            not capable(old, CAP_SETUID):
        raise oserror(errno.EPERM, "setresuid")
    new = old.replace(uid=old.uid if ruid == keep else ruid,
                      euid=old.euid if euid == keep else euid,
                      suid=old.suid if suid == keep else suid)
    new = new.replace(fsuid=new.euid)
    return fix_setuid(new, old)


def setreuid(old: Cred, ruid: int, euid: int) -> Cred:
    """Linux: __sys_setreuid."""
    keep = INVALID_UID
    uid, e = old.uid, old.euid
    if ruid != keep:
        uid = ruid
        if ruid != old.uid and ruid != old.euid and not capable(old, CAP_SETUID):
            raise oserror(errno.EPERM, "setreuid")
    if euid != keep:
        e = euid
        if euid not in (old.uid, old.euid, old.suid) and not capable(old, CAP_SETUID):
            raise oserror(errno.EPERM, "setreuid")
    suid = old.suid
    if ruid != keep or (euid != keep and euid != old.uid):
        suid = e
    new = old.replace(uid=uid, euid=e, suid=suid, fsuid=e)
    return fix_setuid(new, old)


def setgid(old: Cred, gid: int) -> Cred:
    """Linux: __sys_setgid."""
    gid = _uid(gid)
    if capable(old, CAP_SETGID):
        return old.replace(gid=gid, egid=gid, sgid=gid, fsgid=gid)
    if gid == old.gid or gid == old.sgid:
        return old.replace(egid=gid, fsgid=gid)
    raise oserror(errno.EPERM, "setgid")


def setresgid(old: Cred, rgid: int, egid: int, sgid: int) -> Cred:
    """Linux: __sys_setresgid."""
    keep = INVALID_UID
    if (rgid == keep or rgid == old.gid) and \
            (egid == keep or (egid == old.egid and egid == old.fsgid)) and \
            (sgid == keep or sgid == old.sgid):
        return old
    olds = (old.gid, old.egid, old.sgid)
    if any(v != keep and v not in olds for v in (rgid, egid, sgid)) and \
            not capable(old, CAP_SETGID):
        raise oserror(errno.EPERM, "setresgid")
    new = old.replace(gid=old.gid if rgid == keep else rgid,
                      egid=old.egid if egid == keep else egid,
                      sgid=old.sgid if sgid == keep else sgid)
    return new.replace(fsgid=new.egid)


def capset(old: Cred, effective: int, permitted: int, inheritable: int) -> Cred:
    """Linux: security/commoncap.c cap_capset."""
    if not capable(old, CAP_SETPCAP) and \
            inheritable & ~(old.cap_inheritable | old.cap_permitted):
        raise oserror(errno.EPERM, "new inheritable capabilities need CAP_SETPCAP")
    if inheritable & ~(old.cap_inheritable | old.cap_bset):
        raise oserror(errno.EPERM, "inheritable capabilities outside the bounding set")
    if permitted & ~old.cap_permitted:
        raise oserror(errno.EPERM, "permitted capabilities cannot grow")
    if effective & ~permitted:
        raise oserror(errno.EPERM, "effective capabilities must be permitted")
    return old.replace(cap_effective=effective, cap_permitted=permitted,
                       cap_inheritable=inheritable,
                       cap_ambient=old.cap_ambient & permitted & inheritable)


def set_keepcaps(old: Cred, arg: int) -> Cred:
    """prctl(PR_SET_KEEPCAPS).  Linux: cap_task_prctl."""
    if arg > 1:
        raise oserror(errno.EINVAL, "PR_SET_KEEPCAPS takes 0 or 1")
    if old.securebits & SECURE_KEEP_CAPS_LOCKED:
        raise oserror(errno.EPERM, "keep-caps is locked")
    bits = old.securebits | SECURE_KEEP_CAPS if arg else old.securebits & ~SECURE_KEEP_CAPS
    return old.replace(securebits=bits)


def exec_creds(old: Cred) -> tuple[Cred, bool]:
    """Credentials after execve of an ordinary (non-setuid, no file caps) binary.

    Linux: security/commoncap.c cap_bprm_creds_from_file and
    handle_privileged_root.  Returns (new creds, secureexec).
    """
    permitted = 0
    effective = False
    if old.euid == 0 or old.uid == 0:
        permitted = old.cap_bset | old.cap_inheritable
        effective = old.euid == 0
    ambient = old.cap_ambient
    secureexec = old.euid != old.uid or old.egid != old.gid or (
        old.uid != 0 and (effective or bool((permitted | ambient) & ~old.cap_permitted)))
    permitted |= ambient
    new = old.replace(cap_permitted=permitted,
                      cap_effective=permitted if effective else ambient,
                      suid=old.euid, fsuid=old.euid, sgid=old.egid, fsgid=old.egid)
    # exec clears SECURE_KEEP_CAPS unless it is locked (cap_bprm_creds_from_file).
    if not new.securebits & SECURE_KEEP_CAPS_LOCKED:
        new = new.replace(securebits=new.securebits & ~SECURE_KEEP_CAPS)
    return new, secureexec


def creds_lose_privilege(old: Cred, new: Cred) -> bool:
    """commit_creds resets dumpable and pdeath_signal when this is true."""
    return (old.euid != new.euid or old.egid != new.egid or old.fsuid != new.fsuid
            or old.fsgid != new.fsgid
            or bool(new.cap_permitted & ~old.cap_permitted))
