/**
 * Multi-cloud deploy pipeline for the portfolio app: build, test, scan and ship it to
 * AWS ECS (staging) and GCP Cloud Run (production), with verdicts, rollback and reports.
 *
 * Settings live in the repository's ci/ folder; credentials arrive only as Secrets.
 */
import { Directory, argument, object } from "@dagger.io/dagger"

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
}
