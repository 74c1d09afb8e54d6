//! Building the application for a profile: which adapters back which ports.

use std::sync::Arc;

use alerta_adapters::fs::FsBlobStore;
use alerta_adapters::sqlite::SqliteStore;
use alerta_core::domain::{
    AckLinks, Department, DepartmentName, Email, LinkSecret, NewUser, Role, TypeCatalog,
};
use alerta_core::ports::{DynBlobStore, DynBroadcaster, Storage};
use alerta_core::{Alerta, Settings};
use anyhow::{Context, bail};

use crate::config::{Config, Profile};

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
        session_ttl: config.token_ttl,
        stream_retention: config.stream_retention,
        idempotency_max_age: config.idempotency_ttl,
        public_incidents: config.public_incidents,
        silence_refresh: config.silence_refresh,
        alert_recipients,
        escalation: crate::escalation::policy(config)?,
        ingest_keys: config
            .ingest_keys
            .iter()
            .map(|k| k.expose().to_owned())
            .collect(),
        ..Settings::default()
    })
}

async fn build(
    config: &Config,
    storage: Storage,
    blobs: Arc<DynBlobStore>,
    broadcaster: Arc<DynBroadcaster>,
) -> anyhow::Result<Alerta> {
    let mut settings = settings(config)?;
    settings.ack_links = Some(ack_links(config, &storage).await?);
    Ok(Alerta::builder(storage, blobs, broadcaster)
        .settings(settings)
        .build())
}

/// How alert mails link to their acknowledgement: signed with the configured secret, or with
/// the one kept in the store, which the first instance to start makes.
async fn ack_links(config: &Config, storage: &Storage) -> anyhow::Result<AckLinks> {
    if config.ack_link_ttl > config.idempotency_ttl {
        bail!(
            "ack_link_ttl ({:?}) must not be longer than idempotency_ttl ({:?}), which is how \
             long a used link is remembered",
            config.ack_link_ttl,
            config.idempotency_ttl
        );
    }
    let secret = match &config.link_secret {
        Some(secret) => LinkSecret::parse(secret.expose()).context("link_secret")?,
        None => {
            let kept = storage
                .settings
                .setting_or_insert(LINK_SECRET, &LinkSecret::generate_text())
                .await
                .context("reading the link secret from the store")?;
            LinkSecret::parse(&kept).context("the link secret in the store")?
        }
    };
    let base = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.http_addr));
    Ok(AckLinks::new(secret, &base, config.ack_link_ttl))
}

/// The name of the link secret among the store's settings.
const LINK_SECRET: &str = "link_secret";

/// Opens the backends of `config.profile` and builds the application on them. What the
/// storage backend can do in one call travels with it, in `storage().limits`.
pub async fn open(config: &Config, broadcaster: Arc<DynBroadcaster>) -> anyhow::Result<Alerta> {
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
            let blobs = Arc::new(FsBlobStore::new(config.data_dir.join("blobs")));
            let migrated = blobs
                .migrate()
                .await
                .context("rewriting blob files of the old format")?;
            if migrated > 0 {
                tracing::info!(
                    migrated,
                    "blob files rewritten as their bytes with a sidecar"
                );
            }
            build(config, Storage::from_backend(store), blobs, broadcaster).await
        }
        Profile::Aws => open_aws(config, broadcaster).await,
    }
}

#[cfg(feature = "aws")]
async fn open_aws(config: &Config, broadcaster: Arc<DynBroadcaster>) -> anyhow::Result<Alerta> {
    let (store, blobs) = aws::stores(config).await;
    build(
        config,
        Storage::from_backend(Arc::new(store)),
        Arc::new(blobs),
        broadcaster,
    )
    .await
}

#[cfg(not(feature = "aws"))]
async fn open_aws(_: &Config, _: Arc<DynBroadcaster>) -> anyhow::Result<Alerta> {
    bail!("this alerta was built without the AWS profile; rebuild with `--features aws`")
}

/// The AWS profile's stores.
#[cfg(feature = "aws")]
pub mod aws {
    use alerta_adapters::dynamodb::{DynamoStore, DynamoTables};
    use alerta_adapters::s3::{S3BlobStore, S3Options};

    use crate::config::Config;

    /// The DynamoDB store and the S3 blob store the configuration names, with region,
    /// credentials and endpoint from the standard AWS environment.
    pub async fn stores(config: &Config) -> (DynamoStore, S3BlobStore) {
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let tables = DynamoTables::with_prefix(config.aws_table_prefix.clone());
        let options = S3Options {
            attachments_bucket: config.aws_attachments_bucket.clone(),
            reports_bucket: config.aws_reports_bucket.clone(),
            force_path_style: config.aws_force_path_style,
        };
        (
            DynamoStore::from_sdk_config(&sdk, tables),
            S3BlobStore::from_sdk_config(&sdk, options),
        )
    }

    /// `alerta aws bootstrap`: creates missing tables (with their indexes and TTL) and
    /// buckets; running it again changes nothing.
    pub async fn bootstrap(config: &Config) -> anyhow::Result<()> {
        let (store, blobs) = stores(config).await;
        store.bootstrap().await?;
        blobs.bootstrap().await?;
        println!(
            "tables (prefix '{}') and buckets {} and {} are ready",
            config.aws_table_prefix, config.aws_attachments_bucket, config.aws_reports_bucket
        );
        Ok(())
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
            name: DepartmentName::parse(&department.name)?,
            email: Email::parse(&department.email)?,
        };
        match app.add_department(department).await {
            Ok(_) | Err(alerta_core::Error::Conflict { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if !app.admin_exists().await? {
        tracing::warn!(
            "no admin account exists yet: create one with `alerta user add --role admin \
             --email <address>` (the password is read from standard input), or start with \
             ALERTA_ADMIN_EMAIL and ALERTA_ADMIN_PASSWORD set; students register from the web \
             page"
        );
    }
    Ok(())
}
