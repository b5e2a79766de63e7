/**
 * `k3s-burst bake`: build a node image (AMI) per architecture so burst nodes boot without
 * downloading Tailscale, K3s or (optionally) images (issue 17 item 3).
 *
 * A builder instance boots the stock image with the bake script as user data
 * (`userdata/bake.sh.tpl`), installs what a node otherwise fetches at every boot, clears every
 * per-instance identity, prints one result line on its console and powers off. Bake then
 * images the stopped instance, waits until the image is available and publishes its id to
 * an SSM parameter (data type `aws:ec2:image`), which `nodes.amiSsmParameters` points at.
 *
 * Why a command and not EC2 Image Builder in the stack: it costs nothing between bakes (no
 * pipeline, no infrastructure configuration, no S3 logs), needs no extra IAM in the deployed
 * stack, runs with the operator's credentials, and every step runs offline in the tests
 * (moto). The price: the operator runs it (e.g. when `cluster.k3sVersion` changes).
 *
 * Nothing is left billed: the builder is terminated on every exit path (success, failure,
 * Ctrl-C); an image that did not become available is deregistered with its snapshots; a
 * builder an earlier, killed run left is found by its tag and terminated first. The builder
 * never carries the cluster tag, so the autoscaler never counts, drains or terminates it.
 */
import type { Clock } from '../core/clock.js';
import type { Arch } from '../events/index.js';

/** Tag on the builder instance and the image: the cluster it was baked for. */
export const BAKE_TAG = 'k3s-burst:bake';
/** Tag on the image: the K3s release in it. */
export const BAKE_K3S_VERSION_TAG = 'k3s-burst:k3s-version';
/** The line prefix the bake script prints on the console when it ends. */
export const BAKE_RESULT_TAG = 'K3S_BURST_BAKE_RESULT';

/** The EC2 calls bake makes (lib/cli/bake.ts backs them with the AWS SDK). */
export interface BakeEc2 {
  /** Start the builder; returns its instance id. */
  runBuilder(req: BuilderRequest): Promise<string>;
  /** The builder's state (`pending`, `running`, `stopped`, …); undefined when EC2 does not know it. */
  instanceState(instanceId: string): Promise<string | undefined>;
  /** The latest console output, decoded; undefined while EC2 has none. */
  consoleOutput(instanceId: string): Promise<string | undefined>;
  createImage(instanceId: string, name: string, tags: Record<string, string>): Promise<string>;
  /** The image's state and the snapshots behind it. */
  image(imageId: string): Promise<{ state: string; snapshotIds: string[]; reason?: string } | undefined>;
  deregisterImage(imageId: string, snapshotIds: readonly string[]): Promise<void>;
  terminate(instanceIds: readonly string[]): Promise<void>;
  /** Builders of this cluster not yet terminated (an earlier run that was killed). */
  leftoverBuilders(cluster: string): Promise<string[]>;
}

/** The SSM Parameter Store calls bake makes. */
export interface BakeSsm {
  getParameter(name: string): Promise<string | undefined>;
  /** Create or overwrite a `String` parameter of data type `aws:ec2:image`. */
  putImageParameter(name: string, imageId: string): Promise<void>;
}

export interface BuilderRequest {
  imageId: string;
  instanceType: string;
  subnetId: string;
  securityGroupIds: readonly string[];
  rootDeviceName: string;
  rootVolumeGiB: number;
  userData: string;
  tags: Record<string, string>;
}

/** The builder's launch settings, from the config and the flags; `userData` is the rendered bake script. */
type BuilderSettings = Pick<
  BuilderRequest,
  'instanceType' | 'subnetId' | 'securityGroupIds' | 'rootDeviceName' | 'rootVolumeGiB' | 'userData'
>;

export interface BakeOptions extends BuilderSettings {
  cluster: string;
  arch: Arch;
  k3sVersion: string;
  /** SSM parameter holding the stock image to start from. */
  baseImageParameter: string;
  /** SSM parameter to publish the new image id to. */
  parameterName: string;
  /** Unique per run; part of the image name. */
  runId: string;
  /** Builder start → powered off. */
  buildTimeoutMs: number;
  /** CreateImage → available. */
  imageTimeoutMs: number;
  pollMs: number;
  signal: AbortSignal;
}

export interface BakeDeps {
  ec2: BakeEc2;
  ssm: BakeSsm;
  /** Wall time and the abortable wait between polls (the environment's clock; tests advance a fake). */
  clock: Pick<Clock, 'now' | 'sleep'>;
  onStage?: (s: BakeStage) => void;
}

export type BakeStageId = 'base-image' | 'builder' | 'build' | 'image' | 'publish';

export interface BakeStage {
  id: BakeStageId;
  label: string;
  status: 'ok' | 'failed' | 'not-reached';
  /** Since the run started. */
  atMs?: number;
  durationMs?: number;
  detail?: string;
  fix?: string;
}

export interface BakeReport {
  ok: boolean;
  cluster: string;
  arch: Arch;
  stages: BakeStage[];
  baseImageId?: string;
  builderId?: string;
  imageId?: string;
  parameterName: string;
  /** The parameter's value before this run (to roll back to). */
  previousImageId?: string;
  /** Builder terminated (or never started), and no unavailable image left. */
  cleanedUp: boolean;
  cleanupProblems: string[];
  /** Builders of an earlier run found and terminated first. */
  leftoversTerminated: string[];
}

const STAGES: ReadonlyArray<{ id: BakeStageId; label: string; fix: string }> = [
  {
    id: 'base-image',
    label: 'stock image resolved',
    fix: 'check --base-image-parameter (an SSM parameter holding an AMI id of this architecture) and ssm:GetParameter',
  },
  {
    id: 'builder',
    label: 'builder launched',
    fix: 'check --subnet (it needs a route to the internet), --instance-type for this architecture, and ec2:RunInstances',
  },
  {
    id: 'build',
    label: 'builder installed and powered off',
    fix: 'read the builder console output (aws ec2 get-console-output --latest) for the failed step; it needs outbound HTTPS to tailscale.com, get.k3s.io and github.com',
  },
  {
    id: 'image',
    label: 'image available',
    fix: 'check ec2:CreateImage and the image state in the EC2 console (AMIs)',
  },
  {
    id: 'publish',
    label: 'image id published',
    fix: 'check ssm:PutParameter on the parameter; a parameter of another data type must be deleted first (aws:ec2:image cannot be converted)',
  },
];

class StageFailure extends Error {
  constructor(
    readonly stage: BakeStageId,
    message: string,
  ) {
    super(message);
  }
}

class Aborted extends Error {}

/** Bake one image. Never throws for a failed stage: the report says which, and cleanup ran. */
export async function runBake(o: BakeOptions, deps: BakeDeps): Promise<BakeReport> {
  const t0 = deps.clock.now();
  const stages: BakeStage[] = STAGES.map((s) => ({ id: s.id, label: s.label, status: 'not-reached' }));
  let last = t0;
  const reached = (id: BakeStageId, detail?: string) => {
    const s = stages.find((x) => x.id === id) as BakeStage;
    const at = deps.clock.now();
    s.status = 'ok';
    s.atMs = at - t0;
    s.durationMs = at - last;
    if (detail) s.detail = detail;
    last = at;
    deps.onStage?.(s);
  };
  const report: BakeReport = {
    ok: false,
    cluster: o.cluster,
    arch: o.arch,
    stages,
    parameterName: o.parameterName,
    cleanedUp: false,
    cleanupProblems: [],
    leftoversTerminated: [],
  };
  const check = () => {
    if (o.signal.aborted) throw new Aborted('interrupted');
  };
  /** Poll `probe` until it returns a value, within `budgetMs`. */
  const until = async <T>(
    stage: BakeStageId,
    budgetMs: number,
    what: string,
    probe: () => Promise<T | undefined>,
  ) => {
    const end = deps.clock.now() + budgetMs;
    for (let i = 0; i < 100_000; i++) {
      check();
      const v = await probe();
      if (v !== undefined) return v;
      if (deps.clock.now() >= end)
        throw new StageFailure(stage, `${what} within ${Math.round(budgetMs / 1000)} s`);
      await deps.clock.sleep(o.pollMs, o.signal);
    }
    throw new StageFailure(stage, `${what}: gave up polling`);
  };
  let imageAvailable = false;
  try {
    report.leftoversTerminated = await deps.ec2.leftoverBuilders(o.cluster);
    if (report.leftoversTerminated.length > 0) await deps.ec2.terminate(report.leftoversTerminated);

    // 1. The stock image to start from, and what the parameter holds today.
    const base = await deps.ssm.getParameter(o.baseImageParameter).catch((err: unknown) => {
      throw new StageFailure('base-image', `cannot read ${o.baseImageParameter}: ${(err as Error).message}`);
    });
    if (!base || !/^ami-[0-9a-f]{8,17}$/.test(base)) {
      throw new StageFailure(
        'base-image',
        `${o.baseImageParameter} holds ${base === undefined ? 'nothing' : `"${base.slice(0, 40)}"`}, not an AMI id`,
      );
    }
    report.baseImageId = base;
    report.previousImageId = await deps.ssm.getParameter(o.parameterName).catch(() => undefined);
    reached('base-image', base);
    check();

    // 2. The builder.
    const builderId = await deps.ec2
      .runBuilder({
        imageId: base,
        instanceType: o.instanceType,
        subnetId: o.subnetId,
        securityGroupIds: o.securityGroupIds,
        rootDeviceName: o.rootDeviceName,
        rootVolumeGiB: o.rootVolumeGiB,
        userData: o.userData,
        tags: { [BAKE_TAG]: o.cluster, Name: `k3s-burst-bake-${o.cluster}-${o.arch}` },
      })
      .catch((err: unknown) => {
        throw new StageFailure('builder', `RunInstances failed: ${(err as Error).message}`);
      });
    report.builderId = builderId;
    reached('builder', `${builderId} (${o.instanceType})`);

    // 3. The script runs and powers off; its last console line says how it went.
    await until('build', o.buildTimeoutMs, 'the builder did not power off', async () => {
      const state = await deps.ec2.instanceState(builderId);
      if (state === 'terminated' || state === 'shutting-down') {
        throw new StageFailure('build', `the builder is ${state}: something else terminated it`);
      }
      return state === 'stopped' ? state : undefined;
    });
    const result = await until(
      'build',
      Math.min(o.buildTimeoutMs, 300_000),
      'no result line on the console',
      async () => resultLine(await deps.ec2.consoleOutput(builderId)),
    );
    if (!result.ok)
      throw new StageFailure(
        'build',
        `the bake script failed at step "${result.step}" (exit ${result.exit})`,
      );
    if (result.k3sVersion !== o.k3sVersion) {
      throw new StageFailure('build', `the builder baked K3s ${result.k3sVersion}, expected ${o.k3sVersion}`);
    }
    reached('build', `K3s ${result.k3sVersion}`);

    // 4. The image.
    const name = `k3s-burst-${o.cluster}-${o.arch}-${o.k3sVersion.replace('+', '-')}-${o.runId}`;
    const imageId = await deps.ec2
      .createImage(builderId, name, {
        [BAKE_TAG]: o.cluster,
        [BAKE_K3S_VERSION_TAG]: o.k3sVersion,
        Name: name,
      })
      .catch((err: unknown) => {
        throw new StageFailure('image', `CreateImage failed: ${(err as Error).message}`);
      });
    report.imageId = imageId;
    await until('image', o.imageTimeoutMs, `${imageId} did not become available`, async () => {
      const img = await deps.ec2.image(imageId);
      if (img?.state === 'failed' || img?.state === 'error' || img?.state === 'invalid') {
        throw new StageFailure('image', `${imageId} is ${img.state}${img.reason ? `: ${img.reason}` : ''}`);
      }
      return img?.state === 'available' ? img : undefined;
    });
    imageAvailable = true;
    reached('image', `${imageId} (${name})`);

    // 5. Publish, and read back: aws:ec2:image parameters are validated after PutParameter returns.
    await deps.ssm.putImageParameter(o.parameterName, imageId).catch((err: unknown) => {
      throw new StageFailure('publish', `PutParameter failed: ${(err as Error).message}`);
    });
    await until('publish', 60_000, `${o.parameterName} does not hold ${imageId}`, async () =>
      (await deps.ssm.getParameter(o.parameterName).catch(() => undefined)) === imageId ? true : undefined,
    );
    reached('publish', `${o.parameterName} = ${imageId}`);
    report.ok = true;
  } catch (err) {
    const stage = stages.find((s) => s.status === 'not-reached');
    if (stage) {
      stage.status = 'failed';
      stage.detail = err instanceof Aborted ? 'interrupted' : (err as Error).message;
      stage.fix = STAGES.find((s) => s.id === stage.id)?.fix;
      deps.onStage?.(stage);
    }
  } finally {
    await cleanUp(report, deps, imageAvailable);
  }
  return report;
}

/** Terminate the builder; deregister an image that never became available (with its snapshots). */
async function cleanUp(report: BakeReport, deps: BakeDeps, imageAvailable: boolean): Promise<void> {
  if (report.builderId) {
    await deps.ec2.terminate([report.builderId]).catch((err: unknown) => {
      report.cleanupProblems.push(
        `builder ${report.builderId} not terminated (${(err as Error).message}): terminate it in the EC2 console; it carries the tag ${BAKE_TAG}=${report.cluster}`,
      );
    });
  }
  if (report.imageId && !imageAvailable) {
    const img = await deps.ec2.image(report.imageId).catch(() => undefined);
    await deps.ec2.deregisterImage(report.imageId, img?.snapshotIds ?? []).catch((err: unknown) => {
      report.cleanupProblems.push(
        `unfinished image ${report.imageId} not deregistered (${(err as Error).message}): deregister it and delete its snapshots`,
      );
    });
  }
  report.cleanedUp = report.cleanupProblems.length === 0;
}

/** The bake script's result line in console output: the last one wins. */
export function resultLine(
  console: string | undefined,
): { ok: true; k3sVersion: string } | { ok: false; step: string; exit: string } | undefined {
  if (!console) return undefined;
  const lines = console.split(/\r?\n/).filter((l) => l.includes(BAKE_RESULT_TAG));
  const line = lines[lines.length - 1];
  if (!line) return undefined;
  const ok = /K3S_BURST_BAKE_RESULT ok k3s=(v\S+)/.exec(line);
  if (ok) return { ok: true, k3sVersion: ok[1] as string };
  const failed = /K3S_BURST_BAKE_RESULT failed step=(\S+) exit=(\d+)/.exec(line);
  if (failed) return { ok: false, step: failed[1] as string, exit: failed[2] as string };
  return undefined;
}

/** The report as the terminal shows it: one line per stage, then the next steps. */
export function formatBake(r: BakeReport): string {
  const secs = (ms: number | undefined) => (ms === undefined ? '' : `${(ms / 1000).toFixed(1)} s`);
  const width = Math.max(...r.stages.map((s) => s.label.length));
  const lines = r.stages.map((s) => {
    const mark = s.status === 'ok' ? 'ok  ' : s.status === 'failed' ? 'FAIL' : '-   ';
    const times = s.status === 'ok' ? `${secs(s.atMs).padStart(9)}  (+${secs(s.durationMs)})` : '';
    return `${mark}  ${s.label.padEnd(width)}  ${times}${s.detail ? `  ${s.detail}` : ''}`;
  });
  const out = [`k3s-burst bake: cluster ${r.cluster}, ${r.arch}`];
  if (r.leftoversTerminated.length > 0) {
    out.push(`terminated builders an earlier run left: ${r.leftoversTerminated.join(', ')}`);
  }
  out.push(...lines, '');
  if (r.ok) {
    out.push(
      `baked ${r.imageId} and published it to ${r.parameterName}.`,
      'Next: set nodes.amiSsmParameters.' +
        `${r.arch} to "${r.parameterName}" in k3s-burst.config.json and run cdk deploy`,
      '(launch reads the parameter, caching it for up to 10 minutes: later bakes to it need no deploy).',
    );
    if (r.previousImageId && r.previousImageId !== r.imageId) {
      out.push(
        `To roll back: aws ssm put-parameter --name ${r.parameterName} --type String --data-type aws:ec2:image --overwrite --value ${r.previousImageId}`,
      );
    }
  } else {
    const failed = r.stages.find((s) => s.status === 'failed');
    out.push(`FAILED at "${failed?.label ?? '?'}": ${failed?.detail ?? ''}`, `fix: ${failed?.fix ?? ''}`);
  }
  out.push(
    r.cleanedUp
      ? 'builder terminated; nothing left running'
      : `WARNING: cleanup incomplete:\n  ${r.cleanupProblems.join('\n  ')}`,
  );
  return `${out.join('\n')}\n`;
}
