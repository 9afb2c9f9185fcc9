//! Roles that write through npaa-core's Rust API.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use npaa_core::{AppendArray, AppendFilesOptions, AppendOptions, Durability, Error, Order};
use npaa_testutil::child::arg;
use npaa_testutil::crash;
use npaa_testutil::rows::{ROW_WORDS, append_in_blocks, rows};

/// `append_files`' killed writer (npaa-core's `append_files` tests): says READY, then appends
/// the sources `NPAA_AF_SOURCES/0.npy`, `1.npy`, ... (`NPAA_AF_COUNT` of them) to
/// `NPAA_AF_DEST`, one `append_files` call each, until killed.
pub fn append_files_writer() {
    let dest = PathBuf::from(arg("NPAA_AF_DEST"));
    let sources = PathBuf::from(arg("NPAA_AF_SOURCES"));
    let count: usize = arg("NPAA_AF_COUNT").parse().unwrap();
    println!("READY");
    for k in 0..count {
        let source = sources.join(format!("{k}.npy"));
        npaa_core::append_files(&dest, &[source], AppendFilesOptions::new()).unwrap();
    }
}

/// The crash campaign's writer (`reliability_crash`): opens `NPAA_CRASH_PATH` in
/// `NPAA_CRASH_MODE`, says READY and appends rows until killed (or `crash::MAX_ROWS`).
/// With `NPAA_CRASH_PAUSE_AT` (a row count), once that many rows are appended it waits for a
/// line on stdin (`reader`'s follower: the writer cannot finish before the follower has
/// refreshed while it runs, however the two are scheduled).
pub fn crash_writer() {
    let path = PathBuf::from(arg("NPAA_CRASH_PATH"));
    let mode = arg("NPAA_CRASH_MODE");
    let fortran = mode == "rewrite-fortran";
    let o = AppendOptions::new();
    let options = match mode.as_str() {
        "rewrite" => o,
        "rewrite-fortran" => o.order(Order::Fortran),
        "no-rewrite" => o.rewrite_header_on_append(false),
        "buffered" => o.buffer_capacity(4096),
        "every-bytes" => o.durability(Durability::EveryBytes(64 << 10)),
        "mapped" => o.mapped_window(16 << 10),
        _ => panic!("unknown mode {mode}"),
    };
    let array = options.open(&path).unwrap();
    let pause_at: Option<u64> = std::env::var("NPAA_CRASH_PAUSE_AT")
        .ok()
        .map(|n| n.parse().unwrap());
    println!("READY");
    crash::child_appends(arg("NPAA_CRASH_SEED").parse().unwrap(), |start, n| {
        // Column-major blocks of shape (3, n) have the same bytes as C-order (n, 3) rows.
        let shape = if fortran {
            [ROW_WORDS as u64, n]
        } else {
            [n, ROW_WORDS as u64]
        };
        array.append(&rows(start, n), &shape).unwrap();
        if pause_at.is_some_and(|at| (start..start + n).contains(&(at - 1))) {
            std::io::stdin().read_line(&mut String::new()).unwrap();
        }
    });
    array.close().unwrap();
    println!("DONE");
}

/// The ragged crash campaign's writer (`ragged`): appends records to the pair at
/// `NPAA_CRASH_PATH` in `NPAA_CRASH_MODE` until killed (see `npaa_testutil::ragged`).
pub fn ragged_crash_writer() {
    npaa_testutil::ragged::child_writes(
        &PathBuf::from(arg("NPAA_CRASH_PATH")),
        &arg("NPAA_CRASH_MODE"),
        arg("NPAA_CRASH_SEED").parse().unwrap(),
    );
}

/// `mapped`'s killed writer: appends 1000 rows to `NPAA_MAPPED_PATH` in mapped mode (a 4 KiB
/// window), says READY and waits to be killed.
pub fn mapped_writer() {
    let path = PathBuf::from(arg("NPAA_MAPPED_PATH"));
    let array = AppendOptions::new()
        .mapped_window(4096)
        .open(&path)
        .unwrap();
    append_in_blocks(&array, 0, 1000, false);
    println!("READY");
    std::thread::sleep(Duration::from_secs(60));
}

/// `reliability_durability`'s traced writer: appends `NPAA_DURABILITY_ROWS` rows one by one
/// to `NPAA_DURABILITY_PATH` in `NPAA_DURABILITY_MODE`, then closes.
pub fn durability() {
    let path = PathBuf::from(arg("NPAA_DURABILITY_PATH"));
    let mode = arg("NPAA_DURABILITY_MODE");
    let n: u64 = arg("NPAA_DURABILITY_ROWS").parse().unwrap();
    let array = AppendOptions::new()
        .durability(npaa_testutil::child::durability(&mode))
        .mapped_window(if mode == "mapped" { 4096 } else { 0 })
        .open(&path)
        .unwrap();
    if mode == "large" {
        // One block of all rows but the last (large enough to be preallocated), then one row.
        array.append(&rows(0, n - 1), &[n - 1, 3]).unwrap();
        array.append(&rows(n - 1, 1), &[1, 3]).unwrap();
    } else {
        for i in 0..n {
            array.append(&rows(i, 1), &[1, 3]).unwrap();
        }
    }
    array.close().unwrap();
}

/// `reliability_disk_full`'s writer under a file-size limit: limits its file size to
/// `NPAA_FSIZE_LIMIT`, ignores SIGXFSZ, appends to `NPAA_FSIZE_PATH` in `NPAA_FSIZE_MODE` until
/// a write fails, tries once more, closes, and reports (`APPENDED`, `ERRNO`, `MESSAGE`,
/// `AGAIN`, `CLOSE` lines). Unix only (Windows has no file-size limit).
#[cfg(unix)]
pub fn fsize() {
    let path = PathBuf::from(arg("NPAA_FSIZE_PATH"));
    let mode = arg("NPAA_FSIZE_MODE");
    let start_rows: u64 = arg("NPAA_FSIZE_START_ROWS").parse().unwrap();
    let limit: u64 = arg("NPAA_FSIZE_LIMIT").parse().unwrap();
    // SAFETY: plain libc calls with valid arguments, made before this process starts any other
    // thread of its own; SIG_IGN makes an oversized write fail with EFBIG instead of killing.
    unsafe {
        assert_ne!(libc::signal(libc::SIGXFSZ, libc::SIG_IGN), libc::SIG_ERR);
        let lim = libc::rlimit {
            rlim_cur: limit,
            rlim_max: limit,
        };
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &lim), 0);
    }
    let options = match mode.as_str() {
        "buffered" => AppendOptions::new().buffer_capacity(1000),
        "no-rewrite" => AppendOptions::new().rewrite_header_on_append(false),
        "every-append" => AppendOptions::new().durability(Durability::EveryAppend),
        _ => AppendOptions::new(),
    };
    let array = options.open(&path).unwrap();
    let mut next = if mode == "create" { 0 } else { start_rows };
    let block = match mode.as_str() {
        "blocks" | "npy-file" => 64,
        _ => 1,
    };
    let append = |start: u64| {
        if mode == "npy-file" {
            let source = PathBuf::from(arg("NPAA_FSIZE_SOURCE"));
            array.append_npy_file(&source).map(drop)
        } else {
            array.append(&rows(start, block), &[block, 3])
        }
    };
    let error = loop {
        match append(next) {
            Ok(()) => next += block,
            Err(e) => break e,
        }
        assert!(next < 100_000, "the limit never hit");
    };
    let source = match &error {
        Error::Io { source, .. } => source.raw_os_error().unwrap_or(-1),
        _ => -1,
    };
    println!("APPENDED {next}");
    println!("ERRNO {source}");
    println!("MESSAGE {error}");
    let again = append(next).map_or_else(|e| e.to_string(), |()| "OK".to_owned());
    println!("AGAIN {again}");
    let closed = array
        .close()
        .map_or_else(|e| e.to_string(), |()| "OK".to_owned());
    println!("CLOSE {closed}");
}

/// `reliability_lock`'s holder: opens `NPAA_LOCK_PATH`, appends rows 0..10, says LOCKED,
/// waits for a line on stdin, appends rows 10..20, closes, says CLOSED.
pub fn lock_holder() {
    let path = PathBuf::from(arg("NPAA_LOCK_PATH"));
    let array = AppendArray::open(&path).unwrap();
    array.append(&rows(0, 10), &[10, 3]).unwrap();
    println!("LOCKED");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    array.append(&rows(10, 10), &[10, 3]).unwrap();
    array.close().unwrap();
    println!("CLOSED");
}

/// `reliability_lock`'s contender: tries to open `NPAA_LOCK_PATH` for appending and prints
/// the outcome and how long it took.
pub fn lock_contender() {
    let path = PathBuf::from(arg("NPAA_LOCK_PATH"));
    let started = Instant::now();
    let outcome = match AppendArray::open(&path) {
        Ok(array) => {
            // Must not happen; write something so the parent sees the damage.
            let _ = array.append(&rows(1000, 1), &[1, 3]);
            "OPENED".to_owned()
        }
        Err(Error::Locked { path: p, .. }) => format!("LOCKED-ERROR {}", p.display()),
        Err(e) => format!("OTHER {e}"),
    };
    println!("{outcome} after {} ms", started.elapsed().as_millis());
}

/// `reliability_bad_calls`'s unprivileged caller: every call that would write
/// `NPAA_RO_FILE` (mode 0444) or create a file in `NPAA_RO_DIR` (mode 0555), and one that
/// reads, each reported as a `RESULT what: EACCES|Ok|other error ...` line. Unix only (file
/// modes).
#[cfg(unix)]
pub fn permission() {
    use npaa_core::{EnsureOptions, ensure_appendable, ensure_appendable_with, inspect, recover};
    let ro_file = PathBuf::from(arg("NPAA_RO_FILE"));
    let ro_dir = PathBuf::from(arg("NPAA_RO_DIR"));
    let check = |what: &str, r: Result<(), Error>| {
        let outcome = match r {
            Err(Error::Io { source, .. }) if source.raw_os_error() == Some(libc::EACCES) => {
                "EACCES".to_owned()
            }
            Err(e) => format!("other error {e}"),
            Ok(()) => "Ok".to_owned(),
        };
        println!("RESULT {what}: {outcome}");
    };
    check("open", AppendArray::open(&ro_file).map(drop));
    check("recover", recover(&ro_file).map(drop));
    check("ensure copy", ensure_appendable(&ro_file).map(drop));
    check(
        "ensure in place",
        ensure_appendable_with(&ro_file, EnsureOptions::new().in_place(true)).map(drop),
    );
    let new = ro_dir.join("new.npy");
    check(
        "create in a read-only directory",
        AppendArray::open(&new).and_then(|a| a.append(&rows(0, 1), &[1, 3])),
    );
    // Reading is allowed.
    check("inspect", inspect(&ro_file).map(drop));
}

/// `shared`'s writer: appends `NPAA_SHARED_BLOCKS` blocks as writer `NPAA_SHARED_WRITER` to
/// `NPAA_SHARED_PATH` in shared mode (see `npaa_testutil::shared::child_writes`).
pub fn shared_writer() {
    npaa_testutil::shared::child_writes(
        &PathBuf::from(arg("NPAA_SHARED_PATH")),
        arg("NPAA_SHARED_WRITER").parse().unwrap(),
        arg("NPAA_SHARED_BLOCKS").parse().unwrap(),
        arg("NPAA_SHARED_SEED").parse().unwrap(),
    );
}

/// `shared`'s writer killed mid-block: see `npaa_testutil::shared::child_stalls`.
pub fn shared_staller() {
    npaa_testutil::shared::child_stalls(
        &PathBuf::from(arg("NPAA_SHARED_PATH")),
        &PathBuf::from(arg("NPAA_SHARED_SOURCE")),
        arg("NPAA_SHARED_WRITER").parse().unwrap(),
    );
}

/// `page-size`: prints the size of a memory page, as the process sees it (under
/// `qemu-aarch64 -p 65536`, 65536: scripts/aarch64-tests checks that its runs had such pages).
#[cfg(unix)]
pub fn page_size() {
    // SAFETY: sysconf takes an integer and touches no memory of ours.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    println!("{size}");
}
