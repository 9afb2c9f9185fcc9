"""Shared helpers for npaa's Python tests.

The tests compare npaa against real NumPy and the real reference package, npy-append-array
(installed in the project venv by scripts/setup-venv); both imports fail loudly if missing.
"""

import io
import os
import subprocess
import sys

import numpy as np
import npy_append_array  # noqa: F401  (the reference: its absence must fail the suite)
import pytest
from hypothesis import settings


def saved_bytes(arr):
    """The bytes `np.save` writes for `arr`."""
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def file_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def legacy_npy(path, arr):
    """Writes `arr` as numpy < 1.14 did: a 16-aligned header without spare room for growth.
    Returns the header's length."""
    fortran = arr.flags.f_contiguous and not arr.flags.c_contiguous
    text = "{'descr': %r, 'fortran_order': %r, 'shape': %r, }" % (
        np.lib.format.dtype_to_descr(arr.dtype),
        fortran,
        arr.shape,
    )
    hlen = len(text) + 1
    pad = (16 - (10 + hlen) % 16) % 16
    header = b"\x93NUMPY\x01\x00" + (hlen + pad).to_bytes(2, "little")
    header += (text + " " * pad + "\n").encode("latin1")
    with open(path, "wb") as f:
        f.write(header)
        f.write(arr.tobytes(order="F" if fortran else "C"))
    return len(header)


def growth_axis(fortran):
    return -1 if fortran else 0


def run_python(code, *args, timeout=60, check=True):
    """Runs `code` in a fresh interpreter of this venv; returns the CompletedProcess."""
    proc = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"child failed ({proc.returncode}):\n{proc.stderr}")
    return proc


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "a.npy")


@pytest.fixture
def ref_path(tmp_path):
    return str(tmp_path / "ref.npy")


__all__ = ["saved_bytes", "file_bytes", "legacy_npy", "growth_axis", "run_python", "os"]

# No example database in the working tree: every run explores afresh (and CI has no state).
settings.register_profile("npaa", database=None)
settings.load_profile("npaa")
