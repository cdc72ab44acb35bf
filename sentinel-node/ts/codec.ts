/**
 * Decodes decisions as the native addon encodes them (`src/codec.rs`): the core's
 * `Decision` serialised by serde into its *shape* (structure and keys, numbered once) and
 * its leaf values. Nothing here names a field of a decision: each shape is compiled once
 * into a builder of the plain object, so a field added in the core arrives as it is.
 *
 * Text: `<template id>[!][+] \x1f <leaf> \x1f <leaf> ...`; `!`: leaves hold escaped `\x1f`
 * / `\x1b` (as `\x1bf` / `\x1bb`); `+`: two trailing leaves, the cause id and message of
 * a scorer error; head `=<shape>`: the shape inline (not cached). A template is the shape
 * with some leaves fixed (values that repeat, learnt by the encoder), written as literals
 * into the builder. Leaf codes: `0` string, `1` number, `2` boolean (`1` / `0`), `3` null
 * (no leaf); a fixed leaf is `=` + code + its value as a JSON string.
 *
 * @module
 */

import { decisionShape } from '../native';
import type { Decision } from './types';

const SEP = '\x1f';

/** Makes the `scorerError` of a decision from its message and the cause id behind it. */
export type ScorerErrorFactory = (message: string, causeId: number | undefined) => Error;

/** A compiled shape. */
interface Entry {
  build: (v: string[]) => unknown;
  escaped: boolean;
  trailer: boolean;
}

/**
 * A parsed template: a leaf code, a fixed leaf (its code and value), an array, or an
 * object's keys and values.
 */
type Node = number | Fixed | Node[] | { keys: string[]; values: Node[] };

interface Fixed {
  code: number;
  value: string;
}

const isFixed = (node: Node): node is Fixed => typeof node === 'object' && 'code' in node;

const entries = new Map<string, Entry>();

/** Decodes one encoded decision. */
export function decodeDecision(text: string, scorerError: ScorerErrorFactory): Decision {
  const v = text.split(SEP);
  const head = v[0] as string;
  const entry = entries.get(head) ?? compile(head);
  const decision = entry.build(entry.escaped ? v.map(unescape) : v) as Decision;
  if (entry.trailer) {
    const n = v.length;
    const cause = v[n - 2];
    const message = v[n - 1] as string;
    decision.scorerError = scorerError(entry.escaped ? unescape(message) : message, cause ? Number(cause) : undefined);
  }
  return decision;
}

function compile(head: string): Entry {
  let core = head;
  const trailer = core.endsWith('+');
  if (trailer) core = core.slice(0, -1);
  const escaped = core.endsWith('!');
  if (escaped) core = core.slice(0, -1);
  const inline = core.startsWith('=');
  const shape = inline ? core.slice(1) : decisionShape(Number(core));
  if (shape == null) throw new Error(`the native addon sent an unknown decision shape \`${core}\``);
  const node = parse(shape);
  const entry: Entry = { build: builder(node), escaped, trailer };
  if (!inline) entries.set(head, entry);
  return entry;
}

/** A function building the value of `node` from the leaves (`v[1]` onwards). */
function builder(node: Node): (v: string[]) => unknown {
  try {
    // Shallow literals, children first: what V8 builds fastest (a nested literal deeper
    // than three levels is cloned by the runtime, several times slower). The keys are JSON
    // string literals made by `JSON.stringify`, the rest is fixed text.
    const lines: string[] = [];
    const root = source(node, { next: 1 }, lines);
    return new Function('v', `${lines.join('\n')}\nreturn ${root};`) as (v: string[]) => unknown;
  } catch {
    // Code generation from strings disallowed (`--disallow-code-generation-from-strings`).
    return (v) => interpret(node, v, { next: 1 });
  }
}

/** The expression for `node`; objects and arrays become `const`s in `lines`. */
function source(node: Node, at: { next: number }, lines: string[]): string {
  if (isFixed(node)) return JSON.stringify(literal(node));
  if (typeof node === 'number') {
    switch (node) {
      case 0: return `v[${at.next++}]`;
      case 1: return `+v[${at.next++}]`;
      case 2: return `v[${at.next++}]==="1"`;
      default: return 'null';
    }
  }
  let text: string;
  if (Array.isArray(node)) {
    text = `[${node.map((n) => source(n, at, lines)).join(',')}]`;
  } else {
    const fields = node.keys.map((key, i) => {
      // `"__proto__": x` in a literal would set the prototype; a computed key defines it.
      const name = key === '__proto__' ? `[${JSON.stringify(key)}]` : JSON.stringify(key);
      return `${name}:${source(node.values[i] as Node, at, lines)}`;
    });
    text = `{${fields.join(',')}}`;
  }
  const name = `o${lines.length}`;
  lines.push(`const ${name}=${text};`);
  return name;
}

function interpret(node: Node, v: string[], at: { next: number }): unknown {
  if (isFixed(node)) return literal(node);
  if (typeof node === 'number') {
    switch (node) {
      case 0: return v[at.next++];
      case 1: return Number(v[at.next++]);
      case 2: return v[at.next++] === '1';
      default: return null;
    }
  }
  if (Array.isArray(node)) return node.map((n) => interpret(n, v, at));
  const out: Record<string, unknown> = {};
  node.keys.forEach((key, i) => {
    Object.defineProperty(out, key, {
      value: interpret(node.values[i] as Node, v, at), enumerable: true, writable: true, configurable: true,
    });
  });
  return out;
}

/** The value of a fixed leaf. */
function literal(node: Fixed): unknown {
  switch (node.code) {
    case 0: return node.value;
    case 1: return Number(node.value);
    default: return node.value === '1';
  }
}

/** Parses a template (JSON-like text with leaf codes), keeping the keys in their order. */
function parse(text: string): Node {
  let i = 0;
  const fail = (): never => {
    throw new Error(`unreadable decision shape at ${i}: \`${text}\``);
  };
  const value = (): Node => {
    const c = text[i];
    if (c === '[') {
      i++;
      const items: Node[] = [];
      if (text[i] === ']') { i++; return items; }
      for (;;) {
        items.push(value());
        if (text[i] === ',') i++;
        else if (text[i] === ']') { i++; return items; } else return fail();
      }
    }
    if (c === '{') {
      i++;
      const keys: string[] = [];
      const values: Node[] = [];
      if (text[i] === '}') { i++; return { keys, values }; }
      for (;;) {
        keys.push(key());
        if (text[i++] !== ':') fail();
        values.push(value());
        if (text[i] === ',') i++;
        else if (text[i] === '}') { i++; return { keys, values }; } else return fail();
      }
    }
    if (c !== undefined && c >= '0' && c <= '3') {
      i++;
      return Number(c);
    }
    if (c === '=') {
      const code = Number(text[i + 1]);
      i += 2;
      return { code, value: string() };
    }
    return fail();
  };
  const key = (): string => string();
  const string = (): string => {
    if (text[i] !== '"') fail();
    let j = i + 1;
    while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
    const k = JSON.parse(text.slice(i, j + 1)) as string;
    i = j + 1;
    return k;
  };
  const node = value();
  if (i !== text.length) fail();
  return node;
}

function unescape(field: string): string {
  return field.includes('\x1b') ? field.replace(/\x1b([fb])/g, (_, c: string) => (c === 'f' ? '\x1f' : '\x1b')) : field;
}
