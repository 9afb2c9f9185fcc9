"""A feature dump written the fairseq way, for the README's `npaa ragged index` example (run by
scripts/readme-check before that block): the concatenated features and their lengths file."""

import numpy as np

np.save("feats.npy", np.random.rand(125, 768).astype("f4"))
with open("feats.len", "w") as f:
    f.write("50\n0\n75\n")
