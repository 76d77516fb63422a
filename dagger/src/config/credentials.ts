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

/** Every Secret a function of the module may receive, by its argument name (the CLI flag in camelCase). */
export interface SecretArgs {
  awsAccessKeyId?: Secret
  awsSecretAccessKey?: Secret
  awsSessionToken?: Secret
  gcpCredentials?: Secret
  gcpAccessToken?: Secret
  slackWebhook?: Secret
  discordWebhook?: Secret
  webhook?: Secret
  /** cosign private key (key signing). */
  signingKey?: Secret
  signingPassword?: Secret
  /** GitHub Actions' OIDC request token and URL (keyless signing mints an id token from them). */
  oidcRequestToken?: Secret
  oidcRequestUrl?: Secret
}

/** What presentSecrets needs of a Secret. */
type SecretValue = Pick<Secret, "plaintext">

/** The Secrets that hold a value, and every value (only ever used to scrub output). */
export interface PresentSecrets<T> {
  given: Partial<T>
  values: string[]
}

/**
 * Drops Secrets whose value is empty or blank: GitHub Actions passes "" for a secret that is not set,
 * so `--slack-webhook=env://SLACK_WEBHOOK_URL` then arrives as an empty Secret, which must mean "not
 * given", not "a webhook with an empty URL" (or half an AWS key). Every function that takes Secrets
 * applies it before looking at them.
 */
export async function presentSecrets<T extends { [K in keyof T]?: SecretValue }>(args: T): Promise<PresentSecrets<T>> {
  const names = Object.keys(args) as (keyof T)[]
  const read = await Promise.all(names.map(async (name) => ({ name, secret: args[name], value: await args[name]?.plaintext() })))
  const given: Partial<T> = {}
  const values: string[] = []
  for (const { name, secret, value } of read) {
    if (secret === undefined || value === undefined || value.trim() === "") continue
    given[name] = secret
    values.push(value, value.trim())
  }
  return { given, values }
}

/** The AWS Secret arguments: --aws-access-key-id, --aws-secret-access-key, --aws-session-token. */
export type AwsSecretArgs = Pick<SecretArgs, "awsAccessKeyId" | "awsSecretAccessKey" | "awsSessionToken">

/** AwsSecrets from the arguments, failing before any cloud call unless both halves of the key are given. */
export function requireAwsSecrets(args: AwsSecretArgs): AwsSecrets {
  const { awsAccessKeyId: accessKeyId, awsSecretAccessKey: secretAccessKey, awsSessionToken: sessionToken } = args
  if (accessKeyId && secretAccessKey) return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) }
  const missing = [accessKeyId ? null : "--aws-access-key-id", secretAccessKey ? null : "--aws-secret-access-key"]
  throw new Error(
    `AWS credentials are incomplete: ${missing.filter((x) => x !== null).join(" and ")} not given. ` +
      "Pass them as secrets, e.g. --aws-access-key-id=env://AWS_ACCESS_KEY_ID " +
      "--aws-secret-access-key=env://AWS_SECRET_ACCESS_KEY (plus --aws-session-token for OIDC).",
  )
}

/**
 * AwsSecrets where AWS is optional: undefined when no AWS argument is given; otherwise both halves of
 * the key are required, since half a key (or a session token alone) is a mistake worth stopping for.
 */
export function optionalAwsSecrets(args: AwsSecretArgs): AwsSecrets | undefined {
  if (!args.awsAccessKeyId && !args.awsSecretAccessKey && !args.awsSessionToken) return undefined
  return requireAwsSecrets(args)
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

/** The GCP credential given, by kind: a service-account key (--gcp-credentials) or an access token. */
export interface GcpCredentialSecret {
  kind: "service-account-key" | "access-token"
  secret: Secret
}

/**
 * Which GCP credential was given: the one place that tells a key from a token, for containers, registry
 * logins and SDK clients alike. `purpose` completes the error when none is ("to log in to Artifact Registry").
 */
export function gcpCredentialSecret(secrets: GcpSecrets, purpose: string): GcpCredentialSecret {
  if (secrets.credentials) return { kind: "service-account-key", secret: secrets.credentials }
  if (secrets.accessToken) return { kind: "access-token", secret: secrets.accessToken }
  throw new Error(`no GCP credentials ${purpose}: pass --gcp-credentials or --gcp-access-token`)
}

/** The fields of a service-account key an SDK client signs with. */
export interface ServiceAccountKey {
  clientEmail: string
  privateKey: string
  privateKeyId?: string
  projectId?: string
}

/** Plaintext GCP credentials, checked, for SDK clients only. Never log, return or put this in a container. */
export type GcpCredentials =
  | { kind: "service-account-key"; key: ServiceAccountKey }
  | { kind: "access-token"; token: string }

/**
 * Reads the given GCP Secret for an SDK client inside this process and checks its form once: a key must be
 * a service-account key JSON, a token must not be blank. Errors never echo any part of the Secret.
 */
export async function readGcpCredentials(secrets: GcpSecrets, purpose: string): Promise<GcpCredentials> {
  const given = gcpCredentialSecret(secrets, purpose)
  const plaintext = await given.secret.plaintext()
  if (given.kind === "service-account-key") return { kind: "service-account-key", key: parseServiceAccountKey(plaintext) }
  const token = plaintext.trim()
  if (token === "") throw new Error("--gcp-access-token is empty; pass a token from workload identity federation.")
  return { kind: "access-token", token }
}

function parseServiceAccountKey(keyJson: string): ServiceAccountKey {
  let data: unknown
  try {
    data = JSON.parse(keyJson)
  } catch {
    throw new Error(
      "--gcp-credentials is not JSON; pass the service-account key file's content, e.g. --gcp-credentials=env://GCP_SERVICE_ACCOUNT_KEY.",
    )
  }
  const key = (data ?? {}) as Record<string, unknown>
  const text = (k: string): string | undefined => (typeof key[k] === "string" && key[k] !== "" ? (key[k] as string) : undefined)
  const missing = ["client_email", "private_key"].filter((k) => text(k) === undefined)
  if (key["type"] !== "service_account" || missing.length > 0) {
    throw new Error(
      `--gcp-credentials is not a service-account key (type '${typeof key["type"] === "string" ? key["type"] : "?"}'` +
        `${missing.length > 0 ? `, missing ${missing.join(" and ")}` : ""}). Create a JSON key for the deploy service account, ` +
        "or use --gcp-access-token with workload identity federation.",
    )
  }
  const optional = (k: string): string | undefined => (typeof key[k] === "string" ? (key[k] as string) : undefined)
  const privateKeyId = optional("private_key_id")
  const projectId = optional("project_id")
  return {
    clientEmail: text("client_email")!,
    privateKey: text("private_key")!,
    ...(privateKeyId !== undefined ? { privateKeyId } : {}),
    ...(projectId !== undefined ? { projectId } : {}),
  }
}

/** Where a container finds the GCP service-account key when one is mounted. */
export const GCP_KEY_PATH = "/run/secrets/gcp-key.json"

/**
 * Exposes GCP credentials to a container: a key is mounted as a file (GOOGLE_APPLICATION_CREDENTIALS
 * points at it); an access token becomes GOOGLE_OAUTH_ACCESS_TOKEN, which the Terraform google
 * provider reads.
 */
export function withGcpSecrets(container: Container, secrets: GcpSecrets): Container {
  const given = gcpCredentialSecret(secrets, "for Terraform")
  if (given.kind === "service-account-key") {
    return container.withMountedSecret(GCP_KEY_PATH, given.secret).withEnvVariable("GOOGLE_APPLICATION_CREDENTIALS", GCP_KEY_PATH)
  }
  return container.withSecretVariable("GOOGLE_OAUTH_ACCESS_TOKEN", given.secret)
}
