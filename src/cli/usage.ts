// What every command shares and the start-up path needs without loading the compiler: the usage error, the version.
export { UsageError } from "../diagnostics/errors.js";
export { version } from "../api/version.js";
