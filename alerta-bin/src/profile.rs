//! Building the application for a profile: which adapters back which ports.

use std::sync::Arc;

use alerta_adapters::fs::FsBlobStore;
use alerta_adapters::sqlite::SqliteStore;
use alerta_core::domain::{Department, DepartmentName, Email, NewUser, Role, TypeCatalog};
use alerta_core::ports::{DynBroadcaster, DynReportLedger, Storage};
use alerta_core::{Alerta, Settings};
use anyhow::{Context, bail};

use crate::config::{Config, Profile};

/// The application on the backends of a profile.
pub struct Backends {
    /// The application.
    pub app: Alerta,
    /// Where the report job records processed assignments (the same backend as the storage).
    pub ledger: Arc<DynReportLedger>,
}

/// The use-case settings a configuration asks for.
pub fn settings(config: &Config) -> anyhow::Result<Settings> {
    let alert_recipients = config
        .alert_emails
        .iter()
        .map(|e| Email::parse(e).with_context(|| format!("alert_emails: '{e}'")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Settings {
        incident_types: TypeCatalog::new(&config.incident_types),
        locations: config.locations.clone(),
        attachment_max_bytes: config.attachment_max_bytes,
        session_ttl: config.token_ttl()?,
        alert_recipients,
        ingest_keys: config
            .ingest_keys
            .iter()
            .map(|k| k.expose().to_owned())
            .collect(),
        ..Settings::default()
    })
}

/// Opens the backends of `config.profile` and builds the application on them.
pub async fn open(config: &Config, broadcaster: Arc<DynBroadcaster>) -> anyhow::Result<Backends> {
    match config.profile {
        Profile::Local => {
            std::fs::create_dir_all(&config.data_dir).with_context(|| {
                format!("creating the data directory {}", config.data_dir.display())
            })?;
            let database = config.data_dir.join("alerta.db");
            let store = Arc::new(
                SqliteStore::open(&database)
                    .await
                    .with_context(|| format!("opening {}", database.display()))?,
            );
            let blobs = FsBlobStore::new(config.data_dir.join("blobs"));
            let app = Alerta::builder(
                Storage::from_backend(store.clone()),
                Arc::new(blobs),
                broadcaster,
            )
            .settings(settings(config)?)
            .build();
            Ok(Backends { app, ledger: store })
        }
        Profile::Aws => bail!("the aws profile is not available in this build yet"),
    }
}

/// Creates the configured admin and departments when they are missing.
pub async fn seed(app: &Alerta, config: &Config) -> anyhow::Result<()> {
    match (&config.admin_email, &config.admin_password) {
        (Some(email), Some(password)) => {
            let new = NewUser::parse(email, password.expose(), "Admin", Role::Admin)
                .context("ALERTA_ADMIN_EMAIL / ALERTA_ADMIN_PASSWORD")?;
            let admin = app.ensure_user(new).await?;
            tracing::info!(email = %admin.email, role = admin.role.as_str(), "admin account ready");
        }
        (Some(_), None) | (None, Some(_)) => {
            bail!("set both ALERTA_ADMIN_EMAIL and ALERTA_ADMIN_PASSWORD, or neither")
        }
        (None, None) => {}
    }
    for department in &config.departments {
        let department = Department {
            name: DepartmentName::parse(&department.nombre)?,
            email: Email::parse(&department.email)?,
        };
        match app.add_department(department).await {
            Ok(_) | Err(alerta_core::Error::Conflict { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
