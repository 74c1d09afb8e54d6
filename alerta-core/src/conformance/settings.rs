//! Checks of [`SettingStore`](crate::ports::SettingStore): the first value stays, whoever
//! races to store one.

use futures::future::join_all;

use crate::ports::Storage;

pub(super) async fn the_first_value_stays(store: &Storage) {
    let settings = &store.settings;
    let first = settings
        .setting_or_insert("link_secret", "one")
        .await
        .expect("setting");
    assert_eq!(first, "one");
    let again = settings
        .setting_or_insert("link_secret", "two")
        .await
        .expect("setting");
    assert_eq!(again, "one", "a stored value never changes");
    let other = settings
        .setting_or_insert("other", "three")
        .await
        .expect("setting");
    assert_eq!(other, "three", "names never share state");
}

pub(super) async fn racing_writers_all_get_the_first_value(store: &Storage) {
    let values: Vec<String> = (0..16).map(|n| format!("value-{n}")).collect();
    let calls = values
        .iter()
        .map(|value| store.settings.setting_or_insert("raced", value));
    let results: Vec<String> = join_all(calls)
        .await
        .into_iter()
        .map(|r| r.expect("setting"))
        .collect();
    assert!(values.contains(&results[0]), "{results:?}");
    assert!(
        results.iter().all(|r| *r == results[0]),
        "every writer gets the one stored value: {results:?}"
    );
    let read = store
        .settings
        .setting_or_insert("raced", "late")
        .await
        .expect("setting");
    assert_eq!(read, results[0]);
}
