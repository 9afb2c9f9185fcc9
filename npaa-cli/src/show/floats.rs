//! Floats: NumPy's `FloatingFormat` (floatmode 'maxprec', precision 8), for real and
//! complex values.

use super::{FloatTy, PRECISION};

/// The decimal digits of a finite float: `digits[0].digits[1..] × 10^exp`.
#[derive(Debug, PartialEq)]
pub(super) struct Decimal {
    negative: bool,
    digits: String,
    exp: i32,
}

/// Parses Rust's `{:e}` output (`-1.25e-7`).
pub(super) fn parse_exp(s: &str) -> Decimal {
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (mantissa, exp) = s.split_once('e').unwrap_or((s, "0"));
    Decimal {
        negative,
        digits: mantissa.replace('.', ""),
        exp: exp.parse().unwrap_or(0),
    }
}

/// The shortest digits that read back as the same value of type `ty` (as Python's `repr`
/// and NumPy's Dragon4 in unique mode).
pub(super) fn shortest(v: f64, ty: FloatTy) -> Decimal {
    match ty {
        FloatTy::F64 | FloatTy::Long => parse_exp(&format!("{v:e}")),
        FloatTy::F32 => parse_exp(&format!("{:e}", v as f32)),
        FloatTy::F16 => {
            let target = half::f16::from_f64(v);
            (0..17)
                .map(|p| format!("{v:.p$e}"))
                .find(|s| {
                    s.parse::<f64>()
                        .is_ok_and(|back| half::f16::from_f64(back) == target)
                })
                .map_or_else(|| parse_exp(&format!("{v:e}")), |s| parse_exp(&s))
        }
    }
}

/// `(integer part with sign, fraction digits)` of Dragon4 positional output, unique digits
/// capped at `PRECISION` fractional digits, trailing zeros trimmed (trim mode `.`).
pub(super) fn positional(v: f64, ty: FloatTy, plus: bool) -> (String, String) {
    positional_from(&shortest(v, ty), v, plus)
}

/// [`positional`] from the shortest digits `d` of `v`.
pub(super) fn positional_from(d: &Decimal, v: f64, plus: bool) -> (String, String) {
    let (mut int, mut frac) = if d.exp >= 0 {
        let int_len = (d.exp + 1) as usize;
        if d.digits.len() > int_len {
            (
                d.digits[..int_len].to_owned(),
                d.digits[int_len..].to_owned(),
            )
        } else {
            (
                format!("{}{}", d.digits, "0".repeat(int_len - d.digits.len())),
                String::new(),
            )
        }
    } else {
        (
            "0".to_owned(),
            format!("{}{}", "0".repeat((-d.exp - 1) as usize), d.digits),
        )
    };
    if frac.len() > PRECISION {
        // Too many digits: round the exact value (Rust formats exactly, ties to even, as
        // Dragon4 does).
        let s = format!("{:.p$}", v.abs(), p = PRECISION);
        let (i, f) = s.split_once('.').unwrap_or((&s, ""));
        int = i.to_owned();
        frac = f.to_owned();
    }
    let frac = frac.trim_end_matches('0').to_owned();
    let sign = if d.negative {
        "-"
    } else if plus {
        "+"
    } else {
        ""
    };
    (format!("{sign}{int}"), frac)
}

/// `(mantissa integer digit with sign, fraction digits, exponent)` of Dragon4 scientific
/// output in unique mode, capped at `PRECISION` fractional digits, zeros trimmed.
pub(super) fn scientific_from(d: &Decimal, v: f64, plus: bool) -> (String, String, i32) {
    let capped;
    let d = if d.digits.len() > PRECISION + 1 {
        let mut c = parse_exp(&format!("{:.p$e}", v.abs(), p = PRECISION));
        c.negative = d.negative;
        capped = c;
        &capped
    } else {
        d
    };
    let sign = if d.negative {
        "-"
    } else if plus {
        "+"
    } else {
        ""
    };
    let frac = d.digits[1..].trim_end_matches('0').to_owned();
    (format!("{sign}{}", &d.digits[..1]), frac, d.exp)
}

/// Whether `|v|` is below 1e-4, compared in the array's own type as NumPy does.
pub(super) fn below_small_cutoff(v: f64, ty: FloatTy) -> bool {
    match ty {
        FloatTy::F16 => v < half::f16::from_f64(1e-4).to_f64(),
        FloatTy::F32 => (v as f32) < 1e-4f32,
        FloatTy::F64 | FloatTy::Long => v < 1e-4,
    }
}

/// NumPy's FloatingFormat for one column of values.
#[derive(Debug)]
pub(super) struct FloatFormat {
    ty: FloatTy,
    /// `sign='+'` (the imaginary part of complex numbers).
    plus: bool,
    // Statistics.
    finite: u64,
    nonfinite: bool,
    neg_inf: bool,
    abs_min: f64,
    abs_max: f64,
    nonzero: u64,
    pos_int: usize,
    pos_frac: usize,
    sci_int: usize,
    sci_frac: usize,
    sci_exp: usize,
    // Format, after `finish`.
    exp_format: bool,
    pad_left: usize,
    pad_right: usize,
    precision: usize,
    exp_size: usize,
}

impl FloatFormat {
    pub(super) fn new(ty: FloatTy, plus: bool) -> Self {
        FloatFormat {
            ty,
            plus,
            finite: 0,
            nonfinite: false,
            neg_inf: false,
            abs_min: f64::INFINITY,
            abs_max: 0.0,
            nonzero: 0,
            pos_int: 0,
            pos_frac: 0,
            sci_int: 0,
            sci_frac: 0,
            sci_exp: 0,
            exp_format: false,
            pad_left: 0,
            pad_right: 0,
            precision: 0,
            exp_size: 0,
        }
    }

    pub(super) fn observe(&mut self, v: f64) {
        if !v.is_finite() {
            self.nonfinite = true;
            self.neg_inf |= v == f64::NEG_INFINITY;
            return;
        }
        self.finite += 1;
        if v != 0.0 {
            self.nonzero += 1;
            self.abs_min = self.abs_min.min(v.abs());
            self.abs_max = self.abs_max.max(v.abs());
        }
        let d = shortest(v, self.ty);
        let (int, frac) = positional_from(&d, v, self.plus);
        self.pos_int = self.pos_int.max(int.len());
        self.pos_frac = self.pos_frac.max(frac.len());
        let (int, frac, exp) = scientific_from(&d, v, self.plus);
        self.sci_int = self.sci_int.max(int.len());
        self.sci_frac = self.sci_frac.max(frac.len());
        self.sci_exp = self
            .sci_exp
            .max(exp.unsigned_abs().to_string().len().max(2));
    }

    pub(super) fn finish(&mut self) {
        if self.nonzero > 0 {
            let cutoff = match self.ty {
                FloatTy::F16 => 1e3,
                FloatTy::F32 => 1e6,
                FloatTy::F64 | FloatTy::Long => 1e8,
            };
            let ratio_big = match self.ty {
                FloatTy::F16 => {
                    half::f16::from_f32(self.abs_max as f32 / self.abs_min as f32).to_f32() > 1000.0
                }
                FloatTy::F32 => self.abs_max as f32 / self.abs_min as f32 > 1000.0,
                FloatTy::F64 | FloatTy::Long => self.abs_max / self.abs_min > 1000.0,
            };
            self.exp_format =
                self.abs_max >= cutoff || below_small_cutoff(self.abs_min, self.ty) || ratio_big;
        }
        if self.finite == 0 {
            self.pad_left = 0;
            self.pad_right = 0;
        } else if self.exp_format {
            self.precision = self.sci_frac;
            self.exp_size = self.sci_exp;
            self.pad_left = self.sci_int;
            self.pad_right = self.exp_size + 2 + self.precision;
        } else {
            self.pad_left = self.pos_int;
            self.pad_right = self.pos_frac;
        }
        if self.nonfinite {
            let neg_inf = usize::from(self.plus || self.neg_inf);
            let offset = self.pad_right + 1;
            self.pad_left = self
                .pad_left
                .max(3usize.saturating_sub(offset))
                .max((3 + neg_inf).saturating_sub(offset));
        }
    }

    pub(super) fn format(&self, v: f64) -> String {
        if !v.is_finite() {
            let text = if v.is_nan() {
                if self.plus { "+nan" } else { "nan" }
            } else if v < 0.0 {
                "-inf"
            } else if self.plus {
                "+inf"
            } else {
                "inf"
            };
            return format!("{text:>w$}", w = self.pad_left + self.pad_right + 1);
        }
        if self.exp_format {
            // unique=True with min_digits=precision: exactly `precision` digits, the
            // extra ones being the value's own digits, rounded.
            let d = parse_exp(&format!("{:.p$e}", v.abs(), p = self.precision));
            let sign = if v.is_sign_negative() {
                "-"
            } else if self.plus {
                "+"
            } else {
                ""
            };
            let int = format!("{sign}{}", &d.digits[..1]);
            let exp_sign = if d.exp < 0 { '-' } else { '+' };
            format!(
                "{int:>pl$}.{}e{exp_sign}{:0ew$}",
                &d.digits[1..],
                d.exp.unsigned_abs(),
                pl = self.pad_left,
                ew = self.exp_size
            )
        } else {
            let (int, frac) = positional(v, self.ty, self.plus);
            format!(
                "{int:>pl$}.{frac:<pr$}",
                pl = self.pad_left,
                pr = self.pad_right
            )
        }
    }
}

/// `str` of a NumPy float scalar: Python's float repr style, with NumPy's per-type switch to
/// scientific notation (at 1e3 for float16, 1e6 for float32, 1e16 for float64).
pub(super) fn float_str(v: f64, ty: FloatTy) -> String {
    if v.is_nan() {
        return "nan".to_owned();
    }
    if v.is_infinite() {
        return if v < 0.0 { "-inf" } else { "inf" }.to_owned();
    }
    let cutoff = match ty {
        FloatTy::F16 => 1e3,
        FloatTy::F32 => 1e6,
        FloatTy::F64 | FloatTy::Long => 1e16,
    };
    let a = v.abs();
    if a == 0.0 || (1e-4..cutoff).contains(&a) {
        let (int, frac) = positional_unbounded(v, ty);
        let frac = if frac.is_empty() {
            "0".to_owned()
        } else {
            frac
        };
        format!("{int}.{frac}")
    } else {
        let d = shortest(v, ty);
        let sign = if d.negative { "-" } else { "" };
        let frac = &d.digits[1..];
        let mantissa = if frac.is_empty() {
            d.digits[..1].to_owned()
        } else {
            format!("{}.{frac}", &d.digits[..1])
        };
        let exp_sign = if d.exp < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exp_sign}{:02}", d.exp.unsigned_abs())
    }
}

/// Positional digits of the shortest representation, without the precision cap.
pub(super) fn positional_unbounded(v: f64, ty: FloatTy) -> (String, String) {
    let d = shortest(v, ty);
    let sign = if d.negative { "-" } else { "" };
    let (int, frac) = if d.exp >= 0 {
        let int_len = (d.exp + 1) as usize;
        if d.digits.len() > int_len {
            (
                d.digits[..int_len].to_owned(),
                d.digits[int_len..].to_owned(),
            )
        } else {
            let zeros = "0".repeat(int_len - d.digits.len());
            (format!("{}{zeros}", d.digits), String::new())
        }
    } else {
        let zeros = "0".repeat((-d.exp - 1) as usize);
        ("0".to_owned(), format!("{zeros}{}", d.digits))
    };
    (
        format!("{sign}{int}"),
        frac.trim_end_matches('0').to_owned(),
    )
}

/// `str` of a NumPy complex scalar: `(1.5-2j)`, `2j`, `(nan+infj)`.
pub(super) fn complex_str(re: f64, im: f64, ty: FloatTy) -> String {
    // Python's complex repr: parts as float repr without a trailing ".0".
    let part = |v: f64| {
        let s = float_str(v, ty);
        s.strip_suffix(".0").map(str::to_owned).unwrap_or(s)
    };
    let imag = part(im);
    if re == 0.0 && re.is_sign_positive() {
        return format!("{imag}j");
    }
    let sign = if imag.starts_with('-') { "" } else { "+" };
    format!("({}{sign}{imag}j)", part(re))
}
