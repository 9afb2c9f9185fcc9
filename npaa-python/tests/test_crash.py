"""A Python writer killed mid-run (SIGKILL) in each mode leaves a file NumPy loads as an exact
prefix of what was appended, and npaa.recover keeps it; a writer that never calls close() and
lets the interpreter exit (the fairseq pattern) leaves the complete file."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import npaa
from conftest import run_python

COLS = 16

# Appends rows whose values are their index, forever; prints once the file exists.
WRITER = """
import sys, numpy as np, npaa
path, extras = sys.argv[1], eval(sys.argv[2])
a = npaa.NpyAppendArray(path, **extras)
i = 0
while True:
    a.append(np.full((1, %d), i, dtype="<f8"))
    i += 1
    if i == 200:
        print("ready", flush=True)
""" % COLS

MODES = {
    "default": {},
    "no-header-rewrite": {"rewrite_header_on_append": False},
    "buffered": {"buffer": 4096},
    "mapped": {"mapped": True},
    "durable-every-64KiB": {"durability": 1 << 16},
    "durable-close": {"durability": "close"},
}


def assert_exact_prefix(arr):
    assert arr.ndim == 2 and arr.shape[1] == COLS
    expected = np.repeat(np.arange(arr.shape[0], dtype="<f8")[:, None], COLS, axis=1)
    np.testing.assert_array_equal(arr, expected)


def kill_a_writer(path, mode):
    """Runs WRITER on `path` in `mode` and SIGKILLs it a moment after it said "ready"."""
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, path, repr(MODES[mode])],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.2)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL


@pytest.mark.parametrize("mode", list(MODES))
def test_sigkill_leaves_an_exact_prefix(tmp_path, mode):
    path = str(tmp_path / "killed.npy")
    kill_a_writer(path, mode)

    loaded = np.load(path)
    assert_exact_prefix(loaded)
    if mode == "no-header-rewrite":
        assert loaded.shape[0] == 1  # the header counts the first append only
    report = npaa.recover(path)
    recovered = np.load(path)
    assert_exact_prefix(recovered)
    assert recovered.shape[0] == report.items_after >= loaded.shape[0]
    if mode not in ("buffered",):
        assert report.items_after >= 200  # everything written before "ready" is kept
    assert not npaa.needs_recovery(path)
    with npaa.NpyAppendArray(path) as a:  # and appending goes on
        a.append(np.full((1, COLS), recovered.shape[0], dtype="<f8"))
    assert_exact_prefix(np.load(path))


FAIRSEQ = """
import sys, numpy as np, npaa
path, extras, how = sys.argv[1], eval(sys.argv[2]), sys.argv[3]
def dump():
    out = npaa.NpyAppendArray(path, **extras)
    for i in range(1000):
        out.append(np.full((1, %d), i, dtype="<f8"))
    return out
if how == "global":
    keep = dump()      # never closed; alive until the interpreter exits
elif how == "local":
    dump()             # never closed; dropped at once
else:
    keep = dump()
    sys.exit(0)
""" % COLS


@pytest.mark.parametrize("how", ["global", "local", "sys.exit"])
@pytest.mark.parametrize("mode", ["default", "no-header-rewrite", "buffered", "mapped"])
def test_never_closed_then_the_interpreter_exits(tmp_path, mode, how):
    path = str(tmp_path / "features.npy")
    run_python(FAIRSEQ, path, repr(MODES[mode]), how)
    loaded = np.load(path)
    assert loaded.shape == (1000, COLS)
    assert_exact_prefix(loaded)
    assert not npaa.needs_recovery(path)


# The re-run of a job after a crash: opens with recover=True, says what was repaired, and
# appends 10 more rows numbered on from the file's length.
RERUN = """
import json, sys, numpy as np, npaa
a = npaa.NpyAppendArray(sys.argv[1], recover=True)
r = a.recovered
n = a.shape[0]
for i in range(n, n + 10):
    a.append(np.full((1, %d), i, dtype="<f8"))
a.close()
print(json.dumps({"changed": r.changed, "before": r.items_before, "after": r.items_after,
                  "cut": r.bytes_cut}))
""" % COLS


@pytest.mark.parametrize("mode", list(MODES))
def test_sigkill_then_a_rerun_with_recover_true(tmp_path, mode):
    path = str(tmp_path / "killed.npy")
    kill_a_writer(path, mode)
    counted = np.load(path).shape[0]
    needed = npaa.needs_recovery(path)
    if mode == "no-header-rewrite":
        assert needed  # rows past the first are not counted
        with pytest.raises(npaa.NeedsRecoveryError, match=r"recover"):
            npaa.NpyAppendArray(path)
    report = json.loads(run_python(RERUN, path).stdout.strip().splitlines()[-1])
    final = np.load(path)
    assert_exact_prefix(final)
    assert report["changed"] == needed
    assert report["before"] == counted
    assert report["after"] == final.shape[0] - 10 >= counted
    if mode != "buffered":
        assert report["after"] >= 200  # every row written before "ready" survives
    assert not npaa.needs_recovery(path)
