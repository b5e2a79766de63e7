/** `k3s-burst resume`: undo `k3s-burst pause` (the options and logic live in lib/cli/pause.ts). */
import { defaultEnvironment } from '../ops/environment.js';
import type { CliIo } from './io.js';
import { runResume } from './pause.js';

/** `k3s-burst resume …`; returns the exit code. */
export async function run(args: string[], io: CliIo): Promise<number> {
  return runResume(args, io, defaultEnvironment(io));
}
