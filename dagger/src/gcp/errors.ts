// Naming Cloud Run failures: the SDK (google-gax) throws errors that carry a gRPC status code and a
// terse message; every failure leaves this module as a CloudRunError that says what was being done, what
// Cloud Run answered (code by name) and what to do about it.
import { firstLine } from "../shared/text.js"

export type CloudRunFailureKind =
  /** The service or revision does not exist. */
  | "not-found"
  /** Cloud Run refused the request (invalid, permission, quota...). */
  | "rejected"
  /** The candidate revision failed to become ready (e.g. the container did not start). */
  | "revision-failed"
  /** The operation or readiness did not finish within the time budget. */
  | "timed-out"
  /** The long-running operation ended with an error. */
  | "operation-failed"
  /** Cloud Run reports a traffic split other than the one asked for. */
  | "traffic-mismatch"

/** A Cloud Run step that failed; the message says what, why and what to do. */
export class CloudRunError extends Error {
  override name = "CloudRunError"
  constructor(
    readonly kind: CloudRunFailureKind,
    message: string,
    readonly details: { code?: number; revision?: string } = {},
  ) {
    super(message)
  }
}

/** gRPC status codes the SDK reports, by number. */
export const Code = { DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ABORTED: 10, UNAVAILABLE: 14 } as const

/** gRPC status names by code, for messages ("PERMISSION_DENIED"). */
export const CODE_NAMES: Record<number, string> = {
  1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED", 5: "NOT_FOUND", 6: "ALREADY_EXISTS",
  7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED", 9: "FAILED_PRECONDITION", 10: "ABORTED", 11: "OUT_OF_RANGE",
  12: "UNIMPLEMENTED", 13: "INTERNAL", 14: "UNAVAILABLE", 15: "DATA_LOSS", 16: "UNAUTHENTICATED",
}

const HINTS: Record<number, string> = {
  3: "Fix the request named in the message (ci/pipeline.yaml production.* or the flags).",
  5: "Check production.gcp.project, production.gcp.region and production.names.service in ci/pipeline.yaml, and that terraform/gcp created the service.",
  7: "Grant the deploy service account roles/run.developer on the service and roles/iam.serviceAccountUser on the runtime service account.",
  8: "A Cloud Run quota was hit; wait and re-run, or raise the quota.",
  10: "The service kept changing while this run updated it (another deploy?); re-run when it is quiet.",
  14: "Cloud Run was unavailable; re-run.",
  16: "The GCP credentials were refused (expired token or disabled key); refresh --gcp-access-token or the key.",
}

/** The gRPC status code of an SDK error, when it has one. */
export function codeOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === "number" ? code : undefined
}

/** Wraps an SDK error with what was being done and what to do about it. */
export function apiError(doing: string, err: unknown, revision?: string): CloudRunError {
  const code = codeOf(err)
  const name = code !== undefined ? `${CODE_NAMES[code] ?? code} (code ${code})` : "an unexpected error"
  const hint = code !== undefined ? HINTS[code] ?? "" : ""
  const kind: CloudRunFailureKind = code === Code.NOT_FOUND ? "not-found" : "rejected"
  return new CloudRunError(kind, `Cloud Run ${doing} failed with ${name}: ${firstLine(err)}${hint ? ` ${hint}` : ""}`, {
    code,
    revision,
  })
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`
}

/**
 * Names a long-running operation that ended badly: out of time, the candidate failed to become ready, or
 * another error. `candidate` is what could be read about the candidate revision, for the message.
 */
export function operationError(input: {
  doing: string
  err: unknown
  timeoutMs: number
  service: string
  region: string
  revision?: string
  candidate?: { text: string; failed: boolean }
}): CloudRunError {
  const { doing, err, revision, candidate } = input
  const code = codeOf(err)
  const where = candidate ? ` Candidate ${candidate.text}.` : ""
  if (code === Code.DEADLINE_EXCEEDED || /total timeout/i.test(firstLine(err))) {
    return new CloudRunError(
      "timed-out",
      `Cloud Run ${doing} did not finish within ${seconds(input.timeoutMs)}.${where} ` +
        `Traffic stays where Cloud Run last reported it; check 'gcloud run services describe ${input.service} --region ${input.region}'.`,
      { code, revision },
    )
  }
  const failed = candidate?.failed === true
  return new CloudRunError(
    failed ? "revision-failed" : "operation-failed",
    `Cloud Run ${doing} failed: ${firstLine(err)} (${code !== undefined ? CODE_NAMES[code] ?? code : "no code"}).${where}` +
      (failed ? " The previous revision keeps serving; fix the image or its settings and deploy again." : ` ${HINTS[code ?? -1] ?? ""}`.trimEnd()),
    { code, revision },
  )
}
