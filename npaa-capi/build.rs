//! Gives the shared library the name programs record when they link it (Cargo does not):
//! - Linux and FreeBSD: the SONAME `libnpaa.so.N`, which linked programs load at run time. A
//!   build script cannot write beside the library in `target/<profile>/`, so `make` (see the
//!   Makefile) adds the `libnpaa.so.N` link there and `make install` installs the library
//!   under that name.
//! - macOS: the install name `@rpath/libnpaa.N.dylib` (ld64 has no `-soname`); `make install`
//!   rewrites it to the installed path, as Homebrew's libraries have.
//! - Windows: nothing. Cargo writes `npaa.dll` and its import library (`npaa.dll.lib` with
//!   MSVC, `libnpaa.dll.a` with MinGW), which is what Windows programs link against.
//!
//! The target's system, not the build machine's, decides (`CARGO_CFG_TARGET_OS`).
fn main() {
    let major = env!("CARGO_PKG_VERSION_MAJOR");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    match os.as_str() {
        "macos" | "ios" => {
            println!("cargo:rustc-cdylib-link-arg=-Wl,-install_name,@rpath/libnpaa.{major}.dylib");
        }
        "windows" => {}
        _ => println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libnpaa.so.{major}"),
    }
}
