"""Write a file so that a reader sees either the old complete file or the new complete file,
never a truncated one: write a temporary file in the same directory, flush, fsync, then rename it
over the target (``os.replace`` is atomic within one POSIX file system)."""

import errno
import os
from typing import IO, Callable

__all__ = ["atomic_write", "temporary_name"]


def temporary_name(path: str) -> str:
    """``dir/.name.<pid>.tmp``: hidden, and it never ends in ``.pth`` nor matches ``model_*``, so
    no checkpoint search picks up a left-over one."""
    directory, name = os.path.split(os.path.abspath(path))
    return os.path.join(directory, f".{name}.{os.getpid()}.tmp")


class _RecordingWriter:
    """A binary file wrapper that remembers the first OSError of ``write``. torch.save reports a
    failed write as "enforce fail ... file write failed"; the recorded error is the real cause
    (e.g. "No space left on device")."""

    def __init__(self, f: IO[bytes]):
        self._f = f
        self.error = None

    def write(self, data):
        try:
            return self._f.write(data)
        except OSError as e:
            self.error = self.error or e
            raise

    def flush(self):
        self._f.flush()

    def __getattr__(self, name):
        return getattr(self._f, name)


def _remove_quietly(path: str):
    try:
        os.remove(path)
    except OSError:
        pass


def _fsync_directory(directory: str):
    # Makes the rename itself durable; some file systems refuse to open a directory: best effort.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: str, write: Callable[[IO[bytes]], object]):
    """Call ``write(f)`` on a binary file object and atomically put the result at ``path``.

    On any error the temporary file is removed and ``path`` keeps its previous content. A failed
    write is raised as an OSError whose message starts with the path and the operating system's
    reason, e.g. ``[Errno 28] cannot write out/model_final.pth: No space left on device``.
    """
    tmp = temporary_name(path)
    recorder = None
    try:
        with open(tmp, "wb") as f:
            recorder = _RecordingWriter(f)
            write(recorder)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except Exception as e:
        _remove_quietly(tmp)
        cause = recorder.error if recorder is not None and recorder.error else None
        if cause is None and isinstance(e, OSError):
            cause = e
        if cause is None and isinstance(e.__context__, OSError):
            cause = e.__context__
        if cause is None:
            raise
        advice = "free some space or" if cause.errno == errno.ENOSPC else "fix this or"
        raise OSError(
            cause.errno,
            f"cannot write {path}: {cause.strerror or cause}. The previous file (if any) is "
            f"unchanged; {advice} choose another OUTPUT_DIR, then rerun (with --resume)",
        ) from e
    except BaseException:  # KeyboardInterrupt, SystemExit: leave no temporary file behind
        _remove_quietly(tmp)
        raise
    _fsync_directory(os.path.dirname(os.path.abspath(path)))
