// A small local fake of the four Google REST APIs the Terraform probes and the state-bucket bootstrap
// call (Storage JSON v1, Artifact Registry v1, Cloud Run v2, IAM v1). It answers like Google does:
// 200 with the resource, 404 when absent, 401 without the right bearer token, 403 where a test forbids
// access, 409 when a bucket name is taken. Only the calls the pipeline makes are modelled.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

export interface GoogleApisFake {
  /** Base URL to use for every API (storage, run, artifactRegistry, iam). */
  endpoint: string
  /** Resource paths that exist, e.g. "/storage/v1/b/x", "/v2/projects/p/locations/l/services/s". */
  existing: Set<string>
  /** Paths that answer 403 (the caller lacks a permission). */
  forbidden: Set<string>
  /** Bucket names owned by some other project (create answers 409, GET answers 403). */
  takenElsewhere: Set<string>
  /** Buckets created through the API: the project query parameter and the request body. */
  created: { project: string; body: Record<string, unknown> }[]
  requests: { method: string; path: string; authorized: boolean }[]
  /** Forget all resources and requests. */
  reset(): void
  close(): Promise<void>
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" })
  res.end(JSON.stringify(body))
}

/** Starts the fake on a loopback port; `token` is the only bearer token it accepts. */
export async function startGoogleApisFake(token: string): Promise<GoogleApisFake> {
  let base = ""
  const fake = {
    existing: new Set<string>(),
    forbidden: new Set<string>(),
    takenElsewhere: new Set<string>(),
    created: [] as GoogleApisFake["created"],
    requests: [] as GoogleApisFake["requests"],
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", base)
    const path = decodeURIComponent(url.pathname)
    const authorized = req.headers.authorization === `Bearer ${token}`
    fake.requests.push({ method: req.method ?? "", path, authorized })
    if (!authorized) {
      return send(res, 401, { error: { code: 401, status: "UNAUTHENTICATED", message: "Request had invalid authentication credentials." } })
    }
    if (fake.forbidden.has(path)) {
      return send(res, 403, { error: { code: 403, status: "PERMISSION_DENIED", message: `Permission denied on ${path}` } })
    }
    if (req.method === "POST" && path === "/storage/v1/b") {
      const chunks: Buffer[] = []
      for await (const c of req) chunks.push(c as Buffer)
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>
      const bucketPath = `/storage/v1/b/${String(body.name)}`
      if (fake.existing.has(bucketPath) || fake.takenElsewhere.has(String(body.name))) {
        return send(res, 409, { error: { code: 409, message: "The requested bucket name is not available." } })
      }
      fake.existing.add(bucketPath)
      fake.created.push({ project: url.searchParams.get("project") ?? "", body })
      return send(res, 200, { kind: "storage#bucket", ...body })
    }
    if (req.method === "GET") {
      if (path.startsWith("/storage/v1/b/") && fake.takenElsewhere.has(path.slice("/storage/v1/b/".length))) {
        return send(res, 403, { error: { code: 403, message: "does not have storage.buckets.get access" } })
      }
      if (fake.existing.has(path)) return send(res, 200, { name: path })
      return send(res, 404, { error: { code: 404, status: "NOT_FOUND", message: `${path} not found` } })
    }
    send(res, 405, { error: { code: 405, message: "method not allowed" } })
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => send(res, 500, { error: { code: 500, message: err.message } }))
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return Object.assign(fake, {
    endpoint: base,
    reset() {
      fake.existing.clear()
      fake.forbidden.clear()
      fake.takenElsewhere.clear()
      fake.created.length = 0
      fake.requests.length = 0
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  })
}
