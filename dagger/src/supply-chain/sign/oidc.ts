// A fresh GitHub Actions id token for Sigstore, minted right before each keyless cosign command. The job
// passes the request credentials (ACTIONS_ID_TOKEN_REQUEST_TOKEN and _URL, valid for the whole job), not an
// id token: GitHub's id tokens expire 5 minutes after issue, and the build, tests and scan before signing
// take longer than that, so a token fetched when the job starts would be refused by Fulcio.
// Plaintext stays in this process; the caller turns the token into a Dagger Secret at once.

/** The audience Fulcio accepts. */
export const SIGSTORE_AUDIENCE = "sigstore"

/** Requests an id token for `audience` from the Actions token service. Throws naming the cause, never the token. */
export async function mintIdToken(
  request: { url: string; token: string },
  signal: AbortSignal,
  audience = SIGSTORE_AUDIENCE,
): Promise<string> {
  let url: URL
  try {
    url = new URL(request.url.trim())
  } catch {
    throw new Error("--oidc-request-url is not a URL; pass env://ACTIONS_ID_TOKEN_REQUEST_URL from a job with `id-token: write`")
  }
  url.searchParams.set("audience", audience)
  let res: Response
  try {
    res = await fetch(url, { headers: { authorization: `bearer ${request.token.trim()}`, accept: "application/json" }, signal })
  } catch (err) {
    signal.throwIfAborted()
    throw new Error(`the GitHub Actions OIDC token service at ${url.host} did not answer (${(err as Error).message}); re-run the job`)
  }
  const body = await res.text()
  if (!res.ok) {
    throw new Error(
      `the GitHub Actions OIDC token service answered HTTP ${res.status} for audience '${audience}'; ` +
        "check that the job grants `id-token: write` and passes --oidc-request-token/--oidc-request-url from the same job",
    )
  }
  let value: unknown
  try {
    value = (JSON.parse(body) as { value?: unknown }).value
  } catch {
    value = undefined
  }
  if (typeof value !== "string" || value.split(".").length !== 3) {
    throw new Error("the GitHub Actions OIDC token service answered no id token (expected JSON {\"value\": \"<jwt>\"})")
  }
  return value
}
