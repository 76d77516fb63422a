// `scan` through the SDK's real module entrypoint on the engine double: flags decoded as `dagger call`
// passes them (enum list, boolean), the policy applied to the JSON report, the Scan object's functions.
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { parseSettings } from "../../../dagger/src/config/settings.js"
import { callFunction, execError, startEngineDouble, type Chain, type EngineDouble } from "../../support/engine-double.js"
import { repoRoot } from "../../tools/paths.js"

const report = readFileSync(join(repoRoot, "test/fixtures/trivy/image-findings.json"), "utf8")
const dbDownloadFailed = readFileSync(join(repoRoot, "test/fixtures/trivy/stderr/db-rate-limited.txt"), "utf8")
const settings = parseSettings(readFileSync(join(repoRoot, "ci/pipeline.yaml"), "utf8"))
const readsReport = (chain: Chain) => chain[chain.length - 2]?.field === "file" && chain[chain.length - 2]?.args["path"] === "/scan/out/trivy.json"

let double: EngineDouble
beforeEach(async () => {
  double = await startEngineDouble({ script: [{ leaf: "contents", when: readsReport, value: report }] })
})
afterEach(async () => {
  await double.close()
})

describe("scan (engine double, real entrypoint)", () => {
  it("applies --severity and --ignore-unfixed from the command line over ci/pipeline.yaml", async () => {
    const r = await callFunction(double, { fn: "scan", args: { severity: ["CRITICAL"], ignoreUnfixed: false }, timeoutMs: 120_000 })
    expect(r.error, r.stderr).toBeUndefined()
    const scan = r.result as Record<string, unknown>
    expect(scan["verdict"]).toBe("FAIL")
    expect(scan["blocking"]).toBe(2)
    expect(String(scan["summary"])).toContain("(policy: CRITICAL).")
    // The image scanned is the one `build` makes, with the local identity.
    const exec = double.execs().find((e) => e.args[1] === "image" && e.args.includes("json"))!
    const tarball = exec.mounts.find((m) => m.path === "/scan/image.tar")!.source!
    expect(tarball.map((l) => l.field).slice(-2)).toEqual(["dockerBuild", "asTarball"])
    expect(tarball.at(-2)?.args["buildArgs"]).toEqual([
      { name: "APP_VERSION", value: "0.0.0-dev" },
      { name: "APP_COMMIT", value: "unknown" },
      { name: "SOURCE_DATE_EPOCH", value: "946684800" },
      { name: "NODE_EXTRA_CA_CERTS", value: "/etc/ssl/certs/ca-certificates.crt" },
    ])
  }, 180_000)

  it("downloads the vulnerability DB from scan.dbRepositories, in their order, into the cache volume", async () => {
    const r = await callFunction(double, { fn: "scan", timeoutMs: 120_000 })
    expect(r.error, r.stderr).toBeUndefined()
    const exec = double.execs().find((e) => e.args[1] === "image" && e.args.includes("json"))!
    expect(exec.args[exec.args.indexOf("--db-repository") + 1]).toBe(settings.scan.dbRepositories.join(","))
    expect(settings.scan.dbRepositories.length).toBeGreaterThan(1)
    expect(exec.mounts.find((m) => m.op === "withMountedCache")?.source).toEqual([{ field: "cacheVolume", args: { key: "portfolio-trivy-cache" } }])
  }, 180_000)

  it("fails as 'scanner unavailable' naming the repositories tried when no DB download succeeds: no verdict", async () => {
    double.setScript([
      {
        leaf: "contents",
        when: readsReport,
        value: execError({ exitCode: 1, stderr: dbDownloadFailed, cmd: ["trivy", "image", "--input", "/scan/image.tar"] }),
      },
    ])
    const r = await callFunction(double, { fn: "scan", timeoutMs: 120_000 })
    expect(r.result).toBeUndefined()
    const message = r.error?.message ?? ""
    expect(message).toMatch(/^scanner unavailable: The Trivy scan of image portfolio:0\.0\.0-dev has no verdict: Trivy could not download its vulnerability DB/)
    for (const repository of settings.scan.dbRepositories) expect(message).toContain(repository)
    expect(message).toContain("scan.dbRepositories in ci/pipeline.yaml")
    expect(message).not.toMatch(/Scan (PASSED|FAILED)|blocking/)
  }, 180_000)

  it("uses the settings' policy by default, returns the files, and `enforce` fails with the summary", async () => {
    const r = await callFunction(double, { fn: "scan", args: { commit: "abcdef1" }, timeoutMs: 120_000 })
    expect(r.error, r.stderr).toBeUndefined()
    const scan = r.result as Record<string, unknown>
    expect(String(scan["summary"])).toContain("(policy: CRITICAL,HIGH, unfixed ignored).")
    expect(scan["blocking"]).toBe(3)

    const sarif = await callFunction(double, { fn: "report", object: "Scan", parentState: scan, args: { format: "SARIF" }, timeoutMs: 120_000 })
    expect(sarif.resultChain?.at(-1)).toEqual({ field: "file", args: { path: "/scan/out/trivy.sarif" } })
    const json = await callFunction(double, { fn: "report", object: "Scan", parentState: scan, timeoutMs: 120_000 })
    expect(json.resultChain?.at(-1)).toEqual({ field: "file", args: { path: "/scan/out/trivy.json" } })

    const enforced = await callFunction(double, { fn: "enforce", object: "Scan", parentState: scan, timeoutMs: 120_000 })
    expect(enforced.error?.message).toMatch(/^Scan FAILED: image portfolio:abcdef1 \(ID sha256:135c07a8e9df\) has 3 blocking findings/)
  }, 240_000)
})
