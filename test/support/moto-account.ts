/**
 * What a deployed k3s-burst stack gives the Lambdas, provisioned on moto for tests that run the
 * real handlers: a VPC with two subnets and a security group, an AMI id, the state table and the
 * secrets (the Tailscale OAuth client when one is given — tailscale.auth oauth-client —, the
 * K3s agent token, the empty bootstrap-token secret).
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeImagesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { stateTableDefinition } from '../../lib/aws/state.js';
import type { MotoClientConfig } from './moto.js';

export interface MotoAccount {
  vpcId: string;
  /** One subnet in `<region>a`, one in `<region>b`. */
  subnetIds: string[];
  securityGroupId: string;
  /** An AMI moto lists (any: moto does not check the architecture). */
  imageId: string;
  tableName: string;
  /** Absent without `tailscaleCredentials` (tailscale.auth federated stores no OAuth client). */
  tailscaleOAuthSecretArn: string | undefined;
  k3sAgentTokenSecretArn: string;
  /** Created empty, as the stack does: the agent writes it (k3s.joinCredential bootstrap-token). */
  k3sBootstrapTokenSecretArn: string;
}

export async function provisionMotoAccount(
  cc: MotoClientConfig,
  opts: {
    region: string;
    cluster: string;
    tailscaleCredentials?: { clientId: string; clientSecret: string };
    agentToken: string;
  },
): Promise<MotoAccount> {
  const ec2 = new EC2Client(cc);
  const vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.77.0.0/16' }))).Vpc?.VpcId as string;
  const subnetIds: string[] = [];
  for (const [i, az] of ['a', 'b'].entries()) {
    const s = await ec2.send(
      new CreateSubnetCommand({
        VpcId: vpcId,
        CidrBlock: `10.77.${i}.0/24`,
        AvailabilityZone: `${opts.region}${az}`,
      }),
    );
    subnetIds.push(s.Subnet?.SubnetId as string);
  }
  const sg = await ec2.send(
    new CreateSecurityGroupCommand({ GroupName: 'k3s-burst-nodes', Description: 'no inbound', VpcId: vpcId }),
  );
  const images = await ec2.send(new DescribeImagesCommand({}));
  const imageId = images.Images?.find((i) => i.ImageId?.startsWith('ami-'))?.ImageId;
  if (!imageId) throw new Error('moto lists no AMI');

  const tableName = `k3s-burst-${opts.cluster}-state`;
  await new DynamoDBClient(cc).send(new CreateTableCommand(stateTableDefinition(tableName)));
  const sm = new SecretsManagerClient(cc);
  const oauth = opts.tailscaleCredentials
    ? await sm.send(
        new CreateSecretCommand({
          Name: `k3s-burst/${opts.cluster}/tailscale-oauth`,
          SecretString: JSON.stringify(opts.tailscaleCredentials),
        }),
      )
    : undefined;
  const token = await sm.send(
    new CreateSecretCommand({
      Name: `k3s-burst/${opts.cluster}/k3s-agent-token`,
      SecretString: opts.agentToken,
    }),
  );
  const bootstrap = await sm.send(
    new CreateSecretCommand({ Name: `k3s-burst/${opts.cluster}/k3s-bootstrap-token` }),
  );
  return {
    vpcId,
    subnetIds,
    securityGroupId: sg.GroupId as string,
    imageId,
    tableName,
    tailscaleOAuthSecretArn: oauth?.ARN,
    k3sAgentTokenSecretArn: token.ARN as string,
    k3sBootstrapTokenSecretArn: bootstrap.ARN as string,
  };
}
