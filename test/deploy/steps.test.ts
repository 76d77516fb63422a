// The deploy orchestrators' decisions, over in-memory ports: which rollback a failure calls for, what a
// cancelled run leaves behind, the cost inputs and the scan summary. The end-to-end behaviour against
// moto, the Cloud Run fake and the real app is in staging.test.ts and production.test.ts.
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import type { CandidateDeployment, TrafficChange } from "../../dagger/src/gcp/operations.js"
import { parsePricing } from "../../dagger/src/report/cost.js"
import { checkAndPublish, recordRollback, toScanSummary } from "../../dagger/src/deploy/steps.js"
import type { RolloutOutcome } from "../../dagger/src/aws/ecs.js"
import { ToolError } from "../../dagger/src/shared/tool-errors.js"
import { checkHealth } from "../../dagger/src/health/poll.js"
import { deployProduction, planProduction, productionCostInput, type ProductionPorts } from "../../dagger/src/deploy/production.js"
import { decideVerdict, startRun, type RunRecord } from "../../dagger/src/report/run-record.js"
import { gateReportText } from "../../dagger/src/supply-chain/scan/gate.js"
import { parseSettings } from "../../dagger/src/config/settings.js"
import { deployStaging, planStaging, stagingCostInput, stagingRollbackAction, type StagingPorts } from "../../dagger/src/deploy/staging.js"
import type { TrafficReading } from "../../dagger/src/gcp/traffic.js"
import { NEW_RELEASE, OLD_RELEASE, pipelineYaml, trivyReport } from "../support/deploy-world.js"
import { repoRoot } from "../tools/paths.js"
import { type CheckedImage, type HealthPort } from "../../dagger/src/deploy/ports.js"
import { stepDetail, softStep, startSteps } from "../../dagger/src/deploy/step-runner.js"
import { recordingSigning } from "../support/signing-port.js"
import { toDeployReport } from "../../dagger/src/report/deploy-report.js"

const settings = parseSettings(pipelineYaml({}))
const pricing = parsePricing(readFileSync(join(repoRoot, "ci/pricing.yaml"), "utf8"))
const IMAGE = `registry.example.com/portfolio@sha256:${"a".repeat(64)}`

/** Health checks by the real checkHealth, answered by an in-memory "service" per URL. */
function healthOf(serving: (url: string) => { version: string; commit: string } | "down"): HealthPort {
  return {
    check: (url, expected) =>
      checkHealth(url, expected, { budgetSeconds: 1, intervalMs: 10, consecutiveSuccesses: 2, requestTimeoutMs: 100 }, {
        fetch: async (input) => {
          const answer = serving(String(input).replace(/\/health$/, ""))
          if (answer === "down") return new Response("bad gateway", { status: 502 })
          return new Response(JSON.stringify({ status: "ok", ...answer }), { status: 200, headers: { "content-type": "application/json" } })
        },
      }),
  }
}

const released = (): CheckedImage => ({ scan: { counts: {}, gate: "passed", topFindings: [] }, publish: async () => ({ ref: IMAGE }) })
const quiet = { notify: async () => undefined }

describe("stagingRollbackAction", () => {
  const failed = (kind: "rolled-back" | "superseded" | "deployment-failed" | "timed-out", id?: string): RolloutOutcome["verdict"] => ({
    state: "failure",
    kind,
    detail: "x",
    ...(id ? { rollbackDeploymentId: id } : {}),
  })

  it.each([
    [{ touched: false, previous: "td:1" }, { kind: "none" }],
    [{ touched: true }, { kind: "none" }],
    [{ touched: true, previous: "td:1", rollout: failed("superseded") }, { kind: "none" }],
    [{ touched: true, previous: "td:1", rollout: failed("rolled-back", "ecs-svc/9") }, { kind: "verify-breaker", deploymentId: "ecs-svc/9", to: "td:1" }],
    [{ touched: true, previous: "td:1", rollout: failed("deployment-failed") }, { kind: "deploy-previous", to: "td:1" }],
    [{ touched: true, previous: "td:1", rollout: failed("timed-out") }, { kind: "deploy-previous", to: "td:1" }],
    // Rollout succeeded, the health check failed afterwards.
    [{ touched: true, previous: "td:1", rollout: { state: "success" as const, detail: "ok" } }, { kind: "deploy-previous", to: "td:1" }],
  ])("%j → %j", (input, expected) => {
    expect(stagingRollbackAction(input)).toMatchObject(expected)
  })

  it("says why nothing is rolled back", () => {
    expect(stagingRollbackAction({ touched: false, previous: "td:1" })).toMatchObject({ why: expect.stringMatching(/not changed/) })
    expect(stagingRollbackAction({ touched: true, previous: "td:1", rollout: failed("superseded") })).toMatchObject({
      why: expect.stringMatching(/would undo it/),
    })
  })
})

describe("planStaging / planProduction: bad input is refused before anything runs", () => {
  it("refuses a commit that is not a SHA and a version that is not a tag", () => {
    expect(() => planStaging({ settings, pricing, commit: "HEAD" })).toThrow(/--commit 'HEAD' is not a git SHA/)
    expect(() => planStaging({ settings, pricing, commit: NEW_RELEASE.commit, version: "1.0+build" })).toThrow(/--version '1\.0\+build'/)
  })

  it("defaults the version to the short commit and checks --run-url", () => {
    expect(planStaging({ settings, pricing, commit: NEW_RELEASE.commit }).version).toBe(NEW_RELEASE.commit.slice(0, 7))
    expect(() => planStaging({ settings, pricing, commit: NEW_RELEASE.commit, runUrl: "javascript:alert(1)" })).toThrow(/--run-url/)
  })

  it("refuses a --run-url that carries credentials, without echoing them", () => {
    for (const runUrl of ["https://ci-bot:s3cr3t-pass@ci.example.com/runs/7", "https://token@ci.example.com/runs/7", "https://u:p@ss@ci.example.com/runs/7"]) {
      let err: unknown
      try {
        planStaging({ settings, pricing, commit: NEW_RELEASE.commit, runUrl })
      } catch (e) {
        err = e
      }
      expect(err, runUrl).toBeInstanceOf(Error)
      expect((err as Error).message).toMatch(/--run-url carries credentials/)
      for (const part of ["ci-bot", "s3cr3t-pass", "token", "p@ss"]) expect((err as Error).message).not.toContain(part)
    }
    expect(planStaging({ settings, pricing, commit: NEW_RELEASE.commit, runUrl: "https://ci.example.com/runs/7" }).runUrl).toBe("https://ci.example.com/runs/7")
  })

  it("takes the canary steps from the flag over the settings, and refuses a bad list", () => {
    expect(planProduction({ settings, pricing, commit: NEW_RELEASE.commit }).canarySteps).toEqual(settings.production.canary.steps)
    expect(planProduction({ settings, pricing, commit: NEW_RELEASE.commit, canarySteps: "20, 100" }).canarySteps).toEqual([20, 100])
    expect(() => planProduction({ settings, pricing, commit: NEW_RELEASE.commit, canarySteps: "10,50" })).toThrow(/last step is 50, not 100/)
  })

  it("refuses a canary tag that makes the tag URL too long for Cloud Run", () => {
    const long = { ...settings, production: { ...settings.production, canary: { ...settings.production.canary, tag: "a-very-long-canary-tag-name-that-overflows" } } }
    expect(() => planProduction({ settings: long, pricing, commit: NEW_RELEASE.commit })).toThrow(/46/)
  })
})

describe("cost inputs", () => {
  it("staging: the task size ECS reports; production at the Terraform defaults", () => {
    expect(stagingCostInput({ desiredCount: 1, cpu: "512", memory: "1024" }, settings)).toMatchObject({
      staging: { desiredCount: 1, runningDesiredCount: 1, cpu: 0.5, memoryMiB: 1024, albCount: 1 },
      production: { minInstances: 0, cpu: 1, memoryGiB: 0.5 },
    })
  })

  it("production: a successful stop leaves staging at 0 and remembers what it ran", () => {
    const input = productionCostInput(
      { minInstances: 1, cpu: "2", memory: "1Gi" },
      {
        outcome: {
          ref: { cluster: "c", service: "s" },
          region: "us-west-1",
          previousDesiredCount: 2,
          desiredCount: 0,
          runningCount: 0,
          verdict: { state: "success", detail: "ok" },
          polls: 1,
          elapsedMs: 10,
        },
      },
      settings,
    )
    expect(input).toMatchObject({ staging: { desiredCount: 0, runningDesiredCount: 2 }, production: { minInstances: 1, cpu: 2, memoryGiB: 1 } })
  })

  it("production: a skipped or failed stop counts staging as running at its configured size", () => {
    expect(productionCostInput({ minInstances: 0 }, {}, settings).staging.desiredCount).toBe(settings.staging.desiredCount)
  })
})

describe("toScanSummary", () => {
  it("counts, the gate and the blocking finding first, with package and versions split", () => {
    const verdict = gateReportText(trivyReport("critical"), { severities: ["HIGH", "CRITICAL"], ignoreUnfixed: true })
    expect(toScanSummary(verdict)).toMatchObject({
      gate: "failed",
      counts: { CRITICAL: 1, HIGH: 0 },
      topFindings: [{ id: "CVE-2099-0001", severity: "CRITICAL", target: "openssl", installedVersion: "3.0.0", fixedVersion: "3.0.99" }],
    })
  })
})

// ---- Cancellation: nothing half-switched -------------------------------------------------------

/** Cloud Run in memory: traffic per revision, as the port's callers would read it back. */
function memoryCloudRun() {
  const traffic = new Map<string, number>([["rev-old", 100]])
  const reading = (): TrafficReading => {
    const holders = [...traffic].filter(([, p]) => p > 0).map(([revision, percent]) => ({ revision, percent }))
    return { holders, tags: [], stable: holders[0]?.revision, settled: holders.length === 1, notices: [] }
  }
  const change = (): TrafficChange => ({ traffic: reading(), notices: [] })
  return {
    traffic,
    port: {
      serving: async () => undefined,
      async deployCandidate(): Promise<CandidateDeployment> {
        traffic.set("rev-new", 0)
        return { revision: "rev-new", url: "http://canary.test", serviceUrl: "http://service.test", previous: "rev-old", previousRelease: OLD_RELEASE, image: IMAGE, traffic: reading(), notices: [] }
      },
      async shift(input: { percent: number }) {
        traffic.set("rev-new", input.percent)
        traffic.set("rev-old", 100 - input.percent)
        return change()
      },
      async rollBack(input: { to: string }) {
        for (const k of traffic.keys()) traffic.set(k, k === input.to ? 100 : 0)
        return change()
      },
      facts: async () => ({ minInstances: 0 }),
      diagnose: async () => [],
      servedTraffic: async () => ({ noSignal: "no Cloud Monitoring in this test" }),
    },
  }
}

describe("a cancelled run leaves nothing half-switched", () => {
  it("production: cancelled while shifting to 50 % → the rollback still runs and all traffic is back on the previous revision", async () => {
    const cloudRun = memoryCloudRun()
    const cancel = new AbortController()
    const ports: ProductionPorts = {
      clock: { now: () => Date.now() },
      release: { check: async () => released() },
      signing: recordingSigning(),
      terraform: { apply: async () => ({ serviceUrl: "http://service.test", summary: "no changes" }) },
      cloudRun: {
        ...cloudRun.port,
        async shift(input) {
          const out = await cloudRun.port.shift(input)
          // Ctrl-C (or the run timeout) arrives while the 50 % split is live.
          if (input.percent === 50) cancel.abort(new Error("cancelled by the user"))
          return out
        },
      },
      stopStaging: { unavailable: "not in this test" },
      // No server behind these URLs: every burst measures a healthy release.
      analysis: {
        thresholds: settings.analysis.thresholds,
        burstBudgetMs: 1000,
        burst: async (url) => ({ url, figures: { requests: 20, errors: 0, errorRate: 0, p50Ms: 2, p95Ms: 3 }, responses: [], notSent: 0, elapsedMs: 5 }),
      },
      health: healthOf((url) => {
        if (url === "http://canary.test") return NEW_RELEASE
        const newShare = cloudRun.traffic.get("rev-new") ?? 0
        return newShare === 100 ? NEW_RELEASE : OLD_RELEASE
      }),
      notify: quiet,
      sleep: async () => undefined,
    }
    const plan = planProduction({ settings, pricing, commit: NEW_RELEASE.commit, version: NEW_RELEASE.version })
    const run: RunRecord = await deployProduction(plan, ports, { signal: cancel.signal })

    expect(run.verdict).toBe("rolled-back")
    expect(run.failingStep).toBe("canary 50%")
    expect(run.steps.find((s) => s.name === "canary 50%")?.detail).toMatch(/cancelled/)
    expect(run.steps.map((s) => s.name)).not.toContain("canary 100%")
    expect(run.rollback).toMatchObject({ attempted: true, outcome: "succeeded" })
    expect([...cloudRun.traffic].filter(([, p]) => p > 0)).toEqual([["rev-old", 100]])
  })

  it("staging: cancelled during the rollout → the service is pointed back at the previous task definition", async () => {
    const cancel = new AbortController()
    let serving = "td:1"
    const deployed: string[] = []
    const ok = (id: string): RolloutOutcome => ({ deploymentId: id, verdict: { state: "success", detail: "ok" }, polls: 1, elapsedMs: 1, taskDefinition: serving })
    const ports: StagingPorts = {
      clock: { now: () => Date.now() },
      // No server behind the ALB URL: every burst measures a healthy release.
      analysis: { thresholds: settings.analysis.thresholds, burstBudgetMs: 1000, burst: async (url) => ({ url, figures: { requests: 20, errors: 0, errorRate: 0, p50Ms: 2, p95Ms: 3 }, responses: [], notSent: 0, elapsedMs: 5 }) },
      release: { check: async () => released() },
      signing: recordingSigning(),
      terraform: { apply: async () => ({ serviceUrl: "http://alb.test", summary: "no changes" }) },
      ecs: {
        serving: async () => undefined,
        registerRevision: async () => ({ taskDefinitionArn: "td:2", previousTaskDefinitionArn: "td:1", previousRelease: OLD_RELEASE }),
        async rollout(td, _count, signal) {
          serving = td
          deployed.push(td)
          cancel.abort(new Error("the run exceeded timeouts.runMinutes"))
          // A wait that would never end by itself; like every port call it ends when its signal aborts.
          return new Promise<RolloutOutcome>((_, reject) => {
            if (signal.aborted) reject(signal.reason)
            signal.addEventListener("abort", () => reject(signal.reason))
          })
        },
        async rollBack(action) {
          serving = action.to
          deployed.push(action.to)
          return ok("ecs-svc/rollback")
        },
        facts: async () => ({ desiredCount: 1 }),
        diagnose: async () => [],
      },
      health: healthOf(() => OLD_RELEASE),
      notify: quiet,
    }
    const plan = planStaging({ settings, pricing, commit: NEW_RELEASE.commit, version: NEW_RELEASE.version })
    const run = await deployStaging(plan, ports, { signal: cancel.signal })
    expect(run.verdict).toBe("rolled-back")
    expect(run.failingStep).toBe("rollout")
    expect(deployed).toEqual(["td:2", "td:1"])
    expect(serving).toBe("td:1")
    expect(run.rollback).toMatchObject({ attempted: true, outcome: "succeeded", detail: expect.stringMatching(new RegExp(`td:1.*release ${OLD_RELEASE.version} .*answers healthy`)) })
  })

  it("a notification that hangs past its timeout is a warning; the verdict stands", async () => {
    const fast = parseSettings(pipelineYaml({}).replace(/notify: 1\n/, "notify: 0.1\n"))
    const ports: StagingPorts = {
      clock: { now: () => Date.now() },
      // No server behind the ALB URL: every burst measures a healthy release.
      analysis: { thresholds: settings.analysis.thresholds, burstBudgetMs: 1000, burst: async (url) => ({ url, figures: { requests: 20, errors: 0, errorRate: 0, p50Ms: 2, p95Ms: 3 }, responses: [], notSent: 0, elapsedMs: 5 }) },
      release: { check: async () => ({ ...released(), blocker: new Error("Tests failed; nothing was published.") }) },
      signing: recordingSigning(),
      terraform: { apply: async () => ({ serviceUrl: "http://alb.test", summary: "" }) },
      ecs: {
        serving: async () => undefined,
        registerRevision: async () => ({ taskDefinitionArn: "td:2", previousTaskDefinitionArn: "td:1", previousRelease: OLD_RELEASE }),
        rollout: async () => ({ deploymentId: "d", verdict: { state: "success", detail: "" }, polls: 1, elapsedMs: 1, taskDefinition: "td:2" }),
        rollBack: async () => ({ deploymentId: "d", verdict: { state: "success", detail: "" }, polls: 1, elapsedMs: 1, taskDefinition: "td:1" }),
        facts: async () => ({ desiredCount: 1 }),
        diagnose: async () => [],
      },
      health: healthOf(() => NEW_RELEASE),
      notify: { notify: () => new Promise<void>(() => undefined) },
    }
    const run = await deployStaging(planStaging({ settings: fast, pricing, commit: NEW_RELEASE.commit }), ports)
    expect(run.verdict).toBe("failed")
    expect(run.failingStep).toBe("build, test, scan, SBOM")
    expect(run.warnings).toEqual([expect.objectContaining({ source: "notify", message: expect.stringMatching(/did not finish within 6 s/) })])
  }, 15_000)
})

describe("softStep: steps that must never fail a deploy", () => {
  it("an error inside, or its timeout, ends as a warning step and a run warning", async () => {
    const run = startRun({ environment: "production", commit: NEW_RELEASE.commit })
    const steps = startSteps(run, settings, { now: () => Date.now() })
    try {
      const thrown = await softStep(steps, "stop AWS staging", 1_000, "stop-aws", async () => {
        throw new Error("ServiceNotFoundException: service 'x' does not exist")
      })
      const hung = await softStep(steps, "cost estimate", 50, "cost", (ctx) =>
        new Promise<never>((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason))),
      )
      expect(thrown).toBeUndefined()
      expect(hung).toBeUndefined()
      expect(run.steps.map((s) => [s.name, s.outcome])).toEqual([
        ["stop AWS staging", "warning"],
        ["cost estimate", "warning"],
      ])
      expect(run.warnings.map((w) => w.source)).toEqual(["stop-aws", "cost"])
      expect(run.warnings[1]!.message).toMatch(/did not finish within 50 ms/)
      expect(decideVerdict(run).verdict).toBe("succeeded")
    } finally {
      steps.close()
    }
  })
})

describe("checkAndPublish: the release steps both deploys begin with", () => {
  it("publishes the checked image and records the scan and the digest reference", async () => {
    const run = startRun({ environment: "staging", commit: NEW_RELEASE.commit })
    const steps = startSteps(run, settings, { now: () => Date.now() })
    try {
      expect(await checkAndPublish(steps, { check: async () => released() }, settings, "ECR")).toBe(IMAGE)
      expect(run.steps.map((s) => [s.name, s.outcome])).toEqual([
        ["build, test, scan, SBOM", "succeeded"],
        ["publish to ECR", "succeeded"],
      ])
      expect(run.image).toBe(IMAGE)
      expect(run.scan?.gate).toBe("passed")
    } finally {
      steps.close()
    }
  })

  it("a failed gate fails the check step and nothing is published", async () => {
    const run = startRun({ environment: "production", commit: NEW_RELEASE.commit })
    const steps = startSteps(run, settings, { now: () => Date.now() })
    let published = false
    const blocked: CheckedImage = {
      scan: { counts: { CRITICAL: 1 }, gate: "failed", topFindings: [] },
      blocker: new Error("scan gate failed: 1 blocking finding"),
      publish: async () => {
        published = true
        return { ref: IMAGE }
      },
    }
    try {
      await expect(checkAndPublish(steps, { check: async () => blocked }, settings, "Artifact Registry")).rejects.toThrow(/scan gate failed/)
      expect(published).toBe(false)
      expect(run.steps.map((s) => [s.name, s.outcome])).toEqual([["build, test, scan, SBOM", "failed"]])
      expect(run.scan?.gate).toBe("failed")
      expect(run.image).toBeUndefined()
    } finally {
      steps.close()
    }
  })
})

describe("recordRollback: the rollback step and its record", () => {
  it("records the detail the rollback answers, or the first line of its error, and never throws", async () => {
    const ok = startRun({ environment: "staging", commit: NEW_RELEASE.commit })
    const okSteps = startSteps(ok, settings, { now: () => Date.now() })
    const failed = startRun({ environment: "production", commit: NEW_RELEASE.commit })
    const failedSteps = startSteps(failed, settings, { now: () => Date.now() })
    try {
      await recordRollback(okSteps, async () => "service back on td:1")
      expect(ok.rollback).toEqual({ attempted: true, outcome: "succeeded", detail: "service back on td:1" })
      expect(ok.steps.map((s) => [s.name, s.outcome])).toEqual([["rollback", "succeeded"]])

      await recordRollback(failedSteps, async () => {
        throw new Error("all traffic back on rev-1, but the service is not healthy: 502\nmore")
      })
      expect(failed.rollback).toMatchObject({ attempted: true, outcome: "failed" })
      expect(failed.rollback?.detail).toMatch(/^all traffic back on rev-1, but the service is not healthy: 502/)
      expect(failed.steps.map((s) => [s.name, s.outcome])).toEqual([["rollback", "failed"]])
    } finally {
      okSteps.close()
      failedSteps.close()
    }
  })
})

describe("stepDetail: a failure as one line that keeps the cause", () => {
  it("a tool failure keeps the tool's error line and the fix, from the error's fields", () => {
    const err = new ToolError({
      step: "terraform plan (terraform/aws)",
      command: "terraform plan -input=false -out=tfplan",
      exitCode: 1,
      output:
        "\nPlanning failed. Terraform encountered an error while generating this plan.\n\n" +
        "Error: reading ECS Cluster (portfolio-prod-cluster): AccessDeniedException\n  with module.service",
      fix: "Check the AWS credentials and ci/pipeline.yaml, fix what Terraform names above, and run again.",
    })
    expect(stepDetail(err)).toBe(
      "terraform plan (terraform/aws) failed (exit code 1): Error: reading ECS Cluster (portfolio-prod-cluster): AccessDeniedException" +
        " — Check the AWS credentials and ci/pipeline.yaml, fix what Terraform names above, and run again.",
    )
  })

  it("without an error line the tool's last output line is the cause", () => {
    const err = new ToolError({ step: "Build of image portfolio:1.1.0", command: "npm run build", exitCode: 2, output: "src/a.ts(1,1): TS2304", fix: "Run it locally." })
    expect(stepDetail(err)).toBe("Build of image portfolio:1.1.0 failed (exit code 2): src/a.ts(1,1): TS2304 — Run it locally.")
  })

  it("a message that merely looks like a tool failure is not parsed as one", () => {
    const err = new Error("X failed: `cmd` exited with code 1.\nError: spoofed")
    expect(stepDetail(err)).toBe("X failed: `cmd` exited with code 1. Error: spoofed")
  })

  it("other errors keep their first two lines", () => {
    expect(stepDetail(new Error("cannot decide what to import (1 problem):\n  - module.x: HTTP 403\nNothing was planned."))).toBe(
      "cannot decide what to import (1 problem): - module.x: HTTP 403",
    )
  })
})

describe("a failure before the service changes", () => {
  it("registering the task definition fails → failed, no rollback attempted, and the report says why", async () => {
    const calls: string[] = []
    const ports: StagingPorts = {
      clock: { now: () => Date.now() },
      // No server behind the ALB URL: every burst measures a healthy release.
      analysis: { thresholds: settings.analysis.thresholds, burstBudgetMs: 1000, burst: async (url) => ({ url, figures: { requests: 20, errors: 0, errorRate: 0, p50Ms: 2, p95Ms: 3 }, responses: [], notSent: 0, elapsedMs: 5 }) },
      release: { check: async () => released() },
      signing: recordingSigning(),
      terraform: { apply: async () => ({ serviceUrl: "http://alb.test", summary: "no changes" }) },
      ecs: {
        serving: async () => undefined,
        registerRevision: async () => {
          throw new Error("task definition portfolio-prod-task:3 has no container named 'web'")
        },
        rollout: async () => {
          calls.push("rollout")
          throw new Error("not expected")
        },
        rollBack: async () => {
          calls.push("rollBack")
          throw new Error("not expected")
        },
        facts: async () => ({ desiredCount: 1 }),
        diagnose: async () => [],
      },
      health: healthOf(() => OLD_RELEASE),
      notify: quiet,
    }
    const run = await deployStaging(planStaging({ settings, pricing, commit: NEW_RELEASE.commit }), ports)
    expect(run.verdict).toBe("failed")
    expect(run.failingStep).toBe("task definition")
    expect(calls).toEqual([])
    expect(run.rollback).toMatchObject({ attempted: false, outcome: "not-needed", detail: expect.stringMatching(/not changed/) })
  })
})

describe("secrets are scrubbed before anything is cut (issue 13.6)", () => {
  it("a step error with a secret straddling the report's cut leaves no piece of it in the report", async () => {
    const secret = "planted-secret-straddling-the-cut-QWZXKVJQ"
    // Whatever the cut (the record's, the report's 300-character detail), the secret sits across it.
    const message = `${"x".repeat(280)} token=${secret} and more text after it`
    const ports: StagingPorts = {
      clock: { now: () => Date.now() },
      // No server behind the ALB URL: every burst measures a healthy release.
      analysis: { thresholds: settings.analysis.thresholds, burstBudgetMs: 1000, burst: async (url) => ({ url, figures: { requests: 20, errors: 0, errorRate: 0, p50Ms: 2, p95Ms: 3 }, responses: [], notSent: 0, elapsedMs: 5 }) },
      release: { check: async () => released() },
      signing: recordingSigning(),
      terraform: {
        apply: async () => {
          throw new Error(message)
        },
      },
      ecs: {
        serving: async () => undefined,
        registerRevision: async () => ({ taskDefinitionArn: "td:2", previousTaskDefinitionArn: "td:1" }),
        rollout: async () => {
          throw new Error("not expected")
        },
        rollBack: async () => {
          throw new Error("not expected")
        },
        facts: async () => ({ desiredCount: 1 }),
        diagnose: async () => [],
      },
      health: healthOf(() => OLD_RELEASE),
      notify: quiet,
    }
    const run = await deployStaging(planStaging({ settings, pricing, commit: NEW_RELEASE.commit }), ports)
    expect(run.failingStep).toBe("terraform apply (aws)")
    const report = toDeployReport(run, [secret])
    for (const text of [report.markdown, report.json]) {
      for (let i = 0; i + 8 <= secret.length; i++) expect(text, secret.slice(i, i + 8)).not.toContain(secret.slice(i, i + 8))
    }
    // The record keeps the whole line, scrubbed; the Markdown cuts it after scrubbing.
    expect(report.json).toContain("token=***")
  })
})
