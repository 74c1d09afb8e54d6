//! Register, log in, check a token, log out, and make users.

use std::net::IpAddr;
use std::sync::OnceLock;

use serde::Serialize;

use super::{Alerta, require_admin};
use crate::domain::{
    Email, IdempotencyKey, NewUser, Password, PasswordHash, Role, Session, SessionToken, Timestamp,
    User, UserId, UserRecord,
};
use crate::ports::LoginKey;
use crate::{ConflictKind, Error, Result};

/// A successful login: `{token, expires_at, user}`.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Login {
    /// The bearer token, shown this once.
    #[serde(serialize_with = "expose_token")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub token: SessionToken,
    /// When the token stops working.
    pub expires_at: Timestamp,
    /// Who logged in.
    pub user: User,
}

fn expose_token<S: serde::Serializer>(token: &SessionToken, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(token.expose())
}

/// A hash to check passwords against when the account does not exist, so that a login for an
/// unknown address takes as long as one for a known address.
fn decoy_hash() -> &'static PasswordHash {
    static DECOY: OnceLock<PasswordHash> = OnceLock::new();
    DECOY.get_or_init(|| {
        Password::parse("decoy password never used")
            .expect("the decoy meets the policy")
            .hash()
    })
}

impl Alerta {
    /// Makes a student account (`POST /auth/register`).
    pub async fn register(&self, new: NewUser) -> Result<User> {
        self.store_user(NewUser {
            role: Role::Student,
            ..new
        })
        .await
    }

    /// Makes an account with any role (`POST /admin/users`): admins only.
    pub async fn create_user(
        &self,
        actor: &User,
        new: NewUser,
        key: Option<&IdempotencyKey>,
    ) -> Result<User> {
        require_admin(actor)?;
        let operation = format!("user.create:{}", new.email);
        self.idempotent(actor.id.as_str(), key, operation, self.store_user(new))
            .await
    }

    /// Makes the account unless one with the address exists, which is returned unchanged: how
    /// the first admin is made from configuration at every start.
    pub async fn ensure_user(&self, new: NewUser) -> Result<User> {
        if let Some(existing) = self.inner.storage.users.user_by_email(&new.email).await? {
            return Ok(existing.user);
        }
        match self.store_user(new.clone()).await {
            Err(Error::Conflict { .. }) => self
                .inner
                .storage
                .users
                .user_by_email(&new.email)
                .await?
                .map(|r| r.user)
                .ok_or(Error::NotFound("user")),
            other => other,
        }
    }

    /// Makes an account with any role, without a role check: for the command line.
    pub async fn add_user(&self, new: NewUser) -> Result<User> {
        self.store_user(new).await
    }

    async fn store_user(&self, new: NewUser) -> Result<User> {
        let user = User {
            id: UserId::generate(self.ids()),
            email: new.email,
            name: new.name,
            role: new.role,
            created_at: self.now(),
        };
        let record = UserRecord {
            user: user.clone(),
            password_hash: new.password.hash(),
            disabled: false,
        };
        self.inner
            .storage
            .users
            .create_user(&record)
            .await
            .map_err(|e| match e {
                Error::Conflict { .. } => Error::conflict(
                    ConflictKind::Duplicate,
                    "an account with this email already exists",
                ),
                other => other,
            })?;
        Ok(user)
    }

    /// Checks a password and opens a session (`POST /auth/login`). A disabled account with
    /// the right password is [`Error::Forbidden`].
    ///
    /// Failed attempts are counted per account and per `client` address, in the storage that
    /// every instance shares, under the [`LoginPolicy`](super::LoginPolicy) of the settings:
    /// an account past its free failures is locked for a time that doubles with each further
    /// failure, and an address past its (far higher) limit is refused until its window ends.
    /// While locked, every attempt is refused with [`Error::RateLimited`], right password or
    /// not, whichever instance it reaches, and is not counted. Another account's failures
    /// from the same address never lock an account.
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`] when the counts cannot be read or a failure cannot be counted:
    /// a login the limit cannot be applied to is refused, not let through.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        client: Option<IpAddr>,
    ) -> Result<Login> {
        let now = self.now();
        let account_key = LoginKey::account(email);
        let client_key = client.map(LoginKey::client);
        let throttle = &self.inner.throttle;
        throttle
            .check(&account_key, client_key.as_ref(), now)
            .await?;
        let record = match Email::parse(email) {
            Ok(email) => self.inner.storage.users.user_by_email(&email).await?,
            Err(_) => None,
        };
        let verified = match &record {
            Some(record) => record.password_hash.verify(password),
            None => {
                decoy_hash().verify(password);
                false
            }
        };
        let Some(record) = record.filter(|_| verified) else {
            throttle
                .record_failure(&account_key, client_key.as_ref(), now)
                .await?;
            return Err(Error::Unauthenticated);
        };
        if record.disabled {
            // Said only to someone who knows the password, so the reply tells an attacker
            // nothing about the account.
            return Err(Error::Forbidden("this account is disabled"));
        }
        throttle.clear(&account_key).await;
        let token = SessionToken::generate();
        let expires_at = now.plus(self.inner.settings.session_ttl);
        let session = Session {
            token_hash: token.hash(),
            user_id: record.user.id.clone(),
            created_at: now,
            expires_at,
        };
        self.inner.storage.users.create_session(&session).await?;
        Ok(Login {
            token,
            expires_at,
            user: record.user,
        })
    }

    /// The user a bearer token belongs to (`GET /auth/me` and every authenticated route).
    pub async fn authenticate(&self, token: &str) -> Result<User> {
        if token.is_empty() || token.len() > 256 {
            return Err(Error::Unauthenticated);
        }
        let hash = SessionToken::from_client(token).hash();
        let users = &self.inner.storage.users;
        let session = users.session(&hash).await?.ok_or(Error::Unauthenticated)?;
        if session.expires_at <= self.now() {
            users.delete_session(&hash).await?;
            return Err(Error::Unauthenticated);
        }
        match users.user_by_id(&session.user_id).await? {
            Some(record) if !record.disabled => Ok(record.user),
            // A session opened by a login that raced the disable: it ends here.
            Some(_) => {
                users.delete_session(&hash).await?;
                Err(Error::Unauthenticated)
            }
            None => Err(Error::Unauthenticated),
        }
    }

    /// Ends the session of `token` at once (`POST /auth/logout`).
    pub async fn logout(&self, token: &str) -> Result<()> {
        let hash = SessionToken::from_client(token).hash();
        self.inner.storage.users.delete_session(&hash).await
    }

    /// Whether `key` is one of the configured ingest keys.
    pub fn is_ingest_key(&self, key: &str) -> bool {
        // Compare every configured key in full so the time taken does not tell how much of a
        // key matched.
        let offered = crate::domain::hex_sha256(key.as_bytes());
        self.inner
            .ingest_key_hashes
            .iter()
            .map(|k| *k == offered)
            .fold(false, |any, hit| any | hit)
    }
}
