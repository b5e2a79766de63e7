/**
 * The value of the K3s bootstrap-token secret in Secrets Manager: the agent writes it (its only
 * write to AWS besides events), the launch Lambda reads it into each instance's user data.
 * Both sides parse with this one schema, so a value either side would misread is refused.
 */
import { z } from 'zod';

/** A Kubernetes bootstrap token id: the public half, `[a-z0-9]{6}` (kubernetes.io/docs bootstrap tokens). */
export const BOOTSTRAP_TOKEN_ID_PATTERN = /^[a-z0-9]{6}$/;

/**
 * The K3s secure join token of a bootstrap token: `K10` + hex SHA-256 of the cluster CA +
 * `::` + `<token-id>.<token-secret>` (docs.k3s.io/cli/token, "Secure" format).
 */
export const K3S_SECURE_BOOTSTRAP_TOKEN_PATTERN = /^K10[0-9a-f]{64}::[a-z0-9]{6}\.[a-z0-9]{16}$/;

/** `{"token","tokenId","expiresAt"}`: what the agent publishes and launch reads. */
export const JoinTokenSecret = z.strictObject({
  token: z
    .string()
    .regex(
      K3S_SECURE_BOOTSTRAP_TOKEN_PATTERN,
      'expected a K3s secure bootstrap token K10<sha256>::<id>.<secret>',
    ),
  tokenId: z.string().regex(BOOTSTRAP_TOKEN_ID_PATTERN, 'expected a bootstrap token id [a-z0-9]{6}'),
  expiresAt: z.iso
    .datetime({ offset: false })
    .describe('When the API server stops accepting the token (UTC).'),
});
export type JoinTokenSecret = z.infer<typeof JoinTokenSecret>;

/**
 * Launch puts a bootstrap token into user data only while it stays valid at least this long:
 * enough for EC2 to start the instance, Tailscale to come up and the K3s agent to join.
 */
export const JOIN_TOKEN_MIN_VALIDITY_SECONDS = 600;

/** Seconds the token is still accepted at `now` (negative once expired). */
export function joinTokenRemainingSeconds(value: JoinTokenSecret, now: Date): number {
  return Math.floor((Date.parse(value.expiresAt) - now.getTime()) / 1000);
}
