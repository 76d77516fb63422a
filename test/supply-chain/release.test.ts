// `publish` end to end through the SDK's real module entrypoint against the engine double, with ECR's
// GetAuthorizationToken answered by a real moto server. The recorded graph shows: tests and scan ran
// before the push; the scanned tarball is of the very image that was pushed; a failing gate stops
// before any push; cache volumes and the cache-buster are in place; no secret plaintext reaches an env
// var or an exec argument.
import { generateKeyPairSync } from "node:crypto"
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { APP_TEST_COMMAND, NPM_CACHE_DIR, NPM_CACHE_VOLUME } from "../../dagger/src/supply-chain/build.js"
import { CACHE_BUSTER_ENV, IMAGE_TARBALL_PATH } from "../../dagger/src/supply-chain/scan/scan.js"
import { TRIVY_CACHE_DIR, TRIVY_CACHE_VOLUME } from "../../dagger/src/supply-chain/scan/repositories.js"
import {
  callFunction,
  execError,
  fields,
  hasLink,
  startEngineDouble,
  type Chain,
  type EngineDouble,
  type ExecInfo,
  type Matcher,
} from "../support/engine-double.js"
import { startGoogleApisFake, type GoogleApisFake } from "../support/google-apis-fake.js"
import { startMoto, type Moto } from "../support/moto.js"
import { repoRoot } from "../tools/paths.js"

const SHA = "0123456789abcdef0123456789abcdef01234567"
const DIGEST = "sha256:" + "d".repeat(64)
const trivyFixture = (name: string) => readFileSync(join(repoRoot, "test/fixtures/trivy", name), "utf8")

/** The service account whose key publishes to Artifact Registry; Google (the fake) knows its public key. */
const deployer = { email: "deployer@portfolio-test-476200.iam.gserviceaccount.com", ...generateKeyPairSync("rsa", { modulusLength: 2048 }) }

let moto: Moto
let google: GoogleApisFake
let double: EngineDouble
let source: string // a copy of ci/ whose settings point ECR at moto and the Google APIs at the fake

beforeAll(async () => {
  moto = await startMoto()
  google = await startGoogleApisFake("ya29.unused", { serviceAccount: { email: deployer.email, publicKey: deployer.publicKey } })
  source = mkdtempSync(join(tmpdir(), "release-src-"))
  cpSync(join(repoRoot, "ci"), join(source, "ci"), { recursive: true })
  const settings = readFileSync(join(source, "ci/pipeline.yaml"), "utf8")
  // The emulator endpoints come from ci/pipeline.yaml, as for real runs against an emulator.
  const pointed = settings
    .replace("    region: us-west-1\n", `    region: us-west-1\n    endpointUrl: ${moto.endpoint}\n`)
    .replace(/(\nproduction:\n  gcp:\n(?:    [^\n]+\n)*?    region: [^\n]+\n)/, `$1    cloudRunEndpoint: ${google.endpoint}\n`)
  writeFileSync(join(source, "ci/pipeline.yaml"), pointed)
})
afterAll(async () => {
  await moto?.stop()
  await google?.close()
})
beforeEach(async () => {
  double = await startEngineDouble()
})
afterEach(async () => {
  await double.close()
})

const execArgsIs = (args: readonly string[]) => (chain: Chain) =>
  hasLink(chain, "withExec", (a) => JSON.stringify(a["args"]) === JSON.stringify(args))
const readsFile = (path: string) => (chain: Chain) => {
  const file = chain[chain.length - 2]
  return file?.field === "file" && file.args["path"] === path
}

function script(opts: { scanReport?: string; tests?: unknown } = {}): Matcher[] {
  return [
    { leaf: "stdout", when: execArgsIs(APP_TEST_COMMAND), value: opts.tests ?? " Test Files  2 passed (2)\n      Tests  41 passed (41)\n" },
    { leaf: "contents", when: readsFile("/scan/out/trivy.json"), value: opts.scanReport ?? trivyFixture("image-clean.json") },
    { leaf: "contents", when: readsFile("/scan/out/sbom.cdx.json"), value: trivyFixture("image-sbom.cdx.json") },
    { leaf: "publish", value: (q: { args: Record<string, unknown> }) => `${String(q.args["address"])}@${DIGEST}` },
  ]
}

async function publish(args: Record<string, ReturnType<EngineDouble["secret"]> | string>) {
  return callFunction(double, {
    fn: "publish",
    args: { commit: SHA, ...args },
    constructorArgs: { source: double.hostDirectory(source) },
    timeoutMs: 120_000,
  })
}

const awsArgs = () => ({
  awsAccessKeyId: double.secret("AWS_ACCESS_KEY_ID", moto.credentials.accessKeyId + "-id-value"),
  awsSecretAccessKey: double.secret("AWS_SECRET_ACCESS_KEY", "aws-secret-do-not-leak-1234"),
})

function execWith(pred: (e: ExecInfo) => boolean): ExecInfo {
  const found = double.execs().filter(pred)
  expect(found, "exactly one matching exec").toHaveLength(1)
  return found[0]!
}

const isTrivyScan = (e: ExecInfo) => e.args[0] === "trivy" && e.args[1] === "image" && e.args.includes("json")

describe("publish (ECR via moto)", () => {
  it("tests and scans the image, then pushes that same image and returns its digest reference", async () => {
    double.setScript(script())
    const r = await publish(awsArgs())
    expect(r.error, r.stderr).toBeUndefined()

    const pushes = double.calls.filter((c) => c.leaf === "publish")
    expect(pushes).toHaveLength(1)
    const push = pushes[0]!
    const host = String(push.chain.find((l) => l.field === "withRegistryAuth")?.args["address"])
    expect(host).toMatch(/^\d{12}\.dkr\.ecr\.us-west-1\.amazonaws\.com$/)
    expect(push.chain[push.chain.length - 1]?.args["address"]).toBe(`${host}/portfolio-prod:0123456`)

    // Returned: the reference WITH digest (tag dropped), the gating scan and the version.
    const release = r.result as Record<string, unknown>
    expect(release["ecrImage"]).toBe(`${host}/portfolio-prod@${DIGEST}`)
    expect(release["images"]).toEqual([`${host}/portfolio-prod@${DIGEST}`])
    expect(release["artifactRegistryImage"]).toBe("")
    expect(release["version"]).toBe("0123456")
    expect(release["imageId"]).toBe("sha256:135c07a8e9df85bd15bb471ede72cbd0a27c87acd58a3f5f3818c8fc7d7cf1b4")
    expect((release["scan"] as Record<string, unknown>)["verdict"]).toBe("PASS")

    // Tests and scan ran before the push.
    const tests = execWith((e) => JSON.stringify(e.args) === JSON.stringify(APP_TEST_COMMAND))
    const scan = execWith(isTrivyScan)
    expect(tests.ranSeq).toBeLessThan(push.seq)
    expect(scan.ranSeq).toBeLessThan(push.seq)

    // The scanned tarball is the tarball of the exact image that was pushed (same chain, synced once).
    const tarball = scan.mounts.find((m) => m.path === IMAGE_TARBALL_PATH)
    expect(tarball?.op).toBe("withMountedFile")
    expect(fields(tarball!.source!).at(-1)).toBe("asTarball")
    const scannedImage = tarball!.source!.slice(0, -1)
    const pushedImage = push.chain.slice(0, push.chain.findIndex((l) => l.field === "withRegistryAuth"))
    expect(pushedImage).toEqual(scannedImage)
    expect(fields(pushedImage).at(-1)).toBe("dockerBuild")

    // Trivy: pinned image, DB cache volume, cache-buster right on the scan exec.
    expect(scan.image).toMatch(/^aquasec\/trivy:0\.69\.3@sha256:[a-f0-9]{64}$/)
    const dbCache = scan.mounts.find((m) => m.op === "withMountedCache")
    expect(dbCache?.path).toBe(TRIVY_CACHE_DIR)
    expect(dbCache?.source).toEqual([{ field: "cacheVolume", args: { key: TRIVY_CACHE_VOLUME } }])
    expect(Object.keys(scan.env)).toContain(CACHE_BUSTER_ENV)
    expect(scan.chain[scan.chain.length - 2]?.field).toBe("withEnvVariable")
  }, 180_000)

  it("logs in to ECR with the password from GetAuthorizationToken as a Secret, and leaks no secret", async () => {
    double.setScript(script())
    const r = await publish(awsArgs())
    expect(r.error, r.stderr).toBeUndefined()
    const auth = double.calls.find((c) => c.leaf === "publish")!.chain.find((l) => l.field === "withRegistryAuth")!
    expect(auth.args["username"]).toBe("AWS")
    const secret = double.resolve(String(auth.args["secret"]))
    expect(fields(secret)).toEqual(["setSecret"])
    const password = String(secret[0]!.args["plaintext"])
    expect(password.length).toBeGreaterThan(8)
    // Neither the ECR password nor the AWS secret key appears in any recorded argument outside setSecret:
    // no env var, no exec argument, no file written into a container.
    expect(double.secretLeaks()).toEqual([])
    for (const e of double.execs()) {
      const plain = [...e.args, ...Object.values(e.env)].join("\n")
      expect(plain).not.toContain(password)
      expect(plain).not.toContain("aws-secret-do-not-leak-1234")
    }
  }, 180_000)

  it("builds the pushed image from app/Dockerfile's runtime stage with version and commit as build arguments", async () => {
    double.setScript(script())
    const r = await publish(awsArgs())
    expect(r.error, r.stderr).toBeUndefined()
    const push = double.calls.find((c) => c.leaf === "publish")!
    const image = push.chain.slice(0, push.chain.findIndex((l) => l.field === "withRegistryAuth"))
    expect(fields(image)).toEqual(["host", "directory", "directory", "dockerBuild"])
    expect(image[2]?.args).toEqual({ path: "app" })
    expect(image[3]?.args).toEqual({
      target: "runtime",
      buildArgs: [
        { name: "APP_VERSION", value: "0123456" },
        { name: "APP_COMMIT", value: SHA },
        // No --commit-time here: the fixed epoch, never the clock (a re-run builds the same timestamps).
        { name: "SOURCE_DATE_EPOCH", value: "946684800" },
        // The Dockerfile's npm ci trusts the system CA store (the engine's custom CAs land there).
        { name: "NODE_EXTRA_CA_CERTS", value: "/etc/ssl/certs/ca-certificates.crt" },
      ],
    })
  }, 180_000)

  it("runs the tests with dependencies installed from the manifests alone, before any source, with npm's cache volume", async () => {
    double.setScript(script())
    const r = await publish(awsArgs())
    expect(r.error, r.stderr).toBeUndefined()
    const installs = double.execs().filter((e) => e.args[0] === "npm" && e.args[1] === "ci")
    // repository root (vitest, tsx) and app/
    expect(installs.map((e) => e.workdir)).toEqual(["/repo", "/repo/app"])
    for (const npmCi of installs) {
      const before = fields(npmCi.chain.slice(0, -1))
      expect(before).not.toContain("withDirectory")
      expect(before).not.toContain("withMountedDirectory")
      const copied = npmCi.mounts.filter((m) => m.op === "withFile").map((m) => m.source?.at(-1)?.args["path"])
      expect(copied.slice(-2)).toEqual(["package.json", "package-lock.json"])
      // npm downloads trusting the system CA store too: behind a TLS-intercepting proxy the engine adds its CA there.
      expect(npmCi.env).toMatchObject({ NODE_EXTRA_CA_CERTS: "/etc/ssl/certs/ca-certificates.crt" })
      const cache = npmCi.mounts.find((m) => m.op === "withMountedCache")
      expect(cache?.path).toBe(NPM_CACHE_DIR)
      expect(cache?.source).toEqual([{ field: "cacheVolume", args: { key: NPM_CACHE_VOLUME } }])
    }
    // The sources come after both installs, right before the test command.
    const tests = execWith((e) => JSON.stringify(e.args) === JSON.stringify(APP_TEST_COMMAND))
    const f = fields(tests.chain)
    expect(f.indexOf("withDirectory")).toBeGreaterThan(f.lastIndexOf("withExec", f.length - 2))
    expect(tests.image).toMatch(/^node:24\.20\.0-alpine3\.24@sha256:[a-f0-9]{64}$/)
  }, 180_000)

  it("stops before any push when the scan gate fails, with the summary in the error", async () => {
    double.setScript(script({ scanReport: trivyFixture("image-findings.json") }))
    const r = await publish(awsArgs())
    expect(r.result).toBeUndefined()
    expect(r.error?.message).toContain("Scan FAILED: image portfolio:0123456 (ID sha256:135c07a8e9df) has 3 blocking findings")
    expect(r.error?.message).toContain("CVE-2099-1001  libcrypto3@3.5.1-r0 → fixed in 3.5.2-r0")
    expect(r.error?.message).toContain("Nothing was published")
    expect(double.calls.filter((c) => c.leaf === "publish")).toEqual([])
    expect(double.calls.filter((c) => hasLink(c.chain, "withRegistryAuth"))).toEqual([])
  }, 180_000)

  it("stops before any push when a test fails, naming the failure", async () => {
    double.setScript(script({ tests: execError({ exitCode: 1, stderr: "FAIL app/test/process.test.ts > drains in-flight requests" }) }))
    const r = await publish(awsArgs())
    expect(r.error?.message).toContain("Tests failed; nothing was published.")
    expect(r.error?.message).toContain("exited with code 1")
    expect(r.error?.message).toContain("FAIL app/test/process.test.ts > drains in-flight requests")
    expect(double.calls.filter((c) => c.leaf === "publish")).toEqual([])
  }, 180_000)

  it("fails an expired accepted risk before scanning, naming the entry", async () => {
    const expired = mkdtempSync(join(tmpdir(), "release-expired-"))
    cpSync(join(source, "ci"), join(expired, "ci"), { recursive: true })
    writeFileSync(
      join(expired, "ci/.trivyignore.yaml"),
      "vulnerabilities:\n  - id: CVE-2099-1002\n    statement: busybox wget is never run by the app\n    expired_at: 2020-01-31\n",
    )
    double.setScript(script())
    const r = await callFunction(double, {
      fn: "publish",
      args: { commit: SHA, ...awsArgs() },
      constructorArgs: { source: double.hostDirectory(expired) },
      timeoutMs: 120_000,
    })
    expect(r.error?.message).toContain("Scan could not run; nothing was published.")
    expect(r.error?.message).toContain("entry vulnerabilities[0] (CVE-2099-1002) expired on 2020-01-31")
    expect(double.execs().filter(isTrivyScan).every((e) => e.ranSeq === undefined)).toBe(true)
    expect(double.calls.filter((c) => c.leaf === "publish")).toEqual([])
  }, 180_000)
})

describe("publish (Artifact Registry)", () => {
  it("pushes with the service-account key as the `_json_key` password, passed through as the given Secret", async () => {
    double.setScript(script())
    const keyJson = JSON.stringify({
      type: "service_account",
      client_email: deployer.email,
      private_key: deployer.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    })
    const key = double.secret("GCP_SERVICE_ACCOUNT_KEY", keyJson)
    google.reset()
    const r = await publish({ gcpCredentials: key })
    expect(r.error, r.stderr).toBeUndefined()
    // The tag was looked up first (free: pushed), signed with that key.
    expect(google.requests).toEqual([
      { method: "GET", path: "/v1/projects/portfolio-test-476200/locations/us-west1/repositories/portfolio-prod/packages/portfolio/tags/0123456", authorized: true },
    ])
    const push = double.calls.find((c) => c.leaf === "publish")!
    const auth = push.chain.find((l) => l.field === "withRegistryAuth")!
    expect(auth.args).toMatchObject({ address: "us-west1-docker.pkg.dev", username: "_json_key" })
    expect(double.resolve(String(auth.args["secret"]))).toEqual(key.chain)
    expect(push.chain.at(-1)?.args["address"]).toBe("us-west1-docker.pkg.dev/portfolio-test-476200/portfolio-prod/portfolio:0123456")
    expect((r.result as Record<string, unknown>)["artifactRegistryImage"]).toBe(
      `us-west1-docker.pkg.dev/portfolio-test-476200/portfolio-prod/portfolio@${DIGEST}`,
    )
    expect(double.secretLeaks()).toEqual([])
  }, 180_000)

  it("refuses to publish nowhere, before building", async () => {
    double.setScript(script())
    const r = await publish({})
    expect(r.error?.message).toMatch(/no registry to publish to/)
    expect(double.execs()).toEqual([])
  }, 180_000)
})
