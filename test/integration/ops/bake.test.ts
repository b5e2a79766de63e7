/**
 * `k3s-burst bake` end to end against moto: the real command, the real SDK calls and the real
 * builder script. moto cannot boot an instance, so the test plays the builder: when bake has
 * launched it, the test runs the user data bake passed to RunInstances in the userdata sandbox
 * (stub curl, skopeo, cloud-init…), puts the script's output on the console and stops the
 * instance in moto, as a powered-off builder would be.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  StopInstancesCommand,
} from '@aws-sdk/client-ec2';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runBakeCommand } from '../../../lib/cli/bake.js';
import type { CliIo } from '../../../lib/cli/io.js';
import { BAKE_K3S_VERSION_TAG, BAKE_TAG, type BakeEc2, type BakeReport } from '../../../lib/ops/bake.js';
import type { OpsEnvironment } from '../../../lib/ops/environment.js';
import { systemClock } from '../../../lib/system/clock.js';
import { type Moto, startMoto } from '../../support/moto.js';
import { Sandbox } from '../userdata/sandbox.js';

const CLUSTER = 'pi-lab';
const K3S = 'v1.32.6+k3s1';
const BASE_PARAMETER = '/test/stock/arm64';
const TARGET = `/k3s-burst/${CLUSTER}/ami/arm64`;

interface Out {
  stdout: string;
  stderr: string;
}

function io(cwd: string, out: Out): CliIo {
  return {
    isTTY: false,
    stdout: (s: string) => {
      out.stdout += s;
    },
    stderr: (s: string) => {
      out.stderr += s;
    },
    cwd,
    env: {},
  };
}

describe('k3s-burst bake against moto', () => {
  let moto: Moto;
  let ec2: EC2Client;
  let ssm: SSMClient;
  let env: OpsEnvironment;
  let dir: string;
  let subnetId: string;
  let sgId: string;
  let stockImage: string;
  let sandbox: Sandbox | undefined;

  beforeAll(async () => {
    moto = await startMoto();
    ec2 = new EC2Client(moto.clientConfig);
    ssm = new SSMClient(moto.clientConfig);
    env = {
      aws: (region) => ({ ...moto.clientConfig, region }),
      tailscaleBaseUrl: 'http://127.0.0.1:9', // never called: bake does not use Tailscale
      fetch: globalThis.fetch,
      clock: systemClock,
    };
    dir = mkdtempSync(join(tmpdir(), 'k3s-burst-bake-'));
    writeFileSync(
      join(dir, 'k3s-burst.config.json'),
      JSON.stringify({
        cluster: {
          name: CLUSTER,
          region: moto.clientConfig.region,
          k3sServerUrl: 'https://100.64.5.11:6443',
          k3sVersion: K3S,
        },
      }),
    );
  }, 60_000);

  afterAll(async () => {
    await moto?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    await moto.reset();
    const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
    const vpcId = vpc.Vpc?.VpcId as string;
    subnetId = (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.0.1.0/24' }))).Subnet
      ?.SubnetId as string;
    sgId = (
      await ec2.send(
        new CreateSecurityGroupCommand({ GroupName: 'nodes', Description: 'nodes', VpcId: vpcId }),
      )
    ).GroupId as string;
    stockImage = (await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images?.[0]
      ?.ImageId as string;
    await ssm.send(new PutParameterCommand({ Name: BASE_PARAMETER, Value: stockImage, Type: 'String' }));
  });

  afterEach(() => {
    sandbox?.dispose();
    sandbox = undefined;
  });

  /** Plays the builder: runs its user data in the sandbox, then stops it in moto. */
  function builder(opts: { env?: Record<string, string>; neverStops?: boolean } = {}) {
    const state: { console?: string; userData?: string; script?: Promise<void> } = {};
    const wrap = (real: BakeEc2): BakeEc2 => ({
      ...real,
      async runBuilder(req) {
        const id = await real.runBuilder(req);
        state.userData = req.userData;
        if (!opts.neverStops) {
          state.script = (async () => {
            sandbox = new Sandbox();
            const r = await sandbox.run(req.userData, { extraEnv: opts.env ?? {} });
            state.console = r.output;
            await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
          })();
        }
        return id;
      },
      async consoleOutput() {
        return state.console;
      },
    });
    return { wrap, state };
  }

  const bake = (extra: string[], wrap: (r: BakeEc2) => BakeEc2, out: Out, signal?: AbortSignal) =>
    runBakeCommand(
      [
        '--arch',
        'arm64',
        '--base-image-parameter',
        BASE_PARAMETER,
        '--subnet',
        subnetId,
        '--security-group',
        sgId,
        ...extra,
      ],
      io(dir, out),
      env,
      { ec2: wrap, pollMs: 20, ...(signal ? { signal } : {}) },
    );

  const live = async () =>
    ((await ec2.send(new DescribeInstancesCommand({}))).Reservations ?? [])
      .flatMap((r) => r.Instances ?? [])
      .filter((i) => i.State?.Name !== 'terminated')
      .map((i) => i.InstanceId);

  it('bakes: the builder installs, powers off, is imaged and terminated; the image id is published', async () => {
    const b = builder();
    const out: Out = { stdout: '', stderr: '' };
    const code = await bake(['--pre-pull', 'ghcr.io/acme/worker:1.4', '--json', 'bake.json'], b.wrap, out);
    expect(code, `${out.stdout}${out.stderr}`).toBe(0);
    const [report] = JSON.parse(readFileSync(join(dir, 'bake.json'), 'utf8')) as BakeReport[];
    expect(report?.stages.map((s) => [s.id, s.status])).toEqual([
      ['base-image', 'ok'],
      ['builder', 'ok'],
      ['build', 'ok'],
      ['image', 'ok'],
      ['publish', 'ok'],
    ]);
    expect(report?.baseImageId).toBe(stockImage);
    // Published, and the image carries what it is.
    const published = (await ssm.send(new GetParameterCommand({ Name: TARGET }))).Parameter;
    expect(published?.Value).toBe(report?.imageId);
    const image = (await ec2.send(new DescribeImagesCommand({ ImageIds: [report?.imageId as string] })))
      .Images?.[0];
    const tags = Object.fromEntries((image?.Tags ?? []).map((t) => [t.Key, t.Value]));
    expect(tags).toMatchObject({ [BAKE_TAG]: CLUSTER, [BAKE_K3S_VERSION_TAG]: K3S });
    expect(image?.Name).toMatch(/^k3s-burst-pi-lab-arm64-v1\.32\.6-k3s1-[0-9a-f]{8}$/);
    // Nothing left running; the builder never had the cluster tag.
    expect(await live()).toEqual([]);
    expect(report?.cleanedUp).toBe(true);
    // What the script put in the image, and that it cleared the identity and powered off.
    const s = sandbox as Sandbox;
    expect(existsSync(s.rootPath('/usr/local/bin/k3s'))).toBe(true);
    expect(readFileSync(s.rootPath('/usr/local/share/k3s-burst/k3s-install.sh'), 'utf8')).toBe(
      '# stub K3s installer',
    );
    const images = s.rootPath('/var/lib/rancher/k3s/agent/images');
    expect(existsSync(join(images, 'k3s-airgap-images-amd64.tar.zst'))).toBe(true);
    const calls = s.calls().map((c) => `${c.name} ${c.args.join(' ')}`);
    expect(calls).toContainEqual(
      expect.stringMatching(
        /^skopeo copy .*docker:\/\/ghcr\.io\/acme\/worker:1\.4 docker-archive:.*:ghcr\.io\/acme\/worker:1\.4$/,
      ),
    );
    expect(calls).toContain('cloud-init clean --logs --machine-id');
    expect(calls[calls.length - 1]).toBe('systemctl poweroff');
    expect(out.stdout).toMatch(new RegExp(`Next: set nodes\\.amiSsmParameters\\.arm64 to "${TARGET}"`));
  });

  it('a failing step (a checksum mismatch) publishes nothing, images nothing and terminates the builder', async () => {
    await ssm.send(
      new PutParameterCommand({ Name: TARGET, Value: stockImage, Type: 'String', DataType: 'aws:ec2:image' }),
    );
    const b = builder({ env: { STUB_BAD_CHECKSUM: '1' } });
    const out: Out = { stdout: '', stderr: '' };
    const code = await bake([], b.wrap, out);
    expect(code).toBe(1);
    expect(out.stdout).toMatch(
      /FAILED at "builder installed and powered off": the bake script failed at step "k3s-binary"/,
    );
    expect(out.stdout).toMatch(/fix: read the builder console output/);
    expect((await ssm.send(new GetParameterCommand({ Name: TARGET }))).Parameter?.Value).toBe(stockImage);
    const mine = (await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? [];
    expect(mine.filter((i) => (i.Tags ?? []).some((t) => t.Key === BAKE_TAG))).toEqual([]);
    expect(await live()).toEqual([]);
    expect(sandbox?.calls().at(-1)?.args).toEqual(['poweroff']);
  });

  it('Ctrl-C while the builder runs terminates it; a builder a killed run left is terminated by the next run', async () => {
    const abort = new AbortController();
    const b = builder({ neverStops: true });
    const out: Out = { stdout: '', stderr: '' };
    const wrap = (real: BakeEc2): BakeEc2 => {
      const inner = b.wrap(real);
      return {
        ...inner,
        async instanceState(id) {
          abort.abort();
          return inner.instanceState(id);
        },
      };
    };
    expect(await bake([], wrap, out, abort.signal)).toBe(1);
    expect(out.stdout).toMatch(/FAILED at "builder installed and powered off": interrupted/);
    expect(await live()).toEqual([]);

    // A builder left running by a run that was killed outright (its tag is how it is found).
    const orphan = (
      await ec2.send(
        new RunInstancesCommand({
          ImageId: stockImage,
          MinCount: 1,
          MaxCount: 1,
          TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: BAKE_TAG, Value: CLUSTER }] }],
        }),
      )
    ).Instances?.[0]?.InstanceId as string;
    const out2: Out = { stdout: '', stderr: '' };
    expect(await bake([], builder().wrap, out2)).toBe(0);
    expect(out2.stdout).toContain(`terminated builders an earlier run left: ${orphan}`);
    expect(await live()).toEqual([]);
  });
});
