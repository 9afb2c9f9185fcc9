//! Sets the SONAME of libnpaa.so (Cargo does not): programs linked with it load
//! `libnpaa.so.N` at run time. A build script cannot write beside the library in
//! `target/<profile>/`, so `make` (see the Makefile) adds the `libnpaa.so.N` link there and
//! `make install` installs the library under that name.
//!
//! Windows has no SONAME: rustc makes `npaa.dll` and its import library itself
//! (`libnpaa.dll.a` for the -gnu targets, `npaa.dll.lib` for -msvc), which programs link with
//! (`-lnpaa` finds `libnpaa.dll.a`) and which load `npaa.dll` by that name.
fn main() {
    let major = env!("CARGO_PKG_VERSION_MAJOR");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("windows") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libnpaa.so.{major}");
    }
}
