//! The C ABI of npaa: `libnpaa.so` / `libnpaa.a`, declared by `include/npaa.h`.
//!
//! This crate is a thin layer over [`npaa_core`]: it checks pointers, converts C arguments,
//! catches panics, maps [`npaa_core::Error`] to stable status codes and keeps a thread-local
//! message for the last error. Its unsafe code is the C boundary: reading the pointers C
//! passes in and writing out-parameters (`boundary`). npaa-core keeps its own (mapping files,
//! system calls) in its `sys` module; the CLI has none.
//!
//! The header is generated from this crate's doc comments by cbindgen (pinned to 0.29.4):
//!
//! ```text
//! cbindgen --config npaa-capi/cbindgen.toml --crate npaa-capi --output include/npaa.h npaa-capi
//! ```
//!
//! so the doc comment of every exported item is written for C programmers: it names C types,
//! and states ownership, thread-safety and the errors returned.
//!
//! # Conventions of every exported function
//! - It returns an `npaa_status` (`NPAA_OK` = 0) unless it cannot fail.
//! - Every pointer argument is checked for NULL (`NPAA_NULL_ARGUMENT`); a `(NULL, 0)` buffer
//!   is a valid empty buffer.
//! - Out-parameters are written only when it returns `NPAA_OK`.
//! - Panics are caught at the boundary (`NPAA_PANIC`); nothing unwinds into C.
//! - The message of the last failure on the calling thread is kept for
//!   `npaa_last_error_message()`.
//! - Its doc comment ends with a `Pointers:` paragraph: what each pointer must point to (the
//!   function's safety contract, written for C, as it appears in the header).
//!
//! The layout of the modules follows the header's sections: [`status`] (codes),
//! [`error`] (last-error message), [`options`], [`mod@array`] (the handle), [`dtype`],
//! [`files`] (recover, ensure_appendable, checks), [`collective`] (the MPI-free half of
//! `npaa_mpi.h`); `boundary` holds the one helper every
//! entry point goes through.

#![expect(
    clippy::missing_safety_doc,
    reason = "each exported function states its pointer contract in a 'Pointers:' paragraph \
              written for C, which cbindgen copies into npaa.h; a Rust '# Safety' heading \
              would be copied there too"
)]
#![expect(
    non_camel_case_types,
    reason = "the C ABI's type names follow C conventions: npaa_array, npaa_options, npaa_status"
)]

// The modules are declared in the order their items appear in npaa.h (cbindgen follows it).

pub mod status;

pub mod error;

pub mod options;

pub mod array;

pub mod ragged;

pub mod dtype;

pub mod files;

pub mod collective;

mod boundary;

use std::ffi::c_char;

/// Major version of the npaa library this header belongs to (semantic versioning).
///
/// Compare with npaa_version() at run time to detect a header/library mismatch.
pub const NPAA_VERSION_MAJOR: u32 = 0;

/// Minor version of the npaa library this header belongs to.
pub const NPAA_VERSION_MINOR: u32 = 1;

/// Patch version of the npaa library this header belongs to.
pub const NPAA_VERSION_PATCH: u32 = 0;

/// The version of the linked library, "MAJOR.MINOR.PATCH", e.g. "0.1.0". Compare with
/// NPAA_VERSION_MAJOR and NPAA_VERSION_MINOR to detect a program compiled against another
/// version's header.
///
/// Returns a static NUL-terminated string: never NULL, never to be freed. Thread-safe; does
/// not change the last error message.
#[unsafe(no_mangle)]
pub extern "C" fn npaa_version() -> *const c_char {
    const VERSION: &std::ffi::CStr = match std::ffi::CStr::from_bytes_with_nul(
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes(),
    ) {
        Ok(v) => v,
        Err(_) => panic!("the package version contains a NUL byte"),
    };
    VERSION.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_constants_match_cargo_toml() {
        assert_eq!(
            NPAA_VERSION_MAJOR.to_string(),
            env!("CARGO_PKG_VERSION_MAJOR")
        );
        assert_eq!(
            NPAA_VERSION_MINOR.to_string(),
            env!("CARGO_PKG_VERSION_MINOR")
        );
        assert_eq!(
            NPAA_VERSION_PATCH.to_string(),
            env!("CARGO_PKG_VERSION_PATCH")
        );
        // SAFETY: npaa_version returns a static NUL-terminated string.
        let linked = unsafe { std::ffi::CStr::from_ptr(npaa_version()) };
        assert_eq!(linked.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }
}
