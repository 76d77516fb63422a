// Latency percentiles from a Cloud Monitoring distribution (google.api.Distribution): Cloud Run reports
// `request_latencies` as bucket counts, not as samples, so p50/p95 are read from the buckets. Pure.
//
// Bucket layout (google/api/distribution.proto): with N finite buckets there are N + 2 buckets in all,
// an underflow bucket 0 (-∞, first bound), the finite ones [lower, upper), and an overflow bucket
// [last bound, +∞). Linear: bound i = offset + width·i; exponential: bound i = scale·growthFactor^i;
// explicit: the listed bounds (N = bounds − 1). `bucketCounts` may be shorter than the bucket list: the
// missing ones are 0.
//
// A percentile is placed inside its bucket by linear interpolation, so it is exact only to the bucket's
// width (exponential buckets: a fraction of the value); the distribution's range, when reported, clamps
// it, and stands in for the open end of the underflow and overflow buckets.

/** A 64-bit integer as the client library hands it over: a number, a decimal string or a Long. */
export type Int64 = number | string | { toString(): string }

export interface BucketOptions {
  linearBuckets?: { numFiniteBuckets?: number | null; width?: number | null; offset?: number | null } | null
  exponentialBuckets?: { numFiniteBuckets?: number | null; growthFactor?: number | null; scale?: number | null } | null
  explicitBuckets?: { bounds?: number[] | null } | null
}

/** The fields of google.api.Distribution a percentile needs. */
export interface Distribution {
  count?: Int64 | null
  bucketOptions?: BucketOptions | null
  bucketCounts?: Int64[] | null
  range?: { min?: number | null; max?: number | null } | null
}

/** The same distribution with plain numbers: what merging and percentiles work on. */
export interface Buckets {
  count: number
  /** The finite bucket bounds, ascending: bucket i (1 ≤ i ≤ bounds.length − 1) is [bounds[i−1], bounds[i]). */
  bounds: number[]
  /** One count per bucket, underflow first and overflow last (bounds.length + 1 entries). */
  counts: number[]
  range?: { min: number; max: number }
}

/** An int64 of the API as a number (counts of requests fit well inside 2^53). */
export function int64(value: Int64 | null | undefined): number {
  if (value === null || value === undefined) return 0
  const n = typeof value === "number" ? value : Number(String(value))
  if (!Number.isFinite(n)) throw new Error(`'${String(value)}' is not an integer`)
  return n
}

/** The finite bucket bounds the options describe; throws naming the option that is out of range. */
export function bucketBounds(options: BucketOptions | null | undefined): number[] {
  const linear = options?.linearBuckets
  const exponential = options?.exponentialBuckets
  const explicit = options?.explicitBuckets
  if (linear) {
    const n = linear.numFiniteBuckets ?? 0
    const width = linear.width ?? 0
    if (!Number.isInteger(n) || n < 1 || !(width > 0)) {
      throw new Error(`linear buckets need numFiniteBuckets ≥ 1 and width > 0, got ${n} and ${width}`)
    }
    return Array.from({ length: n + 1 }, (_, i) => (linear.offset ?? 0) + width * i)
  }
  if (exponential) {
    const n = exponential.numFiniteBuckets ?? 0
    const growth = exponential.growthFactor ?? 0
    const scale = exponential.scale ?? 0
    if (!Number.isInteger(n) || n < 1 || !(growth > 1) || !(scale > 0)) {
      throw new Error(`exponential buckets need numFiniteBuckets ≥ 1, growthFactor > 1 and scale > 0, got ${n}, ${growth} and ${scale}`)
    }
    return Array.from({ length: n + 1 }, (_, i) => scale * growth ** i)
  }
  if (explicit) {
    const bounds = explicit.bounds ?? []
    if (bounds.length === 0 || bounds.some((b, i) => i > 0 && b <= bounds[i - 1]!)) {
      throw new Error(`explicit bucket bounds must be at least one, strictly ascending, got [${bounds.join(", ")}]`)
    }
    return [...bounds]
  }
  throw new Error("the distribution has no bucket options (linear, exponential or explicit)")
}

/** A distribution as plain numbers, checked: counts fit the buckets and add up to `count`. */
export function readBuckets(d: Distribution): Buckets {
  const bounds = bucketBounds(d.bucketOptions)
  const given = (d.bucketCounts ?? []).map(int64)
  if (given.length > bounds.length + 1) {
    throw new Error(`${given.length} bucket counts for ${bounds.length + 1} buckets`)
  }
  const counts = [...given, ...Array<number>(bounds.length + 1 - given.length).fill(0)]
  const count = int64(d.count)
  const sum = counts.reduce((a, b) => a + b, 0)
  if (given.length > 0 && sum !== count) throw new Error(`bucket counts add up to ${sum}, but the count is ${count}`)
  const range = d.range && typeof d.range.min === "number" && typeof d.range.max === "number" && count > 0
    ? { min: d.range.min, max: d.range.max }
    : undefined
  return { count, bounds, counts, ...(range ? { range } : {}) }
}

/**
 * Adds distributions up (one per alignment period or per series). They must share their buckets,
 * as points of one metric do; undefined when there are none.
 */
export function mergeBuckets(all: readonly Buckets[]): Buckets | undefined {
  const [first, ...rest] = all
  if (!first) return undefined
  const sameBounds = (b: Buckets) => b.bounds.length === first.bounds.length && b.bounds.every((x, i) => x === first.bounds[i])
  if (!rest.every(sameBounds)) throw new Error("the points have different bucket options, so they cannot be added up")
  const counts = first.counts.map((_, i) => all.reduce((s, b) => s + b.counts[i]!, 0))
  const ranges = all.map((b) => b.range).filter((r) => r !== undefined)
  // A range is only known when every non-empty part reported one.
  const known = ranges.length === all.filter((b) => b.count > 0).length && ranges.length > 0
  return {
    count: all.reduce((s, b) => s + b.count, 0),
    bounds: first.bounds,
    counts,
    ...(known ? { range: { min: Math.min(...ranges.map((r) => r.min)), max: Math.max(...ranges.map((r) => r.max)) } } : {}),
  }
}

/**
 * The p-th percentile (p in (0, 1]) of the values: the nearest rank (as the synthetic burst's figures
 * are), placed by linear interpolation inside the bucket it falls in. Undefined when the distribution is
 * empty, or has a count but no bucket counts (nothing says where the values are).
 */
export function bucketPercentile(b: Buckets, p: number): number | undefined {
  if (!(p > 0 && p <= 1)) throw new Error(`percentile must be in (0, 1], got ${p}`)
  const total = b.counts.reduce((s, c) => s + c, 0)
  if (b.count === 0 || total === 0) return undefined
  const rank = Math.max(1, Math.ceil(p * total))
  let before = 0
  for (let i = 0; i < b.counts.length; i++) {
    const c = b.counts[i]!
    if (c === 0 || before + c < rank) {
      before += c
      continue
    }
    // Open ends: the range when reported; otherwise the underflow starts at 0 (latencies are not
    // negative) and the overflow is its lower bound, the most that can be said. A reported range
    // also narrows the bucket: no value lies outside it.
    let lower = i === 0 ? (b.range?.min ?? Math.min(0, b.bounds[0]!)) : b.bounds[i - 1]!
    let upper = i === b.bounds.length ? (b.range?.max ?? lower) : b.bounds[i]!
    if (b.range) {
      lower = Math.max(lower, b.range.min)
      upper = Math.min(upper, b.range.max)
    }
    upper = Math.max(upper, lower)
    // The k-th of a bucket's c values sits at (k − ½)/c of its width: values spread evenly over it.
    return lower + ((upper - lower) * (rank - before - 0.5)) / c
  }
  return undefined
}
