"""The MPI program test_mpi.py runs under ``mpirun -np 4``: npaa.mpi as a user calls it.

Usage: mpi_program.py MODE FILE [STEPS]
  steps    STEPS steps of rank blocks (rows vary by step and rank, 0 included), records
  fortran  STEPS steps of (3, n) f8 blocks appended to a Fortran-order file
  refused  step 0 fine, step 1 refused on rank 2 (bad shape), step 2 fine; prints each rank's
           exception type
  durable  STEPS steps with durability=DURABILITY (env), then reopen and 1 more step
  forever  steps until killed (the kill trial); rank r writes its pid to FILE.pid.r first
"""

import os
import sys

import numpy as np
from mpi4py import MPI

import npaa
import npaa.mpi

REC = np.dtype([("step", "<u4"), ("rank", "<u2"), ("i", "<u2"), ("v", "<f8", (2,))])


def rows_of(step, rank, scale=1):
    return ((5 * step + 3 * rank) % 4) * scale


def block(step, rank, scale=1):
    n = rows_of(step, rank, scale)
    b = np.zeros(n, REC)
    b["step"], b["rank"], b["i"] = step, rank, np.arange(n) % 65536
    b["v"][:, 0], b["v"][:, 1] = step * 1000.0 + rank * 10.0 + np.arange(n), -(step + 0.5)
    return b


def fortran_block(step, rank):
    n = rows_of(step, rank)
    value = step * 1000.0 + rank * 10.0 + np.arange(n)
    return np.asfortranarray(np.stack([value + d / 8.0 for d in range(3)]))


def main():
    comm = MPI.COMM_WORLD
    rank = comm.Get_rank()
    mode, path = sys.argv[1], sys.argv[2]
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    if mode == "steps":
        with npaa.mpi.NpyAppendArray(comm, path, delete_if_exists=True) as out:
            for step in range(steps):
                out.append(block(step, rank))
    elif mode == "fortran":
        with npaa.mpi.NpyAppendArray(comm, path, delete_if_exists=True,
                                     fortran_order=True) as out:
            for step in range(steps):
                out.append(fortran_block(step, rank))
    elif mode == "refused":
        with npaa.mpi.NpyAppendArray(comm, path, delete_if_exists=True) as out:
            out.append(block(0, rank))
            bad = np.zeros((2, 2), REC) if rank == 2 else block(1, rank)
            try:
                out.append(bad)
            except npaa.NpaaError as e:
                print(f"rank {rank}: {type(e).__name__}", flush=True)
            out.append(block(2, rank))
    elif mode == "durable":
        durability = os.environ["DURABILITY"]
        durability = int(durability) if durability.isdigit() else durability
        with npaa.mpi.NpyAppendArray(comm, path, delete_if_exists=True,
                                     durability=durability) as out:
            for step in range(steps):
                out.append(block(step, rank, 50))
        with npaa.mpi.NpyAppendArray(comm, path, durability=durability) as out:
            out.append(block(steps, rank, 50))
    elif mode == "forever":
        with open(f"{path}.pid.{rank}", "w") as f:
            f.write(str(os.getpid()))
        with npaa.mpi.NpyAppendArray(comm, path, delete_if_exists=True) as out:
            for step in range(1 << 30):
                out.append(block(step, rank, 200))
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
