//! The error catalogue: every error code starkeep answers, with its HTTP status and messages.
//!
//! Codes are stable once published: a client may branch on `error_code`. Each [`ErrorCode`]
//! knows its status and its message in English and Chinese; an [`ApiError`] is a code plus an
//! optional detail (which field, which account). Handlers return `Result<_, ApiError>`; the
//! response is rendered in English here and re-rendered in the caller's language by
//! [`crate::middleware::localize`], which reads `X-Language`.
//!
//! Backend details (a database's own error text) are logged, never sent; the log line carries the
//! request id through the `request` span of [`crate::middleware::log_request`].

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use starkeep_domain::{InvalidInput, Language};
use starkeep_engine::EngineError;
use utoipa::ToSchema;

/// Every error code starkeep answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// A request parameter or body field breaks a rule.
    InvalidParameter,
    /// The instance does not exist in this project (Terraform reads it as "resource gone").
    InstanceNotFound,
    /// The caller may not do this (wrong project, read-only role).
    Forbidden,
    /// An account of that name already exists.
    AccountExists,
    /// No account of that name.
    AccountNotFound,
    /// A built-in or reserved account, which the API lists but never changes.
    SystemAccount,
    /// A grant names a database the instance does not have.
    DatabaseNotFound,
    /// A grant names a system database (`mysql`, `sys`, ...), which no account may be granted on.
    ReservedDatabase,
    /// The instance's engine is not served by this build.
    EngineNotAvailable,
    /// Account sync cannot start: the instance names no TaurusDB source.
    SyncSourceMissing,
    /// Account sync cannot start: the instance's TaurusDB source does not answer.
    SyncSourceUnavailable,
    /// The instance's database server is down, slow, or refused starkeep's credential.
    BackendUnavailable,
    /// The instance's database server answered with an error.
    BackendFailed,
    /// No credential, or one that is malformed, forged or expired: a token, or an access key's
    /// signature (unknown key, wrong signature, date outside the replay window).
    Unauthenticated,
    /// Too many authentication failures from one address or access key; `Retry-After` says when
    /// to try again.
    Throttled,
    /// `GET /v3/auth/tokens`: the token asked about is not valid (forged, expired, malformed).
    TokenNotFound,
    /// The external IAM (`--iam-url`) did not answer, or answered something unreadable.
    IamUnavailable,
    /// No such API.
    RouteNotFound,
    /// The API exists, but not with this method.
    MethodNotAllowed,
    /// The request body is larger than the limit.
    PayloadTooLarge,
    /// The request took longer than the server's limit.
    Timeout,
    /// A fault inside starkeep.
    Internal,
}

impl ErrorCode {
    /// Every code, for the catalogue's own tests and docs.
    pub const ALL: [ErrorCode; 22] = [
        ErrorCode::InvalidParameter,
        ErrorCode::InstanceNotFound,
        ErrorCode::Forbidden,
        ErrorCode::AccountExists,
        ErrorCode::AccountNotFound,
        ErrorCode::SystemAccount,
        ErrorCode::DatabaseNotFound,
        ErrorCode::ReservedDatabase,
        ErrorCode::EngineNotAvailable,
        ErrorCode::SyncSourceMissing,
        ErrorCode::SyncSourceUnavailable,
        ErrorCode::BackendUnavailable,
        ErrorCode::BackendFailed,
        ErrorCode::Unauthenticated,
        ErrorCode::Throttled,
        ErrorCode::TokenNotFound,
        ErrorCode::IamUnavailable,
        ErrorCode::RouteNotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::PayloadTooLarge,
        ErrorCode::Timeout,
        ErrorCode::Internal,
    ];

    /// The wire code.
    pub fn code(self) -> &'static str {
        use ErrorCode::*;
        match self {
            InvalidParameter => "DBS.200001",
            InstanceNotFound => "DBS.200076",
            Forbidden => "DBS.200044",
            AccountExists => "DBS.280001",
            AccountNotFound => "DBS.280002",
            SystemAccount => "DBS.280003",
            DatabaseNotFound => "DBS.280004",
            ReservedDatabase => "DBS.280006",
            EngineNotAvailable => "DBS.280005",
            SyncSourceMissing => "DBS.280010",
            SyncSourceUnavailable => "DBS.280011",
            BackendUnavailable => "DBS.280500",
            BackendFailed => "DBS.280501",
            Unauthenticated => "APIGW.0301",
            Throttled => "APIGW.0308",
            TokenNotFound => "DBS.200404",
            IamUnavailable => "DBS.200502",
            RouteNotFound => "APIGW.0101",
            MethodNotAllowed => "DBS.200405",
            PayloadTooLarge => "DBS.200413",
            Timeout => "DBS.200504",
            Internal => "DBS.200500",
        }
    }

    pub fn status(self) -> StatusCode {
        use ErrorCode::*;
        match self {
            InvalidParameter | InstanceNotFound | AccountExists | AccountNotFound
            | DatabaseNotFound | ReservedDatabase | SyncSourceMissing | SystemAccount => {
                StatusCode::BAD_REQUEST
            }
            SyncSourceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Forbidden => StatusCode::FORBIDDEN,
            Unauthenticated => StatusCode::UNAUTHORIZED,
            Throttled => StatusCode::TOO_MANY_REQUESTS,
            TokenNotFound => StatusCode::NOT_FOUND,
            IamUnavailable => StatusCode::BAD_GATEWAY,
            RouteNotFound => StatusCode::NOT_FOUND,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            EngineNotAvailable | BackendUnavailable | BackendFailed | Timeout | Internal => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// The message, without detail.
    pub fn message(self, lang: Language) -> &'static str {
        use ErrorCode::*;
        let (en, zh) = match self {
            InvalidParameter => ("Invalid parameter", "参数错误"),
            InstanceNotFound => ("The instance does not exist", "实例不存在"),
            Forbidden => (
                "You are not allowed to perform this operation",
                "无权执行此操作",
            ),
            AccountExists => ("The database account already exists", "数据库账号已存在"),
            AccountNotFound => ("The database account does not exist", "数据库账号不存在"),
            SystemAccount => (
                "System accounts cannot be changed or deleted",
                "系统账号不允许修改或删除",
            ),
            DatabaseNotFound => (
                "The database does not exist on this instance",
                "实例上不存在该数据库",
            ),
            ReservedDatabase => ("System databases cannot be granted", "系统数据库不允许授权"),
            EngineNotAvailable => (
                "The instance's engine is not available on this server",
                "该实例的引擎在此服务器上不可用",
            ),
            SyncSourceMissing => (
                "The instance has no TaurusDB source to sync accounts from",
                "该实例未配置用于同步账号的 TaurusDB 源",
            ),
            SyncSourceUnavailable => (
                "The instance's TaurusDB source is unreachable; sync was not started",
                "该实例的 TaurusDB 源无法连接，未启动同步",
            ),
            BackendUnavailable => (
                "The database instance is unavailable; try again later",
                "数据库实例不可用，请稍后重试",
            ),
            BackendFailed => (
                "The database instance refused the operation",
                "数据库实例拒绝了该操作",
            ),
            Unauthenticated => (
                "Incorrect IAM authentication information",
                "IAM 认证信息错误",
            ),
            Throttled => (
                "The throttling threshold has been reached: too many failed authentications",
                "已达到流控阈值：认证失败次数过多",
            ),
            TokenNotFound => (
                "The token does not exist or has expired",
                "token 不存在或已过期",
            ),
            IamUnavailable => (
                "The identity service (IAM) is unavailable; try again later",
                "身份认证服务（IAM）不可用，请稍后重试",
            ),
            RouteNotFound => ("The API does not exist", "API 不存在"),
            MethodNotAllowed => (
                "The API does not support this HTTP method",
                "API 不支持该 HTTP 方法",
            ),
            PayloadTooLarge => ("The request body is too large", "请求体过大"),
            Timeout => ("The request timed out", "请求超时"),
            Internal => ("Internal server error", "服务器内部错误"),
        };
        lang.pick(en, zh)
    }
}

/// What an error is about, beyond its code.
#[derive(Debug, Clone)]
pub enum Detail {
    /// A broken input rule.
    Input(InvalidInput),
    /// A name the client sent (an account, a database).
    Subject(String),
    /// Fixed words in both languages.
    Words(&'static str, &'static str),
}

impl Detail {
    fn message(&self, lang: Language) -> String {
        match self {
            Detail::Input(e) => e.message(lang),
            Detail::Subject(s) => s.clone(),
            Detail::Words(en, zh) => lang.pick(en, zh).to_owned(),
        }
    }
}

/// An error answer: a code, and what it is about.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub detail: Option<Detail>,
}

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable code from the catalogue, e.g. `DBS.200001`.
    #[schema(example = "DBS.200001")]
    pub error_code: &'static str,
    /// What went wrong, in the language of `X-Language`.
    #[schema(example = "Invalid parameter: user_name must be 2 to 32 characters long")]
    pub error_msg: String,
}

impl ApiError {
    pub fn new(code: ErrorCode) -> Self {
        Self { code, detail: None }
    }

    pub fn with(code: ErrorCode, detail: Detail) -> Self {
        Self {
            code,
            detail: Some(detail),
        }
    }

    /// An authentication failure with a reason in both languages.
    pub fn unauthenticated(en: &'static str, zh: &'static str) -> Self {
        Self::with(ErrorCode::Unauthenticated, Detail::Words(en, zh))
    }

    pub fn forbidden(en: &'static str, zh: &'static str) -> Self {
        Self::with(ErrorCode::Forbidden, Detail::Words(en, zh))
    }

    /// The answer to a caller who failed to authenticate too often: 429 with `Retry-After` in
    /// whole seconds (at least 1).
    pub fn throttled_response(retry_after: std::time::Duration) -> Response {
        let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        let mut response = ApiError::new(ErrorCode::Throttled).into_response();
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            HeaderValue::from(secs.max(1)),
        );
        response
    }

    /// The message in `lang`: the code's message, then the detail.
    pub fn message(&self, lang: Language) -> String {
        let head = self.code.message(lang);
        match &self.detail {
            None => head.to_owned(),
            Some(d) => {
                let sep = lang.pick(": ", "：");
                format!("{head}{sep}{}", d.message(lang))
            }
        }
    }

    /// The response in `lang`, carrying the error itself as an extension so that outer layers
    /// can log its code and re-render it.
    pub fn to_response(&self, lang: Language) -> Response {
        let body = ErrorBody {
            error_code: self.code.code(),
            error_msg: self.message(lang),
        };
        let mut response = (self.code.status(), axum::Json(body)).into_response();
        if self.code == ErrorCode::MethodNotAllowed {
            response.headers_mut().remove(axum::http::header::ALLOW);
        }
        response.headers_mut().insert(
            axum::http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        );
        response.extensions_mut().insert(self.clone());
        response
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.to_response(Language::EnUs)
    }
}

impl From<InvalidInput> for ApiError {
    fn from(e: InvalidInput) -> Self {
        ApiError::with(ErrorCode::InvalidParameter, Detail::Input(e))
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        use EngineError::*;
        match e {
            UnknownInstance => ApiError::new(ErrorCode::InstanceNotFound),
            AccountExists(n) => ApiError::with(ErrorCode::AccountExists, Detail::Subject(n)),
            AccountNotFound(n) => ApiError::with(ErrorCode::AccountNotFound, Detail::Subject(n)),
            SystemAccount(n) => ApiError::with(ErrorCode::SystemAccount, Detail::Subject(n)),
            UnknownDatabase(n) => ApiError::with(ErrorCode::DatabaseNotFound, Detail::Subject(n)),
            ReservedDatabase(n) => ApiError::with(ErrorCode::ReservedDatabase, Detail::Subject(n)),
            UnaddressableDatabase(why) => {
                ApiError::with(ErrorCode::InvalidParameter, Detail::Subject(why))
            }
            EngineNotAvailable(kind) => {
                tracing::error!(engine = %kind, "instance engine not available");
                ApiError::new(ErrorCode::EngineNotAvailable)
            }
            BackendUnavailable(detail) => {
                tracing::error!(%detail, "backend unavailable");
                ApiError::new(ErrorCode::BackendUnavailable)
            }
            Backend(detail) => {
                tracing::error!(%detail, "backend error");
                ApiError::new(ErrorCode::BackendFailed)
            }
            NoSyncSource => ApiError::new(ErrorCode::SyncSourceMissing),
            SyncSourceUnavailable(detail) => {
                tracing::warn!(%detail, "sync source unreachable");
                ApiError::new(ErrorCode::SyncSourceUnavailable)
            }
            Store(err) => {
                tracing::error!(error = %err, "store failure");
                ApiError::new(ErrorCode::Internal)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn codes_are_unique_and_have_both_languages() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.code()), "duplicate {}", code.code());
            assert_ne!(code.message(Language::EnUs), code.message(Language::ZhCn));
            assert!(code.status().is_client_error() || code.status().is_server_error());
        }
    }

    #[test]
    fn contract_codes() {
        assert_eq!(ErrorCode::InvalidParameter.code(), "DBS.200001");
        assert_eq!(ErrorCode::InstanceNotFound.code(), "DBS.200076");
        assert_eq!(
            ErrorCode::InstanceNotFound.status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(ErrorCode::Forbidden.code(), "DBS.200044");
        assert_eq!(ErrorCode::Forbidden.status(), StatusCode::FORBIDDEN);
    }

    #[test]
    fn catalogue_snapshot() {
        let table: Vec<String> = ErrorCode::ALL
            .iter()
            .map(|c| {
                format!(
                    "{} {} {} | {}",
                    c.code(),
                    c.status().as_u16(),
                    c.message(Language::EnUs),
                    c.message(Language::ZhCn)
                )
            })
            .collect();
        insta::assert_snapshot!(table.join("\n"));
    }

    #[test]
    fn messages_carry_detail_in_each_language() {
        let e = ApiError::from(InvalidInput::LimitRange);
        assert_eq!(
            e.message(Language::EnUs),
            "Invalid parameter: limit must be an integer from 1 to 100"
        );
        assert_eq!(
            e.message(Language::ZhCn),
            "参数错误：limit 必须是 1 到 100 之间的整数"
        );
    }
}
