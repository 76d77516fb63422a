// What Cloud Run says about a failed production deploy, as Diagnostics: the candidate revision's conditions
// (type, state, reason, message), the service's terminal condition and what serves, and a link to the
// revision's logs. Read-only; the formatting is pure and the reads are two GETs.
//
// The log link is a Logs Explorer query for the revision rather than the console's revisions page
// (run/detail/<region>/<service>/revisions): the query lands on the failed revision's own entries — the
// container's stderr, the startup probe's verdict — from the moment it was created, with no clicks and no
// "last hour" default that hides them from whoever reads the report the next day.
import type { Diagnostic } from "../report/run-record.js"
import { firstLine } from "../shared/text.js"
import { type CloudRunContext, type CloudRunTarget, getRevision, getService, type Revision, type Service } from "./operations.js"
import { conditionState, type ConditionView, describeTraffic, readTraffic, shortName, type ServiceView } from "./traffic.js"

/** A condition as the SDK returns it: enums by name (or number), the reason in one of three fields. */
export interface ConditionDetail extends ConditionView {
  severity?: number | string | null
  reason?: number | string | null
  revisionReason?: number | string | null
  executionReason?: number | string | null
  lastTransitionTime?: { seconds?: number | string | Long | null; nanos?: number | null } | null
}

/** protobufjs' 64-bit integer, as `seconds` may arrive. */
interface Long {
  toString(): string
}

/** Looking back this far before the revision was created, so the link also shows what led to it. */
const LOGS_LEAD_MS = 60_000

/** A proto Timestamp as ISO-8601; undefined when absent or unreadable. */
function isoOf(t: ConditionDetail["lastTransitionTime"] | Revision["createTime"]): string | undefined {
  const seconds = Number(t?.seconds?.toString() ?? NaN)
  if (!Number.isFinite(seconds) || seconds <= 0) return undefined
  return new Date(seconds * 1000 + Math.floor((t?.nanos ?? 0) / 1e6)).toISOString()
}

/** Enum names without their type prefix, and nothing for the "unset" values; a bare number says it is one. */
function enumText(value: number | string | null | undefined, prefix: string): string | undefined {
  if (value === null || value === undefined || value === "" || value === 0) return undefined
  if (typeof value === "number") return `code ${value}`
  const name = value
  if (/(_UNDEFINED|_UNSPECIFIED)$/.test(name)) return undefined
  return name.startsWith(prefix) ? name.slice(prefix.length) : name
}

/** The reason of a condition, from whichever of Cloud Run's three reason fields is set. */
function reasonOf(c: ConditionDetail): string | undefined {
  return enumText(c.reason, "") ?? enumText(c.revisionReason, "") ?? enumText(c.executionReason, "")
}

/** "Ready: FAILED (ERROR), reason HEALTH_CHECK_CONTAINER_ERROR, since 2026-…Z — Container called exit(1)." */
export function conditionLine(c: ConditionDetail): string {
  const state = typeof c.state === "string" ? enumText(c.state, "CONDITION_") ?? "UNKNOWN" : conditionState(c).toUpperCase()
  const severity = enumText(c.severity, "")
  const reason = reasonOf(c)
  const since = isoOf(c.lastTransitionTime)
  const facts = [`${c.type ?? "condition"}: ${state}${severity ? ` (${severity})` : ""}`]
  if (reason) facts.push(`reason ${reason}`)
  if (since) facts.push(`since ${since}`)
  return `${facts.join(", ")}${c.message ? ` — ${c.message}` : ""}`
}

/** The Logs Explorer query for one revision's entries from just before it was created. */
export function revisionLogsUrl(target: CloudRunTarget, revision: string, createdAt?: string): string {
  const clauses = [
    'resource.type="cloud_run_revision"',
    `resource.labels.service_name="${target.service}"`,
    `resource.labels.revision_name="${revision}"`,
  ]
  const created = createdAt ? Date.parse(createdAt) : NaN
  if (Number.isFinite(created)) clauses.push(`timestamp>="${new Date(created - LOGS_LEAD_MS).toISOString()}"`)
  return `https://console.cloud.google.com/logs/query;query=${encodeURIComponent(clauses.join("\n"))}?project=${encodeURIComponent(target.project)}`
}

/** The revision's conditions, Ready first, with the link to its logs. `role` says why it is looked at. */
export function revisionDiagnostic(
  target: CloudRunTarget,
  revision: Pick<Revision, "name" | "createTime"> & { conditions?: ConditionDetail[] | null },
  role: string,
): Diagnostic {
  const name = shortName(revision.name) ?? "unknown revision"
  const conditions = [...(revision.conditions ?? [])].sort((a, b) => Number(b.type === "Ready") - Number(a.type === "Ready"))
  const ready = conditions.find((c) => c.type === "Ready")
  const state = conditionState(ready)
  const verdict =
    state === "succeeded" ? "is ready" : state === "failed" ? "is not ready" : state === "unknown" ? "reports no readiness" : `is ${state}`
  const why = state !== "succeeded" && ready?.message ? `: ${firstLine(ready.message)}` : ""
  return {
    source: "cloud-run",
    title: `${role} revision ${name} ${verdict}${why}`,
    lines: conditions.length > 0 ? conditions.map(conditionLine) : ["Cloud Run reports no condition for this revision"],
    links: [{ label: `Logs of revision ${name} (Logs Explorer)`, url: revisionLogsUrl(target, name, isoOf(revision.createTime)) }],
  }
}

/** The service's terminal condition, its other conditions, what serves and which revisions are latest. */
export function serviceDiagnostic(
  target: CloudRunTarget,
  service: ServiceView & { terminalCondition?: ConditionDetail | null; conditions?: ConditionDetail[] | null },
): Diagnostic {
  const terminal = service.terminalCondition
  const state = conditionState(terminal)
  const lines = [
    terminal ? `terminal condition ${conditionLine(terminal)}` : "Cloud Run reports no terminal condition",
    ...(service.conditions ?? []).map(conditionLine),
    `traffic: ${describeTraffic(readTraffic(service))}`,
    `latest ready revision: ${shortName(service.latestReadyRevision) ?? "none"}; latest created: ${shortName(service.latestCreatedRevision) ?? "none"}`,
  ]
  return {
    source: "cloud-run",
    title: `service ${target.service}: ${state === "succeeded" ? "ready" : state === "failed" ? "not ready" : state}${state === "failed" && terminal?.message ? ` — ${firstLine(terminal.message)}` : ""}`,
    lines,
    links: [
      {
        label: `Revisions of ${target.service} (console)`,
        url: `https://console.cloud.google.com/run/detail/${encodeURIComponent(target.region)}/${encodeURIComponent(target.service)}/revisions?project=${encodeURIComponent(target.project)}`,
      },
    ],
  }
}

/**
 * Reads the service and the candidate revision (`revision`; without one, the service's latest created
 * revision, named as such) and describes both. A read that fails becomes a line saying so; only the
 * signal's reason is thrown.
 */
export async function readCloudRunDiagnostics(ctx: CloudRunContext, input: { revision?: string }, signal: AbortSignal): Promise<Diagnostic[]> {
  const { target } = ctx
  const failed = (what: string, err: unknown): Diagnostic => {
    if (signal.aborted) throw signal.reason
    return { source: "cloud-run", title: `${what} could not be read: ${firstLine(err)}`, lines: [] }
  }
  let service: Service | undefined
  const out: Diagnostic[] = []
  try {
    service = await getService(ctx, signal)
  } catch (err) {
    out.push(failed(`service ${target.service}`, err))
  }
  const name = input.revision ?? shortName(service?.latestCreatedRevision)
  const role = input.revision ? "candidate" : "latest created"
  if (name) {
    try {
      out.unshift(revisionDiagnostic(target, await getRevision(ctx, name, signal), role))
    } catch (err) {
      out.unshift(failed(`${role} revision ${name}`, err))
    }
  }
  if (service) out.push(serviceDiagnostic(target, service))
  return out
}
