/**
 * Structured logs: one JSON object per line on stdout, which the awslogs driver ships to
 * CloudWatch Logs as one event each.
 */
export type LogLevel = 'info' | 'warn' | 'error';

export type LogFields = Record<string, unknown>;

export type Logger = (level: LogLevel, msg: string, fields?: LogFields) => void;

/** A logger writing to `write` (stdout by default); tests pass their own sink. */
export function createLogger(write: (line: string) => void = (line) => process.stdout.write(line)): Logger {
  return (level, msg, fields) => {
    write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
  };
}
