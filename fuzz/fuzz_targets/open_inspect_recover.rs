//! Every entry point that takes a file, on arbitrary bytes. See
//! `npaa_testutil::fuzz::open_inspect_recover`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use npaa_testutil::fuzz;

fuzz_target!(|data: &[u8]| fuzz::open_inspect_recover(fuzz::scratch_dir(), data));
