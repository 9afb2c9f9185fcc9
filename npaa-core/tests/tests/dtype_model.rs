//! The dtype model's constructors accept exactly the records NumPy saves and reads back as
//! the same dtype, and render them as `np.save` does. Checked against NumPy.

use npaa_core::Dtype;
use npaa_core::dtype::{DatetimeUnit, DtypeError, Field, Record, Subarray, TimeUnit};
use npaa_testutil::run_python;

/// For each case (JSON: fields as `[title, name, format, shape, offset]`, itemsize), prints
/// `repr(dtype_to_descr(d))` when NumPy builds the dtype from the dict form, saves it and
/// reads the descr back as the same dtype; `REFUSED` otherwise.
const NUMPY_VERDICTS: &str = r#"
import ast, json, sys
import numpy as np
from numpy.lib import format
def dt(text):
    return format.descr_to_dtype(ast.literal_eval(text)) if text[0] == '[' else np.dtype(text)
for fields, itemsize in json.loads(sys.argv[1]):
    try:
        d = np.dtype({
            'names': [f[1] for f in fields],
            'titles': [f[0] for f in fields],
            'formats': [np.dtype((dt(f[2]), tuple(f[3]))) if f[3] else dt(f[2]) for f in fields],
            'offsets': [f[4] for f in fields],
            'itemsize': itemsize,
        })
        descr = format.dtype_to_descr(d)
        ok = format.descr_to_dtype(descr) == d
    except ValueError:
        ok = False
    print(repr(descr) if ok else 'REFUSED')
"#;

type Case = (
    Vec<(
        Option<&'static str>,
        &'static str,
        &'static str,
        Vec<u64>,
        usize,
    )>,
    usize,
);

fn build(case: &Case) -> Result<Record, DtypeError> {
    let fields = case
        .0
        .iter()
        .map(|(title, name, format, shape, offset)| {
            let dtype = Dtype::parse(format).expect("test formats parse");
            let field = Field::new(*name, dtype, shape.clone(), *offset)?;
            Ok(match title {
                Some(t) => field.with_title(*t),
                None => field,
            })
        })
        .collect::<Result<Vec<_>, DtypeError>>()?;
    Record::new(fields, case.1)
}

#[test]
fn records_are_built_as_numpy_saves_them() {
    let cases: Vec<Case> = vec![
        // Packed, with gaps, with trailing padding.
        (
            vec![(None, "a", "<i4", vec![], 0), (None, "b", "<f8", vec![], 4)],
            12,
        ),
        (
            vec![(None, "a", "<i4", vec![], 0), (None, "b", "<f8", vec![], 8)],
            20,
        ),
        (
            vec![
                (None, "a", "<i4", vec![2, 3], 0),
                (None, "b", "|u1", vec![], 24),
            ],
            32,
        ),
        // Overlapping, out of order, past the item size.
        (
            vec![(None, "a", "<i4", vec![], 0), (None, "b", "<i4", vec![], 2)],
            6,
        ),
        (
            vec![(None, "a", "<i4", vec![], 4), (None, "b", "<i4", vec![], 0)],
            8,
        ),
        (vec![(None, "a", "<i4", vec![], 2)], 4),
        // Zero-size fields: at the end of the one before (or before it), not inside it.
        (
            vec![(None, "a", "|S0", vec![], 0), (None, "b", "<i4", vec![], 0)],
            4,
        ),
        (
            vec![(None, "a", "<i4", vec![], 0), (None, "b", "|S0", vec![], 4)],
            4,
        ),
        (
            vec![(None, "a", "<i4", vec![], 0), (None, "b", "|S0", vec![], 2)],
            4,
        ),
        // Names: used twice, or as a title; '' for a value (a field) or for void (padding).
        (
            vec![(None, "a", "<i4", vec![], 0), (None, "a", "<i4", vec![], 4)],
            8,
        ),
        (
            vec![
                (Some("b"), "a", "<i4", vec![], 0),
                (None, "b", "<i4", vec![], 4),
            ],
            8,
        ),
        (
            vec![
                (Some("T"), "a", "<i4", vec![], 0),
                (None, "b", "<i4", vec![], 4),
            ],
            8,
        ),
        (vec![(None, "", "<i4", vec![], 0)], 4),
        (
            vec![(None, "", "|V4", vec![], 0), (None, "b", "<i4", vec![], 4)],
            8,
        ),
        (vec![(None, "", "<i4", vec![2], 0)], 8),
        // Nested records and subarrays of subarrays.
        (
            vec![(None, "r", "[('x', '<f4'), ('', '|V4')]", vec![2], 0)],
            16,
        ),
        (
            vec![(None, "c", "[('y', ('<f8', (5,)), (2,))]", vec![], 0)],
            80,
        ),
    ];
    let json = serde_json::to_string(
        &cases
            .iter()
            .map(|(fields, itemsize)| {
                let fields: Vec<_> = fields
                    .iter()
                    .map(|(t, n, f, s, o)| serde_json::json!([t, n, f, s, o]))
                    .collect();
                serde_json::json!([fields, itemsize])
            })
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let verdicts = run_python(NUMPY_VERDICTS, &[json]);
    let verdicts: Vec<&str> = verdicts.lines().collect();
    assert_eq!(verdicts.len(), cases.len());
    let mut refused = 0;
    for (case, numpy) in cases.iter().zip(verdicts) {
        match build(case) {
            Ok(record) => {
                let dtype = Dtype::Record(record);
                assert_eq!(dtype.descr(), numpy, "{case:?}");
                assert_eq!(Dtype::parse(&dtype.descr()).unwrap(), dtype, "{case:?}");
            }
            Err(e) => {
                assert_eq!(numpy, "REFUSED", "{case:?}: we refused it ({e})");
                refused += 1;
            }
        }
    }
    // The cases above cover both answers.
    assert_eq!(refused, 8);
}

#[test]
fn constructors_refuse_what_numpy_refuses() {
    use npaa_core::dtype::{ByteOrder, Kind, Scalar};
    let f8 = || Dtype::parse("<f8").unwrap();
    // NumPy: `np.dtype('i3')` is not understood, `np.dtype('U')` counts 4 bytes per character.
    assert!(matches!(
        Scalar::new(Kind::Int, 3, ByteOrder::Little),
        Err(DtypeError::InvalidSize {
            kind: 'i',
            size: 3,
            ..
        })
    ));
    assert!(Scalar::new(Kind::Unicode, 6, ByteOrder::Little).is_err());
    // One-byte types have no byte order, as in `np.dtype('>u1').str == '|u1'`.
    let u1 = Scalar::new(Kind::Uint, 1, ByteOrder::Big).unwrap();
    assert_eq!(u1.order(), ByteOrder::NotApplicable);
    assert_eq!(Dtype::Scalar(u1).descr(), "|u1");
    let unit = TimeUnit::new(DatetimeUnit::Seconds, 25).unwrap();
    let m8 = Scalar::new(Kind::Datetime(unit), 8, ByteOrder::Big).unwrap();
    assert_eq!(Dtype::Scalar(m8).descr(), ">M8[25s]");
    assert!(matches!(
        "fortnight".parse::<DatetimeUnit>(),
        Err(DtypeError::UnknownTimeUnit(_))
    ));
    // `np.dtype((np.dtype('S0'), (2,)))`: "invalid itemsize in generic type tuple".
    let s0 = Dtype::parse("S0").unwrap();
    assert!(matches!(
        Field::new("a", s0.clone(), vec![2], 0),
        Err(DtypeError::ZeroSizeSubarray(_))
    ));
    assert!(matches!(
        Subarray::new(s0, vec![2]),
        Err(DtypeError::ZeroSizeSubarray(_))
    ));
    assert!(matches!(
        Subarray::new(f8(), vec![]),
        Err(DtypeError::EmptySubarrayShape)
    ));
    assert!(matches!(
        Field::new("a", f8(), vec![1 << 31], 0),
        Err(DtypeError::TooLarge)
    ));
    // A subarray with no shape of its own is the field's shape, as NumPy folds it.
    let sub = Dtype::Subarray(Subarray::new(f8(), vec![5]).unwrap());
    let field = Field::new("x", sub, vec![], 0).unwrap();
    assert_eq!((field.dtype(), field.shape()), (&f8(), &[5u64][..]));
}

/// A subarray dtype given with the shape `()` is folded as NumPy folds it: the field takes the
/// subarray's shape (`[('c', ('<f8', (5,)), ())]` is `[('c', '<f8', (5,))]`).
#[test]
fn empty_subarray_shapes_fold_as_numpy_folds_them() {
    let descrs = [
        "[('c', ('<f8', (5,)), ())]",
        "[('c', (('<f8', (5,)), ()))]",
        "[('c', ('<f8', (5,)), (2,))]",
        "[('c', ('<i2', ()), (3,))]",
    ];
    let numpy = run_python(
        "import ast, sys\n\
         from numpy.lib import format\n\
         for text in sys.argv[1:]:\n\
         \x20   print(repr(format.dtype_to_descr(format.descr_to_dtype(ast.literal_eval(text)))))\n",
        &descrs,
    );
    for (text, want) in descrs.iter().zip(numpy.lines()) {
        let dtype = Dtype::parse(text).unwrap();
        assert_eq!(dtype.descr(), want, "{text}");
        assert_eq!(Dtype::parse(want).unwrap(), dtype, "{text}");
    }
}

proptest::proptest! {
    /// Fields in offset order with any gaps: the record is refused only for a name used twice
    /// or an unnamed void or subarray field, and otherwise renders to a descr that reads back
    /// as the same record.
    #[test]
    fn records_in_offset_order_read_back_as_themselves(
        parts in proptest::collection::vec(
            (0usize..4, 0usize..3, proptest::option::of(1u64..4), 0usize..5),
            0..5,
        ),
        tail in 0usize..16,
    ) {
        let names = ["a", "b", "", "d"];
        let formats = ["<i4", "|V3", "|S0"];
        let mut fields = Vec::new();
        let mut end = 0;
        let mut seen = Vec::new();
        let mut valid = true;
        for &(name, format, dim, gap) in &parts {
            let shape = dim.map(|d| vec![d]).unwrap_or_default();
            let dtype = Dtype::parse(formats[format]).unwrap();
            let size = dtype.itemsize() * dim.unwrap_or(1) as usize;
            let zero_size_subarray = format == 2 && dim.is_some();
            let field = Field::new(names[name], dtype, shape, end + gap);
            proptest::prop_assert_eq!(field.is_err(), zero_size_subarray);
            let Ok(field) = field else { continue };
            valid &= !(names[name].is_empty() && (format == 1 || dim.is_some()));
            valid &= !seen.contains(&name);
            seen.push(name);
            end += gap + size;
            fields.push(field);
        }
        match Record::new(fields, end + tail) {
            Ok(record) => {
                proptest::prop_assert!(valid);
                let dtype = Dtype::Record(record);
                proptest::prop_assert_eq!(Dtype::parse(&dtype.descr()).unwrap(), dtype);
            }
            Err(e) => proptest::prop_assert!(!valid, "{}", e),
        }
    }
}
