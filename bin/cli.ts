/**
 * `k3s-burst` command dispatcher. Each command lives in `lib/cli/<name>.ts` and exports
 * `run(args, io)`; they are loaded lazily so `k3s-burst plan` does not load the AWS SDK.
 */
import { type CliIo, type CommandRun, ExitCode, processIo } from '../lib/cli/io.js';

interface CommandInfo {
  summary: string;
  load: () => Promise<{ run: CommandRun }>;
}

/** Commands are resolved by name at run time so one that is not built yet fails clearly, not at load. */
function loadCommand(name: string): Promise<{ run: CommandRun }> {
  return import(`../lib/cli/${name}.js`) as Promise<{ run: CommandRun }>;
}

const COMMANDS: Record<string, CommandInfo> = {
  plan: {
    summary: 'Print the plan for a snapshot, a fleet and a config (offline, no AWS).',
    load: () => loadCommand('plan'),
  },
  simulate: {
    summary: 'Run the offline simulator on a scenario; --chaos for fault-injection runs.',
    load: () => loadCommand('simulate'),
  },
  demo: {
    summary: 'Run the built-in demo scenario in the simulator and write a report.',
    load: () => loadCommand('demo'),
  },
  'render-userdata': {
    summary: 'Print the node bootstrap script for a config, with placeholder secrets.',
    load: () => loadCommand('render-userdata'),
  },
  agent: {
    summary: 'Run the in-cluster agent (inside the cluster, see docs/agent.md).',
    load: () => loadCommand('agent'),
  },
  status: {
    summary: 'Show managed instances, the last snapshot and recent decisions (reads AWS).',
    load: () => loadCommand('status'),
  },
  doctor: {
    summary: 'Check a deployment and say what is wrong and how to fix it (reads AWS).',
    load: () => loadCommand('doctor'),
  },
  verify: {
    summary: 'Prove a deployment end to end with one test pod and time every stage (run after deploying).',
    load: () => loadCommand('verify'),
  },
  bake: {
    summary: 'Build a node image with Tailscale and K3s pre-installed and publish it to SSM (faster boots).',
    load: () => loadCommand('bake'),
  },
  pause: {
    summary: 'Emergency stop: no launches from the next reconcile; --drain empties the cloud.',
    load: () => loadCommand('pause'),
  },
  resume: {
    summary: 'Undo pause: launches are allowed again from the next reconcile.',
    load: () => loadCommand('resume'),
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `Usage: k3s-burst <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun "k3s-burst <command> --help" for a command's options.\n`;
}

function isMissingModule(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(usage());
    return name ? ExitCode.ok : ExitCode.usage;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr(`k3s-burst: unknown command "${name}"\n\n${usage()}`);
    return ExitCode.usage;
  }
  let mod: { run: CommandRun };
  try {
    mod = await command.load();
  } catch (err) {
    if (isMissingModule(err) && String((err as Error).message).includes(`lib/cli/${name}`)) {
      io.stderr(`k3s-burst: the "${name}" command is not available in this version yet.\n`);
      return ExitCode.failure;
    }
    throw err;
  }
  return mod.run(rest, io);
}
