//! [`InvalidInput`]: why a request's input was refused, in words a client can act on.
//!
//! Every variant names the field it is about, so the message says what to fix. The HTTP layer
//! maps every variant to the one parameter-error code of the catalogue; this module only words
//! the detail, in English ([`Display`](std::fmt::Display)) and in Chinese
//! ([`InvalidInput::message`]).

use crate::Language;

/// A rule of the contract that the input broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidInput {
    #[error("{field} is required")]
    Missing { field: &'static str },
    #[error("request body is not valid: {detail}")]
    MalformedBody { detail: String },
    #[error("query parameter {field} is not valid: {detail}")]
    MalformedQuery { field: String, detail: String },
    #[error("{field} must be 2 to 32 characters long")]
    NameLength { field: &'static str },
    #[error("{field} must start with a lowercase letter")]
    NameStart { field: &'static str },
    #[error("{field} must end with a lowercase letter or a digit")]
    NameEnd { field: &'static str },
    #[error("{field} may contain only lowercase letters, digits and underscores")]
    NameCharacters { field: &'static str },
    #[error("password must be 8 to 32 characters long")]
    PasswordLength,
    #[error("password must not be the user name or the user name reversed")]
    PasswordEqualsName,
    #[error(
        "password must contain at least three of: uppercase letters, lowercase letters, digits, special characters ~!@#%^*-_=+?,"
    )]
    PasswordClasses,
    #[error("password may contain only letters, digits and the special characters ~!@#%^*-_=+?,")]
    PasswordCharacters,
    #[error("databases must list at least one database")]
    DatabasesEmpty,
    #[error("database name {name:?} is not valid: 1 to 64 printable characters")]
    DatabaseName { name: String },
    #[error("dml must be 0, 1, 2 or 3 (got {value})")]
    DmlRange { value: i64 },
    #[error("ddl must be 0 or 1 (got {value})")]
    DdlRange { value: i64 },
    #[error("limit must be an integer from 1 to 100")]
    LimitRange,
    #[error("offset must be an integer of 0 or more")]
    OffsetRange,
    #[error("user_name filter must be 1 to 64 characters")]
    NameFilter,
    #[error("action must be startSyncTaurusAccount or stopSyncTaurusAccount (got {action:?})")]
    UnknownAction { action: String },
    #[error("project_id must be 32 letters or digits")]
    ProjectId,
    #[error("instance_id must be 32 hexadecimal digits followed by 'in' and two digits")]
    InstanceId,
}

impl InvalidInput {
    /// The message in the requested language.
    pub fn message(&self, lang: Language) -> String {
        match lang {
            Language::EnUs => self.to_string(),
            Language::ZhCn => self.zh_cn(),
        }
    }

    fn zh_cn(&self) -> String {
        use InvalidInput::*;
        match self {
            Missing { field } => format!("缺少必填参数 {field}"),
            MalformedBody { detail } => format!("请求体无效：{detail}"),
            MalformedQuery { field, detail } => format!("查询参数 {field} 无效：{detail}"),
            NameLength { field } => format!("{field} 长度必须为 2 到 32 个字符"),
            NameStart { field } => format!("{field} 必须以小写字母开头"),
            NameEnd { field } => format!("{field} 必须以小写字母或数字结尾"),
            NameCharacters { field } => format!("{field} 只能包含小写字母、数字和下划线"),
            PasswordLength => "密码长度必须为 8 到 32 个字符".into(),
            PasswordEqualsName => "密码不能与用户名或用户名的倒序相同".into(),
            PasswordClasses => {
                "密码必须至少包含以下四类字符中的三类：大写字母、小写字母、数字、特殊字符 ~!@#%^*-_=+?,".into()
            }
            PasswordCharacters => "密码只能包含字母、数字和特殊字符 ~!@#%^*-_=+?,".into(),
            DatabasesEmpty => "databases 至少需要包含一个数据库".into(),
            DatabaseName { name } => format!("数据库名 {name:?} 无效：须为 1 到 64 个可打印字符"),
            DmlRange { value } => format!("dml 取值必须为 0、1、2 或 3（当前为 {value}）"),
            DdlRange { value } => format!("ddl 取值必须为 0 或 1（当前为 {value}）"),
            LimitRange => "limit 必须是 1 到 100 之间的整数".into(),
            OffsetRange => "offset 必须是大于等于 0 的整数".into(),
            NameFilter => "user_name 过滤条件长度必须为 1 到 64 个字符".into(),
            UnknownAction { action } => format!(
                "action 取值必须为 startSyncTaurusAccount 或 stopSyncTaurusAccount（当前为 {action:?}）"
            ),
            ProjectId => "project_id 必须由 32 个字母或数字组成".into(),
            InstanceId => "instance_id 必须为 32 位十六进制字符加 in 和两位数字".into(),
        }
    }
}
