//! Signed, expiring links that acknowledge an alert from its mail.
//!
//! A link's token is `<alert id>.<expiry, Unix seconds>.<signature>`, the signature being
//! the base64url HMAC-SHA256 of `ack:<alert id>:<expiry>` under the deployment's
//! [`LinkSecret`]. Anyone holding the mail may use it once before it expires; nobody can
//! make one for another alert or a later time without the secret.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{AlertId, Timestamp};

type HmacSha256 = Hmac<Sha256>;

/// The key that signs acknowledgement links: at least 32 bytes. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkSecret(Vec<u8>);

impl LinkSecret {
    /// The fewest bytes a secret has.
    pub const MIN_BYTES: usize = 32;

    /// A secret from configured text (its bytes as they are).
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`](crate::Error::Invalid) on `link_secret` for text shorter than
    /// [`MIN_BYTES`](Self::MIN_BYTES).
    pub fn parse(text: &str) -> Result<Self, crate::Error> {
        if text.len() < Self::MIN_BYTES {
            return Err(crate::Error::invalid(
                "link_secret",
                format!("the link secret must be at least {} bytes", Self::MIN_BYTES),
            ));
        }
        Ok(Self(text.as_bytes().to_vec()))
    }

    /// A new random secret, as text that [`parse`](Self::parse) reads back.
    ///
    /// # Panics
    ///
    /// When the operating system has no randomness to give.
    pub fn generate_text() -> String {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("the operating system gives random bytes");
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn sign(&self, alert: &AlertId, expires_at: i64) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(format!("ack:{alert}:{expires_at}").as_bytes());
        mac
    }
}

impl fmt::Debug for LinkSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkSecret([hidden])")
    }
}

/// How acknowledgement links are made: the secret, the server's public base URL (without a
/// trailing `/`) and how long a link lasts.
#[derive(Clone, Debug)]
pub struct AckLinks {
    secret: LinkSecret,
    base_url: String,
    ttl: Duration,
}

impl AckLinks {
    /// Links under `base_url` (e.g. `https://alerta.campus.edu`), signed with `secret`, each
    /// lasting `ttl`.
    pub fn new(secret: LinkSecret, base_url: &str, ttl: Duration) -> Self {
        Self {
            secret,
            base_url: base_url.trim_end_matches('/').to_owned(),
            ttl,
        }
    }

    /// How long a link lasts.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The token of a link for `alert`, made at `at` and lasting [`ttl`](Self::ttl).
    pub fn token(&self, alert: &AlertId, at: Timestamp) -> String {
        let expires_at = (at.plus(self.ttl).unix_millis() + 999).div_euclid(1000);
        let signature = self.secret.sign(alert, expires_at).finalize().into_bytes();
        format!("{alert}.{expires_at}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// The link for `alert`, made at `at`: `<base>/events/ack/<token>`.
    pub fn link(&self, alert: &AlertId, at: Timestamp) -> String {
        format!("{}/events/ack/{}", self.base_url, self.token(alert, at))
    }

    /// Checks a token at `now`: the alert it acknowledges, or why it does not.
    pub fn check(&self, token: &str, now: Timestamp) -> Result<AckToken, AckTokenRefusal> {
        let mut parts = token.split('.');
        let (Some(alert), Some(expires_at), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AckTokenRefusal::Invalid);
        };
        let alert = AlertId::parse(alert).map_err(|_| AckTokenRefusal::Invalid)?;
        let expires_at: i64 = expires_at.parse().map_err(|_| AckTokenRefusal::Invalid)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| AckTokenRefusal::Invalid)?;
        // `verify_slice` compares in constant time.
        self.secret
            .sign(&alert, expires_at)
            .verify_slice(&signature)
            .map_err(|_| AckTokenRefusal::Invalid)?;
        if now.unix_millis() >= expires_at.saturating_mul(1000) {
            return Err(AckTokenRefusal::Expired);
        }
        Ok(AckToken {
            alert,
            expires_at: Timestamp::from_unix_millis(expires_at.saturating_mul(1000)),
        })
    }
}

/// A token that [`AckLinks::check`] accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AckToken {
    /// The alert it acknowledges.
    pub alert: AlertId,
    /// When it stops working.
    pub expires_at: Timestamp,
}

/// Why a token does not acknowledge anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckTokenRefusal {
    /// Not a token this server made: malformed, or its signature does not match.
    Invalid,
    /// A true token past its expiry.
    Expired,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> AckLinks {
        let secret = LinkSecret::parse(&LinkSecret::generate_text()).unwrap();
        AckLinks::new(secret, "https://alerta.example/", Duration::from_secs(3600))
    }

    #[test]
    fn a_token_acknowledges_its_alert_until_it_expires() {
        let links = links();
        let alert = AlertId::parse("01JZ0000000000000000000000").unwrap();
        let made = Timestamp::from_unix_millis(1_000_000);
        let link = links.link(&alert, made);
        let token = link
            .strip_prefix("https://alerta.example/events/ack/")
            .unwrap();
        assert_eq!(links.check(token, made).unwrap().alert, alert);
        let later = made.plus(Duration::from_secs(3599));
        assert!(links.check(token, later).is_ok());
        let expired = made.plus(Duration::from_secs(3600));
        assert_eq!(links.check(token, expired), Err(AckTokenRefusal::Expired));
    }

    #[test]
    fn a_changed_token_or_another_secret_is_invalid() {
        let links = links();
        let alert = AlertId::parse("A1").unwrap();
        let now = Timestamp::from_unix_millis(0);
        let token = links.token(&alert, now);
        let (rest, signature) = token.rsplit_once('.').unwrap();
        let (_, expiry) = rest.split_once('.').unwrap();
        let later: i64 = expiry.parse::<i64>().unwrap() + 3600;
        for tampered in [
            format!("A2.{expiry}.{signature}"),
            format!("A1.{later}.{signature}"),
            format!("{rest}.{}", "A".repeat(signature.len())),
            format!("{token}.x"),
            "A1".to_owned(),
            String::new(),
        ] {
            assert_eq!(
                links.check(&tampered, now),
                Err(AckTokenRefusal::Invalid),
                "{tampered}"
            );
        }
        assert_eq!(
            self::links().check(&token, now),
            Err(AckTokenRefusal::Invalid),
            "another deployment's secret"
        );
        assert!(LinkSecret::parse("short").is_err());
        assert_eq!(
            format!("{:?}", LinkSecret::parse(&"s".repeat(40)).unwrap()),
            "LinkSecret([hidden])"
        );
    }
}
