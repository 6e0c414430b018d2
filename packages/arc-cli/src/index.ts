/**
 * @arc/cli — the `arc` command line as a library: `run(argv, io)` resolves with the exit code
 * (0 success, 1 ARC error, 2 usage error, 3 no answer), for tests and for embedding.
 */
export { buildProgram, run, type CommandContext } from './program';
export { EXIT, type CliIo } from './output';
