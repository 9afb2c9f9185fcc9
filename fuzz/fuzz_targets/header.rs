//! Header parser: arbitrary bytes as a whole file, as the dict text behind a valid prefix, and
//! as a dtype string. See `npaa_fuzz::header`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| npaa_fuzz::header(npaa_fuzz::scratch_dir(), data));
