// Types of the ES module entry point: the same as the CommonJS build's.
export * from '../dist/openai-agents.js';
import * as integration from '../dist/openai-agents.js';
export default integration;
