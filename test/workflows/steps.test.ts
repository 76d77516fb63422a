// The bash steps around the Dagger call, executed as the runner would run them.
import { spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { DEPLOY_WORKFLOWS, deployJob, load, runStep, stepNamed } from "./workflow-files.js"
import { requireCommitTime } from "../../dagger/src/deploy/release-order.js"

/** The step every deploy job starts with: it refuses any ref but the environment's branch. */
const REF_GUARD = "Refuse other refs"

describe("the steps around the Dagger call", () => {
  it("ci.yml fails the job unless the exported verdict is PASS", () => {
    const verdict = stepNamed("ci.yml", "Verdict")
    for (const [content, expected] of [["PASS\n", 0], ["FAIL\n", 1], [null, 1]] as const) {
      const dir = mkdtempSync(join(tmpdir(), "ci-verdict-"))
      if (content !== null) {
        mkdirSync(join(dir, "check-artifacts"))
        writeFileSync(join(dir, "check-artifacts/verdict.txt"), content)
      }
      expect(runStep(verdict, dir).status, `verdict.txt = ${JSON.stringify(content)}`).toBe(expected)
    }
  })

  it.each(DEPLOY_WORKFLOWS)(
    "%s writes the report to the job summary, exposes the URL and fails unless the deploy succeeded",
    (file) => {
      const report = stepNamed(file, "Report")
      const run = (json: object) => runStep(report, mkdtempSync(join(tmpdir(), "report-")), { RUN_REPORT: JSON.stringify(json) })
      const ok = run({ verdict: "succeeded", succeeded: true, url: "https://portfolio.example", markdown: "# Deployed" })
      expect(ok.status).toBe(0)
      expect(ok.summary).toContain("# Deployed")
      expect(ok.outputs).toContain("url=https://portfolio.example")
      const failed = run({ verdict: "rolled-back", succeeded: false, url: "", markdown: "# Rolled back" })
      expect(failed.status).toBe(1)
      expect(failed.summary).toContain("# Rolled back")
      expect(failed.stdout).toContain("rolled-back")
    },
  )
})

describe("the commit time the module orders releases by", () => {
  it.each(DEPLOY_WORKFLOWS)("%s: the Commit time step outputs the checked-out commit's committer time, as --commit-time accepts it", (file) => {
    const dir = mkdtempSync(join(tmpdir(), "commit-time-"))
    const git = (...args: string[]) => {
      const r = spawnSync("git", args, {
        cwd: dir,
        encoding: "utf8",
        env: {
          PATH: process.env.PATH ?? "",
          GIT_AUTHOR_NAME: "t",
          GIT_AUTHOR_EMAIL: "t@example.com",
          GIT_COMMITTER_NAME: "t",
          GIT_COMMITTER_EMAIL: "t@example.com",
          GIT_AUTHOR_DATE: "2025-01-01T00:00:00+00:00",
          GIT_COMMITTER_DATE: "2025-06-02T10:00:00+02:00",
        },
      })
      expect(r.status, r.stderr).toBe(0)
      return r.stdout.trim()
    }
    git("init", "-q")
    git("commit", "-q", "--allow-empty", "-m", "the deployed commit")
    const sha = git("rev-parse", "HEAD")
    const result = runStep(stepNamed(file, "Commit time"), dir, { GITHUB_SHA: sha })
    expect(result.status, result.stdout).toBe(0)
    // The committer's time, not the author's: it orders commits as they landed on the branch.
    expect(result.outputs).toBe("time=2025-06-02T10:00:00+02:00\n")
    expect(requireCommitTime(result.outputs.trim().slice("time=".length))).toBe("2025-06-02T10:00:00+02:00")
    // No commit to read: the step fails instead of passing an empty time.
    expect(runStep(stepNamed(file, "Commit time"), dir, { GITHUB_SHA: "f".repeat(40) }).status).not.toBe(0)
  })
})

describe("a deploy runs only from its environment's branch", () => {
  const branchOf = (file: string) => (load(file).wf.on as { push: { branches: string[] } }).push.branches[0]!

  it.each(DEPLOY_WORKFLOWS)("%s: the ref guard is the first step and runs unconditionally", (file) => {
    const [first] = deployJob(file).steps
    expect(first?.name).toBe(REF_GUARD)
    expect(first?.if).toBeUndefined()
    // No later step may run after a failed guard: only the Report step has always(), and it needs the deploy's output.
    for (const s of deployJob(file).steps.slice(1)) {
      if (s.if?.includes("always()")) expect(s.if, `${file}: ${s.name}`).toMatch(/steps\.deploy\.outputs\.output != ''/)
    }
  })

  it.each(DEPLOY_WORKFLOWS)("%s: the guard passes on its push branch and refuses every other ref", (file) => {
    const guard = stepNamed(file, REF_GUARD)
    const allowed = `refs/heads/${branchOf(file)}`
    const run = (ref: string) => runStep(guard, mkdtempSync(join(tmpdir(), "ref-guard-")), { GITHUB_REF: ref })
    const ok = run(allowed)
    expect(ok.status, ok.stdout).toBe(0)
    for (const ref of [
      "refs/heads/feature/x",
      `${allowed}-hotfix`,
      `refs/tags/${branchOf(file)}`,
      `refs/heads/x/${branchOf(file)}`,
      "refs/pull/7/merge",
      "",
    ]) {
      const refused = run(ref)
      expect(refused.status, `ref '${ref}'`).toBe(1)
      expect(refused.stdout).toContain(`::error title=${deployJob(file).name}::`)
      expect(refused.stdout).toContain(allowed)
    }
    expect(run("refs/heads/feature/x").stdout).toContain("refs/heads/feature/x")
  })

  it("the guards of the two environments differ (develop for staging, main for production)", () => {
    const allowed = (file: string) => {
      for (const ref of ["refs/heads/develop", "refs/heads/main"]) {
        if (runStep(stepNamed(file, REF_GUARD), mkdtempSync(join(tmpdir(), "ref-guard-")), { GITHUB_REF: ref }).status === 0) return ref
      }
      return undefined
    }
    expect(allowed("staging-aws.yml")).toBe("refs/heads/develop")
    expect(allowed("production-gcp.yml")).toBe("refs/heads/main")
  })
})
