//! [`PageRequest`]: the `limit` and `offset` of a list query.

use crate::InvalidInput;

/// The largest page a client may ask for.
pub const MAX_LIMIT: u32 = 100;

/// A validated page: `limit` in 1..=100, `offset` ≥ 0 (a missing offset is 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageRequest {
    limit: u32,
    offset: u64,
}

impl PageRequest {
    /// Parses the raw query values; `limit` is required, `offset` defaults to 0.
    pub fn parse(limit: Option<&str>, offset: Option<&str>) -> Result<Self, InvalidInput> {
        let limit = limit.ok_or(InvalidInput::Missing { field: "limit" })?;
        let limit: u32 = limit
            .trim()
            .parse()
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or(InvalidInput::LimitRange)?;
        // Missing means 0 (the cloud API's own example omits it); present, it must be a number.
        let offset = match offset.map(str::trim) {
            None => 0,
            Some(raw) => raw.parse().map_err(|_| InvalidInput::OffsetRange)?,
        };
        Ok(Self { limit, offset })
    }

    pub fn new(limit: u32, offset: u64) -> Result<Self, InvalidInput> {
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(InvalidInput::LimitRange);
        }
        Ok(Self { limit, offset })
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }

    pub fn offset(&self) -> u64 {
        self.offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_offsets() {
        assert_eq!(PageRequest::parse(Some("10"), None).unwrap().offset(), 0);
        assert_eq!(
            PageRequest::parse(Some("1"), Some("5")).unwrap().offset(),
            5
        );
        assert_eq!(
            PageRequest::parse(Some("100"), Some("0")).unwrap().limit(),
            100
        );
        assert_eq!(
            PageRequest::parse(None, Some("0")),
            Err(InvalidInput::Missing { field: "limit" })
        );
        for bad in ["0", "101", "-1", "ten", "1.5", ""] {
            assert_eq!(
                PageRequest::parse(Some(bad), None),
                Err(InvalidInput::LimitRange),
                "{bad}"
            );
        }
        for bad in ["-1", "x", "1e3", "", " "] {
            assert_eq!(
                PageRequest::parse(Some("10"), Some(bad)),
                Err(InvalidInput::OffsetRange),
                "{bad}"
            );
        }
    }
}
