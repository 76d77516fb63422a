// The Cloud Run fake's own tests, driven through the REAL @google-cloud/run v2 clients (REST transport)
// wherever the client can express the request, and over raw HTTP where it cannot: the client serialises
// through protobufjs, which drops unknown fields and coerces wrong types before anything is sent, so
// the fake's schema checks are proven with raw bodies and the client's own behaviour is pinned too.
import http from "node:http"
import type { AddressInfo } from "node:net"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { type CloudRunFake, type FakeClients, fakeClients, startCloudRunFake } from "../support/cloud-run-fake.js"

const PARENT = "projects/demo-project/locations/us-west1"
const SERVICE = `${PARENT}/services/portfolio`
const DIGEST_A = `europe-docker.pkg.dev/demo/app@sha256:${"a".repeat(64)}`
const DIGEST_B = `europe-docker.pkg.dev/demo/app@sha256:${"b".repeat(64)}`
/** Fast LRO polling, set per call exactly as product code does. */
const FAST = { longrunning: { initialRetryDelayMillis: 5, retryDelayMultiplier: 1, maxRetryDelayMillis: 5, totalTimeoutMillis: 3_000 } }

interface CaughtError {
  code?: number
  message: string
  statusDetails?: Array<{ fieldViolations?: Array<{ field?: string; description?: string }> }>
}

async function failure(p: Promise<unknown>): Promise<CaughtError> {
  try {
    await p
  } catch (err) {
    return err as CaughtError
  }
  throw new Error("expected the call to fail, but it succeeded")
}

async function raw(fake: CloudRunFake, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${fake.endpoint}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return { status: res.status, json: (await res.json()) as Record<string, unknown> }
}

function opPolls(fake: CloudRunFake): number {
  return fake.state.requests.filter((r) => r.method === "GET" && r.path.includes("/operations/")).length
}

let fake: CloudRunFake
let c: FakeClients

async function createService(): Promise<void> {
  const [op] = await c.services.createService(
    { parent: PARENT, serviceId: "portfolio", service: { template: { containers: [{ image: DIGEST_A }] } } },
    FAST,
  )
  await op.promise()
}

describe("Cloud Run fake through the real client", () => {
  beforeEach(async () => {
    fake = await startCloudRunFake({ pollsUntilDone: 3 })
    c = fakeClients(fake)
  })
  afterEach(async () => {
    await c.close()
    await fake.close()
  })

  it("answers a missing service with 404, which the client turns into GoogleError code 5 (NOT_FOUND)", async () => {
    const err = await failure(c.services.getService({ name: `${PARENT}/services/absent` }))
    expect(err.code).toBe(5)
    expect(err.message).toContain("'absent'")
  })

  it("starts a long-running operation not done, and completes it after the configured number of polls", async () => {
    const [op] = await c.services.createService(
      { parent: PARENT, serviceId: "portfolio", service: { template: { containers: [{ image: DIGEST_A }] } } },
      FAST,
    )
    expect(op.done).toBe(false)
    const [svc] = await op.promise()
    expect(opPolls(fake)).toBe(3)
    expect(svc.name).toBe(SERVICE)
    // LRO results are decoded from protobuf binary, so their enums are numbers (4 = CONDITION_SUCCEEDED),
    // unlike plain calls, which give names: code reading either must accept both.
    expect(svc.terminalCondition?.state).toBe(4)
    expect(svc.latestReadyRevision).toMatch(new RegExp(`^${SERVICE}/revisions/portfolio-00001-[a-z]{3}$`))
    expect(svc.latestCreatedRevision).toBe(svc.latestReadyRevision)
    expect(svc.uri).toBe("https://portfolio-123456789012.us-west1.run.app")
    expect(svc.traffic).toEqual([expect.objectContaining({ type: 1, percent: 100 })])
    const [read] = await c.services.getService({ name: SERVICE })
    expect(read.terminalCondition?.state).toBe("CONDITION_SUCCEEDED")
    expect(read.traffic).toEqual([expect.objectContaining({ type: "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", percent: 100 })])
  })

  it("creates a revision with no traffic and a tag, and reports the tag URI in trafficStatuses", async () => {
    await createService()
    const [current] = await c.services.getService({ name: SERVICE })
    const stable = current.latestReadyRevision!.split("/").pop()!
    current.template!.containers![0]!.image = DIGEST_B
    current.template!.revision = "portfolio-candidate-1"
    current.traffic = [
      { type: "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", revision: stable, percent: 100 },
      { type: "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", revision: "portfolio-candidate-1", percent: 0, tag: "canary" },
    ]
    const [op] = await c.services.updateService({ service: current }, FAST)
    const [svc] = await op.promise()
    expect(svc.latestCreatedRevision).toBe(`${SERVICE}/revisions/portfolio-candidate-1`)
    expect(svc.trafficStatuses?.map((s) => [s.revision, s.percent ?? 0, s.tag ?? "", s.uri ?? ""])).toEqual([
      [stable, 100, "", ""],
      ["portfolio-candidate-1", 0, "canary", "https://canary---portfolio-123456789012.us-west1.run.app"],
    ])
    const [rev] = await c.revisions.getRevision({ name: `${SERVICE}/revisions/portfolio-candidate-1` })
    expect(rev.containers?.[0]?.image).toBe(DIGEST_B)
    expect(rev.conditions?.find((x) => x.type === "Ready")?.state).toBe("CONDITION_SUCCEEDED")
    const [revisions] = await c.revisions.listRevisions({ parent: SERVICE })
    expect(revisions.map((r) => r.name!.split("/").pop())).toEqual(["portfolio-candidate-1", stable])
  })

  it("keeps the observed state until the operation completes (spec first, status after)", async () => {
    await createService()
    const [current] = await c.services.getService({ name: SERVICE })
    current.template!.containers![0]!.image = DIGEST_B
    const [op] = await c.services.updateService({ service: current }, FAST)
    const [during] = await c.services.getService({ name: SERVICE })
    expect(during.reconciling).toBe(true)
    expect(during.terminalCondition?.state).toBe("CONDITION_RECONCILING")
    expect(during.latestCreatedRevision).not.toBe(during.latestReadyRevision)
    await op.promise()
    const [after] = await c.services.getService({ name: SERVICE })
    expect(after.latestReadyRevision).toBe(after.latestCreatedRevision)
    expect(after.observedGeneration).toEqual(after.generation)
  })

  it("rejects what Cloud Run rejects even when the client sends it: traffic not adding to 100, long tags, bad revision names, unknown mask paths", async () => {
    await createService()
    const [svc] = await c.services.getService({ name: SERVICE })
    const rev = svc.latestReadyRevision!.split("/").pop()!

    const sum = await failure(c.services.updateService({ service: { ...svc, traffic: [{ type: 2, revision: rev, percent: 60 }] } }))
    expect(sum.code).toBe(3)
    expect(sum.message).toContain("add up to 100 (got 60)")

    const longTag = "t".repeat(47 - "portfolio".length)
    const tag = await failure(
      c.services.updateService({ service: { ...svc, traffic: [{ type: 2, revision: rev, percent: 100, tag: longTag }] } }),
    )
    expect(tag.code).toBe(3)
    expect(tag.message).toContain("Combined traffic tag and service name cannot exceed 46 characters")
    expect(tag.statusDetails?.[0]?.fieldViolations?.[0]?.field).toBe("service.traffic[0].tag")

    const name = await failure(
      c.services.updateService({ service: { ...svc, template: { ...svc.template, revision: "other-service-1" } } }),
    )
    expect(name.code).toBe(3)
    expect(name.message).toContain("must start with the service name")

    const mask = await failure(c.services.updateService({ service: svc, updateMask: { paths: ["traffic", "no_such_field"] } }))
    expect(mask.code).toBe(3)
    expect(mask.message).toContain('"no_such_field"')

    const ghost = await failure(
      c.services.updateService({ service: { ...svc, traffic: [{ type: 2, revision: "portfolio-ghost", percent: 100 }] } }),
    )
    expect(ghost.code).toBe(3)
    expect(ghost.message).toContain("'portfolio-ghost' does not exist")
  })

  it("refuses a stale etag with ABORTED (code 10), so read-modify-write races are caught", async () => {
    await createService()
    const [first] = await c.services.getService({ name: SERVICE })
    const [op] = await c.services.updateService({ service: { ...first, labels: { run: "1" } } }, FAST)
    await op.promise()
    const err = await failure(c.services.updateService({ service: { ...first, labels: { run: "2" } } }))
    expect(err.code).toBe(10)
    expect(err.message).toContain("etag mismatch")
  })

  it("refuses to delete a revision that a traffic target still references, and deletes it once unreferenced", async () => {
    await fake.seed({
      project: "demo-project",
      location: "us-west1",
      service: "portfolio",
      revisions: [
        { name: "portfolio-old", image: DIGEST_A },
        { name: "portfolio-new", image: DIGEST_B },
      ],
      traffic: [
        { revision: "portfolio-new", percent: 100 },
        { revision: "portfolio-old", percent: 0, tag: "previous" },
      ],
    })
    const err = await failure(c.revisions.deleteRevision({ name: `${SERVICE}/revisions/portfolio-old` }))
    expect(err.code).toBe(9)
    const [svc] = await c.services.getService({ name: SERVICE })
    const [op] = await c.services.updateService({ service: { ...svc, traffic: [{ type: 2, revision: "portfolio-new", percent: 100 }] } }, FAST)
    await op.promise()
    const [del] = await c.revisions.deleteRevision({ name: `${SERVICE}/revisions/portfolio-old` }, FAST)
    const [gone] = await del.promise()
    expect(gone.name).toBe(`${SERVICE}/revisions/portfolio-old`)
    expect((await failure(c.revisions.getRevision({ name: `${SERVICE}/revisions/portfolio-old` }))).code).toBe(5)
  })

  it("shows a seeded split (as an earlier run may leave it) in traffic and trafficStatuses", async () => {
    await fake.seed({
      project: "demo-project",
      location: "us-west1",
      service: "portfolio",
      revisions: [
        { name: "portfolio-a", image: DIGEST_A },
        { name: "portfolio-b", image: DIGEST_B },
      ],
      traffic: [
        { revision: "portfolio-a", percent: 50 },
        { revision: "portfolio-b", percent: 50, tag: "canary" },
      ],
    })
    const [svc] = await c.services.getService({ name: SERVICE })
    expect(svc.trafficStatuses?.map((s) => [s.revision, s.percent, s.tag ?? ""])).toEqual([
      ["portfolio-a", 50, ""],
      ["portfolio-b", 50, "canary"],
    ])
    expect(svc.latestReadyRevision).toBe(`${SERVICE}/revisions/portfolio-b`)
  })
})

describe("Cloud Run fake: schema checks against the shipped protos (raw HTTP)", () => {
  beforeEach(async () => {
    fake = await startCloudRunFake()
    c = fakeClients(fake)
    await createService()
  })
  afterEach(async () => {
    await c.close()
    await fake.close()
  })

  const body = (extra: Record<string, unknown>) => ({
    name: SERVICE,
    template: { containers: [{ image: DIGEST_B }] },
    ...extra,
  })

  it("accepts a valid body, in proto3 JSON with snake_case or lowerCamel names and enum names or numbers", async () => {
    const ok = await raw(fake, "PATCH", `/v2/${SERVICE}`, body({ traffic: [{ type: "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", percent: 100 }], invoker_iam_disabled: false }))
    expect(ok.status, JSON.stringify(ok.json)).toBe(200)
    const ok2 = await raw(fake, "PATCH", `/v2/${SERVICE}`, body({ traffic: [{ type: 1, percent: "100" }], invokerIamDisabled: true }))
    expect(ok2.status, JSON.stringify(ok2.json)).toBe(200)
  })

  it.each([
    ["an unknown field", { bogus: 1 }, "service", `Unknown name "bogus" at 'service': Cannot find field.`],
    ["an unknown nested field", { template: { containers: [{ image: DIGEST_B, imagee: "x" }] } }, "service.template.containers[0]", `Unknown name "imagee"`],
    ["a string where an int32 belongs", { traffic: [{ type: 1, percent: "fifty" }] }, "service.traffic[0].percent", "(TYPE_INT32)"],
    ["a number where a string belongs", { template: { containers: [{ image: 5 }] } }, "service.template.containers[0].image", "(TYPE_STRING)"],
    ["an unknown enum name", { traffic: [{ type: "SOMETIMES", percent: 100 }] }, "service.traffic[0].type", "TrafficTargetAllocationType"],
    ["an object where a list belongs", { traffic: { type: 1, percent: 100 } }, "service.traffic", "expected a list"],
    ["a bad Duration", { template: { containers: [{ image: DIGEST_B }], timeout: 30 } }, "service.template.timeout", "google.protobuf.Duration"],
    ["a bad bool", { invokerIamDisabled: "yes" }, "service.invokerIamDisabled", "(TYPE_BOOL)"],
    ["a missing required field", { template: { containers: [{ name: "app" }] } }, "service.template.containers[0].image", "is required"],
  ])("rejects %s with 400 INVALID_ARGUMENT and a field violation", async (_what, extra, field, text) => {
    const res = await raw(fake, "PATCH", `/v2/${SERVICE}`, body(extra))
    expect(res.status).toBe(400)
    const error = res.json["error"] as { status: string; message: string; details: Array<{ "@type": string; fieldViolations: Array<{ field: string }> }> }
    expect(error.status).toBe("INVALID_ARGUMENT")
    expect(error.message).toContain(text)
    expect(error.details[0]?.["@type"]).toBe("type.googleapis.com/google.rpc.BadRequest")
    expect(error.details[0]?.fieldViolations.map((v) => v.field)).toContain(field)
  })

  it("rejects an unknown query parameter and a wrongly typed one", async () => {
    const unknown = await raw(fake, "PATCH", `/v2/${SERVICE}?validate=true`, body({}))
    expect(unknown.status).toBe(400)
    expect(JSON.stringify(unknown.json)).toContain("Cannot bind query parameter")
    const typed = await raw(fake, "PATCH", `/v2/${SERVICE}?validateOnly=maybe`, body({}))
    expect(typed.status).toBe(400)
    expect(JSON.stringify(typed.json)).toContain("(TYPE_BOOL)")
  })

  it("rejects a body that is not JSON", async () => {
    const res = await fetch(`${fake.endpoint}/v2/${SERVICE}`, { method: "PATCH", body: "{not json" })
    expect(res.status).toBe(400)
  })

  it("answers enums as numbers only when the request asks for enum-encoding=int, as the client does", async () => {
    const names = await raw(fake, "GET", `/v2/${SERVICE}`)
    expect((names.json["terminalCondition"] as { state: unknown }).state).toBe("CONDITION_SUCCEEDED")
    const ints = await raw(fake, "GET", `/v2/${SERVICE}?$alt=json%3Benum-encoding=int`)
    expect((ints.json["terminalCondition"] as { state: unknown }).state).toBe(4)
    const patch = fake.state.requests.find((r) => r.method === "POST")
    expect(patch?.query["$alt"]).toBe("json;enum-encoding=int")
  })

  it("the real client drops unknown fields and coerces wrong types before sending (why the checks above use raw HTTP)", async () => {
    const [svc] = await c.services.getService({ name: SERVICE })
    const sloppy = { ...svc, bogus: 1, traffic: [{ type: 1, percent: "100" }] } as unknown as typeof svc
    const [op] = await c.services.updateService({ service: sloppy }, FAST)
    await op.promise()
    const sent = fake.state.requests.filter((r) => r.method === "PATCH").pop()?.body as Record<string, unknown>
    expect(sent).not.toHaveProperty("bogus")
    expect(sent["traffic"]).toEqual([{ type: 1, percent: 100 }])
  })
})

describe("Cloud Run fake: injected failures surface through the real client", () => {
  beforeEach(async () => {
    fake = await startCloudRunFake()
    c = fakeClients(fake)
    await createService()
  })
  afterEach(async () => {
    await c.close()
    await fake.close()
  })

  async function deployB() {
    const [current] = await c.services.getService({ name: SERVICE })
    current.template!.containers![0]!.image = DIGEST_B
    const [op] = await c.services.updateService({ service: current }, FAST)
    return op
  }

  it("an HTTP error on a matching request becomes a GoogleError with the mapped code, once", async () => {
    fake.inject({ kind: "http-error", method: "PATCH", status: 403, message: "Permission 'run.services.update' denied" })
    const err = await failure(deployB())
    expect(err.code).toBe(7)
    expect(err.message).toContain("run.services.update")
    await (await deployB()).promise()
  })

  it("an operation error completes the LRO with that error and marks the service FAILED", async () => {
    fake.inject({ kind: "operation-error", code: 13, message: "Internal error while reconciling" })
    const op = await deployB()
    const err = await failure(op.promise())
    expect(err.code).toBe(13)
    expect(err.message).toContain("Internal error while reconciling")
    const [svc] = await c.services.getService({ name: SERVICE })
    expect(svc.terminalCondition?.state).toBe("CONDITION_FAILED")
  })

  it("a revision that fails leaves traffic where it was and reports FAILED_PRECONDITION (code 9)", async () => {
    const [before] = await c.services.getService({ name: SERVICE })
    fake.inject({ kind: "revision-fails", message: "Container exited with code 1." })
    const op = await deployB()
    const err = await failure(op.promise())
    expect(err.code).toBe(9)
    expect(err.message).toContain("Container exited with code 1.")
    const [after] = await c.services.getService({ name: SERVICE })
    expect(after.latestReadyRevision).toBe(before.latestReadyRevision)
    expect(after.latestCreatedRevision).not.toBe(before.latestCreatedRevision)
    expect(after.trafficStatuses).toEqual(before.trafficStatuses)
    const [rev] = await c.revisions.getRevision({ name: after.latestCreatedRevision! })
    const ready = rev.conditions?.find((x) => x.type === "Ready")
    expect(ready?.state).toBe("CONDITION_FAILED")
    expect(ready?.message).toContain("Container exited with code 1.")
  })

  it("a revision that never becomes ready keeps its LRO running until the caller's deadline (code 4)", async () => {
    fake.inject({ kind: "revision-never-ready" })
    const [current] = await c.services.getService({ name: SERVICE })
    current.template!.containers![0]!.image = DIGEST_B
    const short = { longrunning: { ...FAST.longrunning, totalTimeoutMillis: 200 } }
    const [op] = await c.services.updateService({ service: current }, short)
    const err = await failure(op.promise())
    expect(err.code).toBe(4)
    const [svc] = await c.services.getService({ name: SERVICE })
    expect(svc.reconciling).toBe(true)
    const [rev] = await c.revisions.getRevision({ name: svc.latestCreatedRevision! })
    expect(rev.conditions?.find((x) => x.type === "Ready")?.state).toBe("CONDITION_RECONCILING")
  })

  it("latency delays matching requests: a call with a shorter deadline fails with DEADLINE_EXCEEDED", async () => {
    fake.inject({ kind: "latency", ms: 400, method: "GET", path: "/services/portfolio" })
    const err = await failure(c.services.getService({ name: SERVICE }, { timeout: 50, retry: null }))
    expect(err.code).toBe(4)
    const [svc] = await c.services.getService({ name: SERVICE }, { timeout: 5_000 })
    expect(svc.name).toBe(SERVICE)
  })
})

describe("Cloud Run fake: serving revisions from real local servers", () => {
  const servers: http.Server[] = []
  async function backend(label: string): Promise<string> {
    const server = http.createServer((req, res) => {
      res.writeHead(200, { "content-type": "application/json" })
      res.end(JSON.stringify({ served: label, path: req.url }))
    })
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done))
    servers.push(server)
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  }
  afterEach(async () => {
    await c.close()
    await fake.close()
    await Promise.all(servers.splice(0).map((s) => new Promise((done) => s.close(done))))
  })

  it("routes a tag URI to its revision's server and the service URI by the observed split", async () => {
    const byImage = new Map([
      [DIGEST_A, await backend("a")],
      [DIGEST_B, await backend("b")],
    ])
    fake = await startCloudRunFake({ serve: (rev) => byImage.get(rev.image) })
    c = fakeClients(fake)
    await createService()
    const [current] = await c.services.getService({ name: SERVICE })
    const stable = current.latestReadyRevision!.split("/").pop()!
    current.template!.containers![0]!.image = DIGEST_B
    current.template!.revision = "portfolio-b"
    current.traffic = [
      { type: 2, revision: stable, percent: 100 },
      { type: 2, revision: "portfolio-b", percent: 0, tag: "canary" },
    ]
    const [op] = await c.services.updateService({ service: current }, FAST)
    const [svc] = await op.promise()
    const tagUri = svc.trafficStatuses?.find((s) => s.tag === "canary")?.uri
    expect(tagUri).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(await (await fetch(`${tagUri}/health`)).json()).toEqual({ served: "b", path: "/health" })
    for (let i = 0; i < 5; i++) expect(((await (await fetch(`${svc.uri}/`)).json()) as { served: string }).served).toBe("a")
  })

  it("answers 503 on a tag whose revision has no backend", async () => {
    fake = await startCloudRunFake({ serve: () => undefined })
    c = fakeClients(fake)
    await createService()
    const [svc] = await c.services.getService({ name: SERVICE })
    const res = await fetch(svc.uri!)
    expect(res.status).toBe(503)
    expect(await res.text()).toContain("no ready revision with a backend")
  })
})
