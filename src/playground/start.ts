// The playground's first text: the seed's LSTM (examples/seed-lstm.rnn) and a model that uses it on the adding problem.
export const START_TEXT = `import { Dense } from "std"

/// The seed's LSTM, its equations as the paper writes them (examples/seed-lstm.rnn).
cell SeedLSTM<I, H> {
  input x: [I]
  state h: [H] = 0
  state c: [H] = 0
  param W_xf, W_xg, W_xi, W_xo: [H, I] ~ glorot_uniform
  param W_hf, W_hg, W_hi, W_ho: [H, H] ~ orthogonal
  param b_f:                    [H]    ~ ones
  param b_g, b_i, b_o:          [H]    ~ zeros

  gate f = σ(W_xf @ x + W_hf @ h[t-1] + b_f)     // forget gate
  g      = tanh(W_xg @ x + W_hg @ h[t-1] + b_g)  // memory (candidate)
  gate i = σ(W_xi @ x + W_hi @ h[t-1] + b_i)     // input gate
  c      = f ⊙ c[t-1] + i ⊙ g                    // memory cell
  gate o = σ(W_xo @ x + W_ho @ h[t-1] + b_o)     // output gate
  h      = o ⊙ tanh(c)
  output h
}

/// The adding problem: (value, marker) pairs in, the sum of the two marked values out.
model Adding<H = 16> {
  input pairs: [T, 2]
  layer rnn  = SeedLSTM<2, H>
  layer head = Dense<H, 1>
  output sum = head(last(scan(rnn, pairs)))
}
`;
