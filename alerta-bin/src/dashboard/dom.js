// Building the page from data. Values go in with textContent only, never as HTML, so
// nothing a user typed can run here.

export const $ = (id) => document.getElementById(id);

/** A new element with optional text and class. */
export function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

/** An `<option>` with a wire value and the words shown for it. */
export function option(value, label) {
  const node = el("option", label);
  node.value = value;
  return node;
}

/** A short message at the corner of the screen, read out by screen readers. */
export function toast(text) {
  const node = el("div", text, "toast");
  $("toasts").appendChild(node);
  setTimeout(() => node.remove(), 6000);
}

/** A local date and time for an RFC 3339 timestamp. */
export function when(timestamp) {
  return new Date(timestamp).toLocaleString();
}
