// ES module entry point of `sentinel-guard/openai-agents`: re-exports the CommonJS build, so
// that `import` and `require` share one native addon and one set of classes.
import cjs from '../dist/openai-agents.js';

export const { sentinelInputGuardrail, sentinelNeedsApproval, INTEGRATION } = cjs;

export default cjs;
