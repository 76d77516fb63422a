// A local Cloud Run Admin API v2 (REST/JSON), as spoken by @google-cloud/run's ServicesClient and
// RevisionsClient with `fallback: true`. It keeps services, revisions and long-running operations in
// memory and models what the pipeline depends on:
// - the service spec (template, traffic) changes at once; what is OBSERVED (trafficStatuses,
//   latestReadyRevision, terminalCondition) changes only when the operation completes, so a failed
//   deploy leaves traffic where it was, as Cloud Run does;
// - a new revision is created only when the template changes; it becomes ready when its operation is
//   polled to completion, or fails / never becomes ready when a fault says so;
// - request bodies and query strings are checked against the protos shipped in @google-cloud/run
//   (see proto-json.ts), plus the semantic rules Cloud Run applies to traffic, tags and names;
// - responses are validated against the same protos before they are sent (a fake bug fails loudly).
// Optionally each revision can be "served" by a real local HTTP server: service and tag URIs then point
// at small local proxies that route like Cloud Run does (tag → its revision, service → weighted split).
import { randomBytes, randomUUID } from "node:crypto"
import http from "node:http"
import type { AddressInfo } from "node:net"
import type * as RunSdk from "../../dagger/node_modules/@google-cloud/run/build/src/index.js"
import type * as Gax from "../../dagger/node_modules/google-gax/build/src/index.js"
import { type FieldViolation, type Json, type JsonObject, ProtoJson, requireFromRun } from "./proto-json.js"

const SERVICE_TYPE = "google.cloud.run.v2.Service"
const REVISION_TYPE = "google.cloud.run.v2.Revision"
const TYPE_URL = (t: string) => `type.googleapis.com/${t}`

/** gRPC status names with their numeric codes and HTTP statuses, as Google maps them. */
const STATUS = {
  CANCELLED: { code: 1, http: 499 },
  UNKNOWN: { code: 2, http: 500 },
  INVALID_ARGUMENT: { code: 3, http: 400 },
  DEADLINE_EXCEEDED: { code: 4, http: 504 },
  NOT_FOUND: { code: 5, http: 404 },
  ALREADY_EXISTS: { code: 6, http: 409 },
  PERMISSION_DENIED: { code: 7, http: 403 },
  RESOURCE_EXHAUSTED: { code: 8, http: 429 },
  FAILED_PRECONDITION: { code: 9, http: 400 },
  ABORTED: { code: 10, http: 409 },
  OUT_OF_RANGE: { code: 11, http: 400 },
  UNIMPLEMENTED: { code: 12, http: 501 },
  INTERNAL: { code: 13, http: 500 },
  UNAVAILABLE: { code: 14, http: 503 },
  DATA_LOSS: { code: 15, http: 500 },
  UNAUTHENTICATED: { code: 16, http: 401 },
} as const
export type StatusName = keyof typeof STATUS

function statusForHttp(httpStatus: number): StatusName {
  const exact = (Object.keys(STATUS) as StatusName[]).find((k) => STATUS[k].http === httpStatus && k !== "FAILED_PRECONDITION" && k !== "OUT_OF_RANGE" && k !== "UNKNOWN" && k !== "DATA_LOSS" && k !== "ALREADY_EXISTS")
  return exact ?? (httpStatus >= 500 ? "INTERNAL" : "FAILED_PRECONDITION")
}

function statusForCode(code: number): StatusName {
  return (Object.keys(STATUS) as StatusName[]).find((k) => STATUS[k].code === code) ?? "UNKNOWN"
}

/** An API error the fake answers with (HTTP status + google.rpc.Status body). */
export class FakeApiError extends Error {
  constructor(
    readonly status: StatusName,
    message: string,
    readonly violations: FieldViolation[] = [],
  ) {
    super(message)
  }
}

// ---------------------------------------------------------------------------------------------------
// State

/** A traffic target in the normalised (stored) form: enums as numbers, defaults left out. */
export interface FakeTrafficTarget {
  /** 1 = LATEST, 2 = REVISION (google.cloud.run.v2.TrafficTargetAllocationType). */
  type?: number
  revision?: string
  percent?: number
  tag?: string
}

export interface FakeTrafficStatus extends FakeTrafficTarget {
  uri?: string
}

export type RevisionReadiness = "ready" | "fails" | "never"

export interface FakeRevision {
  /** Short name, e.g. "portfolio-00002-abc". */
  name: string
  /** Full resource name of the owning service. */
  service: string
  uid: string
  createTime: string
  /** Service generation that created it. */
  generation: number
  /** The revision template (without `revision`), normalised. */
  template: JsonObject
  /** Decided when created (by faults): whether it ever becomes ready. */
  readiness: RevisionReadiness
  failureMessage?: string
  state: "pending" | "ready" | "failed"
  deleted: boolean
}

export interface FakeService {
  /** Full resource name projects/P/locations/L/services/S. */
  name: string
  project: string
  location: string
  id: string
  uid: string
  createTime: string
  updateTime: string
  generation: number
  etag: string
  /** Writable fields as last accepted (template, traffic, labels ...), normalised. */
  spec: JsonObject
  observedGeneration: number
  trafficStatuses: FakeTrafficStatus[]
  latestReadyRevision?: string
  latestCreatedRevision?: string
  terminal: { state: "RECONCILING" | "SUCCEEDED" | "FAILED"; message?: string; time: string }
  reconciling: boolean
  uri: string
}

interface OperationOutcome {
  done: boolean
  response?: JsonObject
  error?: { code: number; message: string }
}

export interface FakeOperation {
  name: string
  /** What the operation does, for test assertions. */
  kind: "createService" | "updateService" | "deleteService" | "deleteRevision"
  target: string
  done: boolean
  polls: number
  response?: JsonObject
  error?: { code: number; message: string }
  /** Called on each poll once enough polls happened; decides whether it is done. */
  settle: () => OperationOutcome
  metadata: () => JsonObject
}

export interface RecordedRequest {
  /** When the request arrived (Date.now(), the tests' clock too), before any injected latency. */
  at: number
  method: string
  path: string
  query: Record<string, string>
  body?: Json
  /** The Authorization header as sent (tests check how the client authenticated). */
  authorization?: string
}

/** A revision as handed to `serve` (to choose a local backend for it). */
export interface ServedRevision {
  name: string
  service: string
  image: string
  env: Record<string, string>
}

/** The fake's in-memory world; tests may read it and map revisions to backends. */
export class CloudRunFakeState {
  readonly services = new Map<string, FakeService>()
  /** Keyed by full revision resource name. */
  readonly revisions = new Map<string, FakeRevision>()
  readonly operations = new Map<string, FakeOperation>()
  readonly requests: RecordedRequest[] = []
  /** Revision short name → base URL of a real HTTP server that serves it (used when `serve` is on). */
  readonly backends = new Map<string, string>()

  /** Full name of service `id` in project/location. */
  static serviceName(project: string, location: string, id: string): string {
    return `projects/${project}/locations/${location}/services/${id}`
  }

  service(name: string): FakeService | undefined {
    return this.services.get(name)
  }

  /** Revisions of a service (not deleted), newest first. */
  revisionsOf(serviceName: string): FakeRevision[] {
    return [...this.revisions.values()]
      .filter((r) => r.service === serviceName && !r.deleted)
      .sort((a, b) => b.generation - a.generation || b.createTime.localeCompare(a.createTime))
  }

  revision(serviceName: string, short: string): FakeRevision | undefined {
    return this.revisions.get(`${serviceName}/revisions/${short}`)
  }

  /** The write log: every request that may change something (anything but GET), in arrival order. */
  writes(): RecordedRequest[] {
    return this.requests.filter((r) => r.method !== "GET")
  }
}

// ---------------------------------------------------------------------------------------------------
// Faults

interface Match {
  /** HTTP method to match (GET, POST, PATCH, DELETE); any when absent. */
  method?: string
  /** Substring of, or pattern for, the request path; any when absent. */
  path?: string | RegExp
  /** How many matching requests/operations it affects; default 1, Infinity for all. */
  times?: number
}

export type CloudRunFault =
  /** Answer matching requests with an HTTP error (google.rpc.Status body). */
  | ({ kind: "http-error"; status: number; message?: string } & Match)
  /** Delay matching requests. */
  | ({ kind: "latency"; ms: number } & Match)
  /** The next long-running operation(s) complete with this error (code = gRPC code). */
  | { kind: "operation-error"; code: number; message: string; times?: number }
  /** The next revision(s) created fail to become ready (container failed to start). */
  | { kind: "revision-fails"; message?: string; times?: number }
  /** The next revision(s) created stay "reconciling" forever; their operations never finish. */
  | { kind: "revision-never-ready"; times?: number }

type Armed = CloudRunFault & { left: number }

function matches(f: Match, method: string, path: string): boolean {
  if (f.method && f.method.toUpperCase() !== method) return false
  if (f.path instanceof RegExp) return f.path.test(path)
  if (typeof f.path === "string") return path.includes(f.path)
  return true
}

// ---------------------------------------------------------------------------------------------------
// Local routing (only when `serve` is given)

class LocalRoutes {
  private readonly servers = new Map<string, { server: http.Server; url: string }>()

  async ensure(key: string, pick: () => string | undefined, describe: () => string): Promise<string> {
    const existing = this.servers.get(key)
    if (existing) return existing.url
    const server = http.createServer((req, res) => {
      const backend = pick()
      if (!backend) {
        res.writeHead(503, { "content-type": "text/plain" })
        res.end(`Cloud Run fake: no ready revision with a backend serves ${describe()}\n`)
        return
      }
      const target = new URL(req.url ?? "/", backend)
      const upstream = http.request(
        target,
        { method: req.method, headers: { ...req.headers, host: target.host } },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers)
          up.pipe(res)
        },
      )
      upstream.on("error", (err) => {
        if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" })
        res.end(`Cloud Run fake: backend ${backend} failed: ${err.message}\n`)
      })
      req.pipe(upstream)
    })
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    this.servers.set(key, { server, url })
    return url
  }

  url(key: string): string | undefined {
    return this.servers.get(key)?.url
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.servers.values()].map(
        ({ server }) =>
          new Promise<void>((done) => {
            server.closeAllConnections()
            server.close(() => done())
          }),
      ),
    )
    this.servers.clear()
  }
}

// ---------------------------------------------------------------------------------------------------
// The fake

export interface CloudRunFakeOptions {
  /** Polls of an operation before it may complete; the creating call always answers not-done. Default 1. */
  pollsUntilDone?: number
  /**
   * Serve revisions for real: return the base URL of a local HTTP server for a revision (or leave it to
   * `state.backends`). When given, service and tag URIs are local proxies instead of *.run.app names.
   */
  serve?: (revision: ServedRevision) => string | undefined
  /** Project number used in synthetic *.run.app URIs. Default "123456789012". */
  projectNumber?: string
}

export interface SeedRevision {
  /** Short name; must start with "<service>-". */
  name: string
  image: string
  env?: Record<string, string>
  /** Default true; false leaves it failed. */
  ready?: boolean
}

export interface SeedService {
  project: string
  location: string
  service: string
  /** Oldest first; the last one is the template (latest created). */
  revisions: SeedRevision[]
  /** Default: 100 % to the last revision. `revision` absent = LATEST. */
  traffic?: Array<{ revision?: string; percent: number; tag?: string }>
}

export interface CloudRunFake {
  /** Base URL, e.g. http://127.0.0.1:PORT. */
  endpoint: string
  port: number
  state: CloudRunFakeState
  /** Options for a @google-cloud/run v2 client (add an `authClient`, e.g. a PassThroughClient). */
  clientOptions: { fallback: true; apiEndpoint: string; port: number; protocol: "http" }
  /** Arms a fault; faults are consumed in the order armed. */
  inject(fault: CloudRunFault): void
  clearFaults(): void
  /** Creates a service directly in the state (ready, observed = spec), e.g. a split left by an earlier run. */
  seed(spec: SeedService): Promise<FakeService>
  close(): Promise<void>
}

let protoJson: ProtoJson | undefined

/** Starts the fake on a free loopback port. */
export async function startCloudRunFake(opts: CloudRunFakeOptions = {}): Promise<CloudRunFake> {
  protoJson ??= new ProtoJson()
  const pj = protoJson
  const state = new CloudRunFakeState()
  const faults: Armed[] = []
  const routes = new LocalRoutes()
  const pollsUntilDone = Math.max(0, opts.pollsUntilDone ?? 1)
  const projectNumber = opts.projectNumber ?? "123456789012"

  const enumValue = (enumName: string, value: string): number => {
    const e = pj.root.lookupEnum(enumName)
    const n = e.values[value]
    if (n === undefined) throw new Error(`fake: ${enumName} has no value ${value}`)
    return n
  }
  const LATEST = enumValue("google.cloud.run.v2.TrafficTargetAllocationType", "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST")
  const REVISION = enumValue("google.cloud.run.v2.TrafficTargetAllocationType", "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION")
  const condState = (s: "CONDITION_RECONCILING" | "CONDITION_SUCCEEDED" | "CONDITION_FAILED") =>
    enumValue("google.cloud.run.v2.Condition.State", s)
  const writableServiceFields = pj
    .type(SERVICE_TYPE)
    .fieldsArray.filter((f) => {
      const b = (f.parsedOptions as unknown as Array<Record<string, unknown>> | undefined) ?? []
      return !b.some((o) => o["(google.api.field_behavior)"] === "OUTPUT_ONLY")
    })
    .map((f) => f.name)
    .filter((n) => n !== "name" && n !== "etag")

  const now = () => new Date().toISOString()

  function take<K extends CloudRunFault["kind"]>(kind: K, method?: string, path?: string): Extract<Armed, { kind: K }> | undefined {
    const i = faults.findIndex(
      (f) => f.kind === kind && (method === undefined || matches(f as Match, method, path ?? "")),
    )
    if (i < 0) return undefined
    const f = faults[i]!
    if (--f.left <= 0) faults.splice(i, 1)
    return f as Extract<Armed, { kind: K }>
  }

  /** Every armed fault of `kind` that matches the request, each consumed once. */
  function takeEach(kind: "latency", method: string, path: string): Array<Extract<Armed, { kind: "latency" }>> {
    const hits = faults.filter((f): f is Extract<Armed, { kind: "latency" }> => f.kind === kind && matches(f, method, path))
    for (const f of hits) if (--f.left <= 0) faults.splice(faults.indexOf(f), 1)
    return hits
  }

  // --- rendering ------------------------------------------------------------------------------------

  const revisionFullName = (svc: FakeService, short: string) => `${svc.name}/revisions/${short}`

  const templateOf = (spec: JsonObject): JsonObject =>
    spec["template"] !== null && typeof spec["template"] === "object" && !Array.isArray(spec["template"])
      ? (spec["template"] as JsonObject)
      : {}

  const trafficOf = (spec: JsonObject): FakeTrafficTarget[] =>
    Array.isArray(spec["traffic"]) ? (spec["traffic"] as FakeTrafficTarget[]) : []

  function condition(type: string, st: FakeService["terminal"]["state"], time: string, message?: string): JsonObject {
    const c: JsonObject = { type, state: condState(`CONDITION_${st}`), lastTransitionTime: time }
    if (message) c["message"] = message
    if (st === "FAILED") c["severity"] = enumValue("google.cloud.run.v2.Condition.Severity", "ERROR")
    return c
  }

  function renderService(svc: FakeService): JsonObject {
    const out: JsonObject = {
      name: svc.name,
      uid: svc.uid,
      generation: String(svc.generation),
      ...svc.spec,
      createTime: svc.createTime,
      updateTime: svc.updateTime,
      creator: "deployer@fake.iam.gserviceaccount.com",
      lastModifier: "deployer@fake.iam.gserviceaccount.com",
      observedGeneration: String(svc.observedGeneration),
      terminalCondition: condition("Ready", svc.terminal.state, svc.terminal.time, svc.terminal.message),
      conditions: [
        condition("RoutesReady", svc.terminal.state, svc.terminal.time),
        condition("ConfigurationsReady", svc.terminal.state, svc.terminal.time),
      ],
      trafficStatuses: svc.trafficStatuses as unknown as Json[],
      uri: svc.uri,
      urls: [svc.uri],
      reconciling: svc.reconciling,
      etag: svc.etag,
    }
    if (out["ingress"] === undefined) out["ingress"] = enumValue("google.cloud.run.v2.IngressTraffic", "INGRESS_TRAFFIC_ALL")
    if (out["launchStage"] === undefined) out["launchStage"] = enumValue("google.api.LaunchStage", "GA")
    if (svc.latestReadyRevision) out["latestReadyRevision"] = revisionFullName(svc, svc.latestReadyRevision)
    if (svc.latestCreatedRevision) out["latestCreatedRevision"] = revisionFullName(svc, svc.latestCreatedRevision)
    if (svc.trafficStatuses.length === 0) delete out["trafficStatuses"]
    if (!svc.reconciling) delete out["reconciling"]
    return checked(SERVICE_TYPE, out)
  }

  function renderRevision(rev: FakeRevision): JsonObject {
    const revisionFields = new Set(pj.fieldNames(REVISION_TYPE))
    const copied = Object.fromEntries(Object.entries(rev.template).filter(([k]) => revisionFields.has(k) && k !== "revision"))
    const st = rev.state === "ready" ? "SUCCEEDED" : rev.state === "failed" ? "FAILED" : "RECONCILING"
    const out: JsonObject = {
      name: `${rev.service}/revisions/${rev.name}`,
      uid: rev.uid,
      generation: "1",
      ...copied,
      createTime: rev.createTime,
      updateTime: rev.createTime,
      service: rev.service,
      launchStage: enumValue("google.api.LaunchStage", "GA"),
      conditions: [
        condition("Ready", st, rev.createTime, rev.state === "failed" ? rev.failureMessage : rev.state === "pending" ? "Deploying revision." : undefined),
        condition("ContainerHealthy", st, rev.createTime, rev.state === "failed" ? rev.failureMessage : undefined),
        condition("ResourcesAvailable", rev.state === "pending" ? "RECONCILING" : "SUCCEEDED", rev.createTime),
      ],
      observedGeneration: "1",
      logUri: `https://console.cloud.google.com/logs/viewer?resource=cloud_run_revision/revision_name/${rev.name}`,
      etag: `"${rev.uid.slice(0, 8)}"`,
    }
    if (rev.state === "pending") out["reconciling"] = true
    return checked(REVISION_TYPE, out)
  }

  /** Validates what the fake is about to send; a violation is a bug in the fake, not in the caller. */
  function checked(typeName: string, json: JsonObject): JsonObject {
    const { value, violations } = pj.parse(typeName, json, typeName)
    if (violations.length > 0) {
      throw new Error(`Cloud Run fake produced an invalid ${typeName}: ${violations.map((v) => v.description).join("; ")}`)
    }
    return value
  }

  // --- URIs and local routing -----------------------------------------------------------------------

  function backendFor(svc: FakeService, short: string | undefined): string | undefined {
    if (!short) return undefined
    const rev = state.revision(svc.name, short)
    if (!rev || rev.state !== "ready") return undefined
    const mapped = state.backends.get(short)
    if (mapped) return mapped
    const container = Array.isArray(rev.template["containers"]) ? (rev.template["containers"][0] as JsonObject | undefined) : undefined
    const env: Record<string, string> = {}
    if (container && Array.isArray(container["env"])) {
      for (const e of container["env"] as JsonObject[]) {
        if (typeof e["name"] === "string" && typeof e["value"] === "string") env[e["name"]] = e["value"]
      }
    }
    return opts.serve?.({ name: short, service: svc.name, image: String(container?.["image"] ?? ""), env })
  }

  const resolve = (svc: FakeService, s: FakeTrafficStatus) => (s.type === LATEST ? svc.latestReadyRevision : s.revision)

  function pickForService(svc: FakeService): string | undefined {
    const live = svc.trafficStatuses.filter((s) => (s.percent ?? 0) > 0)
    let roll = Math.random() * 100
    for (const s of live) {
      roll -= s.percent ?? 0
      if (roll < 0) return backendFor(svc, resolve(svc, s))
    }
    const last = live[live.length - 1]
    return last ? backendFor(svc, resolve(svc, last)) : undefined
  }

  async function serviceUri(svc: FakeService): Promise<string> {
    if (!opts.serve) return `https://${svc.id}-${projectNumber}.${svc.location}.run.app`
    return routes.ensure(svc.name, () => pickForService(svc), () => `service ${svc.name}`)
  }

  /** The URI of a tag; with `serve` it exists once `tagUri` has set up its local route. */
  function knownTagUri(svc: FakeService, tag: string): string | undefined {
    if (!opts.serve) return `https://${tag}---${svc.id}-${projectNumber}.${svc.location}.run.app`
    return routes.url(`${svc.name}#${tag}`)
  }

  async function tagUri(svc: FakeService, tag: string): Promise<string> {
    if (!opts.serve) return knownTagUri(svc, tag)!
    return routes.ensure(
      `${svc.name}#${tag}`,
      () => {
        const s = svc.trafficStatuses.find((t) => t.tag === tag)
        return s ? backendFor(svc, resolve(svc, s)) : undefined
      },
      () => `tag '${tag}' of ${svc.name}`,
    )
  }

  // --- applying a spec: validation, revisions, the operation ---------------------------------------

  const NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/

  async function applySpec(
    svc: FakeService,
    spec: JsonObject,
    kind: FakeOperation["kind"],
    validateOnly: boolean,
  ): Promise<FakeOperation> {
    const violations: FieldViolation[] = []
    const template = templateOf(spec)
    const containers = Array.isArray(template["containers"]) ? template["containers"] : []
    if (containers.length === 0) {
      violations.push({ field: "service.template.containers", description: "service.template.containers: at least one container is required." })
    }
    const { revision: requested, ...templateBody } = template
    const latest = svc.latestCreatedRevision ? state.revision(svc.name, svc.latestCreatedRevision) : undefined
    const requestedName = typeof requested === "string" && requested !== "" ? requested : undefined
    const newRevisionNeeded =
      !latest || (requestedName !== undefined && requestedName !== latest.name) || stableJson(templateBody) !== stableJson(latest.template)
    if (requestedName !== undefined) {
      if (!NAME.test(requestedName) || requestedName.length > 63) {
        violations.push({
          field: "service.template.revision",
          description: `service.template.revision: '${requestedName}': only lowercase, digits, and hyphens; must begin with letter, and may not end with hyphen; must be less than 64 characters.`,
        })
      } else if (!requestedName.startsWith(`${svc.id}-`)) {
        violations.push({
          field: "service.template.revision",
          description: `service.template.revision: '${requestedName}' must start with the service name followed by a dash ('${svc.id}-').`,
        })
      } else if (newRevisionNeeded && state.revisions.has(revisionFullName(svc, requestedName))) {
        throw new FakeApiError(
          "ALREADY_EXISTS",
          `Found a conflicting revision name ${requestedName}. Revision names must be unique within the namespace.`,
        )
      }
    }
    const newName = newRevisionNeeded
      ? requestedName ?? `${svc.id}-${String(svc.generation + 1).padStart(5, "0")}-${randomLetters(3)}`
      : undefined

    let traffic = trafficOf(spec)
    if (traffic.length === 0) traffic = [{ type: LATEST, percent: 100 }]
    const tags = new Set<string>()
    let sum = 0
    traffic.forEach((t, i) => {
      const at = `service.traffic[${i}]`
      if (!t.type && t.revision) t.type = REVISION
      if (t.type === LATEST) {
        if (t.revision) {
          violations.push({ field: `${at}.revision`, description: `${at}: a LATEST target must not name a revision (got '${t.revision}').` })
        }
      } else if (t.type === REVISION) {
        if (!t.revision) {
          violations.push({ field: `${at}.revision`, description: `${at}.revision: required when type is TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION.` })
        } else if (t.revision !== newName && !state.revision(svc.name, t.revision)) {
          violations.push({ field: `${at}.revision`, description: `${at}.revision: Revision named '${t.revision}' does not exist in service '${svc.id}'.` })
        }
      } else {
        violations.push({ field: `${at}.type`, description: `${at}.type: must be LATEST or REVISION (got ${t.type ?? "unspecified"}).` })
      }
      const percent = t.percent ?? 0
      if (percent < 0 || percent > 100) {
        violations.push({ field: `${at}.percent`, description: `${at}.percent: must be between 0 and 100 (got ${percent}).` })
      }
      sum += percent
      if (t.tag !== undefined) {
        if (!NAME.test(t.tag)) {
          violations.push({ field: `${at}.tag`, description: `${at}.tag: '${t.tag}': only lowercase, digits, and hyphens; must begin with letter, and may not end with hyphen.` })
        } else if (t.tag.length + svc.id.length > 46) {
          violations.push({
            field: `${at}.tag`,
            description: `spec.traffic.tag: traffic tag '${t.tag}' and service name '${svc.id}' together are too long. Combined traffic tag and service name cannot exceed 46 characters.`,
          })
        }
        if (tags.has(t.tag)) violations.push({ field: `${at}.tag`, description: `${at}.tag: tag '${t.tag}' is used by more than one traffic target.` })
        tags.add(t.tag)
      }
    })
    if (sum !== 100) {
      violations.push({ field: "service.traffic", description: `service.traffic: percentages must add up to 100 (got ${sum}).` })
    }
    if (violations.length > 0) {
      throw new FakeApiError("INVALID_ARGUMENT", violations.map((v) => v.description).join(" "), violations)
    }
    if (validateOnly) {
      const op = newOperation(svc, kind, () => ({ done: true, response: withType(SERVICE_TYPE, renderService(svc)) }))
      op.done = true
      op.response = withType(SERVICE_TYPE, renderService(svc))
      return op
    }

    // Commit the spec; what is observed changes when the operation completes.
    const time = now()
    svc.spec = { ...spec, traffic: traffic as unknown as Json[] }
    svc.generation += 1
    svc.updateTime = time
    svc.etag = `"${randomBytes(6).toString("hex")}"`
    svc.reconciling = true
    svc.terminal = { state: "RECONCILING", time }
    const generation = svc.generation
    let created: FakeRevision | undefined
    if (newName) {
      const failing = take("revision-fails")
      const never = failing ? undefined : take("revision-never-ready")
      created = {
        name: newName,
        service: svc.name,
        uid: randomUUID(),
        createTime: time,
        generation,
        template: templateBody,
        readiness: failing ? "fails" : never ? "never" : "ready",
        failureMessage: failing
          ? failing.message ??
            `The user-provided container failed to start and listen on the port defined provided by the PORT=8080 environment variable within the allocated timeout.`
          : undefined,
        state: "pending",
        deleted: false,
      }
      state.revisions.set(revisionFullName(svc, newName), created)
      svc.latestCreatedRevision = newName
    }
    for (const t of traffic) if (t.tag) await tagUri(svc, t.tag)
    const opError = take("operation-error")
    const referenced = traffic.filter((t) => t.type === REVISION).map((t) => t.revision!)

    // An operation error says nothing about the revision, so it stays as it was; a revision that
    // failed to start fails the operation and is marked failed.
    const fail = (code: number, message: string, revisionFailed: boolean): OperationOutcome => {
      if (revisionFailed && created && created.state === "pending") {
        created.state = "failed"
        created.failureMessage ??= message
      }
      if (svc.generation === generation) {
        svc.reconciling = false
        svc.observedGeneration = generation
        svc.terminal = { state: "FAILED", message, time: now() }
      }
      return { done: true, error: { code, message } }
    }

    return newOperation(svc, kind, () => {
      if (opError) return fail(opError.code, opError.message, false)
      if (created) {
        if (created.readiness === "never") return { done: false }
        if (created.readiness === "fails") {
          return fail(
            STATUS.FAILED_PRECONDITION.code,
            `Revision '${created.name}' is not ready and cannot serve traffic. ${created.failureMessage}`,
            true,
          )
        }
        created.state = "ready"
        const readyNow = svc.latestReadyRevision ? state.revision(svc.name, svc.latestReadyRevision) : undefined
        if (!readyNow || readyNow.generation <= created.generation) svc.latestReadyRevision = created.name
      }
      for (const r of referenced) {
        const rev = state.revision(svc.name, r)
        if (!rev || rev.deleted) return fail(STATUS.NOT_FOUND.code, `Revision '${r}' was deleted while the operation ran.`, false)
        if (rev.state === "failed") {
          return fail(STATUS.FAILED_PRECONDITION.code, `Revision '${r}' is not ready and cannot serve traffic. ${rev.failureMessage ?? ""}`.trim(), false)
        }
        if (rev.state === "pending") return { done: false }
      }
      if (svc.generation === generation) {
        svc.trafficStatuses = traffic.map((t) => {
          const status: FakeTrafficStatus = { type: t.type }
          if (t.type === REVISION) status.revision = t.revision
          if (t.percent) status.percent = t.percent
          if (t.tag) {
            status.tag = t.tag
            status.uri = knownTagUri(svc, t.tag)
          }
          return status
        })
      }
      return { done: true, response: withType(SERVICE_TYPE, renderService(svc)) }
    }, () => {
      if (svc.generation === generation) {
        svc.observedGeneration = generation
        svc.reconciling = false
        svc.terminal = { state: "SUCCEEDED", time: now() }
      }
    })
  }

  function withType(typeName: string, json: JsonObject): JsonObject {
    return { "@type": TYPE_URL(typeName), ...json }
  }

  function newOperation(
    svc: FakeService,
    kind: FakeOperation["kind"],
    outcome: () => OperationOutcome,
    onSuccess?: () => void,
  ): FakeOperation {
    const name = `projects/${svc.project}/locations/${svc.location}/operations/${randomUUID()}`
    const op: FakeOperation = {
      name,
      kind,
      target: svc.name,
      done: false,
      polls: 0,
      settle: () => {
        const result = outcome()
        if (result.done && !result.error) {
          onSuccess?.()
          // Re-render after the success bookkeeping so the response shows the settled service.
          if (result.response?.["@type"] === TYPE_URL(SERVICE_TYPE)) result.response = withType(SERVICE_TYPE, renderService(svc))
        }
        return result
      },
      metadata: () => withType(SERVICE_TYPE, renderService(svc)),
    }
    state.operations.set(name, op)
    return op
  }

  function renderOperation(op: FakeOperation): JsonObject {
    const out: JsonObject = { name: op.name, metadata: op.metadata(), done: op.done }
    if (op.response) out["response"] = op.response
    if (op.error) out["error"] = { code: op.error.code, message: op.error.message }
    return out
  }

  function poll(op: FakeOperation): void {
    if (op.done) return
    op.polls += 1
    if (op.polls < pollsUntilDone) return
    const result = op.settle()
    if (!result.done) return
    op.done = true
    op.response = result.response
    op.error = result.error
  }

  // --- creating services ------------------------------------------------------------------------------

  async function newService(project: string, location: string, id: string): Promise<FakeService> {
    const time = now()
    const svc: FakeService = {
      name: CloudRunFakeState.serviceName(project, location, id),
      project,
      location,
      id,
      uid: randomUUID(),
      createTime: time,
      updateTime: time,
      generation: 0,
      etag: `"${randomBytes(6).toString("hex")}"`,
      spec: {},
      observedGeneration: 0,
      trafficStatuses: [],
      terminal: { state: "RECONCILING", time },
      reconciling: true,
      uri: "",
    }
    svc.uri = await serviceUri(svc)
    return svc
  }

  function validateServiceId(id: string): void {
    if (!NAME.test(id) || id.length >= 50) {
      throw new FakeApiError(
        "INVALID_ARGUMENT",
        `Violation in CreateServiceRequest.service_id: only lowercase, digits, and hyphens; must begin with letter, and cannot end with hyphen; must be less than 50 characters.`,
        [{ field: "service_id", description: "only lowercase, digits, and hyphens; must begin with letter, and cannot end with hyphen; must be less than 50 characters." }],
      )
    }
  }

  function notFound(kind: string, name: string): FakeApiError {
    const m = /^projects\/([^/]+)\/locations\/([^/]+)\/\w+\/([^/]+)(?:\/revisions\/([^/]+))?$/.exec(name)
    const what = m ? `Resource '${m[4] ?? m[3]}' of kind '${kind}' in region '${m[2]}' in project '${m[1]}' does not exist.` : `${name} not found.`
    return new FakeApiError("NOT_FOUND", what)
  }

  // --- request plumbing -------------------------------------------------------------------------------

  const SYSTEM_PARAMS = new Set(["$alt", "alt", "$prettyPrint", "prettyPrint", "fields", "$fields", "key"])

  /** Checks query parameters against the request message (minus path and body fields). */
  function parseQuery(requestType: string, query: URLSearchParams, exclude: string[]): JsonObject {
    const type = pj.type(requestType)
    const obj: JsonObject = {}
    const violations: FieldViolation[] = []
    for (const [key, raw] of query) {
      if (SYSTEM_PARAMS.has(key)) continue
      const field = pj.field(type, key)
      if (!field || exclude.includes(field.name)) {
        violations.push({
          field: key,
          description: `Invalid JSON payload received. Unknown name "${key}": Cannot bind query parameter. Field '${key}' could not be found in request message.`,
        })
        continue
      }
      obj[field.name] = field.type === "bool" ? (raw === "true" ? true : raw === "false" ? false : raw) : raw
    }
    const { value, violations: typeViolations } = pj.parse(requestType, obj, requestType.replace(/^.*\./, ""))
    violations.push(...typeViolations)
    if (violations.length > 0) throw new FakeApiError("INVALID_ARGUMENT", violations.map((v) => v.description).join(" "), violations)
    return value
  }

  function parseBody(typeName: string, body: Json | undefined, at: string, checkRequired: boolean): JsonObject {
    const { value, violations } = pj.parse(typeName, body ?? {}, at, { dropOutputOnly: true, checkRequired })
    if (violations.length > 0) throw new FakeApiError("INVALID_ARGUMENT", violations.map((v) => v.description).join(" "), violations)
    return value
  }

  function writable(service: JsonObject): JsonObject {
    return Object.fromEntries(Object.entries(service).filter(([k]) => writableServiceFields.includes(k)))
  }

  async function route(method: string, path: string, query: URLSearchParams, body: Json | undefined): Promise<{ type?: string; json: JsonObject }> {
    let m: RegExpExecArray | null
    const P = "projects/([^/]+)/locations/([^/]+)"
    const opResponse = (op: FakeOperation) => ({ type: "google.longrunning.Operation", json: renderOperation(op) })

    if ((m = new RegExp(`^/v2/${P}/services$`).exec(path))) {
      const [, project, location] = m as unknown as [string, string, string]
      if (method === "POST") {
        const q = parseQuery("google.cloud.run.v2.CreateServiceRequest", query, ["parent", "service"])
        const id = typeof q["serviceId"] === "string" ? q["serviceId"] : ""
        if (!id) throw new FakeApiError("INVALID_ARGUMENT", "service_id: is required and was not set.", [{ field: "service_id", description: "is required" }])
        validateServiceId(id)
        const spec = parseBody(SERVICE_TYPE, body, "service", true)
        if (typeof spec["name"] === "string" && spec["name"] !== "" && spec["name"] !== CloudRunFakeState.serviceName(project, location, id)) {
          throw new FakeApiError("INVALID_ARGUMENT", "service.name must be empty on create (the name comes from parent and service_id).")
        }
        const name = CloudRunFakeState.serviceName(project, location, id)
        if (state.services.has(name)) throw new FakeApiError("ALREADY_EXISTS", `Resource '${id}' already exists.`)
        const svc = await newService(project, location, id)
        const op = await applySpec(svc, writable(spec), "createService", q["validateOnly"] === true)
        if (q["validateOnly"] !== true) state.services.set(name, svc)
        return opResponse(op)
      }
      if (method === "GET") {
        const q = parseQuery("google.cloud.run.v2.ListServicesRequest", query, ["parent"])
        const all = [...state.services.values()].filter((s) => s.project === project && s.location === location)
        const { page, next } = paginate(all, q)
        const json: JsonObject = { services: page.map(renderService) }
        if (next) json["nextPageToken"] = next
        return { type: "google.cloud.run.v2.ListServicesResponse", json }
      }
    }

    if ((m = new RegExp(`^/v2/(${P}/services/[^/:]+)$`).exec(path))) {
      const name = m[1]!
      const svc = state.services.get(name)
      if (method === "GET") {
        parseQuery("google.cloud.run.v2.GetServiceRequest", query, ["name"])
        if (!svc) throw notFound("SERVICE", name)
        return { type: SERVICE_TYPE, json: renderService(svc) }
      }
      if (method === "PATCH") {
        const q = parseQuery("google.cloud.run.v2.UpdateServiceRequest", query, ["service"])
        const mask = typeof q["updateMask"] === "string" && q["updateMask"] !== "" ? q["updateMask"].split(",") : undefined
        const spec = parseBody(SERVICE_TYPE, body, "service", mask === undefined)
        if (typeof spec["name"] === "string" && spec["name"] !== name) {
          throw new FakeApiError("INVALID_ARGUMENT", `service.name '${spec["name"]}' does not match the URL '${name}'.`)
        }
        if (!svc) {
          if (q["allowMissing"] !== true) throw notFound("SERVICE", name)
          const [, project, location, id] = /^projects\/([^/]+)\/locations\/([^/]+)\/services\/([^/]+)$/.exec(name) as unknown as [string, string, string, string]
          validateServiceId(id)
          const created = await newService(project, location, id)
          const op = await applySpec(created, writable(spec), "createService", q["validateOnly"] === true)
          if (q["validateOnly"] !== true) state.services.set(name, created)
          return opResponse(op)
        }
        if (typeof spec["etag"] === "string" && spec["etag"] !== "" && spec["etag"] !== svc.etag) {
          throw new FakeApiError("ABORTED", `etag mismatch for ${name}: the service changed since it was read (sent ${spec["etag"]}, current ${svc.etag}). Read it again and retry.`)
        }
        let next: JsonObject
        if (mask) {
          const known = pj.fieldNames(SERVICE_TYPE)
          const unknown = mask.filter((p) => !known.includes(pj.protobuf.util.camelCase(p.split(".")[0]!)))
          if (unknown.length > 0) {
            throw new FakeApiError(
              "INVALID_ARGUMENT",
              `Invalid update_mask: unknown field path(s) ${unknown.map((p) => `"${p}"`).join(", ")} in google.cloud.run.v2.Service.`,
              unknown.map((p) => ({ field: "update_mask", description: `unknown field path "${p}"` })),
            )
          }
          next = { ...svc.spec }
          for (const p of mask) {
            const key = pj.protobuf.util.camelCase(p.split(".")[0]!)
            if (spec[key] === undefined) delete next[key]
            else next[key] = spec[key]!
          }
        } else {
          next = writable(spec)
        }
        const op = await applySpec(svc, next, "updateService", q["validateOnly"] === true)
        return opResponse(op)
      }
      if (method === "DELETE") {
        const q = parseQuery("google.cloud.run.v2.DeleteServiceRequest", query, ["name"])
        if (!svc) throw notFound("SERVICE", name)
        if (typeof q["etag"] === "string" && q["etag"] !== svc.etag) throw new FakeApiError("ABORTED", `etag mismatch for ${name}.`)
        const snapshot = withType(SERVICE_TYPE, renderService(svc))
        const op = newOperation(svc, "deleteService", () => {
          state.services.delete(name)
          for (const r of state.revisionsOf(name)) r.deleted = true
          return { done: true, response: snapshot }
        })
        return opResponse(op)
      }
    }

    if ((m = new RegExp(`^/v2/(${P}/services/[^/]+)/revisions$`).exec(path)) && method === "GET") {
      const q = parseQuery("google.cloud.run.v2.ListRevisionsRequest", query, ["parent"])
      const svcName = m[1]!
      if (!state.services.has(svcName)) throw notFound("SERVICE", svcName)
      const { page, next } = paginate(state.revisionsOf(svcName), q)
      const json: JsonObject = { revisions: page.map(renderRevision) }
      if (next) json["nextPageToken"] = next
      return { type: "google.cloud.run.v2.ListRevisionsResponse", json }
    }

    if ((m = new RegExp(`^/v2/(${P}/services/[^/]+)/revisions/([^/]+)$`).exec(path))) {
      const svcName = m[1]!
      const short = m[4]!
      const rev = state.revision(svcName, short)
      const fullName = `${svcName}/revisions/${short}`
      if (method === "GET") {
        parseQuery("google.cloud.run.v2.GetRevisionRequest", query, ["name"])
        if (!rev || rev.deleted) throw notFound("REVISION", fullName)
        return { type: REVISION_TYPE, json: renderRevision(rev) }
      }
      if (method === "DELETE") {
        parseQuery("google.cloud.run.v2.DeleteRevisionRequest", query, ["name"])
        const svc = state.services.get(svcName)
        if (!rev || rev.deleted || !svc) throw notFound("REVISION", fullName)
        const usedBy = trafficOf(svc.spec).find((t) => t.revision === short)
        const serving = svc.trafficStatuses.find((t) => resolve(svc, t) === short && ((t.percent ?? 0) > 0 || t.tag))
        if (usedBy || serving) {
          throw new FakeApiError(
            "FAILED_PRECONDITION",
            `Revision '${short}' cannot be deleted because it is referenced by a traffic target of service '${svc.id}'. Move its traffic and tags first.`,
          )
        }
        const snapshot = withType(REVISION_TYPE, renderRevision(rev))
        const op = newOperation(svc, "deleteRevision", () => {
          rev.deleted = true
          return { done: true, response: snapshot }
        })
        op.metadata = () => snapshot
        return opResponse(op)
      }
    }

    if ((m = new RegExp(`^/v2/(${P}/operations/[^/]+)$`).exec(path)) && method === "GET") {
      parseQuery("google.longrunning.GetOperationRequest", query, ["name"])
      const op = state.operations.get(m[1]!)
      if (!op) throw new FakeApiError("NOT_FOUND", `Operation ${m[1]} not found.`)
      poll(op)
      return opResponse(op)
    }

    throw new FakeApiError("NOT_FOUND", `Cloud Run fake: no route for ${method} ${path}.`)
  }

  function paginate<T>(items: T[], q: JsonObject): { page: T[]; next?: string } {
    const size = typeof q["pageSize"] === "number" && q["pageSize"] > 0 ? q["pageSize"] : 100
    const start = typeof q["pageToken"] === "string" && q["pageToken"] !== "" ? Number(q["pageToken"]) : 0
    if (!Number.isInteger(start) || start < 0) throw new FakeApiError("INVALID_ARGUMENT", `page_token '${q["pageToken"]}' is not valid.`)
    const page = items.slice(start, start + size)
    return start + size < items.length ? { page, next: String(start + size) } : { page }
  }

  function sendError(res: http.ServerResponse, status: StatusName, message: string, violations: FieldViolation[] = []): void {
    const details: Json[] = violations.length > 0
      ? [{ "@type": "type.googleapis.com/google.rpc.BadRequest", fieldViolations: violations as unknown as Json[] }]
      : []
    res.writeHead(STATUS[status].http, { "content-type": "application/json; charset=UTF-8" })
    res.end(JSON.stringify({ error: { code: STATUS[status].http, message, status, details } }))
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      void (async () => {
        const url = new URL(req.url ?? "/", "http://fake")
        const method = (req.method ?? "GET").toUpperCase()
        const text = Buffer.concat(chunks).toString("utf8")
        let body: Json | undefined
        if (text.trim() !== "") {
          try {
            body = JSON.parse(text) as Json
          } catch (err) {
            sendError(res, "INVALID_ARGUMENT", `Invalid JSON payload received. ${(err as Error).message}`)
            return
          }
        }
        state.requests.push({
          at: Date.now(),
          method,
          path: url.pathname,
          query: Object.fromEntries(url.searchParams),
          body,
          authorization: req.headers.authorization,
        })
        // Each matching latency fault delays this request once (one with `times: Infinity` delays every one).
        const delay = takeEach("latency", method, url.pathname).reduce((sum, f) => sum + f.ms, 0)
        if (delay > 0) await new Promise((r) => setTimeout(r, delay))
        const httpFault = take("http-error", method, url.pathname)
        if (httpFault) {
          sendError(res, statusForHttp(httpFault.status), httpFault.message ?? `Injected HTTP ${httpFault.status}`)
          return
        }
        try {
          const { type, json } = await route(method, url.pathname, url.searchParams, body)
          const enumsAsInts = (url.searchParams.get("$alt") ?? "").includes("enum-encoding=int")
          const rendered = type ? pj.render(type, json, enumsAsInts) : json
          res.writeHead(200, { "content-type": "application/json; charset=UTF-8" })
          res.end(JSON.stringify(rendered))
        } catch (err) {
          if (err instanceof FakeApiError) sendError(res, err.status, err.message, err.violations)
          else sendError(res, "INTERNAL", `Cloud Run fake bug: ${(err as Error).stack ?? String(err)}`)
        }
      })()
    })
  })
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done))
  const port = (server.address() as AddressInfo).port

  async function seed(spec: SeedService): Promise<FakeService> {
    validateServiceId(spec.service)
    const svc = await newService(spec.project, spec.location, spec.service)
    if (spec.revisions.length === 0) throw new Error("seed: give at least one revision")
    let generation = 0
    for (const r of spec.revisions) {
      if (!r.name.startsWith(`${spec.service}-`)) throw new Error(`seed: revision '${r.name}' must start with '${spec.service}-'`)
      generation += 1
      const container: JsonObject = { image: r.image }
      if (r.env) container["env"] = Object.entries(r.env).map(([name, value]) => ({ name, value }))
      const time = new Date(Date.now() - (spec.revisions.length - generation + 1) * 60_000).toISOString()
      const ready = r.ready !== false
      state.revisions.set(revisionFullName(svc, r.name), {
        name: r.name,
        service: svc.name,
        uid: randomUUID(),
        createTime: time,
        generation,
        template: { containers: [container] },
        readiness: ready ? "ready" : "fails",
        failureMessage: ready ? undefined : "Seeded as failed.",
        state: ready ? "ready" : "failed",
        deleted: false,
      })
      if (ready) svc.latestReadyRevision = r.name
    }
    const last = spec.revisions[spec.revisions.length - 1]!
    const traffic: FakeTrafficTarget[] = (spec.traffic ?? [{ revision: last.name, percent: 100 }]).map((t) => {
      const target: FakeTrafficTarget = t.revision ? { type: REVISION, revision: t.revision } : { type: LATEST }
      if (t.percent) target.percent = t.percent
      if (t.tag) target.tag = t.tag
      return target
    })
    svc.generation = generation
    svc.observedGeneration = generation
    svc.latestCreatedRevision = last.name
    svc.spec = {
      template: { ...state.revision(svc.name, last.name)!.template, revision: last.name },
      traffic: traffic as unknown as Json[],
    }
    for (const t of traffic) if (t.tag) await tagUri(svc, t.tag)
    svc.trafficStatuses = traffic.map((t) => (t.tag ? { ...t, uri: knownTagUri(svc, t.tag) } : { ...t }))
    svc.reconciling = false
    svc.terminal = { state: "SUCCEEDED", time: now() }
    renderService(svc) // validates the seeded shape
    state.services.set(svc.name, svc)
    return svc
  }

  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    state,
    clientOptions: { fallback: true, apiEndpoint: "127.0.0.1", port, protocol: "http" },
    inject(fault) {
      faults.push({ ...fault, left: fault.times ?? 1 })
    },
    clearFaults() {
      faults.length = 0
    },
    seed,
    async close() {
      await routes.close()
      await new Promise<void>((done) => {
        server.closeAllConnections()
        server.close(() => done())
      })
    },
  }
}

function randomLetters(n: number): string {
  const bytes = randomBytes(n)
  return [...bytes].map((b) => String.fromCharCode(97 + (b % 26))).join("")
}

/** JSON with sorted keys, to compare templates regardless of key order. */
function stableJson(v: Json | undefined): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "undefined"
  if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`
  return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stableJson(v[k])}`).join(",")}}`
}

/** Real @google-cloud/run v2 clients (REST transport) pointed at a fake, with no credentials. */
export interface FakeClients {
  services: RunSdk.v2.ServicesClient
  revisions: RunSdk.v2.RevisionsClient
  close(): Promise<void>
}

/** Builds real clients for `fake` exactly as a user of the library would; loads the library lazily. */
export function fakeClients(fake: Pick<CloudRunFake, "clientOptions">): FakeClients {
  const run = requireFromRun("@google-cloud/run") as typeof RunSdk
  const gax = requireFromRun("google-gax") as typeof Gax
  const options = { ...fake.clientOptions, authClient: new gax.googleAuthLibrary.PassThroughClient() }
  const services = new run.v2.ServicesClient(options)
  const revisions = new run.v2.RevisionsClient(options)
  return {
    services,
    revisions,
    async close() {
      await Promise.all([services.close(), revisions.close()])
    },
  }
}
