// The ECS client of the pipeline and how its failures are explained: the SDK loaded lazily (~95 ms, 20 MB;
// only types at top level, which TypeScript erases), the client with the SDK's own standard retry strategy
// (exponential backoff with full jitter, capped; `maxAttempts` bounds it), and EcsError, which names the
// service, the action, why it failed and what to do. A cancelled call is never explained as an ECS failure.
import type { ECSClient } from "#aws-sdk/client-ecs"
import type { AwsCredentials } from "../config/credentials.js"

export type EcsSdk = typeof import("#aws-sdk/client-ecs")
// Re-exported so code outside dagger/ (tests, bench) can name the types without resolving the SDK itself.
export type { ECSClient, Service, TaskDefinition } from "#aws-sdk/client-ecs"

/** Loads the ECS SDK on first use (module top level stays cheap: every file in src loads on every call). */
export function loadEcsSdk(): Promise<EcsSdk> {
  return import("#aws-sdk/client-ecs")
}

/** Where and as whom to talk to ECS. */
export interface EcsConnection {
  region: string
  credentials: AwsCredentials
  /** Only for emulators (moto) and test servers, from ci/pipeline.yaml `staging.aws.endpointUrl`. */
  endpointUrl?: string
  /**
   * Attempts per API call, including the first, for the SDK's standard retry strategy (throttling and
   * transient errors only). Default 5.
   */
  maxAttempts?: number
}

export const DEFAULT_MAX_ATTEMPTS = 5

/** Builds an ECS client. The only place credentials become an SDK client; never logged or returned. */
export async function createEcsClient(connection: EcsConnection): Promise<ECSClient> {
  const { ECSClient } = await loadEcsSdk()
  return new ECSClient({
    region: connection.region,
    credentials: connection.credentials,
    ...(connection.endpointUrl ? { endpoint: connection.endpointUrl } : {}),
    maxAttempts: connection.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    retryMode: "standard",
  })
}

/** A service in a cluster, by name. */
export interface EcsServiceRef {
  cluster: string
  service: string
}


/** An ECS call that failed, explained: what was attempted, on what, why, and what to do. */
export class EcsError extends Error {
  override name = "EcsError"
  constructor(
    message: string,
    /** The AWS error code (e.g. ClusterNotFoundException), when AWS sent one. */
    readonly code?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

export function where(ref: EcsServiceRef, ecs: ECSClient): Promise<string> {
  return Promise.resolve(ecs.config.region())
    .then((region) => `service '${ref.service}' in cluster '${ref.cluster}' (${region})`)
    .catch(() => `service '${ref.service}' in cluster '${ref.cluster}'`)
}

interface AwsLikeError {
  name?: string
  message?: string
  $metadata?: { attempts?: number; httpStatusCode?: number }
}

/** Translates an SDK error into an EcsError naming the input, the problem and the fix. */
export async function explain(err: unknown, action: string, ref: EcsServiceRef, ecs: ECSClient, signal?: AbortSignal): Promise<EcsError> {
  // A cancelled call is not an ECS failure: the step's own reason (timeout, Ctrl-C) goes up unchanged.
  if (signal?.aborted) throw signal.reason
  if (err instanceof EcsError) return err
  const e = (err ?? {}) as AwsLikeError
  const code = e.name ?? "Error"
  const at = await where(ref, ecs)
  const attempts = e.$metadata?.attempts
  const tried = attempts && attempts > 1 ? ` (after ${attempts} attempts)` : ""
  let fix: string
  switch (code) {
    case "ClusterNotFoundException":
      fix =
        `cluster '${ref.cluster}' does not exist there. Check staging.names.cluster and staging.aws.region in ` +
        "ci/pipeline.yaml, or create staging first (deploy-staging applies Terraform)."
      break
    case "ServiceNotFoundException":
      fix = missingServiceFix(ref)
      break
    case "ServiceNotActiveException":
      fix = "the service is not ACTIVE (DRAINING or INACTIVE). Was it deleted outside Terraform? Re-apply staging."
      break
    case "AccessDeniedException":
    case "UnrecognizedClientException":
    case "InvalidSignatureException":
    case "ExpiredTokenException":
    case "InvalidClientTokenId":
      fix =
        "AWS rejected the credentials. Check --aws-access-key-id / --aws-secret-access-key (and " +
        "--aws-session-token for OIDC sessions, which expire) and that the identity may call " +
        `ecs:${action} on this service.`
      break
    case "ThrottlingException":
    case "TooManyRequestsException":
      fix = "ECS kept throttling the account. Wait a minute and run again; check for other tools polling ECS."
      break
    case "InvalidParameterException":
      fix = "ECS rejected a parameter; its message names which one."
      break
    default:
      fix =
        "If it is a network error or a 5xx, check network access to ECS (and staging.aws.endpointUrl in " +
        "ci/pipeline.yaml when set), then run again."
  }
  return new EcsError(`ECS ${action} on ${at} failed${tried}: ${code}: ${e.message ?? String(err)} — ${fix}`, code, {
    cause: err,
  })
}

export function missingServiceFix(ref: EcsServiceRef): string {
  return (
    `service '${ref.service}' does not exist in cluster '${ref.cluster}'. Check staging.names.service in ` +
    "ci/pipeline.yaml, or create staging first (deploy-staging applies Terraform)."
  )
}
