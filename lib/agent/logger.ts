/**
 * Structured JSON logs: one line per event, `{time, level, msg, ...fields}`. Field values whose
 * key looks secret (token, secret, password, credential, authorization, key) are replaced, so a
 * careless `log.info('x', { headers })` cannot leak the service-account token or AWS keys.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_KEY =
  /(token|secret|password|passwd|credential|authorization|cookie|^key$|accesskey|privatekey|sessionkey)/i;

function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value))
    out[k] = SECRET_KEY.test(k) ? '<redacted>' : redact(v, depth + 1);
  return out;
}

export function createLogger(opts: {
  write: (line: string) => void;
  level?: LogLevel;
  now?: () => number;
  base?: LogFields;
}): Logger {
  const min = ORDER[opts.level ?? 'info'];
  const now = opts.now ?? Date.now;
  const make = (base: LogFields): Logger => {
    const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
      if (ORDER[level] < min) return;
      const rec = redact({ ...base, ...fields }) as LogFields;
      opts.write(`${JSON.stringify({ time: new Date(now()).toISOString(), level, msg, ...rec })}\n`);
    };
    return {
      debug: (m, f) => emit('debug', m, f),
      info: (m, f) => emit('info', m, f),
      warn: (m, f) => emit('warn', m, f),
      error: (m, f) => emit('error', m, f),
      child: (f) => make({ ...base, ...f }),
    };
  };
  return make(opts.base ?? {});
}

/** A logger that keeps lines in memory (tests). */
export function memoryLogger(): Logger & { lines: LogFields[] } {
  const lines: LogFields[] = [];
  const logger = createLogger({ write: (l) => lines.push(JSON.parse(l) as LogFields), level: 'debug' });
  return Object.assign(logger, { lines });
}

export function errorFields(err: unknown): LogFields {
  if (err instanceof Error) {
    const status = (err as { status?: number }).status;
    return status === undefined ? { error: err.message } : { error: err.message, status };
  }
  return { error: String(err) };
}
