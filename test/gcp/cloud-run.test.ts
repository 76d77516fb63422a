// dagger/src/gcp/cloud-run.ts against the Cloud Run fake, through the real @google-cloud/run v2 clients
// (REST transport) built by the module's own connectCloudRun. Where a revision must answer HTTP, the
// fake routes its tag URL to the real app (test/support/app-server.ts).
import { createVerify, generateKeyPairSync } from "node:crypto"
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest"
import {
  type CloudRunClients,
  type CloudRunContext,
  CloudRunError,
  connectCloudRun,
  deployCandidate,
  endpointOptions,
  readServiceTraffic,
  removeTag,
  revisionVerdict,
  rollBack,
  shiftTraffic,
} from "../../dagger/src/gcp/cloud-run.js"
import { CloudRunInputError } from "../../dagger/src/gcp/traffic.js"
import { ImageRefError } from "../../dagger/src/supply-chain/image-ref.js"
import { type AppServer, startApp } from "../support/app-server.js"
import { type CloudRunFake, type CloudRunFakeOptions, startCloudRunFake } from "../support/cloud-run-fake.js"

const PROJECT = "demo-project"
const REGION = "us-west1"
const SERVICE = "portfolio-prod"
const FULL = `projects/${PROJECT}/locations/${REGION}/services/${SERVICE}`
const IMAGE_OLD = `us-west1-docker.pkg.dev/${PROJECT}/portfolio-prod/app@sha256:${"1".repeat(64)}`
const IMAGE_NEW = `us-west1-docker.pkg.dev/${PROJECT}/portfolio-prod/app@sha256:${"2".repeat(64)}`
const FAST = { initialDelayMs: 5, multiplier: 1, maxDelayMs: 10 }

let fake: CloudRunFake
let clients: CloudRunClients
let ctx: CloudRunContext

async function setUp(options: CloudRunFakeOptions = {}, traffic?: Parameters<CloudRunFake["seed"]>[0]["traffic"]) {
  fake = await startCloudRunFake(options)
  await fake.seed({
    project: PROJECT,
    location: REGION,
    service: SERVICE,
    revisions: [
      { name: `${SERVICE}-old-aaaa`, image: IMAGE_OLD, env: { APP_VERSION: "1.0.0", APP_COMMIT: "aaaaaaa" } },
      { name: `${SERVICE}-stable-bbbb`, image: IMAGE_OLD, env: { APP_VERSION: "1.1.0", APP_COMMIT: "bbbbbbb" } },
    ],
    traffic,
  })
  clients = await connectCloudRun({ auth: { kind: "none" }, endpoint: fake.endpoint })
  ctx = { clients, target: { project: PROJECT, region: REGION, service: SERVICE }, poll: FAST, randomSuffix: () => "x1y2" }
}

async function tearDown() {
  await clients?.close()
  await fake?.close()
}

async function caught(p: Promise<unknown>): Promise<Error> {
  try {
    await p
  } catch (err) {
    return err as Error
  }
  throw new Error("expected a failure, but the call succeeded")
}

/** What the fake says is actually serving (observed), independent of the module's own read-back. */
function observed(): Array<[string, number, string]> {
  const svc = fake.state.service(FULL)!
  return svc.trafficStatuses.map((s) => [s.revision ?? `LATEST(${svc.latestReadyRevision})`, s.percent ?? 0, s.tag ?? ""])
}

const candidate = {
  image: IMAGE_NEW,
  tag: "canary",
  label: "1.2.0",
  env: { APP_VERSION: "1.2.0", APP_COMMIT: "ccccccc" },
  labels: { commit: "ccccccc" },
  timeoutMs: 5_000,
}
const CANDIDATE = `${SERVICE}-1-2-0-x1y2`

describe("deployCandidate", () => {
  beforeEach(() => setUp({ pollsUntilDone: 3 }))
  afterEach(tearDown)

  it("creates a tagged revision of the digest with NO traffic, waits for it, and returns its tag URL", async () => {
    const result = await deployCandidate(ctx, candidate)
    expect(result.revision).toBe(CANDIDATE)
    expect(result.previous).toBe(`${SERVICE}-stable-bbbb`)
    expect(result.url).toBe(`https://canary---${SERVICE}-123456789012.${REGION}.run.app`)
    expect(result.serviceUrl).toBe(`https://${SERVICE}-123456789012.${REGION}.run.app`)
    expect(result.image).toBe(IMAGE_NEW)
    expect(result.notices).toEqual([])
    expect(observed()).toEqual([
      [`${SERVICE}-stable-bbbb`, 100, ""],
      [CANDIDATE, 0, "canary"],
    ])
    const rev = fake.state.revision(FULL, CANDIDATE)!
    expect(rev.state).toBe("ready")
    const container = (rev.template["containers"] as Array<{ image: string; env: Array<{ name: string; value: string }> }>)[0]!
    expect(container.image).toBe(IMAGE_NEW)
    expect(container.env).toEqual([
      { name: "APP_VERSION", value: "1.2.0" },
      { name: "APP_COMMIT", value: "ccccccc" },
    ])
    expect(rev.template["labels"]).toEqual({ commit: "ccccccc" })
    // The LRO was polled until done (3 polls), not assumed.
    expect(fake.state.requests.filter((r) => r.path.includes("/operations/")).length).toBe(3)
  })

  it("sends only writable fields back (no status, uri or conditions in the update body)", async () => {
    await deployCandidate(ctx, candidate)
    const patch = fake.state.requests.find((r) => r.method === "PATCH")!.body as Record<string, unknown>
    expect(Object.keys(patch)).not.toEqual(expect.arrayContaining(["uri"]))
    for (const outputOnly of ["uri", "trafficStatuses", "terminalCondition", "latestReadyRevision", "observedGeneration"]) {
      expect(patch).not.toHaveProperty(outputOnly)
    }
    expect(patch["etag"]).toBeTruthy()
  })

  it("refuses bad input before any call: tag + service over 46 characters, a tag instead of a digest", async () => {
    const ok = "t".repeat(46 - SERVICE.length)
    const long = await caught(deployCandidate(ctx, { ...candidate, tag: `${ok}x` }))
    expect(long).toBeInstanceOf(CloudRunInputError)
    expect(long.message).toContain("together are 47 characters; Cloud Run allows at most 46")
    expect(long.message).toContain("Shorten production.canary.tag")
    const tagged = await caught(deployCandidate(ctx, { ...candidate, image: "us-west1-docker.pkg.dev/demo/app:1.2.0" }))
    expect(tagged).toBeInstanceOf(ImageRefError)
    expect(tagged.message).toContain("not pinned by digest")
    expect(fake.state.requests).toEqual([])
  })

  it("says how to create a service that does not exist", async () => {
    const err = await caught(deployCandidate({ ...ctx, target: { ...ctx.target, service: "nope" } }, candidate))
    expect(err).toBeInstanceOf(CloudRunError)
    expect((err as CloudRunError).kind).toBe("not-found")
    expect(err.message).toContain("terraform/gcp")
  })

  it("a candidate that never becomes ready times out with a clear error, and traffic stays on the previous revision", async () => {
    fake.inject({ kind: "revision-never-ready" })
    const err = await caught(deployCandidate(ctx, { ...candidate, timeoutMs: 300 }))
    expect(err).toBeInstanceOf(CloudRunError)
    expect((err as CloudRunError).kind).toBe("timed-out")
    expect(err.message).toContain("did not finish within 0.3 s")
    expect(err.message).toContain(`${CANDIDATE} is reconciling`)
    expect(err.message).toContain("logs:")
    expect(observed()).toEqual([[`${SERVICE}-stable-bbbb`, 100, ""]])
  })

  it("a candidate that fails to start is reported as revision-failed with Cloud Run's reason", async () => {
    fake.inject({ kind: "revision-fails", message: "Container called exit(1)." })
    const err = await caught(deployCandidate(ctx, candidate))
    expect((err as CloudRunError).kind).toBe("revision-failed")
    expect(err.message).toContain("Container called exit(1).")
    expect(err.message).toContain("The previous revision keeps serving")
    expect(observed()).toEqual([[`${SERVICE}-stable-bbbb`, 100, ""]])
  })

  it("an LRO error is reported as operation-failed with its code", async () => {
    fake.inject({ kind: "operation-error", code: 8, message: "Quota exceeded for total allowable CPU per project per region." })
    const err = await caught(deployCandidate(ctx, candidate))
    expect((err as CloudRunError).kind).toBe("operation-failed")
    expect((err as CloudRunError).details.code).toBe(8)
    expect(err.message).toContain("RESOURCE_EXHAUSTED")
    expect(err.message).toContain(`Candidate ${CANDIDATE} is reconciling`)
    expect(err.message).toContain("quota")
  })

  it("a refused update names the permission to grant", async () => {
    fake.inject({ kind: "http-error", method: "PATCH", status: 403, message: "Permission 'run.services.update' denied on resource", times: Infinity })
    const err = await caught(deployCandidate(ctx, candidate))
    expect((err as CloudRunError).kind).toBe("rejected")
    expect(err.message).toContain("PERMISSION_DENIED (code 7)")
    expect(err.message).toContain("roles/run.developer")
  })

  it("re-reads and retries when the service changed underneath (ABORTED), a bounded number of times", async () => {
    fake.inject({ kind: "http-error", method: "PATCH", status: 409, message: "etag mismatch" })
    const result = await deployCandidate(ctx, candidate)
    expect(result.revision).toBe(CANDIDATE)
    expect(fake.state.requests.filter((r) => r.method === "PATCH").length).toBe(2)

    fake.inject({ kind: "http-error", method: "PATCH", status: 409, message: "etag mismatch", times: Infinity })
    const err = await caught(deployCandidate({ ...ctx, randomSuffix: () => "z9z9" }, candidate))
    expect(err.message).toContain("ABORTED (code 10)")
    expect(fake.state.requests.filter((r) => r.method === "PATCH").length).toBe(2 + 3)
  })
})

describe("canary traffic: shift, read back, roll back, clean up", () => {
  beforeEach(() => setUp())
  afterEach(tearDown)

  it("shifts 10 → 50 → 100 and reads back who holds traffic at each step", async () => {
    const d = await deployCandidate(ctx, candidate)
    const seen: string[][] = []
    for (const percent of [10, 50, 100]) {
      const step = await shiftTraffic(ctx, { candidate: d.revision, previous: d.previous, percent, tag: "canary", timeoutMs: 5_000 })
      seen.push(step.traffic.holders.map((h) => `${h.revision}=${h.percent}`))
      expect(step.traffic.tags).toEqual([expect.objectContaining({ tag: "canary", revision: d.revision })])
    }
    expect(seen).toEqual([
      [`${SERVICE}-stable-bbbb=90`, `${CANDIDATE}=10`],
      [`${SERVICE}-stable-bbbb=50`, `${CANDIDATE}=50`],
      [`${CANDIDATE}=100`],
    ])
    expect(observed()).toEqual([[CANDIDATE, 100, "canary"]])
    const reading = await readServiceTraffic(ctx, "canary")
    expect(reading.settled).toBe(true)
    expect(reading.stable).toBe(CANDIDATE)
  })

  it("cleans up the tag after promotion: the candidate keeps 100 %, the tag URL is gone", async () => {
    const d = await deployCandidate(ctx, candidate)
    await shiftTraffic(ctx, { candidate: d.revision, previous: d.previous, percent: 100, tag: "canary", timeoutMs: 5_000 })
    const cleaned = await removeTag(ctx, { tag: "canary", timeoutMs: 5_000 })
    expect(cleaned.traffic.tags).toEqual([])
    expect(observed()).toEqual([[CANDIDATE, 100, ""]])
    const again = await removeTag(ctx, { tag: "canary", timeoutMs: 5_000 })
    expect(again.notices).toEqual(["tag 'canary' was not set; nothing to remove"])
  })

  it("rolls back from 50 % to the previous revision at 100 % and removes the candidate's tag", async () => {
    const d = await deployCandidate(ctx, candidate)
    await shiftTraffic(ctx, { candidate: d.revision, previous: d.previous, percent: 50, tag: "canary", timeoutMs: 5_000 })
    const back = await rollBack(ctx, { to: d.previous, tag: "canary", timeoutMs: 5_000 })
    expect(back.traffic.holders).toEqual([{ revision: `${SERVICE}-stable-bbbb`, percent: 100 }])
    expect(back.traffic.tags).toEqual([])
    expect(back.notices).toEqual([`${CANDIDATE} loses its 50 %`])
    expect(observed()).toEqual([[`${SERVICE}-stable-bbbb`, 100, ""]])
  })

  it("rolls back after a candidate that never became ready (its pending revision does not block the rollback)", async () => {
    fake.inject({ kind: "revision-never-ready" })
    await caught(deployCandidate(ctx, { ...candidate, timeoutMs: 200 }))
    const back = await rollBack(ctx, { to: `${SERVICE}-stable-bbbb`, tag: "canary", timeoutMs: 5_000 })
    expect(back.traffic.holders).toEqual([{ revision: `${SERVICE}-stable-bbbb`, percent: 100 }])
    expect(fake.state.service(FULL)!.trafficStatuses.some((s) => s.tag === "canary")).toBe(false)
  })
})

describe("a traffic split left by an earlier run", () => {
  afterEach(tearDown)

  it("is normalised: the non-canary revision of a 50/50 tie goes back to 100 %, the old tag moves, and it is reported", async () => {
    await setUp({}, [
      { revision: `${SERVICE}-old-aaaa`, percent: 50, tag: "canary" },
      { revision: `${SERVICE}-stable-bbbb`, percent: 50 },
    ])
    const d = await deployCandidate(ctx, candidate)
    expect(d.previous).toBe(`${SERVICE}-stable-bbbb`)
    expect(d.notices).toEqual([
      `traffic is split (${SERVICE}-stable-bbbb 50 %, ${SERVICE}-old-aaaa 50 %), probably left by an interrupted earlier run; treating ${SERVICE}-stable-bbbb as the previous revision (tied for the most traffic; ties go to the revision without the 'canary' tag, then to the older one)`,
      `tag 'canary' pointed at ${SERVICE}-old-aaaa (an earlier run's candidate); it now points at ${CANDIDATE}`,
    ])
    expect(observed()).toEqual([
      [`${SERVICE}-stable-bbbb`, 100, ""],
      [CANDIDATE, 0, "canary"],
    ])
  })

  it("is normalised to the revision with the most traffic, keeping someone else's tag", async () => {
    await setUp({}, [
      { revision: `${SERVICE}-old-aaaa`, percent: 70 },
      { revision: `${SERVICE}-stable-bbbb`, percent: 30, tag: "blue" },
    ])
    const d = await deployCandidate(ctx, candidate)
    expect(d.previous).toBe(`${SERVICE}-old-aaaa`)
    expect(d.notices[0]).toContain("traffic is split")
    expect(observed()).toEqual([
      [`${SERVICE}-old-aaaa`, 100, ""],
      [`${SERVICE}-stable-bbbb`, 0, "blue"],
      [CANDIDATE, 0, "canary"],
    ])
  })

  it("with LATEST at 100 % resolves LATEST to the latest ready revision", async () => {
    await setUp({}, [{ percent: 100 }])
    const d = await deployCandidate(ctx, candidate)
    expect(d.previous).toBe(`${SERVICE}-stable-bbbb`)
    // Pinned by name now: LATEST would follow the candidate as soon as it became ready.
    expect(observed()).toEqual([
      [`${SERVICE}-stable-bbbb`, 100, ""],
      [CANDIDATE, 0, "canary"],
    ])
  })
})

describe("the candidate's tag URL reaches the real app", () => {
  const apps: AppServer[] = []
  afterEach(tearDown)
  afterAll(async () => {
    await Promise.all(apps.map((a) => a.stop()))
  })

  it("serves /health with the candidate's version while the service URL still serves the previous one", async () => {
    const byVersion = new Map<string, string>()
    for (const [version, commit] of [["1.1.0", "bbbbbbb"], ["1.2.0", "ccccccc"]] as const) {
      const app = await startApp({ version, commit })
      apps.push(app)
      byVersion.set(version, app.url)
    }
    await setUp({ serve: (rev) => byVersion.get(rev.env["APP_VERSION"] ?? "") })
    const d = await deployCandidate(ctx, candidate)
    const onTag = (await (await fetch(`${d.url}/health`)).json()) as { version: string; commit: string }
    expect(onTag).toMatchObject({ version: "1.2.0", commit: "ccccccc" })
    const onService = (await (await fetch(`${d.serviceUrl}/health`)).json()) as { version: string }
    expect(onService.version).toBe("1.1.0")
  })
})

describe("connecting", () => {
  afterEach(tearDown)

  it("turns the endpoint into explicit REST options (the client hangs without port and protocol)", () => {
    expect(endpointOptions()).toEqual({ fallback: true })
    expect(endpointOptions("http://127.0.0.1:8123")).toEqual({ fallback: true, apiEndpoint: "127.0.0.1", port: 8123, protocol: "http" })
    expect(endpointOptions("https://run.example.test")).toEqual({ fallback: true, apiEndpoint: "run.example.test", port: 443, protocol: "https" })
    expect(() => endpointOptions("127.0.0.1:8123")).toThrow(/is not a URL/)
    expect(() => endpointOptions("ftp://127.0.0.1:8123")).toThrow(/must be http\(s\):\/\/host/)
    expect(() => endpointOptions("http://127.0.0.1:8123/v2")).toThrow(/no path/)
  })

  it("hands the computed options to an injected client factory", async () => {
    await setUp()
    const seen: Array<Record<string, unknown>> = []
    const injected = await connectCloudRun({
      auth: { kind: "access-token", token: "t0k" },
      endpoint: fake.endpoint,
      createClients: (options) => {
        seen.push({ ...options })
        return clients
      },
    })
    expect(injected).toBe(clients)
    expect(seen).toEqual([
      expect.objectContaining({ fallback: true, apiEndpoint: "127.0.0.1", port: fake.port, protocol: "http", authClient: expect.anything() }),
    ])
  })

  it("refuses to run without credentials against Google", async () => {
    await expect(connectCloudRun({ auth: { kind: "none" } })).rejects.toThrow(/no GCP credentials/)
  })

  it("rejects a credentials file that is not a service-account key, without echoing it", async () => {
    const secret = JSON.stringify({ type: "authorized_user", refresh_token: "very-secret-refresh-token" })
    const err = await caught(connectCloudRun({ auth: { kind: "service-account-key", keyJson: secret } }))
    expect(err.message).toContain("not a service-account key (type 'authorized_user', missing client_email and private_key)")
    expect(err.message).not.toContain("very-secret")
    expect((await caught(connectCloudRun({ auth: { kind: "service-account-key", keyJson: "{nope" } }))).message).toContain("not JSON")
  })

  it("sends an access token as a Bearer token", async () => {
    await setUp()
    const withToken = await connectCloudRun({ auth: { kind: "access-token", token: "ya29.test-token" }, endpoint: fake.endpoint })
    try {
      const reading = await readServiceTraffic({ ...ctx, clients: withToken })
      expect(reading.stable).toBe(`${SERVICE}-stable-bbbb`)
      expect(fake.state.requests.at(-1)?.authorization).toBe("Bearer ya29.test-token")
    } finally {
      await withToken.close()
    }
  })

  it("signs requests with a service-account key through google-auth-library (a JWT the key's public half verifies)", async () => {
    await setUp()
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 })
    const keyJson = JSON.stringify({
      type: "service_account",
      project_id: PROJECT,
      private_key_id: "test-key-1",
      private_key: privateKey.export({ type: "pkcs8", format: "pem" }),
      client_email: `deployer@${PROJECT}.iam.gserviceaccount.com`,
      client_id: "1",
    })
    const withKey = await connectCloudRun({ auth: { kind: "service-account-key", keyJson }, endpoint: fake.endpoint })
    try {
      await readServiceTraffic({ ...ctx, clients: withKey })
      const auth = fake.state.requests.at(-1)?.authorization ?? ""
      expect(auth).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/)
      const [header, payload, signature] = auth.slice("Bearer ".length).split(".") as [string, string, string]
      const verifier = createVerify("RSA-SHA256")
      verifier.update(`${header}.${payload}`)
      expect(verifier.verify(publicKey, Buffer.from(signature, "base64url"))).toBe(true)
      const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<string, unknown>
      expect(claims["iss"]).toBe(`deployer@${PROJECT}.iam.gserviceaccount.com`)
      expect(claims["scope"]).toBe("https://www.googleapis.com/auth/cloud-platform")
    } finally {
      await withKey.close()
    }
  })
})

describe("revisionVerdict (pure)", () => {
  const name = `${FULL}/revisions/${CANDIDATE}`
  it.each([
    [[{ type: "Ready", state: "CONDITION_SUCCEEDED" }], { state: "success", detail: `${CANDIDATE} is ready` }],
    [[{ type: "Ready", state: 4 }], { state: "success", detail: `${CANDIDATE} is ready` }],
    [
      [{ type: "Ready", state: "CONDITION_FAILED", message: "Container called exit(1)." }],
      { state: "failure", kind: "deployment-failed", detail: `${CANDIDATE} failed to become ready: Container called exit(1).` },
    ],
    [[{ type: "Ready", state: 2, message: "Deploying revision." }], { state: "pending", detail: `${CANDIDATE} is reconciling: Deploying revision.` }],
    // Another condition succeeding is not readiness.
    [[{ type: "ContainerHealthy", state: "CONDITION_SUCCEEDED" }], { state: "pending", detail: `${CANDIDATE} is not reporting readiness yet` }],
    [[], { state: "pending", detail: `${CANDIDATE} is not reporting readiness yet` }],
  ])("%j", (conditions, verdict) => {
    expect(revisionVerdict({ name, conditions })).toEqual(verdict)
  })
})
