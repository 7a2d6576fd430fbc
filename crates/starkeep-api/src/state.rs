//! [`AppState`]: what every handler and layer of the API can reach (the store, the instance
//! directory, the IAM, the optional access keys and external IAM, the failure throttle), and the
//! [`AuthOptions`] it is built with. The router's limits live in [`crate::Limits`].

use std::sync::Arc;

use starkeep_auth::{AccessKeys, Iam, TokenSigner};
use starkeep_engine::Instances;
use starkeep_store::Store;

use crate::external_iam::ExternalIam;
use crate::throttle::{FailureLimit, FailureThrottle};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    store: Store,
    instances: Instances,
    iam: Iam,
    access_keys: Option<AccessKeys>,
    external_iam: Option<ExternalIam>,
    throttle: FailureThrottle,
}

/// How callers may authenticate, beyond starkeep's own tokens.
#[derive(Debug, Default)]
pub struct AuthOptions {
    /// With it, requests signed with an access key (`SDK-HMAC-SHA256`) are accepted.
    pub access_keys: Option<AccessKeys>,
    /// With it, tokens that are not starkeep's own are validated by this IAM.
    pub external_iam: Option<ExternalIam>,
    /// When repeated authentication failures are slowed down.
    pub failure_limit: FailureLimit,
}

impl AppState {
    /// State from all its parts. An [`Instances`] of the caller's making (`Instances::new`, or
    /// one that can open SQL instances' admin passwords); `AuthOptions::default()` for
    /// starkeep's own tokens only.
    pub fn new(store: Store, iam: Iam, instances: Instances, auth: AuthOptions) -> Self {
        Self(Arc::new(Inner {
            instances,
            store,
            iam,
            access_keys: auth.access_keys,
            external_iam: auth.external_iam,
            throttle: FailureThrottle::new(auth.failure_limit),
        }))
    }

    pub fn access_keys(&self) -> Option<&AccessKeys> {
        self.0.access_keys.as_ref()
    }

    pub fn external_iam(&self) -> Option<&ExternalIam> {
        self.0.external_iam.as_ref()
    }

    pub fn throttle(&self) -> &FailureThrottle {
        &self.0.throttle
    }

    pub fn store(&self) -> &Store {
        &self.0.store
    }

    pub fn instances(&self) -> &Instances {
        &self.0.instances
    }

    pub fn iam(&self) -> &Iam {
        &self.0.iam
    }

    pub fn tokens(&self) -> &TokenSigner {
        self.0.iam.signer()
    }
}
