//! The staff's triage board over 10,000 incidents, in headless Chromium against a real
//! `alerta serve`: the server filters and searches, and the page follows the cursor to the
//! second page and back, showing exactly the incidents that match, newest first.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fantoccini::Client;
use serde_json::{Value, json};

use crate::dashboard::{Driver, script};
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, start_binary};
use crate::webapp::{Admin, choose, click, log_in, type_into, wait_for};

const INCIDENTS: usize = 10_000;
/// Concurrent writers while seeding.
const WRITERS: usize = 16;
const PAGE: usize = 20;
const TYPES: [&str; 6] = [
    "infraestructura",
    "seguridad",
    "limpieza",
    "tecnologia",
    "salud",
    "otro",
];
const URGENCIES: [&str; 4] = ["baja", "media", "alta", "critica"];

/// One seeded incident, as the test made it.
#[derive(Clone, Debug)]
struct Seeded {
    id: String,
    tipo: &'static str,
    urgencia: &'static str,
    descripcion: String,
}

fn draft(n: usize) -> (&'static str, &'static str, String) {
    // Every 50th is a leak, the rest routine, so a text search finds 200 among 10,000.
    let descripcion = if n % 50 == 7 {
        format!("Fuga de agua en el baño, planta {n:05}")
    } else {
        format!("Revisión rutinaria {n:05}")
    };
    (
        TYPES[n % TYPES.len()],
        URGENCIES[n % URGENCIES.len()],
        descripcion,
    )
}

/// Writes the incidents over HTTP with a few concurrent writers, as many clients would.
async fn seed(api: &Admin) -> Vec<Seeded> {
    let next = Arc::new(AtomicUsize::new(0));
    let writers = (0..WRITERS).map(|_| {
        let next = next.clone();
        let http = api.http.clone();
        let url = format!("{}/incidents", api.base);
        let token = api.token.clone();
        tokio::spawn(async move {
            let mut made = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= INCIDENTS {
                    return made;
                }
                let (tipo, urgencia, descripcion) = draft(n);
                let reply = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({
                        "tipo": tipo, "urgencia": urgencia, "descripcion": descripcion,
                        "ubicacion": format!("Edificio {}", n % 20),
                    }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(reply.status().as_u16(), 201, "incident {n}");
                let body: Value = reply.json().await.unwrap();
                made.push(Seeded {
                    id: body["incident_id"].as_str().unwrap().to_owned(),
                    tipo,
                    urgencia,
                    descripcion,
                });
            }
        })
    });
    let mut all = Vec::with_capacity(INCIDENTS);
    for writer in writers.collect::<Vec<_>>() {
        all.extend(writer.await.unwrap());
    }
    // Lists are newest first, and ids sort by creation.
    all.sort_by(|a, b| b.id.cmp(&a.id));
    all
}

/// The ids of the rows on the board, top first, and whether "next" and "first page" work.
const BOARD: &str = "[Array.from(document.querySelectorAll('#board-body tr'), (row) => row.dataset.id), \
     !document.getElementById('board-next').disabled, !document.getElementById('board-first').disabled]";

async fn wait_for_board(page: &Client, what: &str, rows: &[Seeded], next: bool, first: bool) {
    let ids: Vec<&str> = rows.iter().map(|s| s.id.as_str()).collect();
    wait_for(page, what, BOARD, json!([ids, next, first])).await;
}

#[tokio::test]
async fn the_triage_board_pages_through_ten_thousand_incidents() {
    let driver = Driver::start();
    let page = driver.session().await;
    let steps = tokio::spawn(page_through(page.clone()));
    let outcome = steps.await;
    let _ = page.close().await;
    drop(driver);
    if let Err(failure) = outcome {
        std::panic::resume_unwind(failure.into_panic());
    }
}

async fn page_through(page: Client) {
    // Memory-backed when the machine has it: the same server and SQLite, without waiting on
    // 10,000 disk flushes.
    let shm = std::path::Path::new("/dev/shm");
    let data_dir = if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    let server = start_binary(data_dir.path()).await;
    let api = Admin::log_in(&server).await;
    let started = Instant::now();
    let all = seed(&api).await;
    let seeded_in = started.elapsed();
    assert_eq!(all.len(), INCIDENTS);
    let stats = crate::webapp::api_get(&api, "/stats").await;
    assert_eq!(stats["total"], INCIDENTS, "{stats}");

    page.goto(&server.base).await.unwrap();
    log_in(&page, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    wait_for_board(
        &page,
        "the first page of everything",
        &all[..PAGE],
        true,
        false,
    )
    .await;

    // A text search alone: 200 leaks, 20 a page.
    let leaks: Vec<Seeded> = all
        .iter()
        .filter(|s| s.descripcion.contains("Fuga"))
        .cloned()
        .collect();
    assert_eq!(leaks.len(), 200);
    type_into(&page, "#filter-q", "FUGA").await;
    click(&page, "#filter-apply").await;
    wait_for_board(&page, "page 1 of the search", &leaks[..PAGE], true, false).await;
    click(&page, "#board-next").await;
    wait_for_board(
        &page,
        "page 2 of the search",
        &leaks[PAGE..2 * PAGE],
        true,
        true,
    )
    .await;

    // The search with two filters: fewer than two pages.
    choose(&page, "#filter-tipo", "seguridad").await;
    choose(&page, "#filter-urgencia", "critica").await;
    click(&page, "#filter-apply").await;
    let matching: Vec<Seeded> = leaks
        .iter()
        .filter(|s| s.tipo == "seguridad" && s.urgencia == "critica")
        .cloned()
        .collect();
    assert!(
        matching.len() > PAGE && matching.len() < 2 * PAGE,
        "{} match",
        matching.len()
    );
    wait_for_board(
        &page,
        "page 1 of the filtered search",
        &matching[..PAGE],
        true,
        false,
    )
    .await;
    let first_row = script(
        &page,
        "const cells = document.querySelector('#board-body tr').cells; \
         return [cells[1].textContent, cells[2].textContent, cells[5].textContent];",
    )
    .await;
    assert_eq!(
        first_row,
        json!(["seguridad", "crítica", matching[0].descripcion]),
        "the newest match, in the page's words"
    );
    click(&page, "#board-next").await;
    wait_for_board(
        &page,
        "page 2 of the filtered search, the last",
        &matching[PAGE..],
        false,
        true,
    )
    .await;
    click(&page, "#board-first").await;
    wait_for_board(&page, "back to page 1", &matching[..PAGE], true, false).await;

    let total = started.elapsed();
    eprintln!("seeded {INCIDENTS} incidents in {seeded_in:?}; whole test {total:?}");
    assert!(
        total < Duration::from_secs(180),
        "seeding and paging took {total:?}"
    );
}
