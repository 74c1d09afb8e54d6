// "My account", for every role: changing one's own password. The other sessions of the
// account end; this one stays.

import { api } from "./api.js";
import { $ } from "./dom.js";
import { t } from "./i18n.js";

function problem(error) {
  if (!error.status) return t("error.network");
  if (error.code === "invalid_current_password") return t("account.wrongCurrent");
  if (error.code === "rate_limited") return t("account.locked");
  return error.message;
}

async function changePassword(event) {
  event.preventDefault();
  $("password-error").textContent = "";
  $("password-status").textContent = "";
  const current = $("password-current").value;
  const next = $("password-new").value;
  if (next !== $("password-repeat").value) {
    $("password-error").textContent = t("account.mismatch");
    $("password-repeat").focus();
    return;
  }
  try {
    await api("/auth/password", { method: "POST", body: { current_password: current, new_password: next } });
    $("password-form").reset();
    $("password-status").textContent = t("account.changed");
  } catch (error) {
    $("password-error").textContent = problem(error);
  }
}

export function setUpAccount() {
  $("password-form").addEventListener("submit", changePassword);
}
