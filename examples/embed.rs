//! Embeds the Alerta core with the in-memory adapters: register, report an incident, assign
//! it, resolve it, then print its history and the mail waiting in the outbox.
//!
//! Run with `cargo run -p alerta-examples --example embed`.

use std::sync::Arc;

use alerta_adapters::memory::{MemoryBlobStore, MemoryStore, RecordingBroadcaster};
use alerta_core::domain::{Department, DepartmentName, Email, NewUser, PageRequest, Role, Status};
use alerta_core::ports::Storage;
use alerta_core::{Alerta, StatusChange};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), alerta_core::Error> {
    // One backend serves every storage port, so a change and its mail are stored together.
    let storage = Storage::from_backend(Arc::new(MemoryStore::new()));
    let broadcaster = Arc::new(RecordingBroadcaster::new());
    let app = Alerta::builder(
        storage,
        Arc::new(MemoryBlobStore::new()),
        broadcaster.clone(),
    )
    .build();

    let admin = app
        .add_user(NewUser::parse(
            "admin@campus.edu",
            "admin-password",
            "Admin",
            Role::Admin,
        )?)
        .await?;
    let student = app
        .register(NewUser::parse(
            "ana@campus.edu",
            "ana-password",
            "Ana",
            Role::Student,
        )?)
        .await?;
    let login = app.login("ana@campus.edu", "ana-password", None).await?;
    println!("Ana logged in until {}", login.expires_at);

    app.add_department(Department {
        name: DepartmentName::parse("Mantenimiento")?,
        email: Email::parse("mantenimiento@campus.edu")?,
    })
    .await?;

    let draft = app.parse_draft(
        "infraestructura",
        "Fuga de agua en el baño",
        "Pabellón A",
        "alta",
    )?;
    let incident = app.report_incident(&student, draft, None).await?;
    println!("reported {} ({})", incident.id(), incident.status());

    let incident = app
        .assign_department(
            &admin,
            incident.id(),
            DepartmentName::parse("Mantenimiento")?,
            None,
        )
        .await?;
    let resolve = StatusChange {
        to: Status::Resolved,
        note: None,
        expected_version: Some(incident.version()),
    };
    let incident = app
        .change_status(&admin, incident.id(), resolve, None)
        .await?;
    println!(
        "now {} at version {}",
        incident.status(),
        incident.version()
    );

    println!("\nhistory:");
    for event in app.history(&admin, incident.id()).await? {
        println!("  {}", serde_json::to_string(&event).unwrap_or_default());
    }

    println!("\nmail waiting in the outbox:");
    let outbox = app
        .storage()
        .outbox
        .mails(None, &PageRequest::default())
        .await?;
    for mail in outbox.items.iter().rev() {
        let to: Vec<&str> = mail.message.to.iter().map(Email::as_str).collect();
        println!("  to {}: {}", to.join(", "), mail.message.subject.as_str());
    }

    println!(
        "\nstream messages published: {}",
        broadcaster.messages().len()
    );
    Ok(())
}
