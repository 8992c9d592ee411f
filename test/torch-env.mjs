// The python with torch that the PyTorch target's tests run: $RNNC_PYTHON, or the project's git-ignored .venv-torch (made here once).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const venv = join(root, ".venv-torch");
const venvPython = join(venv, process.platform === "win32" ? "Scripts/python.exe" : "bin/python");

const hasTorch = (python) => spawnSync(python, ["-c", "import torch"], { encoding: "utf8" }).status === 0;

/** pip's first configured extra index (this machine's local wheels), so pip does not wait on an index it cannot reach. */
function localIndex() {
  const r = spawnSync("pip", ["config", "get", "global.extra-index-url"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim().split(/\s+/)[0] || undefined : undefined;
}

/**
 * The python to run torch with: $RNNC_PYTHON when set (it must import torch), else .venv-torch, made on first use
 * (python3 -m venv, then pip install torch and numpy from pip's configured index). Throws with what to do when neither works.
 */
export function torchPython(log = (line) => process.stderr.write(line + "\n")) {
  const given = process.env.RNNC_PYTHON;
  if (given) {
    if (hasTorch(given)) return given;
    throw new Error(`RNNC_PYTHON=${given} cannot import torch: install torch into it, or unset RNNC_PYTHON to use ${venv}`);
  }
  if (existsSync(venvPython) && hasTorch(venvPython)) return venvPython;
  log(`making ${venv} with torch (once; about a minute from local wheels) …`);
  const run = (cmd, args) => {
    const r = spawnSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "inherit", "inherit"] });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.error?.message ?? `exit ${r.status}`}); install python3 with venv and pip (Debian: apt-get install python3-venv), or set RNNC_PYTHON to a python that has torch`);
  };
  if (!existsSync(venvPython)) run("python3", ["-m", "venv", venv]);
  const index = localIndex();
  run(venvPython, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", ...(index ? ["--index-url", index] : []), "torch", "numpy"]);
  if (!hasTorch(venvPython)) throw new Error(`${venvPython} still cannot import torch after pip install`);
  return venvPython;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    process.stdout.write(torchPython() + "\n");
  } catch (e) {
    process.stderr.write(`torch-env: ${e.message}\n`);
    process.exit(1);
  }
}
