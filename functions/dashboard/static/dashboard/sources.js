// Sources: add text, URL or files (drag and drop, upload progress), ingest, live status and
// progress, readable errors, refresh schedule, documents of a source, deactivate/reactivate.
import { api, list, session } from "./api.js";
import { action, errorBox, field, h, statusBadge, table, toast, when } from "./ui.js";

const BUSY = new Set(["queued", "processing"]);
let poller = null;

export async function sourcesPage(main, [botId, sourceId]) {
  clearInterval(poller);
  main.append(h("h1", {}, "Sources"));
  const bots = await list("/v1/bot-profiles");
  if (!bots.length) {
    main.append(h("p", {}, "Create a bot first: ", h("a", { href: "#/bots" }, "Bots")));
    return;
  }
  const current = bots.find((b) => b.id === botId) || bots[0];
  const picker = h("select", { name: "bot" }, bots.map((b) => h("option", { value: b.id, selected: b.id === current.id }, b.name)));
  picker.addEventListener("change", () => { location.hash = `#/sources/${picker.value}`; });
  main.append(h("div.card", {}, field("Bot", picker)));
  if (sourceId) return documentsOf(main, current, sourceId);
  main.append(addForms(current));
  const listing = h("section", { "aria-labelledby": "sources-title" }, h("h2", { id: "sources-title" }, `Sources of ${current.name}`));
  main.append(listing);
  let shown = "";
  const refresh = async () => {
    if (!document.body.contains(listing)) { clearInterval(poller); return; }
    const sources = await list(`/v1/sources?bot_profile_id=${current.id}&include_inactive=true`);
    const seen = JSON.stringify(sources);
    if (seen !== shown) { // re-rendered only on change, so keyboard focus stays put
      shown = seen;
      listing.replaceChildren(listing.firstChild, sourceTable(current, sources, refresh));
    }
  };
  await refresh();
  poller = setInterval(() => refresh().catch(() => {}), 1000);
}

function sourceTable(bot, sources, refresh) {
  const writer = session().role !== "member";
  return table([
    ["Name", (s) => h("a", { href: `#/sources/${bot.id}/${s.id}` }, s.name)],
    ["Type", (s) => s.source_type],
    ["Status", (s) => h("span", { "data-source-status": s.status }, statusBadge(s.status), s.is_active === false ? " (inactive)" : "")],
    ["Progress", (s) => progressOf(s)],
    ["Message", (s) => (s.last_error ? h("span.error", {}, s.last_error) : s.message || "")],
    ["Refresh", (s) => (s.source_type === "url" && writer ? scheduleSelect(s) : s.refresh_schedule || "none")],
    ["Actions", (s) => (writer ? h("div.row", {},
      h("button", { type: "button", disabled: BUSY.has(s.status), onclick: action(async () => {
        await api("POST", `/v1/sources/${s.id}/ingest`); toast(`Ingest of “${s.name}” queued`); await refresh();
      }) }, "Ingest"),
      h("button.secondary", { type: "button", onclick: action(async () => {
        await api("PATCH", `/v1/sources/${s.id}`, { is_active: s.is_active === false });
        await refresh();
      }) }, s.is_active === false ? "Reactivate" : "Deactivate")) : "")],
  ], sources, "No source yet: add one above.");
}

function progressOf(s) {
  const p = s.progress || {};
  if (!p.documents_total && !BUSY.has(s.status)) return `${s.chunk_count} chunks`;
  const total = Math.max(p.documents_total || 0, 1);
  return h("span", {}, h("progress", { max: String(total), value: String(p.documents_done || 0),
    "aria-label": `documents done of ${s.name}` }), ` ${p.documents_done || 0}/${p.documents_total || 0} documents, ${p.chunks || 0} chunks`);
}

function scheduleSelect(s) {
  const select = h("select", { "aria-label": `refresh schedule of ${s.name}` },
    ["none", "hourly", "daily", "weekly"].map((v) => h("option", { value: v, selected: v === s.refresh_schedule }, v)));
  select.addEventListener("change", action(async () => {
    await api("PATCH", `/v1/sources/${s.id}`, { refresh_schedule: select.value });
    toast(`Refresh of “${s.name}”: ${select.value}`);
  }));
  return select;
}

function addForms(bot) {
  const name = h("input", { name: "name", required: true });
  const content = h("textarea", { name: "content", rows: "4", required: true });
  const text = h("form.card", { "aria-labelledby": "add-text" }, h("h2", { id: "add-text" }, "Add text"),
    field("Source name", name), field("Text", content), h("button", { type: "submit" }, "Add text source"));
  text.addEventListener("submit", action(async (event) => {
    event.preventDefault();
    await api("POST", "/v1/sources", { bot_profile_id: bot.id, name: name.value, source_type: "text", content: content.value });
    toast(`Source “${name.value}” added: ingest it to serve it`);
    text.reset();
  }));
  const urlName = h("input", { name: "url_name", required: true });
  const url = h("input", { name: "url", type: "url", required: true, placeholder: "https://example.com/page" });
  const schedule = h("select", { name: "refresh_schedule" }, ["none", "hourly", "daily", "weekly"].map((v) => h("option", { value: v }, v)));
  const byUrl = h("form.card", { "aria-labelledby": "add-url" }, h("h2", { id: "add-url" }, "Add a URL"),
    field("Source name", urlName), field("URL", url), field("Refresh", schedule), h("button", { type: "submit" }, "Add URL source"));
  byUrl.addEventListener("submit", action(async (event) => {
    event.preventDefault();
    await api("POST", "/v1/sources", { bot_profile_id: bot.id, name: urlName.value, source_type: "url", url: url.value,
      refresh_schedule: schedule.value });
    toast(`Source “${urlName.value}” added`);
    byUrl.reset();
  }));
  return h("div.grid", {}, text, byUrl, uploadForm(bot));
}

function uploadForm(bot) {
  const input = h("input", { type: "file", name: "file", multiple: true });
  const zone = h("div.dropzone", { tabindex: "0", role: "button", "aria-label": "Drop files here or press Enter to choose" },
    "Drop files here, or choose them");
  const progress = h("ul.uploads", { "aria-live": "polite" });
  zone.addEventListener("click", () => input.click());
  zone.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); } });
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => { e.preventDefault(); zone.classList.remove("over"); send([...e.dataTransfer.files]); });
  input.addEventListener("change", () => send([...input.files]));
  function send(files) {
    for (const file of files) {
      const bar = h("progress", { max: "100", value: "0", "aria-label": `upload of ${file.name}` });
      const label = h("span", {}, ` ${file.name}`);
      progress.append(h("li", {}, bar, label));
      const form = new FormData();
      form.append("bot_profile_id", bot.id);
      form.append("file", file);
      const xhr = new XMLHttpRequest(); // fetch has no upload progress
      xhr.open("POST", "/v1/sources/upload");
      xhr.setRequestHeader("authorization", `Bearer ${session().token}`);
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 100); };
      xhr.onload = () => {
        bar.value = 100;
        let body = null;
        try { body = JSON.parse(xhr.responseText); } catch { body = null; }
        label.textContent = xhr.status < 300 ? ` ${file.name}: uploaded, ingest it below`
          : ` ${file.name}: ${(body && body.error && body.error.message) || `HTTP ${xhr.status}`}`;
        if (xhr.status >= 300) label.className = "error";
      };
      xhr.onerror = () => { label.textContent = ` ${file.name}: the upload failed`; label.className = "error"; };
      xhr.send(form);
    }
  }
  return h("section.card", { "aria-labelledby": "add-files" }, h("h2", { id: "add-files" }, "Add files"),
    h("label.visually-hidden", { for: "file-input" }, "Files"), Object.assign(input, { id: "file-input" }), zone, progress);
}

async function documentsOf(main, bot, sourceId) {
  const source = await api("GET", `/v1/sources/${sourceId}`);
  const docs = await list(`/v1/sources/${sourceId}/documents`);
  main.append(h("p", {}, h("a", { href: `#/sources/${bot.id}` }, `← Sources of ${bot.name}`)),
    h("h2", {}, `Documents of ${source.name}`),
    h("p", {}, statusBadge(source.status), ` version ${source.version}, ${source.chunk_count} chunks, last ingest ${when(source.finished_at)}`),
    source.last_error ? errorBox(new Error(source.last_error)) : "",
    table([["#", (d) => String(d.position + 1)], ["Title", (d) => d.title || d.external_id || "—"],
      ["Chunks", (d) => String(d.chunk_count)], ["Added", (d) => when(d.created_at)]], docs, "No documents: ingest the source."));
}
