// Percentiles from Cloud Monitoring distributions (dagger/src/gcp/distribution.ts): bucket layouts as
// google/api/distribution.proto defines them, one row per rule.
import { describe, expect, it } from "vitest"
import { bucketBounds, bucketPercentile, type Distribution, mergeBuckets, readBuckets } from "../../dagger/src/gcp/distribution.js"

const linear = { linearBuckets: { numFiniteBuckets: 4, width: 10, offset: 0 } } // [0,10) [10,20) [20,30) [30,40)
const exponential = { exponentialBuckets: { numFiniteBuckets: 3, growthFactor: 2, scale: 1 } } // [1,2) [2,4) [4,8)
const explicit = { explicitBuckets: { bounds: [5, 50, 500] } } // [5,50) [50,500)

describe("bucketBounds: the finite bounds of each layout", () => {
  it.each([
    ["linear", linear, [0, 10, 20, 30, 40]],
    ["exponential", exponential, [1, 2, 4, 8]],
    ["explicit", explicit, [5, 50, 500]],
    ["linear with an offset", { linearBuckets: { numFiniteBuckets: 2, width: 5, offset: 100 } }, [100, 105, 110]],
  ])("%s", (_, options, bounds) => {
    expect(bucketBounds(options)).toEqual(bounds)
  })

  it.each([
    ["no options", {}, /no bucket options/],
    ["linear with width 0", { linearBuckets: { numFiniteBuckets: 2, width: 0 } }, /width > 0, got 2 and 0/],
    ["exponential growing by 1", { exponentialBuckets: { numFiniteBuckets: 2, growthFactor: 1, scale: 1 } }, /growthFactor > 1/],
    ["explicit bounds not ascending", { explicitBuckets: { bounds: [5, 5, 9] } }, /strictly ascending, got \[5, 5, 9\]/],
  ])("refuses %s, naming the option", (_, options, message) => {
    expect(() => bucketBounds(options)).toThrow(message)
  })
})

describe("bucketPercentile: nearest rank, placed inside its bucket", () => {
  const p = (d: Distribution, q: number) => bucketPercentile(readBuckets(d), q)

  it.each<[string, Distribution, number, number | undefined]>([
    // 10 values in [10,20): the 5th sits at 4.5/10 of the bucket, the 10th at 9.5/10.
    ["one bucket, p50", { count: 10, bucketOptions: linear, bucketCounts: [0, 0, 10] }, 0.5, 14.5],
    ["one bucket, p95", { count: 10, bucketOptions: linear, bucketCounts: [0, 0, 10] }, 0.95, 19.5],
    // 90 fast in [1,2), 10 slow in [4,8): p50 is fast, p95 falls in the slow bucket (rank 95 = 5th of 10).
    ["a slow tail, p50", { count: "100", bucketOptions: exponential, bucketCounts: ["0", "90", "0", "10"] }, 0.5, 1 + 49.5 / 90],
    ["a slow tail, p95", { count: "100", bucketOptions: exponential, bucketCounts: ["0", "90", "0", "10"] }, 0.95, 4 + 4 * (4.5 / 10)],
    // Counts may stop early: the missing buckets are 0.
    ["short bucket counts", { count: 4, bucketOptions: explicit, bucketCounts: [0, 4] }, 0.5, 5 + 45 * (1.5 / 4)],
    // Open ends: underflow from 0 (no range), overflow at its lower bound (no range) ...
    ["underflow without a range", { count: 2, bucketOptions: explicit, bucketCounts: [2] }, 0.95, 3.75],
    ["overflow without a range", { count: 2, bucketOptions: explicit, bucketCounts: [0, 0, 0, 2] }, 0.95, 500],
    // ... or the range, which also clamps.
    ["overflow within the range", { count: 2, bucketOptions: explicit, bucketCounts: [0, 0, 0, 2], range: { min: 600, max: 900 } }, 0.95, 600 + 300 * 0.75],
    ["a bucket narrowed by the range", { count: 10, bucketOptions: linear, bucketCounts: [0, 0, 10], range: { min: 12, max: 13 } }, 0.95, 12 + 0.95],
    ["empty", { count: 0, bucketOptions: linear, bucketCounts: [] }, 0.5, undefined],
    ["a count without bucket counts says nothing", { count: 7, bucketOptions: linear }, 0.5, undefined],
  ])("%s", (_, d, q, expected) => {
    const value = p(d, q)
    if (expected === undefined) expect(value).toBeUndefined()
    else expect(value).toBeCloseTo(expected, 6)
  })

  it("refuses counts that do not add up, or more counts than buckets", () => {
    expect(() => readBuckets({ count: 5, bucketOptions: linear, bucketCounts: [1, 1] })).toThrow(/add up to 2, but the count is 5/)
    expect(() => readBuckets({ count: 7, bucketOptions: exponential, bucketCounts: [1, 1, 1, 1, 1, 1, 1] })).toThrow(/7 bucket counts for 5 buckets/)
  })

  it("refuses a percentile outside (0, 1]", () => {
    expect(() => bucketPercentile(readBuckets({ count: 1, bucketOptions: linear, bucketCounts: [1] }), 0)).toThrow(/\(0, 1\]/)
  })
})

describe("mergeBuckets: points of one metric add up", () => {
  it("sums the counts and widens the range", () => {
    const a = readBuckets({ count: 3, bucketOptions: linear, bucketCounts: [0, 3], range: { min: 1, max: 9 } })
    const b = readBuckets({ count: 2, bucketOptions: linear, bucketCounts: [0, 0, 0, 2], range: { min: 21, max: 29 } })
    expect(mergeBuckets([a, b])).toEqual({ count: 5, bounds: [0, 10, 20, 30, 40], counts: [0, 3, 0, 2, 0, 0], range: { min: 1, max: 29 } })
  })

  it("drops the range when a part did not report one, and is undefined for nothing", () => {
    const a = readBuckets({ count: 1, bucketOptions: linear, bucketCounts: [0, 1], range: { min: 1, max: 1 } })
    const b = readBuckets({ count: 1, bucketOptions: linear, bucketCounts: [0, 1] })
    expect(mergeBuckets([a, b])).not.toHaveProperty("range")
    expect(mergeBuckets([])).toBeUndefined()
  })

  it("refuses different buckets", () => {
    const a = readBuckets({ count: 1, bucketOptions: linear, bucketCounts: [1] })
    const b = readBuckets({ count: 1, bucketOptions: exponential, bucketCounts: [1] })
    expect(() => mergeBuckets([a, b])).toThrow(/different bucket options/)
  })
})
