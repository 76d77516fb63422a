// The traffic decisions of a pull request's preview (pure): its tag, the service's traffic with that tag
// moved to the PR's newest revision, the traffic with it removed, and which of the PR's revisions may go.
// A preview never changes who serves: every revision keeps its percent, pinned by name (a LATEST entry is
// pinned to the revision it resolves to now, or the preview's new revision would inherit its traffic),
// and every other tag (the canary tag, tags someone else made) keeps pointing where it pointed.
import { CloudRunInputError, MAX_TAG_PLUS_SERVICE, type TrafficReading, type TrafficTarget } from "./traffic.js"

/** The tag of a pull request's preview: `pr-<number>`. */
export function previewTag(pr: number): string {
  if (!Number.isSafeInteger(pr) || pr <= 0) {
    throw new CloudRunInputError(`--pr must be the pull request's number (a positive whole number), got ${pr}`)
  }
  return `pr-${pr}`
}

/**
 * The preview's tag for `service`, refused when tag and service name together exceed what Cloud Run
 * allows (they form the tag URL's DNS label).
 */
export function validatePreviewTag(service: string, pr: number): string {
  const tag = previewTag(pr)
  if (tag.length + service.length > MAX_TAG_PLUS_SERVICE) {
    throw new CloudRunInputError(
      `preview tag '${tag}' (${tag.length} characters) and service name '${service}' (${service.length}) together are ` +
        `${tag.length + service.length} characters; Cloud Run allows at most ${MAX_TAG_PLUS_SERVICE} because they form the tag URL. ` +
        "Use a shorter production.names.service in ci/pipeline.yaml.",
    )
  }
  return tag
}

/**
 * True when `revision` is one of the pull request's preview revisions of `service`: they are named
 * `<service>-pr-<number>-<suffix>` (candidateRevisionName with the tag as label).
 */
export function isPreviewRevision(service: string, pr: number, revision: string): boolean {
  const prefix = `${service}-${previewTag(pr)}-`
  return revision.startsWith(prefix) && /^[a-z0-9]{1,8}$/.test(revision.slice(prefix.length))
}

/** Traffic to write, and the percents and tags it must leave exactly as they were. */
export interface PreviewTraffic {
  targets: TrafficTarget[]
  /** Traffic each revision holds before and must hold after (unchanged). */
  expected: Map<string, number>
  /** Every tag after the write and the revision it points at. */
  tags: Map<string, string>
  notices: string[]
}

function keepSplit(reading: TrafficReading): Map<string, number> {
  return new Map(reading.holders.map((h) => [h.revision, h.percent]))
}

/** Targets: one per revision with traffic, then one 0 % target per tag not already carried. Pinned by name. */
function targetsOf(percents: Map<string, number>, tags: Map<string, string>): TrafficTarget[] {
  const targets: TrafficTarget[] = []
  const unplaced = new Map(tags)
  for (const [revision, percent] of percents) {
    const own = [...unplaced.entries()].filter(([, r]) => r === revision).map(([t]) => t).sort()
    const tag = own[0]
    if (tag !== undefined) unplaced.delete(tag)
    targets.push(tag !== undefined ? { revision, percent, tag } : { revision, percent })
  }
  for (const [tag, revision] of [...unplaced.entries()].sort((a, b) => a[0].localeCompare(b[0]))) targets.push({ revision, percent: 0, tag })
  return targets
}

function requireServing(reading: TrafficReading): void {
  if (reading.holders.length === 0) {
    throw new CloudRunInputError(
      "the service serves no traffic from any ready revision; a preview must not be the first revision (it would take all traffic). " +
        "Deploy production first (deploy-production or Terraform in terraform/gcp).",
    )
  }
}

/** The service's traffic with `tag` on `revision` (the PR's new revision, 0 %); nothing else changes. */
export function planPreviewTraffic(reading: TrafficReading, input: { tag: string; revision: string }): PreviewTraffic {
  requireServing(reading)
  const tags = new Map(reading.tags.map((t) => [t.tag, t.revision]))
  const notices: string[] = []
  const old = tags.get(input.tag)
  if (old !== undefined && old !== input.revision) notices.push(`tag '${input.tag}' moved from ${old} to ${input.revision}`)
  tags.set(input.tag, input.revision)
  const expected = keepSplit(reading)
  return { targets: targetsOf(expected, tags), expected, tags, notices }
}

/** The service's traffic without `tag`; undefined when the tag is not there (nothing to write). */
export function planPreviewRemoval(reading: TrafficReading, tag: string): PreviewTraffic | undefined {
  const tags = new Map(reading.tags.map((t) => [t.tag, t.revision]))
  if (!tags.has(tag)) return undefined
  tags.delete(tag)
  const expected = keepSplit(reading)
  return { targets: targetsOf(expected, tags), expected, tags, notices: [] }
}

/**
 * The PR's revisions that may be deleted: its own (by name), except any that holds traffic or carries a
 * tag (someone routed to it on purpose; deleting it would fail or change who serves). Those are kept and named.
 */
export function previewRevisionsToDelete(
  reading: Pick<TrafficReading, "holders" | "tags">,
  input: { service: string; pr: number; revisions: readonly string[] },
): { remove: string[]; keep: Array<{ revision: string; why: string }> } {
  const remove: string[] = []
  const keep: Array<{ revision: string; why: string }> = []
  for (const revision of input.revisions) {
    if (!isPreviewRevision(input.service, input.pr, revision)) continue
    const held = reading.holders.find((h) => h.revision === revision)
    const tags = reading.tags.filter((t) => t.revision === revision).map((t) => t.tag)
    if (held) keep.push({ revision, why: `it holds ${held.percent} % of traffic` })
    else if (tags.length > 0) keep.push({ revision, why: `tag(s) ${tags.map((t) => `'${t}'`).join(", ")} point at it` })
    else remove.push(revision)
  }
  return { remove: remove.sort(), keep }
}

/** Differences between the tags Cloud Run reports and the planned ones; empty when they agree. */
export function tagMismatches(reading: Pick<TrafficReading, "tags">, expected: ReadonlyMap<string, string>): string[] {
  const actual = new Map(reading.tags.map((t) => [t.tag, t.revision]))
  const problems: string[] = []
  for (const [tag, revision] of expected) {
    const got = actual.get(tag)
    if (got !== revision) problems.push(`tag '${tag}' ${got ? `points at ${got}` : "is missing"}, expected ${revision}`)
  }
  for (const [tag, revision] of actual) if (!expected.has(tag)) problems.push(`tag '${tag}' points at ${revision}, expected no such tag`)
  return problems
}
