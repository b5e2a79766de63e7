/**
 * Every Kubernetes API call the agent makes, as RBAC sees it (verb, API group, resource with
 * subresource). deploy/rbac.yaml grants exactly these; test/unit/agent/rbac.test.ts checks the
 * manifest against this list and this list against the requests a running agent sends to the
 * fake API server. Add a row here when the agent learns a new call, and the role with it.
 */
export interface ApiAccess {
  verb: 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';
  /** '' for the core group. */
  group: string;
  resource: string;
  /**
   * `own-namespace`: a Role in the agent's namespace; `kube-system`: the Role of
   * deploy/kube-system/ (bootstrap tokens only, narrowed further by its admission policy).
   */
  scope: 'cluster' | 'own-namespace' | 'kube-system';
  /** Object names the call is limited to (RBAC resourceNames), when the rule can restrict them. */
  resourceNames?: string[];
  /** Where in lib/agent the call is made, and why. */
  why: string;
}

export const LEASE_NAME = 'k3s-burst-agent';
/** The cluster CA ConfigMap kube-controller-manager publishes into every namespace. */
export const CLUSTER_CA_CONFIGMAP_NAME = 'kube-root-ca.crt';

export const AGENT_API_ACCESS: readonly ApiAccess[] = [
  {
    verb: 'list',
    group: '',
    resource: 'pods',
    scope: 'cluster',
    why: 'pod informer; pods on a node to drain',
  },
  { verb: 'watch', group: '', resource: 'pods', scope: 'cluster', why: 'pod informer' },
  { verb: 'list', group: '', resource: 'nodes', scope: 'cluster', why: 'node informer' },
  { verb: 'watch', group: '', resource: 'nodes', scope: 'cluster', why: 'node informer' },
  { verb: 'get', group: '', resource: 'nodes', scope: 'cluster', why: 're-check a node before drain/delete' },
  { verb: 'patch', group: '', resource: 'nodes', scope: 'cluster', why: 'cordon a managed node' },
  { verb: 'delete', group: '', resource: 'nodes', scope: 'cluster', why: 'DeleteNode of a managed node' },
  {
    verb: 'list',
    group: 'policy',
    resource: 'poddisruptionbudgets',
    scope: 'cluster',
    why: 'PDB informer (eviction blockers)',
  },
  { verb: 'watch', group: 'policy', resource: 'poddisruptionbudgets', scope: 'cluster', why: 'PDB informer' },
  {
    verb: 'list',
    group: '',
    resource: 'persistentvolumeclaims',
    scope: 'cluster',
    why: "claim informer: where a pending pod's volumes let it run (lib/agent/volumes.ts)",
  },
  { verb: 'watch', group: '', resource: 'persistentvolumeclaims', scope: 'cluster', why: 'claim informer' },
  {
    verb: 'list',
    group: '',
    resource: 'persistentvolumes',
    scope: 'cluster',
    why: "volume informer: a bound volume's node affinity (local PV on a Pi, EBS zone)",
  },
  { verb: 'watch', group: '', resource: 'persistentvolumes', scope: 'cluster', why: 'volume informer' },
  {
    verb: 'list',
    group: 'storage.k8s.io',
    resource: 'storageclasses',
    scope: 'cluster',
    why: 'storage-class informer: WaitForFirstConsumer binding and allowedTopologies',
  },
  {
    verb: 'watch',
    group: 'storage.k8s.io',
    resource: 'storageclasses',
    scope: 'cluster',
    why: 'storage-class informer',
  },
  {
    verb: 'create',
    group: '',
    resource: 'pods/eviction',
    scope: 'cluster',
    why: 'drain through the Eviction API (PDBs honoured)',
  },
  {
    verb: 'create',
    group: '',
    resource: 'events',
    scope: 'cluster',
    why: 'Kubernetes Events on nodes and pods',
  },
  {
    verb: 'patch',
    group: '',
    resource: 'events',
    scope: 'cluster',
    why: 'a repeated Event updates its count instead of creating another object',
  },
  {
    verb: 'create',
    group: 'coordination.k8s.io',
    resource: 'leases',
    scope: 'own-namespace',
    why: 'leader election: first replica creates the Lease',
  },
  {
    verb: 'get',
    group: 'coordination.k8s.io',
    resource: 'leases',
    scope: 'own-namespace',
    resourceNames: [LEASE_NAME],
    why: 'leader election: read the Lease',
  },
  {
    verb: 'update',
    group: 'coordination.k8s.io',
    resource: 'leases',
    scope: 'own-namespace',
    resourceNames: [LEASE_NAME],
    why: 'leader election: acquire, renew, release',
  },
  {
    verb: 'get',
    group: '',
    resource: 'configmaps',
    scope: 'own-namespace',
    resourceNames: [CLUSTER_CA_CONFIGMAP_NAME],
    why: 'bootstrap tokens: the cluster CA whose hash goes into the K3s secure token',
  },
  {
    verb: 'create',
    group: '',
    resource: 'secrets',
    scope: 'kube-system',
    why: 'bootstrap tokens: mint bootstrap-token-<id> (admission policy: that type, name, group only)',
  },
  {
    verb: 'delete',
    group: '',
    resource: 'secrets',
    scope: 'kube-system',
    why: 'bootstrap tokens: delete the expired ones it minted (admission policy: its own only)',
  },
];
