/** One subcommand of `pnpm resnet`: main.ts dispatches on its name and prints `describe` in the usage. */
export interface Subcommand {
  describe: string
  /** Returns the process exit status. */
  run(argv: string[]): Promise<number>
}
