// checkHealth over real HTTP: its real fetch against a server that misbehaves on purpose
// (test/support/faulty-server.ts) and against the real app (app/src/main.ts, started by
// test/support/app-server.ts) with its real /health bodies.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { toHealthCheck } from "../../dagger/src/health/health-check.js"
import { checkHealth } from "../../dagger/src/health/poll.js"
import { FAILURE_KINDS } from "../../dagger/src/health/verdict.js"
import { startApp, type AppServer } from "../support/app-server.js"
import { closedPort, cycle, healthy, sequence, startFaultyServer, switchAt, type FaultyServer } from "../support/faulty-server.js"
import { json, NEW, OLD } from "./releases.js"

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
