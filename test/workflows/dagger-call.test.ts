// The workflows are thin: each runs one `dagger call`. These tests hold that call to the module's real,
// introspected signature, so renaming a function or a flag breaks CI here instead of in GitHub.
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import {
  type ArgumentDef,
  introspectModule,
  isRequired,
  type ModuleTypedefs,
  type ObjectDef,
  toKebab,
  type TypeRef,
} from "../support/introspect.js"
import { repoRoot } from "../tools/paths.js"
import { daggerSteps, DEPLOY_WORKFLOWS, deployJob, load, type Step, workflowFiles } from "./workflow-files.js"

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
function parseDaggerArgs(args: string): CallSegment[] {
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

/** Secrets the runner sets for a job that may request an OIDC token: the flag that may read each. */
const RUNNER_OIDC_ENV: Record<string, string> = {
  "oidc-request-token": "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
  "oidc-request-url": "ACTIONS_ID_TOKEN_REQUEST_URL",
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
        // The runner itself sets these two, and only in a job with `id-token: write` (checked below).
        if (RUNNER_OIDC_ENV[flag] === env[1]) continue
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

describe("the Dagger call of each workflow", () => {
  it.each(workflowFiles)("%s runs the Dagger CLI version pinned in dagger.json", (file) => {
    const engine = (JSON.parse(readFileSync(join(repoRoot, "dagger.json"), "utf8")) as { engineVersion: string })
      .engineVersion.replace(/^v/, "")
    const steps = daggerSteps(load(file).wf)
    expect(steps.length).toBeGreaterThan(0)
    for (const s of steps) expect(String(s.with?.version)).toBe(engine)
  })

  it.each(workflowFiles)("%s: its Dagger call matches the module's signature", (file) => {
    for (const step of daggerSteps(load(file).wf)) expect(checkDaggerStep(step)).toEqual([])
  })

  // A re-run deploys the commit of the run it repeats; the module can only judge that commit (older than
  // what is serving?) if --commit is exactly the commit the job checked out.
  it.each(DEPLOY_WORKFLOWS)("%s deploys the commit the job checked out (github.sha)", (file) => {
    expect(String(daggerSteps(load(file).wf)[0]!.with!.args)).toMatch(/--commit=\$\{\{ github\.sha \}\}\s/)
  })

  // The module orders commits by their committer time (it has no .git): a step of the job reads it from the
  // checkout, and a boolean dispatch input lets a person roll back on purpose.
  it.each(DEPLOY_WORKFLOWS)("%s passes the commit time from its Commit time step, and allow_older as --allow-older", (file) => {
    const { wf } = load(file)
    const steps = deployJob(file).steps
    const timeStep = steps.findIndex((s) => s.id === "commit")
    const dagger = steps.findIndex((s) => s.uses?.startsWith("dagger/dagger-for-github@"))
    expect(timeStep).toBeGreaterThan(steps.findIndex((s) => s.uses?.startsWith("actions/checkout@")))
    expect(timeStep).toBeLessThan(dagger)
    expect(steps[timeStep]!.if).toBeUndefined()
    expect(steps[timeStep]!.run).toMatch(/git log -1 --format=%cI "\$GITHUB_SHA"/)
    const args = String(steps[dagger]!.with!.args)
    expect(args).toMatch(/--commit-time=\$\{\{ steps\.commit\.outputs\.time \}\}\s/)
    expect(args).toContain("${{ inputs.allow_older && '--allow-older' || '' }}")
    const dispatch = (wf.on as { workflow_dispatch: { inputs: Record<string, { type: string; default: unknown }> } }).workflow_dispatch
    expect(dispatch.inputs["allow_older"]).toMatchObject({ type: "boolean", default: false })
  })

  // Keyless signing (issue 15): the deploy job may mint a Sigstore id token, so it grants `id-token: write`;
  // the module gets the runner's request credentials, never a 5-minute id token fetched before the build.
  it.each(DEPLOY_WORKFLOWS)("%s signs keyless: the runner's OIDC request credentials reach the call, and the job may request tokens", (file) => {
    const job = deployJob(file)
    expect(job.permissions?.["id-token"]).toBe("write")
    const args = String(daggerSteps(load(file).wf)[0]!.with!.args)
    expect(args).toMatch(/\s--oidc-request-token=env:\/\/ACTIONS_ID_TOKEN_REQUEST_TOKEN\s/)
    expect(args).toMatch(/\s--oidc-request-url=env:\/\/ACTIONS_ID_TOKEN_REQUEST_URL\s/)
    expect(args).not.toMatch(/--signing-key|--signing-password/)
  })

  it("the runner's OIDC variables are accepted only for the OIDC flags", () => {
    const step = daggerSteps(load("staging-aws.yml").wf)[0]!
    const args = String(step.with!.args).replace("--aws-secret-access-key=env://AWS_SECRET_ACCESS_KEY", "--aws-secret-access-key=env://ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    expect(checkDaggerStep({ ...step, with: { ...step.with, args } }).join()).toMatch(/--aws-secret-access-key reads env ACTIONS_ID_TOKEN_REQUEST_TOKEN but the step does not set it/)
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
