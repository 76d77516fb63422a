// Benchmark: how long does the canary's synthetic analysis take to reach a verdict, and is it right?
//
//   npm run bench:analysis                 (50 healthy runs, 25 faulty; about 2 minutes)
//   npm run bench:analysis -- --runs 20    (fewer runs)
//   npm run bench:analysis -- --warmup 0 --slack 25   (try other analysis.warmupRequests / p95SlackMs)
//
// Everything runs for real over loopback HTTP with the committed ci/pipeline.yaml `analysis` settings:
// - the stable release: the real app (app/src/main.ts), started once and kept warm, as the previous
//   revision is in production; its burst is the baseline a canary step is compared with;
// - a healthy candidate: a FRESH real app per run (a new revision's instances are cold too);
// - a 5 % candidate: the same behind test/support/faulty-server.ts answering 500 to 5 % of all requests,
//   drawn at random (not every 20th), so detection is a probability, as in production.
// Time to verdict = one burst to the candidate + the judgement (what a canary step adds to its pause).
// The stable-only baseline is one burst to the stable release (what production pays once, before the first
// shift), and today's /health check on the candidate is shown beside them for scale.
import { readFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { sendBurst, type BurstResult } from "../dagger/src/analysis/burst.js"
import { judgeTraffic } from "../dagger/src/analysis/judge.js"
import { parseSettings } from "../dagger/src/config/settings.js"
import { checkHealth } from "../dagger/src/health/poll.js"
import type { StepAnalysis } from "../dagger/src/report/run-record.js"
import { startApp, type AppServer } from "../test/support/app-server.js"
import { degradedProxy, startFaultyServer } from "../test/support/faulty-server.js"

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const settings = parseSettings(readFileSync(join(repoRoot, "ci/pipeline.yaml"), "utf8"))
const a = settings.analysis
const runsArg = process.argv.indexOf("--runs")
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 50
const FAULTY_RUNS = Math.max(10, Math.round(RUNS / 2))
const OLD = { version: "1.0.0", commit: "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678" }
const NEW = { version: "1.1.0", commit: "b2c3d4e5f60718293a4b5c6d7e8f901234567890" }

const opt = (name: string) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : undefined)
a.warmupRequests = opt("--warmup") ?? a.warmupRequests
a.thresholds.p95SlackMs = opt("--slack") ?? a.thresholds.p95SlackMs
const burst = (url: string): Promise<BurstResult> =>
  sendBurst({ baseUrl: url, paths: a.paths, requests: a.requests, concurrency: a.concurrency, requestTimeoutMs: a.requestTimeoutMs, budgetMs: a.budgetSeconds * 1000, warmupRequests: a.warmupRequests })

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}
function spread(values: number[], unit = "s"): string {
  const s = [...values].sort((x, y) => x - y)
  const f = (v: number) => (unit === "s" ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(1)} ms`)
  return `${f(quantile(s, 0.5))} / ${f(quantile(s, 0.9))} / ${f(s.at(-1)!)}`
}

interface Trial {
  verdictMs: number
  analysis: StepAnalysis
}

/** One canary step's analysis: burst the candidate, judge it against the baseline. */
async function analyse(url: string, baseline: BurstResult): Promise<Trial> {
  const t0 = performance.now()
  const candidate = await burst(url)
  const analysis = judgeTraffic({ step: "canary 10%", source: "synthetic", candidate: candidate.figures, baseline: baseline.figures, thresholds: a.thresholds })
  return { verdictMs: performance.now() - t0, analysis }
}

async function withCandidate<T>(fn: (app: AppServer) => Promise<T>): Promise<T> {
  const app = await startApp({ ...NEW, keepLogs: false })
  try {
    return await fn(app)
  } finally {
    await app.stop()
  }
}

const stable = await startApp({ ...OLD, keepLogs: false })
try {
  console.log(
    `Settings (ci/pipeline.yaml analysis): ${a.requests} requests (${a.warmupRequests} warm-up) over ${a.paths.join(", ")}, ${a.concurrency} at a time, ` +
      `timeout ${a.requestTimeoutMs} ms, budget ${a.budgetSeconds} s; fail above ${a.thresholds.maxErrorRate * 100} % errors or ` +
      `p95 > ${a.thresholds.maxP95Ratio} × baseline and > baseline + ${a.thresholds.p95SlackMs} ms\n`,
  )
  // The stable release is warm, as a revision serving production is.
  await burst(stable.url)

  const baselines: BurstResult[] = []
  const baselineMs: number[] = []
  const healthy: Trial[] = []
  const healthMs: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now()
    const baseline = await burst(stable.url)
    baselineMs.push(performance.now() - t0)
    baselines.push(baseline)
    healthy.push(
      await withCandidate(async (app) => {
        // Today's check on the candidate first, as the canary step runs it; it also warms /health only.
        const h = await checkHealth(app.url, NEW, { ...settings.production.health, path: settings.app.healthPath })
        healthMs.push(h.elapsedMs)
        return analyse(app.url, baseline)
      }),
    )
  }

  const faulty: Trial[] = []
  for (let i = 0; i < FAULTY_RUNS; i++) {
    const baseline = baselines[i % baselines.length]!
    faulty.push(
      await withCandidate(async (app) => {
        const proxy = await startFaultyServer(degradedProxy(app.url, { failRate: { rate: 0.05, random: Math.random } }))
        try {
          return await analyse(proxy.url, baseline)
        } finally {
          await proxy.close()
        }
      }),
    )
  }

  const falseFailures = healthy.filter((t) => t.analysis.verdict !== "pass")
  const detected = faulty.filter((t) => t.analysis.verdict === "fail" && t.analysis.reason?.startsWith("error rate"))
  const p95 = (ts: Array<{ analysis: StepAnalysis }>, side: "candidate" | "baseline") => ts.map((t) => t.analysis[side]?.p95Ms ?? 0)
  console.log("Time to a verdict (median / p90 / max):")
  console.log(`  stable-only baseline (one burst, once per deploy)   ${spread(baselineMs)}`)
  console.log(`  today's /health check on the candidate              ${spread(healthMs)}`)
  console.log(`  analysis, healthy candidate (${RUNS} runs)              ${spread(healthy.map((t) => t.verdictMs))}`)
  console.log(`  analysis, 5 % error candidate (${FAULTY_RUNS} runs)          ${spread(faulty.map((t) => t.verdictMs))}`)
  console.log("p95 latency (median / p90 / max):")
  console.log(`  stable baseline                                     ${spread(p95(healthy, "baseline"), "ms")}`)
  console.log(`  healthy candidate (cold)                            ${spread(p95(healthy, "candidate"), "ms")}`)
  console.log(`\nHealthy runs failed: ${falseFailures.length} of ${RUNS}`)
  for (const t of falseFailures) console.log(`  - ${t.analysis.reason}`)
  const errors = faulty.map((t) => t.analysis.candidate?.errors ?? 0).sort((x, y) => x - y)
  console.log(
    `5 % candidates failed at the first step: ${detected.length} of ${FAULTY_RUNS} ` +
      `(errors per burst: min ${errors[0]}, median ${quantile(errors, 0.5)}, max ${errors.at(-1)}; fails above ${Math.floor(a.thresholds.maxErrorRate * a.requests)})`,
  )
  console.log(
    `A canary step with the default pause takes ≈ ${settings.production.canary.pauseSeconds} s + the health check + one burst ` +
      `(median ${(quantile([...healthy.map((t) => t.verdictMs)].sort((x, y) => x - y), 0.5) / 1000).toFixed(2)} s).`,
  )
} finally {
  await stable.stop()
}
