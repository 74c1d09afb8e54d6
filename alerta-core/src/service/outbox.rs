//! Operators' view of the mail outbox.

use super::{Alerta, require_admin};
use crate::domain::{MailId, MailState, OutboxBacklog, OutboxMail, Page, PageRequest, User};
use crate::{ConflictKind, Error, Result};

impl Alerta {
    /// How much mail waits in the outbox, for `/metrics`: figures of the whole deployment,
    /// since every instance shares the outbox.
    pub async fn outbox_backlog(&self) -> Result<OutboxBacklog> {
        self.inner.storage.outbox.backlog().await
    }

    /// A page of outbox rows, newest first, optionally in one state (`GET /admin/outbox`);
    /// admin only.
    pub async fn outbox(
        &self,
        actor: &User,
        state: Option<MailState>,
        page: &PageRequest,
    ) -> Result<Page<OutboxMail>> {
        require_admin(actor)?;
        self.inner.storage.outbox.mails(state, page).await
    }

    /// Puts a row back in the queue, due now (`POST /admin/outbox/{id}/retry`); admin only.
    pub async fn retry_mail(&self, actor: &User, id: &MailId) -> Result<OutboxMail> {
        require_admin(actor)?;
        self.requeue_mail(id).await
    }

    /// Puts a row back in the queue, due now, without a role check: for the command line.
    /// Sent mail is refused, since sending it again would deliver the same message twice.
    pub async fn requeue_mail(&self, id: &MailId) -> Result<OutboxMail> {
        let outbox = &self.inner.storage.outbox;
        let mail = outbox.mail(id).await?.ok_or(Error::NotFound("mail"))?;
        if mail.state == MailState::Sent {
            return Err(Error::conflict(
                ConflictKind::AlreadySent,
                "this mail was already sent",
            ));
        }
        outbox.requeue(id, self.now()).await?;
        outbox.mail(id).await?.ok_or(Error::NotFound("mail"))
    }
}
