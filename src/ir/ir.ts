// The typed IR of a cell: immutable nodes from the closed op set, each with a symbolic shape and its source span.
import type { Span } from "../ast/nodes.js";
import type { Shape } from "./dims.js";
import type { Op } from "./ops.js";

export type NodeId = number;

export interface Attrs {
  readonly name?: string;   // Input, StateRead, Param, Field
  readonly lag?: number;    // StateRead
  readonly layer?: string;  // Apply, Map, Scan, Generate
  readonly reverse?: boolean; // Scan
  readonly hasInit?: boolean; // Scan, Generate: the last argument holds initial states
  readonly steps?: number;  // Generate
  readonly until?: number;  // Generate: the end token (-1: none)
  readonly startToken?: number; // Generate (int feedback)
  readonly temperature?: number; // Generate: 0 is greedy argmax
  readonly beam?: number;   // Generate: hypotheses kept by beam search (1: greedy)
  readonly lengthNorm?: number; // Generate: beam search ranks by log p / length^lengthNorm
  readonly value?: number;  // Const
  readonly rate?: number;   // Dropout: the probability an element is zeroed in training
  readonly perStep?: boolean; // Dropout in a cell: a new mask every step (zoneout's), not one per sequence
  readonly start?: import("./dims.js").Dim; // Slice
  readonly end?: import("./dims.js").Dim;   // Slice
  readonly shape?: Shape;   // Reshape, BroadcastTo, ReduceTo: the result's shape
  readonly depth?: import("./dims.js").Dim; // OneHot
  readonly names?: readonly string[]; // States: the state each argument starts
}

export interface Node {
  readonly id: NodeId;
  readonly op: Op;
  readonly args: readonly NodeId[];
  readonly shape: Shape;
  /** Element type: `int` only for integer inputs (token ids); every computed value is float. */
  readonly dtype: "float" | "int";
  /** True when the value differs between examples of a batch (depends on an input or a state). */
  readonly batched: boolean;
  /** In models: the sequence-length symbol (`T`) of a value with a time axis; absent for single values. */
  readonly seq?: string;
  readonly attrs: Attrs;
  readonly span: Span;
}

export interface DimInfo { readonly name: string; readonly default: number | undefined; readonly span: Span }

export type InitSpec = { readonly name: string; readonly args: readonly number[] };

export interface ParamInfo { readonly name: string; readonly shape: Shape; readonly init: InitSpec; readonly doc?: string; readonly span: Span }
/**
 * A cell input: one value per step, or with `memory` a whole sequence of that length given once per sequence (its
 * shape then starts with that length, e.g. [S, H]: an encoder's outputs an attention step reads).
 */
export interface InputInfo { readonly name: string; readonly shape: Shape; readonly dtype: "float" | "int"; readonly memory?: string; readonly doc?: string; readonly span: Span }
export interface StateInfo {
  readonly name: string;
  readonly shape: Shape;
  /** Node (unbatched: params and constants only) giving the value of every step before the first. */
  readonly init: NodeId;
  /** The deepest lag any equation reads (0 when the state is never read back). */
  readonly maxLag: number;
  /** The node assigned to the state at step t. */
  readonly update: NodeId;
  readonly doc?: string;
  readonly span: Span;
}
export interface ValueInfo { readonly name: string; readonly node: NodeId; readonly gate: boolean; readonly doc?: string; readonly span: Span }

export interface ModelInputInfo {
  readonly name: string;
  /** Per-step shape for sequences, whole shape otherwise. */
  readonly shape: Shape;
  readonly seq: string | undefined;
  readonly dtype: "float" | "int";
  readonly doc?: string;
  readonly span: Span;
}

export interface LayerInfo {
  readonly name: string;
  readonly ir: CellIR;
  /** The cell's dims in terms of the model's. */
  readonly dims: ReadonlyMap<string, import("./dims.js").Dim>;
  readonly span: Span;
}

/** One model: a graph of sequence constructs and pointwise ops over layers (cells), dims symbolic. */
export interface ModelIR {
  readonly name: string;
  readonly file: string;
  readonly dims: readonly DimInfo[];
  readonly inputs: readonly ModelInputInfo[];
  readonly layers: readonly LayerInfo[];
  readonly nodes: readonly Node[];
  readonly outputs: readonly ValueInfo[];
  readonly doc?: string;
}

/** One cell, elaborated: everything a backend needs to run a step, with dims still symbolic. */
export interface CellIR {
  readonly name: string;
  readonly file: string;
  readonly dims: readonly DimInfo[];
  readonly options: ReadonlyMap<string, string | number>;
  readonly inputs: readonly InputInfo[];
  readonly states: readonly StateInfo[];
  readonly params: readonly ParamInfo[];
  /** Topologically ordered: every node's args come before it. */
  readonly nodes: readonly Node[];
  /** Named values (definitions, gates, states at t) in source order. */
  readonly values: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  readonly doc?: string;
  /**
   * The layers inlined into this cell, by the prefix of their params and states: the cell each one runs (its own IR)
   * and the nodes bound to its inputs, in this IR's numbering (a rewrite that renumbers nodes leaves them stale: a
   * reader checks them). A backend may run such a layer on a library's kernel of its own (PyTorch's nn.LSTM).
   */
  readonly inlined?: readonly InlinedLayer[];
}

export interface InlinedLayer {
  readonly prefix: string;
  readonly cell: CellIR;
  readonly inputs: readonly NodeId[];
  /** Its named values (gates, definitions, states at t; those of layers inlined in it too) as nodes of this IR, named `prefix.name`, each with the file its span is in. */
  readonly values?: readonly InlinedValue[];
}

export interface InlinedValue extends ValueInfo { readonly file: string }
