//! The progress callback of the operations that copy data: [`Progress`].

/// An optional `progress(bytes_done, bytes_total)` callback, as an options builder holds it
/// ([`EnsureOptions::progress`](crate::EnsureOptions::progress),
/// [`AppendFileOptions::progress`](crate::AppendFileOptions::progress)).
#[derive(Default)]
pub(crate) struct Progress<'a>(Option<Box<dyn FnMut(u64, u64) + 'a>>);

impl<'a> Progress<'a> {
    /// A callback to call.
    pub(crate) fn new(callback: impl FnMut(u64, u64) + 'a) -> Self {
        Progress(Some(Box::new(callback)))
    }

    /// Calls the callback, if there is one.
    pub(crate) fn report(&mut self, done: u64, total: u64) {
        if let Some(callback) = &mut self.0 {
            callback(done, total);
        }
    }
}

impl std::fmt::Debug for Progress<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Some(..)" } else { "None" })
    }
}
