"""Writes the seed corpora of the fuzz targets into fuzz/corpus/<target>/ (not checked in).

Run with the project's venv: .venv/bin/python fuzz/seed-corpus.py
Seeds: files np.save writes for a range of dtypes, orders and shapes (whole, cut short, with
extra bytes), version 2.0/3.0 headers, a legacy 16-byte-aligned header, an npyz placeholder
file; for the header target also their dict texts and descrs (see testutil/src/fuzz.rs for the
meaning of the first byte).
"""
import io
import os

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
corpus = os.path.join(here, "corpus")
hdr = os.path.join(corpus, "header")
oir = os.path.join(corpus, "open_inspect_recover")
os.makedirs(hdr, exist_ok=True)
os.makedirs(oir, exist_ok=True)


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


arrays = {
    "f8": np.arange(12, dtype="<f8").reshape(4, 3),
    "i2be": np.arange(5, dtype=">i2"),
    "fort": np.asfortranarray(np.arange(24, dtype="<i4").reshape(2, 3, 4)),
    "rec": np.zeros(3, dtype=[("t", "<f8"), ("p", "<f4", (3,)), ("n", [("a", "S2"), ("b", "<U3")])]),
    "dt": np.zeros(2, dtype="<M8[ns]"),
    "scalar": np.array(5.0),
    "empty": np.zeros((0, 2), dtype="|u1"),
    "bool": np.ones(4, dtype="?"),
    "c16": np.ones(2, dtype="<c16"),
    "title": np.zeros(2, dtype=np.dtype({"names": ["x"], "formats": ["<i4"], "titles": ["T"]})),
    "pad": np.zeros(2, dtype=np.dtype({"names": ["a", "b"], "formats": ["u1", "<i8"], "offsets": [0, 8], "itemsize": 24})),
}
for name, a in arrays.items():
    b = io.BytesIO()
    np.save(b, a)
    data = b.getvalue()
    write(os.path.join(oir, name), data)
    write(os.path.join(oir, name + "_cut"), data[:-5])
    write(os.path.join(oir, name + "_extra"), data + b"\x01" * 11)
    write(os.path.join(hdr, "file_" + name), b"\x00" + data)
    hlen = data[8] | (data[9] << 8)
    write(os.path.join(hdr, "text_" + name), b"\x01" + data[10 : 10 + hlen])
    descr = a.dtype.descr if a.dtype.names else a.dtype.str
    write(os.path.join(hdr, "dtype_" + name), b"\x04" + str(descr).encode())
b = io.BytesIO()
np.lib.format.write_array(b, np.zeros(2, dtype=[("é", "<i4")]), version=(3, 0))
write(os.path.join(oir, "v3"), b.getvalue())
b = io.BytesIO()
np.lib.format.write_array(b, np.zeros(2), version=(2, 0))
write(os.path.join(oir, "v2"), b.getvalue())
ph = b"{'descr': '<f8', 'fortran_order': False, 'shape': (********************,), }"
ph = ph + b" " * (117 - len(ph)) + b"\n"
data = b"\x93NUMPY\x01\x00" + bytes([len(ph), 0]) + ph + b"\x00" * 8 * 3 + b"\x01\x02"
write(os.path.join(oir, "placeholder"), data)
write(os.path.join(hdr, "file_placeholder"), b"\x00" + data)
legacy = b"{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }"
legacy = legacy + b" " * (-(10 + len(legacy) + 1) % 16) + b"\n"
write(os.path.join(oir, "legacy"), b"\x93NUMPY\x01\x00" + bytes([len(legacy), 0]) + legacy + b"\x00" * 24)
for i, s in enumerate(["<f8", "float64", "datetime64[ns]", "[('a','<i4'),('b',[('c','S3')],(2,3))]",
                       "U10", ">m8[25s]", "V7", "(('t','n'),'<i4')"]):
    write(os.path.join(hdr, "dtype_s%d" % i), b"\x04" + s.encode())
print("seeds written to", corpus)
