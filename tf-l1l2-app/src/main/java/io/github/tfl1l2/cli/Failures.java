package io.github.tfl1l2.cli;

import io.github.tfl1l2.savedmodel.SavedModelException;
import java.io.PrintWriter;
import picocli.CommandLine.Model.CommandSpec;

/** Prints a command's failure as one line on stderr and picks the exit status. */
final class Failures {
  private Failures() {}

  static int report(CommandSpec spec, RuntimeException failure) {
    int status =
        failure instanceof CommandFailure command ? command.exitCode() : CommandFailure.INPUT;
    boolean expected =
        failure instanceof CommandFailure
            || failure instanceof SavedModelException
            || failure instanceof IllegalArgumentException;
    // Unexpected: still one line, with the type so that it can be looked up.
    String type = expected ? "" : failure.getClass().getSimpleName() + ": ";
    PrintWriter err = spec.commandLine().getErr();
    err.println(spec.qualifiedName() + ": " + type + SavedModelException.firstLine(failure));
    err.flush();
    return status;
  }
}
