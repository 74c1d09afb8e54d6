//! Registration, login, tokens, logout, accounts made by admins, and the login rate limit.

use std::sync::Arc;
use std::time::Duration;

use alerta_adapters::http::HttpConfig;
use alerta_core::domain::{Role, Timestamp};
use alerta_core::ports::ManualClock;
use alerta_core::{LoginPolicy, Settings};
use serde_json::json;

use super::helpers::{
    PASSWORD, TestUser, spawn_app, spawn_with, spawn_with_clock, spawn_without_connect_info,
};

#[tokio::test]
async fn register_login_me_and_logout() {
    let t = spawn_app().await;
    let reply = t
        .post(
            "/auth/register",
            None,
            json!({"email": "Ana@Campus.EDU", "password": "password123", "nombre": "Ana"}),
        )
        .await;
    reply.expect(201);
    let user = &reply.body["user"];
    assert_eq!(user["email"], "ana@campus.edu");
    assert_eq!(user["nombre"], "Ana");
    assert_eq!(user["rol"], "student");
    assert!(user["user_id"].is_string() && user["created_at"].is_string());
    let keys: Vec<&String> = user.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 5, "only the documented fields: {user}");
    assert!(!reply.body.to_string().contains("password123"));

    // Addresses compare without case.
    let login = t
        .post(
            "/auth/login",
            None,
            json!({"email": "ANA@campus.edu", "password": "password123"}),
        )
        .await;
    login.expect(200);
    let token = login.body["token"].as_str().unwrap().to_owned();
    assert!(login.body["expires_at"].is_string());
    assert_eq!(login.body["user"], *user);

    let me = t.get("/auth/me", Some(&token)).await;
    me.expect(200);
    assert_eq!(me.body["user"], *user);

    let out = t
        .request(reqwest::Method::POST, "/auth/logout", Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    assert!(out.bytes().await.unwrap().is_empty());

    // The token stops working at once.
    let after = t.get("/auth/me", Some(&token)).await;
    after.expect_error(401, "unauthenticated");
    assert_eq!(after.header("www-authenticate"), Some("Bearer"));
    t.post("/auth/logout", Some(&token), json!({}))
        .await
        .expect_error(401, "unauthenticated");
}

#[tokio::test]
async fn duplicate_emails_are_refused() {
    let t = spawn_app().await;
    let existing = t.user(Role::Staff).await;
    t.post(
        "/auth/register",
        None,
        json!({"email": existing.user.email.as_str().to_uppercase(),
               "password": "password123", "nombre": "Otra"}),
    )
    .await
    .expect_error(409, "duplicate");
}

#[tokio::test]
async fn wrong_passwords_unknown_accounts_and_bad_tokens_get_401() {
    let t = spawn_app().await;
    let user = t.user(Role::Student).await;
    t.post(
        "/auth/login",
        None,
        json!({"email": user.user.email, "password": "not the password"}),
    )
    .await
    .expect_error(401, "unauthenticated");
    t.post(
        "/auth/login",
        None,
        json!({"email": "nobody@campus.edu", "password": PASSWORD}),
    )
    .await
    .expect_error(401, "unauthenticated");

    t.get("/auth/me", None)
        .await
        .expect_error(401, "unauthenticated");
    t.get("/auth/me", Some("not-a-token"))
        .await
        .expect_error(401, "unauthenticated");
    let basic = super::helpers::send(
        t.request(reqwest::Method::GET, "/auth/me", None)
            .header("authorization", format!("Basic {}", user.token)),
    )
    .await;
    basic.expect_error(401, "unauthenticated");
    let lower_case_scheme = super::helpers::send(
        t.request(reqwest::Method::GET, "/auth/me", None)
            .header("authorization", format!("bearer {}", user.token)),
    )
    .await;
    lower_case_scheme.expect(200);
}

#[tokio::test]
async fn admins_make_accounts_with_any_role() {
    let t = spawn_app().await;
    let admin = t.user(Role::Admin).await;
    let reply = t
        .post(
            "/admin/users",
            Some(&admin.token),
            json!({"email": "jefe@campus.edu", "password": "password123",
                   "nombre": "Jefa de turno", "rol": "staff"}),
        )
        .await;
    reply.expect(201);
    assert_eq!(reply.body["user"]["rol"], "staff");

    let login = t
        .post(
            "/auth/login",
            None,
            json!({"email": "jefe@campus.edu", "password": "password123"}),
        )
        .await;
    login.expect(200);
    assert_eq!(login.body["user"]["rol"], "staff");
    let staff_token = login.body["token"].as_str().unwrap();
    t.get("/staff/stats", Some(staff_token)).await.expect(200);
}

/// The shape of the failure a campus behind one NAT address met: one student's wrong
/// passwords locked out everyone on the address.
#[tokio::test]
async fn one_students_wrong_passwords_lock_their_account_not_their_address() {
    let clock = Arc::new(ManualClock::new(Timestamp::from_unix_millis(
        1_800_000_000_000,
    )));
    let t = spawn_with_clock(Settings::default(), clock.clone()).await;
    let ana = t.user(Role::Student).await;
    let luis = t.user(Role::Student).await;
    // Every request comes from the test's one loopback address, as a campus's from its NAT.
    let login = |user: &TestUser, password: &'static str| {
        t.post(
            "/auth/login",
            None,
            json!({"email": user.user.email, "password": password}),
        )
    };
    let retry_after = |reply: &super::helpers::Reply| -> u64 {
        reply.expect_error(429, "rate_limited");
        reply
            .header("retry-after")
            .expect("a Retry-After header")
            .parse()
            .expect("seconds")
    };
    for _ in 0..5 {
        login(&ana, "wrong password")
            .await
            .expect_error(401, "unauthenticated");
    }
    // Ana's account is locked, the right password too.
    let first = retry_after(&login(&ana, PASSWORD).await);
    assert_eq!(first, 30);
    // Luis, on the same address, logs in as if nothing happened.
    let reply = login(&luis, PASSWORD).await;
    reply.expect(200);
    assert_eq!(reply.body["user"]["email"], luis.user.email.as_str());

    // Each further failure, once the lockout is over, doubles it.
    let mut previous = first;
    for _ in 0..3 {
        clock.advance(Duration::from_secs(previous));
        login(&ana, "wrong password")
            .await
            .expect_error(401, "unauthenticated");
        let next = retry_after(&login(&ana, PASSWORD).await);
        assert_eq!(next, previous * 2, "the lockout grows");
        login(&luis, PASSWORD).await.expect(200);
        previous = next;
    }
    clock.advance(Duration::from_secs(previous));
    login(&ana, PASSWORD).await.expect(200);
}

#[tokio::test]
async fn failed_logins_count_per_client_address_too() {
    let settings = Settings {
        login: LoginPolicy {
            client_max_failures: 2,
            ..LoginPolicy::default()
        },
        ..Settings::default()
    };
    let t = spawn_with(settings, HttpConfig::default()).await;
    // Two accounts, one failure each, from the same address: the address reaches its limit.
    for n in 0..2 {
        t.post(
            "/auth/login",
            None,
            json!({"email": format!("nobody{n}@campus.edu"), "password": "wrong password"}),
        )
        .await
        .expect_error(401, "unauthenticated");
    }
    let refused = t
        .post(
            "/auth/login",
            None,
            json!({"email": "someone-else@campus.edu", "password": "wrong password"}),
        )
        .await;
    refused.expect_error(429, "rate_limited");
    assert_eq!(refused.header("retry-after"), Some("900"));
}

#[tokio::test]
async fn login_works_without_connect_info() {
    let t = spawn_without_connect_info().await;
    let user = t.user(Role::Student).await;
    let login = t
        .post(
            "/auth/login",
            None,
            json!({"email": user.user.email, "password": PASSWORD}),
        )
        .await;
    login.expect(200);
    let token = login.body["token"].as_str().unwrap();
    t.get("/auth/me", Some(token)).await.expect(200);
}

#[tokio::test]
async fn expired_sessions_stop_working() {
    let t = spawn_app().await;
    let user = t.user(Role::Student).await;
    let token = alerta_core::domain::SessionToken::generate();
    let now = t.app.clock().now();
    t.app
        .storage()
        .users
        .create_session(&alerta_core::domain::Session {
            token_hash: token.hash(),
            user_id: user.user.id.clone(),
            created_at: now,
            expires_at: now.plus(Duration::from_millis(1)),
        })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    t.get("/auth/me", Some(token.expose()))
        .await
        .expect_error(401, "unauthenticated");
}

#[tokio::test]
async fn behind_a_trusted_proxy_clients_are_told_apart_by_x_forwarded_for() {
    let settings = Settings {
        login: LoginPolicy {
            client_max_failures: 1,
            ..LoginPolicy::default()
        },
        ..Settings::default()
    };
    let t = spawn_with(settings, HttpConfig::default().trust_forwarded_for(true)).await;
    let attempt = |email: &'static str, from: &'static str| {
        super::helpers::send(
            t.request(reqwest::Method::POST, "/auth/login", None)
                .header("x-forwarded-for", from)
                .json(&json!({"email": email, "password": "wrong password"})),
        )
    };
    attempt("a@campus.edu", "198.51.100.7, 10.0.0.1")
        .await
        .expect_error(401, "unauthenticated");
    // Another client behind the same proxy is not held back by the first one's failure.
    attempt("b@campus.edu", "10.0.0.2")
        .await
        .expect_error(401, "unauthenticated");
    // The first client is.
    attempt("c@campus.edu", "10.0.0.1")
        .await
        .expect_error(429, "rate_limited");
}
