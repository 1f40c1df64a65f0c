package io.github.tfl1l2.cli;

/**
 * Stops a command with one line for stderr and an exit status: {@link #USAGE} for an option value
 * that is not allowed, {@link #INPUT} for a model or directory that cannot be used.
 */
final class CommandFailure extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Exit status for an invalid option value (picocli uses it for syntax errors too). */
  static final int USAGE = 2;

  /** Exit status for a model that cannot be read or an output that cannot be written. */
  static final int INPUT = 1;

  private final int exitCode;

  CommandFailure(int exitCode, String message) {
    super(message);
    this.exitCode = exitCode;
  }

  static CommandFailure usage(String message) {
    return new CommandFailure(USAGE, message);
  }

  static CommandFailure input(String message) {
    return new CommandFailure(INPUT, message);
  }

  int exitCode() {
    return exitCode;
  }
}
