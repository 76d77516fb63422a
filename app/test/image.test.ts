// What can be proven about the image without a container engine:
// 1. the build stage's exact command (app's own tsc, app/tsconfig.json) produces a dist/ that runs with
//    plain node, laid out like the runtime stage (package.json, dist/, content/, public/, no node_modules);
// 2. the Dockerfile and .dockerignore agree with that layout and follow the image rules (pinned bases,
//    non-root numeric user, exec-form CMD, HEALTHCHECK without curl, build args reach the environment).
// Building and sizing the image itself cannot be done here (no engine); see app/README.md.
import { execFile, spawn } from "node:child_process"
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { DEFAULT_PORT } from "../src/config.js"
import { httpRequest } from "./http.js"

const appDir = fileURLToPath(new URL("..", import.meta.url))
const run = promisify(execFile)

interface Instruction {
  keyword: string
  args: string
  stage: number
}

/** Dockerfile → instructions (continuations joined, comments dropped), each tagged with its stage index. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = []
  let stage = -1
  let pending = ""
  for (const raw of text.split("\n")) {
    const line = raw.trim()
    if (pending === "" && (line === "" || line.startsWith("#"))) continue
    if (line.startsWith("#")) continue // comment inside a continued instruction
    if (line.endsWith("\\")) {
      pending += line.slice(0, -1) + " "
      continue
    }
    const full = (pending + line).trim()
    pending = ""
    const [keyword = "", ...rest] = full.split(/\s+/)
    if (keyword.toUpperCase() === "FROM") stage++
    out.push({ keyword: keyword.toUpperCase(), args: rest.join(" "), stage })
  }
  return out
}

const dockerfile = parseDockerfile(readFileSync(join(appDir, "Dockerfile"), "utf8"))
const finalStage = Math.max(...dockerfile.map((i) => i.stage))
const inFinal = (keyword: string) => dockerfile.filter((i) => i.stage === finalStage && i.keyword === keyword)
/** What the runtime stage puts in /app; the build test reproduces exactly this. */
const RUNTIME_LAYOUT = ["package.json", "dist", "content", "public"]
const pkg = JSON.parse(readFileSync(join(appDir, "package.json"), "utf8")) as { type?: string; dependencies?: Record<string, string> }

describe("Dockerfile rules", () => {
  it("pins every base image to an exact version and its digest, never a floating tag", () => {
    const stageNames = new Set<string>()
    const froms = dockerfile.filter((i) => i.keyword === "FROM")
    expect(froms.length).toBeGreaterThanOrEqual(3)
    for (const from of froms) {
      const [image = "", as, name] = from.args.split(/\s+/)
      if (as?.toUpperCase() === "AS" && name) stageNames.add(name)
      if (stageNames.has(image) && image !== name) continue // FROM an earlier stage
      // The digest fixes the bytes: a fresh runner's rebuild starts from the same base layers.
      expect(image, from.args).toMatch(/^[\w./-]+:\d+\.\d+\.\d+(-[\w.]+)?@sha256:[0-9a-f]{64}$/)
    }
  })

  it("checks the node version it copies against the tag it was pulled by", () => {
    const tag = /^node:(\d+\.\d+\.\d+)-/.exec(dockerfile.find((i) => i.keyword === "FROM")?.args ?? "")?.[1]
    expect(tag).toBeDefined()
    const check = dockerfile.find((i) => i.keyword === "RUN" && i.args.includes("process.versions.node"))
    expect(check?.args).toContain(`process.versions.node === '${tag}'`)
  })

  it("runs as a numeric non-root user in the final stage", () => {
    const users = inFinal("USER")
    expect(users).toHaveLength(1)
    const [uid, gid] = users[0]!.args.split(":")
    expect(Number(uid)).toBeGreaterThan(0)
    expect(Number(gid)).toBeGreaterThan(0)
  })

  it("starts node directly (exec form) and probes health with the node script, not curl", () => {
    expect(inFinal("CMD").map((i) => JSON.parse(i.args) as string[])).toEqual([["node", "dist/main.js"]])
    const hc = inFinal("HEALTHCHECK")
    expect(hc).toHaveLength(1)
    expect(hc[0]!.args).toMatch(/CMD \["node", "dist\/healthcheck\.js"\]$/)
    expect(dockerfile.some((i) => /\b(curl|wget)\b/.test(i.args) && i.stage === finalStage)).toBe(false)
  })

  it("turns the APP_VERSION and APP_COMMIT build arguments into the environment the app reads", () => {
    const args = inFinal("ARG").map((i) => i.args.split("=")[0])
    expect(args).toEqual(expect.arrayContaining(["APP_VERSION", "APP_COMMIT"]))
    const env = inFinal("ENV").map((i) => i.args).join(" ")
    expect(env).toContain("APP_VERSION=${APP_VERSION}")
    expect(env).toContain("APP_COMMIT=${APP_COMMIT}")
    expect(env).toContain(`PORT=${DEFAULT_PORT}`)
    expect(inFinal("EXPOSE").map((i) => i.args)).toEqual([String(DEFAULT_PORT)])
  })

  it("copies only files that exist and that .dockerignore lets into the context", () => {
    const ignore = readFileSync(join(appDir, ".dockerignore"), "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"))
    expect(ignore[0]).toBe("*") // allow-list style: everything else is excluded
    const allowed = ignore.filter((l) => l.startsWith("!")).map((l) => l.slice(1).replace(/\/$/, ""))
    const copies = dockerfile.filter((i) => i.keyword === "COPY" && !i.args.startsWith("--from"))
    expect(copies.length).toBeGreaterThan(0)
    for (const copy of copies) {
      const parts = copy.args.split(/\s+/).filter((p) => !p.startsWith("--"))
      for (const src of parts.slice(0, -1)) {
        expect(existsSync(join(appDir, src)), `COPY ${src}: missing in app/`).toBe(true)
        expect(allowed.some((a) => src === a || src.startsWith(a + "/")), `COPY ${src}: excluded by .dockerignore`).toBe(true)
      }
    }
  })

  it("lays out the runtime stage exactly as the build test below reproduces it", () => {
    const workdir = inFinal("WORKDIR").map((i) => i.args)
    expect(workdir).toEqual(["/app"])
    const intoApp = inFinal("COPY")
      .map((i) => i.args.split(/\s+/).filter((p) => !p.startsWith("--")))
      .filter((parts) => !parts.at(-1)!.startsWith("/")) // absolute destinations (the node binary) are outside /app
      .map((parts) => {
        const dest = parts.at(-1)!.replace(/^\.\/?/, "")
        return dest === "" ? parts.slice(0, -1).map((src) => src.split("/").at(-1)!) : [dest]
      })
      .flat()
    expect(intoApp.sort()).toEqual([...RUNTIME_LAYOUT].sort())
  })

  it("needs no node_modules at run time (the runtime stage copies none)", () => {
    expect(pkg.dependencies ?? {}, "app/package.json gained runtime dependencies: add a `npm ci --omit=dev` stage and " +
      "copy its node_modules into the runtime stage, then update this test").toEqual({})
    expect(pkg.type).toBe("module") // dist/*.js are ES modules; the runtime stage copies package.json for this
  })
})

describe("the production build (what the build and runtime stages do)", () => {
  let root: string
  beforeAll(async () => {
    const tsc = join(appDir, "node_modules/typescript/bin/tsc")
    if (!existsSync(tsc)) throw new Error(`${tsc} is missing: run \`npm test\` (test/tools/setup.mjs runs npm ci in app/)`)
    root = mkdtempSync(join(tmpdir(), "portfolio-image-"))
    await run(process.execPath, [tsc, "-p", join(appDir, "tsconfig.json"), "--outDir", join(root, "dist")], { cwd: appDir })
    // The runtime stage's COPY lines, reproduced (dist/ came from tsc above).
    for (const entry of RUNTIME_LAYOUT.filter((e) => e !== "dist")) {
      cpSync(join(appDir, entry), join(root, entry), { recursive: true })
    }
  }, 60_000)
  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true })
  })

  it("produces the files CMD and HEALTHCHECK name", () => {
    expect(existsSync(join(root, "dist/main.js"))).toBe(true)
    expect(existsSync(join(root, "dist/healthcheck.js"))).toBe(true)
    expect(existsSync(join(root, "node_modules"))).toBe(false)
  })

  it("serves with plain node from that layout, passes its own HEALTHCHECK, and drains on SIGTERM", async () => {
    const app = spawn(process.execPath, ["dist/main.js"], {
      cwd: root,
      env: { PATH: process.env.PATH ?? "", PORT: "0", HOST: "127.0.0.1", APP_VERSION: "7.7.7", APP_COMMIT: "fedcba9" },
      stdio: ["ignore", "pipe", "pipe"],
    })
    const exited = new Promise<number | null>((resolve) => app.once("exit", (code) => resolve(code)))
    try {
      let out = ""
      app.stdout.setEncoding("utf8")
      const port = await new Promise<number>((resolve, reject) => {
        app.stdout.on("data", (c: string) => {
          out += c
          const m = /"message":"listening on [^"]*:(\d+)"/.exec(out)
          if (m?.[1]) resolve(Number(m[1]))
        })
        void exited.then((code) => reject(new Error(`built app exited with ${code} before listening:\n${out}`)))
      })
      await new Promise<void>((resolve) => {
        const check = () => out.includes(`"message":"ready"`) ? resolve() : setTimeout(check, 20)
        check()
      })
      const health = await httpRequest(`http://127.0.0.1:${port}/health`)
      expect(JSON.parse(health.body.toString())).toMatchObject({ status: "ok", version: "7.7.7", commit: "fedcba9" })
      expect((await httpRequest(`http://127.0.0.1:${port}/`)).status).toBe(200)

      const probe = await run(process.execPath, ["dist/healthcheck.js"], { cwd: root, env: { PORT: String(port) } })
      expect(probe.stderr).toBe("")

      app.kill("SIGTERM")
      expect(await exited).toBe(0)
    } finally {
      app.kill("SIGKILL")
    }
  })
})
