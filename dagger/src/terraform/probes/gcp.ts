// GCP side of adopt-or-create: existence probes over the public REST APIs with an OAuth access
// token. Plain `fetch` keeps this file light; only the key-to-token exchange loads
// google-auth-library, lazily.
import { readGcpCredentials, type GcpSecrets } from "../../config/credentials.js"
import type { ImportEntry, Probe, ProbeResult } from "../import.js"

/** Base URLs of the Google APIs the probes call; tests point them at a local fake. */
export interface GcpEndpoints {
  storage: string
  run: string
  artifactRegistry: string
  iam: string
}

export const GOOGLE_ENDPOINTS: GcpEndpoints = {
  storage: "https://storage.googleapis.com",
  run: "https://run.googleapis.com",
  artifactRegistry: "https://artifactregistry.googleapis.com",
  iam: "https://iam.googleapis.com",
}

/** Where and as whom to call GCP. */
export interface GcpTarget {
  accessToken: string
  /** Default: the real Google APIs. */
  endpoints?: Partial<GcpEndpoints>
  /** Per-request timeout in milliseconds. Default 30 000. */
  timeoutMs?: number
}

/**
 * Resolves the GCP secrets to a short-lived access token, inside this process only: an access token
 * is used as is; a service-account key is exchanged for one.
 */
export async function gcpAccessToken(secrets: GcpSecrets): Promise<string> {
  // The one reader of the GCP Secret (config/credentials.ts): the same checks and errors as every other use.
  const credentials = await readGcpCredentials(secrets, "for the Terraform probes")
  if (credentials.kind === "access-token") return credentials.token
  const { GoogleAuth } = await import("#google-auth-library")
  const { key } = credentials
  const auth = new GoogleAuth({
    credentials: { client_email: key.clientEmail, private_key: key.privateKey },
    scopes: ["https://www.googleapis.com/auth/cloud-platform"],
  })
  const token = await auth.getAccessToken()
  if (!token) throw new Error("the GCP service-account key did not yield an access token; is the key disabled or deleted?")
  return token
}

/** The API base URLs of a target: Google's, with the target's overrides. */
export function googleEndpoints(t: GcpTarget): GcpEndpoints {
  return { ...GOOGLE_ENDPOINTS, ...t.endpoints }
}

interface ApiAnswer {
  status: number
  body: string
}

/** One authorised JSON request to a Google API; the answer's status and body, whatever the status. */
export async function callGoogleApi(t: GcpTarget, method: "GET" | "POST", url: string, body?: unknown): Promise<ApiAnswer> {
  const res = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${t.accessToken}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(t.timeoutMs ?? 30_000),
  })
  return { status: res.status, body: await res.text() }
}

/** The message of a Google API error body ({ error: { message } }), or the start of the body. */
export function googleApiMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: string; status?: string } }
    if (parsed.error?.message) return `${parsed.error.status ?? "error"}: ${parsed.error.message}`
  } catch {
    // Not JSON: fall through to the raw text.
  }
  return body.slice(0, 200)
}

function byStatus(what: string, answer: ApiAnswer, importId: string, role: string): ProbeResult {
  if (answer.status === 200) return { status: "found", importId }
  if (answer.status === 404) return { status: "absent" }
  const hint = answer.status === 403 || answer.status === 401 ? ` — the pipeline's identity needs ${role}` : ""
  return { status: "failed", reason: `could not look up ${what}: HTTP ${answer.status} ${googleApiMessage(answer.body)}${hint}` }
}

function target(probe: Probe, e: GcpEndpoints): { what: string; url: string; importId: string; role: string } {
  const enc = encodeURIComponent
  switch (probe.kind) {
    case "gcs-bucket":
      return {
        what: `GCS bucket ${probe.bucket}`,
        url: `${e.storage}/storage/v1/b/${enc(probe.bucket)}`,
        importId: probe.bucket,
        role: "storage.buckets.get on the bucket (roles/storage.admin on the project)",
      }
    case "artifact-registry-repository": {
      const name = `projects/${probe.project}/locations/${probe.location}/repositories/${probe.repository}`
      return {
        what: `Artifact Registry repository ${probe.repository}`,
        url: `${e.artifactRegistry}/v1/${name}`,
        importId: name,
        role: "roles/artifactregistry.reader",
      }
    }
    case "cloud-run-service": {
      const name = `projects/${probe.project}/locations/${probe.location}/services/${probe.service}`
      return {
        what: `Cloud Run service ${probe.service}`,
        url: `${e.run}/v2/${name}`,
        importId: name,
        role: "roles/run.viewer",
      }
    }
    case "service-account": {
      const name = `projects/${probe.project}/serviceAccounts/${probe.email}`
      return {
        what: `service account ${probe.email}`,
        url: `${e.iam}/v1/${name}`,
        importId: name,
        role: "roles/iam.serviceAccountViewer",
      }
    }
    default:
      throw new Error(`probe kind '${probe.kind}' is not a GCP probe`)
  }
}

/** Probes one resource; a kind that is not a GCP one is a failed probe (never a guess). */
export async function probeGcpResource(t: GcpTarget, probe: Probe): Promise<ProbeResult> {
  let spec: ReturnType<typeof target>
  try {
    spec = target(probe, googleEndpoints(t))
  } catch (err) {
    return { status: "failed", reason: (err as Error).message }
  }
  try {
    return byStatus(spec.what, await callGoogleApi(t, "GET", spec.url), spec.importId, spec.role)
  } catch (err) {
    return { status: "failed", reason: `could not reach the API for ${spec.what}: ${(err as Error).message}` }
  }
}

/** Probes each entry (in parallel) and returns results keyed by Terraform address. */
export async function probeGcp(entries: readonly ImportEntry[], t: GcpTarget): Promise<Map<string, ProbeResult>> {
  const results = await Promise.all(entries.map(async (e) => [e.address, await probeGcpResource(t, e.probe)] as const))
  return new Map(results)
}
