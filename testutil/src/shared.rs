//! Many writers on one file (shared mode): blocks whose rows say which writer appended them,
//! as which of its blocks, and where in it; the check that a file holds an exact sequence of
//! whole blocks, in Rust and with NumPy; and the shared-mode writer the tests start as a
//! process (`npaa-test-child shared-writer`) and kill.
//!
//! A row is 4 little-endian u64: `[writer, block, row in block, rows in block]`. Four words
//! (32 bytes) keep rows aligned to the header's 64-byte multiple; what matters is that a row
//! says all a check needs about the block it belongs to.

use std::collections::BTreeMap;
use std::path::Path;

use npaa_core::{AppendArray, AppendFileOptions, AppendOptions, Dtype};

use crate::rows::Rng;
use crate::run_python;

/// u64 values per row.
pub const WORDS: u64 = 4;

/// The rows of block `block` (counted from 0) of writer `writer`: `n` rows.
pub fn block(writer: u64, block: u64, n: u64) -> Vec<u64> {
    (0..n).flat_map(|i| [writer, block, i, n]).collect()
}

/// The number of rows of a writer's next block: mostly 1 to 4, one in 16 a block of 100 to
/// 1200 rows (3 to 38 KiB, whose write a kill can cut).
pub fn block_len(rng: &mut Rng) -> u64 {
    if rng.below(16) == 0 {
        100 + rng.below(1100)
    } else {
        1 + rng.below(4)
    }
}

/// Appends `blocks` blocks as writer `writer` through its own shared handle on `path` (its
/// own open file), opening and closing it as a user would. Returns the rows appended.
pub fn write_blocks(path: &Path, writer: u64, blocks: u64, rng: &mut Rng) -> u64 {
    let array = AppendOptions::new().shared(true).open(path).unwrap();
    let mut total = 0;
    for b in 0..blocks {
        let n = block_len(rng);
        array.append(&block(writer, b, n), &[n, WORDS]).unwrap();
        total += n;
    }
    array.close().unwrap();
    total
}

/// Checks that `data` (a file's counted data: `rows × 4` little-endian u64) is an exact
/// sequence of whole blocks, each writer's blocks in order from its first; returns the number
/// of blocks of each writer.
///
/// # Panics
/// With `what` and the first row that breaks the rule.
pub fn check_blocks(data: &[u8], what: &str) -> BTreeMap<u64, u64> {
    let words: Vec<u64> = data
        .chunks_exact(8)
        .map(|w| u64::from_le_bytes(w.try_into().unwrap()))
        .collect();
    assert_eq!(words.len() % WORDS as usize, 0, "{what}: a partial row");
    let mut blocks = BTreeMap::new();
    let mut rows = words.chunks_exact(WORDS as usize).enumerate();
    while let Some((at, first)) = rows.next() {
        let [writer, block, i, n] = [first[0], first[1], first[2], first[3]];
        assert_eq!(i, 0, "{what}: row {at} starts no block: {first:?}");
        let next = blocks.entry(writer).or_insert(0);
        assert_eq!(
            block, *next,
            "{what}: row {at}: writer {writer}'s blocks out of order"
        );
        *next += 1;
        for k in 1..n {
            let Some((at, row)) = rows.next() else {
                panic!("{what}: the last block ({first:?}) is not whole");
            };
            assert_eq!(row, [writer, block, k, n], "{what}: row {at} interleaved");
        }
    }
    blocks
}

/// The same check with NumPy, for every file in `paths` (each loaded by `np.load`): prints
/// nothing and returns normally when all hold exact sequences of whole blocks.
pub fn numpy_check_blocks(paths: &[&Path]) {
    let out = run_python(
        "import sys, numpy as np\n\
         for path in sys.argv[1:]:\n\
         \x20   a = np.load(path)\n\
         \x20   assert a.dtype == np.dtype('<u8') and a.ndim == 2 and a.shape[1] == 4, (path, a.dtype, a.shape)\n\
         \x20   i = 0\n\
         \x20   nxt = {}\n\
         \x20   while i < len(a):\n\
         \x20       w, b, k, n = (int(v) for v in a[i])\n\
         \x20       assert k == 0 and b == nxt.get(w, 0), (path, i, a[i])\n\
         \x20       blk = a[i:i + n]\n\
         \x20       assert len(blk) == n, (path, 'torn last block', i)\n\
         \x20       assert (blk[:, 0] == w).all() and (blk[:, 1] == b).all(), (path, i)\n\
         \x20       assert (blk[:, 2] == np.arange(n)).all() and (blk[:, 3] == n).all(), (path, i)\n\
         \x20       nxt[w] = b + 1\n\
         \x20       i += n\n\
         print('ok', len(sys.argv) - 1)\n",
        paths,
    );
    assert_eq!(out.trim(), format!("ok {}", paths.len()));
}

/// The child's side (`npaa-test-child shared-writer`): opens `path` in shared mode, says
/// READY, appends `blocks` blocks as writer `writer` (saying BIG before a large one, so that
/// the parent can aim a kill at it), closes, says CLOSED.
pub fn child_writes(path: &Path, writer: u64, blocks: u64, seed: u64) {
    let mut rng = Rng::new(seed);
    let array: AppendArray = AppendOptions::new().shared(true).open(path).unwrap();
    println!("READY");
    for b in 0..blocks {
        let n = block_len(&mut rng);
        if n > 4 {
            println!("BIG");
        }
        array.append(&block(writer, b, n), &[n, WORDS]).unwrap();
    }
    array.close().unwrap();
    println!("CLOSED");
}

/// Rows in the block [`child_stalls`] leaves torn: 40 000 rows of 4 big-endian u64 (1.25 MB),
/// converted to the file's little-endian u64 in chunks of 64 Ki items, so that the first
/// chunk (16 384 whole rows) is written before the rest.
pub const STALLED_ROWS: u64 = 40_000;

/// The child's side of a writer killed in the middle of a block, at a moment the parent
/// knows (`npaa-test-child shared-staller`): appends one block as writer `writer`, then its
/// second block, [`STALLED_ROWS`] rows from a big-endian .npy file written to `source`; after
/// its first chunk reached the file, says MIDWAY and stalls (holding the lock) until killed.
pub fn child_stalls(path: &Path, source: &Path, writer: u64) {
    let big_endian = Dtype::parse(">u8").unwrap();
    let rows: Vec<u8> = block(writer, 1, STALLED_ROWS)
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect();
    let src = AppendArray::open(source).unwrap();
    src.append_raw(&big_endian, &[STALLED_ROWS, WORDS], &rows)
        .unwrap();
    src.close().unwrap();
    let array = AppendOptions::new().shared(true).open(path).unwrap();
    array.append(&block(writer, 0, 1), &[1, WORDS]).unwrap();
    let stall = |done: u64, _total: u64| {
        if done > 0 {
            println!("MIDWAY");
            loop {
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
        }
    };
    array
        .append_npy_file_with(source, AppendFileOptions::new().progress(stall))
        .unwrap();
    unreachable!("the stalled append returned");
}
