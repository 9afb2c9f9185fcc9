//! recover and ensure_appendable, compared with the Python reference (npy-append-array from
//! PyPI) on the same inputs, and checked with NumPy.

use std::fs;
use std::path::Path;

use npaa_core::{
    EnsureMethod, EnsureOptions, Error, RecoverOptions, ensure_appendable, ensure_appendable_with,
    inspect, needs_recovery, recover, recover_with,
};
use npaa_testutil::{PY_LEGACY_WRITER, run_python, tempdir};

/// Runs the reference's `recover` or `ensure_appendable` on a copy of `input`.
fn reference(function: &str, input: &Path, out: &Path, arg: bool) {
    fs::copy(input, out).unwrap();
    let py_arg = if arg { "True" } else { "False" };
    run_python(
        &format!(
            "import sys, npy_append_array as n\n\
             n.{function}(sys.argv[1], {py_arg})"
        ),
        &[out],
    );
}

/// Makes damaged files: cut mid-item, cut on an item boundary, stale header (extra items).
fn damaged_files(d: &Path) -> Vec<std::path::PathBuf> {
    run_python(
        r#"
import sys, os
import numpy as np
d = sys.argv[1]
a = np.arange(100, dtype='<f8').reshape(25, 4)
f = np.asfortranarray(np.arange(60, dtype='>i2').reshape(3, 4, 5))
np.save(os.path.join(d, 'c.npy'), a)
np.save(os.path.join(d, 'f.npy'), f)
np.save(os.path.join(d, 'rec.npy'), np.zeros(10, dtype=[('t', '<f8'), ('p', '<f4', (3,))]))
def cut(src, dst, drop):
    b = open(os.path.join(d, src), 'rb').read()
    open(os.path.join(d, dst), 'wb').write(b[:len(b) - drop])
def extend(src, dst, extra):
    b = open(os.path.join(d, src), 'rb').read()
    open(os.path.join(d, dst), 'wb').write(b + bytes(range(extra)))
cut('c.npy', 'c_mid.npy', 8 * 4 * 3 + 13)     # 3 whole rows and 13 bytes missing
cut('c.npy', 'c_row.npy', 8 * 4 * 2)          # exactly 2 rows missing
extend('c.npy', 'c_extra.npy', 8 * 4 * 2 + 5) # crash before the header update
cut('f.npy', 'f_mid.npy', 2 * 12 + 3)
extend('f.npy', 'f_extra.npy', 2 * 12 * 2)
cut('rec.npy', 'rec_mid.npy', 7)
"#,
        &[d],
    );
    [
        "c_mid.npy",
        "c_row.npy",
        "c_extra.npy",
        "f_mid.npy",
        "f_extra.npy",
        "rec_mid.npy",
    ]
    .iter()
    .map(|n| d.join(n))
    .collect()
}

#[test]
fn recover_matches_the_reference() {
    let dir = tempdir();
    let d = dir.path();
    for input in damaged_files(d) {
        assert!(needs_recovery(&input).unwrap(), "{}", input.display());
        for zerofill in [false, true] {
            let name = input.file_name().unwrap().to_string_lossy();
            let ours = d.join(format!("ours-{zerofill}-{name}"));
            let theirs = d.join(format!("ref-{zerofill}-{name}"));
            fs::copy(&input, &ours).unwrap();
            let before = fs::read(&ours).unwrap();
            // A dry run changes nothing and predicts the real run.
            let predicted = recover_with(
                &ours,
                RecoverOptions::new()
                    .zerofill_incomplete(zerofill)
                    .dry_run(true),
            )
            .unwrap();
            assert_eq!(fs::read(&ours).unwrap(), before);
            let report =
                recover_with(&ours, RecoverOptions::new().zerofill_incomplete(zerofill)).unwrap();
            assert_eq!(report, predicted);
            assert!(report.changed);
            reference("recover", &input, &theirs, zerofill);
            assert_eq!(
                fs::read(&ours).unwrap(),
                fs::read(&theirs).unwrap(),
                "{name} zerofill={zerofill}: {report:?}"
            );
            assert!(!needs_recovery(&ours).unwrap());
            // The data is the damaged file's data, cut to whole items or completed with zeros.
            let info = inspect(&ours).unwrap();
            let damaged = fs::read(&input).unwrap();
            let old_data = &damaged[info.header_len as usize..];
            let data = &fs::read(&ours).unwrap()[info.header_len as usize..];
            let kept = data.len().min(old_data.len());
            assert_eq!(&data[..kept], &old_data[..kept]);
            assert!(data[kept..].iter().all(|&b| b == 0));
            assert_eq!(data.len() as u64, info.data_expected);
            // And NumPy loads it with the reported length.
            run_python(
                "import sys, numpy as np\n\
                 a = np.load(sys.argv[1], mmap_mode='r')\n\
                 ax = -1 if np.isfortran(a) else 0\n\
                 assert a.shape[ax] == int(sys.argv[2]), (a.shape, sys.argv)",
                &[ours.as_os_str(), report.items_after.to_string().as_ref()],
            );
        }
    }
}

#[test]
fn recover_reports_items_and_bytes() {
    let dir = tempdir();
    let d = dir.path();
    damaged_files(d);
    let cut = recover(d.join("c_mid.npy")).unwrap();
    assert_eq!(cut.items_before, Some(25));
    assert_eq!(cut.items_after, 21);
    assert_eq!(cut.bytes_cut, 32 - 13);
    assert_eq!(cut.bytes_zero_filled, 0);
    let filled = recover_with(
        d.join("c_row.npy"),
        RecoverOptions::new().zerofill_incomplete(true),
    )
    .unwrap();
    assert_eq!((filled.items_after, filled.bytes_zero_filled), (23, 0));
    let extra = recover_with(
        d.join("c_extra.npy"),
        RecoverOptions::new().zerofill_incomplete(true),
    )
    .unwrap();
    assert_eq!(extra.items_after, 28);
    assert_eq!(extra.bytes_zero_filled, 32 - 5);
    let fine = recover(d.join("c.npy")).unwrap();
    assert!(!fine.changed);
}

#[test]
fn ensure_appendable_matches_the_reference() {
    let dir = tempdir();
    let d = dir.path();
    run_python(
        &format!(
            "{PY_LEGACY_WRITER}{}",
            r#"
import sys, os
d = sys.argv[1]
legacy(os.path.join(d, 'a.npy'), np.arange(3000, dtype='<f8').reshape(1000, 3), 16)
legacy(os.path.join(d, 'b.npy'), np.asfortranarray(np.arange(24, dtype='<u2').reshape(2, 3, 4)), 16)
legacy(os.path.join(d, 'one.npy'), np.arange(7, dtype='|u1'), 16)
"#
        ),
        &[d],
    );
    for name in ["a.npy", "b.npy", "one.npy"] {
        let input = d.join(name);
        assert!(!inspect(&input).unwrap().appendable);
        let ours = d.join(format!("ours-{name}"));
        let theirs = d.join(format!("ref-{name}"));
        fs::copy(&input, &ours).unwrap();
        let report = ensure_appendable(&ours).unwrap();
        assert_eq!(report.method, EnsureMethod::Copied);
        reference("ensure_appendable", &input, &theirs, false);
        assert_eq!(
            fs::read(&ours).unwrap(),
            fs::read(&theirs).unwrap(),
            "{name}"
        );
        // In place: the data is the same; the header may be larger (whole blocks inserted).
        let in_place = d.join(format!("inplace-{name}"));
        fs::copy(&input, &in_place).unwrap();
        let report =
            ensure_appendable_with(&in_place, EnsureOptions::new().in_place(true)).unwrap();
        assert_ne!(report.method, EnsureMethod::Copied);
        assert_ne!(report.method, EnsureMethod::AlreadyAppendable);
        let info = inspect(&in_place).unwrap();
        assert!(info.appendable && !info.needs_recovery);
        run_python(
            "import sys, numpy as np\n\
             a = np.load(sys.argv[1], mmap_mode='r'); b = np.load(sys.argv[2])\n\
             assert a.dtype == b.dtype and a.shape == b.shape and (np.asarray(a) == b).all()",
            &[&in_place, &theirs],
        );
        // Already appendable: nothing changes.
        let again = ensure_appendable_with(&in_place, EnsureOptions::new().in_place(true)).unwrap();
        assert_eq!(again.method, EnsureMethod::AlreadyAppendable);
    }
}

/// Defect 2 of the reference: a file with no data divided by zero.
#[test]
fn ensure_appendable_works_on_files_without_data() {
    let dir = tempdir();
    let path = dir.path().join("empty.npy");
    let text = "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 3), }";
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    let hlen = text.len() + 1;
    let pad = (16 - (10 + hlen) % 16) % 16;
    bytes.extend_from_slice(&((hlen + pad) as u16).to_le_bytes());
    bytes.extend_from_slice(text.as_bytes());
    bytes.extend(std::iter::repeat_n(b' ', pad));
    bytes.push(b'\n');
    for in_place in [false, true] {
        fs::write(&path, &bytes).unwrap();
        ensure_appendable_with(&path, EnsureOptions::new().in_place(in_place)).unwrap();
        let info = inspect(&path).unwrap();
        assert!(info.appendable);
        assert_eq!(info.header.shape(), vec![0, 3]);
    }
}

/// A header too small for the recovered shape is refused with advice, the file untouched.
#[test]
fn recover_refuses_when_the_header_cannot_hold_the_shape() {
    let dir = tempdir();
    let path = dir.path().join("tight.npy");
    // A header exactly as long as its text (legal, if unusual): no room for a second digit.
    let text = "{'descr': '|u1', 'fortran_order': False, 'shape': (9,), }";
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&((text.len() + 1) as u16).to_le_bytes());
    bytes.extend_from_slice(text.as_bytes());
    bytes.push(b'\n');
    bytes.extend_from_slice(&[7u8; 19]);
    fs::write(&path, &bytes).unwrap();
    match recover(&path) {
        Err(Error::NotAppendable { .. }) => {}
        other => panic!("expected NotAppendable, got {other:?}"),
    }
    assert_eq!(fs::read(&path).unwrap(), bytes);
    ensure_appendable(&path).unwrap();
    let report = recover(&path).unwrap();
    assert_eq!(report.items_after, 19);
}
