// AWS side of adopt-or-create: one small probe per resource kind, each answering "does this
// resource exist, and what is its import ID?", dispatched through one table. Calls run in the module
// process with plaintext credentials: through the ECS SDK client the module ships anyway, and through
// signed API calls (aws/signed-api.ts) for every other service. The ECS SDK is imported only when a
// probe of its kind runs, because every module file loads on every call.
import type { AwsProbe, ImportEntry, Probe, ProbeResult } from "../import.js"
import { at, ec2Filters, jsonApi, list, queryApi, s3BucketApi, text, type AwsTarget, type XmlValue } from "../../aws/signed-api.js"

export type { AwsTarget } from "../../aws/signed-api.js"

/** Name of an SDK or API error (`ResourceNotFoundException`, `NoSuchEntity`, ...), or "" when it has none. */
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
 * One lookup of `what`: an error named in `absentWhen` means the resource does not exist; any other
 * error is a failed probe that says what it looked for.
 */
async function lookUp(what: string, absentWhen: readonly string[], ask: () => Promise<ProbeResult>): Promise<ProbeResult> {
  try {
    return await ask()
  } catch (err) {
    return absentWhen.includes(awsErrorName(err)) ? ABSENT : failed(what, err)
  }
}

/**
 * The ECS SDK client, created lazily and shared by the probes of a run; `target` signs the API calls
 * of every other kind.
 */
export class AwsClients {
  private ecsClient?: Promise<import("#aws-sdk/client-ecs").ECSClient>
  constructor(readonly target: AwsTarget) {}

  ecs() {
    this.ecsClient ??= import("#aws-sdk/client-ecs").then(
      ({ ECSClient }) =>
        new ECSClient({
          region: this.target.region,
          credentials: this.target.credentials,
          ...(this.target.endpoint ? { endpoint: this.target.endpoint } : {}),
          // The SDK's own retries (3 attempts with backoff) cover throttling; probes add none of their own.
          maxAttempts: 3,
        }),
    )
    return this.ecsClient
  }

  destroy(): void {
    void this.ecsClient?.then((c) => c.destroy())
  }
}

// --- The probes, one per kind ---------------------------------------------------------------------

async function s3Bucket(clients: AwsClients, { bucket }: { bucket: string }): Promise<ProbeResult> {
  try {
    await s3BucketApi(clients.target, { method: "HEAD", bucket })
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
    await jsonApi(clients.target, "dynamodb", "DescribeTable", { TableName: table })
    return found(table)
  })
}

function ecrRepository(clients: AwsClients, { name }: { name: string }): Promise<ProbeResult> {
  return lookUp(`ECR repository ${name}`, ["RepositoryNotFoundException"], async () => {
    await jsonApi(clients.target, "ecr", "DescribeRepositories", { repositoryNames: [name] })
    return found(name)
  })
}

type Ec2Filters = { Name: string; Values: string[] }[]
type NameTagged = "vpc" | "subnet" | "internet-gateway" | "route-table"

/** Per kind: the EC2 action, the list element of its answer and the ID field of each item. */
const EC2_LISTS: Record<NameTagged, { action: string; set: string; id: string }> = {
  vpc: { action: "DescribeVpcs", set: "vpcSet", id: "vpcId" },
  subnet: { action: "DescribeSubnets", set: "subnetSet", id: "subnetId" },
  "internet-gateway": { action: "DescribeInternetGateways", set: "internetGatewaySet", id: "internetGatewayId" },
  "route-table": { action: "DescribeRouteTables", set: "routeTableSet", id: "routeTableId" },
}

/** The items of an EC2 Describe answer (`<vpcSet><item>...`). */
async function ec2Items(target: AwsTarget, action: string, set: string, params: Record<string, string>): Promise<XmlValue[]> {
  return list(at(await queryApi(target, "ec2", action, params), set, "item"))
}

/** The IDs of the EC2 resources of a kind that match the filters. */
async function ec2Ids(target: AwsTarget, kind: NameTagged, filters: Ec2Filters): Promise<(string | undefined)[]> {
  const { action, set, id } = EC2_LISTS[kind]
  return (await ec2Items(target, action, set, ec2Filters(filters))).map((item) => text(at(item, id)))
}

/** The one resource of a kind whose Name tag is `nameTag` (these kinds have no unique name of their own). */
function byNameTag(clients: AwsClients, kind: NameTagged, nameTag: string): Promise<ProbeResult> {
  const what = `${kind} tagged Name=${nameTag}`
  return lookUp(what, [], async () => single(what, await ec2Ids(clients.target, kind, [{ Name: "tag:Name", Values: [nameTag] }])))
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
    const tables = await ec2Items(clients.target, "DescribeRouteTables", "routeTableSet", { "RouteTableId.1": table.importId })
    const associated = tables
      .flatMap((t) => list(at(t, "associationSet", "item")))
      .some((a) => text(at(a, "subnetId")) === subnet.importId)
    // Terraform imports an association as "<subnet id>/<route table id>".
    return associated ? found(`${subnet.importId}/${table.importId}`) : ABSENT
  })
}

async function securityGroup(clients: AwsClients, probe: { groupName: string; vpcNameTag: string }): Promise<ProbeResult> {
  const vpc = await byNameTag(clients, "vpc", probe.vpcNameTag)
  if (vpc.status !== "found") return vpc
  const what = `security group ${probe.groupName} in VPC ${probe.vpcNameTag}`
  return lookUp(what, [], async () => {
    const filters = [
      { Name: "group-name", Values: [probe.groupName] },
      { Name: "vpc-id", Values: [vpc.importId] },
    ]
    const groups = await ec2Items(clients.target, "DescribeSecurityGroups", "securityGroupInfo", ec2Filters(filters))
    return single(what, groups.map((g) => text(at(g, "groupId"))))
  })
}

/** The `member`s of an ELBv2 answer's list, e.g. `DescribeLoadBalancersResult.LoadBalancers.member`. */
async function elbv2Members(target: AwsTarget, action: string, listName: string, params: Record<string, string>): Promise<XmlValue[]> {
  return list(at(await queryApi(target, "elasticloadbalancing", action, params), `${action}Result`, listName, "member"))
}

/** Found with the load balancer's ARN (its import ID). */
function loadBalancer(clients: AwsClients, name: string): Promise<ProbeResult> {
  return lookUp(`load balancer ${name}`, ["LoadBalancerNotFound"], async () => {
    const lbs = await elbv2Members(clients.target, "DescribeLoadBalancers", "LoadBalancers", { "Names.member.1": name })
    const arn = text(at(lbs[0], "LoadBalancerArn"))
    return arn ? found(arn) : ABSENT
  })
}

async function listener(clients: AwsClients, probe: { loadBalancerName: string; port: number }): Promise<ProbeResult> {
  const lb = await loadBalancer(clients, probe.loadBalancerName)
  if (lb.status !== "found") return lb
  return lookUp(`listeners of load balancer ${probe.loadBalancerName}`, [], async () => {
    const listeners = await elbv2Members(clients.target, "DescribeListeners", "Listeners", { LoadBalancerArn: lb.importId })
    const onPort = listeners.filter((l) => text(at(l, "Port")) === String(probe.port))
    return single(`port ${probe.port} listener of ${probe.loadBalancerName}`, onPort.map((l) => text(at(l, "ListenerArn"))))
  })
}

function targetGroup(clients: AwsClients, { name }: { name: string }): Promise<ProbeResult> {
  return lookUp(`target group ${name}`, ["TargetGroupNotFound"], async () => {
    const groups = await elbv2Members(clients.target, "DescribeTargetGroups", "TargetGroups", { "Names.member.1": name })
    return single(`target group ${name}`, groups.map((g) => text(at(g, "TargetGroupArn"))))
  })
}

function logGroup(clients: AwsClients, { name }: { name: string }): Promise<ProbeResult> {
  return lookUp(`log group ${name}`, [], async () => {
    // A prefix query also returns longer names, page by page; only the exact one counts.
    let nextToken: string | undefined
    do {
      const page = (await jsonApi(clients.target, "logs", "DescribeLogGroups", { logGroupNamePrefix: name, ...(nextToken ? { nextToken } : {}) })) as {
        logGroups?: { logGroupName?: string }[]
        nextToken?: string
      }
      if ((page.logGroups ?? []).some((g) => g.logGroupName === name)) return found(name)
      nextToken = page.nextToken
    } while (nextToken)
    return ABSENT
  })
}

/** Found with the alarm's name (its import ID). DescribeAlarms answers an unknown name with an empty list. */
function cloudwatchAlarm(clients: AwsClients, { name }: { name: string }): Promise<ProbeResult> {
  return lookUp(`CloudWatch alarm ${name}`, [], async () => {
    const answer = await queryApi(clients.target, "monitoring", "DescribeAlarms", { "AlarmNames.member.1": name })
    const alarms = list(at(answer, "DescribeAlarmsResult", "MetricAlarms", "member"))
    return single(`CloudWatch alarm ${name}`, alarms.map((a) => text(at(a, "AlarmName"))).filter((n) => n === name))
  })
}

function iamRole(clients: AwsClients, { name }: { name: string }): Promise<ProbeResult> {
  return lookUp(`IAM role ${name}`, ["NoSuchEntity"], async () => {
    await queryApi(clients.target, "iam", "GetRole", { RoleName: name })
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
  "cloudwatch-alarm": cloudwatchAlarm,
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
