/**
 * The value of the K3s bootstrap-token secret in Secrets Manager: the agent writes it (its only
 * write to AWS besides events), the launch Lambda reads it into each instance's user data.
 * Both sides parse with this one schema, so a value either side would misread is refused.
 */
import * as z from 'zod';
import { BOOTSTRAP_TOKEN_ID_PATTERN, K3S_SECURE_BOOTSTRAP_TOKEN_PATTERN } from './join-token-rules.js';

export {
  BOOTSTRAP_TOKEN_ID_PATTERN,
  JOIN_TOKEN_MIN_VALIDITY_SECONDS,
  K3S_SECURE_BOOTSTRAP_TOKEN_PATTERN,
} from './join-token-rules.js';

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

/** Seconds the token is still accepted at `now` (negative once expired). */
export function joinTokenRemainingSeconds(value: JoinTokenSecret, now: Date): number {
  return Math.floor((Date.parse(value.expiresAt) - now.getTime()) / 1000);
}
