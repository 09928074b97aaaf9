// Chats: browse and search conversations, read a transcript with its citations, give feedback,
// export JSON or CSV.
import { api, list, session } from "./api.js";
import { action, answerWithCitations, citationList, field, h, table, toast, when } from "./ui.js";

export async function chatsPage(main, [chatId]) {
  main.append(h("h1", {}, "Chats"));
  if (chatId) return transcript(main, chatId);
  const bots = await list("/v1/bot-profiles");
  const names = Object.fromEntries(bots.map((b) => [b.id, b.name]));
  const search = h("input", { type: "search", name: "q", placeholder: "title or bot" });
  const bot = h("select", { name: "bot" }, h("option", { value: "" }, "all bots"), bots.map((b) => h("option", { value: b.id }, b.name)));
  const results = h("div");
  const exports = h("p.row", {},
    h("button.secondary", { type: "button", onclick: action(() => download("json")) }, "Export JSON"),
    h("button.secondary", { type: "button", onclick: action(() => download("csv")) }, "Export CSV"));
  async function download(format) {
    const query = new URLSearchParams({ format });
    if (bot.value) query.set("bot_profile_id", bot.value);
    const response = await api("GET", `/v1/chat/export?${query}`, undefined, { raw: true });
    const url = URL.createObjectURL(await response.blob());
    const a = h("a", { href: url, download: `chats.${format}` });
    document.body.append(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }
  async function show() {
    const chats = await list(`/v1/chat${bot.value ? `?bot_profile_id=${bot.value}` : ""}`);
    const q = search.value.trim().toLowerCase();
    const shown = chats.filter((c) => !q || `${c.title || ""} ${names[c.bot_profile_id] || ""}`.toLowerCase().includes(q));
    results.replaceChildren(table([
      ["Title", (c) => h("a", { href: `#/chats/${c.id}` }, c.title || "(untitled)")],
      ["Bot", (c) => names[c.bot_profile_id] || c.bot_profile_id],
      ["Messages", (c) => String(c.message_count)],
      ["Tokens", (c) => String(c.total_tokens)],
      ["Updated", (c) => when(c.updated_at)],
    ], shown, "No conversation matches."));
  }
  search.addEventListener("input", () => show().catch((e) => toast(e.message, "error")));
  bot.addEventListener("change", () => show().catch((e) => toast(e.message, "error")));
  main.append(h("div.card.row", {}, field("Search", search), field("Bot", bot)), exports, results);
  await show();
}

async function transcript(main, chatId) {
  const chat = await api("GET", `/v1/chat/${chatId}`);
  const messages = await list(`/v1/chat/${chatId}/messages`);
  main.querySelector("h1").textContent = chat.title || "Chat";
  main.append(h("p", {}, h("a", { href: "#/chats" }, "← All chats"), ` · ${chat.message_count} messages · ${chat.total_tokens} tokens`),
    h("p.row", {}, h("a.button.secondary", { href: `/v1/chat/${chatId}/export?format=json`, onclick: exportOne(chatId, "json") }, "Export JSON"),
      h("a.button.secondary", { href: `/v1/chat/${chatId}/export?format=csv`, onclick: exportOne(chatId, "csv") }, "Export CSV")));
  const log = h("div.chatlog", { role: "log", "aria-label": "Transcript" });
  for (const m of messages) {
    const cites = h("div", {}, m.citations.length ? citationList(m.citations) : "");
    const open = (c) => { const li = cites.querySelector(`[data-index="${c.index}"]`); if (li) { li.classList.add("open"); li.focus(); } };
    const row = h(`div.msg.${m.role}`, {}, h("strong", {}, m.role === "user" ? "User: " : "Assistant: "),
      answerWithCitations(m.content, m.citations, open), cites, h("small.muted", {}, ` ${when(m.created_at)}`));
    if (m.role === "assistant") row.append(feedback(chatId, m));
    log.append(row);
  }
  main.append(log);
}

function exportOne(chatId, format) {
  return action(async (event) => {
    event.preventDefault();
    const response = await api("GET", `/v1/chat/${chatId}/export?format=${format}`, undefined, { raw: true });
    const url = URL.createObjectURL(await response.blob());
    const a = h("a", { href: url, download: `chat-${chatId}.${format}` });
    document.body.append(a); a.click(); a.remove();
  });
}

function feedback(chatId, message) {
  const state = h("span.muted", { "aria-live": "polite" }, message.feedback ? ` rated ${message.feedback}` : "");
  const rate = (value) => action(async () => {
    const updated = await api("PATCH", `/v1/chat/${chatId}/messages/${message.id}/feedback`, { feedback: value });
    state.textContent = updated.feedback ? ` rated ${updated.feedback}` : " not rated";
  });
  if (!session()) return state;
  return h("div.row.feedback", {}, h("button.secondary", { type: "button", "aria-label": "Good answer", onclick: rate("positive") }, "👍"),
    h("button.secondary", { type: "button", "aria-label": "Bad answer", onclick: rate("negative") }, "👎"),
    h("button.link", { type: "button", onclick: rate(null) }, "clear"), state);
}
