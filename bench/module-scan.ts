// What every `dagger call` pays before our code runs: the TypeScript SDK's entrypoint re-scans the
// module's sources with the TypeScript compiler on EVERY invocation (constructor and function each).
// The compiler follows imports, including the types of lazily `await import()`ed cloud SDKs, so their
// declaration files are parsed even when the call never loads the SDK itself; and, having no tsconfig,
// it also includes every package in node_modules/@types of its working directory (the runtime runs it
// in /src/dagger, whose node_modules/@types holds @types/node, a dependency of protobufjs).
//
// dagger/src names cloud SDKs, zod and yaml through dagger/package.json `imports` aliases
// (`#aws-sdk/client-ecs`, `#zod`), which the scanner's Node10 resolution cannot follow; no function's
// CLI surface needs their types. Each variant is scanned with dagger/ as the
// working directory, as in the runtime, and printed with the size of the program the compiler builds:
//   baseline     — a one-function fixture module (test/fixtures/echo-module)
//   module       — dagger/src as it ships
//   bare names   — the same sources importing the SDKs by package name (what the aliases avoid)
//   zod, yaml    — the same sources importing zod and yaml by package name (as before issue 17)
// Run: npm run bench:module-scan [-- --runs=5]
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, relative } from "node:path"
import { performance } from "node:perf_hooks"
import ts from "typescript"
import { repoRoot } from "../test/tools/paths.js"

const runs = Number(process.argv.find((a) => a.startsWith("--runs="))?.slice(7) ?? 3)
const sdk = join(repoRoot, "node_modules/@dagger.io/dagger")
const scanPath = join(sdk, "dist/src/module/introspector/index.js")
const moduleDir = join(repoRoot, "dagger")

interface ScanModule {
  scan(files: string[], name: string, load: boolean): Promise<unknown>
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts") && !f.includes("node_modules"))
    .map((f) => join(dir, f))
}

/** A copy of dagger/ (sources rewritten by `rewrite`, node_modules linked) to scan in place of the real one. */
function variant(prefix: string, rewrite: (text: string) => string): string {
  const root = mkdtempSync(join(tmpdir(), `scan-${prefix}-`))
  const src = join(moduleDir, "src")
  for (const f of tsFiles(src)) {
    const out = join(root, "src", relative(src, f))
    mkdirSync(dirname(out), { recursive: true })
    writeFileSync(out, rewrite(readFileSync(f, "utf8")))
  }
  linkNodeModules(root)
  return root
}

/** node_modules for a copy: dagger/'s packages, and @dagger.io/dagger as the module resolves it from the repo. */
function linkNodeModules(root: string): void {
  mkdirSync(join(root, "node_modules/@dagger.io"), { recursive: true })
  symlinkSync(sdk, join(root, "node_modules/@dagger.io/dagger"))
  for (const entry of readdirSync(join(moduleDir, "node_modules"))) {
    if (entry !== "@dagger.io" && !entry.startsWith(".")) symlinkSync(join(moduleDir, "node_modules", entry), join(root, "node_modules", entry))
  }
}

const aliases = (JSON.parse(readFileSync(join(moduleDir, "package.json"), "utf8")) as { imports: Record<string, string> }).imports
const bareNames = (text: string) => Object.entries(aliases).reduce((t, [alias, target]) => t.replaceAll(`"${alias}"`, `"${target}"`), text)
const bareZodYaml = (text: string) => text.replaceAll('from "#zod"', 'from "zod"').replaceAll('from "#yaml"', 'from "yaml"')

/** Files and bytes of the program the introspector builds (same compiler options, same working directory). */
function programSize(files: string[]): { files: number; bytes: number; biggest: string } {
  const program = ts.createProgram(files, {
    experimentalDecorators: true,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    target: ts.ScriptTarget.ES2022,
  })
  const byPackage = new Map<string, number>()
  let bytes = 0
  for (const sf of program.getSourceFiles()) {
    const size = statSync(sf.fileName).size
    bytes += size
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(sf.fileName)?.[1] ?? "(module sources, client.gen)"
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + size)
  }
  const biggest = [...byPackage]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([p, b]) => `${p} ${(b / 1e6).toFixed(1)}`)
    .join(", ")
  return { files: program.getSourceFiles().length, bytes, biggest }
}

interface Variant {
  label: string
  dir: string
  name: string
}

interface Row {
  times: number[]
  size: ReturnType<typeof programSize>
  /** Why the introspector refused the variant (then times holds the time to that failure). */
  failure?: string
}

/**
 * Scans each variant `runs` times, interleaved (run 1 of every variant, then run 2, ...), so the
 * compiler's warm-up and the machine's drift hit all variants alike, with the variant's dir as cwd.
 */
async function timeScans(variants: readonly Variant[], clientGen: string): Promise<Row[]> {
  const files = variants.map((v) => [...tsFiles(join(v.dir, "src")), clientGen])
  const rows: Row[] = variants.map(() => ({ times: [], size: { files: 0, bytes: 0, biggest: "" } }))
  const cwd = process.cwd()
  try {
    for (let i = 0; i < runs; i++) {
      for (const [j, v] of variants.entries()) {
        process.chdir(v.dir)
        // A fresh import of the introspector per run, as each invocation is a fresh process in the runtime.
        const { scan } = (await import(`${scanPath}?run=${j}-${i}`)) as ScanModule
        const t0 = performance.now()
        try {
          await scan(files[j]!, v.name, false)
        } catch (err) {
          rows[j]!.failure = err instanceof Error ? err.message : String(err)
        }
        rows[j]!.times.push(performance.now() - t0)
      }
    }
    for (const [j, v] of variants.entries()) {
      process.chdir(v.dir)
      rows[j]!.size = programSize(files[j]!)
    }
    return rows
  } finally {
    process.chdir(cwd)
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const tmp = mkdtempSync(join(tmpdir(), "scan-cg-"))
const clientGen = join(tmp, "client.gen.ts")
copyFileSync(join(sdk, "dist/src/api/client.gen.d.ts"), clientGen)

// The echo fixture is scanned as a module of its own: its folder holds index.ts at the top, so give it a src/.
const echo = mkdtempSync(join(tmpdir(), "scan-echo-"))
mkdirSync(join(echo, "src"))
copyFileSync(join(repoRoot, "test/fixtures/echo-module/index.ts"), join(echo, "src/index.ts"))
linkNodeModules(echo)

const variants: Variant[] = [
  { label: "baseline: echo fixture", dir: echo, name: "echo" },
  { label: "module: dagger/src", dir: moduleDir, name: "portfolio-pipeline" },
  { label: "bare names: SDK types parsed", dir: variant("bare", bareNames), name: "portfolio-pipeline" },
  { label: "zod, yaml by package name", dir: variant("zod", bareZodYaml), name: "portfolio-pipeline" },
]
const results = await timeScans(variants, clientGen)
const rows = variants.map((v, j) => [v.label, results[j]!] as const)
const base = median(rows[0]![1].times)
console.log(`scan time per invocation, ${runs} runs each (median, min–max), cwd = the module dir, baseline = echo fixture`)
for (const [label, { times: t, size, failure }] of rows) {
  const m = median(t)
  console.log(
    `${label.padEnd(30)} ${m.toFixed(0).padStart(6)} ms (${Math.min(...t).toFixed(0)}–${Math.max(...t).toFixed(0)}) ×${(m / base).toFixed(1)}` +
      `  ${String(size.files).padStart(4)} files ${(size.bytes / 1e6).toFixed(1).padStart(5)} MB  biggest MB: ${size.biggest}` +
      (failure ? `\n${"".padEnd(30)} the introspector refused it: ${failure}` : ""),
  )
}
