// dagger/src/gcp/operations.ts against the Cloud Run fake through the real v2 clients: reads by name,
// the read-modify-write with its bounded retry of conflicting writes, the read-back check.
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { CloudRunError } from "../../dagger/src/gcp/errors.js"
import {
  getRevision,
  getService,
  readServiceTraffic,
  type Service,
  toProtoTarget,
  updateService,
  verifyTraffic,
  writable,
} from "../../dagger/src/gcp/operations.js"
import { type PlannedTraffic, planTrafficShift, readTraffic } from "../../dagger/src/gcp/traffic.js"
import { caught, type CloudRunWorld, OLD, RUNNING, SERVICE, STABLE, startCloudRunWorld } from "../support/cloud-run-world.js"

let world: CloudRunWorld
beforeEach(async () => {
  world = await startCloudRunWorld()
})
afterEach(async () => {
  await world?.close()
})

/** A write that moves 10 % to the old revision (a real change each time it is applied). */
function tenPercentToOld(current: Service): { service: Service; plan: PlannedTraffic } {
  const plan = planTrafficShift(readTraffic(current), { candidate: OLD, stable: STABLE, percent: 10, tag: "canary" })
  return { service: { ...writable(current), traffic: plan.targets.map(toProtoTarget) }, plan }
}

const MOVE = { doing: "moving 10 %", timeoutMs: 5_000, signal: RUNNING }
const patches = () => world.fake.state.requests.filter((r) => r.method === "PATCH")

describe("reads", () => {
  it("reads the service, its traffic and its URL", async () => {
    expect((await getService(world.ctx, RUNNING)).name).toBe(`projects/demo-project/locations/us-west1/services/${SERVICE}`)
    const reading = await readServiceTraffic(world.ctx, undefined, RUNNING)
    expect(reading.holders).toEqual([{ revision: STABLE, percent: 100 }])
    expect(reading.serviceUrl).toBe(`https://${SERVICE}-123456789012.us-west1.run.app`)
  })

  it("a service that does not exist is not-found, saying how to create it", async () => {
    const err = await caught(getService({ ...world.ctx, target: { ...world.ctx.target, service: "nope" } }, RUNNING))
    expect(err).toBeInstanceOf(CloudRunError)
    expect((err as CloudRunError).kind).toBe("not-found")
    expect(err.message).toContain("Cloud Run service 'nope' does not exist in project 'demo-project', region 'us-west1'")
    expect(err.message).toContain("terraform/gcp")
  })

  it("a revision that does not exist is named with its code", async () => {
    expect((await getRevision(world.ctx, STABLE, RUNNING)).name).toContain(`/revisions/${STABLE}`)
    const err = await caught(getRevision(world.ctx, `${SERVICE}-gone-zzzz`, RUNNING))
    expect((err as CloudRunError).kind).toBe("not-found")
    expect(err.message).toContain(`Cloud Run reading revision ${SERVICE}-gone-zzzz failed with NOT_FOUND (code 5)`)
  })
})

describe("updateService", () => {
  it("writes, waits for the operation and returns its result", async () => {
    const { result, plan } = await updateService(world.ctx, MOVE, tenPercentToOld)
    expect(result.name).toContain(SERVICE)
    expect(Object.fromEntries(plan.expected)).toEqual({ [STABLE]: 90, [OLD]: 10 })
    expect(world.observed()).toEqual([
      [STABLE, 90, ""],
      [OLD, 10, "canary"],
    ])
  })

  it("re-reads and retries when the service changed underneath (ABORTED), a bounded number of times", async () => {
    world.fake.inject({ kind: "http-error", method: "PATCH", status: 409, message: "etag mismatch" })
    await updateService(world.ctx, MOVE, tenPercentToOld)
    expect(patches().length).toBe(2)

    world.fake.inject({ kind: "http-error", method: "PATCH", status: 409, message: "etag mismatch", times: Infinity })
    const err = await caught(updateService(world.ctx, MOVE, tenPercentToOld))
    expect(err.message).toContain("Cloud Run moving 10 % failed with ABORTED (code 10)")
    expect(patches().length).toBe(2 + 3)
  })

  it("retries UNAVAILABLE too, but not a refusal", async () => {
    world.fake.inject({ kind: "http-error", method: "PATCH", status: 503, message: "backend unavailable" })
    await updateService(world.ctx, MOVE, tenPercentToOld)
    expect(patches().length).toBe(2)

    world.fake.inject({ kind: "http-error", method: "PATCH", status: 400, message: "bad traffic" })
    const err = await caught(updateService(world.ctx, MOVE, tenPercentToOld))
    expect((err as CloudRunError).kind).toBe("rejected")
    expect(err.message).toContain("INVALID_ARGUMENT (code 3)")
    expect(patches().length).toBe(2 + 1)
  })

  it("pauses longer before each retry (attempt × initialDelayMs)", async () => {
    world.fake.inject({ kind: "http-error", method: "PATCH", status: 409, message: "etag mismatch", times: 2 })
    const ctx = { ...world.ctx, poll: { initialDelayMs: 100, multiplier: 1, maxDelayMs: 10 } }
    const started = performance.now()
    await updateService(ctx, MOVE, tenPercentToOld)
    // 100 ms after the first conflict, 200 ms after the second.
    expect(performance.now() - started).toBeGreaterThanOrEqual(290)
    expect(patches().length).toBe(3)
  })
})

describe("verifyTraffic", () => {
  it("passes when Cloud Run reports the planned traffic, and names every difference when not", async () => {
    const { plan } = await updateService(world.ctx, MOVE, tenPercentToOld)
    expect((await verifyTraffic(world.ctx, "moving 10 %", plan, "canary", RUNNING)).holders).toEqual([
      { revision: STABLE, percent: 90 },
      { revision: OLD, percent: 10 },
    ])
    const wanted: PlannedTraffic = { targets: [], expected: new Map([[STABLE, 100]]), notices: [] }
    const err = await caught(verifyTraffic(world.ctx, "rolling back", wanted, undefined, RUNNING))
    expect((err as CloudRunError).kind).toBe("traffic-mismatch")
    expect(err.message).toContain(`after rolling back, Cloud Run reports traffic ${STABLE} 90 %, ${OLD} 10 %`)
    expect(err.message).toContain(`${STABLE} holds 90 %, expected 100 %; ${OLD} holds 10 %, expected 0 %`)
  })
})
