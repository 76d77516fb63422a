// The release order (dagger/src/deploy/release-order.ts): the pure decision as a table, the --commit-time
// check, the environment a release carries, and the step both deploys begin with.
import { describe, expect, it } from "vitest"
import {
  releaseEnvironment,
  releaseFromEnvironment,
  releaseOrder,
  requireCommitTime,
  requireReleaseOrder,
  type ServingRelease,
} from "../../dagger/src/deploy/release-order.js"
import { parseSettings } from "../../dagger/src/config/settings.js"
import { decideVerdict, startRun } from "../../dagger/src/report/run-record.js"
import { startSteps } from "../../dagger/src/deploy/step-runner.js"
import { pipelineYaml } from "../support/deploy-world.js"

const NEW = { commit: "c0ffee1234567890abcdef1234567890abcdef12", commitTime: "2025-06-02T10:00:00+02:00" }
const OLD_COMMIT = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"
const OLD_TIME = "2025-06-01T09:00:00Z"
const serving = (over: Partial<ServingRelease> = {}): ServingRelease => ({
  source: "task definition portfolio:7",
  version: "1.0.0",
  commit: NEW.commit,
  commitTime: NEW.commitTime,
  ...over,
})

describe("releaseOrder", () => {
  type Row = [string, Parameters<typeof releaseOrder>, { verdict: "deploy" | "refuse"; warning: boolean; detail: RegExp }]
  const rows: Row[] = [
    ["nothing serves yet (first deploy)", [NEW, undefined, false], { verdict: "deploy", warning: false, detail: /nothing serves yet/ }],
    ["the same commit: a re-run", [NEW, serving(), false], { verdict: "deploy", warning: false, detail: /already runs this commit/ }],
    [
      "the same commit given short, serving an older time: still a re-run",
      [{ commit: NEW.commit.slice(0, 7), commitTime: NEW.commitTime }, serving({ commitTime: "2030-01-01T00:00:00Z" }), false],
      { verdict: "deploy", warning: false, detail: /re-run/ },
    ],
    [
      "the same commit without --commit-time",
      [{ commit: NEW.commit }, serving(), false],
      { verdict: "deploy", warning: false, detail: /re-run/ },
    ],
    [
      "a newer commit than the one serving",
      [NEW, serving({ commit: OLD_COMMIT, commitTime: OLD_TIME }), false],
      { verdict: "deploy", warning: false, detail: /is not older than task definition portfolio:7 \(commit 0a1b2c3d4e5f\)/ },
    ],
    [
      "an equal time on another commit is not older",
      [{ commit: OLD_COMMIT, commitTime: "2025-06-02T08:00:00Z" }, serving(), false],
      { verdict: "deploy", warning: false, detail: /not older/ },
    ],
    [
      "an older commit: refused, naming both commits, both times and the fix",
      [{ commit: OLD_COMMIT, commitTime: OLD_TIME }, serving(), false],
      {
        verdict: "refuse",
        warning: false,
        detail:
          /^commit 0a1b2c3d4e5f \(committed 2025-06-01T09:00:00Z\) is older than commit c0ffee123456 \(committed 2025-06-02T10:00:00\+02:00\) serving on task definition portfolio:7: refused\. .*--allow-older/,
      },
    ],
    [
      "an older commit by offsets alone (10:00+02:00 is 08:00Z)",
      [{ commit: OLD_COMMIT, commitTime: "2025-06-02T08:30:00+00:00" }, serving({ commitTime: "2025-06-02T11:00:00+02:00" }), false],
      { verdict: "refuse", warning: false, detail: /is older than/ },
    ],
    [
      "an older commit with --allow-older: deployed, with a warning",
      [{ commit: OLD_COMMIT, commitTime: OLD_TIME }, serving(), true],
      { verdict: "deploy", warning: true, detail: /is older than .*deployed anyway \(--allow-older\)/ },
    ],
    [
      "no --commit-time: not checked, and the warning says why",
      [{ commit: OLD_COMMIT }, serving(), false],
      { verdict: "deploy", warning: true, detail: /not checked: --commit-time was not given/ },
    ],
    [
      "the serving release has no commit time (deployed before it was recorded)",
      [NEW, serving({ commit: OLD_COMMIT, commitTime: undefined }), false],
      { verdict: "deploy", warning: true, detail: /not checked: .*commit 0a1b2c3d4e5f.* names no APP_COMMIT_TIME/ },
    ],
    [
      "the serving release names no commit (Terraform's template)",
      [NEW, { source: "revision portfolio-00001-abc" }, false],
      { verdict: "deploy", warning: true, detail: /revision portfolio-00001-abc names no APP_COMMIT/ },
    ],
    [
      "the serving commit time is garbage",
      [NEW, serving({ commit: OLD_COMMIT, commitTime: "yesterday" }), false],
      { verdict: "deploy", warning: true, detail: /APP_COMMIT_TIME 'yesterday', which is not an ISO-8601 time/ },
    ],
  ]

  it.each(rows)("%s", (_name, args, expected) => {
    const order = releaseOrder(...args)
    expect(order.verdict).toBe(expected.verdict)
    expect(order.detail).toMatch(expected.detail)
    expect("warning" in order && order.warning !== undefined).toBe(expected.warning)
    // Step details are cut at 300 characters: the whole refusal, fix included, must fit.
    expect(order.detail.length).toBeLessThanOrEqual(300)
  })
})

describe("--commit-time", () => {
  it.each(["2025-06-02T10:00:00+02:00", "2025-06-02T08:00:00Z", "2025-06-02T08:00:00.123-07:00"])("accepts %s", (t) => {
    expect(requireCommitTime(t)).toBe(t)
  })

  it("absent or blank is 'not given'", () => {
    expect(requireCommitTime(undefined)).toBeUndefined()
    expect(requireCommitTime("  ")).toBeUndefined()
  })

  it.each(["2025-06-02", "2025-06-02 10:00:00", "2025-06-02T10:00:00", "1717315200", "2025-13-02T10:00:00Z", "now"])(
    "refuses %s, naming the value and how to get it",
    (t) => {
      expect(() => requireCommitTime(t)).toThrow(new RegExp(`--commit-time '${t}' is not an ISO-8601 time.*git log -1 --format=%cI`))
    },
  )
})

describe("the release's environment", () => {
  it("carries version, commit and commit time, and an empty time when unknown (never the previous one's)", () => {
    expect(releaseEnvironment({ version: "1.1.0", commit: NEW.commit, commitTime: NEW.commitTime })).toEqual({
      APP_VERSION: "1.1.0",
      APP_COMMIT: NEW.commit,
      APP_COMMIT_TIME: NEW.commitTime,
    })
    expect(releaseEnvironment({ version: "1.1.0", commit: NEW.commit })).toEqual({ APP_VERSION: "1.1.0", APP_COMMIT: NEW.commit, APP_COMMIT_TIME: "" })
  })

  it("reads back what it wrote; blank values are absent", () => {
    const env = Object.entries(releaseEnvironment({ version: "1.1.0", commit: NEW.commit })).map(([name, value]) => ({ name, value }))
    expect(releaseFromEnvironment("revision r1", [...env, { name: "OTHER", value: "x" }])).toEqual({ source: "revision r1", version: "1.1.0", commit: NEW.commit })
    expect(releaseFromEnvironment("revision r2", [{ name: "APP_COMMIT_TIME", value: OLD_TIME }, { name: null, value: null }])).toEqual({
      source: "revision r2",
      commitTime: OLD_TIME,
    })
  })
})

describe("requireReleaseOrder: the first step of a deploy", () => {
  const settings = parseSettings(pipelineYaml({}))
  const runWith = async (read: (signal: AbortSignal) => Promise<ServingRelease | undefined>, candidate = NEW, allowOlder = false) => {
    const run = startRun({ environment: "staging", commit: candidate.commit })
    const steps = startSteps(run, settings, { now: () => Date.now() })
    try {
      const outcome = await requireReleaseOrder(steps, read, candidate, allowOlder).then(() => "went on", (err: Error) => err.message)
      return { run, outcome }
    } finally {
      steps.close()
    }
  }

  it("refused: a failed step naming both commits, and the deploy does not go on", async () => {
    const { run, outcome } = await runWith(async () => serving(), { commit: OLD_COMMIT, commitTime: OLD_TIME })
    expect(outcome).toMatch(/is older than commit c0ffee123456/)
    expect(run.steps).toEqual([expect.objectContaining({ name: "release order", outcome: "failed", detail: expect.stringMatching(/--allow-older/) })])
    expect(decideVerdict(run)).toEqual({ verdict: "failed", failingStep: "release order" })
  })

  it("--allow-older: a warning step and a run warning, and the deploy goes on", async () => {
    const { run, outcome } = await runWith(async () => serving(), { commit: OLD_COMMIT, commitTime: OLD_TIME }, true)
    expect(outcome).toBe("went on")
    expect(run.steps).toEqual([expect.objectContaining({ name: "release order", outcome: "warning" })])
    expect(run.warnings).toEqual([{ source: "release-order", message: expect.stringMatching(/deployed anyway because of --allow-older/) }])
  })

  it("newer: a succeeded step with the comparison, no warning", async () => {
    const { run, outcome } = await runWith(async () => serving({ commit: OLD_COMMIT, commitTime: OLD_TIME }))
    expect(outcome).toBe("went on")
    expect(run.steps).toEqual([expect.objectContaining({ outcome: "succeeded", detail: expect.stringMatching(/not older than/) })])
    expect(run.warnings).toEqual([])
  })

  it("what serves cannot be read: the deploy goes on with a warning that says why", async () => {
    const { run, outcome } = await runWith(async () => {
      throw new Error("ECS DescribeServices failed: AccessDeniedException")
    })
    expect(outcome).toBe("went on")
    expect(run.warnings).toEqual([{ source: "release-order", message: expect.stringMatching(/not checked: what serves could not be read \(ECS DescribeServices failed: AccessDeniedException\)/) }])
  })

  it("a read cut off by the step's cancellation fails the step; it is not a warning", async () => {
    const run = startRun({ environment: "staging", commit: NEW.commit })
    const cancel = new AbortController()
    const steps = startSteps(run, settings, { now: () => Date.now() }, cancel.signal)
    try {
      const reading = requireReleaseOrder(
        steps,
        (signal) =>
          new Promise<never>((_, reject) => {
            signal.addEventListener("abort", () => reject(signal.reason))
            cancel.abort(new Error("cancelled by the user"))
          }),
        NEW,
        false,
      )
      await expect(reading).rejects.toThrow(/cancelled/)
      expect(run.steps).toEqual([expect.objectContaining({ name: "release order", outcome: "failed" })])
      expect(run.warnings).toEqual([])
    } finally {
      steps.close()
    }
  })
})
