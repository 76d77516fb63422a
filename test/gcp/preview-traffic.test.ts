// dagger/src/gcp/preview-traffic.ts: the preview's traffic decisions, on tables. Every case holds the split
// and every other tag exactly; only the preview's own tag moves or goes.
import { describe, expect, it } from "vitest"
import {
  isPreviewRevision,
  planPreviewRemoval,
  planPreviewTraffic,
  previewRevisionsToDelete,
  tagMismatches,
  validatePreviewTag,
} from "../../dagger/src/gcp/preview-traffic.js"
import { CloudRunInputError, readTraffic, type ServiceView } from "../../dagger/src/gcp/traffic.js"

const S = "portfolio-prod"
const REV = "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION"
const LATEST = "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"

/** 90/10 between two revisions, the canary tag, a foreign tag and an earlier preview of PR 7. */
const pinned: ServiceView = {
  latestReadyRevision: `${S}-pr-7-zzzz`,
  trafficStatuses: [
    { type: REV, revision: `${S}-a`, percent: 90, tag: "" },
    { type: REV, revision: `${S}-b`, percent: 10, tag: "canary" },
    { type: REV, revision: `${S}-old`, percent: 0, tag: "blue" },
    { type: REV, revision: `${S}-pr-7-zzzz`, percent: 0, tag: "pr-7" },
  ],
}

describe("planPreviewTraffic", () => {
  const cases: Array<{ about: string; service: ServiceView; revision: string; targets: unknown; notices: string[] }> = [
    {
      about: "a pinned 90/10 split, the canary and a foreign tag hold; the PR's tag moves to its new revision",
      service: pinned,
      revision: `${S}-pr-7-new1`,
      targets: [
        { revision: `${S}-a`, percent: 90 },
        { revision: `${S}-b`, percent: 10, tag: "canary" },
        { revision: `${S}-old`, percent: 0, tag: "blue" },
        { revision: `${S}-pr-7-new1`, percent: 0, tag: "pr-7" },
      ],
      notices: [`tag 'pr-7' moved from ${S}-pr-7-zzzz to ${S}-pr-7-new1`],
    },
    {
      about: "LATEST at 100 % is pinned to the revision it serves now, so the preview cannot inherit it",
      service: { latestReadyRevision: `${S}-a`, trafficStatuses: [{ type: LATEST, percent: 100 }] },
      revision: `${S}-pr-3-new1`,
      targets: [
        { revision: `${S}-a`, percent: 100 },
        { revision: `${S}-pr-3-new1`, percent: 0, tag: "pr-3" },
      ],
      notices: [],
    },
  ]
  for (const c of cases) {
    it(c.about, () => {
      const reading = readTraffic(c.service, { canaryTag: "canary" })
      const tag = c.revision.includes("pr-7") ? "pr-7" : "pr-3"
      const plan = planPreviewTraffic(reading, { tag, revision: c.revision })
      expect(plan.targets).toEqual(c.targets)
      expect(plan.notices).toEqual(c.notices)
      expect([...plan.expected]).toEqual(reading.holders.map((h) => [h.revision, h.percent]))
    })
  }

  it("refuses a service that serves nothing (the preview would become production)", () => {
    expect(() => planPreviewTraffic(readTraffic({ trafficStatuses: [] }), { tag: "pr-1", revision: `${S}-pr-1-x` })).toThrow(
      /serves no traffic.*Deploy production first/,
    )
  })
})

describe("planPreviewRemoval", () => {
  it("removes only the PR's tag; split, canary and foreign tag stay", () => {
    const plan = planPreviewRemoval(readTraffic(pinned, { canaryTag: "canary" }), "pr-7")!
    expect(plan.targets).toEqual([
      { revision: `${S}-a`, percent: 90 },
      { revision: `${S}-b`, percent: 10, tag: "canary" },
      { revision: `${S}-old`, percent: 0, tag: "blue" },
    ])
    expect([...plan.tags]).toEqual([["canary", `${S}-b`], ["blue", `${S}-old`]])
  })
  it("answers undefined when the tag is not there (nothing to write: a second removal is harmless)", () => {
    expect(planPreviewRemoval(readTraffic(pinned), "pr-8")).toBeUndefined()
  })
})

describe("previewRevisionsToDelete", () => {
  it("only the PR's own revisions without traffic or tag; others and the routed ones stay", () => {
    const reading = readTraffic({
      trafficStatuses: [
        { type: REV, revision: `${S}-a`, percent: 100 },
        { type: REV, revision: `${S}-pr-7-keep`, percent: 0, tag: "blue" },
      ],
    })
    const revisions = [`${S}-a`, `${S}-pr-7-b2`, `${S}-pr-7-a1`, `${S}-pr-7-keep`, `${S}-pr-70-a1`, `${S}-pr-8-a1`, `${S}-pr-7-toolongsuffix`]
    expect(previewRevisionsToDelete(reading, { service: S, pr: 7, revisions })).toEqual({
      remove: [`${S}-pr-7-a1`, `${S}-pr-7-b2`],
      keep: [{ revision: `${S}-pr-7-keep`, why: "tag(s) 'blue' point at it" }],
    })
  })
  it("a PR revision someone gave traffic is kept, naming its percent", () => {
    const reading = readTraffic({ trafficStatuses: [{ type: REV, revision: `${S}-pr-7-a1`, percent: 100 }] })
    expect(previewRevisionsToDelete(reading, { service: S, pr: 7, revisions: [`${S}-pr-7-a1`] }).keep).toEqual([
      { revision: `${S}-pr-7-a1`, why: "it holds 100 % of traffic" },
    ])
  })
})

describe("validatePreviewTag and isPreviewRevision", () => {
  const table: Array<[string, number, string | RegExp]> = [
    [S, 12, "pr-12"],
    ["a".repeat(41), 12, "pr-12"],
    ["a".repeat(42), 12, /together are 47 characters; Cloud Run allows at most 46.*production\.names\.service/],
    [S, 0, /positive whole number\), got 0/],
    [S, 1.5, /positive whole number\), got 1.5/],
  ]
  for (const [service, pr, want] of table) {
    it(`${service.length}-character service, PR ${pr}`, () => {
      if (typeof want === "string") expect(validatePreviewTag(service, pr)).toBe(want)
      else expect(() => validatePreviewTag(service, pr)).toThrow(CloudRunInputError)
      if (typeof want !== "string") expect(() => validatePreviewTag(service, pr)).toThrow(want)
    })
  }
  it("matches the PR's names only", () => {
    expect(isPreviewRevision(S, 7, `${S}-pr-7-ab12`)).toBe(true)
    expect(isPreviewRevision(S, 7, `${S}-pr-70-ab12`)).toBe(false)
    expect(isPreviewRevision(S, 7, `other-pr-7-ab12`)).toBe(false)
  })
})

describe("tagMismatches", () => {
  it("names a moved, missing and unexpected tag", () => {
    const reading = readTraffic(pinned)
    expect(tagMismatches(reading, new Map([["canary", `${S}-a`], ["blue", `${S}-old`], ["pr-7", `${S}-pr-7-zzzz`], ["green", `${S}-a`]]))).toEqual([
      `tag 'canary' points at ${S}-b, expected ${S}-a`,
      `tag 'green' is missing, expected ${S}-a`,
    ])
    expect(tagMismatches(reading, new Map([["canary", `${S}-b`]]))).toEqual([
      `tag 'blue' points at ${S}-old, expected no such tag`,
      `tag 'pr-7' points at ${S}-pr-7-zzzz, expected no such tag`,
    ])
  })
})
