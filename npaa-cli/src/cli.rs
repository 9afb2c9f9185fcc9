//! The command line, as clap parses it. Definitions only: the work is in `commands`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use npaa_core::{Casting, Durability};

/// Exit codes, shown at the end of `npaa --help` (and copied to the README).
const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  `npaa check` found a file that needs recovery or is not appendable
  2  error: a file is missing, unreadable or not a valid .npy file, an operation was
     refused or failed, or the command line is invalid

Errors are printed on stderr as one line: `npaa: <file>: <what went wrong>[: <cause>]`,
followed by what to do about it where there is something to do. A closed pipe on stdout
(`npaa show big.npy | head`) is not an error.";

/// npaa: inspect, check, repair and grow NumPy .npy files from the shell.
///
/// npaa appends to .npy files out of core (constant memory, whatever the sizes) and keeps
/// them byte-identical to what `np.save` writes for the concatenated array. It never leaves
/// a file half-changed when it refuses an operation.
#[derive(Debug, Parser)]
#[command(name = "npaa", version, after_help = EXIT_CODES, max_term_width = 100)]
pub struct Cli {
    /// No progress bars and no success reports; errors and warnings are still printed.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    Info(InfoArgs),
    Check(CheckArgs),
    Recover(RecoverArgs),
    EnsureAppendable(EnsureArgs),
    Append(AppendArgs),
    Show(ShowArgs),
    Tail(TailArgs),
    Ragged(RaggedArgs),
    Completions(CompletionsArgs),
}

/// Print what the header and size of .npy files say.
///
/// For each file: format version, header size and spare bytes, dtype (descr and a readable
/// form), shape, memory order, item size, data bytes present and expected, whether the file
/// is appendable and whether it needs recovery. Reads headers only: instant on any size.
#[derive(Debug, Args)]
#[command(after_help = INFO_HELP)]
pub struct InfoArgs {
    /// The .npy files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Print one JSON object per file and line (JSON Lines) instead of text.
    #[arg(long)]
    pub json: bool,
}

const INFO_HELP: &str = "\
Examples:
  npaa info data.npy
  npaa info --json *.npy | jq 'select(.needs_recovery)'

JSON fields (stable; one object per file and line, in this order):
  path                        the file as given
  version                     format version: \"1.0\", \"2.0\" or \"3.0\"
  header_len                  header size in bytes, magic included: the data's offset
  spare                       bytes by which the header text can still grow in place
  descr                       the dtype as in the header: \"<f8\", \"[('a', '<i4'), ...]\"
  dtype                       a readable form of the dtype: \"float64\", \"struct { ... }\"
  shape                       array of the dimensions (a placeholder's growth one reads 0)
  order                       memory order: \"C\" or \"F\"
  growth_axis                 the axis appends grow: 0 (C), the last (F), null for 0-d
  itemsize                    bytes per item
  data_bytes_present          bytes in the file after the header
  data_bytes_expected         bytes the shape announces
  appendable                  the header has room for a growth dimension of any length
  needs_recovery              the data does not match the header (npaa recover FILE)
  reserved_tail               marked bytes past the data (killed mapped or shared writer)
  placeholder                 the shape is the '****' placeholder of an unfinished writer
  exceeds_numpy_header_limit  the header is longer than np.load reads by default
  ragged_records              records of the ragged pair (index FILE.idx.npy beside it), or null
For a file that cannot be read, the object is {\"path\": ..., \"error\": \"<message>\"},
the message is also printed on stderr, and the exit code is 2.";

/// Check that .npy files load and are appendable (for scripts).
///
/// Prints one line per file: `FILE: ok`, or what is wrong and the command that fixes it.
/// Exits 0 when every file is fine, 1 when some file needs recovery or is not appendable
/// (or has a header NumPy refuses to read by default), 2 when some file could not be read
/// at all.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  npaa check data.npy || npaa recover data.npy")]
pub struct CheckArgs {
    /// The .npy files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// Repair files whose data does not match their header.
///
/// Infers the length of the growth axis from the file size (an interrupted append or
/// download, a crash before the header update, an unfinished streaming writer). An
/// incomplete last item is cut off, or completed with zeros with --zerofill-incomplete.
/// Reports the items before and after and the bytes cut or zero-filled. Takes constant time
/// whatever the file size. Files that need no recovery are left untouched.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  npaa recover --dry-run data.npy
  npaa recover data.npy")]
pub struct RecoverArgs {
    /// The .npy files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Complete an incomplete last item with zeros instead of cutting it off.
    #[arg(long)]
    pub zerofill_incomplete: bool,

    /// Only report what would be done; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Give legacy headers the spare room appends need.
///
/// Files written by NumPy < 1.24, cnpy and others have no room in their header for the
/// growing shape. This rewrites the header as `np.save` of NumPy >= 1.24 would, keeping the
/// data byte for byte. By default a new file is written beside the old one and renamed over
/// it (atomic; needs room for a copy). With --in-place the file itself is changed: on ext4
/// and XFS whole blocks are inserted at the front (instant), elsewhere the data is moved (not
/// atomic: do not interrupt it).
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  npaa ensure-appendable --in-place old.npy && npaa append old.npy new.npy"
)]
pub struct EnsureArgs {
    /// The .npy files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Change the file in place instead of writing a copy and renaming it.
    #[arg(long)]
    pub in_place: bool,
}

/// Append arrays to DEST (created if missing), streaming with constant memory.
///
/// With SRC files: appends the array of each .npy source along DEST's growth axis (axis 0
/// for C order, the last axis for Fortran order), as `np.concatenate` would: the result is
/// byte-identical to `np.save` of the concatenation. A source in the other memory order is
/// converted to DEST's as it is copied. Every source is validated first (complete, not an
/// object array, matching shape, castable under --casting): if one is bad, DEST is left
/// exactly as it was (and is not created). If writing fails half-way (a full disk), DEST is
/// restored to what it was before.
///
/// With --raw: appends raw binary items read from a file or from stdin (`-`), e.g. a binary
/// log piped in. Each item has dtype --dtype and shape --item-shape; the item count comes
/// from the byte count. Whole items are appended as they arrive; an incomplete trailing item
/// is reported as a warning and not written (exit code 0: the writer may still be writing
/// it). An existing DEST must have the same item shape and memory order (its dtype may
/// differ if --casting allows the conversion).
#[derive(Debug, Args)]
#[command(after_help = APPEND_HELP, override_usage = APPEND_USAGE)]
pub struct AppendArgs {
    /// The .npy file to grow; created from the first source if it does not exist.
    #[arg(value_name = "DEST")]
    pub dest: PathBuf,

    /// .npy files whose arrays are appended, in order.
    #[arg(
        value_name = "SRC.npy",
        required_unless_present = "raw",
        conflicts_with = "raw"
    )]
    pub sources: Vec<PathBuf>,

    /// Append raw binary items read from FILE, or from stdin with `-`.
    #[arg(long, value_name = "FILE|-", requires = "dtype")]
    pub raw: Option<PathBuf>,

    /// dtype of the raw items: a NumPy descr or name (`<f8`, `float64`, `u1`,
    /// `"[('t', '<f8'), ('v', '<f4', (3,))]"`).
    #[arg(long, value_name = "DESCR", requires = "raw")]
    pub dtype: Option<String>,

    /// Shape of one raw item, e.g. `3` or `480,640` (default: scalar items, a 1-D DEST).
    #[arg(long, value_name = "D1,D2,...", requires = "raw", value_parser = parse_item_shape)]
    pub item_shape: Option<ItemShape>,

    /// The raw items are in Fortran (column-major) order and a new DEST is created in
    /// Fortran order: it grows along its last axis.
    #[arg(long, requires = "raw")]
    pub fortran: bool,

    /// Replace DEST if it exists, so the result holds the sources only. With SRC files the
    /// new DEST is built beside the old one and renamed over it when complete (the old one
    /// stays intact if anything fails); with --raw, DEST is deleted once the input is open.
    #[arg(long)]
    pub delete_if_exists: bool,

    /// Which dtype conversions are allowed, as NumPy's `casting=`: `no` (identical dtypes),
    /// `equiv` (byte order may differ), `safe` (conversions that keep every value, int32 to
    /// float64), `same_kind` (also within a kind, float64 to float32), `unsafe` (any
    /// conversion; float to int truncates).
    #[arg(long, value_name = "RULE", value_parser = casting_parser(), default_value = "same_kind")]
    pub casting: Casting,

    /// Coalesce small appends in memory up to BYTES before writing (useful for --raw from a
    /// pipe that delivers little at a time). Buffered items are not in the file until the
    /// buffer is written; an interrupted run loses them, never corrupts the file. Accepts
    /// K, M, G suffixes (powers of 1024).
    #[arg(long, value_name = "BYTES", value_parser = parse_bytes, default_value = "0")]
    pub buffer: u64,

    /// When appended data is forced to stable storage: `none` (never, as NumPy), `close`
    /// (once at the end), `append` (after every append: slow), or `every:BYTES` (whenever
    /// BYTES were appended since the last sync). Only matters for a crash of the machine;
    /// after a crash of npaa itself the file always loads as a prefix of what was appended.
    #[arg(long, value_name = "MODE", default_value = "none")]
    pub durability: Durability,

    /// Shared mode: other writers (other `npaa append --shared`, programs with npaa's shared
    /// mode) may append to DEST at the same time. Each append takes DEST's lock for its own
    /// duration, waiting for its turn, and lands whole after what the others appended. Each
    /// SRC file is one append: if one fails, the ones before it stay appended. A missing
    /// DEST is created by the first append, whoever makes it. Not with --delete-if-exists or
    /// --buffer.
    #[arg(long)]
    pub shared: bool,

    /// Seconds to wait for DEST's lock (`inf`: as long as it takes) before failing as
    /// locked, changing nothing. Default: as long as it takes with --shared; without it, not
    /// at all.
    #[arg(long, value_name = "SECS", value_parser = parse_timeout)]
    pub timeout: Option<Timeout>,
}

/// `--timeout`: a wait for the lock, `None` for as long as it takes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timeout(pub Option<std::time::Duration>);

fn parse_timeout(text: &str) -> Result<Timeout, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if seconds == f64::INFINITY {
        return Ok(Timeout(None));
    }
    std::time::Duration::try_from_secs_f64(seconds)
        .map(|d| Timeout(Some(d)))
        .map_err(|_| format!("{text:?}: expected a number of seconds >= 0, or inf"))
}

/// The two forms of `npaa append`, shown in usage errors too: SRC files and --raw exclude
/// each other, and clap's generated line would show one form only.
const APPEND_USAGE: &str = "\
npaa append [OPTIONS] <DEST> <SRC.npy>...
       npaa append [OPTIONS] <DEST> --raw <FILE|-> --dtype <DESCR> [--item-shape <D1,D2,...>]";

const APPEND_HELP: &str = "\
Examples:
  npaa append all.npy day1.npy day2.npy day3.npy
  npaa append --delete-if-exists --casting unsafe out.npy a.npy b.npy
  sensor-dump | npaa append log.npy --raw - --dtype '<f4' --item-shape 3 --buffer 1M
  npaa append --shared --timeout 60 results.npy part-17.npy   (from many jobs at once)
  npaa append frames.npy --raw frames.bin --dtype u1 --item-shape 480,640";

/// Print the items of a .npy file as NumPy's `print` does.
///
/// The output is what `print(np.load(FILE))` prints in NumPy 2: an array of more than 1000
/// elements is summarised with `...` and 3 items at each end of every long axis (NumPy's
/// default `threshold` and `edgeitems`); --full prints every element, as
/// `np.set_printoptions(threshold=sys.maxsize)` does. With --rows it is
/// `print(arr[START:STOP])` or `print(arr[N])`. Lines are 75 columns wide. Covers bool,
/// integer, float16/32/64, complex64/128, bytes (`b'ab'`), str (`'ab'`), datetime64
/// (`'2024-01-31T12:00:00'`), timedelta64 and void dtypes, and structured dtypes (rows as
/// tuples `(1, 2.5)`, subarray fields as lists). Long doubles (`<f16`, `<c32`) are read as x87
/// extended precision and printed rounded to float64. 0-d arrays print like `print(arr)` too.
///
/// Only the printed items are read (a summarised array of any size is read in a few small
/// reads); memory use is constant: the printed items are read twice, once to find the column
/// widths NumPy would use, once to print.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  npaa show data.npy
  npaa show data.npy --rows :10
  npaa show log.npy --rows -5:
  npaa show data.npy --rows 7
  npaa show big.npy --full | less")]
pub struct ShowArgs {
    /// The .npy file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Rows to print, as a Python index or slice of the first axis: `START:STOP`, `START:`,
    /// `:STOP` print `print(arr[START:STOP])`; `N` prints `print(arr[N])` (row N without the
    /// first axis: a scalar for a 1-D array). Negative values count from the end (`-5:` is
    /// the last five rows, `-1` the last row).
    #[arg(long, value_name = "START:STOP|N", allow_hyphen_values = true, value_parser = parse_rows)]
    pub rows: Option<Rows>,

    /// Print every element: no `...` summarisation, whatever the size (NumPy's
    /// `threshold=sys.maxsize`).
    #[arg(long)]
    pub full: bool,
}

/// Print the last items of a .npy file as NumPy prints them, then, with --follow, new items
/// as a writer appends them, like `tail -f`.
///
/// Items are the steps along the growth axis (rows of a C-order 2-D file, columns of a
/// Fortran-order one). Only items the header counts are shown: never a partial item, in every
/// writer mode. A writer with the header rewrite off counts items only when it updates its
/// header: what
/// lies past that is reported on stderr. --follow runs until Ctrl-C or until the reading
/// end of a pipe is closed (`npaa tail -f log.npy | head`), both a normal end.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  npaa tail log.npy
  npaa tail -n 3 --follow log.npy")]
pub struct TailArgs {
    /// The .npy file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// How many items to print first (--rows is an alias).
    #[arg(
        short = 'n',
        long = "items",
        alias = "rows",
        value_name = "N",
        default_value = "10"
    )]
    pub items: u64,

    /// Keep printing each block of new items as it is appended.
    #[arg(short, long)]
    pub follow: bool,

    /// With --follow, how often to look for new items, in milliseconds.
    #[arg(long, value_name = "MS", default_value = "200")]
    pub poll: u64,
}

/// Work with ragged pairs: records of any length along the growth axis of a .npy data file
/// (FILE.npy), with their ends in an index beside it (FILE.idx.npy, a 1-D int64 array).
///
/// `npaa info` shows a pair's record count, `npaa check` checks the pair, and `npaa recover`
/// repairs what a crash left (a half-appended record is cut).
#[derive(Debug, Args)]
pub struct RaggedArgs {
    #[command(subcommand)]
    pub command: RaggedCommand,
}

/// What to do with a ragged pair.
#[derive(Debug, Subcommand)]
pub enum RaggedCommand {
    Index(RaggedIndexArgs),
}

/// Build the index of a data file from its records' lengths (a fairseq-style lengths file:
/// one integer per line), making it a ragged pair. The lengths must add up to the file's
/// rows; an existing index is not replaced.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  npaa ragged index feats.npy --lengths feats.len")]
pub struct RaggedIndexArgs {
    /// The data file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// The lengths file.
    #[arg(long, value_name = "LENGTHS")]
    pub lengths: PathBuf,
}

/// Print a shell completion script.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  npaa completions bash > ~/.local/share/bash-completion/completions/npaa
  npaa completions zsh > ~/.zfunc/_npaa
  npaa completions fish > ~/.config/fish/completions/npaa.fish")]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `--casting`: the core's names ([`Casting::ALL`], [`Casting::as_str`]) as the possible
/// values (for `--help` and completions), parsed by the core's `FromStr`.
fn casting_parser() -> impl clap::builder::TypedValueParser<Value = Casting> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(Casting::ALL.map(Casting::as_str))
        .try_map(|name| name.parse::<Casting>())
}

/// `--item-shape` as given (possibly empty: scalar items).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ItemShape(pub Vec<u64>);

/// `--rows`: a Python slice or index of the first axis (negative counts from the end).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rows {
    /// `START:STOP`, either end optional: `arr[START:STOP]`.
    Slice {
        start: Option<i64>,
        stop: Option<i64>,
    },
    /// `N`: `arr[N]`, one row without the first axis.
    Index(i64),
}

impl Rows {
    /// The row range this selects in an axis of length `len`, clamped like a Python slice.
    ///
    /// # Errors
    /// For an index outside the axis (where Python raises `IndexError`), what to say.
    pub fn resolve(self, len: u64) -> Result<(u64, u64), String> {
        let from_end = |v: i64| len.checked_sub(v.unsigned_abs());
        match self {
            Rows::Slice { start, stop } => {
                let clamp = |v: Option<i64>, default: u64| -> u64 {
                    match v {
                        None => default,
                        Some(v) if v < 0 => from_end(v).unwrap_or(0),
                        Some(v) => (v as u64).min(len),
                    }
                };
                let start = clamp(start, 0);
                let stop = clamp(stop, len);
                Ok((start, stop.max(start)))
            }
            Rows::Index(n) => {
                let i = if n < 0 { from_end(n) } else { Some(n as u64) };
                match i {
                    Some(i) if i < len => Ok((i, i + 1)),
                    _ => Err(format!(
                        "row {n} does not exist: the first axis has {len} rows"
                    )),
                }
            }
        }
    }
}

fn parse_item_shape(s: &str) -> Result<ItemShape, String> {
    let s = s
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .trim();
    if s.is_empty() {
        return Ok(ItemShape(Vec::new()));
    }
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<u64>()
                .map_err(|_| format!("{p:?} is not a non-negative integer"))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(ItemShape)
}

/// `--buffer`: a byte count as npaa-core reads one ([`npaa_core::parse_byte_count`]).
fn parse_bytes(s: &str) -> Result<u64, npaa_core::Error> {
    npaa_core::parse_byte_count(s)
}

fn parse_rows(s: &str) -> Result<Rows, String> {
    let bad = || format!("{s:?} is not a row slice: use START:STOP, START:, :STOP or N");
    let parse = |p: &str| -> Result<Option<i64>, String> {
        let p = p.trim();
        if p.is_empty() {
            Ok(None)
        } else {
            p.parse().map(Some).map_err(|_| bad())
        }
    };
    match s.split_once(':') {
        Some((a, b)) => Ok(Rows::Slice {
            start: parse(a)?,
            stop: parse(b)?,
        }),
        None => parse(s)?.map(Rows::Index).ok_or_else(bad),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn casting_names_are_the_cores() {
        let parse = |name: &str| {
            Cli::try_parse_from(["npaa", "append", "d.npy", "s.npy", "--casting", name]).map(
                |cli| match cli.command {
                    Command::Append(args) => args.casting,
                    other => panic!("{other:?}"),
                },
            )
        };
        for casting in Casting::ALL {
            assert_eq!(parse(casting.as_str()).unwrap(), casting);
        }
        assert!(parse("bogus").is_err());
        let default = Cli::try_parse_from(["npaa", "append", "d.npy", "s.npy"]).unwrap();
        assert!(matches!(default.command, Command::Append(a) if a.casting == Casting::default()));
    }

    #[test]
    fn byte_counts_and_durability_are_the_cores() {
        let parse = |args: &[&str]| Cli::try_parse_from(args.iter().copied());
        let cli = parse(&["npaa", "append", "d.npy", "s.npy", "--buffer", "64K"]).unwrap();
        assert!(matches!(cli.command, Command::Append(a) if a.buffer == 65536));
        let cli = parse(&[
            "npaa",
            "append",
            "d.npy",
            "s.npy",
            "--durability",
            "every:1M",
        ]);
        assert!(
            matches!(cli.unwrap().command, Command::Append(a) if a.durability == Durability::EveryBytes(1 << 20))
        );
        assert!(
            parse(&[
                "npaa",
                "append",
                "d.npy",
                "s.npy",
                "--durability",
                "every:0"
            ])
            .is_err()
        );
        assert!(parse(&["npaa", "append", "d.npy", "s.npy", "--buffer", "lots"]).is_err());
    }

    #[test]
    fn item_shapes() {
        assert_eq!(parse_item_shape("3"), Ok(ItemShape(vec![3])));
        assert_eq!(parse_item_shape("480,640"), Ok(ItemShape(vec![480, 640])));
        assert_eq!(parse_item_shape("(2, 3)"), Ok(ItemShape(vec![2, 3])));
        assert_eq!(parse_item_shape(""), Ok(ItemShape(vec![])));
        assert!(parse_item_shape("3,x").is_err());
        assert!(parse_item_shape("-3").is_err());
    }

    #[test]
    fn row_slices_follow_python() {
        let r = |s: &str| parse_rows(s).unwrap().resolve(100);
        assert_eq!(r(":10"), Ok((0, 10)));
        assert_eq!(r("5:"), Ok((5, 100)));
        assert_eq!(r("-5:"), Ok((95, 100)));
        assert_eq!(r(":-1"), Ok((0, 99)));
        assert_eq!(r("90:200"), Ok((90, 100)));
        assert_eq!(r("50:10"), Ok((50, 50)));
        assert_eq!(r("-500:"), Ok((0, 100)));
        assert_eq!(r("7"), Ok((7, 8)));
        assert_eq!(r("-1"), Ok((99, 100)));
        assert_eq!(r("-100"), Ok((0, 1)));
        assert!(r("100").is_err());
        assert!(r("-101").is_err());
        assert!(parse_rows("a:b").is_err());
    }
}
