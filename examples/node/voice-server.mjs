// A Sentinel voice-approval server in one Node process: the gateway (SQLite store, Groq
// scorer, Telnyx voice approver) and the Telnyx webhook endpoint, on node:http. The gateway
// comes from a configuration file when SENTINEL_CONFIG names one (the same file the
// `sentinel` CLI and sentinel-server read), else from the configuration below, whose
// secrets and numbers come from the environment. Needs real credentials (see
// sentinel-node/README.md):
//
//   GROQ_API_KEY=... TELNYX_API_KEY=... TELNYX_CONNECTION_ID=... TELNYX_PHONE_NUMBER=+1...
//   ADMIN_PHONE_NUMBER=+1... TELNYX_PUBLIC_KEY=... SENTINEL_PUBLIC_URL=https://your.host \
//   node examples/node/voice-server.mjs
//
// then POST an action to /guard to have the admin phoned about it.
import { createServer } from 'node:http';
import { Gateway, SentinelError } from 'sentinel-guard';

const gw = await Gateway.fromConfig(process.env.SENTINEL_CONFIG ?? {
  store: { url: process.env.SENTINEL_DB ?? 'sqlite://sentinel.db' }, // pending approvals survive restarts
  scorer: { kind: 'groq' },       // GROQ_API_KEY (and GROQ_BASE_URL, GROQ_MODEL)
  approver: { kind: 'telnyx' },   // TELNYX_*, ADMIN_PHONE_NUMBER, SENTINEL_PUBLIC_URL
});

/** The whole request body, as raw bytes (the webhook signature covers them exactly). */
async function body(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const server = createServer(async (req, res) => {
  if (req.method === 'POST' && req.url === '/api/telnyx/webhook') {
    res.writeHead(await gw.handleTelnyxWebhook(req.headers, await body(req))).end();
    return;
  }
  if (req.method === 'POST' && req.url === '/guard') {
    try {
      const action = JSON.parse((await body(req)).toString('utf8'));
      const result = await gw.guard(action, async () => ({ ran: action.action }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
    } catch (err) {
      const code = err instanceof SentinelError ? err.code : 'ERROR';
      res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ code, message: err.message }));
    }
    return;
  }
  res.writeHead(404).end();
});

server.listen(Number(process.env.PORT ?? 3000), () => console.log(`listening on :${server.address().port}`));
