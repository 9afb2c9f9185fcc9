//! The Rust side of `bench/compare`: runs one scenario with npaa or with the raw-`write`
//! baseline and prints one JSON object (seconds, operations, and what was done) on stdout.
//!
//! Not a user-facing tool: `bench/compare` builds it with
//! `cargo build --release -p npaa-bench --bin compare_driver` and calls it once per
//! measurement, with the Python reference driven by `bench/ref_driver.py` in the same run.
//!
//! Every scenario appends rows of 16 `f64` (128 bytes), the shape `(n, 16)`, so that all three
//! contenders write the same bytes.
//!
//! ```text
//! compare_driver tiny PATH N rewrite|norewrite|buffered:BYTES   (1 + N rows; N timed)
//! compare_driver raw-tiny PATH N            one 128-byte write() per append
//! compare_driver raw-tiny-buffered PATH N BYTES   BufWriter of BYTES over write()
//! compare_driver large PATH TOTAL BLOCK [sync]      npaa appends of BLOCK bytes up to TOTAL
//! compare_driver raw-large PATH TOTAL BLOCK [sync]  pwrite of BLOCK bytes up to TOTAL
//!                                           (sync: to stable storage before the clock stops)
//! compare_driver reopen PATH N              N × (open, append one row, close)
//! compare_driver raw-reopen PATH N          N × (open O_APPEND, write 128 bytes, close)
//! compare_driver calls-reopen PATH N        N × npaa's system calls of that cycle alone
//! compare_driver gen-legacy PATH BYTES      a file whose header has no spare room (cnpy)
//! compare_driver gen-npy PATH BYTES         a complete, appendable file (np.save layout)
//! compare_driver gen-npy-be PATH BYTES      the same bytes, declared big-endian (`>f8`)
//! compare_driver ensure PATH inplace|copy   ensure_appendable
//! compare_driver recover PATH               recover (zero-filling the last item)
//! compare_driver append-npy DEST SRC        AppendArray::append_npy_file
//! compare_driver raw-copy SRC DEST          read()/write() of SRC's bytes, 8 MiB buffer
//! ```

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Instant;

use npaa_core::{
    AppendArray, AppendOptions, Durability, EnsureOptions, Header, RecoverOptions,
    ensure_appendable_with, recover_with,
};

/// Items per row.
const COLS: u64 = 16;
/// Bytes per row.
const ROW: u64 = COLS * 8;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = run(&args) {
        eprintln!("compare_driver {}: {e}", args.join(" "));
        std::process::exit(1);
    }
}

fn arg(args: &[String], i: usize) -> Res<&str> {
    args.get(i)
        .map(String::as_str)
        .ok_or_else(|| format!("missing argument {i}; see the module docs").into())
}

fn num(args: &[String], i: usize) -> Res<u64> {
    Ok(arg(args, i)?.parse()?)
}

fn run(args: &[String]) -> Res<()> {
    let cmd = arg(args, 0)?;
    let path = Path::new(arg(args, 1)?);
    match cmd {
        "tiny" => tiny(path, num(args, 2)?, arg(args, 3)?),
        "raw-tiny" => raw_tiny(path, num(args, 2)?),
        "raw-tiny-buffered" => raw_tiny_buffered(path, num(args, 2)?, num(args, 3)?),
        "large" | "raw-large" => large(
            path,
            num(args, 2)?,
            num(args, 3)?,
            cmd == "raw-large",
            args.get(4).is_some_and(|a| a == "sync"),
        ),
        "reopen" => reopen(path, num(args, 2)?),
        "raw-reopen" => raw_reopen(path, num(args, 2)?),
        "calls-reopen" => calls_reopen(path, num(args, 2)?),
        "gen-legacy" => generate(path, num(args, 2)?, true, "<f8"),
        "gen-npy" => generate(path, num(args, 2)?, false, "<f8"),
        "gen-npy-be" => generate(path, num(args, 2)?, false, ">f8"),
        "ensure" => ensure(path, arg(args, 2)?),
        "recover" => timed_recover(path),
        "append-npy" => append_npy(path, Path::new(arg(args, 2)?)),
        "raw-copy" => raw_copy(path, Path::new(arg(args, 2)?)),
        other => Err(format!("unknown scenario {other:?}").into()),
    }
}

fn report(seconds: f64, ops: u64, extra: &str) {
    println!("{{\"seconds\": {seconds:.9}, \"ops\": {ops}{extra}}}");
}

/// One row of 16 f64 whose values depend on `i`, so that nothing is all zeros.
fn row(i: u64) -> [f64; COLS as usize] {
    std::array::from_fn(|j| (i * COLS + j as u64) as f64)
}

fn header_bytes(rows: u64) -> Vec<u8> {
    header_bytes_of("<f8", rows)
}

fn header_bytes_of(descr: &str, rows: u64) -> Vec<u8> {
    Header::new(
        npaa_core::Dtype::parse(descr).expect("a valid descr"),
        npaa_core::Order::C,
        vec![rows, COLS],
    )
    .expect("at most 64 dimensions")
    .to_npy_bytes()
}

fn tiny(path: &Path, n: u64, mode: &str) -> Res<()> {
    let mut options = AppendOptions::new().delete_if_exists(true);
    match mode {
        "rewrite" => {}
        "norewrite" => options = options.rewrite_header_on_append(false),
        m if m.starts_with("buffered:") => {
            options = options.buffer_capacity(m["buffered:".len()..].parse()?);
        }
        m if m.starts_with("mapped:") => {
            options = options.mapped_window(m["mapped:".len()..].parse()?);
        }
        _ => return Err(format!("unknown tiny mode {mode:?}").into()),
    }
    let rows: Vec<_> = (0..n.min(1024)).map(row).collect();
    let array = options.open(path)?;
    // The first append creates the file: done before the clock starts, for every contender.
    array.append(&row(0), &[1, COLS])?;
    array.flush()?;
    let start = Instant::now();
    for i in 0..n {
        array.append(&rows[(i % 1024) as usize], &[1, COLS])?;
    }
    array.close()?;
    report(start.elapsed().as_secs_f64(), n, "");
    Ok(())
}

fn raw_tiny(path: &Path, n: u64) -> Res<()> {
    let rows: Vec<_> = (0..n.min(1024)).map(row).collect();
    let mut file = File::create(path)?;
    file.write_all(&header_bytes(n))?;
    let start = Instant::now();
    for i in 0..n {
        file.write_all(bytemuck::cast_slice(&rows[(i % 1024) as usize]))?;
    }
    drop(file);
    report(start.elapsed().as_secs_f64(), n, "");
    Ok(())
}

fn raw_tiny_buffered(path: &Path, n: u64, capacity: u64) -> Res<()> {
    let rows: Vec<_> = (0..n.min(1024)).map(row).collect();
    let mut file = File::create(path)?;
    file.write_all(&header_bytes(n))?;
    let start = Instant::now();
    let mut out = BufWriter::with_capacity(capacity as usize, file);
    for i in 0..n {
        out.write_all(bytemuck::cast_slice(&rows[(i % 1024) as usize]))?;
    }
    out.into_inner().map_err(|e| e.into_error())?;
    report(start.elapsed().as_secs_f64(), n, "");
    Ok(())
}

fn large(path: &Path, total: u64, block: u64, raw: bool, sync: bool) -> Res<()> {
    let block_rows = block / ROW;
    let block = block_rows * ROW;
    let data: Vec<f64> = (0..block_rows * COLS).map(|i| i as f64).collect();
    let blocks = total / block;
    let _ = std::fs::remove_file(path);
    let start;
    if raw {
        let file = File::create(path)?;
        let header = header_bytes(blocks * block_rows);
        file.write_all_at(&header, 0)?;
        let mut at = header.len() as u64;
        start = Instant::now();
        for _ in 0..blocks {
            file.write_all_at(bytemuck::cast_slice(&data), at)?;
            at += block;
        }
        if sync {
            file.sync_data()?;
        }
        drop(file);
    } else {
        let durability = if sync {
            Durability::OnClose
        } else {
            Durability::None
        };
        let array = AppendOptions::new().durability(durability).open(path)?;
        start = Instant::now();
        for _ in 0..blocks {
            array.append(&data, &[block_rows, COLS])?;
        }
        array.close()?;
    }
    let seconds = start.elapsed().as_secs_f64();
    let bytes = blocks * block;
    report(seconds, blocks, &format!(", \"bytes\": {bytes}"));
    Ok(())
}

fn reopen(path: &Path, n: u64) -> Res<()> {
    let first = AppendOptions::new().delete_if_exists(true).open(path)?;
    first.append(&row(0), &[1, COLS])?;
    first.close()?;
    let rows: Vec<_> = (0..n.min(1024)).map(row).collect();
    let start = Instant::now();
    for i in 0..n {
        let array = AppendArray::open(path)?;
        array.append(&rows[(i % 1024) as usize], &[1, COLS])?;
        array.close()?;
    }
    report(start.elapsed().as_secs_f64(), n, "");
    Ok(())
}

fn raw_reopen(path: &Path, n: u64) -> Res<()> {
    std::fs::write(path, header_bytes(n))?;
    let rows: Vec<_> = (0..n.min(1024)).map(row).collect();
    let start = Instant::now();
    for i in 0..n {
        let mut file = OpenOptions::new().append(true).open(path)?;
        file.write_all(bytemuck::cast_slice(&rows[(i % 1024) as usize]))?;
    }
    report(start.elapsed().as_secs_f64(), n, "");
    Ok(())
}

/// The system calls npaa's `reopen` cycle makes, in its order, and nothing else: no parsing,
/// checking or bookkeeping, so the floor under npaa's cycle. Opens read-write without access
/// times, locks, takes the length, reads the first KiB, writes the row at the end, writes the
/// count's digits into the header (the whole header when their number changes), asks for the
/// link count, closes (this process has one thread: no explicit unlock, as in npaa). The file
/// ends as `reopen` leaves it, which bench/compare checks.
fn calls_reopen(path: &Path, n: u64) -> Res<()> {
    use std::io::{Seek, SeekFrom};
    use std::os::unix::fs::OpenOptionsExt;
    let first = AppendOptions::new().delete_if_exists(true).open(path)?;
    first.append(&row(0), &[1, COLS])?;
    first.close()?;
    let header = header_bytes(1);
    let shape_at = header
        .windows(10)
        .position(|w| w == b"'shape': (")
        .ok_or("no shape in the header")?
        + 10;
    let rows: Vec<_> = (0..n.min(1024)).map(row).collect();
    let mut count: u64 = 1;
    let start = Instant::now();
    for i in 0..n {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOATIME)
            .open(path)?;
        file.try_lock()?;
        let len = (&file).seek(SeekFrom::End(0))?;
        let mut first_read = [0u8; 1024];
        let got = file.read_at(&mut first_read, 0)?;
        std::hint::black_box(&first_read[..got]);
        file.write_all_at(bytemuck::cast_slice(&rows[(i % 1024) as usize]), len)?;
        let mut buf = [0u8; 20];
        let (old_len, new) = (count.ilog10(), decimal(count + 1, &mut buf));
        count += 1;
        if new.len() == old_len as usize + 1 {
            file.write_all_at(new, shape_at as u64)?;
        } else {
            file.write_all_at(&header_bytes(count), 0)?;
        }
        let links = rustix::fs::statx(
            &file,
            "",
            rustix::fs::AtFlags::EMPTY_PATH,
            rustix::fs::StatxFlags::NLINK,
        )?;
        std::hint::black_box(links.stx_nlink);
    }
    report(start.elapsed().as_secs_f64(), n, "");
    Ok(())
}

/// The decimal digits of `n`, written at the end of `buf`.
fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[at..];
        }
    }
}

/// Writes `bytes` (rounded down to whole rows) of data with a header: if `legacy`, the minimal
/// header cnpy (and NumPy < 1.14) writes, aligned to 16 bytes with no spare room for growth,
/// so that ensure_appendable has to make room (always `<f8`); else np.save's, with dtype
/// `descr`.
fn generate(path: &Path, bytes: u64, legacy: bool, descr: &str) -> Res<()> {
    let rows = bytes / ROW;
    let header = if legacy {
        let mut text =
            format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({rows}, {COLS}), }}")
                .into_bytes();
        let pad = (16 - (10 + text.len() + 1) % 16) % 16;
        text.extend(std::iter::repeat_n(b' ', pad));
        text.push(b'\n');
        let mut h = b"\x93NUMPY\x01\x00".to_vec();
        h.extend_from_slice(&(text.len() as u16).to_le_bytes());
        h.extend_from_slice(&text);
        h
    } else {
        header_bytes_of(descr, rows)
    };
    let file = File::create(path)?;
    file.write_all_at(&header, 0)?;
    let chunk_rows = (8u64 << 20) / ROW;
    let chunk: Vec<f64> = (0..chunk_rows * COLS).map(|i| i as f64).collect();
    let mut at = header.len() as u64;
    let mut left = rows;
    while left > 0 {
        let n = left.min(chunk_rows);
        file.write_all_at(bytemuck::cast_slice(&chunk[..(n * COLS) as usize]), at)?;
        at += n * ROW;
        left -= n;
    }
    report(0.0, rows, &format!(", \"bytes\": {}", rows * ROW));
    Ok(())
}

fn ensure(path: &Path, how: &str) -> Res<()> {
    let in_place = match how {
        "inplace" => true,
        "copy" => false,
        _ => return Err(format!("unknown ensure mode {how:?}").into()),
    };
    let start = Instant::now();
    let r = ensure_appendable_with(path, EnsureOptions::new().in_place(in_place))?;
    let seconds = start.elapsed().as_secs_f64();
    report(
        seconds,
        1,
        &format!(
            ", \"method\": \"{:?}\", \"header_len_after\": {}",
            r.method, r.header_len_after
        ),
    );
    Ok(())
}

fn timed_recover(path: &Path) -> Res<()> {
    let start = Instant::now();
    let r = recover_with(path, RecoverOptions::new().zerofill_incomplete(true))?;
    let seconds = start.elapsed().as_secs_f64();
    report(
        seconds,
        1,
        &format!(
            ", \"items_after\": {}, \"bytes_zero_filled\": {}",
            r.items_after, r.bytes_zero_filled
        ),
    );
    Ok(())
}

fn append_npy(dest: &Path, src: &Path) -> Res<()> {
    let start = Instant::now();
    let array = AppendArray::open(dest)?;
    let rows = array.append_npy_file(src)?;
    array.close()?;
    report(start.elapsed().as_secs_f64(), rows, "");
    Ok(())
}

fn raw_copy(src: &Path, dest: &Path) -> Res<()> {
    use std::io::Read;
    let start = Instant::now();
    let mut input = File::open(src)?;
    let mut output = File::create(dest)?;
    let mut buf = vec![0u8; 8 << 20];
    let mut total = 0u64;
    loop {
        let n = input.read(&mut buf)?;
        if n == 0 {
            break;
        }
        output.write_all(&buf[..n])?;
        total += n as u64;
    }
    drop(output);
    report(
        start.elapsed().as_secs_f64(),
        1,
        &format!(", \"bytes\": {total}"),
    );
    Ok(())
}
