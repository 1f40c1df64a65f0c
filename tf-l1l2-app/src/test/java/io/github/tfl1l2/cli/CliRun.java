package io.github.tfl1l2.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import picocli.CommandLine;

/** One in-process run of the {@code tf-l1l2} command line with its output captured. */
record CliRun(int exitCode, String out, String err) {

  static CliRun of(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine commandLine = Main.commandLine();
    commandLine.setOut(new PrintWriter(out, true));
    commandLine.setErr(new PrintWriter(err, true));
    int exitCode = commandLine.execute(args);
    return new CliRun(exitCode, out.toString(), err.toString());
  }

  /** Asserts success with nothing on stderr. */
  CliRun succeeded() {
    assertEquals(0, exitCode, "exit code; stderr: " + err);
    assertEquals("", err, "stderr");
    return this;
  }

  /**
   * Asserts the failure contract: a non-zero exit, nothing on stdout, and exactly one line on
   * stderr that contains every fragment.
   */
  CliRun failedWith(int expectedExit, String... fragments) {
    assertNotEquals(0, exitCode);
    assertEquals(expectedExit, exitCode, "exit code; stderr: " + err);
    assertEquals("", out, "stdout");
    assertEquals(1, err.lines().count(), "one line on stderr: " + err);
    for (String fragment : fragments) {
      assertTrue(err.contains(fragment), "stderr should contain \"" + fragment + "\": " + err);
    }
    return this;
  }
}
