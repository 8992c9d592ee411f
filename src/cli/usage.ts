// What every command shares and the start-up path needs without loading the compiler: the usage error, the version.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export { UsageError } from "../diagnostics/errors.js";

export function version(): string {
  const pkg = join(dirname(fileURLToPath(import.meta.url)), "../../package.json");
  return (JSON.parse(readFileSync(pkg, "utf8")) as { version: string }).version;
}
