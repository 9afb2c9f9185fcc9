//! Sets the SONAME of libnpaa.so (Cargo does not): programs linked with it load
//! `libnpaa.so.N` at run time. A build script cannot write beside the library in
//! `target/<profile>/`, so `make` (see the Makefile) adds the `libnpaa.so.N` link there and
//! `make install` installs the library under that name.
fn main() {
    let major = env!("CARGO_PKG_VERSION_MAJOR");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libnpaa.so.{major}");
}
