// Marks the CLI entry point executable after tsc (npm links it as the `rnnc` bin).
import { chmodSync, existsSync } from "node:fs";
const cli = new URL("../dist/cli/main.js", import.meta.url);
if (existsSync(cli)) chmodSync(cli, 0o755);
