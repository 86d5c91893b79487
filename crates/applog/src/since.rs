//! The `since` parameter: the subset of journalctl's time syntax described in
//! docs/applog.md#since, read as UTC (a component's clock has no time zone).

const SECOND_US: i64 = 1_000_000;
const DAY_US: i64 = 86_400 * SECOND_US;

/// Microseconds per unit of a time span, with the unit names systemd accepts.
const SPAN_UNITS: &[(&[&str], i64)] = &[
    (&["us", "usec"], 1),
    (&["ms", "msec"], 1000),
    (&["s", "sec", "second", "seconds"], SECOND_US),
    (&["m", "min", "minute", "minutes"], 60 * SECOND_US),
    (&["h", "hr", "hour", "hours"], 3600 * SECOND_US),
    (&["d", "day", "days"], DAY_US),
    (&["w", "week", "weeks"], 7 * DAY_US),
    // systemd's month and year: an average Gregorian month (30.44 days) and year (365.25 days).
    (&["M", "month", "months"], 2_629_800 * SECOND_US),
    (&["y", "year", "years"], 31_557_600 * SECOND_US),
];

/// The point in time `text` names, in microseconds since the Unix epoch, with relative forms
/// counted back from `now_us`; `None` for anything outside the understood forms.
pub fn parse_since(text: &str, now_us: i64) -> Option<i64> {
    let midnight = now_us.div_euclid(DAY_US) * DAY_US;
    match text {
        "now" => return Some(now_us),
        "today" => return Some(midnight),
        "yesterday" => return Some(midnight - DAY_US),
        "tomorrow" => return Some(midnight + DAY_US),
        _ => {}
    }
    if let Some(span) = text.strip_suffix(" ago").or_else(|| text.strip_prefix('-')) {
        return now_us.checked_sub(parse_span(span)?);
    }
    let text = text.strip_suffix(" UTC").unwrap_or(text);
    match text.split_once(' ') {
        Some((date, time)) => Some(parse_date(date)? + parse_time_of_day(time)?),
        None if text.contains(':') => Some(midnight + parse_time_of_day(text)?),
        None => parse_date(text),
    }
}

/// A span like `90`, `1h 30min`, `2 hours`, `1.5d` (a bare number counts seconds).
fn parse_span(text: &str) -> Option<i64> {
    let mut rest = text.trim_start();
    let mut total: i64 = 0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_end);
        let after = after.trim_start();
        let unit_end = after
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_end);
        let unit_us = if unit.is_empty() {
            SECOND_US
        } else {
            SPAN_UNITS
                .iter()
                .find(|(names, _)| names.contains(&unit))?
                .1
        };
        total = total.checked_add(scaled(number, unit_us)?)?;
        rest = after.trim_start();
    }
    Some(total)
}

/// `number` (digits, optionally a fraction) times `unit_us`, rounded to whole microseconds.
fn scaled(number: &str, unit_us: i64) -> Option<i64> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() || !all_digits(fraction) || !all_digits(whole) {
        return None;
    }
    let mut value = whole.parse::<i64>().ok()?.checked_mul(unit_us)?;
    let mut place = unit_us;
    for digit in fraction.bytes() {
        place /= 10;
        value = value.checked_add(i64::from(digit - b'0') * place)?;
    }
    Some(value)
}

fn all_digits(text: &str) -> bool {
    text.bytes().all(|byte| byte.is_ascii_digit())
}

/// `digits` exactly `width` ASCII digits, as a number.
fn fixed_number(digits: &str, width: usize) -> Option<i64> {
    (digits.len() == width && all_digits(digits)).then(|| digits.parse().ok())?
}

/// `YYYY-MM-DD` as the microseconds of its midnight (UTC).
fn parse_date(text: &str) -> Option<i64> {
    let mut parts = text.split('-');
    let year = fixed_number(parts.next()?, 4)?;
    let month = fixed_number(parts.next()?, 2)?;
    let day = fixed_number(parts.next()?, 2)?;
    if parts.next().is_some() || !(1..=12).contains(&month) {
        return None;
    }
    if day < 1 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day) * DAY_US)
}

/// `HH:MM`, `HH:MM:SS` or `HH:MM:SS.ffffff` as microseconds after midnight.
fn parse_time_of_day(text: &str) -> Option<i64> {
    let (clock, fraction) = text.split_once('.').unwrap_or((text, ""));
    let mut parts = clock.split(':');
    let hour = fixed_number(parts.next()?, 2)?;
    let minute = fixed_number(parts.next()?, 2)?;
    let second = parts.next().map_or(Some(0), |s| fixed_number(s, 2))?;
    if parts.next().is_some() || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let has_seconds = clock.len() == "HH:MM:SS".len();
    if (!fraction.is_empty() && !has_seconds) || fraction.len() > 6 || text.ends_with('.') {
        return None;
    }
    let micros = scaled(&format!("0.{fraction}"), SECOND_US)?;
    Some(((hour * 60 + minute) * 60 + second) * SECOND_US + micros)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-02 14:30:15.250000 UTC.
    const NOW: i64 = 1_796_221_815_250_000;
    const MIDNIGHT: i64 = 1_796_169_600_000_000;

    #[test]
    fn named_days_are_utc_midnights() {
        assert_eq!(parse_since("now", NOW), Some(NOW));
        assert_eq!(parse_since("today", NOW), Some(MIDNIGHT));
        assert_eq!(parse_since("yesterday", NOW), Some(MIDNIGHT - DAY_US));
        assert_eq!(parse_since("tomorrow", NOW), Some(MIDNIGHT + DAY_US));
    }

    #[test]
    fn relative_spans_count_back_from_now() {
        let ago = |text| parse_since(text, NOW).map(|since| NOW - since);
        assert_eq!(ago("1 hour ago"), Some(3600 * SECOND_US));
        assert_eq!(ago("2 hours ago"), Some(7200 * SECOND_US));
        assert_eq!(ago("1 second ago"), Some(SECOND_US));
        assert_eq!(ago("30 seconds ago"), Some(30 * SECOND_US));
        assert_eq!(ago("5 minutes ago"), Some(300 * SECOND_US));
        assert_eq!(ago("1 minute ago"), Some(60 * SECOND_US));
        assert_eq!(ago("3 days ago"), Some(3 * DAY_US));
        assert_eq!(ago("1 day ago"), Some(DAY_US));
        assert_eq!(ago("2 weeks ago"), Some(14 * DAY_US));
        assert_eq!(ago("1h 30min ago"), Some(5400 * SECOND_US));
        assert_eq!(ago("1h30min ago"), Some(5400 * SECOND_US));
        assert_eq!(ago("1.5h ago"), Some(5400 * SECOND_US));
        assert_eq!(ago("90 ago"), Some(90 * SECOND_US));
        assert_eq!(ago("-10m"), Some(600 * SECOND_US));
        assert_eq!(ago("-2d"), Some(2 * DAY_US));
        assert_eq!(ago("250ms ago"), Some(250_000));
        assert_eq!(ago("1 M ago"), Some(2_629_800 * SECOND_US), "M is a month");
    }

    #[test]
    fn absolute_times_are_utc() {
        assert_eq!(parse_since("2026-12-02", NOW), Some(MIDNIGHT));
        assert_eq!(parse_since("2026-12-02 14:30:15", NOW), Some(NOW - 250_000));
        assert_eq!(parse_since("2026-12-02 14:30:15.25", NOW), Some(NOW));
        assert_eq!(
            parse_since("2026-12-02 14:30:15 UTC", NOW),
            Some(NOW - 250_000)
        );
        assert_eq!(parse_since("2026-12-02 14:30", NOW), Some(NOW - 15_250_000));
        assert_eq!(parse_since("14:30", NOW), Some(NOW - 15_250_000));
        assert_eq!(parse_since("14:30:15.250000", NOW), Some(NOW));
        assert_eq!(parse_since("1970-01-01", NOW), Some(0));
        assert_eq!(parse_since("2024-02-29", NOW), Some(19_782 * DAY_US));
        assert_eq!(parse_since("2000-03-01", NOW), Some(11_017 * DAY_US));
    }

    #[test]
    fn everything_else_is_refused() {
        for text in [
            "",
            "1 hour",
            "hour ago",
            " ago",
            "1 fortnight ago",
            "1 Hour ago",
            "1..5h ago",
            ".5h ago",
            "-",
            "--1h",
            "99999999999999 years ago",
            "Today",
            "last week",
            "2026-13-01",
            "2026-02-29",
            "2026-2-3",
            "2026-12-02 24:00",
            "2026-12-02 12:60",
            "2026-12-02 12:00:60",
            "2026-12-02 12:00.5",
            "2026-12-02 12:00:00.",
            "2026-12-02 12:00:00.1234567",
            "2026-12-02 12:00:00:00",
            "2026-12-02  12:00",
            "2026-12-02T12:00",
            "12",
            "1:00",
        ] {
            assert_eq!(parse_since(text, NOW), None, "{text:?}");
        }
    }
}
