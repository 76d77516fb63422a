// sendBurst over real HTTP: against the real app (app/src/main.ts via startApp), the fault-injecting
// server in front of it (per-path 500s, added latency), servers that never answer, and a closed port.
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { sendBurst } from "../../dagger/src/analysis/burst.js"
import { startApp, type AppServer } from "../support/app-server.js"
import { closedPort, degradedProxy, startFaultyServer, type FaultyServer } from "../support/faulty-server.js"

const NEW = { version: "2.0.0", commit: "c0ffee1234567890abcdef1234567890abcdef12" }

let app: AppServer
beforeAll(async () => {
  app = await startApp(NEW)
})
afterAll(async () => {
  await app.stop()
})

let server: FaultyServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

const burst = { paths: ["/", "/health"], requests: 40, concurrency: 4, requestTimeoutMs: 1000, budgetMs: 10_000 }

describe("sendBurst against the real app", () => {
  it("sends exactly the requests asked for, round-robin over the paths, and measures them", async () => {
    const before = app.logs().length
    const r = await sendBurst({ ...burst, baseUrl: app.url })
    expect(r.figures).toMatchObject({ requests: 40, errors: 0, errorRate: 0 })
    expect(r.figures.p50Ms).toBeGreaterThan(0)
    expect(r.figures.p95Ms).toBeGreaterThanOrEqual(r.figures.p50Ms!)
    expect(r.notSent).toBe(0)
    // The app's own access log (written to its stdout as each answer ends): 20 requests to each path, nothing else.
    const accessed = () =>
      app.logs().slice(before).flatMap((l) => {
        const h = l["httpRequest"] as { requestUrl?: string; userAgent?: string } | undefined
        return h?.requestUrl && h.userAgent === "portfolio-pipeline-canary-analysis" ? [h] : []
      })
    await expect.poll(() => accessed().length, { timeout: 3000 }).toBeGreaterThanOrEqual(40)
    const paths = accessed().map((h) => h.requestUrl)
    expect(paths.filter((p) => p === "/")).toHaveLength(20)
    expect(paths.filter((p) => p === "/health")).toHaveLength(20)
    expect(paths).toHaveLength(40)
    // The last ten answers are kept for the report, the body cut to an excerpt.
    expect(r.responses).toHaveLength(10)
    const health = r.responses.find((x) => x.path === "/health")
    expect(health).toMatchObject({ status: 200 })
    expect(health && "bodyExcerpt" in health ? health.bodyExcerpt : "").toContain(NEW.version)
    const page = r.responses.find((x) => x.path === "/")
    expect(page && "bodyExcerpt" in page ? page.bodyExcerpt.length : 0).toBeLessThanOrEqual(200)
  })

  it("a candidate failing 5 % of / (a faulty proxy in front of the app): the failures are counted and kept first", async () => {
    server = await startFaultyServer(degradedProxy(app.url, { failPath: "/", failEvery: 20 }))
    const r = await sendBurst({ ...burst, requests: 80, baseUrl: server.url })
    // 40 requests to /, every 20th failing: 2 of 80.
    expect(r.figures).toMatchObject({ requests: 80, errors: 2, errorRate: 2 / 80 })
    const failed = r.responses.filter((x) => "status" in x && x.status === 500)
    expect(failed).toHaveLength(2)
    expect(failed.every((x) => x.path === "/" && "bodyExcerpt" in x && x.bodyExcerpt.includes("500 Internal Server Error"))).toBe(true)
    expect(r.responses).toHaveLength(10)
  })

  it("added latency shows in the percentiles", async () => {
    server = await startFaultyServer(degradedProxy(app.url, { delayMs: 120 }))
    const r = await sendBurst({ ...burst, requests: 12, baseUrl: server.url })
    expect(r.figures.errors).toBe(0)
    expect(r.figures.p50Ms).toBeGreaterThanOrEqual(120)
  })
})

describe("sendBurst warm-up", () => {
  it("the first requests warm a cold release up: their latency is left out, their failures are not", async () => {
    // A cold release: its first four answers take 400 ms (the second of them a 500), then it answers at once.
    const coldRelease = (r: { n: number }) =>
      r.n >= 4 ? ({ kind: "raw", httpStatus: 200, body: "ok" } as const) : ({ kind: "slow", delayMs: 400, then: { kind: "raw", httpStatus: r.n === 1 ? 500 : 200, body: "cold" } } as const)
    const options = { paths: ["/"], requests: 24, concurrency: 4, requestTimeoutMs: 2000, budgetMs: 10_000 }
    server = await startFaultyServer(coldRelease)
    const warmed = await sendBurst({ ...options, warmupRequests: 4, baseUrl: server.url })
    expect(warmed.figures).toMatchObject({ requests: 24, errors: 1 })
    expect(warmed.figures.p95Ms).toBeLessThan(400)
    await server.close()
    // The same cold release without a warm-up: 4 of 24 answers are slow, so they are the p95.
    server = await startFaultyServer(coldRelease)
    const unwarmed = await sendBurst({ ...options, baseUrl: server.url })
    expect(unwarmed.figures).toMatchObject({ requests: 24, errors: 1 })
    expect(unwarmed.figures.p95Ms).toBeGreaterThanOrEqual(400)
  })
})

describe("sendBurst is bounded", () => {
  it("in wall time: against a release that never answers, it stops at the budget, every request started ending as a timeout", async () => {
    server = await startFaultyServer(() => ({ kind: "slow", delayMs: 0 }))
    const t0 = performance.now()
    const r = await sendBurst({ baseUrl: server.url, paths: ["/"], requests: 100, concurrency: 2, requestTimeoutMs: 200, budgetMs: 1000 })
    const took = performance.now() - t0
    expect(took).toBeLessThan(1000 + 300)
    // Waves start at ~0, 200, 400, 600 and 800 ms; a sixth would not end inside the budget.
    expect(r.figures.requests).toBeGreaterThanOrEqual(6)
    expect(r.figures.requests).toBeLessThanOrEqual(10)
    expect(r.figures).toMatchObject({ errors: r.figures.requests, errorRate: 1 })
    expect(r.figures.p95Ms).toBeUndefined()
    expect(r.notSent).toBe(100 - r.figures.requests)
    expect(server.requests).toHaveLength(r.figures.requests)
    expect(r.responses.every((x) => "error" in x && /no complete answer within 200 ms/.test(x.error))).toBe(true)
  })

  it("in count and concurrency: never more in flight than asked", async () => {
    let inFlight = 0
    let most = 0
    let received = 0
    const slow: Server = createServer((_req, res) => {
      received++
      most = Math.max(most, ++inFlight)
      setTimeout(() => {
        inFlight--
        res.end("ok")
      }, 30)
    })
    await new Promise<void>((resolve) => slow.listen(0, "127.0.0.1", () => resolve()))
    try {
      const url = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`
      const r = await sendBurst({ baseUrl: url, paths: ["/a", "/b", "/c"], requests: 17, concurrency: 3, requestTimeoutMs: 1000, budgetMs: 5000 })
      expect(r.figures.requests).toBe(17)
      expect(received).toBe(17)
      expect(most).toBe(3)
    } finally {
      slow.closeAllConnections()
      await new Promise<void>((resolve) => slow.close(() => resolve()))
    }
  })

  it("in memory: a huge body is cut to an excerpt and the burst still ends", async () => {
    server = await startFaultyServer(() => ({ kind: "raw", httpStatus: 200, body: "x".repeat(3 * 1024 * 1024) }))
    const r = await sendBurst({ baseUrl: server.url, paths: ["/"], requests: 3, concurrency: 1, requestTimeoutMs: 5000, budgetMs: 10_000 })
    expect(r.figures).toMatchObject({ requests: 3, errors: 0 })
    for (const x of r.responses) expect("bodyExcerpt" in x && x.bodyExcerpt.length).toBe(200)
  })

  it("the signal aborts the requests in flight at once and the burst rejects with its reason", async () => {
    server = await startFaultyServer(() => ({ kind: "slow", delayMs: 0 }))
    const controller = new AbortController()
    const reason = new Error("step cancelled")
    setTimeout(() => controller.abort(reason), 150)
    const t0 = performance.now()
    await expect(
      sendBurst({ baseUrl: server.url, paths: ["/"], requests: 50, concurrency: 5, requestTimeoutMs: 5000, budgetMs: 20_000 }, controller.signal),
    ).rejects.toBe(reason)
    expect(performance.now() - t0).toBeLessThan(1000)
    expect(server.requests).toHaveLength(5)
    // No request is sent once the signal has aborted.
    await expect(sendBurst({ ...burst, baseUrl: server.url }, controller.signal)).rejects.toBe(reason)
    expect(server.requests).toHaveLength(5)
  })
})

describe("sendBurst failures", () => {
  it("nothing listening: every request is an error, no latency", async () => {
    const r = await sendBurst({ ...burst, requests: 6, baseUrl: `http://127.0.0.1:${await closedPort()}` })
    expect(r.figures).toEqual({ requests: 6, errors: 6, errorRate: 1 })
    expect(r.responses).toHaveLength(6)
    expect(r.responses.every((x) => "error" in x && /ECONNREFUSED/.test(x.error))).toBe(true)
  })

  it("refuses inputs that cannot make a burst, naming them", async () => {
    await expect(sendBurst({ ...burst, paths: [], baseUrl: app.url })).rejects.toThrow(/`paths` is empty/)
    await expect(sendBurst({ ...burst, concurrency: 0, baseUrl: app.url })).rejects.toThrow("expected `concurrency` to be a positive integer, got 0")
  })
})
