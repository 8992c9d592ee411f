// The closed set of parameter initializers: names, argument counts and meanings.

export interface InitializerInfo {
  readonly name: string;
  /** Allowed argument counts. */
  readonly arities: readonly number[];
  readonly doc: string;
}

const i = (name: string, arities: number[], doc: string): InitializerInfo => ({ name, arities, doc });

export const initializers: ReadonlyMap<string, InitializerInfo> = new Map(
  [
    i("zeros", [0], "all 0"),
    i("ones", [0], "all 1"),
    i("constant", [1], "constant(v): all v"),
    i("uniform", [0, 2], "uniform(lo, hi), default (-0.05, 0.05)"),
    i("normal", [0, 2], "normal(mean, std), default (0, 0.05)"),
    i("truncated_normal", [0, 2], "normal(mean, std) redrawn beyond two std, default (0, 0.05)"),
    i("glorot_uniform", [0], "uniform in ±sqrt(6 / (fan_in + fan_out))"),
    i("glorot_normal", [0], "truncated normal with std sqrt(2 / (fan_in + fan_out))"),
    i("he_uniform", [0], "uniform in ±sqrt(6 / fan_in)"),
    i("he_normal", [0], "truncated normal with std sqrt(2 / fan_in)"),
    i("lecun_uniform", [0], "uniform in ±sqrt(3 / fan_in)"),
    i("lecun_normal", [0], "truncated normal with std sqrt(1 / fan_in)"),
    i("recurrent_uniform", [0], "uniform in ±1/sqrt(n), n the first dimension (the hidden size of a recurrent cell's [H, …] weights and [H] biases): PyTorch's LSTM, GRU and RNN default"),
    i("orthogonal", [0, 1], "orthogonal(gain): a random orthogonal matrix times gain (default 1)"),
    i("identity", [0, 1], "identity(gain): the identity matrix times gain (default 1)"),
  ].map((x) => [x.name, x]),
);

/** What a param gets when its declaration names no initializer. */
export function defaultInitializer(rank: number): string {
  return rank >= 2 ? "glorot_uniform" : "zeros";
}
