// Cost report: what each environment costs per month in its current state, and what stopping staging
// saves, from the dated price table in ci/pricing.yaml. `parsePricing` and `estimateMonthlyCost` are
// pure; `loadPricing` is the one-line adapter that reads the file from the source Directory.
//
// Deliberately an estimate of the *standing* cost (what the environment costs while nobody uses it):
// request-driven charges (Cloud Run active time and requests, data transfer, log ingestion) depend on
// traffic this pipeline cannot know, and free tiers are per billing account, so neither is included.
import { z } from "#zod"
import { describeValue, parseYamlFile, problemListMessage } from "../config/yaml.js"

/** Where the price table lives, relative to the repository root. */
export const PRICING_PATH = "ci/pricing.yaml"

const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date like 2026-11-25 (quote it in YAML)")
  .refine((d) => {
    const t = Date.parse(`${d}T00:00:00Z`)
    // Date.parse rolls 2026-02-30 over to March; a round trip catches that.
    return !Number.isNaN(t) && new Date(t).toISOString().startsWith(d)
  }, "is not a real calendar date")

const rate = z.strictObject({
  /** Price in USD per unit named by the key (e.g. vcpuHour = per vCPU-hour). */
  usd: z.number().positive("must be a positive price in USD").max(100, "is implausibly large for a unit price"),
  /** Where the figure came from (page and date), shown when someone doubts a number. */
  source: z.string().min(3, "must say where the figure came from"),
  /** True when the figure was not confirmed against the provider's own price. */
  estimate: z.boolean(),
})

export const PricingSchema = z.strictObject({
  asOf: isoDate,
  currency: z.literal("USD"),
  hoursPerMonth: z.number().min(672).max(744),
  staleAfterDays: z.number().int().min(1).max(3650),
  aws: z.strictObject({
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "must be an AWS region like us-west-1"),
    fargate: z.strictObject({ vcpuHour: rate, gbHour: rate }),
    alb: z.strictObject({ hour: rate, lcuHour: rate, assumedLcus: z.number().min(0).max(1000) }),
    publicIpv4Hour: rate,
  }),
  gcp: z.strictObject({
    region: z.string().regex(/^[a-z]+-[a-z]+\d$/, "must be a GCP region like us-west1"),
    cloudRun: z.strictObject({
      tier: z.union([z.literal(1), z.literal(2)]),
      requestBased: z.strictObject({ vcpuSecond: rate, gibSecond: rate, idleVcpuSecond: rate, idleGibSecond: rate }),
      instanceBased: z.strictObject({ vcpuSecond: rate, gibSecond: rate }),
    }),
  }),
})

export type Pricing = z.infer<typeof PricingSchema>
export type Rate = z.infer<typeof rate>

/** A price table that cannot be used; the message lists every problem and how to fix it. */
export class PricingError extends Error {
  override name = "PricingError"
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(
      problemListMessage(
        source,
        problems,
        `Fix ${source} (each rate needs usd, source and estimate; asOf is the date the figures were checked).`,
      ),
    )
  }
}

/** Parses and validates the price table. Throws PricingError naming each bad key, its value and the rule. */
export function parsePricing(text: string, source = PRICING_PATH): Pricing {
  return parseYamlFile(text, (data) => PricingSchema.safeParse(data), (problems) => new PricingError(source, problems))
}

/** Minimal view of a Dagger Directory, so tests can pass plain objects. */
export interface PricingSource {
  file(path: string): { contents(): Promise<string> }
}

/** Reads and validates ci/pricing.yaml from the repository source directory. */
export async function loadPricing(source: PricingSource): Promise<Pricing> {
  let text: string
  try {
    text = await source.file(PRICING_PATH).contents()
  } catch (err) {
    throw new PricingError(PRICING_PATH, [
      `could not be read (${(err as Error).message.split("\n")[0]}); it ships with the repository — restore it`,
    ])
  }
  return parsePricing(text)
}

/** The environments as they stand, in the units the clouds use. */
export interface CostInput {
  staging: {
    /** Tasks running now (0 once production has stopped staging). */
    desiredCount: number
    /** Tasks staging runs when it is up, for "what stopping saves". Default: desiredCount. */
    runningDesiredCount?: number
    /** vCPU per task: ECS CPU units / 1024 (256 units = 0.25). See vcpuFromEcsCpuUnits. */
    cpu: number
    /** Memory per task in MiB, as in the task definition. */
    memoryMiB: number
    /** Application load balancers in front of staging (they bill per hour whether or not tasks run). */
    albCount: number
    /** Public IPv4 addresses per task (1 with assign_public_ip, the module's setting). Default 1. */
    publicIpv4PerTask?: number
    /** Public IPv4 addresses per internet-facing ALB: one per zone, and an ALB needs two. Default 2. */
    publicIpv4PerAlb?: number
  }
  production: {
    /** Cloud Run minimum instances (kept warm, billed even without traffic). */
    minInstances: number
    /** vCPU per instance. See vcpuFromCloudRunCpu. */
    cpu: number
    /** Memory per instance in GiB. See gibFromCloudRunMemory. */
    memoryGiB: number
    /** Cloud Run billing setting; `request` is cpu_idle = true (the module's default). Default "request". */
    billing?: "request" | "instance"
  }
}

export interface CostLine {
  /** What is billed, e.g. "Fargate vCPU". */
  item: string
  /** The arithmetic in words, e.g. "1 task × 0.25 vCPU × 730 h × $0.04656". */
  detail: string
  monthlyUsd: number
  /** True when a rate or assumption behind this line is an estimate. */
  estimate: boolean
}

export interface EnvironmentCost {
  monthlyUsd: number
  lines: CostLine[]
}

export interface CostEstimate {
  /** The price table's date. */
  asOf: string
  currency: "USD"
  hoursPerMonth: number
  /** The report warns when asOf is older than this on the run's date. */
  staleAfterDays: number
  regions: { aws: string; gcp: string }
  staging: EnvironmentCost & { desiredCount: number }
  production: EnvironmentCost & { minInstances: number; billing: "request" | "instance" }
  totalMonthlyUsd: number
  stoppingStaging: {
    /** Monthly cost of staging's tasks at their running count: what scaling to 0 saves. */
    savesMonthlyUsd: number
    /** What staging still costs at desired count 0 (the ALB and its addresses keep billing). */
    remainingMonthlyUsd: number
    /** True when staging is already at desired count 0. */
    stoppedNow: boolean
    runningDesiredCount: number
  }
  /** What is not included, and which figures are estimates. */
  notes: string[]
}

function requireNumber(path: string, value: number | undefined, rule: { int?: boolean; min: number }): number {
  if (value === undefined || !Number.isFinite(value) || value < rule.min || (rule.int && !Number.isInteger(value))) {
    throw new Error(
      `cost input ${path} must be ${rule.int ? "an integer" : "a number"} ≥ ${rule.min}, got ${describeValue(value)}; ` +
        "pass the environment's real size (desired count, vCPU, memory) read from the cloud.",
    )
  }
  return value
}

const usd = (n: number) => `$${n}`
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : word.endsWith("s") ? "es" : "s"}`

/**
 * Estimated monthly standing cost of each environment in its current state, and what stopping
 * staging saves. Pure: the same input and price table always give the same estimate.
 */
export function estimateMonthlyCost(input: CostInput, pricing: Pricing): CostEstimate {
  const s = input.staging
  const p = input.production
  const desiredCount = requireNumber("staging.desiredCount", s.desiredCount, { int: true, min: 0 })
  const runningDesiredCount = requireNumber("staging.runningDesiredCount", s.runningDesiredCount ?? desiredCount, {
    int: true,
    min: 0,
  })
  const cpu = requireNumber("staging.cpu", s.cpu, { min: 0 })
  const memoryMiB = requireNumber("staging.memoryMiB", s.memoryMiB, { min: 0 })
  const albCount = requireNumber("staging.albCount", s.albCount, { int: true, min: 0 })
  const ipPerTask = requireNumber("staging.publicIpv4PerTask", s.publicIpv4PerTask ?? 1, { int: true, min: 0 })
  const ipPerAlb = requireNumber("staging.publicIpv4PerAlb", s.publicIpv4PerAlb ?? 2, { int: true, min: 0 })
  const minInstances = requireNumber("production.minInstances", p.minInstances, { int: true, min: 0 })
  const prodCpu = requireNumber("production.cpu", p.cpu, { min: 0 })
  const prodMemory = requireNumber("production.memoryGiB", p.memoryGiB, { min: 0 })
  const billing = p.billing ?? "request"

  const h = pricing.hoursPerMonth
  const aws = pricing.aws
  const memoryGb = memoryMiB / 1024

  // Per running task, so the same numbers serve "now" and "what stopping saves".
  const taskLines = (count: number): CostLine[] => [
    {
      item: "Fargate vCPU",
      detail: `${plural(count, "task")} × ${cpu} vCPU × ${h} h × ${usd(aws.fargate.vcpuHour.usd)}/vCPU-h`,
      monthlyUsd: count * cpu * h * aws.fargate.vcpuHour.usd,
      estimate: aws.fargate.vcpuHour.estimate,
    },
    {
      item: "Fargate memory",
      detail: `${plural(count, "task")} × ${memoryGb} GB × ${h} h × ${usd(aws.fargate.gbHour.usd)}/GB-h`,
      monthlyUsd: count * memoryGb * h * aws.fargate.gbHour.usd,
      estimate: aws.fargate.gbHour.estimate,
    },
    {
      item: "Task public IPv4",
      detail: `${plural(count * ipPerTask, "address")} × ${h} h × ${usd(aws.publicIpv4Hour.usd)}/h`,
      monthlyUsd: count * ipPerTask * h * aws.publicIpv4Hour.usd,
      estimate: aws.publicIpv4Hour.estimate,
    },
  ]
  const albLines: CostLine[] = [
    {
      item: "ALB hours",
      detail: `${plural(albCount, "ALB")} × ${h} h × ${usd(aws.alb.hour.usd)}/h`,
      monthlyUsd: albCount * h * aws.alb.hour.usd,
      estimate: aws.alb.hour.estimate,
    },
    {
      item: "ALB capacity (LCU)",
      detail: `${plural(albCount, "ALB")} × ${aws.alb.assumedLcus} LCU (assumed) × ${h} h × ${usd(aws.alb.lcuHour.usd)}/LCU-h`,
      monthlyUsd: albCount * aws.alb.assumedLcus * h * aws.alb.lcuHour.usd,
      // The LCU count is an assumption about traffic, so this line is an estimate whatever the rate.
      estimate: true,
    },
    {
      item: "ALB public IPv4",
      detail: `${plural(albCount * ipPerAlb, "address")} × ${h} h × ${usd(aws.publicIpv4Hour.usd)}/h`,
      monthlyUsd: albCount * ipPerAlb * h * aws.publicIpv4Hour.usd,
      estimate: aws.publicIpv4Hour.estimate,
    },
  ]
  const sum = (lines: CostLine[]) => lines.reduce((t, l) => t + l.monthlyUsd, 0)
  const stagingLines = [...taskLines(desiredCount), ...albLines].filter((l) => l.monthlyUsd > 0)

  const cr = pricing.gcp.cloudRun
  const seconds = h * 3600
  const secondsText = seconds.toLocaleString("en-US")
  const cpuRate = billing === "request" ? cr.requestBased.idleVcpuSecond : cr.instanceBased.vcpuSecond
  const memRate = billing === "request" ? cr.requestBased.idleGibSecond : cr.instanceBased.gibSecond
  const kind = billing === "request" ? "idle " : ""
  const productionLines: CostLine[] = [
    {
      item: "Cloud Run min-instance vCPU",
      detail: `${plural(minInstances, "instance")} × ${prodCpu} vCPU × ${secondsText} s × ${usd(cpuRate.usd)}/${kind}vCPU-s`,
      monthlyUsd: minInstances * prodCpu * seconds * cpuRate.usd,
      estimate: cpuRate.estimate,
    },
    {
      item: "Cloud Run min-instance memory",
      detail: `${plural(minInstances, "instance")} × ${prodMemory} GiB × ${secondsText} s × ${usd(memRate.usd)}/${kind}GiB-s`,
      monthlyUsd: minInstances * prodMemory * seconds * memRate.usd,
      estimate: memRate.estimate,
    },
  ].filter((l) => l.monthlyUsd > 0)

  const stagingMonthly = sum(stagingLines)
  const productionMonthly = sum(productionLines)
  const notes = [
    "Standing cost only: Cloud Run request time and requests, data transfer and log ingestion depend on traffic and are not included.",
    "List prices before free tiers, credits and discounts.",
  ]
  if (albCount > 0) {
    notes.push(
      "At desired count 0 staging still pays for its load balancer (hours, capacity and public IPv4 addresses); only destroying it with Terraform removes that.",
    )
  }
  if (minInstances === 0) {
    notes.push("Production has no minimum instances, so it costs nothing while idle (first requests see a cold start).")
  }
  const estimated = [...stagingLines, ...productionLines].filter((l) => l.estimate).map((l) => l.item)
  if (estimated.length > 0) notes.push(`Estimated figures (not confirmed against the provider's price): ${estimated.join(", ")}.`)

  return {
    asOf: pricing.asOf,
    currency: "USD",
    hoursPerMonth: h,
    staleAfterDays: pricing.staleAfterDays,
    regions: { aws: aws.region, gcp: pricing.gcp.region },
    staging: { desiredCount, monthlyUsd: stagingMonthly, lines: stagingLines },
    production: { minInstances, billing, monthlyUsd: productionMonthly, lines: productionLines },
    totalMonthlyUsd: stagingMonthly + productionMonthly,
    stoppingStaging: {
      savesMonthlyUsd: sum(taskLines(runningDesiredCount)),
      remainingMonthlyUsd: sum(albLines),
      stoppedNow: desiredCount === 0,
      runningDesiredCount,
    },
    notes,
  }
}

/** Days from the table's asOf date to `on` (negative when the table claims a future date). */
export function pricingAgeDays(asOf: string, on: Date): number {
  return Math.floor((on.getTime() - Date.parse(`${asOf}T00:00:00Z`)) / 86_400_000)
}

/** ECS task CPU units ("256", 1024) → vCPU (0.25, 1). */
export function vcpuFromEcsCpuUnits(units: string | number): number {
  const n = typeof units === "number" ? units : Number(units.trim())
  if (!Number.isFinite(n) || n <= 0) {
    throw new Error(`ECS task CPU must be a positive number of CPU units like "256", got ${describeValue(units)}`)
  }
  return n / 1024
}

/** Cloud Run CPU limit ("1", "2", "1000m") → vCPU. */
export function vcpuFromCloudRunCpu(limit: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)(m?)\s*$/.exec(limit)
  if (!m) throw new Error(`Cloud Run CPU limit must look like "1" or "500m", got ${describeValue(limit)}`)
  return m[2] === "m" ? Number(m[1]) / 1000 : Number(m[1])
}

const MEMORY_UNITS: Record<string, number> = {
  Ki: 1 / 1024 ** 2,
  Mi: 1 / 1024,
  Gi: 1,
  K: 1e3 / 1024 ** 3,
  M: 1e6 / 1024 ** 3,
  G: 1e9 / 1024 ** 3,
}

/** Cloud Run memory limit ("512Mi", "1Gi", "2G") → GiB. */
export function gibFromCloudRunMemory(limit: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)(Ki|Mi|Gi|K|M|G)\s*$/.exec(limit)
  if (!m) throw new Error(`Cloud Run memory limit must look like "512Mi" or "1Gi", got ${describeValue(limit)}`)
  return Number(m[1]) * MEMORY_UNITS[m[2]!]!
}
