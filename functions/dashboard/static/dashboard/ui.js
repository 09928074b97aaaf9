// Small DOM helpers: h("tag.class", {attrs}, ...children), no innerHTML with data (no injection).
export function h(spec, attrs = {}, ...children) {
  const [tag, ...classes] = spec.split(".");
  const el = document.createElement(tag || "div");
  if (classes.length) el.className = classes.join(" ");
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "text") el.textContent = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

let fieldCounter = 0;
export function field(label, input, hint) {
  const id = input.id || `f${++fieldCounter}`;
  input.id = id;
  const hintEl = hint ? h("small.hint", { id: `${id}-hint` }, hint) : null;
  if (hintEl) input.setAttribute("aria-describedby", hintEl.id);
  return h("div.field", {}, h("label", { for: id }, label), input, hintEl);
}

export function toast(message, kind = "info") {
  const box = document.getElementById("toast");
  box.className = `toast ${kind}`;
  box.textContent = message;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.textContent = ""; box.className = "toast"; }, 6000);
}

export function errorBox(error) {
  return h("p.error", { role: "alert" }, error.message || String(error));
}

// Run an async action from a button: disabled while it runs, errors shown as a toast.
export function action(fn) {
  return async (event) => {
    const button = event && event.currentTarget;
    if (button) button.disabled = true;
    try { await fn(event); } catch (error) { toast(error.message || String(error), "error"); }
    finally { if (button) button.disabled = false; }
  };
}

export function table(columns, rows, empty = "Nothing yet.") {
  if (!rows.length) return h("p.muted", {}, empty);
  return h("div.table-wrap", {},
    h("table", {}, h("thead", {}, h("tr", {}, columns.map(([title]) => h("th", { scope: "col" }, title)))),
      h("tbody", {}, rows.map((row) => h("tr", {}, columns.map(([, cell]) => h("td", {}, cell(row))))))));
}

export function when(value) {
  return value ? new Date(value).toLocaleString() : "—";
}

export function statusBadge(status) {
  return h(`span.badge.s-${status}`, { "data-status": status }, status);
}

// The answer text with its [n] markers as buttons that open citation n.
export function answerWithCitations(text, citations, onCite) {
  const out = h("span");
  const parts = text.split(/(\[\d+\])/g);
  for (const part of parts) {
    const m = /^\[(\d+)\]$/.exec(part);
    const cite = m && citations.find((c) => c.index === Number(m[1]));
    if (cite) out.append(h("button.cite", { type: "button", "aria-label": `citation ${m[1]}`, onclick: () => onCite(cite) }, part));
    else out.append(document.createTextNode(part));
  }
  return out;
}

export function citationList(citations) {
  return h("ol.citations", { "aria-label": "Citations" }, citations.map((c) =>
    h("li", { id: `cite-${c.index}`, "data-index": c.index, tabindex: "-1" },
      h("strong", {}, `[${c.index}] ${c.title || c.filename || "document"}`),
      h("span.muted", {}, ` source ${String(c.source_id).slice(0, 8)} · document ${String(c.document_id).slice(0, 8)}`),
      h("blockquote", {}, c.snippet))));
}
