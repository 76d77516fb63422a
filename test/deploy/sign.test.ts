// Signing in the deploys (dagger/src/deploy/sign.ts): who signs, decided before any cloud call, and the two
// steps — sign and attest after the publish, verify before any rollout — under the signing policy.
import { describe, expect, it } from "vitest"
import type { Secret } from "@dagger.io/dagger"
import { parseSettings, type Settings } from "../../dagger/src/config/settings.js"
import { keylessIdentity, planSigning, recordAdoptedSignature, signAndAttest, verifySignature } from "../../dagger/src/deploy/sign.js"
import { startSteps } from "../../dagger/src/deploy/step-runner.js"
import { decideVerdict, startRun } from "../../dagger/src/report/run-record.js"
import { pipelineYaml } from "../support/deploy-world.js"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { repoRoot } from "../tools/paths.js"
import { recordingSigning } from "../support/signing-port.js"

const COMMIT = "c0ffee1234567890abcdef1234567890abcdef12"
const IMAGE = `registry.test/portfolio@sha256:${"a".repeat(64)}`
const secret = (name: string) => ({ name }) as unknown as Secret

// The deploy world's settings with the committed signing section (the world adds a public key of its own).
const COMMITTED = parseSettings(readFileSync(join(repoRoot, "ci/pipeline.yaml"), "utf8")).signing
const BLOCKING = pipelineYaml({ signing: COMMITTED })

function settingsWith(edit: (s: Settings) => void): Settings {
  const s = parseSettings(BLOCKING)
  edit(s)
  return s
}
const configured = settingsWith((s) => {
  s.signing.identity.repository = "acme/portfolio"
  s.signing.identity.publicKey = "cosign.pub"
})

describe("planSigning", () => {
  it("a key: verified against the configured public key", () => {
    const plan = planSigning(configured, "staging", { signingKey: secret("k"), signingPassword: secret("p") })
    expect(plan).toMatchObject({ kind: "key", publicKeyPath: "ci/cosign.pub", verifier: { kind: "key" }, signer: "key ci/cosign.pub" })
  })

  it("keyless: the environment's workflow at its branch, in this repository", () => {
    const plan = planSigning(configured, "production", { oidcRequestToken: secret("t"), oidcRequestUrl: secret("u") })
    const identity = "https://github.com/acme/portfolio/.github/workflows/production-gcp.yml@refs/heads/main"
    expect(keylessIdentity(configured, "production")).toBe(identity)
    expect(plan).toMatchObject({ kind: "keyless", verifier: { kind: "keyless", certificateIdentity: identity } })
    expect(planSigning(configured, "staging", { oidcRequestToken: secret("t"), oidcRequestUrl: secret("u") })).toMatchObject({
      verifier: { certificateIdentity: "https://github.com/acme/portfolio/.github/workflows/staging-aws.yml@refs/heads/develop" },
    })
  })

  it("nobody: unsigned, for the policy to judge", () => {
    expect(planSigning(configured, "staging", {})).toEqual({ kind: "unsigned", why: "no --signing-key and no --oidc-request-token was given" })
  })

  it("refuses conflicting or half-given flags, naming them", () => {
    const cases: [Parameters<typeof planSigning>[2], RegExp][] = [
      [{ signingKey: secret("k"), oidcRequestToken: secret("t"), oidcRequestUrl: secret("u") }, /both --signing-key and --oidc-request-token/],
      [{ signingPassword: secret("p") }, /--signing-password was given without --signing-key/],
      [{ oidcRequestToken: secret("t") }, /--oidc-request-url is missing/],
      [{ oidcRequestUrl: secret("u") }, /--oidc-request-token is missing/],
    ]
    for (const [given, message] of cases) expect(() => planSigning(configured, "staging", given)).toThrow(message)
  })

  it("refuses a key without a public key to verify it, and keyless with the placeholder repository", () => {
    const bare = parseSettings(BLOCKING)
    expect(() => planSigning(bare, "staging", { signingKey: secret("k") })).toThrow(/names no public key .*signing\.identity\.publicKey: cosign\.pub/)
    expect(() => planSigning(bare, "staging", { oidcRequestToken: secret("t"), oidcRequestUrl: secret("u") })).toThrow(/placeholder OWNER\/REPO/)
  })
})

describe("ci/pipeline.yaml signing", () => {
  const yaml = (edit: (text: string) => string) => edit(BLOCKING)
  it("the committed policy: warn in staging, block in production", () => {
    const s = parseSettings(readFileSync(join(repoRoot, "ci/pipeline.yaml"), "utf8"))
    expect([s.signing.staging, s.signing.production]).toEqual(["warn", "block"])
    expect(s.images.cosign).toMatch(/cosign:v2\.6\.\d+@sha256:[a-f0-9]{64}$/)
  })

  it("names a bad policy, workflow, repository or key path with the rule", () => {
    expect(() => parseSettings(yaml((t) => t.replace("production: block", "production: maybe")))).toThrow(/signing\.production.*must be block .* or warn/s)
    expect(() => parseSettings(yaml((t) => t.replace("repository: OWNER/REPO", "repository: portfolio")))).toThrow(/signing\.identity\.repository.*OWNER\/REPO/s)
    expect(() => parseSettings(yaml((t) => t.replace(/staging: \.github\/workflows\/staging-aws\.yml@refs\/heads\/develop/, "staging: staging-aws.yml")))).toThrow(
      /signing\.identity\.workflows\.staging.*\.github\/workflows\/<file>\.yml@refs\/heads\/<branch>/s,
    )
    expect(() => parseSettings(yaml((t) => t.replace("  identity:\n", "  identity:\n    publicKey: ../keys/cosign.pub\n")))).toThrow(/publicKey.*inside ci\//s)
  })
})

function stepsFor(settings: Settings) {
  const run = startRun({ environment: "production", commit: COMMIT })
  return { run, steps: startSteps(run, settings, { now: () => Date.now() }) }
}

describe("the sign and verify steps", () => {
  it("a signer signs right after the publish and the verified digest is recorded with signer and attestations", async () => {
    const { run, steps } = stepsFor(configured)
    const signing = recordingSigning({ signer: "key ci/cosign.pub" })
    await signAndAttest(steps, signing, IMAGE, undefined)
    await verifySignature(steps, signing, IMAGE, configured, "production")
    steps.close()
    expect(signing.signed.map((s) => s.image)).toEqual([IMAGE])
    expect(signing.verified).toEqual([IMAGE])
    expect(run.steps.map((s) => [s.name, s.outcome])).toEqual([["sign and attest", "succeeded"], ["verify signature", "succeeded"]])
    expect(run.signature).toEqual({ signer: "key ci/cosign.pub", attestations: ["CycloneDX SBOM", "scan verdict"], verified: true, detail: expect.stringContaining("verified") })
  })

  it("unsigned under block: the verify step fails with the policy and the fix", async () => {
    const { run, steps } = stepsFor(configured)
    const signing = recordingSigning({ unsigned: "no --signing-key and no --oidc-request-token was given" })
    await signAndAttest(steps, signing, IMAGE, undefined)
    await expect(verifySignature(steps, signing, IMAGE, configured, "production")).rejects.toThrow(/unsigned .* signing\.production in ci\/pipeline\.yaml is block/)
    steps.close()
    expect(run.steps.map((s) => [s.name, s.outcome])).toEqual([["sign and attest", "skipped"], ["verify signature", "failed"]])
    expect(decideVerdict(run)).toEqual({ verdict: "failed", failingStep: "verify signature" })
    expect(run.signature).toMatchObject({ signer: "", verified: false, detail: expect.stringMatching(/refused: signing\.production is block/) })
  })

  it("unsigned under warn: a warning step and a run warning, and the run goes on", async () => {
    const warn = settingsWith((s) => (s.signing.production = "warn"))
    const { run, steps } = stepsFor(warn)
    const signing = recordingSigning({ unsigned: "no --signing-key and no --oidc-request-token was given" })
    await signAndAttest(steps, signing, IMAGE, undefined)
    await verifySignature(steps, signing, IMAGE, warn, "production")
    steps.close()
    expect(run.steps.map((s) => s.outcome)).toEqual(["skipped", "warning"])
    expect(run.warnings).toEqual([{ source: "signing", message: expect.stringMatching(/unsigned .*deployed anyway because signing\.production is warn/) }])
    expect(decideVerdict(run).verdict).toBe("succeeded")
  })

  it("an image adopted at publish (a re-run's verified published build) is not signed again, and is verified again before the rollout", async () => {
    const { run, steps } = stepsFor(configured)
    const signing = recordingSigning({ signer: "key ci/cosign.pub" })
    recordAdoptedSignature(steps, signing, IMAGE)
    await verifySignature(steps, signing, IMAGE, configured, "production")
    steps.close()
    expect(signing.signed).toEqual([])
    expect(signing.verified).toEqual([IMAGE])
    expect(run.steps.map((s) => [s.name, s.outcome])).toEqual([["sign and attest", "skipped"], ["verify signature", "succeeded"]])
    expect(run.steps[0]!.detail).toMatch(/not signed again: .*earlier run of this commit, verified before it was adopted/)
    expect(run.signature).toEqual({ signer: "key ci/cosign.pub", attestations: ["CycloneDX SBOM", "scan verdict"], verified: true, detail: expect.stringContaining("verified") })
  })

  it("a signed image that does not verify is refused whatever the policy", async () => {
    const warn = settingsWith((s) => (s.signing.production = "warn"))
    const { run, steps } = stepsFor(warn)
    const signing = recordingSigning({ refuse: "cosign verify of x failed (exit code 12): Error: no matching signatures" })
    await signAndAttest(steps, signing, IMAGE, undefined)
    await expect(verifySignature(steps, signing, IMAGE, warn, "production")).rejects.toThrow(/no matching signatures/)
    steps.close()
    expect(decideVerdict(run)).toEqual({ verdict: "failed", failingStep: "verify signature" })
    expect(run.signature).toMatchObject({ verified: false, detail: expect.stringMatching(/^verification failed: .*no matching signatures/) })
  })
})
