// What every `dagger call` pays before our code runs: the TypeScript SDK's entrypoint re-scans the
// module's sources with the TypeScript compiler on EVERY invocation (constructor and function each).
// The compiler follows imports, including the types of lazily `await import()`ed cloud SDKs, so their
// declaration files are parsed even when the call never loads the SDK itself.
//
// dagger/src names cloud SDKs through dagger/package.json `imports` aliases (`#aws-sdk/client-ecs`),
// which the scanner's Node10 resolution cannot follow. Prints the scan time of:
//   baseline    — a one-function fixture module (test/fixtures/echo-module)
//   module      — dagger/src as it ships (aliases: SDK declaration files not parsed)
//   bare names  — the same sources importing the SDKs by package name (what the aliases avoid)
// Run: npm run bench:module-scan [-- --runs=5]
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { basename, join } from "node:path"
import { performance } from "node:perf_hooks"
import { repoRoot } from "../test/tools/paths.js"

const runs = Number(process.argv.find((a) => a.startsWith("--runs="))?.slice(7) ?? 3)
const sdk = join(repoRoot, "node_modules/@dagger.io/dagger")
const scanPath = join(sdk, "dist/src/module/introspector/index.js")

interface ScanModule {
  scan(files: string[], name: string, load: boolean): Promise<unknown>
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join(dir, f))
}

/** A copy of the module whose sources import the cloud SDKs by package name instead of alias. */
function withBareNames(): string {
  const root = mkdtempSync(join(tmpdir(), "scan-bare-"))
  const aliases = (JSON.parse(readFileSync(join(repoRoot, "dagger/package.json"), "utf8")) as { imports: Record<string, string> }).imports
  mkdirSync(join(root, "src"))
  for (const f of tsFiles(join(repoRoot, "dagger/src"))) {
    let text = readFileSync(f, "utf8")
    for (const [alias, target] of Object.entries(aliases)) text = text.replaceAll(`"${alias}"`, `"${target}"`)
    writeFileSync(join(root, "src", basename(f)), text)
  }
  mkdirSync(join(root, "node_modules/@dagger.io"), { recursive: true })
  symlinkSync(sdk, join(root, "node_modules/@dagger.io/dagger"))
  for (const entry of readdirSync(join(repoRoot, "dagger/node_modules"))) {
    if (entry !== "@dagger.io") symlinkSync(join(repoRoot, "dagger/node_modules", entry), join(root, "node_modules", entry))
  }
  return join(root, "src")
}

async function timeScan(label: string, dir: string, name: string, clientGen: string): Promise<number[]> {
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    // A fresh import of the introspector per run, as each invocation is a fresh process in the runtime.
    const { scan } = (await import(`${scanPath}?run=${label}-${i}`)) as ScanModule
    const t0 = performance.now()
    await scan([...tsFiles(dir), clientGen], name, false)
    times.push(performance.now() - t0)
  }
  return times
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const tmp = mkdtempSync(join(tmpdir(), "scan-cg-"))
const clientGen = join(tmp, "client.gen.ts")
copyFileSync(join(sdk, "dist/src/api/client.gen.d.ts"), clientGen)

const rows: [string, number[]][] = [
  ["baseline: echo fixture", await timeScan("echo", join(repoRoot, "test/fixtures/echo-module"), "echo", clientGen)],
  ["module: dagger/src", await timeScan("module", join(repoRoot, "dagger/src"), "portfolio-pipeline", clientGen)],
  ["bare names: SDK types parsed", await timeScan("bare", withBareNames(), "portfolio-pipeline", clientGen)],
]
const base = median(rows[0]![1])
console.log(`scan time per invocation, ${runs} runs each (median, min–max), baseline = echo fixture`)
for (const [label, t] of rows) {
  const m = median(t)
  console.log(
    `${label.padEnd(40)} ${m.toFixed(0).padStart(6)} ms  (${Math.min(...t).toFixed(0)}–${Math.max(...t).toFixed(0)})  ×${(m / base).toFixed(1)} baseline`,
  )
}
