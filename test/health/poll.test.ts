// The poller: on a virtual clock (fetch and sleep advance time; nothing real waits), cancelled by a
// signal, and reading a huge body from a real local server only up to its limit.
import { describe, expect, it } from "vitest"
import { toHealthCheck } from "../../dagger/src/health/health-check.js"
import { HealthCheckInputError } from "../../dagger/src/health/inputs.js"
import { BODY_LIMIT_BYTES, checkHealth, type HealthCheckIo } from "../../dagger/src/health/poll.js"
import { checkAgainstHugeBody, startServer } from "./huge-body.js"
import { NEW, OLD, okBody } from "./releases.js"

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

  it("a pause that wakes a millisecond early still ends the spent budget as unhealthy, never pending", async () => {
    // Node's timers may fire ~1 ms before Date.now() says the time is up.
    const f = fakeIo(() => new Response("", { status: 500 }))
    const early: HealthCheckIo = { ...f.io, sleep: async (ms) => f.io.sleep(Math.max(0, ms - 1)) }
    const r = await checkHealth("http://svc", NEW, { intervalMs: 500, budgetSeconds: 1 }, early)
    expect(r.healthy).toBe(false)
    expect(r.verdict.state).toBe("unhealthy")
    expect(r.summary).toMatch(/^unhealthy: /)
  })
})

describe("checkHealth cancelled by its signal", () => {
  it("a bad URL fails without sending anything", async () => {
    const io = fakeIo(() => new Response(okBody()))
    await expect(checkHealth("ftp://x", NEW, {}, io.io)).rejects.toThrow(HealthCheckInputError)
    expect(io.calls).toEqual([])
  })

  it("rejects with the signal's reason and sends nothing after it aborts (virtual clock)", async () => {
    const cancel = new AbortController()
    const f = fakeIo(() => new Response(okBody(OLD)))
    const io: HealthCheckIo = {
      ...f.io,
      signal: cancel.signal,
      sleep: async (ms, signal) => {
        await f.io.sleep(ms)
        if (f.calls.length === 2) cancel.abort(new Error("step 'health' timed out"))
        signal?.throwIfAborted()
      },
    }
    await expect(checkHealth("http://svc", NEW, {}, io)).rejects.toThrow("step 'health' timed out")
    expect(f.calls).toHaveLength(2)
  })

  it("an already aborted signal sends nothing", async () => {
    const f = fakeIo(() => new Response(okBody()))
    await expect(checkHealth("http://svc", NEW, {}, { ...f.io, signal: AbortSignal.abort(new Error("run cancelled")) })).rejects.toThrow("run cancelled")
    expect(f.calls).toEqual([])
  })

  it("over real HTTP: the request in flight and the pause between attempts both end at once", async () => {
    const server = await startServer((_req, res) => {
      // Answers the first request (the old release), never the second.
      if (server.requests === 1) res.writeHead(200, { "content-type": "application/json" }).end(okBody(OLD))
    })
    try {
      for (const abortAfterMs of [50, 1500]) {
        // At 50 ms the check sleeps (interval 60 s); at 1500 ms its second request is in flight (timeout 30 s).
        const cancel = new AbortController()
        const startedAt = performance.now()
        const timer = setTimeout(() => cancel.abort(new Error(`cancelled at ${abortAfterMs} ms`)), abortAfterMs)
        const settings = { intervalMs: abortAfterMs < 1000 ? 60_000 : 1000, requestTimeoutMs: 30_000, budgetSeconds: 120 }
        const before = server.requests
        await expect(checkHealth(server.url, NEW, settings, { signal: cancel.signal })).rejects.toThrow(`cancelled at ${abortAfterMs} ms`)
        clearTimeout(timer)
        // A bound far below the 60 s pause and the 30 s request timeout, not a timing.
        expect(performance.now() - startedAt).toBeLessThan(abortAfterMs + 5_000)
        expect(server.requests - before).toBe(abortAfterMs < 1000 ? 1 : 2)
        server.requests = 0
      }
    } finally {
      await server.close()
    }
  })
})

// ---------------------------------------------------------------------------------------------
// A body far over the limit, from a real server that generates it as it goes (./huge-body.ts).

describe("a huge /health body", () => {
  it("300 MB: reading stops at the limit, the server sees the connection closed early, memory stays flat", async () => {
    const { result: r, grewMb, bytesSent, closedEarly } = await checkAgainstHugeBody(300 * 1024 * 1024)
    // Reading the whole body before cutting it peaked at +936 MB rss here; a few MB is noise (JIT, allocator).
    expect(grewMb.rss, `rss grew ${grewMb.rss.toFixed(1)} MB at its peak`).toBeLessThan(8)
    expect(grewMb.arrayBuffers, `arrayBuffers grew ${grewMb.arrayBuffers.toFixed(1)} MB at their peak`).toBeLessThan(4)
    expect(closedEarly).toBe(true)
    // What was written before the hang-up: the limit plus what socket buffers held, nowhere near 300 MB.
    expect(bytesSent).toBeLessThan(32 * 1024 * 1024)
    expect(r.healthy).toBe(false)
    expect(r.attempts).toHaveLength(1)
    expect(r.attempts[0]).toMatchObject({ classification: "badBody", detail: expect.stringMatching(/^HTTP 200: body is larger than 64 KiB/) })
    expect(toHealthCheck(r).failures.map((f) => [f.kind, f.count])).toEqual([["badBody", 1]])
  })

  it(`a body of exactly the limit (${BODY_LIMIT_BYTES} bytes) is read whole and judged`, async () => {
    const body = okBody()
    const frame = `${body.slice(0, -1)},"padding":""}`
    const padded = frame.replace(`""}`, `"${"x".repeat(BODY_LIMIT_BYTES - frame.length)}"}`)
    expect(Buffer.byteLength(padded)).toBe(BODY_LIMIT_BYTES)
    const server = await startServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(padded))
    try {
      const exact = await checkHealth(server.url, NEW, { intervalMs: 10, consecutiveSuccesses: 1 })
      expect(exact.healthy).toBe(true)
    } finally {
      await server.close()
    }
  })
})
