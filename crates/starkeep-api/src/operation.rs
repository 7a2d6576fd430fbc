//! What each route does, declared once: the [`Operation`] a route serves and, from it, whether
//! the route changes anything and which [`AuditAction`] the audit trail records for it.
//!
//! [`crate::router`] attaches each route's operation with [`declared`]: the layer puts it in the
//! request's extensions (for authentication and the audit recorder) and in the response's (for
//! the request log). Nothing derives an operation from the URL. A new operation is added to the
//! enum, and the matches below then refuse to compile until it says whether it writes and what
//! the audit trail calls it.
//!
//! The vocabulary is the same in every layer: `create_account`, `list_accounts`,
//! `change_privileges`, `change_password`, `delete_account`, `set_sync`, `sync_status`. The URLs
//! stay the cloud API's.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

/// One thing a route does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `POST …/starrocks/users`.
    CreateAccount,
    /// `GET …/starrocks/users`.
    ListAccounts,
    /// `PUT …/starrocks/users/permission`.
    ChangePrivileges,
    /// `PUT …/starrocks/users/password`.
    ChangePassword,
    /// `DELETE …/starrocks/users` and `DELETE …/starrocks/user`.
    DeleteAccount,
    /// `POST …/starrocks/users/sync`.
    SetSync,
    /// `GET …/starrocks/users/sync`.
    SyncStatus,
    /// `POST /v3/auth/tokens`.
    CreateToken,
    /// `GET /v3/auth/tokens`.
    ValidateToken,
    /// `GET /v3/projects` (Keystone, for the Terraform provider's start-up).
    ListProjects,
    /// `GET /v3/auth/domains` (Keystone).
    ListDomains,
    /// `GET /v3/auth/catalog` (Keystone).
    ServiceCatalog,
    /// `GET /health`.
    Health,
    /// `GET /metrics`.
    Metrics,
    /// `GET /openapi.json`.
    OpenApi,
}

impl Operation {
    /// The operation's name in logs.
    pub const fn name(self) -> &'static str {
        match self {
            Self::CreateAccount => "create_account",
            Self::ListAccounts => "list_accounts",
            Self::ChangePrivileges => "change_privileges",
            Self::ChangePassword => "change_password",
            Self::DeleteAccount => "delete_account",
            Self::SetSync => "set_sync",
            Self::SyncStatus => "sync_status",
            Self::CreateToken => "create_token",
            Self::ValidateToken => "validate_token",
            Self::ListProjects => "list_projects",
            Self::ListDomains => "list_domains",
            Self::ServiceCatalog => "service_catalog",
            Self::Health => "health",
            Self::Metrics => "metrics",
            Self::OpenApi => "openapi",
        }
    }

    /// Whether the operation changes something, so that a read-only caller may not ask for it.
    /// Every change is audited, so these are the operations with an audit action.
    pub const fn writes(self) -> bool {
        self.audit().is_some()
    }

    /// What the audit trail records for the operation; `None` for one it does not record (reads,
    /// and the token endpoints, whose callers are not authenticated yet).
    pub const fn audit(self) -> Option<AuditAction> {
        match self {
            Self::CreateAccount => Some(AuditAction::CreateAccount),
            Self::ChangePrivileges => Some(AuditAction::ChangePrivileges),
            Self::ChangePassword => Some(AuditAction::ChangePassword),
            Self::DeleteAccount => Some(AuditAction::DeleteAccount),
            Self::SetSync => Some(AuditAction::SetSync),
            Self::ListAccounts
            | Self::SyncStatus
            | Self::CreateToken
            | Self::ValidateToken
            | Self::ListProjects
            | Self::ListDomains
            | Self::ServiceCatalog
            | Self::Health
            | Self::Metrics
            | Self::OpenApi => None,
        }
    }
}

/// The `action` of an audit event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    CreateAccount,
    ChangePrivileges,
    ChangePassword,
    DeleteAccount,
    /// A sync switch whose requested state was not read (a missing or unknown `action`).
    SetSync,
    /// The sync switch turned on.
    StartSync,
    /// The sync switch turned off.
    StopSync,
}

impl AuditAction {
    /// The action as the audit trail stores it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::CreateAccount => "create_account",
            Self::ChangePrivileges => "change_privileges",
            Self::ChangePassword => "change_password",
            Self::DeleteAccount => "delete_account",
            Self::SetSync => "sync",
            Self::StartSync => "start_sync",
            Self::StopSync => "stop_sync",
        }
    }
}

/// Layer of one route: declares its operation to the layers inside (request extension) and to
/// those outside (response extension).
pub async fn declared(
    State(operation): State<Operation>,
    mut req: Request,
    next: Next,
) -> Response {
    req.extensions_mut().insert(operation);
    let mut response = next.run(req).await;
    response.extensions_mut().insert(operation);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_audited_under_the_shared_vocabulary() {
        let changes = [
            (Operation::CreateAccount, "create_account"),
            (Operation::ChangePrivileges, "change_privileges"),
            (Operation::ChangePassword, "change_password"),
            (Operation::DeleteAccount, "delete_account"),
            (Operation::SetSync, "sync"),
        ];
        for (op, action) in changes {
            assert!(op.writes(), "{op:?}");
            assert_eq!(op.audit().map(AuditAction::as_str), Some(action));
        }
        for read in [
            Operation::ListAccounts,
            Operation::SyncStatus,
            Operation::CreateToken,
            Operation::ValidateToken,
            Operation::Health,
            Operation::Metrics,
            Operation::OpenApi,
        ] {
            assert!(!read.writes(), "{read:?}");
        }
        assert_eq!(Operation::SetSync.name(), "set_sync");
        assert_eq!(AuditAction::StopSync.as_str(), "stop_sync");
    }
}
