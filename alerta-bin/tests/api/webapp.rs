//! The web app in headless Chromium, two browsers at once against a real `alerta serve`: a
//! student on a phone-sized screen registers and reports with a photo, an admin triages it
//! live on the board, and each sees the other's changes as they happen; a stale version gets
//! the conflict message; the language switch relabels the page; nothing scrolls sideways at
//! 375 pixels.
//!
//! With `ALERTA_SCREENSHOT_DIR` set, the test also saves the main screens there as PNG files
//! (the README's pictures come from `ALERTA_SCREENSHOT_DIR=$PWD/docs/screenshots cargo test
//! -p alerta-bin --all-features --test api webapp::`).

use fantoccini::{Client, Locator};
use serde_json::{Value, json};

use crate::dashboard::{DEADLINE, Driver, eventually, script, wait_for_badge};
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, BinaryServer, start_binary};

const PHOTO: &[u8] = include_bytes!("fixtures/grieta.png");
const STUDENT_EMAIL: &str = "ana.torres@campus.edu";
const STUDENT_PASSWORD: &str = "clave-segura-1";
const DESCRIPTION: &str = "Grieta en la pared del aula 204 <b>urgente</b>";
const COMMENT: &str = "Nota interna: el contratista llega el lunes";
const DEPARTMENT: &str = "Mantenimiento";

/// Waits until `expression` (JavaScript) evaluates to `expected` in the page.
pub(crate) async fn wait_for(page: &Client, what: &str, expression: &str, expected: Value) {
    let source = format!("return {expression};");
    eventually(what, || async {
        let value = script(page, &source).await;
        if value == expected {
            Ok(())
        } else {
            Err(format!("{expression} is {value}"))
        }
    })
    .await;
}

pub(crate) async fn text_of(page: &Client, css: &str) -> String {
    let element = page
        .wait()
        .at_most(DEADLINE)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    element.text().await.unwrap()
}

pub(crate) async fn type_into(page: &Client, css: &str, text: &str) {
    let element = page
        .wait()
        .at_most(DEADLINE)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    element.clear().await.unwrap();
    element.send_keys(text).await.unwrap();
}

pub(crate) async fn click(page: &Client, css: &str) {
    page.wait()
        .at_most(DEADLINE)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
}

pub(crate) async fn choose(page: &Client, css: &str, value: &str) {
    page.find(Locator::Css(css))
        .await
        .unwrap()
        .select_by_value(value)
        .await
        .unwrap_or_else(|e| panic!("choosing {value} in {css}: {e}"));
}

pub(crate) async fn log_in(page: &Client, email: &str, password: &str) {
    wait_for(
        page,
        "the login form",
        "!document.getElementById('login-view').hidden && !document.getElementById('login-form').hidden",
        json!(true),
    )
    .await;
    type_into(page, "#login-email", email).await;
    type_into(page, "#login-password", password).await;
    click(page, "#login-submit").await;
    wait_for_badge(page, "the stream to connect after logging in", true).await;
}

/// The page is no wider than the window: nothing to scroll sideways.
pub(crate) async fn assert_no_sideways_scroll(page: &Client, screen: &str) {
    let widths = script(
        page,
        "return [window.innerWidth, document.documentElement.scrollWidth];",
    )
    .await;
    let (inner, scroll) = (widths[0].as_i64().unwrap(), widths[1].as_i64().unwrap());
    assert_eq!(inner, 375, "the phone's window is 375 pixels wide");
    assert!(
        scroll <= inner,
        "{screen}: the page is {scroll} pixels wide in a {inner}-pixel window"
    );
}

pub(crate) async fn screenshot(page: &Client, name: &str) {
    if let Ok(dir) = std::env::var("ALERTA_SCREENSHOT_DIR") {
        let png = page.screenshot().await.unwrap();
        std::fs::write(std::path::Path::new(&dir).join(name), png).unwrap();
    }
}

/// The API as a script would use it, to set the scene and to change things behind a page.
pub(crate) struct Admin {
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
    pub(crate) token: String,
}

impl Admin {
    pub(crate) async fn log_in(server: &BinaryServer) -> Self {
        let http = reqwest::Client::new();
        let login: Value = http
            .post(format!("{}/auth/login", server.base))
            .json(&json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Self {
            http,
            base: server.base.clone(),
            token: login["token"].as_str().unwrap().to_owned(),
        }
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let reply = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = reply.status().as_u16();
        (status, reply.json().await.unwrap_or(Value::Null))
    }
}

/// Today's date (UTC) as the server sees it, from the `Date` header of a reply.
pub(crate) async fn today(admin: &Admin) -> String {
    let reply = admin
        .http
        .get(format!("{}/staff/stats/daily", admin.base))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 200);
    let body: Value = reply.json().await.unwrap();
    let days = body["dias"].as_array().unwrap();
    assert_eq!(days.len(), 30, "thirty days: {body}");
    days[29]["fecha"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_student_reports_with_a_photo_and_staff_triage_it_live() {
    let phone = Driver::start_phone();
    let desk = Driver::start();
    let student = phone.session().await;
    let staff = desk.session().await;
    // The steps run on a task of their own so that a failed assertion still ends both
    // browser sessions below instead of leaving Chromium behind.
    let steps = tokio::spawn(report_and_triage(student.clone(), staff.clone()));
    let outcome = steps.await;
    let _ = student.close().await;
    let _ = staff.close().await;
    drop((phone, desk));
    if let Err(failure) = outcome {
        std::panic::resume_unwind(failure.into_panic());
    }
}

async fn report_and_triage(student: Client, staff: Client) {
    let data_dir = tempfile::tempdir().unwrap();
    let photo = data_dir.path().join("grieta.png");
    std::fs::write(&photo, PHOTO).unwrap();
    let server = start_binary(data_dir.path()).await;
    let admin = Admin::log_in(&server).await;
    let (status, _) = admin
        .post(
            "/departments",
            json!({ "nombre": DEPARTMENT, "email": "mantenimiento@campus.edu" }),
        )
        .await;
    assert_eq!(status, 201, "the department is created");

    // The first screen, in Spanish, then in English, then back.
    student.goto(&server.base).await.unwrap();
    assert_eq!(text_of(&student, "#login-submit").await, "Entrar");
    assert_eq!(text_of(&student, "label[for=login-email]").await, "Correo");
    assert!(text_of(&student, "#first-run").await.contains("Regístrate"));
    wait_for(
        &student,
        "the first-admin advice to hide once an admin exists",
        "document.getElementById('first-run-admin').hidden",
        json!(true),
    )
    .await;
    assert_no_sideways_scroll(&student, "the login screen").await;
    screenshot(&student, "screen-login.png").await;
    click(&student, "#lang-en").await;
    assert_eq!(text_of(&student, "#login-submit").await, "Log in");
    assert_eq!(text_of(&student, "label[for=login-email]").await, "Email");
    assert_eq!(
        text_of(&student, "#to-register").await,
        "No account? Register"
    );
    click(&student, "#lang-es").await;
    assert_eq!(text_of(&student, "#login-submit").await, "Entrar");

    staff.goto(&server.base).await.unwrap();
    log_in(&staff, ADMIN_EMAIL, ADMIN_PASSWORD).await;

    // A new student registers from the page and is logged in at once.
    click(&student, "#to-register").await;
    type_into(&student, "#register-nombre", "Ana Torres").await;
    type_into(&student, "#register-email", STUDENT_EMAIL).await;
    type_into(&student, "#register-password", STUDENT_PASSWORD).await;
    click(&student, "#register-submit").await;
    wait_for_badge(&student, "the student's stream to connect", true).await;
    assert_eq!(text_of(&student, "#who").await, "Ana Torres (student)");

    // A report: checked in a preview, then sent with a photo.
    choose(&student, "#report-tipo", "infraestructura").await;
    type_into(&student, "#report-descripcion", DESCRIPTION).await;
    type_into(&student, "#report-ubicacion", "Aula 204").await;
    choose(&student, "#report-urgencia", "alta").await;
    student
        .find(Locator::Css("#report-photo"))
        .await
        .unwrap()
        .send_keys(photo.to_str().unwrap())
        .await
        .unwrap();
    assert_no_sideways_scroll(&student, "the report form").await;
    click(&student, "#report-preview").await;
    wait_for(
        &student,
        "the preview to show",
        "!document.getElementById('report-preview-box').hidden",
        json!(true),
    )
    .await;
    assert_no_sideways_scroll(&student, "the preview").await;
    let preview = text_of(&student, "#report-preview-fields").await;
    assert!(
        preview.contains(DESCRIPTION) && preview.contains("grieta.png") && preview.contains("alta"),
        "the preview shows what will be sent: {preview}"
    );
    click(&student, "#report-send").await;
    wait_for(
        &student,
        "the report and its photo to be sent",
        "['report-status', 'report-error'].map((id) => document.getElementById(id).textContent)",
        json!(["Incidente enviado. Te avisaremos de cada cambio.", ""]),
    )
    .await;
    wait_for(
        &student,
        "the incident in \"my incidents\", pending",
        "Array.from(document.querySelectorAll('#mine-list > li'), (li) => \
         [li.querySelector('h3').textContent, li.dataset.estado])",
        json!([[DESCRIPTION, "pendiente"]]),
    )
    .await;

    // It reaches the staff board live, as text.
    wait_for(
        &staff,
        "the new incident on the staff board",
        "Array.from(document.querySelectorAll('#board-body tr'), (row) => row.cells[5].textContent)",
        json!([DESCRIPTION]),
    )
    .await;
    assert_eq!(
        script(
            &staff,
            "return document.querySelectorAll('#board-body b').length;"
        )
        .await,
        json!(0),
        "the description is shown as text, not markup"
    );
    wait_for(
        &staff,
        "the chart to count it, pending, on today's bar of thirty",
        "[document.querySelectorAll('#chart svg g').length, \
          Array.from(document.querySelectorAll('#chart svg g')).at(-1)?.dataset.fecha, \
          Array.from(document.querySelectorAll('#chart svg g')).at(-1)?.querySelector('rect')?.dataset.estado, \
          Array.from(document.querySelectorAll('#chart svg g')).at(-1)?.querySelector('rect')?.dataset.count]",
        json!([30, today(&admin).await, "pendiente", "1"]),
    )
    .await;
    script(
        &staff,
        "document.querySelector('#chart-view h2').scrollIntoView(); return null;",
    )
    .await;
    screenshot(&staff, "screen-board.png").await;

    // Staff open it: the photo is there, shown as an image.
    click(&staff, "#board-body tr button.open").await;
    wait_for(
        &staff,
        "the photo to be shown on the incident page",
        "Array.from(document.querySelectorAll('#attachments-list img'), \
         (img) => [img.alt, img.complete && img.naturalWidth])",
        json!([["grieta.png", 240]]),
    )
    .await;

    // Staff move it on and comment; an admin assigns it.
    choose(&staff, "#status-estado", "en_proceso").await;
    type_into(&staff, "#status-nota", "Revisando").await;
    click(&staff, "#status-submit").await;
    wait_for(
        &staff,
        "the incident page to show the new status",
        "document.getElementById('incident-view').dataset.estado",
        json!("en_proceso"),
    )
    .await;
    type_into(&staff, "#comment-texto", COMMENT).await;
    click(&staff, "#comment-submit").await;
    wait_for(
        &staff,
        "the comment in the history",
        "Array.from(document.querySelectorAll('#history-list li'), (li) => li.dataset.tipo)",
        json!(["creado", "adjunto", "cambio_estado", "comentario"]),
    )
    .await;
    choose(&staff, "#assign-departamento", DEPARTMENT).await;
    click(&staff, "#assign-submit").await;
    wait_for(
        &staff,
        "the assignment in the history",
        "document.querySelector('#history-list li:last-child').dataset.tipo",
        json!("asignacion"),
    )
    .await;
    screenshot(&staff, "screen-incident.png").await;

    // The student sees each public change live, in order, and never the comment: the
    // assignment came after it, so had the comment been sent it would be there by now.
    let timeline = "Array.from(document.querySelectorAll('#mine-list .timeline li span'), \
                    (line) => line.textContent)";
    let expected = json!([
        "Reportado",
        "Adjunto: grieta.png",
        "Estado: pendiente → en proceso (Revisando)",
        format!("Asignado a {DEPARTMENT}"),
    ]);
    wait_for(
        &student,
        "the status change and the assignment in the student's timeline",
        timeline,
        expected.clone(),
    )
    .await;
    assert_eq!(
        script(
            &student,
            "return document.querySelector('#mine-list > li').dataset.estado;"
        )
        .await,
        json!("en_proceso")
    );
    let everything = script(&student, "return document.body.textContent;").await;
    assert!(
        !everything.as_str().unwrap().contains(COMMENT),
        "the student never sees a staff comment"
    );
    screenshot(&student, "screen-student.png").await;
    // A reload reads the same timeline from the reporter's part of the history.
    student.refresh().await.expect("reload the student's page");
    wait_for(
        &student,
        "the same timeline after a reload",
        timeline,
        expected,
    )
    .await;
    let everything = script(&student, "return document.body.textContent;").await;
    assert!(
        !everything.as_str().unwrap().contains(COMMENT),
        "nor after a reload"
    );

    // Someone else changes the incident behind the open page: saving from the page with the
    // version it read gets the conflict, and the page reloads and says why.
    let id = script(
        &staff,
        "return document.querySelector('#board-body tr').dataset.id;",
    )
    .await;
    let id = id.as_str().unwrap();
    let read_version = script(
        &staff,
        "return Number(document.getElementById('incident-view').dataset.version);",
    )
    .await;
    let (status, changed) = admin
        .post(
            &format!("/incidents/{id}/comments"),
            json!({ "texto": "otra persona comenta" }),
        )
        .await;
    assert_eq!(status, 201, "{changed}");
    choose(&staff, "#status-estado", "resuelto").await;
    click(&staff, "#status-submit").await;
    wait_for(
        &staff,
        "the conflict message",
        "document.getElementById('incident-notice').textContent",
        json!(
            "Otra persona cambió este incidente mientras lo mirabas. Se ha recargado: revisa su \
             estado y vuelve a intentarlo."
        ),
    )
    .await;
    let reloaded = script(
        &staff,
        "return [document.getElementById('incident-view').dataset.estado, \
         Number(document.getElementById('incident-view').dataset.version), \
         document.querySelector('#history-list li:last-child').textContent.includes('otra persona comenta')];",
    )
    .await;
    assert_eq!(reloaded[0], json!("en_proceso"), "nothing was saved");
    assert!(
        reloaded[1].as_i64() > read_version.as_i64() && reloaded[2] == json!(true),
        "the page reloaded the incident: {reloaded} after version {read_version}"
    );

    // Saving again, now current, resolves it, and the student is told.
    choose(&staff, "#status-estado", "resuelto").await;
    click(&staff, "#status-submit").await;
    wait_for(
        &student,
        "the student to see the incident resolved",
        "document.querySelector('#mine-list > li').dataset.estado",
        json!("resuelto"),
    )
    .await;
    let resolved = format!("Tu incidente «{DESCRIPTION}» está resuelto.");
    wait_for(
        &student,
        "the student to be told it is resolved, on the card and in a notice",
        "[document.querySelector('#mine-list .resolved').textContent, \
          Array.from(document.querySelectorAll('.toast'), (t) => t.textContent)]",
        json!([resolved, [resolved]]),
    )
    .await;

    wait_for(
        &staff,
        "the chart to count it as resolved",
        "Array.from(document.querySelectorAll('#chart svg g')).at(-1)?.querySelectorAll('rect').length + ' ' + \
         Array.from(document.querySelectorAll('#chart svg g')).at(-1)?.querySelector('rect')?.dataset.estado",
        json!("1 resuelto"),
    )
    .await;

    // The chart's route is for staff: a student and an anonymous caller are refused.
    let http = reqwest::Client::new();
    let daily = format!("{}/staff/stats/daily", server.base);
    let login: Value = http
        .post(format!("{}/auth/login", server.base))
        .json(&json!({ "email": STUDENT_EMAIL, "password": STUDENT_PASSWORD }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let as_student = http
        .get(&daily)
        .bearer_auth(login["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(as_student.status().as_u16(), 403);
    let anonymous = http.get(&daily).send().await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    let body: Value = anonymous.json().await.unwrap();
    assert!(body["error"]["code"].is_string(), "the error shape: {body}");

    // Staff work from a phone too: the board does not scroll sideways.
    click(&student, "#logout").await;
    log_in(&student, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    wait_for(
        &student,
        "the board on the phone",
        "document.querySelectorAll('#board-body tr').length",
        json!(1),
    )
    .await;
    assert_no_sideways_scroll(&student, "the staff board").await;
}

/// On a first run with no admin, the start-up log says how to make one, and `GET /setup` tells
/// the login page that none exists.
#[tokio::test]
async fn a_first_run_without_an_admin_says_how_to_create_one() {
    use tokio::io::{AsyncBufReadExt, BufReader};

    let data_dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(crate::helpers::binary())
        .args([
            "serve",
            "--http-addr",
            "127.0.0.1:0",
            "--tcp-addr",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(data_dir.path())
        .env_remove("ALERTA_ADMIN_EMAIL")
        .env_remove("ALERTA_ADMIN_PASSWORD")
        .env("ALERTA_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut hint = None;
    let serving = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains("alerta user add --role admin") {
                hint = Some(line.clone());
            }
            if line.contains("alerta is serving") {
                return line;
            }
        }
        panic!("alerta exited before it said it was serving");
    })
    .await
    .expect("alerta did not start within a minute");
    let hint = hint.expect("the start-up log names the command that creates the first admin");
    assert!(hint.contains("ALERTA_ADMIN_EMAIL") && hint.contains("ALERTA_ADMIN_PASSWORD"));
    let addr = serving
        .split("http_addr=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the address it serves on");
    let setup: Value = reqwest::get(format!("http://{addr}/setup"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(setup, json!({"admin_exists": false}));
}

/// An admin's pages: a role change and a new department with its contact address edited, a
/// disabled account's login refused, a password changed from "my account", and the admin
/// pages on a 375-pixel phone.
#[tokio::test]
async fn an_admin_manages_accounts_and_departments_from_the_pages() {
    let phone = Driver::start_phone();
    let desk = Driver::start();
    let user = phone.session().await;
    let admin = desk.session().await;
    let steps = tokio::spawn(manage_accounts(user.clone(), admin.clone()));
    let outcome = steps.await;
    let _ = user.close().await;
    let _ = admin.close().await;
    drop((phone, desk));
    if let Err(failure) = outcome {
        std::panic::resume_unwind(failure.into_panic());
    }
}

pub(crate) async fn register(api: &Admin, email: &str, password: &str, name: &str) -> String {
    let (status, body) = api
        .post(
            "/auth/register",
            json!({ "email": email, "password": password, "nombre": name }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["user"]["user_id"].as_str().unwrap().to_owned()
}

pub(crate) async fn api_get(api: &Admin, path: &str) -> Value {
    api.http
        .get(format!("{}{path}", api.base))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn api_login(api: &Admin, email: &str, password: &str) -> u16 {
    api.http
        .post(format!("{}/auth/login", api.base))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn manage_accounts(user: Client, admin: Client) {
    const DEPT: &str = "Biblioteca Central";
    let data_dir = tempfile::tempdir().unwrap();
    let server = start_binary(data_dir.path()).await;
    let api = Admin::log_in(&server).await;
    let ana = register(
        &api,
        "ana.rios@campus.edu",
        "clave-ana-1",
        "Ana <i>Ríos</i>",
    )
    .await;
    let luis = register(&api, "luis@campus.edu", "clave-luis-1", "Luis Gil").await;
    register(&api, "marta@campus.edu", "clave-marta-1", "Marta Sanz").await;

    admin.goto(&server.base).await.unwrap();
    log_in(&admin, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    click(&admin, "#nav-admin").await;
    wait_for(
        &admin,
        "the accounts list",
        "document.querySelectorAll('#users-body tr').length",
        json!(4),
    )
    .await;
    // The name is shown as text, never as markup.
    let row = format!("#users-body tr[data-id='{ana}']");
    assert_eq!(
        text_of(&admin, &format!("{row} td")).await,
        "Ana <i>Ríos</i>"
    );
    assert_eq!(
        script(
            &admin,
            "return document.querySelectorAll('#users-body i').length;"
        )
        .await,
        json!(0)
    );
    type_into(&admin, "#users-q", "RÍOS").await;
    click(&admin, "#users-apply").await;
    wait_for(
        &admin,
        "the search to leave Ana alone",
        "document.querySelectorAll('#users-body tr').length",
        json!(1),
    )
    .await;
    choose(&admin, &format!("{row} select"), "staff").await;
    click(&admin, &format!("{row} .save-role")).await;
    wait_for(
        &admin,
        "Ana's row to show her new role",
        &format!("document.querySelector(\"{row}\").dataset.rol"),
        json!("staff"),
    )
    .await;
    let listed = api_get(&api, "/admin/users?q=ana.rios").await;
    assert_eq!(listed["items"][0]["rol"], "staff", "stored: {listed}");

    // A new department, then its contact address edited.
    type_into(&admin, "#department-create-nombre", DEPT).await;
    type_into(&admin, "#department-create-email", "biblioteca@campus.edu").await;
    click(&admin, "#department-create-submit").await;
    let item = "#departments-list li:first-child";
    wait_for(
        &admin,
        "the new department in the list",
        &format!("document.querySelector('{item} h3')?.textContent"),
        json!(DEPT),
    )
    .await;
    type_into(&admin, &format!("{item} input"), "libros@campus.edu").await;
    click(&admin, &format!("{item} button")).await;
    wait_for(
        &admin,
        "the saved notice",
        "!document.getElementById('departments-notice').hidden",
        json!(true),
    )
    .await;
    let departments = api_get(&api, "/departments").await;
    assert_eq!(
        departments["items"],
        json!([{ "nombre": DEPT, "email": "libros@campus.edu" }])
    );

    // Luis is disabled; his login says so.
    type_into(&admin, "#users-q", "luis").await;
    click(&admin, "#users-apply").await;
    let luis_row = format!("#users-body tr[data-id='{luis}']");
    click(&admin, &format!("{luis_row} .toggle")).await;
    wait_for(
        &admin,
        "Luis's row to show him disabled",
        &format!("document.querySelector(\"{luis_row}\")?.dataset.disabled"),
        json!("true"),
    )
    .await;
    user.goto(&server.base).await.unwrap();
    wait_for(
        &user,
        "the login form",
        "!document.getElementById('login-form').hidden",
        json!(true),
    )
    .await;
    type_into(&user, "#login-email", "luis@campus.edu").await;
    type_into(&user, "#login-password", "clave-luis-1").await;
    click(&user, "#login-submit").await;
    wait_for(
        &user,
        "the disabled account's message",
        "document.getElementById('login-error').textContent",
        json!("Esta cuenta está desactivada. Pide a la administración que la active."),
    )
    .await;

    // Marta changes her password from "my account".
    log_in(&user, "marta@campus.edu", "clave-marta-1").await;
    click(&user, "#nav-account").await;
    type_into(&user, "#password-current", "clave-marta-1").await;
    type_into(&user, "#password-new", "clave-nueva-2").await;
    type_into(&user, "#password-repeat", "clave-nueva-2").await;
    assert_no_sideways_scroll(&user, "the account page").await;
    click(&user, "#password-submit").await;
    wait_for(
        &user,
        "the password to be changed",
        "document.getElementById('password-status').textContent",
        json!("Contraseña cambiada. Tus otras sesiones se han cerrado."),
    )
    .await;
    assert_eq!(
        api_login(&api, "marta@campus.edu", "clave-marta-1").await,
        401
    );
    assert_eq!(
        api_login(&api, "marta@campus.edu", "clave-nueva-2").await,
        200
    );

    // The admin pages on the phone.
    click(&user, "#logout").await;
    log_in(&user, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    click(&user, "#nav-admin").await;
    wait_for(
        &user,
        "the accounts list on the phone",
        "document.querySelectorAll('#users-body tr').length",
        json!(4),
    )
    .await;
    assert_no_sideways_scroll(&user, "the admin pages").await;
    screenshot(&user, "screen-admin-phone.png").await;
    screenshot(&admin, "screen-admin.png").await;
}
