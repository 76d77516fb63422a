// AWS side of adopt-or-create: probes that answer "does this resource exist, and what is its import
// ID?", and the bootstrap of the state backend (bucket + lock table must exist before
// `terraform init`). SDK clients run in the module process with plaintext credentials; each SDK is
// imported only when a probe of its kind runs, because every module file loads on every call.
import type { AwsCredentials } from "../../config/credentials.js"
import type { ImportEntry, Probe, ProbeResult } from "../import.js"

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
function errorName(err: unknown): string {
  return typeof err === "object" && err !== null && "name" in err ? String((err as { name: unknown }).name) : ""
}

function httpStatus(err: unknown): number | undefined {
  const meta = (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata
  return meta?.httpStatusCode
}

function failed(what: string, err: unknown): ProbeResult {
  const name = errorName(err)
  const message = err instanceof Error ? err.message : String(err)
  const hint = /AccessDenied|UnauthorizedOperation|Forbidden/i.test(name + message)
    ? " — the pipeline's AWS identity needs read access (Describe*/Get*/Head*) to it"
    : ""
  return { status: "failed", reason: `could not look up ${what}: ${name ? name + ": " : ""}${message}${hint}` }
}

function single<T>(what: string, items: readonly T[], id: (item: T) => string | undefined): ProbeResult {
  const ids = items.map(id).filter((x): x is string => !!x)
  if (ids.length === 0) return { status: "absent" }
  if (ids.length > 1) {
    return {
      status: "failed",
      reason: `${ids.length} resources match ${what} (${ids.join(", ")}); delete the duplicates or tag only one, then run again`,
    }
  }
  return { status: "found", importId: ids[0]! }
}

/** Lazily created SDK clients, one per service, shared by the probes of a run. */
class AwsClients {
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

async function byNameTag(
  clients: AwsClients,
  kind: "vpc" | "subnet" | "internet-gateway" | "route-table",
  nameTag: string,
): Promise<ProbeResult> {
  const ec2 = await clients.ec2()
  const sdk = await import("#aws-sdk/client-ec2")
  const Filters = [{ Name: "tag:Name", Values: [nameTag] }]
  const what = `${kind} tagged Name=${nameTag}`
  try {
    switch (kind) {
      case "vpc": {
        const r = await ec2.send(new sdk.DescribeVpcsCommand({ Filters }))
        return single(what, r.Vpcs ?? [], (v) => v.VpcId)
      }
      case "subnet": {
        const r = await ec2.send(new sdk.DescribeSubnetsCommand({ Filters }))
        return single(what, r.Subnets ?? [], (s) => s.SubnetId)
      }
      case "internet-gateway": {
        const r = await ec2.send(new sdk.DescribeInternetGatewaysCommand({ Filters }))
        return single(what, r.InternetGateways ?? [], (g) => g.InternetGatewayId)
      }
      case "route-table": {
        const r = await ec2.send(new sdk.DescribeRouteTablesCommand({ Filters }))
        return single(what, r.RouteTables ?? [], (t) => t.RouteTableId)
      }
    }
  } catch (err) {
    return failed(what, err)
  }
}

async function probeOne(clients: AwsClients, probe: Probe): Promise<ProbeResult> {
  switch (probe.kind) {
    case "s3-bucket": {
      const { HeadBucketCommand } = await import("#aws-sdk/client-s3")
      try {
        await (await clients.s3()).send(new HeadBucketCommand({ Bucket: probe.bucket }))
        return { status: "found", importId: probe.bucket }
      } catch (err) {
        if (errorName(err) === "NotFound" || httpStatus(err) === 404) return { status: "absent" }
        if (httpStatus(err) === 403) {
          return {
            status: "failed",
            reason: `S3 bucket ${probe.bucket} exists but this AWS identity may not read it (bucket names are global: another account may own it; pick another name in ci/pipeline.yaml)`,
          }
        }
        return failed(`S3 bucket ${probe.bucket}`, err)
      }
    }
    case "dynamodb-table": {
      const { DescribeTableCommand } = await import("#aws-sdk/client-dynamodb")
      try {
        await (await clients.dynamodb()).send(new DescribeTableCommand({ TableName: probe.table }))
        return { status: "found", importId: probe.table }
      } catch (err) {
        if (errorName(err) === "ResourceNotFoundException") return { status: "absent" }
        return failed(`DynamoDB table ${probe.table}`, err)
      }
    }
    case "ecr-repository": {
      const { DescribeRepositoriesCommand } = await import("#aws-sdk/client-ecr")
      try {
        await (await clients.ecr()).send(new DescribeRepositoriesCommand({ repositoryNames: [probe.name] }))
        return { status: "found", importId: probe.name }
      } catch (err) {
        if (errorName(err) === "RepositoryNotFoundException") return { status: "absent" }
        return failed(`ECR repository ${probe.name}`, err)
      }
    }
    case "vpc":
    case "subnet":
    case "internet-gateway":
    case "route-table":
      return byNameTag(clients, probe.kind, probe.nameTag)
    case "route-table-association": {
      const subnet = await byNameTag(clients, "subnet", probe.subnetNameTag)
      const table = await byNameTag(clients, "route-table", probe.routeTableNameTag)
      if (subnet.status === "failed") return subnet
      if (table.status === "failed") return table
      if (subnet.status === "absent" || table.status === "absent") return { status: "absent" }
      const { DescribeRouteTablesCommand } = await import("#aws-sdk/client-ec2")
      try {
        const r = await (await clients.ec2()).send(new DescribeRouteTablesCommand({ RouteTableIds: [table.importId] }))
        const associated = (r.RouteTables ?? [])
          .flatMap((t) => t.Associations ?? [])
          .some((a) => a.SubnetId === subnet.importId)
        // Terraform imports an association as "<subnet id>/<route table id>".
        return associated ? { status: "found", importId: `${subnet.importId}/${table.importId}` } : { status: "absent" }
      } catch (err) {
        return failed(`associations of route table ${probe.routeTableNameTag}`, err)
      }
    }
    case "security-group": {
      const vpc = await byNameTag(clients, "vpc", probe.vpcNameTag)
      if (vpc.status !== "found") return vpc
      const { DescribeSecurityGroupsCommand } = await import("#aws-sdk/client-ec2")
      const what = `security group ${probe.groupName} in VPC ${probe.vpcNameTag}`
      try {
        const r = await (await clients.ec2()).send(
          new DescribeSecurityGroupsCommand({
            Filters: [
              { Name: "group-name", Values: [probe.groupName] },
              { Name: "vpc-id", Values: [vpc.importId] },
            ],
          }),
        )
        return single(what, r.SecurityGroups ?? [], (g) => g.GroupId)
      } catch (err) {
        return failed(what, err)
      }
    }
    case "load-balancer":
    case "listener": {
      const name = probe.kind === "load-balancer" ? probe.name : probe.loadBalancerName
      const sdk = await import("#aws-sdk/client-elastic-load-balancing-v2")
      const elb = await clients.elbv2()
      let arn: string | undefined
      try {
        const r = await elb.send(new sdk.DescribeLoadBalancersCommand({ Names: [name] }))
        arn = r.LoadBalancers?.[0]?.LoadBalancerArn
      } catch (err) {
        if (errorName(err) === "LoadBalancerNotFoundException") return { status: "absent" }
        return failed(`load balancer ${name}`, err)
      }
      if (!arn) return { status: "absent" }
      if (probe.kind === "load-balancer") return { status: "found", importId: arn }
      try {
        const r = await elb.send(new sdk.DescribeListenersCommand({ LoadBalancerArn: arn }))
        return single(
          `port ${probe.port} listener of ${name}`,
          (r.Listeners ?? []).filter((l) => l.Port === probe.port),
          (l) => l.ListenerArn,
        )
      } catch (err) {
        return failed(`listeners of load balancer ${name}`, err)
      }
    }
    case "target-group": {
      const { DescribeTargetGroupsCommand } = await import("#aws-sdk/client-elastic-load-balancing-v2")
      try {
        const r = await (await clients.elbv2()).send(new DescribeTargetGroupsCommand({ Names: [probe.name] }))
        return single(`target group ${probe.name}`, r.TargetGroups ?? [], (g) => g.TargetGroupArn)
      } catch (err) {
        if (errorName(err) === "TargetGroupNotFoundException") return { status: "absent" }
        return failed(`target group ${probe.name}`, err)
      }
    }
    case "log-group": {
      const { DescribeLogGroupsCommand } = await import("#aws-sdk/client-cloudwatch-logs")
      try {
        const r = await (await clients.logs()).send(new DescribeLogGroupsCommand({ logGroupNamePrefix: probe.name }))
        // A prefix query also returns longer names; only the exact one counts.
        const exact = (r.logGroups ?? []).some((g) => g.logGroupName === probe.name)
        return exact ? { status: "found", importId: probe.name } : { status: "absent" }
      } catch (err) {
        return failed(`log group ${probe.name}`, err)
      }
    }
    case "iam-role": {
      const { GetRoleCommand } = await import("#aws-sdk/client-iam")
      try {
        await (await clients.iam()).send(new GetRoleCommand({ RoleName: probe.name }))
        return { status: "found", importId: probe.name }
      } catch (err) {
        if (errorName(err) === "NoSuchEntityException" || errorName(err) === "NoSuchEntity") return { status: "absent" }
        return failed(`IAM role ${probe.name}`, err)
      }
    }
    case "ecs-cluster": {
      const { DescribeClustersCommand } = await import("#aws-sdk/client-ecs")
      try {
        const r = await (await clients.ecs()).send(new DescribeClustersCommand({ clusters: [probe.name] }))
        // A deleted cluster lingers as INACTIVE for a while; Terraform creates a new one over it.
        const active = (r.clusters ?? []).some((c) => c.clusterName === probe.name && c.status !== "INACTIVE")
        return active ? { status: "found", importId: probe.name } : { status: "absent" }
      } catch (err) {
        if (errorName(err) === "ClusterNotFoundException") return { status: "absent" }
        return failed(`ECS cluster ${probe.name}`, err)
      }
    }
    case "ecs-service": {
      const { DescribeServicesCommand } = await import("#aws-sdk/client-ecs")
      const what = `ECS service ${probe.service} in cluster ${probe.cluster}`
      try {
        const r = await (await clients.ecs()).send(
          new DescribeServicesCommand({ cluster: probe.cluster, services: [probe.service] }),
        )
        const svc = (r.services ?? []).find((s) => s.serviceName === probe.service)
        if (!svc || svc.status === "INACTIVE") return { status: "absent" }
        if (svc.status === "DRAINING") {
          return {
            status: "failed",
            reason: `${what} is DRAINING (being deleted); wait until it is INACTIVE, then run again`,
          }
        }
        // Terraform imports a service as "<cluster>/<service>".
        return { status: "found", importId: `${probe.cluster}/${probe.service}` }
      } catch (err) {
        if (errorName(err) === "ClusterNotFoundException") return { status: "absent" }
        return failed(what, err)
      }
    }
    default:
      return { status: "failed", reason: `probe kind '${probe.kind}' is not an AWS probe` }
  }
}

/** Probes each entry (in parallel) and returns results keyed by Terraform address. */
export async function probeAws(entries: readonly ImportEntry[], target: AwsTarget): Promise<Map<string, ProbeResult>> {
  const clients = new AwsClients(target)
  try {
    const results = await Promise.all(
      entries.map(async (e) => [e.address, await probeOne(clients, e.probe)] as const),
    )
    return new Map(results)
  } finally {
    clients.destroy()
  }
}

/** What the bootstrap found and did. */
export interface BackendBootstrap {
  created: string[]
  existing: string[]
}

/**
 * Makes sure the staging state bucket and lock table exist, creating them when missing (with
 * versioning, encryption and public access blocked from the first second: state may hold secrets).
 * Safe to run concurrently and repeatedly. Terraform adopts both through the import manifest and
 * owns their settings afterwards.
 */
export async function bootstrapAwsBackend(
  target: AwsTarget,
  backend: { bucket: string; lockTable: string },
): Promise<BackendBootstrap> {
  const report: BackendBootstrap = { created: [], existing: [] }
  const clients = new AwsClients(target)
  try {
    const s3sdk = await import("#aws-sdk/client-s3")
    const s3 = await clients.s3()
    const bucket = await probeOne(clients, { kind: "s3-bucket", bucket: backend.bucket })
    if (bucket.status === "failed") throw new Error(`state bucket bootstrap: ${bucket.reason}`)
    if (bucket.status === "found") {
      report.existing.push(`S3 bucket ${backend.bucket}`)
    } else {
      try {
        await s3.send(
          new s3sdk.CreateBucketCommand({
            Bucket: backend.bucket,
            // us-east-1 is the one region that rejects an explicit location constraint.
            ...(target.region === "us-east-1"
              ? {}
              : { CreateBucketConfiguration: { LocationConstraint: target.region as never } }),
          }),
        )
        report.created.push(`S3 bucket ${backend.bucket}`)
      } catch (err) {
        if (errorName(err) !== "BucketAlreadyOwnedByYou") {
          throw new Error(
            `could not create the state bucket ${backend.bucket} in ${target.region}: ${errorName(err)} ${(err as Error).message}. ` +
              "Bucket names are global; if another account owns it, choose another staging.terraform.stateBucket.",
          )
        }
        report.existing.push(`S3 bucket ${backend.bucket}`)
      }
      await s3.send(
        new s3sdk.PutPublicAccessBlockCommand({
          Bucket: backend.bucket,
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            BlockPublicPolicy: true,
            IgnorePublicAcls: true,
            RestrictPublicBuckets: true,
          },
        }),
      )
      await s3.send(
        new s3sdk.PutBucketVersioningCommand({ Bucket: backend.bucket, VersioningConfiguration: { Status: "Enabled" } }),
      )
      await s3.send(
        new s3sdk.PutBucketEncryptionCommand({
          Bucket: backend.bucket,
          ServerSideEncryptionConfiguration: {
            Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms" }, BucketKeyEnabled: true }],
          },
        }),
      )
    }

    const table = await probeOne(clients, { kind: "dynamodb-table", table: backend.lockTable })
    if (table.status === "failed") throw new Error(`lock table bootstrap: ${table.reason}`)
    if (table.status === "found") {
      report.existing.push(`DynamoDB table ${backend.lockTable}`)
    } else {
      const ddb = await import("#aws-sdk/client-dynamodb")
      const client = await clients.dynamodb()
      try {
        await client.send(
          new ddb.CreateTableCommand({
            TableName: backend.lockTable,
            BillingMode: "PAY_PER_REQUEST",
            AttributeDefinitions: [{ AttributeName: "LockID", AttributeType: "S" }],
            KeySchema: [{ AttributeName: "LockID", KeyType: "HASH" }],
          }),
        )
        report.created.push(`DynamoDB table ${backend.lockTable}`)
      } catch (err) {
        if (errorName(err) !== "ResourceInUseException") {
          throw new Error(
            `could not create the lock table ${backend.lockTable}: ${errorName(err)} ${(err as Error).message}`,
          )
        }
        report.existing.push(`DynamoDB table ${backend.lockTable}`)
      }
      // init locks state right after this; the table must be ACTIVE, not CREATING.
      await ddb.waitUntilTableExists({ client, maxWaitTime: 120, minDelay: 1, maxDelay: 5 }, { TableName: backend.lockTable })
    }
    return report
  } finally {
    clients.destroy()
  }
}
