// GCP probes over HTTP against a local fake of the four Google REST APIs they call
// (test/support/google-apis-fake.ts), and the access token they send.
import { readFileSync } from "node:fs"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import type { Secret } from "@dagger.io/dagger"
import { parseSettings } from "../../../dagger/src/config/settings.js"
import { entriesToProbe, planImports } from "../../../dagger/src/terraform/import.js"
import { gcpAccessToken, probeGcp, type GcpTarget } from "../../../dagger/src/terraform/probes/gcp.js"
import { gcpNames, gcpStack } from "../../../dagger/src/terraform/stacks.js"
import { startGoogleApisFake, type GoogleApisFake } from "../../support/google-apis-fake.js"
import { repoRoot } from "../../tools/paths.js"

const settings = parseSettings(readFileSync(`${repoRoot}/ci/pipeline.yaml`, "utf8"))
const names = gcpNames(settings)
const stack = gcpStack(settings)
const TOKEN = "ya29.test-token"

let fake: GoogleApisFake

beforeAll(async () => {
  fake = await startGoogleApisFake(TOKEN)
})
afterAll(async () => {
  await fake?.close()
})
beforeEach(() => {
  fake.reset()
})

function target(token = TOKEN): GcpTarget {
  const base = fake.endpoint
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
