//! Named values a deployment keeps in its store.

use async_trait::async_trait;

use crate::Result;

/// Named values a deployment keeps in its store, shared by every instance on it: such as the
/// secret that signs acknowledgement links, made by the first instance that needed one.
///
/// # Contract
///
/// - [`setting_or_insert`](SettingStore::setting_or_insert) is atomic (one conditional
///   write): when `name` holds no value it stores `value`; either way it returns the value
///   `name` holds afterwards. Of any number of concurrent calls for one name, from one
///   process or many, every one returns the same value: the one stored first.
/// - A stored value never changes and never expires; names never share state.
///
/// # Errors
///
/// Backend failures MUST be [`Error::Unavailable`](crate::Error::Unavailable).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SettingStore: Send + Sync {
    /// The value of `name`, which is `value` if it had none.
    async fn setting_or_insert(&self, name: &str, value: &str) -> Result<String>;
}

/// A shared setting store picked at run time.
pub type DynSettingStore = dyn SettingStore;
