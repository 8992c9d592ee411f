// `rnnc compile`: checks the flags, loads the model and its weights, writes the module and its .d.ts atomically.
import { basename, dirname, join } from "node:path";
import { resolveDims } from "../runtime/dims.js";
import { checkWeights, initParams, modelParamSpecs, parseWeights } from "../weights/weights.js";
import { assertNotInput, compiler, dimsGiven, readData, readText, UsageError } from "./commands.js";
import { writeFileAtomic } from "../node/host.js";
import { assertReplaceable } from "./output-guard.js";
import { version } from "./usage.js";

export interface CompileFlags { file: string; model?: string | undefined; target: "tfjs" | "js" | "onnx" | "pytorch"; dims?: string | undefined; weights?: string | undefined; seed: number; out?: string | undefined; simd?: boolean; streaming?: boolean; allowNonfinite?: boolean }


export async function compileCommand(a: CompileFlags): Promise<number> {
  readText(a.file, "file");
  if (!Number.isInteger(a.seed)) throw new UsageError(`--seed must be a whole number, not ${a.seed}`);
  const onnx = a.target === "onnx", python = a.target === "pytorch";
  const single = onnx || python; // one file, no .d.ts beside it
  const out = a.out ?? join(dirname(a.file), `${basename(a.file).replace(/\.rnn$/, "")}.${onnx ? "onnx" : python ? "py" : "js"}`);
  if (onnx && !out.endsWith(".onnx")) throw new UsageError(`-o ${out}: an ONNX model's name must end in .onnx`);
  if (python && !/(^|[\\/])[A-Za-z_][A-Za-z0-9_]*\.py$/.test(out)) throw new UsageError(`-o ${out}: a Python module's name must end in .py and be importable (letters, digits and _, not starting with a digit)`);
  if (!single && !out.endsWith(".js") && !out.endsWith(".mjs")) throw new UsageError(`-o ${out}: the module's name must end in .js or .mjs (its .d.ts is written beside it)`);
  const dtsPath = out.replace(/\.m?js$/, out.endsWith(".mjs") ? ".d.mts" : ".d.ts");
  for (const o of single ? [out] : [out, dtsPath]) assertNotInput(o, { spec: a.file, "weights file": a.weights });
  for (const o of single ? [out] : [out, dtsPath]) assertReplaceable(o, onnx ? "onnx" : python ? "python" : "module");
  if (compiler.check(a.file).models.size === 0 && a.model === undefined)
    throw new UsageError(`${a.file} declares no model; compile works on models (a model that scans a cell: model M<I, H> { input xs: [T, I]; layer l = LSTM<I, H>; output hs = scan(l, xs) })`);
  const ir = compiler.model(a.file, a.model);
  const env = resolveDims(ir, dimsGiven(a, ir.dims.map((d) => d.name)));
  const specs = modelParamSpecs(ir, env);
  let weights;
  if (a.weights) {
    weights = parseWeights(readData(a.weights, "weights file"), a.weights, "f32", { allowNonfinite: a.allowNonfinite === true });
    checkWeights(`model \`${ir.name}\``, specs, weights, a.weights);
  } else {
    weights = initParams(specs, a.seed);
  }
  if (a.streaming && a.target !== "onnx") throw new UsageError("--streaming is for --target onnx (the js and tfjs modules stream with step() already)");
  if (a.target === "onnx") {
    const m = a.streaming
      ? (await import("../emit/onnx/stream.js")).exportOnnxStreaming(ir, env, weights, version())
      : (await import("../emit/onnx/export.js")).exportOnnx(ir, env, weights, version());
    writeFileAtomic(out, m.bytes);
    process.stderr.write(`wrote ${out} (${(m.bytes.length / 1024).toFixed(1)} KiB, ONNX opset ${m.opset}, model ${ir.name}${a.streaming ? ", one step per call" : ""}; inputs ${m.inputs.join(", ")}; outputs ${m.outputs.join(", ")})\n`);
    return 0;
  }
  if (a.target === "pytorch") {
    const m = (await import("../emit/pytorch/module.js")).emitPytorch(ir, env, weights, a.file, version());
    writeFileAtomic(out, m.source);
    process.stderr.write(`wrote ${out} (${(m.source.length / 1024).toFixed(1)} KiB, PyTorch module Model, model ${ir.name}; inputs ${m.inputs.join(", ")}; outputs ${m.outputs.join(", ")})\n`);
    return 0;
  }
  const { compileModule } = await import("../emit/compile.js");
  const m = await compileModule({ ir, env, target: a.target, weights, weightsGiven: a.weights !== undefined, source: a.file, version: version(), simd: a.simd ?? true });
  const dts = dtsPath;
  writeFileAtomic(out, m.js);
  writeFileAtomic(dts, m.dts);
  process.stderr.write(`wrote ${out} (${(m.js.length / 1024).toFixed(1)} KiB, target ${a.target}, model ${ir.name}${m.info.streaming ? ", streaming" : ""}) and ${dts}\n`);
  return 0;
}
