// Bots: create, edit, deactivate/reactivate; "Try it" (streamed answer, numbered citations); the
// widget snippet with a publishable key bound to the bot and to the page's origin.
import { api, list, streamEvents } from "./api.js";
import { action, answerWithCitations, citationList, errorBox, field, h, table, toast } from "./ui.js";

export async function botsPage(main, [botId]) {
  main.append(h("h1", {}, "Bots"));
  if (botId) return botDetail(main, botId);
  const name = h("input", { name: "name", required: true, maxlength: "200" });
  const prompt = h("textarea", { name: "system_prompt", rows: "2" }, "You are a helpful assistant.");
  const form = h("form.card", { "aria-labelledby": "new-bot" }, h("h2", { id: "new-bot" }, "New bot"),
    field("Name", name), field("System prompt", prompt), h("button", { type: "submit" }, "Create bot"));
  form.addEventListener("submit", action(async (event) => {
    event.preventDefault();
    const bot = await api("POST", "/v1/bot-profiles", { name: name.value, system_prompt: prompt.value });
    toast(`Bot “${bot.name}” created`);
    location.hash = `#/bots/${bot.id}`;
  }));
  const bots = await list("/v1/bot-profiles");
  main.append(form, h("h2", {}, "Your bots"), table([
    ["Name", (b) => h("a", { href: `#/bots/${b.id}` }, b.name)],
    ["Model", (b) => b.model],
    ["Active", (b) => (b.is_active ? "yes" : "no")],
  ], bots, "No bot yet: create one above."));
}

async function botDetail(main, botId) {
  const bot = await api("GET", `/v1/bot-profiles/${botId}`);
  main.querySelector("h1").textContent = `Bot: ${bot.name}`;
  const name = h("input", { name: "name", value: bot.name, required: true });
  const prompt = h("textarea", { name: "system_prompt", rows: "3" }, bot.system_prompt);
  const model = h("input", { name: "model", value: bot.model });
  const topK = h("input", { name: "top_k", type: "number", min: "1", max: "50", value: String(bot.top_k) });
  const edit = h("form.card", { "aria-labelledby": "edit-bot" }, h("h2", { id: "edit-bot" }, "Settings"),
    field("Name", name), field("System prompt", prompt), field("Model", model), field("Chunks retrieved (top k)", topK),
    h("div.row", {}, h("button", { type: "submit" }, "Save"),
      h("button.secondary", { type: "button", onclick: action(async () => {
        await api("PATCH", `/v1/bot-profiles/${botId}`, { is_active: !bot.is_active });
        toast(bot.is_active ? "Bot deactivated" : "Bot reactivated");
        location.reload();
      }) }, bot.is_active ? "Deactivate" : "Reactivate"),
      h("a.button.secondary", { href: `#/sources/${botId}` }, "Sources of this bot")));
  edit.addEventListener("submit", action(async (event) => {
    event.preventDefault();
    await api("PATCH", `/v1/bot-profiles/${botId}`, { name: name.value, system_prompt: prompt.value,
      model: model.value, top_k: Number(topK.value) });
    toast("Saved");
  }));
  main.append(h("p", {}, h("a", { href: "#/bots" }, "← All bots")), h("div.grid", {}, tryIt(bot), edit), widgetSnippet(bot));
}

export function tryIt(bot) {
  let chatId = null;
  const log = h("div.chatlog", { role: "log", "aria-live": "polite", "aria-label": "Conversation" });
  const input = h("input", { name: "message", required: true, autocomplete: "off" });
  const form = h("form.chatform", {}, field("Your question", input), h("button", { type: "submit" }, "Send"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    log.append(h("div.msg.user", {}, h("strong", {}, "You: "), text));
    const answer = h("div.msg.assistant", { "data-state": "streaming" });
    const body = h("span.answer", {});
    const cites = h("div");
    answer.append(h("strong", {}, `${bot.name}: `), body, cites);
    log.append(answer);
    const submit = form.querySelector("button");
    submit.disabled = true;
    try {
      let streamed = "";
      for await (const { event: name, data } of streamEvents("/v1/chat", {
        bot_profile_id: bot.id, message: text, chat_id: chatId, stream: true })) {
        if (name === "start") chatId = data.chat_id;
        else if (name === "token") { streamed += data.text; body.textContent = streamed; }
        else if (name === "done") {
          const open = (c) => { const li = cites.querySelector(`[data-index="${c.index}"]`); if (li) { li.classList.add("open"); li.focus(); } };
          body.replaceChildren(answerWithCitations(data.answer, data.citations, open));
          cites.replaceChildren(citationList(data.citations));
        } else if (name === "error") throw new Error(data.message || "the answer failed");
      }
      answer.dataset.state = "done";
    } catch (error) {
      answer.dataset.state = "error";
      answer.append(errorBox(error));
    } finally {
      submit.disabled = false;
      input.focus();
    }
  });
  return h("section.card.tryit", { "aria-labelledby": "try-title" }, h("h2", { id: "try-title" }, "Try it"), log, form);
}

function widgetSnippet(bot) {
  const origins = h("input", { name: "allowed_origins", placeholder: "https://shop.example.com", required: true });
  const out = h("div");
  const form = h("form.card", { "aria-labelledby": "widget-title" }, h("h2", { id: "widget-title" }, "Embed the widget"),
    h("p", {}, "A publishable key can only chat with this bot, and only from the origins you list."),
    field("Allowed origins (comma separated)", origins),
    h("button", { type: "submit" }, "Create a publishable key and show the snippet"), out);
  form.addEventListener("submit", action(async (event) => {
    event.preventDefault();
    const allowed = origins.value.split(",").map((o) => o.trim()).filter(Boolean);
    const key = await api("POST", "/v1/api-tokens", { name: `widget ${bot.name}`, bot_profile_id: bot.id, allowed_origins: allowed });
    const snippet = `<script src="${location.origin}/widget/minirag-widget.js" data-bot-id="${bot.id}" ` +
      `data-api-url="${location.origin}" data-api-key="${key.raw_token}" data-title="${bot.name}" defer></script>`;
    out.replaceChildren(h("p", {}, "The key is shown once. Paste this tag into your page:"),
      h("pre.snippet", { tabindex: "0", "aria-label": "Widget snippet" }, snippet));
  }));
  return form;
}
