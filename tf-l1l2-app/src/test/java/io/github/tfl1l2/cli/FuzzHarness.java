package io.github.tfl1l2.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.tfl1l2.savedmodel.TestModels;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs fuzz cases through {@link FuzzWorker} child JVMs in batches, so that a case on which
 * TensorFlow's native code aborts or hangs ends only its batch. Such a case is then run once more
 * as a user runs it, {@code java … io.github.tfl1l2.cli.Main …} (the supervised command), and that
 * run is the one judged.
 */
final class FuzzHarness {
  /** How a case ended. */
  record Outcome(
      int number,
      String command,
      String file,
      String kind,
      String detail,
      String inProcess,
      int exit,
      String out,
      String err,
      boolean inputUnchanged,
      boolean written,
      List<String> entries) {

    String describe() {
      return "case "
          + number
          + " ("
          + command
          + ", "
          + file
          + " "
          + kind
          + " "
          + detail
          + ", "
          + inProcess
          + "): exit "
          + exit
          + ", stdout "
          + out.strip()
          + ", stderr "
          + err.strip();
    }
  }

  private static final String JAVA = ProcessHandle.current().info().command().orElse("java");
  private static final String CLASS_PATH = System.getProperty("java.class.path");

  private final Path seed;
  private final Path temp;
  private final Duration perCase;
  private final Duration supervisedTimeout;

  FuzzHarness(Path seed, Path temp, Duration perCase, Duration supervisedTimeout) {
    this.seed = seed.toAbsolutePath();
    this.temp = temp;
    this.perCase = perCase;
    this.supervisedTimeout = supervisedTimeout;
  }

  /** Runs cases {@code first} (inclusive) to {@code end} (exclusive) and returns every outcome. */
  List<Outcome> run(int first, int end) throws IOException, InterruptedException {
    Path results = temp.resolve("results.jsonl");
    Path progress = temp.resolve("progress.txt");
    Path work = Files.createDirectories(temp.resolve("work"));
    Path cwd = Files.createDirectories(temp.resolve("cwd"));
    Map<Integer, Outcome> outcomes = new TreeMap<>();
    int next = first;
    while (next < end) {
      Files.deleteIfExists(results);
      Files.deleteIfExists(progress);
      Process batch =
          new ProcessBuilder(
                  JAVA,
                  "-cp",
                  CLASS_PATH,
                  FuzzWorker.class.getName(),
                  seed.toString(),
                  work.toString(),
                  Integer.toString(next),
                  Integer.toString(end),
                  results.toString(),
                  progress.toString())
              .directory(cwd.toFile())
              .redirectOutput(temp.resolve("batch-stdout.txt").toFile())
              .redirectError(temp.resolve("batch-stderr.txt").toFile())
              .start();
      String stopped = watch(batch, progress, results);
      readResults(results).forEach(o -> outcomes.put(o.number(), o));
      int started = lastStarted(progress, next - 1);
      if (stopped == null) {
        assertEquals(0, batch.exitValue(), "fuzz worker exit status");
        break;
      }
      if (started >= next && !outcomes.containsKey(started)) {
        outcomes.put(started, supervised(started, stopped));
      }
      next = Math.max(next, started + 1);
    }
    assertEquals(List.of(), hsErrFiles(cwd), "JVM crash dumps left in the working directory");
    return new ArrayList<>(outcomes.values());
  }

  /**
   * Waits for the batch; returns {@code null} when it ended normally, or why it was stopped: a
   * crash (its exit status) or a case that took longer than {@code perCase}.
   */
  private String watch(Process batch, Path progress, Path results)
      throws IOException, InterruptedException {
    int watched = -1;
    long since = System.nanoTime();
    while (!batch.waitFor(100, TimeUnit.MILLISECONDS)) {
      int started = lastStarted(progress, -1);
      if (started != watched) {
        watched = started;
        since = System.nanoTime();
      } else if (started >= 0 && System.nanoTime() - since > perCase.toNanos()) {
        batch.descendants().forEach(ProcessHandle::destroyForcibly);
        batch.destroyForcibly().waitFor();
        return "hung in-process (> " + perCase.toSeconds() + " s)";
      }
    }
    if (batch.exitValue() == 0) {
      return null;
    }
    return "crashed in-process (exit status " + batch.exitValue() + ")";
  }

  /** Runs case {@code number} again as the real, supervised command line. */
  private Outcome supervised(int number, String inProcess)
      throws IOException, InterruptedException {
    Path caseDir = Files.createDirectories(temp.resolve("supervised-" + number));
    Path model = caseDir.resolve("model");
    Path out = caseDir.resolve("out");
    Path cwd = Files.createDirectories(temp.resolve("supervised-cwd"));
    ModelMutator.Mutation mutation = ModelMutator.mutate(seed, model, number);
    Map<String, String> before = TestModels.digest(model);
    List<String> command = new ArrayList<>(List.of(JAVA, "-cp", CLASS_PATH, Main.class.getName()));
    command.addAll(FuzzWorker.arguments(number, model, out));
    command.addAll(List.of("--timeout", Long.toString(supervisedTimeout.toSeconds())));
    Path stdout = temp.resolve("supervised-stdout.txt");
    Path stderr = temp.resolve("supervised-stderr.txt");
    Process process =
        new ProcessBuilder(command)
            .directory(cwd.toFile())
            .redirectOutput(stdout.toFile())
            .redirectError(stderr.toFile())
            .start();
    boolean ended = process.waitFor(supervisedTimeout.toSeconds() + 30, TimeUnit.SECONDS);
    if (!ended) {
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly().waitFor();
    }
    assertTrue(ended, "the supervised command of case " + number + " did not end in time");
    assertEquals(List.of(), hsErrFiles(cwd), "JVM crash dumps left by case " + number);
    Outcome outcome =
        new Outcome(
            number,
            FuzzWorker.command(number),
            mutation.file(),
            mutation.kind(),
            mutation.detail(),
            inProcess + "; judged supervised",
            process.exitValue(),
            Files.readString(stdout),
            Files.readString(stderr),
            before.equals(TestModels.digest(model)),
            Files.isDirectory(out),
            TestModels.listing(caseDir));
    TestModels.delete(caseDir);
    return outcome;
  }

  private static List<Outcome> readResults(Path results) throws IOException {
    List<Outcome> outcomes = new ArrayList<>();
    if (!Files.exists(results)) {
      return outcomes;
    }
    for (String line : Files.readAllLines(results, StandardCharsets.UTF_8)) {
      if (line.isBlank()) {
        continue;
      }
      JsonObject o = JsonParser.parseString(line).getAsJsonObject();
      List<String> entries = new ArrayList<>();
      JsonArray array = o.getAsJsonArray("entries");
      array.forEach(e -> entries.add(e.getAsString()));
      outcomes.add(
          new Outcome(
              o.get("case").getAsInt(),
              o.get("command").getAsString(),
              o.get("file").getAsString(),
              o.get("kind").getAsString(),
              o.get("detail").getAsString(),
              "in-process",
              o.get("exit").getAsInt(),
              o.get("out").getAsString(),
              o.get("err").getAsString(),
              o.get("inputUnchanged").getAsBoolean(),
              o.get("written").getAsBoolean(),
              entries));
    }
    return outcomes;
  }

  /** The last case index a worker's progress file records, or {@code none} if it records none. */
  static int lastStarted(Path progress, int none) throws IOException {
    if (!Files.exists(progress)) {
      return none;
    }
    List<String> lines = Files.readAllLines(progress).stream().filter(s -> !s.isBlank()).toList();
    return lines.isEmpty() ? none : Integer.parseInt(lines.get(lines.size() - 1).strip());
  }

  /** The JVM crash dumps ({@code hs_err_pid*}) and core files a worker left in {@code dir}. */
  static List<String> hsErrFiles(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files
          .map(p -> p.getFileName().toString())
          .filter(n -> n.startsWith("hs_err_pid") || n.startsWith("core"))
          .toList();
    }
  }

  /**
   * Asserts the contract for one outcome: success with the seed's penalty {@code expected} and a
   * complete output, or a non-zero exit with nothing on stdout, exactly one line on stderr that
   * names {@code --model} (TensorFlow's own log lines aside), and no output directory; the input
   * unchanged either way.
   */
  static void assertContract(Outcome o, double expected) {
    assertTrue(o.inputUnchanged(), "input changed: " + o.describe());
    if (o.exit() == 0) {
      double penalty =
          o.command().equals("penalty")
              ? JsonParser.parseString(o.out()).getAsJsonObject().get("penalty").getAsDouble()
              : Double.parseDouble(
                  o.out()
                      .lines()
                      .filter(l -> l.startsWith("penalty"))
                      .findFirst()
                      .orElseThrow()
                      .substring("penalty".length())
                      .strip());
      TestModels.assertClose(expected, penalty, "penalty of " + o.describe());
      if (o.command().equals("regularize")) {
        assertTrue(o.written(), "output written: " + o.describe());
        assertEquals(List.of("model", "out"), o.entries(), "entries: " + o.describe());
      }
      return;
    }
    assertEquals("", o.out(), "stdout of " + o.describe());
    List<String> lines = messageLines(o.err());
    assertEquals(1, lines.size(), "one line on stderr: " + o.describe());
    assertTrue(
        lines.get(0).startsWith("tf-l1l2 " + o.command() + ": --model "),
        "the line names --model: " + o.describe());
    assertEquals(List.of("model"), o.entries(), "nothing written: " + o.describe());
  }

  /**
   * The stderr lines that are not TensorFlow's own log: a native log line and the lines that
   * continue its message (some span several lines) are left out, up to the command's line.
   */
  static List<String> messageLines(String stderr) {
    return NativeLog.commandLines(stderr);
  }
}
