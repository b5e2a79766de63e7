import * as z from 'zod';
import { IsoTime } from './common.js';

/** Most on-prem nodes whose prerequisites one snapshot carries (the rest are counted). */
export const MAX_PREREQUISITE_NODES = 200;

/**
 * What one on-prem node shows about the Pi-side networking prerequisites (docs/nodes.md), as
 * a compact tuple to keep snapshots small: `[name, InternalIP, flannel public-ip annotation,
 * flannel interface from the K3s args ('' when K3s picks the default-route interface),
 * kubelet version]`.
 */
export const NodePrerequisites = z.tuple([
  z.string().max(253),
  z.string().max(64),
  z.string().max(64),
  z.string().max(32),
  z.string().max(64),
]);
export type NodePrerequisites = z.infer<typeof NodePrerequisites>;

/**
 * The Pi-side prerequisites the agent can see, sent with every snapshot so `k3s-burst doctor`
 * can say, before any launch, whether a cloud node would be able to join and reach the pods:
 * node IPs and flannel on the tailnet, the K3s server certificate covering the address cloud
 * nodes dial, and the server's version.
 */
export const PiPrerequisites = z.object({
  /** When the server certificate was last dialled. */
  checkedAt: IsoTime,
  /** Lowest kubelet version among control-plane nodes (the K3s server version). */
  serverVersion: z.string().max(64).optional(),
  /** The server URL the agent dialled (its `--k3s-server-url`); absent when not configured. */
  serverUrl: z.string().max(256).optional(),
  /** SANs of the certificate served at `serverUrl` (`DNS:…`, `IP Address:…`), at most 32. */
  serverCertSans: z.array(z.string().max(256)).max(32).optional(),
  /** Why the certificate could not be read (connection refused, timeout, not TLS). */
  serverCertError: z.string().max(300).optional(),
  nodes: z.array(NodePrerequisites).max(MAX_PREREQUISITE_NODES).default([]),
  /** On-prem nodes left out beyond MAX_PREREQUISITE_NODES. */
  nodesOmitted: z.number().int().nonnegative().default(0),
});
export type PiPrerequisitesInput = z.input<typeof PiPrerequisites>;
export type PiPrerequisites = z.output<typeof PiPrerequisites>;
