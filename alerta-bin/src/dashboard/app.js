// The entry point: logging in or registering, then the screens of the user's role, and one
// stream for all of them.

import { api, session } from "./api.js";
import { $, toast } from "./dom.js";
import { onLanguageChange, setLanguage, t, translate } from "./i18n.js";
import { olderStreamId, startStream, stopStream } from "./stream.js";
import { loadStudent, redrawStudent, setUpStudent, studentMessage } from "./student.js";
import {
  clearStaff, loadAlerts, loadBoard, loadDepartments, redrawStaff, reloadStaff, setUpStaff, staffMessage,
} from "./staff.js";
import { loadAdmin, redrawAdmin, setUpAdmin } from "./admin.js";
import { setUpAccount } from "./account.js";

const managesIncidents = (user) => user.rol === "staff" || user.rol === "admin";

/** Whether the server has an admin: the login screen says how to make the first one if not. */
async function checkSetup() {
  try {
    const { admin_exists: exists } = await api("/setup");
    $("first-run-admin").hidden = exists;
    $("first-run-none").hidden = exists;
  } catch (_) { /* the advice stays shown */ }
}

function showLogin() {
  session.token = null;
  session.user = null;
  for (const id of ["student-view", "staff-view", "admin-view", "account-view", "views", "logout"]) $(id).hidden = true;
  $("login-view").hidden = false;
  $("login-form").hidden = false;
  $("register-form").hidden = true;
  $("who").textContent = "";
  clearStaff();
  checkSetup();
}

/** Shows one section: the role's main screen, the admin's screens, or the account page. */
function showView(view) {
  const staff = managesIncidents(session.user);
  $("staff-view").hidden = !(view === "main" && staff);
  $("student-view").hidden = !(view === "main" && !staff);
  $("admin-view").hidden = view !== "admin";
  $("account-view").hidden = view !== "account";
  for (const button of document.querySelectorAll("#views button")) {
    if (button.dataset.view === view) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  if (view === "admin") loadAdmin().catch((error) => toast(error.message));
}

function showForm(which) {
  $("login-form").hidden = which !== "login";
  $("register-form").hidden = which !== "register";
  $(which === "login" ? "login-email" : "register-nombre").focus();
}

async function loadForRole() {
  if (managesIncidents(session.user)) {
    await loadDepartments();
    const [board, alerts] = await Promise.all([loadBoard(null), loadAlerts()]);
    return olderStreamId(board, alerts);
  }
  return loadStudent();
}

async function start() {
  try {
    session.user = (await api("/auth/me")).user;
  } catch (_) {
    return showLogin();
  }
  const staff = managesIncidents(session.user);
  $("who").textContent = `${session.user.nombre} (${session.user.rol})`;
  $("login-view").hidden = true;
  $("logout").hidden = false;
  $("views").hidden = false;
  $("nav-admin").hidden = session.user.rol !== "admin";
  showView("main");
  const since = await loadForRole();
  startStream(since, {
    onMessage: staff ? staffMessage : studentMessage,
    onReset: () => {
      if (!$("admin-view").hidden) loadAdmin().catch(() => { /* the next reset retries */ });
      return (staff ? reloadStaff() : loadStudent()).catch(() => { /* the next reset retries */ });
    },
    onSessionEnded: showLogin,
  });
}

async function logIn(email, password) {
  const login = await api("/auth/login", { method: "POST", body: { email, password } });
  session.token = login.token;
  await start();
}

// A module runs once the page is parsed; it may run after DOMContentLoaded, since it waits
// for the string tables, so it sets the page up at once rather than on that event.
setUp();

function setUp() {
  translate(document);
  setUpStudent();
  setUpStaff();
  setUpAdmin();
  setUpAccount();
  onLanguageChange(() => { redrawStudent(); redrawStaff(); redrawAdmin(); });
  for (const button of document.querySelectorAll("#views button")) {
    button.addEventListener("click", () => showView(button.dataset.view));
  }
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.addEventListener("click", () => setLanguage(button.dataset.lang));
  }
  $("to-register").addEventListener("click", () => showForm("register"));
  $("to-login").addEventListener("click", () => showForm("login"));
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("login-error").textContent = "";
    try {
      await logIn($("login-email").value, $("login-password").value);
    } catch (error) {
      const disabled = error.status === 403;
      $("login-error").textContent = disabled ? t("login.disabled") : error.status ? error.message : t("error.network");
    }
  });
  $("register-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("register-error").textContent = "";
    const email = $("register-email").value;
    const password = $("register-password").value;
    try {
      await api("/auth/register", { method: "POST", body: { email, password, nombre: $("register-nombre").value } });
      await logIn(email, password);
    } catch (error) {
      $("register-error").textContent = error.status ? error.message : t("error.network");
    }
  });
  $("logout").addEventListener("click", async () => {
    try { await api("/auth/logout", { method: "POST" }); } catch (_) { /* gone either way */ }
    stopStream();
    showLogin();
  });
  if (session.token) start(); else showLogin();
}
