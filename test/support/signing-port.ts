// A signing port for the deploy sequences' own tests (the real one runs cosign through the engine double,
// test/deploy/staging.test.ts and production.test.ts): it records what it was asked and answers as a
// signer whose images verify, or as a run nobody signs.
import type { AttestationInputs, SigningPort } from "../../dagger/src/deploy/sign.js"

export interface RecordingSigning extends SigningPort {
  signed: { image: string; attestations: AttestationInputs | undefined }[]
  verified: string[]
}

/** Signs and verifies every image; `verify` can be made to refuse with cosign's words. */
export function recordingSigning(opts: { signer?: string; unsigned?: string; refuse?: string } = {}): RecordingSigning {
  const port: RecordingSigning = {
    identity: opts.unsigned !== undefined ? { unsigned: opts.unsigned } : { signer: opts.signer ?? "key ci/cosign.pub" },
    signed: [],
    verified: [],
    async sign(image, attestations) {
      port.signed.push({ image, attestations })
      return ["CycloneDX SBOM", "scan verdict"]
    },
    async verify(image) {
      if (opts.refuse) throw new Error(opts.refuse)
      port.verified.push(image)
      return `signature and attestations of ${image} verified`
    },
  }
  return port
}
