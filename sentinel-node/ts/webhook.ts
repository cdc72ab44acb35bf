/**
 * Telnyx webhook headers: what Node (`req.headers`), the Fetch API (`Headers`) or a list of
 * pairs give, as the one string per lowercase name the native addon takes.
 *
 * @module
 */

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
