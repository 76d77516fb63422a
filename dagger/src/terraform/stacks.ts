// The two Terraform stacks as data, computed from ci/pipeline.yaml: where the root module lives, the
// variables and backend settings it gets (so every name is defined once, in the settings), which
// resources it may adopt (the import manifest), and which outputs the pipeline reads after apply
// (outputs.ts). Pure: settings in, plain objects out.
import type { Settings } from "../config/settings.js"
import { ImageRefError, parseImageRef, requireDigestRef } from "../supply-chain/image-ref.js"
import type { ImportEntry } from "./import.js"
import { AWS_OUTPUTS, GCP_OUTPUTS } from "./outputs.js"

export type StackName = "aws" | "gcp"

/** A variable value as it goes into a JSON tfvars file. */
export type TfValue = string | number | boolean

export interface StackDefinition {
  name: StackName
  /** Root module directory relative to terraform/ (modules/ sits beside it). */
  dir: string
  /** Root module variables, written to a tfvars JSON file for plan. */
  variables: Record<string, TfValue>
  /** Backend settings, passed as `-backend-config=key=value` to init. */
  backendConfig: Record<string, string>
  /** Plain environment for the Terraform container (never credentials). */
  env: Record<string, string>
  manifest: ImportEntry[]
  /** Outputs the pipeline reads after apply; all must be declared in the root's outputs.tf. */
  outputs: readonly string[]
}

/** Optional per-run inputs of a stack. */
export interface StackOptions {
  /**
   * Image of the first ECS task definition revision / Cloud Run revision, used only when the
   * service is created; digest-pinned (`registry/repository@sha256:...`), like every image the
   * pipeline runs. Default: the stack's own default (see the root variables.tf).
   */
  initialImage?: string
}

/**
 * The --initial-image value as the stack's `initial_image` variable: a digest-pinned reference, or
 * an error naming the flag, the value and the fix. Checked while the stack is defined, i.e. before
 * any state bucket is probed or created.
 */
export function initialImageVariable(image: string): string {
  const fix = "pass the digest-pinned reference `publish` printed (it ends in @sha256:...), or leave --initial-image out for the stack's default"
  try {
    parseImageRef(image)
  } catch (err) {
    if (err instanceof ImageRefError) throw new ImageRefError(`--initial-image: ${err.message}; ${fix}`)
    throw err
  }
  return requireDigestRef(image, "--initial-image")
}

/** Every AWS name the staging stack uses, from staging.names.* and staging.terraform.*. */
export interface AwsNames {
  prefix: string
  cluster: string
  service: string
  taskFamily: string
  containerName: string
  ecrRepository: string
  stateBucket: string
  lockTable: string
  vpc: string
  publicSubnets: readonly [string, string]
  internetGateway: string
  publicRouteTable: string
  loadBalancer: string
  targetGroup: string
  albSecurityGroup: string
  taskSecurityGroup: string
  executionRole: string
  taskRole: string
  logGroup: string
  /** The service's deployment alarms (terraform/modules/aws-ecs-service/alarms.tf). */
  alarm5xxRate: string
  alarmLatency: string
}

/**
 * Names of the staging resources. The derived ones mirror terraform/aws/names.tf and the Name tags in
 * terraform/modules/aws-network; test/terraform/hcl.test.ts evaluates the HCL and compares.
 */
export function awsNames(settings: Settings): AwsNames {
  const n = settings.staging.names
  const p = n.prefix
  return {
    prefix: p,
    cluster: n.cluster,
    service: n.service,
    taskFamily: n.taskFamily,
    containerName: n.containerName,
    ecrRepository: n.ecrRepository,
    stateBucket: settings.staging.terraform.stateBucket,
    lockTable: settings.staging.terraform.lockTable,
    vpc: `${p}-vpc`,
    publicSubnets: [`${p}-public-0`, `${p}-public-1`],
    internetGateway: `${p}-igw`,
    publicRouteTable: `${p}-public`,
    loadBalancer: `${p}-alb`,
    targetGroup: `${p}-tg`,
    albSecurityGroup: `${p}-alb`,
    taskSecurityGroup: `${p}-task`,
    executionRole: `${p}-task-execution`,
    taskRole: `${p}-task`,
    logGroup: `/ecs/${p}`,
    alarm5xxRate: `${p}-5xx-rate`,
    alarmLatency: `${p}-p95-latency`,
  }
}

/** Every GCP name the production stack uses. */
export interface GcpNames {
  project: string
  region: string
  service: string
  artifactRepository: string
  stateBucket: string
  runtimeServiceAccountId: string
  runtimeServiceAccountEmail: string
}

/** Longest Cloud Run service name whose runtime service account ID (`<name>-run`) fits in 30 characters. */
export const MAX_PRODUCTION_SERVICE_NAME = 26

/** Names of the production resources; the derived ones mirror terraform/gcp/names.tf. */
export function gcpNames(settings: Settings): GcpNames {
  const { project, region } = settings.production.gcp
  const service = settings.production.names.service
  if (service.length > MAX_PRODUCTION_SERVICE_NAME) {
    throw new Error(
      `production.names.service '${service}' has ${service.length} characters; at most ${MAX_PRODUCTION_SERVICE_NAME} ` +
        `fit because the runtime service account ID '${service}-run' may have 30. Shorten it in ci/pipeline.yaml.`,
    )
  }
  const runtimeServiceAccountId = `${service}-run`
  return {
    project,
    region,
    service,
    artifactRepository: settings.production.names.artifactRepository,
    stateBucket: settings.production.terraform.stateBucket,
    runtimeServiceAccountId,
    runtimeServiceAccountEmail: `${runtimeServiceAccountId}@${project}.iam.gserviceaccount.com`,
  }
}

/** The staging stack (terraform/aws): adopts every name-unique resource it manages. */
export function awsStack(settings: Settings, options: StackOptions = {}): StackDefinition {
  const n = awsNames(settings)
  const endpoint = settings.staging.aws.endpointUrl
  const region = settings.staging.aws.region

  const variables: Record<string, TfValue> = {
    region,
    name_prefix: n.prefix,
    cluster_name: n.cluster,
    service_name: n.service,
    task_family: n.taskFamily,
    container_name: n.containerName,
    ecr_repository: n.ecrRepository,
    state_bucket: n.stateBucket,
    lock_table: n.lockTable,
    container_port: settings.app.port,
    health_check_path: settings.app.healthPath,
    s3_use_path_style: endpoint !== undefined,
  }
  if (options.initialImage !== undefined) variables.initial_image = initialImageVariable(options.initialImage)

  const backendConfig: Record<string, string> = {
    bucket: n.stateBucket,
    key: settings.staging.terraform.stateKey,
    region,
    dynamodb_table: n.lockTable,
  }
  // Emulators answer on an IP address, where virtual-host bucket URLs cannot resolve.
  if (endpoint) backendConfig.use_path_style = "true"

  const env: Record<string, string> = { AWS_REGION: region }
  // AWS_ENDPOINT_URL is honoured by the provider and the S3 backend alike: one code path for cloud and emulator.
  if (endpoint) env.AWS_ENDPOINT_URL = endpoint

  const sg = (address: string, groupName: string): ImportEntry => ({
    address,
    cloudId: `security group ${groupName} in VPC ${n.vpc}`,
    probe: { kind: "security-group", groupName, vpcNameTag: n.vpc },
  })

  const manifest: ImportEntry[] = [
    {
      address: "module.state_backend.aws_s3_bucket.state",
      cloudId: `S3 bucket ${n.stateBucket}`,
      probe: { kind: "s3-bucket", bucket: n.stateBucket },
    },
    {
      address: "module.state_backend.aws_dynamodb_table.lock",
      cloudId: `DynamoDB table ${n.lockTable}`,
      probe: { kind: "dynamodb-table", table: n.lockTable },
    },
    {
      address: "module.registry.aws_ecr_repository.this",
      cloudId: `ECR repository ${n.ecrRepository}`,
      probe: { kind: "ecr-repository", name: n.ecrRepository },
    },
    {
      address: "module.network.aws_vpc.this",
      cloudId: `VPC tagged Name=${n.vpc}`,
      probe: { kind: "vpc", nameTag: n.vpc },
    },
    ...n.publicSubnets.map(
      (tag, i): ImportEntry => ({
        address: `module.network.aws_subnet.public[${i}]`,
        cloudId: `subnet tagged Name=${tag}`,
        probe: { kind: "subnet", nameTag: tag },
      }),
    ),
    {
      address: "module.network.aws_internet_gateway.this",
      cloudId: `internet gateway tagged Name=${n.internetGateway}`,
      probe: { kind: "internet-gateway", nameTag: n.internetGateway },
    },
    {
      address: "module.network.aws_route_table.public",
      cloudId: `route table tagged Name=${n.publicRouteTable}`,
      probe: { kind: "route-table", nameTag: n.publicRouteTable },
    },
    ...n.publicSubnets.map(
      (tag, i): ImportEntry => ({
        address: `module.network.aws_route_table_association.public[${i}]`,
        cloudId: `association of subnet ${tag} with route table ${n.publicRouteTable}`,
        probe: { kind: "route-table-association", subnetNameTag: tag, routeTableNameTag: n.publicRouteTable },
      }),
    ),
    sg("module.service.aws_security_group.alb", n.albSecurityGroup),
    sg("module.service.aws_security_group.task", n.taskSecurityGroup),
    {
      address: "module.service.aws_lb.this",
      cloudId: `load balancer ${n.loadBalancer}`,
      probe: { kind: "load-balancer", name: n.loadBalancer },
    },
    {
      address: "module.service.aws_lb_target_group.this",
      cloudId: `target group ${n.targetGroup}`,
      probe: { kind: "target-group", name: n.targetGroup },
    },
    {
      address: "module.service.aws_lb_listener.http",
      cloudId: `port 80 listener of load balancer ${n.loadBalancer}`,
      probe: { kind: "listener", loadBalancerName: n.loadBalancer, port: 80 },
    },
    {
      address: "module.service.aws_cloudwatch_log_group.app",
      cloudId: `log group ${n.logGroup}`,
      probe: { kind: "log-group", name: n.logGroup },
    },
    ...(
      [
        ["module.service.aws_cloudwatch_metric_alarm.target_5xx_rate", n.alarm5xxRate],
        ["module.service.aws_cloudwatch_metric_alarm.target_response_time", n.alarmLatency],
      ] as const
    ).map(
      ([address, name]): ImportEntry => ({ address, cloudId: `CloudWatch alarm ${name}`, probe: { kind: "cloudwatch-alarm", name } }),
    ),
    {
      address: "module.service.aws_iam_role.execution",
      cloudId: `IAM role ${n.executionRole}`,
      probe: { kind: "iam-role", name: n.executionRole },
    },
    {
      address: "module.service.aws_iam_role.task",
      cloudId: `IAM role ${n.taskRole}`,
      probe: { kind: "iam-role", name: n.taskRole },
    },
    {
      address: "module.service.aws_ecs_cluster.this",
      cloudId: `ECS cluster ${n.cluster}`,
      probe: { kind: "ecs-cluster", name: n.cluster },
    },
    {
      address: "module.service.aws_ecs_service.this",
      cloudId: `ECS service ${n.service} in cluster ${n.cluster}`,
      probe: { kind: "ecs-service", cluster: n.cluster, service: n.service },
    },
  ]

  return { name: "aws", dir: "aws", variables, backendConfig, env, manifest, outputs: AWS_OUTPUTS }
}

/** The production stack (terraform/gcp). */
export function gcpStack(settings: Settings, options: StackOptions = {}): StackDefinition {
  const n = gcpNames(settings)
  const variables: Record<string, TfValue> = {
    project: n.project,
    region: n.region,
    service_name: n.service,
    artifact_repository: n.artifactRepository,
    state_bucket: n.stateBucket,
    container_port: settings.app.port,
    health_check_path: settings.app.healthPath,
  }
  if (options.initialImage !== undefined) variables.initial_image = initialImageVariable(options.initialImage)

  const manifest: ImportEntry[] = [
    {
      address: "module.state_backend.google_storage_bucket.state",
      cloudId: `GCS bucket ${n.stateBucket}`,
      probe: { kind: "gcs-bucket", bucket: n.stateBucket },
    },
    {
      address: "module.registry.google_artifact_registry_repository.this",
      cloudId: `Artifact Registry repository ${n.artifactRepository} in ${n.region}`,
      probe: { kind: "artifact-registry-repository", project: n.project, location: n.region, repository: n.artifactRepository },
    },
    {
      address: "module.service.google_service_account.runtime",
      cloudId: `service account ${n.runtimeServiceAccountEmail}`,
      probe: { kind: "service-account", project: n.project, email: n.runtimeServiceAccountEmail },
    },
    {
      address: "module.service.google_cloud_run_v2_service.this",
      cloudId: `Cloud Run service ${n.service} in ${n.region}`,
      probe: { kind: "cloud-run-service", project: n.project, location: n.region, service: n.service },
    },
  ]

  return {
    name: "gcp",
    dir: "gcp",
    variables,
    backendConfig: { bucket: n.stateBucket, prefix: settings.production.terraform.statePrefix },
    env: { GOOGLE_PROJECT: n.project, GOOGLE_REGION: n.region },
    manifest,
    outputs: GCP_OUTPUTS,
  }
}

/** `-backend-config=key=value` arguments for `terraform init`, in a stable order. */
export function backendConfigArgs(config: Record<string, string>): string[] {
  return Object.keys(config)
    .sort()
    .map((k) => `-backend-config=${k}=${config[k]}`)
}
