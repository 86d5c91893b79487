//! The notice an admin publishes for everyone (docs/auth.md#notice): cc-backend writes
//! `./var/notice.txt`; here it is one key-value entry, so every instance shows the same text.

use cc_store::{Kv, StoreError};

const NOTICE_KEY: &str = "notice";
/// The largest notice, in bytes (cc-backend's message says characters but counts bytes).
pub const MAX_NOTICE_BYTES: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum NoticeError {
    #[error("notice content exceeds maximum length of {MAX_NOTICE_BYTES} characters")]
    TooLong,
    #[error("writing notice failed: {0}")]
    Store(#[from] StoreError),
}

/// The current notice; "" when none was published.
pub fn read_notice(kv: &(impl Kv + ?Sized)) -> Result<String, StoreError> {
    Ok(kv
        .get(NOTICE_KEY)?
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default())
}

/// Replaces the notice; an empty text clears it.
pub fn write_notice(kv: &dyn Kv, text: &str) -> Result<(), NoticeError> {
    if text.len() > MAX_NOTICE_BYTES {
        return Err(NoticeError::TooLong);
    }
    kv.set(NOTICE_KEY, text.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::key_value;

    #[test]
    fn notices_up_to_ten_thousand_bytes_are_kept() {
        let (_dir, kv) = key_value();
        assert_eq!(read_notice(&kv).unwrap(), "");
        write_notice(&kv, "Maintenance on Monday").unwrap();
        assert_eq!(read_notice(&kv).unwrap(), "Maintenance on Monday");
        let at_limit = "ä".repeat(MAX_NOTICE_BYTES / 2);
        write_notice(&kv, &at_limit).unwrap();
        assert!(matches!(
            write_notice(&kv, &format!("{at_limit}x")),
            Err(NoticeError::TooLong)
        ));
        assert_eq!(read_notice(&kv).unwrap(), at_limit);
        write_notice(&kv, "").unwrap();
        assert_eq!(read_notice(&kv).unwrap(), "");
    }
}
