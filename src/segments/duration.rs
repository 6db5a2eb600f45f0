//! ISO 8601 durations (`P14D`, `PT24H`, `P1M`) and the calendar arithmetic windows need.
//! Pure: no I/O, no clock.

use crate::core::time::{civil_from_days, days_from_civil};

/// Milliseconds in an hour / a day.
pub(crate) const HOUR_MS: i64 = 3_600_000;
/// Milliseconds in a day.
pub(crate) const DAY_MS: i64 = 86_400_000;

/// A duration: calendar months (years count 12) plus exact milliseconds (weeks, days,
/// hours, minutes, seconds; days are 24 h, in UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Duration {
    /// Calendar months.
    pub months: u32,
    /// Exact milliseconds.
    pub ms: i64,
}

impl Duration {
    /// Parses `PnYnMnWnDTnHnMnS` (integer components; seconds may have a fraction).
    pub fn parse(text: &str) -> Option<Duration> {
        let rest = text.strip_prefix('P')?;
        if rest.is_empty() {
            return None;
        }
        let mut out = Duration::default();
        let mut in_time = false;
        let mut num: Option<i64> = None;
        let mut frac_ms: i64 = 0;
        let mut frac_scale: Option<i64> = None;
        let mut any = false;
        for c in rest.chars() {
            if let Some(d) = c.to_digit(10) {
                if let Some(scale) = frac_scale.as_mut() {
                    frac_ms += i64::from(d) * *scale;
                    *scale /= 10;
                } else {
                    num = Some(
                        num.unwrap_or(0)
                            .checked_mul(10)?
                            .checked_add(i64::from(d))?,
                    );
                }
                continue;
            }
            if c == '.' && in_time && frac_scale.is_none() && num.is_some() {
                frac_scale = Some(100);
                continue;
            }
            if c == 'T' {
                if in_time || num.is_some() {
                    return None;
                }
                in_time = true;
                continue;
            }
            let n = num.take()?;
            if frac_scale.is_some() && c != 'S' {
                return None;
            }
            any = true;
            match (in_time, c) {
                (false, 'Y') => {
                    out.months = out
                        .months
                        .checked_add(u32::try_from(n.checked_mul(12)?).ok()?)?
                }
                (false, 'M') => out.months = out.months.checked_add(u32::try_from(n).ok()?)?,
                (false, 'W') => out.ms = out.ms.checked_add(n.checked_mul(7 * DAY_MS)?)?,
                (false, 'D') => out.ms = out.ms.checked_add(n.checked_mul(DAY_MS)?)?,
                (true, 'H') => out.ms = out.ms.checked_add(n.checked_mul(HOUR_MS)?)?,
                (true, 'M') => out.ms = out.ms.checked_add(n.checked_mul(60_000)?)?,
                (true, 'S') => {
                    out.ms = out
                        .ms
                        .checked_add(n.checked_mul(1000)?.checked_add(frac_ms)?)?
                }
                _ => return None,
            }
            frac_scale = None;
        }
        if num.is_some() || !any {
            return None;
        }
        // Keep everything well inside i64 arithmetic (about 290 years).
        if out.ms > 10_000 * 365 * DAY_MS || out.months > 12 * 10_000 {
            return None;
        }
        Some(out)
    }

    /// An approximate length in ms (months count 30 days); used for sizes and for `since_*`
    /// thresholds only.
    pub fn approx_ms(self) -> i64 {
        self.ms + i64::from(self.months) * 30 * DAY_MS
    }

    /// The longest this duration can be (months count 31 days).
    pub fn max_ms(self) -> i64 {
        self.ms + i64::from(self.months) * 31 * DAY_MS
    }

    /// `t + self` (months in UTC calendar, clamped to the month's last day). Inlined with
    /// the month check: evaluation calls it per ring entry, and most durations have no months.
    #[inline(always)]
    pub fn add_to(self, t: i64) -> i64 {
        let t = if self.months == 0 {
            t
        } else {
            add_months(t, i64::from(self.months))
        };
        t.saturating_add(self.ms)
    }

    /// `t - self` (inlined, as [`Duration::add_to`]).
    #[inline(always)]
    pub fn sub_from(self, t: i64) -> i64 {
        let t = t.saturating_sub(self.ms);
        if self.months == 0 {
            t
        } else {
            add_months(t, -i64::from(self.months))
        }
    }

    /// Whether the duration is zero.
    pub fn is_zero(self) -> bool {
        self.months == 0 && self.ms == 0
    }
}

/// Adds calendar months to an epoch-ms instant (UTC), clamping the day of month.
pub(crate) fn add_months(t: i64, months: i64) -> i64 {
    if months == 0 {
        return t;
    }
    let days = t.div_euclid(DAY_MS);
    let tod = t.rem_euclid(DAY_MS);
    let (y, m, d) = civil_from_days(days);
    let total = y * 12 + i64::from(m) - 1 + months;
    let (ny, nm) = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u32);
    let dim = days_in_month(ny, nm);
    days_from_civil(ny, nm, d.min(dim)) * DAY_MS + tod
}

/// Days in a month of the proleptic Gregorian calendar.
pub(crate) fn days_in_month(y: i64, m: u32) -> u32 {
    let next = if m == 12 {
        days_from_civil(y + 1, 1, 1)
    } else {
        days_from_civil(y, m + 1, 1)
    };
    (next - days_from_civil(y, m, 1)) as u32
}

#[cfg(test)]
mod tests;
