/**
 * Decodes the native addon's compact decision encoding (see `src/codec.rs`) into a plain
 * {@link Decision} object: one string split in JS is several times cheaper than building
 * the object through Node-API.
 *
 * @module
 */

import type { Decision, DecisionStatus, PackRef, RuleMatch, ScorerOutcome } from './types';

const SEP = '\x1f';
const effects = new Map<string, unknown>();

/** A decoded decision and the id of the user error behind it. */
export interface Decoded {
  /** The decision. */
  decision: Decision;
  /** The id of a scorer error kept in the cause table, if any. */
  causeId: number | undefined;
}

/** Decodes one encoded decision. */
export function decode(text: string): Decoded {
  let f = text.split(SEP);
  if (f[0] === 'E') f = f.map(unescape);
  let i = 6;
  const outcome = f[i++] as ScorerOutcome['outcome'];
  let scorer: ScorerOutcome;
  if (outcome === 'skipped') scorer = { outcome, reason: f[i++] };
  else if (outcome === 'assessed') scorer = { outcome, scorer: f[i++] };
  else if (outcome === 'failed') scorer = { outcome, scorer: f[i++], error: f[i++] };
  else scorer = { outcome };
  const timings = { rulesNs: Number(f[i++]), scorerNs: Number(f[i++]), totalNs: Number(f[i++]) };
  const rules: string[] = [];
  for (let n = Number(f[i++]); n > 0; n--) rules.push(f[i++] as string);
  const matched: RuleMatch[] = [];
  for (let n = Number(f[i++]); n > 0; n--) {
    matched.push({ rule: f[i++] as string, packVersion: f[i++] as string, effect: effect(f[i++] as string), reason: f[i++] as string });
  }
  const packs: PackRef[] = [];
  for (let n = Number(f[i++]); n > 0; n--) {
    packs.push({ name: f[i++] as string, version: f[i++] as string, hash: f[i++] as string });
  }
  const decision: Decision = {
    actionId: f[2] as string,
    status: f[3] as DecisionStatus,
    riskScore: Number(f[4]),
    analysis: f[5] as string,
    rules,
    matched,
    packs,
    scorer,
    timings,
  };
  return { decision, causeId: f[1] === '' ? undefined : Number(f[1]) };
}

/** A rule effect from its JSON text; a fresh copy each time, parsed once. */
function effect(json: string): unknown {
  let value = effects.get(json);
  if (value === undefined) {
    value = JSON.parse(json);
    if (effects.size < 256) effects.set(json, value);
  }
  return typeof value === 'object' && value !== null ? { ...value } : value;
}

function unescape(field: string): string {
  return field.includes('\x1b') ? field.replace(/\x1b([fb])/g, (_, c: string) => (c === 'f' ? '\x1f' : '\x1b')) : field;
}
