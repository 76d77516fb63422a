// The bash steps of the pull-request plan job (ci.yml `plan`) and of the drift workflow, executed as the
// runner would run them; `gh` is a recording stand-in on PATH that answers the comment listing.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { repoRoot } from "../tools/paths.js"
import { load, runStep, stepNamed } from "./workflow-files.js"

const MARKER = "<!-- portfolio-pipeline:terraform-plan -->"
const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), prefix))

describe("ci.yml plan job", () => {
  const creds = stepNamed("ci.yml", "Credentials")

  it("a fork's pull request: says 'plan skipped: no credentials for forks', plans nothing, posts nothing, stays green", () => {
    const r = runStep(creds, tmp("plan-fork-"), { FORK: "true", AWS_PLAN_ROLE: "arn:aws:iam::1:role/plan", GCP_PLAN_PROVIDER: "p", GCP_PLAN_ACCOUNT: "a" })
    expect(r.status).toBe(0)
    expect(r.stdout).toContain("plan skipped: no credentials for forks")
    expect(r.summary).toContain("plan skipped: no credentials for forks")
    expect(r.outputs.split("\n")).toEqual(expect.arrayContaining(["aws=false", "gcp=false", "comment=false"]))
    // Every later step of the job runs only on those outputs, so nothing after this step runs for a fork.
    const steps = load("ci.yml").wf.jobs["plan"]!.steps
    for (const s of steps.slice(steps.indexOf(steps.find((x) => x.name === "Credentials")!) + 1)) {
      expect(s.if, `step '${s.name}'`).toMatch(/steps\.creds\.outputs\.(aws|gcp|comment) == 'true'/)
    }
  })

  it("the repository's own pull request plans each stack whose read-only credentials are configured", () => {
    const both = runStep(creds, tmp("plan-own-"), { FORK: "false", AWS_PLAN_ROLE: "arn:aws:iam::1:role/plan", GCP_PLAN_PROVIDER: "p", GCP_PLAN_ACCOUNT: "a" })
    expect(both.status).toBe(0)
    expect(both.outputs.split("\n")).toEqual(expect.arrayContaining(["aws=true", "gcp=true", "comment=true"]))
    const awsOnly = runStep(creds, tmp("plan-own-"), { FORK: "false", AWS_PLAN_ROLE: "arn:aws:iam::1:role/plan", GCP_PLAN_PROVIDER: "", GCP_PLAN_ACCOUNT: "" })
    expect(awsOnly.outputs.split("\n")).toEqual(expect.arrayContaining(["aws=true", "gcp=false"]))
    expect(awsOnly.stdout).toContain("vars.GCP_PLAN_SERVICE_ACCOUNT")
  })

  it("the job's plans use the read-only role and service account, never the deploy ones", () => {
    const { text } = load("ci.yml")
    expect(text).toContain("vars.AWS_PLAN_ROLE_ARN")
    expect(text).toContain("vars.GCP_PLAN_SERVICE_ACCOUNT")
    expect(text).not.toMatch(/AWS_DEPLOY_ROLE_ARN|vars\.GCP_SERVICE_ACCOUNT\b|AWS_STOP_ROLE/)
  })

  const summary = stepNamed("ci.yml", "Plan summary")

  it("writes both plans under the marker to the job summary and the comment file", () => {
    const dir = tmp("plan-summary-")
    const r = runStep(summary, dir, { AWS_RAN: "true", GCP_RAN: "true", AWS_PLAN: "### AWS (terraform/aws): 1 to add", GCP_PLAN: "### GCP (terraform/gcp): 0 to add" })
    expect(r.status).toBe(0)
    const comment = readFileSync(join(dir, "plan-comment.md"), "utf8")
    expect(comment.startsWith(`${MARKER}\n## Terraform plans`)).toBe(true)
    expect(comment).toContain("### AWS (terraform/aws): 1 to add")
    expect(comment).toContain("### GCP (terraform/gcp): 0 to add")
    expect(r.summary).toBe(comment)
  })

  it("a plan that ran and printed nothing failed: red, and named in the summary; an unconfigured stack is only skipped", () => {
    const dir = tmp("plan-summary-")
    const r = runStep(summary, dir, { AWS_RAN: "true", GCP_RAN: "false", AWS_PLAN: "", GCP_PLAN: "" })
    expect(r.status).toBe(1)
    expect(r.summary).toContain("❌ **AWS: the plan failed**")
    expect(r.summary).toContain("**GCP**: plan skipped")
    const ok = runStep(summary, tmp("plan-summary-"), { AWS_RAN: "true", GCP_RAN: "false", AWS_PLAN: "### AWS", GCP_PLAN: "" })
    expect(ok.status).toBe(0)
  })

  /** A `gh` that records its arguments (and the body file it was given) and lists `comments` as GitHub would. */
  function fakeGh(dir: string, comments: { id: number; body: string }[]): { env: Record<string, string>; calls: () => string[][] } {
    const bin = join(dir, "bin")
    mkdirSync(bin)
    writeFileSync(join(dir, "comments.json"), JSON.stringify(comments))
    const gh = join(bin, "gh")
    writeFileSync(
      gh,
      `#!/usr/bin/env bash
printf '%s\\0' "$@" >> "${dir}/gh-calls"; printf '\\n' >> "${dir}/gh-calls"
for a in "$@"; do case "$a" in body=@*) cp "\${a#body=@}" "${dir}/posted.md";; esac; done
if [ "$1 $2" = "api --paginate" ]; then jq=""; while [ $# -gt 0 ]; do [ "$1" = "--jq" ] && jq="$2"; shift; done; gojq -r "$jq" "${dir}/comments.json"; fi
`,
    )
    chmodSync(gh, 0o755)
    const calls = () =>
      existsSync(join(dir, "gh-calls"))
        ? readFileSync(join(dir, "gh-calls"), "utf8").split("\n").filter(Boolean).map((l) => l.split("\0").filter(Boolean))
        : []
    return { env: { PATH: `${bin}:${join(repoRoot, ".tools/bin")}:${process.env.PATH ?? ""}` }, calls }
  }

  const commentStep = stepNamed("ci.yml", "Plan comment")
  const commentEnv = { GH_TOKEN: "t", REPO: "owner/portfolio", PR: "42" }

  it("edits the one comment that carries the marker", () => {
    const dir = tmp("plan-comment-")
    writeFileSync(join(dir, "plan-comment.md"), `${MARKER}\n## Terraform plans\nnew`)
    const gh = fakeGh(dir, [{ id: 7, body: "LGTM" }, { id: 9, body: `${MARKER}\nold plan` }])
    const r = runStep(commentStep, dir, { ...commentEnv, ...gh.env })
    expect(r.status, r.stdout).toBe(0)
    const writes = gh.calls().filter((c) => c.includes("--method"))
    expect(writes).toHaveLength(1)
    expect(writes[0]).toEqual(["api", "--method", "PATCH", "repos/owner/portfolio/issues/comments/9", "-F", "body=@plan-comment.md"])
    expect(readFileSync(join(dir, "posted.md"), "utf8")).toContain("new")
  })

  it("creates the comment when none carries the marker", () => {
    const dir = tmp("plan-comment-")
    writeFileSync(join(dir, "plan-comment.md"), `${MARKER}\n## Terraform plans`)
    const gh = fakeGh(dir, [{ id: 7, body: `quoting ${MARKER}` }])
    const r = runStep(commentStep, dir, { ...commentEnv, ...gh.env })
    expect(r.status, r.stdout).toBe(0)
    expect(gh.calls().filter((c) => c.includes("--method"))).toEqual([
      ["api", "--method", "POST", "repos/owner/portfolio/issues/42/comments", "-F", "body=@plan-comment.md"],
    ])
  })
})

describe("drift.yml report step", () => {
  const report = stepNamed("drift.yml", "Report")
  const run = (json: object) => runStep(report, tmp("drift-"), { DRIFT_REPORT: JSON.stringify(json) })

  it("drift: the summary names it and the run is red", () => {
    const r = run({ stack: "AWS", drifted: true, markdown: "### AWS: 1 resource drifted outside Terraform", lines: [], warnings: ["drift not announced on slack: 500"] })
    expect(r.status).toBe(1)
    expect(r.summary).toContain("drifted outside Terraform")
    expect(r.stdout).toContain("::warning title=drift::drift not announced on slack: 500")
    expect(r.stdout).toContain("::error title=drift::AWS drifted")
  })

  it("no drift: a quiet success", () => {
    const r = run({ stack: "GCP", drifted: false, markdown: "**GCP**: no drift.", lines: [], warnings: [] })
    expect(r.status).toBe(0)
    expect(r.summary).toBe("**GCP**: no drift.\n")
    expect(r.stdout).toBe("")
  })

  it("runs on a schedule and on demand, for both stacks, with the read-only credentials", () => {
    const { wf, text } = load("drift.yml")
    expect(Object.keys(wf.on).sort()).toEqual(["schedule", "workflow_dispatch"])
    expect(text).toContain("stack: [AWS, GCP]")
    expect(text).toContain("vars.AWS_PLAN_ROLE_ARN")
    expect(text).not.toMatch(/AWS_DEPLOY_ROLE_ARN|vars\.GCP_SERVICE_ACCOUNT\b/)
  })
})
