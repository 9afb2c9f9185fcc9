//! The C ABI of npaa.
