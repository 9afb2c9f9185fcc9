//! `npaa append DEST --raw FILE|-`: append raw binary items from a file or stdin.
//!
//! The input is read in bounded chunks (at most [`CHUNK_BYTES`], rounded down to whole items;
//! at least one item); whole items are appended as soon as they are read, so a slow pipe
//! (a live binary log) reaches the file as it arrives. `--buffer` coalesces those small
//! appends. An incomplete trailing item is reported and not written.

use std::fs::File;
use std::io::{self, Read, Write};

use anyhow::{Context, anyhow, bail};
use npaa_core::repr::fmt_shape;
use npaa_core::{AppendOptions, Dtype, Header, Order};

use super::{Ctx, Status};
use crate::cli::AppendArgs;
use crate::report::{core_error, warning};

/// Upper bound of one read (and of memory use, unless one item is larger).
const CHUNK_BYTES: usize = 8 << 20;

/// The append options the command line asks for (casting, buffer, durability).
pub fn append_options(args: &AppendArgs) -> AppendOptions {
    AppendOptions::new()
        .casting(args.casting)
        .durability(args.durability)
        .buffer_capacity(usize::try_from(args.buffer).unwrap_or(usize::MAX))
}

pub fn run(args: &AppendArgs, ctx: Ctx, out: &mut dyn Write) -> anyhow::Result<Status> {
    let dest = args.dest.as_path();
    let input = args.raw.as_deref().expect("run only with --raw");
    let input_name = input.display().to_string();
    let descr = args
        .dtype
        .as_deref()
        .expect("clap requires --dtype with --raw");
    let dtype = Dtype::parse(descr).map_err(anyhow::Error::new)?;
    let item_shape = args.item_shape.clone().unwrap_or_default().0;
    let order = if args.fortran {
        Order::Fortran
    } else {
        Order::C
    };
    let block_shape = |n: u64| order.block_shape(n, &item_shape);
    // The core's checks of a block (object dtype, dimensions), and the length of one item.
    let item_len = npaa_core::check_block(&dtype, &block_shape(1))?;
    if item_len == 0 {
        bail!(
            "items of dtype {} and shape {} hold no bytes: the item count cannot be inferred \
             from the input",
            dtype.descr(),
            fmt_shape(&item_shape)
        );
    }
    let item_len = usize::try_from(item_len).context("an item does not fit in memory")?;

    // Open the input before DEST, so that a missing input changes nothing.
    let (mut reader, size): (Box<dyn Read>, Option<u64>) = if input.as_os_str() == "-" {
        (Box::new(io::stdin().lock()), None)
    } else {
        let file =
            File::open(input).with_context(|| format!("{input_name}: opening the raw input"))?;
        let meta = file
            .metadata()
            .with_context(|| format!("{input_name}: reading metadata"))?;
        if meta.is_dir() {
            bail!("{input_name}: is a directory, not a raw data file");
        }
        let size = meta.is_file().then_some(meta.len());
        (Box::new(file), size)
    };

    let options = append_options(args)
        .delete_if_exists(args.delete_if_exists)
        .order(order);
    let array = options.open(dest).map_err(|e| core_error(dest, e))?;
    let existed = array.shape().is_some();
    if let Some(header) = array.header() {
        check_existing(dest, &header, order, &item_shape)?;
    }
    array
        .check_append(&dtype, &block_shape(0))
        .map_err(|e| core_error(dest, e))?;

    let progress = match size {
        Some(total) => ctx.progress.bytes(total, "appending"),
        None => ctx.progress.stream("appending"),
    };
    let chunk = (CHUNK_BYTES / item_len).max(1) * item_len;
    let mut buf = vec![0u8; chunk];
    let mut filled = 0usize;
    let mut items = 0u64;
    let mut read_total = 0u64;
    let outcome = loop {
        let n = match reader.read(&mut buf[filled..]) {
            Ok(0) => break Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => break Err(anyhow!(e).context(format!("{input_name}: reading"))),
        };
        filled += n;
        read_total += n as u64;
        progress.set(read_total);
        let whole = filled / item_len;
        if whole == 0 {
            continue;
        }
        let bytes = whole * item_len;
        if let Err(e) = array.append_raw(&dtype, &block_shape(whole as u64), &buf[..bytes]) {
            break Err(core_error(dest, e));
        }
        items += whole as u64;
        buf.copy_within(bytes..filled, 0);
        filled -= bytes;
    };
    progress.finish();
    // Create DEST (with 0 items) even when the input holds no whole item, so that the
    // command always leaves a DEST of the requested dtype and item shape.
    let outcome = outcome.and_then(|()| {
        if existed || items > 0 {
            return Ok(());
        }
        array
            .append_raw(&dtype, &block_shape(0), &[])
            .map_err(|e| core_error(dest, e))
    });
    let shape = array.shape().unwrap_or_default();
    let closed = array.close().map_err(|e| core_error(dest, e));
    let outcome = outcome.and(closed);
    if let Err(e) = outcome {
        if items > 0 {
            return Err(e.context(format!(
                "{}: {items} items were appended before this error",
                dest.display()
            )));
        }
        return Err(e);
    }
    if filled > 0 {
        warning(&format!(
            "{input_name}: ignored {filled} trailing bytes: not a whole item of {item_len} bytes"
        ));
    }
    if !ctx.quiet {
        writeln!(
            out,
            "appended {items} items ({} bytes) from {input_name} to {}: shape {}",
            items * item_len as u64,
            dest.display(),
            fmt_shape(&shape)
        )?;
    }
    Ok(Status::Ok)
}

/// An existing DEST must hold items of the given shape, in the given memory order (which
/// matters only where the two orders differ, for more than one dimension).
fn check_existing(
    dest: &std::path::Path,
    header: &Header,
    order: Order,
    item_shape: &[u64],
) -> anyhow::Result<()> {
    let dest_order = header.order();
    if header.shape().len() > 1 && dest_order != order {
        bail!(
            "{}: is in {} order: {}",
            dest.display(),
            dest_order.name(),
            match dest_order {
                Order::Fortran => "pass --fortran (and give the items in Fortran order)",
                Order::C => "drop --fortran (and give the items in C order)",
            }
        );
    }
    let dest_items = header.item_shape();
    if dest_items != item_shape {
        bail!(
            "{}: holds items of shape {} (array shape {}), but --item-shape is {}",
            dest.display(),
            fmt_shape(&dest_items),
            fmt_shape(header.shape()),
            fmt_shape(item_shape)
        );
    }
    Ok(())
}
