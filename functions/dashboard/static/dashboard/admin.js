// Webhooks (create, test ping, delivery log), API tokens (create with scopes, shown once; revoke),
// Users (owners manage; admins see), Settings (the tenant, its limits and what is used of them).
import { api, list, session } from "./api.js";
import { action, field, h, table, toast, when } from "./ui.js";

const EVENTS = ["source.ingested", "source.failed", "chat.message"];
const SCOPES = ["chat", "retrieve", "read", "write", "admin"];

function checkboxes(name, values, checked = []) {
  return h("fieldset", {}, h("legend", {}, name), values.map((v) => h("label.check", {},
    h("input", { type: "checkbox", name, value: v, checked: checked.includes(v) }), ` ${v}`)));
}
const picked = (form, name) => [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);

export async function webhooksPage(main, [webhookId]) {
  main.append(h("h1", {}, "Webhooks"));
  if (webhookId) {
    const deliveries = await list(`/v1/webhooks/${webhookId}/deliveries`, 100);
    main.append(h("p", {}, h("a", { href: "#/webhooks" }, "← All webhooks")), h("h2", {}, "Delivery log"),
      table([["When", (d) => when(d.created_at)], ["Event", (d) => d.event], ["Attempt", (d) => String(d.attempt)],
        ["Status", (d) => (d.success ? `ok ${d.status_code}` : `failed ${d.status_code ?? ""} ${d.error || ""}`)],
        ["Duration", (d) => `${d.duration_ms} ms`]], deliveries, "No delivery yet."));
    return;
  }
  const url = h("input", { type: "url", name: "url", required: true, placeholder: "https://example.com/hook" });
  const secret = h("div", { "aria-live": "polite" });
  const form = h("form.card", { "aria-labelledby": "new-hook" }, h("h2", { id: "new-hook" }, "New webhook"),
    field("URL", url), checkboxes("events", EVENTS, EVENTS), h("button", { type: "submit" }, "Create webhook"), secret);
  form.addEventListener("submit", action(async (event) => {
    event.preventDefault();
    const hook = await api("POST", "/v1/webhooks", { url: url.value, events: picked(form, "events") });
    secret.replaceChildren(h("p", {}, "Signing secret (shown once): ", h("code", {}, hook.secret)));
    await show();
  }));
  const listing = h("div");
  async function show() {
    const hooks = await list("/v1/webhooks");
    listing.replaceChildren(table([["URL", (w) => w.url], ["Events", (w) => w.events.join(", ")],
      ["Active", (w) => (w.is_active ? "yes" : "no")],
      ["Actions", (w) => h("div.row", {},
        h("button", { type: "button", onclick: action(async () => { await api("POST", `/v1/webhooks/${w.id}/test`); toast("Test ping queued"); }) }, "Send test ping"),
        h("a.button.secondary", { href: `#/webhooks/${w.id}` }, "Delivery log"),
        h("button.secondary", { type: "button", onclick: action(async () => { await api("DELETE", `/v1/webhooks/${w.id}`); await show(); }) }, "Delete"))],
    ], hooks, "No webhook yet."));
  }
  main.append(form, h("h2", {}, "Your webhooks"), listing);
  await show();
}

export async function tokensPage(main) {
  main.append(h("h1", {}, "API tokens"));
  const name = h("input", { name: "name", required: true, maxlength: "100" });
  const days = h("input", { name: "expires_in_days", type: "number", min: "1", max: "3650" });
  const shown = h("div", { "aria-live": "polite" });
  const form = h("form.card", { "aria-labelledby": "new-token" }, h("h2", { id: "new-token" }, "New token"),
    field("Name", name), field("Expires in days (optional)", days), checkboxes("scopes", SCOPES, ["read"]),
    h("button", { type: "submit" }, "Create token"), shown);
  form.addEventListener("submit", action(async (event) => {
    event.preventDefault();
    const body = { name: name.value, scopes: picked(form, "scopes") };
    if (days.value) body.expires_in_days = Number(days.value);
    const token = await api("POST", "/v1/api-tokens", body);
    shown.replaceChildren(h("p", {}, "Copy it now, it is shown once: ", h("code.secret", {}, token.raw_token)));
    await show();
  }));
  const listing = h("div");
  async function show() {
    const tokens = await list("/v1/api-tokens");
    listing.replaceChildren(table([["Name", (t) => t.name], ["Prefix", (t) => h("code", {}, t.prefix)],
      ["Scopes", (t) => (t.scopes ? t.scopes.join(", ") : "all of the role")],
      ["Bot / origins", (t) => (t.bot_profile_id ? `bot ${t.bot_profile_id.slice(0, 8)} · ${(t.allowed_origins || []).join(", ")}` : "—")],
      ["Last used", (t) => when(t.last_used_at)],
      ["Status", (t) => (t.revoked_at ? `revoked ${when(t.revoked_at)}` : t.expires_at ? `expires ${when(t.expires_at)}` : "active")],
      ["", (t) => (t.revoked_at ? "" : h("button.secondary", { type: "button", onclick: action(async () => {
        await api("DELETE", `/v1/api-tokens/${t.id}`); toast(`Token “${t.name}” revoked`); await show();
      }) }, "Revoke"))]], tokens, "No token yet."));
  }
  main.append(form, h("h2", {}, "Your tokens"), listing);
  await show();
}

export async function usersPage(main) {
  main.append(h("h1", {}, "Users"));
  const owner = session().role === "owner";
  const listing = h("div");
  async function show() {
    const users = await list("/v1/users");
    listing.replaceChildren(table([["Email", (u) => u.email], ["Name", (u) => u.display_name || "—"],
      ["Role", (u) => (owner ? roleSelect(u) : u.role)], ["Active", (u) => (u.is_active ? "yes" : "no")],
      ["", (u) => (owner ? h("button.secondary", { type: "button", onclick: action(async () => {
        await api("PATCH", `/v1/users/${u.id}`, { is_active: !u.is_active }); await show();
      }) }, u.is_active ? "Deactivate" : "Reactivate") : "")]], users));
  }
  function roleSelect(u) {
    const select = h("select", { "aria-label": `role of ${u.email}` }, ["member", "admin", "owner"].map((r) => h("option", { value: r, selected: r === u.role }, r)));
    select.addEventListener("change", action(async () => { await api("PATCH", `/v1/users/${u.id}`, { role: select.value }); toast("Role changed"); }));
    return select;
  }
  if (owner) {
    const email = h("input", { type: "email", name: "email", required: true });
    const password = h("input", { type: "password", name: "password", required: true, autocomplete: "new-password" });
    const role = h("select", { name: "role" }, ["member", "admin", "owner"].map((r) => h("option", { value: r }, r)));
    const form = h("form.card", { "aria-labelledby": "new-user" }, h("h2", { id: "new-user" }, "Invite a team member"),
      field("Email", email), field("Password", password, "At least the length the server asks for"), field("Role", role),
      h("button", { type: "submit" }, "Add user"));
    form.addEventListener("submit", action(async (event) => {
      event.preventDefault();
      await api("POST", "/v1/users", { email: email.value, password: password.value, role: role.value });
      form.reset(); toast("User added"); await show();
    }));
    main.append(form);
  }
  main.append(h("h2", {}, "Team"), listing);
  await show();
}

export async function settingsPage(main) {
  main.append(h("h1", {}, "Settings"));
  const me = await api("GET", "/v1/tenants/me");
  const rows = Object.entries(me.limits).map(([name, limit]) => ({ name, limit, used: me.usage[name] }));
  main.append(h("section.card", { "aria-labelledby": "tenant-title" }, h("h2", { id: "tenant-title" }, "Tenant"),
    h("dl.counts", {}, h("div", {}, h("dt", {}, "Name"), h("dd", {}, me.tenant.name)), h("div", {}, h("dt", {}, "Slug"), h("dd", {}, me.tenant.slug)),
      h("div", {}, h("dt", {}, "Plan"), h("dd", {}, me.tenant.plan)), h("div", {}, h("dt", {}, "Created"), h("dd", {}, when(me.tenant.created_at))))),
  h("h2", {}, "Quotas and limits in use"),
  table([["Limit", (r) => r.name.replaceAll("_", " ")], ["Allowed", (r) => String(r.limit)],
    ["Used now", (r) => (r.used === undefined ? "—" : String(r.used))],
    ["", (r) => (r.used === undefined ? "" : h("meter", { min: "0", max: String(r.limit || 1), value: String(r.used), "aria-label": `${r.name} used` }))]], rows));
}
