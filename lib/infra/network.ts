import { Fn, RemovalPolicy } from 'aws-cdk-lib';
import {
  FlowLogDestination,
  FlowLogTrafficType,
  IpAddresses,
  type ISecurityGroup,
  type ISubnet,
  type IVpc,
  SecurityGroup,
  Subnet,
  SubnetType,
  Vpc,
} from 'aws-cdk-lib/aws-ec2';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** Props of {@link BurstNetwork}. */
export interface BurstNetworkProps {
  /**
   * Use this existing VPC instead of creating one. Imported by id, without a lookup, so
   * synth works offline; `subnetIds` is then required.
   * @default - a new VPC with public subnets only
   */
  readonly vpcId?: string;
  /**
   * Subnets of `vpcId` nodes launch into. They need a route to the internet (an internet
   * gateway with public IPs on launch, or a NAT) for Tailscale, K3s and package downloads.
   * @default - the public subnets of the new VPC
   */
  readonly subnetIds?: readonly string[];
  /**
   * How many AZs the new VPC spans (one public subnet each).
   * @default 2
   */
  readonly availabilityZoneCount?: number;
  /**
   * CIDR of the new VPC. Must not overlap the home LAN if subnet routes are advertised.
   * @default '10.77.0.0/16'
   */
  readonly vpcCidr?: string;
  /**
   * Retention of the VPC flow log (rejected traffic only).
   * @default RetentionDays.ONE_MONTH
   */
  readonly flowLogRetention?: RetentionDays;
  /** @default RemovalPolicy.DESTROY */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Where burst nodes run: a small VPC with public subnets and **no NAT gateway** (nodes only
 * make outbound connections; a NAT gateway would cost more than the nodes), or existing
 * subnets; and a security group with **no inbound rules** (everything reaches the nodes
 * over Tailscale, which punches out).
 */
export class BurstNetwork extends Construct {
  readonly vpc: IVpc;
  readonly subnets: ISubnet[];
  readonly securityGroup: ISecurityGroup;

  constructor(scope: Construct, id: string, props: BurstNetworkProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    if (props.vpcId) {
      const subnetIds = props.subnetIds ?? [];
      // Attributes only, no lookup. Only the VPC id is used (by the security group); the
      // subnets are imported by id below, so the AZ list is a required formality.
      this.vpc = Vpc.fromVpcAttributes(this, 'Vpc', {
        vpcId: props.vpcId,
        availabilityZones: [Fn.select(0, Fn.getAzs())],
      });
      this.subnets = subnetIds.map((subnetId, i) => Subnet.fromSubnetId(this, `Subnet${i}`, subnetId));
    } else {
      const azCount = props.availabilityZoneCount ?? 2;
      // Explicit Fn::GetAZs picks: never triggers an AZ context lookup, so synth stays
      // offline, and 3 AZs work in an environment-agnostic stack.
      const availabilityZones = Array.from({ length: azCount }, (_, i) => Fn.select(i, Fn.getAzs()));
      const vpc = new Vpc(this, 'Vpc', {
        ipAddresses: IpAddresses.cidr(props.vpcCidr ?? '10.77.0.0/16'),
        availabilityZones,
        natGateways: 0,
        subnetConfiguration: [{ name: 'nodes', subnetType: SubnetType.PUBLIC, cidrMask: 20 }],
        restrictDefaultSecurityGroup: false,
      });
      const flowLogGroup = new LogGroup(this, 'FlowLogGroup', {
        retention: props.flowLogRetention ?? RetentionDays.ONE_MONTH,
        removalPolicy,
      });
      vpc.addFlowLog('FlowLog', {
        destination: FlowLogDestination.toCloudWatchLogs(flowLogGroup),
        trafficType: FlowLogTrafficType.REJECT,
      });
      this.vpc = vpc;
      this.subnets = vpc.publicSubnets;
    }
    this.securityGroup = new SecurityGroup(this, 'NodeSecurityGroup', {
      vpc: this.vpc,
      description: 'k3s-burst nodes: no inbound rules, all traffic arrives over Tailscale',
      allowAllOutbound: true,
    });
  }
}
