//! Sets the SONAME of libnpaa.so (Cargo does not).
fn main() {
    let major = env!("CARGO_PKG_VERSION_MAJOR");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libnpaa.so.{major}");
}
