//! Sandbox time: the wall clock plus an offset kept in the world, so tests (and the human's home
//! page) can move time forward to see approvals and top-ups expire. Timestamps are milliseconds
//! since the Unix epoch, written as the API writes them: ISO 8601 with milliseconds and `Z`.

use std::time::{SystemTime, UNIX_EPOCH};

pub const SECOND: i64 = 1000;
pub const MINUTE: i64 = 60 * SECOND;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;

/// The wall clock, in milliseconds since the epoch.
pub fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `2026-06-12T10:00:00.000Z`.
pub fn iso(ms: i64) -> String {
    let days = ms.div_euclid(DAY);
    let rest = ms.rem_euclid(DAY);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / HOUR,
        rest % HOUR / MINUTE,
        rest % MINUTE / SECOND,
        rest % SECOND
    )
}

/// Parses `2026-07-01`, `2026-07-01T10:00:00Z`, `…T10:00:00.123Z` or `…+00:00`/`+02:00`.
pub fn parse(text: &str) -> Option<i64> {
    let text = text.trim();
    let num = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
    };
    let (date, time) = match text.split_once(['T', 't', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let mut parts = date.split('-');
    let (y, m, d) = (
        num(parts.next()?)?,
        num(parts.next()?)?,
        num(parts.next()?)?,
    );
    if parts.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut ms = days_from_civil(y, m as u32, d as u32) * DAY;
    if let Some(time) = time {
        let (clock, offset) = if let Some(c) = time.strip_suffix(['Z', 'z']) {
            (c, 0)
        } else if let Some(i) = time.rfind(['+', '-']) {
            let (c, o) = time.split_at(i);
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let (oh, om) = o[1..].split_once(':').unwrap_or((&o[1..], "0"));
            (c, sign * (num(oh)? * HOUR + num(om)? * MINUTE))
        } else {
            (time, 0)
        };
        let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
        let mut hms = hms.split(':');
        let h = num(hms.next()?)?;
        let mi = num(hms.next()?)?;
        let s = hms.next().map(num).unwrap_or(Some(0))?;
        if h > 23 || mi > 59 || s > 60 {
            return None;
        }
        let frac_ms = if frac.is_empty() {
            0
        } else {
            let digits: String = frac.chars().chain("000".chars()).take(3).collect();
            num(&digits)?
        };
        ms += h * HOUR + mi * MINUTE + s * SECOND + frac_ms - offset;
    }
    Some(ms)
}

/// `2026-06-12 10:00 UTC`, for the human's pages.
pub fn human(ms: i64) -> String {
    let full = iso(ms);
    format!("{} {} UTC", &full[..10], &full[11..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for text in [
            "1970-01-01T00:00:00.000Z",
            "2026-06-12T10:00:00.000Z",
            "2024-02-29T23:59:59.999Z",
            "2100-03-01T00:00:00.001Z",
        ] {
            assert_eq!(iso(parse(text).unwrap()), text);
        }
        assert_eq!(
            iso(parse("2026-07-01").unwrap()),
            "2026-07-01T00:00:00.000Z"
        );
        assert_eq!(
            iso(parse("2026-07-01T12:00:00+02:00").unwrap()),
            "2026-07-01T10:00:00.000Z"
        );
        assert_eq!(parse("2026-13-01"), None);
        assert_eq!(parse("tomorrow"), None);
        assert_eq!(
            human(parse("2026-06-12T10:05:00Z").unwrap()),
            "2026-06-12 10:05 UTC"
        );
    }
}
