//! A server per test on a free loopback port, over fresh memory adapters, and typed helpers
//! to talk to it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use alerta_adapters::http::{HttpConfig, router};
use alerta_adapters::memory::{MemoryBlobStore, MemoryStore, RecordingBroadcaster};
use alerta_core::domain::{
    Department, DepartmentName, Email, IncidentId, Password, PasswordHash, PersonName, Role,
    Session, SessionToken, UlidSource, User, UserId, UserRecord,
};
use alerta_core::ports::{ManualClock, Storage};
use alerta_core::{Alerta, Settings, Upload};
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};

/// The password of every fixture user.
pub const PASSWORD: &str = "correct horse battery";

/// The first bytes of a PNG file, enough for the type check.
pub const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR fake image data";

/// A running server and the application behind it.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub app: Alerta,
    pub broadcaster: Arc<RecordingBroadcaster>,
}

/// A user and a token of theirs.
#[derive(Clone)]
pub struct TestUser {
    pub user: User,
    pub token: String,
}

impl TestUser {
    pub fn id(&self) -> &str {
        self.user.id.as_str()
    }
}

/// What the server answered.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub bytes: Vec<u8>,
}

impl Reply {
    /// The `code` of an error reply.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `items` of a list reply.
    pub fn items(&self) -> &Vec<Value> {
        self.body["items"]
            .as_array()
            .unwrap_or_else(|| panic!("not a list: {}", self.body))
    }

    /// Asserts the status (and, for errors, that the body has the error shape).
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(self.status, status, "unexpected reply: {}", self.body);
        if status >= 400 {
            assert!(
                self.body["error"]["code"].is_string() && self.body["error"]["message"].is_string(),
                "not the error shape: {}",
                self.body
            );
        }
        self
    }

    /// Asserts an error status and code.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) -> &Self {
        self.expect(status);
        assert_eq!(self.code(), code, "unexpected error: {}", self.body);
        self
    }
}

/// A server with the default settings.
pub async fn spawn_app() -> TestApp {
    spawn_with(Settings::default(), HttpConfig::default()).await
}

/// A server with these settings and configuration.
pub async fn spawn_with(settings: Settings, config: HttpConfig) -> TestApp {
    spawn(settings, config, true, None, None).await
}

/// A server with the default settings over `storage`.
pub async fn spawn_on(storage: Storage) -> TestApp {
    spawn(
        Settings::default(),
        HttpConfig::default(),
        true,
        None,
        Some(storage),
    )
    .await
}

/// A server with these settings, on a clock the test moves.
pub async fn spawn_with_clock(settings: Settings, clock: Arc<ManualClock>) -> TestApp {
    spawn(settings, HttpConfig::default(), true, Some(clock), None).await
}

/// A server started without connect info, as an embedding service might.
pub async fn spawn_without_connect_info() -> TestApp {
    spawn(
        Settings::default(),
        HttpConfig::default(),
        false,
        None,
        None,
    )
    .await
}

async fn spawn(
    settings: Settings,
    config: HttpConfig,
    connect_info: bool,
    clock: Option<Arc<ManualClock>>,
    storage: Option<Storage>,
) -> TestApp {
    let broadcaster = Arc::new(RecordingBroadcaster::new());
    let storage = storage.unwrap_or_else(|| Storage::from_backend(Arc::new(MemoryStore::new())));
    let mut builder = Alerta::builder(
        storage,
        Arc::new(MemoryBlobStore::new()),
        broadcaster.clone(),
    )
    .settings(settings);
    if let Some(clock) = clock {
        builder = builder.clock(clock);
    }
    let app = builder.build();
    let api = router(app.clone(), config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free loopback port");
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        if connect_info {
            axum::serve(
                listener,
                api.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
        } else {
            axum::serve(listener, api).await
        }
        .expect("the server runs");
    });
    TestApp {
        base: format!("http://{addr}"),
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        app,
        broadcaster,
    }
}

fn ids() -> &'static UlidSource {
    static IDS: OnceLock<UlidSource> = OnceLock::new();
    IDS.get_or_init(UlidSource::new)
}

/// A number no other call returns, for unique names and addresses.
pub fn unique() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::SeqCst)
}

/// One argon2 hash of [`PASSWORD`] shared by every fixture user: hashing is slow on purpose.
fn password_hash() -> &'static PasswordHash {
    static HASH: OnceLock<PasswordHash> = OnceLock::new();
    HASH.get_or_init(|| Password::parse(PASSWORD).unwrap().hash())
}

pub async fn send(request: RequestBuilder) -> Reply {
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("a whole body").to_vec();
    let is_json = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let body = if is_json {
        serde_json::from_slice(&bytes).expect("the JSON body parses")
    } else {
        Value::Null
    };
    Reply {
        status,
        headers,
        body,
        bytes,
    }
}

impl TestApp {
    /// A request to `path`, with a bearer token when given.
    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let request = self.client.request(method, format!("{}{path}", self.base));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        send(self.request(Method::GET, path, token)).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        send(self.request(Method::POST, path, token).json(&body)).await
    }

    /// A POST with an `Idempotency-Key`.
    pub async fn post_with_key(
        &self,
        path: &str,
        token: Option<&str>,
        key: &str,
        body: Value,
    ) -> Reply {
        send(
            self.request(Method::POST, path, token)
                .header("idempotency-key", key)
                .json(&body),
        )
        .await
    }

    /// A POST of raw bytes with a content type.
    pub async fn post_raw(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Reply {
        send(
            self.request(Method::POST, path, token)
                .header("content-type", content_type)
                .body(bytes),
        )
        .await
    }

    /// A user with `role`, made straight in storage with a session of its own: quick, because
    /// it needs no password hashing of its own.
    pub async fn user(&self, role: Role) -> TestUser {
        let n = unique();
        let user = User {
            id: UserId::generate(ids()),
            email: Email::parse(&format!("{}{n}@campus.edu", role.as_str())).unwrap(),
            name: PersonName::parse(&format!("Persona {n}")).unwrap(),
            role,
            created_at: self.app.clock().now(),
        };
        self.app
            .storage()
            .users
            .create_user(&UserRecord {
                user: user.clone(),
                password_hash: password_hash().clone(),
                disabled: false,
            })
            .await
            .unwrap();
        let token = self.session(&user).await;
        TestUser { user, token }
    }

    /// A new token for `user`.
    pub async fn session(&self, user: &User) -> String {
        let token = SessionToken::generate();
        let now = self.app.clock().now();
        self.app
            .storage()
            .users
            .create_session(&Session {
                token_hash: token.hash(),
                user_id: user.id.clone(),
                created_at: now,
                expires_at: now.plus(Duration::from_secs(3600)),
            })
            .await
            .unwrap();
        token.expose().to_owned()
    }

    /// Adds a department to the catalog.
    pub async fn department(&self, name: &str) {
        self.app
            .add_department(Department {
                name: DepartmentName::parse(name).unwrap(),
                email: Email::parse(&format!("dept{}@campus.edu", unique())).unwrap(),
            })
            .await
            .unwrap();
    }

    /// Reports an incident over HTTP and returns it.
    pub async fn report(&self, token: &str, description: &str) -> Value {
        let reply = self
            .post(
                "/incidents",
                Some(token),
                json!({"tipo": "infraestructura", "descripcion": description,
                       "ubicacion": "Biblioteca", "urgencia": "media"}),
            )
            .await;
        reply.expect(201);
        reply.body
    }

    /// Reports an incident through the core, without HTTP; returns its id.
    pub async fn report_directly(&self, reporter: &TestUser) -> String {
        let draft = self
            .app
            .parse_draft("limpieza", "Derrame en el pasillo", "Pabellón A", "baja")
            .unwrap();
        self.app
            .report_incident(&reporter.user, draft, None)
            .await
            .unwrap()
            .id()
            .to_string()
    }

    /// Attaches a PNG through the core; returns the attachment's id.
    pub async fn attach_directly(&self, reporter: &TestUser, incident: &str) -> String {
        let upload = Upload {
            filename: "foto.png".into(),
            content_type: "image/png".into(),
            bytes: PNG.to_vec(),
        };
        self.app
            .attach(
                &reporter.user,
                &IncidentId::parse(incident).unwrap(),
                upload,
                None,
            )
            .await
            .unwrap()
            .attachment_id
            .to_string()
    }

    /// How many incidents there are, through the API.
    pub async fn incident_count(&self, token: &str) -> usize {
        let reply = self.get("/incidents?limit=500", Some(token)).await;
        reply.expect(200);
        reply.items().len()
    }
}
