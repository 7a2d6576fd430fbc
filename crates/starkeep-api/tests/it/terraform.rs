//! The cloud's Terraform provider against starkeep, replayed request by request as its source
//! builds them and signed as its Go SDK signs them, over a real socket, with a `starrocks`
//! instance that is the test kit's StarRocks stand-in:
//!
//! - start-up with an AK/SK and `region` = the project's name: the Keystone reads of
//!   huaweicloud/terraform-provider-huaweicloud `huaweicloud/config/config.go`
//!   (`loadUserProjects`, `getDomainID`) and chnsz/golangsdk `openstack/client.go`
//!   (`v3AKSKAuth`: the project by name, the service catalog);
//! - the StarRocks user resource's create, read, update (password, then permission) and delete
//!   (`huaweicloud/services/taurusdb/resource_huaweicloud_taurusdb_htap_starrocks_user.go`);
//! - the StarRocks instance resource setting `db_root_pwd` (`PUT …/starrocks/users/password`
//!   with `user_name: root`), after which starkeep still creates accounts.
//!
//! The signer here is written from chnsz/golangsdk `signer/signer.go`, not taken from
//! starkeep-auth: it signs every header of Go's header map at signing time (which never holds
//! the host), sets `X-Project-Id` / `X-Domain-Id` after signing (unsigned), and sends the query
//! in its canonical order. JSON bodies end with the newline Go's `json.Encoder` writes.
//!
//! Not here: the provider binary itself (it is not run), and a real StarRocks.

use std::net::SocketAddr;
use std::time::Duration;

use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use starkeep_api::{router, AppState, AuthOptions, Limits};
use starkeep_auth::{password, AccessKeys, Iam, NewKeyPair, Role, SecretBox, TokenSigner};
use starkeep_engine::mysql_wire::AddSqlInstance;
use starkeep_engine::{EngineKind, Instances};
use starkeep_store::Store;
use starkeep_testkit::starrocks::{StandInConfig, StarRocksStandIn};
use zeroize::Zeroizing;

const REGION: &str = "cn-north-4";
const OLD_ROOT: &str = "Old-root-pw1";
const USER_AGENT: &str = "terraform-provider-iac golangsdk/2.0.0";

struct Provider {
    base: String,
    client: reqwest::Client,
    key: NewKeyPair,
    project_id: String,
    instance_id: String,
    token: String,
    stand_in: StarRocksStandIn,
    _dir: tempfile::TempDir,
}

/// golangsdk's `escape`: every byte but `A-Z a-z 0-9 - _ . ~` as `%XX`.
fn escape(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The request golangsdk's `ProviderClient.doRequest` builds, signed by `signer.Signer.Sign`.
struct GoRequest {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    /// Headers in Go's header map at signing time (Host is never among them).
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Set after signing, so unsigned (`X-Project-Id`, `X-Domain-Id`).
    after: Vec<(String, String)>,
}

impl GoRequest {
    /// `client.Request(method, url, {MoreHeaders: {"Content-Type": "application/json"}, JSONBody})`
    /// as the StarRocks user resource calls it; `json` is `None` for GET and DELETE.
    fn new(method: Method, path: &str, query: &[(&str, &str)], json: Option<Value>) -> Self {
        let mut headers = vec![
            ("Accept".to_owned(), "application/json".to_owned()),
            ("User-Agent".to_owned(), USER_AGENT.to_owned()),
        ];
        let body = match json {
            Some(v) => {
                let mut b = serde_json::to_vec(&v).unwrap();
                b.push(b'\n');
                b
            }
            None => Vec::new(),
        };
        headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
        Self {
            method,
            path: path.to_owned(),
            query: query
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            headers,
            body,
            after: Vec::new(),
        }
    }

    /// A Keystone read of golangsdk's identity client (`projects.List`, `domains.List`,
    /// `catalog.List`): no `MoreHeaders`, no body.
    fn keystone(path: &str, query: &[(&str, &str)]) -> Self {
        let mut r = Self::new(Method::GET, path, query, None);
        r.headers.retain(|(n, _)| n != "Content-Type");
        r
    }

    fn after_signing(mut self, name: &str, value: &str) -> Self {
        self.after.push((name.to_owned(), value.to_owned()));
        self
    }

    fn canonical_query(&self) -> String {
        let mut q = self.query.clone();
        q.sort();
        q.iter()
            .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    async fn send(mut self, p: &Provider) -> (StatusCode, Value) {
        let date = time::OffsetDateTime::now_utc()
            .format(time::macros::format_description!(
                "[year][month][day]T[hour][minute][second]Z"
            ))
            .unwrap();
        self.headers.push(("X-Sdk-Date".to_owned(), date.clone()));
        let mut signed: Vec<(String, String)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        signed.sort();
        let names: Vec<&str> = signed.iter().map(|(n, _)| n.as_str()).collect();
        let uri = self
            .path
            .split('/')
            .map(escape)
            .collect::<Vec<_>>()
            .join("/");
        let uri = if uri.ends_with('/') { uri } else { uri + "/" };
        let canonical = [
            self.method.as_str().to_owned(),
            uri,
            self.canonical_query(),
            signed
                .iter()
                .map(|(n, v)| format!("{n}:{v}\n"))
                .collect::<String>(),
            names.join(";"),
            hex::encode(Sha256::digest(&self.body)),
        ]
        .join("\n");
        let to_sign = format!(
            "SDK-HMAC-SHA256\n{date}\n{}",
            hex::encode(Sha256::digest(canonical.as_bytes()))
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(p.key.secret_key.as_bytes()).unwrap();
        mac.update(to_sign.as_bytes());
        let signature = hex::encode(mac.finalize().into_bytes());
        let authorization = format!(
            "SDK-HMAC-SHA256 Access={}, SignedHeaders={}, Signature={signature}",
            p.key.access_key,
            names.join(";")
        );
        let query = self.canonical_query();
        let url = if query.is_empty() {
            format!("{}{}", p.base, self.path)
        } else {
            format!("{}{}?{query}", p.base, self.path)
        };
        let mut req = p.client.request(self.method.clone(), url);
        for (n, v) in self.headers.iter().chain(self.after.iter()) {
            req = req.header(n, v);
        }
        req = req.header("Authorization", authorization);
        if !self.body.is_empty() {
            req = req.body(self.body.clone());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

impl Provider {
    /// Sends `req` and checks the answer the resources check: 200 with `result: SUCCESS`.
    async fn succeeds(&self, req: GoRequest) {
        let (status, body) = req.send(self).await;
        assert_eq!(
            (status, body["result"].clone()),
            (StatusCode::OK, json!("SUCCESS")),
            "{body}"
        );
    }

    async fn start() -> Self {
        let stand_in = StarRocksStandIn::start(StandInConfig {
            root_password: OLD_ROOT.into(),
            databases: vec!["sales".into(), "ads".into()],
            ..StandInConfig::default()
        })
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(dir.path()).await.unwrap();
        // The project is named as the provider's region.
        let project = store.create_project(REGION).await.unwrap();
        let other = store.create_project("eu-west-0").await.unwrap();
        let user = store
            .create_user(
                "tf",
                &password::hash("Iam-tf-Passw0rd"),
                &project.id,
                Role::Admin.as_str(),
            )
            .await
            .unwrap();
        store
            .create_user(
                "elsewhere",
                &password::hash("Iam-tf-Passw0rd"),
                &other.id,
                Role::Admin.as_str(),
            )
            .await
            .unwrap();
        let secrets = SecretBox::new(&rand::random());
        let instance = AddSqlInstance {
            project_id: project.id.clone(),
            name: "htap".into(),
            kind: EngineKind::StarRocks,
            dsn: stand_in.root_dsn(),
            password: Zeroizing::new(OLD_ROOT.to_owned()),
            privilege_map: None,
            timeout: Duration::from_secs(5),
        }
        .run(&store, &secrets)
        .await
        .unwrap();
        let access_keys = AccessKeys::new(store.clone(), SecretBox::new(&rand::random()));
        let key = access_keys.create(&project.id, &user.id).await.unwrap();
        let iam = Iam::new(
            store.clone(),
            TokenSigner::new(&[9; 32]),
            Duration::from_secs(3600),
        );
        let token = iam.issue(&project, &user.id, "tf").await.unwrap().0;
        let app = router(
            AppState::new(
                store.clone(),
                iam,
                Instances::with_secrets(store.clone(), secrets),
                AuthOptions {
                    access_keys: Some(access_keys),
                    ..AuthOptions::default()
                },
            ),
            Limits::default(),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap()
        });
        Self {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            key,
            project_id: project.id.to_string(),
            instance_id: instance.id.to_string(),
            token,
            stand_in,
            _dir: dir,
        }
    }

    fn users(&self) -> String {
        format!(
            "/v3/{}/instances/{}/starrocks/users",
            self.project_id, self.instance_id
        )
    }

    /// A request of the gaussdb client: its project id goes in `X-Project-Id`, unsigned.
    fn service(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> GoRequest {
        GoRequest::new(method, path, query, body).after_signing("X-Project-Id", &self.project_id)
    }
}

#[tokio::test]
async fn the_provider_starts_with_an_aksk_and_manages_a_starrocks_user() {
    let p = Provider::start().await;

    // Start-up. The project client finds its project by the region's name (getProjectID, and
    // loadUserProjects before the first service call), and reads its catalog.
    let (status, body) = GoRequest::keystone("/v3/projects", &[("name", REGION)])
        .send(&p)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let projects = body["projects"].as_array().unwrap();
    assert_eq!(projects.len(), 1, "{body}");
    assert_eq!(projects[0]["id"], p.project_id.as_str());
    assert_eq!(projects[0]["name"], REGION);
    let domain_of_project = projects[0]["domain_id"].as_str().unwrap().to_owned();
    let (status, body) = GoRequest::keystone("/v3/auth/catalog", &[]).send(&p).await;
    assert_eq!(
        (status, body["catalog"].clone()),
        (StatusCode::OK, json!([]))
    );
    // The domain client (no domain in the provider block) finds the domain id: the one domain.
    let (status, body) = GoRequest::keystone("/v3/auth/domains", &[]).send(&p).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let domains = body["domains"].as_array().unwrap();
    assert_eq!(domains.len(), 1, "{body}");
    let domain_id = domains[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(domain_id, domain_of_project);
    // With the domain known, loadUserProjects filters by it too.
    let (status, body) = GoRequest::keystone(
        "/v3/projects",
        &[("name", REGION), ("domain_id", &domain_id)],
    )
    .after_signing("X-Domain-Id", &domain_id)
    .send(&p)
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["projects"][0]["id"], p.project_id.as_str());
    // A region that is not the key's project is not there for it.
    let (status, body) = GoRequest::keystone("/v3/projects", &[("name", "eu-west-0")])
        .send(&p)
        .await;
    assert_eq!(
        (status, body["projects"].clone()),
        (StatusCode::OK, json!([]))
    );

    // The StarRocks user resource. Create:
    let users = p.users();
    p.succeeds(p.service(
            Method::POST,
            &users,
            &[],
            Some(json!({"user_name": "tf_user", "password": "Tf-user-pw1", "databases": ["sales"], "dml": 1})),
)).await;
    assert!(p.stand_in.has_user("tf_user"));
    // Read (QueryHtapStarrocksUsers: limit, offset and the user's name):
    let read = |p: &Provider| {
        p.service(
            Method::GET,
            &p.users(),
            &[("limit", "100"), ("offset", "0"), ("user_name", "tf_user")],
            None,
        )
    };
    let (status, body) = read(&p).send(&p).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let user = &body["user_details"][0];
    assert_eq!(user["user_name"], "tf_user");
    assert_eq!(user["dml"], 1);
    // Update: the password, then the permission (only what changed).
    p.succeeds(p.service(
        Method::PUT,
        &format!("{users}/password"),
        &[],
        Some(json!({"user_name": "tf_user", "password": "Tf-user-pw2"})),
    ))
    .await;
    assert_eq!(
        p.stand_in.password_hash("tf_user").unwrap(),
        starkeep_domain::NativePasswordHash::of("Tf-user-pw2").as_str()
    );
    p.succeeds(p.service(
        Method::PUT,
        &format!("{users}/permission"),
        &[],
        Some(json!({"user_name": "tf_user", "databases": ["ads"]})),
    ))
    .await;
    let (_, body) = read(&p).send(&p).await;
    let user = &body["user_details"][0];
    assert_eq!(user["databases"], json!(["ads"]), "{body}");
    assert_eq!(user["dml"], 1);
    // Delete (user_name in the query; Content-Type set, no body):
    p.succeeds(p.service(Method::DELETE, &users, &[("user_name", "tf_user")], None))
        .await;
    assert!(!p.stand_in.has_user("tf_user"));
    // ...and a read after it finds nothing (the provider then drops it from its state).
    let (status, body) = read(&p).send(&p).await;
    assert_eq!(
        (status, body["user_details"].clone()),
        (StatusCode::OK, json!([]))
    );
}

/// The instance resource sets `db_root_pwd` through the account API. The instance's own admin
/// credential is root: starkeep replaces it in the same step and keeps working.
#[tokio::test]
async fn roots_password_set_by_the_instance_resource_leaves_starkeep_working() {
    let p = Provider::start().await;
    let users = p.users();
    p.succeeds(p.service(
        Method::PUT,
        &format!("{users}/password"),
        &[],
        Some(json!({"user_name": "root", "password": "New-root-pw2"})),
    ))
    .await;
    assert_eq!(
        p.stand_in.password_hash("root").unwrap(),
        starkeep_domain::NativePasswordHash::of("New-root-pw2").as_str()
    );
    // The stand-in checks passwords: a new connection with the old one is refused...
    let old = mysql_async::OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(p.stand_in.port())
        .user(Some("root"))
        .pass(Some(OLD_ROOT))
        .prefer_socket(false);
    assert!(mysql_async::Conn::new(old).await.is_err());
    // ...and starkeep still creates accounts, on new connections.
    p.succeeds(p.service(
        Method::POST,
        &users,
        &[],
        Some(json!({"user_name": "after_root", "password": "After-pw1", "databases": ["sales"]})),
    ))
    .await;
    assert!(p.stand_in.has_user("after_root"));
    // root's privileges and root itself stay: 400 with the catalogue's code, not 403.
    for (method, path, body) in [
        (
            Method::PUT,
            format!("{users}/permission"),
            Some(json!({"user_name": "root", "dml": 1})),
        ),
        (Method::DELETE, users.clone(), None),
    ] {
        let query: &[(&str, &str)] = if body.is_none() {
            &[("user_name", "root")]
        } else {
            &[]
        };
        let (status, answer) = p.service(method, &path, query, body).send(&p).await;
        assert_eq!(
            (status, answer["error_code"].clone()),
            (StatusCode::BAD_REQUEST, json!("DBS.280003")),
            "{path}"
        );
    }
}

/// The Keystone reads answer token callers too, scoped the same way; with no credential, 401.
#[tokio::test]
async fn keystone_reads_take_a_token_and_refuse_no_credential() {
    let p = Provider::start().await;
    let with_token = p
        .client
        .get(format!("{}/v3/projects?name={REGION}", p.base))
        .header("X-Auth-Token", &p.token)
        .send()
        .await
        .unwrap();
    assert_eq!(with_token.status(), StatusCode::OK);
    let body: Value = with_token.json().await.unwrap();
    assert_eq!(body["projects"][0]["id"], p.project_id.as_str());
    let domains = p
        .client
        .get(format!("{}/v3/auth/domains", p.base))
        .header("X-Auth-Token", &p.token)
        .send()
        .await
        .unwrap();
    assert_eq!(domains.status(), StatusCode::OK);
    for path in ["/v3/projects", "/v3/auth/domains", "/v3/auth/catalog"] {
        let anonymous = p
            .client
            .get(format!("{}{path}", p.base))
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
}
