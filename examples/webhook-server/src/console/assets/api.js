// The console's calls to the server: same origin, the session cookie, JSON.

let onSignedOut = () => {};

/** What to do when the server says the session is gone (401). */
export function whenSignedOut(handler) {
  onSignedOut = handler;
}

/** A request; resolves to the JSON answer (or null), rejects with the server's message. */
export async function request(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: {} };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) {
    const message = data?.error?.message ?? `HTTP ${response.status}`;
    if (response.status === 401 && path !== '/console/session') onSignedOut();
    const error = new Error(message);
    error.status = response.status;
    throw error;
  }
  return data;
}

export const get = (path) => request('GET', path);
export const post = (path, body) => request('POST', path, body ?? {});
