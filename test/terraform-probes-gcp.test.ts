// GCP probes and the state-bucket bootstrap over HTTP against a small local fake of the four Google
// REST APIs they call (Storage JSON, Artifact Registry v1, Cloud Run v2, IAM v1). The fake answers
// like Google does: 200 with the resource, 404 when absent, 401 without the bearer token, 403 where
// the test forbids access, 409 when a bucket name is taken.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { readFileSync } from "node:fs"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import type { Secret } from "@dagger.io/dagger"
import { parseSettings } from "../dagger/src/settings.js"
import { entriesToProbe, planImports } from "../dagger/src/terraform-import.js"
import { bootstrapGcsBackend, gcpAccessToken, probeGcp, type GcpTarget } from "../dagger/src/terraform-probes-gcp.js"
import { gcpNames, gcpStack } from "../dagger/src/terraform-stacks.js"
import { repoRoot } from "./tools/paths.js"

const settings = parseSettings(readFileSync(`${repoRoot}/ci/pipeline.yaml`, "utf8"))
const names = gcpNames(settings)
const stack = gcpStack(settings)
const TOKEN = "ya29.test-token"

interface FakeState {
  /** Resource paths that exist, e.g. "/storage/v1/b/x", "/v2/projects/p/locations/l/services/s". */
  existing: Set<string>
  /** Paths that answer 403 (the caller lacks a permission). */
  forbidden: Set<string>
  /** Bucket names owned by some other project (create answers 409, GET answers 403). */
  takenElsewhere: Set<string>
  created: { project: string; body: Record<string, unknown> }[]
  requests: { method: string; path: string; authorized: boolean }[]
}

let server: Server
let base: string
let fake: FakeState

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" })
  res.end(JSON.stringify(body))
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", base)
  const path = decodeURIComponent(url.pathname)
  const authorized = req.headers.authorization === `Bearer ${TOKEN}`
  fake.requests.push({ method: req.method ?? "", path, authorized })
  if (!authorized) return send(res, 401, { error: { code: 401, status: "UNAUTHENTICATED", message: "Request had invalid authentication credentials." } })
  if (fake.forbidden.has(path)) {
    return send(res, 403, { error: { code: 403, status: "PERMISSION_DENIED", message: `Permission denied on ${path}` } })
  }
  if (req.method === "POST" && path === "/storage/v1/b") {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>
    const bucketPath = `/storage/v1/b/${String(body.name)}`
    if (fake.existing.has(bucketPath) || fake.takenElsewhere.has(String(body.name))) {
      return send(res, 409, { error: { code: 409, message: "Your previous request to create the named bucket succeeded and you already own it." } })
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

beforeAll(async () => {
  server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => send(res, 500, { error: { code: 500, message: err.message } }))
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  await new Promise((r) => server.close(r))
})
beforeEach(() => {
  fake = { existing: new Set(), forbidden: new Set(), takenElsewhere: new Set(), created: [], requests: [] }
})

function target(token = TOKEN): GcpTarget {
  return { accessToken: token, endpoints: { storage: base, run: base, artifactRegistry: base, iam: base } }
}

const p = names.project
const l = names.region
const paths = {
  bucket: `/storage/v1/b/${names.stateBucket}`,
  repository: `/v1/projects/${p}/locations/${l}/repositories/${names.artifactRepository}`,
  serviceAccount: `/v1/projects/${p}/serviceAccounts/${names.runtimeServiceAccountEmail}`,
  service: `/v2/projects/${p}/locations/${l}/services/${names.service}`,
}

describe("GCP probes (local fake of the Google REST APIs)", () => {
  it("in an empty project finds nothing: apply creates every resource", async () => {
    const probes = await probeGcp(stack.manifest, target())
    expect([...probes.values()]).toEqual(stack.manifest.map(() => ({ status: "absent" })))
    expect(fake.requests.every((r) => r.authorized && r.method === "GET")).toBe(true)
    expect(fake.requests.map((r) => r.path).sort()).toEqual(Object.values(paths).sort())
  })

  it("finds existing resources with the import IDs the google provider expects; a second run probes nothing", async () => {
    for (const path of Object.values(paths)) fake.existing.add(path)
    const probes = await probeGcp(stack.manifest, target())
    const plan = planImports([], stack.manifest, probes)
    expect(Object.fromEntries(plan.imports.map((i) => [i.address, i.importId]))).toEqual({
      "module.state_backend.google_storage_bucket.state": names.stateBucket,
      "module.registry.google_artifact_registry_repository.this": `projects/${p}/locations/${l}/repositories/${names.artifactRepository}`,
      "module.service.google_service_account.runtime": `projects/${p}/serviceAccounts/${names.runtimeServiceAccountEmail}`,
      "module.service.google_cloud_run_v2_service.this": `projects/${p}/locations/${l}/services/${names.service}`,
    })
    const state = stack.manifest.map((e) => e.address)
    expect(entriesToProbe(state, stack.manifest)).toEqual([])
  })

  it("turns a missing permission into a failed probe that names the role to grant", async () => {
    fake.forbidden.add(paths.service)
    const probes = await probeGcp(stack.manifest, target())
    const r = probes.get("module.service.google_cloud_run_v2_service.this")
    expect(r?.status).toBe("failed")
    expect(r?.status === "failed" ? r.reason : "").toMatch(/HTTP 403 PERMISSION_DENIED: Permission denied.*needs roles\/run\.viewer/)
    expect(() => planImports([], stack.manifest, probes)).toThrow(/module.service.google_cloud_run_v2_service.this/)
  })

  it("reports a rejected token as a failed probe, never as 'absent'", async () => {
    const probes = await probeGcp(stack.manifest, target("wrong"))
    expect([...probes.values()].every((r) => r.status === "failed" && r.reason.includes("HTTP 401 UNAUTHENTICATED"))).toBe(true)
  })
})

describe("GCS state bucket bootstrap", () => {
  const backend = { project: p, bucket: names.stateBucket, location: l }

  it("creates a versioned, uniform-access, public-access-prevented bucket once, then leaves it", async () => {
    expect(await bootstrapGcsBackend(target(), backend)).toEqual({ created: true })
    expect(fake.created).toEqual([
      {
        project: p,
        body: {
          name: names.stateBucket,
          location: l.toUpperCase(),
          versioning: { enabled: true },
          iamConfiguration: { uniformBucketLevelAccess: { enabled: true }, publicAccessPrevention: "enforced" },
        },
      },
    ])
    expect(await bootstrapGcsBackend(target(), backend)).toEqual({ created: false })
    expect(fake.created).toHaveLength(1)
  })

  it("says to pick another name when another project owns the bucket name", async () => {
    fake.takenElsewhere.add(names.stateBucket)
    await expect(bootstrapGcsBackend(target(), backend)).rejects.toThrow(
      /HTTP 403.*if another project owns this one, choose another production\.terraform\.stateBucket/s,
    )
    expect(fake.created).toEqual([])
  })
})

describe("gcpAccessToken", () => {
  const secret = (value: string) => ({ plaintext: async () => value }) as unknown as Secret

  it("uses an access token as given (trimmed)", async () => {
    expect(await gcpAccessToken({ accessToken: secret(`${TOKEN}\n`) })).toBe(TOKEN)
  })

  it("rejects a key that is not JSON without echoing any of it", async () => {
    const err = await gcpAccessToken({ credentials: secret("super-secret-not-json") }).catch((e: Error) => e)
    expect((err as Error).message).toMatch(/--gcp-credentials is not JSON/)
    expect((err as Error).message).not.toContain("super-secret")
  })
})
