//! Users, sessions and the department catalog.

use alerta_core::domain::{
    Department, DepartmentName, Email, PasswordHash, PersonName, Role, Session, Timestamp,
    TokenHash, User, UserId, UserRecord,
};
use alerta_core::ports::{DepartmentStore, UserStore};
use alerta_core::{Error, Result};
use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;

use super::error::{self, db, unreadable};
use super::{SqliteStore, millis, number, text, timestamp};

macro_rules! user_columns {
    () => {
        "id, email, name, role, password_hash, created_at"
    };
}

fn user_from_row(row: &SqliteRow) -> Result<UserRecord> {
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

fn department_from_row(row: &SqliteRow) -> Result<Department> {
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
            "INSERT INTO users (id, email, name, role, password_hash, created_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(user.id.as_str())
        .bind(user.email.as_str())
        .bind(user.name.as_str())
        .bind(user.role.as_str())
        .bind(record.password_hash.as_phc())
        .bind(millis(user.created_at))
        .execute(&self.pool)
        .await
        .map_err(|e| error::writing("user", e))?;
        Ok(())
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<UserRecord>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE email = ?"
        ))
        .bind(email.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn user_by_id(&self, id: &UserId) -> Result<Option<UserRecord>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE id = ?"
        ))
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.as_ref().map(user_from_row).transpose()
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
        let row = sqlx::query("SELECT name, email FROM departments WHERE name = ?")
            .bind(name.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.as_ref().map(department_from_row).transpose()
    }

    async fn departments(&self) -> Result<Vec<Department>> {
        // BINARY collation compares UTF-8 bytes, the order of `DepartmentName`'s `Ord`.
        let rows = sqlx::query("SELECT name, email FROM departments ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter().map(department_from_row).collect()
    }
}
