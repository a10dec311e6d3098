"""A pipelined upload: a large CSV bound for SQLite is read and checked in a checker process
while the ingest transaction's process writes the rows checked so far.

The loading process does little more than SQLite's ``executemany``; the reading, decoding,
parsing and checking of the file (``checking.Checker``, the same code as an unpipelined
load) run at the same time on another core. The checker process gets the path and a
``CheckPlan`` made from the published version before the transaction starts, so it starts
while the file's SHA-256 is computed; the loader uses its chunks only if the plan is the one
it would make itself (same items, file columns, pool columns, dialect and day), and else
checks the file itself. Nothing the checker does writes anything: the transaction, the
quarantine, the lineage and the audit stay in the loading process, so the batch is still
all or nothing. A file error the checker meets (a bad byte, malformed CSV) is raised in the
loading process as the same ``FileRejected``, which rolls the batch back; a checker that
dies stops the load the same way. Closing the pipeline (after the load, or when it fails)
ends the checker; if the loading process dies, the checker's next write fails and it
exits.

Chunks go through a pipe, pickled (a private pipe between two processes of the platform,
never data from outside). PostgreSQL's load is COPY of text, cheap enough that it keeps
checking in its own process.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import pickle  # nosec B403 - only between the platform's own processes, over a private pipe
import struct
import subprocess  # nosec B404 - starts this module with the running interpreter
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from govshare.aggregation.checking import Checked, Checker, CheckPlan
from govshare.aggregation.readers import Records, read_csv
from govshare.kernel.errors import DomainError

MIN_BYTES = 8 << 20  # smaller files are checked in the loading process (no process start)
CHUNK = 2000  # rows per message: loading.CHUNK
PIPE_BYTES = 1 << 20  # the pipe's buffer (Linux): a few chunks checked ahead
_HEADER = struct.Struct("!Q")
_F_SETPIPE_SZ = 1031


class CheckerFailed(RuntimeError):
    """The checker process stopped without finishing (it crashed or was killed)."""


@dataclass(frozen=True)
class _Job:
    path: str
    plan: CheckPlan
    chunk: int


class Pipeline:
    """A checker process reading ``path``; ``records`` are the same rows read in this
    process, for a loader that cannot use the checker's (``loading.Loader.load``)."""

    def __init__(self, path: Path, plan: CheckPlan, records: Records) -> None:
        self.plan, self.records = plan, records
        read_fd, write_fd = os.pipe()
        with contextlib.suppress(OSError):  # Linux: a larger pipe, fewer wake-ups
            import fcntl

            fcntl.fcntl(write_fd, _F_SETPIPE_SZ, PIPE_BYTES)
        try:
            src = str(Path(__file__).resolve().parents[2])
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
            self._proc = subprocess.Popen(  # noqa: S603  # nosec B603 - our interpreter and module
                [sys.executable, "-m", __name__, str(write_fd)],
                stdin=subprocess.PIPE,
                pass_fds=(write_fd,),
                env=env,
            )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        self._in: IO[bytes] = os.fdopen(read_fd, "rb")
        job = _Job(str(path), plan, CHUNK)
        try:
            assert self._proc.stdin is not None
            self._proc.stdin.write(pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
            self._proc.stdin.close()
        except BaseException:
            self.close()
            raise

    @property
    def pid(self) -> int:
        return self._proc.pid

    def running(self) -> bool:
        return self._proc.poll() is None

    def checked(self) -> Iterator[Checked]:
        """The checked chunks, in file order; raises what the checker met."""
        while True:
            kind, payload = self._receive()
            if kind == "chunk":
                yield payload
            elif kind == "done":
                return
            elif kind == "error":
                raise _rebuilt(*payload)
            else:
                raise CheckerFailed(f"the ingest checker process failed ({payload})")

    def _receive(self) -> tuple[str, Any]:
        head = self._in.read(_HEADER.size)
        if len(head) == _HEADER.size:
            (size,) = _HEADER.unpack(head)
            body = self._in.read(size)
            if len(body) == size:
                message: tuple[str, Any] = pickle.loads(body)  # noqa: S301  # nosec B301 - our checker
                return message
        code = self._proc.wait()
        raise CheckerFailed(f"the ingest checker process stopped (exit code {code})")

    def close(self) -> None:
        """End the checker (at once: it only reads) and release the pipe."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        self._in.close()


def start(path: Path, plan: CheckPlan, records: Records) -> Pipeline | None:
    """A pipeline for ``path``, or None when no checker process can be started here."""
    try:
        return Pipeline(path, plan, records)
    except OSError:
        return None


def _rebuilt(module: str, name: str, state: dict[str, Any]) -> Exception:
    """The checker's domain error, as the same class with the same fields."""
    cls = getattr(importlib.import_module(module), name, None)
    if not (isinstance(cls, type) and issubclass(cls, DomainError)):
        return CheckerFailed(f"the ingest checker process failed ({module}.{name})")
    exc = cls.__new__(cls)
    Exception.__init__(exc, state.get("message_en", ""))
    exc.__dict__.update(state)
    return exc


# -- the checker process -------------------------------------------------------------------
def _send(out: IO[bytes], message: tuple[str, Any]) -> None:
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.fast = True  # no memo: a chunk holds no cycles, and it pickles twice as fast
    pickler.dump(message)
    body = buffer.getbuffer()
    out.write(_HEADER.pack(len(body)))
    out.write(body)
    out.flush()


def _check(job: _Job, out: IO[bytes]) -> None:
    checker = Checker(job.plan)
    with Path(job.path).open("rb") as fh:
        records = read_csv(fh, list(job.plan.items)).records
        if records is None or records.codes != job.plan.codes:
            raise RuntimeError("the file's columns are not those of the plan")
        for row_nos, rows in records.chunks(job.chunk):
            checked = checker.records(row_nos, rows)
            checked.as_rows()  # SQLite's executemany takes rows
            _send(out, ("chunk", checked))
    _send(out, ("done", None))


def main(argv: list[str]) -> int:
    """``python -m govshare.aggregation.pipeline FD``: the job on stdin, messages to FD."""
    out = os.fdopen(int(argv[0]), "wb")
    try:
        job: _Job = pickle.load(sys.stdin.buffer)  # noqa: S301  # nosec B301 - our loader
    except EOFError:  # the load did not need us after all
        return 0
    try:
        try:
            _check(job, out)
        except DomainError as exc:
            cls = type(exc)
            _send(out, ("error", (cls.__module__, cls.__qualname__, dict(exc.__dict__))))
        except Exception as exc:  # its message may quote a cell: the stack and type only
            sys.stderr.write("".join(traceback.format_tb(exc.__traceback__)))
            sys.stderr.write(f"ingest checker: {type(exc).__name__}\n")
            _send(out, ("crash", type(exc).__name__))
            return 1
    except BrokenPipeError:  # the loading process is gone: nothing to do
        with contextlib.suppress(OSError):
            out.close()
        return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
