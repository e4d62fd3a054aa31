"""Writing a report to the path given with ``-o``, without harming anything already there.

Refused before any work is done (exit 2, one line): the path of an input (the report would destroy
what it describes), a symbolic link to a regular file or to nothing (the write would land somewhere
the user did not name), a directory, a folder that does not exist. A report written over an
existing file keeps that file's permission bits, so a report kept private stays private. The report
is written beside its destination and renamed into place, so a failure (a full device, a read-only
folder) leaves the earlier file as it was and is reported as one line.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from appvet.errors import UsageError


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_output(path: Path, inputs: Iterable[Path | None] = ()) -> None:
    """Raise :class:`UsageError` if a report must not be written to ``path``."""
    where = str(path)
    if path.is_symlink():
        target = os.path.realpath(path)
        try:
            st = os.stat(path)  # follows the link, including /proc's links to pipes and terminals
        except OSError:
            raise UsageError(f"is a symbolic link to {target}, which does not exist; give the real path to write",
                             file=f"-o {where}") from None
        if stat.S_ISREG(st.st_mode):
            raise UsageError(f"is a symbolic link to {target}; give the real path to write", file=f"-o {where}")
    if path.is_dir():
        raise UsageError("is a directory; give a file name to write the report to", file=f"-o {where}")
    for given in inputs:
        if given is not None and _same_file(path, given):
            raise UsageError(f"is the input {given}; the report would overwrite it, give another file name",
                             file=f"-o {where}")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        raise UsageError(f"folder {parent} does not exist; create it first", file=f"-o {where}")
    if not parent.is_dir():
        raise UsageError(f"{parent} is not a folder", file=f"-o {where}")


def _os_message(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "the device is full; nothing was written, free some space and run again"
    if exc.errno == errno.EDQUOT:
        return "the disk quota is exhausted; nothing was written"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied; choose a folder you can write to"
    if exc.errno == errno.EROFS:
        return "the file system is read-only"
    return f"cannot write the report: {exc.strerror or exc}"


def write_report(path: Path, text: str | bytes, inputs: Iterable[Path | None] = ()) -> None:
    """Write atomically; every failure becomes a :class:`UsageError` naming ``path`` (exit 2, one line)."""
    check_output(path, inputs)
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        st = path.stat()
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise UsageError(_os_message(exc), file=f"-o {path}") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        # /dev/null, a pipe or a terminal: write through it; renaming over it would replace the device.
        try:
            with path.open("wb") as fh:
                fh.write(data)
        except OSError as exc:
            raise UsageError(_os_message(exc), file=f"-o {path}") from None
        return
    target = path.resolve()
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if st is not None:
            mode = stat.S_IMODE(st.st_mode)  # an existing report keeps who may read it
        else:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask  # mkstemp's 0600 would surprise whoever reads a new report next
        os.chmod(tmp, mode)
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise UsageError(_os_message(exc), file=f"-o {path}") from None
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
