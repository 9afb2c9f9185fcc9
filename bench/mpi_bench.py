"""The Python side of the MPI benchmark: npaa.mpi (mpi4py) on the workloads of mpi_bench.c.

Usage: mpirun -np 4 .venv/bin/python bench/mpi_bench.py large DIR STEPS REPS
           16 MiB per rank per step (2048 x 1024 <f8), npaa.mpi vs plain File.Write_at_all
       mpirun -np 4 .venv/bin/python bench/mpi_bench.py small DIR STEPS REPS
           one 1x16 <f8 row per rank per step: npaa.mpi steps per second
Fresh files in DIR, best of REPS; rank 0 prints the figures (bench/mpi-compare runs it beside
the C layer's mpi_bench.c).
"""

import os
import sys

import numpy as np
from mpi4py import MPI

import npaa.mpi

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()


def fresh(path):
    if rank == 0 and os.path.exists(path):
        os.remove(path)
    comm.Barrier()


def run_npaa(path, block, steps):
    fresh(path)
    comm.Barrier()
    t0 = MPI.Wtime()
    with npaa.mpi.NpyAppendArray(comm, path) as out:
        for _ in range(steps):
            out.append(block)
    comm.Barrier()
    return MPI.Wtime() - t0


def run_plain(path, block, steps):
    fresh(path)
    comm.Barrier()
    t0 = MPI.Wtime()
    fh = MPI.File.Open(comm, path, MPI.MODE_WRONLY | MPI.MODE_CREATE)
    data = block.reshape(-1).view(np.uint8)
    for s in range(steps):
        fh.Write_at_all(128 + (s * size + rank) * data.nbytes, [data, MPI.BYTE])
    fh.Close()
    comm.Barrier()
    return MPI.Wtime() - t0


def main():
    mode, directory, steps, reps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    npaa_path = os.path.join(directory, "npaa-py.npy")
    plain_path = os.path.join(directory, "plain-py.bin")
    if mode == "large":
        block = (rank * 7 + np.arange(2048 * 1024) % 1000).astype("<f8").reshape(2048, 1024)
        t_npaa = t_plain = float("inf")
        for r in range(reps):
            if r % 2 == 0:
                t_plain = min(t_plain, run_plain(plain_path, block, steps))
            t_npaa = min(t_npaa, run_npaa(npaa_path, block, steps))
            if r % 2 == 1:
                t_plain = min(t_plain, run_plain(plain_path, block, steps))
        mib = block.nbytes * size * steps / (1 << 20)
        if rank == 0:
            print(f"large (Python, mpi4py): {size} ranks x 16 MiB x {steps} steps "
                  f"({mib:.0f} MiB), best of {reps}")
            print(f"  plain File.Write_at_all      {mib / t_plain:8.0f} MiB/s")
            print(f"  npaa.mpi append              {mib / t_npaa:8.0f} MiB/s")
            print(f"  ratio npaa.mpi / plain       {t_plain / t_npaa:8.2f}x")
    else:
        row = (rank + np.arange(16) / 16.0).reshape(1, 16)
        t_npaa = min(run_npaa(npaa_path, row, steps) for _ in range(reps))
        if rank == 0:
            print(f"small (Python, mpi4py): {size} ranks x one 1x16 <f8 row x {steps} steps, "
                  f"best of {reps}")
            print(f"  npaa.mpi append              {steps / t_npaa:8.0f} steps/s")
    fresh(npaa_path)
    fresh(plain_path)


if __name__ == "__main__":
    main()
