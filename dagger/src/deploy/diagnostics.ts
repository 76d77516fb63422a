// After a step failed: gathers what an operator needs to act (Cloud Run conditions, ECS events, Terraform's
// error block, the last health responses) from each cloud's source and appends it to the run record.
//
// Gathering must never make a failed run worse: a source gets its own short budget (the failed step's signal
// has already aborted, so it cannot be reused), a source that fails, hangs or is cut off becomes one line
// saying so, and nothing here throws or touches the verdict. The run's cancellation (Ctrl-C, SIGTERM) is
// honoured: no source starts after it, and a running one is stopped.
import type { Diagnostic, RunRecord } from "../report/run-record.js"
import { healthDiagnostic } from "../health/diagnostics.js"
import { firstLine, formatDuration } from "../shared/text.js"
import { terraformFailureDiagnostics } from "../terraform/diagnostics.js"
import { UnhealthyError } from "./steps.js"

/**
 * One place diagnostics come from, read-only. Answers what it found (possibly nothing); `signal` aborts
 * when its budget is spent or the run is cancelled, and every request it sends must honour it.
 */
export type DiagnosticSource = (signal: AbortSignal) => Promise<Diagnostic[]>

export interface GatherOptions {
  /**
   * The run's cancellation (the deploy's interrupt signal, not a step's): once aborted no source starts and
   * running ones are stopped. Default: none.
   */
  signal?: AbortSignal
  /** Each source's own budget in ms, counted from when gathering starts. Default DIAGNOSTICS_TIMEOUT_MS. */
  timeoutMs?: number
}

/** A source's budget: reads of a few descriptions, so a slow API costs the report at most this long. */
export const DIAGNOSTICS_TIMEOUT_MS = 15_000

/**
 * Runs every source at once, each under its own budget, and appends what they found to
 * `run.diagnostics` in the order of `sources` (keyed by the source's name, e.g. "cloud-run"; an
 * undefined entry is skipped). A source that throws, runs out of time or is cancelled is recorded as
 * one diagnostic whose title says so. Never throws; answers the diagnostics appended.
 */
export async function gatherDiagnostics(
  run: RunRecord,
  sources: Readonly<Record<string, DiagnosticSource | undefined>>,
  options: GatherOptions = {},
): Promise<Diagnostic[]> {
  const timeoutMs = options.timeoutMs ?? DIAGNOSTICS_TIMEOUT_MS
  const entries = Object.entries(sources).filter((e): e is [string, DiagnosticSource] => e[1] !== undefined)
  const gathered = (await Promise.all(entries.map(([name, source]) => gatherOne(name, source, timeoutMs, options.signal)))).flat()
  if (gathered.length > 0) run.diagnostics = [...(run.diagnostics ?? []), ...gathered]
  return gathered
}

async function gatherOne(name: string, source: DiagnosticSource, timeoutMs: number, runSignal: AbortSignal | undefined): Promise<Diagnostic[]> {
  if (runSignal?.aborted) return [unavailable(name, `not gathered: the run was cancelled (${reasonOf(runSignal.reason)})`)]
  const budget = new AbortController()
  const signal = runSignal ? AbortSignal.any([runSignal, budget.signal]) : budget.signal
  let timer: NodeJS.Timeout | undefined
  let onAbort: (() => void) | undefined
  // The source is not trusted to honour its signal: the gatherer stops waiting at the budget either way.
  const stopped = new Promise<Diagnostic[]>((resolve) => {
    timer = setTimeout(() => {
      budget.abort(new Error(`${name} diagnostics did not answer within ${formatDuration(timeoutMs)}`))
      resolve([unavailable(name, `not gathered within ${formatDuration(timeoutMs)}; the report goes on without them`)])
    }, timeoutMs)
    onAbort = () => resolve([unavailable(name, `not gathered: the run was cancelled (${reasonOf(runSignal?.reason)})`)])
    runSignal?.addEventListener("abort", onAbort, { once: true })
  })
  // Started inside a promise, so a synchronous throw becomes a rejection like any other failure.
  const work = new Promise<Diagnostic[]>((resolve) => resolve(source(signal))).then(
    (found) => (Array.isArray(found) ? found : [unavailable(name, "could not be gathered: the source answered no list")]),
    (err: unknown) => [unavailable(name, `could not be gathered: ${firstLine(err)}`)],
  )
  try {
    return await Promise.race([work, stopped])
  } finally {
    clearTimeout(timer)
    if (onAbort) runSignal?.removeEventListener("abort", onAbort)
    // A late source still gets told to stop, so its requests end with the gathering.
    if (!budget.signal.aborted) budget.abort(new Error(`${name} diagnostics are no longer needed`))
  }
}

/**
 * The sources both deploys have in the error a step failed with: Terraform's error blocks (a failed plan
 * or apply) and the last responses of a failed health check. Each is undefined when the error is of
 * another kind; the clouds' own sources (what the service says) are the deploy's to add.
 */
export function stepFailureSources(err: unknown): { terraform?: DiagnosticSource; health?: DiagnosticSource } {
  const terraform = terraformFailureDiagnostics(err)
  return {
    ...(terraform.length > 0 ? { terraform: async () => terraform } : {}),
    ...(err instanceof UnhealthyError ? { health: async () => [healthDiagnostic(err.result)] } : {}),
  }
}

/** The one line a source that gave nothing usable becomes. */
function unavailable(source: string, why: string): Diagnostic {
  return { source, title: `${source} diagnostics ${why}`, lines: [] }
}

function reasonOf(reason: unknown): string {
  return reason instanceof Error ? firstLine(reason) : reason === undefined ? "no reason given" : String(reason)
}
