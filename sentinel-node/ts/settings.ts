/**
 * Configuration of the core's own scorer, approver and store: checks the shape of the
 * `groq`, `telnyx` and `store` options and hands them to the native addon, which checks
 * their values (and reads the environment) exactly as the core does.
 *
 * @module
 */

import type { GroqOptions as NativeGroq, TelnyxOptions as NativeTelnyx } from '../native';
import { ConfigError } from './errors';
import type { GroqOptions, TelnyxOptions } from './types';

type Kind = 'string' | 'number' | 'string[]';

const GROQ: Record<keyof GroqOptions, Kind> = {
  apiKey: 'string',
  baseUrl: 'string',
  model: 'string',
  timeoutMs: 'number',
  connectTimeoutMs: 'number',
  deadlineMs: 'number',
  maxRetries: 'number',
  retryBackoffMs: 'number',
  concurrency: 'number',
  cacheTtlMs: 'number',
  redactPaths: 'string[]',
};

const TELNYX: Record<keyof TelnyxOptions, Kind> = {
  apiKey: 'string',
  connectionId: 'string',
  fromNumber: 'string',
  adminNumber: 'string',
  publicKey: 'string',
  publicUrl: 'string',
  apiBase: 'string',
  pin: 'string',
  gatherTimeoutSecs: 'number',
  maxReplays: 'number',
  ringTimeoutSecs: 'number',
  callTimeLimitSecs: 'number',
  voice: 'string',
  language: 'string',
  redactPaths: 'string[]',
};

/**
 * `true` when `value` asks for the named built-in (`'groq'`, or `{ groq: {...} }` without
 * the custom object's `method`); any other string is a configuration error.
 */
export function isBuiltin(value: unknown, name: 'groq' | 'telnyx', method: 'assess' | 'request'): boolean {
  if (typeof value === 'string') {
    if (value === name) return true;
    const option = name === 'groq' ? 'scorer' : 'approver';
    throw new ConfigError(`invalid configuration \`${option}\`: the only built-in is '${name}', found '${value}'`);
  }
  return typeof value === 'object' && value !== null && name in value
    && typeof (value as Record<string, unknown>)[method] !== 'function';
}

/** The Groq scorer's settings from `scorer: 'groq'` or `scorer: { groq: {...} }`. */
export function groqSettings(scorer: unknown): NativeGroq {
  return pick(scorer, 'groq', 'scorer', GROQ) as NativeGroq;
}

/** The Telnyx approver's settings from `approver: 'telnyx'` or `approver: { telnyx: {...} }`. */
export function telnyxSettings(approver: unknown): NativeTelnyx {
  return pick(approver, 'telnyx', 'approver', TELNYX) as NativeTelnyx;
}

/** Checks the `store` and `storeSchema` options (their values are checked natively). */
export function storeSettings(store: unknown, schema: unknown): { store?: string; storeSchema?: string } {
  if (store !== undefined && typeof store !== 'string') {
    throw new ConfigError(`invalid configuration \`store\`: must be a database URL or a file path, found ${typeof store}`);
  }
  if (schema !== undefined && typeof schema !== 'string') {
    throw new ConfigError(`invalid configuration \`storeSchema\`: must be a string, found ${typeof schema}`);
  }
  return { store, storeSchema: schema };
}

function pick(value: unknown, name: string, option: string, spec: Record<string, Kind>): Record<string, unknown> {
  if (value === name) return {};
  const settings = (value as Record<string, unknown>)[name];
  const path = `${option}.${name}`;
  if (Object.keys(value as object).length !== 1) {
    throw new ConfigError(`invalid configuration \`${option}\`: \`{ ${name}: {...} }\` takes no other key`);
  }
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) {
    throw new ConfigError(`invalid configuration \`${path}\`: must be an object of settings`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(settings)) {
    const kind = spec[key];
    if (kind === undefined) {
      throw new ConfigError(`invalid configuration \`${path}.${key}\`: unknown setting (known: ${Object.keys(spec).join(', ')})`);
    }
    if (v === undefined) continue;
    const ok = kind === 'string[]'
      ? Array.isArray(v) && v.every((s) => typeof s === 'string')
      : typeof v === kind;
    if (!ok) {
      throw new ConfigError(`invalid configuration \`${path}.${key}\`: must be a ${kind === 'string[]' ? 'list of strings' : kind}, found ${typeof v}`);
    }
    out[key] = v;
  }
  return out;
}

/** Request headers as Node (`req.headers`), the Fetch API (`Headers`) or pairs give them. */
export type WebhookHeaders =
  | Record<string, string | string[] | undefined>
  | Iterable<[string, string]>;

/** Headers as one string per lowercase name (the first value of a repeated header). */
export function headerMap(headers: WebhookHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  const add = (name: string, value: unknown) => {
    const v = Array.isArray(value) ? value[0] : value;
    const key = String(name).toLowerCase();
    if (typeof v === 'string' && !(key in out)) out[key] = v;
  };
  if (headers !== null && typeof headers === 'object' && Symbol.iterator in headers) {
    for (const [name, value] of headers as Iterable<[string, string]>) add(name, value);
  } else if (headers !== null && typeof headers === 'object') {
    for (const [name, value] of Object.entries(headers)) add(name, value);
  }
  return out;
}
