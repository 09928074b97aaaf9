// Usage: tokens and cost per day, per model, per bot, and the feedback trend, drawn with uPlot
// (vendored under vendor/, MIT: vendor/uPlot.LICENSE.txt).
import { api } from "./api.js";
import { h, table } from "./ui.js";
import uPlot from "./vendor/uPlot.esm.js";

const DAYS = 14;

function daySeconds(day) { return Date.parse(`${day}T00:00:00Z`) / 1000; }

function chart(title, days, series) {
  const box = h("figure.chart", { "aria-label": title }, h("figcaption", {}, title));
  const width = Math.min(1000, Math.max(280, document.getElementById("main").clientWidth - 40));
  const data = [days.map(daySeconds), ...series.map((s) => s.values)];
  const plot = new uPlot({
    width, height: 220, scales: { x: { time: true } },
    series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, fill: `${s.color}22` }))],
    axes: [{}, { size: 60 }],
  }, data, box);
  box.dataset.points = String(days.length);
  box.append(h("p.visually-hidden", {}, `${title}: ${series.map((s) => `${s.label} ${s.values.join(", ")}`).join("; ")}`));
  void plot;
  return box;
}

function bars(title, rows, label, value, format = String) {
  const max = Math.max(1, ...rows.map(value));
  return h("figure.bars", { "aria-label": title }, h("figcaption", {}, title),
    rows.length ? h("ul", {}, rows.map((r) => h("li", {}, h("span.bar-label", {}, label(r)),
      h("meter", { min: "0", max: String(max), value: String(value(r)), "aria-label": label(r) }),
      h("span.bar-value", {}, format(value(r)))))) : h("p.muted", {}, "No usage in the window."));
}

export async function usagePage(main) {
  main.append(h("h1", {}, "Usage"), h("p.muted", {}, `The last ${DAYS} UTC days.`));
  const [daily, byModel, byBot, trend] = await Promise.all([
    api("GET", `/v1/stats/usage?days=${DAYS}`), api("GET", `/v1/stats/usage/by-model?days=${DAYS}`),
    api("GET", `/v1/stats/usage/by-bot?days=${DAYS}`), api("GET", `/v1/stats/feedback/trend?days=${DAYS}`)]);
  const days = daily.map((d) => d.date);
  // Cost per day: the priced usage of each day (the stats API prices per model and window).
  const costs = await Promise.all(days.map((d) => api("GET", `/v1/stats/usage/by-model?from=${d}&to=${d}`)
    .then((rows) => rows.reduce((sum, r) => sum + (r.cost_usd || 0), 0))));
  const money = (v) => `$${Number(v || 0).toFixed(4)}`;
  main.append(h("div.stack", {},
    chart("Tokens per day", days, [{ label: "prompt", color: "#2563eb", values: daily.map((d) => d.prompt_tokens) },
      { label: "completion", color: "#16a34a", values: daily.map((d) => d.completion_tokens) }]),
    chart("Cost per day (USD)", days, [{ label: "cost", color: "#b45309", values: costs }]),
    chart("Feedback per day", trend.map((d) => d.date), [{ label: "positive", color: "#16a34a", values: trend.map((d) => d.positive) },
      { label: "negative", color: "#dc2626", values: trend.map((d) => d.negative) }])),
  h("div.grid", {},
    bars("Tokens per model", byModel, (r) => r.model, (r) => r.total_tokens),
    bars("Tokens per bot", byBot, (r) => `${r.bot_name || "(no bot)"} · ${r.model}`, (r) => r.total_tokens)),
  h("h2", {}, "Cost per model"),
  table([["Model", (r) => r.model], ["Requests", (r) => String(r.requests)], ["Tokens", (r) => String(r.total_tokens)],
    ["Cost", (r) => (r.cost_usd === null ? "unknown price" : money(r.cost_usd))]], byModel, "No usage in the window."));
}
