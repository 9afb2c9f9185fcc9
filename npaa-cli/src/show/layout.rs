//! Layout: NumPy's `_formatArray`, streaming: brackets, separators, line wrapping at 75
//! columns and the `...` of summarised axes.

use std::io::{self, Write};

use super::LINE_WIDTH;
use super::summary::{Axis, EDGE_ITEMS};

/// Writes an array whose printed items, in C order over `axes` (at least one, none of
/// length zero), `next` formats one by one, as `print` lays it out: `...` in place of the
/// middle of each summarised axis.
pub fn write_array(
    out: &mut dyn Write,
    axes: &[Axis],
    next: &mut dyn FnMut() -> io::Result<String>,
) -> io::Result<()> {
    recurse(out, axes, 1, LINE_WIDTH, next)?;
    writeln!(out)
}

fn recurse(
    out: &mut dyn Write,
    axes: &[Axis],
    hanging: usize,
    width: usize,
    next: &mut dyn FnMut() -> io::Result<String>,
) -> io::Result<()> {
    let Some((&axis, rest)) = axes.split_first() else {
        return Ok(());
    };
    let n = axis.count();
    out.write_all(b"[")?;
    if rest.is_empty() {
        // The last axis: words separated by ' ', wrapped before the closing bracket's column.
        let elem_width = width.saturating_sub(1);
        let indent = " ".repeat(hanging);
        let mut line = indent.clone();
        let mut line_chars = hanging;
        let mut first_line = true;
        let emit = |out: &mut dyn Write, line: &str, first: bool| -> io::Result<()> {
            // The first line's indentation is replaced by the brackets already written.
            let text = if first { &line[hanging..] } else { line };
            out.write_all(text.as_bytes())
        };
        let mut add = |out: &mut dyn Write, word: &str, last: bool| -> io::Result<()> {
            let word_chars = word.chars().count();
            if line_chars + word_chars > elem_width && line_chars > hanging {
                emit(out, line.trim_end(), first_line)?;
                out.write_all(b"\n")?;
                first_line = false;
                line.clone_from(&indent);
                line_chars = hanging;
            }
            line.push_str(word);
            line_chars += word_chars;
            if !last {
                line.push(' ');
                line_chars += 1;
            }
            Ok(())
        };
        for i in 0..n {
            if axis.summarised && i == EDGE_ITEMS {
                add(out, "...", false)?;
            }
            add(out, &next()?, i + 1 == n)?;
        }
        emit(out, &line, first_line)?;
    } else {
        let separator = "\n".repeat(rest.len());
        for i in 0..n {
            if i > 0 {
                out.write_all(" ".repeat(hanging).as_bytes())?;
            }
            if axis.summarised && i == EDGE_ITEMS {
                out.write_all(b"...")?;
                out.write_all(separator.as_bytes())?;
                out.write_all(" ".repeat(hanging).as_bytes())?;
            }
            recurse(out, rest, hanging + 1, width.saturating_sub(1), next)?;
            if i + 1 < n {
                out.write_all(separator.as_bytes())?;
            }
        }
    }
    out.write_all(b"]")
}
