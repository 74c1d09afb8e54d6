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
            "adjuntos/01INC/.01ATT.blob".to_owned(),
            "adjuntos/01INC/01ATT".to_owned(),
            "reportes/incidentes/Seguridad Campus/.incidente_01INC.json.blob".to_owned(),
            "reportes/incidentes/Seguridad Campus/incidente_01INC.json".to_owned(),
        ],
        "one file per key, its sidecar, and no temporary files left behind"
    );
    assert_eq!(
        std::fs::read(root.join("adjuntos/01INC/01ATT")).unwrap(),
        b"\x89PNG\r\n\x1a\n",
        "the file holds the bytes and nothing else"
    );
    let report_file: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root.join("reportes/incidentes/Seguridad Campus/incidente_01INC.json"))
            .unwrap(),
    )
    .expect("a report file is JSON as it lies on disk");
    assert_eq!(report_file, serde_json::json!({"a": 2}));

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
    assert_eq!(
        files_under(dir.path()).len(),
        2,
        "the blob and its sidecar, no temporary files left"
    );
}

/// A file as the old format wrote it: a header, then the bytes.
fn old_format(content_type: &str, bytes: &[u8]) -> Vec<u8> {
    [b"alerta-blob 1\n", content_type.as_bytes(), b"\n", bytes].concat()
}

#[tokio::test]
async fn files_of_the_old_format_are_read_and_then_migrated_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let report = root.join("reportes/global/reporte_2026-12-01_19-00.json");
    let attachment = root.join("adjuntos/01INC/01ATT");
    for (path, content_type, bytes) in [
        (&report, "application/json", &b"{\"total\": 3}"[..]),
        (
            &attachment,
            "image/png",
            &b"\x89PNG\r\n\x1a\nalerta-blob 1\n"[..],
        ),
    ] {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, old_format(content_type, bytes)).unwrap();
    }
    let store = FsBlobStore::new(root);
    let report_key = BlobKey::from_stored("reportes/global/reporte_2026-12-01_19-00.json".into());
    let photo_key = attachment_key("01INC", "01ATT");
    let before = store.get(&report_key).await.unwrap();
    assert_eq!(
        (before.content_type.as_str(), before.bytes.as_slice()),
        ("application/json", &b"{\"total\": 3}"[..]),
        "not yet migrated, still read"
    );

    assert_eq!(store.migrate().await.unwrap(), 2);
    let on_disk: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap()).expect("JSON as it lies on disk");
    assert_eq!(on_disk, serde_json::json!({"total": 3}));
    assert_eq!(
        std::fs::read(&attachment).unwrap(),
        b"\x89PNG\r\n\x1a\nalerta-blob 1\n"
    );
    for (key, content_type, bytes) in [
        (&report_key, "application/json", &b"{\"total\": 3}"[..]),
        (
            &photo_key,
            "image/png",
            &b"\x89PNG\r\n\x1a\nalerta-blob 1\n"[..],
        ),
    ] {
        let blob = store.get(key).await.unwrap();
        assert_eq!(
            (blob.content_type.as_str(), blob.bytes.as_slice()),
            (content_type, bytes),
            "reads back the same after the migration"
        );
    }

    // Again: nothing left to do, and bytes that merely start like the old header stay.
    let new_key = attachment_key("01INC", "02ATT");
    let lookalike = old_format("text/plain", b"x");
    store
        .put(&new_key, "application/octet-stream", lookalike.clone())
        .await
        .unwrap();
    assert_eq!(store.migrate().await.unwrap(), 0);
    let blob = store.get(&new_key).await.unwrap();
    assert_eq!(
        (blob.content_type.as_str(), blob.bytes),
        ("application/octet-stream", lookalike)
    );
}

#[tokio::test]
async fn a_migration_cut_short_after_the_sidecar_is_finished_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let path = root.join("reportes/global/reporte_2026-12-01_19-15.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let old = old_format("application/json", b"[1, 2]");
    std::fs::write(&path, &old).unwrap();
    let store = FsBlobStore::new(root);
    assert_eq!(store.migrate().await.unwrap(), 1);
    // Put back what a crash between the two renames leaves: the new sidecar, the old file.
    std::fs::write(&path, &old).unwrap();
    let key = BlobKey::from_stored("reportes/global/reporte_2026-12-01_19-15.json".into());
    let blob = store.get(&key).await.unwrap();
    assert_eq!(
        (blob.content_type.as_str(), blob.bytes.as_slice()),
        ("application/json", &b"[1, 2]"[..])
    );
    assert_eq!(store.migrate().await.unwrap(), 1);
    let on_disk: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(on_disk, serde_json::json!([1, 2]));
    assert_eq!(store.migrate().await.unwrap(), 0, "idempotent");
}
