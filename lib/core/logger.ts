/**
 * The one logger interface of k3s-burst, for the Lambdas (adapter: Powertools Logger,
 * lambdas/runtime.ts), the agent (adapter: one JSON line per event, lib/agent/logger.ts) and the
 * simulator (which keeps no logs). Every adapter passes the fields through {@link redactFields}
 * before writing them, so a careless `log.info('x', { headers })` cannot leak a service-account
 * token, an AWS key or a Tailscale secret whichever process logs it
 * (test/unit/core/logger.test.ts holds each adapter to that).
 * No imports: Lambdas, agent and simulator may all depend on it.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
/** Structured attributes of one log line. Never a secret value: keys that look secret are redacted. */
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line it writes. */
  child(fields: LogFields): Logger;
}

/** Keys whose values are replaced by {@link REDACTED} wherever they appear in a field tree. */
export const SECRET_KEY =
  /(token|secret|password|passwd|credential|authorization|cookie|^key$|accesskey|privatekey|sessionkey)/i;
/** What a secret-looking field's value becomes. */
export const REDACTED = '<redacted>';

function redact(value: unknown, depth: number): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? REDACTED : redact(v, depth + 1);
  return out;
}

/**
 * `fields` with the value of every key that looks secret (token, secret, password, credential,
 * authorization, cookie, key…) replaced, at any depth up to 6; errors become `{ name, message }`.
 */
export function redactFields(fields: LogFields): LogFields {
  return redact(fields, 0) as LogFields;
}

/** A logger that drops everything: the default when a component is given none. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
};

/** An error as log fields: its message, and the HTTP status when it carries one. */
export function errorFields(err: unknown): LogFields {
  if (err instanceof Error) {
    const status = (err as { status?: number }).status;
    return status === undefined ? { error: err.message } : { error: err.message, status };
  }
  return { error: String(err) };
}
