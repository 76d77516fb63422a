// The module's cosign command lines (dagger/src/supply-chain/sign/commands.ts), run for real: the pinned
// cosign (test/tools/setup.mjs, the release of images.cosign) against a real OCI registry on loopback, the
// images pushed there with crane, a key pair made here (test/support/cosign-world.ts). The argv is the
// module's exactly; only argv[0] becomes the built binary, the files sit under a temporary root at the
// module's container paths, and the registry scheme is `http` (commands.ts's input for a plain-HTTP
// registry on the local machine).
//
// What runs is key mode without a transparency log: what the module does outside GitHub Actions
// (`--signing-key`). Keyless cannot run here: it needs GitHub's OIDC token, Fulcio to certify it and Rekor
// to log the signature, none of which is reachable from this machine; its argv is pinned in
// sign/commands.test.ts only.
//
// cosign's own exit codes: `verify` exits 10 when the image has no signature at all and 12 when none
// matches (key, annotation); `verify-attestation` exits 1 for every failure, so only its stderr says which.
// Failing runs are kept as fixtures (test/fixtures/cosign/, see its README) for the engine double: the
// registry's address becomes {registry}, paths are the container's, and digests are stable because the
// images are built from fixed bytes. After a cosign upgrade: `npx vitest run <this file> -u`, review the diff.
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  ATTESTATION_KINDS,
  attestArgs,
  CYCLONEDX_PREDICATE_TYPE,
  SCAN_VERDICT_PREDICATE_TYPE,
  signArgs,
  verifyArgs,
  verifyAttestationArgs,
  type AttestationKind,
  type CosignFiles,
} from "../../../dagger/src/supply-chain/sign/commands.js"
import { attestationPolicy } from "../../../dagger/src/supply-chain/sign/policies.js"
import { startCosignWorld, WORLD_COMMIT, type CosignRun, type CosignWorld } from "../../support/cosign-world.js"
import type { PushedImage } from "../../support/oci-registry.js"
import { repoRoot } from "../../tools/paths.js"

const COMMIT = WORLD_COMMIT
const OTHER_COMMIT = "0123456789abcdef0123456789abcdef01234567"
const KEY = { kind: "key" } as const
const fixture = (name: string) => join(repoRoot, "test/fixtures/cosign", name)

let world: CosignWorld
let wrongKey: CosignFiles
let failingScan: CosignFiles
let otherCommit: CosignFiles
const images = {} as Record<"signed" | "unsigned" | "sbomOnly" | "failingScan" | "rerun", PushedImage>

const verify = (image: PushedImage | string, files = world.files, commit = COMMIT) =>
  world.cosign(verifyArgs(typeof image === "string" ? image : image.ref, KEY, commit, { ...world.opts, files }))
const verifyAttestation = (image: PushedImage | string, kind: AttestationKind, files = world.files) =>
  world.cosign(verifyAttestationArgs(typeof image === "string" ? image : image.ref, KEY, kind, { ...world.opts, files }))

async function signAndAttest(image: PushedImage, kinds: readonly AttestationKind[], files = world.files): Promise<void> {
  await world.mustRun(signArgs(image.ref, KEY, COMMIT, { ...world.opts, files }))
  for (const kind of kinds) await world.mustRun(attestArgs(image.ref, KEY, kind, { ...world.opts, files }))
}

/** A failing run as fixture text: the temporary root and the registry's address taken out. */
const fixtureText = (r: CosignRun) => r.stderr.split(world.root).join("").split(world.registry.host).join("{registry}")

/** The in-toto statements verify-attestation printed (one DSSE envelope a line). */
function statements(stdout: string): { predicateType: string; predicate: Record<string, unknown> }[] {
  return stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(Buffer.from((JSON.parse(l) as { payload: string }).payload, "base64").toString("utf8")))
}

beforeAll(async () => {
  world = await startCosignWorld()
  const { root, files } = world
  const other = await world.keyPair(join(root, "keys/other"))
  wrongKey = { ...files, publicKey: other.pub }
  failingScan = { ...files, predicates: { ...files.predicates, scan: join(root, "failing/scan-verdict.json") } }
  await world.put(failingScan.predicates.scan, await world.scanPredicate("image-findings.json"))
  otherCommit = { ...files, policies: { ...files.policies, scan: join(root, "other-commit/scan-verdict.rego") } }
  await world.put(otherCommit.policies.scan, attestationPolicy("scan", OTHER_COMMIT))

  const tags = { signed: "1.4.0", unsigned: "1.4.0-rebuilt", sbomOnly: "1.4.0-sbom-only", failingScan: "1.4.0-failing-scan", rerun: "1.4.0-rerun" }
  await Promise.all(
    Object.entries(tags).map(async ([name, tag]) => {
      images[name as keyof typeof images] = await world.registry.pushImage("portfolio", tag, { "srv/release.txt": `portfolio ${tag}\n` })
    }),
  )
  await Promise.all([
    signAndAttest(images.signed, ATTESTATION_KINDS),
    signAndAttest(images.rerun, ATTESTATION_KINDS),
    signAndAttest(images.sbomOnly, ["sbom"]),
    signAndAttest(images.failingScan, ATTESTATION_KINDS, failingScan),
  ])
}, 120_000)

afterAll(async () => {
  await world?.close()
})

describe("a signed and attested image verifies (cosign, real registry)", () => {
  it("verify: the signature by the key, over this digest, claiming this commit", async () => {
    const r = await verify(images.signed)
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject([
      { critical: { image: { "docker-manifest-digest": images.signed.digest } }, optional: { commit: COMMIT } },
    ])
    expect(r.stderr).toContain("The signatures were verified against the specified public key")
  })

  it("verify-attestation: the CycloneDX SBOM, and the scan verdict PASS for this commit, each under its policy", async () => {
    const sbom = await verifyAttestation(images.signed, "sbom")
    expect(sbom.code, sbom.stderr).toBe(0)
    expect(statements(sbom.stdout)).toMatchObject([
      {
        predicateType: CYCLONEDX_PREDICATE_TYPE,
        subject: [{ digest: { sha256: images.signed.digest.slice("sha256:".length) } }],
        predicate: { bomFormat: "CycloneDX" },
      },
    ])

    const scan = await verifyAttestation(images.signed, "scan")
    expect(scan.code, scan.stderr).toBe(0)
    expect(statements(scan.stdout).map((v) => [v.predicateType, v.predicate.verdict, v.predicate.commit])).toEqual([
      [SCAN_VERDICT_PREDICATE_TYPE, "PASS", COMMIT],
    ])
  })

  it("a re-run signs and attests the same digest again: --replace leaves one attestation of each type", async () => {
    await signAndAttest(images.rerun, ATTESTATION_KINDS)
    expect((await verify(images.rerun)).code).toBe(0)
    for (const kind of ATTESTATION_KINDS) {
      const r = await verifyAttestation(images.rerun, kind)
      expect(r.code, r.stderr).toBe(0)
      expect(statements(r.stdout)).toHaveLength(1)
    }
  })
})

describe("what must not verify (cosign, real registry)", () => {
  it("a tampered digest: another image's digest in the same repository has no signature and no attestation", async () => {
    const tampered = images.signed.ref.replace(images.signed.digest, images.unsigned.digest)
    const sig = await verify(tampered)
    expect(sig.code).toBe(10)
    expect(sig.stderr).toMatch(/^Error: no signatures found$/m)
    await expect(fixtureText(sig)).toMatchFileSnapshot(fixture("tampered-digest-verify.stderr.txt"))

    const att = await verifyAttestation(tampered, "sbom")
    expect(att.code).toBe(1)
    expect(att.stderr).toMatch(/^Error: no matching attestations: $/m)
    await expect(fixtureText(att)).toMatchFileSnapshot(fixture("tampered-digest-verify-attestation.stderr.txt"))
  })

  it("a missing attestation: signed and SBOM-attested, but no scan verdict", async () => {
    const sbom = await verifyAttestation(images.sbomOnly, "sbom")
    expect(sbom.code, sbom.stderr).toBe(0)
    const r = await verifyAttestation(images.sbomOnly, "scan")
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(
      new RegExp(`^Error: none of the attestations matched the predicate type: ${SCAN_VERDICT_PREDICATE_TYPE}, found: ${CYCLONEDX_PREDICATE_TYPE}$`, "m"),
    )
    await expect(fixtureText(r)).toMatchFileSnapshot(fixture("missing-attestation.stderr.txt"))
  })

  it("a wrong key: the signature and the attestations were made by another key", async () => {
    const sig = await verify(images.signed, wrongKey)
    expect(sig.code).toBe(12)
    expect(sig.stderr).toMatch(/^Error: no matching signatures: invalid signature when validating ASN\.1 encoded signature$/m)
    await expect(fixtureText(sig)).toMatchFileSnapshot(fixture("wrong-key-verify.stderr.txt"))

    const att = await verifyAttestation(images.signed, "scan", wrongKey)
    expect(att.code).toBe(1)
    expect(att.stderr).toMatch(/^Error: no matching attestations: accepted signatures do not match threshold, Found: 0, Expected 1$/m)
    await expect(fixtureText(att)).toMatchFileSnapshot(fixture("wrong-key-verify-attestation.stderr.txt"))
  })

  it("a scan verdict that is not PASS: signed and attested, refused by the scan policy", async () => {
    const sig = await verify(images.failingScan)
    expect(sig.code, sig.stderr).toBe(0)
    const sbom = await verifyAttestation(images.failingScan, "sbom")
    expect(sbom.code, sbom.stderr).toBe(0)
    const r = await verifyAttestation(images.failingScan, "scan")
    expect(r.code).toBe(1)
    // cosign reports a Rego `allow` that is false only as this; the module's error must say what it means.
    expect(r.stderr).toMatch(/^- expression value, false, is not true$/m)
    expect(r.stderr).toMatch(/^Error: 1 validation errors occurred$/m)
    await expect(fixtureText(r)).toMatchFileSnapshot(fixture("scan-not-pass.stderr.txt"))
  })

  it("another commit: the signature's annotation and the verdict's commit must be the deployed commit", async () => {
    const sig = await verify(images.signed, world.files, OTHER_COMMIT)
    expect(sig.code).toBe(12)
    expect(sig.stderr).toMatch(/^Error: no matching signatures: missing or incorrect annotation$/m)
    await expect(fixtureText(sig)).toMatchFileSnapshot(fixture("other-commit-verify.stderr.txt"))

    const att = await verifyAttestation(images.signed, "scan", otherCommit)
    expect(att.code).toBe(1)
    expect(att.stderr).toMatch(/^Error: 1 validation errors occurred$/m)
  })
})
