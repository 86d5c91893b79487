//! The application log (docs/applog.md): notable events of every component, kept in the SQLite
//! database because a component has no system journal. This crate owns the table `app_log`:
//! recording with bounded retention, and reading with the filters of `GET /frontend/logs/`
//! (served by cc-web's `applog` module, which also records failed requests). Domain code reports
//! its own events (archiving, tagger runs) with [`report`].

mod since;

use cc_store::{Sql, StoreError, Value};

pub use since::parse_since;

/// A syslog severity, as journald stores it in `PRIORITY`: lower is more severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Priority {
    Emergency = 0,
    Alert = 1,
    Critical = 2,
    Error = 3,
    Warning = 4,
    Notice = 5,
    Info = 6,
    Debug = 7,
}

/// One entry as `GET /frontend/logs/` shows it: cc-backend's shape for a journal line.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "timestamp": "1764684000123456",
    "priority": 4,
    "message": "authentication failed: GET /api/jobs/ from 10.0.0.7: 401 token is expired",
    "unit": "api"
}))]
pub struct LogEntry {
    /// When it was recorded, in microseconds since the Unix epoch (as journald's
    /// `__REALTIME_TIMESTAMP`).
    pub timestamp: String,
    /// Syslog severity 0 (emergency) to 7 (debug).
    pub priority: u8,
    pub message: String,
    /// The id of the component that recorded it (`api`, `metricstore`, `frontend`, …).
    pub unit: String,
}

/// An event to record.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    /// Microseconds since the Unix epoch.
    pub time_us: i64,
    pub priority: Priority,
    pub unit: &'a str,
    pub message: &'a str,
}

/// Which entries a read returns: at most `lines` of the newest entries since `since_us` with a
/// priority of at most `max_priority` whose message contains `search`, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct LogFilter {
    pub since_us: i64,
    pub lines: u32,
    pub max_priority: Priority,
    /// Empty matches every message.
    pub search: String,
}

/// How much of the log is kept, and how often an insert prunes the rest.
struct Retention {
    max_age_us: i64,
    max_rows: i64,
    prune_every: i64,
}

const RETENTION: Retention = Retention {
    max_age_us: 14 * 24 * 3600 * 1_000_000,
    max_rows: 100_000,
    prune_every: 1000,
};

/// Longer messages are cut (at a character boundary), so no single event can bloat the table.
const MAX_MESSAGE_BYTES: usize = 2000;

/// Microseconds since the Unix epoch (0 if the clock is before it).
pub fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX)
        })
}

fn truncated(message: &str) -> &str {
    if message.len() <= MAX_MESSAGE_BYTES {
        return message;
    }
    let mut end = MAX_MESSAGE_BYTES;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    &message[..end]
}

/// Appends `event`; every 1000th entry also prunes what is older than 14 days or beyond the newest
/// 100,000 entries.
pub fn record(db: &dyn Sql, event: &Event) -> Result<(), StoreError> {
    record_within(db, event, &RETENTION)
}

fn record_within(db: &dyn Sql, event: &Event, retention: &Retention) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO app_log (time_us, priority, unit, message) VALUES (?, ?, ?, ?)",
        &[
            Value::Integer(event.time_us),
            Value::Integer(event.priority as i64),
            event.unit.into(),
            truncated(event.message).into(),
        ],
    )?;
    let id = db.last_insert_rowid();
    if id % retention.prune_every == 0 {
        // Ids grow by one per insert (the table's rowid is one above the largest), so the newest
        // `max_rows` entries are exactly those above `id - max_rows`.
        db.execute(
            "DELETE FROM app_log WHERE id <= ? OR time_us < ?",
            &[
                Value::Integer(id - retention.max_rows),
                Value::Integer(event.time_us - retention.max_age_us),
            ],
        )?;
    }
    Ok(())
}

/// Records an event of `unit` (the id of the reporting component in spin.toml) now, and writes
/// its message to standard error, so the host's log of the component keeps it as well. The log is
/// a side channel: a failure to write it is dropped, so it can never change the outcome of the
/// work that reports the event.
pub fn report(db: &dyn Sql, priority: Priority, unit: &str, message: &str) {
    eprintln!("{message}");
    let event = Event {
        time_us: now_us(),
        priority,
        unit,
        message,
    };
    let _ = record(db, &event);
}

/// The entries `filter` selects, oldest first (like `journalctl -n`: the last lines, in order).
pub fn query(db: &dyn Sql, filter: &LogFilter) -> Result<Vec<LogEntry>, StoreError> {
    let result = db.execute(
        "SELECT time_us, priority, message, unit FROM app_log \
         WHERE time_us >= ? AND priority <= ? AND instr(message, ?) > 0 \
         ORDER BY time_us DESC, id DESC LIMIT ?",
        &[
            Value::Integer(filter.since_us),
            Value::Integer(filter.max_priority as i64),
            filter.search.as_str().into(),
            Value::Integer(i64::from(filter.lines)),
        ],
    )?;
    let column = |row: &[Value], index: usize| -> Result<Value, StoreError> {
        row.get(index)
            .cloned()
            .ok_or_else(|| StoreError::Database("app_log row misses a column".into()))
    };
    let mut entries = result
        .rows
        .iter()
        .map(|row| {
            let text = |index| {
                column(row, index).map(|value| value.as_str().unwrap_or_default().to_owned())
            };
            let integer =
                |index| column(row, index).map(|value| value.as_i64().unwrap_or_default());
            Ok(LogEntry {
                timestamp: integer(0)?.to_string(),
                priority: u8::try_from(integer(1)?).unwrap_or(Priority::Info as u8),
                message: text(2)?,
                unit: text(3)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    entries.reverse();
    Ok(entries)
}

/// The default and the largest number of entries one read returns.
pub const DEFAULT_LINES: u32 = 200;
pub const MAX_LINES: u32 = 1000;
/// What `since` is when the request gives none.
pub const DEFAULT_SINCE: &str = "1 hour ago";

/// A query parameter of `GET /frontend/logs/` the log cannot be read with; the texts are
/// cc-backend's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("invalid 'since' parameter")]
    Since,
    #[error("invalid 'lines' parameter")]
    Lines,
    #[error("invalid 'level' parameter (must be 0-7)")]
    Level,
    #[error("invalid 'search' parameter")]
    Search,
}

/// Free text may only use letters, digits, space, `:`, `-` and `.` (cc-backend passes it to
/// `journalctl`; the same rule keeps the API identical here).
fn is_safe_text(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b" :-.".contains(&byte))
}

impl LogFilter {
    /// The filter of the query parameters `since`, `lines`, `level`, `search` (`None` when absent
    /// or empty), checked in that order; relative times count from `now_us`.
    pub fn from_parameters(
        since: Option<&str>,
        lines: Option<&str>,
        level: Option<&str>,
        search: Option<&str>,
        now_us: i64,
    ) -> Result<Self, FilterError> {
        let since = since.unwrap_or(DEFAULT_SINCE);
        if !is_safe_text(since) {
            return Err(FilterError::Since);
        }
        let since_us = parse_since(since, now_us).ok_or(FilterError::Since)?;
        let lines = match lines {
            None => DEFAULT_LINES,
            Some(text) => match cc_gocompat::atoi(text) {
                Ok(n) if n >= 1 => u32::try_from(n).map_or(MAX_LINES, |n| n.min(MAX_LINES)),
                _ => return Err(FilterError::Lines),
            },
        };
        let max_priority = match level {
            None => Priority::Debug,
            Some(text) => cc_gocompat::atoi(text)
                .ok()
                .and_then(priority_of_level)
                .ok_or(FilterError::Level)?,
        };
        let search = match search {
            None => String::new(),
            Some(text) if is_safe_text(text) => text.to_owned(),
            Some(_) => return Err(FilterError::Search),
        };
        Ok(Self {
            since_us,
            lines,
            max_priority,
            search,
        })
    }
}

fn priority_of_level(level: i64) -> Option<Priority> {
    const BY_LEVEL: [Priority; 8] = [
        Priority::Emergency,
        Priority::Alert,
        Priority::Critical,
        Priority::Error,
        Priority::Warning,
        Priority::Notice,
        Priority::Info,
        Priority::Debug,
    ];
    usize::try_from(level)
        .ok()
        .and_then(|index| BY_LEVEL.get(index).copied())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cc_store::native::NativeSql;

    fn migrated_db() -> NativeSql {
        let db = NativeSql::open_in_memory().unwrap();
        cc_store::migrate(&db).unwrap();
        db
    }

    fn event(time_us: i64, priority: Priority, message: &str) -> Event<'_> {
        Event {
            time_us,
            priority,
            unit: "api",
            message,
        }
    }

    fn everything() -> LogFilter {
        LogFilter {
            since_us: 0,
            lines: MAX_LINES,
            max_priority: Priority::Debug,
            search: String::new(),
        }
    }

    fn messages(db: &dyn Sql, filter: &LogFilter) -> Vec<String> {
        query(db, filter)
            .unwrap()
            .into_iter()
            .map(|entry| entry.message)
            .collect()
    }

    #[test]
    fn entries_read_back_in_the_journal_shape_oldest_first() {
        let db = migrated_db();
        record(&db, &event(2_000_000, Priority::Error, "second")).unwrap();
        record(&db, &event(1_000_000, Priority::Warning, "first")).unwrap();
        assert_eq!(
            query(&db, &everything()).unwrap(),
            [
                LogEntry {
                    timestamp: "1000000".into(),
                    priority: 4,
                    message: "first".into(),
                    unit: "api".into(),
                },
                LogEntry {
                    timestamp: "2000000".into(),
                    priority: 3,
                    message: "second".into(),
                    unit: "api".into(),
                },
            ]
        );
    }

    #[test]
    fn filters_take_the_newest_lines_since_a_time_up_to_a_level_containing_a_text() {
        let db = migrated_db();
        for (time, priority, message) in [
            (10, Priority::Error, "job 1 Failed"),
            (20, Priority::Notice, "job 2 failed"),
            (30, Priority::Warning, "job 3 failed"),
            (40, Priority::Debug, "job 4 failed"),
            (50, Priority::Critical, "job 5 done"),
        ] {
            record(&db, &event(time, priority, message)).unwrap();
        }
        let filter = |change: fn(&mut LogFilter)| {
            let mut filter = everything();
            change(&mut filter);
            messages(&db, &filter)
        };
        assert_eq!(filter(|f| f.since_us = 30).len(), 3);
        assert_eq!(
            filter(|f| f.lines = 2),
            ["job 4 failed", "job 5 done"],
            "the last lines, in order"
        );
        assert_eq!(
            filter(|f| f.max_priority = Priority::Warning),
            ["job 1 Failed", "job 3 failed", "job 5 done"]
        );
        assert_eq!(
            filter(|f| f.search = "failed".into()),
            ["job 2 failed", "job 3 failed", "job 4 failed"],
            "case-sensitive substring"
        );
        assert!(
            filter(|f| f.search = "%".into()).is_empty(),
            "no LIKE patterns"
        );
    }

    #[test]
    fn long_messages_are_cut_at_a_character_boundary() {
        let db = migrated_db();
        let long = "é".repeat(MAX_MESSAGE_BYTES);
        record(&db, &event(1, Priority::Info, &long)).unwrap();
        let stored = &query(&db, &everything()).unwrap()[0].message;
        assert_eq!(stored.len(), MAX_MESSAGE_BYTES);
        assert!(long.starts_with(stored.as_str()));
    }

    #[test]
    fn every_nth_insert_prunes_by_age_and_by_count() {
        let db = migrated_db();
        let retention = Retention {
            max_age_us: 100,
            max_rows: 3,
            prune_every: 5,
        };
        let times = [1, 500, 510, 520, 530, 540, 550, 560, 570, 580];
        for (index, time) in times.into_iter().enumerate() {
            let message = format!("entry {}", index + 1);
            record_within(&db, &event(time, Priority::Info, &message), &retention).unwrap();
        }
        // The 5th insert dropped entries 1-2 (beyond the newest 3; entry 1 is also too old), the
        // 10th entries 3-7. Between prunes the table may grow past the bound.
        assert_eq!(
            messages(&db, &everything()),
            ["entry 8", "entry 9", "entry 10"]
        );
        let count = db.execute("SELECT count(*) FROM app_log", &[]).unwrap();
        assert_eq!(count.scalar(), Some(&Value::Integer(3)));
    }

    #[test]
    fn pruning_by_age_alone_keeps_recent_entries() {
        let db = migrated_db();
        let retention = Retention {
            max_age_us: 100,
            max_rows: 1000,
            prune_every: 3,
        };
        for (time, message) in [(1, "old"), (950, "recent"), (1000, "newest")] {
            record_within(&db, &event(time, Priority::Info, message), &retention).unwrap();
        }
        assert_eq!(messages(&db, &everything()), ["recent", "newest"]);
    }

    fn parameters(
        since: Option<&str>,
        lines: Option<&str>,
        level: Option<&str>,
        search: Option<&str>,
    ) -> Result<LogFilter, FilterError> {
        LogFilter::from_parameters(since, lines, level, search, 10_000_000_000)
    }

    #[test]
    fn parameters_have_cc_backend_defaults_and_clamp() {
        assert_eq!(
            parameters(None, None, None, None).unwrap(),
            LogFilter {
                since_us: 10_000_000_000 - 3_600_000_000,
                lines: 200,
                max_priority: Priority::Debug,
                search: String::new(),
            }
        );
        let filter = parameters(
            Some("2 minutes ago"),
            Some("+5000"),
            Some("3"),
            Some("job 1.2"),
        )
        .unwrap();
        assert_eq!(
            (filter.since_us, filter.lines, filter.max_priority),
            (10_000_000_000 - 120_000_000, 1000, Priority::Error)
        );
        assert_eq!(filter.search, "job 1.2");
        assert_eq!(
            parameters(None, Some("1"), Some("0"), None).unwrap().lines,
            1
        );
        assert_eq!(
            parameters(None, Some("99999999999"), None, None)
                .unwrap()
                .lines,
            1000
        );
    }

    #[test]
    fn parameters_are_checked_in_cc_backend_order() {
        let cases: &[([Option<&str>; 4], FilterError)] = &[
            ([Some("1 hour ago;"), None, None, None], FilterError::Since),
            ([Some("last week"), None, None, None], FilterError::Since),
            ([Some("x"), Some("x"), None, None], FilterError::Since),
            ([None, Some("0"), None, None], FilterError::Lines),
            ([None, Some("-3"), None, None], FilterError::Lines),
            ([None, Some("1.5"), None, None], FilterError::Lines),
            ([None, Some("x"), Some("x"), None], FilterError::Lines),
            ([None, None, Some("8"), None], FilterError::Level),
            ([None, None, Some("-1"), None], FilterError::Level),
            ([None, None, Some("warning"), Some("*")], FilterError::Level),
            ([None, None, None, Some("a|b")], FilterError::Search),
            ([None, None, None, Some("a_b")], FilterError::Search),
        ];
        for ([since, lines, level, search], expected) in cases {
            assert_eq!(
                parameters(*since, *lines, *level, *search).as_ref(),
                Err(expected),
                "{since:?} {lines:?} {level:?} {search:?}"
            );
        }
        assert_eq!(
            FilterError::Level.to_string(),
            "invalid 'level' parameter (must be 0-7)"
        );
    }

    #[test]
    fn report_records_now_and_drops_a_failure_to_record() {
        let db = migrated_db();
        let before = now_us();
        report(&db, Priority::Warning, "api", "tagging job 7 failed");
        let entries = query(&db, &everything()).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(
            (
                entries[0].priority,
                entries[0].unit.as_str(),
                entries[0].message.as_str()
            ),
            (4, "api", "tagging job 7 failed")
        );
        assert!(entries[0].timestamp.parse::<i64>().unwrap() >= before);

        let without_table = NativeSql::open_in_memory().unwrap();
        report(&without_table, Priority::Error, "api", "not recorded");
        assert!(query(&without_table, &everything()).is_err());
    }
}
