// The standard library's sources, embedded in the playground's bundle at build time (src/tools/playground-build.ts).
declare module "rnnc:stdlib" {
  const files: Readonly<Record<string, string>>;
  export default files;
}
