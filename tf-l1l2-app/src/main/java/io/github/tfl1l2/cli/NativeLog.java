package io.github.tfl1l2.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads what TensorFlow's native runtime wrote to stderr: its log lines, in the two formats it
 * uses ({@code 2026-01-02 03:04:05.678901: E tensorflow/…/file.cc:12] message} and absl's {@code
 * E0102 03:04:05.678901  1234 file.cc:12] message}), and the fatal line of a failed {@code CHECK}
 * that precedes an abort.
 */
final class NativeLog {
  private static final Pattern TENSORFLOW =
      Pattern.compile("^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d+: ([IWEF]) (\\S+:\\d+)\\] (.*)$");
  private static final Pattern ABSL =
      Pattern.compile("^([IWEF])\\d{4} \\d\\d:\\d\\d:\\d+\\.\\d+\\s+\\d+ (\\S+:\\d+)\\] (.*)$");
  /** Printed once by absl before its logging is set up; not a message about the model. */
  private static final String ABSL_PREAMBLE = "WARNING: All log messages before absl::InitializeLog()";

  private NativeLog() {}

  /** Whether {@code line} is the first line of a native log message or absl's preamble. */
  static boolean isLogLine(String line) {
    return line.startsWith(ABSL_PREAMBLE) || match(line) != null;
  }

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
