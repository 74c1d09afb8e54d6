//! Creating the tables, their indexes and their TTLs, idempotently.

use std::time::{Duration, Instant};

use alerta_core::Result;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndex,
    GlobalSecondaryIndexUpdate, IndexStatus, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TableDescription, TableStatus, TimeToLiveSpecification, TimeToLiveStatus,
};

use super::error::{self, request};
use super::{DynamoStore, alerts, incidents, outbox, users};

/// How long bootstrap waits for a new table or index to become active.
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(600);

/// A global secondary index: its name, partition key and sort key.
struct IndexSpec {
    name: &'static str,
    partition: &'static str,
    sort: &'static str,
}

/// One table: its name, key, indexes and TTL attribute.
struct TableSpec {
    name: String,
    partition: &'static str,
    sort: Option<&'static str>,
    indexes: Vec<IndexSpec>,
    ttl: Option<&'static str>,
}

fn key(attribute: &str, key_type: KeyType) -> Result<KeySchemaElement> {
    KeySchemaElement::builder()
        .attribute_name(attribute)
        .key_type(key_type)
        .build()
        .map_err(error::build)
}

fn string_attribute(attribute: &str) -> Result<AttributeDefinition> {
    AttributeDefinition::builder()
        .attribute_name(attribute)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(error::build)
}

impl IndexSpec {
    fn key_schema(&self) -> Result<Vec<KeySchemaElement>> {
        Ok(vec![
            key(self.partition, KeyType::Hash)?,
            key(self.sort, KeyType::Range)?,
        ])
    }

    fn projection() -> Projection {
        Projection::builder()
            .projection_type(ProjectionType::All)
            .build()
    }
}

impl TableSpec {
    /// A table keyed by `partition` alone, with no index and no TTL.
    fn new(name: &str, partition: &'static str) -> Self {
        Self {
            name: name.to_owned(),
            partition,
            sort: None,
            indexes: Vec::new(),
            ttl: None,
        }
    }

    /// The table with `sort` as its sort key.
    fn sorted_by(mut self, sort: &'static str) -> Self {
        self.sort = Some(sort);
        self
    }

    /// The table with one more global secondary index.
    fn index(mut self, name: &'static str, partition: &'static str, sort: &'static str) -> Self {
        self.indexes.push(IndexSpec {
            name,
            partition,
            sort,
        });
        self
    }

    /// The table with its items expiring at the time in `attribute`.
    fn ttl(mut self, attribute: &'static str) -> Self {
        self.ttl = Some(attribute);
        self
    }

    fn key_schema(&self) -> Result<Vec<KeySchemaElement>> {
        let mut schema = vec![key(self.partition, KeyType::Hash)?];
        if let Some(sort) = self.sort {
            schema.push(key(sort, KeyType::Range)?);
        }
        Ok(schema)
    }

    /// Every key attribute of the table and its indexes, once each.
    fn attribute_definitions(&self) -> Result<Vec<AttributeDefinition>> {
        let mut names: Vec<&str> = vec![self.partition];
        names.extend(self.sort);
        for index in &self.indexes {
            names.push(index.partition);
            names.push(index.sort);
        }
        names.sort_unstable();
        names.dedup();
        names.into_iter().map(string_attribute).collect()
    }
}

impl DynamoStore {
    fn table_specs(&self) -> Vec<TableSpec> {
        let names = &self.names;
        let table = |name: &String, partition| TableSpec::new(name, partition);
        vec![
            table(&names.users, "user_id").index(users::BY_EMAIL, "listado", "email"),
            table(&names.tokens, "token_hash").ttl("expires_at"),
            table(&names.incidents, "incident_id")
                .index(incidents::BY_REPORTER, "reportado_por", "incident_id")
                .index(incidents::BY_DEPARTMENT, "departamento", "incident_id")
                .index(incidents::BY_STATUS, "estado", "incident_id"),
            table(&names.events, "incident_id")
                .sorted_by("event_id")
                .index(incidents::BY_KIND, "tipo_evento", "event_id"),
            table(&names.attachments, "incident_id").sorted_by("attachment_id"),
            table(&names.departments, "nombre"),
            table(&names.alerts, "id")
                .index(alerts::BY_TIME, "shard", "id")
                .index(alerts::BY_RESOLUTION, "resolved", "updated_at"),
            table(&names.outbox, "id")
                .index(outbox::BY_DUE, "state", "due")
                .index(outbox::BY_STATE, "state", "id")
                .index(outbox::BY_ABOUT, "about", "id"),
            table(&names.idempotency, "owner")
                .sorted_by("clave")
                .ttl("expires_at"),
            table(&names.report_ledger, "event_id"),
            table(&names.stream_log, "pk").sorted_by("sk"),
            table(&names.alert_occurrences, "alert_id").sorted_by("id"),
            table(&names.login_failures, "clave").ttl("expires_at"),
            table(&names.counters, "nombre"),
            table(&names.alert_incidents, "alert_id"),
            table(&names.silences, "id"),
        ]
    }

    /// Creates every missing table with its indexes, adds missing indexes to tables that
    /// exist, and turns on the TTLs of sessions, idempotency keys and failed logins; then waits until all of it
    /// is active, gives the stream log its counter and epoch if it has none, gives accounts
    /// stored before the users' email index existed what it lists them by (and alerts
    /// resolved before the resolution index existed theirs), and makes the
    /// counts of incidents and alerts if they are missing, counting what the tables hold
    /// with one scan each (a deployment that kept no counts before runs it with its writers
    /// stopped, so that the counts start exact).
    ///
    /// Running it again changes nothing. Tables are created on demand (pay per request).
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`](alerta_core::Error::Unavailable) when DynamoDB refuses or does
    /// not answer, when a table of the same name exists with a different key, or when a table
    /// or index is not active within ten minutes.
    pub async fn bootstrap(&self) -> Result<()> {
        for spec in self.table_specs() {
            self.ensure_table(&spec).await?;
            if let Some(attribute) = spec.ttl {
                self.ensure_ttl(&spec.name, attribute).await?;
            }
        }
        self.ensure_stream_counter().await?;
        self.ensure_user_listing().await?;
        self.ensure_resolution_listing().await?;
        self.ensure_counts().await
    }

    async fn describe(&self, table: &str) -> Result<Option<TableDescription>> {
        match self.client.describe_table().table_name(table).send().await {
            Ok(out) => Ok(out.table),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(request("describe_table", e)),
        }
    }

    async fn ensure_table(&self, spec: &TableSpec) -> Result<()> {
        let existing = match self.describe(&spec.name).await? {
            Some(existing) => existing,
            None => {
                self.create_table(spec).await?;
                return self.wait_until_active(&spec.name).await;
            }
        };
        let wanted = spec.key_schema()?;
        if existing.key_schema() != wanted.as_slice() {
            return Err(error::other(format!(
                "table {} exists with a key other than the one this store needs",
                spec.name
            )));
        }
        for index in &spec.indexes {
            let present = existing
                .global_secondary_indexes()
                .iter()
                .any(|gsi| gsi.index_name() == Some(index.name));
            if !present {
                self.add_index(spec, index).await?;
                self.wait_until_active(&spec.name).await?;
            }
        }
        self.wait_until_active(&spec.name).await
    }

    async fn create_table(&self, spec: &TableSpec) -> Result<()> {
        let mut indexes = Vec::with_capacity(spec.indexes.len());
        for index in &spec.indexes {
            indexes.push(
                GlobalSecondaryIndex::builder()
                    .index_name(index.name)
                    .set_key_schema(Some(index.key_schema()?))
                    .projection(IndexSpec::projection())
                    .build()
                    .map_err(error::build)?,
            );
        }
        let created = self
            .client
            .create_table()
            .table_name(&spec.name)
            .set_key_schema(Some(spec.key_schema()?))
            .set_attribute_definitions(Some(spec.attribute_definitions()?))
            .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            // Another bootstrap created it meanwhile; the checks that follow still apply.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_in_use_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(request("create_table", e)),
        }
    }

    /// Adds one index to an existing table: DynamoDB creates one index per request.
    async fn add_index(&self, spec: &TableSpec, index: &IndexSpec) -> Result<()> {
        let action = CreateGlobalSecondaryIndexAction::builder()
            .index_name(index.name)
            .set_key_schema(Some(index.key_schema()?))
            .projection(IndexSpec::projection())
            .build()
            .map_err(error::build)?;
        self.client
            .update_table()
            .table_name(&spec.name)
            .set_attribute_definitions(Some(vec![
                string_attribute(index.partition)?,
                string_attribute(index.sort)?,
            ]))
            .global_secondary_index_updates(
                GlobalSecondaryIndexUpdate::builder().create(action).build(),
            )
            .send()
            .await
            .map_err(|e| request("update_table", e))?;
        Ok(())
    }

    async fn wait_until_active(&self, table: &str) -> Result<()> {
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            let description = self.describe(table).await?;
            let active = description.as_ref().is_some_and(|d| {
                d.table_status() == Some(&TableStatus::Active)
                    && d.global_secondary_indexes()
                        .iter()
                        .all(|gsi| gsi.index_status() == Some(&IndexStatus::Active))
            });
            if active {
                return Ok(());
            }
            if started.elapsed() > ACTIVE_TIMEOUT {
                return Err(error::other(format!(
                    "table {table} was not active after {} s",
                    ACTIVE_TIMEOUT.as_secs()
                )));
            }
            attempt = (attempt + 1).min(5);
            tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
        }
    }

    async fn ensure_ttl(&self, table: &str, attribute: &str) -> Result<()> {
        let described = self
            .client
            .describe_time_to_live()
            .table_name(table)
            .send()
            .await
            .map_err(|e| request("describe_time_to_live", e))?;
        let status = described
            .time_to_live_description()
            .and_then(|d| d.time_to_live_status());
        if matches!(
            status,
            Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
        ) {
            return Ok(());
        }
        let specification = TimeToLiveSpecification::builder()
            .enabled(true)
            .attribute_name(attribute)
            .build()
            .map_err(error::build)?;
        self.client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(specification)
            .send()
            .await
            .map_err(|e| request("update_time_to_live", e))?;
        Ok(())
    }
}
