// A small local fake of the four Google REST APIs the Terraform probes and the state-bucket bootstrap
// call (Storage JSON v1, Artifact Registry v1, Cloud Run v2, IAM v1), and of Artifact Registry's
// tags.get, which the publish step asks before a push. It answers like Google does: 200 with the
// resource, 404 when absent, 401 without the right bearer token, 403 where a test forbids access, 409
// when a bucket name is taken. Only the calls the pipeline makes are modelled.
import { createPublicKey, verify, type KeyObject } from "node:crypto"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

/** A Docker image's tag in an Artifact Registry repository. */
export interface ImageTag {
  project: string
  location: string
  repository: string
  /** The image (the API's package); may contain slashes. */
  image: string
  tag: string
}

/** The key of a tag in `imageTags`: its resource name with the package part unescaped. */
export function imageTagKey(t: ImageTag): string {
  return `projects/${t.project}/locations/${t.location}/repositories/${t.repository}/packages/${t.image}/tags/${t.tag}`
}

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
  /**
   * Docker image tags (imageTagKey → the version's `sha256:` digest), as a push leaves them. tags.get
   * takes the package ID as ONE path segment: an image name's slashes must be escaped (%2F).
   */
  imageTags: Map<string, string>
  /** Records `image:tag` → `digest`, as a push of that image does. */
  tagImage(t: ImageTag, digest: string): void
  requests: { method: string; path: string; authorized: boolean }[]
  /** Forget all resources and requests. */
  reset(): void
  close(): Promise<void>
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" })
  res.end(JSON.stringify(body))
}

/**
 * A service account whose self-signed access JWTs the fake accepts, as Google does: RS256 signed with the
 * account's private key, `iss` the account's email, a `scope` (or an `aud`) and not expired.
 */
export interface FakeServiceAccount {
  email: string
  /** The public half of the key (PEM or KeyObject). */
  publicKey: string | KeyObject
}

function acceptsJwt(authorization: string | undefined, account: FakeServiceAccount | undefined): boolean {
  if (!account || !authorization?.startsWith("Bearer ")) return false
  const parts = authorization.slice(7).split(".")
  if (parts.length !== 3) return false
  const [header, payload, signature] = parts as [string, string, string]
  const key = typeof account.publicKey === "string" ? createPublicKey(account.publicKey) : account.publicKey
  if (!verify("RSA-SHA256", Buffer.from(`${header}.${payload}`), key, Buffer.from(signature, "base64url"))) return false
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { iss?: string; scope?: string; aud?: string; exp?: number }
  return claims.iss === account.email && Boolean(claims.scope || claims.aud) && typeof claims.exp === "number" && claims.exp * 1000 > Date.now()
}

/** The path `/v1/<tag name>` of Artifact Registry's tags.get, split on its raw (still escaped) segments. */
const TAG_PATH = /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/repositories\/([^/]+)\/packages\/([^/]+)\/tags\/([^/]+)$/

/**
 * Starts the fake on a loopback port; `token` is the only bearer access token it accepts, besides the
 * self-signed JWTs of `opts.serviceAccount`.
 */
export async function startGoogleApisFake(token: string, opts: { serviceAccount?: FakeServiceAccount } = {}): Promise<GoogleApisFake> {
  let base = ""
  const fake = {
    existing: new Set<string>(),
    forbidden: new Set<string>(),
    takenElsewhere: new Set<string>(),
    created: [] as GoogleApisFake["created"],
    imageTags: new Map<string, string>(),
    requests: [] as GoogleApisFake["requests"],
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", base)
    const path = decodeURIComponent(url.pathname)
    const authorization = req.headers.authorization
    const authorized = authorization === `Bearer ${token}` || acceptsJwt(authorization, opts.serviceAccount)
    fake.requests.push({ method: req.method ?? "", path, authorized })
    if (!authorized) {
      return send(res, 401, { error: { code: 401, status: "UNAUTHENTICATED", message: "Request had invalid authentication credentials." } })
    }
    const tagPath = TAG_PATH.exec(url.pathname)
    if (fake.forbidden.has(path)) {
      const denied = tagPath ? `Permission 'artifactregistry.tags.get' denied on resource '${path.slice(4)}' (or it may not exist).` : `Permission denied on ${path}`
      return send(res, 403, { error: { code: 403, status: "PERMISSION_DENIED", message: denied } })
    }
    if (req.method === "GET" && tagPath) {
      const [project, location, repository, image, tag] = tagPath.slice(1).map((p) => decodeURIComponent(p)) as [string, string, string, string, string]
      const digest = fake.imageTags.get(imageTagKey({ project, location, repository, image, tag }))
      if (digest === undefined) return send(res, 404, { error: { code: 404, status: "NOT_FOUND", message: "Requested entity was not found." } })
      // Google escapes the package part's slashes in the names it answers.
      const pkg = `projects/${project}/locations/${location}/repositories/${repository}/packages/${encodeURIComponent(image)}`
      return send(res, 200, { name: `${pkg}/tags/${tag}`, version: `${pkg}/versions/${digest}` })
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
    tagImage(t: ImageTag, digest: string) {
      fake.imageTags.set(imageTagKey(t), digest)
    },
    reset() {
      fake.existing.clear()
      fake.forbidden.clear()
      fake.takenElsewhere.clear()
      fake.created.length = 0
      fake.imageTags.clear()
      fake.requests.length = 0
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  })
}
