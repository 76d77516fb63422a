// AWS side of adopt-or-create: one small probe per resource kind, each answering "does this
// resource exist, and what is its import ID?", dispatched through one table. SDK clients run in the
// module process with plaintext credentials; each SDK is imported only when a probe of its kind runs,
// because every module file loads on every call.
import type { AwsCredentials } from "../../config/credentials.js"
import type { AwsProbe, ImportEntry, Probe, ProbeResult } from "../import.js"

/** Where and as whom to call AWS. */
export interface AwsTarget {
  region: string
  /** Emulator endpoint (moto, LocalStack) from staging.aws.endpointUrl; absent for AWS itself. */
  endpoint?: string
  credentials: AwsCredentials
}

function clientConfig(t: AwsTarget) {
  return {
    region: t.region,
    credentials: t.credentials,
    ...(t.endpoint ? { endpoint: t.endpoint } : {}),
    // The SDK's own retries (3 attempts with backoff) cover throttling; probes add none of their own.
    maxAttempts: 3,
  }
}

/** Name of an SDK error (`ResourceNotFoundException`, `NoSuchEntity`, ...), or "" when it has none. */
export function awsErrorName(err: unknown): string {
  return typeof err === "object" && err !== null && "name" in err ? String((err as { name: unknown }).name) : ""
}

function httpStatus(err: unknown): number | undefined {
  const meta = (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata
  return meta?.httpStatusCode
}

const ABSENT: ProbeResult = { status: "absent" }
const found = (importId: string): ProbeResult => ({ status: "found", importId })

function failed(what: string, err: unknown): ProbeResult {
  const name = awsErrorName(err)
  const message = err instanceof Error ? err.message : String(err)
  const hint = /AccessDenied|UnauthorizedOperation|Forbidden/i.test(name + message)
    ? " — the pipeline's AWS identity needs read access (Describe*/Get*/Head*) to it"
    : ""
  return { status: "failed", reason: `could not look up ${what}: ${name ? name + ": " : ""}${message}${hint}` }
}

/** Exactly one match is found; none is absent; several is a failure naming them (never a guess). */
function single(what: string, ids: readonly (string | undefined)[]): ProbeResult {
  const present = ids.filter((x): x is string => !!x)
  if (present.length === 0) return ABSENT
  if (present.length > 1) {
    return {
      status: "failed",
      reason: `${present.length} resources match ${what} (${present.join(", ")}); delete the duplicates or tag only one, then run again`,
    }
  }
  return found(present[0]!)
}

/**
 * One lookup of `what`: an SDK error named in `absentWhen` means the resource does not exist; any
 * other error is a failed probe that says what it looked for.
 */
async function lookUp(what: string, absentWhen: readonly string[], ask: () => Promise<ProbeResult>): Promise<ProbeResult> {
  try {
    return await ask()
  } catch (err) {
    return absentWhen.includes(awsErrorName(err)) ? ABSENT : failed(what, err)
  }
}

/** Lazily created SDK clients, one per service, shared by the probes (and the backend bootstrap) of a run. */
export class AwsClients {
  private cache = new Map<string, unknown>()
  constructor(readonly target: AwsTarget) {}

  private async get<T>(key: string, make: () => Promise<T>): Promise<T> {
    if (!this.cache.has(key)) this.cache.set(key, await make())
    return this.cache.get(key) as T
  }

  s3() {
    return this.get("s3", async () => {
      const { S3Client } = await import("#aws-sdk/client-s3")
      // Emulators answer on an IP address, where virtual-host bucket URLs cannot resolve.
      return new S3Client({ ...clientConfig(this.target), forcePathStyle: this.target.endpoint !== undefined })
    })
  }
  dynamodb() {
    return this.get("dynamodb", async () => new (await import("#aws-sdk/client-dynamodb")).DynamoDBClient(clientConfig(this.target)))
  }
  ecr() {
    return this.get("ecr", async () => new (await import("#aws-sdk/client-ecr")).ECRClient(clientConfig(this.target)))
  }
  ec2() {
    return this.get("ec2", async () => new (await import("#aws-sdk/client-ec2")).EC2Client(clientConfig(this.target)))
  }
  elbv2() {
    return this.get(
      "elbv2",
      async () =>
        new (await import("#aws-sdk/client-elastic-load-balancing-v2")).ElasticLoadBalancingV2Client(clientConfig(this.target)),
    )
  }
  logs() {
    return this.get(
      "logs",
      async () => new (await import("#aws-sdk/client-cloudwatch-logs")).CloudWatchLogsClient(clientConfig(this.target)),
    )
  }
  iam() {
    return this.get("iam", async () => new (await import("#aws-sdk/client-iam")).IAMClient(clientConfig(this.target)))
  }
  ecs() {
    return this.get("ecs", async () => new (await import("#aws-sdk/client-ecs")).ECSClient(clientConfig(this.target)))
  }

  destroy(): void {
    for (const c of this.cache.values()) (c as { destroy?: () => void }).destroy?.()
  }
}

// --- The probes, one per kind ---------------------------------------------------------------------

async function s3Bucket(clients: AwsClients, { bucket }: { bucket: string }): Promise<ProbeResult> {
  try {
    const { HeadBucketCommand } = await import("#aws-sdk/client-s3")
    await (await clients.s3()).send(new HeadBucketCommand({ Bucket: bucket }))
    return found(bucket)
  } catch (err) {
    // HeadBucket answers with a bare status and no error name.
    if (awsErrorName(err) === "NotFound" || httpStatus(err) === 404) return ABSENT
    if (httpStatus(err) === 403) {
      return {
        status: "failed",
        reason: `S3 bucket ${bucket} exists but this AWS identity may not read it (bucket names are global: another account may own it; pick another name in ci/pipeline.yaml)`,
      }
    }
    return failed(`S3 bucket ${bucket}`, err)
  }
}

function dynamodbTable(clients: AwsClients, { table }: { table: string }): Promise<ProbeResult> {
  return lookUp(`DynamoDB table ${table}`, ["ResourceNotFoundException"], async () => {
    const { DescribeTableCommand } = await import("#aws-sdk/client-dynamodb")
    await (await clients.dynamodb()).send(new DescribeTableCommand({ TableName: table }))
    return found(table)
  })
}

function ecrRepository(clients: AwsClients, { name }: { name: string }): Promise<ProbeResult> {
  return lookUp(`ECR repository ${name}`, ["RepositoryNotFoundException"], async () => {
    const { DescribeRepositoriesCommand } = await import("#aws-sdk/client-ecr")
    await (await clients.ecr()).send(new DescribeRepositoriesCommand({ repositoryNames: [name] }))
    return found(name)
  })
}

type Ec2Sdk = typeof import("#aws-sdk/client-ec2")
type Ec2 = InstanceType<Ec2Sdk["EC2Client"]>
type Ec2Filters = { Name: string; Values: string[] }[]
type NameTagged = "vpc" | "subnet" | "internet-gateway" | "route-table"

/** The IDs of the EC2 resources of a kind that match the filters. */
const EC2_LISTS: Record<NameTagged, (ec2: Ec2, sdk: Ec2Sdk, Filters: Ec2Filters) => Promise<(string | undefined)[]>> = {
  vpc: async (ec2, sdk, Filters) => ((await ec2.send(new sdk.DescribeVpcsCommand({ Filters }))).Vpcs ?? []).map((v) => v.VpcId),
  subnet: async (ec2, sdk, Filters) =>
    ((await ec2.send(new sdk.DescribeSubnetsCommand({ Filters }))).Subnets ?? []).map((s) => s.SubnetId),
  "internet-gateway": async (ec2, sdk, Filters) =>
    ((await ec2.send(new sdk.DescribeInternetGatewaysCommand({ Filters }))).InternetGateways ?? []).map((g) => g.InternetGatewayId),
  "route-table": async (ec2, sdk, Filters) =>
    ((await ec2.send(new sdk.DescribeRouteTablesCommand({ Filters }))).RouteTables ?? []).map((t) => t.RouteTableId),
}

/** The one resource of a kind whose Name tag is `nameTag` (these kinds have no unique name of their own). */
function byNameTag(clients: AwsClients, kind: NameTagged, nameTag: string): Promise<ProbeResult> {
  const what = `${kind} tagged Name=${nameTag}`
  return lookUp(what, [], async () => {
    const sdk = await import("#aws-sdk/client-ec2")
    return single(what, await EC2_LISTS[kind](await clients.ec2(), sdk, [{ Name: "tag:Name", Values: [nameTag] }]))
  })
}

async function routeTableAssociation(
  clients: AwsClients,
  probe: { subnetNameTag: string; routeTableNameTag: string },
): Promise<ProbeResult> {
  const [subnet, table] = await Promise.all([
    byNameTag(clients, "subnet", probe.subnetNameTag),
    byNameTag(clients, "route-table", probe.routeTableNameTag),
  ])
  if (subnet.status === "failed") return subnet
  if (table.status === "failed") return table
  if (subnet.status === "absent" || table.status === "absent") return ABSENT
  return lookUp(`associations of route table ${probe.routeTableNameTag}`, [], async () => {
    const { DescribeRouteTablesCommand } = await import("#aws-sdk/client-ec2")
    const r = await (await clients.ec2()).send(new DescribeRouteTablesCommand({ RouteTableIds: [table.importId] }))
    const associated = (r.RouteTables ?? []).flatMap((t) => t.Associations ?? []).some((a) => a.SubnetId === subnet.importId)
    // Terraform imports an association as "<subnet id>/<route table id>".
    return associated ? found(`${subnet.importId}/${table.importId}`) : ABSENT
  })
}

async function securityGroup(clients: AwsClients, probe: { groupName: string; vpcNameTag: string }): Promise<ProbeResult> {
  const vpc = await byNameTag(clients, "vpc", probe.vpcNameTag)
  if (vpc.status !== "found") return vpc
  const what = `security group ${probe.groupName} in VPC ${probe.vpcNameTag}`
  return lookUp(what, [], async () => {
    const { DescribeSecurityGroupsCommand } = await import("#aws-sdk/client-ec2")
    const Filters = [
      { Name: "group-name", Values: [probe.groupName] },
      { Name: "vpc-id", Values: [vpc.importId] },
    ]
    const r = await (await clients.ec2()).send(new DescribeSecurityGroupsCommand({ Filters }))
    return single(what, (r.SecurityGroups ?? []).map((g) => g.GroupId))
  })
}

/** Found with the load balancer's ARN (its import ID). */
function loadBalancer(clients: AwsClients, name: string): Promise<ProbeResult> {
  return lookUp(`load balancer ${name}`, ["LoadBalancerNotFoundException"], async () => {
    const { DescribeLoadBalancersCommand } = await import("#aws-sdk/client-elastic-load-balancing-v2")
    const r = await (await clients.elbv2()).send(new DescribeLoadBalancersCommand({ Names: [name] }))
    const arn = r.LoadBalancers?.[0]?.LoadBalancerArn
    return arn ? found(arn) : ABSENT
  })
}

async function listener(clients: AwsClients, probe: { loadBalancerName: string; port: number }): Promise<ProbeResult> {
  const lb = await loadBalancer(clients, probe.loadBalancerName)
  if (lb.status !== "found") return lb
  return lookUp(`listeners of load balancer ${probe.loadBalancerName}`, [], async () => {
    const { DescribeListenersCommand } = await import("#aws-sdk/client-elastic-load-balancing-v2")
    const r = await (await clients.elbv2()).send(new DescribeListenersCommand({ LoadBalancerArn: lb.importId }))
    const onPort = (r.Listeners ?? []).filter((l) => l.Port === probe.port)
    return single(`port ${probe.port} listener of ${probe.loadBalancerName}`, onPort.map((l) => l.ListenerArn))
  })
}

function targetGroup(clients: AwsClients, { name }: { name: string }): Promise<ProbeResult> {
  return lookUp(`target group ${name}`, ["TargetGroupNotFoundException"], async () => {
    const { DescribeTargetGroupsCommand } = await import("#aws-sdk/client-elastic-load-balancing-v2")
    const r = await (await clients.elbv2()).send(new DescribeTargetGroupsCommand({ Names: [name] }))
    return single(`target group ${name}`, (r.TargetGroups ?? []).map((g) => g.TargetGroupArn))
  })
}

function logGroup(clients: AwsClients, { name }: { name: string }): Promise<ProbeResult> {
  return lookUp(`log group ${name}`, [], async () => {
    const { DescribeLogGroupsCommand } = await import("#aws-sdk/client-cloudwatch-logs")
    const r = await (await clients.logs()).send(new DescribeLogGroupsCommand({ logGroupNamePrefix: name }))
    // A prefix query also returns longer names; only the exact one counts.
    return (r.logGroups ?? []).some((g) => g.logGroupName === name) ? found(name) : ABSENT
  })
}

function iamRole(clients: AwsClients, { name }: { name: string }): Promise<ProbeResult> {
  return lookUp(`IAM role ${name}`, ["NoSuchEntityException", "NoSuchEntity"], async () => {
    const { GetRoleCommand } = await import("#aws-sdk/client-iam")
    await (await clients.iam()).send(new GetRoleCommand({ RoleName: name }))
    return found(name)
  })
}

function ecsCluster(clients: AwsClients, { name }: { name: string }): Promise<ProbeResult> {
  return lookUp(`ECS cluster ${name}`, ["ClusterNotFoundException"], async () => {
    const { DescribeClustersCommand } = await import("#aws-sdk/client-ecs")
    const r = await (await clients.ecs()).send(new DescribeClustersCommand({ clusters: [name] }))
    // A deleted cluster lingers as INACTIVE for a while; Terraform creates a new one over it.
    return (r.clusters ?? []).some((c) => c.clusterName === name && c.status !== "INACTIVE") ? found(name) : ABSENT
  })
}

function ecsService(clients: AwsClients, probe: { cluster: string; service: string }): Promise<ProbeResult> {
  const what = `ECS service ${probe.service} in cluster ${probe.cluster}`
  return lookUp(what, ["ClusterNotFoundException"], async () => {
    const { DescribeServicesCommand } = await import("#aws-sdk/client-ecs")
    const r = await (await clients.ecs()).send(new DescribeServicesCommand({ cluster: probe.cluster, services: [probe.service] }))
    const svc = (r.services ?? []).find((s) => s.serviceName === probe.service)
    if (!svc || svc.status === "INACTIVE") return ABSENT
    if (svc.status === "DRAINING") {
      return { status: "failed", reason: `${what} is DRAINING (being deleted); wait until it is INACTIVE, then run again` }
    }
    // Terraform imports a service as "<cluster>/<service>".
    return found(`${probe.cluster}/${probe.service}`)
  })
}

// --- Dispatch -------------------------------------------------------------------------------------

type AwsProbeOf = { [K in AwsProbe["kind"]]: Extract<AwsProbe, { kind: K }> }

/** Kind → probe. The mapped type makes a kind added to AwsProbe without a probe a type error. */
const AWS_PROBES: { [K in keyof AwsProbeOf]: (clients: AwsClients, probe: AwsProbeOf[K]) => Promise<ProbeResult> } = {
  "s3-bucket": s3Bucket,
  "dynamodb-table": dynamodbTable,
  "ecr-repository": ecrRepository,
  vpc: (clients, p) => byNameTag(clients, "vpc", p.nameTag),
  subnet: (clients, p) => byNameTag(clients, "subnet", p.nameTag),
  "internet-gateway": (clients, p) => byNameTag(clients, "internet-gateway", p.nameTag),
  "route-table": (clients, p) => byNameTag(clients, "route-table", p.nameTag),
  "route-table-association": routeTableAssociation,
  "security-group": securityGroup,
  "load-balancer": (clients, p) => loadBalancer(clients, p.name),
  listener,
  "target-group": targetGroup,
  "log-group": logGroup,
  "iam-role": iamRole,
  "ecs-cluster": ecsCluster,
  "ecs-service": ecsService,
}

function isAwsProbe(probe: Probe): probe is AwsProbe {
  return Object.hasOwn(AWS_PROBES, probe.kind)
}

// The kind travels separately so the compiler can pair each probe with its own function.
function runProbe<K extends keyof AwsProbeOf>(clients: AwsClients, kind: K, probe: AwsProbeOf[K]): Promise<ProbeResult> {
  return AWS_PROBES[kind](clients, probe)
}

/** Probes one resource; a kind that is not an AWS one is a failed probe (never a guess). */
export function probeAwsResource(clients: AwsClients, probe: Probe): Promise<ProbeResult> {
  if (!isAwsProbe(probe)) return Promise.resolve({ status: "failed", reason: `probe kind '${probe.kind}' is not an AWS probe` })
  return runProbe(clients, probe.kind, probe)
}

/** Probes each entry (in parallel) and returns results keyed by Terraform address. */
export async function probeAws(entries: readonly ImportEntry[], target: AwsTarget): Promise<Map<string, ProbeResult>> {
  const clients = new AwsClients(target)
  try {
    const results = await Promise.all(entries.map(async (e) => [e.address, await probeAwsResource(clients, e.probe)] as const))
    return new Map(results)
  } finally {
    clients.destroy()
  }
}
