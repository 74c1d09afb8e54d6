//! Users with their email guards, sessions, and the department catalog.

use alerta_core::domain::{
    AccessChange, Cursor, Department, DepartmentName, Email, Page, PageRequest, PasswordHash,
    PersonName, Role, Session, Timestamp, TokenHash, User, UserFilter, UserId, UserRecord,
};
use alerta_core::ports::{DepartmentStore, UserStore};
use alerta_core::{ConflictKind, Error, Result};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, TransactWriteItem};

use super::DynamoStore;
use super::error::{build, request};
use super::item::{Item, ItemBuilder, Reader, n, s, time};
use super::keyed::key;
use super::query::{self, Expression, Order, Partition, PartitionQuery, ScanOptions};
use super::transaction;

/// The index that lists accounts by email: every account item (never an email guard) holds
/// the one partition value [`LISTED`] in `listado`, sorted by its `email`.
pub(super) const BY_EMAIL: &str = "by_email";

/// The `listado` of every account item.
const LISTED: &str = "user";

/// How many index items one request of a filtered list evaluates: a search reads on past
/// the accounts it does not match, so it asks for more than a page.
const FILTERED_READ: usize = 200;

/// The `user_id` of the item that reserves `email`. Real ids cannot hold `#`.
fn email_guard(email: &Email) -> String {
    format!("email#{email}")
}

pub(super) fn user_item(record: &UserRecord) -> Item {
    let user = &record.user;
    ItemBuilder::new()
        .set("user_id", s(user.id.as_str()))
        .set("email", s(user.email.as_str()))
        .set("nombre", s(user.name.as_str()))
        .set("nombre_lc", s(user.name.as_str().to_lowercase()))
        .set("listado", s(LISTED))
        .set("rol", s(user.role.as_str()))
        .set("created_at", time(user.created_at))
        .set("password_hash", s(record.password_hash.as_phc()))
        .set("disabled", AttributeValue::Bool(record.disabled))
        .build()
}

fn user_from_item(item: &Item) -> Result<UserRecord> {
    let r = Reader::new(item, "user");
    Ok(UserRecord {
        user: User {
            id: r.parsed("user_id", UserId::parse)?,
            email: r.parsed("email", Email::parse)?,
            name: r.parsed("nombre", PersonName::parse)?,
            role: r.parsed("rol", Role::parse)?,
            created_at: r.time("created_at")?,
        },
        password_hash: PasswordHash::from_phc(r.string("password_hash")?.to_owned()),
        // Accounts written before accounts could be disabled have no flag: enabled.
        disabled: item
            .get("disabled")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
    })
}

/// Epoch seconds for DynamoDB's TTL, rounded up so the sweeper never removes a session
/// before it expires.
fn ttl_seconds(at: Timestamp) -> i64 {
    at.unix_millis().div_euclid(1000) + i64::from(at.unix_millis().rem_euclid(1000) != 0)
}

fn session_item(session: &Session) -> Item {
    ItemBuilder::new()
        .set("token_hash", s(session.token_hash.as_str()))
        .set("user_id", s(session.user_id.as_str()))
        .set("created_at", time(session.created_at))
        .set("expires_at", n(ttl_seconds(session.expires_at)))
        .set("expires_at_ms", n(session.expires_at.unix_millis()))
        .build()
}

fn session_from_item(item: &Item) -> Result<Session> {
    let r = Reader::new(item, "session");
    Ok(Session {
        token_hash: TokenHash::from_hex(r.string("token_hash")?.to_owned()),
        user_id: r.parsed("user_id", UserId::parse)?,
        created_at: r.time("created_at")?,
        expires_at: r.millis("expires_at_ms")?,
    })
}

fn department_from_item(item: &Item) -> Result<Department> {
    let r = Reader::new(item, "department");
    Ok(Department {
        name: r.parsed("nombre", DepartmentName::parse)?,
        email: r.parsed("email", Email::parse)?,
    })
}

/// How often an access change is read and tried again when a concurrent change got in
/// between.
const ACCESS_ATTEMPTS: u32 = 8;

/// A transaction item that only checks that `id` is an admin who can log in.
fn still_active_admin(table: &str, id: &UserId) -> Result<TransactWriteItem> {
    let check = ConditionCheck::builder()
        .table_name(table)
        .set_key(Some(key(&[("user_id", id.as_str())])))
        .condition_expression("rol = :admin AND (attribute_not_exists(disabled) OR disabled = :no)")
        .expression_attribute_values(":admin", s(Role::Admin.as_str()))
        .expression_attribute_values(":no", AttributeValue::Bool(false))
        .build()
        .map_err(build)?;
    Ok(TransactWriteItem::builder().condition_check(check).build())
}

impl DynamoStore {
    /// Gives accounts written before [`BY_EMAIL`] existed what it lists them by. Bootstrap
    /// runs it; it reads the table once and writes only the accounts that lack it.
    pub(super) async fn ensure_user_listing(&self) -> Result<()> {
        let mut expression = Expression::new();
        let role = expression.name("rol");
        let listed = expression.name("listado");
        let items = query::scan_all(
            &self.client,
            &self.names.users,
            ScanOptions {
                attributes: &["user_id", "nombre"],
                filter: Some((
                    format!("attribute_exists({role}) AND attribute_not_exists({listed})"),
                    expression,
                )),
            },
        )
        .await?;
        for item in items {
            let r = Reader::new(&item, "user");
            let id = r.string("user_id")?;
            let name = r.string("nombre")?;
            let result = self
                .client
                .update_item()
                .table_name(&self.names.users)
                .key("user_id", s(id))
                .update_expression("SET #listado = :listed, #nombre_lc = :name")
                .condition_expression("attribute_exists(#user_id)")
                .expression_attribute_names("#listado", "listado")
                .expression_attribute_names("#nombre_lc", "nombre_lc")
                .expression_attribute_names("#user_id", "user_id")
                .expression_attribute_values(":listed", s(LISTED))
                .expression_attribute_values(":name", s(name.to_lowercase()))
                .send()
                .await;
            // An account removed meanwhile needs no listing.
            super::error::conditional("update_item", result)?;
        }
        Ok(())
    }

    /// The admins who can log in.
    async fn active_admins(&self) -> Result<Vec<UserRecord>> {
        let mut expression = Expression::new();
        let role = expression.name("rol");
        let admin = expression.value("admin", s(Role::Admin.as_str()));
        let items = query::scan_all(
            &self.client,
            &self.names.users,
            ScanOptions {
                attributes: &[],
                filter: Some((format!("{role} = {admin}"), expression)),
            },
        )
        .await?;
        Ok(items
            .iter()
            .map(user_from_item)
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .filter(UserRecord::is_active_admin)
            .collect())
    }
}

impl DynamoStore {
    async fn user_item(&self, user_id: &str) -> Result<Option<Item>> {
        self.get(&self.names.users, key(&[("user_id", user_id)]))
            .await
    }
}

#[async_trait]
impl UserStore for DynamoStore {
    async fn create_user(&self, record: &UserRecord) -> Result<()> {
        let guard = ItemBuilder::new()
            .set("user_id", s(email_guard(&record.user.email)))
            .set("owner", s(record.user.id.as_str()))
            .set("email", s(record.user.email.as_str()))
            .build();
        let items = vec![
            transaction::put_new(&self.names.users, user_item(record), "user_id")?,
            transaction::put_new(&self.names.users, guard, "user_id")?,
        ];
        match transaction::write(&self.client, items, None).await? {
            Ok(()) => Ok(()),
            Err(_) => Err(Error::duplicate("user")),
        }
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<UserRecord>> {
        let Some(guard) = self.user_item(&email_guard(email)).await? else {
            return Ok(None);
        };
        let owner = Reader::new(&guard, "email guard")
            .string("owner")?
            .to_owned();
        self.user_item(&owner)
            .await?
            .as_ref()
            .map(user_from_item)
            .transpose()
    }

    async fn user_by_id(&self, id: &UserId) -> Result<Option<UserRecord>> {
        self.user_item(id.as_str())
            .await?
            .as_ref()
            .map(user_from_item)
            .transpose()
    }

    async fn create_session(&self, session: &Session) -> Result<()> {
        let item = session_item(session);
        if self
            .put_if_absent(&self.names.tokens, item, "token_hash")
            .await?
        {
            Ok(())
        } else {
            Err(Error::duplicate("session"))
        }
    }

    async fn session(&self, token: &TokenHash) -> Result<Option<Session>> {
        let key = key(&[("token_hash", token.as_str())]);
        let item = self.get(&self.names.tokens, key).await?;
        item.as_ref().map(session_from_item).transpose()
    }

    async fn delete_session(&self, token: &TokenHash) -> Result<()> {
        self.client
            .delete_item()
            .table_name(&self.names.tokens)
            .key("token_hash", s(token.as_str()))
            .send()
            .await
            .map_err(|e| request("delete_item", e))?;
        Ok(())
    }

    async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64> {
        // TTL removes expired sessions too, but only within a day or two; this sweep makes
        // the removal exact and immediate.
        let mut expression = Expression::new();
        let expires = expression.name("expires_at_ms");
        let now_v = expression.value("now", n(now.unix_millis()));
        let expired = query::scan_all(
            &self.client,
            &self.names.tokens,
            ScanOptions {
                attributes: &["token_hash"],
                filter: Some((format!("{expires} < {now_v}"), expression)),
            },
        )
        .await?;
        // Counted as found: a session deleted by a concurrent sweep (or by the TTL) between
        // the scan and the delete is counted by both sweeps.
        let count = expired.len() as u64;
        let keys = expired
            .into_iter()
            .filter_map(|item| item.get("token_hash").cloned())
            .map(|hash| ItemBuilder::new().set("token_hash", hash).build())
            .collect();
        query::delete_all(&self.client, &self.names.tokens, keys).await?;
        Ok(count)
    }

    async fn users(&self, filter: &UserFilter, page: &PageRequest) -> Result<Page<UserRecord>> {
        let mut expression = Expression::new();
        if let Some(role) = filter.role {
            expression.filter_equals("rol", role.as_str());
        }
        if let Some(text) = &filter.text {
            // Emails are stored lower-cased, names beside their lower-cased copy: `contains`
            // then matches as `UserFilter::matches` does.
            let needle = expression.value("q", s(text.as_str().to_lowercase()));
            let email = expression.name("email");
            let name = expression.name("nombre_lc");
            expression = expression.with_filter(format!(
                "(contains({email}, {needle}) OR contains({name}, {needle}))"
            ));
        }
        let wanted = page.limit.get() + 1;
        let filtered = filter.role.is_some() || filter.text.is_some();
        let by_email = PartitionQuery {
            table: &self.names.users,
            index: Some(BY_EMAIL),
            partition_attribute: "listado",
            sort_attribute: "email",
            start_after: page.cursor.as_ref().map(|c| c.as_str().to_owned()),
            order: Order::Ascending,
            filter: expression,
            page_size: if filtered {
                FILTERED_READ.max(wanted)
            } else {
                wanted
            },
        };
        let mut listing = Partition::new(&self.client, by_email, LISTED.to_owned());
        let mut found = Vec::with_capacity(wanted);
        while found.len() < wanted {
            match listing.next().await? {
                Some(item) => found.push(user_from_item(&item)?),
                None => break,
            }
        }
        Ok(Page::from_overfetched(found, page.limit, |r| {
            Cursor::new(r.user.email.as_str())
        }))
    }

    async fn active_admin_exists(&self) -> Result<bool> {
        Ok(!self.active_admins().await?.is_empty())
    }

    async fn change_access(&self, id: &UserId, change: AccessChange) -> Result<UserRecord> {
        for _ in 0..ACCESS_ATTEMPTS {
            let Some(item) = self.user_item(id.as_str()).await? else {
                return Err(Error::NotFound("user"));
            };
            let record = user_from_item(&item)?;
            let changed = change.applied_to(&record);
            if changed == record {
                return Ok(record);
            }
            let mut items = vec![transaction::update(
                &self.names.users,
                key(&[("user_id", id.as_str())]),
                "SET rol = :rol, disabled = :disabled",
                Some(
                    "rol = :old_rol AND (attribute_not_exists(disabled) OR disabled = :old_disabled)",
                ),
                &[],
                &[
                    (":rol", s(changed.user.role.as_str())),
                    (":disabled", AttributeValue::Bool(changed.disabled)),
                    (":old_rol", s(record.user.role.as_str())),
                    (":old_disabled", AttributeValue::Bool(record.disabled)),
                ],
            )?];
            if change.removes_an_admin(&record) {
                // Another admin who can log in must still be one when this commits: the
                // transaction checks it, so of two admins demoting each other at once, one
                // transaction finds the other's change and fails.
                let Some(other) = self
                    .active_admins()
                    .await?
                    .into_iter()
                    .find(|other| other.user.id != *id)
                else {
                    return Err(Error::last_admin());
                };
                items.push(still_active_admin(&self.names.users, &other.user.id)?);
            }
            if transaction::write(&self.client, items, None).await?.is_ok() {
                return Ok(changed);
            }
        }
        Err(Error::conflict(
            ConflictKind::StaleVersion,
            "the user kept changing; try again",
        ))
    }

    async fn set_password_hash(&self, id: &UserId, hash: &PasswordHash) -> Result<()> {
        let update = transaction::update(
            &self.names.users,
            key(&[("user_id", id.as_str())]),
            "SET password_hash = :hash",
            Some("attribute_exists(user_id) AND attribute_exists(rol)"),
            &[],
            &[(":hash", s(hash.as_phc()))],
        )?;
        match transaction::write(&self.client, vec![update], None).await? {
            Ok(()) => Ok(()),
            Err(_) => Err(Error::NotFound("user")),
        }
    }

    async fn delete_sessions_of(&self, user: &UserId, keep: Option<TokenHash>) -> Result<u64> {
        // The table has no index by user: the scan reads every session, which is fine for the
        // rare password change or disabled account.
        let mut expression = Expression::new();
        let owner = expression.name("user_id");
        let user_v = expression.value("user", s(user.as_str()));
        let found = query::scan_all(
            &self.client,
            &self.names.tokens,
            ScanOptions {
                attributes: &["token_hash"],
                filter: Some((format!("{owner} = {user_v}"), expression)),
            },
        )
        .await?;
        let keys: Vec<Item> = found
            .into_iter()
            .filter_map(|item| item.get("token_hash").cloned())
            .filter(|hash| {
                keep.as_ref()
                    .is_none_or(|k| hash.as_s().ok().map(String::as_str) != Some(k.as_str()))
            })
            .map(|hash| ItemBuilder::new().set("token_hash", hash).build())
            .collect();
        let count = keys.len() as u64;
        query::delete_all(&self.client, &self.names.tokens, keys).await?;
        Ok(count)
    }
}

#[async_trait]
impl DepartmentStore for DynamoStore {
    async fn create_department(&self, department: &Department) -> Result<()> {
        let item = ItemBuilder::new()
            .set("nombre", s(department.name.as_str()))
            .set("email", s(department.email.as_str()))
            .build();
        if self
            .put_if_absent(&self.names.departments, item, "nombre")
            .await?
        {
            Ok(())
        } else {
            Err(Error::duplicate("department"))
        }
    }

    async fn department(&self, name: &DepartmentName) -> Result<Option<Department>> {
        let key = key(&[("nombre", name.as_str())]);
        let item = self.get(&self.names.departments, key).await?;
        item.as_ref().map(department_from_item).transpose()
    }

    async fn departments(&self) -> Result<Vec<Department>> {
        let items = query::scan_all(
            &self.client,
            &self.names.departments,
            ScanOptions::default(),
        )
        .await?;
        let mut departments = items
            .iter()
            .map(department_from_item)
            .collect::<Result<Vec<_>>>()?;
        departments.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(departments)
    }

    async fn update_department(&self, department: &Department) -> Result<()> {
        let update = transaction::update(
            &self.names.departments,
            key(&[("nombre", department.name.as_str())]),
            "SET email = :email",
            Some("attribute_exists(nombre)"),
            &[],
            &[(":email", s(department.email.as_str()))],
        )?;
        match transaction::write(&self.client, vec![update], None).await? {
            Ok(()) => Ok(()),
            Err(_) => Err(Error::NotFound("department")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_rounds_up_to_whole_seconds() {
        let at = |ms| Timestamp::from_unix_millis(ms);
        assert_eq!(ttl_seconds(at(1_000)), 1);
        assert_eq!(ttl_seconds(at(1_001)), 2);
        assert_eq!(ttl_seconds(at(0)), 0);
        assert_eq!(ttl_seconds(at(-1)), 0);
    }
}
