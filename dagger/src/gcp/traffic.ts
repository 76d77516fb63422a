// Cloud Run traffic decisions (and what a revision runs), pure: what Cloud Run reports (a service's trafficStatuses) goes in, the
// traffic targets to ask for come out. operations.ts and production-service.ts do the I/O.
//
// Decisions made here, once:
// - The "previous" (stable) revision is the one that holds the most traffic. A split (e.g. 50/50 left by
//   an interrupted canary) is never silently kept: the deploy moves all traffic back to that revision
//   and reports the split. A tie goes to the revision NOT carrying the canary tag (the other one is an
//   earlier run's candidate), then to the older revision.
// - Percentages live on untagged-or-tagged targets, one per revision; extra tags are 0 % targets. Tags
//   other than ours are kept (someone put them there); our canary tag always points at our candidate.
// - Cloud Run reports enums by name in plain reads but as numbers inside long-running-operation
//   results, so both forms are accepted.
import type { Verdict } from "../aws/rollout-verdict.js"
import type { ExpectedRelease } from "../health/verdict.js"
import { requireDigestRef } from "../supply-chain/image-ref.js"

/** One traffic entry as Cloud Run reports or accepts it. `revision` absent = LATEST (latest ready). */
export interface TrafficTarget {
  revision?: string
  percent: number
  tag?: string
}

/** A traffic status as Cloud Run reports it: a target plus the tag's URL. */
export interface TrafficStatus extends TrafficTarget {
  uri?: string
}

/**
 * The parts of a Cloud Run v2 Service these decisions read. The SDK's `IService` fits this shape; tests
 * pass plain objects.
 */
export interface ServiceView {
  name?: string | null
  uri?: string | null
  latestReadyRevision?: string | null
  latestCreatedRevision?: string | null
  trafficStatuses?: Array<{
    type?: number | string | null
    revision?: string | null
    percent?: number | null
    tag?: string | null
    uri?: string | null
  }> | null
  terminalCondition?: ConditionView | null
  reconciling?: boolean | null
}

/** A Cloud Run condition (Ready, RoutesReady...). `state` by name or number. */
export interface ConditionView {
  type?: string | null
  state?: number | string | null
  message?: string | null
}

/** What a service's traffic looks like, resolved to revision names. */
export interface TrafficReading {
  /** Revisions holding traffic (> 0 %), merged per revision, most traffic first. */
  holders: Array<{ revision: string; percent: number }>
  /** Every tag and the revision it points at. */
  tags: Array<{ tag: string; revision: string; uri?: string }>
  /** The revision to treat as the previous, known-good one: the holder with the most traffic. */
  stable?: string
  /** True when one revision holds 100 %. */
  settled: boolean
  /** Latest ready revision (short name), if any. */
  latestReady?: string
  /** Things a person should know (a split left behind, a LATEST that cannot be resolved...). */
  notices: string[]
}

/** Input that cannot be deployed; the message names the value, the rule and the fix. */
export class CloudRunInputError extends Error {
  override name = "CloudRunInputError"
}

/** Longest tag + service name Cloud Run accepts (they form the tag URL's DNS label). */
export const MAX_TAG_PLUS_SERVICE = 46
const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/

/** Enum values of google.cloud.run.v2 protos, by name and number. */
const ALLOCATION_LATEST = new Set<number | string>([1, "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"])
const CONDITION_STATE: Record<string, "pending" | "reconciling" | "failed" | "succeeded"> = {
  "1": "pending",
  CONDITION_PENDING: "pending",
  "2": "reconciling",
  CONDITION_RECONCILING: "reconciling",
  "3": "failed",
  CONDITION_FAILED: "failed",
  "4": "succeeded",
  CONDITION_SUCCEEDED: "succeeded",
}

/** A condition's state as a word; "unknown" when unset. */
export function conditionState(c: ConditionView | null | undefined): "pending" | "reconciling" | "failed" | "succeeded" | "unknown" {
  return CONDITION_STATE[String(c?.state ?? "")] ?? "unknown"
}

/** `projects/p/locations/l/services/s/revisions/r` → `r` (names in traffic are short). */
export function shortName(name: string | null | undefined): string | undefined {
  if (!name) return undefined
  return name.slice(name.lastIndexOf("/") + 1) || undefined
}

/** Reads a service's observed traffic (trafficStatuses), resolving LATEST to the latest ready revision. */
export function readTraffic(service: ServiceView, options: { canaryTag?: string } = {}): TrafficReading {
  const latestReady = shortName(service.latestReadyRevision)
  const latestCreated = shortName(service.latestCreatedRevision)
  const notices: string[] = []
  const percents = new Map<string, number>()
  const tags: TrafficReading["tags"] = []
  for (const s of service.trafficStatuses ?? []) {
    const latest = s.type !== undefined && s.type !== null && ALLOCATION_LATEST.has(s.type)
    const revision = latest ? latestReady : s.revision ?? undefined
    const percent = s.percent ?? 0
    if (!revision) {
      if (percent > 0 || s.tag) {
        notices.push(`a traffic entry (${percent} %${s.tag ? `, tag '${s.tag}'` : ""}) points at LATEST but the service has no ready revision`)
      }
      continue
    }
    if (percent > 0) percents.set(revision, (percents.get(revision) ?? 0) + percent)
    if (s.tag) tags.push(s.uri ? { tag: s.tag, revision, uri: s.uri } : { tag: s.tag, revision })
  }
  const canaryOf = new Set(tags.filter((t) => t.tag === options.canaryTag).map((t) => t.revision))
  const holders = [...percents.entries()]
    .map(([revision, percent]) => ({ revision, percent }))
    .sort(
      (a, b) =>
        b.percent - a.percent ||
        Number(canaryOf.has(a.revision)) - Number(canaryOf.has(b.revision)) ||
        Number(a.revision === latestCreated) - Number(b.revision === latestCreated) ||
        a.revision.localeCompare(b.revision),
    )
  const total = holders.reduce((sum, h) => sum + h.percent, 0)
  if (holders.length > 0 && total !== 100) notices.push(`traffic percentages add up to ${total} %, not 100 %`)
  const settled = holders.length === 1 && holders[0]!.percent === 100
  const stable = holders[0]?.revision
  if (holders.length > 1) {
    const why = holders[0]!.percent > holders[1]!.percent
      ? "the most traffic"
      : `tied for the most traffic; ties go to the revision without the '${options.canaryTag ?? "canary"}' tag, then to the older one`
    notices.push(
      `traffic is split (${holders.map((h) => `${h.revision} ${h.percent} %`).join(", ")}), probably left by an ` +
        `interrupted earlier run; treating ${stable} as the previous revision (${why})`,
    )
  }
  return { holders, tags, stable, settled, latestReady, notices }
}

/** Orders and builds targets: one per revision with traffic (carrying one of its tags), then 0 % tag targets. */
function compose(percents: Map<string, number>, tags: Map<string, string>, preferTag?: string): TrafficTarget[] {
  const targets: TrafficTarget[] = []
  const unplaced = new Map(tags)
  const byPercent = [...percents.entries()].filter(([, p]) => p > 0).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
  for (const [revision, percent] of byPercent) {
    const own = [...unplaced.entries()].filter(([, r]) => r === revision).map(([t]) => t).sort()
    const tag = preferTag !== undefined && own.includes(preferTag) ? preferTag : own[0]
    if (tag !== undefined) {
      unplaced.delete(tag)
      targets.push({ revision, percent, tag })
    } else {
      targets.push({ revision, percent })
    }
  }
  for (const [tag, revision] of [...unplaced.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
    targets.push({ revision, percent: 0, tag })
  }
  return targets
}

function tagMap(reading: TrafficReading): Map<string, string> {
  return new Map(reading.tags.map((t) => [t.tag, t.revision]))
}

/** Checks a canary tag against Cloud Run's rules for `service`. */
export function validateTag(service: string, tag: string): void {
  if (!DNS_LABEL.test(tag)) {
    throw new CloudRunInputError(
      `canary tag '${tag}' is not valid: use lower-case letters, digits and '-', starting with a letter ` +
        "(production.canary.tag in ci/pipeline.yaml).",
    )
  }
  if (tag.length + service.length > MAX_TAG_PLUS_SERVICE) {
    throw new CloudRunInputError(
      `canary tag '${tag}' (${tag.length} characters) and service name '${service}' (${service.length}) together ` +
        `are ${tag.length + service.length} characters; Cloud Run allows at most ${MAX_TAG_PLUS_SERVICE} because they form ` +
        `the tag URL. Shorten production.canary.tag to at most ${Math.max(0, MAX_TAG_PLUS_SERVICE - service.length)} characters.`,
    )
  }
}

/** What a candidate deploy needs, checked before any call to Cloud Run. Returns the digest reference. */
export function validateCandidate(input: { service: string; tag: string; image: string }): string {
  if (!DNS_LABEL.test(input.service) || input.service.length >= 50) {
    throw new CloudRunInputError(
      `Cloud Run service name '${input.service}' is not valid: lower-case letters, digits and '-', starting with ` +
        "a letter, at most 49 characters (production.names.service in ci/pipeline.yaml).",
    )
  }
  validateTag(input.service, input.tag)
  return requireDigestRef(input.image, "image for Cloud Run")
}

/**
 * Name for a new revision: `<service>-<label>-<suffix>`, at most 63 characters. Cloud Run requires the
 * service name as prefix and unique names; `suffix` (random, from the caller) keeps re-runs of the same
 * version apart. `label` (e.g. the version) is reduced to lower-case letters, digits and '-'.
 */
export function candidateRevisionName(service: string, label: string, suffix: string): string {
  if (!/^[a-z0-9]{1,8}$/.test(suffix)) {
    throw new CloudRunInputError(`revision suffix '${suffix}' must be 1-8 lower-case letters or digits`)
  }
  const room = 63 - service.length - suffix.length - 2
  const slug = label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .slice(0, Math.max(0, room))
    .replace(/^-+|-+$/g, "")
  return slug ? `${service}-${slug}-${suffix}` : `${service}-${suffix}`
}

export interface PlannedTraffic {
  targets: TrafficTarget[]
  /** The traffic each revision should hold once applied (for read-back checks). */
  expected: Map<string, number>
  notices: string[]
}

/**
 * Traffic for deploying `candidate` with no traffic: the previous revision gets 100 % (a split left by
 * an earlier run is normalised and reported), the candidate gets 0 % and our tag.
 */
export function planCandidateTraffic(reading: TrafficReading, input: { candidate: string; tag: string }): PlannedTraffic {
  if (!reading.stable) {
    throw new CloudRunInputError(
      "the service serves no traffic from any ready revision, so there is no previous revision to keep " +
        "serving while the candidate is checked. Deploy a first revision with Terraform (terraform/gcp) or fix the service's traffic in the console.",
    )
  }
  const notices = [...reading.notices]
  const tags = tagMap(reading)
  const old = tags.get(input.tag)
  if (old !== undefined && old !== input.candidate) {
    notices.push(`tag '${input.tag}' pointed at ${old} (an earlier run's candidate); it now points at ${input.candidate}`)
  }
  tags.set(input.tag, input.candidate)
  const expected = new Map([[reading.stable, 100]])
  return { targets: compose(expected, tags, input.tag), expected, notices }
}

/**
 * Traffic for one canary step: `percent` on the candidate, the rest on the previous revision; at 100 %
 * the previous revision leaves the traffic list. Other revisions found holding traffic are dropped
 * (and reported): the canary decides the split.
 */
export function planTrafficShift(
  reading: TrafficReading,
  input: { candidate: string; stable: string; percent: number; tag: string },
): PlannedTraffic {
  const { candidate, stable, percent } = input
  if (!Number.isInteger(percent) || percent < 0 || percent > 100) {
    throw new CloudRunInputError(`traffic percent must be a whole number from 0 to 100, got ${percent}`)
  }
  if (candidate === stable) {
    throw new CloudRunInputError(`candidate and previous revision are the same (${candidate}); nothing to shift`)
  }
  const notices: string[] = []
  for (const h of reading.holders) {
    if (h.revision !== candidate && h.revision !== stable) {
      notices.push(`${h.revision} held ${h.percent} % although it is neither the candidate nor the previous revision; its traffic moves to them`)
    }
  }
  const expected = new Map<string, number>(percent === 100 ? [[candidate, 100]] : [[stable, 100 - percent]])
  if (percent > 0 && percent < 100) expected.set(candidate, percent)
  const tags = tagMap(reading)
  tags.set(input.tag, candidate)
  return { targets: compose(expected, tags, input.tag), expected, notices }
}

/** Traffic for a rollback: `to` at 100 %; the listed tags (our canary tag) are removed. */
export function planRollback(reading: TrafficReading, input: { to: string; removeTags?: readonly string[] }): PlannedTraffic {
  const tags = tagMap(reading)
  for (const t of input.removeTags ?? []) tags.delete(t)
  const expected = new Map([[input.to, 100]])
  const notices = reading.holders
    .filter((h) => h.revision !== input.to)
    .map((h) => `${h.revision} loses its ${h.percent} %`)
  return { targets: compose(expected, tags), expected, notices }
}

/** Differences between the traffic Cloud Run reports and what was asked for; empty when they agree. */
export function trafficMismatches(reading: TrafficReading, expected: ReadonlyMap<string, number>): string[] {
  const problems: string[] = []
  const actual = new Map(reading.holders.map((h) => [h.revision, h.percent]))
  for (const [revision, percent] of expected) {
    const got = actual.get(revision) ?? 0
    if (got !== percent) problems.push(`${revision} holds ${got} %, expected ${percent} %`)
  }
  for (const [revision, percent] of actual) {
    if (!expected.has(revision)) problems.push(`${revision} holds ${percent} %, expected 0 %`)
  }
  return problems
}

/** One line for reports: "a 90 %, b 10 %". */
export function describeTraffic(reading: TrafficReading): string {
  return reading.holders.length === 0 ? "no revision holds traffic" : reading.holders.map((h) => `${h.revision} ${h.percent} %`).join(", ")
}

/** A Revision's readiness (its Ready condition) as a verdict. */
export function revisionVerdict(revision: { name?: string | null; conditions?: ConditionView[] | null }): Verdict {
  const ready = (revision.conditions ?? []).find((c) => c.type === "Ready")
  const name = shortName(revision.name) ?? "revision"
  const state = conditionState(ready)
  const message = ready?.message ? `: ${ready.message}` : ""
  if (state === "succeeded") return { state: "success", detail: `${name} is ready` }
  if (state === "failed") return { state: "failure", kind: "deployment-failed", detail: `${name} failed to become ready${message}` }
  return { state: "pending", detail: `${name} is ${state === "unknown" ? "not reporting readiness yet" : state}${message}` }
}

/**
 * The release a revision runs, from its first container's APP_VERSION and APP_COMMIT (the container the
 * candidate's env is set on); undefined unless it names both.
 */
export function revisionRelease(revision: {
  containers?: Array<{ env?: Array<{ name?: string | null; value?: string | null }> | null }> | null
}): Required<ExpectedRelease> | undefined {
  const env = revision.containers?.[0]?.env ?? []
  const value = (name: string) => env.find((e) => e.name === name)?.value?.trim() || undefined
  const version = value("APP_VERSION")
  const commit = value("APP_COMMIT")
  return version && commit ? { version, commit } : undefined
}
