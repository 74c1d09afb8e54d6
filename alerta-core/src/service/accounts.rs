//! What admins do to accounts, changing one's own password, and whether an admin exists.

use super::{Alerta, require_admin};
use crate::domain::{
    AccessChange, Account, Page, PageRequest, Password, Role, SessionToken, User, UserFilter,
    UserId,
};
use crate::ports::LoginKey;
use crate::{Error, Result};

impl Alerta {
    /// One page of accounts, by email, that pass `filter` (`GET /admin/users`); admins only.
    pub async fn list_users(
        &self,
        actor: &User,
        filter: &UserFilter,
        page: &PageRequest,
    ) -> Result<Page<Account>> {
        require_admin(actor)?;
        let page = self.inner.storage.users.users(filter, page).await?;
        Ok(page.map(Account::from))
    }

    /// Gives a user another role (`POST /admin/users/{id}/role`); admins only.
    ///
    /// # Errors
    ///
    /// [`ConflictKind::LastAdmin`](crate::ConflictKind::LastAdmin) when the user is the last
    /// admin who can log in and `role` is not admin: the store decides it atomically, so two
    /// admins demoting each other at once cannot both succeed.
    pub async fn change_role(&self, actor: &User, id: &UserId, role: Role) -> Result<Account> {
        require_admin(actor)?;
        let record = self
            .inner
            .storage
            .users
            .change_access(id, AccessChange::Role(role))
            .await?;
        Ok(record.into())
    }

    /// Disables an account (`POST /admin/users/{id}/disable`); admins only. The user cannot
    /// log in any more and every session of theirs ends, which also closes their streams.
    ///
    /// # Errors
    ///
    /// [`ConflictKind::LastAdmin`](crate::ConflictKind::LastAdmin) for the last admin who can
    /// log in.
    pub async fn disable_user(&self, actor: &User, id: &UserId) -> Result<Account> {
        require_admin(actor)?;
        let users = &self.inner.storage.users;
        let record = users
            .change_access(id, AccessChange::Disabled(true))
            .await?;
        // A login that checked the account just before it was disabled may still add a
        // session after this sweep; `authenticate` refuses it because it reads the flag.
        users.delete_sessions_of(id, None).await?;
        Ok(record.into())
    }

    /// Lets a disabled account log in again (`POST /admin/users/{id}/enable`); admins only.
    pub async fn enable_user(&self, actor: &User, id: &UserId) -> Result<Account> {
        require_admin(actor)?;
        let record = self
            .inner
            .storage
            .users
            .change_access(id, AccessChange::Disabled(false))
            .await?;
        Ok(record.into())
    }

    /// Changes the caller's own password (`POST /auth/password`), any role. Every other
    /// session of the caller ends; the one of `token` stays.
    ///
    /// A wrong `current` password counts as a failed login of the account, so this route
    /// gives no more guesses than `POST /auth/login` does.
    ///
    /// # Errors
    ///
    /// - [`Error::Invalid`] for `current_password` when it is wrong.
    /// - [`Error::RateLimited`] while the account is locked by failed logins.
    pub async fn change_password(
        &self,
        actor: &User,
        token: &str,
        current: &str,
        new: Password,
    ) -> Result<()> {
        let now = self.now();
        let key = LoginKey::account(actor.email.as_str());
        let throttle = &self.inner.throttle;
        throttle.check(&key, None, now).await?;
        let users = &self.inner.storage.users;
        let record = users
            .user_by_id(&actor.id)
            .await?
            .ok_or(Error::Unauthenticated)?;
        if !record.password_hash.verify(current) {
            throttle.record_failure(&key, None, now).await?;
            return Err(Error::invalid(
                "current_password",
                "the current password is not right",
            ));
        }
        users.set_password_hash(&actor.id, &new.hash()).await?;
        let keep = SessionToken::from_client(token).hash();
        users.delete_sessions_of(&actor.id, Some(keep)).await?;
        Ok(())
    }

    /// Whether some admin can log in (`GET /setup`); open to anyone, so that a fresh
    /// deployment can tell how to make its first admin.
    pub async fn admin_exists(&self) -> Result<bool> {
        self.inner.storage.users.active_admin_exists().await
    }
}
