//! Ragged records with an index (`RaggedAppendArray`): the pair NumPy loads, records of any
//! length, the repair of what a crash leaves, the refusal of bad input, the lock, and the
//! migration from a lengths file.

use std::fs;
use std::path::Path;

use npaa_core::{
    AppendArray, AppendOptions, Durability, Error, Order, Problem, RaggedAppendArray,
    RaggedProblem, RaggedReader, Remedy, index_from_lengths, index_path, inspect_ragged,
    read_lengths, recover_ragged,
};
use npaa_testutil::rows::{ROW_WORDS, rows, rows_expr};
use npaa_testutil::{assert_numpy_loads, run_python, tempdir};

/// Appends records of `lengths` rows (rows encoding their global index) to `pair`.
fn append_records(pair: &RaggedAppendArray, lengths: &[u64]) {
    let mut next = 0;
    for &n in lengths {
        pair.append(&rows(next, n), &[n, ROW_WORDS as u64]).unwrap();
        next += n;
    }
}

fn cumsum(lengths: &[u64]) -> Vec<u64> {
    lengths
        .iter()
        .scan(0, |s, &n| {
            *s += n;
            Some(*s)
        })
        .collect()
}

/// Checks with NumPy that the data is rows `0..sum` and the index the record ends.
fn assert_pair_loads(path: &Path, lengths: &[u64]) {
    let ends = cumsum(lengths);
    let total = ends.last().copied().unwrap_or(0);
    assert_numpy_loads(path, &rows_expr(total));
    assert_numpy_loads(
        &index_path(path),
        &format!("np.array({ends:?}, dtype='<i8')"),
    );
}

#[test]
fn records_of_any_length_load_in_numpy() {
    let dir = tempdir();
    let path = dir.path().join("feats.npy");
    let lengths = [3, 0, 1, 7, 0, 0, 2];
    let pair = RaggedAppendArray::open(&path).unwrap();
    // A new pair has its index (and lock) at once; the data file comes with the first record.
    assert!(index_path(&path).exists() && !path.exists());
    append_records(&pair, &lengths);
    assert_eq!(pair.len(), 7);
    assert_eq!(pair.shape(), Some(vec![13, ROW_WORDS as u64]));
    pair.close().unwrap();
    assert_eq!(index_path(&path), dir.path().join("feats.idx.npy"));
    assert_pair_loads(&path, &lengths);

    // Reopened, it appends after the last record.
    let pair = RaggedAppendArray::open(&path).unwrap();
    assert_eq!(pair.len(), 7);
    pair.append(&rows(13, 4), &[4, 3]).unwrap();
    pair.close().unwrap();
    assert_pair_loads(&path, &[3, 0, 1, 7, 0, 0, 2, 4]);

    let view = RaggedReader::open(&path).unwrap().refresh().unwrap();
    assert_eq!(view.ends(), cumsum(&[3, 0, 1, 7, 0, 0, 2, 4]));
    assert_eq!(view.record_items(3), Some(4..11));
    assert_eq!(view.record_items(8), None);
    assert_eq!(view.data().shape(), [17, 3]);
    assert_eq!(
        view.data().bytes(),
        bytemuck::cast_slice::<u64, u8>(&rows(0, 17))
    );
}

#[test]
fn extend_appends_records_with_one_index_update_in_every_mode() {
    let dir = tempdir();
    let lengths = [5u64, 0, 2, 40, 1];
    let options = [
        AppendOptions::new(),
        AppendOptions::new().durability(Durability::OnClose),
        AppendOptions::new().durability(Durability::EveryAppend),
        AppendOptions::new().durability(Durability::EveryBytes(100)),
        AppendOptions::new().buffer_capacity(200),
        AppendOptions::new().mapped_window(4096),
        AppendOptions::new().rewrite_header_on_append(false),
    ];
    for (k, o) in options.into_iter().enumerate() {
        let path = dir.path().join(format!("m{k}.npy"));
        let pair = o.open_ragged(&path).unwrap();
        let data: Vec<Vec<u64>> = {
            let mut next = 0;
            lengths
                .iter()
                .map(|&n| {
                    next += n;
                    rows(next - n, n)
                })
                .collect()
        };
        let shapes: Vec<[u64; 2]> = lengths.iter().map(|&n| [n, 3]).collect();
        pair.extend(
            data.iter()
                .zip(&shapes)
                .map(|(d, s)| (d.as_slice(), s.as_slice())),
        )
        .unwrap();
        pair.extend(std::iter::once((rows(48, 2).as_slice(), &[2u64, 3][..])))
            .unwrap();
        pair.close().unwrap();
        assert_pair_loads(&path, &[5, 0, 2, 40, 1, 2]);
        assert!(inspect_ragged(&path).unwrap().is_consistent(), "mode {k}");
    }
}

#[test]
fn fortran_order_records_grow_along_the_last_axis() {
    let dir = tempdir();
    let path = dir.path().join("f.npy");
    let pair = AppendOptions::new()
        .order(Order::Fortran)
        .open_ragged(&path)
        .unwrap();
    // Column-major blocks of shape (3, n) have the bytes of C-order (n, 3) rows.
    pair.append(&rows(0, 2), &[3, 2]).unwrap();
    pair.append(&rows(2, 0), &[3, 0]).unwrap();
    pair.append(&rows(2, 5), &[3, 5]).unwrap();
    pair.close().unwrap();
    assert_numpy_loads(&path, &format!("np.asfortranarray({}.T)", rows_expr(7)));
    assert_numpy_loads(&index_path(&path), "np.array([2, 2, 7], dtype='<i8')");
}

#[test]
fn a_half_appended_record_is_cut_and_indexed_records_survive() {
    let dir = tempdir();
    let path = dir.path().join("h.npy");
    let pair = RaggedAppendArray::open(&path).unwrap();
    append_records(&pair, &[2, 3]);
    pair.close().unwrap();
    // What a kill between the data and the index leaves: rows no entry names.
    let data = AppendArray::open(&path).unwrap();
    data.append(&rows(5, 4), &[4, 3]).unwrap();
    data.close().unwrap();

    // A reader sees the indexed records only, and changes nothing.
    let before = fs::read(&path).unwrap();
    let view = RaggedReader::open(&path).unwrap().refresh().unwrap();
    assert_eq!((view.len(), view.data().shape()), (2, &[5, 3][..]));
    assert_eq!(fs::read(&path).unwrap(), before);
    let info = inspect_ragged(&path).unwrap();
    assert!(!info.is_consistent());
    assert_eq!((info.records, info.items, info.indexed_items), (2, 9, 5));
    let problems = info.problems();
    assert!(
        matches!(
            problems[..],
            [RaggedProblem::UnindexedItems { items: 4, .. }]
        ),
        "{problems:?}"
    );
    assert_eq!(problems[0].remedy(), Some(Remedy::RecoverRagged));

    // A reader's mapping must be gone before a repair cuts the file (Windows refuses to cut a
    // mapped file, as it does under an np.memmap).
    drop(view);
    let report = recover_ragged(&path).unwrap();
    assert!(report.changed);
    assert_eq!((report.records, report.items, report.items_cut), (2, 5, 4));
    assert_pair_loads(&path, &[2, 3]);
    assert!(!recover_ragged(&path).unwrap().changed);
    assert!(inspect_ragged(&path).unwrap().is_consistent());

    // Opening for appending repairs the same way.
    let data = AppendArray::open(&path).unwrap();
    data.append(&rows(5, 1), &[1, 3]).unwrap();
    data.close().unwrap();
    let pair = RaggedAppendArray::open(&path).unwrap();
    assert_eq!(pair.len(), 2);
    pair.append(&rows(5, 6), &[6, 3]).unwrap();
    pair.close().unwrap();
    assert_pair_loads(&path, &[2, 3, 6]);
}

#[test]
fn index_entries_past_the_data_are_cut() {
    let dir = tempdir();
    let path = dir.path().join("p.npy");
    let pair = RaggedAppendArray::open(&path).unwrap();
    append_records(&pair, &[2, 3, 1]);
    pair.close().unwrap();
    // What a power loss can leave: entries whose rows never reached the disk.
    let index = AppendArray::open(index_path(&path)).unwrap();
    index.append(&[9i64, 12], &[2]).unwrap();
    index.close().unwrap();
    let view = RaggedReader::open(&path).unwrap().refresh().unwrap();
    assert_eq!(view.ends(), vec![2, 5, 6]);
    drop(view); // mapped: Windows refuses to cut it (see above)
    let report = recover_ragged(&path).unwrap();
    assert_eq!(
        (report.records, report.entries_cut, report.items_cut),
        (3, 2, 0)
    );
    assert_pair_loads(&path, &[2, 3, 1]);
}

#[test]
fn an_index_without_data_opens_as_an_empty_pair() {
    let dir = tempdir();
    let path = dir.path().join("e.npy");
    let pair = RaggedAppendArray::open(&path).unwrap();
    append_records(&pair, &[2, 3]);
    pair.close().unwrap();
    // delete_if_exists deletes the data first: a kill then leaves the index alone.
    fs::remove_file(&path).unwrap();
    let report = recover_ragged(&path).unwrap();
    assert_eq!((report.records, report.entries_cut), (0, 2));
    let pair = AppendOptions::new()
        .delete_if_exists(true)
        .open_ragged(&path)
        .unwrap();
    append_records(&pair, &[1]);
    pair.close().unwrap();
    assert_pair_loads(&path, &[1]);
}

#[test]
fn bad_records_and_bad_indexes_are_refused_and_leave_the_pair_as_it_was() {
    let dir = tempdir();
    let path = dir.path().join("b.npy");
    let pair = RaggedAppendArray::open(&path).unwrap();
    append_records(&pair, &[2, 1]);
    let before = (
        fs::read(&path).unwrap(),
        fs::read(index_path(&path)).unwrap(),
    );
    assert!(matches!(
        pair.append(&[1u64, 2], &[1, 2]),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        pair.append(&[1.5f64, 2.0, 3.0], &[1, 3]),
        Err(Error::Cast { .. })
    ));
    assert!(matches!(
        pair.append(&[1u64, 2, 3], &[4, 3]),
        Err(Error::DataLength { .. })
    ));
    assert_eq!(pair.len(), 2);
    // A second writer is refused, whichever way it comes.
    assert!(matches!(
        RaggedAppendArray::open(&path),
        Err(Error::Locked { .. })
    ));
    assert!(matches!(recover_ragged(&path), Err(Error::Locked { .. })));
    pair.close().unwrap();
    assert_eq!(
        (
            fs::read(&path).unwrap(),
            fs::read(index_path(&path)).unwrap()
        ),
        before
    );

    // An index that is not one.
    let other = dir.path().join("o.npy");
    let data = AppendArray::open(&other).unwrap();
    data.append(&rows(0, 3), &[3, 3]).unwrap();
    data.close().unwrap();
    assert!(matches!(
        RaggedAppendArray::open(&other),
        Err(Error::BadIndex { .. })
    ));
    let index = AppendArray::open(index_path(&other)).unwrap();
    index.append(&[1.0f32, 3.0], &[2]).unwrap();
    index.close().unwrap();
    let e = RaggedAppendArray::open(&other).unwrap_err();
    assert!(matches!(e, Error::BadIndex { .. }), "{e}");
    assert!(e.to_string().contains("<f4"), "{e}");
    assert!(matches!(
        RaggedReader::open(&other),
        Err(Error::BadIndex { .. })
    ));
    assert!(matches!(
        recover_ragged(dir.path().join("none.npy")),
        Err(Error::Io { .. })
    ));
}

#[test]
fn a_lengths_file_builds_the_index_of_a_feature_dump() {
    let dir = tempdir();
    let path = dir.path().join("train_0_1.npy");
    let lengths_path = dir.path().join("train_0_1.len");
    // The fairseq way: the concatenation, and one length per line.
    let data = AppendArray::open(&path).unwrap();
    data.append(&rows(0, 10), &[10, 3]).unwrap();
    data.close().unwrap();
    fs::write(&lengths_path, "4\n0\n6\n").unwrap();
    let lengths = read_lengths(&lengths_path).unwrap();
    assert_eq!(lengths, [4, 0, 6]);
    assert!(matches!(
        index_from_lengths(&path, &[4, 5]),
        Err(Error::BadLengths { what, .. }) if what.contains("add up to 9")
    ));
    assert!(!index_path(&path).exists());
    assert_eq!(index_from_lengths(&path, &lengths).unwrap(), 3);
    assert_pair_loads(&path, &[4, 0, 6]);
    assert!(index_from_lengths(&path, &lengths).is_err());
    fs::write(&lengths_path, "4\nfour\n").unwrap();
    assert!(matches!(
        read_lengths(&lengths_path),
        Err(Error::BadLengths { what, .. }) if what.contains("line 2")
    ));
    let pair = RaggedAppendArray::open(&path).unwrap();
    pair.append(&rows(10, 2), &[2, 3]).unwrap();
    pair.close().unwrap();
    assert_pair_loads(&path, &[4, 0, 6, 2]);
    // fairseq's reading code works on the pair unchanged.
    run_python(
        "import sys, numpy as np\n\
         feat = np.load(sys.argv[1], mmap_mode='r')\n\
         ends = np.load(sys.argv[2])\n\
         lengs = np.diff(ends, prepend=0)\n\
         offsets = [0] + np.cumsum(lengs[:-1]).tolist()\n\
         assert feat.shape[0] == offsets[-1] + lengs[-1]\n",
        &[&path, &index_path(&path)],
    );
}

/// Ragged writers killed with SIGKILL at random moments, in every durability mode (and with a
/// write buffer, in mapped mode, with the header rewrite off, in Fortran order): a reader of
/// the pair left behind sees only complete records, each exact; `recover_ragged` keeps every
/// record that was appended and indexed, cuts a half-appended one, and NumPy loads the data
/// and the index. `NPAA_CRASH_KILLS` changes the number of kills (default 240).
#[test]
fn killed_ragged_writers_leave_every_indexed_record_exact() {
    npaa_testutil::ragged::run(240, 64, std::time::Duration::from_secs(40));
}

/// Writes the index `ends` beside `path` as NumPy would (`np.save`), replacing the pair's.
fn write_index(path: &Path, ends: &[i64]) {
    run_python(
        &format!("import numpy as np, sys\nnp.save(sys.argv[1], np.array({ends:?}, dtype='<i8'))"),
        &[index_path(path)],
    );
}

/// The findings of the pair of `path`, as messages with their remedies and files.
fn findings(path: &Path) -> Vec<(String, Option<Remedy>, std::path::PathBuf)> {
    let info = inspect_ragged(path).unwrap();
    info.problems()
        .iter()
        .map(|p| (p.to_string(), p.remedy(), info.file_of(p).to_path_buf()))
        .collect()
}

#[test]
fn problems_name_each_way_a_pair_is_broken() {
    let dir = tempdir();
    let path = dir.path().join("p.npy");
    let pair = RaggedAppendArray::open(&path).unwrap();
    append_records(&pair, &[4, 0, 6]);
    pair.close().unwrap();
    assert_eq!(findings(&path), []);
    let fix = |s: &str| (s.to_owned(), Some(Remedy::RecoverRagged), path.clone());

    // The index ahead of the data (what a power loss may leave).
    write_index(&path, &[4, 4, 10, 12, 15]);
    assert_eq!(
        findings(&path),
        [fix(
            "needs recovery: 2 index entries end past the 10 items the data holds"
        )]
    );
    // Not increasing: no repair restores it.
    write_index(&path, &[4, 3, 10]);
    let info = inspect_ragged(&path).unwrap();
    assert!(!info.is_consistent());
    assert!(matches!(
        info.problems()[..],
        [RaggedProblem::EndsDecrease {
            entry: 1,
            end: 3,
            previous: 4,
            ..
        }]
    ));
    assert_eq!(
        findings(&path),
        [(
            "index entry 1 (3) is smaller than the one before it (4): record ends never \
             decrease"
                .to_owned(),
            None,
            path.clone()
        )]
    );
    write_index(&path, &[-1]);
    assert_eq!(
        findings(&path)[0].0,
        "index entry 0 (-1) is smaller than the one before it (0): record ends never decrease"
    );

    // The data's own finding, repaired through the pair; the index's likewise.
    write_index(&path, &[4, 4, 10]);
    let len = fs::metadata(&path).unwrap().len();
    let file = fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(len - 3).unwrap();
    let info = inspect_ragged(&path).unwrap();
    assert!(matches!(
        info.problems()[..],
        [RaggedProblem::Data(Problem::DataMismatch { .. })]
    ));
    let expected = 10 * ROW_WORDS as u64 * 8;
    assert_eq!(
        findings(&path),
        [fix(&format!(
            "the data file: needs recovery: {} data bytes present, the header announces \
             {expected} (NumPy cannot load it)",
            expected - 3
        ))]
    );
    file.set_len(len).unwrap();
    let idx = index_path(&path);
    let idx_len = fs::metadata(&idx).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&idx)
        .unwrap()
        .set_len(idx_len - 8)
        .unwrap();
    assert_eq!(
        findings(&path),
        [
            fix(
                "the index: needs recovery: 16 data bytes present, the header announces 24 \
                 (NumPy cannot load it)"
            ),
            // Its last record is cut with the entry.
            fix(
                "needs recovery: the data holds 6 items past its last indexed record (a \
                 half-appended record)"
            )
        ]
    );
    assert_eq!(recover_ragged(&path).unwrap().records, 2);
    assert_eq!(findings(&path), []);
}

#[test]
fn a_decreasing_index_is_refused_before_anything_is_cut() {
    let dir = tempdir();
    let path = dir.path().join("d.npy");
    let pair = RaggedAppendArray::open(&path).unwrap();
    append_records(&pair, &[4, 0, 6]);
    pair.close().unwrap();
    // Entry 1 names all 10 items, the last only 8: cutting the data by the last entry (what
    // a half-appended record gets) would drop items 8 and 9, which entry 1 names.
    write_index(&path, &[4, 10, 8]);
    let before = (
        fs::read(&path).unwrap(),
        fs::read(index_path(&path)).unwrap(),
    );
    let refused = |e: Error| {
        assert!(
            matches!(&e, Error::BadIndex { what, .. }
                if what.starts_with("entry 2 (8) is smaller than the one before it (10)")),
            "{e}"
        );
    };
    refused(recover_ragged(&path).unwrap_err());
    refused(RaggedAppendArray::open(&path).unwrap_err());
    let after = (
        fs::read(&path).unwrap(),
        fs::read(index_path(&path)).unwrap(),
    );
    assert!(before == after, "the pair changed");
}
