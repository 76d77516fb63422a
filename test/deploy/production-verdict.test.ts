// A production verdict is final (issue 13.1, 13.2): deployProduction with the module's own Cloud Run port
// (gcp/production-service.ts, real @google-cloud/run clients) against the Cloud Run fake, whose revisions
// are served by the REAL app of their release, and the module's real health check. Release, Terraform and
// notify are in memory: nothing here is about them (production.test.ts runs them through the entrypoint).
// - A canary step that times out is cancelled before the rollback: every write reaches Cloud Run before
//   the verdict, the rollback's last, and none after the run returned.
// - A rollback is proven only by the previous release itself (its revision's APP_VERSION / APP_COMMIT)
//   answering healthy; anything else is `failed`, with the reason.
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { parseSettings, stepTimeoutMs, type Settings } from "../../dagger/src/config/settings.js"
import { deployProduction, planProduction } from "../../dagger/src/deploy/production.js"
import { recordingSigning } from "../support/signing-port.js"
import { analysisPort } from "../../dagger/src/deploy/wiring.js"
import { connectCloudRun, type CloudRunClients } from "../../dagger/src/gcp/connect.js"
import { ProductionService } from "../../dagger/src/gcp/production-service.js"
import { checkHealth } from "../../dagger/src/health/poll.js"
import { parsePricing } from "../../dagger/src/report/cost.js"
import type { RunRecord } from "../../dagger/src/report/run-record.js"
import { sleep } from "../../dagger/src/shared/wait.js"
import { startApp, type AppServer } from "../support/app-server.js"
import { startCloudRunFake, type CloudRunFake, type RecordedRequest } from "../support/cloud-run-fake.js"
import { FAST } from "../support/cloud-run-world.js"
import { NEW_RELEASE, OLD_RELEASE, pipelineYaml } from "../support/deploy-world.js"
import { repoRoot } from "../tools/paths.js"

const settings = parseSettings(pipelineYaml({}))
const pricing = parsePricing(readFileSync(join(repoRoot, "ci/pricing.yaml"), "utf8"))
const { project, region } = settings.production.gcp
const SERVICE = settings.production.names.service
const PREVIOUS = `${SERVICE}-00001-old`
const FULL = `projects/${project}/locations/${region}/services/${SERVICE}`
const IMAGE = `${region}-docker.pkg.dev/${project}/portfolio-prod/portfolio@sha256:${"2".repeat(64)}`
const THIRD_RELEASE = { version: "0.9.9", commit: "9".repeat(40) }

let apps: Record<"old" | "new" | "third", AppServer>
/** Which real app serves a revision, by the APP_VERSION it names ("" for none); tests may re-point it. */
let backends: Map<string, string>
let fake: CloudRunFake
let clients: CloudRunClients

beforeAll(async () => {
  const [old, fresh, third] = await Promise.all([startApp(OLD_RELEASE), startApp(NEW_RELEASE), startApp(THIRD_RELEASE)])
  apps = { old, new: fresh, third }
}, 60_000)
afterAll(async () => {
  await Promise.all(Object.values(apps ?? {}).map((a) => a.stop()))
})
afterEach(async () => {
  await clients?.close()
  await fake?.close()
})

/** The fake with production serving the previous release (or a revision that names none). */
async function startProduction(previousEnv: Record<string, string> = { APP_VERSION: OLD_RELEASE.version, APP_COMMIT: OLD_RELEASE.commit }) {
  backends = new Map([
    [OLD_RELEASE.version, apps.old.url],
    [NEW_RELEASE.version, apps.new.url],
    ["", apps.old.url],
  ])
  fake = await startCloudRunFake({ serve: (rev) => backends.get(rev.env["APP_VERSION"] ?? "") })
  const svc = await fake.seed({
    project,
    location: region,
    service: SERVICE,
    revisions: [{ name: PREVIOUS, image: `${region}-docker.pkg.dev/${project}/portfolio-prod/portfolio@sha256:${"1".repeat(64)}`, env: previousEnv }],
  })
  clients = await connectCloudRun({ auth: { kind: "none" }, endpoint: fake.endpoint })
  return svc.uri
}

/** The module's Cloud Run port, with `onShift` called as each canary step's shift begins. */
function cloudRunPort(s: Settings, onShift: (percent: number) => void): ProductionService {
  class Observed extends ProductionService {
    override shift(input: Parameters<ProductionService["shift"]>[0], signal: AbortSignal) {
      onShift(input.percent)
      return super.shift(input, signal)
    }
  }
  return new Observed(
    { clients, target: { project, region, service: SERVICE }, poll: FAST },
    { rolloutMs: stepTimeoutMs(s, "rollout"), rollbackMs: stepTimeoutMs(s, "rollback") },
  )
}

async function deploy(s: Settings, serviceUrl: string, onShift: (percent: number) => void): Promise<RunRecord> {
  const plan = planProduction({ settings: s, pricing, commit: NEW_RELEASE.commit, version: NEW_RELEASE.version, skipAwsStop: true })
  return deployProduction(plan, {
    clock: { now: () => Date.now() },
    release: { check: async () => ({ scan: { counts: {}, gate: "passed", topFindings: [] }, publish: async () => ({ ref: IMAGE }) }) },
    terraform: { apply: async () => ({ serviceUrl, summary: "0 to add, 0 to change, 0 to destroy" }) },
    cloudRun: cloudRunPort(s, onShift),
    stopStaging: { unavailable: "not in this test" },
    signing: recordingSigning(),
    health: { check: (url, expected, signal) => checkHealth(url, expected, { ...s.production.health, path: s.app.healthPath }, { signal }) },
    analysis: analysisPort(s),
    notify: { notify: async () => undefined },
    sleep,
  })
}

/** Who holds traffic, as the fake observes it. */
const observed = () => fake.state.service(FULL)!.trafficStatuses.filter((t) => (t.percent ?? 0) > 0).map((t) => [t.revision, t.percent])
const trafficOf = (w: RecordedRequest) => (w.body as { traffic?: Array<{ revision?: string; percent?: number; tag?: string }> }).traffic ?? []
const pause = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)))

describe("a canary step that times out", () => {
  it("is cancelled before the rollback: every write reaches Cloud Run before the verdict, the rollback's last, none after", async () => {
    // Short step budgets (below what the settings file accepts, same mechanism) keep the test quick.
    const quick: Settings = {
      ...settings,
      timeouts: { ...settings.timeouts, stepMinutes: { ...settings.timeouts.stepMinutes, rollout: 0.05, health: 0.02 } },
      analysis: { ...settings.analysis, budgetSeconds: 1 },
    }
    // A canary step's budget: shift, health check and one traffic-analysis burst.
    const canaryStepMs = stepTimeoutMs(quick, "rollout") + stepTimeoutMs(quick, "health") + quick.analysis.budgetSeconds * 1000
    // Cloud Run answers the 10 % write only after the step's budget: by then the rollback has changed the
    // service, so the late answer is a conflict — which a write that outlived its step would re-read and retry.
    const lateMs = canaryStepMs + 1_500
    const serviceUrl = await startProduction()
    let shiftStartedAt = 0
    const run = await deploy(quick, serviceUrl, (percent) => {
      if (percent !== 10) return
      shiftStartedAt = Date.now()
      fake.inject({ kind: "latency", method: "PATCH", ms: lateMs })
    })
    const returnedAt = Date.now()

    expect(run.verdict).toBe("rolled-back")
    expect(run.failingStep).toBe("canary 10%")
    expect(run.steps.find((s) => s.name === "canary 10%")?.detail).toMatch(/did not finish within .* and was cancelled/)
    expect(run.rollback).toMatchObject({ attempted: true, outcome: "succeeded" })
    expect(run.rollback!.detail).toContain(`release ${OLD_RELEASE.version} (${OLD_RELEASE.commit.slice(0, 12)}) answers healthy`)

    const writes = fake.state.writes()
    // Candidate, the abandoned 10 %, the rollback: each before the verdict, the rollback last.
    expect(writes).toHaveLength(3)
    for (const w of writes) expect(w.at).toBeLessThanOrEqual(Date.parse(run.endedAt!))
    expect(trafficOf(writes.at(-1)!).filter((t) => (t.percent ?? 0) > 0)).toEqual([expect.objectContaining({ revision: PREVIOUS, percent: 100 })])
    expect(trafficOf(writes.at(-1)!).some((t) => t.tag === "canary")).toBe(false)

    // Past the late answer and any retry pause after it: nothing more reaches Cloud Run.
    await pause(shiftStartedAt + lateMs + 1_000 - Date.now())
    expect(fake.state.writes()).toHaveLength(3)
    expect(fake.state.requests.filter((r) => r.at > returnedAt)).toEqual([])
    expect(observed()).toEqual([[PREVIOUS, 100]])
    const health = (await (await fetch(`${serviceUrl}/health`)).json()) as { version: string }
    expect(health.version).toBe(OLD_RELEASE.version)
  }, 30_000)
})

describe("a rollback is proven by the previous release, not by any healthy answer", () => {
  /** Deploys with the 10 % write refused by Cloud Run, so the canary fails and the rollback runs. */
  const failingAtTen = (serviceUrl: string) =>
    deploy(settings, serviceUrl, (percent) => {
      if (percent === 10) fake.inject({ kind: "http-error", method: "PATCH", status: 400, message: "traffic refused by the test" })
    })

  it("the previous release answering with its version and commit is rolled-back", async () => {
    const run = await failingAtTen(await startProduction())
    expect(run.verdict).toBe("rolled-back")
    expect(run.rollback).toMatchObject({ outcome: "succeeded", detail: expect.stringContaining(`release ${OLD_RELEASE.version}`) })
    expect(observed()).toEqual([[PREVIOUS, 100]])
  })

  it.each([
    ["the NEW release", "new" as const],
    ["a third release", "third" as const],
  ])("the service answering healthy as %s after the traffic went back is failed, saying which release did not answer", async (_, app) => {
    const serviceUrl = await startProduction()
    // What answers behind the previous revision is not the release it names.
    backends.set(OLD_RELEASE.version, apps[app].url)
    const run = await failingAtTen(serviceUrl)
    expect(run.verdict).toBe("failed")
    expect(run.failingStep).toBe("canary 10%")
    expect(run.rollback?.outcome).toBe("failed")
    expect(run.rollback!.detail).toContain(`all traffic back on ${PREVIOUS}`)
    expect(run.rollback!.detail).toContain(`release ${OLD_RELEASE.version} does not answer healthy`)
    // Traffic still went back: only the proof failed.
    expect(observed()).toEqual([[PREVIOUS, 100]])
  })

  it("a previous revision that names no release (no APP_VERSION) is failed, saying why it cannot be proven", async () => {
    const run = await failingAtTen(await startProduction({ APP_COMMIT: OLD_RELEASE.commit }))
    expect(run.verdict).toBe("failed")
    expect(run.rollback?.outcome).toBe("failed")
    expect(run.rollback!.detail).toContain(`${PREVIOUS} names no release (APP_VERSION/APP_COMMIT`)
    expect(run.rollback!.detail).toContain("cannot be proven to be the previous release")
    expect(observed()).toEqual([[PREVIOUS, 100]])
  })
})
