// Release order: a deploy must not put an older commit over a newer one by accident (a re-run of an old
// CI run redeploys that run's commit). The module's source holds no .git, so it cannot order commits
// itself: the caller passes the commit's committer time (--commit-time, `git log -1 --format=%cI`), each
// release carries it in its environment as APP_COMMIT_TIME beside APP_VERSION / APP_COMMIT, and before
// anything changes the deploy compares it with what serves. Committer times order the commits of one
// branch as they were made; a rebase rewrites them, so the check is a guard against accidents, and
// --allow-older is the way to roll back on purpose.
//
// The decision (releaseOrder) is pure; requireReleaseOrder runs it as the deploy's first step.
import { addWarning } from "../report/run-record.js"
import { firstLine } from "../shared/text.js"
import type { Steps } from "./step-runner.js"

/** The environment variable that carries the release's commit time. */
export const COMMIT_TIME_ENV = "APP_COMMIT_TIME"

/** What the service runs now, as its task definition / revision says. */
export interface ServingRelease {
  /** What was read, for messages: "task definition portfolio:7", "revision portfolio-1-0-0-ab12". */
  source: string
  version?: string
  commit?: string
  /** APP_COMMIT_TIME as written by the deploy that made it; absent or "" when unknown. */
  commitTime?: string
}

/** The release about to be deployed. */
export interface CandidateRelease {
  commit: string
  /** --commit-time, validated (requireCommitTime); absent when not given. */
  commitTime?: string
}

export type ReleaseOrder =
  /** Deploy; `warning` when the order could not be checked or an older commit goes out on purpose. */
  | { verdict: "deploy"; detail: string; warning?: string }
  | { verdict: "refuse"; detail: string }

// Strict ISO 8601 with an offset, as `git log --format=%cI` prints it (fractions accepted, Z too).
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/

function timeOf(value: string | undefined): number | undefined {
  if (value === undefined || !ISO_TIME.test(value)) return undefined
  const ms = Date.parse(value)
  return Number.isFinite(ms) ? ms : undefined
}

/** Checks --commit-time; "" or undefined = not given. Throws naming the value and how to get a good one. */
export function requireCommitTime(value: string | undefined): string | undefined {
  if (value === undefined || value.trim() === "") return undefined
  if (timeOf(value) === undefined) {
    throw new Error(
      `--commit-time '${value}' is not an ISO-8601 time with an offset (e.g. 2025-05-01T12:34:56+02:00); ` +
        "pass the commit's committer time: --commit-time=$(git log -1 --format=%cI <commit>)",
    )
  }
  return value
}

/**
 * The release's environment: version, commit and commit time. APP_COMMIT_TIME is always written, empty
 * when unknown, because a new revision keeps the variables it does not set: it must never inherit the
 * previous release's time.
 */
export function releaseEnvironment(release: { version: string; commit: string; commitTime?: string }): Record<string, string> {
  return { APP_VERSION: release.version, APP_COMMIT: release.commit, [COMMIT_TIME_ENV]: release.commitTime ?? "" }
}

/** Reads the release from an environment list (ECS KeyValuePair, Cloud Run EnvVar); blank values are absent. */
export function releaseFromEnvironment(
  source: string,
  env: ReadonlyArray<{ name?: string | null; value?: string | null }>,
): ServingRelease {
  const value = (name: string) => env.find((e) => e.name === name)?.value?.trim() || undefined
  const version = value("APP_VERSION")
  const commit = value("APP_COMMIT")
  const commitTime = value(COMMIT_TIME_ENV)
  return { source, ...(version ? { version } : {}), ...(commit ? { commit } : {}), ...(commitTime ? { commitTime } : {}) }
}

/** Commits given as SHAs of 7 to 40 digits: the same when one is a prefix of the other. */
function sameCommit(a: string, b: string): boolean {
  const [x, y] = [a.toLowerCase(), b.toLowerCase()]
  return x.startsWith(y) || y.startsWith(x)
}

const short = (commit: string) => commit.slice(0, 12)

/**
 * Whether `candidate` may replace what serves (pure). Nothing serving (first deploy) and the same commit
 * (a re-run) are fine; a serving release with a later commit time is refused unless `allowOlder`; when
 * either time is unknown the deploy goes on with a warning that says why the order was not checked.
 */
export function releaseOrder(candidate: CandidateRelease, serving: ServingRelease | undefined, allowOlder: boolean): ReleaseOrder {
  if (!serving) return { verdict: "deploy", detail: "nothing serves yet (first deploy)" }
  const what = `${serving.source}${serving.commit ? ` (commit ${short(serving.commit)})` : ""}`
  if (serving.commit && sameCommit(serving.commit, candidate.commit)) {
    return { verdict: "deploy", detail: `${what} already runs this commit: a re-run` }
  }
  const unchecked = (why: string): ReleaseOrder => ({
    verdict: "deploy",
    detail: `release order not checked: ${why}`,
    warning: `the release order was not checked (is commit ${short(candidate.commit)} older than what serves?): ${why}`,
  })
  if (!serving.commit) return unchecked(`${serving.source} names no APP_COMMIT`)
  if (!candidate.commitTime) return unchecked("--commit-time was not given (pass --commit-time=$(git log -1 --format=%cI))")
  if (!serving.commitTime) {
    return unchecked(`${what} names no ${COMMIT_TIME_ENV} (deployed without --commit-time, or before releases recorded it)`)
  }
  const servingMs = timeOf(serving.commitTime)
  if (servingMs === undefined) return unchecked(`${what} has ${COMMIT_TIME_ENV} '${serving.commitTime}', which is not an ISO-8601 time`)
  const candidateMs = timeOf(candidate.commitTime)!
  if (candidateMs >= servingMs) {
    return { verdict: "deploy", detail: `commit ${short(candidate.commit)} (${candidate.commitTime}) is not older than ${what} (${serving.commitTime})` }
  }
  const older =
    `commit ${short(candidate.commit)} (committed ${candidate.commitTime}) is older than commit ${short(serving.commit)} ` +
    `(committed ${serving.commitTime}) serving on ${serving.source}`
  if (allowOlder) return { verdict: "deploy", detail: `${older}; deployed anyway (--allow-older)`, warning: `${older}; deployed anyway because of --allow-older` }
  return {
    verdict: "refuse",
    detail: `${older}: refused. Deploy the newer commit, or pass --allow-older (workflow input allow_older) to roll back on purpose.`,
  }
}

/** Time allowed for reading what serves. */
export const RELEASE_ORDER_TIMEOUT_MS = 60_000

export const RELEASE_ORDER_STEP = "release order"

/**
 * The deploy's first step: reads what serves and applies releaseOrder. A refusal fails the step (and
 * rejects, like any failed step) before anything changed. A failed read is a warning, like any other
 * unknown order; `read` resolves undefined when nothing serves yet.
 */
export async function requireReleaseOrder(
  steps: Steps,
  read: (signal: AbortSignal) => Promise<ServingRelease | undefined>,
  candidate: CandidateRelease,
  allowOlder: boolean,
): Promise<void> {
  await steps.step(RELEASE_ORDER_STEP, RELEASE_ORDER_TIMEOUT_MS, async (ctx) => {
    let order: ReleaseOrder
    try {
      order = releaseOrder(candidate, await read(ctx.signal), allowOlder)
    } catch (err) {
      if (ctx.signal.aborted) throw err
      const why = `what serves could not be read (${firstLine(err)})`
      order = { verdict: "deploy", detail: `release order not checked: ${why}`, warning: `the release order was not checked: ${why}` }
    }
    if (order.verdict === "refuse") throw new Error(order.detail)
    if (order.warning) {
      ctx.warn(order.warning)
      addWarning(steps.run, "release-order", order.warning)
    } else {
      ctx.note(order.detail)
    }
  })
}
