package io.github.tfl1l2.cli;

import io.github.tfl1l2.savedmodel.SavedModelException;
import java.io.PrintWriter;
import picocli.CommandLine.Model.CommandSpec;

/** Prints a command's failure as one line on stderr and picks the exit status. */
final class Failures {
  private Failures() {}

  static int report(CommandSpec spec, RuntimeException failure) {
    PrintWriter err = spec.commandLine().getErr();
    int status;
    String message;
    if (failure instanceof CommandFailure command) {
      status = command.exitCode();
      message = command.getMessage();
    } else if (failure instanceof SavedModelException
        || failure instanceof IllegalArgumentException) {
      status = CommandFailure.INPUT;
      message = failure.getMessage();
    } else {
      // Unexpected: still one line, with the type so that it can be looked up.
      status = CommandFailure.INPUT;
      message = failure.getClass().getSimpleName() + ": " + failure.getMessage();
    }
    err.println(spec.qualifiedName() + ": " + oneLine(message));
    err.flush();
    return status;
  }

  private static String oneLine(String message) {
    return message == null ? "(no message)" : message.strip().replaceAll("\\s*\\R\\s*", " ");
  }
}
