//! `append_files`: whole .npy files appended to another as one transaction. The result is
//! `np.save` of the concatenation; a refused call leaves the destination byte for byte as it
//! was (or absent) and no temporary file behind; errors name the file the user gave, never a
//! temporary name. (A write that fails half-way and is undone is exercised through `npaa
//! append` in npaa-cli's tests, under a file-size limit.)

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use npaa_core::{
    AppendArray, AppendFilesOptions, AppendOptions, Casting, Error, append_files, inspect,
};
use npaa_testutil::child;
use npaa_testutil::rows::{ROW_WORDS, rows};
use npaa_testutil::{listing, np_save, run_python, tempdir};

/// Byte-identical to `np.save(np.concatenate(...))`, for a new destination, an existing one
/// and a replaced one; progress covers every source's data.
#[test]
fn the_result_is_np_save_of_the_concatenation() {
    let dir = tempdir();
    let at = |name: &str| dir.path().join(name);
    np_save(&at("a.npy"), "np.arange(6, dtype='<f8').reshape(2, 3)");
    np_save(&at("b.npy"), "np.arange(9, dtype='<i4').reshape(3, 3)");
    np_save(&at("f.npy"), "np.asfortranarray(np.ones((4, 3)))");
    let sources = [at("a.npy"), at("b.npy"), at("f.npy")];
    let mut seen = (0, 0);
    let report = append_files(
        at("new.npy"),
        &sources,
        AppendFilesOptions::new().progress(|done, total| seen = (done, total)),
    )
    .unwrap();
    assert_eq!((report.items, report.header.shape()), (9, &[9, 3][..]));
    assert_eq!(report.bytes, 48 + 36 + 96);
    assert_eq!(seen, (180, 180));
    assert!(report.created);
    // Cast to the destination's dtype, that of its first source.
    let expected =
        "np.concatenate([np.load(p) for p in sys.argv[2:]]).astype(np.load(sys.argv[2]).dtype)";
    let same = |dest: &Path, parts: &[&Path]| {
        let mut args = vec![dest];
        args.extend_from_slice(parts);
        run_python(
            &format!(
                "import io, sys, numpy as np\n\
                 b = io.BytesIO(); np.save(b, {expected})\n\
                 assert open(sys.argv[1], 'rb').read() == b.getvalue()\n"
            ),
            &args,
        );
    };
    same(&at("new.npy"), &[&at("a.npy"), &at("b.npy"), &at("f.npy")]);

    let report = append_files(at("new.npy"), &[at("a.npy")], AppendFilesOptions::new()).unwrap();
    assert!(!report.created);
    assert_eq!(report.header.shape(), [11, 3]);
    same(
        &at("new.npy"),
        &[&at("a.npy"), &at("b.npy"), &at("f.npy"), &at("a.npy")],
    );

    let replace =
        AppendFilesOptions::new().append_options(AppendOptions::new().delete_if_exists(true));
    append_files(at("new.npy"), &[at("b.npy")], replace).unwrap();
    same(&at("new.npy"), &[&at("b.npy")]);
    assert_eq!(listing(dir.path()), ["a.npy", "b.npy", "f.npy", "new.npy"]);
}

/// Every refusal leaves the destination as it was, names the file concerned (the source; the
/// destination by the name given), and leaves no temporary file.
#[test]
fn refusals_change_nothing() {
    let dir = tempdir();
    let at = |name: &str| dir.path().join(name);
    np_save(&at("dest.npy"), "np.zeros((2, 3))");
    np_save(&at("good.npy"), "np.ones((1, 3))");
    np_save(&at("wide.npy"), "np.ones((1, 4))");
    np_save(&at("text.npy"), "np.array([['a', 'b', 'c']])");
    let before = fs::read(at("dest.npy")).unwrap();
    let files = listing(dir.path());
    for dest in ["dest.npy", "new.npy"] {
        for delete in [false, true] {
            let options = || {
                AppendFilesOptions::new().append_options(
                    AppendOptions::new()
                        .delete_if_exists(delete)
                        .casting(Casting::SameKind),
                )
            };
            let sources = [at("good.npy"), at("wide.npy")];
            match append_files(at(dest), &sources, options()) {
                Err(Error::InSource { path, cause, .. }) => {
                    assert_eq!(path, at("wide.npy"));
                    let Error::ShapeMismatch { path, .. } = *cause else {
                        panic!("{cause:?}");
                    };
                    assert_eq!(path, at(dest), "the destination by the name given");
                }
                other => panic!("expected InSource, got {other:?}"),
            }
            let sources = [at("good.npy"), at("text.npy")];
            let err = append_files(at(dest), &sources, options()).unwrap_err();
            assert!(matches!(err.innermost(), Error::Cast { .. }), "{err:?}");
            assert_eq!(err.path(), Some(at("text.npy").as_path()));
            // Never the temporary name (`.dest.npy.XXXXXX.tmp`).
            assert!(!err.to_string().contains(&format!(".{dest}.")), "{err}");
            let sources = [at("good.npy"), at("missing.npy")];
            let err = append_files(at(dest), &sources, options()).unwrap_err();
            assert_eq!(err.path(), Some(at("missing.npy").as_path()));
            assert_eq!(fs::read(at("dest.npy")).unwrap(), before);
            assert_eq!(listing(dir.path()), files, "{dest} {delete}");
        }
    }
    let err = append_files(at("dest.npy"), &[at("dest.npy")], AppendFilesOptions::new());
    assert!(
        matches!(err, Err(Error::SourceIsDestination { ref path, .. }) if *path == at("dest.npy")),
        "{err:?}"
    );
    let none: [&Path; 0] = [];
    let err = append_files(at("new.npy"), &none, AppendFilesOptions::new());
    assert!(matches!(err, Err(Error::NoSources { .. })), "{err:?}");
    let report = append_files(at("dest.npy"), &none, AppendFilesOptions::new()).unwrap();
    assert_eq!(report.items, 0);
    assert_eq!(fs::read(at("dest.npy")).unwrap(), before);
    assert_eq!(listing(dir.path()), files);
}

/// A writer killed with SIGKILL at a random moment of `append_files` calls (one source each)
/// leaves a destination that holds whole sources only: the header counts a whole number of
/// sources, and their bytes are exactly the sources' (bytes past the count, of the source
/// being copied, are what NumPy ignores and `recover` cuts or counts).
#[test]
fn a_killed_append_files_leaves_whole_sources() {
    const N: u64 = 256;
    const SOURCES: usize = 200;
    let dir = tempdir();
    let sources = dir.path().join("sources");
    fs::create_dir(&sources).unwrap();
    for k in 0..SOURCES {
        let array = AppendArray::open(sources.join(format!("{k}.npy"))).unwrap();
        array
            .append(&rows(k as u64 * N, N), &[N, ROW_WORDS as u64])
            .unwrap();
        array.close().unwrap();
    }
    let expected: Vec<u8> = rows(0, SOURCES as u64 * N)
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    let row_bytes = ROW_WORDS * 8;
    let mut seen_partial = 0;
    for trial in 0..16u64 {
        let dest = dir.path().join(format!("dest{trial}.npy"));
        let mut writer = child::command("append-files-writer")
            .env("NPAA_AF_DEST", &dest)
            .env("NPAA_AF_SOURCES", &sources)
            .env("NPAA_AF_COUNT", SOURCES.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(writer.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "READY");
        // Spread over the run: from before the first call to well into it.
        std::thread::sleep(Duration::from_millis(trial * trial * 3));
        writer.kill().unwrap();
        writer.wait().unwrap();
        if !dest.exists() {
            continue; // Killed while the first call built it beside: nothing is in place.
        }
        let info = inspect(&dest).unwrap();
        let counted = info.header.shape()[0];
        assert_eq!(
            counted % N,
            0,
            "trial {trial}: {counted} rows is not whole sources"
        );
        let data = fs::read(&dest).unwrap();
        let start = info.header_len as usize;
        let len = counted as usize * row_bytes;
        assert_eq!(&data[start..start + len], &expected[..len], "trial {trial}");
        seen_partial += usize::from(counted < SOURCES as u64 * N);
    }
    assert!(seen_partial > 0, "no kill landed inside the run");
}
