package io.github.tfl1l2.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads what TensorFlow's native runtime wrote to stderr: its log lines, in the two formats it uses
 * ({@code 2026-01-02 03:04:05.678901: E tensorflow/…/file.cc:12] message} and absl's {@code E0102
 * 03:04:05.678901 1234 file.cc:12] message}), and the fatal line of a failed {@code CHECK} that
 * precedes an abort.
 */
final class NativeLog {
  private static final Pattern TENSORFLOW =
      Pattern.compile(
          "^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d+: ([IWEF]) (\\S+:\\d+)\\] (.*)$");
  private static final Pattern ABSL =
      Pattern.compile("^([IWEF])\\d{4} \\d\\d:\\d\\d:\\d+\\.\\d+\\s+\\d+ (\\S+:\\d+)\\] (.*)$");

  /** Printed once by absl before its logging is set up; not a message about the model. */
  private static final String ABSL_PREAMBLE =
      "WARNING: All log messages before absl::InitializeLog()";

  private NativeLog() {}

  /** Whether {@code line} is the first line of a native log message or absl's preamble. */
  static boolean isLogLine(String line) {
    return line.startsWith(ABSL_PREAMBLE) || match(line) != null;
  }

  /**
   * The lines of {@code stderr} that are not TensorFlow's native log (see {@link Filter}), empty
   * lines left out: the command's own message lines.
   */
  static List<String> commandLines(String stderr) {
    Filter filter = new Filter();
    List<String> lines = new ArrayList<>();
    for (String line : stderr.split("\\R")) {
      if (!filter.isNative(line) && !line.isEmpty()) {
        lines.add(line);
      }
    }
    return lines;
  }

  /**
   * {@code stderr} without TensorFlow's native log ({@link Filter}); kept lines end in newlines.
   */
  static String withoutNativeLog(String stderr) {
    Filter filter = new Filter();
    StringBuilder kept = new StringBuilder();
    stderr.lines().filter(line -> !filter.isNative(line)).forEach(l -> kept.append(l).append('\n'));
    return kept.toString();
  }

  /**
   * Tells, line by line, which lines of a stream are TensorFlow's native log: absl's preamble, a
   * log line in either format, and the lines that continue its message (some span several, e.g.
   * {@code cpu_feature_guard}'s "To enable the following instructions: …"), up to the next line the
   * command prints itself, which starts with {@code "tf-l1l2 "}.
   */
  static final class Filter {
    private boolean inNativeMessage;

    /** Whether {@code line}, the next line of the stream, belongs to the native log. */
    boolean isNative(String line) {
      if (isLogLine(line)) {
        inNativeMessage = true;
      } else if (line.startsWith(COMMAND_PREFIX)) {
        inNativeMessage = false;
      }
      return inNativeMessage;
    }
  }

  /** How every line the command line prints on stderr itself begins. */
  private static final String COMMAND_PREFIX = "tf-l1l2 ";

  /**
   * The first lines of the informational, warning and error messages in {@code stderr}: what is
   * worth passing on from a process that then crashed (its fatal line is summarized instead, and
   * stack traces and multi-line message bodies are dropped).
   */
  static List<String> logLines(String stderr) {
    List<String> lines = new ArrayList<>();
    for (String line : stderr.split("\\R")) {
      Matcher m = match(line);
      if (line.startsWith(ABSL_PREAMBLE) || (m != null && !m.group(1).equals("F"))) {
        lines.add(line);
      }
    }
    return lines;
  }

  /**
   * The message of the last fatal ({@code F}) line in {@code stderr} with its source file, e.g.
   * {@code Check failed: 0 <= new_num_elements (0 vs. -1) at tensor_shape.cc:419}, or {@code null}.
   */
  static String fatalMessage(String stderr) {
    String fatal = null;
    for (String line : stderr.split("\\R")) {
      Matcher m = match(line);
      if (m != null && m.group(1).equals("F")) {
        String source = m.group(2);
        fatal = m.group(3).strip() + " at " + source.substring(source.lastIndexOf('/') + 1);
      }
    }
    return fatal;
  }

  private static Matcher match(String line) {
    for (Pattern pattern : new Pattern[] {TENSORFLOW, ABSL}) {
      Matcher m = pattern.matcher(line);
      if (m.matches()) {
        return m;
      }
    }
    return null;
  }
}
