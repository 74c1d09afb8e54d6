//! Acknowledging an alert from its mail: a signed, expiring link that works once.

use serde_json::json;

use super::Alerta;
use crate::domain::{
    AckTokenRefusal, Alert, AlertAction, IdempotencyClaim, IdempotencyKey, IdempotencyRecord, Note,
    Reservation, UserId,
};
use crate::{ConflictKind, Error, Result};

/// The owner of the idempotency keys that mark links as used; no user id contains a `.`.
const USED_LINKS: &str = "ack.link";
/// The operation of those keys.
const OPERATION: &str = "alert.ack_link";
/// The actor of an acknowledgement made from a mail: the link is anyone's who holds the mail.
const MAIL_LINK_ACTOR: &str = "mail-link";

/// Where a link stands, before anything is done with it (`GET /events/ack/{token}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AckLinkState {
    /// A true link, not used yet, for this alert as it is now.
    Usable(Alert),
    /// A true link that was used already.
    Used,
    /// A true link past its expiry.
    Expired,
    /// Not a link this deployment made, or one that was changed; also every link when
    /// links are off.
    Invalid,
}

/// What using a link did (`POST /events/ack/{token}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AckByLink {
    /// It acknowledged the alert, as it now is.
    Acknowledged(Alert),
    /// The link is spent on an alert that was no longer firing: acknowledged or resolved
    /// by someone else first. Nothing changed.
    NotFiring(Alert),
    /// Used already: nothing changed.
    Used,
    /// Past its expiry: nothing changed.
    Expired,
    /// Not a true link: nothing changed.
    Invalid,
}

impl Alerta {
    /// Where the link of `token` stands; changes nothing, as mail scanners follow links.
    pub async fn ack_link_state(&self, token: &str) -> Result<AckLinkState> {
        let checked = match self.check_ack_token(token) {
            Ok(checked) => checked,
            Err(AckTokenRefusal::Invalid) => return Ok(AckLinkState::Invalid),
            Err(AckTokenRefusal::Expired) => return Ok(AckLinkState::Expired),
        };
        let key = used_key(token)?;
        let used = self
            .inner
            .storage
            .idempotency
            .record(USED_LINKS, &key)
            .await?;
        if used.is_some() {
            return Ok(AckLinkState::Used);
        }
        Ok(AckLinkState::Usable(
            self.load_alert_for_link(&checked.alert).await?,
        ))
    }

    /// Acknowledges the alert of the link `token`, once: the first use claims the link in
    /// the shared idempotency store (one conditional write), so of any number of uses, on
    /// any number of instances, one acts and the others find it used.
    pub async fn acknowledge_by_link(&self, token: &str) -> Result<AckByLink> {
        let checked = match self.check_ack_token(token) {
            Ok(checked) => checked,
            Err(AckTokenRefusal::Invalid) => return Ok(AckByLink::Invalid),
            Err(AckTokenRefusal::Expired) => return Ok(AckByLink::Expired),
        };
        let key = used_key(token)?;
        let store = &self.inner.storage.idempotency;
        let settings = &self.inner.settings;
        let holder = self.ids().next_id();
        let claim = IdempotencyClaim {
            owner: USED_LINKS.to_owned(),
            key: key.clone(),
            operation: OPERATION.to_owned(),
            holder: holder.clone(),
            now: self.now(),
            lease: settings.idempotency_lease,
            // A used link must stay used until it expires: the link's life is bounded by
            // the records' (the binary refuses a longer one), and this keeps it so here.
            max_age: settings.idempotency_max_age,
        };
        match store.reserve(&claim).await? {
            Reservation::Reserved => {}
            Reservation::Completed(_) | Reservation::Pending { .. } => return Ok(AckByLink::Used),
        }
        let actor = UserId::parse(MAIL_LINK_ACTOR).expect("a valid user id");
        let action = AlertAction::Acknowledge {
            note: Some(Note::parse("acknowledged from the mail").expect("a valid note")),
        };
        let outcome = match self
            .record_alert(&checked.alert, &actor, action, None)
            .await
        {
            Ok(alert) => AckByLink::Acknowledged(alert),
            Err(e) if e.conflict_kind() == Some(ConflictKind::InvalidTransition) => {
                AckByLink::NotFiring(self.load_alert_for_link(&checked.alert).await?)
            }
            Err(error) => {
                // Nothing was done: the link may be used again.
                if let Err(release) = store.release(USED_LINKS, &key, &holder).await {
                    tracing::warn!(error = %release, "a used link's claim could not be released; it frees itself when its lease ends");
                }
                return Err(error);
            }
        };
        let record = IdempotencyRecord {
            owner: USED_LINKS.to_owned(),
            key,
            operation: OPERATION.to_owned(),
            response: json!({"alert": checked.alert}),
            created_at: self.now(),
        };
        if let Err(error) = store.complete(&record, &holder).await {
            tracing::warn!(%error, "a used link could not be marked used; its claim holds it until its lease ends");
        }
        Ok(outcome)
    }

    fn check_ack_token(
        &self,
        token: &str,
    ) -> std::result::Result<crate::domain::AckToken, AckTokenRefusal> {
        match &self.inner.settings.ack_links {
            Some(links) => links.check(token, self.now()),
            None => Err(AckTokenRefusal::Invalid),
        }
    }

    async fn load_alert_for_link(&self, id: &crate::domain::AlertId) -> Result<Alert> {
        self.inner
            .storage
            .alerts
            .alert(id)
            .await?
            .ok_or(Error::NotFound("alert"))
    }
}

/// The idempotency key that marks the link of `token` used.
fn used_key(token: &str) -> Result<IdempotencyKey> {
    // A checked token is short visible ASCII: an alert id, digits and base64url.
    IdempotencyKey::parse(token)
}
