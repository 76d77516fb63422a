/**
 * Multi-cloud deploy pipeline for the portfolio app: build, test, scan and ship it to
 * AWS ECS (staging) and GCP Cloud Run (production), with verdicts, rollback and reports.
 *
 * Settings live in the repository's ci/ folder; credentials arrive only as Secrets.
 */
import { Directory, argument, func, object } from "@dagger.io/dagger"
import { checkHealth, type HealthCheck, toHealthCheck } from "./health-check.js"

/**
 * The pipeline: `check` needs no cloud account; `deploy-staging` ships to AWS ECS and
 * `deploy-production` to GCP Cloud Run.
 */
@object()
export class PortfolioPipeline {
  /** The repository checkout (the app, Terraform and ci/ settings are read from it). */
  source: Directory

  /**
   * @param source The repository root. Defaults to the git root of the module's repository.
   */
  constructor(
    @argument({ defaultPath: "/", ignore: ["**/node_modules", ".git", ".tools", "**/.terraform"] })
    source: Directory,
  ) {
    this.source = source
  }

  /**
   * Polls `<url>/health` until the expected release answers healthy several times in a row, and
   * reports what it saw: attempts, failures by kind (refused, timeout, dns, reset, tls, http5xx,
   * http4xx, unready, wrongVersion, badBody), the last error and the time to the verdict. The first
   * request goes out at once; no fixed sleep. An answer from another version (e.g. the old release
   * still serving) does not count. Works on any http(s) URL; note that it runs inside the module's
   * container, where localhost is that container, not your machine.
   *
   * @param url Base URL of the service, http or https (e.g. https://portfolio-abc123-uw.a.run.app); the path is appended.
   * @param expectedVersion Version the body's `version` must equal. Default: not checked.
   * @param expectedCommit Git SHA the body's `commit` must match (full or ≥ 7-character prefix). Default: not checked.
   * @param consecutiveSuccesses Successful answers in a row needed for "healthy". Default 3.
   * @param intervalMs Milliseconds between the starts of two attempts. Default 250.
   * @param requestTimeoutMs Per-request timeout in milliseconds. Default 2000.
   * @param budgetSeconds Give up (unhealthy) after this many seconds. Default 120.
   * @param path Health endpoint path appended to the URL. Default /health.
   */
  @func({ cache: "never" })
  async healthCheck(
    url: string,
    expectedVersion?: string,
    expectedCommit?: string,
    consecutiveSuccesses = 3,
    intervalMs = 250,
    requestTimeoutMs = 2000,
    budgetSeconds = 120,
    path = "/health",
  ): Promise<HealthCheck> {
    const result = await checkHealth(
      url,
      { version: expectedVersion, commit: expectedCommit },
      { consecutiveSuccesses, intervalMs, requestTimeoutMs, budgetSeconds, path },
    )
    return toHealthCheck(result)
  }
}
