/** A mistake in the command line: main.ts prints its message without a stack and exits with status 2 (argparse's). */
export class UsageError extends Error {}

/** One subcommand of `pnpm resnet`: main.ts dispatches on its name and prints `describe` in the usage. */
export interface Subcommand {
  describe: string
  /** Returns the process exit status. */
  run(argv: string[]): Promise<number>
}
