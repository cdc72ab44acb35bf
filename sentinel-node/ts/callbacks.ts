/**
 * Custom scorers and approvers: wraps the user's methods into callbacks the native addon
 * calls from its threads. Wrapped callbacks never reject: they resolve to a reply, and a
 * user error is kept in a {@link CauseTable}. Its id becomes the source of the core's
 * scorer or approver error, and comes back with whatever error or decision that leads to,
 * so that the very object thrown can be set as `cause`.
 *
 * @module
 */

import { ConfigError, messageOf } from './errors';
import type { Action, ActionStatus, Approver, Decision, RiskScorer } from './types';
import type { ApprovalCall, AssessCall, CallbackReply, ExplainCall } from '../native';

/** Most user errors kept at once; older ones are dropped when nobody claimed them. */
const MAX_CAUSES = 1024;

/** User errors thrown inside callbacks, by id, until the call they failed claims them. */
export class CauseTable {
  #next = 1;
  readonly #errors = new Map<number, unknown>();

  /** Keeps `error`; returns its id. */
  put(error: unknown): number {
    const id = this.#next++;
    if (this.#next > 0x7fffffff) this.#next = 1;
    this.#errors.set(id, error);
    if (this.#errors.size > MAX_CAUSES) {
      const oldest = this.#errors.keys().next().value;
      if (oldest !== undefined) this.#errors.delete(oldest);
    }
    return id;
  }

  /** Removes and returns the error kept under `id`. */
  take(id: number | null | undefined): unknown {
    if (id == null) return undefined;
    const error = this.#errors.get(id);
    this.#errors.delete(id);
    return error;
  }
}

function failed(error: unknown, causes: CauseTable): CallbackReply {
  return { error: messageOf(error) || 'error without a message', causeId: causes.put(error) };
}

/** The wrapped callbacks of a custom scorer. */
export interface ScorerCallbacks {
  /** The scorer's name. */
  name: string;
  /** Wrapped `assess`. */
  assess: (call: AssessCall) => Promise<CallbackReply>;
  /** Wrapped `explain`, when the scorer has one. */
  explain: ((call: ExplainCall) => Promise<CallbackReply>) | undefined;
}

/** True when `value` is a JS object with the method `method` (a custom scorer or approver). */
export function isCustom(value: unknown, method: 'assess' | 'request'): boolean {
  return (typeof value === 'object' && value !== null) || typeof value === 'function'
    ? typeof (value as Record<string, unknown>)[method] === 'function'
    : false;
}

/** Checks a custom scorer and wraps its methods. */
export function wrapScorer(scorer: RiskScorer, causes: CauseTable): ScorerCallbacks {
  if (!isCustom(scorer, 'assess')) {
    throw new ConfigError('option `scorer` must be an object with an `assess` method', { setting: 'scorer', key: 'scorer' });
  }
  const name = typeof scorer.name === 'string' && scorer.name !== '' ? scorer.name : 'js';
  const assess = async (call: AssessCall): Promise<CallbackReply> => {
    try {
      const result = await scorer.assess(call.action as Action, call.context);
      const score = (result as { riskScore?: unknown } | null)?.riskScore;
      if (typeof score !== 'number') {
        return { error: `scorer \`${name}\` returned no numeric \`riskScore\`` };
      }
      const analysis = (result as { analysis?: unknown }).analysis;
      return { riskScore: score, analysis: typeof analysis === 'string' ? analysis : '' };
    } catch (err) {
      return failed(err, causes);
    }
  };
  const explainMethod = scorer.explain;
  const explain = typeof explainMethod === 'function'
    ? async (call: ExplainCall): Promise<CallbackReply> => {
      try {
        const assessment = { riskScore: call.riskScore, analysis: call.analysis };
        const text = await explainMethod.call(scorer, call.action as Action, assessment, call.question);
        return { text: String(text) };
      } catch (err) {
        return failed(err, causes);
      }
    }
    : undefined;
  return { name, assess, explain };
}

/** What the approver's request helpers need from the gateway. */
export interface Resolver {
  /** Records a human decision. */
  resolve(actionId: string, resolution: { approved: boolean; by: string; channel?: string; reason?: string }): Promise<ActionStatus>;
  /** Answers a question about an action. */
  explain(actionId: string, question: string): Promise<string>;
}

/** The wrapped callback of a custom approver. */
export interface ApproverCallbacks {
  /** The approver's name. */
  name: string;
  /** Wrapped `request`. */
  request: (call: ApprovalCall) => Promise<CallbackReply>;
}

/**
 * Checks a custom approver and wraps its `request`. `gateway` is held weakly so that the
 * addon's reference to the callback does not keep the gateway alive; `decode` turns the
 * encoded decision into the plain object.
 */
export function wrapApprover(
  approver: Approver, gateway: WeakRef<Resolver>, causes: CauseTable, decode: (text: string) => Decision,
): ApproverCallbacks {
  if (!isCustom(approver, 'request')) {
    throw new ConfigError('option `approver` must be an object with a `request` method', { setting: 'approver', key: 'approver' });
  }
  const name = typeof approver.name === 'string' && approver.name !== '' ? approver.name : 'js';
  const resolver = (): Resolver => {
    const gw = gateway.deref();
    if (gw === undefined) throw new Error('the gateway was garbage-collected');
    return gw;
  };
  const request = async (call: ApprovalCall): Promise<CallbackReply> => {
    const actionId = call.actionId;
    const decide = (approved: boolean) =>
      (o: { by?: string; channel?: string; reason?: string } = {}) =>
        resolver().resolve(actionId, { approved, by: o.by ?? name, channel: o.channel ?? 'js', reason: o.reason });
    try {
      await approver.request({
        actionId,
        action: call.action as Action,
        decision: decode(call.decision),
        deadline: new Date(call.deadlineMs),
        approve: decide(true),
        decline: decide(false),
        explain: (question: string) => resolver().explain(actionId, question),
      });
      return {};
    } catch (err) {
      return failed(err, causes);
    }
  };
  return { name, request };
}
