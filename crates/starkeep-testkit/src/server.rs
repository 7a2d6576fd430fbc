//! The test server builder: a real starkeep router on a real loopback socket, in this process,
//! with a store in a temp dir, two projects, an admin and a readonly user, and an embedded
//! instance — what every API test starts from ([`start`], or [`TestServer::builder`] for other
//! limits). Access keys are enabled (sealed with a test secrets key), and the client's address
//! reaches the router as the server binary passes it. [`TestServer`] sends requests and answers
//! [`Answer`]s.
//!
//! The `starkeep` binary run as a process is not here: its tests start it themselves.

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use starkeep_api::throttle::FailureLimit;
use starkeep_api::{router, AppState, AuthOptions, Limits};
use starkeep_auth::{password, AccessKeys, Iam, Role, SecretBox, TokenClaims, TokenSigner};
use starkeep_engine::{EmbeddedEngine, Instances};
use starkeep_store::{InstanceRecord, Project, Store};

/// The IAM password of the test users.
pub const ADMIN_PASSWORD: &str = "Iam-admin-Passw0rd";
/// The databases of the test instances.
pub const DATABASES: [&str; 3] = ["default", "information_schema", "sales"];

/// A served router and what a test needs to reach it: its store, projects, instances, tokens.
pub struct TestServer {
    pub base: String,
    pub client: reqwest::Client,
    pub store: Store,
    pub signer: TokenSigner,
    pub access_keys: AccessKeys,
    pub project: Project,
    pub other_project: Project,
    pub instance: InstanceRecord,
    pub other_instance: InstanceRecord,
    pub admin_token: String,
    pub readonly_token: String,
    pub other_project_token: String,
    pub dir: tempfile::TempDir,
}

/// The answer to one request.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub request_id: Option<String>,
    pub body: Value,
    pub text: String,
}

impl Answer {
    pub fn error_code(&self) -> &str {
        self.body["error_code"].as_str().unwrap_or("")
    }
    pub fn error_msg(&self) -> &str {
        self.body["error_msg"].as_str().unwrap_or("")
    }
}

/// A test server with the default limits.
pub async fn start() -> TestServer {
    TestServer::builder().start().await
}

/// How a [`TestServer`] is made.
#[derive(Debug, Clone, Copy, Default)]
pub struct TestServerBuilder {
    limits: Limits,
    failure_limit: FailureLimit,
}

impl TestServerBuilder {
    /// The router's limits (body size, request time).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// When repeated authentication failures are slowed down.
    pub fn failure_limit(mut self, failure_limit: FailureLimit) -> Self {
        self.failure_limit = failure_limit;
        self
    }

    /// Makes the store, its projects, users and instances, and serves the router.
    pub async fn start(self) -> TestServer {
        let Self {
            limits,
            failure_limit,
        } = self;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(dir.path()).await.unwrap();
        let project = store.create_project("main").await.unwrap();
        let other_project = store.create_project("other").await.unwrap();
        let phc = password::hash(ADMIN_PASSWORD);
        let admin = store
            .create_user("admin", &phc, &project.id, Role::Admin.as_str())
            .await
            .unwrap();
        let reader = store
            .create_user("reader", &phc, &project.id, Role::Readonly.as_str())
            .await
            .unwrap();
        let outsider = store
            .create_user("outsider", &phc, &other_project.id, Role::Admin.as_str())
            .await
            .unwrap();
        let dbs: Vec<String> = DATABASES.map(String::from).to_vec();
        let instance = EmbeddedEngine::provision(&store, &project.id, "demo", &dbs)
            .await
            .unwrap();
        let other_instance = EmbeddedEngine::provision(&store, &other_project.id, "theirs", &dbs)
            .await
            .unwrap();
        let signer = TokenSigner::new(&[42; 32]);
        let iam = Iam::new(store.clone(), signer.clone(), Duration::from_secs(3600));
        let admin_token = iam.issue(&project, &admin.id, "admin").await.unwrap().0;
        let readonly_token = iam.issue(&project, &reader.id, "reader").await.unwrap().0;
        let other_project_token = iam
            .issue(&other_project, &outsider.id, "outsider")
            .await
            .unwrap()
            .0;

        let access_keys = AccessKeys::new(store.clone(), SecretBox::new(&[43; 32]));
        let auth = AuthOptions {
            access_keys: Some(access_keys.clone()),
            external_iam: None,
            failure_limit,
        };
        let app = router(
            AppState::new(store.clone(), iam, Instances::new(store.clone()), auth),
            limits,
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        TestServer {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            store,
            signer,
            access_keys,
            project,
            other_project,
            instance,
            other_instance,
            admin_token,
            readonly_token,
            other_project_token,
            dir,
        }
    }
}

impl TestServer {
    /// A builder, for a server with other than the default limits.
    pub fn builder() -> TestServerBuilder {
        TestServerBuilder::default()
    }

    /// `/v3/{project}/instances/{instance}/starrocks` of the test instance.
    pub fn starrocks(&self) -> String {
        format!(
            "/v3/{}/instances/{}/starrocks",
            self.project.id, self.instance.id
        )
    }

    /// Sends a request with a raw body and optional token and language.
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        token: Option<&str>,
        lang: Option<&str>,
    ) -> Answer {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.header("X-Auth-Token", t);
        }
        if let Some(l) = lang {
            req = req.header("X-Language", l);
        }
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/json;charset=UTF-8")
                .body(b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let request_id = resp
            .headers()
            .get("x-request-id")
            .map(|v| v.to_str().unwrap().to_owned());
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            request_id,
            body,
            text,
        }
    }

    /// Sends JSON as the admin.
    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        self.send_raw(
            method,
            path,
            body.map(|b| serde_json::to_vec(&b).unwrap()),
            Some(&self.admin_token),
            None,
        )
        .await
    }

    pub async fn create(&self, body: Value) -> Answer {
        self.admin(
            Method::POST,
            &format!("{}/users", self.starrocks()),
            Some(body),
        )
        .await
    }

    pub async fn list(&self, query: &str) -> Answer {
        self.admin(
            Method::GET,
            &format!("{}/users?{query}", self.starrocks()),
            None,
        )
        .await
    }

    pub async fn create_ok(&self, name: &str) {
        let a = self
            .create(json!({"user_name": name, "password": "Rds_1234", "databases": ["sales"]}))
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    }

    /// A token signed with the server's key but with chosen claims.
    pub fn token_with(&self, edit: impl FnOnce(&mut TokenClaims)) -> String {
        let mut claims = self.signer.verify(&self.admin_token, 0).unwrap();
        edit(&mut claims);
        self.signer.issue(&claims)
    }
}
