// Publishing: registry logins (ECR through a signed API call inside this module; Artifact Registry from the GCP
// secret as is) and the push itself, which answers the reference WITH its digest.
//
// Secrets: the ECR password is obtained here, in the module process, and becomes a Dagger Secret at once
// (dag.setSecret); only the Secret reaches withRegistryAuth. GCP secrets are passed through untouched:
// Artifact Registry accepts the key JSON (user `_json_key`) or an access token (user `oauth2accesstoken`)
// as the registry password.
import { dag, type Container, type Secret } from "@dagger.io/dagger"
import { jsonApi } from "../aws/signed-api.js"
import { adoptPublished, artifactRegistryTagDigest, decideTag, ecrTagDigest, type PublishedVerification } from "./existing-tag.js"
import { firstLine } from "../shared/text.js"
import { ToolError } from "../shared/tool-errors.js"
import { awsCredentials, gcpCredentialSecret, readGcpCredentials, type AwsCredentials, type AwsSecrets, type GcpSecrets } from "../config/credentials.js"
import {
  artifactRegistryAddress,
  artifactRegistryHost,
  ecrRepositoryAddress,
  publishedRef,
  registryHostFromEndpoint,
  withTag,
} from "./image-ref.js"
import type { Settings } from "../config/settings.js"

/** Credentials for one registry, ready for Container.withRegistryAuth. */
export interface RegistryLogin {
  /** Registry host (withRegistryAuth's address). */
  host: string
  username: string
  password: Secret
}

/** Which registry an image goes to, and how to log in. */
export interface PublishTarget {
  /** For messages: "ECR" or "Artifact Registry". */
  registry: string
  /** Repository address without tag, e.g. `<account>.dkr.ecr.<region>.amazonaws.com/portfolio-prod`. */
  address: string
  login: RegistryLogin
  /**
   * The digest the registry holds for a tag of `address`, undefined when the tag is free. Absent when
   * this registry cannot be asked: then the push itself is the check (immutable tags refuse it).
   */
  tagDigest?: (tag: string) => Promise<string | undefined>
}

/**
 * What publishing one tag did: pushed the build, found the same digest under the tag already (`reused`),
 * or found another build there and adopted it after verifying it (`adopted`: the warning saying so).
 */
export interface Published {
  /** `address@sha256:...`: what the run deploys. */
  ref: string
  /** Nothing was pushed: the tag already held an image (this build's digest, or the adopted one). */
  reused: boolean
  /** The tag held another build, verified and deployed instead: the warning saying so. */
  adopted?: string
}

/** An ECR authorization token decoded: `username:password`, base64 (username is always AWS). */
export function decodeEcrToken(token: string): { username: string; password: string } {
  const text = Buffer.from(token, "base64").toString("utf8")
  const colon = text.indexOf(":")
  if (colon <= 0 || colon === text.length - 1) {
    // Never include the token or its decoding in the message: it is a credential.
    throw new Error("ECR returned an authorization token that is not base64('user:password'); cannot log in to ECR")
  }
  return { username: text.slice(0, colon), password: text.slice(colon + 1) }
}

/** Plaintext ECR login as ECR answers it. Stays inside this process. */
export interface EcrAuthorization {
  host: string
  username: string
  password: string
  expiresAt?: Date
}

/**
 * Calls ECR GetAuthorizationToken with the given credentials. `endpointUrl` is for emulators (from
 * ci/pipeline.yaml), never from the environment.
 */
export async function ecrAuthorization(opts: {
  region: string
  credentials: AwsCredentials
  endpointUrl?: string
}): Promise<EcrAuthorization> {
  let data: { authorizationToken?: string; proxyEndpoint?: string; expiresAt?: number } | undefined
  try {
    const target = { region: opts.region, credentials: opts.credentials, ...(opts.endpointUrl ? { endpoint: opts.endpointUrl } : {}) }
    const out = (await jsonApi(target, "ecr", "GetAuthorizationToken", {})) as { authorizationData?: (typeof data)[] }
    data = out.authorizationData?.[0]
  } catch (err) {
    const e = err as Error
    throw new Error(
      `ECR GetAuthorizationToken failed in ${opts.region}: ${e.name}: ${e.message}. ` +
        "Check --aws-access-key-id/--aws-secret-access-key (and --aws-session-token for OIDC) and that the " +
        "identity may call ecr:GetAuthorizationToken.",
    )
  }
  if (!data?.authorizationToken || !data.proxyEndpoint) {
    throw new Error(`ECR GetAuthorizationToken in ${opts.region} answered no token or no proxy endpoint; cannot log in to ECR`)
  }
  const { username, password } = decodeEcrToken(data.authorizationToken)
  // The JSON answer gives the expiry in epoch seconds.
  const expiresAt = typeof data.expiresAt === "number" ? new Date(data.expiresAt * 1000) : undefined
  return { host: registryHostFromEndpoint(data.proxyEndpoint), username, password, expiresAt }
}

/** Wraps an ECR authorization as a registry login whose password is a Dagger Secret. */
export function ecrLogin(auth: EcrAuthorization): RegistryLogin {
  return { host: auth.host, username: auth.username, password: dag.setSecret(`ecr-password-${auth.host}`, auth.password) }
}

/** Artifact Registry login from the GCP secret: the key JSON as `_json_key`, or a token as `oauth2accesstoken`. */
export function artifactRegistryLogin(host: string, secrets: GcpSecrets): RegistryLogin {
  const given = gcpCredentialSecret(secrets, "to log in to Artifact Registry")
  return { host, username: given.kind === "service-account-key" ? "_json_key" : "oauth2accesstoken", password: given.secret }
}

/**
 * Pushes the image to `target.address:tag` and returns `address@sha256:...` (the tag dropped: deploys
 * use digests only). Checks that the registry answered for the repository that was pushed.
 */
export async function pushImage(image: Container, target: PublishTarget, tag: string): Promise<string> {
  const ref = withTag(target.address, tag)
  let answered: string
  try {
    answered = await image.withRegistryAuth(target.login.host, target.login.username, target.login.password).publish(ref)
  } catch (err) {
    throw new Error(
      `push to ${target.registry} (${ref}) failed: ${(err as Error).message.split("\n")[0]}. ` +
        "Check that the repository exists (Terraform creates it) and the credentials may push to it.",
    )
  }
  return publishedRef(ref, answered)
}

/**
 * Verifies a published digest reference (`address@sha256:...`) and answers a detail line, or throws the
 * reason it does not verify. The deploys pass their signing port's verify: the same check as their
 * "verify signature" step.
 */
export type VerifyPublished = (ref: string, signal: AbortSignal) => Promise<string>

/** How publishImage may adopt a tag holding another build. */
export interface AdoptOptions {
  /** Absent: nothing can verify here, and another digest under the tag always fails. */
  verifyPublished?: VerifyPublished
  /** The publish step's signal: a cancelled verification fails the step as cancelled, not as a conflict. Default: never aborts. */
  signal?: AbortSignal
}

/**
 * Publishes `image` as `target.address:tag` without ever overwriting the tag: a free tag is pushed; a
 * tag holding the digest of this build (`builtDigest`, asked only then) is reused with no push; a tag
 * holding another digest is adopted with no push when `verifyPublished` verifies the published image,
 * else fails with TagConflictError (existing-tag.ts).
 */
export async function publishImage(
  image: Container,
  target: PublishTarget,
  tag: string,
  builtDigest: () => Promise<string>,
  adopt: AdoptOptions = {},
): Promise<Published> {
  const ref = withTag(target.address, tag)
  const existing = target.tagDigest ? await target.tagDigest(tag) : undefined
  const decision = decideTag(ref, existing, existing === undefined ? undefined : await builtDigest())
  if (decision.action === "reuse") return { ref: `${target.address}@${decision.digest}`, reused: true }
  if (decision.action === "verify") {
    const published = `${target.address}@${decision.existing}`
    const verification = await verifyPublishedImage(published, adopt)
    const adopted = adoptPublished(ref, decision, verification)
    return { ref: `${target.address}@${adopted.digest}`, reused: true, adopted: adopted.warning }
  }
  return { ref: await pushImage(image, target, tag), reused: false }
}

/** The verification of a published image as a value: a refusal is a reason, not an exception. */
async function verifyPublishedImage(published: string, adopt: AdoptOptions): Promise<PublishedVerification> {
  const { verifyPublished: verify, signal = new AbortController().signal } = adopt
  if (!verify) return { verified: false, reason: "nothing verifies signatures in this call" }
  try {
    return { verified: true, detail: await verify(published, signal) }
  } catch (err) {
    if (signal.aborted) throw err
    // cosign's own complaint (no signature, another commit, a scan verdict not PASS), without the
    // verify step's long fix: the conflict's message gives the fix for this case.
    const reason = err instanceof ToolError ? `${err.step} failed (exit code ${err.exitCode}): ${err.complaint}` : firstLine(err)
    return { verified: false, reason }
  }
}

/** The ECR target for staging: repository staging.names.ecrRepository in staging.aws.region. */
export async function ecrTarget(settings: Settings, secrets: AwsSecrets): Promise<PublishTarget> {
  const region = settings.staging.aws.region
  const credentials = await awsCredentials(secrets)
  const endpointUrl = settings.staging.aws.endpointUrl
  const auth = await ecrAuthorization({ region, credentials, endpointUrl })
  const repository = settings.staging.names.ecrRepository
  const api = { region, credentials, ...(endpointUrl ? { endpoint: endpointUrl } : {}) }
  return {
    registry: "ECR",
    address: ecrRepositoryAddress(auth.host, repository),
    login: ecrLogin(auth),
    tagDigest: (tag) => ecrTagDigest(api, repository, tag),
  }
}

/**
 * The Artifact Registry target for production:
 * `<production.gcp.region>-docker.pkg.dev/<project>/<production.names.artifactRepository>/<app.name>`.
 */
export function artifactRegistryTarget(settings: Settings, secrets: GcpSecrets): PublishTarget {
  const { region, project, cloudRunEndpoint } = settings.production.gcp
  const image = { project, location: region, repository: settings.production.names.artifactRepository, image: settings.app.name }
  return {
    registry: "Artifact Registry",
    address: artifactRegistryAddress(region, project, image.repository, image.image),
    login: artifactRegistryLogin(artifactRegistryHost(region), secrets),
    // As for the Terraform probes (terraform/apply.ts cloudAdapter), a local Cloud Run endpoint (tests
    // only) stands in for every Google API. Credentials are read only when a tag is looked up.
    tagDigest: async (tag) =>
      artifactRegistryTagDigest(
        { auth: await readGcpCredentials(secrets, "to look the image tag up in Artifact Registry"), endpoint: cloudRunEndpoint },
        image,
        tag,
      ),
  }
}
