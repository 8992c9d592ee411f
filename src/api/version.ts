// The package's version (package.json's), for the headers of what rnnc writes.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export function version(): string {
  const pkg = join(dirname(fileURLToPath(import.meta.url)), "../../package.json");
  return (JSON.parse(readFileSync(pkg, "utf8")) as { version: string }).version;
}
