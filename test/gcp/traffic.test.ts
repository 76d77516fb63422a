// dagger/src/gcp/traffic.ts: pure traffic decisions. Planners run on golden fixtures
// (test/fixtures/traffic/<case>/{input.json, expected.json}: a Service as Cloud Run reports it, the
// operation, the reading and plan expected; a "read" case checks the reading only); the small rules and
// the revision verdict run on inline tables.
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { ImageRefError } from "../../dagger/src/supply-chain/image-ref.js"
import {
  CloudRunInputError,
  candidateRevisionName,
  conditionState,
  describeTraffic,
  type PlannedTraffic,
  planCandidateTraffic,
  planRollback,
  planTrafficShift,
  readTraffic,
  revisionVerdict,
  type ServiceView,
  shortName,
  trafficMismatches,
  validateCandidate,
  validateTag,
} from "../../dagger/src/gcp/traffic.js"
import { repoRoot } from "../tools/paths.js"

type Op =
  | { kind: "candidate"; candidate: string; tag: string }
  | { kind: "shift"; candidate: string; stable: string; percent: number; tag: string }
  | { kind: "rollback"; to: string; removeTags: string[] }
  | { kind: "read" }

interface Input {
  about: string
  service: ServiceView
  canaryTag: string
  op: Op
}

interface Expected {
  reading: unknown
  plan?: { targets: unknown; expected: Record<string, number>; notices: string[] }
  error?: string
}

const FIXTURES = join(repoRoot, "test/fixtures/traffic")
const cases = readdirSync(FIXTURES).sort()

function run(op: Exclude<Op, { kind: "read" }>, reading: ReturnType<typeof readTraffic>): PlannedTraffic {
  switch (op.kind) {
    case "candidate":
      return planCandidateTraffic(reading, op)
    case "shift":
      return planTrafficShift(reading, op)
    case "rollback":
      return planRollback(reading, op)
  }
}

describe("traffic planners (golden fixtures)", () => {
  it("has fixtures", () => {
    expect(cases.length).toBeGreaterThanOrEqual(10)
  })

  it.each(cases)("%s", (name) => {
    const input = JSON.parse(readFileSync(join(FIXTURES, name, "input.json"), "utf8")) as Input
    const expected = JSON.parse(readFileSync(join(FIXTURES, name, "expected.json"), "utf8")) as Expected
    const reading = readTraffic(input.service, { canaryTag: input.canaryTag })
    expect(reading, input.about).toEqual(expected.reading)
    const op = input.op
    if (op.kind === "read") {
      expect(expected.plan, "a read case expects no plan").toBeUndefined()
      return
    }
    if (expected.error !== undefined) {
      expect(() => run(op, reading)).toThrow(CloudRunInputError)
      expect(() => run(op, reading)).toThrow(expected.error)
      return
    }
    const plan = run(op, reading)
    expect({ targets: plan.targets, expected: Object.fromEntries(plan.expected), notices: plan.notices }, input.about).toEqual(expected.plan)
    // Every plan is a valid Cloud Run traffic list: percentages add up to 100, tags are unique.
    expect(plan.targets.reduce((sum, t) => sum + t.percent, 0)).toBe(100)
    const tags = plan.targets.flatMap((t) => (t.tag ? [t.tag] : []))
    expect(new Set(tags).size).toBe(tags.length)
  })
})

describe("validateTag: tag + service name ≤ 46 characters, DNS-label syntax", () => {
  const service = "portfolio-prod" // 14 characters
  it.each([
    ["canary", true],
    ["c", true],
    ["t".repeat(32), true],
    ["t".repeat(33), false],
    ["Canary", false],
    ["1canary", false],
    ["canary-", false],
    ["can_ary", false],
    ["", false],
  ])("%j → %s", (tag, ok) => {
    if (ok) expect(() => validateTag(service, tag)).not.toThrow()
    else expect(() => validateTag(service, tag)).toThrow(CloudRunInputError)
  })

  it("says how long the tag may be", () => {
    expect(() => validateTag(service, "t".repeat(40))).toThrow("Shorten production.canary.tag to at most 32 characters")
  })
})

describe("validateCandidate", () => {
  const digest = `us-west1-docker.pkg.dev/p/repo/app@sha256:${"a".repeat(64)}`
  it.each([
    [{ service: "portfolio", tag: "canary", image: digest }, digest],
    [{ service: "portfolio", tag: "canary", image: `us-west1-docker.pkg.dev/p/repo/app:1.2.0@sha256:${"a".repeat(64)}` }, digest],
  ])("accepts %j", (input, out) => {
    expect(validateCandidate(input)).toBe(out)
  })

  it.each([
    [{ service: "portfolio", tag: "canary", image: "us-west1-docker.pkg.dev/p/repo/app:1.2.0" }, ImageRefError, "not pinned by digest"],
    [{ service: "portfolio", tag: "canary", image: `us-west1-docker.pkg.dev/p/repo/app@sha256:${"a".repeat(63)}` }, ImageRefError, "64 lower-case hex"],
    [{ service: "Portfolio", tag: "canary", image: digest }, CloudRunInputError, "production.names.service"],
    [{ service: "p".repeat(50), tag: "c", image: digest }, CloudRunInputError, "at most 49 characters"],
    [{ service: "portfolio", tag: "x".repeat(40), image: digest }, CloudRunInputError, "at most 46"],
  ])("rejects %j", (input, type, text) => {
    expect(() => validateCandidate(input)).toThrow(type)
    expect(() => validateCandidate(input)).toThrow(text)
  })
})

describe("candidateRevisionName", () => {
  it.each([
    ["portfolio", "1.2.0", "ab12", "portfolio-1-2-0-ab12"],
    ["portfolio", "v2.0.0+build.7", "x1y2", "portfolio-v2-0-0-build-7-x1y2"],
    ["portfolio", "---", "x1y2", "portfolio-x1y2"],
    ["portfolio", "A".repeat(80), "x1y2", `portfolio-${"a".repeat(63 - "portfolio".length - 4 - 2)}-x1y2`],
  ])("(%s, %s, %s) → %s", (service, label, suffix, name) => {
    const got = candidateRevisionName(service, label, suffix)
    expect(got).toBe(name)
    expect(got.length).toBeLessThanOrEqual(63)
    expect(got.startsWith(`${service}-`)).toBe(true)
    expect(got).toMatch(/^[a-z]([-a-z0-9]*[a-z0-9])?$/)
  })

  it("rejects a suffix that could break the name", () => {
    expect(() => candidateRevisionName("portfolio", "1.0", "AB")).toThrow(CloudRunInputError)
  })
})

describe("trafficMismatches", () => {
  const reading = (holders: Array<[string, number]>) =>
    readTraffic({ trafficStatuses: holders.map(([revision, percent]) => ({ type: 2, revision, percent })) })
  it.each([
    [[["a", 90], ["b", 10]], { a: 90, b: 10 }, []],
    [[["a", 100]], { a: 90, b: 10 }, ["a holds 100 %, expected 90 %", "b holds 0 %, expected 10 %"]],
    [[["a", 50], ["c", 50]], { a: 50, b: 50 }, ["b holds 0 %, expected 50 %", "c holds 50 %, expected 0 %"]],
  ] as Array<[Array<[string, number]>, Record<string, number>, string[]]>)("%j vs %j", (actual, expected, problems) => {
    expect(trafficMismatches(reading(actual), new Map(Object.entries(expected)))).toEqual(problems)
  })
})

describe("small readers", () => {
  it.each([
    [{ state: "CONDITION_SUCCEEDED" }, "succeeded"],
    [{ state: 4 }, "succeeded"],
    [{ state: 3 }, "failed"],
    [{ state: "CONDITION_RECONCILING" }, "reconciling"],
    [{ state: 1 }, "pending"],
    [{}, "unknown"],
    [null, "unknown"],
  ] as const)("conditionState(%j) = %s", (c, state) => {
    expect(conditionState(c)).toBe(state)
  })

  it.each([
    ["projects/p/locations/l/services/s/revisions/r-1", "r-1"],
    ["r-1", "r-1"],
    ["", undefined],
    [null, undefined],
  ] as const)("shortName(%j) = %j", (name, short) => {
    expect(shortName(name)).toBe(short)
  })

  it("describes traffic in one line", () => {
    expect(describeTraffic(readTraffic({ trafficStatuses: [{ type: 2, revision: "a", percent: 90 }, { type: 2, revision: "b", percent: 10 }] }))).toBe(
      "a 90 %, b 10 %",
    )
    expect(describeTraffic(readTraffic({}))).toBe("no revision holds traffic")
  })

  it("reports percentages that do not add up to 100", () => {
    expect(readTraffic({ trafficStatuses: [{ type: 2, revision: "a", percent: 60 }] }).notices).toEqual(["traffic percentages add up to 60 %, not 100 %"])
  })
})

describe("planTrafficShift input checks", () => {
  const reading = readTraffic({ trafficStatuses: [{ type: 2, revision: "a", percent: 100 }] })
  it.each([-1, 101, 12.5, Number.NaN])("refuses percent %s", (percent) => {
    expect(() => planTrafficShift(reading, { candidate: "c", stable: "a", percent, tag: "canary" })).toThrow(CloudRunInputError)
  })
  it("refuses shifting to the revision already serving", () => {
    expect(() => planTrafficShift(reading, { candidate: "a", stable: "a", percent: 10, tag: "canary" })).toThrow("the same")
  })
})

describe("revisionVerdict", () => {
  const name = "projects/p/locations/us-west1/services/portfolio/revisions/portfolio-1-2-0-x1y2"
  const short = "portfolio-1-2-0-x1y2"
  it.each([
    [[{ type: "Ready", state: "CONDITION_SUCCEEDED" }], { state: "success", detail: `${short} is ready` }],
    [[{ type: "Ready", state: 4 }], { state: "success", detail: `${short} is ready` }],
    [
      [{ type: "Ready", state: "CONDITION_FAILED", message: "Container called exit(1)." }],
      { state: "failure", kind: "deployment-failed", detail: `${short} failed to become ready: Container called exit(1).` },
    ],
    [[{ type: "Ready", state: 2, message: "Deploying revision." }], { state: "pending", detail: `${short} is reconciling: Deploying revision.` }],
    // Another condition succeeding is not readiness.
    [[{ type: "ContainerHealthy", state: "CONDITION_SUCCEEDED" }], { state: "pending", detail: `${short} is not reporting readiness yet` }],
    [[], { state: "pending", detail: `${short} is not reporting readiness yet` }],
  ])("%j", (conditions, verdict) => {
    expect(revisionVerdict({ name, conditions })).toEqual(verdict)
  })
})
