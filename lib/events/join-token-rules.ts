/**
 * The join-token formats and the launch join window, without zod: the agent's bundle imports
 * these, and a zod schema built at module level would pull zod into it (agent bundle size,
 * docs/agent.md).
 */

/** A Kubernetes bootstrap token id: the public half, `[a-z0-9]{6}` (kubernetes.io/docs bootstrap tokens). */
export const BOOTSTRAP_TOKEN_ID_PATTERN = /^[a-z0-9]{6}$/;

/**
 * The K3s secure join token of a bootstrap token: `K10` + hex SHA-256 of the cluster CA +
 * `::` + `<token-id>.<token-secret>` (docs.k3s.io/cli/token, "Secure" format).
 */
export const K3S_SECURE_BOOTSTRAP_TOKEN_PATTERN = /^K10[0-9a-f]{64}::[a-z0-9]{6}\.[a-z0-9]{16}$/;

/**
 * Launch puts a bootstrap token into user data only while it stays valid at least this long:
 * enough for EC2 to start the instance, Tailscale to come up and the K3s agent to join.
 */
export const JOIN_TOKEN_MIN_VALIDITY_SECONDS = 600;
