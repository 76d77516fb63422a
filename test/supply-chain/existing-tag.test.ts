// Re-running a deploy of a published commit: the tag is looked up in a real moto ECR repository with
// IMMUTABLE tags (which refuses the tag again, as AWS does), or in Artifact Registry's tags.get on the
// local Google APIs fake; the engine double scripts what the build's tarball and the push answer. Same
// digest → reused with no push; another digest → the published image adopted once it verifies, else a clear
// failure, and the tag keeps its image.
import { createHash, generateKeyPairSync } from "node:crypto"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { dag } from "@dagger.io/dagger"
import { AwsApiError, jsonApi, type AwsTarget } from "../../dagger/src/aws/signed-api.js"
import {
  artifactRegistryTagDigest,
  adoptPublished,
  decideTag,
  ecrTagDigest,
  indexDigest,
  tarballDigest,
  TagConflictError,
  type ArtifactRegistryApi,
  type ArtifactRegistryImage,
} from "../../dagger/src/supply-chain/existing-tag.js"
import { publishImage, type AdoptOptions, type PublishTarget } from "../../dagger/src/supply-chain/publish.js"
import { ToolError } from "../../dagger/src/shared/tool-errors.js"
import { startEngineDouble, withDouble, type EngineDouble, type LeafQuery } from "../support/engine-double.js"
import { startGoogleApisFake, type GoogleApisFake } from "../support/google-apis-fake.js"
import { startMoto, type Moto } from "../support/moto.js"

const REPO = "portfolio-staging"
const TAG = "1.4.0"
const TRIVY = "aquasec/trivy:0.69.3"
const HOST = "123456789012.dkr.ecr.us-west-1.amazonaws.com"

let moto: Moto
let api: AwsTarget
let double: EngineDouble

/** An image manifest (its `digest` is what a push of it would answer; moto re-serialises before hashing). */
function manifest(layer: string): { text: string; digest: string } {
  const text = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", size: 2, digest: `sha256:${"c".repeat(64)}` },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", size: 3, digest: `sha256:${layer.repeat(64)}` }],
  })
  return { text, digest: `sha256:${createHash("sha256").update(text).digest("hex")}` }
}

/** Pushes `m` under TAG; answers the digest the registry assigned. */
async function putImage(m: { text: string }): Promise<string> {
  const out = (await jsonApi(api, "ecr", "PutImage", {
    repositoryName: REPO,
    imageManifest: m.text,
    imageManifestMediaType: "application/vnd.oci.image.manifest.v1+json",
    imageTag: TAG,
  })) as { image: { imageId: { imageDigest: string } } }
  return out.image.imageId.imageDigest
}

/** The engine's answers: the tarball's index.json names `built`; a push answers `pushed`. */
function engineScript(built: string, pushed = built) {
  return (q: LeafQuery): unknown => {
    if (q.list) return undefined
    if (q.leaf === "stdout") return JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: built }] })
    if (q.leaf === "publish") return `${String(q.args["address"])}@${pushed}`
    return undefined
  }
}

function target(): PublishTarget {
  return {
    registry: "ECR",
    address: `${HOST}/${REPO}`,
    login: { host: HOST, username: "AWS", password: undefined as never },
    tagDigest: (tag) => ecrTagDigest(api, REPO, tag),
  }
}

/** publishImage as the release port runs it, inside the engine double. */
function publish(adopt: AdoptOptions = {}) {
  return withDouble(double, async () => {
    const image = dag.container().from("portfolio-build")
    const t = { ...target(), login: { host: HOST, username: "AWS", password: dag.setSecret("ecr-password", "pw") } }
    return publishImage(image, t, TAG, () => tarballDigest(image.asTarball(), TRIVY), adopt)
  })
}

/** A verifier standing in for the signing port's verify: records what it was asked, answers `outcome`. */
function verifier(outcome: string | Error) {
  const asked: string[] = []
  const verifyPublished = async (ref: string): Promise<string> => {
    asked.push(ref)
    if (outcome instanceof Error) throw outcome
    return outcome
  }
  return { asked, verifyPublished }
}

const pushes = () => double.findChains((_, call) => call.leaf === "publish")

beforeAll(async () => {
  moto = await startMoto()
  api = { region: moto.region, endpoint: moto.endpoint, credentials: moto.credentials }
  double = await startEngineDouble()
})
afterAll(async () => {
  await double?.close()
  await moto?.stop()
})
beforeEach(async () => {
  await moto.reset()
  double.reset()
  await jsonApi(api, "ecr", "CreateRepository", { repositoryName: REPO, imageTagMutability: "IMMUTABLE" })
})

describe("an IMMUTABLE ECR repository (moto) answers like AWS", () => {
  it("refuses a second image under a taken tag and keeps the first", async () => {
    const first = await putImage(manifest("a"))
    expect(first).toMatch(/^sha256:[0-9a-f]{64}$/)
    const err = await putImage(manifest("b")).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AwsApiError)
    // AWS names this refusal ImageTagAlreadyExistsException; moto (5.x) ImageAlreadyExistsException, naming
    // the digest the tag keeps. The module never sees either: it looks the tag up before pushing.
    expect((err as AwsApiError).name).toMatch(/^Image(Tag)?AlreadyExistsException$/)
    expect((err as AwsApiError).message).toContain(first)
    expect(await ecrTagDigest(api, REPO, TAG)).toBe(first)
  })

  it("reports a free tag and a missing repository as no digest", async () => {
    expect(await ecrTagDigest(api, REPO, TAG)).toBeUndefined()
    expect(await ecrTagDigest(api, "no-such-repo", TAG)).toBeUndefined()
  })
})

describe("publishImage over a tag that may be taken", () => {
  it("pushes a free tag and answers the pushed digest", async () => {
    const pushed = manifest("a").digest
    double.setScript(engineScript(pushed))
    expect(await publish()).toEqual({ ref: `${HOST}/${REPO}@${pushed}`, reused: false })
    expect(pushes()).toHaveLength(1)
    // A free tag never costs the tarball read.
    expect(double.findChains((_, call) => call.leaf === "stdout")).toEqual([])
  })

  it("reuses a tag holding this build's digest, without a push", async () => {
    const published = await putImage(manifest("a"))
    double.setScript(engineScript(published))
    expect(await publish()).toEqual({ ref: `${HOST}/${REPO}@${published}`, reused: true })
    expect(pushes()).toEqual([])
  })

  it("fails on a tag holding another build, naming the tag, both digests and the fix; the tag keeps its image", async () => {
    const published = await putImage(manifest("a"))
    const rebuilt = manifest("b").digest
    double.setScript(engineScript(rebuilt))
    const err = await publish().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TagConflictError)
    const msg = (err as Error).message
    expect(msg).toContain(`${HOST}/${REPO}:${TAG}`)
    expect(msg).toContain(published)
    expect(msg).toContain(rebuilt)
    expect(msg).toMatch(/same build cache/)
    expect(msg).toMatch(/bump the version/)
    expect(msg).toMatch(/never|not overwritten/)
    expect(msg).toContain("nothing verifies signatures in this call")
    expect(pushes()).toEqual([])
    expect(await ecrTagDigest(api, REPO, TAG)).toBe(published)
  })

  it("adopts a tag holding another build once the published digest verifies: no push, the published digest answered", async () => {
    const published = await putImage(manifest("a"))
    double.setScript(engineScript(manifest("b").digest))
    const v = verifier("signature by key ci/cosign.pub and CycloneDX SBOM, scan verdict verified for commit 0123456789ab")
    const out = await publish({ verifyPublished: v.verifyPublished })
    expect(v.asked).toEqual([`${HOST}/${REPO}@${published}`])
    expect(out).toMatchObject({ ref: `${HOST}/${REPO}@${published}`, reused: true })
    expect(out.adopted).toContain(manifest("b").digest)
    expect(out.adopted).toContain("verified for commit 0123456789ab")
    expect(pushes()).toEqual([])
    expect(await ecrTagDigest(api, REPO, TAG)).toBe(published)
  })

  it("fails when the published digest does not verify, with cosign's complaint as the reason; the tag keeps its image", async () => {
    const published = await putImage(manifest("a"))
    const rebuilt = manifest("b").digest
    double.setScript(engineScript(rebuilt))
    const refusal = new ToolError({
      step: `cosign verify of ${HOST}/${REPO}@${published}`,
      command: "cosign verify ...",
      exitCode: 12,
      output: "Error: no matching signatures: missing or incorrect annotation\nmain.go:69: error during command execution",
      fix: "The image is not deployed: it must carry a signature for this commit",
    })
    const err = await publish({ verifyPublished: verifier(refusal).verifyPublished }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TagConflictError)
    const msg = (err as Error).message
    for (const part of [`${HOST}/${REPO}:${TAG}`, published, rebuilt, "could not be verified", "exit code 12", "missing or incorrect annotation", "--signing-key", "bump the version"]) {
      expect(msg).toContain(part)
    }
    expect(msg).not.toContain("The image is not deployed")
    expect(pushes()).toEqual([])
    expect(await ecrTagDigest(api, REPO, TAG)).toBe(published)
  })

  it("a verification cancelled with the step fails as cancelled, not as a tag conflict", async () => {
    await putImage(manifest("a"))
    double.setScript(engineScript(manifest("b").digest))
    const controller = new AbortController()
    const cancelled = new Error("the run exceeded timeouts.runMinutes")
    const verifyPublished = async (): Promise<string> => {
      controller.abort(cancelled)
      throw cancelled
    }
    await expect(publish({ verifyPublished, signal: controller.signal })).rejects.toBe(cancelled)
    expect(pushes()).toEqual([])
  })
})

describe("decideTag and indexDigest", () => {
  const d = (c: string) => `sha256:${c.repeat(64)}`
  it.each([
    ["a free tag is pushed", undefined, undefined, { action: "push" }],
    ["this build's digest is reused", d("a"), d("a"), { action: "reuse", digest: d("a") }],
    ["another digest is verified before anything else", d("a"), d("b"), { action: "verify", existing: d("a"), built: d("b") }],
    ["an unreadable build digest counts as another", d("a"), undefined, { action: "verify", existing: d("a"), built: undefined }],
  ])("%s", (_, existing, built, expected) => {
    expect(decideTag("r:1", existing, built)).toEqual(expected)
  })

  describe("adoptPublished: the published image instead of the rebuild, only when verified", () => {
    const conflict = { existing: d("a"), built: d("b") }
    it("verified: the published digest, and a warning naming both digests, which one deploys and why", () => {
      const adopted = adoptPublished("r:1", conflict, { verified: true, detail: "signature and attestations verified for commit abc" })
      expect(adopted.digest).toBe(d("a"))
      for (const part of ["r:1", d("a"), d("b"), "nothing was pushed", "deployed", "scan verdict PASS", "verified for commit abc"]) expect(adopted.warning).toContain(part)
    })
    it.each([
      ["no signing configured", "nothing signs this run: no --signing-key and no --oidc-request-token was given"],
      ["no signature", "cosign verify of r@sha256:aa failed (exit code 10): Error: no signatures found"],
      ["another commit", "cosign verify of r@sha256:aa failed (exit code 12): Error: no matching signatures: missing or incorrect annotation"],
      ["scan not PASS", "cosign verify-attestation (scan verdict) of r@sha256:aa failed (exit code 1): Error: 1 validation errors occurred"],
    ])("not verifiable (%s): TagConflictError naming the tag, both digests, the reason and the fix", (_, reason) => {
      let err: unknown
      try {
        adoptPublished("r:1", conflict, { verified: false, reason })
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(TagConflictError)
      const msg = (err as Error).message
      for (const part of ["r:1", d("a"), d("b"), reason, "not overwritten", "same build cache", "--signing-key", "bump the version"]) expect(msg).toContain(part)
    })
  })

  it("reads the top manifest digest of an OCI index and refuses anything else", () => {
    expect(indexDigest(JSON.stringify({ manifests: [{ digest: d("e") }] }))).toBe(d("e"))
    expect(() => indexDigest("{}")).toThrow(/names no sha256 manifest digest/)
    expect(() => indexDigest("<html>")).toThrow(/not JSON/)
  })
})

describe("Artifact Registry: the tag looked up with tags.get (local Google APIs fake)", () => {
  const TOKEN = "ya29.planted-artifact-registry-token"
  const AR_HOST = "us-west1-docker.pkg.dev"
  const image: ArtifactRegistryImage = { project: "portfolio-test-476200", location: "us-west1", repository: "portfolio-prod", image: "portfolio" }
  const address = `${AR_HOST}/${image.project}/${image.repository}/${image.image}`
  const account = { email: "deployer@portfolio-test-476200.iam.gserviceaccount.com", ...generateKeyPairSync("rsa", { modulusLength: 2048 }) }
  const published = manifest("a").digest
  let google: GoogleApisFake
  const api = (token = TOKEN): ArtifactRegistryApi => ({ auth: { kind: "access-token", token }, endpoint: google.endpoint })
  const tagPath = (t: ArtifactRegistryImage, tag: string) => `/v1/projects/${t.project}/locations/${t.location}/repositories/${t.repository}/packages/${t.image}/tags/${tag}`

  beforeAll(async () => {
    google = await startGoogleApisFake(TOKEN, { serviceAccount: { email: account.email, publicKey: account.publicKey } })
  })
  afterAll(async () => {
    await google?.close()
  })
  beforeEach(() => {
    google.reset()
  })

  it("answers the digest a tag holds; a free tag, an unknown image or repository is no digest", async () => {
    google.tagImage({ ...image, tag: TAG }, published)
    expect(await artifactRegistryTagDigest(api(), image, TAG)).toBe(published)
    expect(await artifactRegistryTagDigest(api(), image, "9.9.9")).toBeUndefined()
    expect(await artifactRegistryTagDigest(api(), { ...image, image: "other" }, TAG)).toBeUndefined()
    expect(await artifactRegistryTagDigest(api(), { ...image, repository: "no-such-repo" }, TAG)).toBeUndefined()
    expect(google.requests.every((r) => r.method === "GET" && r.authorized)).toBe(true)
  })

  it("escapes the slashes of an image name into one package segment (else the tag is not found)", async () => {
    const nested = { ...image, image: "team/portfolio" }
    google.tagImage({ ...nested, tag: TAG }, published)
    expect(await artifactRegistryTagDigest(api(), nested, TAG)).toBe(published)
    // The same name unescaped is another path, which the API does not know: the fake answers 404 to it.
    const raw = await fetch(`${google.endpoint}${tagPath(nested, TAG)}`, { headers: { authorization: `Bearer ${TOKEN}` } })
    expect(raw.status).toBe(404)
  })

  it("signs with a service-account key as the Cloud Run clients do (a self-signed access JWT), no token exchange", async () => {
    google.tagImage({ ...image, tag: TAG }, published)
    const auth = { kind: "service-account-key" as const, key: { clientEmail: account.email, privateKey: account.privateKey.export({ type: "pkcs8", format: "pem" }).toString() } }
    expect(await artifactRegistryTagDigest({ auth, endpoint: google.endpoint }, image, TAG)).toBe(published)
    expect(google.requests).toEqual([{ method: "GET", path: tagPath(image, TAG), authorized: true }])
  })

  it("a forbidden lookup fails naming the tag, the permission and the role; refused credentials say so", async () => {
    google.forbidden.add(tagPath(image, TAG))
    const forbidden = await artifactRegistryTagDigest(api(), image, TAG).catch((e: unknown) => e as Error)
    expect(forbidden).toBeInstanceOf(Error)
    for (const part of [`portfolio:${TAG}`, "portfolio-prod", "HTTP 403", "artifactregistry.tags.get", "roles/artifactregistry.reader", "never overwritten"]) {
      expect((forbidden as Error).message).toContain(part)
    }
    const refused = await artifactRegistryTagDigest(api("ya29.expired"), image, TAG).catch((e: unknown) => e as Error)
    expect((refused as Error).message).toMatch(/HTTP 401 UNAUTHENTICATED.*not accepted.*artifactregistry\.tags\.get/)
    expect((refused as Error).message).not.toContain("ya29.expired")
  })

  describe("publishImage over an Artifact Registry tag", () => {
    const arTarget = (): PublishTarget => ({
      registry: "Artifact Registry",
      address,
      login: { host: AR_HOST, username: "oauth2accesstoken", password: undefined as never },
      tagDigest: (tag) => artifactRegistryTagDigest(api(), image, tag),
    })
    const publishAr = () =>
      withDouble(double, async () => {
        const built = dag.container().from("portfolio-build")
        const t = { ...arTarget(), login: { host: AR_HOST, username: "oauth2accesstoken", password: dag.setSecret("gcp-token", TOKEN) } }
        return publishImage(built, t, TAG, () => tarballDigest(built.asTarball(), TRIVY))
      })

    it("pushes a free tag", async () => {
      double.setScript(engineScript(published))
      expect(await publishAr()).toEqual({ ref: `${address}@${published}`, reused: false })
      expect(pushes()).toHaveLength(1)
    })

    it("reuses a tag holding this build's digest, without a push", async () => {
      google.tagImage({ ...image, tag: TAG }, published)
      double.setScript(engineScript(published))
      expect(await publishAr()).toEqual({ ref: `${address}@${published}`, reused: true })
      expect(pushes()).toEqual([])
    })

    it("fails on a tag holding another build, naming the tag, both digests and the fix; the tag keeps its image", async () => {
      google.tagImage({ ...image, tag: TAG }, published)
      const rebuilt = manifest("b").digest
      double.setScript(engineScript(rebuilt))
      const err = await publishAr().catch((e: unknown) => e)
      expect(err).toBeInstanceOf(TagConflictError)
      for (const part of [`${address}:${TAG}`, published, rebuilt, "same build cache", "bump the version", "not overwritten"]) expect((err as Error).message).toContain(part)
      expect(pushes()).toEqual([])
      expect(await artifactRegistryTagDigest(api(), image, TAG)).toBe(published)
    })

    it("a forbidden lookup stops before any push", async () => {
      google.forbidden.add(tagPath(image, TAG))
      double.setScript(engineScript(published))
      await expect(publishAr()).rejects.toThrow(/artifactregistry\.tags\.get/)
      expect(pushes()).toEqual([])
    })
  })
})
