// Data for co2-forecast: monthly Mauna Loa CO2 (vega-datasets co2-concentration.csv), standardized, cut into windows.
import { packageFile, toBatch } from "../shared/data.mjs";

export function series() {
  const rows = packageFile("vega-datasets", "data/co2-concentration.csv").trim().split("\n").slice(1);
  return rows.map((r) => r.split(",")).map(([date, co2]) => ({ date, co2: Number(co2) }));
}

/**
 * Windows of `window` months; the target at each step is the next month's value. The last 10% of the
 * months is held out (forecasting is judged on the future, not on a shuffled split).
 */
export function load({ window = 48, stride = 6 } = {}) {
  const s = series();
  const trainEnd = Math.floor(s.length * 0.9);
  const train = s.slice(0, trainEnd).map((r) => r.co2);
  const mean = train.reduce((a, b) => a + b, 0) / train.length;
  const std = Math.sqrt(train.reduce((a, b) => a + (b - mean) ** 2, 0) / train.length);
  const z = s.map((r) => (r.co2 - mean) / std);
  const windows = (from, to) => {
    const out = [];
    for (let i = from; i + window + 1 <= to; i += stride)
      out.push({ inputs: { series: z.slice(i, i + window).map((v) => [v]) }, target: z.slice(i + 1, i + window + 1).map((v) => [v]) });
    return out;
  };
  return { train: windows(0, trainEnd), test: windows(trainEnd - window, s.length), mean, std };
}

export const sequenceInputs = ["series"];

/** The naive forecast `rnnc eval` scores beside the model: next month = this month, at every step. */
export function baseline(example) {
  return example.inputs.series;
}

if (process.argv[2] === "sample") {
  const { test } = load({ window: 24 });
  process.stdout.write(JSON.stringify(toBatch(test.slice(0, 2), sequenceInputs)) + "\n");
}
