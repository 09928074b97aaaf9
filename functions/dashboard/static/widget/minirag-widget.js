/* MiniRAG chat widget. One tag on any page:
 *   <script src="https://API/widget/minirag-widget.js" data-bot-id="BOT" data-api-url="https://API"
 *           data-api-key="PUBLISHABLE_KEY" data-title="Help" data-color="#1d4ed8" data-position="right" defer></script>
 * Everything lives in a Shadow DOM (the page's CSS cannot reach it; its own CSS cannot leak
 * out). Answers stream (Server-Sent Events), with numbered citations. The chat id and the messages
 * are kept in localStorage, so the conversation survives page loads. The key must be a publishable
 * key bound to the bot whose allowed_origins lists this page's origin: otherwise the API answers no
 * CORS headers and the widget shows its error state. No dependency, no build step. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var cfg = {
    bot: script.dataset.botId || "",
    api: (script.dataset.apiUrl || new URL(script.src).origin).replace(/\/+$/, ""),
    key: script.dataset.apiKey || "",
    title: script.dataset.title || "Ask us",
    color: /^#[0-9a-f]{3,8}$/i.test(script.dataset.color || "") ? script.dataset.color : "#1d4ed8",
    position: script.dataset.position === "left" ? "left" : "right",
    open: script.dataset.open === "true",
  };
  var storeKey = "minirag-widget:" + cfg.bot;
  function load() {
    try { return JSON.parse(localStorage.getItem(storeKey) || "null") || { chatId: null, messages: [] }; }
    catch (e) { return { chatId: null, messages: [] }; }
  }
  function save(state) {
    try { localStorage.setItem(storeKey, JSON.stringify({ chatId: state.chatId, messages: state.messages.slice(-30) })); }
    catch (e) { /* storage full or disabled: the conversation lasts this page only */ }
  }
  var state = load();

  var host = document.createElement("div");
  host.setAttribute("data-minirag-widget", "");
  var root = host.attachShadow({ mode: "open" });
  var side = cfg.position + ":16px";
  var style = document.createElement("style");
  style.textContent =
    ":host{all:initial}" +
    "*{box-sizing:border-box;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}" +
    ".launcher{position:fixed;bottom:16px;" + side + ";z-index:2147483000;background:" + cfg.color + ";color:#fff;border:0;border-radius:999px;padding:12px 18px;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25)}" +
    ".panel{position:fixed;bottom:72px;" + side + ";z-index:2147483000;width:min(360px,calc(100vw - 32px));height:min(520px,calc(100vh - 96px));display:none;flex-direction:column;background:#fff;color:#111827;border:1px solid #d1d5db;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.25);overflow:hidden}" +
    ".panel.open{display:flex}" +
    "header{background:" + cfg.color + ";color:#fff;padding:10px 12px;display:flex;justify-content:space-between;align-items:center;font-weight:600}" +
    "header button{background:none;border:0;color:#fff;font-size:18px;cursor:pointer}" +
    ".log{flex:1;overflow-y:auto;padding:8px}" +
    ".msg{margin:6px 0;padding:6px 9px;border-radius:8px;white-space:pre-wrap;overflow-wrap:anywhere}" +
    ".user{background:#eff6ff;margin-left:24px}.assistant{background:#f3f4f6;margin-right:24px}" +
    ".cite{border:1px solid " + cfg.color + ";color:" + cfg.color + ";background:#fff;border-radius:4px;padding:0 4px;cursor:pointer;font-size:12px}" +
    "ol{margin:4px 0 0;padding-left:18px;font-size:12px;color:#4b5563}li.open{background:#fef9c3}" +
    ".error{background:#fee2e2;color:#991b1b;padding:8px;margin:8px;border-radius:8px}" +
    "form{display:flex;gap:6px;padding:8px;border-top:1px solid #e5e7eb}" +
    "input{flex:1;padding:8px;border:1px solid #9ca3af;border-radius:6px}" +
    "form button{background:" + cfg.color + ";color:#fff;border:0;border-radius:6px;padding:8px 12px;cursor:pointer}" +
    "button:focus-visible,input:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}" +
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}";
  root.appendChild(style);

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs || {}) node.setAttribute(k, attrs[k]);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  var launcher = el("button", { type: "button", class: "launcher", "aria-expanded": "false", part: "launcher" }, cfg.title);
  var panel = el("section", { class: "panel", role: "dialog", "aria-label": cfg.title });
  var head = el("header", {});
  head.appendChild(el("span", {}, cfg.title));
  var close = el("button", { type: "button", "aria-label": "Close chat" }, "×");
  head.appendChild(close);
  var log = el("div", { class: "log", role: "log", "aria-live": "polite" });
  var errorBox = el("div", { class: "error", role: "alert", hidden: "" });
  var form = el("form", {});
  var label = el("label", { class: "sr", for: "minirag-q" }, "Your question");
  var input = el("input", { id: "minirag-q", name: "message", autocomplete: "off", placeholder: "Ask a question…" });
  var send = el("button", { type: "submit" }, "Send");
  form.appendChild(label); form.appendChild(input); form.appendChild(send);
  panel.appendChild(head); panel.appendChild(log); panel.appendChild(errorBox); panel.appendChild(form);
  root.appendChild(launcher); root.appendChild(panel);

  function toggle(open) {
    panel.classList.toggle("open", open);
    launcher.setAttribute("aria-expanded", String(open));
    if (open) input.focus(); else launcher.focus();
  }
  launcher.addEventListener("click", function () { toggle(!panel.classList.contains("open")); });
  close.addEventListener("click", function () { toggle(false); });
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") toggle(false); });

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
    host.setAttribute("data-state", "error");
  }

  function render(node, text, citations) {
    node.textContent = "";
    var list = null;
    if (citations && citations.length) {
      list = el("ol", { "aria-label": "Sources" });
      citations.forEach(function (c) {
        var li = el("li", { "data-index": String(c.index), tabindex: "-1" });
        li.appendChild(el("strong", {}, (c.title || c.filename || "document") + ": "));
        li.appendChild(document.createTextNode(c.snippet));
        list.appendChild(li);
      });
    }
    text.split(/(\[\d+\])/g).forEach(function (part) {
      var m = /^\[(\d+)\]$/.exec(part);
      var cite = m && (citations || []).filter(function (c) { return c.index === Number(m[1]); })[0];
      if (cite && list) {
        var b = el("button", { type: "button", class: "cite", "aria-label": "source " + m[1] }, part);
        b.addEventListener("click", function () {
          var li = list.querySelector('[data-index="' + cite.index + '"]');
          if (li) { li.classList.add("open"); li.focus(); }
        });
        node.appendChild(b);
      } else node.appendChild(document.createTextNode(part));
    });
    if (list) node.appendChild(list);
  }

  function add(role, text, citations) {
    var node = el("div", { class: "msg " + role });
    render(node, text, citations);
    log.appendChild(node);
    log.scrollTop = log.scrollHeight;
    return node;
  }
  state.messages.forEach(function (m) { add(m.role, m.text, m.citations); });

  async function ask(question) {
    errorBox.hidden = true;
    host.removeAttribute("data-state");
    add("user", question);
    state.messages.push({ role: "user", text: question });
    save(state);
    var node = add("assistant", "…");
    var streamed = "";
    send.disabled = true;
    try {
      var response = await fetch(cfg.api + "/v1/chat", {
        method: "POST", mode: "cors", credentials: "omit",
        headers: { authorization: "Bearer " + cfg.key, "content-type": "application/json", accept: "text/event-stream" },
        body: JSON.stringify({ bot_profile_id: cfg.bot, message: question, chat_id: state.chatId, stream: true }),
      });
      if (!response.ok) {
        var body = await response.json().catch(function () { return null; });
        if (response.status === 404 && state.chatId) { state.chatId = null; save(state); }
        throw new Error((body && body.error && body.error.message) || "HTTP " + response.status);
      }
      var reader = response.body.getReader();
      var decoder = new TextDecoder();
      var buffer = "";
      for (;;) {
        var chunk = await reader.read();
        if (chunk.done) break;
        buffer += decoder.decode(chunk.value, { stream: true });
        var end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          var block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          var name = "message", data = "";
          block.split("\n").forEach(function (line) {
            if (line.indexOf("event:") === 0) name = line.slice(6).trim();
            else if (line.indexOf("data:") === 0) data += line.slice(5).trim();
          });
          var payload = data ? JSON.parse(data) : {};
          if (name === "start") { state.chatId = payload.chat_id; save(state); }
          else if (name === "token") { streamed += payload.text; node.textContent = streamed; }
          else if (name === "done") {
            render(node, payload.answer, payload.citations);
            state.messages.push({ role: "assistant", text: payload.answer, citations: payload.citations });
            save(state);
            host.setAttribute("data-state", "answered");
          } else if (name === "error") throw new Error(payload.message || "the answer failed");
        }
      }
    } catch (error) {
      node.remove();
      // A network failure and a refused CORS answer look alike to a page (TypeError): the API is
      // unreachable from here (down, or this key is not allowed on this site).
      showError(error instanceof TypeError ? "The assistant is unreachable right now. Please try again later."
        : "The assistant could not answer: " + error.message);
    } finally {
      send.disabled = false;
    }
  }
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var q = input.value.trim();
    if (!q) return;
    input.value = "";
    ask(q);
  });

  function mount() {
    document.body.appendChild(host);
    if (cfg.open) toggle(true);
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
