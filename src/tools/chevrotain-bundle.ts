// Build step: dist/syntax/chevrotain.js becomes chevrotain's one-file build from the installed package (same version).
import { copyFileSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const entry = createRequire(import.meta.url).resolve("chevrotain"); // …/chevrotain/lib/src/api.js
const bundle = join(dirname(entry), "..", "chevrotain.mjs");
if (!/^export \{/m.test(readFileSync(bundle, "utf8"))) throw new Error(`${bundle} is not chevrotain's ES module build`);
copyFileSync(bundle, join(dirname(fileURLToPath(import.meta.url)), "..", "syntax", "chevrotain.js"));
