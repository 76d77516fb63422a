// The DeployReport and its hand-off to the workflows: the `Report` step of staging-aws.yml and
// production-gcp.yml runs for real (bash, with gojq standing in for the runner's jq) on the JSON the
// module returns, so a field renamed on either side fails here instead of in GitHub.
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { parse } from "yaml"
import { toDeployReport } from "../../dagger/src/report/deploy-report.js"
import { finishRun, startRun, type Clock, type RunRecord } from "../../dagger/src/report/run-record.js"
import { repoRoot, toolPath } from "../tools/paths.js"

const SECRET = "planted-webhook-secret-in-a-detail-0001"

function clockFrom(iso: string): Clock {
  let t = Date.parse(iso)
  return { now: () => (t += 1500) }
}

function record(verdict: "succeeded" | "rolled-back", environment: "staging" | "production"): RunRecord {
  const clock = clockFrom("2026-11-25T16:00:00Z")
  const run = startRun({ environment, commit: "c0ffee1234567890abcdef1234567890abcdef12", version: "1.1.0", urls: { run: "https://github.com/o/r/actions/runs/1" } }, clock)
  const at = () => new Date(clock.now()).toISOString()
  run.steps.push({ name: "build, test, scan, SBOM", startedAt: at(), endedAt: at(), outcome: "succeeded" })
  run.image = "123456789012.dkr.ecr.us-west-1.amazonaws.com/portfolio-prod@sha256:" + "b".repeat(64)
  run.urls.service = "http://portfolio-prod-alb-1.us-west-1.elb.amazonaws.com"
  if (verdict === "rolled-back") {
    run.steps.push({ name: "health check", startedAt: at(), endedAt: at(), outcome: "failed", detail: `unhealthy; webhook ${SECRET} echoed` })
    run.rollback = { attempted: true, outcome: "succeeded", detail: "service back on portfolio-prod-task:7" }
  } else {
    run.steps.push({ name: "health check", startedAt: at(), endedAt: at(), outcome: "succeeded" })
  }
  return finishRun(run, clock)
}

describe("toDeployReport", () => {
  it("fields follow the verdict; json holds them and the whole run record; secrets scrubbed everywhere", () => {
    const r = toDeployReport(record("rolled-back", "staging"), [SECRET])
    expect(r).toMatchObject({ verdict: "rolled-back", succeeded: false, url: "http://portfolio-prod-alb-1.us-west-1.elb.amazonaws.com" })
    expect(r.image).toMatch(/@sha256:b{64}$/)
    const doc = JSON.parse(r.json) as Record<string, unknown> & { run: RunRecord }
    expect(doc).toMatchObject({ verdict: r.verdict, succeeded: false, url: r.url, image: r.image, markdown: r.markdown })
    expect(doc.run).toMatchObject({ environment: "staging", failingStep: "health check", rollback: { outcome: "succeeded" } })
    for (const text of [r.json, r.markdown]) expect(text).not.toContain(SECRET)
    expect(r.markdown).toContain("webhook \\*\\*\\* echoed")
  })
})

// ---- The workflows' Report step, run as GitHub runs it --------------------------------------------

interface Step {
  name?: string
  id?: string
  run?: string
  env?: Record<string, string>
}

function reportStep(file: string): Step {
  const wf = parse(readFileSync(join(repoRoot, ".github/workflows", file), "utf8")) as { jobs: Record<string, { steps: Step[] }> }
  const steps = Object.values(wf.jobs).flatMap((j) => j.steps)
  const step = steps.find((s) => s.id === "report")
  if (!step?.run) throw new Error(`${file} has no step with id 'report' and a run script`)
  return step
}

const work = mkdtempSync(join(tmpdir(), "report-step-"))
afterAll(() => rmSync(work, { recursive: true, force: true }))

/** Runs the step's script with bash -eo pipefail (GitHub's default shell) and jq = gojq. */
function runReportStep(step: Step, reportJson: string) {
  const bin = join(work, "bin")
  spawnSync("mkdir", ["-p", bin])
  try {
    symlinkSync(toolPath("go", "gojq"), join(bin, "jq"))
  } catch {
    // Already linked by an earlier case.
  }
  const dir = mkdtempSync(join(work, "run-"))
  const summary = join(dir, "summary.md")
  const output = join(dir, "output.txt")
  writeFileSync(summary, "")
  writeFileSync(output, "")
  const env: Record<string, string> = { PATH: `${bin}:/usr/bin:/bin`, GITHUB_STEP_SUMMARY: summary, GITHUB_OUTPUT: output }
  // The step's env maps RUN_REPORT to the Dagger step's output: the module's stdout, i.e. the json field.
  for (const [k, v] of Object.entries(step.env ?? {})) env[k] = /steps\.deploy\.outputs\.output/.test(v) ? reportJson : v
  const res = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", step.run!], { cwd: dir, env, encoding: "utf8" })
  return { status: res.status, stdout: res.stdout, stderr: res.stderr, summary: readFileSync(summary, "utf8"), output: readFileSync(output, "utf8") }
}

describe.each([
  ["staging-aws.yml", "staging", "deploy-staging"],
  ["production-gcp.yml", "production", "deploy-production"],
] as const)("%s: the Report step on the module's json", (file, environment, job) => {
  const step = reportStep(file)

  it("a succeeded deploy: the job summary is the report's Markdown, the URL is set, the step passes", () => {
    const r = toDeployReport(record("succeeded", environment), [])
    const out = runReportStep(step, r.json)
    expect(out.status, out.stderr).toBe(0)
    expect(out.summary).toBe(`${r.markdown}\n`)
    expect(out.output).toBe(`url=${r.url}\n`)
  })

  it("a rolled-back deploy fails the job with the verdict, after writing the summary", () => {
    const r = toDeployReport(record("rolled-back", environment), [SECRET])
    const out = runReportStep(step, r.json)
    expect(out.status).toBe(1)
    expect(out.stdout).toContain(`::error title=${job}::verdict rolled-back`)
    expect(out.summary).toContain("deploy rolled back")
    expect(out.summary).not.toContain(SECRET)
  })
})
