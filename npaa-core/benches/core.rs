//! Criterion benchmarks of npaa-core's hot paths: header codec, appends (tiny, large,
//! open-append-close), `recover`, `ensure_appendable`.
//!
//! `cargo bench -p npaa-core` runs them all in a few minutes (small sample sizes, short
//! measurement times); `cargo bench -p npaa-core -- append/tiny` runs a subset. Files live in
//! a temporary directory under `$TMPDIR` (use ext4 or XFS for the in-place ensure fast path).
//! For npaa against the Python reference and plain `write` calls, see `bench/compare`.

use std::fs::{File, OpenOptions};
use std::hint::black_box;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use npaa_core::{
    AppendArray, AppendOptions, Dtype, EnsureOptions, Header, ensure_appendable_with, inspect,
    recover,
};

/// Items per row: every benchmark appends rows of 16 `f64` (128 bytes).
const COLS: u64 = 16;
const ROW: u64 = COLS * 8;

fn f8() -> Dtype {
    Dtype::parse("<f8").expect("a valid descr")
}

/// A structured dtype with nesting and subarrays: the expensive end of header parsing.
const RECORD: &str = "[('t', '<f8'), ('pos', '<f4', (3,)), ('id', '<u8'), \
                      ('flags', [('a', '|b1'), ('b', '|u1')]), ('name', '<U16')]";

fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("npaa-bench-")
        .tempdir()
        .expect("a temporary directory")
}

/// Writes a complete, appendable file of `rows` rows (np.save's header).
fn write_npy(path: &Path, rows: u64) {
    let header = Header::new(f8(), npaa_core::Order::C, vec![rows, COLS])
        .expect("at most 64 dimensions")
        .to_npy_bytes();
    write_with_header(path, &header, rows);
}

/// Writes a file of `rows` rows whose header has no spare room (cnpy's 16-byte alignment), so
/// that `ensure_appendable` has work to do.
fn write_legacy(path: &Path, rows: u64) {
    let mut text =
        format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({rows}, {COLS}), }}")
            .into_bytes();
    text.extend(std::iter::repeat_n(
        b' ',
        (16 - (10 + text.len() + 1) % 16) % 16,
    ));
    text.push(b'\n');
    let mut header = b"\x93NUMPY\x01\x00".to_vec();
    header.extend_from_slice(&(text.len() as u16).to_le_bytes());
    header.extend_from_slice(&text);
    write_with_header(path, &header, rows);
}

fn write_with_header(path: &Path, header: &[u8], rows: u64) {
    let file = File::create(path).expect("create");
    file.write_all_at(header, 0).expect("header");
    let chunk = vec![0x3fu8; (4 << 20) - (4 << 20) % ROW as usize];
    let mut at = header.len() as u64;
    let end = at + rows * ROW;
    while at < end {
        let n = (end - at).min(chunk.len() as u64) as usize;
        file.write_all_at(&chunk[..n], at).expect("data");
        at += n as u64;
    }
}

fn header_codec(c: &mut Criterion) {
    let mut g = c.benchmark_group("header");
    g.measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    let simple = Header::new(f8(), npaa_core::Order::C, vec![123_456_789, COLS])
        .expect("at most 64 dimensions");
    let record = Header::new(
        Dtype::parse(RECORD).expect("a valid descr"),
        npaa_core::Order::C,
        vec![1000],
    )
    .expect("at most 64 dimensions");
    g.bench_function("render/f8", |b| {
        b.iter(|| black_box(&simple).to_npy_bytes())
    });
    g.bench_function("render/record", |b| {
        b.iter(|| black_box(&record).to_npy_bytes())
    });
    g.bench_function("parse_descr/record", |b| {
        b.iter(|| Dtype::parse(black_box(RECORD)))
    });
    // The header parser is reached through `inspect` (open, one read, parse, close): what
    // every open pays.
    let dir = scratch();
    let path = dir.path().join("parse.npy");
    write_npy(&path, 10);
    g.bench_function("inspect/f8", |b| b.iter(|| inspect(black_box(&path))));
    g.finish();
}

/// Appends `iters` rows, one per call, to a new file made with `options`; returns the time of
/// the appends and the close.
fn tiny_appends(dir: &Path, options: AppendOptions, iters: u64) -> Duration {
    let path = dir.join("tiny.npy");
    let row: [f64; COLS as usize] = std::array::from_fn(|i| i as f64);
    let array = options.delete_if_exists(true).open(&path).expect("open");
    // The first append creates the file: not what is measured.
    array.append(&row, &[1, COLS]).expect("append");
    let start = Instant::now();
    for _ in 0..iters {
        array.append(black_box(&row), &[1, COLS]).expect("append");
    }
    array.close().expect("close");
    let elapsed = start.elapsed();
    std::fs::remove_file(&path).expect("remove");
    elapsed
}

fn appends(c: &mut Criterion) {
    let dir = scratch();
    let mut g = c.benchmark_group("append");
    g.measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(20)
        .throughput(Throughput::Elements(1));
    g.bench_function("tiny/header_rewrite_on", |b| {
        b.iter_custom(|iters| tiny_appends(dir.path(), AppendOptions::new(), iters))
    });
    g.bench_function("tiny/mapped_1MiB", |b| {
        b.iter_custom(|iters| {
            let options = AppendOptions::new().mapped_window(1 << 20);
            tiny_appends(dir.path(), options, iters)
        })
    });
    g.bench_function("tiny/header_rewrite_off", |b| {
        b.iter_custom(|iters| {
            let options = AppendOptions::new().rewrite_header_on_append(false);
            tiny_appends(dir.path(), options, iters)
        })
    });
    g.bench_function("tiny/buffered_1MiB", |b| {
        b.iter_custom(|iters| {
            let options = AppendOptions::new().buffer_capacity(1 << 20);
            tiny_appends(dir.path(), options, iters)
        })
    });
    g.bench_function("open_append_close", |b| {
        b.iter_custom(|iters| {
            let path = dir.path().join("reopen.npy");
            write_npy(&path, 1);
            let row: [f64; COLS as usize] = std::array::from_fn(|i| i as f64);
            let start = Instant::now();
            for _ in 0..iters {
                let array = AppendArray::open(&path).expect("open");
                array.append(black_box(&row), &[1, COLS]).expect("append");
                array.close().expect("close");
            }
            let elapsed = start.elapsed();
            std::fs::remove_file(&path).expect("remove");
            elapsed
        })
    });
    // Large appends: 16 MiB per call (the page cache, not the disk, is measured). The raw
    // baseline is for orientation only: on a VM, whichever of the two runs first pays for
    // memory the guest touches for the first time. bench/compare interleaves them with
    // warm-ups and is the place for the ratio.
    const BLOCK_ROWS: u64 = (16 << 20) / ROW;
    let block: Vec<f64> = (0..BLOCK_ROWS * COLS).map(|i| i as f64).collect();
    g.sample_size(10)
        .throughput(Throughput::Bytes(BLOCK_ROWS * ROW));
    g.bench_function("large_16MiB", |b| {
        b.iter_custom(|iters| {
            let path = dir.path().join("large.npy");
            let array = AppendOptions::new()
                .delete_if_exists(true)
                .open(&path)
                .expect("open");
            let start = Instant::now();
            for _ in 0..iters {
                array.append(&block, &[BLOCK_ROWS, COLS]).expect("append");
            }
            array.close().expect("close");
            let elapsed = start.elapsed();
            std::fs::remove_file(&path).expect("remove");
            elapsed
        })
    });
    g.bench_function("large_16MiB/raw_pwrite_baseline", |b| {
        b.iter_custom(|iters| {
            let path = dir.path().join("raw.npy");
            let file = File::create(&path).expect("create");
            let bytes: &[u8] = bytemuck::cast_slice(&block);
            let start = Instant::now();
            for i in 0..iters {
                file.write_all_at(bytes, 128 + i * bytes.len() as u64)
                    .expect("write");
            }
            drop(file);
            let elapsed = start.elapsed();
            std::fs::remove_file(&path).expect("remove");
            elapsed
        })
    });
    g.finish();
}

/// Makes `path` need recovery: 100 bytes of a 128-byte row after the data.
fn break_file(path: &Path) {
    OpenOptions::new()
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(&[1u8; 100]))
        .expect("append garbage");
}

fn repairs(c: &mut Criterion) {
    let dir = scratch();
    let mut g = c.benchmark_group("repair");
    g.measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(10);
    // recover cuts the partial row: one header write, a truncate and one fdatasync, whatever
    // the size. The two sizes should take the same time.
    for (name, rows) in [
        ("recover/1MiB", (1u64 << 20) / ROW),
        ("recover/256MiB", (256 << 20) / ROW),
    ] {
        let path = dir.path().join(format!("recover-{rows}.npy"));
        write_npy(&path, rows);
        // Flush the setup's dirty pages: the first fdatasync would write them all.
        File::open(&path).and_then(|f| f.sync_all()).expect("sync");
        g.bench_function(name, |b| {
            b.iter_batched(
                || break_file(&path),
                |()| recover(&path).expect("recover"),
                BatchSize::PerIteration,
            )
        });
        std::fs::remove_file(&path).expect("remove");
    }
    // ensure_appendable on a 16 MiB file without spare header room. In place, blocks are
    // inserted at the front (ext4, XFS): no data moves. Via copy, the data is copied by the
    // kernel into a new file, synced and renamed. Each iteration needs a fresh file (written
    // and synced outside the measurement): few, flat samples keep this under a minute.
    let legacy: PathBuf = dir.path().join("legacy.npy");
    let rows = (16u64 << 20) / ROW;
    g.sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(1))
        .warm_up_time(Duration::from_millis(200));
    for (name, in_place) in [
        ("ensure_appendable_16MiB/in_place", true),
        ("ensure_appendable_16MiB/copy", false),
    ] {
        g.bench_function(name, |b| {
            b.iter_batched(
                || {
                    write_legacy(&legacy, rows);
                    // Flush the setup's dirty pages, so that the measured sync only covers
                    // what ensure_appendable writes.
                    File::open(&legacy)
                        .and_then(|f| f.sync_all())
                        .expect("sync");
                },
                |()| {
                    ensure_appendable_with(&legacy, EnsureOptions::new().in_place(in_place))
                        .expect("ensure")
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, header_codec, appends, repairs);
criterion_main!(benches);
