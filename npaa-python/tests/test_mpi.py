"""npaa.mpi under a real ``mpirun -np 4`` (OpenMPI): rank order with varying and zero rows,
Fortran order, a block refused on one rank failing the step everywhere, durability modes, and
SIGKILL trials leaving whole steps; every file checked with NumPy.

Needs mpirun and mpi4py built against it (scripts/test installs both and runs this module
with NPAA_REQUIRE_SYSTEM_TESTS=1, under which their absence fails instead of skipping).
"""

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import npaa
from conftest import file_bytes, saved_bytes

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

MPIRUN = shutil.which("mpirun.openmpi") or shutil.which("mpirun")
try:
    import mpi4py  # noqa: F401

    HAVE_MPI4PY = True
except ImportError:
    HAVE_MPI4PY = False

if not (MPIRUN and HAVE_MPI4PY):
    if os.environ.get("NPAA_REQUIRE_SYSTEM_TESTS"):
        raise RuntimeError("npaa.mpi tests need mpirun and mpi4py (scripts/test installs them)")
    pytest.skip("mpirun or mpi4py missing", allow_module_level=True)

import mpi_program  # noqa: E402  (needs mpi4py)

RANKS = 4
ENV = dict(
    os.environ,
    OMPI_ALLOW_RUN_AS_ROOT="1",
    OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
    OMPI_MCA_btl="self,vader",
    OMPI_MCA_btl_vader_single_copy_mechanism="none",
)


def mpirun(*args, timeout=120, check=True):
    proc = subprocess.run(
        [MPIRUN, "--allow-run-as-root", "--oversubscribe", "-np", str(RANKS), sys.executable,
         os.path.join(HERE, "mpi_program.py"), *map(str, args)],
        capture_output=True, text=True, timeout=timeout, env=ENV,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"mpirun failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def expected_steps(steps, scale=1, first=0):
    blocks = [mpi_program.block(s, r, scale) for s in range(first, steps) for r in range(RANKS)]
    return np.concatenate(blocks)


def test_mpi4py_runs_on_the_system_open_mpi():
    """The pinned binary wheel of mpi4py brings no MPI: it must load the system's Open MPI (the
    one mpirun starts), not an MPI from another wheel. A silent switch would show here."""
    probe = (
        "from mpi4py import MPI\n"
        "print(MPI.Get_library_version().splitlines()[0])\n"
        "print(*sorted({l.split()[-1] for l in open('/proc/self/maps') if '/libmpi.so' in l}),"
        " sep='\\n')\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         env=ENV, timeout=60, check=True).stdout
    print(out)  # which MPI, in the test log
    version, *libraries = out.splitlines()
    assert version.startswith("Open MPI v"), version
    # One libmpi, the system's (Debian's libopenmpi3: /usr/lib/<triplet>/libmpi.so.40...).
    assert len(libraries) == 1, libraries
    assert libraries[0].startswith("/usr/lib/") and "/libmpi.so.40" in libraries[0], libraries


def test_blocks_land_in_rank_order(path):
    mpirun("steps", path, 12)
    assert file_bytes(path) == saved_bytes(expected_steps(12))
    assert not npaa.needs_recovery(path)


def test_fortran_order(path):
    mpirun("fortran", path, 6)
    blocks = [mpi_program.fortran_block(s, r) for s in range(6) for r in range(RANKS)]
    assert file_bytes(path) == saved_bytes(np.asfortranarray(np.concatenate(blocks, axis=1)))


def test_a_refused_block_fails_the_step_on_every_rank(path):
    proc = mpirun("refused", path)
    # Lines of several ranks may interleave in mpirun's output.
    seen = sorted(re.findall(r"rank (\d+): ([A-Za-z]+?Error)", proc.stdout))
    assert seen == [(str(r), "ShapeError") for r in range(RANKS)], proc.stdout
    good = np.concatenate(
        [mpi_program.block(s, r) for s in (0, 2) for r in range(RANKS)]
    )
    assert file_bytes(path) == saved_bytes(good)


@pytest.mark.parametrize("durability", ["append", "close", str(64 << 10)])
def test_durability_modes(path, durability):
    subprocess_env = dict(ENV, DURABILITY=durability)
    proc = subprocess.run(
        [MPIRUN, "--allow-run-as-root", "--oversubscribe", "-np", str(RANKS), sys.executable,
         os.path.join(HERE, "mpi_program.py"), "durable", path, "9"],
        capture_output=True, text=True, timeout=120, env=subprocess_env,
    )
    assert proc.returncode == 0, proc.stderr
    assert file_bytes(path) == saved_bytes(expected_steps(10, 50))
    assert not npaa.needs_recovery(path)


def whole_steps(arr, scale):
    """How many whole steps `arr` holds, checking every row."""
    steps, at = 0, 0
    while at < len(arr):
        step = np.concatenate([mpi_program.block(steps, r, scale) for r in range(RANKS)])
        assert np.array_equal(arr[at : at + len(step)], step), f"step {steps} differs"
        at += len(step)
        steps += 1
    assert at == len(arr)
    return steps


@pytest.mark.parametrize("trial", range(4))
def test_a_killed_rank_leaves_whole_steps(tmp_path, trial):
    path = str(tmp_path / "killed.npy")
    job = subprocess.Popen(
        [MPIRUN, "--allow-run-as-root", "--oversubscribe", "-np", str(RANKS), sys.executable,
         os.path.join(HERE, "mpi_program.py"), "forever", path],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV,
    )
    try:
        deadline = time.time() + 60
        pids = [f"{path}.pid.{r}" for r in range(RANKS)]
        while not all(os.path.exists(p) and open(p).read() for p in pids):
            assert time.time() < deadline, "the ranks did not start"
            time.sleep(0.05)
        while not os.path.exists(path) or os.path.getsize(path) < 1 << 20:
            assert time.time() < deadline, "no step was written"
            time.sleep(0.02)
        time.sleep(random.uniform(0.0, 0.5))
        os.kill(int(open(pids[trial % RANKS]).read()), signal.SIGKILL)
        assert job.wait(timeout=60) != 0
    finally:
        if job.poll() is None:
            job.kill()
            job.wait()
    seen = whole_steps(np.load(path), 200)
    assert seen > 0
    npaa.recover(path)
    assert not npaa.needs_recovery(path)
    assert whole_steps(np.load(path), 200) == seen
