import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { CfnSecret, type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/** Props of {@link ClusterSecrets}. */
export interface ClusterSecretsProps {
  readonly clusterName: string;
  /**
   * `RETAIN` keeps both secrets after `cdk destroy`; a retained secret bills monthly.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The two secrets the launch path needs, created **empty**: no value is generated and none
 * ever appears in the template, a parameter or an output. The operator sets them once with
 * `aws secretsmanager put-secret-value` (docs/deploy.md); until then a launch fails with a
 * clear error instead of starting a node that cannot join.
 *
 * The L2 `Secret` would generate a random placeholder value, so the L1 is used with
 * neither `SecretString` nor `GenerateSecretString` (CloudFormation then creates the secret
 * without a version).
 */
export class ClusterSecrets extends Construct {
  /** JSON `{"clientId": "...", "clientSecret": "..."}` of the Tailscale OAuth client. */
  readonly tailscaleOAuth: ISecret;
  /** The K3s **agent** token (never the server token). */
  readonly k3sAgentToken: ISecret;

  constructor(scope: Construct, id: string, props: ClusterSecretsProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    this.tailscaleOAuth = this.emptySecret(
      'TailscaleOAuth',
      `k3s-burst/${props.clusterName}/tailscale-oauth`,
      'Tailscale OAuth client for k3s-burst: JSON {"clientId","clientSecret"}, scopes auth_keys and devices:core',
      removalPolicy,
    );
    this.k3sAgentToken = this.emptySecret(
      'K3sAgentToken',
      `k3s-burst/${props.clusterName}/k3s-agent-token`,
      'K3s agent join token (server: /var/lib/rancher/k3s/server/agent-token), plain text',
      removalPolicy,
    );
  }

  private emptySecret(id: string, name: string, description: string, removalPolicy: RemovalPolicy): ISecret {
    const cfn = new CfnSecret(this, id, { name, description });
    cfn.applyRemovalPolicy(removalPolicy);
    Validations.of(cfn).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Third-party credential (Tailscale OAuth client / K3s agent token) that AWS cannot rotate; rotation is a documented manual put-secret-value (docs/deploy.md)',
    });
    // Ref of AWS::SecretsManager::Secret is the complete ARN.
    return Secret.fromSecretCompleteArn(this, `${id}Ref`, cfn.ref);
  }
}
