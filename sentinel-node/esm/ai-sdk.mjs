// ES module entry point of `sentinel-guard/ai-sdk`: re-exports the CommonJS build, so that
// `import` and `require` share one native addon and one set of classes.
import cjs from '../dist/ai-sdk.js';

export const { sentinelToolApproval, INTEGRATION } = cjs;

export default cjs;
