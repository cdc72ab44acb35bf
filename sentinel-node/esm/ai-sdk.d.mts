// Types of the ES module entry point: the same as the CommonJS build's.
export * from '../dist/ai-sdk.js';
import * as integration from '../dist/ai-sdk.js';
export default integration;
