//! Users with their email guards, sessions, and the department catalog.

use alerta_core::domain::{
    Department, DepartmentName, Email, PasswordHash, PersonName, Role, Session, Timestamp,
    TokenHash, User, UserId, UserRecord,
};
use alerta_core::ports::{DepartmentStore, UserStore};
use alerta_core::{Error, Result};
use async_trait::async_trait;

use super::DynamoStore;
use super::error::request;
use super::item::{Item, ItemBuilder, Reader, n, s, time};
use super::keyed::key;
use super::query::{self, Expression, ScanOptions};
use super::transaction;

/// The `user_id` of the item that reserves `email`. Real ids cannot hold `#`.
fn email_guard(email: &Email) -> String {
    format!("email#{email}")
}

fn user_item(record: &UserRecord) -> Item {
    let user = &record.user;
    ItemBuilder::new()
        .set("user_id", s(user.id.as_str()))
        .set("email", s(user.email.as_str()))
        .set("nombre", s(user.name.as_str()))
        .set("rol", s(user.role.as_str()))
        .set("created_at", time(user.created_at))
        .set("password_hash", s(record.password_hash.as_phc()))
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
