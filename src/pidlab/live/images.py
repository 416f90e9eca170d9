"""The kernels pidlab boots as live oracles: Debian's 6.1 and 6.12 packages, unpacked into a cache.

`make kernels` (python -m pidlab.live.images install) installs QEMU and a
static busybox from Debian's packages (as root), downloads the newest plain
amd64 kernel package of each series, unpacks it without installing it, and
builds what QEMU boots:

* vmlinux: the uncompressed kernel, booted through its PVH entry (no
  decompressor runs in the guest, which under software emulation saves
  seconds);
* modules/: the modules that mount the host's root over 9p with an overlay,
  and the virtio console pidlab talks through; the initramfs (busybox, those
  modules and the guest's first init) is made from them at first boot, and
  again whenever that init changes (initrd_for).

Everything lives in the cache directory (PIDLAB_CACHE, else
$XDG_CACHE_HOME/pidlab, else ~/.cache/pidlab), one directory per series.
Installing is idempotent: what is there and up to date is kept.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import lzma
import os
import shutil
import struct
import subprocess
import sys
from typing import Iterator

# The series pidlab can boot, and the Debian package names of each (newest wins).
SERIES = {
    "6.1": r"^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$",
    "6.12": r"^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$",
}
# What the guest's init needs: the host's root over 9p, an overlay on it, the virtio
# console; their dependencies are added from each module's .modinfo.
MODULES = ("virtio_pci", "virtio_console", "9pnet_virtio", "9p", "overlay")
HOST_PACKAGES = ("qemu-system-x86", "busybox-static")
INSTALL_COMMAND = "make kernels"
BUSYBOX = "/bin/busybox"


def cache_dir() -> str:
    base = os.environ.get("PIDLAB_CACHE")
    if base:
        return base
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(xdg, "pidlab")


@dataclasses.dataclass(frozen=True)
class KernelImage:
    """One unpacked, bootable kernel of a series."""

    series: str             # "6.12"
    release: str            # uname -r inside: "6.12.117+deb12-amd64"
    package: str            # the .deb it came from
    vmlinux: str            # beside it: modules/ (what the initramfs loads)


def image(series: str) -> KernelImage | None:
    """The cached image of a series, or None when `make kernels` has not made it."""
    d = os.path.join(cache_dir(), "kernels", series)
    try:
        with open(os.path.join(d, "release")) as f:
            release = f.read().strip()
        with open(os.path.join(d, "package")) as f:
            package = f.read().strip()
    except OSError:
        return None
    vmlinux = os.path.join(d, "vmlinux")
    if not (os.path.exists(vmlinux) and os.path.exists(os.path.join(d, "modules", "order"))):
        return None
    return KernelImage(series, release, package, vmlinux)


def qemu_binary() -> str | None:
    return shutil.which("qemu-system-x86_64")


# ---------------------------------------------------------------- the initramfs

class Cpio:
    """A newc cpio archive written in memory (no cpio tool, no mknod, no root)."""

    def __init__(self) -> None:
        self._buf = io.BytesIO()
        self._ino = 1

    def _header(self, name: str, mode: int, size: int, nlink: int = 1,
                rdev: tuple[int, int] = (0, 0)) -> None:
        raw = name.encode() + b"\0"
        fields = (self._ino, mode, 0, 0, nlink, 0, size, 0, 0, rdev[0], rdev[1], len(raw), 0)
        self._ino += 1
        self._buf.write(b"070701" + b"".join(b"%08X" % v for v in fields) + raw)
        self._align()

    def _align(self) -> None:
        self._buf.write(b"\0" * (-self._buf.tell() % 4))

    def directory(self, name: str, mode: int = 0o755) -> None:
        self._header(name, 0o040000 | mode, 0, nlink=2)

    def file(self, name: str, data: bytes, mode: int = 0o644) -> None:
        self._header(name, 0o100000 | mode, len(data))
        self._buf.write(data)
        self._align()

    def symlink(self, name: str, target: str) -> None:
        self._header(name, 0o120777, len(target))
        self._buf.write(target.encode())
        self._align()

    def chardev(self, name: str, major: int, minor: int, mode: int = 0o600) -> None:
        self._header(name, 0o020000 | mode, 0, rdev=(major, minor))

    def finish(self) -> bytes:
        self._header("TRAILER!!!", 0, 0)
        self._buf.write(b"\0" * (-self._buf.tell() % 512))
        return self._buf.getvalue()


def _module_name(path: str) -> str:
    base = os.path.basename(path)
    for ext in (".ko.xz", ".ko.zst", ".ko.gz", ".ko"):
        if base.endswith(ext):
            base = base[:-len(ext)]
            break
    return base.replace("-", "_")


def _read_module(path: str) -> bytes:
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".xz"):
        return lzma.decompress(data)
    if path.endswith(".gz"):
        return gzip.decompress(data)
    if path.endswith(".zst"):
        return subprocess.run(["zstd", "-dcq"], input=data, capture_output=True, check=True).stdout
    return data             # busybox insmod wants a plain ELF


def _depends(elf: bytes) -> list[str]:
    """The `depends=` entry of an ELF64 little-endian module's .modinfo section."""
    if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
        raise ValueError("not an ELF64 little-endian module")
    (shoff,) = struct.unpack_from("<Q", elf, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x3A)

    def section(i: int) -> tuple[int, int, int]:
        name, _type, _flags, _addr, offset, size = struct.unpack_from("<IIQQQQ", elf,
                                                                       shoff + i * shentsize)
        return name, offset, size

    _, strtab, _ = section(shstrndx)
    for i in range(shnum):
        name, offset, size = section(i)
        if elf[strtab + name:elf.index(b"\0", strtab + name)] == b".modinfo":
            for entry in elf[offset:offset + size].split(b"\0"):
                if entry.startswith(b"depends="):
                    return [d for d in entry[8:].decode().split(",") if d]
    return []


def _modules_in_order(moddir: str, wanted: tuple[str, ...]) -> list[tuple[str, bytes]]:
    """The loadable modules `wanted` needs, dependencies first (built-in ones skipped)."""
    builtin: set[str] = set()
    with open(os.path.join(moddir, "modules.builtin")) as f:
        builtin = {_module_name(line.strip()) for line in f if line.strip()}
    files: dict[str, str] = {}
    for dirpath, _dirs, names in os.walk(os.path.join(moddir, "kernel")):
        for n in names:
            if ".ko" in n:
                files[_module_name(n)] = os.path.join(dirpath, n)
    out: list[tuple[str, bytes]] = []
    seen: set[str] = set()

    def want(name: str, chain: tuple[str, ...]) -> None:
        name = name.replace("-", "_")
        if name in seen:
            return
        seen.add(name)
        if name in builtin:
            return
        if name not in files:
            raise FileNotFoundError(f"module {name} (for {' <- '.join(chain) or 'the guest'}) "
                                    f"is not in {moddir}")
        elf = _read_module(files[name])
        for dep in _depends(elf):
            want(dep, chain + (name,))
        out.append((name, elf))

    for m in wanted:
        want(m, ())
    return out


def save_modules(kroot: str, dest: str) -> str:
    """Keep the modules the guest needs (dependencies first) out of an unpacked package;
    return the kernel's release."""
    (release,) = os.listdir(os.path.join(kroot, "lib", "modules"))
    modules = _modules_in_order(os.path.join(kroot, "lib", "modules", release), MODULES)
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    for name, elf in modules:
        with open(os.path.join(dest, f"{name}.ko"), "wb") as f:
            f.write(elf)
    with open(os.path.join(dest, "order"), "w") as f:
        f.write("".join(f"{name}\n" for name, _ in modules))
    return release


def initrd_for(im: KernelImage) -> str:
    """The image's initramfs, built again when the guest's init has changed."""
    from . import machine
    import hashlib
    stamp = hashlib.sha256((machine.INITRAMFS_INIT + BUSYBOX).encode()).hexdigest()[:16]
    out = os.path.join(os.path.dirname(im.vmlinux), f"initrd-{stamp}.gz")
    if os.path.exists(out):
        return out
    moddir = os.path.join(os.path.dirname(im.vmlinux), "modules")
    with open(os.path.join(moddir, "order")) as f:
        order = [line.strip() for line in f if line.strip()]
    c = Cpio()
    for d in ("bin", "dev", "proc", "sys", "newroot", "lower", "upper", "lib", "lib/modules",
              "run", "tmp"):
        c.directory(d)
    c.chardev("dev/console", 5, 1)
    c.chardev("dev/null", 1, 3, 0o666)
    with open(BUSYBOX, "rb") as f:
        c.file("bin/busybox", f.read(), 0o755)
    c.symlink("bin/sh", "busybox")
    for name in order:
        with open(os.path.join(moddir, f"{name}.ko"), "rb") as f:
            c.file(f"lib/modules/{name}.ko", f.read())
    c.file("modules", "".join(f"{name}\n" for name in order).encode())
    c.file("init", machine.INITRAMFS_INIT.encode(), 0o755)
    tmp = f"{out}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(gzip.compress(c.finish(), 6))
    os.replace(tmp, out)
    for old in os.listdir(os.path.dirname(out)):             # earlier inits' archives
        if old.startswith("initrd-") and old != os.path.basename(out) and old.endswith(".gz"):
            try:
                os.unlink(os.path.join(os.path.dirname(out), old))
            except OSError:
                pass
    return out


def extract_vmlinux(bzimage: str, out: str) -> None:
    """The ELF inside a bzImage (what scripts/extract-vmlinux does): xz, zstd or gzip."""
    with open(bzimage, "rb") as f:
        data = f.read()
    found = []
    for magic, kind in ((b"\xfd7zXZ\x00", "xz"), (b"\x28\xb5\x2f\xfd", "zstd"),
                        (b"\x1f\x8b\x08", "gzip")):
        i = data.find(magic)
        while i != -1:
            found.append((i, kind))
            i = data.find(magic, i + 1)
    for offset, kind in sorted(found):
        try:
            if kind == "xz":
                elf = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data[offset:])
            elif kind == "zstd":
                elf = subprocess.run(["zstd", "-dcq"], input=data[offset:],
                                     capture_output=True).stdout
            else:
                import zlib
                elf = zlib.decompressobj(31).decompress(data[offset:])
        except (lzma.LZMAError, OSError, ValueError, EOFError):
            continue
        if elf[:4] == b"\x7fELF":
            tmp = out + ".tmp"
            with open(tmp, "wb") as f:
                f.write(elf)
            os.replace(tmp, out)
            return
    raise ValueError(f"no ELF kernel inside {bzimage}")


# ---------------------------------------------------------------- installing

def _say(msg: str) -> None:
    print(f"pidlab kernels: {msg}", flush=True)


def _run(argv: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=True, **kw)


def _newest_package(pattern: str) -> str:
    r = _run(["apt-cache", "search", "--names-only", pattern], capture_output=True, text=True)
    names = [line.split()[0] for line in r.stdout.splitlines() if line.strip()]
    if not names:
        raise RuntimeError(f"no Debian package matches {pattern} (apt-get update?)")

    def key(name: str) -> list:
        import re
        return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]
    return max(names, key=key)


def _host_packages_missing() -> list[str]:
    missing = []
    if qemu_binary() is None:
        missing.append("qemu-system-x86")
    if not os.path.exists(BUSYBOX):
        missing.append("busybox-static")
    if shutil.which("zstd") is None:
        missing.append("zstd")
    return missing


def install(series: Iterator[str] | tuple[str, ...] = tuple(SERIES)) -> int:
    """Make every image of `series` bootable; 0 when all are there."""
    if os.uname().machine != "x86_64":
        _say(f"the guests are amd64 kernels; this machine is {os.uname().machine}: nothing to do")
        return 1
    missing = _host_packages_missing()
    if missing:
        if os.geteuid() != 0:
            _say(f"missing {', '.join(missing)}: run as root: apt-get install {' '.join(missing)}")
            return 1
        _say(f"installing {', '.join(missing)}")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        _run(["apt-get", "update", "-qq"], env=env, stdout=subprocess.DEVNULL)
        _run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], env=env,
             stdout=subprocess.DEVNULL)
    root = os.path.join(cache_dir(), "kernels")
    debs = os.path.join(cache_dir(), "debs")
    os.makedirs(debs, exist_ok=True)
    updated = False
    for s in series:
        try:
            pkg = _newest_package(SERIES[s])
        except RuntimeError:
            if os.geteuid() == 0 and not updated:
                _run(["apt-get", "update", "-qq"], stdout=subprocess.DEVNULL)
                updated = True
                pkg = _newest_package(SERIES[s])
            else:
                raise
        have = image(s)
        if have is not None and have.package.startswith(pkg + "_"):
            _say(f"{s}: {have.release} is ready ({have.vmlinux})")
            continue
        deb = next((n for n in sorted(os.listdir(debs)) if n.startswith(pkg + "_")), None)
        if deb is None:
            _say(f"{s}: downloading {pkg}")
            sandbox = ["-o", "APT::Sandbox::User=root"] if os.geteuid() == 0 else []
            _run(["apt-get", "download", "-qq", *sandbox, pkg], cwd=debs)
        deb = next(n for n in sorted(os.listdir(debs)) if n.startswith(pkg + "_"))
        d = os.path.join(root, s)
        unpacked = d + ".unpacked"
        shutil.rmtree(unpacked, ignore_errors=True)
        os.makedirs(unpacked)
        _say(f"{s}: unpacking {deb}")
        _run(["dpkg-deb", "-x", os.path.join(debs, deb), unpacked])
        os.makedirs(d, exist_ok=True)
        release = save_modules(unpacked, os.path.join(d, "modules"))
        (bz,) = [os.path.join(unpacked, "boot", n) for n in os.listdir(os.path.join(unpacked, "boot"))
                 if n.startswith("vmlinuz-")]
        extract_vmlinux(bz, os.path.join(d, "vmlinux"))
        shutil.rmtree(unpacked, ignore_errors=True)      # 100-400 MB of modules: not needed now
        with open(os.path.join(d, "release"), "w") as f:
            f.write(release + "\n")
        with open(os.path.join(d, "package"), "w") as f:
            f.write(deb + "\n")
        _say(f"{s}: {release} is ready ({os.path.join(d, 'vmlinux')})")
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["install"]:
        return install(tuple(argv[1:]) or tuple(SERIES))
    if argv[:1] == ["list"]:
        for s in SERIES:
            im = image(s)
            where = im.vmlinux if im else f"not installed: {INSTALL_COMMAND}"
            print(f"{s}\t{im.release if im else '-'}\t{where}")
        return 0
    print("usage: python -m pidlab.live.images install [SERIES...] | list", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
