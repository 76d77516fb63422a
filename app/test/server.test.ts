// The real server (startServer, with the real content and public files) on a kernel-chosen loopback
// port, exercised over HTTP with a raw client so encodings and headers are seen exactly as sent.
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { Agent } from "node:http"
import { createRequire } from "node:module"
import { fileURLToPath, pathToFileURL } from "node:url"
import { brotliDecompressSync, gunzipSync } from "node:zlib"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import type { AppConfig } from "../src/config.js"
import { startServer, type RunningServer } from "../src/server.js"
import { loadSite, type Site } from "../src/site.js"
import { defaultSitePaths } from "../src/server.js"
import { httpRequest, openConnection, type RawResponse } from "./http.js"

const portfolio = JSON.parse(readFileSync(new URL("../content/portfolio.json", import.meta.url), "utf8")) as { name: string }
const styleCss = readFileSync(new URL("../public/style.css", import.meta.url))

const config: AppConfig = { port: 0, host: "127.0.0.1", version: "9.9.9", commit: "abcdef0123", shutdownTimeoutMs: 2000 }

interface LoggedServer {
  server: RunningServer
  lines: string[]
  accessLines(): Array<{ message: string; httpRequest: Record<string, unknown>; severity: string; version: string }>
}

async function serve(overrides: Partial<Parameters<typeof startServer>[0]> = {}): Promise<LoggedServer> {
  const lines: string[] = []
  const server = await startServer({ config, log: (l) => lines.push(l), ...overrides })
  return {
    server,
    lines,
    accessLines: () => lines.map((l) => JSON.parse(l) as ReturnType<LoggedServer["accessLines"]>[number]).filter((l) => l.httpRequest),
  }
}

function stylesheetHref(html: string): string {
  const m = /<link rel="stylesheet" href="([^"]+)">/.exec(html)
  if (!m?.[1]) throw new Error(`no stylesheet link in page:\n${html.slice(0, 500)}`)
  return m[1]
}

function decode(res: RawResponse): Buffer {
  const enc = res.headers["content-encoding"]
  if (enc === "br") return brotliDecompressSync(res.body)
  if (enc === "gzip") return gunzipSync(res.body)
  if (enc === undefined) return res.body
  throw new Error(`unexpected content-encoding ${String(enc)}`)
}

describe("a ready server", () => {
  let app: LoggedServer
  let url: string
  beforeAll(async () => {
    app = await serve()
    await app.server.ready
    url = app.server.url
  })
  afterAll(async () => {
    await app.server.shutdown("test over")
  })

  it("serves the portfolio page from content/portfolio.json, linking a content-hashed stylesheet", async () => {
    const res = await httpRequest(`${url}/`)
    expect(res.status).toBe(200)
    expect(res.headers["content-type"]).toBe("text/html; charset=utf-8")
    const html = res.body.toString()
    expect(html).toContain(`<h1>${portfolio.name}</h1>`)
    expect(html).toContain(`<span data-version>9.9.9</span>`)
    expect(html).toContain(`<span data-commit>abcdef0</span>`)
    expect(stylesheetHref(html)).toMatch(/^\/assets\/style\.[0-9a-f]{12}\.css$/)
  })

  it("serves static files byte for byte, hashed names cached for a year, plain names for five minutes", async () => {
    const href = stylesheetHref((await httpRequest(`${url}/`)).body.toString())
    const hashed = await httpRequest(`${url}${href}`)
    expect(hashed.status).toBe(200)
    expect(hashed.headers["content-type"]).toBe("text/css; charset=utf-8")
    expect(hashed.headers["cache-control"]).toBe("public, max-age=31536000, immutable")
    expect(hashed.body.equals(styleCss)).toBe(true)

    const plain = await httpRequest(`${url}/assets/style.css`)
    expect(plain.status).toBe(200)
    expect(plain.headers["cache-control"]).toBe("public, max-age=300")
    expect(plain.body.equals(styleCss)).toBe(true)

    const icon = await httpRequest(`${url}/assets/favicon.svg`)
    expect(icon.headers["content-type"]).toBe("image/svg+xml")
  })

  it("compresses with brotli or gzip as the client asks, and says so in Vary", async () => {
    const identity = await httpRequest(`${url}/assets/style.css`)
    expect(identity.headers["content-encoding"]).toBeUndefined()
    expect(identity.headers.vary).toBe("Accept-Encoding")

    for (const [accept, expected] of [["gzip, deflate, br", "br"], ["gzip", "gzip"], ["br;q=0.5, gzip;q=0.9", "gzip"], ["br;q=0, gzip;q=0", undefined]] as const) {
      const res = await httpRequest(`${url}/assets/style.css`, { headers: { "accept-encoding": accept } })
      expect(res.headers["content-encoding"], accept).toBe(expected)
      expect(decode(res).equals(styleCss), accept).toBe(true)
      if (expected) expect(res.body.length, accept).toBeLessThan(styleCss.length)
      expect(Number(res.headers["content-length"]), accept).toBe(res.body.length)
    }
  })

  it("answers If-None-Match with 304 and no body, per encoding", async () => {
    const first = await httpRequest(`${url}/`, { headers: { "accept-encoding": "br" } })
    const etag = String(first.headers.etag)
    expect(etag).toMatch(/^"[\w-]+-br"$/)
    expect(first.headers["cache-control"]).toBe("no-cache")

    const again = await httpRequest(`${url}/`, { headers: { "accept-encoding": "br", "if-none-match": etag } })
    expect(again.status).toBe(304)
    expect(again.body.length).toBe(0)
    expect(again.headers.etag).toBe(etag)

    // The br ETag names the br bytes; a client that now wants identity must get a full response.
    const other = await httpRequest(`${url}/`, { headers: { "if-none-match": etag } })
    expect(other.status).toBe(200)
    expect(other.headers["content-encoding"]).toBeUndefined()
  })

  it("reports health as JSON with the build identity and no caching", async () => {
    const res = await httpRequest(`${url}/health`)
    expect(res.status).toBe(200)
    expect(res.headers["content-type"]).toBe("application/json; charset=utf-8")
    expect(res.headers["cache-control"]).toBe("no-store")
    const body = JSON.parse(res.body.toString()) as Record<string, unknown>
    expect(Object.keys(body).sort()).toEqual(["commit", "startedAt", "status", "version"])
    expect(body).toMatchObject({ status: "ok", version: "9.9.9", commit: "abcdef0123" })
  })

  it("answers HEAD with GET's headers and no body", async () => {
    const get = await httpRequest(`${url}/`)
    const head = await httpRequest(`${url}/`, { method: "HEAD" })
    expect(head.status).toBe(200)
    expect(head.body.length).toBe(0)
    expect(head.headers["content-length"]).toBe(String(get.body.length))
    expect(head.headers.etag).toBe(get.headers.etag)
  })

  it("answers unknown paths with the 404 page, including traversal attempts", async () => {
    for (const path of ["/nope", "/index.html", "/assets/", "/assets/style.css/", "/assets/../content/portfolio.json",
      "/assets/%2e%2e/content/portfolio.json", "/content/portfolio.json", "/src/main.ts", "/package.json", "/health/"]) {
      const res = await httpRequest(`${url}${path}`)
      expect(res.status, path).toBe(404)
      expect(res.headers["content-type"], path).toBe("text/html; charset=utf-8")
      expect(res.headers["cache-control"], path).toBe("no-store")
      expect(res.body.toString(), path).toContain("404 · Not found")
      expect(res.body.toString(), path).not.toContain(`"projects"`)
    }
  })

  it("answers other methods with 405 and Allow: GET, HEAD", async () => {
    for (const [method, path] of [["POST", "/"], ["PUT", "/assets/style.css"], ["DELETE", "/health"], ["PATCH", "/nope"], ["OPTIONS", "/"]] as const) {
      const res = await httpRequest(`${url}${path}`, { method })
      expect(res.status, `${method} ${path}`).toBe(405)
      expect(res.headers.allow, `${method} ${path}`).toBe("GET, HEAD")
      expect(res.body.toString(), `${method} ${path}`).toContain("405 · Method not allowed")
    }
  })

  it("sends the security headers on every kind of response, HSTS only behind https", async () => {
    for (const [method, path] of [["GET", "/"], ["GET", "/health"], ["GET", "/nope"], ["POST", "/"], ["GET", "/assets/style.css"]] as const) {
      const res = await httpRequest(`${url}${path}`, { method })
      const where = `${method} ${path}`
      expect(res.headers["content-security-policy"], where).toContain("default-src 'none'")
      expect(res.headers["content-security-policy"], where).toContain("frame-ancestors 'none'")
      expect(res.headers["x-content-type-options"], where).toBe("nosniff")
      expect(res.headers["x-frame-options"], where).toBe("DENY")
      expect(res.headers["referrer-policy"], where).toBe("strict-origin-when-cross-origin")
      expect(res.headers["strict-transport-security"], where).toBeUndefined()
      expect(res.headers["x-powered-by"], where).toBeUndefined()
    }
    const behindTls = await httpRequest(`${url}/`, { headers: { "x-forwarded-proto": "https" } })
    expect(behindTls.headers["strict-transport-security"]).toBe("max-age=31536000; includeSubDomains")
  })

  it("writes one JSON access-log line per request, in Cloud Logging's httpRequest shape", async () => {
    const before = app.accessLines().length
    await httpRequest(`${url}/`, { headers: { "user-agent": "probe/1.0", referer: "https://example.org/" } })
    await httpRequest(`${url}/nope?x=1`)
    await httpRequest(`${url}/health`, { method: "DELETE" })
    const mine = app.accessLines().slice(before)
    expect(mine.map((l) => l.message)).toEqual(["GET / 200", "GET /nope?x=1 404", "DELETE /health 405"])
    expect(mine.map((l) => l.severity)).toEqual(["INFO", "WARNING", "WARNING"])
    expect(mine[0]?.version).toBe("9.9.9")
    expect(mine[0]?.httpRequest).toMatchObject({
      requestMethod: "GET", requestUrl: "/", status: 200, userAgent: "probe/1.0", referer: "https://example.org/",
      remoteIp: "127.0.0.1", protocol: "HTTP/1.1",
    })
    expect(mine[0]?.httpRequest.latency).toMatch(/^\d+\.\d{6}s$/)
    expect(Number(mine[0]?.httpRequest.responseSize)).toBeGreaterThan(1000)
    // Every line the server wrote is a single JSON object.
    for (const line of app.lines) expect(() => JSON.parse(line)).not.toThrow()
  })

  it("answers a request it cannot parse with 400 and still logs one line", async () => {
    const before = app.accessLines().length
    const conn = await openConnection(app.server.port)
    conn.write("THIS IS NOT HTTP\r\n\r\n")
    expect(await conn.closed).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/)
    const mine = app.accessLines().slice(before)
    expect(mine).toHaveLength(1)
    expect(mine[0]).toMatchObject({ severity: "WARNING", message: "- - 400" })
  })

  it("keeps a log line to one line even when a client sends newlines in its user agent", async () => {
    const before = app.lines.length
    // node:http rejects raw CR/LF in header values, so send what a client can: a JSON-breaking quote.
    await httpRequest(`${url}/`, { headers: { "user-agent": `evil" , "severity": "CRITICAL` } })
    const added = app.lines.slice(before)
    expect(added).toHaveLength(1)
    const parsed = JSON.parse(added[0]!) as { severity: string; httpRequest: { userAgent: string } }
    expect(parsed.severity).toBe("INFO")
    expect(parsed.httpRequest.userAgent).toBe(`evil" , "severity": "CRITICAL`)
  })

  it("serves 3000 concurrent requests (keep-alive pool and fresh connections) correctly, logging each once", async () => {
    const page = (await httpRequest(`${url}/`)).body
    const before = app.accessLines().length
    const agent = new Agent({ keepAlive: true, maxSockets: 100 })
    try {
      const paths = ["/", "/health", "/assets/style.css", "/nope"]
      const jobs = Array.from({ length: 3000 }, (_, i) => {
        const path = paths[i % paths.length]!
        // Every third request opens its own connection; the rest share 100 keep-alive sockets.
        return httpRequest(`${url}${path}`, { agent: i % 3 === 0 ? false : agent }).then((res) => ({ path, res }))
      })
      const results = await Promise.all(jobs)
      const statuses = new Map<string, Set<number>>()
      for (const { path, res } of results) {
        statuses.set(path, (statuses.get(path) ?? new Set()).add(res.status))
        if (path === "/") expect(res.body.equals(page)).toBe(true)
        if (path === "/assets/style.css") expect(res.body.equals(styleCss)).toBe(true)
      }
      expect(Object.fromEntries([...statuses].map(([p, s]) => [p, [...s]]))).toEqual({
        "/": [200], "/health": [200], "/assets/style.css": [200], "/nope": [404],
      })
    } finally {
      agent.destroy()
    }
    expect(app.accessLines().length - before).toBe(3000)
  })
})

describe("start-up", () => {
  const servers: RunningServer[] = []
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.shutdown("test over")))
  })

  function gatedSite(): { load: () => Promise<Site>; open: () => void; fail: (err: Error) => void } {
    let open!: () => void
    let fail!: (err: Error) => void
    const gate = new Promise<void>((resolve, reject) => { open = resolve; fail = reject })
    return { load: async () => { await gate; return loadSite(defaultSitePaths(), config) }, open, fail }
  }

  it("answers 503 on /health and on pages until the content is loaded, then 200", async () => {
    const gate = gatedSite()
    const app = await serve({ loadSite: gate.load })
    servers.push(app.server)
    expect(app.server.phase()).toBe("starting")

    const health = await httpRequest(`${app.server.url}/health`)
    expect(health.status).toBe(503)
    expect(JSON.parse(health.body.toString())).toMatchObject({ status: "starting", version: "9.9.9" })
    const page = await httpRequest(`${app.server.url}/`)
    expect(page.status).toBe(503)
    expect(page.headers["retry-after"]).toBe("1")

    gate.open()
    await app.server.ready
    expect((await httpRequest(`${app.server.url}/health`)).status).toBe(200)
    expect((await httpRequest(`${app.server.url}/`)).status).toBe(200)
  })

  it("never becomes ready when the content cannot be loaded, and says why", async () => {
    const gate = gatedSite()
    const app = await serve({ loadSite: gate.load })
    servers.push(app.server)
    gate.fail(new Error("content/portfolio.json is not a valid portfolio"))
    await expect(app.server.ready).rejects.toThrow("not a valid portfolio")
    expect((await httpRequest(`${app.server.url}/health`)).status).toBe(503)
  })

  it("stays draining when SIGTERM-style shutdown arrives before the content finished loading", async () => {
    const gate = gatedSite()
    const app = await serve({ loadSite: gate.load })
    const stopped = app.server.shutdown("SIGTERM")
    gate.open()
    await app.server.ready
    expect(app.server.phase()).toBe("draining")
    expect(await stopped).toMatchObject({ forced: false })
  })

  it("refuses to start on a port that is taken, naming the port and the fix", async () => {
    const first = await serve()
    servers.push(first.server)
    await expect(serve({ config: { ...config, port: first.server.port } }))
      .rejects.toThrow(`cannot listen on 127.0.0.1:${first.server.port}: `)
    await expect(serve({ config: { ...config, port: first.server.port } }))
      .rejects.toThrow("already in use; stop the other process or set PORT to a free port")
  })
})

describe("the HEALTHCHECK script (src/healthcheck.ts)", () => {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href
  const script = fileURLToPath(new URL("../src/healthcheck.ts", import.meta.url))
  function probe(port: string): Promise<{ code: number | null; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, ["--import", tsx, script], { env: { PATH: process.env.PATH ?? "", PORT: port } })
      let stderr = ""
      child.stderr.setEncoding("utf8").on("data", (c: string) => { stderr += c })
      child.on("exit", (code) => resolve({ code, stderr }))
    })
  }

  it("exits 0 for a ready app and 1 (with the reason) while starting, after stop, or misconfigured", async () => {
    let open!: () => void
    const gate = new Promise<void>((r) => { open = r })
    const app = await serve({ loadSite: async () => { await gate; return loadSite(defaultSitePaths(), config) } })
    const port = String(app.server.port)

    expect(await probe(port)).toEqual({ code: 1, stderr: "healthcheck: /health answered 503\n" })
    open()
    await app.server.ready
    expect(await probe(port)).toEqual({ code: 0, stderr: "" })
    await app.server.shutdown("test over")
    const down = await probe(port)
    expect(down.code).toBe(1)
    expect(down.stderr).toContain(`GET http://127.0.0.1:${port}/health failed: connect ECONNREFUSED`)
    expect(await probe("http")).toEqual({ code: 1, stderr: "healthcheck: PORT must be an integer from 0 to 65535, got 'http'\n" })
  })
})
