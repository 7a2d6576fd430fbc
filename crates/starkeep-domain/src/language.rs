//! The language of error messages, chosen by the `X-Language` request header.

/// A language that starkeep writes error messages in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    /// `en-us`, the default.
    #[default]
    EnUs,
    /// `zh-cn`.
    ZhCn,
}

impl Language {
    /// Reads an `X-Language` header value; anything unknown falls back to English.
    pub fn from_header(value: Option<&str>) -> Self {
        match value.map(str::trim) {
            Some(v) if v.eq_ignore_ascii_case("zh-cn") || v.eq_ignore_ascii_case("zh_cn") => {
                Language::ZhCn
            }
            _ => Language::EnUs,
        }
    }

    /// Picks the text for this language.
    pub fn pick<'a>(self, en: &'a str, zh: &'a str) -> &'a str {
        match self {
            Language::EnUs => en,
            Language::ZhCn => zh,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values() {
        assert_eq!(Language::from_header(None), Language::EnUs);
        assert_eq!(Language::from_header(Some("zh-cn")), Language::ZhCn);
        assert_eq!(Language::from_header(Some("ZH-CN")), Language::ZhCn);
        assert_eq!(Language::from_header(Some("en-us")), Language::EnUs);
        assert_eq!(Language::from_header(Some("fr-fr")), Language::EnUs);
    }
}
