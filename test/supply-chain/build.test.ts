// The Dagger build is app/Dockerfile's runtime stage; these checks keep the module and the Dockerfile
// consistent: the stage and build arguments it relies on exist, dependencies are installed before any
// source is copied (a code-only change reuses the install layer), and the app's tests run on the Node
// release the image ships.
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { FIXED_SOURCE_DATE_EPOCH, NODE_CA_VARIABLE, RUNTIME_STAGE, SYSTEM_CA_BUNDLE, sourceDateEpoch } from "../../dagger/src/supply-chain/build.js"
import { parseSettings } from "../../dagger/src/config/settings.js"
import { repoRoot } from "../tools/paths.js"

interface Stage {
  from: string
  name: string
  instructions: { op: string; args: string }[]
}

/** Dockerfile → stages with their instructions (continuations joined, comments dropped). */
function stages(text: string): Stage[] {
  const lines = text.replace(/\\\r?\n/g, " ").split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith("#"))
  const out: Stage[] = []
  for (const line of lines) {
    const [op = "", ...rest] = line.split(/\s+/)
    const args = rest.join(" ")
    if (op.toUpperCase() === "FROM") {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)
      out.push({ from: m?.[1] ?? args, name: m?.[2] ?? "", instructions: [] })
    } else {
      out.at(-1)?.instructions.push({ op: op.toUpperCase(), args })
    }
  }
  return out
}

const dockerfile = stages(readFileSync(join(repoRoot, "app/Dockerfile"), "utf8"))
const settings = parseSettings(readFileSync(join(repoRoot, "ci/pipeline.yaml"), "utf8"))
const stage = (name: string) => dockerfile.find((s) => s.name === name)

describe("app/Dockerfile as the build definition", () => {
  it(`has the '${RUNTIME_STAGE}' stage the module builds, taking APP_VERSION and APP_COMMIT as build arguments`, () => {
    const runtime = stage(RUNTIME_STAGE)
    expect(runtime, `a stage named ${RUNTIME_STAGE}`).toBeDefined()
    const argNames = runtime!.instructions.filter((i) => i.op === "ARG").map((i) => i.args.split("=")[0])
    expect(argNames).toEqual(expect.arrayContaining(["APP_VERSION", "APP_COMMIT"]))
    const env = runtime!.instructions.filter((i) => i.op === "ENV").map((i) => i.args).join(" ")
    expect(env).toContain("APP_VERSION=${APP_VERSION}")
    expect(env).toContain("APP_COMMIT=${APP_COMMIT}")
  })

  it("installs from package.json and the lockfile before any source is copied", () => {
    const installers = dockerfile.filter((s) => s.instructions.some((i) => i.op === "RUN" && /\bnpm ci\b/.test(i.args)))
    expect(installers.length).toBeGreaterThan(0)
    for (const s of installers) {
      const ops = s.instructions
      const install = ops.findIndex((i) => i.op === "RUN" && /\bnpm ci\b/.test(i.args))
      const copies = ops.slice(0, install).filter((i) => i.op === "COPY" || i.op === "ADD")
      expect(copies.map((c) => c.args), `stage ${s.name}: only the manifests before npm ci`).toEqual(["package.json package-lock.json ./"])
    }
  })

  it("points every npm download at the system CA store (where the engine puts a TLS-intercepting proxy's CA)", () => {
    const downloads = dockerfile.filter((s) => s.instructions.some((i) => i.op === "RUN" && /\bnpm (ci|install|i)\b|\bnpx\b/.test(i.args)))
    expect(downloads.map((s) => s.name)).toEqual(["deps"])
    for (const s of downloads) {
      const run = s.instructions.findIndex((i) => i.op === "RUN" && /\bnpm (ci|install|i)\b|\bnpx\b/.test(i.args))
      const declared = s.instructions.slice(0, run).filter((i) => (i.op === "ARG" || i.op === "ENV") && i.args.startsWith(`${NODE_CA_VARIABLE}=`))
      expect(declared.map((i) => i.args), `stage ${s.name}: ${NODE_CA_VARIABLE} before npm runs`).toEqual([`${NODE_CA_VARIABLE}=${SYSTEM_CA_BUNDLE}`])
    }
  })

  it("listens on the port ci/pipeline.yaml deploys (app.port)", () => {
    const runtime = stage(RUNTIME_STAGE)!
    expect(runtime.instructions.filter((i) => i.op === "EXPOSE").map((i) => i.args)).toEqual([String(settings.app.port)])
    expect(runtime.instructions.find((i) => i.op === "ENV")?.args).toContain(`PORT=${settings.app.port}`)
  })

  it("tests run on the very Node image the app image is built from (images.node in ci/pipeline.yaml, digest included)", () => {
    const nodeBases = [...new Set(dockerfile.filter((s) => s.from.startsWith("node:")).map((s) => s.from))]
    expect(nodeBases).toEqual([settings.images.node])
  })
})

describe("sourceDateEpoch", () => {
  it("is the commit time in seconds, or the fixed epoch without one; a non-date is refused by name", () => {
    expect(sourceDateEpoch("2026-11-30T12:00:00+01:00")).toBe(Date.UTC(2026, 10, 30, 11) / 1000)
    expect(sourceDateEpoch(undefined)).toBe(FIXED_SOURCE_DATE_EPOCH)
    expect(new Date(FIXED_SOURCE_DATE_EPOCH * 1000).toISOString()).toBe("2000-01-01T00:00:00.000Z")
    expect(() => sourceDateEpoch("yesterday")).toThrow(/commit time 'yesterday' is not an ISO 8601 date/)
  })
})
