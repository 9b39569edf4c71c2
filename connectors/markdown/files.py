"""Reading a page's bytes from a Markdown folder, never from outside its root.

ref id
    The file's path relative to the root, POSIX separators (``guide/setup.md``). An id that
    is absolute, holds a NUL, or has an empty, ``.`` or ``..`` segment names no page.

inside
    A file is read only when its real path is under the root's: its folder is resolved once
    per listing, and the file itself is opened without following a symlink, so only a
    symlinked file costs a ``realpath``. Opening never blocks (a FIFO named like a page is
    refused as not a regular file), and a file larger than :data:`MAX_FILE_BYTES` (or one that
    grows past it while read) is :class:`~syncd.connectors.base.DocumentTooLarge`.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from syncd.connectors.base import DocumentError, DocumentTooLarge

# Far beyond any real page; guards against stray dumps, and bounds what rendering one page
# costs in memory (see BENCHMARKS.md, "Failure handling").
MAX_FILE_BYTES = 4 * 1024 * 1024
# Non-blocking, so that a FIFO named like a page cannot hang the run (it is refused below).
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
# With O_NOFOLLOW, opening a symlink fails (ELOOP; EMLINK on FreeBSD), so one open tells a
# plain file, which needs no realpath, from a link, which does.
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_SYMLINK_ERRNOS = frozenset({errno.ELOOP, errno.EMLINK})


class FolderFiles:
    """The files of one folder tree, read by ref id.

    ``root`` is the real path of the tree's folder; ``where`` is the root as the user wrote
    it, for messages.
    """

    def __init__(self, root: Path, *, where: str) -> None:
        self._root = str(root)
        self._root_prefix = self._root.rstrip(os.sep) + os.sep
        self._where = where
        self._folders_inside: dict[str, bool] = {}  # folder path -> its real path is ours

    def forget(self) -> None:
        """Forget which folders resolve inside: a new listing starts a new look at the tree."""
        self._folders_inside.clear()

    def read(self, ref_id: str, limit: int = MAX_FILE_BYTES) -> bytes:
        """The content of the file behind a ref id, at most ``limit`` bytes; DocumentError if
        it cannot be read."""
        try:
            fd = self._open(ref_id)
        except FileNotFoundError:
            raise DocumentError(f"{ref_id}: vanished since the folder was listed") from None
        except OSError as exc:
            raise DocumentError(f"{ref_id}: cannot be read: {exc.strerror}") from None
        try:
            status = os.fstat(fd)
            if not stat.S_ISREG(status.st_mode):
                raise DocumentError(f"{ref_id}: not a regular file")
            if status.st_size > limit:
                raise DocumentTooLarge(f"{ref_id}: larger than {_size(limit)}")
            # One read of the size fstat gave, plus a byte to see whether it grew since.
            chunks = [os.read(fd, status.st_size + 1)]
            size = len(chunks[0])
            while size > status.st_size and size <= limit:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        except OSError as exc:
            raise DocumentError(f"{ref_id}: cannot be read: {exc.strerror}") from None
        finally:
            os.close(fd)
        if size > limit:  # it grew while we read
            raise DocumentTooLarge(f"{ref_id}: larger than {_size(limit)}")
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _open(self, ref_id: str) -> int:
        """A descriptor of the file behind a ref id, refusing ids and links out of the root.

        The file's folder is resolved once per listing; the file itself is opened without
        following a symlink, so only a symlinked file costs a realpath.
        """
        folder, _, _ = ref_id.rpartition("/")
        if (
            ref_id.startswith("/")
            or "\x00" in ref_id  # a link's %00: no file system takes it
            or any(part in ("", ".", "..") for part in ref_id.split("/"))
        ):
            raise DocumentError(f"{ref_id}: not a path inside {self._where}")
        path = self._root_prefix + ref_id  # "/" separates folders on Windows as well
        if not self._folder_inside(folder):
            raise DocumentError(f"{ref_id}: links outside {self._where}; not read")
        if _NOFOLLOW:
            try:
                return os.open(path, _OPEN_FLAGS | _NOFOLLOW)
            except OSError as exc:
                if exc.errno not in _SYMLINK_ERRNOS:
                    raise
        if not self._inside(os.path.realpath(path)):
            raise DocumentError(f"{ref_id}: links outside {self._where}; not read")
        return os.open(path, _OPEN_FLAGS)

    def _folder_inside(self, folder: str) -> bool:
        """Whether the folder ``folder`` of the tree (a path, "" for the root) resolves inside."""
        inside = self._folders_inside.get(folder)
        if inside is None:
            real = os.path.realpath(self._root_prefix + folder)
            inside = real == self._root or self._inside(real)
            self._folders_inside[folder] = inside
        return inside

    def _inside(self, real_path: str) -> bool:
        return real_path.startswith(self._root_prefix)


def _size(limit: int) -> str:
    """A byte limit in words: ``4 MiB`` or ``20 MB``."""
    return f"{limit // 2**20} MiB" if limit % 2**20 == 0 else f"{limit / 1e6:g} MB"
