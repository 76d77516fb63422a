// The app as a process, the way ECS and Cloud Run run it: started through test/support/app-server.ts,
// stopped with a real SIGTERM while requests are in flight.
import { afterEach, describe, expect, it } from "vitest"
import { startApp, type AppServer } from "../../test/support/app-server.js"
import { httpRequest, openConnection, parseRawResponse, sleep } from "./http.js"

const running: AppServer[] = []
async function start(...args: Parameters<typeof startApp>): Promise<AppServer> {
  const app = await startApp(...args)
  running.push(app)
  return app
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((a) => a.stop()))
})

// Lets the app's event loop read bytes we just wrote before we signal it. Loopback delivery is
// immediate; this only covers scheduling, and a miss would fail loudly (the request would be refused).
const SETTLE_MS = 150

describe("startApp (test/support/app-server.ts)", () => {
  it("serves the requested version and commit from the real app", async () => {
    const app = await start({ version: "2.3.4", commit: "0123456789abcdef0123456789abcdef01234567" })
    const health = await httpRequest(`${app.url}/health`)
    expect(health.status).toBe(200)
    const body = JSON.parse(health.body.toString()) as Record<string, unknown>
    expect(body).toMatchObject({ status: "ok", version: "2.3.4", commit: "0123456789abcdef0123456789abcdef01234567" })
    expect(new Date(String(body.startedAt)).getTime()).not.toBeNaN()

    const page = await httpRequest(`${app.url}/`)
    expect(page.status).toBe(200)
    expect(page.body.toString()).toContain(`<span data-version>2.3.4</span>`)
    expect(page.body.toString()).toContain(`<span data-commit>0123456</span>`)
  })

  it("runs an old and a new version side by side on different ports", async () => {
    const [oldApp, newApp] = await Promise.all([
      start({ version: "1.0.0", commit: "aaaaaaa" }),
      start({ version: "1.1.0", commit: "bbbbbbb" }),
    ])
    expect(oldApp.port).not.toBe(newApp.port)
    const versions = await Promise.all([oldApp, newApp].map(async (a) =>
      (JSON.parse((await httpRequest(`${a.url}/health`)).body.toString()) as { version: string }).version))
    expect(versions).toEqual(["1.0.0", "1.1.0"])
  })

  it("rejects with the app's own explanation when the environment is invalid", async () => {
    await expect(startApp({ version: "1.0.0", commit: "not-a-sha" })).rejects.toThrow(/APP_COMMIT must be a 7-40 character hex git SHA/)
  })
})

describe("SIGTERM", () => {
  it("drains: in-flight requests finish, /health says 503, idle and new connections are refused, exit 0", async () => {
    const app = await start({ version: "3.0.0", commit: "ccccccc", env: { APP_SHUTDOWN_TIMEOUT_MS: "10000" } })

    // An idle keep-alive connection (one finished request on it)…
    const idle = await openConnection(app.port)
    idle.write("GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
    await idle.waitFor("}")
    // …and two requests in flight: headers started, not finished.
    const page = await openConnection(app.port)
    page.write("GET / HTTP/1.1\r\nHost: t\r\n")
    const health = await openConnection(app.port)
    health.write("GET /health HTTP/1.1\r\nHost: t\r\n")
    await sleep(SETTLE_MS)

    app.kill("SIGTERM")
    await app.waitForLog((l) => String(l.message).startsWith("draining (SIGTERM)"))

    // The idle connection is closed at once, and the listener no longer accepts. (Refused, or reset when
    // the connect raced the listener's close and sat in the kernel's accept queue: never served either way.)
    await idle.closed
    const refused = await httpRequest(`${app.url}/health`).then((r) => `served ${r.status}`, (e: NodeJS.ErrnoException) => e.code)
    expect(refused).toMatch(/^(ECONNREFUSED|ECONNRESET)$/)
    // The process is still alive: it waits for the two requests in flight.
    expect(await Promise.race([app.exited.then(() => "exited"), sleep(SETTLE_MS).then(() => "alive")])).toBe("alive")

    health.write("\r\n")
    const h = parseRawResponse(await health.closed)
    expect(h.status).toBe(503)
    expect(h.headers.connection).toBe("close")
    expect(JSON.parse(h.body)).toMatchObject({ status: "draining", version: "3.0.0", commit: "ccccccc" })

    page.write("\r\n")
    const p = parseRawResponse(await page.closed)
    expect(p.status).toBe(200)
    expect(p.headers.connection).toBe("close")
    expect(p.body).toContain("</html>")

    expect(await app.exited).toEqual({ code: 0, signal: null })
    const stopped = app.logs().find((l) => String(l.message).startsWith("stopped"))
    expect(stopped).toMatchObject({ forced: false, connectionsCut: 0 })
    // Both drained requests were logged like any other.
    const access = app.logs().filter((l) => l.httpRequest !== undefined)
    expect(access.map((l) => l.message)).toEqual(expect.arrayContaining(["GET / 200", "GET /health 503"]))
  })

  it("gives up after APP_SHUTDOWN_TIMEOUT_MS: cuts a stuck connection and exits 1", async () => {
    const app = await start({ version: "3.0.1", commit: "ddddddd", env: { APP_SHUTDOWN_TIMEOUT_MS: "800" } })
    const stuck = await openConnection(app.port)
    stuck.write("GET / HTTP/1.1\r\nHost: t\r\n") // never finished
    await sleep(SETTLE_MS)

    app.kill("SIGTERM")
    expect(await app.exited).toEqual({ code: 1, signal: null })
    expect(await stuck.closed).toBe("") // cut without a response
    const stopped = app.logs().find((l) => String(l.message).startsWith("stopped"))
    expect(stopped).toMatchObject({ forced: true, connectionsCut: 1, severity: "WARNING" })
  })

  it("exits 0 straight away when nothing is in flight", async () => {
    const app = await start({ version: "3.0.2", commit: "eeeeeee" })
    expect(await app.stop()).toEqual({ code: 0, signal: null })
    expect(app.logs().map((l) => l.message)).toEqual(expect.arrayContaining(["ready", "draining (SIGTERM)"]))
  })
})
