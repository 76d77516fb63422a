// dagger/src/gcp/preview.ts (the PreviewPort) against the Cloud Run fake through the module's own clients.
// The seeded service has a pinned 90/10 split, the canary tag and a foreign tag: after a deploy, a re-deploy
// and a removal the fake must still report exactly that split and those tags; only `pr-<n>` moves or goes.
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { PreviewService } from "../../dagger/src/gcp/preview.js"
import { ProductionService } from "../../dagger/src/gcp/production-service.js"
import { CloudRunInputError } from "../../dagger/src/gcp/traffic.js"
import type { CloudRunFakeOptions } from "../support/cloud-run-fake.js"
import { caught, type CloudRunWorld, FULL, IMAGE_NEW, OLD, RUNNING, SERVICE, STABLE, startCloudRunWorld } from "../support/cloud-run-world.js"

let world: CloudRunWorld
let suffixes: string[]

/** 90 % on STABLE, 10 % on OLD behind the canary tag, and someone else's tag 'blue' on OLD. */
const PINNED = [
  { revision: STABLE, percent: 90 },
  { revision: OLD, percent: 10, tag: "canary" },
  { revision: OLD, percent: 0, tag: "blue" },
]

async function setUp(options: CloudRunFakeOptions = {}) {
  world = await startCloudRunWorld({ pollsUntilDone: 2, ...options }, PINNED)
  suffixes = ["aaa1", "bbb2", "ccc3"]
}
afterEach(async () => {
  await world?.close()
})

function preview(): PreviewService {
  return new PreviewService(world.ctx, { rolloutMs: 5_000, randomSuffix: () => suffixes.shift()! })
}

/** Traffic per revision and tags, as the fake observes them (not the module's read-back). */
function observedShape(): { split: Record<string, number>; tags: Record<string, string> } {
  const split: Record<string, number> = {}
  const tags: Record<string, string> = {}
  for (const [revision, percent, tag] of world.observed()) {
    if (percent > 0) split[revision] = (split[revision] ?? 0) + percent
    if (tag) tags[tag] = revision
  }
  return { split, tags }
}

const BEFORE = { split: { [STABLE]: 90, [OLD]: 10 }, tags: { canary: OLD, blue: OLD } }
const input = (tag = "pr-12") => ({ image: IMAGE_NEW, tag, env: { APP_VERSION: "1.2.0-pr.12", APP_COMMIT: "c".repeat(40) } })
const liveRevisions = () => world.fake.state.revisionsOf(FULL).filter((r) => !r.deleted).map((r) => r.name).sort()

describe("PreviewService", () => {
  beforeEach(() => setUp())

  it("deploy: a revision at 0 % behind pr-12; the 90/10 split, the canary and the foreign tag hold", async () => {
    expect(observedShape()).toEqual(BEFORE)
    const d = await preview().deploy(input(), RUNNING)
    expect(d.revision).toBe(`${SERVICE}-pr-12-aaa1`)
    expect(d.url).toMatch(/^https:\/\/pr-12---portfolio-prod-/)
    expect(d.image).toBe(IMAGE_NEW)
    expect(observedShape()).toEqual({ split: BEFORE.split, tags: { ...BEFORE.tags, "pr-12": d.revision } })
    const env = (world.fake.state.revision(FULL, d.revision)!.template["containers"] as Array<{ env: Array<{ name: string; value: string }> }>)[0]!.env
    expect(env).toEqual(expect.arrayContaining([{ name: "APP_VERSION", value: "1.2.0-pr.12" }]))
  })

  it("re-deploy (a new push) moves the tag to a new revision, and says so; nothing else moves", async () => {
    const first = await preview().deploy(input(), RUNNING)
    const second = await preview().deploy(input(), RUNNING)
    expect(second.revision).toBe(`${SERVICE}-pr-12-bbb2`)
    expect(second.notices).toEqual([`tag 'pr-12' moved from ${first.revision} to ${second.revision}`])
    expect(observedShape()).toEqual({ split: BEFORE.split, tags: { ...BEFORE.tags, "pr-12": second.revision } })
  })

  it("remove: the tag goes and the PR's revisions are deleted; other PRs' and production's stay, split and tags hold", async () => {
    await preview().deploy(input(), RUNNING)
    await preview().deploy(input(), RUNNING)
    const other = await preview().deploy(input("pr-13"), RUNNING)
    const removal = await preview().remove({ tag: "pr-12", pr: 12 }, RUNNING)
    expect(removal).toMatchObject({ tagRemoved: true, deleted: [`${SERVICE}-pr-12-aaa1`, `${SERVICE}-pr-12-bbb2`], kept: [] })
    expect(observedShape()).toEqual({ split: BEFORE.split, tags: { ...BEFORE.tags, "pr-13": other.revision } })
    expect(liveRevisions()).toEqual([OLD, other.revision, STABLE].sort())
    // A second removal (a re-run of the closed job) changes nothing and says so.
    const writes = world.fake.state.writes().length
    expect(await preview().remove({ tag: "pr-12", pr: 12 }, RUNNING)).toMatchObject({ tagRemoved: false, deleted: [] })
    expect(world.fake.state.writes().length).toBe(writes)
  })

  it("a PR revision someone gave a tag of their own is kept and named, not deleted", async () => {
    const d = await preview().deploy(input(), RUNNING)
    await world.patch((s) => ({ ...s, traffic: [...(s.traffic ?? []), { type: "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", revision: d.revision, percent: 0, tag: "demo" }] }))
    const removal = await preview().remove({ tag: "pr-12", pr: 12 }, RUNNING)
    expect(removal.deleted).toEqual([])
    expect(removal.kept).toEqual([`${d.revision} (tag(s) 'demo' point at it)`])
    expect(observedShape().tags).toEqual({ ...BEFORE.tags, demo: d.revision })
  })

  it("a too-long tag is refused before any request", async () => {
    const before = world.fake.state.requests.length
    const err = await caught(preview().deploy(input("pr-12345678901234567890123456789012"), RUNNING))
    expect(err).toBeInstanceOf(CloudRunInputError)
    expect(err.message).toMatch(/at most 46/)
    expect(world.fake.state.requests.length).toBe(before)
  })
})

describe("a preview revision that never becomes ready", () => {
  beforeEach(() => setUp())
  it("fails naming the revision; production traffic and tags untouched", async () => {
    world.fake.inject({ kind: "revision-fails", message: "container exited 1" })
    const err = await caught(preview().deploy(input(), RUNNING))
    expect(err.message).toMatch(/pr-12-aaa1/)
    expect(observedShape().split).toEqual(BEFORE.split)
    expect(observedShape().tags).toMatchObject(BEFORE.tags)
  })
})

describe("beside production", () => {
  beforeEach(() => setUp())

  it("a production candidate and its rollback leave the preview's tag where it is", async () => {
    const d = await preview().deploy(input(), RUNNING)
    const production = new ProductionService(world.ctx, { rolloutMs: 5_000, rollbackMs: 5_000, randomSuffix: () => "p1p1" })
    const c = await production.deployCandidate({ image: IMAGE_NEW, tag: "canary", label: "1.3.0", env: { APP_VERSION: "1.3.0", APP_COMMIT: "d".repeat(40) } }, RUNNING)
    expect(observedShape().tags).toMatchObject({ "pr-12": d.revision, blue: OLD, canary: c.revision })
    await production.rollBack({ to: c.previous, tag: "canary" }, RUNNING)
    expect(observedShape().tags).toEqual({ "pr-12": d.revision, blue: OLD })
  })

  it("a cancelled step sends nothing: an aborted signal rejects with its reason before any write", async () => {
    const stop = new AbortController()
    stop.abort(new Error("step cancelled"))
    const writes = world.fake.state.writes().length
    expect((await caught(preview().deploy(input(), stop.signal))).message).toBe("step cancelled")
    expect((await caught(preview().remove({ tag: "pr-12", pr: 12 }, stop.signal))).message).toBe("step cancelled")
    expect(world.fake.state.writes().length).toBe(writes)
  })
})
