// The same from CommonJS: `require('sentinel-guard/ai-sdk')` has its types.
import aiSdk = require('sentinel-guard/ai-sdk');
import agents = require('sentinel-guard/openai-agents');
import sentinel = require('sentinel-guard');

declare const gateway: sentinel.Gateway;
const approve: (request: aiSdk.AiSdkToolApprovalRequest) => Promise<aiSdk.AiSdkApproval> = aiSdk.sentinelToolApproval(gateway);
const guardrail: agents.SentinelInputGuardrail = agents.sentinelInputGuardrail(gateway);
void approve;
void guardrail;
