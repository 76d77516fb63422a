// The health verdict as tables: one attempt judged against the expected release, then a run of attempts.
import { describe, expect, it } from "vitest"
import {
  classifyAttempt,
  commitMatches,
  healthVerdict,
  type AttemptOutcome,
  type Classification,
  type ExpectedRelease,
  type HealthSample,
} from "../../dagger/src/health/verdict.js"
import { json, NEW, OLD, okBody } from "./releases.js"

const resp = (httpStatus: number, body: string): AttemptOutcome => ({ kind: "response", httpStatus, body })
const sample = (outcome: AttemptOutcome, startedAtMs = 0, durationMs = 5): HealthSample => ({ startedAtMs, durationMs, outcome })

// ---------------------------------------------------------------------------------------------
describe("classifyAttempt (pure)", () => {
  const cases: Array<[string, AttemptOutcome, ExpectedRelease, Classification, RegExp]> = [
    ["new release, status ok", resp(200, okBody()), NEW, "ok", /status ok, version 1\.1\.0/],
    ["status 'healthy' is accepted too", resp(200, okBody(NEW, "healthy")), NEW, "ok", /status healthy/],
    ["short expected commit matches a full one", resp(200, okBody()), { commit: NEW.commit.slice(0, 7) }, "ok", /commit b2c3d4e/],
    ["upper-case expected commit matches", resp(200, okBody()), { commit: NEW.commit.toUpperCase() }, "ok", /status ok/],
    ["old release still serving", resp(200, okBody(OLD)), NEW, "wrongVersion", /serving version 1\.0\.0, commit a1b2.*expected version 1\.1\.0/],
    ["right version, wrong commit", resp(200, okBody({ ...NEW, commit: OLD.commit })), NEW, "wrongVersion", /expected version 1\.1\.0, commit b2c3/],
    ["6-char commit prefix is not enough", resp(200, okBody()), { commit: NEW.commit.slice(0, 6) }, "wrongVersion", /expected commit b2c3d4$/],
    ["503 while starting", resp(503, okBody(NEW, "starting")), NEW, "http5xx", /^HTTP 503 \(status: starting, version 1\.1\.0/],
    ["502 from a load balancer (HTML)", resp(502, "<html>Bad Gateway</html>"), NEW, "http5xx", /^HTTP 502$/],
    ["404 wrong path", resp(404, "Not found"), NEW, "http4xx", /^HTTP 404$/],
    ["unexpected 304", resp(304, ""), NEW, "other", /unexpected HTTP 304/],
    ["200 but not JSON", resp(200, "<!doctype html><h1>hello</h1>"), NEW, "badBody", /not JSON/],
    ["200 with a JSON array", resp(200, "[1,2]"), NEW, "badBody", /not an object/],
    ["200 without version", resp(200, json({ status: "ok", commit: NEW.commit })), NEW, "badBody", /lacks string field version/],
    ["200 without status", resp(200, json({ version: NEW.version })), { version: NEW.version }, "badBody", /lacks string field status/],
    ["200 with status draining", resp(200, okBody(NEW, "draining")), NEW, "unready", /status is "draining"/],
    ["nothing expected: any version counts", resp(200, json({ status: "ok" })), {}, "ok", /no version\/commit/],
    // A cut body is never parsed, even when its first bytes are a healthy answer.
    ["200 with a body over the limit", { kind: "response", httpStatus: 200, body: okBody(), cutAtBytes: 65536 }, NEW, "badBody", /^HTTP 200: body is larger than 64 KiB \(reading stopped there\)/],
    ["503 with a body over the limit is still http5xx", { kind: "response", httpStatus: 503, body: okBody(), cutAtBytes: 65536 }, NEW, "http5xx", /^HTTP 503$/],
    ["transport failures pass through", { kind: "transport", failure: "refused", detail: "connect ECONNREFUSED" }, NEW, "refused", /ECONNREFUSED/],
  ]
  it.each(cases)("%s", (_name, outcome, expected, classification, detail) => {
    const c = classifyAttempt(sample(outcome), expected)
    expect(c.classification).toBe(classification)
    expect(c.detail).toMatch(detail)
  })

  it.each([
    ["abc1234", "ABC1234", true],
    ["abc1234", "abc1234ffff", true],
    ["abc1234ffff", "abc1234", true],
    ["abc123", "abc123ff", false],
    ["abc1234", "abc1235", false],
    ["", "", false],
  ])("commitMatches(%s, %s) = %s", (a, b, want) => {
    expect(commitMatches(a, b)).toBe(want)
  })
})

// ---------------------------------------------------------------------------------------------
describe("healthVerdict (pure)", () => {
  const OK = resp(200, okBody())
  const OLDV = resp(200, okBody(OLD))
  const S503 = resp(503, okBody(NEW, "starting"))
  const REFUSED: AttemptOutcome = { kind: "transport", failure: "refused", detail: "refused" }
  // Samples start 100 ms apart and take 10 ms each.
  const run = (...outs: AttemptOutcome[]) => outs.map((o, i) => sample(o, i * 100, 10))

  const cases: Array<{
    name: string
    samples: HealthSample[]
    n: number
    budgetMs: number
    elapsedMs?: number
    state: "healthy" | "unhealthy" | "pending"
    streak: number
    decidedAtMs?: number
    healthySinceMs?: number
    counts?: Partial<Record<Classification, number>>
  }> = [
    { name: "no samples yet", samples: [], n: 3, budgetMs: 1000, state: "pending", streak: 0 },
    { name: "three successes in a row", samples: run(OK, OK, OK), n: 3, budgetMs: 1000, state: "healthy", streak: 3, decidedAtMs: 210, healthySinceMs: 0 },
    { name: "two are not enough", samples: run(OK, OK), n: 3, budgetMs: 1000, state: "pending", streak: 2 },
    {
      name: "old release answering does not count; streak starts with the new one",
      samples: run(OLDV, OLDV, OK, OK, OK),
      n: 3,
      budgetMs: 1000,
      state: "healthy",
      streak: 3,
      decidedAtMs: 410,
      healthySinceMs: 200,
      counts: { wrongVersion: 2, ok: 3 },
    },
    {
      name: "flapping never builds a streak",
      samples: run(OK, S503, OK, S503, OK, S503),
      n: 2,
      budgetMs: 600,
      elapsedMs: 600,
      state: "unhealthy",
      streak: 0,
      decidedAtMs: 600,
      counts: { ok: 3, http5xx: 3 },
    },
    { name: "a failure resets the streak", samples: run(OK, OK, REFUSED, OK), n: 3, budgetMs: 1000, state: "pending", streak: 1 },
    { name: "budget spent without streak", samples: run(REFUSED, REFUSED), n: 1, budgetMs: 110, state: "unhealthy", streak: 0, decidedAtMs: 110 },
    { name: "n = 1 passes on the first success", samples: run(S503, OK), n: 1, budgetMs: 1000, state: "healthy", streak: 1, decidedAtMs: 110, healthySinceMs: 100 },
    { name: "streak reached exactly at the budget still wins", samples: run(OK, OK), n: 2, budgetMs: 110, state: "healthy", streak: 2, decidedAtMs: 110 },
  ]
  it.each(cases)("$name", (c) => {
    const v = healthVerdict(c.samples, NEW, { consecutiveSuccesses: c.n, budgetMs: c.budgetMs }, c.elapsedMs)
    expect(v.state).toBe(c.state)
    expect(v.streak).toBe(c.streak)
    expect(v.attempts).toBe(c.samples.length)
    expect(v.decidedAtMs).toBe(c.decidedAtMs)
    if (c.healthySinceMs !== undefined) expect(v.healthySinceMs).toBe(c.healthySinceMs)
    for (const [k, n] of Object.entries(c.counts ?? {})) expect(v.counts[k as Classification]).toBe(n)
  })

  it("keeps the last failure and the last observed release", () => {
    const v = healthVerdict(run(OLDV, S503, OK), NEW, { consecutiveSuccesses: 3, budgetMs: 250 }, 300)
    expect(v.state).toBe("unhealthy")
    expect(v.lastFailure).toMatchObject({ classification: "http5xx", startedAtMs: 100 })
    expect(v.observed).toMatchObject({ version: NEW.version })
    expect(v.reason).toMatch(/no 3 consecutive successes within 250 ms \(last failure: http5xx: HTTP 503/)
  })
})
