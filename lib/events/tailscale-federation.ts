/**
 * Tailscale workload identity federation (`tailscale.auth: federated`), shared by the stack
 * (which grants exactly this audience and lifetime) and the Lambdas (which ask for them).
 */

/** The audience Tailscale's token exchange checks for a federated identity (tailscale.com/kb/1581). */
export function tailscaleAudience(federatedClientId: string): string {
  return `api.tailscale.com/${federatedClientId}`;
}

/** Lifetime the Lambdas ask of STS for the identity token; IAM allows no longer. */
export const TAILSCALE_IDENTITY_TOKEN_SECONDS = 300;
