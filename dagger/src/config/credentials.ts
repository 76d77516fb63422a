// Cloud credentials arrive only as Dagger Secrets. Two ways out, and only two:
// - into a container as secret variables (never plaintext env vars or exec args);
// - as plaintext into an SDK client constructed inside this module process.
import type { Container, Secret } from "@dagger.io/dagger"

/** AWS credentials as the CLI passes them (`--aws-access-key-id=env://...`). */
export interface AwsSecrets {
  accessKeyId: Secret
  secretAccessKey: Secret
  /** Present for temporary credentials (OIDC role sessions). */
  sessionToken?: Secret
}

/** Plaintext AWS credentials, for SDK clients only. Never log, return or put this in a container. */
export interface AwsCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

/** GCP credentials: a service-account key JSON, or a short-lived OAuth access token (OIDC). */
export interface GcpSecrets {
  credentials?: Secret
  accessToken?: Secret
}

/** Builds AwsSecrets from optional CLI arguments, failing before any cloud call when one is missing. */
export function requireAwsSecrets(
  accessKeyId: Secret | undefined,
  secretAccessKey: Secret | undefined,
  sessionToken?: Secret,
): AwsSecrets {
  const missing = [
    accessKeyId ? null : "--aws-access-key-id",
    secretAccessKey ? null : "--aws-secret-access-key",
  ].filter((x): x is string => x !== null)
  if (missing.length > 0) {
    throw new Error(
      `AWS credentials are incomplete: ${missing.join(" and ")} not given. ` +
        "Pass them as secrets, e.g. --aws-access-key-id=env://AWS_ACCESS_KEY_ID " +
        "--aws-secret-access-key=env://AWS_SECRET_ACCESS_KEY (plus --aws-session-token for OIDC).",
    )
  }
  return { accessKeyId: accessKeyId!, secretAccessKey: secretAccessKey!, sessionToken }
}

/** Checks that exactly one GCP credential form is given, before any cloud call. */
export function requireGcpSecrets(credentials: Secret | undefined, accessToken: Secret | undefined): GcpSecrets {
  if (!credentials && !accessToken) {
    throw new Error(
      "GCP credentials missing: pass --gcp-credentials=env://GCP_SERVICE_ACCOUNT_KEY (service-account key JSON) " +
        "or --gcp-access-token=env://GCP_ACCESS_TOKEN (from workload identity federation).",
    )
  }
  if (credentials && accessToken) {
    throw new Error(
      "GCP credentials ambiguous: pass either --gcp-credentials or --gcp-access-token, not both.",
    )
  }
  return { credentials, accessToken }
}

/** Resolves AWS secrets to plaintext for an SDK client inside this process. */
export async function awsCredentials(secrets: AwsSecrets): Promise<AwsCredentials> {
  const [accessKeyId, secretAccessKey, sessionToken] = await Promise.all([
    secrets.accessKeyId.plaintext(),
    secrets.secretAccessKey.plaintext(),
    secrets.sessionToken?.plaintext(),
  ])
  return sessionToken ? { accessKeyId, secretAccessKey, sessionToken } : { accessKeyId, secretAccessKey }
}

/** Exposes AWS credentials to a container as secret variables (the standard AWS_* names). */
export function withAwsSecrets(container: Container, secrets: AwsSecrets): Container {
  let c = container
    .withSecretVariable("AWS_ACCESS_KEY_ID", secrets.accessKeyId)
    .withSecretVariable("AWS_SECRET_ACCESS_KEY", secrets.secretAccessKey)
  if (secrets.sessionToken) c = c.withSecretVariable("AWS_SESSION_TOKEN", secrets.sessionToken)
  return c
}

/** Where a container finds the GCP service-account key when one is mounted. */
export const GCP_KEY_PATH = "/run/secrets/gcp-key.json"

/**
 * Exposes GCP credentials to a container: a key is mounted as a file (GOOGLE_APPLICATION_CREDENTIALS
 * points at it); an access token becomes GOOGLE_OAUTH_ACCESS_TOKEN, which the Terraform google
 * provider reads.
 */
export function withGcpSecrets(container: Container, secrets: GcpSecrets): Container {
  if (secrets.credentials) {
    return container
      .withMountedSecret(GCP_KEY_PATH, secrets.credentials)
      .withEnvVariable("GOOGLE_APPLICATION_CREDENTIALS", GCP_KEY_PATH)
  }
  return container.withSecretVariable("GOOGLE_OAUTH_ACCESS_TOKEN", secrets.accessToken!)
}
