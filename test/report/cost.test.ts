import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import {
  estimateMonthlyCost,
  gibFromCloudRunMemory,
  loadPricing,
  parsePricing,
  PricingError,
  pricingAgeDays,
  vcpuFromCloudRunCpu,
  vcpuFromEcsCpuUnits,
  type CostInput,
  type Pricing,
} from "../../dagger/src/report/cost.js"
import { repoRoot } from "../tools/paths.js"
import type { Directory } from "@dagger.io/dagger"
import type { PricingSource } from "../../dagger/src/report/cost.js"

// Checked by tsc: loadPricing takes the module's source Directory as it is.
export const directoryFits = (d: Directory): PricingSource => d

const committed = readFileSync(join(repoRoot, "ci/pricing.yaml"), "utf8")

/** A hand-made table with round numbers, so expected figures can be worked out on paper. */
const ROUND: Pricing = {
  asOf: "2026-01-01",
  currency: "USD",
  hoursPerMonth: 730,
  staleAfterDays: 365,
  aws: {
    region: "us-west-1",
    fargate: {
      vcpuHour: { usd: 0.04, source: "test", estimate: false },
      gbHour: { usd: 0.004, source: "test", estimate: false },
    },
    alb: {
      hour: { usd: 0.02, source: "test", estimate: false },
      lcuHour: { usd: 0.01, source: "test", estimate: false },
      assumedLcus: 0.5,
    },
    publicIpv4Hour: { usd: 0.005, source: "test", estimate: false },
  },
  gcp: {
    region: "us-west1",
    cloudRun: {
      tier: 1,
      requestBased: {
        vcpuSecond: { usd: 0.00002, source: "test", estimate: false },
        gibSecond: { usd: 0.000002, source: "test", estimate: false },
        idleVcpuSecond: { usd: 0.000002, source: "test", estimate: false },
        idleGibSecond: { usd: 0.000001, source: "test", estimate: false },
      },
      instanceBased: {
        vcpuSecond: { usd: 0.00001, source: "test", estimate: false },
        gibSecond: { usd: 0.000001, source: "test", estimate: true },
      },
    },
  },
}

const input = (over: { staging?: Partial<CostInput["staging"]>; production?: Partial<CostInput["production"]> } = {}): CostInput => ({
  staging: { desiredCount: 1, cpu: 0.25, memoryMiB: 512, albCount: 1, ...over.staging },
  production: { minInstances: 0, cpu: 1, memoryGiB: 0.5, ...over.production },
})

const line = (env: { lines: { item: string; monthlyUsd: number }[] }, item: string) =>
  env.lines.find((l) => l.item === item)?.monthlyUsd

describe("estimateMonthlyCost", () => {
  it("prices a running staging task, its ALB and public addresses (worked on paper)", () => {
    const c = estimateMonthlyCost(input(), ROUND)
    expect(line(c.staging, "Fargate vCPU")).toBeCloseTo(0.25 * 730 * 0.04, 10) // 7.30
    expect(line(c.staging, "Fargate memory")).toBeCloseTo(0.5 * 730 * 0.004, 10) // 1.46
    expect(line(c.staging, "Task public IPv4")).toBeCloseTo(730 * 0.005, 10) // 3.65
    expect(line(c.staging, "ALB hours")).toBeCloseTo(730 * 0.02, 10) // 14.60
    expect(line(c.staging, "ALB capacity (LCU)")).toBeCloseTo(0.5 * 730 * 0.01, 10) // 3.65
    expect(line(c.staging, "ALB public IPv4")).toBeCloseTo(2 * 730 * 0.005, 10) // 7.30
    expect(c.staging.monthlyUsd).toBeCloseTo(7.3 + 1.46 + 3.65 + 14.6 + 3.65 + 7.3, 10)
    expect(c.production.monthlyUsd).toBe(0)
    expect(c.production.lines).toEqual([])
    expect(c.totalMonthlyUsd).toBeCloseTo(c.staging.monthlyUsd, 10)
  })

  it("stopping staging saves the tasks but not the load balancer, and says so", () => {
    const running = estimateMonthlyCost(input(), ROUND)
    expect(running.stoppingStaging).toMatchObject({ stoppedNow: false, runningDesiredCount: 1 })
    expect(running.stoppingStaging.savesMonthlyUsd).toBeCloseTo(7.3 + 1.46 + 3.65, 10)
    expect(running.stoppingStaging.remainingMonthlyUsd).toBeCloseTo(14.6 + 3.65 + 7.3, 10)

    const stopped = estimateMonthlyCost(input({ staging: { desiredCount: 0, runningDesiredCount: 1 } }), ROUND)
    expect(stopped.stoppingStaging.stoppedNow).toBe(true)
    // At desired count 0 staging costs exactly what the load balancer costs: the ALB is still billed.
    expect(stopped.staging.monthlyUsd).toBeCloseTo(running.stoppingStaging.remainingMonthlyUsd, 10)
    expect(stopped.staging.lines.map((l) => l.item)).toEqual(["ALB hours", "ALB capacity (LCU)", "ALB public IPv4"])
    expect(stopped.stoppingStaging.savesMonthlyUsd).toBeCloseTo(running.stoppingStaging.savesMonthlyUsd, 10)
    expect(stopped.notes.join("\n")).toMatch(/desired count 0 staging still pays for its load balancer/)
  })

  it("scales with task count and size", () => {
    const one = estimateMonthlyCost(input(), ROUND)
    const three = estimateMonthlyCost(input({ staging: { desiredCount: 3 } }), ROUND)
    expect(line(three.staging, "Fargate vCPU")).toBeCloseTo(3 * line(one.staging, "Fargate vCPU")!, 10)
    const big = estimateMonthlyCost(input({ staging: { cpu: 1, memoryMiB: 2048 } }), ROUND)
    expect(line(big.staging, "Fargate vCPU")).toBeCloseTo(730 * 0.04, 10)
    expect(line(big.staging, "Fargate memory")).toBeCloseTo(2 * 730 * 0.004, 10)
  })

  it("prices Cloud Run minimum instances at the idle rate under request-based billing", () => {
    const c = estimateMonthlyCost(input({ production: { minInstances: 2 } }), ROUND)
    const seconds = 730 * 3600
    expect(line(c.production, "Cloud Run min-instance vCPU")).toBeCloseTo(2 * 1 * seconds * 0.000002, 10)
    expect(line(c.production, "Cloud Run min-instance memory")).toBeCloseTo(2 * 0.5 * seconds * 0.000001, 10)
    expect(c.production.billing).toBe("request")
  })

  it("prices them at the instance-based rate when CPU is always allocated, and flags estimated rates", () => {
    const c = estimateMonthlyCost(input({ production: { minInstances: 1, billing: "instance" } }), ROUND)
    const seconds = 730 * 3600
    expect(line(c.production, "Cloud Run min-instance vCPU")).toBeCloseTo(seconds * 0.00001, 10)
    const memory = c.production.lines.find((l) => l.item === "Cloud Run min-instance memory")!
    expect(memory.monthlyUsd).toBeCloseTo(0.5 * seconds * 0.000001, 10)
    expect(memory.estimate).toBe(true)
    expect(c.notes.join("\n")).toContain("Cloud Run min-instance memory")
  })

  it("the LCU line is always an estimate (it rests on an assumed traffic level)", () => {
    const c = estimateMonthlyCost(input(), ROUND)
    expect(c.staging.lines.find((l) => l.item === "ALB capacity (LCU)")!.estimate).toBe(true)
    expect(c.staging.lines.find((l) => l.item === "ALB hours")!.estimate).toBe(false)
  })

  it("carries the table's date and regions for the report", () => {
    const c = estimateMonthlyCost(input(), ROUND)
    expect(c).toMatchObject({ asOf: "2026-01-01", staleAfterDays: 365, regions: { aws: "us-west-1", gcp: "us-west1" } })
  })

  it.each([
    [{ staging: { desiredCount: -1 } }, "staging.desiredCount"],
    [{ staging: { desiredCount: 1.5 } }, "staging.desiredCount"],
    [{ staging: { cpu: Number.NaN } }, "staging.cpu"],
    [{ production: { minInstances: -2 } }, "production.minInstances"],
  ])("rejects a nonsensical input %j naming the field", (over, field) => {
    expect(() => estimateMonthlyCost(input(over), ROUND)).toThrow(field)
  })

  it("works with the committed table (a staging task costs more than nothing, the ALB most)", () => {
    const c = estimateMonthlyCost(input(), parsePricing(committed))
    expect(c.staging.monthlyUsd).toBeGreaterThan(20)
    expect(c.staging.monthlyUsd).toBeLessThan(100)
    expect(c.stoppingStaging.remainingMonthlyUsd).toBeGreaterThan(c.stoppingStaging.savesMonthlyUsd)
  })
})

describe("ci/pricing.yaml", () => {
  it("the committed table is valid, dated and names a source for every rate", () => {
    const p = parsePricing(committed)
    expect(p.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/)
    expect(p.aws.region).toBe("us-west-1")
    expect(p.gcp.region).toBe("us-west1")
    const rates = [
      p.aws.fargate.vcpuHour,
      p.aws.fargate.gbHour,
      p.aws.alb.hour,
      p.aws.alb.lcuHour,
      p.aws.publicIpv4Hour,
      ...Object.values(p.gcp.cloudRun.requestBased),
      ...Object.values(p.gcp.cloudRun.instanceBased),
    ]
    for (const r of rates) expect(r.source.length).toBeGreaterThan(10)
  })

  function problemsOf(text: string): string[] {
    try {
      parsePricing(text)
    } catch (err) {
      expect(err).toBeInstanceOf(PricingError)
      return (err as PricingError).problems
    }
    throw new Error("expected a PricingError")
  }

  it.each([
    ["asOf: \"2026-11-25\"", "asOf: \"25/11/2026\"", "asOf: must be a date like 2026-11-25"],
    ["asOf: \"2026-11-25\"", "asOf: \"2026-02-30\"", "asOf: is not a real calendar date"],
    ["    vcpuHour:\n      usd: 0.04656", "    vcpuHour:\n      usd: -1", "aws.fargate.vcpuHour.usd: must be a positive price in USD (got -1)"],
    ["    vcpuHour:\n      usd: 0.04656", "    vcpuHour:\n      usd: \"cheap\"", "aws.fargate.vcpuHour.usd"],
    ["currency: USD", "currency: EUR", "currency"],
    ["  region: us-west-1", "  region: N. California", "aws.region: must be an AWS region like us-west-1"],
    ["    assumedLcus: 0.1", "    assumedLcus: 0.1\n    lcus: 2", "aws.alb: unknown key(s) lcus"],
  ])("a bad file names the key, the value and the rule (%#)", (from, to, expected) => {
    expect(committed).toContain(from)
    const problems = problemsOf(committed.replace(from, to))
    expect(problems.join("\n")).toContain(expected)
  })

  it("a rate without its source or estimate flag is rejected", () => {
    const text = committed.replace(
      /  publicIpv4Hour:\n    usd: 0.005\n    source: .*\n    estimate: false\n/,
      "  publicIpv4Hour:\n    usd: 0.005\n",
    )
    expect(text).not.toBe(committed)
    const problems = problemsOf(text).join("\n")
    expect(problems).toContain("aws.publicIpv4Hour.source")
    expect(problems).toContain("aws.publicIpv4Hour.estimate")
  })

  it("reports YAML syntax errors and a non-mapping file plainly", () => {
    expect(problemsOf("asOf: [unclosed")[0]).toMatch(/^not valid YAML/)
    expect(problemsOf("- a\n- b")[0]).toMatch(/expected a YAML mapping/)
  })

  it("the error message tells what to fix", () => {
    expect(() => parsePricing("asOf: 1")).toThrow(/ci\/pricing\.yaml is invalid .*\n[\s\S]*Fix ci\/pricing\.yaml/)
  })

  it("loadPricing reads ci/pricing.yaml from the source directory and explains a missing file", async () => {
    const dir = (files: Record<string, string>) => ({
      file: (path: string) => ({
        contents: async () => {
          if (!(path in files)) throw new Error(`${path}: no such file or directory`)
          return files[path]!
        },
      }),
    })
    await expect(loadPricing(dir({ "ci/pricing.yaml": committed }))).resolves.toMatchObject({ currency: "USD" })
    await expect(loadPricing(dir({}))).rejects.toThrow(/could not be read .*no such file/)
  })
})

describe("pricingAgeDays", () => {
  it("counts whole days from asOf to the run date", () => {
    expect(pricingAgeDays("2026-01-01", new Date("2026-01-01T23:59:00Z"))).toBe(0)
    expect(pricingAgeDays("2025-01-01", new Date("2026-01-01T00:00:00Z"))).toBe(365)
    expect(pricingAgeDays("2026-12-01", new Date("2026-11-25T00:00:00Z"))).toBeLessThan(0)
  })
})

describe("unit helpers", () => {
  it.each([
    ["256", 0.25],
    [1024, 1],
    ["4096", 4],
  ])("ECS CPU units %j → %d vCPU", (units, vcpu) => expect(vcpuFromEcsCpuUnits(units)).toBe(vcpu))

  it.each([
    ["1", 1],
    ["2", 2],
    ["500m", 0.5],
  ])("Cloud Run CPU %j → %d vCPU", (limit, vcpu) => expect(vcpuFromCloudRunCpu(limit)).toBe(vcpu))

  it.each([
    ["512Mi", 0.5],
    ["1Gi", 1],
    ["2048Mi", 2],
  ])("Cloud Run memory %j → %d GiB", (limit, gib) => expect(gibFromCloudRunMemory(limit)).toBe(gib))

  it("rejects unreadable sizes with the expected shape", () => {
    expect(() => vcpuFromEcsCpuUnits("a quarter")).toThrow(/CPU units like "256"/)
    expect(() => vcpuFromCloudRunCpu("1 core")).toThrow(/"1" or "500m"/)
    expect(() => gibFromCloudRunMemory("512MB")).toThrow(/"512Mi" or "1Gi"/)
  })
})
