// What the Dagger runtime pays after any edit of dagger/: it re-runs `npm install --omit=dev` of
// dagger/package.json (its cache key is the whole module source, not the lockfile), so every runtime
// dependency costs install time and volume on the first call after a change.
//
// Installs the runtime dependencies of dagger/ (package.json + package-lock.json only) into a fresh
// temp dir with `npm ci --omit=dev`, once for a baseline revision and once for the working tree, and
// prints time, MB and file count side by side. The npm cache is warm after the first run (as the
// runtime's is), so the time is mostly unpacking and linking, which is what scales with files and MB.
//
//   npm run bench:module-install [-- --runs=3 --before=<git revision>]
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { parseArgs } from "node:util"
import { repoRoot } from "../test/tools/paths.js"

// The last revision before the runtime dependencies were slimmed (issue 17): 8 AWS clients of 4
// releases, @aws-sdk/client-ec2 among them.
const BASELINE = "3e43284"

const { values } = parseArgs({ options: { runs: { type: "string", default: "3" }, before: { type: "string", default: BASELINE } } })
const runs = Number(values.runs)
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive whole number, got '${values.runs}'`)

const MANIFESTS = ["package.json", "package-lock.json"] as const

function manifestsAt(revision: string | undefined): Record<string, string> {
  return Object.fromEntries(
    MANIFESTS.map((f) => [
      f,
      revision === undefined
        ? readFileSync(join(repoRoot, "dagger", f), "utf8")
        : execFileSync("git", ["show", `${revision}:dagger/${f}`], { cwd: repoRoot, encoding: "utf8" }),
    ]),
  )
}

/** File sizes, disk use (allocated blocks, what `du` shows) and file count under a directory. */
function volume(dir: string): { bytes: number; disk: number; files: number } {
  let bytes = 0
  let disk = 0
  let files = 0
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const st = statSync(join(entry.parentPath, entry.name))
    files++
    bytes += st.size
    disk += st.blocks * 512
  }
  return { bytes, disk, files }
}

interface Sample {
  ms: number
  bytes: number
  disk: number
  files: number
  packages: number
}

function install(manifests: Record<string, string>): Sample {
  const dir = mkdtempSync(join(tmpdir(), "module-install-"))
  try {
    for (const [f, text] of Object.entries(manifests)) writeFileSync(join(dir, f), text)
    const t0 = performance.now()
    execFileSync("npm", ["ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], {
      cwd: dir,
      stdio: ["ignore", "ignore", "inherit"],
    })
    const ms = performance.now() - t0
    const lock = JSON.parse(readFileSync(join(dir, "node_modules/.package-lock.json"), "utf8")) as { packages: object }
    return { ms, ...volume(join(dir, "node_modules")), packages: Object.keys(lock.packages).length }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const variants = [
  { label: `before: dagger/ at ${values.before}`, manifests: manifestsAt(values.before) },
  { label: "now: dagger/ in the working tree", manifests: manifestsAt(undefined) },
]
// Warm the npm cache for both, so neither pays downloads inside the timed runs.
for (const v of variants) install(v.manifests)
const samples = variants.map(() => [] as Sample[])
for (let i = 0; i < runs; i++) variants.forEach((v, j) => samples[j]!.push(install(v.manifests)))

const base = samples[0]![0]!
console.log(`npm ci --omit=dev of dagger/, ${runs} runs each (median, min–max), baseline = before`)
variants.forEach((v, j) => {
  const s = samples[j]!
  const t = s.map((x) => x.ms)
  const { bytes, disk, files, packages } = s[0]!
  console.log(
    `${v.label.padEnd(40)} ${(median(t) / 1000).toFixed(1).padStart(5)} s (${(Math.min(...t) / 1000).toFixed(1)}–${(Math.max(...t) / 1000).toFixed(1)})` +
      `  ${(bytes / 1e6).toFixed(1).padStart(6)} MB (${(disk / 1e6).toFixed(0)} MB on disk)  ${String(files).padStart(6)} files  ${String(packages).padStart(4)} packages` +
      `  ×${(bytes / base.bytes).toFixed(2)} MB  ×${(files / base.files).toFixed(2)} files`,
  )
})
