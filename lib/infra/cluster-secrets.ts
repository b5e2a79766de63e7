import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { CfnSecret, type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/** Props of {@link ClusterSecrets}. */
export interface ClusterSecretsProps {
  readonly clusterName: string;
  /**
   * `k3s.joinCredential`: which K3s join secret exists. `bootstrap-token` creates the secret
   * the agent writes its short-lived tokens to and no agent-token secret at all (switching a
   * deployment to it deletes the stored agent token with the stack update).
   * @default 'bootstrap-token'
   */
  readonly joinCredential?: 'bootstrap-token' | 'agent-token';
  /**
   * `tailscale.auth`: with `federated` no Tailscale OAuth client secret is stored at all (the
   * Lambdas exchange an STS identity token instead).
   * @default 'oauth-client'
   */
  readonly tailscaleAuth?: 'oauth-client' | 'federated';
  /**
   * `RETAIN` keeps both secrets after `cdk destroy`; a retained secret bills monthly.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The two secrets the launch path needs, created **empty**: no value is generated and none
 * ever appears in the template, a parameter or an output. The Tailscale client (and, in
 * `agent-token` mode, the K3s agent token) the operator sets with `aws secretsmanager
 * put-secret-value` (docs/deploy.md); in `bootstrap-token` mode the agent writes the K3s join
 * token itself. Until a value exists a launch refuses with a clear reason instead of starting
 * a node that cannot join.
 *
 * The L2 `Secret` would generate a random placeholder value, so the L1 is used with
 * neither `SecretString` nor `GenerateSecretString` (CloudFormation then creates the secret
 * without a version).
 */
export class ClusterSecrets extends Construct {
  /** JSON `{"clientId": "...", "clientSecret": "..."}` of the Tailscale OAuth client (`tailscale.auth: oauth-client` only). */
  readonly tailscaleOAuth: ISecret | undefined;
  /** `agent-token` mode only: the long-lived K3s **agent** token (never the server token). */
  readonly k3sAgentToken: ISecret | undefined;
  /**
   * `bootstrap-token` mode only: `{"token","tokenId","expiresAt"}` of the current bootstrap
   * token, written by the agent (PutSecretValue is its only grant on it).
   */
  readonly k3sBootstrapToken: ISecret | undefined;
  /** The join secret of the configured mode: what launch reads. */
  readonly k3sJoinToken: ISecret;

  constructor(scope: Construct, id: string, props: ClusterSecretsProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    const agentTokenMode = props.joinCredential === 'agent-token';
    this.tailscaleOAuth =
      props.tailscaleAuth === 'federated'
        ? undefined
        : this.emptySecret(
            'TailscaleOAuth',
            `k3s-burst/${props.clusterName}/tailscale-oauth`,
            'Tailscale OAuth client for k3s-burst: JSON {"clientId","clientSecret"}, scopes auth_keys and devices:core',
            removalPolicy,
          );
    this.k3sAgentToken = agentTokenMode
      ? this.emptySecret(
          'K3sAgentToken',
          `k3s-burst/${props.clusterName}/k3s-agent-token`,
          'K3s agent join token (server: /var/lib/rancher/k3s/server/agent-token), plain text',
          removalPolicy,
        )
      : undefined;
    this.k3sBootstrapToken = agentTokenMode
      ? undefined
      : this.emptySecret(
          'K3sBootstrapToken',
          `k3s-burst/${props.clusterName}/k3s-bootstrap-token`,
          'Current K3s bootstrap join token, JSON {"token","tokenId","expiresAt"}; written by the k3s-burst agent, expires within the hour',
          removalPolicy,
          'Written by the k3s-burst agent itself: a new short-lived bootstrap token (under an hour) replaces the value every half TTL (docs/security.md)',
        );
    this.k3sJoinToken = (this.k3sAgentToken ?? this.k3sBootstrapToken) as ISecret;
  }

  private emptySecret(
    id: string,
    name: string,
    description: string,
    removalPolicy: RemovalPolicy,
    rotation = 'Third-party credential (Tailscale OAuth client / K3s agent token) that AWS cannot rotate; rotation is a documented manual put-secret-value (docs/deploy.md)',
  ): ISecret {
    const cfn = new CfnSecret(this, id, { name, description });
    cfn.applyRemovalPolicy(removalPolicy);
    Validations.of(cfn).acknowledge({ id: 'AwsSolutions-SMG4', reason: rotation });
    // Ref of AWS::SecretsManager::Secret is the complete ARN.
    return Secret.fromSecretCompleteArn(this, `${id}Ref`, cfn.ref);
  }
}
