/**
 * Realistic K3s objects (Kubernetes v1 Pod, Node, PDB shapes as K3s serves them) as builder
 * functions, for the agent tests, the benches and the end-to-end run.
 */
import type { K8sObject } from './server.js';

export const CLUSTER = 'pi-lab';

/** The managed EC2 instance the agent tests drain, publish and delete, and its node name. */
export const EC2_ID = 'i-0f3a8c61d2e7b9054';
export const EC2_NODE = `burst-${EC2_ID}`;

const readyConditions = (since: string, status = 'True') => [
  {
    type: 'MemoryPressure',
    status: 'False',
    reason: 'KubeletHasSufficientMemory',
    message: 'kubelet has sufficient memory available',
    lastHeartbeatTime: '2026-03-14T09:25:02Z',
    lastTransitionTime: '2026-03-01T06:12:44Z',
  },
  {
    type: 'DiskPressure',
    status: 'False',
    reason: 'KubeletHasNoDiskPressure',
    message: 'kubelet has no disk pressure',
    lastHeartbeatTime: '2026-03-14T09:25:02Z',
    lastTransitionTime: '2026-03-01T06:12:44Z',
  },
  {
    type: 'PIDPressure',
    status: 'False',
    reason: 'KubeletHasSufficientPID',
    message: 'kubelet has sufficient PID available',
    lastHeartbeatTime: '2026-03-14T09:25:02Z',
    lastTransitionTime: '2026-03-01T06:12:44Z',
  },
  {
    type: 'Ready',
    status,
    reason: status === 'True' ? 'KubeletReady' : 'NodeStatusUnknown',
    message: status === 'True' ? 'kubelet is posting ready status' : 'Kubelet stopped posting node status.',
    lastHeartbeatTime: '2026-03-14T09:25:02Z',
    lastTransitionTime: since,
  },
];

/** A K3s server on a Raspberry Pi (on-prem): providerID k3s://, no k3s-burst labels. */
export function piNode(name: string, opts: { controlPlane?: boolean; memory?: string } = {}): K8sObject {
  const labels: Record<string, string> = {
    'beta.kubernetes.io/arch': 'arm64',
    'beta.kubernetes.io/instance-type': 'k3s',
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'arm64',
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    'node.kubernetes.io/instance-type': 'k3s',
  };
  if (opts.controlPlane) {
    labels['node-role.kubernetes.io/control-plane'] = 'true';
    labels['node-role.kubernetes.io/master'] = 'true';
  }
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      uid: `uid-node-${name}`,
      creationTimestamp: '2025-11-02T17:46:10Z',
      labels,
      annotations: {
        'alpha.kubernetes.io/provided-node-ip': '192.168.1.50',
        'flannel.alpha.coreos.com/backend-type': 'vxlan',
        'k3s.io/hostname': name,
        'k3s.io/internal-ip': '192.168.1.50',
        'k3s.io/node-args':
          '["server","--disable","traefik","--write-kubeconfig-mode","0644","--token","********"]',
        'k3s.io/node-config-hash': 'QW7GZK3N5RBSXJ2M4YH6TVD8PC1LFE9A0UOIQW7GZK3N5RBSXJ2M====',
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
    },
    spec: { podCIDR: '10.42.0.0/24', podCIDRs: ['10.42.0.0/24'], providerID: `k3s://${name}` },
    status: {
      addresses: [
        { type: 'InternalIP', address: '192.168.1.50' },
        { type: 'Hostname', address: name },
      ],
      capacity: {
        cpu: '4',
        'ephemeral-storage': '61202244Ki',
        'hugepages-1Gi': '0',
        'hugepages-2Mi': '0',
        memory: opts.memory ?? '8056752Ki',
        pods: '110',
      },
      allocatable: {
        cpu: '4',
        'ephemeral-storage': '59536698217',
        'hugepages-1Gi': '0',
        'hugepages-2Mi': '0',
        memory: opts.memory ?? '8056752Ki',
        pods: '110',
      },
      conditions: readyConditions('2026-03-01T06:13:05Z'),
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        architecture: 'arm64',
        kubeletVersion: 'v1.32.6+k3s1',
        containerRuntimeVersion: 'containerd://2.0.5-k3s1',
        osImage: 'Debian GNU/Linux 12 (bookworm)',
      },
    },
  };
}

/**
 * An EC2 node joined over Tailscale. `managed` adds the k3s-burst labels (managed + cluster);
 * without it the node looks like someone else's EC2 node and must be treated as on-prem.
 */
export function ec2Node(
  instanceId: string,
  opts: {
    managed?: boolean;
    cluster?: string;
    zone?: string;
    type?: string;
    ready?: boolean;
    unschedulable?: boolean;
  } = {},
): K8sObject {
  const name = `burst-${instanceId}`;
  const zone = opts.zone ?? 'eu-central-1a';
  const labels: Record<string, string> = {
    'beta.kubernetes.io/arch': 'arm64',
    'beta.kubernetes.io/instance-type': opts.type ?? 't4g.medium',
    'beta.kubernetes.io/os': 'linux',
    'failure-domain.beta.kubernetes.io/region': 'eu-central-1',
    'failure-domain.beta.kubernetes.io/zone': zone,
    'k3s-burst/pool': 'cloud',
    'kubernetes.io/arch': 'arm64',
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    'node.kubernetes.io/instance-type': opts.type ?? 't4g.medium',
    'topology.kubernetes.io/region': 'eu-central-1',
    'topology.kubernetes.io/zone': zone,
  };
  if (opts.managed !== false) {
    labels['k3s-burst.io/managed'] = 'true';
    labels['k3s-burst.io/cluster'] = opts.cluster ?? CLUSTER;
  }
  const spec: Record<string, unknown> = {
    podCIDR: '10.42.3.0/24',
    podCIDRs: ['10.42.3.0/24'],
    providerID: `aws:///${zone}/${instanceId}`,
    taints: [{ key: 'k3s-burst/cloud', value: 'true', effect: 'NoSchedule' }],
  };
  if (opts.unschedulable) spec.unschedulable = true;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      uid: `uid-node-${name}`,
      creationTimestamp: '2026-03-14T08:03:41Z',
      labels,
      annotations: {
        'k3s.io/hostname': name,
        'k3s.io/internal-ip': '100.88.17.42',
        'k3s.io/node-args': `["agent","--node-name","${name}","--kubelet-arg","provider-id=aws:///${zone}/${instanceId}","--token","********"]`,
      },
    },
    spec,
    status: {
      capacity: { cpu: '2', 'ephemeral-storage': '20251644Ki', memory: '3946408Ki', pods: '110' },
      allocatable: { cpu: '2', 'ephemeral-storage': '19700621394', memory: '3946408Ki', pods: '110' },
      conditions: readyConditions('2026-03-14T08:04:02Z', opts.ready === false ? 'Unknown' : 'True'),
    },
  };
}

interface PodOpts {
  namespace?: string;
  node?: string;
  labels?: Record<string, string>;
  cpu?: string;
  memory?: string;
  initCpu?: string;
  initMemory?: string;
  owner?: { kind: string; name: string; uid?: string } | null;
  pending?: boolean;
  pendingSince?: string;
  nodeSelector?: Record<string, string>;
  tolerations?: Record<string, unknown>[];
  emptyDir?: boolean;
  annotations?: Record<string, string>;
  phase?: string;
  deleting?: boolean;
  hostPort?: number;
  nominated?: string;
  overhead?: Record<string, string>;
  affinity?: Record<string, unknown>;
  /** PersistentVolumeClaim names, one volume each. */
  claims?: string[];
}

const DEFAULT_TOLERATIONS = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
];

/** A Deployment-style pod (ReplicaSet owner), pending (Unschedulable) unless `node` is given. */
export function pod(name: string, o: PodOpts = {}): K8sObject {
  const ns = o.namespace ?? 'default';
  const requests: Record<string, string> = {};
  if (o.cpu) requests.cpu = o.cpu;
  if (o.memory) requests.memory = o.memory;
  const container: Record<string, unknown> = {
    name: 'app',
    image: 'ghcr.io/example/app:1.0.0',
    resources: Object.keys(requests).length ? { requests, limits: o.memory ? { memory: o.memory } : {} } : {},
  };
  if (o.hostPort) container.ports = [{ containerPort: o.hostPort, hostPort: o.hostPort, protocol: 'TCP' }];
  const spec: Record<string, unknown> = {
    containers: [container],
    tolerations: [...(o.tolerations ?? []), ...DEFAULT_TOLERATIONS],
    restartPolicy: 'Always',
    schedulerName: 'default-scheduler',
    priority: 0,
  };
  if (o.initCpu || o.initMemory)
    spec.initContainers = [
      {
        name: 'init',
        image: 'ghcr.io/example/init:1.0.0',
        resources: {
          requests: {
            ...(o.initCpu ? { cpu: o.initCpu } : {}),
            ...(o.initMemory ? { memory: o.initMemory } : {}),
          },
        },
      },
    ];
  if (o.node) spec.nodeName = o.node;
  if (o.nodeSelector) spec.nodeSelector = o.nodeSelector;
  if (o.overhead) spec.overhead = o.overhead;
  if (o.affinity) spec.affinity = o.affinity;
  if (o.emptyDir) spec.volumes = [{ name: 'scratch', emptyDir: {} }];
  if (o.claims)
    spec.volumes = [
      ...((spec.volumes as unknown[] | undefined) ?? []),
      ...o.claims.map((c, i) => ({ name: `data-${i}`, persistentVolumeClaim: { claimName: c } })),
    ];
  const owner =
    o.owner === undefined ? { kind: 'ReplicaSet', name: `${name.replace(/-[a-z0-9]+$/, '')}-rs` } : o.owner;
  const metadata: Record<string, unknown> = {
    name,
    namespace: ns,
    uid: `uid-pod-${ns}-${name}`,
    labels: { app: name.replace(/-[a-z0-9]+$/, ''), ...(o.labels ?? {}) },
    creationTimestamp: '2026-03-14T09:24:51Z',
  };
  if (owner)
    metadata.ownerReferences = [
      {
        apiVersion: owner.kind === 'Node' ? 'v1' : 'apps/v1',
        kind: owner.kind,
        name: owner.name,
        uid: owner.uid ?? `uid-${owner.kind}-${owner.name}`,
        controller: true,
        blockOwnerDeletion: true,
      },
    ];
  if (o.annotations) metadata.annotations = o.annotations;
  if (o.deleting) metadata.deletionTimestamp = '2026-03-14T09:29:00Z';
  const pending = o.pending ?? !o.node;
  const statusObj: Record<string, unknown> = {
    phase: o.phase ?? (o.node ? 'Running' : 'Pending'),
    qosClass: o.cpu || o.memory ? 'Burstable' : 'BestEffort',
  };
  if (pending)
    statusObj.conditions = [
      {
        type: 'PodScheduled',
        status: 'False',
        lastProbeTime: null,
        lastTransitionTime: o.pendingSince ?? '2026-03-14T09:24:51Z',
        reason: 'Unschedulable',
        message:
          '0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.',
      },
    ];
  else if (o.node)
    statusObj.conditions = [
      { type: 'PodScheduled', status: 'True', lastTransitionTime: '2026-03-14T09:24:52Z' },
    ];
  if (o.nominated) statusObj.nominatedNodeName = o.nominated;
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec, status: statusObj };
}

/** A node-exporter DaemonSet pod pinned to `node` with matchFields, hostPort 9100. */
export function daemonSetPod(node: string, ds = 'node-exporter', cpu = '50m', memory = '64Mi'): K8sObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${ds}-${node.slice(-5)}`,
      namespace: 'monitoring',
      uid: `uid-ds-${ds}-${node}`,
      labels: {
        'app.kubernetes.io/name': ds,
        'controller-revision-hash': '6f9c7d5b84',
        'pod-template-generation': '3',
      },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'DaemonSet',
          name: ds,
          uid: `uid-daemonset-${ds}`,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      nodeName: node,
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] }],
          },
        },
      },
      containers: [
        {
          name: ds,
          image: 'quay.io/prometheus/node-exporter:v1.9.1',
          ports: [{ containerPort: 9100, hostPort: 9100, protocol: 'TCP', name: 'metrics' }],
          resources: { requests: { cpu, memory } },
        },
      ],
      hostNetwork: true,
      tolerations: [
        { operator: 'Exists' },
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
        { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
        { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
      ],
    },
    status: { phase: 'Running', qosClass: 'Burstable' },
  };
}

/** A static (mirror) pod on `node`. */
export function mirrorPod(node: string, name = 'wg-healthcheck'): K8sObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${name}-${node}`,
      namespace: 'kube-system',
      uid: `uid-mirror-${name}-${node}`,
      annotations: {
        'kubernetes.io/config.hash': '4e2d9b7c1a0f8e6d5c3b2a1908f7e6d5',
        'kubernetes.io/config.mirror': '4e2d9b7c1a0f8e6d5c3b2a1908f7e6d5',
        'kubernetes.io/config.seen': '2026-03-01T06:12:50.118204771Z',
        'kubernetes.io/config.source': 'file',
      },
      ownerReferences: [
        { apiVersion: 'v1', kind: 'Node', name: node, uid: `uid-node-${node}`, controller: true },
      ],
    },
    spec: {
      nodeName: node,
      containers: [
        { name: 'check', image: 'busybox:1.37', resources: { requests: { cpu: '10m', memory: '16Mi' } } },
      ],
    },
    status: { phase: 'Running' },
  };
}

/** A policy/v1 PDB selecting `app=<app>`; `allowed` = status.disruptionsAllowed. */
export function pdb(name: string, app: string, allowed: number, namespace = 'default'): K8sObject {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name, namespace, generation: 1 },
    spec: {
      minAvailable: 2,
      selector: { matchLabels: { app } },
      unhealthyPodEvictionPolicy: 'IfHealthyBudget',
    },
    status: {
      observedGeneration: 1,
      currentHealthy: 2 + allowed,
      desiredHealthy: 2,
      expectedPods: 2 + allowed,
      disruptionsAllowed: allowed,
      conditions: [
        {
          type: 'DisruptionAllowed',
          status: allowed > 0 ? 'True' : 'False',
          reason: allowed > 0 ? 'SufficientPods' : 'InsufficientPods',
          message: '',
          observedGeneration: 1,
          lastTransitionTime: '2026-03-14T07:58:20Z',
        },
      ],
    },
  };
}

/**
 * A PersistentVolumeClaim: bound to `volume` when given (phase Bound), else Pending.
 * `storageClass: null` leaves spec.storageClassName out.
 */
export function pvc(
  name: string,
  o: { namespace?: string; volume?: string; storageClass?: string | null; phase?: string } = {},
): K8sObject {
  const spec: Record<string, unknown> = {
    accessModes: ['ReadWriteOnce'],
    resources: { requests: { storage: '10Gi' } },
    volumeMode: 'Filesystem',
  };
  if (o.storageClass !== null) spec.storageClassName = o.storageClass ?? 'local-path';
  if (o.volume) spec.volumeName = o.volume;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name,
      namespace: o.namespace ?? 'default',
      annotations: o.volume ? { 'pv.kubernetes.io/bind-completed': 'yes' } : {},
    },
    spec,
    status: o.volume
      ? { phase: o.phase ?? 'Bound', accessModes: ['ReadWriteOnce'], capacity: { storage: '10Gi' } }
      : { phase: o.phase ?? 'Pending' },
  };
}

/**
 * A PersistentVolume as K3s's local-path provisioner writes it (hostPath, pinned to `node` by a
 * `kubernetes.io/hostname` term), or, with `ebsZone`, as the EBS CSI driver writes it (pinned to
 * a zone by `topology.ebs.csi.aws.com/zone`).
 */
export function pv(
  name: string,
  o: { node?: string; ebsZone?: string; claim?: string; namespace?: string } = {},
): K8sObject {
  const term = o.ebsZone
    ? { key: 'topology.ebs.csi.aws.com/zone', operator: 'In', values: [o.ebsZone] }
    : { key: 'kubernetes.io/hostname', operator: 'In', values: [o.node ?? 'pi-node-1'] };
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: {
      name,
      annotations: {
        'pv.kubernetes.io/provisioned-by': o.ebsZone ? 'ebs.csi.aws.com' : 'rancher.io/local-path',
      },
    },
    spec: {
      capacity: { storage: '10Gi' },
      accessModes: ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Delete',
      storageClassName: o.ebsZone ? 'ebs-gp3' : 'local-path',
      ...(o.ebsZone
        ? { csi: { driver: 'ebs.csi.aws.com', volumeHandle: 'vol-0a1b2c3d4e5f60718', fsType: 'ext4' } }
        : { hostPath: { path: `/var/lib/rancher/k3s/storage/${name}`, type: 'DirectoryOrCreate' } }),
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [term] }] } },
      ...(o.claim
        ? { claimRef: { kind: 'PersistentVolumeClaim', namespace: o.namespace ?? 'default', name: o.claim } }
        : {}),
    },
    status: { phase: o.claim ? 'Bound' : 'Available' },
  };
}

/**
 * A StorageClass: K3s's default `local-path` (WaitForFirstConsumer), or an EBS gp3 class with
 * WaitForFirstConsumer and optional allowedTopologies, or one with Immediate binding.
 */
export function storageClass(
  name: string,
  o: { provisioner?: string; binding?: 'WaitForFirstConsumer' | 'Immediate'; zones?: string[] } = {},
): K8sObject {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name },
    provisioner: o.provisioner ?? 'rancher.io/local-path',
    reclaimPolicy: 'Delete',
    volumeBindingMode: o.binding ?? 'WaitForFirstConsumer',
    ...(o.zones
      ? {
          allowedTopologies: [
            { matchLabelExpressions: [{ key: 'topology.ebs.csi.aws.com/zone', values: o.zones }] },
          ],
        }
      : {}),
  };
}

/** An EventBridge envelope as SQS delivers it to the agent queue: commands and pod notices. */
export function commandEnvelope(
  detailType: 'DrainNode' | 'DeleteNode' | 'ScaleOutRequested' | 'DecisionRecorded',
  detail: Record<string, unknown>,
  id = `evt-${Math.random().toString(16).slice(2)}`,
): string {
  return JSON.stringify({
    version: '0',
    id,
    'detail-type': detailType,
    source: 'k3s-burst.reconcile',
    account: '210987654321',
    time: '2026-03-14T09:30:00Z',
    region: 'eu-central-1',
    resources: [],
    detail,
  });
}
