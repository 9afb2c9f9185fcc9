"""Files the README's `npaa` examples work on, made in the current directory (run by
scripts/readme-check before that block): a file cut short by a crash, a legacy header, two
shards, a big array, and a `./logger` that writes raw float32 rows of 16 on stdout."""

import os

import numpy as np

np.save("data.npy", np.arange(30.0).reshape(10, 3))
with open("data.npy", "r+b") as f:  # a crash mid-append: the last row is half written
    f.truncate(os.path.getsize("data.npy") - 12)

# As NumPy < 1.24 and cnpy write it: no spare room in the header for a growing shape.
a = np.arange(5, dtype="<i8")
text = "{'descr': '<i8', 'fortran_order': False, 'shape': (5,), }"
header = (text + " " * (-(10 + len(text) + 1) % 16) + "\n").encode("latin1")
with open("legacy.npy", "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + a.tobytes())

for i in range(1, 4):
    np.save(f"shard-{i}.npy", np.full((100, 4), i, dtype="<f4"))
np.save("big.npy", np.arange(200_000.0).reshape(20_000, 10) / 7)

with open("logger", "w") as f:
    f.write("#!/bin/sh\n# 100 rows of 16 float32 on stdout, as a binary logger would write them.\n"
            "head -c 6400 /dev/zero\n")
os.chmod("logger", 0o755)
