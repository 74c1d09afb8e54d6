//! Users, sessions and the department catalog.

use alerta_core::domain::{
    AccessChange, Cursor, Department, DepartmentName, Email, Page, PageRequest, PasswordHash,
    PersonName, Role, Session, Timestamp, TokenHash, User, UserFilter, UserId, UserRecord,
};
use alerta_core::ports::{DepartmentStore, UserStore};
use alerta_core::{Error, Result};
use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;

use super::error::{self, db, unreadable};
use super::{SqliteStore, millis, number, text, timestamp};

macro_rules! user_columns {
    () => {
        "id, email, name, role, password_hash, created_at, disabled"
    };
}

pub(super) fn user_from_row(row: &SqliteRow) -> Result<UserRecord> {
    let stored = |e: Error| unreadable(format!("user: {e}"));
    Ok(UserRecord {
        user: User {
            id: UserId::parse(&text(row, "id")?).map_err(stored)?,
            email: Email::parse(&text(row, "email")?).map_err(stored)?,
            name: PersonName::parse(&text(row, "name")?).map_err(stored)?,
            role: Role::parse(&text(row, "role")?).map_err(stored)?,
            created_at: timestamp(number(row, "created_at")?),
        },
        password_hash: PasswordHash::from_phc(text(row, "password_hash")?),
        disabled: number(row, "disabled")? != 0,
    })
}

fn session_from_row(row: &SqliteRow) -> Result<Session> {
    Ok(Session {
        token_hash: TokenHash::from_hex(text(row, "token_hash")?),
        user_id: UserId::parse(&text(row, "user_id")?)
            .map_err(|e| unreadable(format!("session: {e}")))?,
        created_at: timestamp(number(row, "created_at")?),
        expires_at: timestamp(number(row, "expires_at")?),
    })
}

pub(super) fn department_from_row(row: &SqliteRow) -> Result<Department> {
    let stored = |e: Error| unreadable(format!("department: {e}"));
    Ok(Department {
        name: DepartmentName::parse(&text(row, "name")?).map_err(stored)?,
        email: Email::parse(&text(row, "email")?).map_err(stored)?,
    })
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn create_user(&self, record: &UserRecord) -> Result<()> {
        let user = &record.user;
        sqlx::query(
            "INSERT INTO users (id, email, name, role, password_hash, created_at, disabled) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(user.id.as_str())
        .bind(user.email.as_str())
        .bind(user.name.as_str())
        .bind(user.role.as_str())
        .bind(record.password_hash.as_phc())
        .bind(millis(user.created_at))
        .bind(i64::from(record.disabled))
        .execute(&self.pool)
        .await
        .map_err(|e| error::writing("user", e))?;
        Ok(())
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<UserRecord>> {
        let sql = concat!("SELECT ", user_columns!(), " FROM users WHERE email = ?");
        self.one(sql, email.as_str(), user_from_row).await
    }

    async fn user_by_id(&self, id: &UserId) -> Result<Option<UserRecord>> {
        let sql = concat!("SELECT ", user_columns!(), " FROM users WHERE id = ?");
        self.one(sql, id.as_str(), user_from_row).await
    }

    async fn create_session(&self, session: &Session) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) \
             VALUES (?, ?, ?, ?)",
        )
        .bind(session.token_hash.as_str())
        .bind(session.user_id.as_str())
        .bind(millis(session.created_at))
        .bind(millis(session.expires_at))
        .execute(&self.pool)
        .await
        .map_err(|e| error::writing("session", e))?;
        Ok(())
    }

    async fn session(&self, token: &TokenHash) -> Result<Option<Session>> {
        let row = sqlx::query(
            "SELECT token_hash, user_id, created_at, expires_at FROM sessions \
             WHERE token_hash = ?",
        )
        .bind(token.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.as_ref().map(session_from_row).transpose()
    }

    async fn delete_session(&self, token: &TokenHash) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
            .bind(token.as_str())
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at < ?")
            .bind(millis(now))
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected())
    }

    async fn users(&self, filter: &UserFilter, page: &PageRequest) -> Result<Page<UserRecord>> {
        // The role is filtered in SQL; the text in Rust, so that case is ignored the way
        // `UserFilter::matches` ignores it, beyond ASCII. Rows are read in chunks until the
        // page (and one more user, to know whether another page follows) is full.
        const CHUNK: i64 = 200;
        let wanted = page.limit.get() + 1;
        let mut after = page
            .cursor
            .as_ref()
            .map(|c| c.as_str().to_owned())
            .unwrap_or_default();
        let mut found = Vec::new();
        loop {
            let rows = sqlx::query(concat!(
                "SELECT ",
                user_columns!(),
                " FROM users WHERE email > ? AND (? IS NULL OR role = ?) ORDER BY email LIMIT ?"
            ))
            .bind(&after)
            .bind(filter.role.map(|r| r.as_str()))
            .bind(filter.role.map(|r| r.as_str()))
            .bind(CHUNK)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
            let done = (rows.len() as i64) < CHUNK;
            for row in &rows {
                let record = user_from_row(row)?;
                after = record.user.email.as_str().to_owned();
                if filter.matches(&record) {
                    found.push(record);
                    if found.len() == wanted {
                        break;
                    }
                }
            }
            if done || found.len() == wanted {
                break;
            }
        }
        Ok(Page::from_overfetched(found, page.limit, |r| {
            Cursor::new(r.user.email.as_str())
        }))
    }

    async fn active_admin_exists(&self) -> Result<bool> {
        let row = sqlx::query(
            "SELECT EXISTS (SELECT 1 FROM users WHERE role = 'admin' AND disabled = 0) AS found",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        Ok(number(&row, "found")? != 0)
    }

    async fn change_access(&self, id: &UserId, change: AccessChange) -> Result<UserRecord> {
        let (role, disabled) = match change {
            AccessChange::Role(role) => (Some(role.as_str()), None),
            AccessChange::Disabled(disabled) => (None, Some(i64::from(disabled))),
        };
        // One statement, so the count of admins it checks is the one it changes under:
        // SQLite runs writes one at a time, and two statements demoting the last two admins
        // see each other's result.
        let row = sqlx::query(concat!(
            "UPDATE users SET role = COALESCE(?1, role), disabled = COALESCE(?2, disabled) \
             WHERE id = ?3 AND NOT ( \
                 role = 'admin' AND disabled = 0 \
                 AND (COALESCE(?1, role) <> 'admin' OR COALESCE(?2, disabled) <> 0) \
                 AND (SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0) <= 1 \
             ) RETURNING ",
            user_columns!()
        ))
        .bind(role)
        .bind(disabled)
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| error::writing("user", e))?;
        match row {
            Some(row) => user_from_row(&row),
            None if self.user_by_id(id).await?.is_some() => Err(Error::last_admin()),
            None => Err(Error::NotFound("user")),
        }
    }

    async fn set_password_hash(&self, id: &UserId, hash: &PasswordHash) -> Result<()> {
        let done = sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(hash.as_phc())
            .bind(id.as_str())
            .execute(&self.pool)
            .await
            .map_err(|e| error::writing("user", e))?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound("user"));
        }
        Ok(())
    }

    async fn delete_sessions_of(&self, user: &UserId, keep: Option<TokenHash>) -> Result<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE user_id = ? AND token_hash IS NOT ?")
            .bind(user.as_str())
            .bind(keep.as_ref().map(|k| k.as_str()))
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected())
    }
}

#[async_trait]
impl DepartmentStore for SqliteStore {
    async fn create_department(&self, department: &Department) -> Result<()> {
        sqlx::query("INSERT INTO departments (name, email) VALUES (?, ?)")
            .bind(department.name.as_str())
            .bind(department.email.as_str())
            .execute(&self.pool)
            .await
            .map_err(|e| error::writing("department", e))?;
        Ok(())
    }

    async fn department(&self, name: &DepartmentName) -> Result<Option<Department>> {
        let sql = "SELECT name, email FROM departments WHERE name = ?";
        self.one(sql, name.as_str(), department_from_row).await
    }

    async fn departments(&self) -> Result<Vec<Department>> {
        // BINARY collation compares UTF-8 bytes, the order of `DepartmentName`'s `Ord`.
        let rows = sqlx::query("SELECT name, email FROM departments ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter().map(department_from_row).collect()
    }

    async fn update_department(&self, department: &Department) -> Result<()> {
        let done = sqlx::query("UPDATE departments SET email = ? WHERE name = ?")
            .bind(department.email.as_str())
            .bind(department.name.as_str())
            .execute(&self.pool)
            .await
            .map_err(|e| error::writing("department", e))?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound("department"));
        }
        Ok(())
    }
}
