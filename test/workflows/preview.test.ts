// .github/workflows/preview.yml: when each job runs, and its shell steps executed as the runner would
// (runStep): the fork skip, the summary that carries the preview's URL, the verdict read from the markdown.
// The Dagger calls themselves are cross-checked with the module's signature in dagger-call.test.ts.
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { renderPreview } from "../../dagger/src/deploy/preview.js"
import { startRun, finishRun } from "../../dagger/src/report/run-record.js"
import { daggerSteps, load, runStep, type Step } from "./workflow-files.js"

const { wf } = load("preview.yml")
const dir = mkdtempSync(join(tmpdir(), "preview-wf-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const step = (job: string, name: string): Step => {
  const s = wf.jobs[job]!.steps.find((x) => x.name === name)
  if (!s) throw new Error(`preview.yml job ${job} has no step '${name}'`)
  return s
}

/** The markdown deploy-preview returns, made by the module's own renderer. */
function markdown(verdict: "succeeded" | "failed"): string {
  const run = startRun({ environment: "production", commit: "e".repeat(40), version: "1.2.0" }, { now: () => 0 })
  run.steps.push({ name: "health check (preview URL)", startedAt: "", endedAt: "", outcome: verdict })
  finishRun(run, { now: () => 1 })
  return renderPreview({ pr: 5, tag: "pr-5" }, run, { revision: "portfolio-prod-pr-5-ab12", url: "https://pr-5---portfolio-prod-x.run.app", image: "i", notices: [] })
}

describe("preview.yml", () => {
  it("runs on a PR's opened, synchronize, reopened (deploy) and closed (remove); never cancels a run in flight", () => {
    expect(wf.on).toEqual({ pull_request: { types: ["opened", "synchronize", "reopened", "closed"] } })
    expect(wf.concurrency).toEqual({ group: "preview-${{ github.event.pull_request.number }}", "cancel-in-progress": false })
    expect(wf.jobs["deploy"]!.if).toBe("${{ github.event.action != 'closed' }}")
    expect(wf.jobs["remove"]!.if).toBe("${{ github.event.action == 'closed' }}")
    const calls = daggerSteps(wf).map((s) => String(s.with!.args).split(/\s+/)[0])
    expect(calls).toEqual(["deploy-preview", "remove-preview"])
    // The preview runs the PR's head commit, and --commit names that same commit.
    expect(step("deploy", "Checkout").with!.ref).toBe("${{ github.event.pull_request.head.sha }}")
    expect(String(step("deploy", "Deploy preview").with!.args)).toContain("--commit=${{ github.event.pull_request.head.sha }}")
  })

  for (const job of ["deploy", "remove"]) {
    it(`${job}: a fork's PR is skipped with a clear message and a green step; every later step is off`, () => {
      const r = runStep(step(job, "Credentials"), dir, { FORK: "true", GCP_PROVIDER: "p", GCP_ACCOUNT: "a" })
      expect(r.status).toBe(0)
      expect(r.summary).toMatch(/skipped: no credentials for forks/)
      expect(r.outputs).toBe("ok=false\n")
      for (const s of wf.jobs[job]!.steps.slice(1)) expect(s.if).toContain("steps.creds.outputs.ok == 'true'")
    })
    it(`${job}: without the repository variables it is skipped with a notice; with them it runs`, () => {
      const missing = runStep(step(job, "Credentials"), dir, { FORK: "false", GCP_PROVIDER: "", GCP_ACCOUNT: "a" })
      expect(missing.status).toBe(0)
      expect(missing.stdout).toMatch(/::notice title=preview::.*GCP_PREVIEW_SERVICE_ACCOUNT/)
      expect(missing.outputs).toBe("ok=false\n")
      expect(runStep(step(job, "Credentials"), dir, { FORK: "false", GCP_PROVIDER: "p", GCP_ACCOUNT: "a" }).outputs).toBe("ok=true\n")
    })
  }

  it("the summary carries the preview URL; a failed preview fails the job", () => {
    const ok = runStep(step("deploy", "Summary"), dir, { PREVIEW: markdown("succeeded") })
    expect(ok.status).toBe(0)
    expect(ok.summary).toContain("https://pr-5---portfolio-prod-x.run.app")
    const failed = runStep(step("deploy", "Summary"), dir, { PREVIEW: markdown("failed") })
    expect(failed.status).toBe(1)
    expect(failed.stdout).toMatch(/::error title=preview::the preview failed/)
    expect(failed.summary).toContain("Preview of PR #5 failed")
    const nothing = runStep(step("deploy", "Summary"), dir, { PREVIEW: "" })
    expect(nothing.status).toBe(1)
  })

  it("the removal's lines go to the summary", () => {
    const r = runStep(step("remove", "Summary"), dir, { REMOVED: "Preview of PR #5 removed: tag 'pr-5' taken off." })
    expect(r.status).toBe(0)
    expect(r.summary).toContain("tag 'pr-5' taken off")
  })
})
