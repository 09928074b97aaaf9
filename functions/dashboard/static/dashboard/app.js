// The dashboard shell: sign-in, role-aware navigation, hash routes (#/bots, #/sources, ...).
import { api, saveSession, session } from "./api.js";
import { botsPage } from "./bots.js";
import { chatsPage } from "./chats.js";
import { settingsPage, tokensPage, usersPage, webhooksPage } from "./admin.js";
import { sourcesPage } from "./sources.js";
import { errorBox, field, h, table } from "./ui.js";
import { usagePage } from "./usage.js";

const ROLE_RANK = { member: 1, admin: 2, owner: 3 };
const PAGES = [
  { path: "overview", title: "Overview", render: overviewPage },
  { path: "bots", title: "Bots", render: botsPage },
  { path: "sources", title: "Sources", render: sourcesPage },
  { path: "chats", title: "Chats", render: chatsPage },
  { path: "usage", title: "Usage", render: usagePage },
  { path: "webhooks", title: "Webhooks", render: webhooksPage, role: "admin" },
  { path: "tokens", title: "API tokens", render: tokensPage },
  { path: "users", title: "Users", render: usersPage, role: "admin" },
  { path: "settings", title: "Settings", render: settingsPage },
];

export function canSee(page, role) {
  return !page.role || (ROLE_RANK[role] || 0) >= ROLE_RANK[page.role];
}

function renderNav(current) {
  const s = session();
  const nav = document.getElementById("nav");
  const who = document.getElementById("who");
  nav.replaceChildren();
  who.replaceChildren();
  if (!s) return;
  const links = PAGES.filter((p) => canSee(p, s.role)).map((p) =>
    h("li", {}, h("a", { href: `#/${p.path}`, "aria-current": p.path === current ? "page" : null }, p.title)));
  nav.append(h("ul", {}, links));
  who.append(h("span", {}, `${s.email} (${s.role}) · ${s.tenant}`), " ",
    h("button.link", { type: "button", onclick: () => { saveSession(null); location.hash = "#/signin"; } }, "Sign out"));
}

function signinPage(main) {
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const slug = h("input", { type: "text", name: "tenant_slug", autocomplete: "organization" });
  const message = h("div", { "aria-live": "polite" });
  const form = h("form.card.signin", { "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in"),
    field("Email", email), field("Password", password),
    field("Tenant (optional)", slug, "Only needed when one email belongs to several tenants"),
    h("button", { type: "submit" }, "Sign in"), message);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.replaceChildren();
    try {
      const body = { email: email.value, password: password.value };
      if (slug.value) body.tenant_slug = slug.value;
      const login = await api("POST", "/v1/auth/login", body);
      saveSession({ token: login.access_token });
      const me = await api("GET", "/v1/auth/me");
      saveSession({ token: login.access_token, role: me.user.role, email: me.user.email, tenant: me.tenant.name });
      location.hash = "#/overview";
    } catch (error) {
      saveSession(null);
      message.append(errorBox(error));
    }
  });
  main.append(form);
  email.focus();
}

// The health report, also when degraded (a 503 with the same body).
async function healthReport() {
  const response = await api("GET", "/v1/system/health", undefined, { raw: true }).catch((error) => {
    if (error.status !== 503) throw error;
    return null;
  });
  return response ? response.json() : { status: "degraded", checks: {} };
}

async function overviewPage(main) {
  main.append(h("h1", {}, "Overview"));
  const [health, counts] = await Promise.allSettled([healthReport(), api("GET", "/v1/stats/overview")]);
  const parts = health.status === "fulfilled" ? health.value : null;
  const section = h("section", { "aria-labelledby": "health-title" }, h("h2", { id: "health-title" }, "Health"));
  if (parts) {
    section.append(h("p", {}, "Overall: ", h(`span.badge.s-${parts.status === "ok" ? "ready" : "error"}`, {}, parts.status)));
    const rows = Object.entries(parts.checks || {}).map(([name, value]) => ({ name, ...value }));
    section.append(table([["Component", (r) => r.name], ["Status", (r) => h(`span.badge.s-${r.status === "ok" ? "ready" : "error"}`, {}, r.status)],
      ["Detail", (r) => r.error || `${Math.round(r.latency_ms)} ms`]], rows));
  } else section.append(errorBox(health.reason));
  main.append(section);
  const stats = h("section", { "aria-labelledby": "counts-title" }, h("h2", { id: "counts-title" }, "Counts"));
  if (counts.status === "fulfilled") {
    const c = counts.value;
    stats.append(h("dl.counts", {}, ["bots", "sources", "chats", "messages", "total_tokens"].map((k) =>
      h("div", {}, h("dt", {}, k.replace("_", " ")), h("dd", {}, String(c[k]))))));
  } else stats.append(errorBox(counts.reason));
  main.append(stats, h("section", { "aria-labelledby": "quick-title" }, h("h2", { id: "quick-title" }, "Quick actions"),
    h("ul.actions", {}, h("li", {}, h("a.button", { href: "#/bots" }, "Create a bot")),
      h("li", {}, h("a.button", { href: "#/sources" }, "Add a source")),
      h("li", {}, h("a.button", { href: "#/chats" }, "Read chats")),
      h("li", {}, h("a.button", { href: "/docs" }, "API docs")))));
}

// Each route renders into its own fresh element: a page still awaiting the API when the user moves on
// finishes into a detached element instead of adding its tables to the next page.
async function route() {
  const main = h("div.view");
  document.getElementById("main").replaceChildren(main);
  const [path, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  const s = session();
  if (!s || !s.role) {
    renderNav(null);
    signinPage(main);
    return;
  }
  const page = PAGES.find((p) => p.path === path) || PAGES[0];
  renderNav(page.path);
  document.title = `${page.title} · MiniRAG`;
  if (!canSee(page, s.role)) {
    main.append(h("h1", {}, page.title), h("p.notice", { role: "alert" },
      `This page is not available to your role (${s.role}).`));
    return;
  }
  try {
    await page.render(main, rest);
  } catch (error) {
    main.append(errorBox(error));
  }
}

window.addEventListener("hashchange", route);
route();
