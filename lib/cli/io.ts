import { type ParseArgsConfig, parseArgs } from 'node:util';

/** What a CLI command may touch: injected so commands are testable without a process. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Directory relative paths are resolved against. */
  cwd: string;
  env: Record<string, string | undefined>;
  /** Whether stdout is an interactive terminal (progress bars, colours). */
  isTTY: boolean;
}

/** Every command module under `lib/cli/` exports this. It returns the process exit code. */
export type CommandRun = (args: string[], io: CliIo) => Promise<number>;

/** Exit codes shared by all commands. */
export const ExitCode = {
  ok: 0,
  /** The command ran and found a problem (e.g. invariant violations, failed doctor checks). */
  failure: 1,
  /** Bad usage or invalid input files. */
  usage: 2,
} as const;

export function processIo(): CliIo {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    cwd: process.cwd(),
    env: process.env,
    isTTY: Boolean(process.stdout.isTTY),
  };
}

type CommandOptions = NonNullable<ParseArgsConfig['options']>;
type CommandValues<O extends CommandOptions> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: false }>
>['values'];

/**
 * Parse a command's options strictly (no positionals) and handle the two outcomes every
 * command treats alike: bad usage (message and usage on stderr, exit `usage`) and
 * `-h`/`--help` (usage on stdout, exit `ok`). Returns the parsed values, or the exit code
 * when the command should stop.
 */
export function parseCommandArgs<O extends CommandOptions>(
  io: CliIo,
  command: string,
  usage: string,
  args: string[],
  options: O,
): { values: CommandValues<O> } | { exit: number } {
  let values: CommandValues<O>;
  try {
    ({ values } = parseArgs({ args, options, strict: true, allowPositionals: false }));
  } catch (err) {
    io.stderr(`k3s-burst ${command}: ${(err as Error).message}\n\n${usage}`);
    return { exit: ExitCode.usage };
  }
  if ((values as { help?: boolean }).help) {
    io.stdout(usage);
    return { exit: ExitCode.ok };
  }
  return { values };
}

/**
 * Run `fn` with a signal that aborts on Ctrl-C / SIGTERM (saying `message` on stderr) or when
 * `external` aborts (tests). The process handlers are removed afterwards, so a command that
 * creates something can always clean it up before it exits.
 */
export async function withInterrupt<T>(
  io: CliIo,
  message: string,
  external: AbortSignal | undefined,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const abort = new AbortController();
  external?.addEventListener('abort', () => abort.abort(), { once: true });
  const onInterrupt = () => {
    io.stderr(`\n${message}\n`);
    abort.abort();
  };
  if (!external) {
    process.once('SIGINT', onInterrupt);
    process.once('SIGTERM', onInterrupt);
  }
  try {
    return await fn(abort.signal);
  } finally {
    if (!external) {
      process.removeListener('SIGINT', onInterrupt);
      process.removeListener('SIGTERM', onInterrupt);
    }
  }
}

/** One live progress line of a staged command: `   12.3 s  label`, or the status when not reached. */
export function stageProgressLine(s: { status: string; atMs?: number; label: string }, prefix = ''): string {
  const at = s.status === 'ok' ? `${((s.atMs ?? 0) / 1000).toFixed(1).padStart(7)} s` : s.status.padStart(9);
  return `  ${prefix}${at}  ${s.label}\n`;
}
