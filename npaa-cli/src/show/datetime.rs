//! Integers and times: column widths of integers, and `datetime64` / `timedelta64` as
//! NumPy prints them (`np.datetime_as_string`).

use npaa_core::dtype::{DatetimeUnit, TimeUnit};

#[derive(Debug, Default)]
pub(super) struct IntStats {
    range: Option<(i128, i128)>,
}

impl IntStats {
    pub(super) fn observe(&mut self, v: i128) {
        self.range = Some(match self.range {
            None => (v, v),
            Some((lo, hi)) => (lo.min(v), hi.max(v)),
        });
    }

    /// NumPy's IntegerFormat: the longer of `str(max)` and `str(min)`.
    pub(super) fn width(&self) -> usize {
        self.range
            .map_or(0, |(lo, hi)| lo.to_string().len().max(hi.to_string().len()))
    }
}

#[derive(Debug, Default)]
pub(super) struct TimeStats {
    range: Option<(i64, i64)>,
    nat: bool,
    pub(super) width: usize,
}

impl TimeStats {
    pub(super) fn observe(&mut self, v: i64) {
        if v == i64::MIN {
            self.nat = true;
            return;
        }
        self.range = Some(match self.range {
            None => (v, v),
            Some((lo, hi)) => (lo.min(v), hi.max(v)),
        });
    }

    /// NumPy's _TimelikeFormat: the longer of the formatted max and min, at least 5 with NaT.
    pub(super) fn finish(&mut self, fmt: impl Fn(i64) -> String) {
        let mut width = self.range.map_or(0, |(lo, hi)| {
            fmt(lo).chars().count().max(fmt(hi).chars().count())
        });
        if self.nat {
            width = width.max(5);
        }
        self.width = width;
    }
}

pub(super) fn unit_name(unit: DatetimeUnit) -> &'static str {
    match unit {
        DatetimeUnit::Years => "years",
        DatetimeUnit::Months => "months",
        DatetimeUnit::Weeks => "weeks",
        DatetimeUnit::Days => "days",
        DatetimeUnit::Hours => "hours",
        DatetimeUnit::Minutes => "minutes",
        DatetimeUnit::Seconds => "seconds",
        DatetimeUnit::Milliseconds => "milliseconds",
        DatetimeUnit::Microseconds => "microseconds",
        DatetimeUnit::Nanoseconds => "nanoseconds",
        DatetimeUnit::Picoseconds => "picoseconds",
        DatetimeUnit::Femtoseconds => "femtoseconds",
        DatetimeUnit::Attoseconds => "attoseconds",
    }
}

/// `np.datetime_as_string` of a (non-NaT) value in its own unit: `2024-01-31`,
/// `2024-01-31T12:00:00.500`.
pub(super) fn datetime_str(v: i64, unit: &TimeUnit) -> String {
    let Some(u) = unit.unit() else {
        // Generic datetimes hold only NaT in practice: show the raw value.
        return v.to_string();
    };
    let total = i128::from(v) * i128::from(unit.count().max(1));
    let (per_day, frac_digits): (i128, usize) = match u {
        DatetimeUnit::Years => return year_str(1970 + total),
        DatetimeUnit::Months => {
            let year = 1970 + total.div_euclid(12);
            return format!("{}-{:02}", year_str(year), total.rem_euclid(12) + 1);
        }
        DatetimeUnit::Weeks => return date_str(total * 7),
        DatetimeUnit::Days => return date_str(total),
        DatetimeUnit::Hours => (24, 0),
        DatetimeUnit::Minutes => (24 * 60, 0),
        DatetimeUnit::Seconds => (86_400, 0),
        DatetimeUnit::Milliseconds => (86_400_000, 3),
        DatetimeUnit::Microseconds => (86_400_000_000, 6),
        DatetimeUnit::Nanoseconds => (86_400_000_000_000, 9),
        DatetimeUnit::Picoseconds => (86_400_000_000_000_000, 12),
        DatetimeUnit::Femtoseconds => (86_400_000_000_000_000_000, 15),
        DatetimeUnit::Attoseconds => (86_400_000_000_000_000_000_000, 18),
    };
    let days = total.div_euclid(per_day);
    let in_day = total.rem_euclid(per_day);
    let mut out = date_str(days);
    match u {
        DatetimeUnit::Hours => out.push_str(&format!("T{in_day:02}")),
        DatetimeUnit::Minutes => {
            out.push_str(&format!("T{:02}:{:02}", in_day / 60, in_day % 60));
        }
        _ => {
            let per_second = per_day / 86_400;
            let secs = in_day / per_second;
            out.push_str(&format!(
                "T{:02}:{:02}:{:02}",
                secs / 3600,
                secs / 60 % 60,
                secs % 60
            ));
            if frac_digits > 0 {
                out.push_str(&format!(".{:0w$}", in_day % per_second, w = frac_digits));
            }
        }
    }
    out
}

pub(super) fn year_str(year: i128) -> String {
    if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else {
        year.to_string()
    }
}

/// `YYYY-MM-DD` of a day count since 1970-01-01 (proleptic Gregorian; Howard Hinnant's
/// `civil_from_days`).
pub(super) fn date_str(days: i128) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i128::from(month <= 2);
    format!("{}-{month:02}-{day:02}", year_str(year))
}
