// Image references, tags and registry addresses. Pure: strings in, strings or an ImageRefError out.
// Deploys take only digest-pinned references (`repo@sha256:...`): a tag can be moved after the scan,
// a digest cannot, so what was scanned is what runs.
//
// The reference grammar is the distribution project's (reference/reference.go), the one every registry
// client implements, defined here once for every reference the pipeline reads (tool images in
// ci/pipeline.yaml, Trivy's DB repositories, deploy images):
//   reference := [domain "/"] path [":" tag] ["@" digest]
//   domain    := host [":" port]    host: DNS name, IPv4 or [IPv6]; port: digits
//   path      := component ("/" component)*    component: [a-z0-9]+ joined by ".", "_", "__" or runs of "-"
//   tag       := [\w][\w.-]{0,127}
//   digest    := sha256:<64 hex> | sha384:<96 hex> | sha512:<128 hex>    (lower-case hex, as registries check)
// The name (domain and path) is at most 255 characters. As in Docker, the first component is a domain
// only when it has a "." or a ":" or is "localhost", so `library/node` names no registry.

/** A parsed image reference: `[registry/]repository[:tag][@digest]`. */
export interface ImageRef {
  /** Registry host, with port if any (e.g. `123456789012.dkr.ecr.us-west-1.amazonaws.com`); "" when the reference names none. */
  registry: string
  /** Repository path inside the registry (e.g. `portfolio-prod` or `proj/repo/image`). */
  repository: string
  tag?: string
  /** `<algorithm>:<hex>`, e.g. `sha256:<64 hex>` */
  digest?: string
}

/** A reference that cannot be used; the message names the value, the rule and the fix. */
export class ImageRefError extends Error {
  override name = "ImageRefError"
  /** What is wrong and the form expected, without the value (for messages that show it themselves). */
  readonly problem: string
  constructor(message: string, problem = message) {
    super(message)
    this.problem = problem
  }
}

const DIGEST = /^(?:sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$/
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/
const DOMAIN_COMPONENT = "(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])"
const DOMAIN = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[A-Fa-f0-9:]+\\])(?::[0-9]+)?$`)
const MAX_NAME_LENGTH = 255
const GIT_SHA = /^[a-f0-9]{7,40}$/
// A version is both an image tag and the app's APP_VERSION (app/src/config.ts accepts
// [0-9A-Za-z][0-9A-Za-z._+-]{0,63}): the intersection of the two rules.
const VERSION = /^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$/

/** Length of the short commit used as the default version (and image tag). */
export const SHORT_COMMIT_LENGTH = 7

/** The grammar's shape, for messages: what a reference looks like. */
export const REFERENCE_FORM = "[host[:port]/]path[:tag][@sha256:<digest>]"

/**
 * Parses any valid reference (the grammar above): with or without a registry, tag or digest. Throws an
 * ImageRefError naming the part that breaks the grammar; `expected` is the form the message offers.
 */
export function parseReference(ref: string, expected = REFERENCE_FORM): ImageRef {
  const bad = (why: string) => new ImageRefError(`image reference '${ref}' ${why}; expected '${expected}'`, `${why}; expected '${expected}'`)
  if (ref.trim() !== ref || ref.length === 0) throw bad("is empty or has surrounding whitespace")

  let name = ref
  let digest: string | undefined
  const at = name.indexOf("@")
  if (at >= 0) {
    digest = name.slice(at + 1)
    name = name.slice(0, at)
    if (!DIGEST.test(digest)) {
      throw bad(`has digest '${digest}', which is not 'sha256:' followed by 64 lower-case hex digits (or sha384/sha512)`)
    }
  }

  // The tag follows the last ':' after the last '/'; a ':' before it is the registry's port.
  let tag: string | undefined
  const colon = name.lastIndexOf(":")
  if (colon > name.lastIndexOf("/")) {
    tag = name.slice(colon + 1)
    name = name.slice(0, colon)
    if (!TAG.test(tag)) throw bad(`has tag '${tag}', which is not a valid tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})`)
  }
  if (name.length > MAX_NAME_LENGTH) throw bad(`has a name of ${name.length} characters (at most ${MAX_NAME_LENGTH})`)

  const slash = name.indexOf("/")
  const first = slash < 0 ? "" : name.slice(0, slash)
  const hasRegistry = first.includes(".") || first.includes(":") || first === "localhost" || first !== first.toLowerCase()
  const registry = hasRegistry ? first : ""
  if (hasRegistry && !DOMAIN.test(registry)) throw bad(`has '${registry}' where the registry host[:port] should be`)
  const repository = hasRegistry ? name.slice(slash + 1) : name
  const badComponent = repository.split("/").find((c) => !PATH_COMPONENT.test(c))
  if (badComponent !== undefined) {
    throw bad(`has repository path component '${badComponent}' (lower-case letters and digits joined by . _ __ or -)`)
  }
  return { registry, repository, ...(tag !== undefined ? { tag } : {}), ...(digest ? { digest } : {}) }
}

/**
 * Parses a fully qualified reference. A registry host is required: deploys must name exactly where the
 * image lives (no implicit Docker Hub).
 */
export function parseImageRef(ref: string): ImageRef {
  const expected = "registry/repository[:tag]@sha256:<digest>"
  const parsed = parseReference(ref, expected)
  if (!parsed.registry) {
    const first = parsed.repository.split("/")[0]
    const why = parsed.repository.includes("/")
      ? `has no registry host ('${first}' is a path component: a host has a '.' or a ':port', or is localhost)`
      : "has no registry host"
    throw new ImageRefError(`image reference '${ref}' ${why}; expected '${expected}'`)
  }
  return parsed
}

/** Why `ref` is not a valid reference (for a settings problem line, which shows the value), or undefined. */
export function referenceProblem(ref: string): string | undefined {
  try {
    parseReference(ref)
    return undefined
  } catch (err) {
    if (err instanceof ImageRefError) return `is not a valid image reference: it ${err.problem}`
    throw err
  }
}

/**
 * Why `ref` cannot name a tool image (ci/pipeline.yaml images.*), or undefined: it must be a valid
 * reference pinned by a digest or by a tag with a digit that is not `latest` (`node:24.20.0-alpine`,
 * `trivy:0.69.3`). A bare name or a moving tag (`latest`, `alpine`) would change under the pipeline.
 */
export function toolImageProblem(ref: string): string | undefined {
  const invalid = referenceProblem(ref)
  if (invalid) return invalid
  const { tag, digest } = parseReference(ref)
  if (digest) return undefined
  if (tag === undefined) return "must be pinned to a version tag or digest: it has neither"
  if (tag === "latest" || !/\d/.test(tag)) return `must be pinned to a version tag or digest: ':${tag}' moves`
  return undefined
}

/** Formats a reference back to text (`[registry/]repository[:tag][@digest]`). */
export function formatImageRef(ref: ImageRef): string {
  return `${ref.registry ? `${ref.registry}/` : ""}${ref.repository}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`
}

/**
 * Returns the digest-pinned form `registry/repository@sha256:...` of a reference, dropping any tag.
 * Throws when the reference carries no digest: deploys accept only immutable references.
 */
export function requireDigestRef(ref: string, what = "image"): string {
  const parsed = parseImageRef(ref)
  if (!parsed.digest) {
    throw new ImageRefError(
      `${what} '${ref}' is not pinned by digest; deploys accept only 'registry/repository@sha256:<digest>'. ` +
        "Use the reference printed by `publish` (it ends in @sha256:...).",
    )
  }
  return formatImageRef({ registry: parsed.registry, repository: parsed.repository, digest: parsed.digest })
}

/** True when the reference is fully qualified and pinned by digest. */
export function isDigestRef(ref: string): boolean {
  try {
    return parseImageRef(ref).digest !== undefined
  } catch {
    return false
  }
}

/** Validates a git commit SHA (7 to 40 lower-case hex digits) and returns it. */
export function requireCommit(commit: string): string {
  if (!GIT_SHA.test(commit)) {
    throw new ImageRefError(
      `--commit '${commit}' is not a git SHA (7 to 40 lower-case hex digits); pass the full SHA, e.g. --commit=$(git rev-parse HEAD)`,
    )
  }
  return commit
}

/**
 * The version baked into the image and used as its tag: the given one, or the short commit.
 * Validated as an image tag so it can be pushed as is.
 */
export function resolveVersion(commit: string, version?: string): string {
  requireCommit(commit)
  const v = version === undefined || version === "" ? commit.slice(0, SHORT_COMMIT_LENGTH) : version
  return requireVersion(v)
}

function requireVersion(v: string): string {
  if (!VERSION.test(v)) {
    throw new ImageRefError(
      `--version '${v}' cannot be used as an image tag and APP_VERSION (allowed: letters, digits, '.', '_', '-', ` +
        "at most 64, starting with a letter or digit); e.g. use 1.4.2 or 1.4.2-rc.1 instead of 1.4.2+build",
    )
  }
  return v
}

/** How reports name the app's image before it has a registry: `<app.name>:<version>`, e.g. `portfolio:1.2.3`. */
export function localImageName(appName: string, version: string): string {
  return `${appName}:${version}`
}

/** An image ID shortened for a headline: `sha256:` and the first 12 hex digits, as `docker images` shows it. */
export function shortImageId(imageId: string): string {
  return imageId.replace(/^(sha256:[a-f0-9]{12})[a-f0-9]{52}$/, "$1")
}

/** Version and commit of a build that is not a release (check, local builds): no SHA needed. */
export const LOCAL_VERSION = "0.0.0-dev"
/** The app's marker for "not built from a known commit" (a deploy check never mistakes it for a release). */
export const UNKNOWN_COMMIT = "unknown"

/**
 * Version and commit for builds outside a release: with --commit, as resolveVersion; without it,
 * `unknown` and the given version (default 0.0.0-dev).
 */
export function buildIdentity(commit?: string, version?: string): { commit: string; version: string } {
  if (commit !== undefined && commit !== "") return { commit: requireCommit(commit), version: resolveVersion(commit, version) }
  return { commit: UNKNOWN_COMMIT, version: requireVersion(version === undefined || version === "" ? LOCAL_VERSION : version) }
}

/** ECR repository address `<account>.dkr.ecr.<region>.amazonaws.com/<repository>` from the registry host. */
export function ecrRepositoryAddress(registryHost: string, repository: string): string {
  return checkedRepository(registryHost, repository)
}

/** The registry host of ECR's `proxyEndpoint` (`https://<account>.dkr.ecr.<region>.amazonaws.com`). */
export function registryHostFromEndpoint(endpoint: string): string {
  let url: URL
  try {
    url = new URL(endpoint)
  } catch {
    throw new ImageRefError(`registry endpoint '${endpoint}' is not a URL like https://<host>`)
  }
  if (url.pathname !== "/" && url.pathname !== "") {
    throw new ImageRefError(`registry endpoint '${endpoint}' has a path; expected only a scheme and host`)
  }
  return url.host
}

/** Artifact Registry Docker host for a region: `<region>-docker.pkg.dev`. */
export function artifactRegistryHost(region: string): string {
  return `${region}-docker.pkg.dev`
}

/** Artifact Registry image address `<region>-docker.pkg.dev/<project>/<repository>/<image>`. */
export function artifactRegistryAddress(region: string, project: string, repository: string, image: string): string {
  return checkedRepository(artifactRegistryHost(region), `${project}/${repository}/${image}`)
}

/** `address:tag`, validated. */
export function withTag(address: string, tag: string): string {
  const ref = parseImageRef(address)
  if (ref.tag || ref.digest) throw new ImageRefError(`'${address}' already has a tag or digest; expected a bare repository address`)
  if (!TAG.test(tag)) throw new ImageRefError(`tag '${tag}' is not a valid image tag`)
  return `${address}:${tag}`
}

/**
 * Checks that what the registry answered after a push is `expected` pinned by a digest. Returns the
 * digest-pinned reference; throws if the registry answered for another repository (a misrouted push).
 */
export function publishedRef(expected: string, answered: string): string {
  const want = parseImageRef(expected)
  const got = parseImageRef(answered)
  if (got.registry !== want.registry || got.repository !== want.repository) {
    throw new ImageRefError(`pushed '${expected}' but the registry answered '${answered}' (another repository)`)
  }
  if (!got.digest) throw new ImageRefError(`the registry answered '${answered}' without a digest for '${expected}'`)
  return formatImageRef({ registry: got.registry, repository: got.repository, digest: got.digest })
}

function checkedRepository(host: string, repository: string): string {
  const address = `${host}/${repository}`
  const ref = parseImageRef(address)
  if (ref.tag || ref.digest) throw new ImageRefError(`'${address}' must not carry a tag or digest`)
  return address
}
