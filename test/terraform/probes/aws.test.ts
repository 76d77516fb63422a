// AWS probes against a real moto server: every probe kind finds what the staging stack would create
// (with the import ID Terraform expects), reports absence as absence, and refuses to guess when names
// are ambiguous. A second run probes nothing. EC2, ELBv2, IAM and Logs resources are made with boto3
// (the module reads them with its own signed calls), ECR and ECS ones with the module's SDK clients.
import { CreateClusterCommand, CreateServiceCommand, ECSClient, RegisterTaskDefinitionCommand } from "@aws-sdk/client-ecs"
import { readFileSync } from "node:fs"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { parseSettings } from "../../../dagger/src/config/settings.js"
import { entriesToProbe, planImports } from "../../../dagger/src/terraform/import.js"
import { bootstrapAwsBackend } from "../../../dagger/src/terraform/backend.js"
import { probeAws, type AwsTarget } from "../../../dagger/src/terraform/probes/aws.js"
import { awsNames, awsStack } from "../../../dagger/src/terraform/stacks.js"
import { botoCalls, type BotoCall } from "../../support/boto3.js"
import { startMoto, type Moto } from "../../support/moto.js"
import { repoRoot } from "../../tools/paths.js"

const settings = parseSettings(readFileSync(`${repoRoot}/ci/pipeline.yaml`, "utf8"))
const names = awsNames(settings)
const stack = awsStack(settings)

let moto: Moto
let target: AwsTarget

beforeAll(async () => {
  moto = await startMoto({ region: settings.staging.aws.region })
  target = { region: moto.region, endpoint: moto.endpoint, credentials: moto.credentials }
})
afterAll(async () => {
  await moto?.stop()
})
beforeEach(async () => {
  await moto.reset()
})

function cfg() {
  return { region: moto.region, endpoint: moto.endpoint, credentials: moto.credentials }
}

const assumeEcsTasks = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }],
})

const tag = (name: string, type: "vpc" | "subnet" | "internet-gateway" | "route-table" | "security-group") => [
  { ResourceType: type, Tags: [{ Key: "Name", Value: name }] },
]

/** Creates, with the SDK, everything the staging manifest lists, named as Terraform would name it. */
async function createStagingByHand(): Promise<Record<string, string>> {
  await bootstrapAwsBackend(target, { bucket: names.stateBucket, lockTable: names.lockTable })
  await botoCalls(moto, [["ecr", "create_repository", { repositoryName: names.ecrRepository }]])

  type Id = Record<string, string>
  const [vpcOut] = await botoCalls(moto, [["ec2", "create_vpc", { CidrBlock: "10.40.0.0/16", TagSpecifications: tag(names.vpc, "vpc") }]])
  const vpc = (vpcOut as { Vpc: Id }).Vpc
  const made = await botoCalls(moto, [
    ...names.publicSubnets.map((name, i): BotoCall => [
      "ec2",
      "create_subnet",
      { VpcId: vpc.VpcId, CidrBlock: `10.40.${i}.0/24`, AvailabilityZone: `${moto.region}${i === 0 ? "a" : "b"}`, TagSpecifications: tag(name, "subnet") },
    ]),
    ["ec2", "create_internet_gateway", { TagSpecifications: tag(names.internetGateway, "internet-gateway") }],
    ["ec2", "create_route_table", { VpcId: vpc.VpcId, TagSpecifications: tag(names.publicRouteTable, "route-table") }],
    ["ec2", "create_security_group", { GroupName: names.albSecurityGroup, Description: "alb", VpcId: vpc.VpcId }],
    ["ec2", "create_security_group", { GroupName: names.taskSecurityGroup, Description: "task", VpcId: vpc.VpcId }],
    ["elbv2", "create_target_group", { Name: names.targetGroup, Protocol: "HTTP", Port: 8080, VpcId: vpc.VpcId, TargetType: "ip" }],
    ["logs", "create_log_group", { logGroupName: names.logGroup }],
    ...[names.alarm5xxRate, names.alarmLatency].map((alarm): BotoCall => [
      "cloudwatch",
      "put_metric_alarm",
      { AlarmName: alarm, Namespace: "AWS/ApplicationELB", MetricName: "TargetResponseTime", Statistic: "Average", Period: 60, EvaluationPeriods: 2, Threshold: 1, ComparisonOperator: "GreaterThanThreshold" },
    ]),
    ...[names.executionRole, names.taskRole].map((role): BotoCall => ["iam", "create_role", { RoleName: role, AssumeRolePolicyDocument: assumeEcsTasks }]),
  ])
  const subnets = names.publicSubnets.map((_, i) => (made[i] as { Subnet: Id }).Subnet.SubnetId!)
  const rest = made.slice(names.publicSubnets.length)
  const igw = (rest[0] as { InternetGateway: Id }).InternetGateway
  const rtb = (rest[1] as { RouteTable: Id }).RouteTable
  const albSg = rest[2] as Id
  const taskSg = rest[3] as Id
  const tg = (rest[4] as { TargetGroups: Id[] }).TargetGroups[0]!
  const linked = await botoCalls(moto, [
    ["ec2", "attach_internet_gateway", { InternetGatewayId: igw.InternetGatewayId, VpcId: vpc.VpcId }],
    ...subnets.map((s): BotoCall => ["ec2", "associate_route_table", { RouteTableId: rtb.RouteTableId, SubnetId: s }]),
    ["elbv2", "create_load_balancer", { Name: names.loadBalancer, Subnets: subnets, SecurityGroups: [albSg.GroupId] }],
  ])
  const lb = (linked.at(-1) as { LoadBalancers: Id[] }).LoadBalancers[0]!
  const [listenerOut] = await botoCalls(moto, [
    [
      "elbv2",
      "create_listener",
      { LoadBalancerArn: lb.LoadBalancerArn, Port: 80, Protocol: "HTTP", DefaultActions: [{ Type: "forward", TargetGroupArn: tg.TargetGroupArn }] },
    ],
  ])
  const listener = (listenerOut as { Listeners: Id[] }).Listeners[0]!

  const ecs = new ECSClient(cfg())
  await ecs.send(new CreateClusterCommand({ clusterName: names.cluster }))
  const td = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: names.taskFamily,
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "256",
      memory: "512",
      containerDefinitions: [{ name: names.containerName, image: "example/app:1", essential: true }],
    }),
  )
  await ecs.send(
    new CreateServiceCommand({
      cluster: names.cluster,
      serviceName: names.service,
      taskDefinition: td.taskDefinition!.taskDefinitionArn,
      desiredCount: 0,
      launchType: "FARGATE",
      networkConfiguration: { awsvpcConfiguration: { subnets, securityGroups: [taskSg.GroupId!] } },
    }),
  )

  return {
    "module.state_backend.aws_s3_bucket.state": names.stateBucket,
    "module.state_backend.aws_dynamodb_table.lock": names.lockTable,
    "module.registry.aws_ecr_repository.this": names.ecrRepository,
    "module.network.aws_vpc.this": vpc.VpcId!,
    "module.network.aws_subnet.public[0]": subnets[0]!,
    "module.network.aws_subnet.public[1]": subnets[1]!,
    "module.network.aws_internet_gateway.this": igw.InternetGatewayId!,
    "module.network.aws_route_table.public": rtb.RouteTableId!,
    "module.network.aws_route_table_association.public[0]": `${subnets[0]}/${rtb.RouteTableId}`,
    "module.network.aws_route_table_association.public[1]": `${subnets[1]}/${rtb.RouteTableId}`,
    "module.service.aws_security_group.alb": albSg.GroupId!,
    "module.service.aws_security_group.task": taskSg.GroupId!,
    "module.service.aws_lb.this": lb.LoadBalancerArn!,
    "module.service.aws_lb_target_group.this": tg.TargetGroupArn!,
    "module.service.aws_lb_listener.http": listener.ListenerArn!,
    "module.service.aws_cloudwatch_log_group.app": names.logGroup,
    "module.service.aws_cloudwatch_metric_alarm.target_5xx_rate": names.alarm5xxRate,
    "module.service.aws_cloudwatch_metric_alarm.target_response_time": names.alarmLatency,
    "module.service.aws_iam_role.execution": names.executionRole,
    "module.service.aws_iam_role.task": names.taskRole,
    "module.service.aws_ecs_cluster.this": names.cluster,
    "module.service.aws_ecs_service.this": `${names.cluster}/${names.service}`,
  }
}

describe("AWS probes (moto)", () => {
  it("in an empty account finds nothing: apply creates every resource", async () => {
    const probes = await probeAws(stack.manifest, target)
    expect([...probes.values()].filter((p) => p.status !== "absent")).toEqual([])
    const plan = planImports([], stack.manifest, probes)
    expect(plan.imports).toEqual([])
    expect(plan.creates).toHaveLength(stack.manifest.length)
  })

  it("finds every resource made by hand with the import ID Terraform expects, and a second run probes nothing", async () => {
    const expected = await createStagingByHand()
    expect(Object.keys(expected).sort()).toEqual(stack.manifest.map((e) => e.address).sort())

    const probes = await probeAws(stack.manifest, target)
    const found = Object.fromEntries(
      [...probes].map(([address, r]) => [address, r.status === "found" ? r.importId : `${r.status}: ${JSON.stringify(r)}`]),
    )
    expect(found).toEqual(expected)

    const first = planImports([], stack.manifest, probes)
    expect(first.imports.map((i) => i.address).sort()).toEqual(Object.keys(expected).sort())
    expect(first.creates).toEqual([])

    // After apply every address is in state: nothing left to probe or import.
    const state = stack.manifest.map((e) => e.address)
    expect(entriesToProbe(state, stack.manifest)).toEqual([])
    const second = planImports(state, stack.manifest, await probeAws(entriesToProbe(state, stack.manifest), target))
    expect(second).toEqual({ imports: [], creates: [], managed: state })
  })

  it("refuses to guess between two VPCs with the same Name tag, naming both", async () => {
    const [a, b] = (await botoCalls(moto, [
      ["ec2", "create_vpc", { CidrBlock: "10.1.0.0/16", TagSpecifications: tag(names.vpc, "vpc") }],
      ["ec2", "create_vpc", { CidrBlock: "10.2.0.0/16", TagSpecifications: tag(names.vpc, "vpc") }],
    ])) as { Vpc: { VpcId: string } }[]
    const entry = stack.manifest.filter((e) => e.address === "module.network.aws_vpc.this")
    const result = (await probeAws(entry, target)).get("module.network.aws_vpc.this")
    expect(result?.status).toBe("failed")
    const reason = result?.status === "failed" ? result.reason : ""
    expect(reason).toContain(`2 resources match vpc tagged Name=${names.vpc}`)
    expect(reason).toContain(a!.Vpc.VpcId)
    expect(reason).toContain(b!.Vpc.VpcId)
    expect(() => planImports([], entry, new Map([["module.network.aws_vpc.this", result!]]))).toThrow(/delete the duplicates/)
  })

  it("reports a load balancer without its port 80 listener as a listener to create", async () => {
    const [vpcOut] = await botoCalls(moto, [["ec2", "create_vpc", { CidrBlock: "10.40.0.0/16" }]])
    const vpcId = (vpcOut as { Vpc: { VpcId: string } }).Vpc.VpcId
    const subnetsOut = await botoCalls(
      moto,
      [0, 1].map((i): BotoCall => ["ec2", "create_subnet", { VpcId: vpcId, CidrBlock: `10.40.${i}.0/24`, AvailabilityZone: `${moto.region}${i ? "b" : "a"}` }]),
    )
    const subnets = subnetsOut.map((o) => (o as { Subnet: { SubnetId: string } }).Subnet.SubnetId)
    await botoCalls(moto, [["elbv2", "create_load_balancer", { Name: names.loadBalancer, Subnets: subnets }]])
    const entries = stack.manifest.filter((e) => e.address.startsWith("module.service.aws_lb"))
    const probes = await probeAws(entries, target)
    expect(probes.get("module.service.aws_lb.this")?.status).toBe("found")
    expect(probes.get("module.service.aws_lb_listener.http")).toEqual({ status: "absent" })
    expect(probes.get("module.service.aws_lb_target_group.this")).toEqual({ status: "absent" })
  })

  it("answers a probe of another cloud's kind with a failure, never a guess", async () => {
    const entry = { address: "module.x.google_storage_bucket.y", cloudId: "GCS bucket y", probe: { kind: "gcs-bucket", bucket: "y" } } as const
    expect((await probeAws([entry], target)).get(entry.address)).toEqual({
      status: "failed",
      reason: "probe kind 'gcs-bucket' is not an AWS probe",
    })
  })

  it("turns an unreachable endpoint into a failed probe that says what it looked for", async () => {
    const entry = stack.manifest.filter((e) => e.address === "module.service.aws_iam_role.task")
    const probes = await probeAws(entry, { ...target, endpoint: "http://127.0.0.1:9" })
    const r = probes.get("module.service.aws_iam_role.task")
    expect(r?.status).toBe("failed")
    expect(r?.status === "failed" ? r.reason : "").toContain(`could not look up IAM role ${names.taskRole}`)
  }, 60_000)
})
