// The state backends, bootstrapped before `terraform init` (which needs them to exist): the staging
// S3 bucket and DynamoDB lock table, the production GCS bucket. Each is created private, versioned
// and encrypted from the first second (state may hold secrets); every bootstrap is safe to repeat and
// to race. Terraform adopts them through the import manifest and owns their settings afterwards.
import type { AwsProbe } from "./import.js"
import { jsonApi, s3BucketApi } from "../aws/signed-api.js"
import { sleep } from "../shared/wait.js"
import { AwsClients, awsErrorName, probeAwsResource, type AwsTarget } from "./probes/aws.js"
import { callGoogleApi, googleApiMessage, googleEndpoints, probeGcpResource, type GcpTarget } from "./probes/gcp.js"

/** What the AWS bootstrap found and did. */
export interface BackendBootstrap {
  created: string[]
  existing: string[]
}

/** Makes sure the staging state bucket and lock table exist, creating them when missing. */
export async function bootstrapAwsBackend(
  target: AwsTarget,
  backend: { bucket: string; lockTable: string },
): Promise<BackendBootstrap> {
  const report: BackendBootstrap = { created: [], existing: [] }
  const clients = new AwsClients(target)
  try {
    const record = (created: boolean, what: string) => (created ? report.created : report.existing).push(what)
    const { bucket, lockTable } = backend
    record(
      await createIfAbsent(clients, "state bucket", { kind: "s3-bucket", bucket }, () => createStateBucket(clients, bucket)),
      `S3 bucket ${bucket}`,
    )
    record(
      await createIfAbsent(clients, "lock table", { kind: "dynamodb-table", table: lockTable }, () => createLockTable(clients, lockTable)),
      `DynamoDB table ${lockTable}`,
    )
    return report
  } finally {
    clients.destroy()
  }
}

/** Probes a backend resource and creates it when absent; true when this run created it. */
async function createIfAbsent(clients: AwsClients, role: string, probe: AwsProbe, create: () => Promise<boolean>): Promise<boolean> {
  const found = await probeAwsResource(clients, probe)
  if (found.status === "failed") throw new Error(`${role} bootstrap: ${found.reason}`)
  return found.status === "absent" && (await create())
}

/**
 * Sends a create call. False when AWS answers `exists` (a concurrent run created it a moment ago);
 * any other error is thrown, explained by `explain`.
 */
async function createUnlessRaced(send: () => Promise<unknown>, exists: string, explain: (err: unknown) => string): Promise<boolean> {
  try {
    await send()
    return true
  } catch (err) {
    if (awsErrorName(err) === exists) return false
    throw new Error(explain(err))
  }
}

const errorText = (err: unknown) => `${awsErrorName(err)} ${err instanceof Error ? err.message : String(err)}`

/** True when this run created the bucket (false when a concurrent run did). */
async function createStateBucket(clients: AwsClients, bucket: string): Promise<boolean> {
  const target = clients.target
  const region = target.region
  const put = (subresource: string | undefined, xml: string) => s3BucketApi(target, { method: "PUT", bucket, subresource, xml })
  const created = await createUnlessRaced(
    // us-east-1 is the one region that rejects an explicit location constraint.
    () =>
      region === "us-east-1"
        ? s3BucketApi(target, { method: "PUT", bucket })
        : put(undefined, s3Xml("CreateBucketConfiguration", `<LocationConstraint>${region}</LocationConstraint>`)),
    "BucketAlreadyOwnedByYou",
    (err) =>
      `could not create the state bucket ${bucket} in ${region}: ${errorText(err)}. ` +
      "Bucket names are global; if another account owns it, choose another staging.terraform.stateBucket.",
  )
  // Idempotent puts: a racing run applying them too is harmless.
  const settings: [string, string][] = [
    [
      "publicAccessBlock",
      s3Xml(
        "PublicAccessBlockConfiguration",
        "<BlockPublicAcls>true</BlockPublicAcls><IgnorePublicAcls>true</IgnorePublicAcls>" +
          "<BlockPublicPolicy>true</BlockPublicPolicy><RestrictPublicBuckets>true</RestrictPublicBuckets>",
      ),
    ],
    ["versioning", s3Xml("VersioningConfiguration", "<Status>Enabled</Status>")],
    [
      "encryption",
      s3Xml(
        "ServerSideEncryptionConfiguration",
        "<Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm></ApplyServerSideEncryptionByDefault>" +
          "<BucketKeyEnabled>true</BucketKeyEnabled></Rule>",
      ),
    ],
  ]
  for (const [subresource, xml] of settings) {
    try {
      await put(subresource, xml)
    } catch (err) {
      throw new Error(
        `could not set ${subresource} on the state bucket ${bucket}: ${errorText(err)}. ` +
          "The pipeline's AWS identity needs s3:PutBucketPublicAccessBlock, s3:PutBucketVersioning and s3:PutEncryptionConfiguration on it.",
      )
    }
  }
  return created
}

/** An S3 configuration document (the values put here are fixed literals, so nothing needs escaping). */
const s3Xml = (root: string, inner: string) => `<${root} xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${inner}</${root}>`

// The lock table must be ACTIVE (not CREATING) before init locks state: polled as the SDK waiter did.
const TABLE_ACTIVE_WAIT = { maxMs: 120_000, minDelayMs: 1_000, maxDelayMs: 5_000 }

/** True when this run created the table (false when a concurrent run did). */
async function createLockTable(clients: AwsClients, table: string): Promise<boolean> {
  const target = clients.target
  const created = await createUnlessRaced(
    () =>
      jsonApi(target, "dynamodb", "CreateTable", {
        TableName: table,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [{ AttributeName: "LockID", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "LockID", KeyType: "HASH" }],
      }),
    "ResourceInUseException",
    (err) => `could not create the lock table ${table}: ${errorText(err)}`,
  )
  const deadline = Date.now() + TABLE_ACTIVE_WAIT.maxMs
  let status = "unknown"
  for (let delay = TABLE_ACTIVE_WAIT.minDelayMs; ; delay = Math.min(delay * 2, TABLE_ACTIVE_WAIT.maxDelayMs)) {
    try {
      const answer = (await jsonApi(target, "dynamodb", "DescribeTable", { TableName: table })) as { Table?: { TableStatus?: string } }
      status = answer.Table?.TableStatus ?? "unknown"
      if (status === "ACTIVE") return created
    } catch (err) {
      // A table created a moment ago may not be visible yet.
      if (awsErrorName(err) !== "ResourceNotFoundException") throw new Error(`could not read the lock table ${table}: ${errorText(err)}`)
    }
    if (Date.now() + delay > deadline) break
    await sleep(delay)
  }
  throw new Error(
    `the lock table ${table} is still ${status} after ${TABLE_ACTIVE_WAIT.maxMs / 1000} s; check it in the DynamoDB console and run again`,
  )
}

/**
 * Makes sure the production state bucket exists, creating it when missing with versioning, uniform
 * access and public access prevention. A 409 from a concurrent creation counts as existing.
 */
export async function bootstrapGcsBackend(
  t: GcpTarget,
  backend: { project: string; bucket: string; location: string },
): Promise<{ created: boolean }> {
  const probe = await probeGcpResource(t, { kind: "gcs-bucket", bucket: backend.bucket })
  if (probe.status === "failed") {
    const taken = probe.reason.includes("HTTP 403")
      ? ". Bucket names are global: if another project owns this one, choose another production.terraform.stateBucket " +
        "in ci/pipeline.yaml; if it is yours, grant the pipeline's identity roles/storage.admin"
      : ""
    throw new Error(`state bucket bootstrap: ${probe.reason}${taken}`)
  }
  if (probe.status === "found") return { created: false }
  const storage = googleEndpoints(t).storage
  const answer = await callGoogleApi(t, "POST", `${storage}/storage/v1/b?project=${encodeURIComponent(backend.project)}`, {
    name: backend.bucket,
    location: backend.location.toUpperCase(),
    versioning: { enabled: true },
    iamConfiguration: {
      uniformBucketLevelAccess: { enabled: true },
      publicAccessPrevention: "enforced",
    },
  })
  if (answer.status === 200) return { created: true }
  if (answer.status === 409) {
    // Either a concurrent run created it (fine) or another project owns the global name (not fine).
    const again = await probeGcpResource(t, { kind: "gcs-bucket", bucket: backend.bucket })
    if (again.status === "found") return { created: false }
    throw new Error(
      `the state bucket name ${backend.bucket} is taken by another project; choose another production.terraform.stateBucket in ci/pipeline.yaml`,
    )
  }
  throw new Error(
    `could not create the state bucket ${backend.bucket} in project ${backend.project}: HTTP ${answer.status} ` +
      `${googleApiMessage(answer.body)}. The pipeline's identity needs roles/storage.admin on the project.`,
  )
}
