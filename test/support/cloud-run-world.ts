// The world of the test/gcp suites: the Cloud Run fake seeded with a production service (two revisions,
// the later one serving), the module's own clients connected to it by connectCloudRun (real
// @google-cloud/run v2 clients, REST transport), and what the fake says is actually serving.
import { connectCloudRun, type CloudRunClients } from "../../dagger/src/gcp/connect.js"
import type { CloudRunContext, Service } from "../../dagger/src/gcp/operations.js"
import { type CloudRunFake, type CloudRunFakeOptions, type SeedService, startCloudRunFake } from "./cloud-run-fake.js"

export const PROJECT = "demo-project"
export const REGION = "us-west1"
export const SERVICE = "portfolio-prod"
export const FULL = `projects/${PROJECT}/locations/${REGION}/services/${SERVICE}`
export const IMAGE_OLD = `us-west1-docker.pkg.dev/${PROJECT}/portfolio-prod/app@sha256:${"1".repeat(64)}`
export const IMAGE_NEW = `us-west1-docker.pkg.dev/${PROJECT}/portfolio-prod/app@sha256:${"2".repeat(64)}`
/** The revision serving 100 % when no traffic is seeded. */
export const STABLE = `${SERVICE}-stable-bbbb`
export const OLD = `${SERVICE}-old-aaaa`
/** A signal that never aborts, for calls whose cancellation a test is not about. */
export const RUNNING = new AbortController().signal
/** Fast polling, so a test's operations finish in milliseconds. */
export const FAST = { initialDelayMs: 5, multiplier: 1, maxDelayMs: 10 }

export interface CloudRunWorld {
  fake: CloudRunFake
  clients: CloudRunClients
  ctx: CloudRunContext
  /** What the fake says is serving (observed): [revision, percent, tag], independent of the module's read-back. */
  observed(): Array<[string, number, string]>
  /** Changes the service the way someone else would (get, change, update, wait), not through the module. */
  patch(change: (service: Service) => Service): Promise<void>
  close(): Promise<void>
}

/** Starts the fake, seeds the service (optionally with a traffic split) and connects without credentials. */
export async function startCloudRunWorld(options: CloudRunFakeOptions = {}, traffic?: SeedService["traffic"]): Promise<CloudRunWorld> {
  const fake = await startCloudRunFake(options)
  await fake.seed({
    project: PROJECT,
    location: REGION,
    service: SERVICE,
    revisions: [
      { name: OLD, image: IMAGE_OLD, env: { APP_VERSION: "1.0.0", APP_COMMIT: "aaaaaaa" } },
      { name: STABLE, image: IMAGE_OLD, env: { APP_VERSION: "1.1.0", APP_COMMIT: "bbbbbbb" } },
    ],
    traffic,
  })
  const clients = await connectCloudRun({ auth: { kind: "none" }, endpoint: fake.endpoint })
  const ctx: CloudRunContext = { clients, target: { project: PROJECT, region: REGION, service: SERVICE }, poll: FAST }
  return {
    fake,
    clients,
    ctx,
    observed() {
      const svc = fake.state.service(FULL)!
      return svc.trafficStatuses.map((s) => [s.revision ?? `LATEST(${svc.latestReadyRevision})`, s.percent ?? 0, s.tag ?? ""])
    },
    async patch(change) {
      const [service] = await clients.services.getService({ name: FULL })
      const [op] = await clients.services.updateService(
        { service: change(service) },
        { longrunning: { initialRetryDelayMillis: 5, retryDelayMultiplier: 1, maxRetryDelayMillis: 10, totalTimeoutMillis: 5_000 } },
      )
      await op.promise()
    },
    async close() {
      await clients.close()
      await fake.close()
    },
  }
}

/** The error a promise rejects with; fails the test when it resolves. */
export async function caught(p: Promise<unknown>): Promise<Error> {
  try {
    await p
  } catch (err) {
    return err as Error
  }
  throw new Error("expected a failure, but the call succeeded")
}
