/**
 * The caller's trace context for `guard`/`evaluate`: when the host uses OpenTelemetry
 * (`@opentelemetry/api`, which this package never installs), the active context as a W3C
 * `traceparent`, so that Sentinel's spans (exported by the Rust core) join the caller's
 * trace. Looked up only while Sentinel exports traces.
 */

declare const require: (id: string) => unknown;

interface OtelApi {
  context: { active(): unknown };
  propagation: { inject(context: unknown, carrier: Record<string, string>): void };
}

let api: OtelApi | null | undefined;

/** The active OpenTelemetry context's `traceparent`, when there is one. */
export function activeTraceparent(): string | undefined {
  if (api === undefined) {
    try {
      api = require('@opentelemetry/api') as OtelApi;
    } catch {
      api = null;
    }
  }
  if (api === null) {
    return undefined;
  }
  const carrier: Record<string, string> = {};
  api.propagation.inject(api.context.active(), carrier);
  return carrier.traceparent;
}
