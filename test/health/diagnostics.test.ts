// health/diagnostics.ts and the responses checkHealth keeps for it (poll.ts `recent`), over real HTTP
// against the fault-injecting server (test/support/faulty-server.ts).
import { afterEach, describe, expect, it } from "vitest"
import { healthDiagnostic } from "../../dagger/src/health/diagnostics.js"
import { BODY_EXCERPT_CHARS, checkHealth, RECENT_RESPONSES } from "../../dagger/src/health/poll.js"
import { closedPort, sequence, startFaultyServer, type FaultyServer } from "../support/faulty-server.js"
import { checkAgainstHugeBody } from "./huge-body.js"
import { NEW, OLD } from "./releases.js"

/**
 * A clock that only the pauses move (they return at once): with a 95 ms interval and a 1 s budget a check
 * makes exactly ten attempts, 95 ms apart, however long the loopback server takes to answer.
 */
function tenAttempts(): { clock: () => number; sleep: (ms: number) => Promise<void> } {
  let skippedMs = 0
  return { clock: () => skippedMs, sleep: async (ms) => void (skippedMs += ms) }
}
const settings = { intervalMs: 95, requestTimeoutMs: 500, budgetSeconds: 1 }

const starting = { kind: "status", httpStatus: 503, status: "starting" } as const
const old = { kind: "healthy", version: OLD.version, commit: OLD.commit } as const
const longPage = `<html>${"<p>upstream connect error or disconnect/reset before headers</p>\n".repeat(20)}</html>`

describe("the last responses of a failed health check", () => {
  let server: FaultyServer | undefined
  afterEach(async () => {
    await server?.close()
    server = undefined
  })

  it("keeps only the last few, in order, with status, latency and the start of the body on one line", async () => {
    server = await startFaultyServer(sequence(starting, starting, starting, starting, starting, { kind: "raw", httpStatus: 502, body: longPage }, { kind: "reset" }, old))
    const r = await checkHealth(server.url, NEW, settings, tenAttempts())
    expect(r.healthy).toBe(false)
    expect(r.attempts).toHaveLength(10)
    expect(r.recent).toHaveLength(RECENT_RESPONSES)
    expect(r.recent.map((x) => x.status ?? "no answer")).toEqual([502, "no answer", 200, 200, 200])
    expect(r.recent.map((x) => x.startedAtMs)).toEqual(r.attempts.slice(-RECENT_RESPONSES).map((a) => a.startedAtMs))
    const [page, reset] = r.recent
    expect(page!.bodyExcerpt).toHaveLength(BODY_EXCERPT_CHARS)
    expect(page!.bodyExcerpt).toMatch(/^<html><p>upstream connect error or disconnect\/reset before headers<\/p> <p>/)
    expect(reset!.error).toMatch(/^reset: /)
    expect(reset).not.toHaveProperty("bodyExcerpt")
  })

  it("as a diagnostic: the verdict's reason as title, each response judged on its own line", async () => {
    server = await startFaultyServer(sequence(starting, starting, starting, starting, starting, starting, starting, starting, { kind: "reset" }, old))
    const r = await checkHealth(server.url, NEW, settings, tenAttempts())
    const d = healthDiagnostic(r)
    expect(d.source).toBe("health")
    expect(d.title).toBe(`health check of ${server.url}/health unhealthy: ${r.verdict.reason}`)
    expect(d.lines).toEqual([
      "last 5 of 10 attempts, oldest first:",
      expect.stringMatching(/^\+0\.5 s {2}HTTP 503 in 0 ms \(http5xx\): \{"status":"starting",/),
      expect.stringMatching(/^\+0\.6 s {2}HTTP 503 in 0 ms \(http5xx\): /),
      expect.stringMatching(/^\+0\.7 s {2}HTTP 503 in 0 ms \(http5xx\): /),
      expect.stringMatching(/^\+0\.8 s {2}no answer after 0 ms \(reset\): reset: /),
      expect.stringMatching(new RegExp(`^\\+0\\.9 s {2}HTTP 200 in 0 ms \\(wrongVersion\\): \\{"status":"ok","version":"${OLD.version.replace(/\./g, "\\.")}"`)),
    ])
  })

  it("nothing listening: every line says why nothing answered", async () => {
    const port = await closedPort()
    const r = await checkHealth(`http://127.0.0.1:${port}`, NEW, settings, tenAttempts())
    const d = healthDiagnostic(r)
    expect(d.lines).toHaveLength(1 + RECENT_RESPONSES)
    for (const line of d.lines.slice(1)) expect(line).toMatch(/no answer after .* \(refused\): refused: /)
  })

  it("a huge body leaves only its excerpt in the result", async () => {
    const { result } = await checkAgainstHugeBody(8 * 1024 * 1024)
    expect(result.recent).toHaveLength(1)
    expect(result.recent[0]!.status).toBe(200)
    expect(result.recent[0]!.bodyExcerpt).toHaveLength(BODY_EXCERPT_CHARS)
    expect(result.recent[0]!.bodyExcerpt!.startsWith(`{"status":"ok","version":"${NEW.version}"`)).toBe(true)
  })
})
