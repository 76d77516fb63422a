// Real local /health servers for the poller's tests (startServer), and one health check against a /health
// whose body is as large as asked, generated as it is sent (one 64 KiB chunk written again and again,
// respecting backpressure: the server itself buffers nothing), with the process's peak memory while it
// runs. Used by test/health/poll.test.ts and bench/health-verdict.ts.
import { createServer, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { checkHealth, type HealthCheckResult } from "../../dagger/src/health/poll.js"
import { NEW, okBody } from "./releases.js"

export interface TestServer {
  url: string
  /** Requests received so far (tests may reset it). */
  requests: number
  close(): Promise<void>
}

export async function startServer(handle: (req: unknown, res: ServerResponse) => void): Promise<TestServer> {
  const http = createServer((req, res) => {
    state.requests += 1
    handle(req, res)
  })
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve))
  const state: TestServer = {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    requests: 0,
    close: () => new Promise((resolve) => http.close(() => resolve()).closeAllConnections()),
  }
  return state
}

interface Streamed {
  bytesWritten: number
  /** Resolves when the response closed: `true` when the client hung up before the whole body was sent. */
  closedEarly: Promise<boolean>
}

function streamHugeBody(totalBytes: number, log: Streamed[]): (req: unknown, res: ServerResponse) => void {
  const chunk = Buffer.alloc(64 * 1024, "x")
  return (_req, res) => {
    const entry: Streamed = {
      bytesWritten: 0,
      closedEarly: new Promise((resolve) => res.on("close", () => resolve(!res.writableFinished))),
    }
    log.push(entry)
    res.on("error", () => undefined) // the client hanging up mid-body is the point
    // Starts like a healthy answer, so only the limit can make it a failure.
    res.writeHead(200, { "content-type": "application/json" })
    res.write(`{"status":"ok","version":"${NEW.version}","commit":"${NEW.commit}","padding":"`)
    const pump = (): void => {
      while (entry.bytesWritten < totalBytes && !res.destroyed) {
        entry.bytesWritten += chunk.length
        if (!res.write(chunk)) {
          res.once("drain", pump)
          return
        }
      }
      if (!res.destroyed) res.end(`"}`)
    }
    pump()
  }
}

/**
 * Clock and sleep for exactly one attempt per check: the real clock, plus the pauses, which return at once
 * and count as time passed (so the pause after the first attempt ends the budget).
 */
function oneAttemptIo(): { clock: () => number; sleep: (ms: number) => Promise<void> } {
  let skippedMs = 0
  return { clock: () => performance.now() + skippedMs, sleep: async (ms) => void (skippedMs += ms) }
}

/** Runs `work` while sampling the process's memory every millisecond; the growth is peak minus start, in MB. */
async function peakMemoryGrowth<T>(work: () => Promise<T>): Promise<{ value: T; grewMb: { rss: number; arrayBuffers: number } }> {
  const start = process.memoryUsage()
  const peak = { rss: start.rss, arrayBuffers: start.arrayBuffers }
  const sample = () => {
    const m = process.memoryUsage()
    peak.rss = Math.max(peak.rss, m.rss)
    peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers)
  }
  const timer = setInterval(sample, 1)
  try {
    const value = await work()
    sample()
    const mb = (bytes: number) => bytes / 1024 / 1024
    return { value, grewMb: { rss: mb(peak.rss - start.rss), arrayBuffers: mb(peak.arrayBuffers - start.arrayBuffers) } }
  } finally {
    clearInterval(timer)
  }
}

export interface HugeBodyCheck {
  result: HealthCheckResult
  /** Peak growth during the check, in MB. */
  grewMb: { rss: number; arrayBuffers: number }
  /** Body bytes the server wrote before the connection closed. */
  bytesSent: number
  /** Whether the client hung up before the whole body was sent. */
  closedEarly: boolean
}

/**
 * One check of exactly one attempt against a /health that streams `totalBytes` (a body that starts like
 * a healthy answer, so only the body limit can fail it). A small answer goes first, as a warm-up: fetch
 * loads its implementation on first use, and that must not count as the attempt's memory.
 */
export async function checkAgainstHugeBody(totalBytes: number): Promise<HugeBodyCheck> {
  const streamed: Streamed[] = []
  const huge = streamHugeBody(totalBytes, streamed)
  const server = await startServer((req, res) => (server.requests === 1 ? res.writeHead(200).end(okBody()) : huge(req, res)))
  const io = oneAttemptIo()
  const settings = { intervalMs: 60_000, requestTimeoutMs: 30_000, budgetSeconds: 60, consecutiveSuccesses: 1 }
  let measured: Awaited<ReturnType<typeof peakMemoryGrowth<HealthCheckResult>>>
  try {
    const warmUp = await checkHealth(server.url, NEW, settings, io)
    if (!warmUp.healthy) throw new Error(`the warm-up check failed: ${warmUp.summary}`)
    measured = await peakMemoryGrowth(() => checkHealth(server.url, NEW, settings, io))
  } finally {
    await server.close()
  }
  if (streamed.length !== 1) throw new Error(`expected one huge answer, the server sent ${streamed.length}`)
  return { result: measured.value, grewMb: measured.grewMb, bytesSent: streamed[0]!.bytesWritten, closedEarly: await streamed[0]!.closedEarly }
}
