// ES module entry point of `sentinel-guard`: re-exports the CommonJS build, so that
// `import` and `require` share one native addon and one set of classes.
import cjs from '../dist/index.js';

export const {
  Gateway,
  SentinelError,
  InputError,
  ConfigError,
  ConflictError,
  PolicyError,
  DeniedError,
  TimeoutError,
  ApproverError,
  ScorerError,
  AlreadyExecutedError,
  NotFoundError,
  ResolveError,
} = cjs;

export default cjs;
