// The three workflows as a whole: valid (actionlint), pinned, triggered by the right events and holding
// only the credentials and permissions their environment needs.
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { repoRoot, toolPath } from "../tools/paths.js"
import { daggerSteps, DEPLOY_WORKFLOWS, deployJob, load, workflowFiles } from "./workflow-files.js"

describe("workflows", () => {
  it("are the three the project promises", () => {
    expect(workflowFiles.sort()).toEqual(["ci.yml", "drift.yml", "preview.yml", "production-gcp.yml", "staging-aws.yml"])
  })

  it("pass actionlint (with shellcheck on run blocks)", () => {
    const r = spawnSync(
      toolPath("go", "actionlint"),
      ["-color=false", "-shellcheck", toolPath("python", "shellcheck")],
      { cwd: repoRoot, encoding: "utf8" },
    )
    expect(r.stdout + r.stderr).toBe("")
    expect(r.status).toBe(0)
  })

  it("actionlint really fails on a broken workflow (the check can fail)", () => {
    const dir = mkdtempSync(join(tmpdir(), "wf-"))
    const bad = join(dir, "bad.yml")
    writeFileSync(bad, "on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.nope }}\n")
    const r = spawnSync(toolPath("go", "actionlint"), ["-color=false", bad], { encoding: "utf8" })
    expect(r.status).not.toBe(0)
    expect(r.stdout).toMatch(/nope/)
  })

  it.each(workflowFiles)("%s pins every action by commit SHA with its version in a comment", (file) => {
    const { text } = load(file)
    const uses = [...text.matchAll(/^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/gm)]
    expect(uses.length).toBeGreaterThan(0)
    for (const [, ref, rest] of uses) {
      expect(ref, `${file}: ${ref}`).toMatch(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/)
      expect(rest, `${file}: ${ref} needs '# vX.Y.Z'`).toMatch(/#\s*v\d+\.\d+\.\d+/)
    }
  })

  it("an action used in several workflows is pinned to the same commit everywhere", () => {
    const pins = new Map<string, Set<string>>()
    for (const file of workflowFiles) {
      for (const [, action, sha] of load(file).text.matchAll(/uses:\s*([\w.-]+\/[\w./-]+)@([0-9a-f]{40})/g)) {
        pins.set(action!, (pins.get(action!) ?? new Set()).add(sha!))
      }
    }
    for (const [action, shas] of pins) expect([...shas], action).toHaveLength(1)
  })

  it("OIDC steps use the AWS region of ci/pipeline.yaml (staging.aws.region)", async () => {
    const { parseSettings } = await import("../../dagger/src/config/settings.js")
    const region = parseSettings(readFileSync(join(repoRoot, "ci/pipeline.yaml"), "utf8")).staging.aws.region
    for (const [file] of DEPLOY_WORKFLOWS) {
      const aws = deployJob(file).steps.filter((s) => s.uses?.startsWith("aws-actions/"))
      expect(aws.length, file).toBeGreaterThan(0)
      for (const s of aws) expect(s.with?.["aws-region"], `${file}: ${s.name}`).toBe(region)
    }
  })

  it("staging holds no GCP secret and production holds no AWS secret", () => {
    expect(load("staging-aws.yml").text).not.toMatch(/secrets\.GCP_|GOOGLE_|gcp-/i)
    expect(load("production-gcp.yml").text).not.toMatch(/secrets\.AWS_/)
    expect(load("ci.yml").text).not.toMatch(/secrets\./)
  })

  it.each(DEPLOY_WORKFLOWS)("%s: one deploy per environment, never cancelled, least privilege", (file, environment) => {
    const { wf } = load(file)
    expect(wf.concurrency?.["cancel-in-progress"]).toBe(false)
    expect(wf.permissions).toEqual({ contents: "read" })
    const job = deployJob(file)
    expect(job.environment?.name).toBe(environment)
    expect(job.environment?.url).toMatch(/steps\.report\.outputs\.url/)
    expect(Object.keys(job.permissions ?? {}).sort()).toEqual(["contents", "id-token"])
  })

  it("triggers: develop → staging, main → production (with skip_aws_stop), every pull request → check and tests", () => {
    const staging = load("staging-aws.yml").wf.on as { push: { branches: string[]; paths: string[] } }
    const production = load("production-gcp.yml").wf.on as {
      push: { branches: string[]; paths: string[] }
      workflow_dispatch: { inputs: Record<string, { type: string }> }
    }
    expect(staging.push.branches).toEqual(["develop"])
    expect(production.push.branches).toEqual(["main"])
    for (const p of ["app/**", "terraform/**", "dagger/**", "ci/**", "dagger.json"]) {
      expect(staging.push.paths).toContain(p)
      expect(production.push.paths).toContain(p)
    }
    expect(staging.push.paths).toContain(".github/workflows/staging-aws.yml")
    expect(production.workflow_dispatch.inputs.skip_aws_stop?.type).toBe("boolean")
    const prodArgs = String(daggerSteps(load("production-gcp.yml").wf)[0]!.with!.args)
    expect(prodArgs).toMatch(/inputs\.skip_aws_stop && '--skip-aws-stop'/)
    // Every file of the repository is an input of `npm test` (the README and docs are checked too), and a
    // required status check that a path filter skipped would never report: no filter on pull requests.
    const ci = load("ci.yml").wf.on as { pull_request?: { paths?: unknown; "paths-ignore"?: unknown } | null }
    expect(Object.keys(ci)).toContain("pull_request")
    expect(ci.pull_request?.paths).toBeUndefined()
    expect(ci.pull_request?.["paths-ignore"]).toBeUndefined()
  })
})
