// The admin's screens: accounts (search, role, disable and enable, new accounts) and the
// department catalog (new departments, contact addresses). Every value goes into the page
// as text (dom.js), never as HTML.

import { api, query } from "./api.js";
import { $, el, option, toast } from "./dom.js";
import { t } from "./i18n.js";

const ROLES = ["student", "staff", "admin"];
const PAGE = 20;
const users = { cursor: null, next: null };

function notice(id, text, kind = "info") {
  const box = $(id);
  box.textContent = text;
  box.className = "notice " + kind;
  box.hidden = !text;
}

/** A failed call, in the words of the page where the contract's code has them. */
function problem(error) {
  if (!error.status) return t("error.network");
  const known = { last_admin: "users.lastAdmin", duplicate: "admin.duplicate" }[error.code];
  return known ? t(known) : error.message;
}

function roleSelect(user) {
  const select = el("select");
  select.setAttribute("aria-label", t("users.roleOf", { nombre: user.nombre }));
  select.append(...ROLES.map((rol) => option(rol, t("rol." + rol))));
  select.value = user.rol;
  return select;
}

function userRow(user) {
  const row = el("tr");
  row.dataset.id = user.user_id;
  row.dataset.rol = user.rol;
  row.dataset.disabled = String(user.disabled);
  row.append(el("td", user.nombre), el("td", user.email));
  const roleCell = el("td", null, "inline");
  const select = roleSelect(user);
  const save = el("button", t("users.saveRole"), "save-role");
  save.type = "button";
  save.setAttribute("aria-label", t("users.saveRoleOf", { nombre: user.nombre }));
  save.addEventListener("click", () => changeRole(user, select.value));
  roleCell.append(select, save);
  row.appendChild(roleCell);
  row.appendChild(el("td", t(user.disabled ? "users.disabled" : "users.active"), "access"));
  const actionCell = el("td");
  const toggle = el("button", t(user.disabled ? "users.enable" : "users.disable"), "toggle");
  toggle.type = "button";
  toggle.setAttribute("aria-label", t(user.disabled ? "users.enableOf" : "users.disableOf", { nombre: user.nombre }));
  toggle.addEventListener("click", () => setDisabled(user, !user.disabled));
  actionCell.appendChild(toggle);
  row.appendChild(actionCell);
  return row;
}

/** Loads a page of accounts with the search and role chosen. */
export async function loadUsers(cursor = null) {
  users.cursor = cursor;
  const reply = await api("/admin/users" + query({ q: $("users-q").value.trim(), rol: $("users-rol").value, limit: PAGE, cursor }));
  $("users-body").replaceChildren(...reply.items.map(userRow));
  users.next = reply.next_cursor;
  $("users-next").disabled = !users.next;
  $("users-first").disabled = !cursor;
  $("users-empty").hidden = reply.items.length > 0;
}

async function changeRole(user, rol) {
  notice("users-notice", "");
  try {
    await api(`/admin/users/${encodeURIComponent(user.user_id)}/role`, { method: "POST", body: { rol } });
    notice("users-notice", t("users.roleChanged", { nombre: user.nombre, rol: t("rol." + rol) }));
  } catch (error) {
    notice("users-notice", problem(error), "error");
  }
  await loadUsers(users.cursor).catch((e) => toast(problem(e)));
}

async function setDisabled(user, disabled) {
  notice("users-notice", "");
  try {
    await api(`/admin/users/${encodeURIComponent(user.user_id)}/${disabled ? "disable" : "enable"}`, { method: "POST" });
    notice("users-notice", t(disabled ? "users.wasDisabled" : "users.wasEnabled", { nombre: user.nombre }));
  } catch (error) {
    notice("users-notice", problem(error), "error");
  }
  await loadUsers(users.cursor).catch((e) => toast(problem(e)));
}

async function createUser(event) {
  event.preventDefault();
  $("user-create-error").textContent = "";
  const body = {
    nombre: $("user-create-nombre").value, email: $("user-create-email").value,
    password: $("user-create-password").value, rol: $("user-create-rol").value,
  };
  try {
    const { user } = await api("/admin/users", { method: "POST", body });
    $("user-create-form").reset();
    notice("users-notice", t("users.created", { nombre: user.nombre }));
    await loadUsers(null);
  } catch (error) {
    $("user-create-error").textContent = problem(error);
  }
}

function departmentItem(department) {
  const item = el("li", null, "card");
  item.dataset.nombre = department.nombre;
  const form = el("form", null, "department-edit");
  const id = "department-email-" + encodeURIComponent(department.nombre).replace(/%/g, "_");
  const heading = el("h3", department.nombre);
  const label = el("label", t("departments.email"));
  label.htmlFor = id;
  const input = el("input");
  input.id = id;
  input.type = "email";
  input.required = true;
  input.value = department.email;
  const save = el("button", t("departments.save"));
  save.type = "submit";
  save.setAttribute("aria-label", t("departments.saveOf", { nombre: department.nombre }));
  form.append(label, input, save);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    notice("departments-notice", "");
    try {
      await api(`/departments/${encodeURIComponent(department.nombre)}`, { method: "PUT", body: { email: input.value } });
      notice("departments-notice", t("departments.saved", { nombre: department.nombre }));
    } catch (error) {
      notice("departments-notice", problem(error), "error");
    }
  });
  item.append(heading, form);
  return item;
}

/** Reads the catalog and lists it with a form per department. */
export async function loadDepartmentsAdmin() {
  const { items } = await api("/departments");
  $("departments-list").replaceChildren(...items.map(departmentItem));
  $("departments-empty").hidden = items.length > 0;
}

async function createDepartment(event) {
  event.preventDefault();
  $("department-create-error").textContent = "";
  const body = { nombre: $("department-create-nombre").value.trim(), email: $("department-create-email").value };
  try {
    const department = await api("/departments", { method: "POST", body });
    $("department-create-form").reset();
    notice("departments-notice", t("departments.created", { nombre: department.nombre }));
    await loadDepartmentsAdmin();
  } catch (error) {
    $("department-create-error").textContent = problem(error);
  }
}

function fillRoles() {
  const filter = $("users-rol");
  const chosen = filter.value;
  filter.replaceChildren(option("", t("board.any")), ...ROLES.map((rol) => option(rol, t("rol." + rol))));
  filter.value = chosen;
  const create = $("user-create-rol");
  const picked = create.value || "staff";
  create.replaceChildren(...ROLES.map((rol) => option(rol, t("rol." + rol))));
  create.value = picked;
}

/** Shows the admin's screens, read afresh. */
export async function loadAdmin() {
  await Promise.all([loadUsers(users.cursor), loadDepartmentsAdmin()]);
}

/** After a language switch. */
export function redrawAdmin() {
  fillRoles();
  if (!$("admin-view").hidden) loadAdmin().catch(() => {});
}

export function setUpAdmin() {
  fillRoles();
  $("users-filters").addEventListener("submit", (event) => { event.preventDefault(); loadUsers(null).catch((e) => toast(problem(e))); });
  $("users-next").addEventListener("click", () => loadUsers(users.next).catch((e) => toast(problem(e))));
  $("users-first").addEventListener("click", () => loadUsers(null).catch((e) => toast(problem(e))));
  $("user-create-form").addEventListener("submit", createUser);
  $("department-create-form").addEventListener("submit", createDepartment);
}
