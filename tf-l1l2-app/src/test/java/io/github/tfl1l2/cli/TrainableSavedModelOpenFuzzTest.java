package io.github.tfl1l2.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
import java.util.stream.Collectors;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Corrupt copies (see {@link ModelMutator#mutateFunctionBodies}: truncated files and flipped bits
 * in {@code saved_model.pb} and the {@code variables/} files, hostile tensor shapes in graph nodes,
 * and hostile shapes or dangling inputs in the library's function bodies) of three real SavedModels
 * given to {@code TrainableSavedModel.open}, each on the code path it takes: a TF1 graph without an
 * object graph ({@code tf1_half_plus_two}), functional control flow kept as a call ({@code
 * textvec_classifier}) and the training-mode call ({@code mlp_bn_dropout}, {@code TRAINING}). Every
 * case runs in an {@link OpenFuzzWorker} child JVM and must either open (a forward run then works
 * or throws a Java exception) or throw {@code SavedModelException} with a one-line message ({@code
 * IllegalArgumentException} only for a signature key the corrupt graph lost); another exception
 * type, a JVM crash, a hang or a changed input fails the test.
 */
class TrainableSavedModelOpenFuzzTest {
  /** Cases per model in the default suite. */
  static final int QUICK_CASES = 20;

  /**
   * Cases per model in the soak run: {@code mvn -B test -pl tf-l1l2-app -am
   * -Dtest=TrainableSavedModelOpenFuzzTest -Dgroups=soak -DexcludedGroups=}.
   */
  static final int SOAK_CASES = 300;

  private static final String JAVA = ProcessHandle.current().info().command().orElse("java");
  private static final String CLASS_PATH = System.getProperty("java.class.path");
  private static final Duration PER_CASE = Duration.ofSeconds(60);

  /** One model and how it is opened. */
  record Seed(String name, String signature, String mode) {}

  static final List<Seed> SEEDS =
      List.of(
          new Seed("tf1_half_plus_two", "serving_default", "INFERENCE"),
          new Seed("textvec_classifier", "serving_default", "INFERENCE"),
          new Seed("mlp_bn_dropout", "serving_default", "TRAINING"));

  /** How a case ended: {@code opened} is opened, SavedModelException, …, crashed or hung. */
  record Outcome(
      String model,
      int number,
      String file,
      String kind,
      String detail,
      String opened,
      String message,
      String run,
      boolean inputUnchanged) {

    String describe() {
      return model
          + " case "
          + number
          + " ("
          + file
          + " "
          + kind
          + " "
          + detail
          + "): "
          + opened
          + (message.isEmpty() ? "" : " \"" + message.strip() + "\"")
          + (run.isEmpty() ? "" : ", " + run)
          + (inputUnchanged ? "" : ", INPUT CHANGED");
    }
  }

  @TempDir Path temp;

  private void fuzz(int cases) throws Exception {
    long start = System.nanoTime();
    List<Outcome> outcomes = new ArrayList<>();
    for (Seed seed : SEEDS) {
      Path dir = TestModels.external(seed.name());
      Map<String, String> seedBefore = TestModels.digest(dir);
      outcomes.addAll(run(seed, dir, cases));
      assertEquals(seedBefore, TestModels.digest(dir), seed.name() + " itself is untouched");
    }
    long seconds = (System.nanoTime() - start) / 1_000_000_000;
    System.out.println(summary(outcomes, seconds));
    assertEquals(SEEDS.size() * cases, outcomes.size(), "every case has an outcome");
    List<String> broken =
        outcomes.stream().filter(o -> !keepsContract(o)).map(Outcome::describe).toList();
    assertEquals(List.of(), broken, "cases that break the contract");
  }

  /**
   * The contract: the input unchanged, and the model opened, or a one-line SavedModelException, or
   * an IllegalArgumentException about the signature key.
   */
  static boolean keepsContract(Outcome o) {
    if (!o.inputUnchanged()) {
      return false;
    }
    return switch (o.opened()) {
      case "opened" -> true;
      case "SavedModelException" -> !o.message().isBlank() && !o.message().contains("\n");
      case "IllegalArgumentException" ->
          o.message().contains("signature") && !o.message().contains("\n");
      default -> false;
    };
  }

  /** Runs cases 0 to {@code end} of {@code seed} in child JVMs, one more after each crash. */
  private List<Outcome> run(Seed seed, Path dir, int end) throws IOException, InterruptedException {
    Path base = Files.createDirectories(temp.resolve(seed.name()));
    Path results = base.resolve("results.jsonl");
    Path progress = base.resolve("progress.txt");
    Path work = Files.createDirectories(base.resolve("work"));
    Path cwd = Files.createDirectories(base.resolve("cwd"));
    Map<Integer, Outcome> outcomes = new TreeMap<>();
    int next = 0;
    while (next < end) {
      Files.deleteIfExists(results);
      Files.deleteIfExists(progress);
      Path stderr = base.resolve("batch-stderr-" + next + ".txt");
      Process batch =
          new ProcessBuilder(
                  JAVA,
                  "-XX:-CreateCoredumpOnCrash",
                  "-cp",
                  CLASS_PATH,
                  OpenFuzzWorker.class.getName(),
                  dir.toAbsolutePath().toString(),
                  seed.signature(),
                  seed.mode(),
                  work.toString(),
                  Integer.toString(next),
                  Integer.toString(end),
                  results.toString(),
                  progress.toString())
              .directory(cwd.toFile())
              .redirectOutput(base.resolve("batch-stdout.txt").toFile())
              .redirectError(stderr.toFile())
              .start();
      String stopped = watch(batch, progress);
      readResults(seed.name(), results).forEach(o -> outcomes.put(o.number(), o));
      int started = FuzzHarness.lastStarted(progress, next - 1);
      if (stopped == null) {
        assertEquals(0, batch.exitValue(), "fuzz worker exit status of " + seed.name());
        break;
      }
      if (started >= next && !outcomes.containsKey(started)) {
        ModelMutator.Mutation m =
            OpenFuzzWorker.mutate(dir, base.resolve("replay-" + started), started);
        String tail =
            Files.readString(stderr).lines().filter(l -> !l.isBlank()).reduce("", (a, b) -> b);
        outcomes.put(
            started,
            new Outcome(
                seed.name(),
                started,
                m.file(),
                m.kind(),
                m.detail(),
                stopped + ", hs_err files " + FuzzHarness.hsErrFiles(cwd),
                tail,
                "",
                true));
      }
      next = Math.max(next, started + 1);
    }
    return new ArrayList<>(outcomes.values());
  }

  /** Waits for the batch; {@code null} when it ended normally, else why it was stopped. */
  private static String watch(Process batch, Path progress)
      throws IOException, InterruptedException {
    int watched = -1;
    long since = System.nanoTime();
    while (!batch.waitFor(100, TimeUnit.MILLISECONDS)) {
      int started = FuzzHarness.lastStarted(progress, -1);
      if (started != watched) {
        watched = started;
        since = System.nanoTime();
      } else if (started >= 0 && System.nanoTime() - since > PER_CASE.toNanos()) {
        batch.descendants().forEach(ProcessHandle::destroyForcibly);
        batch.destroyForcibly().waitFor();
        return "hung (> " + PER_CASE.toSeconds() + " s)";
      }
    }
    return batch.exitValue() == 0 ? null : "crashed (exit status " + batch.exitValue() + ")";
  }

  private static List<Outcome> readResults(String model, Path results) throws IOException {
    List<Outcome> outcomes = new ArrayList<>();
    if (!Files.exists(results)) {
      return outcomes;
    }
    for (String line : Files.readAllLines(results, StandardCharsets.UTF_8)) {
      if (line.isBlank()) {
        continue;
      }
      JsonObject o = JsonParser.parseString(line).getAsJsonObject();
      outcomes.add(
          new Outcome(
              model,
              o.get("case").getAsInt(),
              o.get("file").getAsString(),
              o.get("kind").getAsString(),
              o.get("detail").getAsString(),
              o.get("opened").getAsString(),
              o.get("message").getAsString(),
              o.get("run").getAsString(),
              o.get("inputUnchanged").getAsBoolean()));
    }
    return outcomes;
  }

  /** Counts by model, mutation kind and result (docs/savedmodels.md quotes a soak run's). */
  static String summary(List<Outcome> outcomes, long seconds) {
    Map<String, Long> counts =
        new TreeMap<>(
            outcomes.stream()
                .collect(
                    Collectors.groupingBy(
                        o ->
                            o.model()
                                + " "
                                + o.kind()
                                + " "
                                + o.file().replaceFirst(".*/", "")
                                + " -> "
                                + (o.opened().equals("opened")
                                    ? "opened, " + o.run().replaceFirst(":.*", "")
                                    : o.opened()),
                        Collectors.counting())));
    StringBuilder text =
        new StringBuilder(
            "TrainableSavedModel.open: " + outcomes.size() + " mutations in " + seconds + " s\n");
    counts.forEach((k, v) -> text.append(String.format("%5d  %s%n", v, k)));
    outcomes.stream()
        .filter(o -> !keepsContract(o))
        .forEach(o -> text.append("  BROKEN ").append(o.describe()).append('\n'));
    return text.toString();
  }

  @Test
  void corruptModelsOnTheNewOpenPathsOpenOrThrowSavedModelException() throws Exception {
    fuzz(QUICK_CASES);
  }

  @Test
  @Tag("soak")
  void hundredsOfCorruptModelsOnTheNewOpenPathsOpenOrThrowSavedModelException() throws Exception {
    fuzz(SOAK_CASES);
  }
}
