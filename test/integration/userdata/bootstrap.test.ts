import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { renderUserData, renderWarmStartUserData, type UserDataInput } from '../../../lib/userdata/index.js';
import {
  AGENT_TOKEN,
  BOOTSTRAP_TOKEN,
  baseInput,
  NASTY_AGENT_TOKEN,
  TAILSCALE_KEY,
} from '../../unit/userdata/fixtures.js';
import { DEFAULT_INSTANCE, Sandbox, type SandboxOptions, type StubCall, TAILSCALE_IP } from './sandbox.js';

const sandboxes: Sandbox[] = [];
afterEach(() => {
  for (const s of sandboxes.splice(0)) s.dispose();
});

function sandbox(options: SandboxOptions = {}): Sandbox {
  const s = new Sandbox(options);
  sandboxes.push(s);
  return s;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const NODE_NAME = `burst-${DEFAULT_INSTANCE.id}`;

function isTailscaleUp(c: StubCall) {
  return c.name === 'tailscale' && c.args[0] === 'up';
}
function isInstaller(c: StubCall) {
  return c.name === 'sh';
}
function only<T>(items: T[], what: string): T {
  expect(items, what).toHaveLength(1);
  return items[0] as T;
}

/** Everything a secret could leak into: the script's output, its log file and every stub call. */
function leakSurface(s: Sandbox, run: { output: string }): string {
  const logFile = s.rootPath('/var/log/k3s-burst-bootstrap.log');
  return [run.output, existsSync(logFile) ? readFileSync(logFile, 'utf8') : '', s.callsLog()].join('\n');
}

describe('bootstrap script in a sandbox', () => {
  it('joins the tailnet, then installs the pinned K3s agent with the exact flags and environment', async () => {
    // Prepare
    const s = sandbox({ os: 'ubuntu-24.04' });
    const input = baseInput({
      agentToken: NASTY_AGENT_TOKEN,
      tailscaleTags: ['tag:k3s-burst', 'tag:cloud'],
      labels: { 'k3s-burst.io/pool': 'cloud', 'example.com/team': 'ml' },
      taints: [
        { key: 'k3s-burst.io/cloud', value: 'true', effect: 'NoSchedule' },
        { key: 'example.com/gpu', effect: 'NoExecute' },
      ],
    });

    // Act
    const run = await s.run(renderUserData(input));

    // Assess
    expect(run.code, run.output).toBe(0);
    const calls = s.calls();
    const up = only(calls.filter(isTailscaleUp), 'tailscale up calls');
    expect(up.args).toEqual([
      'up',
      `--auth-key=file:${s.rootPath('/run/k3s-burst/tailscale-auth-key')}`,
      `--hostname=${NODE_NAME}`,
      '--advertise-tags=tag:k3s-burst,tag:cloud',
      '--timeout=120s',
    ]);
    const installer = only(calls.filter(isInstaller), 'installer runs');
    expect(installer.args.slice(1)).toEqual([
      `--node-name=${NODE_NAME}`,
      `--node-ip=${TAILSCALE_IP}`,
      '--flannel-iface=tailscale0',
      `--kubelet-arg=provider-id=aws:///eu-central-1a/${DEFAULT_INSTANCE.id}`,
      '--node-label=node.kubernetes.io/instance-type=t4g.medium',
      '--node-label=topology.kubernetes.io/zone=eu-central-1a',
      '--node-label=topology.kubernetes.io/region=eu-central-1',
      '--node-label=k3s-burst.io/managed=true',
      '--node-label=k3s-burst.io/cluster=pi-lab',
      '--node-label=k3s-burst.io/capacity-type=spot',
      '--node-label=example.com/team=ml',
      '--node-label=k3s-burst.io/pool=cloud',
      '--node-taint=k3s-burst.io/cloud=true:NoSchedule',
      '--node-taint=example.com/gpu:NoExecute',
    ]);
    expect(installer.env).toMatchObject({
      INSTALL_K3S_VERSION: 'v1.32.6+k3s1',
      INSTALL_K3S_EXEC: 'agent',
      // active = READY sent (certificates fetched with the token, Node registered): the token
      // removal after `is-active` and the warm start's ExecStartPost rely on it, whatever
      // default the installer version has (older ones used Type=exec for agents)
      INSTALL_K3S_TYPE: 'notify',
      K3S_URL: 'https://100.64.5.11:6443',
      K3S_TOKEN_FILE: s.rootPath('/etc/k3s-burst/agent-token'),
    });
    expect(installer.env).not.toHaveProperty('K3S_TOKEN');
    expect(installer.env).not.toHaveProperty('INSTALL_K3S_SKIP_SELINUX_RPM');
    expect(s.facts()).toContain('installer # stub K3s installer');
    expect(readFileSync(s.rootPath('/var/lib/k3s-burst/bootstrap-complete'), 'utf8')).toMatch(/^\d{4}-/);
  });

  it('reads instance identity from IMDSv2 only: a session token first, then GETs that carry it', async () => {
    const s = sandbox();
    const run = await s.run(renderUserData(baseInput()));
    expect(run.code, run.output).toBe(0);

    const imds = s
      .calls()
      .filter((c) => c.name === 'curl' && c.args.some((a) => a.includes('169.254.169.254')));
    const [tokenCall, ...gets] = imds;
    expect(tokenCall?.args).toEqual(
      expect.arrayContaining(['-X', 'PUT', 'X-aws-ec2-metadata-token-ttl-seconds: 600']),
    );
    expect(gets.map((c) => c.args.at(-1))).toEqual([
      'http://169.254.169.254/latest/meta-data/instance-id',
      'http://169.254.169.254/latest/meta-data/placement/availability-zone',
      'http://169.254.169.254/latest/meta-data/placement/region',
      'http://169.254.169.254/latest/meta-data/instance-type',
    ]);
    for (const get of gets) expect(get.args).toContain('X-aws-ec2-metadata-token: stub-imds-session-token');
  });

  it('installs Tailscale from its apt repository on Ubuntu 24.04 before anything K3s', async () => {
    const s = sandbox({ os: 'ubuntu-24.04' });
    const run = await s.run(renderUserData(baseInput()));
    expect(run.code, run.output).toBe(0);

    const calls = s.calls();
    const urls = calls.filter((c) => c.name === 'curl').map((c) => c.args.at(-1));
    expect(urls).toContain('https://pkgs.tailscale.com/stable/ubuntu/noble.noarmor.gpg');
    expect(urls).toContain('https://pkgs.tailscale.com/stable/ubuntu/noble.tailscale-keyring.list');
    const apt = calls.filter((c) => c.name === 'apt-get');
    expect(apt.map((c) => c.args.filter((a) => !a.startsWith('-') && !a.startsWith('DPkg')))).toEqual([
      ['update'],
      ['install', 'tailscale'],
    ]);
    expect(apt[1]?.env.DEBIAN_FRONTEND).toBe('noninteractive');
    expect(calls.some((c) => c.name === 'dnf')).toBe(false);
    expect(readFileSync(s.rootPath('/etc/apt/sources.list.d/tailscale.list'), 'utf8')).toContain('stub');
    expect(statSync(s.rootPath('/usr/share/keyrings/tailscale-archive-keyring.gpg')).mode & 0o777).toBe(
      0o644,
    );

    // Order: package install → tailscaled → logout unit → tailscale up → IP → K3s installer.
    const order = (pred: (c: StubCall) => boolean) => calls.findIndex(pred);
    const aptInstall = order((c) => c.name === 'apt-get' && c.args.includes('install'));
    const tailscaled = order((c) => c.name === 'systemctl' && c.args.includes('tailscaled'));
    const logoutUnit = order(
      (c) => c.name === 'systemctl' && c.args.includes('k3s-burst-tailscale-logout.service'),
    );
    const up = order(isTailscaleUp);
    const ip = calls.findLastIndex((c) => c.name === 'tailscale' && c.args[0] === 'ip');
    const k3sDownload = order((c) => c.name === 'curl' && c.args.includes('https://get.k3s.io'));
    const installer = order(isInstaller);
    expect([aptInstall, tailscaled, logoutUnit, up, ip, k3sDownload, installer].every((i) => i >= 0)).toBe(
      true,
    );
    expect(aptInstall).toBeLessThan(tailscaled);
    expect(tailscaled).toBeLessThan(logoutUnit);
    expect(logoutUnit).toBeLessThan(up);
    expect(up).toBeLessThan(ip);
    expect(ip).toBeLessThan(k3sDownload);
    expect(k3sDownload).toBeLessThan(installer);
  });

  it('installs Tailscale with dnf on Amazon Linux 2023 and skips the k3s-selinux RPM there', async () => {
    const s = sandbox({ os: 'amazon-linux-2023' });
    const run = await s.run(renderUserData(baseInput({ capacityType: 'on-demand' })));
    expect(run.code, run.output).toBe(0);

    const calls = s.calls();
    expect(calls.filter((c) => c.name === 'curl').map((c) => c.args.at(-1))).toContain(
      'https://pkgs.tailscale.com/stable/amazon-linux/2023/tailscale.repo',
    );
    expect(
      only(
        calls.filter((c) => c.name === 'dnf'),
        'dnf calls',
      ).args,
    ).toEqual(['install', '-y', '-q', 'tailscale']);
    expect(calls.some((c) => c.name === 'apt-get')).toBe(false);
    const installer = only(calls.filter(isInstaller), 'installer runs');
    expect(installer.env).toMatchObject({
      INSTALL_K3S_SKIP_SELINUX_RPM: 'true',
      INSTALL_K3S_SELINUX_WARN: 'true',
    });
    expect(installer.args).toContain('--node-label=k3s-burst.io/capacity-type=on-demand');
  });

  it('skips the package install when Tailscale is pre-baked into the AMI', async () => {
    const s = sandbox({ os: 'ubuntu-24.04', preBakedTailscale: true });
    const run = await s.run(renderUserData(baseInput()));
    expect(run.code, run.output).toBe(0);

    const calls = s.calls();
    expect(calls.some((c) => c.name === 'apt-get' || c.name === 'dnf')).toBe(false);
    expect(calls.some((c) => c.name === 'curl' && c.args.some((a) => a.includes('pkgs.tailscale.com')))).toBe(
      false,
    );
    expect(calls.filter(isTailscaleUp)).toHaveLength(1);
    expect(run.output).toContain('pre-baked AMI');
  });

  it('boots from a fully pre-baked AMI without any download: only IMDS is contacted', async () => {
    const s = sandbox({
      preBakedTailscale: true,
      preBakedInstaller: true,
      preBakedK3sVersion: 'v1.32.6+k3s1',
    });
    const run = await s.run(renderUserData(baseInput()));
    expect(run.code, run.output).toBe(0);

    const urls = s
      .calls()
      .filter((c) => c.name === 'curl')
      .map((c) => c.args.at(-1));
    expect(urls.every((u) => u?.startsWith('http://169.254.169.254/'))).toBe(true);
    expect(s.facts()).toContain('installer # pre-baked K3s installer');
    expect(only(s.calls().filter(isInstaller), 'installer runs').env.INSTALL_K3S_SKIP_DOWNLOAD).toBe('true');
    expect(run.output).toContain('k3s v1.32.6+k3s1 is pre-baked');
  });

  it('lets the installer replace a pre-baked k3s of another version', async () => {
    const s = sandbox({ preBakedTailscale: true, preBakedK3sVersion: 'v1.31.9+k3s1' });
    const run = await s.run(renderUserData(baseInput()));
    expect(run.code, run.output).toBe(0);
    const installer = only(s.calls().filter(isInstaller), 'installer runs');
    expect(installer.env).not.toHaveProperty('INSTALL_K3S_SKIP_DOWNLOAD');
    expect(installer.env.INSTALL_K3S_VERSION).toBe('v1.32.6+k3s1');
    expect(s.calls().some((c) => c.name === 'curl' && c.args.includes('https://get.k3s.io'))).toBe(true);
    expect(run.output).toContain('pre-baked k3s is not v1.32.6+k3s1');
  });

  it('works on an unsupported distribution when Tailscale is pre-baked, and fails clearly when not', async () => {
    const baked = sandbox({ os: 'alpine', preBakedTailscale: true });
    expect((await baked.run(renderUserData(baseInput()))).code).toBe(0);

    const bare = sandbox({ os: 'alpine' });
    const run = await bare.run(renderUserData(baseInput()));
    expect(run.code).not.toBe(0);
    expect(run.output).toContain("cannot install Tailscale on OS 'alpine'");
    expect(bare.calls().some(isInstaller)).toBe(false);
  });

  it('installs a unit that logs out of Tailscale at shutdown, before joining the tailnet', async () => {
    const s = sandbox();
    const run = await s.run(renderUserData(baseInput()));
    expect(run.code, run.output).toBe(0);

    const unit = readFileSync(s.rootPath('/etc/systemd/system/k3s-burst-tailscale-logout.service'), 'utf8');
    expect(unit).toContain(`ExecStop=${s.bin}/tailscale logout`);
    expect(unit).toContain('After=network-online.target tailscaled.service');
    expect(unit).toContain('Before=k3s-agent.service');
    expect(unit).toMatch(/Type=oneshot\nRemainAfterExit=yes/);
    expect(unit).toContain('WantedBy=multi-user.target');
    const enable = s
      .calls()
      .filter((c) => c.name === 'systemctl')
      .map((c) => c.args.join(' '));
    expect(enable).toEqual(
      expect.arrayContaining(['daemon-reload', 'enable --now k3s-burst-tailscale-logout.service']),
    );
  });

  it('keeps secrets out of argv, env, stdout, stderr and the log, and leaves only the root-only token file', async () => {
    const s = sandbox();
    const run = await s.run(renderUserData(baseInput()));
    expect(run.code, run.output).toBe(0);

    const surface = leakSurface(s, run);
    expect(surface).not.toContain(TAILSCALE_KEY);
    expect(surface).not.toContain(AGENT_TOKEN);
    expect(surface).not.toContain('Pa55w0rd');
    // tailscale read the key from a 0600 file, which is gone afterwards.
    expect(s.facts()).toContain(`ts-key-file mode=600 sha256=${sha256(`${TAILSCALE_KEY}\n`)}`);
    expect(existsSync(s.rootPath('/run/k3s-burst/tailscale-auth-key'))).toBe(false);
    // k3s needs the agent token at every start: it stays, 0600, in a 0700 directory.
    expect(s.facts()).toContain(`token-file mode=600 sha256=${sha256(`${AGENT_TOKEN}\n`)}`);
    expect(readFileSync(s.rootPath('/etc/k3s-burst/agent-token'), 'utf8')).toBe(`${AGENT_TOKEN}\n`);
    expect(statSync(s.rootPath('/etc/k3s-burst/agent-token')).mode & 0o777).toBe(0o600);
    expect(statSync(s.rootPath('/etc/k3s-burst')).mode & 0o777).toBe(0o700);
    expect(statSync(s.rootPath('/var/log/k3s-burst-bootstrap.log')).mode & 0o777).toBe(0o600);
    // No temporary installer copy is left behind.
    expect(existsSync(s.rootPath('/run/k3s-burst'))).toBe(true);
    expect(readFileSync(s.rootPath('/var/log/k3s-burst-bootstrap.log'), 'utf8')).toContain('done: node');
  });

  it('is idempotent: a re-run neither reinstalls Tailscale nor spends the key again, and installs K3s identically', async () => {
    const s = sandbox({ os: 'ubuntu-24.04' });
    const script = renderUserData(baseInput());
    const first = await s.run(script);
    expect(first.code, first.output).toBe(0);
    const firstInstaller = only(s.calls().filter(isInstaller), 'first installer run');
    const unitPath = s.rootPath('/etc/systemd/system/k3s-burst-tailscale-logout.service');
    const unitBefore = readFileSync(unitPath, 'utf8');
    s.clearCalls();

    const second = await s.run(script);

    expect(second.code, second.output).toBe(0);
    const calls = s.calls();
    expect(calls.some(isTailscaleUp)).toBe(false);
    expect(calls.some((c) => c.name === 'apt-get')).toBe(false);
    expect(second.output).toContain('already on the tailnet');
    const secondInstaller = only(calls.filter(isInstaller), 'second installer run');
    expect(secondInstaller.args.slice(1)).toEqual(firstInstaller.args.slice(1));
    expect(readFileSync(unitPath, 'utf8')).toBe(unitBefore);
    expect(readFileSync(s.rootPath('/etc/k3s-burst/agent-token'), 'utf8')).toBe(`${AGENT_TOKEN}\n`);
    expect(
      readFileSync(s.rootPath('/var/log/k3s-burst-bootstrap.log'), 'utf8').match(/done: node/g),
    ).toHaveLength(2);
  });

  it('waits for the Tailscale IPv4 when it comes after a few polls', async () => {
    const s = sandbox();
    const run = await s.run(renderUserData(baseInput()), { tailscaleIpAfterPolls: 4 });
    expect(run.code, run.output).toBe(0);
    const polls = s.calls().filter((c) => c.name === 'tailscale' && c.args.join(' ') === 'ip -4');
    expect(polls.length).toBeGreaterThanOrEqual(5);
    expect(only(s.calls().filter(isInstaller), 'installer runs').args).toContain(`--node-ip=${TAILSCALE_IP}`);
  });

  it('exits non-zero with a clear message, within the bounded timeout, when Tailscale never gets an IP', async () => {
    const s = sandbox();
    const run = await s.run(renderUserData(baseInput()), {
      tailscaleNeverGetsIp: true,
      tailscaleIpTimeoutSeconds: 1,
    });

    expect(run.code).toBe(1);
    expect(run.output).toContain('ERROR: Tailscale has no IPv4 address after 1s');
    expect(run.output).toContain('bootstrap FAILED');
    expect(run.durationMs).toBeLessThan(10_000);
    expect(s.calls().some(isInstaller)).toBe(false);
    const surface = leakSurface(s, run);
    expect(surface).not.toContain(TAILSCALE_KEY);
    expect(surface).not.toContain(AGENT_TOKEN);
    expect(existsSync(s.rootPath('/run/k3s-burst/tailscale-auth-key'))).toBe(false);
    expect(readFileSync(s.rootPath('/var/log/k3s-burst-bootstrap.log'), 'utf8')).toContain(
      'Tailscale has no IPv4 address',
    );
  });

  it('exits non-zero before touching Tailscale when IMDS refuses a session token', async () => {
    const s = sandbox();
    const run = await s.run(renderUserData(baseInput()), { imdsRefusesToken: true });

    expect(run.code).toBe(1);
    expect(run.output).toContain('ERROR: IMDSv2 refused a session token');
    expect(run.output).toContain('HttpTokens=required');
    expect(s.calls().some((c) => c.name === 'tailscale' || c.name === 'apt-get' || isInstaller(c))).toBe(
      false,
    );
    expect(leakSurface(s, run)).not.toContain(AGENT_TOKEN);
  });

  it('exits non-zero naming the likely causes when tailscale up rejects the key, and removes the key file', async () => {
    const s = sandbox({ preBakedTailscale: true });
    const run = await s.run(renderUserData(baseInput()), { tailscaleUpFails: true });

    expect(run.code).toBe(1);
    expect(run.output).toContain('ERROR: tailscale up failed');
    expect(run.output).toContain('tagOwners');
    expect(existsSync(s.rootPath('/run/k3s-burst/tailscale-auth-key'))).toBe(false);
    expect(s.calls().some(isInstaller)).toBe(false);
    expect(leakSurface(s, run)).not.toContain(TAILSCALE_KEY);
  });

  it.each<[string, Partial<UserDataInput>]>([
    ['no labels or taints', { labels: {}, taints: [] }],
    ['a custom name prefix', { nodeNamePrefix: 'cloud-' }],
  ])('renders runnable scripts for %s', async (_name, overrides) => {
    const s = sandbox({ preBakedTailscale: true });
    const input = baseInput(overrides);
    const run = await s.run(renderUserData(input));
    expect(run.code, run.output).toBe(0);
    const installer = only(s.calls().filter(isInstaller), 'installer runs');
    expect(installer.args).toContain(`--node-name=${input.nodeNamePrefix}${DEFAULT_INSTANCE.id}`);
    expect(installer.args.filter((a) => a.startsWith('--node-taint'))).toHaveLength(input.taints.length);
  });
});

describe('bootstrap script of a warm-pool member, and its per-boot warm-start unit', () => {
  const WARM_SCRIPT = '/usr/local/sbin/k3s-burst-warm-start';
  const TAINTS_FILE = '/etc/rancher/k3s/config.yaml.d/50-k3s-burst-taints.yaml';
  const TOKEN_FILE = '/etc/k3s-burst/agent-token';
  const TOKEN_DROP_IN = '/etc/systemd/system/k3s-agent.service.d/50-k3s-burst-token.conf';
  const FRESH_TOKEN = `K10${'0ddba115'.repeat(8)}::fr3sh0.s7artt0k3nfr3sh0`;

  async function launchedMember(): Promise<Sandbox> {
    const s = sandbox();
    const input = baseInput({
      warmPool: true,
      taints: [{ key: 'k3s-burst.io/cloud', value: 'true', effect: 'NoSchedule' }],
    });
    const run = await s.run(renderUserData(input));
    expect(run.code, run.output).toBe(0);
    return s;
  }

  it('joins with the warming taint in a k3s config drop-in, keeps its device at shutdown, enables the unit', async () => {
    const s = await launchedMember();
    // No taint flags: the taints (configured + warming) are in the drop-in only
    const installer = only(s.calls().filter(isInstaller), 'installer runs');
    expect(installer.args.filter((a) => a.startsWith('--node-taint'))).toEqual([]);
    expect(readFileSync(s.rootPath(TAINTS_FILE), 'utf8')).toBe(
      'node-taint:\n  - "k3s-burst.io/cloud=true:NoSchedule"\n  - "k3s-burst.io/warming=true:NoSchedule" # k3s-burst-warming\n',
    );
    // No logout unit: a stop must not delete the (non-ephemeral) device
    expect(existsSync(s.rootPath('/etc/systemd/system/k3s-burst-tailscale-logout.service'))).toBe(false);
    // The per-boot unit runs the script before k3s-agent, only after a completed bootstrap
    const unit = readFileSync(s.rootPath('/etc/systemd/system/k3s-burst-warm-start.service'), 'utf8');
    expect(unit).toContain('Before=k3s-agent.service');
    expect(unit).toContain(`ExecStart=${WARM_SCRIPT}`);
    expect(unit).toContain('ConditionPathExists=/var/lib/k3s-burst/bootstrap-complete');
    expect(unit).toContain('RequiredBy=k3s-agent.service');
    expect((statSync(s.rootPath(WARM_SCRIPT)).mode & 0o777).toString(8)).toBe('700');
    const systemctl = s
      .calls()
      .filter((c) => c.name === 'systemctl')
      .map((c) => c.args.join(' '));
    expect(systemctl).toContain('enable k3s-burst-warm-start.service');
    expect(systemctl).not.toContain('enable --now k3s-burst-warm-start.service');
  });

  it('an ordinary node still gets taint flags and the logout unit, and no warm-start unit', async () => {
    const s = sandbox();
    const run = await s.run(renderUserData(baseInput({ taints: [{ key: 'a.io/b', effect: 'NoSchedule' }] })));
    expect(run.code, run.output).toBe(0);
    const installer = only(s.calls().filter(isInstaller), 'installer runs');
    expect(installer.args).toContain('--node-taint=a.io/b:NoSchedule');
    expect(existsSync(s.rootPath(TAINTS_FILE))).toBe(false);
    expect(existsSync(s.rootPath('/etc/systemd/system/k3s-burst-warm-start.service'))).toBe(false);
  });

  it('on a start, puts the fresh token from the user data in place and drops only the warming taint', async () => {
    const s = await launchedMember();
    const script = readFileSync(s.rootPath(WARM_SCRIPT), 'utf8');
    const userData = renderWarmStartUserData({ agentToken: FRESH_TOKEN, joinCredential: 'bootstrap-token' });
    const run = await s.run(script, { extraEnv: { STUB_USER_DATA: userData } });
    expect(run.code, run.output).toBe(0);
    expect(readFileSync(s.rootPath(TOKEN_FILE), 'utf8')).toBe(`${FRESH_TOKEN}\n`);
    expect((statSync(s.rootPath(TOKEN_FILE)).mode & 0o777).toString(8)).toBe('600');
    expect(readFileSync(s.rootPath(TAINTS_FILE), 'utf8')).toBe(
      'node-taint:\n  - "k3s-burst.io/cloud=true:NoSchedule"\n',
    );
    // IMDSv2 only, and the token never in argv, env or output
    const curls = s.calls().filter((c) => c.name === 'curl');
    expect(curls.at(-2)?.args).toEqual(expect.arrayContaining(['-X', 'PUT']));
    expect(run.output).not.toContain(FRESH_TOKEN);
    expect(
      s
        .calls()
        .slice(-3)
        .some((c) => c.args.join(' ').includes(FRESH_TOKEN)),
    ).toBe(false);
  });

  it('removes a bootstrap token once k3s-agent is up after a start (ExecStartPost), never printing it', async () => {
    // A member joining with short-lived bootstrap tokens
    const s = sandbox();
    const launch = await s.run(
      renderUserData(
        baseInput({ warmPool: true, joinCredential: 'bootstrap-token', agentToken: BOOTSTRAP_TOKEN }),
      ),
    );
    expect(launch.code, launch.output).toBe(0);
    expect(existsSync(s.rootPath(TOKEN_FILE))).toBe(false);
    // k3s-agent (Type=notify) is started only after READY, i.e. its certificates fetched with the
    // token and its Node registered; only then does systemd run ExecStartPost
    const dropIn = readFileSync(s.rootPath(TOKEN_DROP_IN), 'utf8');
    expect(dropIn).toBe(`[Service]\nExecStartPost=-${WARM_SCRIPT} spent\n`);
    // A start: the warm-start unit puts the fresh token in place for k3s-agent…
    const script = readFileSync(s.rootPath(WARM_SCRIPT), 'utf8');
    const userData = renderWarmStartUserData({ agentToken: FRESH_TOKEN, joinCredential: 'bootstrap-token' });
    const start = await s.run(script, { extraEnv: { STUB_USER_DATA: userData } });
    expect(start.code, start.output).toBe(0);
    expect(readFileSync(s.rootPath(TOKEN_FILE), 'utf8')).toBe(`${FRESH_TOKEN}\n`);
    // …and once k3s-agent is active, ExecStartPost removes it
    const spent = await s.run(script, { args: ['spent'] });
    expect(spent.code, spent.output).toBe(0);
    expect(existsSync(s.rootPath(TOKEN_FILE))).toBe(false);
    expect(spent.output).toContain('join token removed from disk');
    for (const run of [start, spent]) expect(run.output).not.toContain(FRESH_TOKEN);
    // (the stub records every call's env, where the test's STUB_USER_DATA carries it: argv only)
    expect(s.calls().some((c) => c.args.join(' ').includes(FRESH_TOKEN))).toBe(false);
    // Idempotent: a later k3s-agent restart (no token left) runs it again harmlessly
    expect((await s.run(script, { args: ['spent'] })).code).toBe(0);
  });

  it('keeps an agent token (k3s reads it at every start) and installs no removal drop-in', async () => {
    const s = await launchedMember();
    expect(existsSync(s.rootPath(TOKEN_DROP_IN))).toBe(false);
    expect(readFileSync(s.rootPath(TOKEN_FILE), 'utf8')).toBe(`${AGENT_TOKEN}\n`);
  });

  it('fails the start (k3s-agent does not run) when the user data holds no warm-start credential', async () => {
    const s = await launchedMember();
    const script = readFileSync(s.rootPath(WARM_SCRIPT), 'utf8');
    const before = existsSync(s.rootPath(TOKEN_FILE))
      ? readFileSync(s.rootPath(TOKEN_FILE), 'utf8')
      : undefined;
    const run = await s.run(script, { extraEnv: { STUB_USER_DATA: '#!/bin/bash\necho something else\n' } });
    expect(run.code).toBe(1);
    expect(run.output).toContain('holds no warm-start credential');
    const after = existsSync(s.rootPath(TOKEN_FILE))
      ? readFileSync(s.rootPath(TOKEN_FILE), 'utf8')
      : undefined;
    expect(after).toBe(before);
    expect(readFileSync(s.rootPath(TAINTS_FILE), 'utf8')).toContain('# k3s-burst-warming');
  });

  it('the warm-start script is shellcheck-clean', async () => {
    const s = await launchedMember();
    const r = spawnSync('shellcheck', ['-s', 'bash', s.rootPath(WARM_SCRIPT)], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
