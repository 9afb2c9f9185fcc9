//! descr strings: parsing them for appends, and npaa_dtype_itemsize().

use std::cell::RefCell;
use std::ffi::{CString, c_char};
use std::rc::Rc;

use npaa_core::Dtype;

use crate::boundary::{Out, c_str, guard};
use crate::error::Failure;
use crate::status::{NPAA_INVALID_DTYPE, NPAA_OBJECT_DTYPE, npaa_status};

/// What to pass as a descr, for messages.
pub(crate) const DESCR_HINT: &str = "a NumPy descr string such as \"<f8\", \"|u1\" or \
     \"[('t', '<f8'), ('pos', '<f4', (3,))]\"";

/// Descrs parsed recently on this thread, most recent last. Simulations append the same descr
/// millions of times; parsing a structured one costs microseconds, a lookup here tens of
/// nanoseconds. Per thread, so that concurrent appends share no lock for it.
const CACHE_ENTRIES: usize = 4;

thread_local! {
    static PARSED: RefCell<Vec<(CString, Rc<Dtype>)>> = const { RefCell::new(Vec::new()) };
}

/// Parses a descr argument (through the thread's cache of recent descrs).
///
/// # Safety
/// `ptr` must be NULL or a NUL-terminated string valid for the duration of the call.
pub(crate) unsafe fn parse(ptr: *const c_char, name: &str) -> Result<Rc<Dtype>, Failure> {
    // SAFETY: forwarded contract.
    let descr = unsafe { c_str(ptr, name, DESCR_HINT)? };
    let cached = PARSED
        .try_with(|cache| {
            let cache = cache.try_borrow().ok()?;
            let (_, dtype) = cache
                .iter()
                .rev()
                .find(|(text, _)| text.as_c_str() == descr)?;
            Some(Rc::clone(dtype))
        })
        .ok()
        .flatten();
    if let Some(dtype) = cached {
        return Ok(dtype);
    }
    let text = descr.to_str().map_err(|_| {
        Failure::new(
            NPAA_INVALID_DTYPE,
            format!("`{name}` is not valid UTF-8; pass {DESCR_HINT}"),
        )
    })?;
    let dtype = Rc::new(Dtype::parse(text)?);
    let _ = PARSED.try_with(|cache| {
        if let Ok(mut cache) = cache.try_borrow_mut() {
            if cache.len() == CACHE_ENTRIES {
                cache.remove(0);
            }
            cache.push((descr.to_owned(), Rc::clone(&dtype)));
        }
    });
    Ok(dtype)
}

/// Parses a NumPy descr and stores the size in bytes of one element of that dtype (NumPy's itemsize) in
/// `*itemsize_out`, e.g. 8 for "<f8" and 32 for
/// "[('step', '<u8'), ('thread', '<u4'), ('t', '<f8'), ('pos', '<f4', (3,))]".
///
/// Use it to check that a C struct matches the descr you append it with (the descr of a
/// packed record has no padding: compare with the struct's packed size, or write records
/// field by field into a byte buffer).
///
/// Errors: NPAA_NULL_ARGUMENT if a pointer is NULL; NPAA_INVALID_DTYPE if `descr` is not a
/// valid descr; NPAA_OBJECT_DTYPE for object dtypes ("|O"), which npaa cannot append.
/// Thread-safe.
///
/// Pointers: `descr` must be NULL or a NUL-terminated string; `itemsize_out` must be NULL or point
/// to a writable size_t.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_dtype_itemsize(
    descr: *const c_char,
    itemsize_out: *mut usize,
) -> npaa_status {
    guard("npaa_dtype_itemsize", || {
        let out = Out::new(itemsize_out, "itemsize_out")?;
        // SAFETY: forwarded contract.
        let dtype = unsafe { parse(descr, "descr")? };
        if dtype.has_object() {
            return Err(Failure::new(
                NPAA_OBJECT_DTYPE,
                format!(
                    "dtype {} holds Python objects (pickles); npaa cannot append them",
                    dtype.descr()
                ),
            ));
        }
        // SAFETY: writable per the contract.
        unsafe { out.write(dtype.itemsize()) };
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use std::ffi::CStr;

    use super::*;

    fn parse_str(descr: &CStr) -> Result<Rc<Dtype>, Failure> {
        // SAFETY: a valid NUL-terminated string.
        unsafe { parse(descr.as_ptr(), "descr") }
    }

    #[test]
    fn repeated_descrs_come_from_the_cache() {
        let row = c"[('t', '<f8'), ('pos', '<f4', (3,))]";
        let first = parse_str(row).unwrap();
        assert!(Rc::ptr_eq(&first, &parse_str(row).unwrap()));
        assert_eq!(first.itemsize(), 20);
        // Other descrs push it out after CACHE_ENTRIES of them.
        for other in [c"<f8", c"<i4", c"|u1", c"<c16"] {
            parse_str(other).unwrap();
        }
        assert!(!Rc::ptr_eq(&first, &parse_str(row).unwrap()));
        assert_eq!(*first, *parse_str(row).unwrap());
    }

    #[test]
    fn invalid_descrs_are_refused_every_time() {
        for _ in 0..2 {
            let err = parse_str(c"<f9").unwrap_err();
            assert_eq!(err.status, NPAA_INVALID_DTYPE);
        }
    }
}
