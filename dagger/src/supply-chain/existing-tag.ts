// A tag that is already in the registry. The repositories use immutable tags, so a re-run of the same
// commit (same version tag) must not push blindly: the registry refuses the tag, and a mutable
// repository would silently move it. Before a push the tag is looked up; the decision is pure.
import { dag, type File } from "@dagger.io/dagger"
import { AwsApiError, jsonApi, type AwsTarget } from "../aws/signed-api.js"

/** What to do with one tag, given what the registry holds and what was built. */
export type TagDecision = { action: "push" } | { action: "reuse"; digest: string }

/** The tag exists with another digest: the build is not the one published under this tag. */
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
  throw new TagConflictError(
    `${ref} is already published with digest ${existing}, but this build is ${built ?? "(unknown digest)"}; ` +
      "the tag is not overwritten. This commit was already published by another build (a build without the " +
      "first run's cache is not byte-identical, see README \"Reproducible images\"). Re-run with the same build " +
      "cache, or bump the version (--version) to publish this build under a new tag. Deploying the image " +
      "already published under the tag needs proof that it carries this commit and a passing scan (signed " +
      "attestations, not implemented yet), so the deploy stops here.",
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
