/**
 * Leveled logger. Level 0 = errors and lifecycle, 1 = notable events, 2+ = detail (`-v N`).
 * Output goes to the injected sink (the daemon's log file, or stderr in the foreground).
 */
export type LogSink = (line: string) => void;

export class Logger {
  constructor(
    private readonly sink: LogSink = (l) => process.stderr.write(l + '\n'),
    readonly verbosity = 0,
    private readonly prefix = '',
  ) {}

  child(component: string): Logger {
    return new Logger(this.sink, this.verbosity, component);
  }

  private emit(level: string, msg: string, fields?: Record<string, unknown>): void {
    const f = fields ? ' ' + Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v)}`).join(' ') : '';
    this.sink(`${new Date().toISOString()} ${level} ${this.prefix ? '[' + this.prefix + '] ' : ''}${msg}${f}`);
  }

  info(msg: string, fields?: Record<string, unknown>): void {
    this.emit('I', msg, fields);
  }

  warn(msg: string, fields?: Record<string, unknown>): void {
    this.emit('W', msg, fields);
  }

  error(msg: string, fields?: Record<string, unknown>): void {
    this.emit('E', msg, fields);
  }

  /** Detail logged only at verbosity >= level. */
  v(level: number, msg: string, fields?: Record<string, unknown>): void {
    if (this.verbosity >= level) this.emit('D', msg, fields);
  }
}

export const silentLogger = new Logger(() => undefined);
