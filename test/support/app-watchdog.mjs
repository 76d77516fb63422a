// Preloaded (node --import) into app processes started by app-server.ts. The parent holds the other end
// of the child's stdin; when the parent dies for any reason (even SIGKILL of a vitest worker), stdin
// reaches EOF and the app dies too, so no orphan keeps a port. Unref'd: it never keeps the app alive.
process.stdin.on("end", () => process.kill(process.pid, "SIGKILL"))
process.stdin.on("error", () => process.kill(process.pid, "SIGKILL"))
process.stdin.resume()
process.stdin.unref()
