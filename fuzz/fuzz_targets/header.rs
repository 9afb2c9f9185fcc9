//! Header parser: arbitrary bytes as a whole file, as the dict text behind a valid prefix, and
//! as a dtype string. See `npaa_testutil::fuzz::header`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use npaa_testutil::fuzz;

fuzz_target!(|data: &[u8]| fuzz::header(fuzz::scratch_dir(), data));
