//! The file-system blob store against the conformance suite, and what only a directory can
//! show: files where the keys say, nothing outside the root, no torn reads.

use std::path::Path;
use std::sync::Arc;

use alerta_adapters::fs::FsBlobStore;
use alerta_core::Error;
use alerta_core::conformance;
use alerta_core::domain::{AttachmentId, BlobKey, DepartmentName, IncidentId};
use alerta_core::ports::{BlobStore, DynBlobStore};

fn attachment_key(incident: &str, attachment: &str) -> BlobKey {
    BlobKey::attachment(
        &IncidentId::parse(incident).unwrap(),
        &AttachmentId::parse(attachment).unwrap(),
    )
}

/// Every file under `dir`, as paths relative to it.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(dir).unwrap();
                out.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn fs_blob_store_conforms_through_a_trait_object() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<DynBlobStore> = Arc::new(FsBlobStore::new(dir.path()));
    conformance::blobs(store.as_ref()).await;
}

#[tokio::test]
async fn keys_become_files_under_the_root_and_survive_a_new_store() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("blobs");
    let store = FsBlobStore::new(&root);
    assert_eq!(store.root(), root);
    let attachment = attachment_key("01INC", "01ATT");
    let report = BlobKey::assignment_report(
        &DepartmentName::parse("Seguridad Campus").unwrap(),
        &IncidentId::parse("01INC").unwrap(),
    );
    store
        .put(&attachment, "image/png", b"\x89PNG\r\n\x1a\n".to_vec())
        .await
        .unwrap();
    store
        .put(&report, "application/json", b"{\"a\":1}\n".to_vec())
        .await
        .unwrap();
    store
        .put(&report, "application/json", b"{\"a\":2}\n".to_vec())
        .await
        .unwrap();
    assert_eq!(
        files_under(&root),
        vec![
            "adjuntos/01INC/01ATT".to_owned(),
            "reportes/incidentes/Seguridad Campus/incidente_01INC.json".to_owned(),
        ],
        "one file per key and no temporary files left behind"
    );

    let reopened = FsBlobStore::new(&root);
    let blob = reopened.get(&report).await.unwrap();
    assert_eq!(blob.content_type, "application/json");
    assert_eq!(blob.bytes, b"{\"a\":2}\n");
    let blob = reopened.get(&attachment).await.unwrap();
    assert_eq!(blob.content_type, "image/png");
    assert_eq!(blob.bytes, b"\x89PNG\r\n\x1a\n");
}

#[tokio::test]
async fn empty_blobs_and_missing_keys() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsBlobStore::new(dir.path());
    let key = attachment_key("01INC", "01EMPTY");
    store.put(&key, "text/plain", Vec::new()).await.unwrap();
    let blob = store.get(&key).await.unwrap();
    assert!(blob.bytes.is_empty());
    assert_eq!(blob.content_type, "text/plain");

    // A key whose "directory" is a file, and one that names a directory, are simply missing.
    let under_a_file = BlobKey::from_stored("adjuntos/01INC/01EMPTY/more".into());
    let a_directory = BlobKey::from_stored("adjuntos/01INC".into());
    for missing in [
        attachment_key("01NONE", "01NONE"),
        under_a_file,
        a_directory,
    ] {
        let result = store.get(&missing).await;
        assert!(
            matches!(result, Err(Error::NotFound("blob"))),
            "{missing}: {result:?}"
        );
    }
}

#[tokio::test]
async fn keys_that_could_escape_the_root_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("blobs");
    let store = FsBlobStore::new(&root);
    for bad in [
        "../outside",
        "adjuntos/../../outside",
        "/tmp/absolute",
        "adjuntos//x",
        "adjuntos/./x",
        "",
        "adjuntos/.hidden",
    ] {
        let key = BlobKey::from_stored(bad.into());
        let put = store.put(&key, "text/plain", b"x".to_vec()).await;
        assert!(
            matches!(put, Err(Error::Invalid { field: "key", .. })),
            "{bad:?}: {put:?}"
        );
        let get = store.get(&key).await;
        assert!(
            matches!(get, Err(Error::Invalid { field: "key", .. })),
            "{bad:?}: {get:?}"
        );
    }
    assert_eq!(
        files_under(dir.path()),
        Vec::<String>::new(),
        "nothing was written"
    );
}

#[tokio::test]
async fn content_types_that_could_break_the_header_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsBlobStore::new(dir.path());
    let key = attachment_key("01INC", "01ATT");
    for bad in ["text/plain\nx", &"a".repeat(300)] {
        let result = store.put(&key, bad, b"x".to_vec()).await;
        assert!(matches!(result, Err(Error::Invalid { .. })), "{result:?}");
    }
}

#[tokio::test]
async fn a_file_not_in_the_blob_format_is_unavailable_not_misread() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsBlobStore::new(dir.path());
    let key = attachment_key("01INC", "01ATT");
    let path = dir.path().join("adjuntos/01INC/01ATT");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"raw bytes").unwrap();
    let result = store.get(&key).await;
    assert!(
        matches!(result, Err(Error::Unavailable { .. })),
        "{result:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_see_whole_blobs_while_a_writer_replaces_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsBlobStore::new(dir.path());
    let key = attachment_key("01INC", "01ATT");
    let old = vec![b'a'; 256 * 1024];
    let new = vec![b'b'; 64 * 1024];
    store.put(&key, "text/plain", old.clone()).await.unwrap();

    let writer = {
        let (store, key, old, new) = (store.clone(), key.clone(), old.clone(), new.clone());
        tokio::spawn(async move {
            for n in 0..40 {
                let (ct, bytes) = if n % 2 == 0 {
                    ("application/pdf", new.clone())
                } else {
                    ("text/plain", old.clone())
                };
                store.put(&key, ct, bytes).await.unwrap();
            }
        })
    };
    let mut reads = 0;
    while !writer.is_finished() {
        let blob = store.get(&key).await.unwrap();
        let whole = (blob.content_type == "text/plain" && blob.bytes == old)
            || (blob.content_type == "application/pdf" && blob.bytes == new);
        assert!(whole, "a read saw a mix of two writes");
        reads += 1;
    }
    writer.await.unwrap();
    assert!(reads > 0);
    assert_eq!(files_under(dir.path()).len(), 1, "no temporary files left");
}
