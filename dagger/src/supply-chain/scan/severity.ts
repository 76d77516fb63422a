// The severity levels of scan findings, defined once. The CLI's enum below is the definition (its
// members and doc comments are what `--severity` accepts and `--help` shows); the settings schema, the
// gate's report schema, the run record and the report's tables derive from it.

/** Severity levels of Trivy findings, for --severity. */
// Member names are what the CLI accepts (`--severity HIGH,CRITICAL`), so they are Trivy's own words.
// Declared least severe first, the order Trivy lists them in; SEVERITIES gives the reverse.
export enum ScanSeverity {
  /** No severity assigned by the advisory sources. */
  UNKNOWN = "UNKNOWN",
  /** Low impact. */
  LOW = "LOW",
  /** Moderate impact. */
  MEDIUM = "MEDIUM",
  /** Serious impact; fails the gate by default. */
  HIGH = "HIGH",
  /** Most severe; fails the gate by default. */
  CRITICAL = "CRITICAL",
}

/** A severity as plain data (settings, policies, reports, the run record): one of the enum's values. */
export type SeverityName = `${ScanSeverity}`

const LEAST_SEVERE_FIRST: readonly ScanSeverity[] = Object.values(ScanSeverity)

/** Every severity, most severe first: the order of the gate's findings, summaries and report tables. */
export const SEVERITIES: readonly SeverityName[] = [...LEAST_SEVERE_FIRST].reverse()

/** Position in SEVERITIES: 0 for CRITICAL, growing as severity falls; sorts most severe first. */
export function severityRank(severity: SeverityName): number {
  return SEVERITIES.indexOf(severity)
}

/** Trivy's `--severity` value that asks for every level, so the report is complete and the gate decides. */
export const EVERY_SEVERITY_ARG = LEAST_SEVERE_FIRST.join(",")
