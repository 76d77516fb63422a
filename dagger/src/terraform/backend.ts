// The state backends, bootstrapped before `terraform init` (which needs them to exist): the staging
// S3 bucket and DynamoDB lock table, the production GCS bucket. Each is created private, versioned
// and encrypted from the first second (state may hold secrets); every bootstrap is safe to repeat and
// to race. Terraform adopts them through the import manifest and owns their settings afterwards.
import type { AwsProbe } from "./import.js"
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
  const region = clients.target.region
  const sdk = await import("#aws-sdk/client-s3")
  const s3 = await clients.s3()
  const created = await createUnlessRaced(
    () =>
      s3.send(
        new sdk.CreateBucketCommand({
          Bucket: bucket,
          // us-east-1 is the one region that rejects an explicit location constraint.
          ...(region === "us-east-1" ? {} : { CreateBucketConfiguration: { LocationConstraint: region as never } }),
        }),
      ),
    "BucketAlreadyOwnedByYou",
    (err) =>
      `could not create the state bucket ${bucket} in ${region}: ${errorText(err)}. ` +
      "Bucket names are global; if another account owns it, choose another staging.terraform.stateBucket.",
  )
  // Idempotent puts: a racing run applying them too is harmless.
  await s3.send(
    new sdk.PutPublicAccessBlockCommand({
      Bucket: bucket,
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    }),
  )
  await s3.send(new sdk.PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: "Enabled" } }))
  await s3.send(
    new sdk.PutBucketEncryptionCommand({
      Bucket: bucket,
      ServerSideEncryptionConfiguration: {
        Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms" }, BucketKeyEnabled: true }],
      },
    }),
  )
  return created
}

/** True when this run created the table (false when a concurrent run did). */
async function createLockTable(clients: AwsClients, table: string): Promise<boolean> {
  const sdk = await import("#aws-sdk/client-dynamodb")
  const client = await clients.dynamodb()
  const created = await createUnlessRaced(
    () =>
      client.send(
        new sdk.CreateTableCommand({
          TableName: table,
          BillingMode: "PAY_PER_REQUEST",
          AttributeDefinitions: [{ AttributeName: "LockID", AttributeType: "S" }],
          KeySchema: [{ AttributeName: "LockID", KeyType: "HASH" }],
        }),
      ),
    "ResourceInUseException",
    (err) => `could not create the lock table ${table}: ${errorText(err)}`,
  )
  // init locks state right after this; the table must be ACTIVE, not CREATING.
  await sdk.waitUntilTableExists({ client, maxWaitTime: 120, minDelay: 1, maxDelay: 5 }, { TableName: table })
  return created
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
