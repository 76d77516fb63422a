// Import cost of @google-cloud/run, and what loading it lazily saves (run on demand:
// `npm run bench:cloud-run-import`, never part of `npm test`).
//
// Every .ts file under dagger/src is imported on every function call, so a heavy SDK imported at module
// top level is paid by every call, not only by the ones that talk to Cloud Run. Each variant runs in a
// fresh Node process (same tsx loader, so loader overhead is in the baseline too), variants interleaved
// so drift hits them alike; the child measures the import itself (wall ms) and the memory it leaves
// (RSS and V8 heap, after a forced GC). Printed: median [min–max] over the runs, baseline beside.
//
//   npm run bench:cloud-run-import -- --runs 9
import { execFileSync } from "node:child_process"
import { createRequire } from "node:module"
import os from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { parseArgs } from "node:util"
import { repoRoot } from "../test/tools/paths.js"

const { values } = parseArgs({ options: { runs: { type: "string", default: "7" } } })
const runs = Number(values.runs)
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive whole number, got '${values.runs}'`)

// production-service.ts imports the rest of gcp/ (connect.ts holds the lazy SDK loader).
const gcpTs = pathToFileURL(join(repoRoot, "dagger/src/gcp/production-service.ts")).href
const connectTs = pathToFileURL(join(repoRoot, "dagger/src/gcp/connect.ts")).href
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href

interface Variant {
  name: string
  /** ESM statements run (and timed) in the child. */
  load: string
  /** Run the child under the tsx loader (as the module's .ts files are loaded). Default true. */
  tsx?: boolean
}

const sdkEntry = pathToFileURL(createRequire(join(repoRoot, "dagger/package.json")).resolve("@google-cloud/run")).href

const VARIANTS: Variant[] = [
  { name: "baseline: node + tsx, nothing imported", load: "" },
  { name: "lazy: gcp/, SDK not loaded (what every call pays)", load: `await import(${JSON.stringify(gcpTs)})` },
  {
    name: "eager: gcp/ + @google-cloud/run at load (a top-level import)",
    load: `await import(${JSON.stringify(gcpTs)}); const m = await import(${JSON.stringify(connectTs)}); await m.loadCloudRunSdk()`,
  },
  // The SDK alone without the TypeScript loader, for comparison with figures measured in plain node.
  { name: "reference: plain node, nothing imported", load: "", tsx: false },
  { name: "reference: plain node, @google-cloud/run only", load: `await import(${JSON.stringify(sdkEntry)})`, tsx: false },
]

const CHILD = (load: string) => `
globalThis.gc(); const m0 = process.memoryUsage(); const t0 = performance.now()
${load}
const t1 = performance.now(); globalThis.gc(); const m1 = process.memoryUsage()
console.log(JSON.stringify({ ms: t1 - t0, rssMb: (m1.rss - m0.rss) / 2 ** 20, heapMb: (m1.heapUsed - m0.heapUsed) / 2 ** 20 }))
`

interface Sample {
  ms: number
  rssMb: number
  heapMb: number
  processMs: number
}

function measure(v: Variant): Sample {
  const start = performance.now()
  const loader = v.tsx === false ? [] : ["--import", tsxLoader]
  const out = execFileSync(process.execPath, ["--expose-gc", ...loader, "--input-type=module", "-e", CHILD(v.load)], {
    cwd: repoRoot,
    encoding: "utf8",
  })
  const processMs = performance.now() - start
  return { ...(JSON.parse(out.trim().split("\n").pop()!) as Omit<Sample, "processMs">), processMs }
}

const samples = new Map<string, Sample[]>(VARIANTS.map((v) => [v.name, []]))
measure(VARIANTS[2]!) // warm the file system cache so the first measured run is not an outlier
for (let i = 0; i < runs; i++) for (const v of VARIANTS) samples.get(v.name)!.push(measure(v))

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}
const stat = (xs: number[], digits = 0) =>
  `${median(xs).toFixed(digits)} [${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}]`

const baseline = samples.get(VARIANTS[0]!.name)!
const pick = (name: string, key: keyof Sample) => samples.get(name)!.map((s) => s[key])

const load = os.loadavg()[0]!.toFixed(1)
console.log(
  `Cloud Run SDK import cost, node ${process.version}, ${os.cpus().length} CPUs, load average ${load} at the end, ` +
    `${runs} runs per variant (median [min–max])\n`,
)
const rows = VARIANTS.map((v) => [
  v.name,
  stat(pick(v.name, "ms")),
  stat(pick(v.name, "processMs")),
  stat(pick(v.name, "rssMb"), 1),
  stat(pick(v.name, "heapMb"), 1),
])
const header = ["variant", "import ms", "process ms", "RSS +MB", "heap +MB"]
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")
console.log(line(header))
for (const r of rows) console.log(line(r))

const lazy = VARIANTS[1]!.name
const eager = VARIANTS[2]!.name
const saved = (key: keyof Sample) => median(pick(eager, key)) - median(pick(lazy, key))
console.log(
  `\nPer function call that does not touch Cloud Run, lazy loading saves ${saved("ms").toFixed(0)} ms of import ` +
    `(${saved("processMs").toFixed(0)} ms of process time), ${saved("rssMb").toFixed(1)} MB RSS and ${saved("heapMb").toFixed(1)} MB heap; ` +
    `lazy costs ${(median(pick(lazy, "ms")) - median(baseline.map((s) => s.ms))).toFixed(0)} ms over the baseline.`,
)
