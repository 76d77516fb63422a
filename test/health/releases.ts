// The two releases the health tests play with (the OLD one still serving, the NEW one being deployed) and
// the /health bodies the app answers for them.
export const NEW = { version: "1.1.0", commit: "b2c3d4e5f60718293a4b5c6d7e8f901234567890" }
export const OLD = { version: "1.0.0", commit: "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678" }

export const json = (o: unknown) => JSON.stringify(o)
/** A body like the app's own /health answer. */
export const okBody = (r = NEW, status = "ok") => json({ status, ...r, startedAt: "2025-01-01T00:00:00.000Z" })
