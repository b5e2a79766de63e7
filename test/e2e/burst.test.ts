/**
 * End to end, offline: a pod that cannot fit on the Pi → the real agent publishes a snapshot →
 * the stack's own rules (read from the synthesized template) route it on moto → the real
 * reconcile and launch handlers → RunInstances on moto with a one-off Tailscale key in the
 * userdata → a simulated kubelet joins the instance as the bootstrap would → the pod is bound →
 * the work ends → DrainNode over SQS → the agent drains → NodeDrained → terminate → the
 * instance is terminated, its tailnet device deleted, its Node deleted. Nothing is left.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeInstanceAttributeCommand } from '@aws-sdk/client-ec2';
import { ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoState } from '../../lib/aws/state.js';
import { STAGE_IDS } from '../../lib/core/stage-timings.js';
import { DetailTypes, K3S_SECURE_BOOTSTRAP_TOKEN_PATTERN, Tags } from '../../lib/events/index.js';
import { piNode, pod } from '../support/fake-k8s/fixtures.js';
import {
  JOIN_TOKEN_TTL_SECONDS,
  leftovers,
  pendingBuildPod,
  queueDepth,
  scriptValue,
  startWorld,
  type World,
} from './world.js';

const POD = 'ci-build-7f9c4';
const PI = 'pi-node-1';

describe('end to end: a pending pod bursts onto EC2 and everything is cleaned up after', () => {
  let w: World;
  beforeAll(async () => {
    // The Pi is busy: a pod bound there holds 3.5 of its 4 CPUs, so the 1.5-CPU build pod cannot fit.
    w = await startWorld({
      piNodes: [piNode(PI)],
      pods: [pod('home-assistant-5c8d7', { cpu: '3500m', memory: '6Gi', node: PI })],
    });
  }, 60_000);
  afterAll(async () => {
    await w?.stop();
  }, 30_000);

  it('routes with the synthesized rules, not hand-written ones', () => {
    const byType = (t: string) => w.rules.filter((r) => JSON.stringify(r.pattern).includes(`"${t}"`));
    expect(byType(DetailTypes.clusterSnapshot).map((r) => r.target)).toEqual(['reconcile']);
    expect(
      byType(DetailTypes.scaleOutRequested)
        .map((r) => r.target)
        .sort(),
    ).toEqual(['commands', 'launch']);
    expect(byType(DetailTypes.drainNode).map((r) => r.target)).toEqual(['commands']);
    expect(byType(DetailTypes.nodeDrained).map((r) => r.target)).toEqual(['terminate']);
  });

  it('launches for the pending pod, joins the node, and removes everything when the work ends', async () => {
    // The agent's first snapshot (no pending pod) reaches reconcile through the bus rule.
    await w.until('the first reconcile of an agent snapshot', () =>
      w.invocations.some((i) => i.fn === 'reconcile' && i.detailType === DetailTypes.clusterSnapshot),
    );
    expect(await w.instances()).toEqual([]);

    // ── scale-out ──
    const t0 = Date.now();
    w.k8s.upsert('pods', pendingBuildPod(POD, new Date(t0)));
    const instanceId = await w.until('RunInstances', () => [...w.firstSeen.keys()][0]);
    const pendingToLaunchMs = (w.firstSeen.get(instanceId) as number) - t0;
    expect(pendingToLaunchMs).toBeGreaterThan(0);

    const joined = await w.until('the simulated kubelet to register the node', () =>
      w.registered.get(instanceId),
    );
    // The launch handler tags the node name right after RunInstances: wait for it to finish.
    await w.until('the launch handler to finish', () =>
      w.invocations.some((i) => i.fn === 'launch' && (i.result !== undefined || i.error)),
    );
    const [inst] = (await w.instances()).filter((i) => i.InstanceId === instanceId);
    const tag = (k: string) => inst?.Tags?.find((t) => t.Key === k)?.Value;
    // The name the fleet records is the name the node registers with, and the providerID matches.
    expect(tag(Tags.nodeName)).toBe(joined.nodeName);
    expect(joined.nodeName).toBe(`${w.config.nodes.namePrefix}${instanceId}`);
    const node = w.k8s.get('nodes', undefined, joined.nodeName);
    expect((node?.spec as { providerID?: string } | undefined)?.providerID).toBe(
      `aws:///${inst?.Placement?.AvailabilityZone}/${instanceId}`,
    );
    expect(tag(Tags.cluster)).toBe(w.cluster);
    expect(tag(Tags.decisionId)).toMatch(/\S/);
    expect(inst?.MetadataOptions?.HttpTokens).toBe('required');

    // Exactly one key was minted, for this instance: single-use, ephemeral, pre-authorized, tagged.
    expect(w.tailscale.keys).toHaveLength(1);
    const key = w.tailscale.keys[0];
    expect(key?.capabilities.devices.create).toMatchObject({
      reusable: false,
      ephemeral: true,
      preauthorized: true,
      tags: w.config.tailscale.tags,
    });
    expect(key?.uses).toBe(1);
    expect([...w.tailscale.devices.values()].map((d) => d.hostname)).toEqual([joined.nodeName]);

    // `kubectl describe pod` explains it: the agent recorded the decision as a pod Event.
    const podEvent = await w.until('a TriggeredScaleUp Event on the pod', () =>
      w.k8s
        .list('events')
        .find(
          (e) =>
            e.reason === 'TriggeredScaleUp' &&
            (e.involvedObject as { name?: string } | undefined)?.name === POD,
        ),
    );
    expect(String(podEvent.message)).toMatch(/t4g|m7g|c7g|r7g/);

    // The scheduler binds the pod to the new node; it runs there.
    const p = w.k8s.get('pods', 'default', POD) as Record<string, Record<string, unknown>>;
    w.k8s.upsert('pods', {
      ...p,
      spec: { ...p.spec, nodeName: joined.nodeName },
      status: {
        phase: 'Running',
        conditions: [
          { type: 'PodScheduled', status: 'True', lastTransitionTime: new Date().toISOString() },
          { type: 'ContainersReady', status: 'True', lastTransitionTime: new Date().toISOString() },
        ],
      },
    } as never);
    // The agent publishes the change; reconcile sees the pod placed and launches nothing more.
    const reconcilesBefore = w.invocations.filter((i) => i.fn === 'reconcile').length;
    await w.until('a reconcile after the pod is bound', () =>
      w.invocations.filter((i) => i.fn === 'reconcile').length > reconcilesBefore ? true : undefined,
    );
    expect(w.firstSeen.size).toBe(1);
    expect(w.invocations.filter((i) => i.fn === 'launch')).toHaveLength(1);

    // Every stage of this burst is recorded once in the state table (issue 17 item 2): the agent's
    // observations (Node Ready, pod running) joined with the instance's LaunchTime by reconcile.
    const state = new DynamoState({
      client: new DynamoDBClient(w.moto.clientConfig),
      tableName: `k3s-burst-${w.cluster}-state`,
    });
    const stages = await w.until('every burst stage recorded', async () => {
      const t = await state.getStageTimings(w.cluster);
      const got = new Set(t?.samples.map((x) => x.stage));
      return STAGE_IDS.every((id) => got.has(id)) ? t : undefined;
    });
    expect(stages.samples).toHaveLength(STAGE_IDS.length);
    expect(stages.samples.find((x) => x.stage === 'running-to-ready')?.subject).toBe(instanceId);
    expect(stages.samples.find((x) => x.stage === 'pod-wait')?.subject).toBe(
      (p.metadata as { uid?: string }).uid,
    );

    // ── the work ends: scale-in ──
    w.k8s.remove('pods', 'default', POD);
    await w.until('the agent to cordon the cloud node', () => {
      const n = w.k8s.get('nodes', undefined, joined.nodeName);
      return (n?.spec as { unschedulable?: boolean } | undefined)?.unschedulable === true;
    });
    await w.until('terminate after NodeDrained', () =>
      w.invocations.some((i) => i.fn === 'terminate' && i.detailType === DetailTypes.nodeDrained),
    );
    await w.until('the instance to be terminated', async () => {
      const [i] = (await w.instances()).filter((x) => x.InstanceId === instanceId);
      return i?.State?.Name === 'terminated' || i?.State?.Name === 'shutting-down';
    });
    await w.until('the tailnet device to be deleted', () => w.tailscale.devices.size === 0);
    await w.until('the Node object to be deleted', () => !w.k8s.get('nodes', undefined, joined.nodeName));

    // ── the janitor finds nothing to clean ──
    const janitor = await w.invoke('janitor', {
      version: '0',
      id: 'e2e-janitor-tick',
      'detail-type': 'Scheduled Event',
      source: 'aws.scheduler',
      account: '123456789012',
      time: new Date().toISOString(),
      region: w.config.cluster.region,
      resources: [],
      detail: { action: 'janitor', scheduledAt: new Date().toISOString() },
    });
    expect(JSON.stringify(janitor)).not.toMatch(/rejected/);

    // ── nothing is left: no billed instance, no tailnet device, no managed Node ──
    expect(await leftovers(w)).toEqual({ instances: [], devices: 0, managedNodes: [] });
    // The Pi was never touched.
    const piWrites = w.k8s.requests.filter(
      (r) => r.resource === 'nodes' && r.name === PI && ['patch', 'update', 'delete'].includes(r.verb),
    );
    expect(piWrites).toEqual([]);
    expect(w.k8s.get('nodes', undefined, PI)).toBeDefined();
    // Every queue drains (the last snapshots may still be in flight), and every handler
    // invocation succeeded.
    const queues = [...Object.values(w.functionQueues), w.commandQueueUrl];
    await w.until('every queue to drain', async () => {
      for (const url of queues) if ((await queueDepth(w.sqs, url)) > 0) return false;
      return true;
    });
    expect(w.invocations.filter((i) => i.error)).toEqual([]);
    // Exactly one instance was ever launched for the one pod.
    expect(w.firstSeen.size).toBe(1);
    // No secret value in anything logged by the handlers or the agent.
    const logged = JSON.stringify([w.controlLog, w.agentLog, w.invocations]);
    for (const secret of w.secretValues()) expect(logged).not.toContain(secret);

    console.log(`e2e: pending-to-launch ${pendingToLaunchMs} ms`);
  }, 120_000);

  it('default config (tailscale.auth federated): no Tailscale client secret is stored; the Lambdas exchanged STS identity tokens for Tailscale API tokens', async () => {
    expect(w.config.tailscale.auth).toBe('federated');
    // No OAuth client secret anywhere in the account
    const secrets = await new SecretsManagerClient(w.moto.clientConfig).send(new ListSecretsCommand({}));
    expect((secrets.SecretList ?? []).map((x) => x.Name).filter((n) => n?.includes('tailscale'))).toEqual([]);
    // Every token request was an exchange of a 300 s STS token for Tailscale's audience, and the
    // client secret path was never used
    expect(w.tailscale.calls.filter((c) => c.path === '/api/v2/oauth/token')).toEqual([]);
    const exchanges = w.tailscale.calls.filter((c) => c.path === '/api/v2/oauth/token-exchange');
    expect(exchanges.length).toBeGreaterThan(0);
    expect(exchanges.every((c) => c.status === 200)).toBe(true);
    expect(w.sts.requests.length).toBe(exchanges.length);
    for (const r of w.sts.requests)
      expect(r).toEqual({
        audience: `api.tailscale.com/${w.config.tailscale.federatedClientId}`,
        durationSeconds: 300,
        signingAlgorithm: 'ES384',
      });
    // One warm deps (as one Lambda container): the API token is reused, not re-exchanged per call
    // (mint in launch, list + delete in terminate, list in the janitor)
    expect(exchanges.length).toBe(1);
  });

  it('the node joined with a bootstrap token that expires within the TTL and is gone after it; user data, logs and events hold nothing long-lived', async () => {
    // Given the instance the first test launched, and the join token its user data carried
    const [instanceId, token] = [...w.joinTokens.entries()][0] ?? [];
    expect(instanceId).toBeDefined();
    expect(token).toMatch(K3S_SECURE_BOOTSTRAP_TOKEN_PATTERN);
    const tokenId = (token as string).split('::')[1]?.split('.')[0] as string;
    const secretName = `bootstrap-token-${tokenId}`;
    const secret = w.k8s.get('secrets', 'kube-system', secretName);
    const expiration = Date.parse(
      Buffer.from((secret?.data as Record<string, string> | undefined)?.expiration ?? '', 'base64').toString(
        'utf8',
      ),
    );

    // Then it expires within the configured TTL of the instance's launch, and the API server
    // (the fake's bootstrap authenticator) refuses it from its expiration on
    const launchedAt = w.firstSeen.get(instanceId as string) as number;
    expect(expiration - launchedAt).toBeGreaterThan(0);
    expect(expiration - launchedAt).toBeLessThanOrEqual(JOIN_TOKEN_TTL_SECONDS * 1000);
    expect(w.k8s.bootstrapTokenAuthenticates(token as string, new Date(expiration - 1000))).toBe(true);
    expect(w.k8s.bootstrapTokenAuthenticates(token as string, new Date(expiration))).toBe(false);

    // And the user data holds only that token and a single-use Tailscale key that expires in
    // minutes: no agent token, no OAuth client secret
    const attr = await w.ec2.send(
      new DescribeInstanceAttributeCommand({ InstanceId: instanceId, Attribute: 'userData' }),
    );
    const script = Buffer.from(attr.UserData?.Value ?? '', 'base64').toString('utf8');
    expect(scriptValue(script, 'K3S_AGENT_TOKEN')).toBe(token);
    expect(scriptValue(script, 'JOIN_CREDENTIAL')).toBe('bootstrap-token');
    const key = w.tailscale.keys.find((k) => k.key === scriptValue(script, 'TAILSCALE_AUTH_KEY'));
    expect(key?.capabilities.devices.create.reusable).toBe(false);
    expect(key?.expirySeconds).toBeLessThanOrEqual(3600);
    expect(script).not.toContain(w.tailscale.credentials.clientSecret);
    expect(script).not.toMatch(/::node:|::server:/);

    // When the agent's clock passes the expiration
    await w.skipAgentTime(expiration - Date.now() + 1000);

    // Then the agent has published a new token and deleted the expired Secret
    await w.until('the expired bootstrap token to be deleted', () =>
      w.k8s.get('secrets', 'kube-system', secretName) === undefined ? true : undefined,
    );
    expect(w.k8s.bootstrapTokenAuthenticates(token as string, new Date())).toBe(false);
    expect(w.agentJoinToken()?.published?.tokenId).not.toBe(tokenId);

    // And no token secret appears in anything logged or sent as an event
    const logged = JSON.stringify([w.controlLog, w.agentLog, w.invocations]);
    for (const secretValue of w.secretValues()) expect(logged).not.toContain(secretValue);
    expect(logged).not.toContain(w.agentJoinToken()?.published?.token.split('::')[1] as string);
  }, 60_000);
});
