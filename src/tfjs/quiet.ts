// TensorFlow.js without its advertisement: in Node.js its cpu backend prints "Hi, looks like you are running
// TensorFlow.js in Node.js…" (for tfjs-node, which cannot be installed here) unless PROD is set.
import * as tf from "@tensorflow/tfjs";

/** Sets tfjs' PROD flag (no debug checks, no banner) unless the program has set it itself. */
export function quietTf(): void {
  if (!("PROD" in tf.env().getFlags())) tf.env().set("PROD", true);
}
