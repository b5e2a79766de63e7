/**
 * A throwaway directory in which the rendered bootstrap script runs under real bash with stub
 * `curl`, `tailscale`, `systemctl`, `apt-get`, `dnf` and `sh` (the K3s installer) first on PATH.
 * Every stub call is appended to `calls.log` (argv and the whole environment), so tests can
 * assert the exact flags, the order and that no secret ever travels in argv or env. The only
 * other commands on PATH are symlinks to the few real tools the script needs. The script's root
 * paths are redirected with K3S_BURST_ROOT; no network is used (the curl stub answers IMDSv2,
 * get.k3s.io and pkgs.tailscale.com and refuses anything else).
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const IMDS_TOKEN = 'stub-imds-session-token';
export const TAILSCALE_IP = '100.88.17.42';
export const DEFAULT_INSTANCE = {
  id: 'i-0f3a8c61d2e7b9054',
  az: 'eu-central-1a',
  region: 'eu-central-1',
  type: 't4g.medium',
};

export type SandboxOs = 'ubuntu-24.04' | 'amazon-linux-2023' | 'alpine';

export interface SandboxOptions {
  os?: SandboxOs;
  /** Tailscale is already installed (pre-baked AMI). */
  preBakedTailscale?: boolean;
  /** The AMI carries the K3s installer at /usr/local/share/k3s-burst/k3s-install.sh. */
  preBakedInstaller?: boolean;
  /** The AMI carries /usr/local/bin/k3s reporting this version. */
  preBakedK3sVersion?: string;
  instance?: typeof DEFAULT_INSTANCE;
}

export interface RunOptions {
  /** IMDS refuses the PUT for a session token (IMDSv2 disabled or hop limit exceeded). */
  imdsRefusesToken?: boolean;
  /** `tailscale up` succeeds but `tailscale ip -4` never reports an address. */
  tailscaleNeverGetsIp?: boolean;
  /** `tailscale ip -4` answers only after this many polls following `tailscale up`. */
  tailscaleIpAfterPolls?: number;
  /** `tailscale up` fails as with an expired or spent key. */
  tailscaleUpFails?: boolean;
  tailscaleIpTimeoutSeconds?: number;
  /** Hard limit for the whole run; the test fails rather than hangs. */
  killAfterMs?: number;
  /** More variables for the stubs (e.g. `STUB_BAD_CHECKSUM` for the bake script). */
  extraEnv?: Record<string, string>;
  /** Arguments to the script (e.g. the warm-start script's `spent` mode). */
  args?: string[];
}

export interface StubCall {
  name: string;
  args: string[];
  env: Record<string, string>;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout then stderr. The script sends both through tee to stdout, as cloud-init shows them. */
  output: string;
  durationMs: number;
}

/** Real tools the script (and the stubs) use; everything else is absent from PATH. */
const REAL_TOOLS = [
  'awk',
  'bash',
  'basename',
  'cat',
  'chmod',
  'cut',
  'cp',
  'date',
  'env',
  'head',
  'install',
  'mkdir',
  'mktemp',
  'rm',
  'sed',
  'sha256sum',
  'sleep',
  'sort',
  'stat',
  'sync',
  'tee',
  'timeout',
  'touch',
  'tr',
  'uname',
];

const STUBS = ['curl', 'systemctl', 'apt-get', 'dnf', 'sh', 'skopeo', 'cloud-init'];

/** One bash stub for every tool, dispatching on its own name (see stub.sh). */
const STUB_SOURCE = readFileSync(join(import.meta.dirname, 'stub.sh'), 'utf8');

const OS_RELEASE: Record<SandboxOs, string> = {
  'ubuntu-24.04':
    'PRETTY_NAME="Ubuntu 24.04.2 LTS"\nNAME="Ubuntu"\nVERSION_ID="24.04"\nVERSION_CODENAME=noble\nID=ubuntu\nID_LIKE=debian\n',
  'amazon-linux-2023':
    'NAME="Amazon Linux"\nVERSION="2023"\nID="amzn"\nID_LIKE="fedora"\nVERSION_ID="2023"\nPRETTY_NAME="Amazon Linux 2023.7.20250512"\n',
  alpine: 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.21.0\n',
};

export class Sandbox {
  readonly dir: string;
  readonly root: string;
  readonly bin: string;
  readonly instance: typeof DEFAULT_INSTANCE;
  private readonly sysbin: string;
  private readonly k3sVersion: string;

  constructor(options: SandboxOptions = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'k3s-burst-userdata-'));
    this.root = join(this.dir, 'root');
    this.bin = join(this.dir, 'bin');
    this.sysbin = join(this.dir, 'sysbin');
    this.instance = options.instance ?? DEFAULT_INSTANCE;
    for (const d of [this.root, this.bin, this.sysbin, join(this.dir, 'state'), join(this.dir, 'optional')]) {
      mkdirSync(d, { recursive: true });
    }
    mkdirSync(join(this.root, 'etc'), { recursive: true });
    writeFileSync(join(this.root, 'etc', 'os-release'), OS_RELEASE[options.os ?? 'ubuntu-24.04']);

    const stub = join(this.dir, 'stub');
    writeFileSync(stub, STUB_SOURCE);
    chmodSync(stub, 0o755);
    for (const name of STUBS) symlinkSync(stub, join(this.bin, name));
    // `tailscale` exists only once installed by apt-get/dnf, or from the start when pre-baked.
    symlinkSync(stub, join(this.dir, 'optional', 'tailscale'));
    if (options.preBakedTailscale) symlinkSync(stub, join(this.bin, 'tailscale'));
    if (options.preBakedInstaller) {
      mkdirSync(join(this.root, 'usr', 'local', 'share', 'k3s-burst'), { recursive: true });
      writeFileSync(
        join(this.root, 'usr', 'local', 'share', 'k3s-burst', 'k3s-install.sh'),
        '# pre-baked K3s installer\n',
      );
    }
    this.k3sVersion = options.preBakedK3sVersion ?? '';
    if (options.preBakedK3sVersion) {
      mkdirSync(join(this.root, 'usr', 'local', 'bin'), { recursive: true });
      symlinkSync(stub, join(this.root, 'usr', 'local', 'bin', 'k3s'));
    }

    for (const tool of REAL_TOOLS) {
      const found = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
      if (!found) throw new Error(`the userdata sandbox needs "${tool}" on this machine`);
      symlinkSync(found, join(this.sysbin, tool));
    }
  }

  /** Run the script under bash; resolves when it exits (or is killed after `killAfterMs`). */
  run(script: string, options: RunOptions = {}): Promise<RunResult> {
    const file = join(this.dir, 'userdata.sh');
    writeFileSync(file, script, { mode: 0o700 });
    const env: Record<string, string> = {
      PATH: `${this.bin}:${this.sysbin}`,
      HOME: this.dir,
      LANG: 'C.UTF-8',
      SANDBOX: this.dir,
      K3S_BURST_ROOT: this.root,
      K3S_BURST_POLL_SECONDS: '0.05',
      K3S_BURST_RETRY_DELAY_SECONDS: '0',
      K3S_BURST_TAILSCALE_IP_TIMEOUT_SECONDS: String(options.tailscaleIpTimeoutSeconds ?? 5),
      STUB_IMDS_TOKEN: IMDS_TOKEN,
      STUB_INSTANCE_ID: this.instance.id,
      STUB_AZ: this.instance.az,
      STUB_REGION: this.instance.region,
      STUB_INSTANCE_TYPE: this.instance.type,
      STUB_TS_IP: TAILSCALE_IP,
      STUB_K3S_VERSION: this.k3sVersion,
    };
    if (options.imdsRefusesToken) env.STUB_IMDS_REFUSE = '1';
    if (options.tailscaleNeverGetsIp) env.STUB_TS_NO_IP = '1';
    if (options.tailscaleUpFails) env.STUB_TS_UP_FAIL = '1';
    if (options.tailscaleIpAfterPolls !== undefined)
      env.STUB_TS_IP_AFTER_POLLS = String(options.tailscaleIpAfterPolls);
    Object.assign(env, options.extraEnv ?? {});

    const bash = join(this.sysbin, 'bash');
    const started = Date.now();
    return new Promise((resolvePromise, reject) => {
      const child = spawn(bash, [file, ...(options.args ?? [])], {
        env,
        cwd: this.dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => {
        stdout += d;
      });
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      const killer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs ?? 20_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(killer);
        resolvePromise({ code, stdout, stderr, output: stdout + stderr, durationMs: Date.now() - started });
      });
    });
  }

  /** Every stub call so far, in order. */
  calls(): StubCall[] {
    const path = join(this.dir, 'calls.log');
    if (!existsSync(path)) return [];
    const calls: StubCall[] = [];
    let current: StubCall | undefined;
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (line.startsWith('CALL ')) current = { name: line.slice(5), args: [], env: {} };
      else if (line.startsWith('ARG ') && current) current.args.push(line.slice(4));
      else if (line.startsWith('ENV ') && current) {
        const eq = line.indexOf('=');
        current.env[line.slice(4, eq)] = line.slice(eq + 1);
      } else if (line === 'END' && current) {
        calls.push(current);
        current = undefined;
      }
    }
    return calls;
  }

  /** Raw text of everything the stubs recorded (argv and env of every call). */
  callsLog(): string {
    const path = join(this.dir, 'calls.log');
    return existsSync(path) ? readFileSync(path, 'utf8') : '';
  }

  /** Facts the stubs observed about secret files (mode and sha256, never contents). */
  facts(): string[] {
    const path = join(this.dir, 'facts.log');
    return existsSync(path) ? readFileSync(path, 'utf8').trim().split('\n') : [];
  }

  /** A path inside the sandboxed root, e.g. `rootPath('/etc/k3s-burst/agent-token')`. */
  rootPath(absolute: string): string {
    return join(this.root, absolute);
  }

  /** Start over as if the instance rebooted with a clean call log (state is kept). */
  clearCalls(): void {
    rmSync(join(this.dir, 'calls.log'), { force: true });
    rmSync(join(this.dir, 'facts.log'), { force: true });
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
