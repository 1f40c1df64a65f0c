package io.github.tfl1l2.cli;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Starts the command line again in a child JVM, so that this process can read what TensorFlow's
 * native code writes to file descriptor 2.
 *
 * <p>Why: TensorFlow 2.18 logs through absl before absl's logging is initialized, and absl then
 * writes every message to stderr whatever {@code TF_CPP_MIN_LOG_LEVEL} says (measured with 2 and 3,
 * with {@code TF_CPP_MAX_VLOG_LEVEL=-1} and {@code ABSL_MIN_LOG_LEVEL=3}: each run of {@code
 * penalty} still printed absl's preamble and an {@code mlir_graph_optimization_pass} line). Java
 * cannot redirect its own file descriptor 2 without native code, so the parent filters instead.
 */
final class ChildJvm {
  /** System property that makes {@link Main#main} run the command in the current process. */
  static final String IN_PROCESS_PROPERTY = "tfl1l2.inProcess";

  /** TensorFlow's own switch; when the user sets it, they want TensorFlow's log as it comes. */
  private static final String LOG_LEVEL = "TF_CPP_MIN_LOG_LEVEL";

  private ChildJvm() {}

  /**
   * Whether TensorFlow's native log reaches the terminal: when {@code --verbose} is given or the
   * user set {@value #LOG_LEVEL} themselves. Otherwise it is filtered out.
   */
  static boolean showsNativeLog(boolean verbose) {
    return verbose || System.getenv(LOG_LEVEL) != null;
  }

  /**
   * A process builder for {@code java … Main args} with this JVM's java, class path and options
   * (less debugger and agent options, which would clash with this JVM's), plus {@code jvmOptions}.
   * Unless {@code showNativeLog}, it sets {@value #LOG_LEVEL}=2, which keeps TensorFlow's own
   * (non-absl) informational lines and warnings from being written at all.
   */
  static ProcessBuilder builder(List<String> args, List<String> jvmOptions, boolean showNativeLog) {
    List<String> command = new ArrayList<>();
    command.add(
        ProcessHandle.current()
            .info()
            .command()
            .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    for (String option : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (!option.startsWith("-agentlib")
          && !option.startsWith("-javaagent")
          && !option.startsWith("-Xrunjdwp")
          && !option.startsWith("-XX:ErrorFile")
          && !option.startsWith("-D" + IN_PROCESS_PROPERTY)) {
        command.add(option);
      }
    }
    command.addAll(jvmOptions);
    command.add("-D" + IN_PROCESS_PROPERTY + "=true");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(Main.class.getName());
    command.addAll(args);
    ProcessBuilder builder = new ProcessBuilder(command);
    Map<String, String> environment = builder.environment();
    if (!showNativeLog) {
      environment.put(LOG_LEVEL, "2");
    }
    return builder;
  }
}
