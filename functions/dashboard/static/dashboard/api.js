// The API client of the dashboard: same origin, a JWT from POST /v1/auth/login in sessionStorage.
const KEY = "minirag.session";

export function session() {
  try { return JSON.parse(sessionStorage.getItem(KEY) || "null"); } catch { return null; }
}
export function saveSession(value) {
  if (value) sessionStorage.setItem(KEY, JSON.stringify(value)); else sessionStorage.removeItem(KEY);
}

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    const fields = (error.details || []).map((d) => d.field || (d.loc || []).join(".")).filter(Boolean);
    super((error.message || `HTTP ${status}`) + (fields.length ? ` (${fields.join(", ")})` : ""));
    this.status = status;
    this.code = error.code || "http_error";
  }
}

function headers(extra = {}) {
  const s = session();
  return { ...(s ? { authorization: `Bearer ${s.token}` } : {}), ...extra };
}

export async function api(method, path, body, { raw = false } = {}) {
  const init = { method, headers: headers() };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) { init.body = JSON.stringify(body); init.headers["content-type"] = "application/json"; }
  const response = await fetch(path, init);
  if (response.status === 401 && session()) { saveSession(null); location.hash = "#/signin"; }
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
  if (raw) return response;
  if (response.status === 204) return null;
  return response.json();
}

// Server-Sent Events from a POST (EventSource can only GET): yields {event, data}.
export async function* streamEvents(url, body, extraHeaders = {}) {
  const response = await fetch(url, {
    method: "POST", body: JSON.stringify(body),
    headers: { ...headers(), ...extraHeaders, "content-type": "application/json", accept: "text/event-stream" },
  });
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message", data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data += line.slice(5).trim();
      }
      yield { event, data: data ? JSON.parse(data) : null };
    }
  }
}

// Every page of a list (the API pages with X-Next-Cursor), up to `limit` items.
export async function list(path, limit = 500) {
  const items = [];
  let url = path;
  while (url && items.length < limit) {
    const response = await api("GET", url, undefined, { raw: true });
    items.push(...(await response.json()));
    const cursor = response.headers.get("x-next-cursor");
    url = cursor ? `${path}${path.includes("?") ? "&" : "?"}cursor=${encodeURIComponent(cursor)}` : null;
  }
  return items;
}
