//! Accounts over HTTP: the admin's list, role changes under the last-admin rule (also with
//! concurrent requests on the memory and SQLite stores), disabling, password changes,
//! department edits and `GET /setup`.

use std::sync::Arc;

use alerta_adapters::memory::MemoryStore;
use alerta_adapters::sqlite::SqliteStore;
use alerta_core::domain::{AccessChange, Role};
use alerta_core::ports::Storage;
use serde_json::json;

use super::helpers::{PASSWORD, TestApp, send, spawn_app, spawn_on};

fn emails(reply: &super::helpers::Reply) -> Vec<String> {
    reply
        .items()
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn admins_list_accounts_by_email_with_search_role_and_cursor() {
    let t = spawn_app().await;
    let admin = t.user(Role::Admin).await;
    let staff = t.user(Role::Staff).await;
    let students = [t.user(Role::Student).await, t.user(Role::Student).await];
    let token = Some(admin.token.as_str());

    let first = t.get("/admin/users?limit=2", token).await;
    first.expect(200);
    assert_eq!(first.items().len(), 2);
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let second = t
        .get(&format!("/admin/users?limit=2&cursor={cursor}"), token)
        .await;
    second.expect(200);
    assert_eq!(second.body["next_cursor"], serde_json::Value::Null);
    let mut all = emails(&first);
    all.extend(emails(&second));
    let mut expected: Vec<String> = [&admin, &staff, &students[0], &students[1]]
        .iter()
        .map(|u| u.user.email.to_string())
        .collect();
    expected.sort();
    assert_eq!(all, expected, "every account once, by email");
    assert_eq!(first.items()[0]["disabled"], false);
    assert!(first.items()[0].get("password_hash").is_none());

    let staff_only = t.get("/admin/users?rol=staff", token).await;
    assert_eq!(emails(&staff_only), [staff.user.email.to_string()]);
    let named = t
        .get(
            &format!(
                "/admin/users?q={}",
                students[1]
                    .user
                    .name
                    .as_str()
                    .replace(' ', "%20")
                    .to_uppercase()
            ),
            token,
        )
        .await;
    assert_eq!(emails(&named), [students[1].user.email.to_string()]);
    t.get("/admin/users?rol=jefe", token)
        .await
        .expect_error(400, "invalid_rol");
    t.get("/admin/users?limit=0", token)
        .await
        .expect_error(400, "invalid_limit");
}

#[tokio::test]
async fn the_last_admin_cannot_be_demoted_or_disabled() {
    let t = spawn_app().await;
    let admin = t.user(Role::Admin).await;
    let token = Some(admin.token.as_str());
    let path = format!("/admin/users/{}", admin.id());
    t.post(&format!("{path}/role"), token, json!({"rol": "staff"}))
        .await
        .expect_error(409, "last_admin");
    t.post(&format!("{path}/disable"), token, json!({}))
        .await
        .expect_error(409, "last_admin");
    t.get("/auth/me", token).await.expect(200);
    let me = t.get("/auth/me", token).await;
    assert_eq!(me.body["user"]["rol"], "admin", "nothing changed");

    let other = t.user(Role::Student).await;
    let promoted = t
        .post(
            &format!("/admin/users/{}/role", other.id()),
            token,
            json!({"rol": "admin"}),
        )
        .await;
    promoted.expect(200);
    assert_eq!(promoted.body["user"]["rol"], "admin");
    t.post(&format!("{path}/role"), token, json!({"rol": "staff"}))
        .await
        .expect(200);
    t.post(
        &format!("/admin/users/{}/role", other.id()),
        token,
        json!({"rol": "boss"}),
    )
    .await
    .expect_error(400, "invalid_rol");
    t.post(
        "/admin/users/nobody/role",
        Some(other.token.as_str()),
        json!({"rol": "staff"}),
    )
    .await
    .expect_error(404, "user_not_found");
}

/// Two admins demote or disable each other at once, many times: one request wins each time
/// and exactly one admin can still log in.
async fn admins_demoting_each_other(t: TestApp) {
    let a = t.user(Role::Admin).await;
    let b = t.user(Role::Admin).await;
    for round in 0..10 {
        let action = if round % 2 == 0 { "role" } else { "disable" };
        let (a_token, b_token) = (t.session(&a.user).await, t.session(&b.user).await);
        let request = |token: &str, target: &str| {
            send(
                t.request(
                    reqwest::Method::POST,
                    &format!("/admin/users/{target}/{action}"),
                    Some(token),
                )
                .json(&json!({"rol": "student"})),
            )
        };
        let (ab, ba) = tokio::join!(request(&a_token, b.id()), request(&b_token, a.id()));
        let statuses = [ab.status, ba.status];
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            1,
            "round {round}: exactly one wins: {} {} / {} {}",
            ab.status,
            ab.body,
            ba.status,
            ba.body
        );
        for reply in [&ab, &ba] {
            // The loser was refused by the rule, or, when the winner's change came first,
            // was no longer an admin (403) or no longer logged in (401).
            assert!(
                [200, 401, 403].contains(&reply.status) || reply.code() == "last_admin",
                "round {round}: {} {}",
                reply.status,
                reply.body
            );
        }
        let mut admins = 0;
        for user in [&a, &b] {
            let record = t
                .app
                .storage()
                .users
                .user_by_id(&user.user.id)
                .await
                .unwrap()
                .unwrap();
            admins += usize::from(record.is_active_admin());
        }
        assert_eq!(admins, 1, "round {round}: exactly one admin can log in");
        for user in [&a, &b] {
            for change in [
                AccessChange::Role(Role::Admin),
                AccessChange::Disabled(false),
            ] {
                t.app
                    .storage()
                    .users
                    .change_access(&user.user.id, change)
                    .await
                    .unwrap();
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_demotions_leave_one_admin_on_the_memory_store() {
    let storage = Storage::from_backend(Arc::new(MemoryStore::new()));
    admins_demoting_each_other(spawn_on(storage).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_demotions_leave_one_admin_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path().join("alerta.db"))
        .await
        .expect("open");
    admins_demoting_each_other(spawn_on(Storage::from_backend(Arc::new(store))).await).await;
}

#[tokio::test]
async fn a_disabled_account_cannot_log_in_and_its_sessions_end() {
    let t = spawn_app().await;
    let admin = t.user(Role::Admin).await;
    let ana = t.user(Role::Student).await;
    let other_session = t.session(&ana.user).await;
    let token = Some(admin.token.as_str());
    let disabled = t
        .post(
            &format!("/admin/users/{}/disable", ana.id()),
            token,
            json!({}),
        )
        .await;
    disabled.expect(200);
    assert_eq!(disabled.body["user"]["disabled"], true);
    for session in [&ana.token, &other_session] {
        t.get("/auth/me", Some(session))
            .await
            .expect_error(401, "unauthenticated");
    }
    let login = json!({"email": ana.user.email.as_str(), "password": PASSWORD});
    t.post("/auth/login", None, login.clone())
        .await
        .expect_error(403, "forbidden");
    let wrong = json!({"email": ana.user.email.as_str(), "password": "not-the-password"});
    t.post("/auth/login", None, wrong)
        .await
        .expect_error(401, "unauthenticated");
    let listed = t.get("/admin/users?q=", token).await;
    let row = listed
        .items()
        .iter()
        .find(|u| u["user_id"] == ana.id())
        .unwrap()
        .clone();
    assert_eq!(row["disabled"], true);
    let enabled = t
        .post(
            &format!("/admin/users/{}/enable", ana.id()),
            token,
            json!({}),
        )
        .await;
    enabled.expect(200);
    assert_eq!(enabled.body["user"]["disabled"], false);
    t.post("/auth/login", None, login).await.expect(200);
}

#[tokio::test]
async fn a_password_change_checks_the_current_one_and_ends_the_other_sessions() {
    let t = spawn_app().await;
    let ana = t.user(Role::Student).await;
    let phone = t.session(&ana.user).await;
    let change =
        |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    t.post(
        "/auth/password",
        Some(&ana.token),
        change("wrong-password", "nueva-clave-1"),
    )
    .await
    .expect_error(400, "invalid_current_password");
    t.post(
        "/auth/password",
        Some(&ana.token),
        change(PASSWORD, "corta"),
    )
    .await
    .expect_error(400, "invalid_new_password");
    t.post(
        "/auth/password",
        Some(&ana.token),
        json!({"new_password": "nueva-clave-1"}),
    )
    .await
    .expect_error(400, "invalid_current_password");
    t.get("/auth/me", Some(&phone)).await.expect(200);

    t.post(
        "/auth/password",
        Some(&ana.token),
        change(PASSWORD, "nueva-clave-1"),
    )
    .await
    .expect(204);
    t.get("/auth/me", Some(&ana.token)).await.expect(200);
    t.get("/auth/me", Some(&phone))
        .await
        .expect_error(401, "unauthenticated");
    let email = ana.user.email.as_str();
    t.post(
        "/auth/login",
        None,
        json!({"email": email, "password": PASSWORD}),
    )
    .await
    .expect_error(401, "unauthenticated");
    t.post(
        "/auth/login",
        None,
        json!({"email": email, "password": "nueva-clave-1"}),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn wrong_current_passwords_lock_the_account_like_failed_logins() {
    let t = spawn_app().await;
    let ana = t.user(Role::Student).await;
    let body = json!({"current_password": "wrong-password", "new_password": "nueva-clave-1"});
    for _ in 0..5 {
        t.post("/auth/password", Some(&ana.token), body.clone())
            .await
            .expect_error(400, "invalid_current_password");
    }
    t.post("/auth/password", Some(&ana.token), body)
        .await
        .expect_error(429, "rate_limited");
    let login = json!({"email": ana.user.email.as_str(), "password": PASSWORD});
    t.post("/auth/login", None, login)
        .await
        .expect_error(429, "rate_limited");
}

#[tokio::test]
async fn admins_edit_a_department_contact_address() {
    let t = spawn_app().await;
    let admin = t.user(Role::Admin).await;
    t.department("Mantenimiento").await;
    let edited = t
        .request(
            reqwest::Method::PUT,
            "/departments/Mantenimiento",
            Some(&admin.token),
        )
        .json(&json!({"email": "Soporte@Campus.edu"}));
    let edited = send(edited).await;
    edited.expect(200);
    assert_eq!(
        edited.body,
        json!({"nombre": "Mantenimiento", "email": "soporte@campus.edu"})
    );
    let listed = t.get("/departments", Some(&admin.token)).await;
    assert_eq!(listed.items()[0]["email"], "soporte@campus.edu");
    for (path, body, status, code) in [
        (
            "/departments/Cafeter%C3%ADa",
            json!({"email": "c@campus.edu"}),
            404,
            "department_not_found",
        ),
        (
            "/departments/Mantenimiento",
            json!({"email": "no es correo"}),
            400,
            "invalid_email",
        ),
        (
            "/departments/Mantenimiento",
            json!({}),
            400,
            "invalid_email",
        ),
    ] {
        let reply = send(
            t.request(reqwest::Method::PUT, path, Some(&admin.token))
                .json(&body),
        )
        .await;
        reply.expect_error(status, code);
    }
    let listed = t.get("/departments", Some(&admin.token)).await;
    assert_eq!(listed.items().len(), 1, "an edit makes nothing");
    assert_eq!(listed.items()[0]["email"], "soporte@campus.edu");
}

#[tokio::test]
async fn setup_says_whether_an_admin_can_log_in() {
    let t = spawn_app().await;
    let setup = t.get("/setup", None).await;
    setup.expect(200);
    assert_eq!(setup.body, json!({"admin_exists": false}));
    let admin = t.user(Role::Admin).await;
    assert_eq!(
        t.get("/setup", None).await.body,
        json!({"admin_exists": true})
    );
    let other = t.user(Role::Admin).await;
    t.post(
        &format!("/admin/users/{}/disable", other.id()),
        Some(&admin.token),
        json!({}),
    )
    .await
    .expect(200);
    assert_eq!(
        t.get("/setup", None).await.body,
        json!({"admin_exists": true})
    );
}
