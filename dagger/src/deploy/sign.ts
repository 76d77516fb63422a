// Signing in the deploys: who signs (planSigning, pure, checked before any cloud call), the sign-and-attest
// step right after the publish, and the "verify signature" step before any rollout. The cosign work
// itself is the signing port (supply-chain/sign/cosign.ts); the commands are supply-chain/sign/commands.ts.
//
// Policy (ci/pipeline.yaml signing.<environment>): an image nobody signed is refused before the service
// changes (block) or deployed with a warning (warn). A signed image whose verification fails is always
// refused: a signature that does not verify means the image or its attestations are not what was made.
import type { File, Secret } from "@dagger.io/dagger"
import type { Settings } from "../config/settings.js"
import type { SecretArgs } from "../config/credentials.js"
import { addWarning, skipStep } from "../report/run-record.js"
import { firstLine } from "../shared/text.js"
import { ATTESTATION_KINDS, ATTESTATIONS, GITHUB_ACTIONS_ISSUER, type VerifierIdentity } from "../supply-chain/sign/commands.js"
import type { ScanVerdictPredicate } from "../supply-chain/sign/scan-predicate.js"
import type { Steps } from "./step-runner.js"

export const SIGN_STEP = "sign and attest"
export const VERIFY_STEP = "verify signature"

type Environment = "staging" | "production"

/** How this run signs, decided from the Secrets given and ci/pipeline.yaml. */
export type SigningPlan =
  | { kind: "key"; key: Secret; password?: Secret; publicKeyPath: string; verifier: VerifierIdentity; signer: string }
  | { kind: "keyless"; request: { token: Secret; url: Secret }; verifier: VerifierIdentity; signer: string }
  | { kind: "unsigned"; why: string }

/** The Secret arguments signing reads (blank ones already dropped by presentSecrets). */
export type SigningSecrets = Pick<SecretArgs, "signingKey" | "signingPassword" | "oidcRequestToken" | "oidcRequestUrl">

/** The certificate identity a keyless signature of `environment` must carry (the workflow's job_workflow_ref). */
export function keylessIdentity(settings: Settings, environment: Environment): string {
  const { repository, workflows } = settings.signing.identity
  return `https://github.com/${repository}/${workflows[environment]}`
}

/** Path of the configured public key inside the source (ci/<publicKey>), or undefined when none is set. */
export function publicKeyPath(settings: Settings): string | undefined {
  const key = settings.signing.identity.publicKey
  return key === undefined ? undefined : `ci/${key}`
}

/**
 * Who signs (pure): --signing-key (with its optional --signing-password) or the Actions OIDC request
 * credentials, never both; nobody = unsigned, which the policy judges later. Throws naming the flags.
 */
export function planSigning(settings: Settings, environment: Environment, given: SigningSecrets): SigningPlan {
  const { signingKey, signingPassword, oidcRequestToken, oidcRequestUrl } = given
  if (signingKey && (oidcRequestToken || oidcRequestUrl)) {
    throw new Error("both --signing-key and --oidc-request-token/--oidc-request-url were given; sign with one: the key, or keyless in GitHub Actions")
  }
  if (signingPassword && !signingKey) {
    throw new Error("--signing-password was given without --signing-key; pass the key it unlocks, e.g. --signing-key=file://cosign.key")
  }
  if (signingKey) {
    const path = publicKeyPath(settings)
    if (!path) {
      throw new Error(
        "--signing-key was given but ci/pipeline.yaml names no public key to verify it against (signing.identity.publicKey); " +
          "run `cosign public-key --key cosign.key > ci/cosign.pub`, commit it and set signing.identity.publicKey: cosign.pub",
      )
    }
    return { kind: "key", key: signingKey, ...(signingPassword ? { password: signingPassword } : {}), publicKeyPath: path, verifier: { kind: "key" }, signer: `key ${path}` }
  }
  if (oidcRequestToken || oidcRequestUrl) {
    if (!oidcRequestToken || !oidcRequestUrl) {
      throw new Error(
        `${oidcRequestToken ? "--oidc-request-url" : "--oidc-request-token"} is missing: keyless signing needs both, ` +
          "--oidc-request-token=env://ACTIONS_ID_TOKEN_REQUEST_TOKEN --oidc-request-url=env://ACTIONS_ID_TOKEN_REQUEST_URL (a job with `id-token: write`)",
      )
    }
    if (settings.signing.identity.repository === "OWNER/REPO") {
      throw new Error("ci/pipeline.yaml signing.identity.repository is still the placeholder OWNER/REPO; set it to this repository so keyless signatures can be verified")
    }
    const identity = keylessIdentity(settings, environment)
    return {
      kind: "keyless",
      request: { token: oidcRequestToken, url: oidcRequestUrl },
      verifier: { kind: "keyless", certificateIdentity: identity },
      signer: `${identity} (keyless, issuer ${GITHUB_ACTIONS_ISSUER})`,
    }
  }
  return { kind: "unsigned", why: "no --signing-key and no --oidc-request-token was given" }
}

/** What a release hands the signing step to attest: the SBOM file and the scan gate's verdict. */
export interface AttestationInputs {
  sbom: File
  scan: ScanVerdictPredicate
}

/** Signs, attests and verifies digests; the Dagger side is supply-chain/sign/cosign.ts. */
export interface SigningPort {
  /** The signer as the report names it, or why nothing signs. */
  identity: { signer: string } | { unsigned: string }
  /** Signs `image` (a digest reference) and attaches every attestation; answers the attestations' names. */
  sign(image: string, attestations: AttestationInputs | undefined, signal: AbortSignal): Promise<string[]>
  /** Verifies the signature and every attestation of `image`; answers a detail line, throws with cosign's reason. */
  verify(image: string, signal: AbortSignal): Promise<string>
}

/** Names of the attestations every signed image carries, for reports. */
export const ATTESTATION_LABELS = ATTESTATION_KINDS.map((k) => ATTESTATIONS[k].label)

/** An image refused because nobody signed it and the environment's policy is block. */
export class UnsignedImageError extends Error {
  override name = "UnsignedImageError"
}

/**
 * The sign-and-attest step, right after the publish. Unsigned runs record a skipped step (the verify step
 * applies the policy). A signer that fails fails the step: nothing is rolled out.
 */
export async function signAndAttest(steps: Steps, signing: SigningPort, image: string, attestations: AttestationInputs | undefined): Promise<void> {
  const { run } = steps
  const id = signing.identity
  if ("unsigned" in id) {
    run.signature = { signer: "", attestations: [], verified: false, detail: `unsigned: ${id.unsigned}` }
    skipStep(run, SIGN_STEP, `unsigned: ${id.unsigned}`, steps.clock)
    return
  }
  run.signature = { signer: id.signer, attestations: [], verified: false, detail: "signing did not finish" }
  const signature = run.signature
  const made = await steps.step(SIGN_STEP, "publish", async (ctx) => {
    try {
      const done = await signing.sign(image, attestations, ctx.signal)
      ctx.note(`signed by ${id.signer}; attested ${done.join(", ")}`)
      return done
    } catch (err) {
      signature.detail = `signing failed: ${firstLine(err)}`
      throw err
    }
  })
  signature.attestations = made
  signature.detail = "signed and attested; not verified yet"
}

/**
 * The sign-and-attest step for an image the publish adopted (a re-run whose tag held another build,
 * verified by the signing port before adopting it): skipped, since the image already carries its
 * signature and attestations and this run's SBOM describes another build. The verify step checks it again.
 */
export function recordAdoptedSignature(steps: Steps, signing: SigningPort, image: string): void {
  const { run } = steps
  const signer = "signer" in signing.identity ? signing.identity.signer : ""
  const detail = `not signed again: ${image} was published and signed by an earlier run of this commit, verified before it was adopted`
  run.signature = { signer, attestations: [...ATTESTATION_LABELS], verified: false, detail }
  skipStep(run, SIGN_STEP, detail, steps.clock)
}

/**
 * The "verify signature" step before any rollout: the digest about to be deployed must carry a signature
 * by the expected identity and every attestation (scan verdict PASS for this commit). Unsigned: the
 * environment's policy refuses it (block) or lets it through with a warning (warn). Throws when refused.
 */
export async function verifySignature(steps: Steps, signing: SigningPort, image: string, settings: Settings, environment: Environment): Promise<void> {
  const { run } = steps
  const id = signing.identity
  const signature = (run.signature ??= { signer: "", attestations: [], verified: false, detail: "" })
  if ("unsigned" in id) {
    const policy = settings.signing[environment]
    const what = `image ${image} is unsigned (${id.unsigned})`
    await steps.step(VERIFY_STEP, "publish", async (ctx) => {
      if (policy === "block") {
        signature.detail = `${what}; refused: signing.${environment} is block`
        throw new UnsignedImageError(
          `${what} and signing.${environment} in ci/pipeline.yaml is block, so it is not deployed; ` +
            `sign it (--signing-key, or keyless in GitHub Actions) or set signing.${environment}: warn`,
        )
      }
      const message = `${what}; deployed anyway because signing.${environment} is warn`
      signature.detail = message
      ctx.warn(message)
      addWarning(run, "signing", message)
    })
    return
  }
  try {
    const detail = await steps.step(VERIFY_STEP, "publish", async (ctx) => {
      const d = await signing.verify(image, ctx.signal)
      ctx.note(d)
      return d
    })
    signature.verified = true
    signature.detail = detail
  } catch (err) {
    signature.verified = false
    signature.detail = `verification failed: ${firstLine(err)}`
    throw err
  }
}
