/**
 * Decodes the native addon's compact decision encoding (see `src/codec.rs`) into a plain
 * {@link Decision} object: one string split in JS is several times cheaper than building
 * the object through Node-API.
 *
 * The encoding's *tail* (status, scorer outcome, rules, matched rules without their
 * reasons, packs) repeats from one action to the next; the last few parsed tails are kept,
 * keyed by their exact text, so that a repeat costs one string comparison. Every decoded
 * decision is made of fresh objects all the same.
 *
 * @module
 */

import type { Decision, DecisionStatus, PackRef, RuleMatch, ScorerOutcome } from './types';

const SEP = '\x1f';

/** A decoded decision and the id of the user error behind it. */
export interface Decoded {
  /** The decision. */
  decision: Decision;
  /** The id of a scorer error kept in the cause table, if any. */
  causeId: number | undefined;
}

/** A parsed tail; its objects are templates, copied into each decision. */
interface Tail {
  text: string;
  status: DecisionStatus;
  scorer: ScorerOutcome;
  rules: string[];
  matched: { rule: string; packVersion: string; effect: unknown }[];
  packs: PackRef[];
}

const TAILS = 8;
const tails: Tail[] = [];
let nextTail = 0;

/** Decodes one encoded decision. */
export function decode(text: string): Decoded {
  if (text.charCodeAt(0) !== 0x1f) return decodeEscaped(text);
  // The head, field by field: flag (empty), cause id, action id, risk, analysis, timings,
  // the count of matched rules and their reasons.
  let p = 1;
  let q = text.indexOf(SEP, p);
  const cause = text.slice(p, q);
  p = q + 1; q = text.indexOf(SEP, p);
  const actionId = text.slice(p, q);
  p = q + 1; q = text.indexOf(SEP, p);
  const riskScore = Number(text.slice(p, q));
  p = q + 1; q = text.indexOf(SEP, p);
  const analysis = text.slice(p, q);
  p = q + 1; q = text.indexOf(SEP, p);
  const rulesNs = Number(text.slice(p, q));
  p = q + 1; q = text.indexOf(SEP, p);
  const scorerNs = Number(text.slice(p, q));
  p = q + 1; q = text.indexOf(SEP, p);
  const totalNs = Number(text.slice(p, q));
  p = q + 1; q = text.indexOf(SEP, p);
  const count = Number(text.slice(p, q));
  const reasons: string[] = [];
  for (let n = count; n > 0; n--) {
    p = q + 1; q = text.indexOf(SEP, p);
    reasons.push(text.slice(p, q));
  }
  const tailText = text.slice(q + 1);
  let tail: Tail | undefined;
  for (let i = 0; i < tails.length; i++) {
    if (tails[i]!.text === tailText) {
      tail = tails[i];
      break;
    }
  }
  if (tail === undefined) {
    tail = parseTail(tailText.split(SEP), 0, count, tailText);
    tails[nextTail] = tail;
    nextTail = (nextTail + 1) % TAILS;
  }
  const matched: RuleMatch[] = [];
  for (let i = 0; i < count; i++) {
    const m = tail.matched[i]!;
    matched.push({ rule: m.rule, packVersion: m.packVersion, effect: copy(m.effect), reason: reasons[i]! });
  }
  const packs: PackRef[] = [];
  for (const r of tail.packs) packs.push({ name: r.name, version: r.version, hash: r.hash });
  const decision: Decision = {
    actionId,
    status: tail.status,
    riskScore,
    analysis,
    rules: tail.rules.slice(),
    matched,
    packs,
    scorer: { ...tail.scorer },
    timings: { rulesNs, scorerNs, totalNs },
  };
  return { decision, causeId: cause === '' ? undefined : Number(cause) };
}

/** The slow path, for text with escaped separators (never cached). */
function decodeEscaped(text: string): Decoded {
  const f = text.split(SEP).map(unescape);
  const count = Number(f[8]);
  const reasons = f.slice(9, 9 + count);
  const tail = parseTail(f, 9 + count, count, '');
  const decision: Decision = {
    actionId: f[2] as string,
    status: tail.status,
    riskScore: Number(f[3]),
    analysis: f[4] as string,
    rules: tail.rules,
    matched: tail.matched.map((m, i) => ({ ...m, reason: reasons[i] as string })),
    packs: tail.packs,
    scorer: tail.scorer,
    timings: { rulesNs: Number(f[5]), scorerNs: Number(f[6]), totalNs: Number(f[7]) },
  };
  return { decision, causeId: f[1] === '' ? undefined : Number(f[1]) };
}

/** Parses the tail fields of `f` from index `i`, for `count` matched rules. */
function parseTail(f: string[], i: number, count: number, text: string): Tail {
  const status = f[i++] as DecisionStatus;
  const outcome = f[i++] as ScorerOutcome['outcome'];
  let scorer: ScorerOutcome;
  if (outcome === 'skipped') scorer = { outcome, reason: f[i++] };
  else if (outcome === 'assessed') scorer = { outcome, scorer: f[i++] };
  else if (outcome === 'failed') scorer = { outcome, scorer: f[i++], error: f[i++] };
  else scorer = { outcome };
  let rules: string[] | undefined;
  if (f[i] === '=') i++;
  else {
    rules = [];
    for (let n = Number(f[i++]); n > 0; n--) rules.push(f[i++] as string);
  }
  const matched: Tail['matched'] = [];
  for (let n = count; n > 0; n--) {
    matched.push({ rule: f[i++] as string, packVersion: f[i++] as string, effect: effect(f[i++] as string) });
  }
  const packs: PackRef[] = [];
  for (let n = Number(f[i++]); n > 0; n--) {
    packs.push({ name: f[i++] as string, version: f[i++] as string, hash: f[i++] as string });
  }
  return { text, status, scorer, rules: rules ?? matched.map((m) => m.rule), matched, packs };
}

/** A rule effect (the JSON form of the core's `Effect`) from `name` or `name:number`. */
function effect(text: string): unknown {
  const colon = text.indexOf(':');
  if (colon < 0) return text;
  const n = Number(text.slice(colon + 1));
  switch (text.slice(0, colon)) {
    case 'set_risk':
      return { set_risk: n };
    case 'risk_floor':
      return { risk_floor: n };
    case 'risk_ceiling':
      return { risk_ceiling: n };
    default:
      return { [text.slice(0, colon)]: n };
  }
}

/** A fresh copy of a (flat) effect. */
function copy(effect: unknown): unknown {
  return typeof effect === 'object' && effect !== null ? { ...effect } : effect;
}

function unescape(field: string): string {
  return field.includes('\x1b') ? field.replace(/\x1b([fb])/g, (_, c: string) => (c === 'f' ? '\x1f' : '\x1b')) : field;
}
