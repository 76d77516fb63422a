// Pipeline settings: ci/pipeline.yaml, validated before anything touches a container or a cloud.
// `parseSettings` is pure (text in, typed settings or a SettingsError out) so every rule is testable
// without Dagger; `loadSettings` is the one-line adapter that reads the file from the source Directory.
import { z } from "#zod"
import { parseYamlFile, problemListMessage } from "./yaml.js"
import { budgetContradictions } from "./budgets.js"
import { CANARY_STEPS_RULE, canaryStepProblems } from "../deploy/canary.js"
import { HealthLimitsSchema, HealthPathSchema } from "../health/inputs.js"
import { NotifyMode } from "../notify/mode.js"
import { ScanSeverity } from "../supply-chain/scan/severity.js"
import { referenceProblem, toolImageProblem } from "../supply-chain/image-ref.js"

/** Where the settings file lives, relative to the repository root. */
export const SETTINGS_PATH = "ci/pipeline.yaml"

const name = (what: string, max = 63) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, `${what} must be lower-case letters, digits and '-'`)

// Tool images: any valid reference (a private mirror's host:port too), pinned to a version tag or a digest.
const image = z.string().superRefine((ref, ctx) => {
  const problem = toolImageProblem(ref)
  if (problem) ctx.addIssue({ code: "custom", message: problem })
})

// Trivy's DB and checks-bundle repositories: valid references, tried in order, each once.
const repositories = z
  .array(
    z.string().superRefine((ref, ctx) => {
      const problem = referenceProblem(ref)
      if (problem) ctx.addIssue({ code: "custom", message: problem })
    }),
  )
  .min(1, "must list at least one repository, tried in order")
  .refine((refs) => new Set(refs).size === refs.length, { message: "must not list a repository twice" })

const httpUrl = z.url({ protocol: /^https?$/ })

// What an image nobody signed (no --signing-key, no OIDC token) meets before its rollout.
const signingPolicy = z.enum(["block", "warn"], {
  error: () => "must be block (an unsigned image is refused before the service changes) or warn (deployed, with a warning)",
})
// The workflow file and ref a keyless signature's certificate names (GitHub's job_workflow_ref).
const workflowRef = z
  .string()
  .regex(/^\.github\/workflows\/[A-Za-z0-9_.-]+\.ya?ml@refs\/(heads|tags)\/[^\s]+$/, "must be .github/workflows/<file>.yml@refs/heads/<branch>")

const canarySteps = z.array(z.number()).superRefine((steps, ctx) => {
  const problems = canaryStepProblems(steps)
  if (problems.length > 0) ctx.addIssue({ code: "custom", message: `${problems.join("; ")}; give ${CANARY_STEPS_RULE}` })
})

/** The steps with their own time budget in timeouts.stepMinutes; a step without an entry gets runMinutes. */
export const STEP_KEYS = ["build", "test", "scan", "publish", "terraform", "rollout", "health", "rollback", "notify"] as const
export type StepKey = (typeof STEP_KEYS)[number]

const stepKey = z.enum(STEP_KEYS, { error: () => `the steps are ${STEP_KEYS.join(", ")}` })

// --- analysis: the canary's traffic analysis (deploy/production.ts, analysis/) ---
const count = (min: number, max: number, unit = "") => {
  const rule = `must be an integer from ${min} to ${max}${unit ? ` ${unit}` : ""}`
  return z.number(rule).int(rule).min(min, rule).max(max, rule)
}
const between = (min: number, max: number, what: string) => {
  const rule = `must be ${what} from ${min} to ${max}`
  return z.number(rule).min(min, rule).max(max, rule)
}

const AnalysisFields = z.strictObject({
  /** Requests per burst; the upper bound keeps a typo from load-testing production. */
  requests: count(1, 5000),
  /** The first requests of a burst warm a cold revision up: their errors count, their latency does not. */
  warmupRequests: count(0, 1000),
  concurrency: count(1, 64),
  paths: z.array(HealthPathSchema).min(1, "must list at least one path, e.g. [/, /health]").max(20, "must list at most 20 paths"),
  requestTimeoutMs: count(100, 60_000, "ms"),
  /** Wall time of one burst. */
  budgetSeconds: count(1, 600, "s"),
  thresholds: z.strictObject({
    maxErrorRate: between(0, 1, "a fraction (0.01 = 1 %)"),
    maxP95Ratio: between(1, 100, "a ratio"),
    p95SlackMs: between(0, 60_000, "a number of ms"),
  }),
  /** Cloud Run's own request metrics for the candidate revision (gcp/served-traffic.ts). */
  servedTraffic: z.strictObject({ enabled: z.boolean("must be true or false").default(true) }).prefault({}),
})

const AnalysisSchema = AnalysisFields.superRefine((a, ctx) => {
  // A value that broke its own rule is reported once, by that rule, not again as a contradiction.
  const valid = (key: "requests" | "warmupRequests" | "budgetSeconds" | "requestTimeoutMs") => AnalysisFields.shape[key].safeParse(a[key]).success
  if (valid("requests") && valid("warmupRequests") && a.warmupRequests >= a.requests) {
    ctx.addIssue({
      code: "custom",
      path: ["warmupRequests"],
      params: { valuesInMessage: true },
      message:
        `analysis.warmupRequests (${a.warmupRequests}) is not below analysis.requests (${a.requests}): no request would be left ` +
        "to measure latency with. Lower the first or raise the second.",
    })
  }
  if (valid("budgetSeconds") && valid("requestTimeoutMs") && a.budgetSeconds * 1000 < a.requestTimeoutMs) {
    ctx.addIssue({
      code: "custom",
      path: ["budgetSeconds"],
      params: { valuesInMessage: true },
      message:
        `analysis.budgetSeconds (${a.budgetSeconds} s) is shorter than analysis.requestTimeoutMs (${a.requestTimeoutMs} ms): ` +
        "a burst starts a request only while its whole timeout fits in the budget, so none would be sent. " +
        "Lengthen the first or shorten the second.",
    })
  }
})

const SettingsFields = z.strictObject({
  app: z.strictObject({
    name: name("app.name", 30),
    port: z.number().int().min(1).max(65535),
    healthPath: HealthPathSchema,
  }),
  images: z.strictObject({ node: image, trivy: image, terraform: image, checkov: image, cosign: image }),
  scan: z.strictObject({
    severities: z.array(z.enum(ScanSeverity)).min(1),
    ignoreUnfixed: z.boolean(),
    ignoreFile: z.string().min(1),
    dbRepositories: repositories,
    checksBundleRepositories: repositories,
  }),
  staging: z.strictObject({
    aws: z.strictObject({
      region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "must be an AWS region like us-west-1"),
      /** Only for emulators (moto/localstack); real runs leave it out. */
      endpointUrl: httpUrl.optional(),
    }),
    names: z.strictObject({
      /** Prefix of the names Terraform derives (VPC, ALB, target group, roles, log group); ≤ 20 so they fit AWS limits. */
      prefix: name("staging.names.prefix", 20),
      cluster: name("staging.names.cluster", 255),
      service: name("staging.names.service", 255),
      taskFamily: name("staging.names.taskFamily", 255),
      ecrRepository: name("staging.names.ecrRepository", 256),
      containerName: name("staging.names.containerName", 255),
    }),
    terraform: z.strictObject({
      stateBucket: name("staging.terraform.stateBucket", 63),
      stateKey: z.string().min(1),
      lockTable: z.string().regex(/^[A-Za-z0-9_.-]{3,255}$/, "must be a DynamoDB table name"),
    }),
    desiredCount: z.number().int().min(0).max(10),
    rollout: z.strictObject({
      timeoutSeconds: z.number().int().min(10).max(3600),
      pollIntervalSeconds: z.number().min(0.1).max(30),
    }),
    health: HealthLimitsSchema,
  }),
  production: z.strictObject({
    gcp: z.strictObject({
      project: z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, "must be a GCP project ID"),
      region: z.string().regex(/^[a-z]+-[a-z]+\d$/, "must be a GCP region like us-west1"),
      /** Only for the local Cloud Run fake in tests; real runs leave it out. */
      cloudRunEndpoint: httpUrl.optional(),
    }),
    names: z.strictObject({
      service: name("production.names.service", 49),
      artifactRepository: name("production.names.artifactRepository", 63),
    }),
    terraform: z.strictObject({
      stateBucket: name("production.terraform.stateBucket", 63),
      statePrefix: z.string().min(1),
    }),
    canary: z.strictObject({
      tag: name("production.canary.tag", 46),
      steps: canarySteps,
      pauseSeconds: z.number().min(0).max(3600),
    }),
    health: HealthLimitsSchema,
  }),
  analysis: AnalysisSchema,
  signing: z.strictObject({
    staging: signingPolicy,
    production: signingPolicy,
    identity: z.strictObject({
      /** The GitHub repository whose workflows sign keyless (OWNER/REPO). */
      repository: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, "must be the GitHub repository as OWNER/REPO"),
      workflows: z.strictObject({ staging: workflowRef, production: workflowRef }),
      /** The public key --signing-key signatures must verify against, relative to ci/; absent = key signing is refused. */
      publicKey: z
        .string()
        .regex(/^[^/\s][^\s]*$/, "must be a file path relative to ci/, e.g. cosign.pub")
        .refine((path) => !path.split("/").includes(".."), { message: "must stay inside ci/ (no '..')" })
        .optional(),
    }),
    /** How cosign reaches the registry: https, or http only for a local test registry. Default https. */
    registryScheme: z.enum(["https", "http"]).optional(),
  }),
  notifications: z.strictObject({ mode: z.enum(NotifyMode) }),
  timeouts: z.strictObject({
    runMinutes: z.number().min(1).max(360),
    stepMinutes: z.partialRecord(stepKey, z.number().min(0.1).max(360)),
  }),
})

export type Settings = z.infer<typeof SettingsFields>

/** The settings' schema: every key's own rule, then the time budgets that must fit inside one another. */
export const SettingsSchema = SettingsFields.superRefine((settings, ctx) => {
  for (const { path, message } of budgetContradictions(settings)) {
    ctx.addIssue({ code: "custom", path, message, params: { valuesInMessage: true } })
  }
})

/** A settings file that cannot be used; the message lists every problem and how to fix it. */
export class SettingsError extends Error {
  override name = "SettingsError"
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(problemListMessage(source, problems, `Fix ${source} and run again; nothing was built or deployed.`))
  }
}

/** Parses and validates settings text. Throws SettingsError naming each bad key, its value and the rule. */
export function parseSettings(text: string, source = SETTINGS_PATH): Settings {
  return parseYamlFile(text, (data) => SettingsSchema.safeParse(data), (problems) => new SettingsError(source, problems))
}

/** Timeout of a step in milliseconds, falling back to the run timeout when not set. */
export function stepTimeoutMs(settings: Settings, step: StepKey): number {
  const minutes = settings.timeouts.stepMinutes[step] ?? settings.timeouts.runMinutes
  return Math.round(minutes * 60_000)
}

/** Minimal view of a Dagger Directory, so tests can pass plain objects. */
export interface SettingsSource {
  file(path: string): { contents(): Promise<string> }
}

/** Reads and validates ci/pipeline.yaml from the repository source directory. */
export async function loadSettings(source: SettingsSource): Promise<Settings> {
  let text: string
  try {
    text = await source.file(SETTINGS_PATH).contents()
  } catch (err) {
    throw new SettingsError(SETTINGS_PATH, [
      `could not be read (${(err as Error).message.split("\n")[0]}); run from the repository root or pass --source`,
    ])
  }
  return parseSettings(text)
}
