"""Collective appends from mpi4py: the ranks of an MPI job grow one ``.npy`` file together
(``pip install npaa[mpi]``), with the semantics of the C layer ``npaa_mpi.h``::

    from mpi4py import MPI
    import numpy as np
    import npaa.mpi

    with npaa.mpi.NpyAppendArray(MPI.COMM_WORLD, "states.npy") as out:
        for step in range(100):
            out.append(np.full((2, 3), MPI.COMM_WORLD.rank, "<f8"))  # this rank's 2 rows
    # np.load("states.npy").shape == (100 * 2 * size, 3)

- Every method is collective over the communicator: every rank calls it, in the same order,
  and every rank gets the same outcome: the exception of the lowest rank that failed.
- Each ``append`` is one step: every rank passes its own block (growth lengths may differ, 0
  is fine); the blocks land in rank order. The file is byte-identical to ``np.save`` of the
  concatenation of every rank's blocks, step after step.
- A new file is created by the first step from rank 0's block (its dtype, its dimensions but
  the growth axis; the order is ``fortran_order=``). A block refused on any rank (shape,
  dtype, casting) fails the step on every rank, and nothing of that step is written.
- Rank 0 opens the file with ``npaa.NpyAppendArray``'s checks and errors and holds its lock
  until ``close``; rank 0's options apply. The data goes out with ``MPI.File.Write_at_all``;
  rank 0 rewrites the header after every rank's data is written.
- A rank killed at any moment leaves a file NumPy loads as the whole steps completed; the
  unfinished step is cut by ``npaa.recover`` or the next open.

Every rule above is npaa-core's (``npaa._native.Collective``); this module only makes the MPI
calls. mpi4py must be built against the MPI that runs the job: on a cluster,
``pip install --no-binary mpi4py mpi4py`` with the cluster's MPI compiler wrappers on PATH.
"""

from __future__ import annotations

import os
import pickle
from typing import TYPE_CHECKING, Any, Literal, Optional, Union

import numpy as np
from mpi4py import MPI

from ._native import Collective

if TYPE_CHECKING:  # the values NpyAppendArray takes (npaa._native's stub)
    _Casting = Literal["no", "equiv", "safe", "same_kind", "unsafe"]
    _Durability = Union[None, Literal["none", "close", "append"], int]

__all__ = ["NpyAppendArray"]

#: MPI counts are C ints: larger blocks go out in rounds that every rank takes part in.
_ROUND = 1 << 30


class NpyAppendArray:
    """A ``.npy`` file open for collective appends by the ranks of ``comm`` (see the module).

    Keyword arguments are ``npaa.NpyAppendArray``'s (rank 0's apply): ``delete_if_exists``,
    ``rewrite_header_on_append``, ``casting``, ``durability`` (maps to ``MPI.File.Sync`` at
    the points it describes) and ``fortran_order`` (the order of a new file).
    """

    def __init__(
        self,
        comm: MPI.Comm,
        filename: Union[str, "os.PathLike[str]"],
        *,
        delete_if_exists: bool = False,
        rewrite_header_on_append: bool = True,
        casting: "_Casting" = "same_kind",
        durability: "_Durability" = None,
        fortran_order: bool = False,
    ) -> None:
        self._comm = comm.Dup()
        self.rank, self.size = self._comm.Get_rank(), self._comm.Get_size()
        self.filename = filename
        self._path = os.fspath(filename)
        self._file: Optional[MPI.File] = None
        self._native: Optional[Collective] = None
        options = dict(
            delete_if_exists=delete_if_exists,
            rewrite_header_on_append=rewrite_header_on_append,
            casting=casting,
            durability=durability,
            fortran_order=fortran_order,
        )
        try:
            # The other ranks only check their options, first: a session refused on any rank
            # leaves the file as it was (delete_if_exists included).
            error = None
            if self.rank != 0:
                error, self._native = _attempt(Collective, self._path, False, **options)
            self._share(error)
            if self.rank == 0:
                error, self._native = _attempt(Collective, self._path, True, **options)
            self._from_root(error)
            if self._native is not None:  # created on every rank when no rank failed
                self._share_layout(self._native)
        except BaseException:
            if self._native is not None:
                self._native.close()
            self._comm.Free()
            raise
        self._counts = np.zeros(3 * self.size, dtype=np.uint64)

    def append(self, arr: Any) -> None:
        """Appends one step: this rank's block ``arr`` (in the file's order; only the growth
        axis may differ from the file's, 0 is fine). Collective."""
        native = self._native
        if native is None:
            raise ValueError("this npaa.mpi.NpyAppendArray was closed")
        arr = np.asarray(arr)
        if not native.is_defined():
            error = None
            if self.rank == 0:
                error, _ = _attempt(native.define, arr)
            self._from_root(error)
            self._share_layout(native)
        error, prepared = _attempt(native.prepare, arr)
        data, rows = prepared if prepared is not None else (b"", 0)
        data = _as_bytes(data)
        mine = np.array([error is not None, len(data), rows], dtype=np.uint64)
        self._comm.Allgather(mine, self._counts)
        # Per rank: failed, bytes, rows (Python ints: cheaper than NumPy for a few ranks).
        counts = self._counts.tolist()
        failed, sizes = counts[0::3], counts[1::3]
        if any(failed):
            self._raise_from(failed.index(1), error)
        before, total, largest = sum(sizes[: self.rank]), sum(sizes), max(sizes)
        rows = sum(counts[2::3])
        start = native.data_end()
        assert start is not None  # the file is defined by now (above)
        if native.step_needs_mark(total):
            error = None
            if self.rank == 0:
                error, _ = _attempt(native.begin_step, total)
            self._from_root(error)
            if self.rank != 0:
                native.begin_step(total)
        due = native.sync_due(total)
        if total > 0:
            if self._file is None:
                error, self._file = _attempt(
                    MPI.File.Open, self._comm, self._path, MPI.MODE_WRONLY
                )
                self._share(_mpi_error(error, self.rank, "MPI.File.Open"))
            error = None
            for at in range(0, largest, _ROUND):
                piece = data[at : at + _ROUND] if at < len(data) else data[:0]
                failed_write, _ = _attempt(
                    self._file.Write_at_all, start + before + at, [piece, MPI.BYTE]
                )
                error = error or failed_write
            if due and error is None:
                error, _ = _attempt(self._file.Sync)
            # Every rank's data is written before rank 0 counts it.
            self._share(_mpi_error(error, self.rank, "writing the step"))
        error = None
        if self.rank == 0:
            error, _ = _attempt(native.commit, rows, total, due)
        self._from_root(error)
        if self.rank != 0:
            native.commit(rows, total, due)

    def close(self) -> None:
        """Ends the session; collective. Syncs the data if ``durability`` asks, closes the MPI
        file, then rank 0 writes the final header and releases the lock. Closing twice is
        harmless."""
        native, self._native = self._native, None
        if native is None:
            return
        error = None
        try:
            if self._file is not None:
                if native.sync_due_at_close():
                    error, _ = _attempt(self._file.Sync)
                closed, _ = _attempt(self._file.Close)
                error = error or closed
                self._file = None
            self._share(_mpi_error(error, self.rank, "closing the MPI file"))
        finally:
            last, _ = _attempt(native.close)
            try:
                self._from_root(last if self.rank == 0 else None)
            finally:
                self._comm.Free()

    def __enter__(self) -> "NpyAppendArray":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"npaa.mpi.NpyAppendArray({self.filename!r}, rank {self.rank} of {self.size})"

    # Agreement between ranks, as npaa_mpi.h's helpers: every rank raises the same error.

    def _share(self, error: Optional[BaseException]) -> None:
        """Every rank learns whether any rank failed; raises the lowest failing rank's error."""
        failing = np.array([self.rank if error is not None else self.size], dtype=np.int64)
        first = np.empty(1, dtype=np.int64)
        self._comm.Allreduce(failing, first, op=MPI.MIN)
        if first[0] != self.size:
            self._raise_from(int(first[0]), error)

    def _from_root(self, error: Optional[BaseException]) -> None:
        """Rank 0's outcome reaches every rank."""
        failed = np.array([error is not None], dtype=np.int64)
        self._comm.Bcast(failed, root=0)
        if failed[0]:
            self._raise_from(0, error)

    def _raise_from(self, rank: int, error: Optional[BaseException]) -> None:
        message = self._comm.bcast(
            _portable(error, rank) if self.rank == rank else None, root=rank
        )
        raise _revive(message)

    def _share_layout(self, native: Collective) -> None:
        """Rank 0's layout (dtype, shape, data end, options) reaches every rank."""
        layout = self._comm.bcast(native.layout() if self.rank == 0 else None, root=0)
        error = None
        if self.rank != 0:
            error, _ = _attempt(native.set_layout, layout)
        self._share(error)


def _attempt(call: Any, *args: Any, **kwargs: Any) -> tuple:
    """``(None, result)``, or ``(exception, None)`` if ``call`` raised."""
    try:
        return None, call(*args, **kwargs)
    except Exception as e:  # noqa: BLE001  (every error reaches every rank)
        return e, None


def _as_bytes(data: Any) -> Any:
    """A flat byte view of what ``Collective.prepare`` returned (an array laid out in the
    file's order, or bytes), without copying."""
    if isinstance(data, bytes):
        return memoryview(data)
    return np.ravel(data, order="K").view(np.uint8)


def _mpi_error(error: Optional[BaseException], rank: int, what: str) -> Optional[BaseException]:
    if error is None or not isinstance(error, MPI.Exception):
        return error
    return OSError(f"rank {rank}: {what} failed: {error.Get_error_string()}")


def _portable(error: Optional[BaseException], rank: int) -> Optional[tuple]:
    """`error` as something every rank can unpickle, naming the rank it was raised on."""
    if error is None:
        return None
    try:
        return ("pickled", pickle.dumps(error), rank)
    except Exception:  # noqa: BLE001  (an exception that does not pickle)
        return ("text", f"{type(error).__name__}: {error}", rank)


def _revive(message: tuple) -> BaseException:
    kind, payload, rank = message
    if kind == "pickled":
        try:
            error = pickle.loads(payload)
        except Exception:  # noqa: BLE001
            error = RuntimeError("an error that cannot be unpickled here")
    else:
        error = RuntimeError(payload)
    if hasattr(error, "add_note"):
        error.add_note(f"npaa.mpi: raised on rank {rank}")
    return error
