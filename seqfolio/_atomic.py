"""Atomic file writes: every file seqfolio writes goes through here.

A file is written to a temporary name in the destination folder, flushed and ``fsync``-ed, then renamed
over the destination with :func:`os.replace` (atomic on one filesystem). A process killed mid-write
therefore leaves either the previous file or no file under the real name — never a half-written one —
and a failed write removes its temporary file. Temporary names start with ``.`` and contain
``.tmp-``, so they are easy to recognise if a hard kill (SIGKILL, power loss) leaves one behind.
The temporary file is created as ``open()`` creates files, mode ``0o666`` less the user's umask
(``0644`` under the usual umask ``022``), so the file in place has the mode any other tool would give it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "atomic_path",
    "atomic_savefig",
    "atomic_write_bytes",
    "atomic_write_text",
    "confined",
]


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows: directories cannot be opened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _new_file(target: Path) -> Path:
    """Create an empty, new temporary file next to ``target`` and return its path.

    Not ``tempfile.mkstemp``, which makes every file mode 0600: ``os.open`` with mode 0o666 lets the
    kernel apply the umask (and a folder's default ACL), as for any file a program creates.
    ``O_EXCL`` never opens an existing file or follows a symlink planted under the name.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(16):  # a clash of 48 random bits: another try, not an error
        name = f".{target.name}.{secrets.token_hex(6)}.tmp-{os.getpid()}{target.suffix}"
        try:
            os.close(os.open(target.parent / name, flags, 0o666))
        except FileExistsError:
            continue
        return target.parent / name
    raise FileExistsError(f"atomic write: no free temporary name next to {target}.")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success move it into place, on error delete it.

    The temporary name keeps ``path``'s suffix, so writers that infer a format from it (matplotlib's
    ``savefig``) behave as for the real name. Parent folders are created.

    >>> with atomic_path("out/table.csv") as tmp:      # doctest: +SKIP
    ...     frame.to_csv(tmp)
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_file(target)
    try:
        yield tmp
        if not tmp.is_file():
            raise RuntimeError(f"atomic write: the writer did not create {target}.")
        _fsync_file(tmp)
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            handle.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically; returns the path."""
    return atomic_write_bytes(path, text.encode(encoding))


def atomic_savefig(figure: Any, path: str | os.PathLike[str], **kwargs: Any) -> Path:
    """``figure.savefig`` to ``path`` atomically (format from ``path``'s suffix); returns the path."""
    target = Path(path)
    kwargs.setdefault("format", target.suffix.lstrip(".") or None)
    with atomic_path(target) as tmp:
        figure.savefig(tmp, **kwargs)
    return target


def confined(folder: str | os.PathLike[str], name: str | os.PathLike[str]) -> Path:
    """``folder / name``, refusing a ``name`` that resolves outside ``folder``.

    For file names built from user input (a config value, an allocator name): ``..``, an absolute
    path or a symlink leading out of the output folder raise ``ValueError`` instead of writing there.
    """
    base = Path(folder).resolve()
    target = (base / name).resolve()
    if target == base or base not in target.parents:
        raise ValueError(
            f"refusing to write {str(name)!r}: it resolves to {target}, outside the output folder "
            f"{base}. Use a plain file name."
        )
    return Path(folder) / name
