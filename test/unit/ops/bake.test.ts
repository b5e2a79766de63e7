import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BUILDER_TYPES, defaultImageParameter } from '../../../lib/cli/bake.js';
import type { Arch } from '../../../lib/events/index.js';
import {
  BAKE_RESULT_TAG,
  BAKE_TAG,
  type BakeEc2,
  type BakeOptions,
  formatBake,
  resultLine,
  runBake,
} from '../../../lib/ops/bake.js';
import { MAX_PRE_PULL_IMAGES, renderBakeScript } from '../../../lib/userdata/bake.js';
import { UserDataError } from '../../../lib/userdata/errors.js';

const options = (over: Partial<BakeOptions> = {}): BakeOptions => ({
  cluster: 'pi-lab',
  arch: 'arm64',
  k3sVersion: 'v1.32.6+k3s1',
  baseImageParameter: '/stock/arm64',
  parameterName: '/k3s-burst/pi-lab/ami/arm64',
  instanceType: 't4g.small',
  subnetId: 'subnet-0aaaaaaaaaaaaaaa1',
  securityGroupIds: ['sg-0aaaaaaaaaaaaaaa1'],
  rootDeviceName: '/dev/sda1',
  rootVolumeGiB: 20,
  userData: '#!/bin/bash\n',
  runId: 'deadbeef',
  buildTimeoutMs: 60_000,
  imageTimeoutMs: 60_000,
  pollMs: 1000,
  signal: new AbortController().signal,
  ...over,
});

/** An EC2 whose builder stops at once with `console`, and whose image ends in `imageState`. */
function fakeEc2(consoleText: string, imageState: string) {
  const calls: string[] = [];
  const ec2: BakeEc2 = {
    runBuilder: async () => {
      calls.push('run');
      return 'i-0123456789abcdef0';
    },
    instanceState: async () => 'stopped',
    consoleOutput: async () => consoleText,
    createImage: async () => {
      calls.push('create-image');
      return 'ami-0123456789abcdef0';
    },
    image: async () => ({ state: imageState, snapshotIds: ['snap-0123456789abcdef0'], reason: 'disk error' }),
    deregisterImage: async (id, snaps) => {
      calls.push(`deregister ${id} ${snaps.join(',')}`);
    },
    terminate: async (ids) => {
      calls.push(`terminate ${ids.join(',')}`);
    },
    leftoverBuilders: async () => [],
  };
  return { ec2, calls };
}

function deps(ec2: BakeEc2, params: Map<string, string>) {
  let t = 0;
  return {
    ec2,
    ssm: {
      getParameter: async (n: string) => params.get(n),
      putImageParameter: async (n: string, v: string) => {
        params.set(n, v);
      },
    },
    clock: {
      now: () => t,
      sleep: async (ms: number) => {
        t += ms;
      },
    },
  };
}

const OK = 'cloud-init noise\nK3S_BURST_BAKE_RESULT ok k3s=v1.32.6+k3s1\n';

describe('runBake', () => {
  it('an image that fails is deregistered with its snapshots; the parameter keeps its value; the builder goes', async () => {
    const { ec2, calls } = fakeEc2(OK, 'failed');
    const params = new Map([
      ['/stock/arm64', 'ami-0aaaaaaaaaaaaaaa1'],
      ['/k3s-burst/pi-lab/ami/arm64', 'ami-0bbbbbbbbbbbbbbb2'],
    ]);
    const r = await runBake(options(), deps(ec2, params));
    expect(r.ok).toBe(false);
    expect(r.stages.find((s) => s.status === 'failed')).toMatchObject({
      id: 'image',
      detail: 'ami-0123456789abcdef0 is failed: disk error',
    });
    expect(calls).toEqual([
      'run',
      'create-image',
      'terminate i-0123456789abcdef0',
      'deregister ami-0123456789abcdef0 snap-0123456789abcdef0',
    ]);
    expect(params.get('/k3s-burst/pi-lab/ami/arm64')).toBe('ami-0bbbbbbbbbbbbbbb2');
    expect(r.cleanedUp).toBe(true);
  });

  it('refuses an image of another K3s version than the config pins, and a builder that never powers off', async () => {
    const params = new Map([['/stock/arm64', 'ami-0aaaaaaaaaaaaaaa1']]);
    const other = fakeEc2('K3S_BURST_BAKE_RESULT ok k3s=v1.31.0+k3s1', 'available');
    const r = await runBake(options(), deps(other.ec2, params));
    expect(r.stages.find((s) => s.status === 'failed')?.detail).toBe(
      'the builder baked K3s v1.31.0+k3s1, expected v1.32.6+k3s1',
    );
    expect(other.calls).not.toContain('create-image');

    const stuck = fakeEc2(OK, 'available');
    stuck.ec2.instanceState = async () => 'running';
    const r2 = await runBake(options({ buildTimeoutMs: 5000 }), deps(stuck.ec2, params));
    expect(r2.stages.find((s) => s.status === 'failed')?.detail).toBe(
      'the builder did not power off within 5 s',
    );
    expect(stuck.calls.at(-1)).toBe('terminate i-0123456789abcdef0');
  });

  it('says what to set next and how to roll back', async () => {
    const params = new Map([
      ['/stock/arm64', 'ami-0aaaaaaaaaaaaaaa1'],
      ['/k3s-burst/pi-lab/ami/arm64', 'ami-0bbbbbbbbbbbbbbb2'],
    ]);
    const { ec2 } = fakeEc2(OK, 'available');
    const r = await runBake(options(), deps(ec2, params));
    expect(r.ok).toBe(true);
    const text = formatBake(r);
    expect(text).toContain('Next: set nodes.amiSsmParameters.arm64 to "/k3s-burst/pi-lab/ami/arm64"');
    expect(text).toContain(
      'aws ssm put-parameter --name /k3s-burst/pi-lab/ami/arm64 --type String --data-type aws:ec2:image --overwrite --value ami-0bbbbbbbbbbbbbbb2',
    );
  });
});

describe('resultLine', () => {
  it('reads the last result line the script printed', () => {
    expect(resultLine(undefined)).toBeUndefined();
    expect(resultLine('booting…\n')).toBeUndefined();
    expect(resultLine('K3S_BURST_BAKE_RESULT failed step=k3s-binary exit=1\r\n')).toEqual({
      ok: false,
      step: 'k3s-binary',
      exit: '1',
    });
    expect(resultLine(`K3S_BURST_BAKE_RESULT failed step=x exit=1\n${OK}`)).toEqual({
      ok: true,
      k3sVersion: 'v1.32.6+k3s1',
    });
  });
});

describe('renderBakeScript', () => {
  const base = { k3sVersion: 'v1.32.6+k3s1', airgapImages: true, prePullImages: [] as string[] };
  it('quotes every value and refuses what is not an image reference or a K3s release', () => {
    const script = renderBakeScript({ ...base, prePullImages: ['ghcr.io/acme/worker:1.4', 'nginx'] });
    expect(script).toContain("K3S_VERSION='v1.32.6+k3s1'");
    expect(script).toContain("PRE_PULL_IMAGES=('ghcr.io/acme/worker:1.4' 'nginx')");
    expect(script).not.toMatch(/\{\{\w+\}\}/);
    const refused = (over: Partial<typeof base>) => {
      try {
        renderBakeScript({ ...base, ...over });
      } catch (err) {
        if (err instanceof UserDataError) return err.message;
        throw err;
      }
      return 'accepted';
    };
    expect(refused({ prePullImages: ['nginx; rm -rf /'] })).toMatch(
      /^--pre-pull "nginx; rm -rf \/": expected an image reference/,
    );
    expect(refused({ prePullImages: ["a'b"] })).toMatch(/expected an image reference/);
    expect(refused({ k3sVersion: 'latest' })).toMatch(/cluster.k3sVersion "latest" is not a K3s release/);
    expect(
      refused({ prePullImages: Array.from({ length: MAX_PRE_PULL_IMAGES + 1 }, (_, i) => `img${i}`) }),
    ).toMatch(/at most 20/);
    expect(
      refused({ prePullImages: [`nginx@sha256:${'a'.repeat(64)}`, 'registry.local:5000/team/app:v2'] }),
    ).toBe('accepted');
  });
});

describe('docs/nodes.md on bake', () => {
  it('names the defaults and tags the command uses', () => {
    const doc = readFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', 'nodes.md'), 'utf8');
    expect(doc).toContain(`\`${defaultImageParameter('<cluster>', '<arch>' as Arch)}\``);
    expect(doc).toContain(`(\`${DEFAULT_BUILDER_TYPES.arm64}\` or \`${DEFAULT_BUILDER_TYPES.amd64}\`)`);
    expect(doc).toContain(`\`${BAKE_TAG}=<cluster>\``);
    expect(doc).toContain(`\`${BAKE_RESULT_TAG}\``);
    const script = readFileSync(
      join(import.meta.dirname, '..', '..', '..', 'userdata', 'bake.sh.tpl'),
      'utf8',
    );
    expect(script).toContain(`RESULT_TAG=${BAKE_RESULT_TAG}`);
  });
});
