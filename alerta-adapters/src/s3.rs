//! The blob store on two S3 buckets.
//!
//! Attachments (keys under `adjuntos/`) go to one bucket and reports (keys under
//! `reportes/`) to another, as in the original system, each object under the full key. The
//! content type is the object's `Content-Type`. A `PutObject` replaces an object atomically,
//! so readers see the old bytes or the new, never a mix.
//!
//! ```no_run
//! # async fn run() -> alerta_core::Result<()> {
//! use alerta_adapters::s3::{S3BlobStore, S3Options};
//!
//! // Region, credentials and endpoint come from the standard AWS environment.
//! let blobs = S3BlobStore::from_env(S3Options {
//!     attachments_bucket: "campus-adjuntos".into(),
//!     reports_bucket: "campus-reportes".into(),
//!     ..S3Options::default()
//! })
//! .await;
//! blobs.bootstrap().await?; // creates whichever bucket is missing
//! # Ok(()) }
//! ```

use alerta_core::domain::{Blob, BlobKey};
use alerta_core::ports::BlobStore;
use alerta_core::{Error, Result};
use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};

use crate::aws::describe;

/// The longest content type stored.
const MAX_CONTENT_TYPE: usize = 255;

/// Where an [`S3BlobStore`] keeps its blobs, and how it addresses them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Options {
    /// The bucket of attachments (keys under `adjuntos/`); `alerta-adjuntos` by default.
    pub attachments_bucket: String,
    /// The bucket of reports (keys under `reportes/`); `alerta-reportes` by default.
    pub reports_bucket: String,
    /// Addresses buckets as `endpoint/bucket/key` rather than `bucket.endpoint/key`, as
    /// emulators such as moto or MinIO need; `false` by default, as AWS prefers.
    pub force_path_style: bool,
}

impl Default for S3Options {
    fn default() -> Self {
        Self {
            attachments_bucket: "alerta-adjuntos".into(),
            reports_bucket: "alerta-reportes".into(),
            force_path_style: false,
        }
    }
}

/// Blobs as objects in two S3 buckets. Cloning is cheap and shares the client.
#[derive(Clone, Debug)]
pub struct S3BlobStore {
    client: Client,
    options: S3Options,
}

/// What went wrong talking to S3. Private: it only travels as the boxed source of
/// [`Error::Unavailable`], for logs.
#[derive(Debug, thiserror::Error)]
enum S3Error {
    /// The text holds the service's error code and message but never its request id.
    #[error("s3 {operation} {bucket}/{key}: {detail}")]
    Request {
        operation: &'static str,
        bucket: String,
        key: String,
        detail: String,
    },
    #[error("s3 {operation} {bucket}: {detail}")]
    Bucket {
        operation: &'static str,
        bucket: String,
        detail: String,
    },
}

fn unavailable(error: S3Error) -> Error {
    crate::backend_errors::record("s3");
    Error::unavailable("s3", error)
}

impl S3BlobStore {
    /// A store configured from the standard AWS environment: `AWS_REGION`,
    /// `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_S3`), credentials from the environment,
    /// profiles or the instance role.
    pub async fn from_env(options: S3Options) -> Self {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Self::from_sdk_config(&config, options)
    }

    /// A store using an already loaded AWS configuration.
    pub fn from_sdk_config(config: &aws_config::SdkConfig, options: S3Options) -> Self {
        let s3_config = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(options.force_path_style)
            .build();
        Self {
            client: Client::from_conf(s3_config),
            options,
        }
    }

    /// A store using a ready S3 client; its own addressing style applies and
    /// `options.force_path_style` is not consulted.
    pub fn from_client(client: Client, options: S3Options) -> Self {
        Self { client, options }
    }

    /// The buckets and addressing this store uses.
    pub fn options(&self) -> &S3Options {
        &self.options
    }

    /// The bucket that holds `key`. Keys are made by the core, so one outside both
    /// prefixes is a bug upstream, refused rather than stored somewhere arbitrary.
    fn bucket_of(&self, key: &BlobKey) -> Result<&str> {
        let text = key.as_str();
        if text.starts_with("adjuntos/") {
            Ok(&self.options.attachments_bucket)
        } else if text.starts_with("reportes/") {
            Ok(&self.options.reports_bucket)
        } else {
            Err(Error::invalid(
                "key",
                "blob keys start with adjuntos/ or reportes/",
            ))
        }
    }

    /// Creates whichever of the two buckets is missing. Running it again changes nothing.
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`] when S3 refuses or does not answer, or when a bucket name is
    /// taken by another account.
    pub async fn bootstrap(&self) -> Result<()> {
        let mut buckets = vec![self.options.attachments_bucket.as_str()];
        if self.options.reports_bucket != self.options.attachments_bucket {
            buckets.push(&self.options.reports_bucket);
        }
        for bucket in buckets {
            self.ensure_bucket(bucket).await?;
        }
        Ok(())
    }

    async fn ensure_bucket(&self, bucket: &str) -> Result<()> {
        let failed = |operation, detail| {
            unavailable(S3Error::Bucket {
                operation,
                bucket: bucket.to_owned(),
                detail,
            })
        };
        match self.client.head_bucket().bucket(bucket).send().await {
            Ok(_) => return Ok(()),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => {}
            Err(e) => return Err(failed("head_bucket", describe(&e))),
        }
        // us-east-1 is the one region that refuses a location constraint naming itself.
        let region = self.client.config().region().map(|r| r.as_ref().to_owned());
        let configuration = region.filter(|r| r != "us-east-1").map(|r| {
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(r.as_str()))
                .build()
        });
        let created = self
            .client
            .create_bucket()
            .bucket(bucket)
            .set_create_bucket_configuration(configuration)
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            // Created by a concurrent bootstrap of ours.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_bucket_already_owned_by_you()) =>
            {
                Ok(())
            }
            Err(e) => Err(failed("create_bucket", describe(&e))),
        }
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn put(&self, key: &BlobKey, content_type: &str, bytes: Vec<u8>) -> Result<()> {
        if content_type.len() > MAX_CONTENT_TYPE || content_type.chars().any(char::is_control) {
            return Err(Error::invalid(
                "content_type",
                "a content type is one line of at most 255 bytes",
            ));
        }
        let bucket = self.bucket_of(key)?;
        self.client
            .put_object()
            .bucket(bucket)
            .key(key.as_str())
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| {
                unavailable(S3Error::Request {
                    operation: "put_object",
                    bucket: bucket.to_owned(),
                    key: key.to_string(),
                    detail: describe(&e),
                })
            })?;
        Ok(())
    }

    async fn get(&self, key: &BlobKey) -> Result<Blob> {
        let bucket = self.bucket_of(key)?;
        let failed = |operation, detail| {
            unavailable(S3Error::Request {
                operation,
                bucket: bucket.to_owned(),
                key: key.to_string(),
                detail,
            })
        };
        let out = match self
            .client
            .get_object()
            .bucket(bucket)
            .key(key.as_str())
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                let missing = e.as_service_error().is_some_and(|e| e.is_no_such_key())
                    || matches!(&e, SdkError::ServiceError(c) if c.raw().status().as_u16() == 404
                        && c.err().code() != Some("NoSuchBucket"));
                if missing {
                    return Err(Error::NotFound("blob"));
                }
                return Err(failed("get_object", describe(&e)));
            }
        };
        let content_type = out
            .content_type
            .clone()
            .unwrap_or_else(|| "application/octet-stream".to_owned());
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| failed("get_object body", e.to_string()))?
            .into_bytes()
            .to_vec();
        Ok(Blob {
            content_type,
            bytes,
        })
    }

    async fn check(&self) -> Result<()> {
        for bucket in [
            &self.options.attachments_bucket,
            &self.options.reports_bucket,
        ] {
            if let Err(e) = self.client.head_bucket().bucket(bucket).send().await {
                return Err(unavailable(S3Error::Bucket {
                    operation: "head_bucket",
                    bucket: bucket.clone(),
                    detail: describe(&e),
                }));
            }
        }
        Ok(())
    }
}
