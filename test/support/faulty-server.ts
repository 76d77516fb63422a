// A local HTTP server whose /health misbehaves on demand, for testing health checks against the faults a
// rollout really produces: slow answers, flapping, 5xx, connection resets, non-JSON bodies and the OLD
// release still answering before the new one takes over.
//
// Design choices, and why:
// - The behaviour is a function of (request number, ms since start), so a test states a whole scenario
//   ("old version until 300 ms, then new") up front and the server follows it without test-side timers.
// - Every request is logged with its arrival time and the behaviour served, so tests can prove claims
//   such as "no success was counted before the new version was serving".
// - Port 0 (kernel-chosen), loopback only; close() also destroys open sockets so a hanging response
//   cannot keep a test alive.
import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo, Socket } from "node:net"

export type Behaviour =
  /** 200 JSON { status, version, commit, startedAt } like the app when ready. */
  | { kind: "healthy"; version: string; commit: string; status?: string }
  /** Any status with a JSON body like the app's (e.g. 503 { status: "starting" }). */
  | { kind: "status"; httpStatus: number; status?: string; version?: string; commit?: string }
  /** A raw body (e.g. an HTML error page or truncated JSON). */
  | { kind: "raw"; httpStatus: number; body: string; contentType?: string }
  /** Closes the connection without answering (socket.destroy()). */
  | { kind: "reset" }
  /** Waits, then behaves as `then` (never answers when `then` is omitted). */
  | { kind: "slow"; delayMs: number; then?: Behaviour }
  /** Forwards the request to another server (e.g. the real app) like a load balancer; 502 if it is down. */
  | { kind: "proxy"; target: string }

export interface RequestRecord {
  n: number
  atMs: number
  path: string
  behaviour: Behaviour["kind"]
  /** Version served, when the behaviour named one. */
  version?: string
}

export type Plan = (req: { n: number; atMs: number; path: string }) => Behaviour

export interface FaultyServer {
  /** Base URL, e.g. http://127.0.0.1:40123 (append /health). */
  url: string
  port: number
  /** Every request received, in arrival order. */
  requests: RequestRecord[]
  /** Replaces the plan; the clock (atMs) keeps running from the server's start. */
  setPlan(plan: Plan): void
  /** Milliseconds since the server started (same clock as RequestRecord.atMs). */
  now(): number
  close(): Promise<void>
}

export const healthy = (version: string, commit: string): Behaviour => ({ kind: "healthy", version, commit })

/** The first behaviour until `atMs`, then the second (e.g. old release, then new release). */
export function switchAt(atMs: number, before: Behaviour, after: Behaviour): Plan {
  return (r) => (r.atMs < atMs ? before : after)
}

/** Cycles through behaviours by request number (flapping). */
export function cycle(...behaviours: Behaviour[]): Plan {
  return (r) => behaviours[r.n % behaviours.length]!
}

/** Plays the listed behaviours in order, then repeats the last one forever. */
export function sequence(...behaviours: Behaviour[]): Plan {
  return (r) => behaviours[Math.min(r.n, behaviours.length - 1)]!
}

/** How a release in front of a real one degrades its answers (degradedProxy). */
export interface Degradation {
  /** Held before every answer, failures included (a uniformly slower release). Default 0. */
  delayMs?: number
  /** Only requests to this path are held; default: every path. */
  delayPath?: string
  /** Only requests to this path fail; default: every path. */
  failPath?: string
  /** Every n-th matching request fails with a 500, the first one included (n = 20: exactly 5 %). */
  failEvery?: number
  /** Or: each matching request fails with this probability, drawn from `random` (e.g. Math.random). */
  failRate?: { rate: number; random: () => number }
}

/**
 * Forwards to `target` (e.g. the real app, so /health names its release) like a load balancer, and
 * degrades the answers as stated: 500s on a share of requests, added latency on all of them.
 */
export function degradedProxy(target: string, d: Degradation): Plan {
  let matching = 0
  const failure: Behaviour = { kind: "raw", httpStatus: 500, body: "<h1>500 Internal Server Error</h1>" }
  return (r) => {
    let fails = false
    if (d.failPath === undefined || r.path === d.failPath) {
      if (d.failEvery !== undefined) fails = matching % d.failEvery === 0
      else if (d.failRate !== undefined) fails = d.failRate.random() < d.failRate.rate
      matching++
    }
    const answer: Behaviour = fails ? failure : { kind: "proxy", target }
    const held = d.delayMs && (d.delayPath === undefined || r.path === d.delayPath)
    return held ? { kind: "slow", delayMs: d.delayMs!, then: answer } : answer
  }
}

function forward(target: string, req: IncomingMessage, res: ServerResponse): void {
  const upstream = request(new URL(req.url ?? "/", target), { method: req.method, agent: false, timeout: 5000 }, (up) => {
    const headers: Record<string, string> = {}
    for (const h of ["content-type", "cache-control"]) {
      const v = up.headers[h]
      if (typeof v === "string") headers[h] = v
    }
    res.writeHead(up.statusCode ?? 502, headers)
    up.pipe(res)
  })
  upstream.on("timeout", () => upstream.destroy(new Error("upstream timeout")))
  upstream.on("error", () => {
    if (res.headersSent) res.destroy()
    else res.writeHead(502, { "content-type": "text/html" }).end("<h1>502 Bad Gateway</h1>")
  })
  upstream.end()
}

function send(res: ServerResponse, b: Exclude<Behaviour, { kind: "reset" } | { kind: "slow" } | { kind: "proxy" }>, startedAt: string): void {
  let status: number
  let body: string
  let type = "application/json"
  switch (b.kind) {
    case "healthy":
      status = 200
      body = JSON.stringify({ status: b.status ?? "ok", version: b.version, commit: b.commit, startedAt })
      break
    case "status":
      status = b.httpStatus
      body = JSON.stringify({ status: b.status ?? "starting", version: b.version, commit: b.commit, startedAt })
      break
    case "raw":
      status = b.httpStatus
      body = b.body
      type = b.contentType ?? "text/html"
      break
  }
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body), "cache-control": "no-store" })
  res.end(body)
}

export async function startFaultyServer(initial: Plan): Promise<FaultyServer> {
  let plan = initial
  const t0 = performance.now()
  const startedAt = new Date().toISOString()
  const requests: RequestRecord[] = []
  const sockets = new Set<Socket>()
  const timers = new Set<NodeJS.Timeout>()

  const behave = (b: Behaviour, req: IncomingMessage, res: ServerResponse): void => {
    if (b.kind === "reset") {
      req.socket.destroy()
      return
    }
    if (b.kind === "slow") {
      if (b.then === undefined) return // never answers; close() cleans up
      const next = b.then
      const timer = setTimeout(() => {
        timers.delete(timer)
        if (!res.destroyed) behave(next, req, res)
      }, b.delayMs)
      timers.add(timer)
      return
    }
    if (b.kind === "proxy") {
      forward(b.target, req, res)
      return
    }
    send(res, b, startedAt)
  }

  const server = createServer((req, res) => {
    const atMs = performance.now() - t0
    const path = (req.url ?? "/").split("?")[0]!
    const n = requests.length
    const b = plan({ n, atMs, path })
    const served = b.kind === "slow" && b.then ? b.then : b
    requests.push({ n, atMs, path, behaviour: b.kind, version: "version" in served ? served.version : undefined })
    behave(b, req, res)
  })
  server.on("connection", (s) => {
    sockets.add(s)
    s.on("close", () => sockets.delete(s))
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  let closed: Promise<void> | undefined
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    setPlan: (p) => {
      plan = p
    },
    now: () => performance.now() - t0,
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t)
        server.close(() => resolve())
        for (const s of sockets) s.destroy()
      })
      return closed
    },
  }
}

/** A loopback port with nothing listening on it (bound, then released), for "connection refused". */
export async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()))
  const port = (server.address() as AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
