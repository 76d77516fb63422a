// The report's "Signature" section: who signed the deployed image, what is attested to it, and whether
// the digest verified before the rollout (deploy/sign.ts fills RunRecord.signature). Pure.
import type { SignatureRecord } from "./run-record.js"
import { code, text } from "./markdown.js"

const MAX_DETAIL = 300

/** The section with its heading; nothing when the run got no further than the publish. */
export function signatureSection(signature: SignatureRecord | undefined): string[] {
  if (!signature) return []
  const outcome = signature.verified ? "✅ Verified" : signature.signer === "" ? "⚠️ Unsigned" : "❌ Not verified"
  const facts = [
    `**${outcome}**`,
    `**Signer** ${signature.signer === "" ? "none" : code(signature.signer)}`,
    `**Attestations** ${signature.attestations.length > 0 ? signature.attestations.map((a) => text(a)).join(", ") : "none"}`,
  ]
  return ["", "### Signature", "", facts.join(" · "), ...(signature.detail ? ["", text(signature.detail, MAX_DETAIL)] : [])]
}
