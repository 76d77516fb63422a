// The imperative shell: a node:http server that asks `respond` what to send, writes it, logs it, and
// knows how to drain. Start-up order is listen → load content → ready, so /health can say 503
// "starting" instead of refusing connections, and a broken content file is reported, not crash-looped
// silently.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { Socket } from "node:net"
import { fileURLToPath } from "node:url"
import type { AppConfig } from "./config.js"
import { accessLogLine, eventLogLine, type LogSink } from "./log.js"
import { respond, type Identity, type Phase, type Reply, type ServerState } from "./respond.js"
import { loadSite, type Site, type SitePaths } from "./site.js"

// The ALB closes idle connections after 60 s (its default idle timeout). If the app closed first, the
// ALB could reuse a socket the app just closed and answer 502; so the app keeps idle sockets longer.
const KEEP_ALIVE_TIMEOUT_MS = 65_000
// Slow-loris bounds: complete headers within 20 s, the whole request within 30 s.
const HEADERS_TIMEOUT_MS = 20_000
const REQUEST_TIMEOUT_MS = 30_000

/** content/ and public/ beside src/ (tsx) or dist/ (built image): the same relative place in both. */
export function defaultSitePaths(): SitePaths {
  return {
    contentFile: fileURLToPath(new URL("../content/portfolio.json", import.meta.url)),
    publicDir: fileURLToPath(new URL("../public/", import.meta.url)),
  }
}

export interface StartOptions {
  config: AppConfig
  /** Builds what the app serves. Default: `loadSite(defaultSitePaths(), …)`. Tests inject slow or failing loaders. */
  loadSite?: () => Promise<Site>
  /** Where log lines go. Default: stdout, one line each. */
  log?: LogSink
  /** Clock for log times and startedAt. Default: the system clock. */
  now?: () => Date
}

export interface ShutdownResult {
  /** True when the timeout expired and open connections had to be cut. */
  forced: boolean
  /** Connections still open when the timeout expired (0 unless forced). */
  connectionsCut: number
  durationMs: number
}

export interface RunningServer {
  /** The port actually bound (useful with PORT=0). */
  readonly port: number
  /** Loopback base URL, e.g. http://127.0.0.1:8080 */
  readonly url: string
  phase(): Phase
  /** Resolves when content is loaded and /health answers 200; rejects if loading failed. */
  readonly ready: Promise<void>
  /**
   * Stops accepting connections, answers /health with 503 on connections still open, lets in-flight
   * requests finish (each reply carries `Connection: close`), and cuts whatever is left after
   * `config.shutdownTimeoutMs`. Idempotent: later calls return the first call's promise.
   */
  shutdown(reason: string): Promise<ShutdownResult>
}

const stdoutSink: LogSink = (line) => {
  process.stdout.write(line + "\n")
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name]
  return Array.isArray(v) ? v.join(", ") : v
}

/** Starts listening and begins loading content; resolves once the port is bound. */
export async function startServer(options: StartOptions): Promise<RunningServer> {
  const { config } = options
  const log = options.log ?? stdoutSink
  const now = options.now ?? (() => new Date())
  const load = options.loadSite ?? (() => loadSite(defaultSitePaths(), config))
  const identity: Identity = { version: config.version, commit: config.commit, startedAt: now().toISOString() }
  const state: ServerState = { phase: "starting", site: undefined, identity }
  const sockets = new Set<Socket>()

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const t0 = performance.now()
    let reply: Reply
    try {
      reply = respond({
        method: req.method ?? "GET",
        url: req.url ?? "/",
        acceptEncoding: header(req, "accept-encoding"),
        ifNoneMatch: header(req, "if-none-match"),
        forwardedProto: header(req, "x-forwarded-proto"),
      }, state)
    } catch (err) {
      log(eventLogLine("ERROR", `request handler failed: ${(err as Error).stack ?? String(err)}`, now(), { url: req.url }))
      const body = Buffer.from("Internal server error\n")
      reply = { status: 500, headers: { "content-type": "text/plain; charset=utf-8", "content-length": String(body.length), "cache-control": "no-store" }, body }
    }
    let logged = false
    const done = (aborted: boolean): void => {
      if (logged) return
      logged = true
      log(accessLogLine({
        method: req.method ?? "",
        url: req.url ?? "",
        status: reply.status,
        bytes: aborted ? 0 : reply.body.length,
        durationMs: performance.now() - t0,
        userAgent: header(req, "user-agent"),
        remoteIp: req.socket.remoteAddress,
        referer: header(req, "referer"),
        protocol: `HTTP/${req.httpVersion}`,
        aborted,
      }, now(), config.version))
    }
    res.once("finish", () => done(false))
    res.once("close", () => done(!res.writableFinished))
    res.writeHead(reply.status, reply.headers)
    res.end(reply.body)
  }

  const server: Server = createServer({
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    headersTimeout: HEADERS_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
  }, handle)
  // Requests node:http cannot parse never reach `handle`; answer them like node's default handler would,
  // but keep the one-JSON-line-per-request promise.
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
    const status = err.code === "HPE_HEADER_OVERFLOW" ? 431 : err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400
    if (err.code !== "ECONNRESET" && socket.writable) {
      const reason = status === 431 ? "Request Header Fields Too Large" : status === 408 ? "Request Timeout" : "Bad Request"
      socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
      log(accessLogLine({
        method: "-", url: "-", status, bytes: 0, durationMs: 0, remoteIp: socket.remoteAddress, protocol: "HTTP/1.1",
      }, now(), config.version))
    }
    socket.destroy()
  })
  server.on("connection", (socket: Socket) => {
    sockets.add(socket)
    socket.once("close", () => sockets.delete(socket))
  })

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const hint = err.code === "EADDRINUSE"
        ? `port ${config.port} is already in use; stop the other process or set PORT to a free port`
        : err.code === "EACCES"
          ? `not allowed to bind port ${config.port}; use a port above 1023 (the image runs as a non-root user)`
          : `check HOST (${config.host}) and PORT (${config.port})`
      reject(new Error(`cannot listen on ${config.host}:${config.port}: ${err.message} — ${hint}`))
    }
    server.once("error", onError)
    server.listen({ port: config.port, host: config.host }, () => {
      server.off("error", onError)
      resolve()
    })
  })
  const address = server.address()
  const port = typeof address === "object" && address ? address.port : config.port
  log(eventLogLine("INFO", `listening on ${config.host}:${port}`, now(), { port, version: config.version, commit: config.commit }))

  const ready = load().then((site) => {
    // A SIGTERM during start-up wins: never flip a draining server back to ready.
    if (state.phase === "starting") {
      state.site = site
      state.phase = "ready"
      log(eventLogLine("INFO", "ready", now(), { version: config.version, commit: config.commit }))
    }
  })

  let stopping: Promise<ShutdownResult> | undefined
  const shutdown = (reason: string): Promise<ShutdownResult> => {
    stopping ??= new Promise<ShutdownResult>((resolve) => {
      const t0 = performance.now()
      state.phase = "draining"
      log(eventLogLine("INFO", `draining (${reason})`, now(), { openConnections: sockets.size, timeoutMs: config.shutdownTimeoutMs }))
      let forced = false
      let connectionsCut = 0
      const timer = setTimeout(() => {
        forced = true
        connectionsCut = sockets.size
        for (const socket of sockets) socket.destroy()
      }, config.shutdownTimeoutMs)
      // close() stops accepting and (Node ≥ 19) closes keep-alive sockets with no request in progress;
      // its callback runs once every connection has ended.
      server.close(() => {
        clearTimeout(timer)
        resolve({ forced, connectionsCut, durationMs: Math.round(performance.now() - t0) })
      })
    })
    return stopping
  }

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    phase: () => state.phase,
    ready,
    shutdown,
  }
}
