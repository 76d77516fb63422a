// Terraform plan and apply, the imperative shell. One run of `plan`:
//   0. define the stack from the settings (this checks --initial-image before any cloud call),
//   1. bootstrap the stack's state backend if missing (SDK/REST calls in this process, backend.ts),
//   2. `terraform init` in the pinned image (plugin cache volume, credentials as secret variables),
//   3. `terraform state list`, probe the cloud for manifest entries not in state, write imports.tf,
//   4. `terraform plan -out`, then show it as text and as JSON.
// `apply` applies exactly that saved plan file, after the destroy guard has read the plan's JSON, and
// reads the stack's outputs typed. Every decision (names, imports, the guard) is a pure function in
// stacks.ts, outputs.ts, import.ts and guard.ts.
import { Container, Directory, File, ReturnType, func, object } from "@dagger.io/dagger"
import { awsCredentials, requireAwsSecrets, requireGcpSecrets } from "../config/credentials.js"
import type { AwsSecrets, GcpSecrets } from "../config/credentials.js"
import type { Secret } from "@dagger.io/dagger"
import type { Settings } from "../config/settings.js"
import { explainExecError } from "../shared/tool-errors.js"
import { guardDestroy, reviewPlan } from "./guard.js"
import {
  IMPORTS_FILE,
  entriesToProbe,
  parseStateList,
  planImports,
  renderImportBlocks,
  type ImportEntry,
  type ProbeResult,
} from "./import.js"
import { bootstrapAwsBackend, bootstrapGcsBackend } from "./backend.js"
import { CACHE_BUSTER_ENV, TFVARS_FILE, terraformContainer } from "./container.js"
import { probeAws } from "./probes/aws.js"
import { gcpAccessToken, probeGcp, type GcpEndpoints } from "./probes/gcp.js"
import { outputValues, parseAwsOutputs, parseGcpOutputs } from "./outputs.js"
import { awsNames, awsStack, backendConfigArgs, gcpNames, gcpStack } from "./stacks.js"
import type { StackDefinition, StackOptions } from "./stacks.js"

/** The two Terraform root modules. */
export enum Stack {
  /** terraform/aws: staging on ECS Fargate behind an ALB; state in S3, locked with DynamoDB. Needs AWS credentials only. */
  AWS = "AWS",
  /** terraform/gcp: production on Cloud Run; state in GCS. Needs GCP credentials only. */
  GCP = "GCP",
}

/** The saved plan that apply applies. */
export const PLAN_FILE = "tfplan"
export const PLAN_JSON_FILE = "tfplan.json"
/** How long Terraform waits for another run's state lock before failing. */
export const DEFAULT_LOCK_TIMEOUT = "5m"

/** The credentials a stack's run uses: only its own cloud's. */
export type StackCredentials = { stack: Stack.AWS; aws: AwsSecrets } | { stack: Stack.GCP; gcp: GcpSecrets }

/** Picks and checks the credentials a stack needs before anything runs; the other cloud's are not used. */
export function stackCredentials(
  stack: Stack,
  given: {
    awsAccessKeyId?: Secret
    awsSecretAccessKey?: Secret
    awsSessionToken?: Secret
    gcpCredentials?: Secret
    gcpAccessToken?: Secret
  },
): StackCredentials {
  if (stack === Stack.AWS) {
    return { stack, aws: requireAwsSecrets(given) }
  }
  return { stack, gcp: requireGcpSecrets(given.gcpCredentials, given.gcpAccessToken) }
}

/** The cloud side of a run, in this process: backend bootstrap and existence probes. */
export interface CloudAdapter {
  /** Creates the state backend when missing; returns what it created (for the summary). */
  bootstrap(): Promise<string[]>
  probe(entries: readonly ImportEntry[]): Promise<ReadonlyMap<string, ProbeResult>>
}

/**
 * The adapter for a stack from its settings and credentials; SDKs load lazily inside. AWS calls go to
 * staging.aws.endpointUrl when set; Google calls to `overrides.gcpEndpoints`, else to
 * production.gcp.cloudRunEndpoint when set (tests), else to Google.
 */
export function cloudAdapter(
  settings: Settings,
  credentials: StackCredentials,
  overrides: { gcpEndpoints?: Partial<GcpEndpoints> } = {},
): CloudAdapter {
  if (credentials.stack === Stack.AWS) {
    const n = awsNames(settings)
    const target = async () => ({
      region: settings.staging.aws.region,
      endpoint: settings.staging.aws.endpointUrl,
      credentials: await awsCredentials(credentials.aws),
    })
    return {
      async bootstrap() {
        return (await bootstrapAwsBackend(await target(), { bucket: n.stateBucket, lockTable: n.lockTable })).created
      },
      async probe(entries) {
        return probeAws(entries, await target())
      },
    }
  }
  const n = gcpNames(settings)
  // A local Cloud Run endpoint (tests only, from ci/pipeline.yaml) stands in for every Google API.
  const local = settings.production.gcp.cloudRunEndpoint
  const endpoints =
    overrides.gcpEndpoints ?? (local ? { storage: local, run: local, artifactRegistry: local, iam: local } : undefined)
  let token: Promise<string> | undefined
  const target = async () => {
    token ??= gcpAccessToken(credentials.gcp)
    return { accessToken: await token, endpoints }
  }
  return {
    async bootstrap() {
      const r = await bootstrapGcsBackend(await target(), { project: n.project, bucket: n.stateBucket, location: n.region })
      return r.created ? [`GCS bucket ${n.stateBucket}`] : []
    },
    async probe(entries) {
      return probeGcp(entries, await target())
    },
  }
}

/** Everything one plan needs. */
export interface PlanInput {
  /** The repository root (terraform/ is read from it). */
  source: Directory
  settings: Settings
  credentials: StackCredentials
  cloud: CloudAdapter
  /** Per-run stack inputs (initial image). Default: none. */
  options?: StackOptions
  /** -lock-timeout of every Terraform command. Default DEFAULT_LOCK_TIMEOUT (5m). */
  lockTimeout?: string
  /** The run's clock: the cache-buster value. */
  now: Date
  /**
   * Credentials that may only read state and describe resources (pull-request plans): no backend
   * bootstrap, no state lock. Default: false.
   */
  readOnly?: boolean
}

export function stackDefinition(stack: Stack, settings: Settings, options: StackOptions = {}): StackDefinition {
  return stack === Stack.AWS ? awsStack(settings, options) : gcpStack(settings, options)
}

function fixFor(stack: Stack): string {
  const cloud = stack === Stack.AWS ? "AWS" : "GCP"
  return (
    `Check the ${cloud} credentials and ci/pipeline.yaml, fix what Terraform names above, and run ` +
    `\`dagger call plan --stack=${stack}\` again.`
  )
}

/** A saved Terraform plan of one stack, ready to apply exactly as planned. */
@object()
export class TerraformPlan {
  /** Which stack was planned. */
  @func()
  stack: Stack = Stack.AWS

  /** One line: "2 to import, 3 to add, 1 to change, 0 to replace, 0 to destroy". */
  @func()
  changes: string = ""

  /** The plan as Terraform shows it (`terraform show` of the saved plan). */
  @func()
  summary: string = ""

  /** Addresses adopted by this plan (they existed in the cloud but not in state). */
  @func()
  imported: string[] = []

  /** State backend resources this run created before init (empty when they existed). */
  @func()
  bootstrapped: string[] = []

  /** Every address the plan destroys or replaces. */
  @func()
  destroys: string[] = []

  /** The stateful ones among them, with why they matter; apply refuses these without --allow-destroy. */
  @func()
  statefulDestroys: string[] = []

  /** The running service and what it stands on among them, with why they matter; apply refuses these without --allow-destroy. */
  @func()
  serviceDestroys: string[] = []

  /** The plan in Terraform's JSON format (`terraform show -json`). */
  @func()
  json!: File

  /** The saved plan file itself (binary, as `terraform plan -out` wrote it). */
  @func()
  planFile!: File

  /** The initialised working directory holding the plan, with credentials attached (not exposed). */
  workdir!: Container

  /** -lock-timeout for apply (not exposed). */
  lockTimeout: string = DEFAULT_LOCK_TIMEOUT

  /**
   * Applies exactly this saved plan (Terraform refuses it if state changed since). Refuses first, and
   * says why, when the plan destroys or replaces a stateful resource (a state bucket, the lock table,
   * an image registry) or the running service and what it stands on (ECS service and cluster, load
   * balancer, listener, target group, Cloud Run service) unless --allow-destroy is given.
   *
   * @param allowDestroy Apply even if the plan destroys stateful resources or the running service. Default: false.
   */
  @func({ cache: "never" })
  async apply(allowDestroy = false): Promise<TerraformApply> {
    return applyPlan(this, { allowDestroy, now: new Date() })
  }
}

/** The result of applying a plan: what changed and the stack's outputs. */
@object()
export class TerraformApply {
  /** Which stack was applied. */
  @func()
  stack: Stack = Stack.AWS

  /** One line of what the applied plan changed. */
  @func()
  changes: string = ""

  /** Terraform's apply log. */
  @func()
  log: string = ""

  /** The stack's outputs as a JSON object (name → value; sensitive outputs left out). */
  @func()
  outputs: string = "{}"

  /** Public URL of the service (the service_url output). */
  @func()
  serviceUrl: string = ""
}

/** `terraform init` of a stack in the pinned image, credentials attached; throws explaining a failed init. */
export async function initStack(input: Omit<PlanInput, "cloud" | "options"> & { def: StackDefinition }): Promise<Container> {
  const lockTimeout = input.lockTimeout ?? DEFAULT_LOCK_TIMEOUT
  const initialized = terraformContainer({
    source: input.source,
    image: input.settings.images.terraform,
    def: input.def,
    credentials: input.credentials,
    now: input.now,
  }).withExec(["terraform", "init", "-input=false", "-no-color", `-lock-timeout=${lockTimeout}`, ...backendConfigArgs(input.def.backendConfig)])
  try {
    await initialized.sync()
  } catch (err) {
    explainExecError(err, `terraform init (terraform/${input.def.dir})`, fixFor(input.credentials.stack))
  }
  return initialized
}

/** Runs plan for a stack; see the file comment for the steps. */
export async function planStack(input: PlanInput): Promise<TerraformPlan> {
  const stack = input.credentials.stack
  const def = stackDefinition(stack, input.settings, input.options)
  const lockTimeout = input.lockTimeout ?? DEFAULT_LOCK_TIMEOUT
  const step = (what: string) => `terraform ${what} (terraform/${def.dir})`

  // The backend must exist before init; the bootstrap is idempotent and race-safe. A read-only run
  // may not create it: init then fails naming the missing backend.
  const bootstrapped = input.readOnly ? [] : await input.cloud.bootstrap()
  const initialized = await initStack({ ...input, def })

  const listing = initialized.withExec(["terraform", "state", "list"], { expect: ReturnType.Any })
  const [exitCode, stdout, stderr] = await Promise.all([listing.exitCode(), listing.stdout(), listing.stderr()])
  const inState = parseStateList({ exitCode, stdout, stderr })

  const toProbe = entriesToProbe(inState, def.manifest)
  const probes = toProbe.length > 0 ? await input.cloud.probe(toProbe) : new Map<string, ProbeResult>()
  const imports = planImports(inState, def.manifest, probes)
  const importsTf = renderImportBlocks(imports.imports)

  const planned = (importsTf ? initialized.withNewFile(IMPORTS_FILE, importsTf) : initialized).withExec([
    "terraform",
    "plan",
    "-input=false",
    "-no-color",
    // Taking the state lock writes to the lock table, which read-only credentials may not do.
    ...(input.readOnly ? ["-lock=false"] : [`-lock-timeout=${lockTimeout}`]),
    `-var-file=${TFVARS_FILE}`,
    `-out=${PLAN_FILE}`,
  ])
  try {
    await planned.sync()
  } catch (err) {
    explainExecError(err, step("plan"), fixFor(stack))
  }

  const shown = planned.withExec(["terraform", "show", "-json", PLAN_FILE], { redirectStdout: PLAN_JSON_FILE })
  const json = shown.file(PLAN_JSON_FILE)
  let summary: string
  let planJson: unknown
  try {
    const [text, jsonText] = await Promise.all([
      planned.withExec(["terraform", "show", "-no-color", PLAN_FILE]).stdout(),
      json.contents(),
    ])
    summary = text
    planJson = JSON.parse(jsonText)
  } catch (err) {
    explainExecError(err, step("show"), fixFor(stack))
  }
  const review = reviewPlan(planJson)

  return Object.assign(new TerraformPlan(), {
    stack,
    changes: review.line,
    summary,
    imported: imports.imports.map((i) => i.address),
    bootstrapped,
    destroys: review.destroys.map((d) => `${d.address} (${d.kind})`),
    statefulDestroys: review.statefulDestroys.map((d) => `${d.address} (${d.kind}): ${d.why}`),
    serviceDestroys: review.serviceDestroys.map((d) => `${d.address} (${d.kind}): ${d.why}`),
    json,
    planFile: planned.file(PLAN_FILE),
    workdir: planned,
    lockTimeout,
  })
}

/** Applies a saved plan after the destroy guard; returns the outputs, every one the pipeline reads checked. */
export async function applyPlan(
  plan: TerraformPlan,
  options: { allowDestroy: boolean; now: Date },
): Promise<TerraformApply> {
  // The guard reads the plan file's JSON, not the object's fields: what is applied is what is checked.
  const review = reviewPlan(JSON.parse(await plan.json.contents()))
  guardDestroy(plan.stack, review, options.allowDestroy)

  const applied = plan.workdir
    .withEnvVariable(CACHE_BUSTER_ENV, options.now.toISOString())
    .withExec(["terraform", "apply", "-input=false", "-no-color", `-lock-timeout=${plan.lockTimeout}`, PLAN_FILE])
  let log: string
  let outputJson: string
  try {
    log = await applied.stdout()
    outputJson = await applied.withExec(["terraform", "output", "-no-color", "-json"]).stdout()
  } catch (err) {
    explainExecError(
      err,
      `terraform apply (${plan.stack})`,
      "Read Terraform's error above; state keeps what was applied. Fix the cause and run plan and apply again.",
    )
  }
  const outputs = outputValues(outputJson)
  const read = plan.stack === Stack.AWS ? parseAwsOutputs(outputs) : parseGcpOutputs(outputs)
  return Object.assign(new TerraformApply(), {
    stack: plan.stack,
    changes: review.line,
    log,
    outputs: JSON.stringify(outputs),
    serviceUrl: read.service_url,
  })
}
