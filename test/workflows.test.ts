// The workflows are thin: each runs one `dagger call`. These tests hold them to the module's real,
// introspected signature, so renaming a function or a flag breaks CI here instead of in GitHub.
import { spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { parse as parseYaml } from "yaml"
import {
  type ArgumentDef,
  introspectModule,
  isRequired,
  type ModuleTypedefs,
  type ObjectDef,
  toKebab,
  type TypeRef,
} from "./support/introspect.js"
import { repoRoot, toolPath } from "./tools/paths.js"

const workflowsDir = join(repoRoot, ".github/workflows")
const workflowFiles = readdirSync(workflowsDir).filter((f) => /\.ya?ml$/.test(f))

interface Step {
  id?: string
  name?: string
  uses?: string
  run?: string
  env?: Record<string, string>
  with?: Record<string, string | boolean | number>
}
interface Workflow {
  on: Record<string, unknown>
  permissions?: Record<string, string>
  concurrency?: { group: string; "cancel-in-progress": boolean }
  jobs: Record<string, { steps: Step[]; "timeout-minutes"?: number; permissions?: Record<string, string>; environment?: { name: string; url?: string } }>
}

function load(file: string): { text: string; wf: Workflow } {
  const text = readFileSync(join(workflowsDir, file), "utf8")
  return { text, wf: parseYaml(text) as Workflow }
}

// ---- a small parser for the `args` of a Dagger step -------------------------------------------

interface CallSegment {
  name: string
  flags: Map<string, string | true>
}

/**
 * Splits `dagger call` arguments into the function call and the chain after it. GitHub expressions
 * that choose between flags (`${{ cond && '--a=x' || '' }}`) contribute every flag they may produce;
 * other expressions stand for a value.
 */
export function parseDaggerArgs(args: string): CallSegment[] {
  const flat = args.replace(/\$\{\{([\s\S]*?)\}\}/g, (_m, expr: string) => {
    const literals = [...expr.matchAll(/'([^']*)'/g)].map((m) => m[1]!).filter((s) => s.trim() !== "")
    return literals.length > 0 && literals.every((l) => l.trim().startsWith("--")) ? ` ${literals.join(" ")} ` : "EXPR"
  })
  const segments: CallSegment[] = []
  for (const token of flat.split(/\s+/).filter(Boolean)) {
    if (token.startsWith("--")) {
      const [flag, ...rest] = token.slice(2).split("=")
      if (!segments.length) throw new Error(`flag --${flag} before any function name in: ${args}`)
      segments.at(-1)!.flags.set(flag!, rest.length ? rest.join("=") : true)
    } else {
      segments.push({ name: token, flags: new Map() })
    }
  }
  return segments
}

// ---- the module's signature ---------------------------------------------------------------------

let typedefs: ModuleTypedefs
beforeAll(async () => {
  typedefs = await introspectModule()
})

function mainObject(): ObjectDef {
  const main = typedefs.objects[typedefs.name]
  if (!main) throw new Error(`main object ${typedefs.name} not found in typedefs`)
  return main
}

/** Finds a function (or exposed field) by its CLI name on an object; undefined when absent. */
function member(obj: ObjectDef, cliName: string): { args: Record<string, ArgumentDef>; returns: TypeRef } | undefined {
  for (const [name, m] of Object.entries(obj.methods)) {
    if (toKebab(name) === cliName) return { args: m.arguments, returns: m.returnType }
  }
  for (const [name, p] of Object.entries(obj.properties ?? {})) {
    if (p.isExposed && toKebab(name) === cliName) return { args: {}, returns: p.type }
  }
  return undefined
}

/** Every problem with one Dagger step, checked against the introspected signature. */
function checkDaggerStep(step: Step): string[] {
  const problems: string[] = []
  const args = String(step.with?.args ?? step.with?.call ?? "")
  const segments = parseDaggerArgs(args)
  let obj: ObjectDef | undefined = mainObject()
  for (const [i, seg] of segments.entries()) {
    const where = i === 0 ? `function '${seg.name}'` : `'${seg.name}' (chained after '${segments[i - 1]!.name}')`
    if (!obj) {
      problems.push(`${where}: the previous call returns no object to chain on`)
      break
    }
    const m = member(obj, seg.name)
    if (!m) {
      problems.push(`${where} does not exist in the module`)
      break
    }
    const byCli = new Map(Object.entries(m.args).map(([n, a]) => [toKebab(n), a]))
    for (const [flag, value] of seg.flags) {
      const arg = byCli.get(flag)
      if (!arg) {
        problems.push(`${where}: flag --${flag} does not exist (known: ${[...byCli.keys()].join(", ")})`)
        continue
      }
      const t = arg.type
      if (t.kind === "BOOLEAN_KIND" && value !== true && value !== "true" && value !== "false") {
        problems.push(`${where}: --${flag} is a Boolean, got '${String(value)}'`)
      }
      if (t.kind !== "BOOLEAN_KIND" && value === true) problems.push(`${where}: --${flag} needs a value`)
      if (t.kind === "OBJECT_KIND" && t.name === "Secret") {
        const env = /^env:\/\/([A-Z0-9_]+)$/.exec(String(value))
        if (!env) {
          problems.push(`${where}: secret --${flag} must be passed as env://NAME, got '${String(value)}'`)
          continue
        }
        const source = step.env?.[env[1]!]
        if (!source) problems.push(`${where}: --${flag} reads env ${env[1]} but the step does not set it`)
        else if (!/\$\{\{[^}]*(secrets\.|steps\.[\w-]+\.outputs\.)/.test(source)) {
          problems.push(`${where}: env ${env[1]} must come from secrets or an OIDC step output, got '${source}'`)
        }
      }
    }
    for (const [name, a] of byCli) {
      if (isRequired(a) && !seg.flags.has(name)) problems.push(`${where}: required flag --${name} is missing`)
    }
    // A core type (Directory, File, Container...): what follows (`export --path=...`) is the engine's API,
    // not the module's, so the module's typedefs cannot check it.
    if (m.returns.kind === "OBJECT_KIND" && !typedefs.objects[m.returns.name ?? ""]) break
    obj = m.returns.kind === "OBJECT_KIND" ? typedefs.objects[m.returns.name ?? ""] : undefined
  }
  return problems
}

const daggerSteps = (wf: Workflow) =>
  Object.values(wf.jobs).flatMap((j) => j.steps.filter((s) => s.uses?.startsWith("dagger/dagger-for-github@")))

// ---- tests ---------------------------------------------------------------------------------------

describe("workflows", () => {
  it("are the three the project promises", () => {
    expect(workflowFiles.sort()).toEqual(["ci.yml", "production-gcp.yml", "staging-aws.yml"])
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

  it.each(workflowFiles)("%s runs the Dagger CLI version pinned in dagger.json", (file) => {
    const engine = (JSON.parse(readFileSync(join(repoRoot, "dagger.json"), "utf8")) as { engineVersion: string })
      .engineVersion.replace(/^v/, "")
    const steps = daggerSteps(load(file).wf)
    expect(steps.length).toBe(1)
    for (const s of steps) expect(String(s.with?.version)).toBe(engine)
  })

  it.each(workflowFiles)("%s: its Dagger call matches the module's signature", (file) => {
    for (const step of daggerSteps(load(file).wf)) expect(checkDaggerStep(step)).toEqual([])
  })

  it("the signature check catches a renamed function, an unknown flag, a missing required flag and a plaintext secret", () => {
    const { wf } = load("staging-aws.yml")
    const step = daggerSteps(wf)[0]!
    const args = String(step.with!.args)
    const variant = (a: string): Step => ({ ...step, with: { ...step.with, args: a } })
    expect(checkDaggerStep(variant(args.replace("deploy-staging", "deploy-stage"))).join()).toMatch(/does not exist/)
    expect(checkDaggerStep(variant(args + " --no-such-flag=1")).join()).toMatch(/(no-such-flag|does not exist)/)
    expect(checkDaggerStep(variant(args.replace(/--commit=\S+/, ""))).join()).toMatch(/required flag --commit/)
    expect(
      checkDaggerStep(variant(args.replace("--aws-access-key-id=env://AWS_ACCESS_KEY_ID", "--aws-access-key-id=AKIA123"))).join(),
    ).toMatch(/env:\/\/NAME/)
  })

  it("OIDC steps use the AWS region of ci/pipeline.yaml (staging.aws.region)", async () => {
    const { parseSettings } = await import("../dagger/src/config/settings.js")
    const region = parseSettings(readFileSync(join(repoRoot, "ci/pipeline.yaml"), "utf8")).staging.aws.region
    for (const file of ["staging-aws.yml", "production-gcp.yml"]) {
      const aws = Object.values(load(file).wf.jobs).flatMap((j) => j.steps).filter((s) => s.uses?.startsWith("aws-actions/"))
      expect(aws.length, file).toBeGreaterThan(0)
      for (const s of aws) expect(s.with?.["aws-region"], `${file}: ${s.name}`).toBe(region)
    }
  })

  it("staging holds no GCP secret and production holds no AWS secret", () => {
    expect(load("staging-aws.yml").text).not.toMatch(/secrets\.GCP_|GOOGLE_|gcp-/i)
    expect(load("production-gcp.yml").text).not.toMatch(/secrets\.AWS_/)
    expect(load("ci.yml").text).not.toMatch(/secrets\./)
  })

  it.each(["staging-aws.yml", "production-gcp.yml"])("%s: one deploy per environment, never cancelled, bounded, least privilege", (file) => {
    const { wf } = load(file)
    expect(wf.concurrency?.["cancel-in-progress"]).toBe(false)
    expect(wf.permissions).toEqual({ contents: "read" })
    const job = Object.values(wf.jobs)[0]!
    expect(job["timeout-minutes"]).toBeGreaterThan(0)
    expect(job.environment?.name).toBe(file.startsWith("staging") ? "staging" : "production")
    expect(job.environment?.url).toMatch(/steps\.report\.outputs\.url/)
    expect(Object.keys(job.permissions ?? {}).sort()).toEqual(["contents", "id-token"])
  })

  it("triggers: develop → staging, main → production (with skip_aws_stop), pull requests → check", () => {
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
    expect(Object.keys(load("ci.yml").wf.on)).toContain("pull_request")
  })
})

/** Runs a workflow step's `run:` script with bash in `dir`, as the runner would (GITHUB_* files). */
function runStep(step: Step, dir: string, env: Record<string, string> = {}): { status: number | null; summary: string; outputs: string; stdout: string } {
  const summary = join(dir, "summary.md")
  const outputs = join(dir, "outputs.txt")
  writeFileSync(summary, "")
  writeFileSync(outputs, "")
  const r = spawnSync("bash", ["-e", "-c", step.run ?? ""], {
    cwd: dir,
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "", GITHUB_STEP_SUMMARY: summary, GITHUB_OUTPUT: outputs, ...env },
  })
  return { status: r.status, summary: readFileSync(summary, "utf8"), outputs: readFileSync(outputs, "utf8"), stdout: r.stdout }
}

const stepNamed = (file: string, name: string): Step => {
  const step = Object.values(load(file).wf.jobs).flatMap((j) => j.steps).find((s) => s.name === name)
  if (!step) throw new Error(`${file} has no step named '${name}'`)
  return step
}

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

  it.each(["staging-aws.yml", "production-gcp.yml"])(
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

describe("parseDaggerArgs", () => {
  it("splits the call, its flags, conditional flags and the chain", () => {
    const segs = parseDaggerArgs(
      "deploy-production --commit=${{ github.sha }} ${{ inputs.x && '--skip-aws-stop' || '' }} json",
    )
    expect(segs.map((s) => s.name)).toEqual(["deploy-production", "json"])
    expect(Object.fromEntries(segs[0]!.flags)).toEqual({ commit: "EXPR", "skip-aws-stop": true })
  })
})
