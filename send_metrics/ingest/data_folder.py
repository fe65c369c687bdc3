"""Finding the files of a load in the data folder, and hashing them safely.

Files are files: only regular files inside the data folder are read (a device, pipe, socket, a link
out of the folder or an oversized file is refused with a sentence in the load's notes), and a file
is hashed without ever blocking and refused when it changes while read, so a file still being
written is taken by the next load. The synthetic demo folder is loaded only when the data folder
holds nothing else, so synthetic and real figures never mix.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from send_metrics.ingest.readers import SUPPORTED_SUFFIXES


def discover(data_dir: Path, refused: list[str] | None = None) -> list[Path]:
    """Every CSV/Parquet under the folder, skipping hidden folders (the store lives in one).

    Files are files: only regular files inside the data folder are returned. A device, named pipe
    or socket, a link that points outside the folder (or nowhere), and a file over SEND_MAX_FILE_MB
    are left out, each with a sentence appended to ``refused`` (the load's notes)."""
    if not data_dir.is_dir():
        return []
    found = []
    root_real = os.path.realpath(data_dir)
    for root, dirs, files in os.walk(data_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
        for f in sorted(files):
            if f.startswith((".", "~$")):
                continue
            p = Path(root) / f
            # .gz and .xlsx are published NHS formats that only the adapters read.
            if p.suffix.lower() in SUPPORTED_SUFFIXES + (".gz", ".xlsx"):
                why = _not_a_plain_file(p, root_real)
                if why is None:
                    found.append(p)
                elif refused is not None:
                    refused.append(f"{relative_name(p, data_dir)}: refused: {why}")
    return found


def _not_a_plain_file(path: Path, root_real: str) -> str | None:
    """Why a discovered entry must not be read (None for a regular file inside the data folder)."""
    import stat
    from send_metrics.config import max_file_bytes
    try:
        st = path.stat()  # follows a link
    except (OSError, ValueError):
        return "it is a broken link or cannot be read"
    if not stat.S_ISREG(st.st_mode):
        kind = ("a named pipe" if stat.S_ISFIFO(st.st_mode) else "a device" if stat.S_ISCHR(st.st_mode)
                or stat.S_ISBLK(st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
        return f"it is {kind}" + (" (through a link)" if path.is_symlink() else "") + ", not a regular file"
    if path.is_symlink() and os.path.commonpath([os.path.realpath(path), root_real]) != root_real:
        return "it is a link to a file outside the data folder; copy the file into the folder instead"
    if st.st_size > max_file_bytes():
        return (f"the file is {st.st_size / 1048576:,.0f} MB, more than the {max_file_bytes() // 1048576:,} MB limit "
                "(SEND_MAX_FILE_MB)")
    return None


class FileChanged(OSError):
    """A file's size or modification time changed while it was read, or it is not a regular file."""


DEMO_FOLDER = "demo"


def without_demo_when_real(files: list[Path], data_dir: Path) -> tuple[list[Path], list[str]]:
    """The synthetic demo (`<data dir>/demo/`) is a data set of its own: it is loaded only when the
    data folder holds nothing else, so synthetic and real figures never mix in one store."""
    demo = data_dir / DEMO_FOLDER
    in_demo = [p for p in files if demo in p.parents]
    others = [p for p in files if demo not in p.parents]
    if not in_demo or not others:
        return files, []
    shown = ", ".join(relative_name(p, data_dir) for p in others[:3]) + (" ..." if len(others) > 3 else "")
    return others, [f"the synthetic demo in {relative_name(demo, data_dir)}/ is not loaded: the data folder holds "
                    f"other files ({len(others)}: {shown}), and the demo is used only when it holds nothing else, so "
                    f"synthetic and real figures never mix. Remove those files to go back to the demo."]


def file_sha256(path: Path) -> str:
    """SHA-256 of a regular file. Never blocks: the file is opened non-blocking and refused
    (FileChanged) unless it is a regular file, and refused when its size or modification time
    changes while it is read (a file still being written is taken by the next load)."""
    import stat
    h = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as fh:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            raise FileChanged(f"{path.name} is not a regular file")
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
        after = os.fstat(fd)
    now = os.stat(path)
    if {(before.st_size, before.st_mtime_ns)} != {(after.st_size, after.st_mtime_ns), (now.st_size, now.st_mtime_ns)}:
        raise FileChanged(f"{path.name} changed (size or modification time) while it was read")
    return h.hexdigest()


def relative_name(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)
