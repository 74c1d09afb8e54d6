//! The alerts table in headless Chromium, two browsers at once against a real `alerta serve`:
//! staff acknowledge an alert and the other browser sees it live; repeated occurrences raise
//! the count live; a note typed in a row goes with its acknowledgement; a stale version gets
//! the conflict message, from a row (which keeps its note) and from the alert's page; a
//! resolution with a note shows in the alert's history; the filters and the cursor run on the
//! server; the lists name each row's incident without a request per row; an incident opened from an alert is linked from its row and shows its
//! deliveries; a student is offered no alert action.
//!
//! With `ALERTA_SCREENSHOT_DIR` set, the test saves the alerts table, an alert's page and an
//! incident's deliveries there (the README's pictures).

use fantoccini::Client;
use serde_json::{Value, json};

use crate::dashboard::{Driver, script, wait_for_badge};
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, start_binary};
use crate::webapp::{
    Admin, api_get, assert_no_sideways_scroll, choose, click, log_in, register, screenshot,
    text_of, type_into, wait_for,
};

const STAFF_EMAIL: &str = "rosa.vidal@campus.edu";
const STAFF_PASSWORD: &str = "clave-rosa-1";
const DEPARTMENT: &str = "Mantenimiento";
const DEPARTMENT_EMAIL: &str = "mantenimiento@campus.edu";
const SOURCE: &str = "ups_3";
const MESSAGE: &str = "Batería <b>baja</b> en el CPD";
const NOTE: &str = "Batería cambiada";
const ROW_NOTE: &str = "Voy para allá";
const OTHER_NOTE: &str = "Lo miro yo";
const STALE: &str = "Esta alerta cambió mientras la mirabas (otra persona la atendió o llegaron \
                     más ocurrencias). Se ha recargado: revísala y vuelve a intentarlo.";

#[tokio::test]
async fn staff_act_on_alerts_and_every_browser_follows_live() {
    let desk = Driver::start();
    let phone = Driver::start_phone();
    let staff = desk.session().await;
    let other = phone.session().await;
    // The steps run on a task of their own so that a failed assertion still ends both
    // browser sessions below instead of leaving Chromium behind.
    let steps = tokio::spawn(act_on_alerts(staff.clone(), other.clone()));
    let outcome = steps.await;
    let _ = staff.close().await;
    let _ = other.close().await;
    drop((desk, phone));
    if let Err(failure) = outcome {
        std::panic::resume_unwind(failure.into_panic());
    }
}

/// Sends one occurrence of the test's alert; returns the id of its group.
async fn fire(api: &Admin) -> String {
    let (status, body) = api
        .post(
            "/events",
            json!({ "source": SOURCE, "severity": "critical", "message": MESSAGE }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// JavaScript for what the row of alert `id` shows: its status, its count, and whether its
/// "last seen" is `last_seen`, written as the page writes times.
fn row_state(id: &str, last_seen: &str) -> String {
    format!(
        "(() => {{ const row = document.querySelector('#alerts-body tr[data-id=\"{id}\"]'); \
         const seen = row && row.querySelector('.last-seen'); \
         return row && [row.dataset.status, row.querySelector('.count').textContent, \
         seen.dataset.at === '{last_seen}' \
           && seen.textContent === new Date('{last_seen}').toLocaleString()]; }})()"
    )
}

/// The ids of the alerts' rows, top first, and whether "next" and "first page" work.
const ALERT_ROWS: &str = "[Array.from(document.querySelectorAll('#alerts-body tr'), (row) => row.dataset.id), \
     !document.getElementById('alerts-next').disabled, !document.getElementById('alerts-first').disabled]";

/// The page's requests for one alert by id (`GET /events/{id}`), as the browser timed them.
const PER_ROW_READS: &str = "return performance.getEntriesByType('resource') \
     .map((entry) => new URL(entry.name).pathname) \
     .filter((path) => /^\\/events\\/[0-9A-Z]{26}$/.test(path));";

fn row_note(id: &str) -> String {
    format!("#alerts-body tr[data-id='{id}'] input.row-nota")
}

fn row_button(id: &str, class: &str) -> String {
    format!("#alerts-body tr[data-id='{id}'] button.{class}")
}

async fn alert_now(api: &Admin, id: &str) -> Value {
    api_get(api, &format!("/events/{id}")).await
}

/// Waits until both browsers show the row of `id` as the server has it now.
async fn both_show(pages: [&Client; 2], api: &Admin, id: &str, what: &str) {
    let alert = alert_now(api, id).await;
    let expected = json!([alert["status"], alert["count"].to_string(), true]);
    for page in pages {
        wait_for(
            page,
            what,
            &row_state(id, alert["last_seen"].as_str().unwrap()),
            expected.clone(),
        )
        .await;
    }
}

async fn act_on_alerts(staff: Client, other: Client) {
    let data_dir = tempfile::tempdir().unwrap();
    let server = start_binary(data_dir.path()).await;
    let api = Admin::log_in(&server).await;
    let (status, body) = api
        .post(
            "/departments",
            json!({ "nombre": DEPARTMENT, "email": DEPARTMENT_EMAIL }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = api
        .post(
            "/admin/users",
            json!({ "email": STAFF_EMAIL, "password": STAFF_PASSWORD, "nombre": "Rosa Vidal", "rol": "staff" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    staff.goto(&server.base).await.unwrap();
    log_in(&staff, STAFF_EMAIL, STAFF_PASSWORD).await;
    other.goto(&server.base).await.unwrap();
    // So that the test can hold this page off the stream later: while `holdStream` is set,
    // the page's connections go to a port nobody listens on.
    let closed_port = crate::helpers::free_port();
    script(
        &other,
        &format!(
            "const Real = WebSocket; window.sockets = []; window.holdStream = false; \
             window.WebSocket = function (url, protocols) {{ \
               const socket = new Real(window.holdStream ? 'ws://127.0.0.1:{closed_port}/ws' : url, protocols); \
               window.sockets.push(socket); return socket; \
             }}; return null;"
        ),
    )
    .await;
    log_in(&other, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    // A reload would lose these, so seeing them at the end shows every change came live.
    for page in [&staff, &other] {
        script(page, "window.alertaSamePage = true; return null;").await;
    }

    // A new alert reaches both tables live, as text.
    let id = fire(&api).await;
    both_show(
        [&staff, &other],
        &api,
        &id,
        "the new alert, firing, seen once",
    )
    .await;
    assert_eq!(
        text_of(&staff, &format!("#alerts-body tr[data-id='{id}'] .message")).await,
        MESSAGE
    );
    assert_eq!(
        script(
            &staff,
            "return document.querySelectorAll('#alerts-body b').length;"
        )
        .await,
        json!(0),
        "the message is shown as text, not markup"
    );

    // Two more occurrences fold into it: the count and "last seen" follow live.
    assert_eq!(fire(&api).await, id, "the same group");
    assert_eq!(fire(&api).await, id, "the same group");
    both_show(
        [&staff, &other],
        &api,
        &id,
        "the count of three occurrences",
    )
    .await;

    // Staff type a note in the row and acknowledge it from the keyboard; the other browser
    // sees the status change.
    let label = script(
        &staff,
        &format!("const f = document.querySelector(\"{}\"); f.focus(); return f.getAttribute('aria-label');", row_note(&id)),
    )
    .await;
    assert_eq!(
        label,
        json!(format!("Nota para la alerta de {SOURCE} (opcional)"))
    );
    staff
        .active_element()
        .await
        .unwrap()
        .send_keys(&format!("{ROW_NOTE}\u{E004}"))
        .await
        .unwrap();
    let label = script(
        &staff,
        "return document.activeElement.getAttribute('aria-label');",
    )
    .await;
    assert_eq!(
        label,
        json!(format!("Reconocer la alerta de {SOURCE}")),
        "Tab leads from the note to the row's first button"
    );
    staff
        .active_element()
        .await
        .unwrap()
        .send_keys("\u{E007}")
        .await
        .unwrap();
    wait_for(
        &staff,
        "the acknowledgement to be confirmed",
        "document.getElementById('alerts-notice').textContent",
        json!(format!("Alerta de {SOURCE} reconocida.")),
    )
    .await;
    both_show([&staff, &other], &api, &id, "the alert acknowledged").await;
    assert_eq!(alert_now(&api, &id).await["status"], "acknowledged");
    let history = api_get(&api, &format!("/events/{id}/history")).await;
    assert_eq!(
        history["items"][0]["nota"], ROW_NOTE,
        "the row's note arrived: {history}"
    );
    wait_for(
        &staff,
        "the row's note field to be empty again",
        &format!("document.querySelector(\"{}\").value", row_note(&id)),
        json!(""),
    )
    .await;
    script(
        &staff,
        "document.getElementById('alerts-view').scrollIntoView(); return null;",
    )
    .await;
    screenshot(&staff, "screen-alerts.png").await;
    assert_no_sideways_scroll(&other, "the alerts table").await;
    click(&other, &row_button(&id, "details")).await;
    wait_for(
        &other,
        "the alert's page on the phone",
        "document.getElementById('alert-facts').textContent.includes('sha256:')",
        json!(true),
    )
    .await;
    assert_no_sideways_scroll(&other, "the alert's page").await;
    click(&other, "#alert-back").await;

    // The alert's page: its history and its occurrences.
    click(&staff, &row_button(&id, "details")).await;
    wait_for(
        &staff,
        "the alert's page with its history and occurrences",
        "[document.getElementById('alert-view').hidden, \
          document.getElementById('alert-view').dataset.status, \
          Array.from(document.querySelectorAll('#alert-history li'), (li) => li.dataset.to), \
          Array.from(document.querySelectorAll('#alert-occurrences li')) \
            .reduce((n, li) => n + Number(li.dataset.count), 0)]",
        json!([false, "acknowledged", ["acknowledged"], 3]),
    )
    .await;

    // Another occurrence arrives while the other browser is off the stream, and behind the
    // staff's open alert page.
    script(
        &other,
        "window.holdStream = true; window.sockets.forEach((socket) => socket.close()); return null;",
    )
    .await;
    wait_for_badge(&other, "the other browser to be off the stream", false).await;
    fire(&api).await;
    wait_for(
        &staff,
        "the notice that the alert changed",
        "!document.getElementById('alert-changed').hidden",
        json!(true),
    )
    .await;

    // The other browser's row still has the version before it: resolving from the row gets
    // the conflict, and the row is read again and says why.
    assert_eq!(
        script(
            &other,
            &format!(
                "return document.querySelector(\"#alerts-body tr[data-id='{id}']\").dataset.count;"
            ),
        )
        .await,
        json!("3"),
        "the held page has not seen the fourth occurrence"
    );
    type_into(&other, &row_note(&id), OTHER_NOTE).await;
    click(&other, &row_button(&id, "resolve")).await;
    wait_for(
        &other,
        "the conflict message over the table",
        "document.getElementById('alerts-notice').textContent",
        json!(STALE),
    )
    .await;
    both_show(
        [&staff, &other],
        &api,
        &id,
        "the row read again, four times, acknowledged",
    )
    .await;
    assert_eq!(
        script(
            &other,
            &format!(
                "return document.querySelector(\"{}\").value;",
                row_note(&id)
            )
        )
        .await,
        json!(OTHER_NOTE),
        "the row read again keeps the note, to be sent again"
    );
    script(&other, "window.holdStream = false; return null;").await;
    wait_for_badge(&other, "the other browser back on the stream", true).await;

    // Resolving from the open page with the version it read gets the conflict too, and the
    // page reloads the alert and says why.
    type_into(&staff, "#alert-nota", NOTE).await;
    click(&staff, "#alert-resolve").await;
    wait_for(
        &staff,
        "the conflict message",
        "document.getElementById('alert-notice').textContent",
        json!(STALE),
    )
    .await;
    let reloaded = script(
        &staff,
        "const view = document.getElementById('alert-view'); \
         return [view.dataset.status, view.dataset.count, document.getElementById('alert-nota').value];",
    )
    .await;
    assert_eq!(
        reloaded,
        json!(["acknowledged", "4", NOTE]),
        "nothing was saved, the page shows the fold, and the note is kept"
    );
    assert_eq!(alert_now(&api, &id).await["status"], "acknowledged");

    // Sent again, now current: resolved, with the note in the history.
    click(&staff, "#alert-resolve").await;
    wait_for(
        &staff,
        "the resolution with its note in the history",
        "Array.from(document.querySelectorAll('#alert-history li'), \
         (li) => [li.dataset.to, li.querySelector('span').textContent])",
        json!([
            ["acknowledged", format!("activa → reconocida ({ROW_NOTE})")],
            ["resolved", format!("reconocida → resuelta ({NOTE})")]
        ]),
    )
    .await;
    both_show([&staff, &other], &api, &id, "the alert resolved").await;
    let history = api_get(&api, &format!("/events/{id}/history")).await;
    assert_eq!(history["items"][1]["nota"], NOTE, "stored: {history}");
    screenshot(&staff, "screen-alert.png").await;

    // An incident opened from the row: both rows link to it.
    click(&staff, "#alert-back").await;
    click(&staff, &row_button(&id, "open-incident")).await;
    for page in [&staff, &other] {
        wait_for(
            page,
            "the row to link to the incident",
            &format!(
                "[!!document.querySelector(\"{}\"), !!document.querySelector(\"{}\")]",
                row_button(&id, "incident-link"),
                row_button(&id, "open-incident")
            ),
            json!([true, false]),
        )
        .await;
    }
    let incident_id = alert_now(&api, &id).await["incident_id"]
        .as_str()
        .expect("the alert names its incident")
        .to_owned();
    let incident = api_get(&api, &format!("/incidents/{incident_id}")).await;
    assert_eq!(incident["alert_id"], id.as_str(), "{incident}");

    // The link opens the incident's page, with its deliveries: none yet, then the assignment
    // mail to the department.
    click(&staff, &row_button(&id, "incident-link")).await;
    wait_for(
        &staff,
        "the incident's page, with no deliveries yet",
        "[document.getElementById('incident-view').hidden, \
          document.getElementById('incident-title').textContent, \
          document.getElementById('deliveries-empty').hidden]",
        json!([false, format!("{SOURCE}: {MESSAGE}"), false]),
    )
    .await;
    let (status, body) = api
        .post(
            &format!("/incidents/{incident_id}/department"),
            json!({ "departamento": DEPARTMENT }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    wait_for(
        &staff,
        "the notice that the incident changed",
        "!document.getElementById('incident-changed').hidden",
        json!(true),
    )
    .await;
    click(&staff, "#incident-reload").await;
    wait_for(
        &staff,
        "the assignment mail in the deliveries",
        "Array.from(document.querySelectorAll('#deliveries-body tr'), \
         (row) => [row.dataset.kind, row.cells[0].textContent, row.cells[1].textContent])",
        json!([["assignment", "asignación", DEPARTMENT_EMAIL]]),
    )
    .await;
    let deliveries = api_get(&api, &format!("/incidents/{incident_id}/deliveries")).await;
    assert_eq!(
        text_of(&staff, "#deliveries-body tr td:nth-child(3)").await,
        deliveries["mails"][0]["subject"].as_str().unwrap()
    );
    assert_eq!(
        script(
            &staff,
            "return document.querySelectorAll('#deliveries-reports li').length;"
        )
        .await,
        json!(1),
        "the department's report is listed"
    );
    script(
        &staff,
        "document.getElementById('deliveries').scrollIntoView(); return null;",
    )
    .await;
    screenshot(&staff, "screen-deliveries.png").await;

    for page in [&staff, &other] {
        assert_eq!(
            script(page, "return window.alertaSamePage === true;").await,
            json!(true),
            "the page was never reloaded"
        );
    }

    // The filters run on the server, and "next" follows the cursor.
    let mut disks = Vec::new();
    for n in 0..24 {
        let (status, body) = api
            .post(
                "/events",
                json!({ "source": "nas_1", "severity": "warning", "message": format!("Disco al {}%", 70 + n) }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        disks.push(body["id"].as_str().unwrap().to_owned());
    }
    disks.reverse();
    click(&staff, "#incident-back").await;
    // From here on every list the page reads must say which rows have an incident by itself.
    script(&staff, "performance.clearResourceTimings(); return null;").await;
    choose(&staff, "#alert-filter-status", "firing").await;
    choose(&staff, "#alert-filter-severity", "warning").await;
    click(&staff, "#alert-filter-apply").await;
    wait_for(
        &staff,
        "page 1 of the firing warnings",
        ALERT_ROWS,
        json!([&disks[..20], true, false]),
    )
    .await;
    click(&staff, "#alerts-next").await;
    wait_for(
        &staff,
        "page 2 of the firing warnings",
        ALERT_ROWS,
        json!([&disks[20..], false, true]),
    )
    .await;
    type_into(&staff, "#alert-filter-q", "DISCO AL 7").await;
    click(&staff, "#alert-filter-apply").await;
    wait_for(
        &staff,
        "the search among them",
        ALERT_ROWS,
        json!([&disks[14..], false, false]),
    )
    .await;
    choose(&staff, "#alert-filter-status", "resolved").await;
    choose(&staff, "#alert-filter-severity", "").await;
    type_into(&staff, "#alert-filter-q", "").await;
    type_into(&staff, "#alert-filter-source", SOURCE).await;
    click(&staff, "#alert-filter-apply").await;
    wait_for(
        &staff,
        "the resolved alert of its source",
        ALERT_ROWS,
        json!([[id], false, false]),
    )
    .await;
    choose(&staff, "#alert-filter-silenced", "true").await;
    click(&staff, "#alert-filter-apply").await;
    wait_for(
        &staff,
        "no silenced alert, said so",
        &format!("[{ALERT_ROWS}, document.getElementById('alerts-empty').hidden]"),
        json!([[[], false, false], false]),
    )
    .await;

    choose(&staff, "#alert-filter-silenced", "").await;
    click(&staff, "#alert-filter-apply").await;
    wait_for(
        &staff,
        "the resolved alert again",
        ALERT_ROWS,
        json!([[id], false, false]),
    )
    .await;

    // Logged in anew, the page knows no incident until the list names it.
    click(&staff, "#logout").await;
    log_in(&staff, STAFF_EMAIL, STAFF_PASSWORD).await;
    wait_for(
        &staff,
        "the resolved alert linked to its incident, from the list alone",
        &format!(
            "[{ALERT_ROWS}, !!document.querySelector(\"{}\")]",
            row_button(&id, "incident-link")
        ),
        json!([[[id], false, false], true]),
    )
    .await;
    assert_eq!(
        script(&staff, PER_ROW_READS).await,
        json!([]),
        "the lists were read without one request per row"
    );

    // In English, the table's words change and the filters stay.
    click(&staff, "#lang-en").await;
    wait_for(
        &staff,
        "the table in English",
        "[document.querySelector('#alerts th:nth-child(5)').textContent, \
          document.querySelector('#alerts-body .alert-status')?.textContent, \
          document.getElementById('alert-filter-status').value]",
        json!(["Count", "resolved", "resolved"]),
    )
    .await;
    click(&staff, "#lang-es").await;

    // A student is offered no alert action, and the server refuses one anyway.
    click(&other, "#logout").await;
    register(&api, "ana@campus.edu", "clave-ana-1", "Ana Torres").await;
    log_in(&other, "ana@campus.edu", "clave-ana-1").await;
    let offered = script(
        &other,
        "return [document.getElementById('staff-view').hidden, \
         document.querySelectorAll('#alerts-body tr').length, \
         Array.from(document.querySelectorAll('button')).filter((b) => b.offsetParent !== null \
           && /alert|incident-link|open-incident|ack|resolve/.test(b.id + ' ' + b.className)).length];",
    )
    .await;
    assert_eq!(offered, json!([true, 0, 0]));
    let student = reqwest::Client::new()
        .post(format!("{}/auth/login", server.base))
        .json(&json!({ "email": "ana@campus.edu", "password": "clave-ana-1" }))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let refused = reqwest::Client::new()
        .post(format!("{}/events/{id}/ack", server.base))
        .bearer_auth(student["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);
}
