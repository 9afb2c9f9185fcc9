"""Ragged records read back: ``load_ragged`` and the ``RaggedArray`` it returns."""

import numpy as np

from . import _native

__all__ = ["RaggedArray", "load_ragged"]


class RaggedArray:
    """Records of different lengths along the growth axis of one array (axis 0, or the last
    axis for a Fortran-order file), and where each ends.

    ``len(r)`` records; ``r[i]`` is record ``i``, a view of ``r.data`` (no copy); ``r[a:b]``
    a ``RaggedArray`` of those records (views too); iterating yields each record. ``r.data``
    is the concatenation of all records, ``r.ends`` the index (record ends, ``<i8``),
    ``r.offsets`` the ``len(r) + 1`` boundaries ``[0, ends...]`` (record ``i`` is
    ``offsets[i]:offsets[i+1]``) and ``r.lengths`` each record's length.
    """

    def __init__(self, data, ends, fortran_order=False, start=0):
        self.data = data
        self.ends = ends
        self.fortran_order = fortran_order
        # The item where the first record starts (non-zero for a slice).
        self._start = start

    def __len__(self):
        return len(self.ends)

    def _rows(self, first, stop):
        if self.fortran_order:
            return self.data[..., first - self._start : stop - self._start]
        return self.data[first - self._start : stop - self._start]

    def _start_of(self, i):
        return self._start if i == 0 else int(self.ends[i - 1])

    def __getitem__(self, key):
        if isinstance(key, slice):
            first, stop, step = key.indices(len(self))
            if step != 1:
                return [self[i] for i in range(first, stop, step)]
            stop = max(stop, first)
            begin = self._start_of(first)
            end = int(self.ends[stop - 1]) if stop > first else begin
            return RaggedArray(
                self._rows(begin, end), self.ends[first:stop], self.fortran_order, begin
            )
        i = int(key)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"record {key} out of range for {len(self)} records")
        return self._rows(self._start_of(i), int(self.ends[i]))

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    @property
    def offsets(self):
        """The ``len(self) + 1`` record boundaries (a new array)."""
        return np.concatenate(([self._start], self.ends)).astype("<i8")

    @property
    def lengths(self):
        """Each record's length along the growth axis (a new array)."""
        return np.diff(self.offsets)

    def __repr__(self):
        return f"RaggedArray({len(self)} records, data shape {self.data.shape}, dtype {self.data.dtype})"


def load_ragged(filename, mmap_mode="r"):
    """Loads the ragged pair whose data file is ``filename`` (its index beside it,
    ``feats.npy`` -> ``feats.idx.npy``) as a ``RaggedArray``.

    ``mmap_mode="r"`` (the default) maps both files read-only: nothing is copied and records
    are views. ``mmap_mode=None`` copies them into memory. On a pair left by a crash, only the
    records that were completely appended and indexed are shown, and nothing is repaired: a
    reader needs no write access (``recover_ragged`` repairs).
    """
    if mmap_mode not in ("r", "c", None):
        raise ValueError(
            f"mmap_mode={mmap_mode!r}: load_ragged reads only; use 'r' (or 'c'), or None to copy"
        )
    records = _native._RaggedReader(filename)
    data, ends = records._refresh()
    fortran = records.fortran_order
    if mmap_mode is None:
        data, ends = np.array(data), np.array(ends)
    elif mmap_mode == "c":
        # Copy-on-write: writable arrays whose changes never reach the files.
        data, ends = data.copy(), ends.copy()
    return RaggedArray(data, ends, fortran)
