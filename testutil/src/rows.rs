//! Rows whose bytes encode their index (so that any 8 bytes of a file tell where they belong),
//! and a small deterministic random generator.

use std::time::{SystemTime, UNIX_EPOCH};

use npaa_core::AppendArray;

/// xorshift64*: reproducible randomness without a dependency. The seed is printed by the
/// tests that use it and can be fixed with `NPAA_TEST_SEED`.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// From `NPAA_TEST_SEED`, else from the clock.
    pub fn from_env() -> Self {
        let seed = std::env::var("NPAA_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        eprintln!("random seed: NPAA_TEST_SEED={seed}");
        Rng::new(seed)
    }

    /// From a seed (0 counts as 1: xorshift has no zero state).
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// u64 values per row in the rows that encode their index. Three, so that a row (24 bytes)
/// does not divide a page (4096 bytes): a write cut short at a page boundary cuts a row.
pub const ROW_WORDS: usize = 3;
/// Bytes per such row.
pub const ROW_BYTES: usize = ROW_WORDS * 8;

/// Row `i`: `[i * 1000003, i * 1000003 + 1, i * 1000003 + 2]` as little-endian u64. Any
/// 8 bytes tell their row.
pub fn row(i: u64) -> [u64; ROW_WORDS] {
    let base = i.wrapping_mul(1_000_003);
    [base, base + 1, base + 2]
}

/// Rows `start..start + n`, flattened.
pub fn rows(start: u64, n: u64) -> Vec<u64> {
    (start..start + n).flat_map(row).collect()
}

/// The bytes of row `i`.
pub fn row_bytes(i: u64) -> [u8; ROW_BYTES] {
    let mut out = [0u8; ROW_BYTES];
    for (chunk, w) in out.chunks_exact_mut(8).zip(row(i)) {
        chunk.copy_from_slice(&w.to_le_bytes());
    }
    out
}

/// Checks that `data` is rows 0, 1, 2, ... followed by at most a prefix of the next row.
/// Returns (whole rows, bytes of the partial row).
pub fn check_rows_prefix(data: &[u8], what: &str) -> (u64, usize) {
    let whole = data.len() / ROW_BYTES;
    for (i, chunk) in data.chunks(ROW_BYTES).enumerate() {
        let expected = row_bytes(i as u64);
        assert_eq!(
            chunk,
            &expected[..chunk.len()],
            "{what}: row {i} does not hold its index (data is not a prefix of what was appended)"
        );
    }
    (whole as u64, data.len() % ROW_BYTES)
}

/// The Python expression (using `np`) for rows `0..n` as NumPy loads them.
pub fn rows_expr(n: u64) -> String {
    format!(
        "(np.arange({n}, dtype='<u8')[:, None] * 1000003 + np.arange({ROW_WORDS}, dtype='<u8'))"
    )
}

/// The block sizes (in rows) that [`append_in_blocks`] cycles through: with a 4 KiB mapped
/// window, most go through the mapping, one in five (30 rows, 720 bytes) with `pwrite`.
pub const BLOCKS: [u64; 5] = [1, 1, 2, 30, 7];

/// Appends rows `start..end` in blocks cycling through [`BLOCKS`]; Fortran-order files get the
/// same rows as blocks of shape (3, n).
///
/// # Panics
/// If an append fails.
pub fn append_in_blocks(array: &AppendArray, start: u64, end: u64, fortran: bool) {
    let mut next = start;
    let mut k = 0;
    while next < end {
        let n = BLOCKS[k % BLOCKS.len()].min(end - next);
        let shape = if fortran {
            [ROW_WORDS as u64, n]
        } else {
            [n, ROW_WORDS as u64]
        };
        array.append(&rows(next, n), &shape).unwrap();
        next += n;
        k += 1;
    }
}
