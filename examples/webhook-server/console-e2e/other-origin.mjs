// A second origin for the browser tests: pages that are not the console. One tries a
// cross-origin POST with the operator's cookie (CSRF); the other is a minimal browser
// dashboard that reads /api/sentinel/status with a bearer key, as the original React
// dashboard did, allowed by SENTINEL_CORS_ORIGINS.

import http from 'node:http';

const csrf = `<!doctype html><meta charset="utf-8"><title>not the console</title>
<p id="out">sending</p>
<script>
const q = new URLSearchParams(location.search);
// A "simple" request (text/plain, no preflight) that carries the cookie: the classic CSRF.
fetch(q.get('target') + '/api/sentinel/actions/' + q.get('id') + '/resolve', {
  method: 'POST', mode: 'no-cors', credentials: 'include',
  headers: { 'content-type': 'text/plain' },
  body: JSON.stringify({ decision: 'approve', reason: 'csrf' }),
}).then(() => { document.getElementById('out').textContent = 'sent'; },
        (e) => { document.getElementById('out').textContent = 'sent (' + e.message + ')'; });
</script>`;

const dashboard = `<!doctype html><meta charset="utf-8"><title>other dashboard</title>
<h1>Status</h1><p id="status">loading</p>
<script>
const q = new URLSearchParams(location.search);
async function poll() {
  try {
    const r = await fetch(q.get('target') + '/api/sentinel/status', { headers: { authorization: 'Bearer ' + q.get('key') } });
    const s = await r.json();
    document.getElementById('status').textContent = s.status.startsWith('BLOCKED') ? 'BLOCKED' : s.status;
  } catch (e) {
    document.getElementById('status').textContent = 'refused by the browser';
  }
  setTimeout(poll, 200);
}
poll();
</script>`;

/** Starts the server on a free loopback port; resolves to { port, close }. */
export function start() {
  const server = http.createServer((req, res) => {
    const page = req.url.startsWith('/csrf.html') ? csrf : req.url.startsWith('/dashboard.html') ? dashboard : null;
    res.writeHead(page ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page ?? 'not found');
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ port: server.address().port, close: () => server.close() }));
  });
}
