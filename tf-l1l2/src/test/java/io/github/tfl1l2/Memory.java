package io.github.tfl1l2;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Resident memory of this process from {@code /proc/self/status} (Linux): {@code VmRSS} now and
 * {@code VmHWM}, the peak since start or since {@link #resetPeak()}. Figures go to stdout and to
 * {@code target/soak-figures.txt}.
 */
final class Memory {
  private Memory() {}

  static final long MIB = 1024 * 1024;

  static long rssBytes() {
    return statusKiB("VmRSS:") * 1024;
  }

  static long peakBytes() {
    return statusKiB("VmHWM:") * 1024;
  }

  /** Committed Java heap: resident memory that is not TensorFlow's. */
  static long heapCommittedBytes() {
    return java.lang.management.ManagementFactory.getMemoryMXBean()
        .getHeapMemoryUsage()
        .getCommitted();
  }

  /** RSS minus the committed Java heap, after a GC: an estimate of native memory. */
  static long nativeBytes() {
    System.gc();
    return rssBytes() - heapCommittedBytes();
  }

  /** Resets {@code VmHWM} to the current RSS (writes 5 to {@code /proc/self/clear_refs}). */
  static void resetPeak() {
    try {
      Files.writeString(Path.of("/proc/self/clear_refs"), "5");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot reset the peak RSS", e);
    }
  }

  static String mib(long bytes) {
    return String.format("%.1f MiB", bytes / (double) MIB);
  }

  /** Prints a measured figure and appends it to {@code target/soak-figures.txt}. */
  static void figure(String format, Object... args) {
    String line = String.format(format, args);
    System.out.println("FIGURE " + line);
    try {
      Files.writeString(
          Path.of("target", "soak-figures.txt"),
          line + System.lineSeparator(),
          StandardCharsets.UTF_8,
          StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static long statusKiB(String key) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith(key)) {
          return Long.parseLong(line.substring(key.length()).trim().split("\\s+")[0]);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    throw new IllegalStateException(key + " missing from /proc/self/status");
  }
}
