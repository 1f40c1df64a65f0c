package io.github.tfl1l2.cli;

import io.github.tfl1l2.savedmodel.ExportDirectory;
import io.github.tfl1l2.savedmodel.SavedModelException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.ParseResult;

/**
 * Runs a command that loads a SavedModel in a child JVM and watches it.
 *
 * <p>TensorFlow's native loader ends the whole process on some corrupt models (a failed {@code
 * CHECK} in shape code raises SIGABRT) and loops for minutes on others; no Java code can catch
 * either. Run in a child process, such a model still ends the command with one line on stderr and
 * exit status 1: the child is stopped after {@code --timeout}, its crash is reported with
 * TensorFlow's own reason when it logged one, and a {@code --out} directory it started (or even
 * finished) is removed, so a failed command leaves nothing. The child writes no JVM crash dump.
 *
 * <p>Costs one extra JVM start (well under a second; this process never loads TensorFlow).
 */
final class IsolatedCommand {
  /** The subcommands that load a SavedModel and so run supervised. */
  static final Set<String> ISOLATED = Set.of("penalty", "regularize");

  /** Exit statuses of a process killed by a signal, as {@link Process#exitValue()} gives them. */
  private static final Map<Integer, String> SIGNALS =
      Map.of(
          128 + 4, "SIGILL", 128 + 6, "SIGABRT", 128 + 7, "SIGBUS", 128 + 8, "SIGFPE", 128 + 9,
          "SIGKILL", 128 + 11, "SIGSEGV");

  private final ParseResult command;
  private final String name;
  private final List<String> args;
  private final boolean showNativeLog;

  /**
   * The supervisor of {@code command}, a parsed subcommand among {@link #ISOLATED}.
   *
   * @param args the whole command line, to run again in the child
   * @param showNativeLog whether TensorFlow's native log is passed on (see {@link ChildJvm})
   */
  IsolatedCommand(ParseResult command, List<String> args, boolean showNativeLog) {
    this.command = command;
    this.name = "tf-l1l2 " + command.commandSpec().name();
    this.args = List.copyOf(args);
    this.showNativeLog = showNativeLog;
  }

  /**
   * Runs the command in a child JVM with this JVM's java, class path and options, copies its stdout
   * and stderr to {@code out} and {@code err} when it ends normally, and otherwise prints one line
   * that says why it did not.
   *
   * @return the command's exit status: the child's own, or 1 when it crashed or timed out
   */
  int run(PrintStream out, PrintStream err) {
    Path outDir = outDirectory();
    ExportDirectory export = outDir == null ? null : ExportDirectory.watch(outDir);
    Process child = null;
    Thread stopOnExit = null;
    try {
      child =
          ChildJvm.builder(
                  args,
                  List.of("-XX:ErrorFile=" + crashReport("%p"), "-XX:-CreateCoredumpOnCrash"),
                  showNativeLog)
              .start();
      Process started = child;
      // Ctrl-C or kill stops the child too, and leaves no temporary output behind.
      stopOnExit =
          new Thread(
              () -> {
                started.descendants().forEach(ProcessHandle::destroyForcibly);
                started.destroyForcibly();
                removeLeftovers(export);
              });
      Runtime.getRuntime().addShutdownHook(stopOnExit);
      child.getOutputStream().close();
      Drain stdout = Drain.start(child.getInputStream());
      Drain stderr = Drain.start(child.getErrorStream());
      long timeout = timeoutSeconds();
      boolean finished = child.waitFor(timeout, TimeUnit.SECONDS);
      if (!finished) {
        child.descendants().forEach(ProcessHandle::destroyForcibly);
        child.destroyForcibly();
        child.waitFor();
      }
      String childErr = stderr.text();
      String childOut = stdout.text();
      int status = child.exitValue();
      if (finished
          && (status == 0 || status == CommandFailure.INPUT || status == CommandFailure.USAGE)) {
        out.print(childOut);
        err.print(showNativeLog ? childErr : NativeLog.withoutNativeLog(childErr));
        return status;
      }
      removeLeftovers(export);
      if (showNativeLog) {
        NativeLog.logLines(childErr).forEach(err::println);
      }
      err.println(
          name
              + ": "
              + model()
              + (finished
                  ? crashReason(status, childErr)
                  : ": gave up after "
                      + timeout
                      + " s (--timeout): TensorFlow did not finish loading or"
                      + " computing; the model may be corrupt"));
      return CommandFailure.INPUT;
    } catch (IOException e) {
      err.println(
          name + ": cannot start a child process (" + SavedModelException.firstLine(e) + ")");
      return CommandFailure.INPUT;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      child.destroyForcibly();
      removeLeftovers(export);
      err.println(name + ": interrupted");
      return CommandFailure.INPUT;
    } finally {
      if (stopOnExit != null) {
        try {
          Runtime.getRuntime().removeShutdownHook(stopOnExit);
        } catch (IllegalStateException e) {
          // Already shutting down: the hook runs and stops the child.
        }
      }
      if (child != null) {
        deleteCrashReport(child.pid());
      }
    }
  }

  private String crashReason(int status, String childErr) {
    String signal = SIGNALS.get(status);
    String fatal = NativeLog.fatalMessage(childErr);
    return (signal == null
            ? ": the process ended with status " + status
            : ": TensorFlow ended the process (" + signal + ")")
        + " while loading or computing; the model is likely corrupt"
        + (fatal == null ? "" : " (" + fatal + ")");
  }

  /**
   * Removes what a child that did not end normally may have left: temporaries of {@code --out}, and
   * {@code --out} itself if it did not exist before (a crash after the rename).
   */
  private static void removeLeftovers(ExportDirectory export) {
    if (export != null) {
      export.removeLeftovers();
    }
  }

  /**
   * Where a crashing child JVM writes its report: the temporary directory rather than the user's
   * working directory, named by the child's process id so that the parent knows which to delete.
   */
  private static Path crashReport(String pid) {
    return Path.of(System.getProperty("java.io.tmpdir"), "tf-l1l2-hs_err_pid" + pid + ".log");
  }

  /** Deletes the crash report of child {@code pid}, if it wrote one; nobody reads it. */
  private static void deleteCrashReport(long pid) {
    try {
      Files.deleteIfExists(crashReport(Long.toString(pid)));
    } catch (IOException e) {
      // A stray report in the temporary directory; the command's own outcome stands.
    }
  }

  private long timeoutSeconds() {
    Long value = command.matchedOptionValue("--timeout", null);
    if (value == null) {
      value = Long.parseLong(command.commandSpec().findOption("--timeout").defaultValue());
    }
    // An invalid value makes the child fail at once with a usage error; allow it the maximum.
    return value < 1 || value > RegularizerOptions.MAX_TIMEOUT_SECONDS
        ? RegularizerOptions.MAX_TIMEOUT_SECONDS
        : value;
  }

  private String model() {
    Path model = command.matchedOptionValue("--model", null);
    return "--model " + model;
  }

  private Path outDirectory() {
    Path out = command.matchedOptionValue("--out", null);
    return out == null ? null : out.toAbsolutePath().normalize();
  }

  /** Reads a stream to its end on a thread of its own, so that the child never blocks writing. */
  private static final class Drain {
    private final Thread thread;
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

    private Drain(InputStream in) {
      thread =
          new Thread(
              () -> {
                try (in) {
                  in.transferTo(bytes);
                } catch (IOException e) {
                  // The child is gone; what was read so far is kept.
                }
              },
              "child-output");
      thread.setDaemon(true);
    }

    static Drain start(InputStream in) {
      Drain drain = new Drain(in);
      drain.thread.start();
      return drain;
    }

    String text() throws InterruptedException {
      thread.join(TimeUnit.SECONDS.toMillis(10));
      return bytes.toString(StandardCharsets.UTF_8);
    }
  }
}
