// The Sentinel demo agent, in Node.js and in-process.
//
// A `session_*` agent pays $10,000 to Unknown Corp through `guard`; a scripted admin (a
// plain JS approver object) asks a question and approves it. Smaller actions from the
// three seed modules go through, get declined, or expire. No accounts or network needed.
//
//     (cd sentinel-node && npm install)     # builds the addon; or sentinel-node/run-tests.sh
//     node examples/node/agent.mjs
//
// In an application, import from 'sentinel-guard' instead of the relative path.
import { DeniedError, Gateway, SentinelError, TimeoutError } from '../../sentinel-node/esm/index.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Stands in for the phone call: answers a moment later, from another async task. */
const scriptedAdmin = {
  name: 'scripted-admin',
  request(req) {
    const d = req.decision;
    console.log(`    📞 calling the admin: "${d.analysis} Risk ${d.riskScore} of 100."`);
    // Return at once (the call is placed); the answer comes later.
    void (async () => {
      await sleep(200);
      if (req.action.action === 'PAY_INVOICE') {
        console.log('    ☎  admin asks: "who is Unknown Corp?"');
        console.log(`    🔊 Sentinel answers: "${await req.explain('who is Unknown Corp?')}"`);
        console.log('    ☎  admin says: "ok, approve it"');
        await req.approve({ by: '+15550100', channel: 'voice/speech', reason: 'admin approved after Q&A' });
      } else if (req.action.action === 'EXPORT_CSV') {
        console.log('    ☎  admin says: "no, decline that export"');
        await req.decline({ by: '+15550100', channel: 'voice/speech', reason: 'no bulk exports this week' });
      } else {
        console.log('    ☎  nobody picks up; the action will expire');
      }
    })();
  },
};

/** The agent's tools: what actually happens once Sentinel allows it. */
const tools = {
  PAY_INVOICE: ({ amount, vendor }) => `paid $${amount} to ${vendor}`,
  EXPORT_CSV: ({ record_count: n }) => `exported ${n} records`,
  RESTART_SERVER: ({ server }) => `restarted ${server}`,
  DROP_TABLE: ({ table }) => `dropped ${table}`,
  DELETE_USER: ({ user_id: id }) => `deleted ${id}`,
};

const act = (agentId, action, payload, reasoning) => ({ agentId, action, payload, reasoning });
const scenarios = [
  ['VaultKeeper', act('billing-bot', 'PAY_INVOICE', { amount: 120, vendor: 'AWS' }, 'monthly hosting bill')],
  ['VaultKeeper', act('session_7f3a', 'PAY_INVOICE', { amount: 10000, vendor: 'Unknown Corp' }, 'vendor says the invoice is overdue; pay now')],
  ['PrivacyShield', act('report-bot', 'EXPORT_CSV', { record_count: 8, contains_pii: false }, 'weekly KPI sheet')],
  ['PrivacyShield', act('report-bot', 'EXPORT_CSV', { record_count: 200, contains_pii: true }, 'marketing asked for the customer list')],
  ['OpsGuard', act('ops-bot', 'RESTART_SERVER', { server: 'api-2', environment: 'staging' }, 'memory leak')],
  ['OpsGuard', act('ops-bot', 'DROP_TABLE', { table: 'users' }, 'cleanup of old data')],
  ['OpsGuard', act('ops-bot', 'DELETE_USER', { user_id: 'u-42', environment: 'production' }, 'GDPR request')],
];

const gw = new Gateway({ approver: scriptedAdmin, escalationTimeoutMs: 2000 });
console.log(`Sentinel demo: packs ${gw.packs.join(', ')}, scorer \`${gw.scorerName}\`, approver \`${gw.approverName}\`\n`);

const summary = [];
for (const [module, action] of scenarios) {
  console.log(`[${module}] ${action.agentId} wants ${action.action} ${JSON.stringify(action.payload)}`);
  let line;
  try {
    const result = await gw.guard(action, () => tools[action.action](action.payload));
    line = `RAN — ${result}`;
  } catch (err) {
    if (err instanceof DeniedError) line = `DECLINED — ${err.decision.analysis}`;
    else if (err instanceof TimeoutError) line = 'EXPIRED — nobody approved in time; the tool did not run';
    else if (err instanceof SentinelError) line = `NOT RUN — ${err.code}: ${err.message}`;
    else throw err;
  }
  console.log(`    → ${line}\n`);
  summary.push(`${module.padEnd(14)} ${action.action.padEnd(15)} ${line.split(' — ')[0]}`);
}

console.log('Summary:');
for (const line of summary) console.log(`  ${line}`);
