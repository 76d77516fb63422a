// Health check: the pure verdict as tables, the poller on an injected clock, and the real thing over HTTP
// against a fault-injecting server (test/support/faulty-server.ts).
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import {
  checkHealth,
  classifyAttempt,
  classifyTransportError,
  commitMatches,
  healthUrl,
  healthVerdict,
  resolveSettings,
  toHealthCheck,
  FAILURE_KINDS,
  HealthCheckInputError,
  type AttemptOutcome,
  type Classification,
  type ExpectedRelease,
  type HealthCheckIo,
  type HealthSample,
} from "../../dagger/src/health/health-check.js"
import { startApp, type AppServer } from "../support/app-server.js"
import { callFunction, startEngineDouble, type EngineDouble } from "../support/engine-double.js"
import { introspectModule, isRequired, toKebab, typeName } from "../support/introspect.js"
import { closedPort, cycle, healthy, sequence, startFaultyServer, switchAt, type FaultyServer } from "../support/faulty-server.js"

const NEW = { version: "1.1.0", commit: "b2c3d4e5f60718293a4b5c6d7e8f901234567890" }
const OLD = { version: "1.0.0", commit: "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678" }

const json = (o: unknown) => JSON.stringify(o)
const resp = (httpStatus: number, body: string): AttemptOutcome => ({ kind: "response", httpStatus, body })
const sample = (outcome: AttemptOutcome, startedAtMs = 0, durationMs = 5): HealthSample => ({ startedAtMs, durationMs, outcome })
const okBody = (r = NEW, status = "ok") => json({ status, ...r, startedAt: "2025-01-01T00:00:00.000Z" })

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

// ---------------------------------------------------------------------------------------------
describe("transport error classification (pure, on undici's error shapes)", () => {
  const fetchFailed = (cause: object) => Object.assign(new TypeError("fetch failed"), { cause })
  const withCode = (message: string, code: string) => Object.assign(new Error(message), { code })
  it.each([
    ["refused", fetchFailed(withCode("connect ECONNREFUSED 127.0.0.1:1", "ECONNREFUSED")), "refused"],
    ["refused via AggregateError (IPv4 and IPv6 both tried)", fetchFailed(Object.assign(new AggregateError([withCode("a", "ECONNREFUSED"), withCode("b", "ECONNREFUSED")]), { code: "ECONNREFUSED" })), "refused"],
    ["dns", fetchFailed(withCode("getaddrinfo ENOTFOUND x.invalid", "ENOTFOUND")), "dns"],
    ["dns temporary", fetchFailed(withCode("getaddrinfo EAI_AGAIN x", "EAI_AGAIN")), "dns"],
    ["socket closed", fetchFailed(withCode("other side closed", "UND_ERR_SOCKET")), "reset"],
    ["body cut short", Object.assign(new TypeError("terminated"), { cause: withCode("other side closed", "UND_ERR_SOCKET") }), "reset"],
    ["reset", fetchFailed(withCode("read ECONNRESET", "ECONNRESET")), "reset"],
    ["our AbortSignal.timeout", new DOMException("The operation was aborted due to timeout", "TimeoutError"), "timeout"],
    ["undici connect timeout", fetchFailed(withCode("Connect Timeout Error", "UND_ERR_CONNECT_TIMEOUT")), "timeout"],
    ["tls", fetchFailed(withCode("wrong version number", "ERR_SSL_WRONG_VERSION_NUMBER")), "tls"],
    ["self-signed", fetchFailed(withCode("self-signed certificate", "DEPTH_ZERO_SELF_SIGNED_CERT")), "tls"],
    ["fetch refusing a port", fetchFailed(new Error("bad port")), "other"],
  ])("%s", (_name, err, failure) => {
    expect(classifyTransportError(err, 2000).failure).toBe(failure)
  })
})

// ---------------------------------------------------------------------------------------------
describe("inputs are validated before any request", () => {
  it.each([
    ["not-a-url", /not an absolute URL.*pass the service's base URL with its scheme/],
    ["ftp://example.com", /uses ftp; only http and https are supported/],
    ["file:///etc/passwd", /uses file; only http and https/],
    ["http://admin:hunter2@example.com", /contains credentials/],
  ])("url %s", (url, message) => {
    expect(() => healthUrl(url)).toThrow(message)
    expect(() => healthUrl(url)).toThrow(HealthCheckInputError)
  })

  it("never echoes a password from the URL", () => {
    expect(() => healthUrl("http://admin:hunter2@example.com")).toThrow(/\/\/\*\*\*@example\.com/)
    try {
      healthUrl("http://admin:hunter2@example.com")
    } catch (err) {
      expect(String(err)).not.toContain("hunter2")
    }
  })

  it.each([
    ["https://svc.example.com", "/health", "https://svc.example.com/health"],
    ["https://svc.example.com/", "/health", "https://svc.example.com/health"],
    ["http://alb.example.com/app/", "/health", "http://alb.example.com/app/health"],
    ["http://127.0.0.1:8080#frag", "/healthz", "http://127.0.0.1:8080/healthz"],
  ])("healthUrl(%s, %s) = %s", (base, path, want) => {
    expect(healthUrl(base, path)).toBe(want)
  })

  it.each([
    [{ intervalMs: -1 }, /`intervalMs` to be an integer from 10 to 60000 ms, got `-1` \(number\)/],
    [{ consecutiveSuccesses: 0 }, /`consecutiveSuccesses` to be an integer from 1/],
    [{ budgetSeconds: 1.5 }, /`budgetSeconds`.*got `1.5`/],
    [{ requestTimeoutMs: 0 }, /`requestTimeoutMs`/],
    [{ path: "health" }, /`path` to be an absolute URL path like \/health/],
  ])("settings %o are rejected", (bad, message) => {
    expect(() => resolveSettings(bad)).toThrow(message)
  })

  it("fills defaults and ignores undefined fields", () => {
    expect(resolveSettings({ intervalMs: undefined, budgetSeconds: 5 })).toEqual({
      intervalMs: 250,
      requestTimeoutMs: 2000,
      budgetSeconds: 5,
      consecutiveSuccesses: 3,
      path: "/health",
    })
  })

  it("a bad URL fails without sending anything", async () => {
    const io = fakeIo(() => new Response(okBody()))
    await expect(checkHealth("ftp://x", NEW, {}, io.io)).rejects.toThrow(HealthCheckInputError)
    expect(io.calls).toEqual([])
  })
})

// ---------------------------------------------------------------------------------------------
// The poller on a virtual clock: fetch and sleep advance time; nothing real waits.

function fakeIo(respond: (atMs: number, n: number) => Response | Error, latencyMs = 5) {
  let now = 1_000_000 // arbitrary origin: the poller must only use differences
  const calls: Array<{ atMs: number; url: string }> = []
  const sleeps: number[] = []
  const io: HealthCheckIo = {
    clock: () => now,
    sleep: async (ms) => {
      sleeps.push(ms)
      now += ms
    },
    fetch: async (input) => {
      const n = calls.length
      calls.push({ atMs: now - 1_000_000, url: String(input) })
      const r = respond(now - 1_000_000, n)
      now += r instanceof Error && r.name === "TimeoutError" ? 2000 : latencyMs
      if (r instanceof Error) throw r
      return r
    },
  }
  return { io, calls, sleeps }
}

describe("checkHealth on a virtual clock", () => {
  it("sends the first request at once, then one every interval, and stops at the streak", async () => {
    const f = fakeIo(() => new Response(okBody()))
    const r = await checkHealth("http://svc", NEW, { intervalMs: 300, consecutiveSuccesses: 3 }, f.io)
    expect(r.healthy).toBe(true)
    expect(f.calls.map((c) => c.atMs)).toEqual([0, 300, 600])
    expect(f.calls[0]!.url).toBe("http://svc/health")
    expect(f.sleeps).toEqual([295, 295]) // interval minus the 5 ms the request took; none before the first
    expect(r.elapsedMs).toBe(605)
    expect(r.attempts).toHaveLength(3)
  })

  it("old release until 1 s, then the new one: healthy 3 polls after the switch, not before", async () => {
    const f = fakeIo((at) => new Response(okBody(at < 1000 ? OLD : NEW)))
    const r = await checkHealth("http://svc", NEW, { intervalMs: 250 }, f.io)
    expect(r.healthy).toBe(true)
    expect(r.verdict.counts.wrongVersion).toBe(4) // 0, 250, 500, 750
    expect(r.verdict.healthySinceMs).toBe(1000)
    expect(r.elapsedMs).toBe(1505)
    expect(r.summary).toMatch(/^healthy: http:\/\/svc\/health answered version 1\.1\.0.* 3 times in a row; verdict after 1\.5[01] s and 7 attempts \(failures: 4 wrongVersion\)/)
  })

  it("a slow attempt is followed immediately by the next (no sleep)", async () => {
    const f = fakeIo((_at, n) => (n === 0 ? new DOMException("timed out", "TimeoutError") : new Response(okBody())))
    const r = await checkHealth("http://svc", NEW, { intervalMs: 250, consecutiveSuccesses: 1 }, f.io)
    expect(f.calls.map((c) => c.atMs)).toEqual([0, 2000])
    expect(f.sleeps).toEqual([])
    expect(r.verdict.counts.timeout).toBe(1)
  })

  it("starts no attempt with under 100 ms of budget left (it could only end in a spurious timeout)", async () => {
    const f = fakeIo(() => new Response(okBody(OLD)))
    const r = await checkHealth("http://svc", NEW, { intervalMs: 460, budgetSeconds: 1 }, f.io)
    expect(f.calls.map((c) => c.atMs)).toEqual([0, 460])
    expect(f.sleeps).toEqual([455, 455, 80])
    expect(r.elapsedMs).toBe(1000)
    expect(r.verdict.lastFailure?.classification).toBe("wrongVersion")
  })

  it("gives up at the budget with unhealthy, the counts and the last error", async () => {
    const refused = Object.assign(new TypeError("fetch failed"), { cause: Object.assign(new Error("connect ECONNREFUSED 10.0.0.1:80"), { code: "ECONNREFUSED" }) })
    const f = fakeIo(() => refused)
    const r = await checkHealth("http://svc", NEW, { intervalMs: 500, budgetSeconds: 2 }, f.io)
    expect(r.healthy).toBe(false)
    expect(r.verdict.state).toBe("unhealthy")
    expect(f.calls.map((c) => c.atMs)).toEqual([0, 500, 1000, 1500])
    expect(r.elapsedMs).toBe(2000)
    expect(r.verdict.counts.refused).toBe(4)
    expect(r.summary).toMatch(/^unhealthy: .* within 2\.00 s; 4 attempts, failures: 4 refused\. Last error: refused: connect ECONNREFUSED.*What to do: nothing is listening/)
    const dagger = toHealthCheck(r)
    expect(dagger.healthy).toBe(false)
    expect(dagger.failures.map((f) => [f.kind, f.count])).toEqual([["refused", 4]])
    expect(dagger.lastError).toMatch(/^refused: connect ECONNREFUSED/)
    expect(() => dagger.assertHealthy()).toThrow(/^unhealthy: /)
  })
})

// ---------------------------------------------------------------------------------------------
// Real HTTP: the check's real fetch against a server that misbehaves on purpose.

describe("checkHealth over HTTP against the fault-injecting server", () => {
  let server: FaultyServer | undefined
  afterEach(async () => {
    await server?.close()
    server = undefined
  })
  const fast = { intervalMs: 20, requestTimeoutMs: 500, budgetSeconds: 5 }

  it("healthy new release: the first three answers suffice", async () => {
    server = await startFaultyServer(() => healthy(NEW.version, NEW.commit))
    const r = await checkHealth(server.url, NEW, fast)
    expect(r.healthy).toBe(true)
    expect(r.verdict.attempts).toBe(3)
    expect(server.requests.map((q) => q.path)).toEqual(["/health", "/health", "/health"])
    const d = toHealthCheck(r)
    expect([d.healthy, d.observedVersion, d.observedCommit, d.failures.length, d.lastError]).toEqual([true, NEW.version, NEW.commit, 0, ""])
    expect(d.assertHealthy()).toBe(r.summary)
  })

  it("old release still serving, then the new: only answers from the new one count", async () => {
    server = await startFaultyServer(switchAt(300, healthy(OLD.version, OLD.commit), healthy(NEW.version, NEW.commit)))
    const r = await checkHealth(server.url, { version: NEW.version, commit: NEW.commit.slice(0, 7) }, fast)
    expect(r.healthy).toBe(true)
    expect(r.verdict.counts.wrongVersion).toBeGreaterThan(0)
    // Every request the server answered with the old release was judged wrongVersion, none ok.
    const served = server.requests.map((q) => q.version)
    expect(r.attempts.map((a) => (a.classification === "ok" ? NEW.version : a.classification === "wrongVersion" ? OLD.version : "?"))).toEqual(served)
    expect(r.attempts.slice(-3).every((a) => a.classification === "ok")).toBe(true)
  })

  it("old release forever: unhealthy, and the summary says another release is serving", async () => {
    server = await startFaultyServer(() => healthy(OLD.version, OLD.commit))
    const r = await checkHealth(server.url, NEW, { ...fast, budgetSeconds: 1 })
    expect(r.healthy).toBe(false)
    expect(r.verdict.counts.ok).toBe(0)
    expect(r.verdict.counts.wrongVersion).toBe(r.verdict.attempts)
    expect(toHealthCheck(r).observedVersion).toBe(OLD.version)
    expect(r.summary).toMatch(/another release is still serving/)
  })

  it("flapping healthy/503 never passes with 3 in a row, but would with 1", async () => {
    const flap = cycle(healthy(NEW.version, NEW.commit), { kind: "status", httpStatus: 503, status: "draining" })
    server = await startFaultyServer(flap)
    const strict = await checkHealth(server.url, NEW, { ...fast, budgetSeconds: 1 })
    expect(strict.healthy).toBe(false)
    expect(strict.verdict.counts.ok).toBeGreaterThan(1)
    expect(strict.verdict.counts.http5xx).toBeGreaterThan(1)
    expect(strict.verdict.lastFailure?.detail).toMatch(/^HTTP 503 \(status: draining/)
    server.setPlan(flap)
    const lax = await checkHealth(server.url, NEW, { ...fast, consecutiveSuccesses: 1 })
    expect(lax.healthy).toBe(true)
  })

  it("5xx while starting, then ready", async () => {
    server = await startFaultyServer(sequence({ kind: "status", httpStatus: 503, status: "starting", ...NEW }, { kind: "raw", httpStatus: 502, body: "<h1>502</h1>" }, healthy(NEW.version, NEW.commit)))
    const r = await checkHealth(server.url, NEW, fast)
    expect(r.healthy).toBe(true)
    expect(r.attempts.map((a) => a.classification)).toEqual(["http5xx", "http5xx", "ok", "ok", "ok"])
    expect(r.attempts[0]!.detail).toMatch(/status: starting/)
  })

  it("connection reset (socket destroyed) is classified as reset and recovered from", async () => {
    server = await startFaultyServer(sequence({ kind: "reset" }, { kind: "reset" }, healthy(NEW.version, NEW.commit)))
    const r = await checkHealth(server.url, NEW, fast)
    expect(r.healthy).toBe(true)
    expect(r.attempts.slice(0, 2).map((a) => a.classification)).toEqual(["reset", "reset"])
  })

  it("slow answers beyond the request timeout are timeouts; the check moves on", async () => {
    server = await startFaultyServer(sequence({ kind: "slow", delayMs: 2000, then: healthy(NEW.version, NEW.commit) }, healthy(NEW.version, NEW.commit)))
    const r = await checkHealth(server.url, NEW, { ...fast, requestTimeoutMs: 150 })
    expect(r.healthy).toBe(true)
    expect(r.attempts[0]).toMatchObject({ classification: "timeout", detail: "no complete answer within 150 ms" })
    expect(r.attempts.slice(1).map((a) => a.classification)).toEqual(["ok", "ok", "ok"])
  })

  it("a request never outlives the budget: the last timeout is capped by what is left", async () => {
    server = await startFaultyServer(() => ({ kind: "slow", delayMs: 60_000 }))
    const r = await checkHealth(server.url, NEW, { intervalMs: 20, requestTimeoutMs: 60_000, budgetSeconds: 1 })
    expect(r.healthy).toBe(false)
    expect(r.attempts).toHaveLength(1)
    const capped = /within (\d+) ms|within 1\.00 s/.exec(r.attempts[0]!.detail)
    expect(capped, r.attempts[0]!.detail).not.toBeNull()
    expect(Number(capped![1] ?? 1000)).toBeLessThanOrEqual(1000)
  })

  it("non-JSON and incomplete bodies are badBody", async () => {
    server = await startFaultyServer(sequence({ kind: "raw", httpStatus: 200, body: "<html>It works!</html>" }, { kind: "raw", httpStatus: 200, body: json({ status: "ok" }), contentType: "application/json" }, healthy(NEW.version, NEW.commit)))
    const r = await checkHealth(server.url, NEW, fast)
    expect(r.healthy).toBe(true)
    expect(r.attempts.slice(0, 2).map((a) => a.classification)).toEqual(["badBody", "badBody"])
    expect(r.attempts[1]!.detail).toMatch(/lacks string fields version, commit/)
  })

  it("refused: a closed port gives refused on every attempt and unhealthy at the budget", async () => {
    const port = await closedPort()
    const r = await checkHealth(`http://127.0.0.1:${port}`, NEW, { ...fast, intervalMs: 100, budgetSeconds: 1 })
    expect(r.healthy).toBe(false)
    expect(r.verdict.attempts).toBeGreaterThan(1)
    expect(r.verdict.counts.refused).toBe(r.verdict.attempts)
    expect(r.summary).toMatch(/localhost is the function's own container/)
  })

  it("dns: a reserved .invalid name does not resolve", async () => {
    const r = await checkHealth("http://portfolio.invalid", NEW, { ...fast, intervalMs: 100, budgetSeconds: 1, consecutiveSuccesses: 1 })
    expect(r.healthy).toBe(false)
    expect(r.verdict.counts.dns).toBe(r.verdict.attempts)
  })
})

// ---------------------------------------------------------------------------------------------
// The real app (app/src/main.ts, started by test/support/app-server.ts): its real /health bodies.

describe("checkHealth against the real app", () => {
  const fast = { intervalMs: 20, requestTimeoutMs: 1000, budgetSeconds: 5 }
  let oldApp: AppServer
  let newApp: AppServer
  let lb: FaultyServer | undefined
  beforeAll(async () => {
    ;[oldApp, newApp] = await Promise.all([startApp(OLD), startApp(NEW)])
  })
  afterAll(async () => {
    await Promise.all([oldApp?.stop(), newApp?.stop()])
  })
  afterEach(async () => {
    await lb?.close()
    lb = undefined
  })

  it("the new release is healthy; the same app judged against another release is wrongVersion", async () => {
    const r = await checkHealth(newApp.url, { version: NEW.version, commit: NEW.commit.slice(0, 7) }, fast)
    expect(r.healthy).toBe(true)
    expect(r.verdict.observed).toMatchObject({ status: "ok", version: NEW.version, commit: NEW.commit })
    const wrong = await checkHealth(newApp.url, OLD, { ...fast, budgetSeconds: 1 })
    expect(wrong.healthy).toBe(false)
    expect(wrong.verdict.counts.wrongVersion).toBe(wrong.verdict.attempts)
    expect(wrong.verdict.lastFailure?.detail).toBe(`serving version ${NEW.version}, commit ${NEW.commit}; expected version ${OLD.version}, commit ${OLD.commit}`)
  })

  it("a load balancer moving from the old app to the new one: healthy only on the new app's answers", async () => {
    lb = await startFaultyServer(switchAt(400, { kind: "proxy", target: oldApp.url }, { kind: "proxy", target: newApp.url }))
    const r = await checkHealth(lb.url, NEW, fast)
    expect(r.healthy).toBe(true)
    expect(r.verdict.counts.wrongVersion).toBeGreaterThan(0)
    // Which app answered is known from the body; every old answer was refused as wrongVersion.
    for (const a of r.attempts) expect(a.classification).toBe(a.observed?.version === OLD.version ? "wrongVersion" : "ok")
    expect(r.verdict.healthySinceMs).toBeGreaterThanOrEqual(400 - 50) // the proxy's clock started a little earlier
  })

  it("an app that was just spawned: the check starts at once and passes when the app is ready", async () => {
    const fresh = await startApp({ ...NEW, waitForReady: false })
    try {
      const r = await checkHealth(fresh.url, NEW, fast)
      expect(r.healthy).toBe(true)
      expect(r.attempts[0]!.startedAtMs).toBeLessThan(fast.intervalMs) // no sleep before the first poll
      expect(FAILURE_KINDS.filter((k) => r.verdict.counts[k] > 0).every((k) => ["http5xx", "refused", "reset"].includes(k))).toBe(true)
    } finally {
      await fresh.stop()
    }
  })

  it("an app that received SIGTERM (draining, then gone) never counts as healthy", async () => {
    const leaving = await startApp(NEW)
    const before = await checkHealth(leaving.url, NEW, fast)
    expect(before.healthy).toBe(true)
    leaving.kill("SIGTERM")
    const r = await checkHealth(leaving.url, NEW, { ...fast, intervalMs: 50, budgetSeconds: 1 })
    await leaving.stop()
    expect(r.healthy).toBe(false)
    expect(r.verdict.counts.ok).toBeLessThanOrEqual(1) // at most one answer raced the signal
    const kinds = FAILURE_KINDS.filter((k) => r.verdict.counts[k] > 0)
    expect(kinds.length).toBeGreaterThan(0)
    expect(kinds.every((k) => ["http5xx", "refused", "reset"].includes(k)), kinds.join()).toBe(true)
  })
})

// ---------------------------------------------------------------------------------------------
// The CLI: `dagger call health-check ...` as the SDK registers it and as its real entrypoint runs it.

describe("health-check on the CLI", () => {
  it("signature: flags, types, defaults stated in the help, never cached, returns HealthCheck", async () => {
    const t = await introspectModule()
    const fn = t.objects[t.name]?.methods["healthCheck"]
    expect(fn, "PortfolioPipeline.healthCheck").toBeDefined()
    expect(fn!.cache).toBe("never")
    expect(typeName(fn!.returnType)).toBe("HealthCheck")
    const args = Object.values(fn!.arguments).map((a) => [toKebab(a.name), typeName(a.type), isRequired(a), a.defaultValue])
    expect(args).toEqual([
      ["url", "String", true, undefined],
      ["expected-version", "String", false, undefined],
      ["expected-commit", "String", false, undefined],
      ["consecutive-successes", "Int", false, 3],
      ["interval-ms", "Int", false, 250],
      ["request-timeout-ms", "Int", false, 2000],
      ["budget-seconds", "Int", false, 120],
      ["path", "String", false, "/health"],
    ])
    // Each default is stated in the flag's help text, and matches the core's defaults.
    for (const a of Object.values(fn!.arguments)) {
      if (a.defaultValue !== undefined) expect(a.description).toContain(`Default ${String(a.defaultValue)}`)
    }
    expect(resolveSettings()).toEqual(
      Object.fromEntries(Object.values(fn!.arguments).filter((a) => a.defaultValue !== undefined).map((a) => [a.name, a.defaultValue])),
    )
    const result = t.objects["HealthCheck"]
    expect(Object.values(result!.properties).filter((p) => p.isExposed).map((p) => `${p.name}: ${typeName(p.type)}`)).toEqual([
      "healthy: Boolean",
      "url: String",
      "expectedVersion: String",
      "expectedCommit: String",
      "observedVersion: String",
      "observedCommit: String",
      "attempts: Int",
      "elapsedMs: Int",
      "failures: [HealthFailureCount!]",
      "lastError: String",
      "summary: String",
    ])
    expect(Object.keys(result!.methods)).toEqual(["assertHealthy"])
  })

  describe("through the SDK's real module entrypoint", () => {
    let double: EngineDouble
    let server: FaultyServer
    beforeAll(async () => {
      double = await startEngineDouble()
      server = await startFaultyServer(() => healthy(OLD.version, OLD.commit))
    })
    afterAll(async () => {
      await double?.close()
      await server?.close()
    })

    it("decodes the flags, polls the URL and returns the HealthCheck object as the engine stores it", async () => {
      const before = server.requests.length
      // The old release answers the first two requests of this call, then the new one.
      server.setPlan((q) => (q.n - before < 2 ? healthy(OLD.version, OLD.commit) : healthy(NEW.version, NEW.commit)))
      const r = await callFunction(double, {
        fn: "health-check",
        args: { url: server.url, "expected-version": NEW.version, "expected-commit": NEW.commit.slice(0, 7), "interval-ms": 20, "consecutive-successes": 2 },
        parentState: {}, // the health check does not read --source; skipping the constructor keeps the recorded calls its own
      })
      expect(r.error, r.stderr).toBeUndefined()
      const got = r.result as Record<string, unknown>
      expect(got).toMatchObject({ healthy: true, url: `${server.url}/health`, expectedVersion: NEW.version, observedVersion: NEW.version, lastError: expect.stringMatching(/^wrongVersion: serving version 1\.0\.0/) })
      expect(got["failures"]).toEqual([{ kind: "wrongVersion", count: 2 }])
      expect(got["attempts"]).toBe(server.requests.length - before)
      // No engine work: a health check is plain HTTP from the module's process.
      expect(r.calls.filter((c) => c.chain[0]?.field !== "currentFunctionCall" && c.chain[0]?.field !== "currentModule")).toEqual([])
    }, 120_000)

    it("an unhealthy verdict is a result, and assert-healthy turns it into an error", async () => {
      const r = await callFunction(double, { fn: "health-check", args: { url: server.url, "expected-version": "9.9.9", "interval-ms": 50, "budget-seconds": 1 }, parentState: {} })
      expect(r.error, r.stderr).toBeUndefined()
      expect(r.result).toMatchObject({ healthy: false, failures: [{ kind: "wrongVersion" }] })
      const asserted = await callFunction(double, { object: "HealthCheck", parentState: r.result as Record<string, unknown>, fn: "assert-healthy" })
      expect(asserted.error?.message).toMatch(/^unhealthy: .*did not answer version 9\.9\.9.*another release is still serving/)
    }, 120_000)

    it("rejects a non-http URL with a clear error before any request", async () => {
      const before = server.requests.length
      const r = await callFunction(double, { fn: "health-check", args: { url: `ftp://127.0.0.1:${server.port}` }, parentState: {} })
      expect(r.error?.message).toMatch(/uses ftp; only http and https are supported/)
      expect(server.requests.length).toBe(before)
    }, 120_000)
  })
})
