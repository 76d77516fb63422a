// dagger/src/gcp/production-service.ts (the CloudRunPort of production) against the Cloud Run fake,
// through the real @google-cloud/run v2 clients (REST transport) built by the module's own
// connectCloudRun. Where a revision must answer HTTP, the fake routes its tag URL to the real app
// (test/support/app-server.ts).
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest"
import { CloudRunError } from "../../dagger/src/gcp/errors.js"
import { readServiceTraffic } from "../../dagger/src/gcp/operations.js"
import { ProductionService, type ProductionServiceOptions } from "../../dagger/src/gcp/production-service.js"
import { connectMonitoring } from "../../dagger/src/gcp/served-traffic.js"
import { type MonitoringFake, startMonitoringFake } from "../support/monitoring-fake.js"
import { revisionSeries } from "../support/monitoring-series.js"
import { CloudRunInputError } from "../../dagger/src/gcp/traffic.js"
import { ImageRefError } from "../../dagger/src/supply-chain/image-ref.js"
import { type AppServer, startApp } from "../support/app-server.js"
import type { CloudRunFakeOptions, SeedService } from "../support/cloud-run-fake.js"
import {
  caught,
  type CloudRunWorld,
  FULL,
  IMAGE_NEW,
  OLD,
  PROJECT,
  REGION,
  RUNNING,
  SERVICE,
  STABLE,
  startCloudRunWorld,
} from "../support/cloud-run-world.js"

let world: CloudRunWorld

async function setUp(options: CloudRunFakeOptions = {}, traffic?: SeedService["traffic"]) {
  world = await startCloudRunWorld(options, traffic)
}

afterEach(async () => {
  await world?.close()
})

/** The port as production builds it, over the world's clients, with a fixed revision suffix. */
function service(options: Partial<ProductionServiceOptions> = {}, ctx = world.ctx): ProductionService {
  return new ProductionService(ctx, { rolloutMs: 5_000, rollbackMs: 5_000, randomSuffix: () => "x1y2", ...options })
}

const candidate = {
  image: IMAGE_NEW,
  tag: "canary",
  label: "1.2.0",
  env: { APP_VERSION: "1.2.0", APP_COMMIT: "ccccccc" },
}
const CANDIDATE = `${SERVICE}-1-2-0-x1y2`

describe("deployCandidate", () => {
  beforeEach(() => setUp({ pollsUntilDone: 3 }))

  it("creates a tagged revision of the digest with NO traffic, waits for it, and returns its tag URL", async () => {
    const result = await service().deployCandidate(candidate, RUNNING)
    expect(result.revision).toBe(CANDIDATE)
    expect(result.previous).toBe(STABLE)
    // What a rollback must prove: the release the previous revision's container names (as seeded).
    expect(result.previousRelease).toEqual({ version: "1.1.0", commit: "bbbbbbb" })
    expect(result.url).toBe(`https://canary---${SERVICE}-123456789012.${REGION}.run.app`)
    expect(result.serviceUrl).toBe(`https://${SERVICE}-123456789012.${REGION}.run.app`)
    expect(result.image).toBe(IMAGE_NEW)
    expect(result.notices).toEqual([])
    expect(world.observed()).toEqual([
      [STABLE, 100, ""],
      [CANDIDATE, 0, "canary"],
    ])
    const rev = world.fake.state.revision(FULL, CANDIDATE)!
    expect(rev.state).toBe("ready")
    const container = (rev.template["containers"] as Array<{ image: string; env: Array<{ name: string; value: string }> }>)[0]!
    expect(container.image).toBe(IMAGE_NEW)
    expect(container.env).toEqual([
      { name: "APP_VERSION", value: "1.2.0" },
      { name: "APP_COMMIT", value: "ccccccc" },
    ])
    // The LRO was polled until done (3 polls), not assumed.
    expect(world.fake.state.requests.filter((r) => r.path.includes("/operations/")).length).toBe(3)
  })

  it("a previous revision that names no release (no APP_VERSION) leaves previousRelease out", async () => {
    // Someone deployed a revision by hand, without the pipeline's environment.
    await world.patch((svc) => {
      const [first, ...rest] = svc.template!.containers!
      return {
        ...svc,
        template: { ...svc.template, revision: `${SERVICE}-bare-dddd`, containers: [{ ...first, env: [{ name: "APP_COMMIT", value: "ddddddd" }] }, ...rest] },
        traffic: [{ type: "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", revision: `${SERVICE}-bare-dddd`, percent: 100 }],
      }
    })
    const result = await service().deployCandidate(candidate, RUNNING)
    expect(result.previous).toBe(`${SERVICE}-bare-dddd`)
    expect(result).not.toHaveProperty("previousRelease")
  })

  it("sends only writable fields back (no status, uri or conditions in the update body)", async () => {
    await service().deployCandidate(candidate, RUNNING)
    const patch = world.fake.state.requests.find((r) => r.method === "PATCH")!.body as Record<string, unknown>
    for (const outputOnly of ["uri", "trafficStatuses", "terminalCondition", "latestReadyRevision", "observedGeneration"]) {
      expect(patch).not.toHaveProperty(outputOnly)
    }
    expect(patch["etag"]).toBeTruthy()
    expect(patch["client"]).toBe("portfolio-pipeline")
  })

  it("refuses bad input before any call: tag + service over 46 characters, a tag instead of a digest", async () => {
    const ok = "t".repeat(46 - SERVICE.length)
    const long = await caught(service().deployCandidate({ ...candidate, tag: `${ok}x` }, RUNNING))
    expect(long).toBeInstanceOf(CloudRunInputError)
    expect(long.message).toContain("together are 47 characters; Cloud Run allows at most 46")
    expect(long.message).toContain("Shorten production.canary.tag")
    const tagged = await caught(service().deployCandidate({ ...candidate, image: "us-west1-docker.pkg.dev/demo/app:1.2.0" }, RUNNING))
    expect(tagged).toBeInstanceOf(ImageRefError)
    expect(tagged.message).toContain("not pinned by digest")
    expect(world.fake.state.requests).toEqual([])
  })

  it("refuses a time budget that is not positive, before any call", () => {
    expect(() => service({ rolloutMs: 0 })).toThrow(/deploying the candidate and shifting traffic: the time budget must be a positive number of ms, got 0/)
    expect(() => service({ rollbackMs: Number.NaN })).toThrow(/rolling back: the time budget/)
    expect(world.fake.state.requests).toEqual([])
  })

  it("says how to create a service that does not exist", async () => {
    const err = await caught(service({}, { ...world.ctx, target: { ...world.ctx.target, service: "nope" } }).deployCandidate(candidate, RUNNING))
    expect(err).toBeInstanceOf(CloudRunError)
    expect((err as CloudRunError).kind).toBe("not-found")
    expect(err.message).toContain("terraform/gcp")
  })

  it("a candidate that never becomes ready times out with a clear error, and traffic stays on the previous revision", async () => {
    world.fake.inject({ kind: "revision-never-ready" })
    const err = await caught(service({ rolloutMs: 300 }).deployCandidate(candidate, RUNNING))
    expect(err).toBeInstanceOf(CloudRunError)
    expect((err as CloudRunError).kind).toBe("timed-out")
    expect(err.message).toContain("did not finish within 0.3 s")
    expect(err.message).toContain(`${CANDIDATE} is reconciling`)
    expect(err.message).toContain("logs:")
    expect(world.observed()).toEqual([[STABLE, 100, ""]])
  })

  it("a candidate that fails to start is reported as revision-failed with Cloud Run's reason", async () => {
    world.fake.inject({ kind: "revision-fails", message: "Container called exit(1)." })
    const err = await caught(service().deployCandidate(candidate, RUNNING))
    expect((err as CloudRunError).kind).toBe("revision-failed")
    expect(err.message).toContain("Container called exit(1).")
    expect(err.message).toContain("The previous revision keeps serving")
    expect(world.observed()).toEqual([[STABLE, 100, ""]])
  })

  it("an LRO error is reported as operation-failed with its code", async () => {
    world.fake.inject({ kind: "operation-error", code: 8, message: "Quota exceeded for total allowable CPU per project per region." })
    const err = await caught(service().deployCandidate(candidate, RUNNING))
    expect((err as CloudRunError).kind).toBe("operation-failed")
    expect((err as CloudRunError).details.code).toBe(8)
    expect(err.message).toContain("RESOURCE_EXHAUSTED")
    expect(err.message).toContain(`Candidate ${CANDIDATE} is reconciling`)
    expect(err.message).toContain("quota")
  })

  it("a refused update names the permission to grant", async () => {
    world.fake.inject({ kind: "http-error", method: "PATCH", status: 403, message: "Permission 'run.services.update' denied on resource", times: Infinity })
    const err = await caught(service().deployCandidate(candidate, RUNNING))
    expect((err as CloudRunError).kind).toBe("rejected")
    expect(err.message).toContain("PERMISSION_DENIED (code 7)")
    expect(err.message).toContain("roles/run.developer")
  })

  it("re-plans after the service changed underneath (ABORTED): the retried write carries a fresh etag", async () => {
    world.fake.inject({ kind: "http-error", method: "PATCH", status: 409, message: "etag mismatch" })
    const result = await service().deployCandidate(candidate, RUNNING)
    expect(result.revision).toBe(CANDIDATE)
    const patches = world.fake.state.requests.filter((r) => r.method === "PATCH")
    expect(patches.length).toBe(2)
    expect(world.fake.state.requests.filter((r) => r.method === "GET" && r.path.endsWith(`/services/${SERVICE}`)).length).toBeGreaterThanOrEqual(2)
  })
})

describe("canary traffic: shift, read back, roll back", () => {
  beforeEach(() => setUp())

  it("shifts 10 → 50 → 100 and reads back who holds traffic at each step", async () => {
    const port = service()
    const d = await port.deployCandidate(candidate, RUNNING)
    const seen: string[][] = []
    for (const percent of [10, 50, 100]) {
      const step = await port.shift({ candidate: d.revision, previous: d.previous, percent, tag: "canary" }, RUNNING)
      seen.push(step.traffic.holders.map((h) => `${h.revision}=${h.percent}`))
      expect(step.traffic.tags).toEqual([expect.objectContaining({ tag: "canary", revision: d.revision })])
    }
    expect(seen).toEqual([
      [`${STABLE}=90`, `${CANDIDATE}=10`],
      [`${STABLE}=50`, `${CANDIDATE}=50`],
      [`${CANDIDATE}=100`],
    ])
    expect(world.observed()).toEqual([[CANDIDATE, 100, "canary"]])
    const reading = await readServiceTraffic(world.ctx, "canary", RUNNING)
    expect(reading.settled).toBe(true)
    expect(reading.stable).toBe(CANDIDATE)
  })

  it("after promotion, a tag someone removed stays removed, and the next deploy starts from the promoted revision", async () => {
    const port = service()
    const d = await port.deployCandidate(candidate, RUNNING)
    await port.shift({ candidate: d.revision, previous: d.previous, percent: 100, tag: "canary" }, RUNNING)
    // Not the module: someone clears the tag in the console (the tag URL stops working).
    await world.patch((svc) => ({ ...svc, traffic: (svc.traffic ?? []).map((t) => ({ ...t, tag: t.tag === "canary" ? "" : t.tag })) }))
    const reading = await readServiceTraffic(world.ctx, "canary", RUNNING)
    expect(reading.tags).toEqual([])
    expect(reading.holders).toEqual([{ revision: CANDIDATE, percent: 100 }])
    const next = await service({ randomSuffix: () => "n3x7" }).deployCandidate({ ...candidate, label: "1.3.0" }, RUNNING)
    expect(next.previous).toBe(CANDIDATE)
    expect(next.notices).toEqual([])
    expect(world.observed()).toEqual([
      [CANDIDATE, 100, ""],
      [`${SERVICE}-1-3-0-n3x7`, 0, "canary"],
    ])
  })

  it("rolls back from 50 % to the previous revision at 100 % and removes the candidate's tag", async () => {
    const port = service()
    const d = await port.deployCandidate(candidate, RUNNING)
    await port.shift({ candidate: d.revision, previous: d.previous, percent: 50, tag: "canary" }, RUNNING)
    const back = await port.rollBack({ to: d.previous, tag: "canary" }, RUNNING)
    expect(back.traffic.holders).toEqual([{ revision: STABLE, percent: 100 }])
    expect(back.traffic.tags).toEqual([])
    expect(back.notices).toEqual([`${CANDIDATE} loses its 50 %`])
    expect(world.observed()).toEqual([[STABLE, 100, ""]])
  })

  it("rolls back after a candidate that never became ready (its pending revision does not block the rollback)", async () => {
    world.fake.inject({ kind: "revision-never-ready" })
    const port = service({ rolloutMs: 200 })
    await caught(port.deployCandidate(candidate, RUNNING))
    const back = await port.rollBack({ to: STABLE, tag: "canary" }, RUNNING)
    expect(back.traffic.holders).toEqual([{ revision: STABLE, percent: 100 }])
    expect(world.fake.state.service(FULL)!.trafficStatuses.some((s) => s.tag === "canary")).toBe(false)
  })
})

describe("a traffic split left by an earlier run", () => {
  it("is normalised: the non-canary revision of a 50/50 tie goes back to 100 %, the old tag moves, and it is reported", async () => {
    await setUp({}, [
      { revision: OLD, percent: 50, tag: "canary" },
      { revision: STABLE, percent: 50 },
    ])
    const d = await service().deployCandidate(candidate, RUNNING)
    expect(d.previous).toBe(STABLE)
    expect(d.notices).toEqual([
      `traffic is split (${STABLE} 50 %, ${OLD} 50 %), probably left by an interrupted earlier run; treating ${STABLE} as the previous revision (tied for the most traffic; ties go to the revision without the 'canary' tag, then to the older one)`,
      `tag 'canary' pointed at ${OLD} (an earlier run's candidate); it now points at ${CANDIDATE}`,
    ])
    expect(world.observed()).toEqual([
      [STABLE, 100, ""],
      [CANDIDATE, 0, "canary"],
    ])
  })

  it("is normalised to the revision with the most traffic, keeping someone else's tag", async () => {
    await setUp({}, [
      { revision: OLD, percent: 70 },
      { revision: STABLE, percent: 30, tag: "blue" },
    ])
    const d = await service().deployCandidate(candidate, RUNNING)
    expect(d.previous).toBe(OLD)
    expect(d.notices[0]).toContain("traffic is split")
    expect(world.observed()).toEqual([
      [OLD, 100, ""],
      [STABLE, 0, "blue"],
      [CANDIDATE, 0, "canary"],
    ])
  })

  it("with LATEST at 100 % resolves LATEST to the latest ready revision", async () => {
    await setUp({}, [{ percent: 100 }])
    const d = await service().deployCandidate(candidate, RUNNING)
    expect(d.previous).toBe(STABLE)
    // Pinned by name now: LATEST would follow the candidate as soon as it became ready.
    expect(world.observed()).toEqual([
      [STABLE, 100, ""],
      [CANDIDATE, 0, "canary"],
    ])
  })
})

describe("the candidate's tag URL reaches the real app", () => {
  const apps: AppServer[] = []
  afterAll(async () => {
    await Promise.all(apps.map((a) => a.stop()))
  })

  it("serves /health with the candidate's version while the service URL still serves the previous one", async () => {
    const byVersion = new Map<string, string>()
    for (const [version, commit] of [["1.1.0", "bbbbbbb"], ["1.2.0", "ccccccc"]] as const) {
      const app = await startApp({ version, commit })
      apps.push(app)
      byVersion.set(version, app.url)
    }
    await setUp({ serve: (rev) => byVersion.get(rev.env["APP_VERSION"] ?? "") })
    const d = await service().deployCandidate(candidate, RUNNING)
    const onTag = (await (await fetch(`${d.url}/health`)).json()) as { version: string; commit: string }
    expect(onTag).toMatchObject({ version: "1.2.0", commit: "ccccccc" })
    const onService = (await (await fetch(`${d.serviceUrl}/health`)).json()) as { version: string }
    expect(onService.version).toBe("1.1.0")
  })
})

describe("facts", () => {
  beforeEach(() => setUp())

  it("reports the size Cloud Run states: minimum instances and the first container's limits", async () => {
    expect(await service().facts(RUNNING)).toEqual({ minInstances: 0 })
    await world.patch((svc) => {
      const [first, ...rest] = svc.template!.containers!
      return {
        ...svc,
        template: {
          ...svc.template,
          // A template change makes a revision, and revision names are unique.
          revision: `${SERVICE}-sized-cccc`,
          scaling: { minInstanceCount: 1 },
          containers: [{ ...first, resources: { limits: { cpu: "2", memory: "1Gi" } } }, ...rest],
        },
      }
    })
    expect(await service().facts(RUNNING)).toEqual({ minInstances: 1, cpu: "2", memory: "1Gi" })
  })
})

describe("servedTraffic", () => {
  const TOKEN = "ya29.production-service-token"
  let monitoring: MonitoringFake | undefined
  beforeEach(() => setUp())
  afterEach(async () => {
    await monitoring?.close()
    monitoring = undefined
  })

  it("reads this service's revision from Cloud Monitoring, connecting on the first reading only, and closes the client", async () => {
    monitoring = await startMonitoringFake({ token: TOKEN })
    const to = new Date()
    const from = new Date(to.getTime() - 30_000)
    monitoring.seed(revisionSeries({ project: PROJECT, region: REGION, service: SERVICE, revision: CANDIDATE }, [
      { code: 200, count: 95, latencyMs: 20 },
      { code: 503, count: 5, latencyMs: 2 },
    ], new Date(to.getTime() - 5_000)))
    let connects = 0
    const endpoint = monitoring.endpoint
    const p = service({
      connectMonitoring: () => {
        connects++
        return connectMonitoring({ auth: { kind: "access-token", token: TOKEN }, endpoint })
      },
    })
    expect(await p.servedTraffic({ revision: CANDIDATE, from, to }, RUNNING)).toMatchObject({ requests: 100, errors: 5, errorRate: 0.05 })
    expect(await p.servedTraffic({ revision: STABLE, from, to }, RUNNING)).toHaveProperty("noSignal")
    expect(connects).toBe(1)
    expect(monitoring.requests.every((q) => q.query["filter"]![0]!.includes(`resource.labels.service_name = "${SERVICE}"`))).toBe(true)
    await p.close()
  })

  it("without a connection, or when connecting fails, every reading is no signal saying why; an aborted signal rejects", async () => {
    expect(await service().servedTraffic({ revision: CANDIDATE, from: new Date(0), to: new Date() }, RUNNING)).toEqual({
      noSignal: expect.stringContaining("no Cloud Monitoring connection"),
    })
    const broken = service({ connectMonitoring: () => Promise.reject(new Error("--gcp-access-token is empty")) })
    expect(await broken.servedTraffic({ revision: CANDIDATE, from: new Date(0), to: new Date() }, RUNNING)).toEqual({
      noSignal: "could not connect to Cloud Monitoring: --gcp-access-token is empty",
    })
    await broken.close()
    const reason = new Error("cancelled")
    expect(await caught(service().servedTraffic({ revision: CANDIDATE, from: new Date(0), to: new Date() }, AbortSignal.abort(reason)))).toBe(reason)
  })
})
