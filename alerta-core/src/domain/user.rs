//! Users, roles, e-mail addresses and passwords.

use std::fmt;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};

use super::checked_text::checked_text;
use super::wire_names::wire_names;
use super::{PersonName, Timestamp, UserId};
use crate::Error;

/// An e-mail address, kept in lower case so that comparisons ignore case.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Checks the shape of an address (`local@domain`, no spaces, no characters that could
    /// break a mail header) and lower-cases it.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let text = raw.trim().to_lowercase();
        let invalid = || Error::invalid("email", "expected an address like name@example.org");
        if text.len() > 254 {
            return Err(invalid());
        }
        let (local, domain) = text.split_once('@').ok_or_else(invalid)?;
        let forbidden =
            |c: char| c.is_whitespace() || c.is_control() || "<>()[]\\,;:\"@".contains(c);
        if local.is_empty()
            || local.len() > 64
            || domain.is_empty()
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
            || local.chars().any(forbidden)
            || domain.chars().any(forbidden)
        {
            return Err(invalid());
        }
        Ok(Self(text))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

checked_text!(Email);

wire_names! {
    /// What a user may do.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum Role, field "rol" {
        /// Reports incidents.
        Student = "student",
        /// Manages incidents.
        Staff = "staff",
        /// Also assigns departments and manages users and departments.
        Admin = "admin",
    }
}

impl Role {
    /// Staff and admins manage incidents.
    pub fn manages_incidents(self) -> bool {
        matches!(self, Self::Staff | Self::Admin)
    }
}

/// A password as typed, at least 8 and at most 128 characters. Never printed.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// The fewest characters accepted.
    pub const MIN_CHARS: usize = 8;
    /// The most characters accepted; longer input only costs hashing time.
    pub const MAX_CHARS: usize = 128;

    /// Checks the policy.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let count = raw.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&count) {
            return Err(Error::invalid(
                "password",
                format!(
                    "password must be {} to {} characters long",
                    Self::MIN_CHARS,
                    Self::MAX_CHARS
                ),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// Hashes the password with argon2id (OWASP parameters: 19 MiB, 2 passes, 1 lane) and a
    /// fresh random salt.
    pub fn hash(&self) -> PasswordHash {
        let salt = SaltString::generate(&mut OsRng);
        let hash = hasher()
            .hash_password(self.0.as_bytes(), &salt)
            .expect("argon2 accepts every password length the policy allows");
        PasswordHash(hash.to_string())
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

fn hasher() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("OWASP argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A stored password hash in PHC string form (`$argon2id$v=19$m=19456,t=2,p=1$...`).
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a PHC string read from a store.
    pub fn from_phc(phc: String) -> Self {
        Self(phc)
    }

    /// The PHC string, for a store.
    pub fn as_phc(&self) -> &str {
        &self.0
    }

    /// Whether `password` matches. A hash that cannot be parsed matches nothing.
    pub fn verify(&self, password: &str) -> bool {
        match argon2::password_hash::PasswordHash::new(&self.0) {
            Ok(parsed) => hasher()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok(),
            Err(_) => false,
        }
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(***)")
    }
}

/// A user as the API shows it: `{user_id, email, nombre, rol, created_at}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    /// The user's id.
    #[serde(rename = "user_id")]
    pub id: UserId,
    /// The user's address, lower case.
    pub email: Email,
    /// The display name.
    #[serde(rename = "nombre")]
    pub name: PersonName,
    /// The role.
    #[serde(rename = "rol")]
    pub role: Role,
    /// When the account was made.
    pub created_at: Timestamp,
}

/// A user with the hash of their password, as a user store keeps them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    /// The user.
    pub user: User,
    /// The argon2id hash of the password.
    pub password_hash: PasswordHash,
    /// Whether the account is refused at login (an admin disabled it).
    pub disabled: bool,
}

impl UserRecord {
    /// Whether the user is an admin who can log in: what the last-admin rule counts.
    pub fn is_active_admin(&self) -> bool {
        self.user.role == Role::Admin && !self.disabled
    }
}

/// An account as admins see it: the user and whether it is disabled (`GET /admin/users`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Account {
    /// The user.
    #[serde(flatten)]
    pub user: User,
    /// Whether the account is refused at login.
    pub disabled: bool,
}

impl From<UserRecord> for Account {
    fn from(record: UserRecord) -> Self {
        Self {
            user: record.user,
            disabled: record.disabled,
        }
    }
}

/// A change to what a user may do, made under the rule that some admin can always log in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessChange {
    /// A new role.
    Role(Role),
    /// Disabled (`true`) or enabled again (`false`).
    Disabled(bool),
}

impl AccessChange {
    /// The record with the change made.
    pub fn applied_to(self, record: &UserRecord) -> UserRecord {
        let mut changed = record.clone();
        match self {
            Self::Role(role) => changed.user.role = role,
            Self::Disabled(disabled) => changed.disabled = disabled,
        }
        changed
    }

    /// Whether the change takes an admin away from the admins who can log in, which is
    /// refused when no other one is left.
    pub fn removes_an_admin(self, record: &UserRecord) -> bool {
        record.is_active_admin() && !self.applied_to(record).is_active_admin()
    }
}

/// What it takes to make an account.
#[derive(Clone, Debug)]
pub struct NewUser {
    /// The address to log in with.
    pub email: Email,
    /// The password.
    pub password: Password,
    /// The display name.
    pub name: PersonName,
    /// The role.
    pub role: Role,
}

impl NewUser {
    /// Parses the fields of a registration or an admin's new user.
    pub fn parse(email: &str, password: &str, name: &str, role: Role) -> Result<Self, Error> {
        Ok(Self {
            email: Email::parse(email)?,
            password: Password::parse(password)?,
            name: PersonName::parse(name)?,
            role,
        })
    }
}

super::schema::string_schema!(
    Email,
    "An email address, lower-cased.",
    format SchemaFormat::KnownFormat(KnownFormat::Email)
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_compare_without_case() {
        assert_eq!(
            Email::parse("Ana@Campus.EDU").unwrap(),
            Email::parse("ana@campus.edu").unwrap()
        );
        for bad in [
            "",
            "ana",
            "@x.org",
            "ana@",
            "a b@x.org",
            "a@x.org\r\nBcc: y@z",
            "a@@x.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn password_hash_uses_owasp_parameters_and_verifies() {
        let hash = Password::parse("correct horse").unwrap().hash();
        assert!(hash.as_phc().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(hash.verify("correct horse"));
        assert!(!hash.verify("wrong horse"));
        assert!(Password::parse("short").is_err());
        assert_eq!(
            format!("{:?}", Password::parse("secret123").unwrap()),
            "Password(***)"
        );
    }
}
