// The workflows as the tests see them: parsed with the `yaml` package, plus a runner that executes a
// step's `run:` script under bash the way the GitHub runner does (GITHUB_* files and variables).
import { spawnSync } from "node:child_process"
import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { parse as parseYaml } from "yaml"
import { repoRoot } from "../tools/paths.js"

export const workflowsDir = join(repoRoot, ".github/workflows")
export const workflowFiles = readdirSync(workflowsDir).filter((f) => /\.ya?ml$/.test(f))

/** The two deploy workflows, with the environment each deploys to. */
export const DEPLOY_WORKFLOWS = [
  ["staging-aws.yml", "staging"],
  ["production-gcp.yml", "production"],
] as const

export interface Step {
  id?: string
  name?: string
  if?: string
  uses?: string
  run?: string
  env?: Record<string, string>
  with?: Record<string, string | boolean | number>
}
export interface Job {
  name?: string
  if?: string
  steps: Step[]
  "timeout-minutes"?: number
  permissions?: Record<string, string>
  environment?: { name: string; url?: string }
}
export interface Workflow {
  on: Record<string, unknown>
  permissions?: Record<string, string>
  concurrency?: { group: string; "cancel-in-progress": boolean }
  jobs: Record<string, Job>
}

export function load(file: string): { text: string; wf: Workflow } {
  const text = readFileSync(join(workflowsDir, file), "utf8")
  return { text, wf: parseYaml(text) as Workflow }
}

/** The single job of a deploy workflow. */
export function deployJob(file: string): Job {
  const jobs = Object.values(load(file).wf.jobs)
  if (jobs.length !== 1) throw new Error(`${file} should hold exactly one job (the deploy), found ${jobs.length}`)
  return jobs[0]!
}

export const daggerSteps = (wf: Workflow): Step[] =>
  Object.values(wf.jobs).flatMap((j) => j.steps.filter((s) => s.uses?.startsWith("dagger/dagger-for-github@")))

export function stepNamed(file: string, name: string): Step {
  const step = Object.values(load(file).wf.jobs).flatMap((j) => j.steps).find((s) => s.name === name)
  if (!step) throw new Error(`${file} has no step named '${name}'`)
  return step
}

export interface StepResult {
  status: number | null
  summary: string
  outputs: string
  stdout: string
}

/**
 * Runs a step's `run:` script with bash in `dir`, as the runner would: GITHUB_STEP_SUMMARY and
 * GITHUB_OUTPUT point at files, the step's literal `env:` entries are set (expressions are not: pass
 * what they stand for in `env`), then `env` on top.
 */
export function runStep(step: Step, dir: string, env: Record<string, string> = {}): StepResult {
  const summary = join(dir, "summary.md")
  const outputs = join(dir, "outputs.txt")
  writeFileSync(summary, "")
  writeFileSync(outputs, "")
  const literal = Object.fromEntries(Object.entries(step.env ?? {}).filter(([, v]) => !String(v).includes("${{")))
  const r = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", step.run ?? ""], {
    cwd: dir,
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "", GITHUB_STEP_SUMMARY: summary, GITHUB_OUTPUT: outputs, ...literal, ...env },
  })
  return { status: r.status, summary: readFileSync(summary, "utf8"), outputs: readFileSync(outputs, "utf8"), stdout: r.stdout }
}
