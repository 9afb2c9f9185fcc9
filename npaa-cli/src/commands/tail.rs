//! `npaa tail`: the last items of a file, then new items as a writer appends them.

use std::io::Write;
use std::time::Duration;

use npaa_core::{Items, Order, Reader};

use super::Status;
use super::show::print_block;
use crate::cli::TailArgs;
use crate::report::core_error;

pub fn run(args: &TailArgs, out: &mut dyn Write) -> anyhow::Result<Status> {
    let path = args.file.as_path();
    let mut reader = Reader::open(path).map_err(|e| core_error(path, e))?;
    let first = reader.refresh().map_err(|e| core_error(path, e))?;
    if args.items > 0 {
        print(&reader, &first.suffix(args.items), out)?;
    }
    // What was printed (or skipped) counts as returned: --follow goes on after it.
    let mut uncounted = report_uncounted(&reader, 0);
    if !args.follow {
        return Ok(Status::Ok);
    }
    out.flush()?;
    let poll = Duration::from_millis(args.poll);
    loop {
        match reader.next_block().map_err(|e| core_error(path, e))? {
            Some(block) => {
                print(&reader, &block, out)?;
                // Each block reaches the pipe whole, and at once: Ctrl-C loses nothing.
                out.flush()?;
            }
            None => std::thread::sleep(poll),
        }
        uncounted = report_uncounted(&reader, uncounted);
    }
}

/// Prints `items` as `print(items)` does.
fn print(reader: &Reader, items: &Items, out: &mut dyn Write) -> anyhow::Result<()> {
    print_block(
        reader.path(),
        reader.dtype(),
        items.shape(),
        items.order() == Order::Fortran,
        items.bytes(),
        out,
    )
}

/// Says on stderr how many items lie past those the header counts, when that changed from
/// `before`; returns the new count.
fn report_uncounted(reader: &Reader, before: u64) -> u64 {
    let now = reader.uncounted_items();
    if now > 0 && now != before {
        eprintln!(
            "npaa: {}: {now} more items are written but not yet counted by the header (its \
             writer does not rewrite the header on every append); they are shown once it does",
            reader.path().display()
        );
    }
    now
}
