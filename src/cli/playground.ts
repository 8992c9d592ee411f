// `rnnc playground`: serves the playground's static files on this machine (127.0.0.1 unless told otherwise; its own files only), or writes them to a directory.
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { extname, join, sep } from "node:path";
import { packageRoot, writeFileAtomic } from "../node/host.js";
import { UsageError } from "./usage.js";

/** Where `npm run build` put the page (src/tools/playground-build.ts). */
export const siteDir = (): string => join(packageRoot, "dist", "playground", "site");

const TYPES: Record<string, string> = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".txt": "text/plain; charset=utf-8", ".wasm": "application/wasm" };

/**
 * The file a request path names inside `root`, or why it names none: 400 (not a path), 403 (it climbs out of the
 * site, by `..`, a backslash, a NUL or a link), 404 (no such file).
 */
export function resolveRequest(root: string, url: string): { file: string } | { status: 400 | 403 | 404 } {
  let path: string;
  try {
    // (the raw path first: URL parsing would quietly drop a `..` that tries to climb, or its %2e%2e spelling)
    const raw = decodeURIComponent(url.split(/[?#]/)[0]!);
    if (raw.split(/[/\\]/).some((p) => p === "..")) return { status: 403 };
    path = decodeURIComponent(new URL(url, "http://localhost").pathname);
  } catch {
    return { status: 400 };
  }
  if (path.includes("\0") || path.includes("\\")) return { status: 403 };
  const parts = path.split("/").filter((p) => p.length);
  if (parts.some((p) => p === ".." || p === ".")) return { status: 403 };
  const file = join(root, ...(parts.length ? parts : ["index.html"]));
  if (file !== root && !file.startsWith(root + sep)) return { status: 403 };
  if (!existsSync(file)) return { status: 404 };
  const real = realpathSync(file), realRoot = realpathSync(root);
  if (!real.startsWith(realRoot + sep)) return { status: 403 };
  return statSync(real).isFile() ? { file: real } : { status: 404 };
}

function serve(root: string, req: IncomingMessage, res: ServerResponse): void {
  const headers = { "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache", "Cross-Origin-Resource-Policy": "same-origin" };
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { ...headers, Allow: "GET, HEAD", "Content-Type": "text/plain" }).end("only GET and HEAD\n");
    return;
  }
  const r = resolveRequest(root, req.url ?? "/");
  if ("status" in r) {
    res.writeHead(r.status, { ...headers, "Content-Type": "text/plain" }).end(`${{ 400: "bad request", 403: "forbidden: the playground serves its own files only", 404: "not found" }[r.status]}\n`);
    return;
  }
  res.writeHead(200, { ...headers, "Content-Type": TYPES[extname(r.file)] ?? "application/octet-stream", "Content-Length": statSync(r.file).size });
  if (req.method === "HEAD") res.end();
  else createReadStream(r.file).pipe(res);
}

export async function playgroundCommand(a: { port: number; host: string; out?: string | undefined }): Promise<number> {
  const root = siteDir();
  if (!existsSync(join(root, "index.html"))) throw new UsageError(`the playground is not built (no ${join(root, "index.html")}): run npm run build`);
  const files = readdirSync(root);
  if (a.out !== undefined) {
    mkdirSync(a.out, { recursive: true });
    for (const f of files) {
      const to = join(a.out, f);
      if (existsSync(to) && !(f === "index.html" ? readFileSync(to, "utf8").includes("<title>rnnc playground</title>") : files.includes(f) && existsSync(join(a.out, "index.html"))))
        throw new UsageError(`--out ${a.out}: ${to} exists and is not from an earlier rnnc playground; write the playground to an empty directory`);
    }
    for (const f of files) writeFileAtomic(join(a.out, f), readFileSync(join(root, f)));
    process.stdout.write(`wrote the playground to ${a.out} (${files.join(", ")}): serve that directory with any static file server\n`);
    return 0;
  }
  if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535) throw new UsageError(`--port must be a whole number from 0 to 65535, not ${a.port}`);
  const server = createServer((req, res) => serve(root, req, res));
  await new Promise<void>((ok, fail) => {
    server.once("error", (e: NodeJS.ErrnoException) => fail(new UsageError(`cannot listen on ${a.host}:${a.port}: ${e.code === "EADDRINUSE" ? "the port is in use (give another with --port, or 0 for any free one)" : e.message}`)));
    server.listen(a.port, a.host, () => ok());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : a.port;
  const shown = a.host.includes(":") ? `[${a.host}]` : a.host;
  process.stdout.write(`rnnc playground: http://${shown}:${port}/ (Ctrl-C stops it)\n`);
  if (a.host !== "127.0.0.1" && a.host !== "localhost" && a.host !== "::1") process.stderr.write(`warning: listening on ${a.host}: other machines can reach the playground\n`);
  await new Promise<void>((done) => {
    const stop = () => { server.close(() => done()); server.closeAllConnections(); };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  return 0;
}
