//! Times as stores keep and hash them: RFC 3339, UTC, microseconds.

use chrono::{DateTime, Utc};

/// Times as stored and hashed: RFC 3339, UTC, microseconds.
pub(crate) fn format_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// [`format_time`] into `buf`, without allocating (each audit event's hash reads its time):
/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`. Years outside 0..=9999 and leap seconds, which chrono
/// writes otherwise, are left to chrono.
pub(crate) fn write_time(at: DateTime<Utc>, buf: &mut [u8; 27]) -> std::borrow::Cow<'_, str> {
    use chrono::{Datelike, Timelike};
    let nanos = at.nanosecond();
    if !(0..=9999).contains(&at.year()) || nanos >= 1_000_000_000 {
        return std::borrow::Cow::Owned(format_time(at));
    }
    let mut put = |at: usize, n: u32, width: usize| {
        let mut n = n;
        for i in (at..at + width).rev() {
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(0, at.year().unsigned_abs(), 4);
    put(5, at.month(), 2);
    put(8, at.day(), 2);
    put(11, at.hour(), 2);
    put(14, at.minute(), 2);
    put(17, at.second(), 2);
    put(20, nanos / 1_000, 6);
    for (i, c) in [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
        (26, b'Z'),
    ] {
        buf[i] = c;
    }
    // Only ASCII digits and separators were written.
    std::borrow::Cow::Borrowed(std::str::from_utf8(buf).unwrap_or_default())
}

/// The current time, at the precision stores keep (microseconds), so that a record reads
/// back exactly as it was hashed.
pub(crate) fn now() -> DateTime<Utc> {
    let t = Utc::now();
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

#[cfg(test)]
mod time_tests {
    use chrono::{DateTime, TimeZone, Utc};

    use super::{format_time, write_time};

    #[test]
    fn written_times_are_chronos_byte_for_byte() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut times: Vec<DateTime<Utc>> = vec![
            Utc.timestamp_opt(0, 0).unwrap(),
            Utc.timestamp_opt(-62_167_219_200, 0).unwrap(), // 0000-01-01
            Utc.timestamp_opt(253_402_300_799, 999_999_999).unwrap(), // 9999-12-31
            Utc.timestamp_opt(253_402_300_800, 0).unwrap(), // 10000: chrono's own form
            Utc.timestamp_opt(-62_167_219_201, 0).unwrap(), // -0001: chrono's own form
            Utc.timestamp_opt(1_483_228_799, 1_500_000_000).unwrap(), // a leap second
            super::now(),
        ];
        for _ in 0..10_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let secs = (seed % 400_000_000_000) as i64 - 62_000_000_000;
            let nanos = ((seed >> 20) % 1_000_000_000) as u32;
            times.push(Utc.timestamp_opt(secs, nanos).unwrap());
        }
        for at in times {
            assert_eq!(write_time(at, &mut [0; 27]), format_time(at), "{at:?}");
        }
    }
}
