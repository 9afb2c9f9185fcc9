//! `npaa_options`: how npaa_open() opens a file.

use std::mem::size_of;
use std::time::Duration;

use npaa_core::{AppendOptions, Casting, Durability, Order};

use crate::boundary::{Out, guard};
use crate::error::Failure;
use crate::status::npaa_status;

/// npaa_options.casting: only identical dtypes (NumPy's casting="no").
pub const NPAA_CASTING_NO: u32 = 0;
/// npaa_options.casting: identical dtypes up to byte order (NumPy's casting="equiv").
pub const NPAA_CASTING_EQUIV: u32 = 1;
/// npaa_options.casting: only casts that preserve every value, e.g. "<i4" into a "<f8" file
/// (NumPy's casting="safe").
pub const NPAA_CASTING_SAFE: u32 = 2;
/// npaa_options.casting: safe casts and casts within a kind, e.g. "<f8" into a "<f4" file, but
/// not "<f8" into an "<i8" file (NumPy's casting="same_kind"). The default.
pub const NPAA_CASTING_SAME_KIND: u32 = 3;
/// npaa_options.casting: any conversion, as C does (NumPy's casting="unsafe"): floats are
/// truncated into integer files.
pub const NPAA_CASTING_UNSAFE: u32 = 4;

/// npaa_options.durability: never force data to disk explicitly (what NumPy does). A crash of
/// the process never loses appended data; a power loss may, until npaa_recover() is run. The
/// default.
pub const NPAA_DURABILITY_NONE: u32 = 0;
/// npaa_options.durability: force data, then the header, to disk on npaa_close() and
/// npaa_sync(). Everything appended before a successful close survives a power loss.
pub const NPAA_DURABILITY_ON_CLOSE: u32 = 1;
/// npaa_options.durability: force data, then the header, to disk on every append: a
/// successful npaa_append() survives a power loss. Slow: two disk flushes per append.
pub const NPAA_DURABILITY_EVERY_APPEND: u32 = 2;
/// npaa_options.durability: force data to disk whenever npaa_options.durability_bytes bytes
/// were appended since the last time; the header only counts data that is on disk.
pub const NPAA_DURABILITY_EVERY_BYTES: u32 = 3;

/// npaa_options.lock_wait: the mode's default: wait as long as it takes in shared mode, not at
/// all otherwise (NPAA_LOCKED at once if another writer holds the file). The default.
pub const NPAA_LOCK_WAIT_DEFAULT: u32 = 0;
/// npaa_options.lock_wait: wait for the file's lock as long as it takes.
pub const NPAA_LOCK_WAIT_FOREVER: u32 = 1;
/// npaa_options.lock_wait: wait for the file's lock at most npaa_options.lock_timeout_ms
/// milliseconds (0: not at all), then fail with NPAA_LOCKED, changing nothing.
pub const NPAA_LOCK_WAIT_TIMEOUT: u32 = 2;

/// How npaa_open() opens a file.
///
/// Always initialize it with npaa_options_default() or NPAA_OPTIONS_INIT, then change the
/// fields you need:
///
/// ```c
/// npaa_options options;
/// npaa_options_default(&options);
/// options.delete_if_exists = 1;
/// ```
///
/// Growing without breaking the ABI: struct_size holds sizeof(npaa_options) as the program
/// was compiled. Fields are only ever added at the end, and a new field's 0 value always
/// means "behave as before it existed". So a newer library reads an older program's smaller
/// struct (missing fields take their defaults), and an older library accepts a newer
/// program's larger struct as long as the fields it does not know are 0 (otherwise it fails
/// with NPAA_INVALID_ARGUMENT rather than silently ignore a request). A size field was chosen
/// over reserved padding because it also catches an uninitialized struct.
///
/// Flags are uint32_t: 0 is false, any other value is true. Fields that select one of several
/// behaviours are uint32_t with NPAA_* constants; unknown values are refused with
/// NPAA_INVALID_ARGUMENT.
///
/// The struct is plain data: npaa does not keep a pointer to it after npaa_open() returns.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct npaa_options {
    /// sizeof(npaa_options), set by npaa_options_default() and NPAA_OPTIONS_INIT. Do not
    /// change it.
    pub struct_size: usize,
    /// Non-zero: delete an existing file when opening, so that the first append starts a new
    /// one (a file locked by another writer is not deleted: NPAA_LOCKED). Default 0: append
    /// to an existing file.
    pub delete_if_exists: u32,
    /// Non-zero (the default): update the header after every append, so that NumPy always
    /// sees every appended item. 0: update it only on npaa_update_header(), npaa_sync() and
    /// npaa_close(); in between, NumPy sees the shape of the last update.
    pub rewrite_header_on_append: u32,
    /// Non-zero: a file created by the first append is in Fortran (column-major) order and
    /// grows along its last axis. Default 0: C order, growing along the first axis. Existing
    /// files keep their order.
    pub fortran_order: u32,
    /// Which dtype conversions appends may make: one of the NPAA_CASTING_* constants.
    /// Default NPAA_CASTING_SAME_KIND, as NumPy.
    pub casting: u32,
    /// When appended data is forced to stable storage: one of the NPAA_DURABILITY_*
    /// constants. Default NPAA_DURABILITY_NONE.
    pub durability: u32,
    /// Must be 0 (keeps the 64-bit fields aligned without hidden padding).
    pub reserved: u32,
    /// For NPAA_DURABILITY_EVERY_BYTES: sync after this many appended bytes (must be > 0).
    /// Ignored by the other durability modes. Default 0.
    pub durability_bytes: u64,
    /// Coalesce appends in memory up to this many bytes before writing them (0, the default,
    /// disables buffering). Buffered items are not in the file until the buffer is full or
    /// npaa_flush(), npaa_update_header(), npaa_sync() or npaa_close() is called; a crash
    /// loses them (the file still loads, without them). Appends larger than the buffer bypass
    /// it.
    pub buffer_capacity: usize,
    /// Mapped mode (0, the default, disables it): copy small appends into space reserved past
    /// the data through a memory mapping, this many bytes at a time, so that an append costs
    /// no system call (several times faster for items of a few hundred bytes; 1 MiB
    /// suits items of up to a few KiB). Blocks larger than an eighth of it are written as usual.
    /// While the file is open, and if the process is killed, the file is longer than its
    /// data: the reserved space, ended by a 24-byte mark (the file's last bytes). NumPy
    /// ignores both; npaa_close(), npaa_recover() and the next npaa_open() cut them. The mark
    /// needs no file system feature and survives a copy of the whole file. Where space
    /// cannot be reserved, appends are written as usual, and so they are
    /// when rewrite_header_on_append is 0 or durability is NPAA_DURABILITY_EVERY_BYTES (items
    /// the header does not count yet must stay recoverable). Programs built against a header
    /// without this field get 0.
    pub mapped_window: usize,
    /// Non-zero: shared mode. Any number of writers (processes, or handles in one process)
    /// keep the file open and append at once: each append takes the file's lock for its own
    /// duration (waiting for its turn, see lock_wait), appends after what the others
    /// committed, counts itself in the header and lets go. Blocks land whole, never
    /// interleaved; a writer killed at any moment costs at most its block in flight, which
    /// is marked so that neither the next append nor npaa_recover() counts it; once every
    /// writer has closed, the file is clean. Refused (NPAA_INVALID_ARGUMENT) with
    /// delete_if_exists, rewrite_header_on_append = 0, NPAA_DURABILITY_EVERY_BYTES,
    /// buffer_capacity or mapped_window. Default 0: one writer holds the file's lock from
    /// npaa_open() to npaa_close(). Programs built against a header without this field get 0.
    pub shared: u32,
    /// How long to wait for the file's lock: one of the NPAA_LOCK_WAIT_* constants. Default
    /// NPAA_LOCK_WAIT_DEFAULT (shared mode: as long as it takes; otherwise: not at all).
    pub lock_wait: u32,
    /// For NPAA_LOCK_WAIT_TIMEOUT: the longest wait for the lock, in milliseconds. Ignored
    /// otherwise. Default 0.
    pub lock_timeout_ms: u64,
}

/// Larger `struct_size` values are refused as garbage (an uninitialized struct) rather than
/// read.
const MAX_STRUCT_SIZE: usize = 4096;

/// The size of the first released layout (npaa 0.1), the smallest `struct_size` that can be
/// valid. When fields are added, this stays, and older programs' structs keep working.
const MIN_STRUCT_SIZE: usize = size_of::<usize>() + 6 * 4 + 8 + size_of::<usize>();

impl npaa_options {
    /// The defaults, as npaa_options_default() writes them.
    pub(crate) const DEFAULT: npaa_options = npaa_options {
        struct_size: size_of::<npaa_options>(),
        delete_if_exists: 0,
        rewrite_header_on_append: 1,
        fortran_order: 0,
        casting: NPAA_CASTING_SAME_KIND,
        durability: NPAA_DURABILITY_NONE,
        reserved: 0,
        durability_bytes: 0,
        buffer_capacity: 0,
        mapped_window: 0,
        shared: 0,
        lock_wait: NPAA_LOCK_WAIT_DEFAULT,
        lock_timeout_ms: 0,
    };

    /// The caller's options, or the defaults when `ptr` is NULL.
    ///
    /// # Safety
    /// `ptr` must be NULL or as [`read`](Self::read) requires.
    pub(crate) unsafe fn read_or_default(
        ptr: *const npaa_options,
    ) -> Result<npaa_options, Failure> {
        if ptr.is_null() {
            return Ok(npaa_options::DEFAULT);
        }
        // SAFETY: non-NULL, and an initialized npaa_options per the contract.
        unsafe { npaa_options::read(ptr) }
    }

    /// Reads the caller's struct, honouring its struct_size (see the type's docs).
    ///
    /// # Safety
    /// `ptr` must point to a readable, aligned npaa_options whose `struct_size` bytes are all
    /// readable.
    pub(crate) unsafe fn read(ptr: *const npaa_options) -> Result<npaa_options, Failure> {
        let ours = size_of::<npaa_options>();
        // SAFETY: ptr points to an aligned npaa_options per the contract; struct_size is its
        // first field and every bit pattern is a valid usize.
        let size = unsafe { (*ptr).struct_size };
        if !(MIN_STRUCT_SIZE..=MAX_STRUCT_SIZE).contains(&size) {
            return Err(Failure::invalid(format!(
                "options->struct_size is {size}, but this libnpaa expects {ours} \
                 (sizeof(npaa_options)); initialize options with npaa_options_default() or \
                 NPAA_OPTIONS_INIT before setting fields"
            )));
        }
        if size > ours {
            // SAFETY: the caller's struct is `size` bytes long and readable per the contract;
            // we read the bytes past the fields we know, as plain bytes.
            let extra =
                unsafe { std::slice::from_raw_parts(ptr.cast::<u8>().add(ours), size - ours) };
            if extra.iter().any(|&b| b != 0) {
                return Err(Failure::invalid(format!(
                    "options set fields that this libnpaa ({}) does not know \
                     (struct_size {size} > {ours}): link against the libnpaa matching \
                     npaa.h",
                    env!("CARGO_PKG_VERSION")
                )));
            }
        }
        // The fields the caller's struct has (all of them, unless it was compiled against an
        // older, smaller npaa_options) over the defaults of the fields it lacks.
        let mut options = npaa_options::DEFAULT;
        // SAFETY: `min(size, ours)` bytes are readable at ptr (the caller's struct is `size`
        // bytes) and writable in `options` (`ours` bytes); they do not overlap. Every field is
        // an integer, so any bytes make a valid npaa_options.
        unsafe {
            std::ptr::copy_nonoverlapping(
                ptr.cast::<u8>(),
                (&raw mut options).cast::<u8>(),
                size.min(ours),
            );
        }
        Ok(options)
    }

    /// Converts to the core's options, refusing unknown values.
    pub(crate) fn to_core(self) -> Result<AppendOptions, Failure> {
        if self.reserved != 0 {
            return Err(Failure::invalid(format!(
                "options->reserved is {}; it must be 0",
                self.reserved
            )));
        }
        // The constants are indices into the core's list of rules (strictest first); the
        // test `casting_constants_index_the_cores_rules` keeps the two in step.
        let casting = usize::try_from(self.casting)
            .ok()
            .and_then(|i| Casting::ALL.get(i).copied())
            .ok_or_else(|| {
                Failure::invalid(format!(
                    "options->casting is {}; use one of the NPAA_CASTING_* constants (0 to {})",
                    self.casting,
                    Casting::ALL.len() - 1
                ))
            })?;
        let durability = match self.durability {
            NPAA_DURABILITY_NONE => Durability::None,
            NPAA_DURABILITY_ON_CLOSE => Durability::OnClose,
            NPAA_DURABILITY_EVERY_APPEND => Durability::EveryAppend,
            NPAA_DURABILITY_EVERY_BYTES if self.durability_bytes == 0 => {
                return Err(Failure::invalid(
                    "options->durability is NPAA_DURABILITY_EVERY_BYTES but \
                     options->durability_bytes is 0; set it to the number of bytes between syncs",
                ));
            }
            NPAA_DURABILITY_EVERY_BYTES => Durability::EveryBytes(self.durability_bytes),
            other => {
                return Err(Failure::invalid(format!(
                    "options->durability is {other}; use one of the NPAA_DURABILITY_* constants \
                     (0 to 3)"
                )));
            }
        };
        let order = if self.fortran_order != 0 {
            Order::Fortran
        } else {
            Order::C
        };
        let options = AppendOptions::new()
            .delete_if_exists(self.delete_if_exists != 0)
            .rewrite_header_on_append(self.rewrite_header_on_append != 0)
            .order(order)
            .casting(casting)
            .durability(durability)
            .buffer_capacity(self.buffer_capacity)
            .mapped_window(self.mapped_window)
            .shared(self.shared != 0);
        Ok(match self.lock_wait {
            NPAA_LOCK_WAIT_DEFAULT => options,
            NPAA_LOCK_WAIT_FOREVER => options.lock_timeout(None),
            NPAA_LOCK_WAIT_TIMEOUT => {
                options.lock_timeout(Some(Duration::from_millis(self.lock_timeout_ms)))
            }
            other => {
                return Err(Failure::invalid(format!(
                    "options->lock_wait is {other}; use one of the NPAA_LOCK_WAIT_* constants \
                     (0 to 2)"
                )));
            }
        })
    }
}

/// Fills `*options` with the defaults (and sets struct_size): keep an existing file, update
/// the header on every append, C order for new files, NPAA_CASTING_SAME_KIND,
/// NPAA_DURABILITY_NONE, no buffering, no mapped mode, not shared, NPAA_LOCK_WAIT_DEFAULT.
/// Equivalent to NPAA_OPTIONS_INIT.
///
/// Errors: NPAA_NULL_ARGUMENT if `options` is NULL. Thread-safe.
///
/// Pointers: `options` must be NULL or point to writable memory for one npaa_options.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_options_default(options: *mut npaa_options) -> npaa_status {
    guard("npaa_options_default", || {
        let out = Out::new(options, "options")?;
        // SAFETY: writable per the contract.
        unsafe { out.write(npaa_options::DEFAULT) };
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_has_no_hidden_padding() {
        // struct_size + 6 × u32 + u64 + 2 × usize; see `reserved`. Then 2 × u32 + u64.
        assert_eq!(
            size_of::<npaa_options>(),
            3 * size_of::<usize>() + 6 * 4 + 8 + 2 * 4 + 8
        );
    }

    #[test]
    fn casting_constants_index_the_cores_rules() {
        // NumPy's C API numbers them the same way (NPY_NO_CASTING = 0 ... NPY_UNSAFE_CASTING
        // = 4), and so does Casting::ALL, strictest first.
        let constants = [
            (NPAA_CASTING_NO, Casting::No),
            (NPAA_CASTING_EQUIV, Casting::Equiv),
            (NPAA_CASTING_SAFE, Casting::Safe),
            (NPAA_CASTING_SAME_KIND, Casting::SameKind),
            (NPAA_CASTING_UNSAFE, Casting::Unsafe),
        ];
        assert_eq!(constants.len(), Casting::ALL.len());
        for (constant, casting) in constants {
            assert_eq!(Casting::ALL[constant as usize], casting);
        }
        for (number, casting) in Casting::ALL.iter().enumerate() {
            let options = npaa_options {
                casting: number as u32,
                ..npaa_options::DEFAULT
            };
            let core = options.to_core().unwrap();
            assert!(format!("{core:?}").contains(&format!("casting: {casting:?}")));
        }
        let bad = npaa_options {
            casting: 5,
            ..npaa_options::DEFAULT
        };
        assert!(bad.to_core().is_err());
    }

    #[test]
    fn shared_mode_and_lock_waits_reach_the_core() {
        let core = |o: npaa_options| format!("{:?}", o.to_core().unwrap());
        let default = core(npaa_options::DEFAULT);
        assert!(default.contains("shared: false") && default.contains("lock_timeout: None"));
        let shared = npaa_options {
            shared: 1,
            ..npaa_options::DEFAULT
        };
        assert!(core(shared).contains("shared: true"));
        let forever = npaa_options {
            lock_wait: NPAA_LOCK_WAIT_FOREVER,
            ..npaa_options::DEFAULT
        };
        assert!(core(forever).contains("lock_timeout: Some(None)"));
        let bounded = npaa_options {
            lock_wait: NPAA_LOCK_WAIT_TIMEOUT,
            lock_timeout_ms: 1500,
            ..npaa_options::DEFAULT
        };
        assert!(core(bounded).contains("lock_timeout: Some(Some(1.5s))"));
        let bad = npaa_options {
            lock_wait: 3,
            ..npaa_options::DEFAULT
        };
        assert!(bad.to_core().unwrap_err().message.contains("lock_wait"));
    }

    #[test]
    fn sizes_are_checked() {
        let mut o = npaa_options::DEFAULT;
        // SAFETY: a live, aligned npaa_options of the size it declares.
        assert!(unsafe { npaa_options::read(&o) }.is_ok());
        o.struct_size = 8;
        // SAFETY: as above (struct_size is smaller than the struct).
        assert!(unsafe { npaa_options::read(&o) }.is_err());

        #[repr(C)]
        struct Newer {
            options: npaa_options,
            new_field: u64,
        }
        let mut newer = Newer {
            options: npaa_options {
                struct_size: size_of::<Newer>(),
                ..npaa_options::DEFAULT
            },
            new_field: 0,
        };
        // The pointer must cover the whole larger struct, as a C caller's does.
        let ptr = (&raw const newer).cast::<npaa_options>();
        // SAFETY: a live struct of `struct_size` bytes starting with an npaa_options.
        assert!(unsafe { npaa_options::read(ptr) }.is_ok());
        newer.new_field = 1;
        let ptr = (&raw const newer).cast::<npaa_options>();
        // SAFETY: as above.
        let err = unsafe { npaa_options::read(ptr) }.unwrap_err();
        assert!(err.message.contains("does not know"), "{}", err.message);
    }
}
