// The public face of a compiled module: a description of its inputs and outputs, and its .d.ts with shapes in doc comments.
import type { ModelIR } from "../ir/ir.js";
import { Op } from "../ir/ops.js";
import { concreteShape, type DimEnv } from "../runtime/dims.js";
import { streamability } from "../ir/streaming.js";
import { docComment } from "./safe-text.js";

/** What a module is compiled for: tfjs (trainable, imports @tensorflow/tfjs) or plain js (no imports). */
export type Target = "tfjs" | "js";

export interface PortInfo {
  readonly name: string;
  /** Per-step shape for sequences, whole shape otherwise (batch not included). */
  readonly shape: number[];
  /** The length name of a sequence (`T`), or null. */
  readonly sequence: string | null;
  readonly dtype: "float" | "int";
  readonly kind: "value" | "sequence" | "states";
  readonly doc: string | null;
}

export interface ModelInfo {
  readonly name: string;
  readonly doc: string | null;
  readonly dims: Record<string, number>;
  readonly inputs: PortInfo[];
  readonly outputs: PortInfo[];
  /** Whether `step` works, and if not why. */
  readonly streaming: boolean;
  readonly whyNotStreaming: string | null;
}

export function describeModel(ir: ModelIR, env: DimEnv): ModelInfo {
  const s = streamability(ir);
  return {
    name: ir.name,
    doc: ir.doc ?? null,
    dims: Object.fromEntries([...env].sort(([a], [b]) => a.localeCompare(b))),
    inputs: ir.inputs.map((i) => ({ name: i.name, shape: concreteShape(i.shape, env, i.name), sequence: i.seq ?? null, dtype: i.dtype, kind: i.seq ? "sequence" : "value", doc: i.doc ?? null })),
    outputs: ir.outputs.map((o) => {
      const n = ir.nodes[o.node]!;
      const states = n.op === Op.Final;
      return { name: o.name, shape: states ? [] : concreteShape(n.shape, env, o.name), sequence: n.seq ?? null, dtype: n.dtype, kind: states ? "states" : n.seq ? "sequence" : "value", doc: o.doc ?? null };
    }),
    streaming: s.ok,
    whyNotStreaming: s.ok ? null : s.why,
  };
}

const dims = (p: PortInfo, batch: boolean): string => `[${[...(batch ? ["batch"] : []), ...(p.sequence ? [p.sequence] : []), ...p.shape].join(", ")}]`;
const key = (name: string): string => JSON.stringify(name);

function port(p: PortInfo, type: string): string {
  const kind = p.kind === "states" ? "final states, each [batch, …]" : `${p.kind === "sequence" ? "a sequence" : "a value"}, ${dims(p, true)}${p.dtype === "int" ? " token ids" : ""}`;
  return `${docComment([`\`${p.name}\`: ${kind}.`, ...(p.doc ? [p.doc] : [])], "  ")}\n  ${key(p.name)}: ${type};`;
}

export function declarations(info: ModelInfo, target: Target, header: string): string {
  const tf = target === "tfjs";
  const tensor = tf ? "tf.Tensor" : "Tensor";
  const input = `${tf ? "tf.Tensor | " : ""}NestedArray | { shape: number[]; data: ArrayLike<number> }`;
  const states = tf ? "Record<string, tf.Tensor>" : "Record<string, Tensor>";
  const stepIn = (p: PortInfo) => (tf ? "tf.Tensor | NestedArray" : p.dtype === "int" ? "number" : "ArrayLike<number>");
  const stepOut = tf ? "tf.Tensor" : "Float32Array";
  const inputs = info.inputs.map((p) => port(p, input));
  const outputs = info.outputs.map((p) => port(p, p.kind === "states" ? states : tensor));
  const stepInputs = info.inputs.map((p) => `${docComment([`\`${p.name}\` at one step: [${[...(tf ? ["batch"] : []), ...p.shape].join(", ")}]${p.dtype === "int" ? " (a token id)" : ""}`], "  ")}\n  ${key(p.name)}: ${stepIn(p)};`);
  const stepOutputs = info.outputs.map((p) => `${docComment([`\`${p.name}\` at this step: [${[...(tf ? ["batch"] : []), ...p.shape].join(", ")}]`], "  ")}\n  ${key(p.name)}: ${stepOut};`);
  const stepDoc = info.streaming
    ? "One time step of every input; returns every output at this step. States carry over until reset()."
    : `Not available for this model: ${info.whyNotStreaming}. Calling it throws.`;
  return `${header}
${tf ? 'import type * as tf from "@tensorflow/tfjs";\n' : ""}
${tf ? "" : `/** A tensor: row-major float32 values and their shape, batch first. */
export interface Tensor { shape: number[]; data: Float32Array }
`}/** Nested arrays of numbers, batch first. */
export type NestedArray = number | NestedArray[];

${docComment([`The inputs of model \`${info.name}\`.`])}
export interface Inputs {
${inputs.join("\n")}
}

${docComment([`The outputs of model \`${info.name}\`.`])}
export interface Outputs {
${outputs.join("\n")}
}

export interface StepInputs {
${stepInputs.join("\n")}
}

export interface StepOutputs {
${stepOutputs.join("\n")}
}

export interface RunOptions {
  /** Per sequence input, each example's length; later steps are padding. */
  lengths?: Record<string, number[]>;
  /** Seed of sampling in generate. */
  seed?: number;
}

export interface CreateOptions {
  /** Weights in the rnnc-weights format (JSON text or object); default: the ones compiled in${tf ? ", else seeded initialization" : ""}. */
  weights?: string | object;
${tf ? "  /** Seed of the initializers when there are no weights. */\n  seed?: number;\n  /** Whether the variables are trainable (default true). */\n  trainable?: boolean;\n" : ""}}

export interface Model {
  /** Every output for a batch of inputs. Wrong shapes throw an error naming the input and both shapes. */
  predict(inputs: Inputs, options?: RunOptions): Outputs;
  /** As predict, with each sequence output's lengths. */
  run(inputs: Inputs, options?: RunOptions): { outputs: Outputs; lengths: Record<string, number[]> };
  /** ${stepDoc} */
  step(inputs: StepInputs): StepOutputs;
  /** Starts new sequences for step. */
  reset(): void;
${tf ? "  /** The trainable parameters, keyed `layer.param`. */\n  readonly variables: Record<string, tf.Variable>;\n  /** Frees the variables and streaming states. */\n  dispose(): void;\n" : "  /** The parameters, keyed `layer.param`. */\n  readonly weights: Record<string, Float32Array>;\n"}  /** The weights in the rnnc-weights format (JSON text). */
  saveWeights(): string;
  /** Replaces the weights; shapes must match. */
  loadWeights(weights: string | object): void;
}

${docComment([`Creates model \`${info.name}\` (dims ${Object.entries(info.dims).map(([k, v]) => `${k}=${v}`).join(", ") || "none"}).`, ...(info.doc ? ["", info.doc] : [])])}
export declare function createModel(options?: CreateOptions): Model;
export default createModel;

export declare const info: {
  name: string;
  doc: string | null;
  dims: Record<string, number>;
  inputs: { name: string; shape: number[]; sequence: string | null; dtype: "float" | "int"; kind: string; doc: string | null }[];
  outputs: { name: string; shape: number[]; sequence: string | null; dtype: "float" | "int"; kind: string; doc: string | null }[];
  streaming: boolean;
  whyNotStreaming: string | null;
};
`;
}
