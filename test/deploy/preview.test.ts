// deploy-preview and remove-preview through the SDK's real entrypoint (callFunction against the engine
// double): the container parts are scripted (deploy-world.ts), Cloud Run is the fake (behind the counting
// Google APIs endpoint), and the preview's tag URL is served by the real app of the PR's release. Production
// carries a pinned 90/10 split, the canary tag and a foreign tag; none of it may move.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import type { Settings } from "../../dagger/src/config/settings.js"
import { startApp, type AppServer } from "../support/app-server.js"
import { startCloudRunFake, type CloudRunFake } from "../support/cloud-run-fake.js"
import {
  makeCheckout,
  NEW_RELEASE,
  OLD_RELEASE,
  pipelineYaml,
  PUSHED_DIGEST,
  settingsOf,
  startGoogleApis,
  worldScript,
  type CountingProxy,
} from "../support/deploy-world.js"
import { callFunction, startEngineDouble, type ArgValue, type EngineDouble } from "../support/engine-double.js"

interface PreviewResult {
  url: string
  tag: string
  revision: string
  verdict: string
  markdown: string
}

const GCP_TOKEN = "planted-gcp-access-token-ya29-preview"
/** The PR's release: what its preview must answer. */
const PR_RELEASE = { version: "1.2.0-pr.5", commit: "e".repeat(40) }

let fake: CloudRunFake
let google: CountingProxy
let double: EngineDouble
let prApp: AppServer
let settings: Settings
let checkout: ReturnType<typeof makeCheckout>

const serve = (rev: { env: Record<string, string> }): string | undefined => (rev.env["APP_VERSION"] === PR_RELEASE.version ? prApp.url : undefined)
const serviceName = () =>
  `projects/${settings.production.gcp.project}/locations/${settings.production.gcp.region}/services/${settings.production.names.service}`
const rev = (suffix: string) => `${settings.production.names.service}-${suffix}`

/** Traffic per revision and tags as the fake observes them. */
function observed(): { split: Record<string, number>; tags: Record<string, string> } {
  const svc = fake.state.service(serviceName())!
  const split: Record<string, number> = {}
  const tags: Record<string, string> = {}
  for (const t of svc.trafficStatuses) {
    const name = t.revision ?? svc.latestReadyRevision ?? "LATEST"
    if ((t.percent ?? 0) > 0) split[name] = (split[name] ?? 0) + (t.percent ?? 0)
    if (t.tag) tags[t.tag] = name
  }
  return { split, tags }
}

async function seedProduction(): Promise<void> {
  const image = `us-west1-docker.pkg.dev/${settings.production.gcp.project}/portfolio-prod/portfolio@sha256:${"1".repeat(64)}`
  await fake.seed({
    project: settings.production.gcp.project,
    location: settings.production.gcp.region,
    service: settings.production.names.service,
    revisions: [
      { name: rev("00001-old"), image, env: { APP_VERSION: OLD_RELEASE.version, APP_COMMIT: OLD_RELEASE.commit } },
      { name: rev("00002-new"), image, env: { APP_VERSION: NEW_RELEASE.version, APP_COMMIT: NEW_RELEASE.commit } },
    ],
    traffic: [
      { revision: rev("00001-old"), percent: 90 },
      { revision: rev("00002-new"), percent: 10, tag: settings.production.canary.tag },
      { revision: rev("00001-old"), percent: 0, tag: "blue" },
    ],
  })
}

function call(fn: "deploy-preview" | "remove-preview", args: Record<string, ArgValue>) {
  double.reset()
  double.setScript(worldScript({ scan: "clean", outputs: {} }))
  return callFunction(double, {
    fn,
    constructorArgs: { source: double.hostDirectory(checkout.dir) },
    args: { gcpAccessToken: double.secret("GCP_ACCESS_TOKEN", GCP_TOKEN), ...args },
    timeoutMs: 120_000,
  })
}

beforeAll(async () => {
  prApp = await startApp(PR_RELEASE)
  google = await startGoogleApis(() => fake.endpoint)
  const text = pipelineYaml({ cloudRunEndpoint: google.url })
  settings = settingsOf(text)
  checkout = makeCheckout(text)
  double = await startEngineDouble()
}, 60_000)

afterAll(async () => {
  await Promise.all([double?.close(), google?.close(), fake?.close(), prApp?.stop()])
  checkout?.remove()
})

describe("deploy-preview and remove-preview through the SDK entrypoint", () => {
  beforeEach(async () => {
    await fake?.close()
    fake = await startCloudRunFake({ serve })
    await seedProduction()
    google.requests.length = 0
  })

  it("a PR's preview: released like production, healthy at its tag URL, moved on a new push, removed on close; production never moves", async () => {
    const before = observed()
    expect(before).toEqual({ split: { [rev("00001-old")]: 90, [rev("00002-new")]: 10 }, tags: { canary: rev("00002-new"), blue: rev("00001-old") } })

    const first = await call("deploy-preview", { pr: 5, commit: PR_RELEASE.commit, version: PR_RELEASE.version })
    expect(first.error, `${first.error?.message}\n${first.stderr}`).toBeUndefined()
    const p = first.result as PreviewResult
    expect(p).toMatchObject({ verdict: "succeeded", tag: "pr-5" })
    expect(p.revision).toMatch(new RegExp(`^${rev("pr-5-")}[a-z0-9]{4}$`))
    // The URL answers the PR's own release.
    expect(((await (await fetch(`${p.url}/health`)).json()) as { version: string }).version).toBe(PR_RELEASE.version)
    expect(p.markdown).toContain("Preview of PR #5 is ready")
    expect(p.markdown).toContain(p.url)
    expect(p.markdown).toContain(`portfolio@${PUSHED_DIGEST}`)
    expect(p.markdown).toMatch(/\| build, test, scan, SBOM \| succeeded \|/)
    expect(p.markdown).not.toContain(GCP_TOKEN)
    // The image deployed is the published digest, never a tag.
    const image = (fake.state.revision(serviceName(), p.revision)!.template["containers"] as Array<{ image: string }>)[0]!.image
    expect(image).toBe(`us-west1-docker.pkg.dev/${settings.production.gcp.project}/portfolio-prod/portfolio@${PUSHED_DIGEST}`)
    expect(observed()).toEqual({ split: before.split, tags: { ...before.tags, "pr-5": p.revision } })

    const second = (await call("deploy-preview", { pr: 5, commit: PR_RELEASE.commit, version: PR_RELEASE.version })).result as PreviewResult
    expect(second.revision).not.toBe(p.revision)
    expect(observed()).toEqual({ split: before.split, tags: { ...before.tags, "pr-5": second.revision } })

    const removed = await call("remove-preview", { pr: 5 })
    expect(removed.error, `${removed.error?.message}\n${removed.stderr}`).toBeUndefined()
    expect(removed.result).toContain("tag 'pr-5' taken off")
    expect(removed.result).toContain(p.revision)
    expect(removed.result).toContain(second.revision)
    expect(observed()).toEqual(before)
    const live = fake.state.revisionsOf(serviceName()).filter((r) => !r.deleted).map((r) => r.name).sort()
    expect(live).toEqual([rev("00001-old"), rev("00002-new")])
  })

  it("a removal Cloud Run refuses fails the call, naming the PR and that a re-run is safe; production untouched", async () => {
    const before = observed()
    const p = (await call("deploy-preview", { pr: 6, commit: PR_RELEASE.commit, version: PR_RELEASE.version })).result as PreviewResult
    fake.inject({ kind: "http-error", status: 403, method: "DELETE", path: "/revisions/", message: "Permission 'run.revisions.delete' denied" })
    const failed = await call("remove-preview", { pr: 6 })
    expect(failed.error?.message).toMatch(/removing the preview of PR #6 \(tag 'pr-6'\) failed: .*PERMISSION_DENIED.*Re-run the job/s)
    expect(observed()).toEqual(before)
    // The re-run finishes the job: the tag is already gone, the revision is deleted now.
    const again = await call("remove-preview", { pr: 6 })
    expect(again.result).toContain("tag 'pr-6' was not there")
    expect(again.result).toContain(`Deleted revision(s): ${p.revision}.`)
  })

  // The 46-character rule itself cannot be reached from here: settings cap production.names.service at 26
  // characters (the runtime service account's ID), and pr-<Int> adds at most 13. It is tested on tables
  // (test/gcp/preview-traffic.test.ts) and against the fake (test/gcp/preview.test.ts).
  it("a PR number that is not positive is refused before any request to Google or the engine", async () => {
    const result = await call("deploy-preview", { pr: -3, commit: PR_RELEASE.commit })
    expect(result.error?.message).toMatch(/--pr must be the pull request's number \(a positive whole number\), got -3/)
    expect(google.requests).toEqual([])
    expect(double.calls.filter((c) => c.chain.some((l) => l.field === "withExec"))).toEqual([])
    const removal = await call("remove-preview", { pr: 0 })
    expect(removal.error?.message).toMatch(/got 0/)
    expect(google.requests).toEqual([])
  })
})
