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
