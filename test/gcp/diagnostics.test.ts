// gcp/diagnostics.ts: what Cloud Run says after a failure — the formatting on its own, then the port's
// diagnose() against the Cloud Run fake through the real v2 clients, with a candidate that fails readiness.
import { afterEach, describe, expect, it } from "vitest"
import { conditionLine, revisionDiagnostic, revisionLogsUrl, serviceDiagnostic } from "../../dagger/src/gcp/diagnostics.js"
import { ProductionService } from "../../dagger/src/gcp/production-service.js"
import { caught, type CloudRunWorld, IMAGE_NEW, PROJECT, REGION, RUNNING, SERVICE, STABLE, startCloudRunWorld } from "../support/cloud-run-world.js"

const TARGET = { project: PROJECT, region: REGION, service: SERVICE }
const CANDIDATE = `${SERVICE}-1-2-0-x1y2`

describe("the formatting", () => {
  it("a condition line names type, state, severity, reason, time and message; unset enums are left out", () => {
    expect(
      conditionLine({
        type: "Ready",
        state: "CONDITION_FAILED",
        severity: "ERROR",
        revisionReason: "HEALTH_CHECK_CONTAINER_ERROR",
        lastTransitionTime: { seconds: "1796126735", nanos: 272_000_000 },
        message: "Container called exit(1).",
      }),
    ).toBe("Ready: FAILED (ERROR), reason HEALTH_CHECK_CONTAINER_ERROR, since 2026-12-01T12:05:35.272Z — Container called exit(1).")
    expect(conditionLine({ type: "ResourcesAvailable", state: "CONDITION_SUCCEEDED", severity: "SEVERITY_UNSPECIFIED", reason: "COMMON_REASON_UNDEFINED", message: "" })).toBe(
      "ResourcesAvailable: SUCCEEDED",
    )
    // Enums by number (as the REST transport can hand them over) still read as a state.
    expect(conditionLine({ type: "Ready", state: 3, reason: 0 })).toBe("Ready: FAILED")
    expect(conditionLine({ type: "Ready", state: 4, revisionReason: 7 })).toBe("Ready: SUCCEEDED, reason code 7")
  })

  it("the logs link is a Logs Explorer query for exactly this revision, from a minute before it was created", () => {
    const url = revisionLogsUrl(TARGET, CANDIDATE, "2026-12-01T12:05:35.272Z")
    const parsed = new URL(url)
    expect(`${parsed.origin}${parsed.pathname.split(";")[0]}`).toBe("https://console.cloud.google.com/logs/query")
    expect(parsed.searchParams.get("project")).toBe(PROJECT)
    const query = decodeURIComponent(parsed.pathname.split(";query=")[1]!)
    expect(query.split("\n")).toEqual([
      'resource.type="cloud_run_revision"',
      `resource.labels.service_name="${SERVICE}"`,
      `resource.labels.revision_name="${CANDIDATE}"`,
      'timestamp>="2026-12-01T12:04:35.272Z"',
    ])
    // Nothing in it a Markdown link or a chat message would cut it at.
    expect(url).not.toMatch(/[\s"()<>|]/)
    expect(revisionLogsUrl(TARGET, CANDIDATE)).not.toContain("timestamp")
  })

  it("a revision's diagnostic puts Ready first and says in its title why the revision is not ready", () => {
    const d = revisionDiagnostic(
      TARGET,
      {
        name: `projects/${PROJECT}/locations/${REGION}/services/${SERVICE}/revisions/${CANDIDATE}`,
        conditions: [
          { type: "ContainerHealthy", state: "CONDITION_FAILED", message: "Container called exit(1)." },
          { type: "Ready", state: "CONDITION_FAILED", message: "Container called exit(1).\nmore" },
        ],
      },
      "candidate",
    )
    expect(d.title).toBe(`candidate revision ${CANDIDATE} is not ready: Container called exit(1).`)
    expect(d.lines.map((l) => l.split(":")[0])).toEqual(["Ready", "ContainerHealthy"])
    expect(d.links![0]!.label).toBe(`Logs of revision ${CANDIDATE} (Logs Explorer)`)
  })

  it("a service's diagnostic names its terminal condition, what serves and the latest revisions", () => {
    const d = serviceDiagnostic(TARGET, {
      terminalCondition: { type: "Ready", state: "CONDITION_FAILED", message: "Revision 'x' is not ready and cannot serve traffic." },
      trafficStatuses: [{ type: "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", revision: STABLE, percent: 100 }],
      latestReadyRevision: STABLE,
      latestCreatedRevision: CANDIDATE,
    })
    expect(d.title).toBe(`service ${SERVICE}: not ready — Revision 'x' is not ready and cannot serve traffic.`)
    expect(d.lines).toEqual([
      "terminal condition Ready: FAILED — Revision 'x' is not ready and cannot serve traffic.",
      `traffic: ${STABLE} 100 %`,
      `latest ready revision: ${STABLE}; latest created: ${CANDIDATE}`,
    ])
    expect(d.links![0]!.url).toBe(`https://console.cloud.google.com/run/detail/${REGION}/${SERVICE}/revisions?project=${PROJECT}`)
  })
})

describe("ProductionService.diagnose against the Cloud Run fake", () => {
  let world: CloudRunWorld
  afterEach(async () => {
    await world?.close()
  })
  const port = () => new ProductionService(world.ctx, { rolloutMs: 5_000, rollbackMs: 5_000, randomSuffix: () => "x1y2" })
  const failCandidate = async () => {
    world.fake.inject({ kind: "revision-fails", message: "Container called exit(1)." })
    await caught(port().deployCandidate({ image: IMAGE_NEW, tag: "canary", label: "1.2.0", env: {} }, RUNNING))
  }

  it("a candidate that failed readiness: its conditions, the service's terminal condition, what still serves", async () => {
    world = await startCloudRunWorld({ pollsUntilDone: 2 })
    await failCandidate()
    const [revision, service, ...rest] = await port().diagnose({ revision: CANDIDATE }, RUNNING)
    expect(rest).toEqual([])
    expect(revision).toMatchObject({ source: "cloud-run", title: `candidate revision ${CANDIDATE} is not ready: Container called exit(1).` })
    expect(revision!.lines).toEqual([
      expect.stringMatching(/^Ready: FAILED \(ERROR\), since \S+Z — Container called exit\(1\)\.$/),
      expect.stringMatching(/^ContainerHealthy: FAILED \(ERROR\), since \S+Z — Container called exit\(1\)\.$/),
      expect.stringMatching(/^ResourcesAvailable: SUCCEEDED, since /),
    ])
    const logs = new URL(revision!.links![0]!.url)
    expect(decodeURIComponent(logs.pathname)).toContain(`resource.labels.revision_name="${CANDIDATE}"`)
    expect(service!.title).toBe(`service ${SERVICE}: not ready — Revision '${CANDIDATE}' is not ready and cannot serve traffic. Container called exit(1).`)
    expect(service!.lines).toContain(`traffic: ${STABLE} 100 %`)
    expect(service!.lines).toContain(`latest ready revision: ${STABLE}; latest created: ${CANDIDATE}`)
  })

  it("without a candidate name it looks at the service's latest created revision and says so", async () => {
    world = await startCloudRunWorld({ pollsUntilDone: 2 })
    await failCandidate()
    const [revision] = await port().diagnose({}, RUNNING)
    expect(revision!.title).toMatch(new RegExp(`^latest created revision ${CANDIDATE} is not ready`))
  })

  it("a healthy revision is reported ready; a revision that cannot be read is one line, the service still described", async () => {
    world = await startCloudRunWorld({ pollsUntilDone: 2 })
    const healthy = await port().diagnose({ revision: STABLE }, RUNNING)
    expect(healthy[0]!.title).toBe(`candidate revision ${STABLE} is ready`)
    expect(healthy[1]!.title).toBe(`service ${SERVICE}: ready`)
    const missing = await port().diagnose({ revision: `${SERVICE}-gone-zzzz` }, RUNNING)
    expect(missing[0]).toMatchObject({ title: expect.stringMatching(new RegExp(`^candidate revision ${SERVICE}-gone-zzzz could not be read: .*NOT_FOUND`)), lines: [] })
    expect(missing[1]!.title).toBe(`service ${SERVICE}: ready`)
  })

  it("a refused read becomes a line naming Cloud Run's answer; an aborted signal rejects with its reason", async () => {
    world = await startCloudRunWorld({ pollsUntilDone: 2 })
    world.fake.inject({ kind: "http-error", method: "GET", status: 403, message: "Permission 'run.services.get' denied", times: Infinity })
    const refused = await port().diagnose({ revision: STABLE }, RUNNING)
    expect(refused.map((d) => d.title)).toEqual([
      expect.stringMatching(/^candidate revision .* could not be read: .*PERMISSION_DENIED/),
      expect.stringMatching(/^service portfolio-prod could not be read: .*PERMISSION_DENIED/),
    ])
    const controller = new AbortController()
    const reason = new Error("run cancelled")
    controller.abort(reason)
    expect(await caught(port().diagnose({ revision: STABLE }, controller.signal))).toBe(reason)
  })
})
