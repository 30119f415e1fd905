/** A failure to report as one line, without a stack trace, exiting 1. */
export class CliError extends Error {}
