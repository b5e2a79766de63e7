/**
 * Tailscale workload identity federation (`tailscale.auth: federated`, the default), shared by
 * the stack (which grants exactly this audience and lifetime), the Lambdas (which ask for them)
 * and `doctor` (which checks the same).
 */
import type { Config } from './config.js';
import type { FieldProblem } from './errors.js';

/** The audience Tailscale's token exchange checks for a federated identity (tailscale.com/kb/1581). */
export function tailscaleAudience(federatedClientId: string): string {
  return `api.tailscale.com/${federatedClientId}`;
}

/**
 * The `sub` pattern the Tailscale federated identity must trust: the ARNs of the function roles
 * (the stack names each `k3s-burst-<cluster>-<function>`; only launch, terminate and janitor may
 * get a token for Tailscale's audience). A trailing `*` matches any ending in Tailscale's subject.
 */
export function tailscaleFederatedSubject(accountId: string, cluster: string, partition = 'aws'): string {
  return `arn:${partition}:iam::${accountId}:role/k3s-burst-${cluster}-*`;
}

/** Lifetime the Lambdas ask of STS for the identity token; IAM allows no longer. */
export const TAILSCALE_IDENTITY_TOKEN_SECONDS = 300;

/**
 * What a config needs before it can be DEPLOYED with its Tailscale auth mode (the schema lets
 * `plan` and `simulate` run without it): federated mode needs `tailscale.federatedClientId`.
 * Never a silent fallback to the OAuth client: `cdk synth`, the Lambdas and `doctor` refuse.
 */
export function tailscaleAuthProblems(config: Pick<Config, 'tailscale'>): FieldProblem[] {
  if (config.tailscale.auth !== 'federated' || config.tailscale.federatedClientId) return [];
  return [
    {
      path: '$.tailscale.federatedClientId',
      message:
        'is required with tailscale.auth "federated" (the default): create a federated identity in the Tailscale admin console (Settings → Trust credentials; issuer = your AWS account\'s outbound identity federation issuer URL, subject = the launch/terminate/janitor Lambda role ARNs) and put its client id here (docs/deploy.md, step 2); or set tailscale.auth to "oauth-client" to keep a stored OAuth client',
    },
  ];
}
