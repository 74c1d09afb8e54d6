// The entry point: logging in or registering, then the screens of the user's role, and one
// stream for all of them.

import { api, session } from "./api.js";
import { $ } from "./dom.js";
import { onLanguageChange, setLanguage, t, translate } from "./i18n.js";
import { olderStreamId, startStream, stopStream } from "./stream.js";
import { loadStudent, redrawStudent, setUpStudent, studentMessage } from "./student.js";
import {
  loadAlerts, loadBoard, loadDepartments, redrawStaff, reloadStaff, setUpStaff, staffMessage,
} from "./staff.js";

const managesIncidents = (user) => user.rol === "staff" || user.rol === "admin";

function showLogin() {
  session.token = null;
  session.user = null;
  for (const id of ["student-view", "staff-view", "logout"]) $(id).hidden = true;
  $("login-view").hidden = false;
  $("login-form").hidden = false;
  $("register-form").hidden = true;
  $("who").textContent = "";
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
  $("staff-view").hidden = !staff;
  $("student-view").hidden = staff;
  const since = await loadForRole();
  startStream(since, {
    onMessage: staff ? staffMessage : studentMessage,
    onReset: () => (staff ? reloadStaff() : loadStudent()).catch(() => { /* the next reset retries */ }),
    onSessionEnded: showLogin,
  });
}

async function logIn(email, password) {
  const login = await api("/auth/login", { method: "POST", body: { email, password } });
  session.token = login.token;
  await start();
}

document.addEventListener("DOMContentLoaded", () => {
  translate(document);
  setUpStudent();
  setUpStaff();
  onLanguageChange(() => { redrawStudent(); redrawStaff(); });
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
      $("login-error").textContent = error.status ? error.message : t("error.network");
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
});
