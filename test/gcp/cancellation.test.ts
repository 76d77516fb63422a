// Cancellation of the production port (gcp/production-service.ts over operations.ts) against the Cloud Run
// fake: a step's signal that aborts mid-call ends the call at once with the abort's reason, and the fake's
// write log shows nothing sent after the abort instant — no re-read, no retried write, no further poll.
import { afterEach, describe, expect, it } from "vitest"
import { ProductionService } from "../../dagger/src/gcp/production-service.js"
import { caught, type CloudRunWorld, FAST, IMAGE_NEW, RUNNING, STABLE, startCloudRunWorld } from "../support/cloud-run-world.js"

let world: CloudRunWorld
afterEach(async () => {
  await world?.close()
})

const candidate = { image: IMAGE_NEW, tag: "canary", label: "1.2.0", env: { APP_VERSION: "1.2.0", APP_COMMIT: "ccccccc" } }

function port(poll = FAST): ProductionService {
  return new ProductionService({ ...world.ctx, poll }, { rolloutMs: 10_000, rollbackMs: 10_000, randomSuffix: () => "x1y2" })
}

/** Resolves once `condition` holds (checked every 2 ms); fails the test after 5 s. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((r) => setTimeout(r, 2))
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))
const isPoll = (path: string) => path.includes("/operations/")

/** Aborts `controller` with a step-timeout-like reason and returns the abort instant. */
function abort(controller: AbortController): { at: number; reason: Error } {
  const reason = new Error("step 'canary 10%' did not finish within 1 s and was cancelled")
  const at = Date.now()
  controller.abort(reason)
  return { at, reason }
}

describe("a step cancelled while the port works", () => {
  it("a shift whose operation is slow, aborted mid-poll, rejects at once with the abort reason; nothing is written after", async () => {
    world = await startCloudRunWorld()
    const p = port()
    const d = await p.deployCandidate(candidate, RUNNING)
    // Cloud Run is slow to answer the operation's polls.
    world.fake.inject({ kind: "latency", ms: 1_500, path: "/operations/", times: Infinity })
    const writesBefore = world.fake.state.writes().length
    const controller = new AbortController()
    const shifting = caught(p.shift({ candidate: d.revision, previous: d.previous, percent: 10, tag: "canary" }, controller.signal))
    const patched = world.fake.state.requests.length
    await until(() => world.fake.state.requests.slice(patched).some((r) => isPoll(r.path)), "the shift's operation is polled")

    const { at, reason } = abort(controller)
    const err = await shifting
    expect(Date.now() - at).toBeLessThan(100)
    expect(err).toBe(reason)
    // The write was sent before the abort; after it, nothing: not a poll, not a read-back, not a retry.
    await pause(1_800)
    expect(world.fake.state.writes().length).toBe(writesBefore + 1)
    expect(world.fake.state.requests.filter((r) => r.at > at)).toEqual([])
  })

  it("a write answered with a conflict is not re-read or re-sent once the step is cancelled in the retry pause", async () => {
    world = await startCloudRunWorld()
    const p = port({ ...FAST, initialDelayMs: 400 })
    const d = await p.deployCandidate(candidate, RUNNING)
    world.fake.inject({ kind: "http-error", method: "PATCH", status: 409, message: "etag mismatch" })
    const writesBefore = world.fake.state.writes().length
    const controller = new AbortController()
    const shifting = caught(p.shift({ candidate: d.revision, previous: d.previous, percent: 10, tag: "canary" }, controller.signal))
    await until(() => world.fake.state.writes().length === writesBefore + 1, "the first write arrives")
    // The conflict has been answered; the port now waits 400 ms before re-reading and writing again.
    await pause(100)

    const { at, reason } = abort(controller)
    expect(await shifting).toBe(reason)
    expect(Date.now() - at).toBeLessThan(100)
    await pause(700)
    expect(world.fake.state.writes().length).toBe(writesBefore + 1)
    expect(world.fake.state.requests.filter((r) => r.at > at)).toEqual([])
    expect(world.observed()).toEqual([
      [STABLE, 100, ""],
      [d.revision, 0, "canary"],
    ])
  })

  it("a candidate whose operation never finishes is cancelled with the abort reason, not reported as a Cloud Run failure", async () => {
    world = await startCloudRunWorld()
    world.fake.inject({ kind: "revision-never-ready" })
    const controller = new AbortController()
    const deploying = caught(port().deployCandidate(candidate, controller.signal))
    await until(() => world.fake.state.requests.some((r) => isPoll(r.path)), "the candidate's operation is polled")
    await pause(50)

    const { at, reason } = abort(controller)
    expect(await deploying).toBe(reason)
    await pause(200)
    expect(world.fake.state.requests.filter((r) => r.at > at)).toEqual([])
  })

  it("a call on a step already cancelled sends nothing at all", async () => {
    world = await startCloudRunWorld()
    const controller = new AbortController()
    const { reason } = abort(controller)
    const p = port()
    expect(await caught(p.deployCandidate(candidate, controller.signal))).toBe(reason)
    expect(await caught(p.rollBack({ to: STABLE, tag: "canary" }, controller.signal))).toBe(reason)
    expect(await caught(p.facts(controller.signal))).toBe(reason)
    expect(world.fake.state.requests).toEqual([])
  })
})
