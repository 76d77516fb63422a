// A tag that is already in the registry. The repositories use immutable tags, so a re-run of the same
// commit (same version tag) must not push blindly: the registry refuses the tag, and a mutable
// repository would silently move it. Before a push the tag is looked up (ECR, Artifact Registry); the
// decision is pure.
import { dag, type File } from "@dagger.io/dagger"
import { AwsApiError, jsonApi, type AwsTarget } from "../aws/signed-api.js"
import type { GcpCredentials } from "../config/credentials.js"
import { GOOGLE_ENDPOINTS, googleApiMessage } from "../terraform/probes/gcp.js"

/**
 * What to do with one tag, given what the registry holds and what was built: push a free tag, reuse a tag
 * holding this build, or (the tag holds another build) verify the published image before adopting it.
 */
export type TagDecision =
  | { action: "push" }
  | { action: "reuse"; digest: string }
  | { action: "verify"; existing: string; built: string | undefined }

/** The tag exists with another digest and the image under it could not be adopted. */
export class TagConflictError extends Error {
  override name = "TagConflictError"
}

/**
 * `existing`: the digest the registry holds for `ref` (undefined = no such tag); `built`: the digest of
 * the image just built. Never answers a push over an existing tag.
 */
export function decideTag(ref: string, existing: string | undefined, built: string | undefined): TagDecision {
  if (existing === undefined) return { action: "push" }
  if (built === existing) return { action: "reuse", digest: existing }
  return { action: "verify", existing, built }
}

/**
 * What verifying the published digest found, with the verification the deploy's "verify signature" step
 * runs (the signing port): a signature by the expected identity for this commit, both attestations, scan
 * verdict PASS. `reason`: why it could not be verified (no signing configured, no signature, another
 * commit, no PASS).
 */
export type PublishedVerification = { verified: true; detail: string } | { verified: false; reason: string }

/** The published image adopted in place of the rebuild: what is deployed, and the warning saying why. */
export interface AdoptedImage {
  digest: string
  warning: string
}

/**
 * A tag holding another build (decideTag's "verify"): the published image is deployed instead of the
 * rebuild only when its verification proves it carries this commit and a passing scan; otherwise a
 * TagConflictError naming the tag, both digests, why the published image was not adopted, and the fix.
 * Never answers a push: the tag is never overwritten.
 */
export function adoptPublished(
  ref: string,
  conflict: { existing: string; built: string | undefined },
  verification: PublishedVerification,
): AdoptedImage {
  const { existing } = conflict
  const built = conflict.built ?? "(unknown digest)"
  if (verification.verified) {
    return {
      digest: existing,
      warning:
        `${ref} already holds ${existing}, not this rebuild (${built}): nothing was pushed and the published image is ` +
        `deployed, because it is signed by the expected identity for this commit with its SBOM and a scan verdict PASS ` +
        `(${verification.detail}). A build without the first run's cache is not byte-identical (README "Reproducible images").`,
    }
  }
  throw new TagConflictError(
    `${ref} is already published with digest ${existing}, but this build is ${built}; the tag is not overwritten. ` +
      `The published image was not deployed instead because it could not be verified: ${verification.reason}. ` +
      "This commit was already published by another build (a build without the first run's cache is not byte-identical, " +
      "see README \"Reproducible images\"). Re-run with the same build cache; or sign the deploys (--signing-key, or keyless " +
      "in GitHub Actions) so a published image signed and attested for this commit with a scan verdict PASS can be " +
      "deployed; or bump the version (--version) to publish this build under a new tag.",
  )
}

/**
 * The digest ECR holds for `repository:tag` (DescribeImages), or undefined when the tag (or the
 * repository) does not exist: a missing repository fails at the push with its own message.
 */
export async function ecrTagDigest(target: AwsTarget, repository: string, tag: string): Promise<string | undefined> {
  try {
    const out = (await jsonApi(target, "ecr", "DescribeImages", { repositoryName: repository, imageIds: [{ imageTag: tag }] })) as {
      imageDetails?: { imageDigest?: string }[]
    }
    return out.imageDetails?.[0]?.imageDigest
  } catch (err) {
    if (err instanceof AwsApiError && (err.name === "ImageNotFoundException" || err.name === "RepositoryNotFoundException")) return undefined
    const e = err as Error
    throw new Error(
      `ECR DescribeImages of ${repository}:${tag} in ${target.region} failed: ${e.name}: ${e.message}. ` +
        "The deploy looks the tag up before pushing so it never overwrites one; grant ecr:DescribeImages to the identity.",
    )
  }
}

/** One Docker image in Artifact Registry, named as its REST API names it. */
export interface ArtifactRegistryImage {
  project: string
  location: string
  repository: string
  /** The image (the API's package) inside the repository; may contain slashes. */
  image: string
}

/** As whom and where to ask Artifact Registry. */
export interface ArtifactRegistryApi {
  /** Checked credentials (config/credentials.ts readGcpCredentials). */
  auth: GcpCredentials
  /** Base URL of the Artifact Registry API. Default: Google's; a local fake in tests. */
  endpoint?: string
  /** Per-request timeout in milliseconds. Default 30 000. */
  timeoutMs?: number
}

/** The permission the lookup needs, and the narrowest predefined role that has it. */
const TAGS_GET = "artifactregistry.tags.get (roles/artifactregistry.reader on the repository)"

/**
 * The digest Artifact Registry holds for `image:tag`, or undefined when the tag (or the image, or the
 * repository) does not exist: a missing repository fails at the push with its own message.
 *
 * Asked through the Artifact Registry REST API (tags.get; the tag's `version` is
 * `.../versions/sha256:<digest>`), not the registry's `HEAD /v2/<project>/<repo>/<image>/manifests/<tag>`.
 * Both name the digest of the manifest the push uploaded (a Docker image's version ID in Artifact Registry
 * is that manifest's digest), but the registry's answer depends on content negotiation: its
 * Docker-Content-Digest is that of the representation matching the Accept header, and a registry may
 * convert or refuse a stored index or manifest type the request did not list. tags.get answers the stored
 * version whatever its media type, and takes the same bearer credentials as every other Google API the
 * module calls, where the registry speaks the Docker token protocol (a 401 challenge, then its own token).
 */
export async function artifactRegistryTagDigest(api: ArtifactRegistryApi, image: ArtifactRegistryImage, tag: string): Promise<string | undefined> {
  const enc = encodeURIComponent
  // The package ID is one path segment: an image name's slashes are escaped (%2F), as the API requires.
  const name = `projects/${enc(image.project)}/locations/${enc(image.location)}/repositories/${enc(image.repository)}/packages/${enc(image.image)}/tags/${enc(tag)}`
  const ref = `${image.image}:${tag} in Artifact Registry repository ${image.repository} (${image.project}, ${image.location})`
  const base = (api.endpoint ?? GOOGLE_ENDPOINTS.artifactRegistry).replace(/\/$/, "")
  let res: Response
  try {
    res = await fetch(`${base}/v1/${name}`, {
      headers: { authorization: await googleBearer(api.auth) },
      signal: AbortSignal.timeout(api.timeoutMs ?? 30_000),
    })
  } catch (err) {
    throw new Error(
      `could not look up ${ref}: ${(err as Error).message}. The tag is looked up before pushing so it is never overwritten; ` +
        "check the network path to Artifact Registry and re-run.",
    )
  }
  const body = await res.text()
  if (res.status === 404) return undefined
  if (res.status === 401 || res.status === 403) {
    const why = res.status === 401 ? "the credentials were not accepted (an expired access token?)" : "the identity may not read the tag"
    throw new Error(
      `Artifact Registry refused the lookup of ${ref}: HTTP ${res.status} ${googleApiMessage(body)} — ${why}. ` +
        `The tag is looked up before pushing so it is never overwritten; the deploy's identity needs ${TAGS_GET}.`,
    )
  }
  if (res.status !== 200) throw new Error(`could not look up ${ref}: HTTP ${res.status} ${googleApiMessage(body)}`)
  return versionDigest(ref, body)
}

/** The digest a tag's version names (`.../versions/sha256:<hex>`, the ID possibly escaped). */
function versionDigest(ref: string, body: string): string {
  let version: unknown
  try {
    version = (JSON.parse(body) as { version?: unknown }).version
  } catch {
    // Not JSON: reported below with the body's start.
  }
  const id = typeof version === "string" && version.includes("/versions/") ? decodeURIComponent(version.slice(version.lastIndexOf("/versions/") + 10)) : ""
  if (!/^sha256:[0-9a-f]{64}$/.test(id)) {
    throw new Error(`Artifact Registry answered for ${ref} with no sha256 version: ${body.slice(0, 200)}`)
  }
  return id
}

const CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"

/**
 * The Authorization header for a Google API, the way the Cloud Run clients authenticate (gcp/connect.ts):
 * an access token as is; a service-account key signs its own short-lived access JWT with the scope, with
 * no token exchange first.
 */
async function googleBearer(auth: GcpCredentials): Promise<string> {
  if (auth.kind === "access-token") return `Bearer ${auth.token}`
  const { JWT } = await import("#google-auth-library")
  const { key } = auth
  const client = new JWT({ email: key.clientEmail, key: key.privateKey, keyId: key.privateKeyId, scopes: [CLOUD_PLATFORM_SCOPE] })
  client.useJWTAccessWithScope = true
  client.defaultServicePath = "artifactregistry.googleapis.com"
  const header = (await client.getRequestHeaders()).get("authorization")
  if (!header) throw new Error("the GCP service-account key yielded no Authorization header; is the key's private_key a PEM key?")
  return header
}

/** Where the image tarball is mounted to read its index. */
const TARBALL = "/image/image.tar"

/**
 * The digest the registry will assign to the image: the top manifest of its OCI tarball
 * (index.json's first entry). Assumes `publish` pushes the same manifest `asTarball` writes (both with
 * the engine's default compression and OCI media types). `toolImage` must have `tar` (Trivy's alpine image does).
 */
export async function tarballDigest(tarball: File, toolImage: string): Promise<string> {
  const index = await dag
    .container()
    .from(toolImage)
    .withMountedFile(TARBALL, tarball)
    .withExec(["tar", "-xOf", TARBALL, "index.json"])
    .stdout()
  return indexDigest(index)
}

/** The first manifest digest of an OCI index.json; throws naming what is missing. */
export function indexDigest(indexJson: string): string {
  let digest: unknown
  try {
    digest = (JSON.parse(indexJson) as { manifests?: { digest?: unknown }[] }).manifests?.[0]?.digest
  } catch {
    throw new Error(`the image tarball's index.json is not JSON: ${indexJson.slice(0, 120)}`)
  }
  if (typeof digest !== "string" || !/^sha256:[0-9a-f]{64}$/.test(digest)) {
    throw new Error(`the image tarball's index.json names no sha256 manifest digest: ${indexJson.slice(0, 120)}`)
  }
  return digest
}
