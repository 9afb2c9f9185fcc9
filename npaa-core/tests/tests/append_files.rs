//! `append_files`: whole .npy files appended to another as one transaction. The result is
//! `np.save` of the concatenation; a refused call leaves the destination byte for byte as it
//! was (or absent) and no temporary file behind; errors name the file the user gave, never a
//! temporary name. (A write that fails half-way and is undone is exercised through `npaa
//! append` in npaa-cli's tests, under a file-size limit.)

use std::fs;
use std::path::Path;

use npaa_core::{AppendFilesOptions, AppendOptions, Casting, Error, append_files};
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
