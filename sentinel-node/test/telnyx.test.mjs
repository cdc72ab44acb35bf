// The Telnyx voice approver as configuration: a fake Telnyx API on 127.0.0.1 records the
// calls placed; webhooks signed with node:crypto Ed25519 drive the call to a decision.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { ApproverError, ConfigError, Gateway, InputError } from 'sentinel-guard';
import { bigPayment, fakeServer, until, withEnv } from './helpers.mjs';

const API_KEY = 'KEYtest0123456789abcdefghij';
const CONNECTION = '1494404757140276705';
const FROM = '+15550000001';
const ADMIN = '+15550000002';

/** An Ed25519 key pair standing in for Telnyx's; `publicKey` as Telnyx shows it (base64 of 32 bytes). */
function keys() {
  const pair = generateKeyPairSync('ed25519');
  const der = pair.publicKey.export({ type: 'spki', format: 'der' });
  return { privateKey: pair.privateKey, publicKey: der.subarray(der.length - 32).toString('base64') };
}

/** A fake Telnyx Call Control API: dials answer with call ids; `failDial` makes them fail. */
async function fakeTelnyx({ failDial = false } = {}) {
  let calls = 0;
  const server = await fakeServer((req) => {
    if (req.path === '/v2/calls') {
      if (failDial) {
        return { status: 422, body: { errors: [{ code: '10010', title: 'Invalid connection', detail: 'connection_id is not valid' }] } };
      }
      calls += 1;
      return { body: { data: { call_control_id: `v3:call-${calls}`, call_leg_id: `leg-${calls}`,
        call_session_id: `session-${calls}`, is_alive: false, record_type: 'call' } } };
    }
    return { body: { data: { result: 'ok' } } };
  });
  return { ...server, base: `${server.url}/v2` };
}

function gateway(fake, publicKey, extra = {}) {
  return new Gateway({
    approver: { telnyx: { apiKey: API_KEY, connectionId: CONNECTION, fromNumber: FROM, adminNumber: ADMIN,
      publicKey, publicUrl: 'https://sentinel.example.com', apiBase: fake.base, ...extra } },
  });
}

let nextEvent = 1;
/** A webhook envelope for the first call, echoing the latest command's client state. */
function event(fake, eventType, extra = {}) {
  const last = fake.seen[fake.seen.length - 1];
  return JSON.stringify({
    data: { record_type: 'event', event_type: eventType, id: `evt-${nextEvent++}`,
      occurred_at: new Date().toISOString(),
      payload: { call_control_id: 'v3:call-1', call_leg_id: 'leg-1', call_session_id: 'session-1',
        client_state: last?.body?.client_state ?? null, connection_id: CONNECTION, from: FROM, to: ADMIN, ...extra } },
    meta: { attempt: 1, delivered_to: 'https://sentinel.example.com/api/telnyx/webhook' },
  });
}

/** Node-style request headers signing `body` with `privateKey` now. */
function signed(privateKey, body, timestamp = Math.floor(Date.now() / 1000)) {
  const signature = sign(null, Buffer.from(`${timestamp}|${body}`), privateKey).toString('base64');
  return { 'content-type': 'application/json', 'telnyx-signature-ed25519': signature, 'telnyx-timestamp': String(timestamp) };
}

test('telnyx: an escalated action dials the admin; a signed key press 1 runs the function', async () => {
  const fake = await fakeTelnyx();
  const { privateKey, publicKey } = keys();
  try {
    const gw = gateway(fake, publicKey);
    assert.equal(gw.approverName, 'telnyx-voice');
    let runs = 0;
    const guarded = gw.guard(bigPayment(), async () => { runs += 1; return 'paid'; });

    const dial = await until(() => fake.seen.find((r) => r.path === '/v2/calls'));
    assert.equal(dial.method, 'POST');
    assert.equal(dial.headers.authorization, `Bearer ${API_KEY}`);
    assert.equal(dial.body.connection_id, CONNECTION);
    assert.equal(dial.body.to, ADMIN);
    assert.equal(dial.body.from, FROM);
    assert.equal(dial.body.webhook_url, 'https://sentinel.example.com/api/telnyx/webhook');
    assert.ok(typeof dial.body.command_id === 'string' && dial.body.command_id !== '');
    const state = JSON.parse(Buffer.from(dial.body.client_state, 'base64').toString('utf8'));
    const actionId = state.action_id;
    assert.equal((await gw.status(actionId)).state, 'BLOCKED_AWAITING_AUTH');

    // Forged (another key) and tampered webhooks: 401, nothing sent, nothing decided.
    const answered = event(fake, 'call.answered', { state: 'answered' });
    assert.equal(await gw.handleTelnyxWebhook(signed(keys().privateKey, answered), Buffer.from(answered)), 401);
    const tampered = answered.replace('call.answered', 'call.hangup');
    assert.equal(await gw.handleTelnyxWebhook(signed(privateKey, answered), Buffer.from(tampered)), 401);
    const stale = Math.floor(Date.now() / 1000) - 3600;
    assert.equal(await gw.handleTelnyxWebhook(signed(privateKey, answered, stale), Buffer.from(answered)), 401);
    assert.equal(fake.seen.length, 1);
    assert.equal((await gw.status(actionId)).state, 'BLOCKED_AWAITING_AUTH');

    // Answered: the menu is spoken.
    assert.equal(await gw.handleTelnyxWebhook(signed(privateKey, answered), Buffer.from(answered)), 200);
    const menu = fake.seen[fake.seen.length - 1];
    assert.equal(menu.path, '/v2/calls/v3:call-1/actions/gather_using_speak');
    assert.match(menu.body.payload, /Press 1 to approve/);
    assert.equal(menu.body.valid_digits, '12');

    // Key 1: approved by the admin's number via voice/dtmf, and the guard runs the function.
    const pressed = event(fake, 'call.gather.ended', { digits: '1', status: 'valid' });
    const headers = new Map(Object.entries(signed(privateKey, pressed))); // a Fetch-style header list works too
    assert.equal(await gw.handleTelnyxWebhook(headers, new Uint8Array(Buffer.from(pressed))), 200);
    assert.equal(await guarded, 'paid');
    assert.equal(runs, 1);
    const status = await gw.status(actionId);
    assert.equal(status.approval.approved, true);
    assert.equal(status.approval.by, ADMIN);
    assert.equal(status.approval.channel, 'voice/dtmf');
    const trail = await gw.auditTrail(actionId);
    assert.ok(trail.some((e) => e.to === 'APPROVED' && e.actor === ADMIN && e.channel === 'voice/dtmf'), JSON.stringify(trail));
    const confirm = fake.seen[fake.seen.length - 1];
    assert.equal(confirm.path, '/v2/calls/v3:call-1/actions/speak');
    assert.match(confirm.body.payload, /^Approved\./);
    const spoken = event(fake, 'call.speak.ended', { status: 'completed' });
    assert.equal(await gw.handleTelnyxWebhook(signed(privateKey, spoken), Buffer.from(spoken)), 200);
    assert.equal(fake.seen[fake.seen.length - 1].path, '/v2/calls/v3:call-1/actions/hangup');

    // The same event again is acknowledged (200) and changes nothing.
    const before = fake.seen.length;
    assert.equal(await gw.handleTelnyxWebhook(signed(privateKey, pressed), Buffer.from(pressed)), 200);
    assert.equal(fake.seen.length, before);
  } finally {
    await fake.close();
  }
});

test('telnyx: a failing dial fails the action closed; the function never runs', async () => {
  const fake = await fakeTelnyx({ failDial: true });
  try {
    const gw = gateway(fake, keys().publicKey);
    let ran = false;
    const err = await gw.guard(bigPayment(), () => { ran = true; }).then(() => null, (e) => e);
    assert.ok(err instanceof ApproverError, String(err));
    assert.equal(err.code, 'SENTINEL_APPROVER_FAILED');
    assert.equal(ran, false);
    assert.equal((await gw.status(err.actionId)).state, 'ERROR_APPROVER');
    assert.equal(fake.seen.filter((r) => r.path === '/v2/calls').length, 1);
  } finally {
    await fake.close();
  }
});

const TELNYX_ENV = ['TELNYX_API_KEY', 'TELNYX_CONNECTION_ID', 'TELNYX_PHONE_NUMBER', 'ADMIN_PHONE_NUMBER',
  'TELNYX_PUBLIC_KEY', 'SENTINEL_PUBLIC_URL', 'TELNYX_API_BASE', 'TELNYX_APPROVAL_PIN'];
const unset = Object.fromEntries(TELNYX_ENV.map((k) => [k, undefined]));

test("telnyx: approver: 'telnyx' reads the environment; bad settings are ConfigErrors naming them", async () => {
  const { publicKey } = keys();
  await withEnv(unset, async () => {
    assert.throws(() => new Gateway({ approver: 'telnyx' }), (e) => e instanceof ConfigError && e.setting === 'TELNYX_PUBLIC_KEY');
    const base = { apiKey: API_KEY, connectionId: CONNECTION, fromNumber: FROM, adminNumber: ADMIN, publicKey };
    const cases = [
      [{ ...base, adminNumber: undefined }, 'approver.telnyx.adminNumber'],
      [{ ...base, adminNumber: '555-1234' }, 'approver.telnyx.adminNumber'],
      [{ ...base, publicKey: 'not base64!' }, 'approver.telnyx.publicKey'],
      [{ ...base, pin: '12ab' }, 'approver.telnyx.pin'],
      [{ ...base, maxReplays: 99 }, 'approver.telnyx.maxReplays'],
      [{ ...base, apiBase: 'ftp://x' }, 'approver.telnyx.apiBase'],
      [{ ...base, adminnumber: ADMIN }, 'approver.telnyx.adminnumber'],
    ];
    for (const [telnyx, setting] of cases) {
      assert.throws(() => new Gateway({ approver: { telnyx } }), (e) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.equal(e.code, 'SENTINEL_INVALID_CONFIG');
        assert.equal(e.setting, setting, e.message);
        assert.ok(!e.message.includes(API_KEY) && !e.message.includes('12ab'), e.message);
        return true;
      });
    }
  });
  await withEnv({ ...unset, TELNYX_API_KEY: API_KEY, TELNYX_CONNECTION_ID: CONNECTION, TELNYX_PHONE_NUMBER: FROM,
    ADMIN_PHONE_NUMBER: ADMIN, TELNYX_PUBLIC_KEY: publicKey }, async () => {
    assert.equal(new Gateway({ approver: 'telnyx' }).approverName, 'telnyx-voice');
    assert.throws(() => new Gateway({ approver: { telnyx: { pin: 'x' } } }), (e) => e.setting === 'approver.telnyx.pin');
  });
  const plain = new Gateway();
  await assert.rejects(plain.handleTelnyxWebhook({}, Buffer.from('{}')), (e) => e.code === 'SENTINEL_UNSUPPORTED');
  await assert.rejects(plain.handleTelnyxWebhook({}, '{}'), InputError);
});
