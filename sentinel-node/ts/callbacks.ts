/**
 * Custom scorers and approvers: wraps the user's methods into callbacks the native addon
 * calls from its threads. Wrapped callbacks never reject: they resolve to a reply, and a
 * user error is kept in a {@link CauseTable} so that it can come back as `cause`.
 *
 * @module
 */

import { InputError } from './errors';
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

/** The message of anything thrown. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : String(error);
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

/** Checks a custom scorer and wraps its methods. */
export function wrapScorer(scorer: RiskScorer, causes: CauseTable): ScorerCallbacks {
  if (typeof scorer !== 'object' || scorer === null || typeof scorer.assess !== 'function') {
    throw new InputError('option `scorer` must be an object with an `assess` method');
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
 * addon's reference to the callback does not keep the gateway alive.
 */
export function wrapApprover(approver: Approver, gateway: WeakRef<Resolver>, causes: CauseTable): ApproverCallbacks {
  if (typeof approver !== 'object' || approver === null || typeof approver.request !== 'function') {
    throw new InputError('option `approver` must be an object with a `request` method');
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
        decision: call.decision as Decision,
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
