//! Tells the library the target it is built for (`NPAA_TESTUTIL_TARGET`): the helper binary
//! must be built for the same target as the tests, and run through the same runner (qemu) when
//! they are cross-built (see `child::exe`).
fn main() {
    let target = std::env::var("TARGET").expect("cargo sets TARGET for build scripts");
    println!("cargo:rustc-env=NPAA_TESTUTIL_TARGET={target}");
}
