package io.github.tfl1l2.cli;

import io.github.tfl1l2.savedmodel.SavedModelException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Runs a command that needs no supervision ({@code demo}, {@code bench}, {@code export-example}) in
 * a child JVM whose stdout is this process's own, and relays its stderr line by line as it comes,
 * without TensorFlow's native log unless that was asked for (see {@link ChildJvm}).
 */
final class RelayedCommand {
  private RelayedCommand() {}

  /**
   * Runs {@code args} in a child JVM and returns its exit status.
   *
   * @param name the command's name in messages, e.g. {@code tf-l1l2 demo}
   * @param err where the child's stderr goes
   */
  static int run(String name, List<String> args, boolean showNativeLog, PrintStream err) {
    ProcessBuilder builder =
        ChildJvm.builder(args, List.of(), showNativeLog)
            .redirectInput(ProcessBuilder.Redirect.INHERIT)
            .redirectOutput(ProcessBuilder.Redirect.INHERIT);
    if (showNativeLog) {
      builder.redirectError(ProcessBuilder.Redirect.INHERIT);
    }
    Process child;
    try {
      child = builder.start();
    } catch (IOException e) {
      err.println(
          name + ": cannot start a child process (" + SavedModelException.firstLine(e) + ")");
      return CommandFailure.INPUT;
    }
    // Ctrl-C reaches the child too (same process group); kill or a closing terminal may not.
    Thread stopChild = new Thread(child::destroyForcibly);
    Runtime.getRuntime().addShutdownHook(stopChild);
    try {
      if (!showNativeLog) {
        relayWithoutNativeLog(child, err);
      }
      return child.waitFor();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      child.destroyForcibly();
      return CommandFailure.INPUT;
    } finally {
      try {
        Runtime.getRuntime().removeShutdownHook(stopChild);
      } catch (IllegalStateException shuttingDown) {
        // The hook runs and stops the child.
      }
    }
  }

  private static void relayWithoutNativeLog(Process child, PrintStream err) {
    NativeLog.Filter filter = new NativeLog.Filter();
    try (BufferedReader lines =
        new BufferedReader(new InputStreamReader(child.getErrorStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = lines.readLine()) != null; ) {
        if (!filter.isNative(line)) {
          err.println(line);
          err.flush();
        }
      }
    } catch (IOException e) {
      // The child closed its stderr early; its exit status still decides.
    }
  }
}
