//! A parser for the Python literals found in .npy headers.
//!
//! NumPy reads a header with `ast.literal_eval`. This module accepts the subset of Python
//! literal syntax that a header can hold: dicts, tuples, lists, `str` and `bytes` literals,
//! decimal integers, `True`, `False` and `None`. It also renders values back the way Python's
//! `repr` does, for error messages and for writing headers (the `repr` of a `str` or `bytes`
//! is `fmt`'s).
//!
//! The header reader (`header/read.rs`) and the descr parser (`dtype/parse.rs`) both read
//! with it, so it is a module of its own below both, not a part of `header/`: inside
//! `header/`, `dtype` would import `header` while `header` imports `dtype`.
//!
//! The parser is iterative (an explicit stack, not recursion), so hostile input such as
//! 100 000 opening brackets is refused with [`FormatError::TooDeep`] instead of overflowing the
//! stack.

use std::fmt::Write as _;

use crate::error::FormatError;
use crate::fmt::{write_repr_bytes, write_repr_str};

/// How deeply containers (dicts, lists, tuples, parentheses) may nest.
pub(crate) const MAX_DEPTH: usize = 32;

/// A parsed Python literal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Value {
    /// A `str` literal: `'abc'`, `"it's"`, `u'x'`.
    Str(String),
    /// A `bytes` literal: `b'\x00ab'`.
    Bytes(Vec<u8>),
    /// A decimal integer literal, with its sign.
    Int(i128),
    /// `True` or `False`.
    Bool(bool),
    /// `None`.
    None,
    /// A tuple: `()`, `(1,)`, `(1, 2)`.
    Tuple(Vec<Value>),
    /// A list: `[1, 2]`.
    List(Vec<Value>),
    /// A dict, entries in source order. Duplicate keys are kept (Python keeps the last).
    Dict(Vec<(Value, Value)>),
}

/// Parses `text` as one Python literal.
///
/// `allow_long_suffix` accepts the `L` suffix of Python 2 integers (`10L`), which NumPy accepts
/// in format version 1.0 and 2.0 headers.
///
/// # Errors
/// [`FormatError::Syntax`] (with the byte offset) for anything that is not such a literal,
/// including integers outside `i128`; [`FormatError::TooDeep`] when containers nest deeper than
/// [`MAX_DEPTH`] levels.
pub(crate) fn parse(text: &str, allow_long_suffix: bool) -> Result<Value, FormatError> {
    Parser {
        text,
        pos: 0,
        allow_long_suffix,
    }
    .parse()
}

impl Value {
    /// Renders the value as Python's `repr()` would (for messages and header text).
    pub(crate) fn repr(&self) -> String {
        let mut out = String::new();
        self.write_repr(&mut out);
        out
    }

    /// Appends the value's `repr()` to `out`.
    ///
    /// Recursion depth is bounded by the nesting of the value, which is at most
    /// [`MAX_DEPTH`] for parsed values.
    pub(crate) fn write_repr(&self, out: &mut String) {
        match self {
            Value::Str(s) => write_repr_str(s, out),
            Value::Bytes(b) => write_repr_bytes(b, out),
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Bool(true) => out.push_str("True"),
            Value::Bool(false) => out.push_str("False"),
            Value::None => out.push_str("None"),
            Value::Tuple(items) => {
                out.push('(');
                write_items(items, out);
                if items.len() == 1 {
                    out.push(',');
                }
                out.push(')');
            }
            Value::List(items) => {
                out.push('[');
                write_items(items, out);
                out.push(']');
            }
            Value::Dict(entries) => {
                out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    k.write_repr(out);
                    out.push_str(": ");
                    v.write_repr(out);
                }
                out.push('}');
            }
        }
    }

    /// Whether Python could use the value as a dict key (lists and dicts cannot be hashed).
    fn is_hashable(&self) -> bool {
        match self {
            Value::List(_) | Value::Dict(_) => false,
            Value::Tuple(items) => items.iter().all(Value::is_hashable),
            _ => true,
        }
    }
}

fn write_items(items: &[Value], out: &mut String) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        item.write_repr(out);
    }
}

/// An open container on the parser's stack.
enum Frame {
    List(Vec<Value>),
    /// `( ... )`: a tuple, or a parenthesized value when it holds one item and no comma.
    Paren {
        items: Vec<Value>,
        comma: bool,
    },
    /// `{ ... }`; `key` holds a key whose `:` and value are still to come.
    Dict {
        entries: Vec<(Value, Value)>,
        key: Option<Value>,
    },
}

/// What the parser expects next.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A value; `may_close` if a closing bracket is also fine here (right after the opening
    /// bracket or after a comma).
    Value { may_close: bool },
    /// A `,`, a closing bracket, or the end of the text.
    AfterValue,
    /// The `:` after a dict key.
    Colon,
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
    allow_long_suffix: bool,
}

impl<'a> Parser<'a> {
    fn parse(mut self) -> Result<Value, FormatError> {
        let mut stack: Vec<Frame> = Vec::new();
        let mut expect = Expect::Value { may_close: false };
        loop {
            self.skip_ws();
            let start = self.pos;
            let Some(c) = self.peek() else {
                return Err(self.err(
                    start,
                    if stack.is_empty() && expect != Expect::AfterValue {
                        "expected a value, found the end of the text"
                    } else {
                        "unexpected end of the text (unclosed bracket?)"
                    },
                ));
            };
            let completed = match expect {
                Expect::Value { may_close } => match c {
                    '[' | '(' | '{' => {
                        if stack.len() >= MAX_DEPTH {
                            return Err(FormatError::TooDeep { limit: MAX_DEPTH });
                        }
                        self.pos += 1;
                        stack.push(match c {
                            '[' => Frame::List(Vec::new()),
                            '(' => Frame::Paren {
                                items: Vec::new(),
                                comma: false,
                            },
                            _ => Frame::Dict {
                                entries: Vec::new(),
                                key: None,
                            },
                        });
                        expect = Expect::Value { may_close: true };
                        continue;
                    }
                    ']' | ')' | '}' if may_close => self.close(&mut stack, c)?,
                    _ => self.atom()?,
                },
                Expect::Colon => {
                    if c != ':' {
                        return Err(self.err(start, "expected ':' after a dict key"));
                    }
                    self.pos += 1;
                    expect = Expect::Value { may_close: false };
                    continue;
                }
                Expect::AfterValue => match (stack.last_mut(), c) {
                    (None, _) => {
                        return Err(self.err(start, "unexpected characters after the value"));
                    }
                    (Some(frame), ',') => {
                        if let Frame::Paren { comma, .. } = frame {
                            *comma = true;
                        }
                        self.pos += 1;
                        expect = Expect::Value { may_close: true };
                        continue;
                    }
                    (Some(_), ']' | ')' | '}') => self.close(&mut stack, c)?,
                    (Some(Frame::List(_)), _) => {
                        return Err(self.err(start, "expected ',' or ']' in a list"));
                    }
                    (Some(Frame::Paren { .. }), _) => {
                        return Err(self.err(start, "expected ',' or ')' in a tuple"));
                    }
                    (Some(Frame::Dict { .. }), _) => {
                        return Err(self.err(start, "expected ',' or '}' in a dict"));
                    }
                },
            };
            // A value is complete: hand it to the innermost container.
            match stack.last_mut() {
                None => {
                    self.skip_ws();
                    if self.pos < self.text.len() {
                        return Err(self.err(self.pos, "unexpected characters after the value"));
                    }
                    return Ok(completed);
                }
                Some(Frame::List(items) | Frame::Paren { items, .. }) => {
                    items.push(completed);
                    expect = Expect::AfterValue;
                }
                Some(Frame::Dict { entries, key }) => match key.take() {
                    Some(k) => {
                        entries.push((k, completed));
                        expect = Expect::AfterValue;
                    }
                    None => {
                        if !completed.is_hashable() {
                            return Err(self.err(start, "a list or dict cannot be a dict key"));
                        }
                        *key = Some(completed);
                        expect = Expect::Colon;
                    }
                },
            }
        }
    }

    /// Pops the innermost container at its closing bracket `c` and returns its value.
    fn close(&mut self, stack: &mut Vec<Frame>, c: char) -> Result<Value, FormatError> {
        let at = self.pos;
        let value = match (stack.pop(), c) {
            (Some(Frame::List(items)), ']') => Value::List(items),
            (Some(Frame::Paren { mut items, comma }), ')') => {
                if !comma && items.len() == 1 {
                    // `(x)` is x itself, as in Python.
                    items.pop().unwrap_or(Value::None)
                } else {
                    Value::Tuple(items)
                }
            }
            (Some(Frame::Dict { entries, key: None }), '}') => Value::Dict(entries),
            (Some(Frame::Dict { key: Some(_), .. }), '}') => {
                return Err(self.err(at, "expected ':' after a dict key"));
            }
            _ => {
                return Err(self.err(at, &format!("unmatched closing bracket '{c}'")));
            }
        };
        self.pos += 1;
        Ok(value)
    }

    /// Parses a string, bytes, integer or keyword at the current position.
    fn atom(&mut self) -> Result<Value, FormatError> {
        let start = self.pos;
        let Some(c) = self.peek() else {
            return Err(self.err(start, "expected a value"));
        };
        match c {
            '\'' | '"' => self.string(start, false),
            '0'..='9' | '-' | '+' => self.int(start),
            c if c.is_alphabetic() || c == '_' => {
                let word = self.identifier();
                match (word, self.peek()) {
                    ("u" | "U", Some('\'' | '"')) => self.string(start, false),
                    ("b" | "B", Some('\'' | '"')) => self.string(start, true),
                    (_, Some('\'' | '"')) => Err(self.err(
                        start,
                        &format!("unsupported string prefix '{word}' (only u and b are accepted)"),
                    )),
                    ("True", _) => Ok(Value::Bool(true)),
                    ("False", _) => Ok(Value::Bool(false)),
                    ("None", _) => Ok(Value::None),
                    _ => Err(self.err(
                        start,
                        &format!(
                            "unexpected name '{word}' (only True, False and None are literals)"
                        ),
                    )),
                }
            }
            c => Err(self.err(start, &format!("unexpected character {c:?}"))),
        }
    }

    /// Reads a run of identifier characters.
    fn identifier(&mut self) -> &'a str {
        let text: &'a str = self.text;
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_alphanumeric() || c == '_' {
                self.pos += c.len_utf8();
            } else {
                break;
            }
        }
        text.get(start..self.pos).unwrap_or("")
    }

    /// Parses a decimal integer with an optional sign (whitespace may follow the sign).
    fn int(&mut self, start: usize) -> Result<Value, FormatError> {
        let negative = match self.peek() {
            Some('-') => {
                self.pos += 1;
                true
            }
            Some('+') => {
                self.pos += 1;
                false
            }
            _ => false,
        };
        if self.pos > start {
            // Python allows `- 5`.
            self.skip_ws();
        }
        let digits_start = self.pos;
        let mut acc: i128 = 0;
        let mut overflow = false;
        while let Some(d) = self.peek().and_then(|c| c.to_digit(10)) {
            self.pos += 1;
            let d = i128::from(d);
            let next = acc.checked_mul(10).and_then(|a| {
                if negative {
                    a.checked_sub(d)
                } else {
                    a.checked_add(d)
                }
            });
            match next {
                Some(n) => acc = n,
                None => overflow = true,
            }
        }
        let digits = self.text.get(digits_start..self.pos).unwrap_or("");
        if digits.is_empty() {
            return Err(self.err(self.pos, "expected digits after the sign"));
        }
        if digits.len() > 1 && digits.starts_with('0') && digits.bytes().any(|b| b != b'0') {
            return Err(self.err(
                digits_start,
                "leading zeros in decimal integer literals are not permitted",
            ));
        }
        if matches!(self.peek(), Some('L' | 'l')) {
            if !self.allow_long_suffix {
                return Err(self.err(
                    self.pos,
                    "the Python 2 'L' integer suffix is only accepted in version 1.0 and 2.0 headers",
                ));
            }
            self.pos += 1;
        }
        if let Some(c) = self.peek()
            && (c.is_alphanumeric() || c == '_' || c == '.')
        {
            return Err(self.err(
                self.pos,
                "invalid number (only decimal integers are accepted)",
            ));
        }
        if overflow {
            return Err(self.err(start, "integer literal too large"));
        }
        Ok(Value::Int(acc))
    }

    /// Parses a quoted literal; the current position is at the opening quote.
    fn string(&mut self, start: usize, bytes: bool) -> Result<Value, FormatError> {
        let Some(quote) = self.peek() else {
            return Err(self.err(start, "expected a string"));
        };
        let rest = self.text.get(self.pos..).unwrap_or("");
        if rest.starts_with("'''") || rest.starts_with("\"\"\"") {
            return Err(self.err(start, "triple-quoted strings are not supported"));
        }
        self.pos += 1;
        let mut out = String::new();
        let mut raw: Vec<u8> = Vec::new();
        loop {
            let at = self.pos;
            let Some(c) = self.peek() else {
                return Err(self.err(start, "unterminated string literal"));
            };
            self.pos += c.len_utf8();
            if c == quote {
                break;
            }
            let decoded = match c {
                '\n' | '\r' => {
                    return Err(self.err(start, "unterminated string literal (line break)"));
                }
                '\\' => self.escape(at, bytes)?,
                c => Piece::Char(c),
            };
            match decoded {
                Piece::Nothing => {}
                Piece::Char(c) if bytes => {
                    if !c.is_ascii() {
                        return Err(self.err(at, "bytes can only contain ASCII literal characters"));
                    }
                    raw.push(c as u8);
                }
                Piece::Char(c) => out.push(c),
                Piece::Byte(b) => raw.push(b),
                Piece::Two(a, b) => {
                    if bytes {
                        if !b.is_ascii() {
                            return Err(
                                self.err(at, "bytes can only contain ASCII literal characters")
                            );
                        }
                        raw.push(a as u8);
                        raw.push(b as u8);
                    } else {
                        out.push(a);
                        out.push(b);
                    }
                }
            }
        }
        Ok(if bytes {
            Value::Bytes(raw)
        } else {
            Value::Str(out)
        })
    }

    /// Decodes the escape sequence after a backslash at byte `at`.
    fn escape(&mut self, at: usize, bytes: bool) -> Result<Piece, FormatError> {
        let Some(c) = self.peek() else {
            return Err(self.err(at, "unterminated string literal"));
        };
        self.pos += c.len_utf8();
        Ok(match c {
            '\n' => Piece::Nothing,
            '\r' => {
                if self.peek() == Some('\n') {
                    self.pos += 1;
                }
                Piece::Nothing
            }
            '\\' | '\'' | '"' => Piece::Char(c),
            'a' => Piece::Char('\x07'),
            'b' => Piece::Char('\x08'),
            'f' => Piece::Char('\x0c'),
            'n' => Piece::Char('\n'),
            'r' => Piece::Char('\r'),
            't' => Piece::Char('\t'),
            'v' => Piece::Char('\x0b'),
            '0'..='7' => {
                let mut value = c.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match self.peek().and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            value = value * 8 + d;
                            self.pos += 1;
                        }
                        None => break,
                    }
                }
                if bytes {
                    // Python keeps the low 8 bits of b'\777' (with a warning).
                    Piece::Byte((value & 0xff) as u8)
                } else {
                    Piece::Char(char::from_u32(value).unwrap_or('\u{fffd}'))
                }
            }
            'x' => {
                let value = self.hex_digits(at, 2, "truncated \\xXX escape")?;
                if bytes {
                    Piece::Byte((value & 0xff) as u8)
                } else {
                    Piece::Char(char::from_u32(value).unwrap_or('\u{fffd}'))
                }
            }
            'u' | 'U' if !bytes => {
                let (n, what) = if c == 'u' {
                    (4, "truncated \\uXXXX escape")
                } else {
                    (8, "truncated \\UXXXXXXXX escape")
                };
                let value = self.hex_digits(at, n, what)?;
                match char::from_u32(value) {
                    Some(ch) => Piece::Char(ch),
                    None if (0xd800..=0xdfff).contains(&value) => {
                        return Err(self.err(at, "lone surrogate code points are not supported"));
                    }
                    None => return Err(self.err(at, "illegal Unicode character")),
                }
            }
            'N' if !bytes => {
                return Err(self.err(at, "named Unicode escapes (\\N{...}) are not supported"));
            }
            // Python keeps unknown escapes as they are (backslash included).
            other => Piece::Two('\\', other),
        })
    }

    /// Reads exactly `n` hex digits.
    fn hex_digits(&mut self, at: usize, n: usize, what: &str) -> Result<u32, FormatError> {
        let mut value: u32 = 0;
        for _ in 0..n {
            let Some(d) = self.peek().and_then(|c| c.to_digit(16)) else {
                return Err(self.err(at, what));
            };
            value = (value << 4) | d;
            self.pos += 1;
        }
        Ok(value)
    }

    fn peek(&self) -> Option<char> {
        self.text.get(self.pos..).and_then(|s| s.chars().next())
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c') {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn err(&self, pos: usize, msg: &str) -> FormatError {
        FormatError::Syntax {
            pos,
            msg: msg.to_owned(),
        }
    }
}

/// What one character or escape sequence of a string literal contributes.
enum Piece {
    Nothing,
    Char(char),
    Byte(u8),
    /// An unknown escape kept as backslash + character.
    Two(char, char),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Value {
        parse(text, false).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    fn syntax_err(text: &str) -> (usize, String) {
        match parse(text, false) {
            Err(FormatError::Syntax { pos, msg }) => (pos, msg),
            other => panic!("{text:?}: expected a syntax error, got {other:?}"),
        }
    }

    fn s(x: &str) -> Value {
        Value::Str(x.to_owned())
    }

    #[test]
    fn parses_a_numpy_header() {
        let v = p("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }      \n");
        assert_eq!(
            v,
            Value::Dict(vec![
                (s("descr"), s("<f8")),
                (s("fortran_order"), Value::Bool(false)),
                (s("shape"), Value::Tuple(vec![Value::Int(3), Value::Int(4)])),
            ])
        );
        assert_eq!(
            v.repr(),
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4)}"
        );
    }

    #[test]
    fn tuples_and_parentheses_follow_python() {
        assert_eq!(p("()"), Value::Tuple(vec![]));
        assert_eq!(p("(1,)"), Value::Tuple(vec![Value::Int(1)]));
        assert_eq!(
            p("(1, 2)"),
            Value::Tuple(vec![Value::Int(1), Value::Int(2)])
        );
        assert_eq!(
            p("(1, 2,)"),
            Value::Tuple(vec![Value::Int(1), Value::Int(2)])
        );
        assert_eq!(p("(1)"), Value::Int(1));
        assert_eq!(p("((1,))"), Value::Tuple(vec![Value::Int(1)]));
        assert_eq!(p("[]"), Value::List(vec![]));
        assert_eq!(p("[1,]"), Value::List(vec![Value::Int(1)]));
        assert_eq!(p("{}"), Value::Dict(vec![]));
        assert_eq!(p("(1,)").repr(), "(1,)");
        assert_eq!(p("()").repr(), "()");
        assert_eq!(p("[(1, 2), []]").repr(), "[(1, 2), []]");
    }

    #[test]
    fn whitespace_anywhere_between_tokens() {
        let v = p(" \t{\n'descr' :\t'<i4' ,\r\n 'shape'\n:\n(\n5\n,\n)\n}\n\n  ");
        assert_eq!(
            v,
            Value::Dict(vec![
                (s("descr"), s("<i4")),
                (s("shape"), Value::Tuple(vec![Value::Int(5)])),
            ])
        );
    }

    #[test]
    fn duplicate_keys_are_kept_in_order() {
        let v = p("{'a': 1, 'a': 2}");
        assert_eq!(
            v,
            Value::Dict(vec![(s("a"), Value::Int(1)), (s("a"), Value::Int(2))])
        );
    }

    #[test]
    fn strings_quotes_prefixes_and_escapes() {
        assert_eq!(p("'abc'"), s("abc"));
        assert_eq!(p("\"it's\""), s("it's"));
        assert_eq!(p("u'x'"), s("x"));
        assert_eq!(p("U\"x\""), s("x"));
        assert_eq!(
            p(r#"'\\ \' \" \n \r \t \0 \a \b \f \v'"#),
            s("\\ ' \" \n \r \t \0 \x07 \x08 \x0c \x0b")
        );
        assert_eq!(p(r"'\x41\x7f\xe9'"), s("A\x7f\u{e9}"));
        assert_eq!(p(r"'\u00e9\u4e2d\U0001F600'"), s("\u{e9}\u{4e2d}\u{1f600}"));
        assert_eq!(p(r"'\101\7\777'"), s("A\x07\u{1ff}"));
        // Line continuation, with \n or \r\n.
        assert_eq!(p("'a\\\nb\\\r\nc'"), s("abc"));
        // Unknown escapes are kept, as Python does.
        assert_eq!(p(r"'\q\8'"), s("\\q\\8"));
        assert_eq!(p("'é中'"), s("é中"));
    }

    #[test]
    fn bytes_literals() {
        assert_eq!(p("b'ab'"), Value::Bytes(b"ab".to_vec()));
        assert_eq!(p("B\"a\""), Value::Bytes(b"a".to_vec()));
        assert_eq!(
            p(r"b'\x00\xff\777\n'"),
            Value::Bytes(vec![0, 0xff, 0xff, b'\n'])
        );
        // \u is not an escape in bytes.
        assert_eq!(p(r"b'\u1234'"), Value::Bytes(b"\\u1234".to_vec()));
        let (_, msg) = syntax_err("b'\u{e9}'");
        assert!(msg.contains("ASCII"), "{msg}");
    }

    #[test]
    fn integers() {
        assert_eq!(p("0"), Value::Int(0));
        assert_eq!(p("00"), Value::Int(0));
        assert_eq!(p("-5"), Value::Int(-5));
        assert_eq!(p("+5"), Value::Int(5));
        assert_eq!(p("- 5"), Value::Int(-5));
        assert_eq!(
            p("170141183460469231731687303715884105727"),
            Value::Int(i128::MAX)
        );
        assert_eq!(
            p("-170141183460469231731687303715884105728"),
            Value::Int(i128::MIN)
        );
        let (pos, msg) = syntax_err("(1, 170141183460469231731687303715884105728)");
        assert_eq!((pos, msg.as_str()), (4, "integer literal too large"));
        let (_, msg) = syntax_err("[99999999999999999999999999999999999999999999999999999]");
        assert_eq!(msg, "integer literal too large");
        assert!(syntax_err("01").1.contains("leading zeros"));
        assert!(syntax_err("1.5").1.contains("invalid number"));
        assert!(syntax_err("1e3").1.contains("invalid number"));
        assert!(syntax_err("0x10").1.contains("invalid number"));
        assert!(syntax_err("--5").1.contains("digits"));
        assert!(syntax_err("-").1.contains("digits"));
    }

    #[test]
    fn long_suffix_only_when_allowed() {
        assert_eq!(
            parse("(10L, 3l)", true),
            Ok(Value::Tuple(vec![Value::Int(10), Value::Int(3)]))
        );
        let (pos, msg) = syntax_err("(10L,)");
        assert_eq!(pos, 3);
        assert!(msg.contains("'L'"), "{msg}");
        assert!(parse("10LL", true).is_err());
    }

    #[test]
    fn keywords() {
        assert_eq!(p("True"), Value::Bool(true));
        assert_eq!(p("False"), Value::Bool(false));
        assert_eq!(p("None"), Value::None);
        assert_eq!(p("None").repr(), "None");
        assert!(syntax_err("Truex").1.contains("unexpected name 'Truex'"));
        assert!(syntax_err("true").1.contains("unexpected name"));
        assert!(syntax_err("r'x'").1.contains("prefix"));
    }

    #[test]
    fn syntax_errors_carry_positions() {
        assert_eq!(syntax_err("'abc").0, 0);
        assert!(syntax_err("'abc").1.contains("unterminated"));
        assert!(syntax_err("'a\nb'").1.contains("unterminated"));
        assert_eq!(syntax_err("{'a': 1} x").0, 9);
        assert!(syntax_err("{'a': 1} x").1.contains("after the value"));
        assert_eq!(syntax_err("[1)").0, 2);
        assert_eq!(syntax_err("(,)").0, 1);
        assert_eq!(syntax_err("[1,,2]").0, 3);
        assert_eq!(syntax_err("{1:}").0, 3);
        assert_eq!(syntax_err("{1, 2}").0, 2);
        assert_eq!(syntax_err("{'a' 1}").0, 5);
        assert_eq!(syntax_err("[1 2]").0, 3);
        assert_eq!(syntax_err("").0, 0);
        assert_eq!(syntax_err("   ").0, 3);
        assert!(syntax_err("[1, 2").1.contains("end of the text"));
        assert!(syntax_err("{[1]: 2}").1.contains("dict key"));
        assert!(syntax_err("{(1, [2]): 2}").1.contains("dict key"));
        assert!(syntax_err(r"'\x4'").1.contains("truncated"));
        assert!(syntax_err(r"'\ud800'").1.contains("surrogate"));
        assert!(syntax_err(r"'\U00110000'").1.contains("illegal"));
        assert!(syntax_err(r"'\N{DASH}'").1.contains("named"));
        assert!(syntax_err("'''x'''").1.contains("triple"));
        assert!(syntax_err("1.0").1.contains("invalid number"));
        assert!(syntax_err("{'a': set()}").1.contains("unexpected name"));
        assert!(syntax_err("@").1.contains("unexpected character"));
    }

    #[test]
    fn nesting_is_limited_without_recursion() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&ok, false).is_ok());
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(
            parse(&deep, false),
            Err(FormatError::TooDeep { limit: MAX_DEPTH })
        );
        let hostile = "[".repeat(100_000);
        assert_eq!(
            parse(&hostile, false),
            Err(FormatError::TooDeep { limit: 32 })
        );
        let mixed = "({[".repeat(20_000);
        assert_eq!(
            parse(&mixed, false),
            Err(FormatError::TooDeep { limit: 32 })
        );
    }

    #[test]
    fn repr_of_nested_values() {
        let v = p("{'a': [('x', '<i4', (2, 3)), ((u'T', 'y'), b'z')], 'b': (None, True, -7)}");
        assert_eq!(
            v.repr(),
            "{'a': [('x', '<i4', (2, 3)), (('T', 'y'), b'z')], 'b': (None, True, -7)}"
        );
    }

    #[test]
    fn never_panics_on_garbage() {
        let inputs = [
            "\\", "'\\", "b'\\", "'\\x", "'\\u12", "{", "}", "(", ")", "]", "{'a'", "{'a':",
            "{'a': 1", "{'a': 1,", "[(", "-", "+ ", "u", "b", "é", "\u{0}", "((((", "'é", "1L",
            "[1L", "'\\\r",
        ];
        for text in inputs {
            let _ = parse(text, true);
            let _ = parse(text, false);
        }
        // Random token soup (a fixed xorshift sequence, so failures reproduce).
        let tokens = [
            "(",
            ")",
            "[",
            "]",
            "{",
            "}",
            ",",
            ":",
            " ",
            "\n",
            "'",
            "\"",
            "\\",
            "b'",
            "u'",
            "1",
            "-",
            "0",
            "L",
            "True",
            "None",
            "x",
            "\\x4",
            "\\u12",
            "\\U0011",
            "\u{e9}",
            "'a'",
            "99999999999999999999999999999999999999999",
            "\r",
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            let mut text = String::new();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            for _ in 0..(state % 24) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(tokens[(state % tokens.len() as u64) as usize]);
            }
            if let Ok(v) = parse(&text, true) {
                // Whatever parses renders to something that parses to the same value.
                assert_eq!(parse(&v.repr(), false), Ok(v), "{text:?}");
            }
        }
    }
}
