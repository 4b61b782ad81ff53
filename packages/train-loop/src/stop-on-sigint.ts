/**
 * Ctrl-C as "stop at the next safe point", the way a training loop needs it: the first SIGINT only sets `requested`
 * (the loop checks it after every step, then saves its position), a second one exits at once with status 130 for a
 * user who will not wait. Kept beside the epoch loop, whose `stop` option it feeds.
 */
export interface StopMessages {
  /** Printed to stderr on the first Ctrl-C. */
  first: string
  /** Printed to stderr on the second, before exiting. */
  second: string
}

export class StopOnSigint {
  /** True once Ctrl-C was pressed: pass `() => s.requested` as trainEpoch's / evaluateEpoch's `stop`. */
  requested = false
  private readonly handler = (): void => {
    if (this.requested) {
      console.error(this.messages.second)
      return process.exit(130)
    }
    this.requested = true
    console.error(this.messages.first)
  }

  constructor(private readonly messages: StopMessages) {}

  /** Starts catching SIGINT (until then Ctrl-C keeps its default: the process ends). */
  listen(): void {
    process.on('SIGINT', this.handler)
  }

  /** Gives SIGINT back. */
  close(): void {
    process.off('SIGINT', this.handler)
  }
}
