//! Every entry point that takes a file, on arbitrary bytes. See
//! `npaa_fuzz::open_inspect_recover`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| npaa_fuzz::open_inspect_recover(npaa_fuzz::scratch_dir(), data));
