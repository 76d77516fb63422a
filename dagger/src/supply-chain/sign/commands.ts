// Cosign's command lines: the one definition of every flag the module passes to cosign (sign, attest,
// verify, verify-attestation), for both signer identities. Pure: inputs in, argv out. The module runs
// exactly these arrays in the pinned cosign image (images.cosign); the test suite runs the same arrays
// against a real registry with a cosign built from source, so a flag changed here is checked for real.
//
// Identities:
// - key: a cosign private key mounted as a secret file, its password in COSIGN_PASSWORD (a secret
//   variable, never a plain env or an argument). No transparency log: a private key is used where Rekor
//   may be unreachable or where image names must not become public, so the signature is verified against
//   the public key alone (--insecure-ignore-tlog).
// - keyless: GitHub Actions' OIDC token (mounted as a secret file, --identity-token) buys a short-lived
//   Fulcio certificate for the workflow's identity, and the signature is logged in Rekor; verifying
//   checks the certificate's identity (the workflow ref) and issuer.
//
// The scan attestation is an in-toto statement of the gate's verdict (predicate type
// SCAN_VERDICT_PREDICATE_TYPE, predicate built by scan-predicate.ts), not Trivy's cosign-vuln predicate:
// cosign-vuln carries the raw findings, so a verifier would have to re-run the gate with the same
// severities, ignore-unfixed choice and accepted-findings file on the same day (entries expire) to learn
// whether the image passed; the verdict predicate states what the pipeline decided, and cosign itself
// can check it (a Rego policy: verdict PASS for this commit) while verifying the signature.

/** The OIDC issuer of GitHub Actions' id tokens: keyless certificates must name it. */
export const GITHUB_ACTIONS_ISSUER = "https://token.actions.githubusercontent.com"

/** Predicate type of the scan-verdict attestation (an in-toto statement; predicate: scan-predicate.ts). */
export const SCAN_VERDICT_PREDICATE_TYPE = "urn:portfolio-pipeline:scan-verdict:v1"

/** Predicate type cosign writes for `--type cyclonedx` (in-toto's CycloneDX predicate). */
export const CYCLONEDX_PREDICATE_TYPE = "https://cyclonedx.org/bom"

/** The attestations attached to every signed image, in the order they are made and verified. */
export const ATTESTATION_KINDS = ["sbom", "scan"] as const
export type AttestationKind = (typeof ATTESTATION_KINDS)[number]

/**
 * What each attestation is: cosign's `--type` value (a name cosign maps, or a URI used as is), the
 * predicate type that lands in the statement (what a policy sees) and a name for reports.
 */
export const ATTESTATIONS: Record<AttestationKind, { type: string; predicateType: string; label: string }> = {
  sbom: { type: "cyclonedx", predicateType: CYCLONEDX_PREDICATE_TYPE, label: "CycloneDX SBOM" },
  scan: { type: SCAN_VERDICT_PREDICATE_TYPE, predicateType: SCAN_VERDICT_PREDICATE_TYPE, label: "scan verdict" },
}

/**
 * How cosign reaches the registry. `https` always, except a plain-HTTP registry on the local machine in
 * tests (`http` adds --allow-http-registry, a flag cosign says is for testing only). It is an input, set
 * in ci/pipeline.yaml (signing.registryScheme), never inferred from a host name.
 */
export type RegistryScheme = "https" | "http"

/** Files cosign reads, by path inside its container (CONTAINER_FILES) or on a test machine. */
export interface CosignFiles {
  /** Private key (key mode; a mounted secret). */
  key: string
  /** Public key the signature must verify against (key mode). */
  publicKey: string
  /** The OIDC id token (keyless; a mounted secret). */
  identityToken: string
  /** Predicate files, one per attestation: the CycloneDX SBOM and the scan verdict. */
  predicates: Record<AttestationKind, string>
  /** Rego policies (must end in .rego: cosign picks the language by extension), one per attestation. */
  policies: Record<AttestationKind, string>
}

/** Where the module mounts cosign's inputs. Secrets sit apart from plain files. */
export const CONTAINER_FILES: CosignFiles = {
  key: "/run/secrets/cosign/cosign.key",
  publicKey: "/cosign/cosign.pub",
  identityToken: "/run/secrets/cosign/oidc-token",
  predicates: { sbom: "/cosign/predicates/sbom.cdx.json", scan: "/cosign/predicates/scan-verdict.json" },
  policies: { sbom: "/cosign/policies/sbom.rego", scan: "/cosign/policies/scan-verdict.rego" },
}

/** Directory cosign reads the registry credentials from (DOCKER_CONFIG); config.json in it is a mounted secret. */
export const DOCKER_CONFIG_DIR = "/run/secrets/cosign/docker"

/** The environment variable cosign reads a private key's password from. */
export const COSIGN_PASSWORD_ENV = "COSIGN_PASSWORD"

/** Who signs. */
export type SignerIdentity = { kind: "key" } | { kind: "keyless" }

/** Whose signature a verification accepts. */
export type VerifierIdentity =
  | { kind: "key" }
  /** Exactly one of `certificateIdentity` (the workflow ref, exact) and `certificateIdentityRegexp`. */
  | { kind: "keyless"; certificateIdentity: string; certificateIdentityRegexp?: undefined }
  | { kind: "keyless"; certificateIdentityRegexp: string; certificateIdentity?: undefined }

/** Options every command shares. */
export interface CosignOptions {
  /** Default `https`. */
  registryScheme?: RegistryScheme
  /** Default CONTAINER_FILES. */
  files?: CosignFiles
}

/** The annotation signed with the image and required when verifying: the commit it was built from. */
export function commitAnnotation(commit: string): string {
  return `commit=${commit}`
}

function registryFlags(scheme: RegistryScheme = "https"): string[] {
  return scheme === "http" ? ["--allow-http-registry"] : []
}

function requireDigestRef(ref: string): void {
  // A tag can move between signing and deploying; a signature on a digest cannot.
  if (!/@sha(256|384|512):[a-f0-9]+$/.test(ref)) {
    throw new Error(`cosign is only run on digest references (repo@sha256:...); got '${ref}'`)
  }
}

function signerFlags(signer: SignerIdentity, files: CosignFiles): string[] {
  return signer.kind === "key"
    ? ["--key", files.key, "--tlog-upload=false"]
    : ["--identity-token", files.identityToken, "--tlog-upload=true"]
}

function verifierFlags(verifier: VerifierIdentity, files: CosignFiles): string[] {
  if (verifier.kind === "key") return ["--key", files.publicKey, "--insecure-ignore-tlog=true"]
  const identity =
    verifier.certificateIdentity !== undefined
      ? ["--certificate-identity", verifier.certificateIdentity]
      : ["--certificate-identity-regexp", verifier.certificateIdentityRegexp]
  return [...identity, "--certificate-oidc-issuer", GITHUB_ACTIONS_ISSUER]
}

/** `cosign sign` of a digest, with the commit as a signed annotation. */
export function signArgs(ref: string, signer: SignerIdentity, commit: string, opts: CosignOptions = {}): string[] {
  requireDigestRef(ref)
  const files = opts.files ?? CONTAINER_FILES
  return ["cosign", "sign", "--yes", ...signerFlags(signer, files), "-a", commitAnnotation(commit), ...registryFlags(opts.registryScheme), ref]
}

/**
 * `cosign attest` of one attestation. `--replace` swaps an earlier attestation of the same predicate
 * type (a re-run of the same commit reuses the published digest), so a verifier sees one per type.
 */
export function attestArgs(ref: string, signer: SignerIdentity, kind: AttestationKind, opts: CosignOptions = {}): string[] {
  requireDigestRef(ref)
  const files = opts.files ?? CONTAINER_FILES
  return [
    "cosign",
    "attest",
    "--yes",
    ...signerFlags(signer, files),
    "--type",
    ATTESTATIONS[kind].type,
    "--predicate",
    files.predicates[kind],
    "--replace",
    ...registryFlags(opts.registryScheme),
    ref,
  ]
}

/** `cosign verify`: a signature by the expected identity, over this digest, claiming this commit. */
export function verifyArgs(ref: string, verifier: VerifierIdentity, commit: string, opts: CosignOptions = {}): string[] {
  requireDigestRef(ref)
  const files = opts.files ?? CONTAINER_FILES
  return ["cosign", "verify", ...verifierFlags(verifier, files), "-a", commitAnnotation(commit), ...registryFlags(opts.registryScheme), ref]
}

/**
 * `cosign verify-attestation` of one attestation: signed by the expected identity, of the expected
 * predicate type, and its statement allowed by the kind's Rego policy (policies.ts) — all inside cosign.
 */
export function verifyAttestationArgs(ref: string, verifier: VerifierIdentity, kind: AttestationKind, opts: CosignOptions = {}): string[] {
  requireDigestRef(ref)
  const files = opts.files ?? CONTAINER_FILES
  return [
    "cosign",
    "verify-attestation",
    ...verifierFlags(verifier, files),
    "--type",
    ATTESTATIONS[kind].type,
    "--policy",
    files.policies[kind],
    ...registryFlags(opts.registryScheme),
    ref,
  ]
}
