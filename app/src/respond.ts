// The whole request → response decision as one pure function: the server shell only copies the Reply
// onto the socket. Tests can cover every branch without a socket, and the HTTP tests prove the shell.
import { chooseEncoding, etagMatches, securityHeaders } from "./http-rules.js"
import type { Resource, Site } from "./site.js"
import { CACHE_NONE } from "./site.js"

/** starting: listening, content not loaded yet; ready: serving; draining: SIGTERM received. */
export type Phase = "starting" | "ready" | "draining"

/** What /health reports about the running build. */
export interface Identity {
  version: string
  commit: string
  /** ISO-8601 time the process started. */
  startedAt: string
}

export interface HealthBody {
  status: "ok" | "starting" | "draining"
  version: string
  commit: string
  startedAt: string
}

export interface RequestInfo {
  method: string
  /** The request target as received (`req.url`). */
  url: string
  acceptEncoding?: string
  ifNoneMatch?: string
  /** X-Forwarded-Proto from the load balancer, if any. */
  forwardedProto?: string
}

export interface ServerState {
  phase: Phase
  /** Undefined until start-up has loaded content. */
  site: Site | undefined
  identity: Identity
}

export interface Reply {
  status: number
  headers: Record<string, string>
  /** Empty for HEAD and 304; `content-length` still describes the full representation for HEAD. */
  body: Buffer
}

export const HEALTH_PATH = "/health"
export const ALLOWED_METHODS = "GET, HEAD"
const EMPTY = Buffer.alloc(0)
// Built once: the same two header sets serve every request.
const SECURITY_HTTP = securityHeaders({ https: false })
const SECURITY_HTTPS = securityHeaders({ https: true })

/** The /health body for a phase. */
export function healthBody(phase: Phase, identity: Identity): HealthBody {
  return { status: phase === "ready" ? "ok" : phase, ...identity }
}

function plain(status: number, text: string, extra: Record<string, string> = {}): Reply {
  const body = Buffer.from(text + "\n")
  return {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", "cache-control": CACHE_NONE, ...extra },
    body,
  }
}

function fromResource(status: number, resource: Resource, req: RequestInfo, extra: Record<string, string> = {}): Reply {
  const available = resource.variants.map((v) => v.encoding)
  const encoding = chooseEncoding(req.acceptEncoding, available) ?? "identity"
  // identity always exists (makeResource guarantees it), so the fallback never misses.
  const variant = resource.variants.find((v) => v.encoding === encoding) ?? resource.variants[0]!
  const headers: Record<string, string> = {
    "content-type": resource.contentType,
    "cache-control": resource.cacheControl,
    ...extra,
  }
  if (available.length > 1) headers["vary"] = "Accept-Encoding"
  if (variant.encoding !== "identity") headers["content-encoding"] = variant.encoding
  if (status === 200) {
    headers["etag"] = variant.etag
    if (etagMatches(req.ifNoneMatch, variant.etag)) {
      delete headers["content-type"]
      delete headers["content-encoding"]
      return { status: 304, headers, body: EMPTY }
    }
  }
  return { status, headers, body: variant.body }
}

function pathOf(url: string): string | undefined {
  try {
    return new URL(url, "http://app.invalid").pathname
  } catch {
    return undefined
  }
}

/** Decides the response to one request. */
export function respond(req: RequestInfo, state: ServerState): Reply {
  const reply = decide(req, state)
  const isHead = req.method === "HEAD"
  const headers: Record<string, string> = {
    ...(req.forwardedProto?.split(",")[0]?.trim().toLowerCase() === "https" ? SECURITY_HTTPS : SECURITY_HTTP),
    ...reply.headers,
  }
  if (reply.status !== 304) headers["content-length"] = String(reply.body.length)
  // While draining, finish this exchange but do not keep the connection: the process is about to exit.
  if (state.phase === "draining") headers["connection"] = "close"
  return { status: reply.status, headers, body: isHead || reply.status === 304 ? EMPTY : reply.body }
}

function decide(req: RequestInfo, state: ServerState): Reply {
  const path = pathOf(req.url)
  if (path === undefined) return plain(400, "Bad request: the request target is not a valid URL path.")
  const methodOk = req.method === "GET" || req.method === "HEAD"

  if (!methodOk) {
    const allow = { allow: ALLOWED_METHODS }
    return state.site
      ? fromResource(405, state.site.methodNotAllowed, req, allow)
      : plain(405, `Method ${req.method} not allowed; use ${ALLOWED_METHODS}.`, allow)
  }

  if (path === HEALTH_PATH) {
    const body = healthBody(state.phase, state.identity)
    return {
      status: body.status === "ok" ? 200 : 503,
      headers: { "content-type": "application/json; charset=utf-8", "cache-control": CACHE_NONE },
      body: Buffer.from(JSON.stringify(body)),
    }
  }

  if (!state.site) return plain(503, "Starting up; try again in a moment.", { "retry-after": "1" })

  const resource = state.site.routes.get(path)
  return resource ? fromResource(200, resource, req) : fromResource(404, state.site.notFound, req)
}
