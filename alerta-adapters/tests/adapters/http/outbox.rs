//! Operators looking at the mail outbox.

use alerta_core::domain::{MailId, Role};
use serde_json::json;

use super::helpers::spawn_app;

#[tokio::test]
async fn admins_list_and_retry_outbox_mail() {
    let t = spawn_app().await;
    let student = t.user(Role::Student).await;
    let staff = t.user(Role::Staff).await;
    let admin = t.user(Role::Admin).await;
    let token = Some(admin.token.as_str());
    let incident = t.report(&student.token, "Mail").await;
    let id = incident["incident_id"].as_str().unwrap();
    // Resolving mails the reporter, in the same step as the change.
    t.post(
        &format!("/incidents/{id}/status"),
        Some(&staff.token),
        json!({"estado": "resuelto"}),
    )
    .await
    .expect(200);

    let pending = t.get("/admin/outbox?state=pending", token).await;
    pending.expect(200);
    assert_eq!(pending.items().len(), 1);
    let mail = &pending.items()[0];
    assert_eq!(mail["state"], "pending");
    assert_eq!(mail["message"]["to"], json!([student.user.email]));
    assert!(pending.body["next_cursor"].is_null());
    assert!(
        t.get("/admin/outbox?state=sent", token)
            .await
            .items()
            .is_empty()
    );
    assert_eq!(t.get("/admin/outbox", token).await.items().len(), 1);

    let mail_id = mail["id"].as_str().unwrap();
    let retried = t
        .post(&format!("/admin/outbox/{mail_id}/retry"), token, json!({}))
        .await;
    retried.expect(200);
    assert_eq!(retried.body["state"], "pending");

    // Sent mail is not sent again.
    let outbox = &t.app.storage().outbox;
    let id = MailId::parse(mail_id).unwrap();
    outbox.mark_sent(&id, t.app.clock().now()).await.unwrap();
    t.post(&format!("/admin/outbox/{mail_id}/retry"), token, json!({}))
        .await
        .expect_error(409, "already_sent");
    t.post("/admin/outbox/01NOSUCHMAIL/retry", token, json!({}))
        .await
        .expect_error(404, "mail_not_found");
}
