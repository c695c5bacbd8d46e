/** Structured JSON logs, one object per line; secrets never reach them. */
export type LogFields = Record<string, unknown>;

export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const SECRET_KEYS = /authorization|password|token|secret|cookie/i;

/** Drops the values of keys that can hold credentials, and credentials inside URLs. */
export function redact(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(/\/\/[^/@\s]+:[^/@\s]+@/g, '//***:***@');
  if (Array.isArray(value)) return value.map(redact);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, SECRET_KEYS.test(k) ? '***' : redact(v)]),
    );
  return value;
}

export function jsonLogger(
  write: (line: string) => void = (line) => process.stdout.write(line),
  base: LogFields = {},
): Logger {
  const emit = (level: string, message: string, fields?: LogFields): void =>
    write(
      `${JSON.stringify(redact({ time: new Date().toISOString(), level, message, ...base, ...fields }))}\n`,
    );
  return {
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => jsonLogger(write, { ...base, ...fields }),
  };
}
