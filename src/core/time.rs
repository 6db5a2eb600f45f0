//! Time values of the core: `Millis` (epoch milliseconds) and ISO 8601 formatting.
//! Pure: the core never reads the clock; every `now` is passed in by the driver.

/// Milliseconds since the Unix epoch (UTC). The only instant type the core knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Millis(pub u64);

impl Millis {
    /// `self + ms`, saturating.
    pub fn plus(self, ms: u64) -> Millis {
        Millis(self.0.saturating_add(ms))
    }
    /// `self - earlier` in ms, or 0 when `earlier` is later.
    pub fn since(self, earlier: Millis) -> u64 {
        self.0.saturating_sub(earlier.0)
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`, as `Date.prototype.toISOString` prints it.
    pub fn to_iso(self) -> String {
        let mut out = String::with_capacity(24);
        self.push_iso(&mut out);
        out
    }

    /// Appends the ISO 8601 form to `out`.
    pub fn push_iso(self, out: &mut String) {
        let mut bytes = Vec::with_capacity(24);
        self.write_iso(&mut bytes);
        out.push_str(crate::json::ascii_str(&bytes));
    }

    /// Appends the ISO 8601 form to `out` (ASCII): the year's digits, then one template
    /// filled in place, not a push per character (every event carries a timestamp).
    pub fn write_iso(self, out: &mut Vec<u8>) {
        let ms = self.0 % 1000;
        let secs = self.0 / 1000;
        let days = (secs / 86_400) as i64;
        let sod = secs % 86_400;
        let (y, m, d) = civil_from_days(days);
        crate::json::write_u64(out, y as u64, 4);
        let mut t = *b"-00-00T00:00:00.000Z";
        fill(&mut t[1..3], u64::from(m));
        fill(&mut t[4..6], u64::from(d));
        fill(&mut t[7..9], sod / 3600);
        fill(&mut t[10..12], sod / 60 % 60);
        fill(&mut t[13..15], sod % 60);
        fill(&mut t[16..19], ms);
        out.extend_from_slice(&t);
    }
}

/// Writes `n`'s last `slot.len()` decimal digits into `slot`, zero-padded.
fn fill(slot: &mut [u8], mut n: u64) {
    for b in slot.iter_mut().rev() {
        *b = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day) (Howard Hinnant's
/// algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) to days since 1970-01-01.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses an ISO 8601 UTC or offset timestamp (`2021-02-03T04:05:06Z`,
/// `2021-02-03T04:05:06.789+01:00`, or a bare date) to epoch ms.
pub fn parse_iso(s: &str) -> Option<Millis> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let mut n = 0i64;
        for i in from..from + len {
            let c = *b.get(i)?;
            if !c.is_ascii_digit() {
                return None;
            }
            n = n * 10 + i64::from(c - b'0');
        }
        Some(n)
    };
    let y = num(0, 4)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let mo = num(5, 2)? as u32;
    let d = num(8, 2)? as u32;
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    let mut ms: i64 = 0;
    let mut i = 10;
    if let Some(b'T' | b't' | b' ') = b.get(10) {
        let h = num(11, 2)?;
        if b.get(13) != Some(&b':') {
            return None;
        }
        let mi = num(14, 2)?;
        let mut sec = 0;
        i = 16;
        if b.get(16) == Some(&b':') {
            sec = num(17, 2)?;
            i = 19;
        }
        if h > 23 || mi > 59 || sec > 60 {
            return None;
        }
        ms = ((h * 60 + mi) * 60 + sec) * 1000;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let mut scale = 100;
            while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
                ms += i64::from(c - b'0') * scale;
                scale /= 10;
                i += 1;
            }
        }
        match b.get(i) {
            Some(b'Z' | b'z') => i += 1,
            Some(&sign @ (b'+' | b'-')) => {
                let oh = num(i + 1, 2)?;
                let om = if b.get(i + 3) == Some(&b':') {
                    num(i + 4, 2)?
                } else {
                    num(i + 3, 2)?
                };
                i += if b.get(i + 3) == Some(&b':') { 6 } else { 5 };
                let off = (oh * 60 + om) * 60_000;
                ms -= if sign == b'+' { off } else { -off };
            }
            _ => {}
        }
    }
    if i != b.len() {
        return None;
    }
    let total = days * 86_400_000 + ms;
    u64::try_from(total).ok().map(Millis)
}

#[cfg(test)]
mod tests;
