// Connecting to Cloud Run: the @google-cloud/run v2 clients, their transport and their credentials.
//
// @google-cloud/run (~200 ms import, ~39 MB) and google-auth-library are loaded lazily; only types are
// imported at top level, and TypeScript erases those. One code path for the cloud and the local fake:
// the REST transport (`fallback: true`) is used in both, the fake only changes the endpoint.
import type { v2 } from "#google-cloud/run"
import type { GcpCredentials } from "../config/credentials.js"
import { CloudRunInputError } from "./traffic.js"

export type RunSdk = typeof import("#google-cloud/run")
/** Options accepted by the v2 clients' constructors. */
export type CloudRunClientOptions = NonNullable<ConstructorParameters<typeof v2.ServicesClient>[0]>

/** Loads @google-cloud/run on first use (module top level stays cheap: every file in src loads on every call). */
export function loadCloudRunSdk(): Promise<RunSdk> {
  return import("#google-cloud/run")
}

/** How to authenticate: checked credentials (config/credentials.ts readGcpCredentials), or none for a local fake. */
export type GcpAuth = GcpCredentials | { kind: "none" }

export interface CloudRunConnection {
  auth: GcpAuth
  /**
   * Endpoint of a local fake/emulator, e.g. http://127.0.0.1:8123 (ci/pipeline.yaml
   * production.gcp.cloudRunEndpoint). Real runs leave it out.
   */
  endpoint?: string
  /** Builds the clients from the computed options. Default: @google-cloud/run v2 clients. Tests may inject. */
  createClients?: (options: CloudRunClientOptions) => Promise<CloudRunClients> | CloudRunClients
}

/** The two v2 clients the pipeline uses. */
export interface CloudRunClients {
  services: Pick<v2.ServicesClient, "getService" | "updateService">
  revisions: Pick<v2.RevisionsClient, "getRevision" | "listRevisions" | "deleteRevision">
  close(): Promise<void>
}

/** Transport options for the REST transport; with an endpoint, the client talks to it instead of Google. */
export function endpointOptions(endpoint?: string): CloudRunClientOptions {
  if (endpoint === undefined) return { fallback: true }
  let url: URL
  try {
    url = new URL(endpoint)
  } catch {
    throw new CloudRunInputError(`Cloud Run endpoint '${endpoint}' is not a URL; expected e.g. http://127.0.0.1:8123 (production.gcp.cloudRunEndpoint).`)
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.pathname.replace(/\/$/, "") !== "") {
    throw new CloudRunInputError(`Cloud Run endpoint '${endpoint}' must be http(s)://host[:port] with no path (production.gcp.cloudRunEndpoint).`)
  }
  const protocol = url.protocol.slice(0, -1)
  // Without an explicit port and protocol the REST client silently hangs, so both are always given.
  const port = url.port ? Number(url.port) : protocol === "https" ? 443 : 80
  return { fallback: true, apiEndpoint: url.hostname, port, protocol }
}

const CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"

/** The auth client for Google's REST clients (Cloud Run, Cloud Monitoring): from the credentials, or none for a local endpoint. */
export async function authOptions(connection: CloudRunConnection): Promise<CloudRunClientOptions> {
  const auth = connection.auth
  const { JWT, OAuth2Client, PassThroughClient } = await import("#google-auth-library")
  if (auth.kind === "service-account-key") {
    const { key } = auth
    // google-auth-library's JWT client (its replacement for the deprecated `credentials` option). Like
    // the Google client libraries do by default, it signs its own short-lived access JWT with the key's
    // scopes instead of exchanging it at the token endpoint first.
    const client = new JWT({ email: key.clientEmail, key: key.privateKey, keyId: key.privateKeyId, scopes: [CLOUD_PLATFORM_SCOPE] })
    client.useJWTAccessWithScope = true
    client.defaultServicePath = "run.googleapis.com"
    return { authClient: client }
  }
  if (auth.kind === "access-token") {
    const client = new OAuth2Client()
    client.setCredentials({ access_token: auth.token })
    return { authClient: client }
  }
  if (connection.endpoint === undefined) {
    throw new CloudRunInputError(
      "no GCP credentials given for Cloud Run: pass --gcp-credentials or --gcp-access-token (only a local endpoint may be used without).",
    )
  }
  return { authClient: new PassThroughClient() }
}

/** Connects to Cloud Run (or the configured fake/emulator). Close the clients when done. */
export async function connectCloudRun(connection: CloudRunConnection): Promise<CloudRunClients> {
  const options: CloudRunClientOptions = { ...endpointOptions(connection.endpoint), ...(await authOptions(connection)) }
  if (connection.createClients) return connection.createClients(options)
  const { v2: run } = await loadCloudRunSdk()
  const services = new run.ServicesClient(options)
  const revisions = new run.RevisionsClient(options)
  return {
    services,
    revisions,
    async close() {
      await Promise.all([services.close(), revisions.close()])
    },
  }
}
