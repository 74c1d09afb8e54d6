// Every string the page shows lives in one table per language, `i18n/<language>.json`, loaded
// before any view draws. Spanish is the default; the choice is remembered in localStorage.
// Elements carry `data-i18n` (text), `data-i18n-placeholder` or `data-i18n-label`
// (aria-label) with a key of these tables.

const LANGUAGES = ["es", "en"];

/** One language's table; an empty one if it cannot be read, so that the page still works
 * and shows each string's key instead. */
async function table(language) {
  try {
    const reply = await fetch(`/ui/i18n/${language}.json`);
    if (reply.ok) return await reply.json();
    console.warn(`the ${language} strings did not load (${reply.status})`);
  } catch (error) {
    console.warn(`the ${language} strings did not load`, error);
  }
  return {};
}

const strings = Object.fromEntries(
  await Promise.all(LANGUAGES.map(async (language) => [language, await table(language)])),
);

let language = strings[localStorage.getItem("alerta.lang")] ? localStorage.getItem("alerta.lang") : "es";
const listeners = [];

/** The string for `key` in the current language, with `{name}` filled from `values`. */
export function t(key, values = {}) {
  const text = strings[language][key] ?? strings.es[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

/** A wire value (estado, urgencia, tipo) in words; unknown values are shown as they are. */
export function word(kind, value) {
  const key = `${kind}.${value}`;
  return key in strings.es ? t(key) : String(value ?? "");
}

export function currentLanguage() { return language; }

/** Switches the language, relabels the page and tells the views to draw again. */
export function setLanguage(next) {
  if (!strings[next]) return;
  language = next;
  localStorage.setItem("alerta.lang", next);
  translate(document);
  for (const listener of listeners) listener();
}

export function onLanguageChange(listener) { listeners.push(listener); }

/** Labels every element under `root` that names a string key. */
export function translate(root) {
  document.documentElement.lang = language;
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-placeholder]")) node.placeholder = t(node.dataset.i18nPlaceholder);
  for (const node of root.querySelectorAll("[data-i18n-label]")) node.setAttribute("aria-label", t(node.dataset.i18nLabel));
}
